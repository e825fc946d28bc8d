//! The figures the gate tracks, as read from a [`RunResult`], each with the direction in
//! which it gets worse.

use std::fmt;

use crate::result::RunResult;

/// Which way a figure gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worse {
    /// A larger value is worse (latencies, duplicates).
    Higher,
    /// A smaller value is worse (delivery ratio).
    Lower,
}

/// How a figure's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Ms,
    /// A ratio in 0..=1.
    Ratio,
    /// Copies per message.
    PerMessage,
}

impl Unit {
    /// The unit's short name, as in tables.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::Ratio => "ratio",
            Unit::PerMessage => "copies",
        }
    }

    /// `value` with the precision this unit deserves.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Ms => format!("{value:.1}"),
            Unit::Ratio => format!("{value:.4}"),
            Unit::PerMessage => format!("{value:.2}"),
        }
    }
}

/// One tracked figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Figure {
    /// Median delivery latency at honest receivers.
    P50,
    /// 95th percentile delivery latency.
    P95,
    /// 99th percentile delivery latency.
    P99,
    /// 99th percentile (over messages) of the time to reach every honest node; not
    /// measured when some message never reached every honest node.
    Coverage100P99,
    /// Delivery ratio at honest receivers.
    Delivery,
    /// Redundant copies received per unique message at honest nodes.
    Duplicates,
}

impl Figure {
    /// Every tracked figure, in table order.
    pub const ALL: [Figure; 6] = [
        Figure::P50,
        Figure::P95,
        Figure::P99,
        Figure::Coverage100P99,
        Figure::Delivery,
        Figure::Duplicates,
    ];

