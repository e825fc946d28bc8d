//! Who publishes, and when: `publishers` honest nodes, taken from the honest groups in
//! turn (the first of each group, then the second, …, so that every group — and region —
//! has its publishers; with one honest group, its first nodes), share the scenario's rate
//! evenly, staggered so that their publishes interleave; every non-honest node publishes
//! at the per-publisher rate too (that is its attack).

use super::node::{NodePlan, NodeTraffic};
use crate::scenario::Scenario;

/// Gives the publishers among `nodes` their schedules (see the module documentation).
pub(super) fn assign(nodes: &mut [NodePlan], s: &Scenario) {
    let p = s.traffic.publishers.min(s.honest_count());
    let mut honest: Vec<&NodePlan> = nodes.iter().filter(|n| n.is_honest()).collect();
    // Stable: within a round the groups keep their file order.
    honest.sort_by_key(|n| n.group_index);
    let chosen: Vec<usize> = honest.iter().map(|n| n.index).take(p).collect();
    let per_rate = if p > 0 {
        s.traffic.rate_per_sec / p as f64
    } else {
        0.0
    };
    let stagger_ms = |k: usize| -> u64 {
        if s.traffic.rate_per_sec > 0.0 {
            (k as f64 * 1000.0 / s.traffic.rate_per_sec).round() as u64
        } else {
            0
        }
    };
    for (k, &i) in chosen.iter().enumerate() {
        nodes[i].publishes = true;
        nodes[i].traffic = Some(NodeTraffic {
            offset_ms: stagger_ms(k),
            rate_per_sec: per_rate,
            size: s.traffic.size,
        });
    }
    // Attackers publish at the per-publisher rate too.
    if p > 0 {
        for (k, n) in nodes.iter_mut().filter(|n| !n.is_honest()).enumerate() {
            n.publishes = true;
            n.traffic = Some(NodeTraffic {
                offset_ms: stagger_ms(k % p),
                rate_per_sec: per_rate,
                size: s.traffic.size,
            });
        }
    }
}
