//! `labshaper host`: one process shapes the links of many nodes, one thread per node.
//!
//! Each thread enters its node's network namespace (`setns` on `/proc/<pid>/ns/net`, which
//! changes the namespace of that thread only) and runs [`apply`] there: the helper programs
//! it starts inherit the namespace, and the NFQUEUE socket it opens belongs to it, so queue
//! numbers never collide. The main thread waits for every shape to be in force, prints one
//! `shaper_ready` line, then waits for SIGTERM/SIGINT and raises a [`StopFlag`] that stops
//! every thread at once. One such process replaces a sidecar container per node.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, setns};

use crate::backend::{Applied, ApplyConfig, Backend, Stopped, apply};
use crate::error::ShaperError;
use crate::nfqueue::DelayStats;
use crate::signals::{StopFlag, Termination};

/// What a shaping thread tells the main thread.
enum Report {
    /// The shape is in force in namespace `index`; the thread's ready line.
    Ready { index: usize, line: String },
    /// The thread ended (after the stop flag, or early on an error).
    Done {
        index: usize,
        result: Result<Applied, ShaperError>,
    },
}

/// Reports from the threads, with an eventfd raised on each so that the main thread can
/// wait for a report and a signal in one `poll`.
struct Reports {
    rx: Receiver<Report>,
    wake: Arc<StopFlag>,
}

/// One shaping thread's end of [`Reports`].
#[derive(Clone)]
struct Reporter {
    tx: Sender<Report>,
    wake: Arc<StopFlag>,
}

impl Reporter {
    fn send(&self, report: Report) {
        // The main thread outlives every shaping thread (it joins them), so sending fails
        // only if it is already unwinding; nothing is left to tell then.
        if self.tx.send(report).is_ok()
            && let Err(e) = self.wake.raise()
        {
            eprintln!("labshaper: failed to {e}");
        }
    }
}

