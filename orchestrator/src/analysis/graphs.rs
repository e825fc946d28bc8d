//! The run's graphs as measured, next to the planned one and a random reference: how many
//! hops a message has to make is set by the mesh graph, which gossipsub can only draw from
//! the connection graph.
//!
//! - **planned**: the plan's bootstrap dials;
//! - **connections**: every node's open connections at the middle of the window, from the
//!   `peer_connected` / `peer_disconnected` events of both ends (an edge while either end
//!   reports it open);
//! - **mesh**: the honest nodes' meshes at the middle of the window, from their latest
//!   `mesh` events (an edge when either end has the other in its mesh; honest nodes only);
//! - **random**: a seeded random graph of the mesh graph's size and mean degree
//!   ([`graph::random_reference`]).

use std::collections::{BTreeSet, HashMap};

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::graph::{self, Graph, Stats};
use super::index::Index;
use crate::plan::Plan;
use crate::run::Window;

/// The planned, connection and mesh graphs' statistics, with a random reference for each
/// measured one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Graphs {
    /// The plan's topology name.
    pub topology: String,
    /// The planned dials.
    pub planned: Stats,
    /// Open connections at the middle of the window (all nodes).
    pub connections: Stats,
    /// A random graph of the connection graph's size and mean degree.
    pub connections_random: Stats,
    /// The honest meshes at the middle of the window.
    pub mesh: Stats,
    /// A random graph of the mesh graph's size and mean degree.
    pub mesh_random: Stats,
}

impl Graphs {
    /// The mesh graph's mean distance relative to its random reference (1.1 = 10 % longer);
    /// `None` without distances.
    pub fn mesh_stretch(&self) -> Option<f64> {
        Some(self.mesh.mean_distance? / self.mesh_random.mean_distance?)
    }
}

/// The graphs at the middle of `window` (or of the records without one); `None` without
/// any connection event.
pub(super) fn graphs(
    records: &[Record],
    plan: &Plan,
    index: &Index,
    window: Option<Window>,
) -> Option<Graphs> {
    if !records
        .iter()
        .any(|r| matches!(r.event, Event::PeerConnected { .. }))
    {
        return None;
    }
    let at = match window {
        Some(w) => w.start_ns + (w.end_ns - w.start_ns) / 2,
        None => {
            let first = records.first().map_or(0, |r| r.ts_ns);
            let last = records.last().map_or(0, |r| r.ts_ns);
            first + (last - first) / 2
        }
    };
    let n = index.nodes();
    let mut open: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut mesh: HashMap<usize, Vec<usize>> = HashMap::new();
    // The events up to the middle, in time order (the records may not be).
    let mut before: Vec<&Record> = records.iter().filter(|r| r.ts_ns <= at).collect();
    before.sort_by_key(|r| r.ts_ns);
    for r in before {
        let Some(i) = index.of(r) else {
            continue;
        };
        let peer = |p: &str| index.peer_node.get(p).copied();
        match &r.event {
            Event::PeerConnected { peer: p, .. } => {
                if let Some(j) = peer(p) {
                    open.insert((i, j));
                }
            }
            Event::PeerDisconnected { peer: p, .. } => {
                if let Some(j) = peer(p) {
                    open.remove(&(i, j));
                }
            }
            Event::Mesh { peers, .. } if index.honest[i] => {
                mesh.insert(i, peers.iter().filter_map(|p| peer(p)).collect());
            }
            _ => {}
        }
    }
    let connections = Graph::new(n, open.iter().copied()).stats();
    // The mesh graph over honest nodes only, renumbered.
    let honest: Vec<usize> = (0..n).filter(|&i| index.honest[i]).collect();
    let slot: HashMap<usize, usize> = honest.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let mesh_edges = mesh.iter().flat_map(|(i, peers)| {
        let slot = &slot;
        peers
            .iter()
            .filter_map(move |j| Some((*slot.get(i)?, *slot.get(j)?)))
    });
    let mesh = Graph::new(honest.len(), mesh_edges).stats();
    let seed = plan.seed;
    Some(Graphs {
        topology: plan.topology.to_string(),
        planned: plan.graph().stats(),
        connections_random: graph::random_reference(n, connections.degree.mean, seed),
        connections,
        mesh_random: graph::random_reference(honest.len(), mesh.degree.mean, seed),
        mesh,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{T0, rec, started, test_plan};
    use super::*;

    const S: u64 = 1_000_000_000;

    fn connected(node: &str, at: u64, peer: &str) -> Record {
        rec(
            at,
            node,
            Event::PeerConnected {
                peer: peer.into(),
                outbound: true,
                relayed: false,
            },
        )
    }

    #[test]
    fn the_graphs_at_mid_window_are_measured_from_the_events() {
        let plan = test_plan();
        let mut v: Vec<Record> = (0..4)
            .map(|i| started(&format!("h-{i}"), &format!("P{i}")))
            .collect();
        v.push(started("e-0", "PE"));
        // Connections: a path h-0 — h-1 — h-2 — h-3, plus e-0 — h-0; h-2 — h-3 closes
        // after the middle (still open at it); h-0 — h-3 opens and closes before it.
        for (a, b) in [("h-0", "P1"), ("h-1", "P2"), ("h-2", "P3"), ("e-0", "P0")] {
            v.push(connected(a, T0, b));
        }
        v.push(connected("h-0", T0 + S, "P3"));
        v.push(rec(
            T0 + 2 * S,
            "h-0",
            Event::PeerDisconnected {
                peer: "P3".into(),
                cause: None,
            },
        ));
        // Meshes: h-0 has h-1; h-1 has h-2; the attacker is left out of the mesh graph.
        v.push(rec(
            T0 + S,
            "h-0",
            Event::Mesh {
                topic: "t".into(),
                peers: vec!["P1".into(), "PE".into()],
            },
        ));
        v.push(rec(
            T0 + S,
            "h-1",
            Event::Mesh {
                topic: "t".into(),
                peers: vec!["P2".into()],
            },
        ));
        v.push(rec(
            T0 + 9 * S,
            "h-2",
            Event::Mesh {
                topic: "t".into(),
                peers: vec!["P3".into()],
            },
        ));
        let window = Window {
            traffic_ns: T0,
            start_ns: T0,
            end_ns: T0 + 10 * S,
        };
        let index = Index::new(&v, &plan, Some(window));
        let g = graphs(&v, &plan, &index, Some(window)).expect("connections");
        assert_eq!(g.connections.nodes, 5);
        assert_eq!(g.connections.edges, 4, "the path and the attacker's link");
        assert!(g.connections.connected);
        assert_eq!(g.connections.diameter, 4, "e-0 to h-3");
        assert_eq!(g.mesh.nodes, 4, "honest nodes only");
        assert_eq!(g.mesh.edges, 2, "h-2's mesh comes after the middle");
        assert_eq!(g.mesh.components, 2, "h-0—h-1—h-2 and h-3 alone");
        assert_eq!(g.mesh_random.nodes, 4);
        assert_eq!(g.planned.nodes, 5);
        assert!(g.mesh_stretch().is_some());
    }

    #[test]
    fn without_connection_events_there_are_no_graphs() {
        let plan = test_plan();
        let index = Index::new(&[], &plan, None);
        assert_eq!(graphs(&[], &plan, &index, None), None);
    }
}
