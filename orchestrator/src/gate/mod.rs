//! The CI gate: the figures a run is judged by, repeated trials with confidence
//! intervals, and the baseline comparison.
//!
//! - [`figures`](Figure): which figures are tracked and which way each gets worse;
//! - [`median_ci`]: the median of trials and its distribution-free confidence interval;
//! - [`summarise`]: the trials of `orchestrator run --trials N` → `trials.json`;
//! - [`compare()`]: `orchestrator compare BASELINE CURRENT` and its rule;

mod compare;
pub(crate) mod figures;
mod interval;
pub(crate) mod trials;

pub use compare::{
    Comparison, DEFAULT_DELIVERY_DROP, DEFAULT_THRESHOLD_PERCENT, MAX_RELATIVE_PERCENT, Row, Side,
    Status, Threshold, Thresholds, compare,
};
pub use figures::{Figure, Unit, Worse, extract};
pub use interval::{CONFIDENCE, Estimate, median_ci};
pub use trials::{MAX_RERUNS, MAX_TRIALS, SetAside, TRIALS_FORMAT, Trial, TrialsResult, summarise};