/// Shapes the egress of `cfg.dev` in the network namespace of every pid in `pids` until
/// SIGTERM/SIGINT; prints one ready line (with `"namespaces": N`) to `out` once all shapes
/// are in force, and one `shaper_stopped` line with summed counters to stderr at the end.
/// Fails if any namespace cannot be shaped before all are ready; a thread that fails later
/// is reported on stderr and the others go on.
pub fn host(
    cfg: &ApplyConfig,
    pids: &[u32],
    term: &Termination,
    out: &mut impl Write,
) -> Result<Backend, ShaperError> {
    cfg.shape.validate()?;
    let mut seen = HashSet::new();
    if let Some(dup) = pids.iter().find(|p| !seen.insert(**p)) {
        return Err(ShaperError::InvalidShape(format!(
            "pid {dup} is listed twice"
        )));
    }
    let namespaces = pids
        .iter()
        .map(|&pid| {
            File::open(format!("/proc/{pid}/ns/net"))
                .map_err(|source| ShaperError::Netns { pid, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stop = Arc::new(StopFlag::new()?);
    let wake = Arc::new(StopFlag::new()?);
    let (tx, rx) = mpsc::channel();
    let reports = Reports {
        rx,
        wake: wake.clone(),
    };
    let reporter = Reporter { tx, wake };
    let threads: Vec<JoinHandle<()>> = namespaces
        .into_iter()
        .zip(pids)
        .enumerate()
        .map(|(index, (ns, &pid))| {
            let mut cfg = cfg.clone();
            cfg.seed = cfg.seed.wrapping_add(index as u64);
            let term = Termination::Flag(stop.clone());
            let reporter = reporter.clone();
            thread::Builder::new()
                .name(format!("shape-{pid}"))
                .spawn(move || {
                    let result = setns(&ns, CloneFlags::CLONE_NEWNET)
                        .map_err(|e| ShaperError::Netns {
                            pid,
                            source: e.into(),
                        })
                        .and_then(|()| {
                            apply(&cfg, &term, &mut |line| {
                                reporter.send(Report::Ready { index, line });
                                Ok(())
                            })
                        });
                    reporter.send(Report::Done { index, result });
                })
                .map_err(|source| ShaperError::Spawn {
                    program: format!("a shaping thread for pid {pid}"),
                    source,
                })
        })
        .collect::<Result<_, _>>()
        .inspect_err(|_| {
            let _ = stop.raise();
        })?;
    drop(reporter);
    let outcome = supervise(&reports, pids, term, out);
    // Stop every thread whatever happened, and wait for each to remove what it installed.
    let raised = stop.raise();
    let mut totals = DelayStats::default();
    let mut backend = outcome.as_ref().ok().copied();
    for (index, t) in threads.into_iter().enumerate() {
        if t.join().is_err() {
            eprintln!(
                "labshaper: failed to {}",
                ShaperError::ThreadPanicked(pids[index])
            );
        }
    }
    for report in reports.rx.try_iter() {
        if let Report::Done { index, result } = report {
            match result {
                Ok(applied) => {
                    backend.get_or_insert(applied.backend);
                    if let Some(s) = applied.delay_line {
                        totals.add(&s);
                    }
                }
                Err(e) => eprintln!("labshaper: pid {}: failed to {e}", pids[index]),
            }
        }
    }
    raised?;
    let backend = outcome?;
    let stopped = Stopped::new(backend, Some(totals), Some(pids.len()));
    eprintln!("{}", serde_json::to_string(&stopped)?);
    Ok(backend)
}

/// Waits until every namespace is shaped (then prints the ready line) and then for a
/// termination signal; fails when a namespace fails before all are ready.
fn supervise(
    reports: &Reports,
    pids: &[u32],
    term: &Termination,
    out: &mut impl Write,
) -> Result<Backend, ShaperError> {
    let mut ready = vec![false; pids.len()];
    let mut first_line: Option<String> = None;
    let mut announced = false;
    let mut backend = None;
    loop {
        for report in reports.rx.try_iter() {
            match report {
                Report::Ready { index, line } => {
                    ready[index] = true;
                    if backend.is_none() {
                        backend = serde_json::from_str::<serde_json::Value>(&line)
                            .ok()
                            .and_then(|v| match v["backend"].as_str() {
                                Some("kernel") => Some(Backend::Kernel),
                                Some("userspace") => Some(Backend::Userspace),
                                _ => None,
                            });
                    }
                    first_line.get_or_insert(line);
                }
                Report::Done { index, result } => {
                    let pid = pids[index];
                    let err = match result {
                        Err(e) => e,
                        Ok(_) => ShaperError::Stopped(pid),
                    };
                    if !announced {
                        return Err(err);
                    }
                    eprintln!("labshaper: pid {pid}: failed to {err}");
                }
            }
        }
        if !announced && ready.iter().all(|r| *r) {
            let line = first_line.as_deref().unwrap_or("{}");
            let mut value: serde_json::Value = serde_json::from_str(line)?;
            value["namespaces"] = pids.len().into();
            writeln!(out, "{value}")?;
            out.flush()?;
            announced = true;
        }
        let (woken, signalled) = {
            let mut fds = [
                PollFd::new(reports.wake.as_fd(), PollFlags::POLLIN),
                PollFd::new(term.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => (readable(&fds[0]), readable(&fds[1])),
                Err(Errno::EINTR) => (false, false),
                Err(source) => {
                    return Err(ShaperError::Sys {
                        operation: "wait for the shaping threads",
                        source,
                    });
                }
            }
        };
        if woken {
            reports.wake.lower()?;
        }
        if signalled && term.received()? {
            return match backend {
                Some(b) if announced => Ok(b),
                _ => Err(ShaperError::Interrupted),
            };
        }
    }
}

fn readable(fd: &PollFd<'_>) -> bool {
    fd.revents().is_some_and(|r| !r.is_empty())
}
