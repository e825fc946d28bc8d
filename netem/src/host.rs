//! `labshaper host`: one process shapes the links of many nodes, one thread per node, and
//! one [`SharedLoop`] thread that delays the packets of all of them.
//!
//! Each thread enters its node's network namespace (`setns` on `/proc/<pid>/ns/net`, which
//! changes the namespace of that thread only) and runs [`apply`] there: the helper programs
//! it starts inherit the namespace, and the NFQUEUE socket it opens belongs to it, so queue
//! numbers never collide. Nodes are named by pid on the command line and, with `--stdin`,
//! one per line on standard input as they start, so that a node is shaped moments after it
//! boots instead of after the whole testnet is up. Every namespace gets its own
//! `shaper_ready` (or `shaper_failed`) line on stdout, with its pid. On SIGTERM/SIGINT the
//! main thread raises a [`StopFlag`] that stops every thread at once, and each removes what
//! it installed. One such process replaces a sidecar container per node.
//!
//! With `--regions FILE` (a [`SourceRegions`]: the matrix in real time and the senders'
//! addresses by region) every stdin line is `PID REGION`, and that namespace's packets are
//! delayed by the link from their source's region to `REGION` (user-space backend only).
//!
//! With `--live`, stdin may also change a node's link at run time (`set`/`reset` lines,
//! [`HostLine`]): the main thread writes the run's [`LiveLinks`], which every delay line
//! follows ([`crate::live`]).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};

use lab_config::{HostLine, HostLineError, SourceRegions};
use lab_events::shaper::{Backend, DelayStats, ShaperReport};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, setns};

use crate::backend::{Applied, ApplyConfig, LiveHandle, apply};
use crate::error::ShaperError;
use crate::live::LiveLinks;
use crate::shape::check;
use crate::shared_loop::SharedLoop;
use crate::signals::{StopFlag, Termination, readable};
use crate::sources::{RegionLinks, SourceTable, source_table};

/// What the shaping threads and the stdin reader tell the main thread.
enum Report {
    /// A line read from stdin.
    Line(HostLine),
    /// A stdin line that is none of [`HostLine`]'s.
    BadLine(String, HostLineError),
    /// The shape is in force in the namespace of `pid`; the thread's ready line.
    Ready { pid: u32, ready: ShaperReport },
    /// A shaping thread ended (after the stop flag, or early on an error).
    Done {
        pid: u32,
        result: Result<Applied, ShaperError>,
    },
}

/// The sending end of the reports, with an eventfd raised on each so that the main thread
/// can wait for a report and a signal in one `poll`.
#[derive(Clone)]
struct Reporter {
    tx: Sender<Report>,
    wake: Arc<StopFlag>,
}

impl Reporter {
    fn send(&self, report: Report) {
        // Fails only once the main thread has stopped listening; nothing is left to tell.
        if self.tx.send(report).is_ok()
            && let Err(e) = self.wake.raise()
        {
            eprintln!("labshaper: failed to {e}");
        }
    }
}

/// The main thread's view of the run.
struct Host<'a, W: Write> {
    cfg: &'a ApplyConfig,
    regions: Option<(&'a SourceRegions, SourceTable)>,
    /// The run's link changes (`--live`).
    live: Option<Arc<LiveLinks>>,
    /// The host's process table.
    proc: &'a std::path::Path,
    out: &'a mut W,
    stop: Arc<StopFlag>,
    reporter: Reporter,
    threads: Vec<JoinHandle<()>>,
    shared: SharedLoop,
    seen: HashSet<u32>,
    failed: usize,
    backend: Option<Backend>,
}

/// What names the namespaces to shape.
#[derive(Debug, Clone, Copy)]
pub struct HostInput<'a> {
    /// Processes given on the command line.
    pub pids: &'a [u32],
    /// Whether stdin names more ([`HostLine`]).
    pub stdin: bool,
    /// Whether stdin may change links at run time (`set`/`reset`).
    pub live: bool,
    /// The host's process table (`/proc`, or the host's bound elsewhere): a pid's network
    /// namespace is `<proc>/<pid>/ns/net`.
    pub proc: &'a std::path::Path,
}

