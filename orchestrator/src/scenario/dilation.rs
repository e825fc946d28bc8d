//! `[scenario] time_scale` and `cpu_per_node`: how much slower than its virtual time a run
//! goes, and how much CPU each node gets per virtual second (README, "Virtual time").

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::host::demand::Demand;

/// The share of the host the demand estimate may reach at the scale `auto` picks. Measured
/// with `baseline-100.toml` (100 nodes, 5 msg/s, 2 cores): at an estimated 23 % (k = 3.75)
/// message hops were 25 % above the imposed delay and p95/p99 17-20 % above those at twice
/// that scale; at an estimated 12 % (k = 7.5) hops were within 10 % (the host was 21 %
/// busy: the estimate misses the CPU quota's and the shaper's overheads).
pub const AUTO_BUSY: f64 = 0.125;
use lab_config::TimeScale;
use lab_config::time_scale::MAX_TIME_SCALE;

/// The fewest cores a node may be given per virtual second: below it a node at the spec's
/// rates cannot keep up even alone, and the CPU quota (`cpu_per_node / k` of a period of at
/// least 1 ms) would need periods beyond the kernel's 1 s.
pub const MIN_CPU_PER_NODE: f64 = 0.01;
/// The most: a node of ours uses at most a few cores (bounds::MAX_THREADS is 64).
pub const MAX_CPU_PER_NODE: f64 = 64.0;

/// `time_scale` as written: a number, or `"auto"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(super) enum RawTimeScale {
    /// A fixed `k`.
    Number(f64),
    /// A word: only `auto` is one.
    Word(String),
}

/// The scenario's time scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeScaleChoice {
    /// A fixed `k` (1: real time, the default).
    Fixed(TimeScale),
    /// The smallest `k` at which the estimated demand keeps the host at most
    /// [`AUTO_BUSY`] busy ([`TimeScaleChoice::resolve`]).
    Auto,
}

impl TimeScaleChoice {
    /// Reads the written value; the error reads after the field's name.
    pub(super) fn from_raw(raw: Option<&RawTimeScale>) -> Result<Self, String> {
        match raw {
            None => Ok(TimeScaleChoice::Fixed(TimeScale::REAL)),
            Some(RawTimeScale::Number(k)) => TimeScale::new(*k).map(TimeScaleChoice::Fixed),
            Some(RawTimeScale::Word(w)) if w == "auto" => Ok(TimeScaleChoice::Auto),
            Some(RawTimeScale::Word(w)) => Err(format!(
                "must be a number from 1 to {MAX_TIME_SCALE} or \"auto\", got \"{w}\""
            )),
        }
    }

    /// `k` for a run of `nodes` nodes on a topic of `rate` msg/s on a host of `cores`:
    /// the fixed one, or for `auto` the estimated demand over [`AUTO_BUSY`], rounded up
    /// to a quarter (never below 1).
    pub fn resolve(self, nodes: usize, rate: f64, cores: usize) -> TimeScale {
        match self {
            TimeScaleChoice::Fixed(k) => k,
            TimeScaleChoice::Auto => {
                let busy = Demand::estimate(nodes, rate, cores).busy_share();
                fitting(busy, AUTO_BUSY)
            }
        }
    }
}

/// The smallest `k` (in quarters, at least 1) at which a run that keeps the host `busy`
/// busy at `k = 1` keeps it at most `target` busy: a run's demand is proportional to its
/// rates, which dilation divides by `k`.
pub fn fitting(busy: f64, target: f64) -> TimeScale {
    let k = (busy / target * 4.0).ceil() / 4.0;
    TimeScale::new(k.clamp(1.0, MAX_TIME_SCALE)).unwrap_or(TimeScale::REAL)
}

impl fmt::Display for TimeScaleChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeScaleChoice::Fixed(k) => write!(f, "{k}"),
            TimeScaleChoice::Auto => f.write_str("auto"),
        }
    }
}

impl Serialize for TimeScaleChoice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TimeScaleChoice::Fixed(k) => s.serialize_f64(k.factor()),
            TimeScaleChoice::Auto => s.serialize_str("auto"),
        }
    }
}

/// The CPU quota that keeps a dilated node's CPU faithful (DieCast): `cpu_per_node / k`
/// cores, as a CFS period and quota in microseconds. The period is as short as the kernel
/// allows for that quota (quota ≥ 1 ms, period 1 ms..1 s): a long period would let short
/// bursts run unthrottled, k times too fast in virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuQuota {
    /// CFS period, µs.
    pub period_us: i64,
    /// CPU time per period, µs.
    pub quota_us: i64,
}

