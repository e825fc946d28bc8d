//! The connection graph: whom each node dials at start.
//!
//! Each node dials up to [`BOOTSTRAP_PEERS`] distinct earlier nodes, those with the fewest
//! inbound bootstrap links so far, each count blurred by a random amount in [0, 1.5) so
//! that the seed shapes the graph (with exact counts it hardly does). Every node ends with about
//! BOOTSTRAP_PEERS links each way, as in a random regular graph. Uniformly random earlier
//! nodes gave node 0 about 6·ln(n) inbound links and the last nodes almost none: at 100
//! nodes the late nodes' few neighbours had full meshes (mesh_n_high) and pruned their
//! GRAFTs for a minute at a time. No hub either: with every node dialling node 0, node
//! 0's pending-connection limit (spec §4.4: 10) refused most of a 100-node start.

use rand::RngExt;
use rand::rngs::StdRng;

use super::BOOTSTRAP_PEERS;
use super::node::NodePlan;

/// Draws every node's bootstrap peers (indices of earlier nodes; see the module
/// documentation).
pub(super) fn bootstrap(nodes: &mut [NodePlan], rng: &mut StdRng) {
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
