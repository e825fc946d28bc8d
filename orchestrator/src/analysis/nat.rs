//! What NATs did to a run (only when the plan has NAT routers):
//!
//! - **the NAT matrix**: for each planned dial between two NATed nodes behind different
//!   routers (dialler's type × listener's type), whether a relayed connection came up
//!   (an attempt: `hole_punch_attempt` at either end), whether a direct connection joined
//!   it (`direct_connection` at either end: the connectivity RFC 4787 speaks of), with the
//!   time from the attempt to the first direct connection (virtual), and whether DCUtR
//!   itself reported success (`hole_punch_result`): DCUtR counts only its own dials, so
//!   where the peer's packets get through first (a permissive filter) its dial collides
//!   with the connection the peer opened and it reports a failure although the pair is
//!   directly connected; next to what RFC 4787 predicts (`NatType::punch_predicted`). Dials
//!   between nodes behind the same router are counted apart (`same_nat`): a NAT without
//!   hairpinning cannot connect its own nodes through its public address;
//! - **relayed at the end**: of the connections open at each node's last record, the share
//!   still relayed (a relayed first connection to a peer without a direct connection
//!   since), and of the window's deliveries the share forwarded by a peer the receiver
//!   was connected to only through a relay (gossipsub runs on relayed connections too,
//!   within the relay's limits: 2 minutes and 128 KiB a circuit by default);
//! - **AutoNAT**: each node's last `nat_status` against the plan's truth (public when no
//!   host it never sent to is filtered: no NAT or a full cone; else private), and the
//!   time from its start to its first verdict other than `unknown`;
//! - **colocation**: nodes behind a shared NAT (one public address) against the other
//!   honest nodes: delivery, latency, mesh size and the scores their peers gave them
//!   (the spec's IP colocation penalty, P6, applies above `ip_colocation_factor_threshold`
//!   nodes on one address).

use std::collections::{BTreeMap, HashMap, HashSet};

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::delivery::{DeliveryRatio, Receipts, ratio};
use super::index::Index;
use super::latency::median_us;
use super::median::median;
use crate::plan::Plan;
use crate::run::Window;
use crate::scenario::NatType;

/// What NATs did to the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatStats {
    /// One cell per (dialler, listener) pair of NAT types, in [`NatType::NATED`] order.
    pub matrix: Vec<NatCell>,
    /// Planned dials between nodes behind the same router.
    pub same_nat: PunchCount,
    /// Connections and deliveries still relayed at the end.
    pub relayed: RelayedShare,
    /// AutoNAT's verdicts against the plan.
    pub autonat: AutonatStats,
    /// Nodes behind shared NATs against the others; `None` without a shared NAT.
    pub colocation: Option<Colocation>,
}

impl NatStats {
    /// The listener types of the matrix, in column order (the cells of its first row).
    pub fn listeners(&self) -> Vec<&str> {
        let first = self.matrix.first().map(|c| c.dialler.as_str());
        self.matrix
            .iter()
            .take_while(|c| Some(c.dialler.as_str()) == first)
            .map(|c| c.listener.as_str())
            .collect()
    }
}

/// Hole punches of one kind of pair.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PunchCount {
    /// Planned dials.
    pub dials: u64,
    /// Of them, those whose relayed connection came up (hole punching started).
    pub attempts: u64,
    /// Of the attempts, those where a direct connection joined the relayed one.
    pub direct: u64,
    /// `direct / attempts`.
    pub direct_rate: Option<f64>,
    /// Of the attempts, those DCUtR reported a success for (its own dial got through).
    pub successes: u64,
    /// `successes / attempts`.
    pub success_rate: Option<f64>,
}

/// One cell of the NAT matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatCell {
    /// The dialling node's NAT type.
    pub dialler: String,
    /// The dialled node's NAT type.
    pub listener: String,
    /// Whether RFC 4787's behaviours predict that hole punching succeeds.
    pub predicted: bool,
    /// What happened.
    pub punches: PunchCount,
    /// Median time from the attempt to the first direct connection, ms (virtual).
    pub direct_p50_ms: Option<f64>,
    /// Its largest, ms (virtual).
    pub direct_max_ms: Option<f64>,
    /// Whether the measurement agrees with the prediction: `None` without attempts; a
    /// predicted success agrees when at least half the attempts ended directly connected,
    /// a predicted failure when none did.
    pub agrees: Option<bool>,
}