/// Shapes the egress of `cfg.dev` in the network namespace of every pid in `input.pids`,
/// and of every pid read from stdin when `input.stdin`, until SIGTERM/SIGINT. Prints a
/// `shaper_ready` line per namespace once its shape is in force, or a `shaper_failed` line
/// (the others go on), and one `shaper_stopped` line with summed counters on stderr at the
/// end. Fails at the end if any namespace could not be shaped. With `regions`, each
/// namespace gets the links into its region by source (its stdin line names the region).
/// With `input.live`, `set`/`reset` lines change nodes' links while the run goes on.
pub fn host(
    cfg: &ApplyConfig,
    regions: Option<&SourceRegions>,
    input: HostInput<'_>,
    term: &Termination,
    out: &mut impl Write,
) -> Result<(), ShaperError> {
    check(&cfg.shaper.shape)?;
    let wake = Arc::new(StopFlag::new()?);
    let (tx, rx) = mpsc::channel();
    let reporter = Reporter {
        tx,
        wake: wake.clone(),
    };
    if input.stdin {
        let reporter = reporter.clone();
        thread::Builder::new()
            .name("stdin".into())
            .spawn(move || read_pids(&reporter))
            .map_err(|source| ShaperError::Spawn {
                program: "the stdin reader thread".into(),
                source,
            })?;
    }
    let (shared, delay_loop) = SharedLoop::start()?;
    let mut host = Host {
        cfg,
        regions: regions.map(|r| (r, source_table(r))),
        live: input.live.then(|| Arc::new(LiveLinks::new())),
        proc: input.proc,
        out,
        stop: Arc::new(StopFlag::new()?),
        reporter,
        threads: Vec::new(),
        shared,
        seen: HashSet::new(),
        failed: 0,
        backend: None,
    };
    for &pid in input.pids {
        host.add(pid, None)?;
    }
    let outcome = host.supervise(&rx, &wake, term);
    // Stop every thread whatever happened, and wait for each to remove what it installed.
    let raised = host.stop.raise();
    let namespaces = host.threads.len();
    for t in host.threads.drain(..) {
        if t.join().is_err() {
            eprintln!("labshaper: failed to {}", ShaperError::ThreadPanicked);
        }
    }
    // Every line is back with its thread: the loop ends once its last handle is gone.
    drop(host.shared);
    if delay_loop.join().is_err() {
        eprintln!("labshaper: failed to {}", ShaperError::ThreadPanicked);
    }
    let mut totals = DelayStats::default();
    for report in rx.try_iter() {
        if let Report::Done { pid, result } = report {
            match result {
                Ok(applied) => {
                    host.backend.get_or_insert(applied.backend);
                    if let Some(s) = applied.delay_line {
                        totals.add(&s);
                    }
                }
                Err(e) => eprintln!("labshaper: pid {pid}: failed to {e}"),
            }
        }
    }
    raised?;
    outcome?;
    if let Some(backend) = host.backend {
        let stopped = ShaperReport::ShaperStopped {
            backend,
            delay_line: Some(totals),
            namespaces: Some(namespaces),
        };
        eprintln!("{}", stopped.to_line());
    }
    match host.failed {
        0 => Ok(()),
        n => Err(ShaperError::Namespaces(n)),
    }
}

/// Reads one [`HostLine`] a line from stdin until it closes.
fn read_pids(reporter: &Reporter) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        reporter.send(parse_line(line));
    }
}

/// One stdin line.
fn parse_line(line: &str) -> Report {
    match line.parse() {
        Ok(l) => Report::Line(l),
        Err(e) => Report::BadLine(line.to_owned(), e),
    }
}

