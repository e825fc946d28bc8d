//! Figures per phase of the fault timeline: the window split at every `fault` record the
//! orchestrator wrote (`run::faults`), each phase with the delivery ratio of the honest
//! messages published in it (to the honest nodes running in it: not killed, not paused),
//! their latency and how many reached every one of those nodes; the messages a partition
//! cost (published during it, never delivered across it); the time to recover after the
//! last heal (from the heal to the first publication from which every message reaches
//! every running honest node); and the mesh repair time after the last kill (until every
//! running honest node again has `mesh_n_low` running mesh peers). A churn's leaves and
//! rejoins do not cut the window (its start and end do): they change which honest nodes
//! run, and each message is expected at the ones running when it was published. Times
//! are virtual milliseconds after the window starts.

use std::collections::{BTreeSet, HashMap};

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::delivery::{DeliveryRatio, ratio};
use super::index::Index;
use super::latency::{LatencySummary, summarize};
use crate::plan::Plan;
use crate::run::Window;
use crate::run::faults::{CHURN_JOIN, CHURN_LEAVE, RECORDER};

/// The timeline's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseStats {
    /// Every fault, in time order.
    pub faults: Vec<FaultMark>,
    /// The window cut at every fault.
    pub phases: Vec<Phase>,
    /// What partitions cost; `None` without one.
    pub partition: Option<PartitionLoss>,
    /// Heal to the first publication from which every honest message reached every
    /// running honest node (last heal); `None` without a heal or when it never happened.
    pub recovery_ms: Option<u64>,
    /// Last kill until every running honest node had `mesh_n_low` running mesh peers;
    /// `None` without a kill or when it never happened in the window.
    pub mesh_repair_ms: Option<u64>,
    /// What churns did; `None` without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn: Option<ChurnCount>,
}

/// The leaves and rejoins of every churn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChurnCount {
    /// Nodes killed by a churn's leave.
    pub leaves: u64,
    /// Nodes restarted by a churn's rejoin.
    pub joins: u64,
}

/// One fault as it took effect (a churn's start and end, not its leaves and rejoins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultMark {
    /// Virtual ms after the window starts.
    pub at_ms: u64,
    /// `partition`, `heal`, `kill`, `restart`, `pause`, `unpause`, `churn`, `churn-end`,
    /// `attack-start` or `attack-stop`.
    pub action: String,
    /// Nodes acted on (both sides of a partition).
    pub nodes: u64,
}

/// One phase: from a fault (or the window start) to the next (or the window end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Virtual ms after the window starts.
    pub from_ms: u64,
    /// See `from_ms` (exclusive).
    pub to_ms: u64,
    /// The fault that opened it; `None` for the first.
    pub after: Option<String>,
    /// Honest nodes running in it (the fewest at any time of it, under a churn).
    pub running: u64,
    /// Honest messages published in it.
    pub messages: u64,
    /// Their deliveries to the honest nodes running as each was published.
    pub delivery: DeliveryRatio,
    /// Their first-delivery latencies.
    pub latency: LatencySummary,
    /// Messages that reached every running honest node.
    pub complete: u64,
}

/// Messages published while a partition was open, and what did not cross it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionLoss {
    /// Honest messages published during a partition.
    pub messages: u64,
    /// Of those, messages that reached no running honest node across it.
    pub lost: u64,
    /// (message, running honest node across) pairs expected.
    pub across_expected: u64,
    /// Of those, pairs never delivered.
    pub across_lost: u64,
}

/// An honest message of the sample, by publication time.
struct Sent<'a> {
    at: u64,
    origin: usize,
    deliveries: &'a HashMap<usize, u64>,
}