/// Connections and deliveries still relayed at the end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RelayedShare {
    /// Connections open at the nodes' last records (each end counts one).
    pub connections: u64,
    /// Of them, relayed only.
    pub relayed: u64,
    /// `relayed / connections`.
    pub share: Option<f64>,
    /// Deliveries in the window whose forwarding peer was connected only through a relay.
    pub relayed_deliveries: u64,
    /// Deliveries in the window.
    pub deliveries: u64,
}

/// AutoNAT's verdicts against the plan's truth.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutonatStats {
    /// Nodes whose last verdict matches the plan.
    pub correct: u64,
    /// Nodes whose last verdict contradicts it.
    pub wrong: u64,
    /// Nodes without a verdict (none, or `unknown`).
    pub unknown: u64,
    /// Median time from start to the first verdict, s (virtual).
    pub median_verdict_s: Option<f64>,
    /// Per NAT type: (correct, wrong, unknown).
    pub by_type: BTreeMap<String, [u64; 3]>,
    /// Every node.
    pub nodes: Vec<AutonatVerdict>,
}

/// One node's AutoNAT verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutonatVerdict {
    /// The node.
    pub node: String,
    /// Its NAT type.
    pub nat: String,
    /// What the plan knows: `public` or `private`.
    pub truth: String,
    /// Its last status: `public`, `private`, `unknown` (or none).
    pub verdict: Option<String>,
    /// Time from its start to its first verdict other than `unknown`, s (virtual).
    pub verdict_after_s: Option<f64>,
}

/// Nodes behind shared NATs against the other honest nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Colocation {
    /// The penalty's threshold (nodes on one address before P6 applies).
    pub threshold: f64,
    /// Its weight.
    pub weight: f64,
    /// The shared NATs: (router name, nodes behind it).
    pub shared: Vec<(String, usize)>,
    /// The most nodes of one shared NAT any one node was connected to at once: P6 counts
    /// only connected peers, so it applies only where this exceeds the threshold.
    pub most_connected_at_once: u64,
    /// The honest nodes behind them.
    pub colocated: SideFigures,
    /// The other honest nodes.
    pub others: SideFigures,
}

/// Figures of one side of the colocation comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideFigures {
    /// Honest nodes.
    pub nodes: usize,
    /// Their deliveries of honest messages.
    pub delivery: DeliveryRatio,
    /// Median of their deliveries' latency, µs.
    pub p50_us: Option<u64>,
    /// Median over their mesh snapshots in the window of their mesh size.
    pub mesh_median: Option<f64>,
    /// Median of the last score each other node gave them.
    pub score_median: Option<f64>,
}

