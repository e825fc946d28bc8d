//! Crowding: how many of the honest nodes' mesh slots the attackers' identities held (a
//! `sybil` node has many), and for the victim of an `eclipse` group, its delivery and
//! latency against the other honest nodes' and the share of its connections and of its
//! mesh that attackers held.
//!
//! Shares are sampled once a second over the window (each honest node's latest `mesh`
//! event; the victim's connected peers from its `peer_connected` and `peer_disconnected`
//! events) and averaged over the samples that had any slot. An attacker identity is a
//! peer id that an attacker node's `started` records name (a `sybil` node writes one for
//! each identity).

use std::collections::{HashMap, HashSet};

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::delivery::{DeliveryRatio, Receipts, ratio};
use super::index::Index;
use super::latency::{LatencySummary, summarize};
use crate::plan::Plan;
use crate::run::Window;

/// Time between samples.
const SAMPLE_NS: u64 = 1_000_000_000;
/// Most samples over a window, whatever its length.
const MAX_SAMPLES: u64 = 3600;

/// Crowding figures (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrowdingStats {
    /// Attacker nodes (containers) in the plan.
    pub attacker_nodes: usize,
    /// Peer ids those nodes started with (more than the nodes when some are `sybil`).
    pub attacker_identities: usize,
    /// Mean share of honest nodes' mesh slots held by attacker identities.
    pub mesh_share_mean: Option<f64>,
    /// The same at the window's last sample.
    pub mesh_share_final: Option<f64>,
    /// The `eclipse` victim's figures, when the plan has one.
    pub victim: Option<VictimStats>,
}

/// What an `eclipse` group did to its victim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VictimStats {
    /// The victim node.
    pub node: String,
    /// Its deliveries of honest messages.
    pub delivery: DeliveryRatio,
    /// Their latency.
    pub latency: LatencySummary,
    /// The other honest nodes' deliveries.
    pub others_delivery: DeliveryRatio,
    /// Their latency.
    pub others_latency: LatencySummary,
    /// Mean share of the victim's connected peers that were attacker identities.
    pub connection_share_mean: Option<f64>,
    /// Mean share of the victim's mesh that was attacker identities.
    pub mesh_share_mean: Option<f64>,
}

/// Crowding figures; `None` when the plan has no attacker.
pub(super) fn crowding(
    records: &[Record],
    plan: &Plan,
    index: &Index,
    receipts: &Receipts,
    window: Option<Window>,
) -> Option<CrowdingStats> {
    let attacker_nodes = index.honest.iter().filter(|h| !**h).count();
    if attacker_nodes == 0 {
        return None;
    }
    let attackers: HashSet<&str> = index
        .peer_node
        .iter()
        .filter(|(_, a)| !index.honest[**a])
        .map(|(p, _)| *p)
        .collect();
    let victim = victim_node(plan);
    let samples = Samples::take(records, index, &attackers, victim, window);
    Some(CrowdingStats {
        attacker_nodes,
        attacker_identities: attackers.len(),
        mesh_share_mean: mean(&samples.honest_mesh),
        mesh_share_final: samples.honest_mesh.last().copied().flatten(),
        victim: victim.map(|v| {
            let others: Vec<usize> = (0..index.nodes())
                .filter(|&i| index.honest[i] && i != v)
                .collect();
            let other_samples: Vec<u64> = others
                .iter()
                .flat_map(|&i| receipts.samples[i].iter().copied())
                .collect();
            VictimStats {
                node: plan.nodes[v].name.clone(),
                delivery: ratio(receipts.samples[v].len() as u64, receipts.expected[v]),
                latency: summarize(&receipts.samples[v]),
                others_delivery: ratio(
                    other_samples.len() as u64,
                    others.iter().map(|&i| receipts.expected[i]).sum(),
                ),
                others_latency: summarize(&other_samples),
                connection_share_mean: mean(&samples.victim_connections),
                mesh_share_mean: mean(&samples.victim_mesh),
            }
        }),
    })
}

/// The node (plan index) the first `eclipse` group names as its victim.
fn victim_node(plan: &Plan) -> Option<usize> {
    let victim = plan.groups.iter().find_map(|g| g.victim.as_deref())?;
    plan.nodes.iter().position(|n| n.group == victim)
}

/// Attacker shares, one a sample (`None`: no slot then).
struct Samples {
    honest_mesh: Vec<Option<f64>>,
    victim_mesh: Vec<Option<f64>>,
    victim_connections: Vec<Option<f64>>,
}

impl Samples {
    fn take(
        records: &[Record],
        index: &Index,
        attackers: &HashSet<&str>,
        victim: Option<usize>,
        window: Option<Window>,
    ) -> Samples {
        let mut timed: Vec<(u64, usize, &Event)> = records
            .iter()
            .filter_map(|r| {
                let i = index.of(r)?;
                index.honest[i].then_some((r.ts_ns, i, &r.event))
            })
            .collect();
        timed.sort_by_key(|(ts, i, _)| (*ts, *i));
        let last = timed.last().map_or(0, |t| t.0);
        // An open-ended window (`end_ns` = u64::MAX) is sampled up to the last record.
        let (start, end) = match window {
            Some(w) => (w.start_ns, w.end_ns.min(last)),
            None => (timed.first().map_or(0, |t| t.0), last),
        };
        let step = SAMPLE_NS.max(end.saturating_sub(start) / MAX_SAMPLES);
        let mut mesh: HashMap<usize, Vec<&str>> = HashMap::new();
        let mut connected: HashSet<&str> = HashSet::new();
        let mut out = Samples {
            honest_mesh: Vec::new(),
            victim_mesh: Vec::new(),
            victim_connections: Vec::new(),
        };
        let mut next = timed.iter().peekable();
        let mut at = start;
        while at <= end {
            while let Some((_, i, event)) = next.next_if(|(ts, _, _)| *ts <= at) {
                match event {
                    Event::Mesh { peers, .. } => {
                        mesh.insert(*i, peers.iter().map(String::as_str).collect());
                    }
                    Event::PeerConnected { peer, .. } if Some(*i) == victim => {
                        connected.insert(peer.as_str());
                    }
                    Event::PeerDisconnected { peer, .. } if Some(*i) == victim => {
                        connected.remove(peer.as_str());
                    }
                    _ => {}
                }
            }
            let share = |peers: &mut dyn Iterator<Item = &&str>| {
                let (mut held, mut all) = (0usize, 0usize);
                for p in peers {
                    all += 1;
                    held += usize::from(attackers.contains(*p));
                }
                (all > 0).then(|| held as f64 / all as f64)
            };
            out.honest_mesh
                .push(share(&mut mesh.values().flat_map(|m| m.iter())));
            if let Some(v) = victim {
                out.victim_mesh
                    .push(share(&mut mesh.get(&v).into_iter().flat_map(|m| m.iter())));
                out.victim_connections.push(share(&mut connected.iter()));
            }
            match at.checked_add(step) {
                Some(next) => at = next,
                None => break,
            }
        }
        out
    }
}

/// The mean of the samples that have a value.
fn mean(samples: &[Option<f64>]) -> Option<f64> {
    let v: Vec<f64> = samples.iter().flatten().copied().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_skips_samples_without_slots() {
        assert_eq!(mean(&[Some(0.5), None, Some(1.0)]), Some(0.75));
        assert_eq!(mean(&[None]), None);
    }
}