/// The timeline's figures; `None` when the run has no `fault` record or no window.
pub(super) fn phases(
    records: &[Record],
    plan: &Plan,
    index: &Index,
    window: Option<Window>,
) -> Option<PhaseStats> {
    let w = window?;
    let faults: Vec<(u64, &str, Vec<usize>, Vec<usize>)> = records
        .iter()
        .filter(|r| r.node == RECORDER)
        .filter_map(|r| match &r.event {
            Event::Fault {
                action,
                nodes,
                across,
            } => {
                let ix = |v: &Vec<String>| {
                    v.iter()
                        .filter_map(|n| plan.nodes.iter().position(|p| &p.name == n))
                        .collect()
                };
                Some((
                    r.ts_ns.clamp(w.start_ns, w.end_ns),
                    action.as_str(),
                    ix(nodes),
                    ix(across),
                ))
            }
            _ => None,
        })
        .collect();
    if faults.is_empty() {
        return None;
    }
    let ms = |ts: u64| ts.saturating_sub(w.start_ns) / 1_000_000;
    let mut sent = sent(records, index);
    sent.sort_by_key(|m| m.at);

    // Which honest nodes run after every fault, and where the phases start.
    let mut down: BTreeSet<usize> = BTreeSet::new();
    let running_of = |down: &BTreeSet<usize>| -> Vec<usize> {
        (0..index.nodes())
            .filter(|n| index.honest[*n] && !down.contains(n))
            .collect()
    };
    let mut downs = vec![(w.start_ns, running_of(&down))];
    let mut bounds: Vec<(u64, Option<String>)> = vec![(w.start_ns, None)];
    let mut open: Option<(u64, Vec<usize>, Vec<usize>)> = None;
    let mut loss: Option<PartitionLoss> = None;
    let mut churn: Option<ChurnCount> = None;
    let mut last_heal = None;
    let mut last_kill = None;
    for (ts, action, nodes, across) in &faults {
        match *action {
            "kill" | "pause" | CHURN_LEAVE => {
                down.extend(nodes.iter().copied());
                if *action == "kill" {
                    last_kill = Some(*ts);
                }
            }
            "restart" | "unpause" | CHURN_JOIN => {
                for n in nodes {
                    down.remove(n);
                }
            }
            "partition" => open = Some((*ts, nodes.clone(), across.clone())),
            "heal" => {
                if let Some((from, a, b)) = open.take() {
                    add_loss(&mut loss, &sent, from, *ts, &a, &b, &running_of(&down));
                }
                last_heal = Some(*ts);
            }
            _ => {}
        }
        downs.push((*ts, running_of(&down)));
        match *action {
            CHURN_LEAVE => churn.get_or_insert_with(ChurnCount::default).leaves += 1,
            CHURN_JOIN => churn.get_or_insert_with(ChurnCount::default).joins += 1,
            _ => bounds.push((*ts, Some(action.to_string()))),
        }
    }
    if let Some((from, a, b)) = open.take() {
        add_loss(&mut loss, &sent, from, w.end_ns, &a, &b, &running_of(&down));
    }
    // The honest nodes running at `t`: after the last fault at or before it.
    let at = |t: u64| downs.partition_point(|d| d.0 <= t).saturating_sub(1);

    let mut phases = Vec::new();
    for (i, (from, after)) in bounds.iter().enumerate() {
        let to = bounds.get(i + 1).map_or(w.end_ns, |b| b.0);
        let msgs: Vec<&Sent> = sent
            .iter()
            .filter(|m| (*from..to).contains(&m.at))
            .collect();
        let (mut delivered, mut expected, mut complete, mut samples) = (0, 0, 0, Vec::new());
        for m in &msgs {
            let want: Vec<usize> = downs[at(m.at)]
                .1
                .iter()
                .copied()
                .filter(|n| *n != m.origin)
                .collect();
            let got = want.iter().filter(|n| m.deliveries.contains_key(n)).count();
            samples.extend(want.iter().filter_map(|n| m.deliveries.get(n)));
            delivered += got as u64;
            expected += want.len() as u64;
            complete += u64::from(got == want.len());
        }
        let states = at(*from)..downs.partition_point(|d| d.0 < to).max(at(*from) + 1);
        let running = downs[states].iter().map(|d| d.1.len()).min().unwrap_or(0);
        phases.push(Phase {
            from_ms: ms(*from),
            to_ms: ms(to),
            after: after.clone(),
            running: running as u64,
            messages: msgs.len() as u64,
            delivery: ratio(delivered, expected),
            latency: summarize(&samples),
            complete,
        });
    }
    let final_running = running_of(&down);
    Some(PhaseStats {
        faults: faults
            .iter()
            .filter(|f| !matches!(f.1, CHURN_LEAVE | CHURN_JOIN))
            .map(|(ts, action, nodes, across)| FaultMark {
                at_ms: ms(*ts),
                action: action.to_string(),
                nodes: (nodes.len() + across.len()) as u64,
            })
            .collect(),
        phases,
        partition: loss,
        recovery_ms: last_heal
            .and_then(|h| recovery(&sent, h, &final_running).map(|t| t / 1_000_000)),
        mesh_repair_ms: last_kill.and_then(|k| {
            mesh_repair(records, plan, index, k, w.end_ns, &final_running)
                .map(|t| (t - k) / 1_000_000)
        }),
        churn,
    })
}

