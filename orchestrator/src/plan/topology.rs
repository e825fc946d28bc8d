//! The connection graph: whom each node dials at start.
//!
//! The scenario's `network.topology` picks the graph's shape, drawn from the seed:
//!
//! - `random` (default): a random regular graph, every node of degree [`DEGREE`] (the
//!   complete graph below `DEGREE + 1` nodes), connected; [`graph::random::near_regular`];
//! - `ring`: a ring lattice over a drawn order of the nodes, each linked to its
//!   `DEGREE / 2` nearest on either side; [`graph::random::ring`];
//! - `small-world`: Watts–Strogatz, the ring lattice with each link rewired with
//!   probability [`REWIRE`]: every degree at least `DEGREE / 2`, mean `DEGREE`;
//! - `banded`: the lab's first graph, kept for comparison (below).
//!
//! Two failure modes shaped this. Hub overload: with every node dialling node 0, node 0's
//! pending-connection limit (spec §4.4: 10) refused most of a 100-node start. Late nodes
//! with few neighbours: uniformly random *earlier* nodes gave node 0 about 6·ln(n)
//! inbound links and the last nodes almost none; at 100 nodes the late nodes' few
//! neighbours had full meshes (mesh_n_high) and pruned their GRAFTs for a minute at a
//! time. The first shapes have equal degrees by construction, which answers the second.
//!
//! **Who dials.** Each link is dialled by one side only. Containers start in index order
//! (the last of 100 some 30–45 s after the first), and a node redials an unreached
//! bootstrap peer only at 2, 6, 14 and 30 s after its start, later only while it is short
//! of peers (`node/src/redial.rs`): a dial to a peer that starts later than that is lost.
//! So a link is dialled by its later node, whose peer is already up, except where that
//! would leave a node with more than [`MAX_INBOUND_DIALS`] inbound dials (below the
//! pending-connection limit even if they all came at once, which answers the first failure
//! mode): then the earliest nodes dial a few later peers, as few as the bound allows
//! (shortest augmenting paths, as in bounded-indegree orientation, the earliest peers
//! first). At 100 and 1,000 nodes of degree 12 about one link in eight is dialled towards
//! a later node, by the first ~40 % of nodes; a lost one costs its early node one link.
//!
//! **`banded`.** Each node dials up to [`BOOTSTRAP_PEERS`] distinct earlier nodes, those
//! with the fewest inbound bootstrap links so far, each count blurred by a random amount
//! in [0, 1.5) so that the seed shapes the graph. Every node ends with about
//! BOOTSTRAP_PEERS links each way and every dial targets an earlier node, but the
//! least-dialled earlier nodes are the recent ones, so links join nodes close in index:
//! a band. Its mean distance is nearly twice `random`'s at 100 nodes (3.9 hops against
//! 2.1) and six times at 1,000 (19 against 3).

use std::collections::VecDeque;

use rand::RngExt;
use rand::rngs::StdRng;

use super::BOOTSTRAP_PEERS;
use super::node::NodePlan;
use crate::analysis::graph::{self, Graph};
use crate::scenario::Topology;

/// The degree every node of the `random` and `ring` graphs has (the mean of
/// `small-world`'s): as many links as `banded` gives on average, each node dialling
/// [`BOOTSTRAP_PEERS`] and dialled by as many.
pub const DEGREE: usize = 2 * BOOTSTRAP_PEERS;

/// The probability with which `small-world` rewires each link of its ring lattice:
/// Watts and Strogatz's small-world regime, where the lattice's clustering is mostly kept
/// and its paths are already nearly as short as a random graph's.
pub const REWIRE: f64 = 0.1;

/// The most inbound dials the plan gives a node (except `banded`, whose rule keeps about
/// [`BOOTSTRAP_PEERS`]): below the node's pending-incoming limit (spec §4.4: 10).
pub const MAX_INBOUND_DIALS: usize = 8;

/// Draws the connection graph of `topology` and sets every node's bootstrap peers (the
/// indices of the nodes it dials; see the module documentation).
pub(super) fn bootstrap(nodes: &mut [NodePlan], topology: Topology, rng: &mut StdRng) {
    let n = nodes.len();
    let g = match topology {
        Topology::Banded => return banded(nodes, rng),
        Topology::Random => graph::random::near_regular(n, DEGREE as f64, rng),
        Topology::Ring => graph::random::ring(n, DEGREE, rng),
        Topology::SmallWorld => graph::random::small_world(n, DEGREE, REWIRE, rng),
    };
    for (node, dials) in nodes.iter_mut().zip(orient(&g, MAX_INBOUND_DIALS)) {
        node.bootstrap_peers = dials;
    }
}

