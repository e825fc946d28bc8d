//! One delay loop for the delay lines of many namespaces (`labshaper host`; `labshaper
//! apply` runs it for its one line): one thread,
//! one timer and one `ppoll` over an epoll set of every queue socket, instead of a thread
//! per namespace that wakes for each of its packets. Wake-ups come at most once per
//! granularity and each serves every namespace, so their cost is shared by all the packets
//! that gathered meanwhile. A line's socket wakes the loop only while the line holds
//! nothing (it is in the epoll set one-shot, re-armed when the line empties): a holding
//! line is read every so often on whichever wake-up comes then (see [`crate::DelayLine`];
//! its packets count from the kernel's arrival stamp), so at any rate that keeps lines
//! holding, the loop wakes for releases only.
//!
//! A namespace's thread still opens its queue, installs and removes its rules; in between,
//! [`SharedLoop::hold`] lends its [`DelayLine`] to the loop until termination (or a queue
//! error), and gets it back, held packets included, to flush and unbind.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use nix::sys::prctl::set_timerslack;

use crate::error::ShaperError;
use crate::nfqueue::{DelayLine, wait};
use crate::signals::{StopFlag, Termination};

/// Timer slack of the loop: the kernel may fire the `ppoll` timeout this late (the default
/// is 50 us, a visible share of a sub-millisecond error budget).
const TIMER_SLACK_NS: u64 = 1_000;
/// Most ready sockets taken from epoll per wake-up (the rest come next time).
const EVENTS: usize = 256;

/// A line lent to the loop, and how to tell its owner the loop gave up on it.
struct Lent {
    line: DelayLine,
    failed: Arc<StopFlag>,
    error: Option<ShaperError>,
    /// Whether its socket's one-shot epoll entry is armed (it wakes the loop on arrival).
    armed: bool,
}

/// What the namespaces' threads ask of the loop.
enum Request {
    /// Serve this line under this key.
    Lend(u64, Box<Lent>),
    /// Give the line back.
    Return(u64, Sender<Lent>),
}

/// The handle the namespaces' threads share; the loop thread ends once every handle is
/// dropped and every line returned.
pub struct SharedLoop {
    /// Taken (closed) first when a handle is dropped, then the loop is woken to notice.
    tx: Option<Sender<Request>>,
    wake: Arc<StopFlag>,
}

impl Clone for SharedLoop {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            wake: self.wake.clone(),
        }
    }
}

impl Drop for SharedLoop {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Err(e) = self.wake.raise() {
            eprintln!("labshaper: failed to {e}");
        }
    }
}

impl SharedLoop {
    /// Starts the loop thread.
    pub fn start() -> Result<(Self, JoinHandle<()>), ShaperError> {
        let wake = Arc::new(StopFlag::new()?);
        let epoll =
            Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(|source| ShaperError::Sys {
                operation: "create an epoll set",
                source,
            })?;
        let (tx, rx) = mpsc::channel();
        let state = Loop {
            rx,
            wake: wake.clone(),
            epoll,
            lines: HashMap::new(),
            granularity: Duration::ZERO,
        };
        let thread = thread::Builder::new()
            .name("delay-loop".into())
            .spawn(move || state.run())
            .map_err(|source| ShaperError::Spawn {
                program: "the delay loop thread".into(),
                source,
            })?;
        Ok((Self { tx: Some(tx), wake }, thread))
    }

    fn ask(&self, request: Request) -> Result<(), ShaperError> {
        self.tx
            .as_ref()
            .ok_or(ShaperError::ThreadPanicked)?
            .send(request)
            .map_err(|_| ShaperError::ThreadPanicked)?;
        self.wake.raise()
    }