/// The kernel's shortest CFS quota and period, µs (cgroup v1 and v2).
const MIN_CFS_US: f64 = 1_000.0;
/// The kernel's longest CFS period, µs.
const MAX_CFS_PERIOD_US: f64 = 1_000_000.0;

impl CpuQuota {
    /// The quota of `cpu_per_node / k` cores; `None` at `k = 1` with `cpu_per_node ≥ 1`,
    /// where a node runs unlimited, as before dilation existed. Below a thousandth of a
    /// core (1 ms a second) the kernel cannot go: the quota gives more than asked
    /// ([`CpuQuota::cores`] tells).
    pub fn of(cpu_per_node: f64, k: TimeScale) -> Option<CpuQuota> {
        let cores = cpu_per_node / k.factor();
        if k.is_real() && cpu_per_node >= 1.0 {
            return None;
        }
        // quota = period × cores ≥ 1 ms.
        let period = (MIN_CFS_US / cores.min(1.0)).clamp(MIN_CFS_US, MAX_CFS_PERIOD_US);
        let quota = (period * cores).max(MIN_CFS_US);
        Some(CpuQuota {
            period_us: period.round() as i64,
            quota_us: quota.round() as i64,
        })
    }

    /// The cores it gives.
    pub fn cores(&self) -> f64 {
        self.quota_us as f64 / self.period_us as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(v: f64) -> TimeScale {
        TimeScale::new(v).expect("valid")
    }

    #[test]
    fn written_values() {
        assert_eq!(
            TimeScaleChoice::from_raw(None),
            Ok(TimeScaleChoice::Fixed(TimeScale::REAL))
        );
        assert_eq!(
            TimeScaleChoice::from_raw(Some(&RawTimeScale::Number(2.5))),
            Ok(TimeScaleChoice::Fixed(k(2.5)))
        );
        assert_eq!(
            TimeScaleChoice::from_raw(Some(&RawTimeScale::Word("auto".into()))),
            Ok(TimeScaleChoice::Auto)
        );
        for bad in [0.5, 0.0, -3.0, f64::NAN, 1e6] {
            assert!(TimeScaleChoice::from_raw(Some(&RawTimeScale::Number(bad))).is_err());
        }
        let e = TimeScaleChoice::from_raw(Some(&RawTimeScale::Word("fast".into())));
        assert!(e.expect_err("a word").contains("\"auto\""));
    }

    #[test]
    fn auto_fits_the_demand_to_the_faithful_share() {
        // 10 nodes at 6 msg/s: well within the host, real time.
        assert_eq!(TimeScaleChoice::Auto.resolve(10, 6.0, 2), TimeScale::REAL);
        // 100 nodes at 5 msg/s on 2 cores: ~87 % busy at k = 1.
        let b = TimeScaleChoice::Auto.resolve(100, 5.0, 2);
        assert!(b.factor() >= 6.5 && b.factor() <= 7.5, "{b}");
        // Dilation divides every rate, the nodes' idle work included: the whole demand.
        let est = Demand::estimate(100, 5.0, 2).busy_share() / b.factor();
        assert!(est <= AUTO_BUSY + 1e-9, "{est}");
        // Ten times the nodes, about ten times the scale.
        let big = TimeScaleChoice::Auto.resolve(1000, 5.0, 2);
        assert!(big.factor() > 9.0 * b.factor(), "{big} {b}");
        assert_eq!(TimeScaleChoice::Fixed(k(7.0)).resolve(1000, 5.0, 2), k(7.0));
    }

    #[test]
    fn the_quota_gives_cpu_per_node_over_k_on_the_shortest_period() {
        assert_eq!(CpuQuota::of(1.0, TimeScale::REAL), None);
        let q = CpuQuota::of(1.0, k(4.0)).expect("limited");
        assert_eq!((q.period_us, q.quota_us), (4_000, 1_000));
        assert!((q.cores() - 0.25).abs() < 1e-9);
        let q = CpuQuota::of(2.0, k(4.0)).expect("limited");
        assert_eq!((q.period_us, q.quota_us), (2_000, 1_000));
        let q = CpuQuota::of(8.0, k(4.0)).expect("limited");
        assert_eq!((q.period_us, q.quota_us), (1_000, 2_000));
        let q = CpuQuota::of(0.5, TimeScale::REAL).expect("limited");
        assert_eq!((q.period_us, q.quota_us), (2_000, 1_000));
        // A ten-thousandth of a core would need a 10 s period for the kernel's 1 ms quota:
        // the period stops at 1 s, and the quota gives a thousandth.
        let q = CpuQuota::of(0.1, k(1000.0)).expect("limited");
        assert_eq!((q.period_us, q.quota_us), (1_000_000, 1_000));
        assert!(q.cores() > 0.1 / 1000.0);
    }
}
