//! How nodes found each other (all times virtual):
//!
//! - **DHT queries**: the nodes' scheduled Kademlia queries (`dht_query`, the scenario's
//!   `[discovery]` rates) that ended in the window: per kind (`closest`, `provide`,
//!   `providers`) and in all, how many, the success rate, and the latency of the successful
//!   ones (a failed query mostly ran into Kademlia's 60 s timeout: its time says nothing of
//!   a lookup's speed, and the success rate counts it); the queries a second achieved over
//!   the network and per node;
//! - **mDNS**: per node with mDNS on, the time from its `started` event to its first
//!   `mdns_discovered`, and to having discovered every other node of its network segment
//!   (the nodes on its bridge network that sit behind no NAT: multicast floods a bridge
//!   and crosses no router);
//! - **join**: per node, the time from its `started` event to its first established
//!   connection and to its first mesh peer on the topic (`mesh_joined`), the earliest a
//!   published message can reach it. The message itself waits for the run's traffic,
//!   which starts only once every node is meshed (README, "Discovery").

use std::collections::HashMap;

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::latency::{LatencySummary, summarize};
use super::median::median;
use crate::plan::Plan;
use crate::run::Window;

/// The kinds of scheduled DHT queries, in report order.
pub const DHT_KINDS: [&str; 3] = ["closest", "provide", "providers"];

/// How nodes found each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveryStats {
    /// The scheduled DHT queries; `None` when nodes ran none.
    pub dht: Option<DhtStats>,
    /// mDNS discovery; `None` when mDNS was off.
    pub mdns: Option<MdnsStats>,
    /// Each node's join: start to first connection and to first mesh peer.
    pub join: JoinStats,
}

/// The scheduled DHT queries that ended in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DhtStats {
    /// Per kind, in [`DHT_KINDS`] order (kinds without a query left out).
    pub kinds: Vec<DhtKind>,
    /// Every kind together.
    pub all: DhtKind,
    /// The span the rates are over, s (the window, else first to last query).
    pub span_s: f64,
    /// Queries a second over the whole network.
    pub qps: Option<f64>,
    /// Median over the nodes of each node's queries a second.
    pub qps_node_p50: Option<f64>,
    /// The lowest node's queries a second (nodes that ran none count 0).
    pub qps_node_min: Option<f64>,
}

/// One kind of query (or all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DhtKind {
    /// `closest`, `provide`, `providers` or `all`.
    pub kind: String,
    /// Queries ended.
    pub queries: u64,
    /// Of them, successful.
    pub ok: u64,
    /// `ok / queries`.
    pub success: Option<f64>,
    /// Latency of the successful ones, µs.
    pub latency: LatencySummary,
    /// Failures by reason.
    pub failures: Vec<(String, u64)>,
}

/// mDNS discovery times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MdnsStats {
    /// Nodes with mDNS on.
    pub nodes: u64,
    /// Start to first discovery, µs, over the nodes that discovered a peer.
    pub first: LatencySummary,
    /// Nodes with at least one other node in their segment.
    pub segment_nodes: u64,
    /// Start to having discovered every other node of its segment, µs, over the nodes
    /// that did.
    pub segment: LatencySummary,
}

/// Join times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinStats {
    /// Nodes with a `started` event.
    pub nodes: u64,
    /// Start to first established connection, µs, over the nodes that had one.
    pub first_connection: LatencySummary,
    /// Start to first mesh peer, µs, over the nodes that joined.
    pub mesh: LatencySummary,
}

/// Per node, what its records say about discovery.
#[derive(Default)]
struct NodeTimes {
    started: Option<u64>,
    connected: Option<u64>,
    meshed: Option<u64>,
    mdns_first: Option<u64>,
    /// Each `mdns_discovered` as (time, total).
    mdns: Vec<(u64, u64)>,
    queries: u64,
}

fn earliest(slot: &mut Option<u64>, ts: u64) {
    *slot = Some(slot.map_or(ts, |t| t.min(ts)));
}

