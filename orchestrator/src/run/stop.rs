//! Ctrl-C (or SIGTERM) between runs: a run in progress tears down and fails as
//! interrupted through its own handler, but once a handler is installed the process no
//! longer dies of the signal, so a command of several runs (`run --trials`, `sweep`)
//! installs a [`StopFlag`] for its whole length and starts no further run once it is set.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::signal::unix::{SignalKind, signal};

use crate::error::Error;

/// Set once SIGINT or SIGTERM arrives.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag the process's SIGINT and SIGTERM set, saying `said` when they do (the runs'
    /// own handlers still get theirs: tokio hands a signal to every listener).
    pub fn install(said: &'static str) -> Result<StopFlag, Error> {
        let flag = StopFlag::default();
        let mut sigint = signal(SignalKind::interrupt())
            .map_err(|e| Error::Infra(format!("install the SIGINT handler: {e}")))?;
        let mut sigterm = signal(SignalKind::terminate())
            .map_err(|e| Error::Infra(format!("install the SIGTERM handler: {e}")))?;
        let set = flag.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = sigint.recv() => {}
                _ = sigterm.recv() => {}
            }
            eprintln!("==> {said}");
            set.set();
        });
        Ok(flag)
    }

    /// Sets the flag.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