    /// The figure's key in `trials.json` and on the command line (`--<key>` with `_` as
    /// `-`): `p50`, `p95`, `p99`, `cov100_p99`, `delivery`, `dups`.
    pub fn key(self) -> &'static str {
        match self {
            Figure::P50 => "p50",
            Figure::P95 => "p95",
            Figure::P99 => "p99",
            Figure::Coverage100P99 => "cov100_p99",
            Figure::Delivery => "delivery",
            Figure::Duplicates => "dups",
        }
    }

    /// The figure with this key.
    pub fn from_key(key: &str) -> Option<Figure> {
        Figure::ALL.into_iter().find(|f| f.key() == key)
    }

    /// A short human description.
    pub fn label(self) -> &'static str {
        match self {
            Figure::P50 => "latency p50",
            Figure::P95 => "latency p95",
            Figure::P99 => "latency p99",
            Figure::Coverage100P99 => "coverage 100% p99",
            Figure::Delivery => "delivery ratio",
            Figure::Duplicates => "duplicates/message",
        }
    }

    /// The figure's unit.
    pub fn unit(self) -> Unit {
        match self {
            Figure::P50 | Figure::P95 | Figure::P99 | Figure::Coverage100P99 => Unit::Ms,
            Figure::Delivery => Unit::Ratio,
            Figure::Duplicates => Unit::PerMessage,
        }
    }

    /// Which way the figure gets worse.
    pub fn worse(self) -> Worse {
        match self {
            Figure::Delivery => Worse::Lower,
            _ => Worse::Higher,
        }
    }

    /// Why `value` cannot be a value of this figure (not finite, a negative latency or
    /// count, a ratio outside 0..=1), as a message about the field that holds it
    /// (`is 7.5, not a ratio in 0..=1`); `None` when it can.
    pub fn domain_problem(self, value: f64) -> Option<String> {
        let v = crate::fsio::num(value);
        if !value.is_finite() {
            return Some(format!("is {v}, not a finite number"));
        }
        match self.unit() {
            Unit::Ratio if !(0.0..=1.0).contains(&value) => {
                Some(format!("is {v}, not a ratio in 0..=1"))
            }
            Unit::Ms if value < 0.0 => Some(format!("is {v} ms, a negative time")),
            Unit::PerMessage if value < 0.0 => Some(format!("is {v}, a negative number of copies")),
            _ => None,
        }
    }

    /// The figure's value in `result`, in its unit; `None` when the run did not measure it.
    pub fn of(self, result: &RunResult) -> Option<f64> {
        let s = &result.stats;
        let ms = |us: Option<u64>| us.map(|us| us as f64 / 1000.0);
        match self {
            Figure::P50 => ms(s.latency.p50_us),
            Figure::P95 => ms(s.latency.p95_us),
            Figure::P99 => ms(s.latency.p99_us),
            Figure::Coverage100P99 => {
                let full = s.coverage.iter().find(|c| c.percent == 100)?;
                // A message that never reached every node has no coverage time, so the
                // p99 over all messages is undefined (not the p99 of the others).
                if full.never > 0 {
                    None
                } else {
                    ms(full.p99_us)
                }
            }
            Figure::Delivery => s.delivery.ratio,
            Figure::Duplicates => s.duplicates.as_ref().and_then(|d| d.per_delivery),
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Every tracked figure of `result` with its value (`None` = not measured).
pub fn extract(result: &RunResult) -> Vec<(Figure, Option<f64>)> {
    Figure::ALL.into_iter().map(|f| (f, f.of(result))).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::{CoverageLevel, Duplicates};
    use crate::result::RunResult;

    /// A result of a 4-node plan with the given figures (ms, ratio, copies).
    pub(crate) fn result_with(
        p50: f64,
        p95: f64,
        p99: f64,
        cov100_p99: f64,
        delivery: f64,
        dups: f64,
    ) -> RunResult {
        let plan = crate::testkit::Small {
            name: "synthetic",
            warmup: "",
            targets: "p99 = \"200ms\"\ndelivery = 0.99",
            ..Default::default()
        }
        .plan();
        let mut stats = crate::analysis::compute(&[], &plan, None);
        let us = |ms: f64| Some((ms * 1000.0).round() as u64);
        stats.latency.count = 100;
        stats.latency.p50_us = us(p50);
        stats.latency.p95_us = us(p95);
        stats.latency.p99_us = us(p99);
        stats.coverage = vec![CoverageLevel {
            percent: 100,
            messages: 10,
            reached: 10,
            never: 0,
            p50_us: us(p50),
            p95_us: us(cov100_p99),
            p99_us: us(cov100_p99),
        }];
        // Counts that give the figures exactly, so that the result reads back.
        stats.delivery.expected = 1_000_000;
        stats.delivery.delivered = (delivery * 1e6).round() as u64;
        stats.delivery.ratio = Some(stats.delivery.delivered as f64 / 1e6);
        let unique = 1_000_000u64;
        let received = unique + (dups * 1e6).round() as u64;
        stats.duplicates = Some(Duplicates {
            received,
            unique,
            per_delivery: Some((received - unique) as f64 / unique as f64),
        });
        RunResult::new(
            "synthetic-00000000",
            &plan,
            stats,
            "none",
            SYNTHETIC_START_MS,
            SYNTHETIC_START_MS + 60_000,
        )
    }

    /// When the synthetic runs started: 2024-01-01 00:00:00 UTC, ms since the epoch.
    pub(crate) const SYNTHETIC_START_MS: u64 = 1_704_067_200_000;

    #[test]
    fn figures_are_read_in_their_units() {
        let r = result_with(30.0, 60.5, 81.25, 96.0, 0.999, 1.83);
        let got: Vec<(Figure, Option<f64>)> = extract(&r);
        assert_eq!(
            got,
            vec![
                (Figure::P50, Some(30.0)),
                (Figure::P95, Some(60.5)),
                (Figure::P99, Some(81.25)),
                (Figure::Coverage100P99, Some(96.0)),
                (Figure::Delivery, Some(0.999)),
                (Figure::Duplicates, Some(1.83)),
            ]
        );
    }

    #[test]
    fn a_message_that_never_covers_everyone_leaves_coverage_unmeasured() {
        let mut r = result_with(30.0, 60.0, 80.0, 96.0, 0.9, 1.0);
        assert_eq!(Figure::Coverage100P99.of(&r), Some(96.0));
        r.stats.coverage[0].never = 1;
        assert_eq!(Figure::Coverage100P99.of(&r), None);
        r.stats.coverage.clear();
        assert_eq!(Figure::Coverage100P99.of(&r), None);
    }

    #[test]
    fn values_outside_a_figures_domain_are_named() {
        assert_eq!(Figure::Delivery.domain_problem(1.0), None);
        assert_eq!(Figure::P99.domain_problem(0.0), None);
        let bad = [
            (Figure::Delivery, 7.5, "not a ratio in 0..=1"),
            (Figure::Delivery, -0.1, "not a ratio in 0..=1"),
            (Figure::P50, -1.0, "negative time"),
            (Figure::Duplicates, -0.5, "negative number of copies"),
            (Figure::P95, f64::INFINITY, "not a finite number"),
            (Figure::Duplicates, f64::NAN, "not a finite number"),
        ];
        for (f, v, want) in bad {
            let got = f.domain_problem(v).unwrap_or_default();
            assert!(got.contains(want), "{f} {v}: {got}");
        }
    }

    #[test]
    fn keys_round_trip_and_directions_are_right() {
        for f in Figure::ALL {
            assert_eq!(Figure::from_key(f.key()), Some(f));
        }
        assert_eq!(Figure::from_key("p42"), None);
        assert_eq!(Figure::Delivery.worse(), Worse::Lower);
        assert_eq!(Figure::P99.worse(), Worse::Higher);
        assert_eq!(Figure::Duplicates.worse(), Worse::Higher);
    }
}
