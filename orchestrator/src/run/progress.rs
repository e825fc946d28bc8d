//! The progress bars of a run's long phases.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps labelled `what`.
pub(super) fn phase_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{msg:>22} [{bar:30}] {pos}/{len} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(what.to_string());
    bar
}

/// Seconds since `t0`, as a phase time.
pub(super) fn elapsed_s(t0: Instant) -> Option<f64> {
    Some(t0.elapsed().as_secs_f64())
}