impl<W: Write> Host<'_, W> {
    /// The configuration of the namespace of `pid` in `region`: the run's, or with regions
    /// its links by source (a region is then required).
    fn config_for(&self, pid: u32, region: Option<&str>) -> Result<ApplyConfig, ShaperError> {
        let mut cfg = self.cfg.clone();
        cfg.seed = cfg.seed.wrapping_add(u64::from(pid));
        cfg.live = self.live.as_ref().map(|links| LiveHandle {
            links: links.clone(),
            pid,
        });
        let Some((regions, table)) = &self.regions else {
            return match region {
                None => Ok(cfg),
                Some(r) => Err(ShaperError::Regions(format!(
                    "shape pid {pid} in region `{r}`: no --regions file was given"
                ))),
            };
        };
        let Some(name) = region else {
            return Err(ShaperError::Regions(format!(
                "shape pid {pid}: with --regions every line names a region (`PID REGION`)"
            )));
        };
        let links = regions
            .matrix
            .index(name)
            .and_then(|own| RegionLinks::new(regions, table.clone(), own))
            .ok_or_else(|| {
                ShaperError::Regions(format!(
                    "shape pid {pid}: `{name}` is none of the regions {:?}",
                    regions.matrix.regions
                ))
            })?;
        cfg.shaper.shape = links.own_link().clone();
        cfg.sources = Some(links);
        Ok(cfg)
    }

    /// Starts shaping the namespace of `pid` (in `region`, with regions); a pid that cannot
    /// be shaped is reported as failed and counted.
    fn add(&mut self, pid: u32, region: Option<String>) -> Result<(), ShaperError> {
        if !self.seen.insert(pid) {
            return self.fail(pid, &ShaperError::DuplicatePid(pid));
        }
        let cfg = match self.config_for(pid, region.as_deref()) {
            Ok(cfg) => cfg,
            Err(e) => return self.fail(pid, &e),
        };
        let ns = match File::open(self.proc.join(pid.to_string()).join("ns/net")) {
            Ok(ns) => ns,
            Err(source) => return self.fail(pid, &ShaperError::Netns { pid, source }),
        };
        let term = Termination::Flag(self.stop.clone());
        let reporter = self.reporter.clone();
        let shared = self.shared.clone();
        let spawned = thread::Builder::new()
            .name(format!("shape-{pid}"))
            .spawn(move || {
                let result = setns(&ns, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| ShaperError::Netns {
                        pid,
                        source: e.into(),
                    })
                    .and_then(|()| {
                        apply(&cfg, &term, &shared, &mut |line| {
                            reporter.send(Report::Ready { pid, ready: line });
                            Ok(())
                        })
                    });
                reporter.send(Report::Done { pid, result });
            });
        match spawned {
            Ok(t) => {
                self.threads.push(t);
                Ok(())
            }
            Err(source) => {
                let e = ShaperError::Spawn {
                    program: format!("a shaping thread for pid {pid}"),
                    source,
                };
                self.fail(pid, &e)
            }
        }
    }

    /// Carries out one stdin line: a namespace to shape, or a link change.
    fn take(&mut self, line: HostLine) -> Result<(), ShaperError> {
        match (line, &self.live) {
            (HostLine::Shape { pid, region }, _) => return self.add(pid, region),
            (HostLine::Clock, _) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                let realtime_ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
                return self.print(&ShaperReport::Clock { realtime_ns });
            }
            (HostLine::Set { pid, addr, shape }, Some(live)) => live.set(pid, addr, shape),
            (HostLine::Reset { pid, addr }, Some(live)) => live.reset(pid, addr),
            (line, None) => {
                eprintln!("labshaper: ignoring stdin line `{line}`: links change only with --live");
            }
        }
        Ok(())
    }

    /// Prints a `shaper_failed` line for `pid` and counts it.
    fn fail(&mut self, pid: u32, e: &ShaperError) -> Result<(), ShaperError> {
        self.failed += 1;
        self.print(&ShaperReport::ShaperFailed {
            pid,
            error: format!("failed to {e}"),
        })
    }

    fn print(&mut self, report: &ShaperReport) -> Result<(), ShaperError> {
        writeln!(self.out, "{}", report.to_line())?;
        self.out.flush()?;
        Ok(())
    }

    /// Handles reports until SIGTERM/SIGINT.
    fn supervise(
        &mut self,
        rx: &Receiver<Report>,
        wake: &StopFlag,
        term: &Termination,
    ) -> Result<(), ShaperError> {
        loop {
            for report in rx.try_iter() {
                match report {
                    Report::Line(line) => self.take(line)?,
                    Report::BadLine(line, e) => {
                        eprintln!(
                            "labshaper: ignoring stdin line {line:?}: failed to read it: {e}"
                        );
                    }
                    Report::Ready { pid, mut ready } => {
                        if let ShaperReport::ShaperReady {
                            backend, pid: at, ..
                        } = &mut ready
                        {
                            self.backend.get_or_insert(*backend);
                            *at = Some(pid);
                        }
                        self.print(&ready)?;
                    }
                    Report::Done { pid, result } => {
                        let e = match result {
                            Err(e) => e,
                            Ok(_) => ShaperError::Stopped(pid),
                        };
                        self.fail(pid, &e)?;
                    }
                }
            }
            let (woken, signalled) = {
                let mut fds = [
                    PollFd::new(wake.as_fd(), PollFlags::POLLIN),
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
                wake.lower()?;
            }
            if signalled && term.received()? {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_lines_are_host_lines() {
        assert!(matches!(
            parse_line("42 eu-west"),
            Report::Line(HostLine::Shape { pid: 42, region: Some(r) }) if r == "eu-west"
        ));
        assert!(matches!(
            parse_line("reset 42 10.0.0.2"),
            Report::Line(HostLine::Reset { pid: 42, .. })
        ));
        for bad in ["x", "42 eu us", "-1 eu", "eu 42", "set 1 2"] {
            assert!(
                matches!(parse_line(bad), Report::BadLine(ref l, _) if l == bad),
                "{bad}"
            );
        }
    }
}
