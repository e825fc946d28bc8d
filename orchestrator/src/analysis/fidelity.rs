//! Link fidelity: the one-way delay the nodes' pings measured (RTT / 2) against the delay
//! the plan imposed.

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::latency::{histogram, quantile};
use super::median::median_u64;
use crate::plan::Plan;
use crate::run::Window;

/// Measured one-way link delay (ping RTT / 2) against the imposed delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkFidelity {
    /// Ping samples used.
    pub samples: u64,
    /// Median measured one-way delay.
    pub measured_us: u64,
    /// 95th percentile measured one-way delay.
    pub measured_p95_us: u64,
    /// Imposed one-way delay.
    pub imposed_us: u64,
    /// `measured − imposed`.
    pub error_us: i64,
    /// `|error| / imposed`; `None` when nothing was imposed.
    pub relative_error: Option<f64>,
}

/// Fidelity of the pings from the window's start (without a window, from the reference
/// time), or of every ping when none came that late; `None` without pings.
pub(super) fn fidelity(
    records: &[Record],
    plan: &Plan,
    index: &Index,
    window: Option<Window>,
) -> Option<LinkFidelity> {
    let from_ns = window.map_or(index.reference_ns, |w| w.start_ns);
    let (mut one_way_us, mut imposed_us): (Vec<u64>, Vec<u64>) =
        one_way_delays(records, plan, index, from_ns)
            .into_iter()
            .unzip();
    one_way_us.sort_unstable();
    imposed_us.sort_unstable();
    let measured = median_u64(&one_way_us)?;
    let h = histogram(&one_way_us);
    // One link: its delay. By region: the median of each ping's pair's delay (the
    // breakdown by pair is `regions`').
    let imposed = median_u64(&imposed_us).unwrap_or_default();
    let error = measured as i64 - imposed as i64;
    Some(LinkFidelity {
        samples: one_way_us.len() as u64,
        measured_us: measured,
        measured_p95_us: quantile(&h, 0.95).unwrap_or(measured),
        imposed_us: imposed,
        error_us: error,
        relative_error: (imposed > 0).then(|| error.unsigned_abs() as f64 / imposed as f64),
    })
}

/// Half the RTT of the pings of the plan's nodes at or after `from_ns`, or of all of them
/// when none is, each with the one-way delay imposed between the two ends (the mean of
/// both directions'; the run's link when the peer is unknown).
fn one_way_delays(records: &[Record], plan: &Plan, index: &Index, from_ns: u64) -> Vec<(u64, u64)> {
    let mut after = Vec::new();
    let mut all = Vec::new();
    for r in records {
        if let Event::Ping { rtt_us, peer } = &r.event
            && let Some(me) = index.of(r)
        {
            let imposed = match index.peer_node.get(peer.as_str()) {
                Some(&other) => (plan.one_way(me, other) + plan.one_way(other, me)) / 2,
                None => plan.link.delay,
            };
            let sample = (
                rtt_us / 2,
                u64::try_from(imposed.as_micros()).unwrap_or(u64::MAX),
            );
            all.push(sample);
            if r.ts_ns >= from_ns {
                after.push(sample);
            }
        }
    }
    if after.is_empty() { all } else { after }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;

    #[test]
    fn synthetic_run_gives_the_hand_computed_fidelity() {
        let s = fixture::synthetic_stats();
        let f = s.fidelity.as_ref().expect("fidelity");
        assert_eq!(f.samples, 3);
        assert_eq!(f.measured_us, 25_400);
        assert_eq!(f.imposed_us, 25_000);
        assert_eq!(f.error_us, 400);
        assert_eq!(f.relative_error, Some(0.016));
    }
}
