//! SIGTERM/SIGINT as a readable file descriptor, so the shaper's one thread can wait for
//! packets, the next release time and termination in a single `ppoll`.

use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::error::ShaperError;

/// Termination signals, blocked for normal delivery and readable from a signalfd instead.
///
/// Create it first thing in `main`, before any thread exists, so that every thread inherits
/// the blocked mask. Child processes (`tc`, `iptables`) start with an empty mask: the
/// standard library resets it before `exec`.
#[derive(Debug)]
pub struct Termination {
    mask: SigSet,
    fd: SignalFd,
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
        Ok(Self { mask, fd })
    }

    /// The descriptor to poll for readability.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Whether a termination signal is pending (consumes it).
    pub fn received(&self) -> Result<bool, ShaperError> {
        self.fd
            .read_signal()
            .map(|info| info.is_some())
            .map_err(|source| ShaperError::Sys {
                operation: "read the signalfd",
                source,
            })
    }

    /// Blocks until SIGTERM or SIGINT arrives.
    pub fn wait(&self) -> Result<Signal, ShaperError> {
        self.mask.wait().map_err(|source| ShaperError::Sys {
            operation: "wait for a termination signal",
            source,
        })
    }
}