/// The NAT figures of a run; `None` when no node sat behind a NAT.
pub(super) fn nat(
    records: &[Record],
    plan: &Plan,
    index: &Index,
    receipts: &Receipts,
    window: Option<Window>,
) -> Option<NatStats> {
    if !plan.has_nat() {
        return None;
    }
    let nat_of = |i: usize| plan.nodes[i].nat;
    let peer = |id: &str| index.peer_node.get(id).copied();
    // Per unordered pair: the first attempt, the first direct connection, DCUtR's success.
    let mut attempted: HashMap<(usize, usize), u64> = HashMap::new();
    let mut direct: HashMap<(usize, usize), u64> = HashMap::new();
    let mut succeeded: HashSet<(usize, usize)> = HashSet::new();
    let pair = |a: usize, b: usize| (a.min(b), a.max(b));
    let first = |m: &mut HashMap<(usize, usize), u64>, key, ts: u64| {
        let e = m.entry(key).or_insert(ts);
        *e = (*e).min(ts);
    };
    for r in records {
        let Some(i) = index.of(r) else { continue };
        match &r.event {
            Event::HolePunchAttempt { peer: p } => {
                if let Some(j) = peer(p) {
                    first(&mut attempted, pair(i, j), r.ts_ns);
                }
            }
            Event::DirectConnection { peer: p, .. } => {
                if let Some(j) = peer(p) {
                    first(&mut direct, pair(i, j), r.ts_ns);
                }
            }
            Event::HolePunchResult {
                peer: p,
                success: true,
                ..
            } => {
                if let Some(j) = peer(p) {
                    succeeded.insert(pair(i, j));
                }
            }
            _ => {}
        }
    }
    let mut cells: BTreeMap<(NatType, NatType), (PunchCount, Vec<f64>)> = BTreeMap::new();
    let mut same_nat = PunchCount::default();
    for (a, b) in plan.dials() {
        let (Some(pa), Some(pb)) = (plan.nodes[a].nat_place, plan.nodes[b].nat_place) else {
            continue;
        };
        let key = pair(a, b);
        let started = attempted.get(&key).copied();
        let joined = direct.get(&key).copied().filter(|_| started.is_some());
        let count = if pa.router == pb.router {
            &mut same_nat
        } else {
            let cell = cells.entry((nat_of(a), nat_of(b))).or_default();
            if let (Some(t0), Some(t1)) = (started, joined) {
                cell.1.push(t1.saturating_sub(t0) as f64 / 1e6);
            }
            &mut cell.0
        };
        count.dials += 1;
        count.attempts += u64::from(started.is_some());
        count.direct += u64::from(joined.is_some());
        count.successes += u64::from(started.is_some() && succeeded.contains(&key));
    }
    finish(&mut same_nat);
    let matrix = NatType::NATED
        .iter()
        .flat_map(|&d| NatType::NATED.iter().map(move |&l| (d, l)))
        .map(|(d, l)| {
            let (mut punches, mut times) = cells.remove(&(d, l)).unwrap_or_default();
            finish(&mut punches);
            times.sort_by(f64::total_cmp);
            let predicted = d.punch_predicted(l);
            NatCell {
                dialler: d.name().to_string(),
                listener: l.name().to_string(),
                predicted,
                direct_p50_ms: median(&times),
                direct_max_ms: times.last().copied(),
                agrees: punches.direct_rate.map(|rate| {
                    if predicted {
                        rate >= 0.5
                    } else {
                        punches.direct == 0
                    }
                }),
                punches,
            }
        })
        .collect();
    Some(NatStats {
        matrix,
        same_nat,
        relayed: relayed(records, index, window),
        autonat: autonat(records, plan, index),
        colocation: colocation(records, plan, index, receipts, window),
    })
}

/// Sets the rates of `c`.
fn finish(c: &mut PunchCount) {
    let of = |n: u64| (c.attempts > 0).then(|| n as f64 / c.attempts as f64);
    c.direct_rate = of(c.direct);
    c.success_rate = of(c.successes);
}

/// Whether each node's connection to each peer is relayed only, record by record.
#[derive(Default)]
struct Links {
    /// (node, peer) → relayed only.
    open: HashMap<(usize, usize), bool>,
}

