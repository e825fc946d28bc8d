//! The CI gate: the figures a run is judged by, repeated trials with confidence
//! intervals, the baseline comparison, JUnit output, and the compose export.
//!
//! - [`figures`](Figure): which figures are tracked and which way each gets worse;
//! - [`median_ci`]: the median of trials and its distribution-free confidence interval;
//! - [`run_trials`]: `orchestrator run --trials N` → `trials.json`;
//! - [`compare()`]: `orchestrator compare BASELINE CURRENT` and its rule;
//! - [`junit`]: `--junit FILE`;
//! - [`compose`]: `orchestrator export compose SCENARIO`.

mod compare;
pub mod compose;
mod figures;
mod interval;
pub mod junit;
mod trials;

pub use compare::{
    Comparison, DEFAULT_DELIVERY_DROP, DEFAULT_THRESHOLD_PERCENT, MAX_RELATIVE_PERCENT, Row, Side,
    Status, Threshold, Thresholds, compare,
};
pub use figures::{Figure, Unit, Worse, extract};
pub use interval::{CONFIDENCE, Estimate, median_ci};
pub use trials::{
    MAX_TRIALS, TRIALS_FORMAT, Trial, TrialsResult, run_trials, summarise, trial_line,
};
