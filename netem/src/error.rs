//! The one error type of the shaper, with the exit code each failure maps to.

use std::io;

use crate::shape::ShapeError;

/// Why shaping failed. Messages are lowercase and read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum ShaperError {
    /// The requested shape is out of range (loss above 1, jitter above the delay, ...).
    #[error("accept the link shape: {0}")]
    InvalidShape(#[from] ShapeError),
    /// A helper program (`tc`, `iptables`) could not be started at all.
    #[error("start `{program}`: {source}")]
    Spawn {
        /// The program that was started.
        program: String,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A helper program ran and exited with a failure.
    #[error("run `{command}` ({status}): {stderr}")]
    Command {
        /// The full command line, for the reader (it was never run through a shell).
        command: String,
        /// The exit status as printed by the standard library.
        status: String,
        /// The program's standard error, trimmed.
        stderr: String,
    },
    /// The kernel backend was forced but the kernel has no `sch_netem`.
    #[error("use the kernel backend: netem is not available ({0})")]
    NetemUnavailable(String),
    /// The kernel backend was forced on a testnet placed in regions: per-source links
    /// exist in the user-space delay line only.
    #[error(
        "use the kernel backend with per-region links: only the user-space backend delays by source"
    )]
    KernelBySource,
    /// The regions file of `labshaper host --regions` is unreadable or invalid, or a pid
    /// line names no region of it.
    #[error("{0}")]
    Regions(String),
    /// `--live` with `--backend kernel`.
    #[error("change links at run time: only the user-space backend can (not `--backend kernel`)")]
    LiveKernel,
    /// An NFQUEUE operation (open, bind, receive, verdict) failed.
    #[error("{operation} on nfqueue {queue}: {source}")]
    Nfqueue {
        /// What was being done, e.g. "bind".
        operation: &'static str,
        /// The queue number.
        queue: u16,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// Blocking signals, creating the signalfd, or waiting failed.
    #[error("{operation}: {source}")]
    Sys {
        /// The system operation, e.g. "block termination signals".
        operation: &'static str,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// A node's network namespace could not be opened or entered (`labshaper host`).
    #[error("enter the network namespace of pid {pid}: {source}")]
    Netns {
        /// The node's process id, as the host sees it.
        pid: u32,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// `labshaper host` was given the same pid twice.
    #[error("shape the namespace of pid {0}: it is listed twice")]
    DuplicatePid(u32),
    /// A shaping thread of `labshaper host` ended without a result.
    #[error("shape a namespace: its thread panicked")]
    ThreadPanicked,
    /// A shaping thread of `labshaper host` stopped before it was told to.
    #[error("shape the namespace of pid {0}: its thread stopped early")]
    Stopped(u32),
    /// Some namespaces of `labshaper host` could not be shaped (each has its
    /// `shaper_failed` line).
    #[error("shape {0} of the namespaces")]
    Namespaces(usize),
    /// Writing the JSON status line failed.
    #[error("write the status line: {0}")]
    Output(#[from] io::Error),
}

impl ShaperError {
    /// The process exit code for this failure: 3 for a bad shape, 4 for a failed helper
    /// program, 5 for a missing kernel feature, 6 for NFQUEUE trouble, 7 for a namespace that cannot be entered, 1 for anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::InvalidShape(_) | Self::Regions(_) | Self::LiveKernel => 3,
            Self::Spawn { .. } | Self::Command { .. } => 4,
            Self::NetemUnavailable(_) | Self::KernelBySource => 5,
            Self::Nfqueue { .. } => 6,
            Self::Netns { .. } | Self::DuplicatePid(_) => 7,
            Self::Sys { .. }
            | Self::ThreadPanicked
            | Self::Stopped(_)
            | Self::Namespaces(_)
            | Self::Output(_) => 1,
        }
    }
}