/// Connections and deliveries still relayed (see the module documentation).
fn relayed(records: &[Record], index: &Index, window: Option<Window>) -> RelayedShare {
    let mut order: Vec<&Record> = records.iter().collect();
    order.sort_by_key(|r| r.ts_ns);
    let mut links = Links::default();
    let mut share = RelayedShare::default();
    for r in order {
        let Some(i) = index.of(r) else { continue };
        let peer = |p: &str| index.peer_node.get(p).copied();
        match &r.event {
            Event::PeerConnected {
                peer: p, relayed, ..
            } => {
                if let Some(j) = peer(p) {
                    links.open.insert((i, j), *relayed);
                }
            }
            Event::PeerDisconnected { peer: p, .. } => {
                if let Some(j) = peer(p) {
                    links.open.remove(&(i, j));
                }
            }
            Event::DirectConnection { peer: p, .. } => {
                if let Some(j) = peer(p) {
                    // A direct connection now runs next to the relayed one, at both ends.
                    for key in [(i, j), (j, i)] {
                        if let Some(relayed) = links.open.get_mut(&key) {
                            *relayed = false;
                        }
                    }
                }
            }
            Event::Delivered { from, .. } if window.is_none_or(|w| w.contains(r.ts_ns)) => {
                share.deliveries += 1;
                let via_relay = peer(from)
                    .and_then(|j| links.open.get(&(i, j)))
                    .copied()
                    .unwrap_or(false);
                share.relayed_deliveries += u64::from(via_relay);
            }
            _ => {}
        }
    }
    share.connections = links.open.len() as u64;
    share.relayed = links.open.values().filter(|r| **r).count() as u64;
    share.share = (share.connections > 0).then(|| share.relayed as f64 / share.connections as f64);
    share
}

/// AutoNAT's verdicts against the plan (see the module documentation).
fn autonat(records: &[Record], plan: &Plan, index: &Index) -> AutonatStats {
    let n = plan.nodes.len();
    let mut started: Vec<Option<u64>> = vec![None; n];
    let mut last: Vec<Option<(u64, &str)>> = vec![None; n];
    let mut first_verdict: Vec<Option<u64>> = vec![None; n];
    for r in records {
        let Some(i) = index.of(r) else { continue };
        match &r.event {
            Event::Started { .. } => {
                started[i] = Some(started[i].map_or(r.ts_ns, |t| t.min(r.ts_ns)))
            }
            Event::NatStatus { status, .. } => {
                if last[i].is_none_or(|(t, _)| t <= r.ts_ns) {
                    last[i] = Some((r.ts_ns, status.as_str()));
                }
                if status != "unknown" {
                    first_verdict[i] = Some(first_verdict[i].map_or(r.ts_ns, |t| t.min(r.ts_ns)));
                }
            }
            _ => {}
        }
    }
    let mut stats = AutonatStats::default();
    let mut times = Vec::new();
    for node in &plan.nodes {
        let i = node.index;
        let truth = if node.nat.reachable_unsolicited() {
            "public"
        } else {
            "private"
        };
        let verdict = last[i].map(|(_, s)| s.to_string());
        let after = match (started[i], first_verdict[i]) {
            (Some(s), Some(v)) => Some(v.saturating_sub(s) as f64 / 1e9),
            _ => None,
        };
        if let Some(t) = after {
            times.push(t);
        }
        let slot = match verdict.as_deref() {
            Some(v) if v == truth => 0,
            Some("public" | "private") => 1,
            _ => 2,
        };
        match slot {
            0 => stats.correct += 1,
            1 => stats.wrong += 1,
            _ => stats.unknown += 1,
        }
        stats
            .by_type
            .entry(node.nat.name().to_string())
            .or_default()[slot] += 1;
        stats.nodes.push(AutonatVerdict {
            node: node.name.clone(),
            nat: node.nat.name().to_string(),
            truth: truth.to_string(),
            verdict,
            verdict_after_s: after,
        });
    }
    times.sort_by(f64::total_cmp);
    stats.median_verdict_s = median(&times);
    stats
}