    /// Lends `line` to the loop until `term` (or until the loop fails on it), then takes it
    /// back; the loop's error on it, if any, is returned with it.
    pub fn hold(
        &self,
        line: DelayLine,
        term: &Termination,
    ) -> (Result<(), ShaperError>, Option<DelayLine>) {
        let key = u64::try_from(line.as_fd().as_raw_fd()).unwrap_or(u64::MAX);
        let failed = match StopFlag::new() {
            Ok(f) => Arc::new(f),
            Err(e) => return (Err(e), Some(line)),
        };
        let lent = Lent {
            line,
            failed: failed.clone(),
            error: None,
            armed: false,
        };
        if let Err(e) = self.ask(Request::Lend(key, Box::new(lent))) {
            return (Err(e), None);
        }
        let waited = loop {
            match wait(&[term.as_fd(), failed.as_fd()], None) {
                Ok([_, true]) => break Ok(()),
                Ok([true, _]) => match term.received() {
                    Ok(true) => break Ok(()),
                    Ok(false) => {}
                    Err(e) => break Err(e),
                },
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        let (back_tx, back_rx) = mpsc::channel();
        if let Err(e) = self.ask(Request::Return(key, back_tx)) {
            return (Err(e), None);
        }
        match back_rx.recv() {
            Ok(lent) => {
                let result = match lent.error {
                    Some(e) => Err(e),
                    None => waited,
                };
                (result, Some(lent.line))
            }
            Err(_) => (Err(ShaperError::ThreadPanicked), None),
        }
    }
}

/// The loop thread's state.
struct Loop {
    rx: Receiver<Request>,
    wake: Arc<StopFlag>,
    epoll: Epoll,
    lines: HashMap<u64, Lent>,
    /// The finest granularity among the lines.
    granularity: Duration,
}

impl Loop {
    fn run(mut self) {
        if let Err(e) = set_timerslack(TIMER_SLACK_NS) {
            eprintln!("labshaper: failed to lower the timer slack (continuing): {e}");
        }
        if let Err(e) = self.serve() {
            eprintln!("labshaper: delay loop: failed to {e}");
        }
    }

    fn serve(&mut self) -> Result<(), ShaperError> {
        let mut events = [EpollEvent::empty(); EVENTS];
        let mut last_wake = Instant::now();
        loop {
            let timeout = self
                .next_wake()
                .map(|at| at.max(last_wake + self.granularity))
                .map(|at| at.saturating_duration_since(Instant::now()));
            let [packets, requests] = wait(&[self.epoll.0.as_fd(), self.wake.as_fd()], timeout)?;
            if requests && !self.requests()? {
                return Ok(());
            }
            let (now, wall) = (Instant::now(), SystemTime::now());
            last_wake = now;
            if packets {
                let n = self
                    .epoll
                    .wait(&mut events, 0u8)
                    .map_err(|source| ShaperError::Sys {
                        operation: "read the epoll set",
                        source,
                    })?;
                for event in &events[..n] {
                    if let Some(lent) = self.lines.get_mut(&event.data()) {
                        // One-shot: disarmed until re-armed below.
                        lent.armed = false;
                        serve_one(&self.epoll, lent, |line| line.receive_batch(now, wall));
                    }
                }
            }
            for lent in self.lines.values_mut() {
                if !lent.armed && lent.line.read_by().is_some_and(|by| by <= now) {
                    serve_one(&self.epoll, lent, |line| line.receive_batch(now, wall));
                }
                serve_one(&self.epoll, lent, |line| line.release_due(now));
                if !lent.armed && (lent.line.is_idle() || lent.line.reads_on_arrival()) {
                    arm(&self.epoll, lent);
                }
            }
        }
    }

    /// The earliest time some line needs the loop: a release, or a holding line's read.
    fn next_wake(&self) -> Option<Instant> {
        self.lines
            .values()
            .filter(|l| l.error.is_none())
            .flat_map(|l| [l.line.next_release(), l.line.read_by().filter(|_| !l.armed)])
            .flatten()
            .min()
    }

    /// Handles pending requests; false once every handle is gone and no line is left.
    fn requests(&mut self) -> Result<bool, ShaperError> {
        self.wake.lower()?;
        loop {
            match self.rx.try_recv() {
                Ok(Request::Lend(key, lent)) => {
                    let mut lent = *lent;
                    let event =
                        EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLONESHOT, key);
                    match self.epoll.add(lent.line.as_fd(), event) {
                        Ok(()) => lent.armed = true,
                        Err(source) => fail(
                            &mut lent,
                            ShaperError::Sys {
                                operation: "add a queue to the epoll set",
                                source,
                            },
                        ),
                    }
                    self.lines.insert(key, lent);
                    self.granularity = self
                        .lines
                        .values()
                        .map(|l| l.line.granularity())
                        .min()
                        .unwrap_or_default();
                }
                Ok(Request::Return(key, back)) => {
                    if let Some(lent) = self.lines.remove(&key) {
                        // Already gone from the set if it failed; nothing to undo then.
                        let _ = self.epoll.delete(lent.line.as_fd());
                        // The owner waits for it; it is gone only if the owner died.
                        let _ = back.send(lent);
                    }
                }
                Err(TryRecvError::Empty) => return Ok(true),
                Err(TryRecvError::Disconnected) => return Ok(!self.lines.is_empty()),
            }
        }
    }
}

/// Runs one step on a line; on a queue error, takes the line out of the epoll set, parks
/// it (its held packets stay held until its owner flushes them) and tells its owner.
fn serve_one(
    epoll: &Epoll,
    lent: &mut Lent,
    step: impl FnOnce(&mut DelayLine) -> Result<usize, ShaperError>,
) -> usize {
    if lent.error.is_some() {
        return 0;
    }
    match step(&mut lent.line) {
        Ok(n) => n,
        Err(e) => {
            // Not in the set only if adding it failed, which parked it already.
            let _ = epoll.delete(lent.line.as_fd());
            fail(lent, e);
            0
        }
    }
}

/// Re-arms a line's one-shot epoll entry, so that its next arrival wakes the loop; on
/// failure the line is parked like on a queue error.
fn arm(epoll: &Epoll, lent: &mut Lent) {
    if lent.error.is_some() {
        return;
    }
    let key = u64::try_from(lent.line.as_fd().as_raw_fd()).unwrap_or(u64::MAX);
    let mut event = EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLONESHOT, key);
    match epoll.modify(lent.line.as_fd(), &mut event) {
        Ok(()) => lent.armed = true,
        Err(source) => {
            let _ = epoll.delete(lent.line.as_fd());
            fail(
                lent,
                ShaperError::Sys {
                    operation: "re-arm a queue in the epoll set",
                    source,
                },
            );
        }
    }
}

/// Records `e` as the reason the loop gave up on `lent` (it travels back with the line),
/// and tells its owner.
fn fail(lent: &mut Lent, e: ShaperError) {
    if let Err(raise) = lent.failed.raise() {
        eprintln!("labshaper: failed to {raise}");
    }
    lent.error = Some(e);
}