/// The run's discovery figures (see the module documentation); `None` without any
/// `started` event.
pub(super) fn discovery(
    records: &[Record],
    plan: &Plan,
    index: &Index,
    window: Option<Window>,
) -> Option<DiscoveryStats> {
    let mut nodes: Vec<NodeTimes> = (0..plan.nodes.len())
        .map(|_| NodeTimes::default())
        .collect();
    let mut queries: Vec<(u64, &str, bool, u64, Option<&str>)> = Vec::new();
    for r in records {
        let Some(i) = index.of(r) else { continue };
        let n = &mut nodes[i];
        match &r.event {
            Event::Started { .. } => earliest(&mut n.started, r.ts_ns),
            Event::PeerConnected { .. } => earliest(&mut n.connected, r.ts_ns),
            Event::MeshJoined { .. } => earliest(&mut n.meshed, r.ts_ns),
            Event::MdnsDiscovered { total, .. } => {
                earliest(&mut n.mdns_first, r.ts_ns);
                n.mdns.push((r.ts_ns, *total));
            }
            Event::DhtQuery {
                kind,
                ok,
                duration_us,
                reason,
                ..
            } if window.is_none_or(|w| w.contains(r.ts_ns)) => {
                n.queries += 1;
                queries.push((r.ts_ns, kind, *ok, *duration_us, reason.as_deref()));
            }
            _ => {}
        }
    }
    if nodes.iter().all(|n| n.started.is_none()) {
        return None;
    }
    let since = |n: &NodeTimes, t: Option<u64>| match (n.started, t) {
        (Some(s), Some(t)) => Some(t.saturating_sub(s) / 1000),
        _ => None,
    };
    let join = JoinStats {
        nodes: nodes.iter().filter(|n| n.started.is_some()).count() as u64,
        first_connection: summarize(&collect(&nodes, |n| since(n, n.connected))),
        mesh: summarize(&collect(&nodes, |n| since(n, n.meshed))),
    };
    let dht =
        (plan.discovery.dht_on() || !queries.is_empty()).then(|| dht(&queries, &nodes, window));
    let mdns = plan.discovery.mdns.then(|| {
        let segments = segments(plan);
        let mut segment_nodes = 0;
        let mut segment = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            let others = segments[i];
            if others == 0 {
                continue;
            }
            segment_nodes += 1;
            let all = n
                .mdns
                .iter()
                .filter(|(_, total)| *total >= others)
                .map(|(t, _)| *t)
                .min();
            if let Some(us) = since(n, all) {
                segment.push(us);
            }
        }
        MdnsStats {
            nodes: plan.nodes.len() as u64,
            first: summarize(&collect(&nodes, |n| since(n, n.mdns_first))),
            segment_nodes,
            segment: summarize(&segment),
        }
    });
    Some(DiscoveryStats { dht, mdns, join })
}

fn collect(nodes: &[NodeTimes], f: impl Fn(&NodeTimes) -> Option<u64>) -> Vec<u64> {
    nodes.iter().filter_map(f).collect()
}

/// Per node, the other nodes of its mDNS segment: on its bridge network, behind no NAT
/// (a NATed node's segment is its router's private network, counted 0 here).
fn segments(plan: &Plan) -> Vec<u64> {
    let mut per_bridge: HashMap<usize, u64> = HashMap::new();
    for n in plan.nodes.iter().filter(|n| !n.nat.is_nated()) {
        *per_bridge.entry(n.network).or_default() += 1;
    }
    plan.nodes
        .iter()
        .map(|n| {
            if n.nat.is_nated() {
                0
            } else {
                per_bridge
                    .get(&n.network)
                    .copied()
                    .unwrap_or(1)
                    .saturating_sub(1)
            }
        })
        .collect()
}

/// The DHT figures of `queries` (time, kind, ok, duration, reason).
fn dht(
    queries: &[(u64, &str, bool, u64, Option<&str>)],
    nodes: &[NodeTimes],
    window: Option<Window>,
) -> DhtStats {
    let kind_stats = |kind: &str, wanted: &dyn Fn(&str) -> bool| {
        let mut ok_times = Vec::new();
        let mut failures: HashMap<&str, u64> = HashMap::new();
        let mut n = 0;
        for (_, _, ok, us, reason) in queries.iter().filter(|q| wanted(q.1)) {
            n += 1;
            if *ok {
                ok_times.push(*us);
            } else {
                *failures.entry(reason.unwrap_or("failed")).or_default() += 1;
            }
        }
        let mut failures: Vec<(String, u64)> = failures
            .into_iter()
            .map(|(r, c)| (r.to_string(), c))
            .collect();
        failures.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        DhtKind {
            kind: kind.to_string(),
            queries: n,
            ok: ok_times.len() as u64,
            success: (n > 0).then(|| ok_times.len() as f64 / n as f64),
            latency: summarize(&ok_times),
            failures,
        }
    };
    let kinds = DHT_KINDS
        .iter()
        .map(|k| kind_stats(k, &|q| q == *k))
        .filter(|k| k.queries > 0)
        .collect();
    let all = kind_stats("all", &|_| true);
    let span_ns = match window {
        Some(w) => w.end_ns.saturating_sub(w.start_ns),
        None => {
            let first = queries.iter().map(|q| q.0).min().unwrap_or(0);
            let last = queries.iter().map(|q| q.0).max().unwrap_or(0);
            last - first
        }
    };
    let span_s = span_ns as f64 / 1e9;
    let rate = |n: u64| (span_s > 0.0).then(|| n as f64 / span_s);
    let mut per_node: Vec<f64> = nodes
        .iter()
        .filter(|n| n.started.is_some())
        .filter_map(|n| rate(n.queries))
        .collect();
    per_node.sort_by(f64::total_cmp);
    DhtStats {
        kinds,
        qps: rate(all.queries),
        all,
        span_s,
        qps_node_p50: median(&per_node),
        qps_node_min: per_node.first().copied(),
    }
}

#[cfg(test)]
mod tests {
    use lab_events::Event;

    use super::*;
    use crate::analysis::fixture::{T0, rec};