/// Shared-NAT nodes against the other honest nodes (see the module documentation).
fn colocation(
    records: &[Record],
    plan: &Plan,
    index: &Index,
    receipts: &Receipts,
    window: Option<Window>,
) -> Option<Colocation> {
    let shared: Vec<(String, usize)> = plan
        .routers
        .iter()
        .filter(|r| r.nodes.len() > 1)
        .map(|r| (r.name.clone(), r.nodes.len()))
        .collect();
    if shared.is_empty() {
        return None;
    }
    let colocated: Vec<bool> = plan
        .nodes
        .iter()
        .map(|n| {
            n.nat_place
                .is_some_and(|p| plan.routers[p.router].nodes.len() > 1)
        })
        .collect();
    let mut meshes: Vec<Vec<f64>> = vec![Vec::new(); plan.nodes.len()];
    let mut scores: HashMap<(usize, usize), f64> = HashMap::new();
    // Connected peers behind each shared router, per node.
    let mut together: HashMap<(usize, usize), u64> = HashMap::new();
    let mut most_connected_at_once = 0;
    let mut order: Vec<&Record> = records.iter().collect();
    order.sort_by_key(|r| r.ts_ns);
    let router_of = |j: usize| {
        plan.nodes[j]
            .nat_place
            .filter(|_| colocated[j])
            .map(|p| p.router)
    };
    for r in order {
        let Some(i) = index.of(r) else { continue };
        match &r.event {
            Event::PeerConnected { peer, .. } => {
                if let Some(router) = index
                    .peer_node
                    .get(peer.as_str())
                    .and_then(|&j| router_of(j))
                {
                    let n = together.entry((i, router)).or_default();
                    *n += 1;
                    most_connected_at_once = most_connected_at_once.max(*n);
                }
            }
            Event::PeerDisconnected { peer, .. } => {
                if let Some(router) = index
                    .peer_node
                    .get(peer.as_str())
                    .and_then(|&j| router_of(j))
                {
                    let n = together.entry((i, router)).or_default();
                    *n = n.saturating_sub(1);
                }
            }
            Event::Mesh { peers, .. } if window.is_none_or(|w| w.contains(r.ts_ns)) => {
                meshes[i].push(peers.len() as f64);
            }
            Event::Scores { scores: list } => {
                for s in list {
                    if let Some(&j) = index.peer_node.get(s.peer.as_str()) {
                        scores.insert((i, j), s.score);
                    }
                }
            }
            _ => {}
        }
    }
    let side = |want: bool| {
        let members: Vec<usize> = plan
            .honest_nodes()
            .filter(|n| colocated[n.index] == want)
            .map(|n| n.index)
            .collect();
        let samples: Vec<u64> = members
            .iter()
            .flat_map(|&i| receipts.samples[i].iter().copied())
            .collect();
        let mut mesh: Vec<f64> = members.iter().flat_map(|&i| meshes[i].clone()).collect();
        mesh.sort_by(f64::total_cmp);
        let mut given: Vec<f64> = scores
            .iter()
            .filter(|((_, j), _)| members.contains(j))
            .map(|(_, s)| *s)
            .collect();
        given.sort_by(f64::total_cmp);
        SideFigures {
            nodes: members.len(),
            delivery: ratio(
                samples.len() as u64,
                members.iter().map(|&i| receipts.expected[i]).sum(),
            ),
            p50_us: median_us(&samples),
            mesh_median: median(&mesh),
            score_median: median(&given),
        }
    };
    Some(Colocation {
        threshold: plan.gossipsub.ip_colocation_factor_threshold,
        weight: plan.gossipsub.ip_colocation_factor_weight,
        shared,
        most_connected_at_once,
        colocated: side(true),
        others: side(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Subnet, plan};
    use crate::testkit::{NATS, parse};

    const T: u64 = 1_000_000_000_000;

    fn rec(ts_ns: u64, node: &str, event: Event) -> Record {
        Record {
            ts_ns,
            node: node.to_string(),
            event,
        }
    }

    #[test]
    fn punches_land_in_their_cells_and_verdicts_are_checked_against_the_plan() {
        let p = plan(&parse(NATS), Subnet::DEFAULT);
        let id = |i: usize| p.nodes[i].peer_id.clone().unwrap_or_default();
        let mut records: Vec<Record> = p
            .nodes
            .iter()
            .map(|n| {
                rec(
                    T,
                    &n.name,
                    Event::Started {
                        peer_id: n.peer_id.clone().unwrap_or_default(),
                        role: "honest".into(),
                        listen: Vec::new(),
                    },
                )
            })
            .collect();
        // Every planned dial between port-restricted (own routers) and symmetric (shared)
        // nodes: relayed, and the punch fails; between two port-restricted: succeeds.
        let mut expect_success = 0;
        for (a, b) in p.dials() {
            let (Some(pa), Some(pb)) = (p.nodes[a].nat_place, p.nodes[b].nat_place) else {
                continue;
            };
            if pa.router == pb.router {
                continue;
            }
            let success = p.nodes[a].nat == NatType::PortRestricted
                && p.nodes[b].nat == NatType::PortRestricted;
            expect_success += u64::from(success);
            records.push(rec(
                T + 1,
                &p.nodes[a].name,
                Event::HolePunchAttempt { peer: id(b) },
            ));
            records.push(rec(
                T + 2,
                &p.nodes[b].name,
                Event::HolePunchResult {
                    peer: id(a),
                    success,
                    duration_us: 40_000,
                    reason: None,
                },
            ));
            if success {
                records.push(rec(
                    T + 1 + 40_000_000,
                    &p.nodes[b].name,
                    Event::DirectConnection {
                        peer: id(a),
                        outbound: true,
                    },
                ));
            }
        }
        records.push(rec(
            T + 5_000_000_000,
            &p.nodes[0].name,
            Event::NatStatus {
                status: "public".into(),
                address: None,
            },
        ));
        records.push(rec(
            T + 7_000_000_000,
            &p.nodes[8].name,
            Event::NatStatus {
                status: "public".into(),
                address: None,
            },
        ));
        let index = Index::new(&records, &p, None);
        let receipts = Receipts::new(&index);
        let s = nat(&records, &p, &index, &receipts, None).expect("the plan has NATs");
        assert_eq!(s.matrix.len(), 16);
        let successes: u64 = s.matrix.iter().map(|c| c.punches.successes).sum();
        assert_eq!(successes, expect_success);
        let direct: u64 = s.matrix.iter().map(|c| c.punches.direct).sum();
        assert_eq!(direct, expect_success);
        for c in &s.matrix {
            if c.punches.attempts > 0 {
                let both_pr = c.dialler == "port-restricted" && c.listener == "port-restricted";
                assert_eq!(
                    c.punches.success_rate,
                    Some(if both_pr { 1.0 } else { 0.0 }),
                    "{c:?}"
                );
                assert_eq!(c.agrees, Some(true), "{c:?}");
                if both_pr {
                    assert_eq!(c.direct_p50_ms, Some(40.0));
                }
            }
        }
        assert_eq!((s.autonat.correct, s.autonat.wrong), (1, 1));
        assert_eq!(s.autonat.unknown, p.nodes.len() as u64 - 2);
        assert_eq!(s.autonat.median_verdict_s, Some(6.0));
        let c = s.colocation.expect("a shared NAT");
        assert_eq!(c.shared, vec![("nat-carrier".to_string(), 6)]);
        assert_eq!(c.colocated.nodes, 6);
        assert_eq!(c.others.nodes, 12);
    }

    #[test]
    fn a_relayed_connection_counts_until_a_punch_succeeds() {
        let p = plan(&parse(NATS), Subnet::DEFAULT);
        let id = |i: usize| p.nodes[i].peer_id.clone().unwrap_or_default();
        let mut records: Vec<Record> = [8usize, 9, 10]
            .iter()
            .map(|&i| {
                rec(
                    T,
                    &p.nodes[i].name,
                    Event::Started {
                        peer_id: id(i),
                        role: "honest".into(),
                        listen: Vec::new(),
                    },
                )
            })
            .collect();
        let connected = |ts, a: usize, b: usize| {
            rec(
                ts,
                &p.nodes[a].name,
                Event::PeerConnected {
                    peer: id(b),
                    outbound: true,
                    relayed: true,
                },
            )
        };
        records.push(connected(T + 1, 8, 9));
        records.push(connected(T + 1, 8, 10));
        records.push(rec(
            T + 2,
            &p.nodes[9].name,
            Event::DirectConnection {
                peer: id(8),
                outbound: false,
            },
        ));
        let index = Index::new(&records, &p, None);
        let r = relayed(&records, &index, None);
        assert_eq!((r.connections, r.relayed), (2, 1));
        assert_eq!(r.share, Some(0.5));
    }
}