/// The sample's honest messages with their publication times.
fn sent<'a>(records: &[Record], index: &'a Index) -> Vec<Sent<'a>> {
    let mut at: HashMap<&str, u64> = HashMap::new();
    for r in records {
        if let Event::Published { msg_id, .. } = &r.event {
            at.entry(msg_id.as_str()).or_insert(r.ts_ns);
        }
    }
    index
        .messages
        .iter()
        .filter_map(|(id, m)| {
            Some(Sent {
                at: *at.get(id)?,
                origin: m.origin,
                deliveries: &m.deliveries,
            })
        })
        .collect()
}

/// Adds what the partition between `a` and `b`, open over `[from, to)`, cost.
fn add_loss(
    loss: &mut Option<PartitionLoss>,
    sent: &[Sent],
    from: u64,
    to: u64,
    a: &[usize],
    b: &[usize],
    running: &[usize],
) {
    let l = loss.get_or_insert_with(PartitionLoss::default);
    for m in sent.iter().filter(|m| (from..to).contains(&m.at)) {
        let across: &[usize] = if a.contains(&m.origin) {
            b
        } else if b.contains(&m.origin) {
            a
        } else {
            continue;
        };
        let across: Vec<usize> = across
            .iter()
            .copied()
            .filter(|n| running.contains(n))
            .collect();
        let got = across
            .iter()
            .filter(|n| m.deliveries.contains_key(n))
            .count() as u64;
        l.messages += 1;
        l.across_expected += across.len() as u64;
        l.across_lost += across.len() as u64 - got;
        l.lost += u64::from(got == 0 && !across.is_empty());
    }
}

/// The first publication at or after `heal` from which every later message reached every
/// `running` honest node but its origin, as an offset from `heal` (ns); `None` when the
/// last message did not.
fn recovery(sent: &[Sent], heal: u64, running: &[usize]) -> Option<u64> {
    let after: Vec<&Sent> = sent.iter().filter(|m| m.at >= heal).collect();
    let complete = |m: &Sent| {
        running
            .iter()
            .all(|n| *n == m.origin || m.deliveries.contains_key(n))
    };
    let first_good = match after.iter().rposition(|m| !complete(m)) {
        None => heal,
        Some(i) => after.get(i + 1)?.at,
    };
    Some(first_good - heal)
}

