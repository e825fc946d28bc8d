//! Latency figures: the hdrhistogram behind every percentile (1 µs to 1 hour, 3
//! significant digits), [`LatencySummary`] of a set of first-delivery latencies, and the
//! coverage time of each level of [`COVERAGE_LEVELS`].

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::index::Index;

/// Coverage levels reported, in percent of honest subscribers.
pub const COVERAGE_LEVELS: [u8; 3] = [95, 99, 100];

/// A latency distribution in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_us: Option<u64>,
    /// 90th percentile.
    pub p90_us: Option<u64>,
    /// 95th percentile.
    pub p95_us: Option<u64>,
    /// 99th percentile.
    pub p99_us: Option<u64>,
    /// Largest sample (exact).
    pub max_us: Option<u64>,
    /// Mean (exact).
    pub mean_us: Option<f64>,
}

/// Time for messages to reach `percent` of honest subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageLevel {
    /// The level, in percent of honest subscribers.
    pub percent: u8,
    /// Messages considered.
    pub messages: u64,
    /// Messages that reached the level.
    pub reached: u64,
    /// Messages that never reached it.
    pub never: u64,
    /// Median time to reach it, over messages that did.
    pub p50_us: Option<u64>,
    /// 95th percentile time.
    pub p95_us: Option<u64>,
    /// 99th percentile time.
    pub p99_us: Option<u64>,
}

/// Histogram bounds: 1 µs to 1 hour, 3 significant digits.
pub(super) fn histogram(samples: &[u64]) -> Option<Histogram<u64>> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).ok()?;
    for &s in samples {
        h.saturating_record(s);
    }
    Some(h)
}

/// The histogram's `q` quantile; `None` when there is no histogram or it is empty.
pub(super) fn quantile(h: &Option<Histogram<u64>>, q: f64) -> Option<u64> {
    h.as_ref()
        .filter(|h| !h.is_empty())
        .map(|h| h.value_at_quantile(q))
}

/// The histogram's median of `samples`; `None` when empty.
pub(super) fn median_us(samples: &[u64]) -> Option<u64> {
    quantile(&histogram(samples), 0.5)
}

/// Percentiles from the histogram, max and mean exact; all `None` without samples.
pub(super) fn summarize(samples: &[u64]) -> LatencySummary {
    if samples.is_empty() {
        return LatencySummary::default();
    }
    let h = histogram(samples);
    let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
    LatencySummary {
        count: samples.len() as u64,
        p50_us: quantile(&h, 0.50),
        p90_us: quantile(&h, 0.90),
        p95_us: quantile(&h, 0.95),
        p99_us: quantile(&h, 0.99),
        max_us: samples.iter().copied().max(),
        mean_us: Some(sum as f64 / samples.len() as f64),
    }
}

/// Per level of [`COVERAGE_LEVELS`], the distribution of the latency of each honest
/// message's `⌈p·S⌉`-th honest delivery (`S` = honest subscribers).
pub(super) fn coverage(index: &Index) -> Vec<CoverageLevel> {
    let times = CoverageTimes::new(index);
    COVERAGE_LEVELS
        .iter()
        .zip(times.reached.iter().zip(&times.never))
        .map(|(&percent, (reached, &never))| {
            let h = histogram(reached);
            CoverageLevel {
                percent,
                messages: times.considered,
                reached: reached.len() as u64,
                never,
                p50_us: quantile(&h, 0.50),
                p95_us: quantile(&h, 0.95),
                p99_us: quantile(&h, 0.99),
            }
        })
        .collect()
}

/// Coverage times per level of [`COVERAGE_LEVELS`].
struct CoverageTimes {
    /// Messages considered (none when there is no honest subscriber).
    considered: u64,
    /// Per level, the time each message that reached it took.
    reached: Vec<Vec<u64>>,
    /// Per level, the messages that never reached it.
    never: Vec<u64>,
}

impl CoverageTimes {
    fn new(index: &Index) -> Self {
        let mut times = CoverageTimes {
            considered: 0,
            reached: vec![Vec::new(); COVERAGE_LEVELS.len()],
            never: vec![0; COVERAGE_LEVELS.len()],
        };
        let subscribers = index.subscribers();
        if subscribers == 0 {
            return times;
        }
        for m in index.messages.values() {
            let mut honest_lat: Vec<u64> = m
                .deliveries
                .iter()
                .filter(|&(&rcv, _)| index.honest[rcv])
                .map(|(_, &us)| us)
                .collect();
            times.considered += 1;
            honest_lat.sort_unstable();
            for (l, &pct) in COVERAGE_LEVELS.iter().enumerate() {
                let need = (u64::from(pct) * subscribers).div_ceil(100).max(1);
                match honest_lat.get(need as usize - 1) {
                    Some(&t) => times.reached[l].push(t),
                    None => times.never[l] += 1,
                }
            }
        }
        times
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;

    #[test]
    fn synthetic_run_gives_the_hand_computed_latency_and_coverage() {
        let s = fixture::synthetic_stats();
        // Honest samples: 500, 1000, 1400, 1500, 2000 µs.
        assert_eq!(s.latency.count, 5);
        assert_eq!(s.latency.p50_us, Some(1400)); // ceil(2.5) = 3rd of 5
        assert_eq!(s.latency.p90_us, Some(2000)); // ceil(4.5) = 5th
        assert_eq!(s.latency.p95_us, Some(2000));
        assert_eq!(s.latency.p99_us, Some(2000));
        assert_eq!(s.latency.max_us, Some(2000));
        assert_eq!(s.latency.mean_us, Some(1280.0));

        // Every level needs all 3 subscribers (ceil(0.95 × 3) = 3): m1 at 2 ms, m2 never.
        assert_eq!(s.coverage.len(), 3);
        for c in &s.coverage {
            assert_eq!((c.messages, c.reached, c.never), (2, 1, 1), "{c:?}");
            assert_eq!(c.p50_us, Some(2000));
            assert_eq!(c.p99_us, Some(2000));
        }
    }
}