/// Who dials each link of `g`: each node's targets, ascending. Every link is dialled by
/// its later node, then, while a node has more than `cap` inbound dials, a shortest chain
/// of links is turned round so that one of them ends at a node with room (when none has
/// room in reach, the node keeps its excess).
fn orient(g: &Graph, cap: usize) -> Vec<Vec<usize>> {
    let n = g.node_count();
    // dialled_by[v]: the nodes that dial v.
    let mut dialled_by: Vec<Vec<usize>> = (0..n)
        .map(|v| g.neighbours(v).iter().copied().filter(|&u| u > v).collect())
        .collect();
    for v in 0..n {
        while dialled_by[v].len() > cap {
            let Some(path) = relief(&dialled_by, v, cap) else {
                break;
            };
            // path = [v, u1, u2, …, w]: u1 dials v, u2 dials u1, …; turn each round.
            for step in path.windows(2) {
                let (target, dialler) = (step[0], step[1]);
                dialled_by[target].retain(|&u| u != dialler);
                dialled_by[dialler].push(target);
            }
        }
    }
    let mut dials = vec![Vec::new(); n];
    for (target, diallers) in dialled_by.iter().enumerate() {
        for &u in diallers {
            dials[u].push(target);
        }
    }
    for d in &mut dials {
        d.sort_unstable();
    }
    dials
}

/// The shortest chain `v ← u1 ← … ← w` of dials ending at a node `w` with fewer than
/// `cap` inbound dials (ties: the earliest nodes first).
fn relief(dialled_by: &[Vec<usize>], v: usize, cap: usize) -> Option<Vec<usize>> {
    let mut from: Vec<Option<usize>> = vec![None; dialled_by.len()];
    let mut seen = vec![false; dialled_by.len()];
    seen[v] = true;
    let mut queue = VecDeque::from([v]);
    while let Some(x) = queue.pop_front() {
        let mut diallers = dialled_by[x].clone();
        diallers.sort_unstable();
        for u in diallers {
            if seen[u] {
                continue;
            }
            seen[u] = true;
            from[u] = Some(x);
            if dialled_by[u].len() < cap {
                let mut path = vec![u];
                let mut at = u;
                while let Some(prev) = from[at] {
                    path.push(prev);
                    at = prev;
                }
                path.reverse();
                return Some(path);
            }
            queue.push_back(u);
        }
    }
    None
}

