//! Link fidelity: the one-way delay the nodes' pings measured (RTT / 2) against the delay
//! the plan imposed. A ping to or from a node whose link a timeline's link change holds
//! (from its `link` record until its restore, plus the longest round trip the change
//! allows) measures the change, not the run's links: it is left out.

use std::time::Duration;

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::latency::{histogram, quantile};
use super::median::median_u64;
use crate::plan::Plan;
use crate::run::Window;
use crate::run::faults::RECORDER;
use crate::scenario::timeline::{Action, LINK, LINK_RESTORE};

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
    let changed = changed_spans(records, plan);
    let held = |node: usize, ts: u64| {
        let name = plan.nodes.get(node).map(|n| n.name.as_str());
        changed.iter().any(|(from, to, nodes)| {
            (*from..=*to).contains(&ts) && name.is_some_and(|n| nodes.iter().any(|x| x == n))
        })
    };
    let mut after = Vec::new();
    let mut all = Vec::new();
    for r in records {
        if let Event::Ping { rtt_us, peer } = &r.event
            && let Some(me) = index.of(r)
        {
            let other = index.peer_node.get(peer.as_str()).copied();
            if held(me, r.ts_ns) || other.is_some_and(|o| held(o, r.ts_ns)) {
                continue;
            }
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

/// When each link change held which nodes: from its `link` record to its restore (the run's
/// end when none came) plus the longest round trip a changed link allows (virtual ns).
fn changed_spans<'r>(records: &'r [Record], plan: &Plan) -> Vec<(u64, u64, &'r [String])> {
    let longest = plan
        .timeline
        .events
        .iter()
        .filter_map(|e| match &e.action {
            Action::Link(l) => Some(l.shape.delay + l.shape.jitter),
            _ => None,
        })
        .max()
        .unwrap_or(Duration::ZERO);
    // Records are on the virtual time line by now, like the change's shape.
    let margin = u64::try_from((longest * 2).as_nanos()).unwrap_or(u64::MAX);
    let mut spans: Vec<(u64, u64, &[String])> = Vec::new();
    for r in records.iter().filter(|r| r.node == RECORDER) {
        let Event::Fault { action, nodes, .. } = &r.event else {
            continue;
        };
        match action.as_str() {
            LINK => spans.push((r.ts_ns, u64::MAX, nodes)),
            LINK_RESTORE => {
                // The open change of these nodes ends here.
                if let Some(s) = spans
                    .iter_mut()
                    .find(|s| s.1 == u64::MAX && s.2.iter().any(|n| nodes.contains(n)))
                {
                    s.1 = r.ts_ns.saturating_add(margin);
                }
            }
            _ => {}
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use lab_events::{Event, Record};

    use super::super::fixture::{self, T0, rec, test_plan};
    use super::super::{Window, compute};
    use crate::run::faults::RECORDER;
    use crate::scenario::timeline::{LINK, LINK_RESTORE};

    #[test]
    fn pings_of_nodes_a_link_change_holds_are_left_out() {
        let fault = |ts: u64, action: &str| -> Record {
            rec(
                ts,
                RECORDER,
                Event::Fault {
                    action: action.to_string(),
                    nodes: vec!["h-2".into()],
                    across: Vec::new(),
                },
            )
        };
        let ping = |ts: u64, node: &str, peer: &str, rtt_us: u64| {
            rec(
                ts,
                node,
                Event::Ping {
                    peer: peer.to_string(),
                    rtt_us,
                },
            )
        };
        let mut records = fixture::events();
        records.extend([
            fault(T0, LINK),
            // h-2's own ping and one to h-2 (peer id P2) measure the change: left out, as
            // is the fixture's own ping of h-2 just after T0.
            ping(T0 + 10, "h-2", "P0", 250_000),
            ping(T0 + 10, "h-1", "P2", 250_000),
            fault(T0 + 100, LINK_RESTORE),
            // After the restore h-2 counts again.
            ping(T0 + 200, "h-2", "P0", 50_200),
        ]);
        let window = Window {
            traffic_ns: T0,
            start_ns: T0,
            end_ns: T0 + 3_000_000_000,
        };
        let stats = compute(&records, &test_plan(), Some(window));
        let f = stats.fidelity.expect("fidelity");
        // h-0 25.2 ms, h-1 25.4 ms, h-2 after the restore 25.1 ms.
        assert_eq!((f.samples, f.measured_us), (3, 25_200));
    }

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