/// The first time at or after `kill` (before `end`) when every `running` honest node has
/// `mesh_n_low` mesh peers among the running nodes.
fn mesh_repair(
    records: &[Record],
    plan: &Plan,
    index: &Index,
    kill: u64,
    end: u64,
    running: &[usize],
) -> Option<u64> {
    let low = plan.gossipsub.mesh_n_low;
    let mut mesh: HashMap<usize, Vec<usize>> = HashMap::new();
    let repaired = |mesh: &HashMap<usize, Vec<usize>>| {
        running.iter().all(|n| {
            mesh.get(n)
                .is_some_and(|p| p.iter().filter(|q| running.contains(q)).count() >= low)
        })
    };
    let mut checked = false;
    for r in records.iter().filter(|r| r.ts_ns < end) {
        if r.ts_ns >= kill && !checked {
            if repaired(&mesh) {
                return Some(kill);
            }
            checked = true;
        }
        if let (Some(i), Event::Mesh { peers, .. }) = (index.of(r), &r.event) {
            let peers = peers
                .iter()
                .filter_map(|p| index.peer_node.get(p.as_str()).copied())
                .collect();
            mesh.insert(i, peers);
            if r.ts_ns >= kill && repaired(&mesh) {
                return Some(r.ts_ns);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use lab_events::{Event, Record};

    use super::super::fixture::{T0, delivered, published, rec, started, test_plan};
    use super::super::index::Index;
    use super::*;

    const S: u64 = 1_000_000_000;

    fn fault(at: u64, action: &str, nodes: &[&str], across: &[&str]) -> Record {
        rec(
            at,
            RECORDER,
            Event::Fault {
                action: action.to_string(),
                nodes: nodes.iter().map(|s| s.to_string()).collect(),
                across: across.iter().map(|s| s.to_string()).collect(),
            },
        )
    }

    fn mesh(at: u64, node: &str, peers: &[&str]) -> Record {
        rec(
            at,
            node,
            Event::Mesh {
                topic: "t".to_string(),
                peers: peers.iter().map(|s| s.to_string()).collect(),
            },
        )
    }

    fn stats_of(mut records: Vec<Record>, plan: &Plan) -> PhaseStats {
        records.sort_by_key(|r| r.ts_ns);
        let w = Window {
            traffic_ns: T0,
            start_ns: T0,
            end_ns: T0 + 20 * S,
        };
        let index = Index::new(&records, plan, Some(w));
        assert_eq!(index.foreign_events, 0, "fault records are not foreign");
        phases(&records, plan, &index, Some(w)).expect("faults")
    }

    fn starts() -> Vec<Record> {
        ["h-0", "h-1", "h-2", "h-3"]
            .iter()
            .enumerate()
            .map(|(i, n)| started(n, &format!("P{i}")))
            .chain([started("e-0", "PE")])
            .collect()
    }

    #[test]
    fn a_partition_splits_the_window_and_costs_what_did_not_cross_it() {
        let plan = test_plan();
        let (m1, m2, m3, m4, m5, m6) = (
            T0 + S,
            T0 + 6 * S,
            T0 + 7 * S,
            T0 + 11 * S,
            T0 + 13 * S,
            T0 + 15 * S,
        );
        let mut r = starts();
        r.extend([
            fault(T0 + 5 * S, "partition", &["h-0", "h-1"], &["h-2", "h-3"]),
            fault(T0 + 10 * S, "heal", &["h-0", "h-1"], &["h-2", "h-3"]),
            published("h-0", "m1", m1),
            delivered("h-1", "m1", m1, 1000),
            delivered("h-2", "m1", m1, 1000),
            delivered("h-3", "m1", m1, 1000),
            // Published during the partition: m2 never crosses, m3 reaches one across.
            published("h-0", "m2", m2),
            delivered("h-1", "m2", m2, 1000),
            published("h-2", "m3", m3),
            delivered("h-3", "m3", m3, 1000),
            delivered("h-0", "m3", m3, 1000),
            // After the heal: m4 still misses h-3; from m5 on every message is complete.
            published("h-1", "m4", m4),
            delivered("h-0", "m4", m4, 1000),
            delivered("h-2", "m4", m4, 1000),
            published("h-0", "m5", m5),
            delivered("h-1", "m5", m5, 1000),
            delivered("h-2", "m5", m5, 1000),
            delivered("h-3", "m5", m5, 1000),
            published("h-3", "m6", m6),
            delivered("h-0", "m6", m6, 1000),
            delivered("h-1", "m6", m6, 1000),
            delivered("h-2", "m6", m6, 1000),
        ]);
        let s = stats_of(r, &plan);
        let marks: Vec<(u64, &str, u64)> = s
            .faults
            .iter()
            .map(|f| (f.at_ms, f.action.as_str(), f.nodes))
            .collect();
        assert_eq!(marks, [(5000, "partition", 4), (10_000, "heal", 4)]);
        type Row<'a> = (u64, u64, Option<&'a str>, u64, u64, u64, u64);
        let got: Vec<Row> = s
            .phases
            .iter()
            .map(|p| {
                (
                    p.from_ms,
                    p.to_ms,
                    p.after.as_deref(),
                    p.messages,
                    p.delivery.delivered,
                    p.delivery.expected,
                    p.complete,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (0, 5000, None, 1, 3, 3, 1),
                (5000, 10_000, Some("partition"), 2, 3, 6, 0),
                (10_000, 20_000, Some("heal"), 3, 8, 9, 2),
            ]
        );
        assert_eq!(s.phases[0].latency.p50_us, Some(1000));
        assert_eq!(
            s.partition,
            Some(PartitionLoss {
                messages: 2,
                lost: 1,
                across_expected: 4,
                across_lost: 3,
            })
        );
        assert_eq!(s.recovery_ms, Some(3000));
        assert_eq!(s.mesh_repair_ms, None);
    }

    #[test]
    fn killed_nodes_leave_the_phase_and_the_mesh_repair_is_timed() {
        let mut plan = test_plan();
        plan.gossipsub.mesh_n_low = 2;
        let m1 = T0 + 6 * S;
        let mut r = starts();
        r.extend([
            mesh(T0, "h-0", &["P1", "P3"]),
            mesh(T0, "h-1", &["P0", "P3"]),
            mesh(T0, "h-2", &["P0", "P3"]),
            mesh(T0, "h-3", &["P0", "P1"]),
            fault(T0 + 2 * S, "kill", &["h-3"], &[]),
            mesh(T0 + 3 * S, "h-0", &["P1", "P2"]),
            mesh(T0 + 4 * S, "h-1", &["P0", "P2"]),
            mesh(T0 + 5 * S, "h-2", &["P0", "P1", "P3"]),
            // After the kill only three honest nodes run: m1 is complete without h-3.
            published("h-0", "m1", m1),
            delivered("h-1", "m1", m1, 1000),
            delivered("h-2", "m1", m1, 1000),
        ]);
        let s = stats_of(r, &plan);
        assert_eq!(s.mesh_repair_ms, Some(3000));
        assert_eq!(s.recovery_ms, None);
        assert_eq!(s.partition, None);
        let p = &s.phases[1];
        assert_eq!((p.after.as_deref(), p.running), (Some("kill"), 3));
        assert_eq!(
            (p.messages, p.complete, p.delivery.ratio),
            (1, 1, Some(1.0))
        );
        assert_eq!(s.phases[0].running, 4);
    }

    #[test]
    fn a_churn_is_one_phase_expecting_each_message_at_the_nodes_then_running() {
        let plan = test_plan();
        let (m1, m2, m3, m4) = (T0 + 2 * S, T0 + 7 * S, T0 + 8 * S, T0 + 12 * S);
        let mut r = starts();
        r.extend([
            fault(T0 + 5 * S, "churn", &["h-0", "h-1", "h-2", "h-3"], &[]),
            fault(T0 + 5 * S, CHURN_LEAVE, &["h-3"], &[]),
            fault(T0 + 7 * S + S / 2, CHURN_JOIN, &["h-3"], &[]),
            fault(T0 + 9 * S, CHURN_LEAVE, &["h-2"], &[]),
            fault(T0 + 10 * S, CHURN_JOIN, &["h-2"], &[]),
            fault(T0 + 10 * S, "churn-end", &["h-2", "h-3"], &[]),
            published("h-0", "m1", m1),
            delivered("h-1", "m1", m1, 1000),
            delivered("h-2", "m1", m1, 1000),
            delivered("h-3", "m1", m1, 1000),
            // h-3 is down: m2 is complete without it.
            published("h-0", "m2", m2),
            delivered("h-1", "m2", m2, 2000),
            delivered("h-2", "m2", m2, 2000),
            // h-3 is back: m3 misses it.
            published("h-1", "m3", m3),
            delivered("h-0", "m3", m3, 3000),
            delivered("h-2", "m3", m3, 3000),
            published("h-2", "m4", m4),
            delivered("h-0", "m4", m4, 1000),
            delivered("h-1", "m4", m4, 1000),
            delivered("h-3", "m4", m4, 1000),
        ]);
        let s = stats_of(r, &plan);
        let marks: Vec<(u64, &str, u64)> = s
            .faults
            .iter()
            .map(|f| (f.at_ms, f.action.as_str(), f.nodes))
            .collect();
        assert_eq!(marks, [(5000, "churn", 4), (10_000, "churn-end", 2)]);
        assert_eq!(
            s.churn,
            Some(ChurnCount {
                leaves: 2,
                joins: 2
            })
        );
        type Row<'a> = (Option<&'a str>, u64, u64, u64, u64, u64);
        let got: Vec<Row> = s
            .phases
            .iter()
            .map(|p| {
                (
                    p.after.as_deref(),
                    p.running,
                    p.messages,
                    p.delivery.delivered,
                    p.delivery.expected,
                    p.complete,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (None, 4, 1, 3, 3, 1),
                (Some("churn"), 3, 2, 4, 5, 1),
                (Some("churn-end"), 4, 1, 3, 3, 1),
            ]
        );
        assert_eq!(s.mesh_repair_ms, None, "a churn's leaves are not kills");
    }
}
