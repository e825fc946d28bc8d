//! What tells a delay line to stop, as a readable file descriptor, so that the loop can
//! wait for packets, the next release time and termination in a single `ppoll`: SIGTERM/
//! SIGINT through a signalfd (`labshaper apply`), or an eventfd that the main thread of
//! `labshaper host` sets for all of its shaping threads at once.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::error::ShaperError;

/// Whether `poll` reported any event on `fd`.
pub(crate) fn readable(fd: &PollFd<'_>) -> bool {
    fd.revents().is_some_and(|r| !r.is_empty())
}

/// A reason to stop: termination signals, or a stop flag shared between threads.
#[derive(Debug)]
pub enum Termination {
    /// SIGTERM and SIGINT, blocked for normal delivery and readable from a signalfd.
    Signals(Signals),
    /// A shared [`StopFlag`].
    Flag(Arc<StopFlag>),
}

/// SIGTERM/SIGINT as a signalfd.
///
/// Create it first thing in `main`, before any thread exists, so that every thread inherits
/// the blocked mask. Child processes (`tc`, `iptables`) start with an empty mask: the
/// standard library resets it before `exec`.
#[derive(Debug)]
pub struct Signals {
    mask: SigSet,
    fd: SignalFd,
}

/// A flag readable as a file descriptor: once raised, it stays readable until lowered, so
/// every thread polling it sees it (a stop flag is never lowered).
#[derive(Debug)]
pub struct StopFlag(EventFd);

impl StopFlag {
    /// A lowered flag.
    pub fn new() -> Result<Self, ShaperError> {
        EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map(Self)
            .map_err(|source| ShaperError::Sys {
                operation: "open an eventfd",
                source,
            })
    }

    /// Raises the flag for every thread polling it.
    pub fn raise(&self) -> Result<(), ShaperError> {
        self.0
            .write(1)
            .map(|_| ())
            .map_err(|source| ShaperError::Sys {
                operation: "write the eventfd",
                source,
            })
    }

    /// Lowers the flag (no-op when it is not raised).
    pub fn lower(&self) -> Result<(), ShaperError> {
        match self.0.read() {
            Ok(_) | Err(Errno::EAGAIN) => Ok(()),
            Err(source) => Err(ShaperError::Sys {
                operation: "read the eventfd",
                source,
            }),
        }
    }

    /// The descriptor to poll for readability.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Termination {
    /// Blocks SIGTERM and SIGINT and opens a non-blocking signalfd for them.
    pub fn install() -> Result<Self, ShaperError> {
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGTERM);
        mask.add(Signal::SIGINT);
        mask.thread_block().map_err(|source| ShaperError::Sys {
            operation: "block termination signals",
            source,
        })?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|source| ShaperError::Sys {
                operation: "open a signalfd",
                source,
            })?;
        Ok(Self::Signals(Signals { mask, fd }))
    }

    /// The descriptor to poll for readability.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Signals(s) => s.fd.as_fd(),
            Self::Flag(f) => f.as_fd(),
        }
    }

    /// Whether termination was asked for (consumes a pending signal; a raised flag stays
    /// raised).
    pub fn received(&self) -> Result<bool, ShaperError> {
        match self {
            Self::Signals(s) => {
                s.fd.read_signal()
                    .map(|info| info.is_some())
                    .map_err(|source| ShaperError::Sys {
                        operation: "read the signalfd",
                        source,
                    })
            }
            Self::Flag(f) => {
                let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::ZERO) {
                    Ok(n) => Ok(n > 0),
                    Err(Errno::EINTR) => Ok(false),
                    Err(source) => Err(ShaperError::Sys {
                        operation: "poll the stop flag",
                        source,
                    }),
                }
            }
        }
    }

    /// Blocks until termination is asked for.
    pub fn wait(&self) -> Result<(), ShaperError> {
        match self {
            Self::Signals(s) => s
                .mask
                .wait()
                .map(|_| ())
                .map_err(|source| ShaperError::Sys {
                    operation: "wait for a termination signal",
                    source,
                }),
            Self::Flag(f) => loop {
                let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(n) if n > 0 => return Ok(()),
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(source) => {
                        return Err(ShaperError::Sys {
                            operation: "wait for the stop flag",
                            source,
                        });
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_flag_stops_every_holder_and_stays_raised() {
        let flag = Arc::new(StopFlag::new().expect("eventfd"));
        let a = Termination::Flag(flag.clone());
        let b = Termination::Flag(flag.clone());
        assert!(!a.received().expect("poll"));
        let waiter = std::thread::spawn(move || b.wait());
        flag.raise().expect("raise");
        assert!(waiter.join().expect("join").is_ok());
        assert!(a.received().expect("poll"));
        assert!(a.received().expect("poll"), "the flag is not consumed");
    }
}