    /// Four nodes (one bridge, no NAT), mDNS on, DHT queries at 1/s.
    fn plan() -> Plan {
        let mut p = crate::testkit::Small {
            name: "disc",
            duration: "30s",
            warmup: "10s",
            honest_id: "h",
            publishers: 1,
            ..Default::default()
        }
        .plan();
        p.discovery.mdns = true;
        p.discovery.lookups_per_sec = 1.0;
        p
    }

    const MS: u64 = 1_000_000;

    fn query(node: &str, at: u64, kind: &str, ok: bool, ms: u64) -> Record {
        rec(
            at,
            node,
            Event::DhtQuery {
                kind: kind.into(),
                ok,
                duration_us: ms * 1000,
                found: u64::from(ok),
                reason: (!ok).then(|| "timeout".to_string()),
            },
        )
    }

    fn started(node: &str, at: u64) -> Record {
        rec(
            at,
            node,
            Event::Started {
                peer_id: format!("p-{node}"),
                role: "honest".into(),
                listen: Vec::new(),
            },
        )
    }

    #[test]
    fn hand_computed_figures() {
        let p = plan();
        let names: Vec<String> = p.nodes.iter().map(|n| n.name.clone()).collect();
        assert_eq!(names.len(), 4);
        let (a, b) = (names[0].as_str(), names[1].as_str());
        let s0 = T0 - 20_000 * MS;
        let mut v = Vec::new();
        for n in &names {
            v.push(started(n, s0));
        }
        v.push(rec(
            s0 + 300 * MS,
            a,
            Event::PeerConnected {
                peer: "x".into(),
                outbound: true,
                relayed: false,
            },
        ));
        v.push(rec(s0 + 900 * MS, a, Event::MeshJoined { peers: 1 }));
        v.push(rec(
            s0 + 500 * MS,
            b,
            Event::PeerConnected {
                peer: "y".into(),
                outbound: false,
                relayed: false,
            },
        ));
        // mDNS: a finds 1, then all 3 others; b finds 2 and no more.
        v.push(rec(
            s0 + 1000 * MS,
            a,
            Event::MdnsDiscovered { new: 1, total: 1 },
        ));
        v.push(rec(
            s0 + 1500 * MS,
            a,
            Event::MdnsDiscovered { new: 2, total: 3 },
        ));
        v.push(rec(
            s0 + 2000 * MS,
            b,
            Event::MdnsDiscovered { new: 2, total: 2 },
        ));
        // DHT: before the window (left out), then 4 in it, one failed.
        v.push(query(a, T0 - MS, "closest", true, 5));
        v.push(query(a, T0 + MS, "closest", true, 10));
        v.push(query(a, T0 + 2 * MS, "closest", true, 30));
        v.push(query(b, T0 + 3 * MS, "providers", true, 20));
        v.push(query(b, T0 + 4 * MS, "provide", false, 60_000));
        let window = Window {
            traffic_ns: T0 - 10_000 * MS,
            start_ns: T0,
            end_ns: T0 + 20_000 * MS,
        };
        let index = Index::new(&v, &p, Some(window));
        let d = discovery(&v, &p, &index, Some(window)).expect("started");

        assert_eq!(d.join.nodes, 4);
        assert_eq!(d.join.first_connection.count, 2);
        assert_eq!(d.join.first_connection.max_us, Some(500_000));
        assert_eq!(d.join.mesh.count, 1);
        assert_eq!(d.join.mesh.max_us, Some(900_000));

        let m = d.mdns.expect("mdns on");
        assert_eq!((m.nodes, m.segment_nodes), (4, 4));
        assert_eq!(m.first.count, 2);
        assert_eq!(m.first.max_us, Some(2_000_000));
        assert_eq!(m.segment.count, 1, "only a found all three others");
        assert_eq!(m.segment.max_us, Some(1_500_000));

        let q = d.dht.expect("dht on");
        assert_eq!((q.all.queries, q.all.ok), (4, 3));
        assert_eq!(q.all.success, Some(0.75));
        assert_eq!(
            q.all.latency.max_us,
            Some(30_000),
            "failures have no latency"
        );
        assert_eq!(q.all.failures, vec![("timeout".to_string(), 1)]);
        let kinds: Vec<&str> = q.kinds.iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(kinds, ["closest", "provide", "providers"]);
        assert_eq!(q.span_s, 20.0);
        assert_eq!(q.qps, Some(0.2));
        assert_eq!(q.qps_node_min, Some(0.0));
        // a and b ran 2 each (0.1/s), the other two none.
        assert_eq!(q.qps_node_p50, Some(0.05));
    }

    #[test]
    fn no_started_event_no_figures_and_off_features_are_none() {
        let mut p = plan();
        assert_eq!(discovery(&[], &p, &Index::new(&[], &p, None), None), None);
        p.discovery = Default::default();
        let v = vec![started(&p.nodes[0].name, T0)];
        let d = discovery(&v, &p, &Index::new(&v, &p, None), None).expect("started");
        assert!(d.dht.is_none() && d.mdns.is_none());
        assert_eq!(d.join.mesh.count, 0);
        assert_eq!(d.join.mesh.p95_us, None);
    }
}