/// `banded`: every node's bootstrap peers among the least-dialled earlier nodes (see the
/// module documentation).
fn banded(nodes: &mut [NodePlan], rng: &mut StdRng) {
    let mut inbound = vec![0usize; nodes.len()];
    for (i, node) in nodes.iter_mut().enumerate().skip(1) {
        let k = BOOTSTRAP_PEERS.min(i);
        let mut candidates: Vec<(f64, usize)> = (0..i)
            .map(|j| (inbound[j] as f64 + 1.5 * rng.random::<f64>(), j))
            .collect();
        candidates.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut targets: Vec<usize> = candidates.iter().take(k).map(|c| c.1).collect();
        targets.sort_unstable();
        for &j in &targets {
            inbound[j] += 1;
        }
        node.bootstrap_peers = targets;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::analysis::graph::random_reference;
    use crate::plan::{Plan, Subnet, plan};

    fn planned(n: usize, topology: Topology, seed: u64) -> Plan {
        let text = format!(
            r#"
[scenario]
name = "t"
seed = {seed}
duration = "30s"

[network]
topology = "{topology}"

[[groups]]
id = "honest"
count = {n}

[traffic]
publishers = 1
rate = "4/s"
size = "1KiB"
"#
        );
        let s = crate::scenario::parse(Path::new("t.toml"), &text, Path::new("/nonexistent"))
            .expect("valid scenario");
        plan(&s, Subnet::DEFAULT)
    }

    const SHAPES: [Topology; 4] = [
        Topology::Random,
        Topology::Ring,
        Topology::SmallWorld,
        Topology::Banded,
    ];

    /// Inbound dials per node.
    fn inbound(p: &Plan) -> Vec<usize> {
        let mut inbound = vec![0; p.nodes.len()];
        for (_, b) in p.dials() {
            inbound[b] += 1;
        }
        inbound
    }

    /// Every shape at 100 and 1,000 nodes: connected; each link dialled once, by one side,
    /// never to itself; at most MAX_INBOUND_DIALS inbound dials a node; and each shape's
    /// degree bound: `random` and `ring` exactly DEGREE (the ±1 of an odd degree sum never
    /// arises with an even DEGREE), `small-world` at least DEGREE / 2 with mean DEGREE,
    /// `banded` between BOOTSTRAP_PEERS and 2 · BOOTSTRAP_PEERS + 1.
    #[test]
    fn every_shape_is_connected_balanced_and_bounded() {
        for n in [100, 1000] {
            for t in SHAPES {
                let p = planned(n, t, 1);
                let g = p.graph();
                let s = g.stats();
                assert!(s.connected, "{n} {t}");
                assert_eq!(p.dials().count(), s.edges, "{n} {t}: a link dialled twice");
                assert!(p.dials().all(|(a, b)| a != b), "{n} {t}");
                let most = inbound(&p).into_iter().max().unwrap_or(0);
                assert!(
                    most <= MAX_INBOUND_DIALS,
                    "{n} {t}: a node dialled {most} times"
                );
                let (lo, hi) = (s.degree.min, s.degree.max);
                match t {
                    Topology::Random | Topology::Ring => {
                        assert_eq!((lo, hi), (DEGREE, DEGREE), "{n} {t}")
                    }
                    Topology::SmallWorld => {
                        assert!(lo >= DEGREE / 2, "{n} {t}: {lo}");
                        assert_eq!(s.edges, n * DEGREE / 2, "{n} {t}");
                    }
                    Topology::Banded => {
                        assert!(
                            lo >= BOOTSTRAP_PEERS && hi <= DEGREE + 1,
                            "{n} {t}: {lo}..{hi}"
                        )
                    }
                }
            }
        }
    }

    /// `random` is as short as a random graph gets at its degree (within 10 % of the
    /// reference's mean distance, drawn from another seed); `banded` is not.
    #[test]
    fn random_paths_are_as_short_as_a_random_graphs() {
        for n in [100, 1000] {
            let random = planned(n, Topology::Random, 3).graph().stats();
            let reference = random_reference(n, random.degree.mean, 99);
            let (d, r) = (
                random.mean_distance.unwrap_or(f64::INFINITY),
                reference.mean_distance.unwrap_or(0.0),
            );
            assert!((d - r).abs() <= 0.1 * r, "{n}: {d} against {r}");
            assert!(random.diameter <= reference.diameter + 1, "{n}");
            let banded = planned(n, Topology::Banded, 3).graph().stats();
            let b = banded.mean_distance.unwrap_or(0.0);
            assert!(b > d + 1.0, "{n}: banded {b} against random {d}");
        }
    }

    #[test]
    fn same_seed_same_graph_other_seed_other_graph() {
        for t in SHAPES {
            let a = planned(100, t, 7);
            let b = planned(100, t, 7);
            let c = planned(100, t, 8);
            assert_eq!(
                a.dials().collect::<Vec<_>>(),
                b.dials().collect::<Vec<_>>(),
                "{t}"
            );
            assert_ne!(a.graph(), c.graph(), "{t}");
        }
    }

    /// Most links are dialled by the later node (its peer is up); only early nodes dial
    /// later ones, where the inbound bound makes them.
    #[test]
    fn dials_go_to_earlier_nodes_but_where_the_bound_says() {
        let p = planned(100, Topology::Random, 5);
        let forward: Vec<(usize, usize)> = p.dials().filter(|(a, b)| b > a).collect();
        assert!(
            forward.len() * 5 <= p.dials().count(),
            "{} forward",
            forward.len()
        );
        assert!(forward.iter().all(|&(a, _)| a < 50), "{forward:?}");
        let banded = planned(100, Topology::Banded, 5);
        assert!(banded.dials().all(|(a, b)| b < a));
    }

    #[test]
    fn small_testnets_are_complete_or_lattices() {
        let p = planned(10, Topology::Random, 1);
        assert_eq!(
            p.graph().edge_count(),
            45,
            "complete below DEGREE + 1 nodes"
        );
        // Node 0's nine links: eight inbound (the bound), the ninth dialled by node 0.
        assert_eq!(inbound(&p)[0], MAX_INBOUND_DIALS);
        assert_eq!(p.nodes[0].bootstrap.len(), 9 - MAX_INBOUND_DIALS);
        let one = planned(1, Topology::SmallWorld, 1);
        assert_eq!(one.graph().edge_count(), 0);
        let two = planned(2, Topology::Ring, 1);
        assert_eq!(two.dials().collect::<Vec<_>>(), [(1, 0)]);
    }
}
