//! Seeded graph generators: near-regular random graphs, ring lattices and Watts–Strogatz
//! small worlds. Each is a pure function of its arguments and the generator's state; each
//! draws again (up to [`ATTEMPTS`] times) until its graph is connected, and returns its
//! last draw when none is.

use std::collections::BTreeSet;

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::Graph;

/// Draws a generator makes before it settles for a disconnected graph.
pub const ATTEMPTS: usize = 64;

/// Random tries to place one edge before the pairing looks at every remaining pair.
const TRIES: usize = 64;

/// A uniformly drawn-ish random graph of `n` nodes with `round(n·k / 2)` edges in which
/// every node has degree ⌊k⌋ or ⌈k⌉ (k = `mean_degree`, capped to 0..=n − 1; which nodes
/// get the larger degree is drawn). Built by pairing degree "stubs" at random while
/// refusing self-loops and repeated edges, starting over when stuck (Steger and Wormald's
/// pairing, close to uniform over the graphs of that degree sequence); a graph denser than
/// half the complete graph is drawn as the complement of a sparse one.
pub fn near_regular(n: usize, mean_degree: f64, rng: &mut StdRng) -> Graph {
    if n < 2 {
        return Graph::new(n, []);
    }
    let top = (n - 1) as f64;
    let k = if mean_degree.is_finite() {
        mean_degree.clamp(0.0, top)
    } else {
        0.0
    };
    let ends = 2 * ((n as f64 * k / 2.0).round() as usize);
    let ends = ends.min(n * (n - 1));
    let base = ends / n;
    let mut order: Vec<usize> = (0..n).collect();
    let mut last = None;
    for _ in 0..ATTEMPTS {
        order.shuffle(rng);
        let mut degrees = vec![base; n];
        for &v in &order[..ends - base * n] {
            degrees[v] += 1;
        }
        let dense = 2 * base > n - 1;
        if dense {
            for d in &mut degrees {
                *d = n - 1 - *d;
            }
        }
        let Some(mut g) = pair(&degrees, rng) else {
            continue;
        };
        if dense {
            g = complement(&g);
        }
        if g.is_connected() {
            return g;
        }
        last = Some(g);
    }
    last.unwrap_or_else(|| Graph::new(n, []))
}

/// A ring lattice of `n` nodes placed around the ring in a drawn order, each linked to its
/// `degree / 2` nearest on either side, plus (for an odd degree and an even `n`) to the
/// node opposite; the complete graph when `degree ≥ n − 1`.
pub fn ring(n: usize, degree: usize, rng: &mut StdRng) -> Graph {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    Graph::new(n, lattice(&order, degree))
}

/// Watts and Strogatz's small world: [`ring`]'s lattice, then each lattice edge, in turn,
/// rewired with probability `p` (its far end moved to a node drawn uniformly among those
/// that are neither the near end nor linked to it already). Degrees stay at least
/// `degree / 2`; mean degree is kept.
pub fn small_world(n: usize, degree: usize, p: f64, rng: &mut StdRng) -> Graph {
    let mut order: Vec<usize> = (0..n).collect();
    let mut last = Graph::new(n, []);
    for _ in 0..ATTEMPTS {
        order.shuffle(rng);
        let edges = lattice(&order, degree);
        let mut adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        for &(a, b) in &edges {
            adj[a].insert(b);
            adj[b].insert(a);
        }
        for (a, b) in edges {
            let rewire = rng.random::<f64>() < p;
            if !rewire || adj[a].len() + 1 >= n {
                continue;
            }
            let w = loop {
                let w = rng.random_range(0..n);
                if w != a && !adj[a].contains(&w) {
                    break w;
                }
            };
            adj[a].remove(&b);
            adj[b].remove(&a);
            adj[a].insert(w);
            adj[w].insert(a);
        }
        last = Graph::new(
            n,
            adj.iter()
                .enumerate()
                .flat_map(|(a, set)| set.iter().map(move |&b| (a, b))),
        );
        if last.is_connected() {
            break;
        }
    }
    last
}

/// The lattice edges of nodes placed around a ring in `order` (see [`ring`]).
fn lattice(order: &[usize], degree: usize) -> Vec<(usize, usize)> {
    let n = order.len();
    if n < 2 {
        return Vec::new();
    }
    if degree >= n - 1 {
        return (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .collect();
    }
    let mut edges = Vec::new();
    for i in 0..n {
        for j in 1..=degree / 2 {
            edges.push((order[i], order[(i + j) % n]));
        }
        if !degree.is_multiple_of(2) && n.is_multiple_of(2) && i < n / 2 {
            edges.push((order[i], order[i + n / 2]));
        }
    }
    edges
}

/// One attempt at a simple graph with these degrees; `None` when the pairing got stuck.
fn pair(degrees: &[usize], rng: &mut StdRng) -> Option<Graph> {
    let n = degrees.len();
    let mut stubs: Vec<usize> = (0..n)
        .flat_map(|v| std::iter::repeat_n(v, degrees[v]))
        .collect();
    let mut adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let fits = |adj: &[BTreeSet<usize>], a: usize, b: usize| a != b && !adj[a].contains(&b);
    while stubs.len() >= 2 {
        let len = stubs.len();
        let mut chosen = None;
        for _ in 0..TRIES {
            let (i, j) = (rng.random_range(0..len), rng.random_range(0..len));
            if fits(&adj, stubs[i], stubs[j]) {
                chosen = Some((i, j));
                break;
            }
        }
        if chosen.is_none() {
            let fitting: Vec<(usize, usize)> = (0..len)
                .flat_map(|i| (i + 1..len).map(move |j| (i, j)))
                .filter(|&(i, j)| fits(&adj, stubs[i], stubs[j]))
                .collect();
            if fitting.is_empty() {
                return None;
            }
            chosen = Some(fitting[rng.random_range(0..fitting.len())]);
        }
        let (i, j) = chosen?;
        let (a, b) = (stubs[i], stubs[j]);
        adj[a].insert(b);
        adj[b].insert(a);
        stubs.swap_remove(i.max(j));
        stubs.swap_remove(i.min(j));
    }
    Some(Graph::new(
        n,
        adj.iter()
            .enumerate()
            .flat_map(|(a, set)| set.iter().map(move |&b| (a, b))),
    ))
}

/// The graph linking exactly the pairs `g` does not.
fn complement(g: &Graph) -> Graph {
    let n = g.node_count();
    Graph::new(
        n,
        (0..n).flat_map(|a| {
            (a + 1..n)
                .filter(move |&b| !g.has_edge(a, b))
                .map(move |b| (a, b))
        }),
    )
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn degrees(g: &Graph) -> (usize, usize) {
        let d: Vec<usize> = (0..g.node_count()).map(|v| g.degree(v)).collect();
        (
            d.iter().copied().min().unwrap_or(0),
            d.iter().copied().max().unwrap_or(0),
        )
    }

    #[test]
    fn near_regular_graphs_have_the_asked_degrees_at_any_density() {
        let mut rng = StdRng::seed_from_u64(4);
        for (n, k, edges, range) in [
            (100, 12.0, 600, (12, 12)),
            (15, 12.0, 90, (12, 12)),
            (13, 12.0, 78, (12, 12)),
            (10, 30.0, 45, (9, 9)),
            (7, 3.0, 11, (3, 4)),
            (1, 6.0, 0, (0, 0)),
        ] {
            let g = near_regular(n, k, &mut rng);
            assert_eq!(g.edge_count(), edges, "n {n} k {k}");
            assert_eq!(degrees(&g), range, "n {n} k {k}");
            assert!(g.is_connected(), "n {n} k {k}");
        }
    }

    #[test]
    fn a_ring_lattice_links_the_nearest_on_either_side() {
        let g = ring(10, 4, &mut StdRng::seed_from_u64(1));
        assert_eq!((g.edge_count(), degrees(&g)), (20, (4, 4)));
        // Ten nodes, two hops a step: the far side is three steps away.
        assert_eq!(g.stats().diameter, 3);
        let odd = ring(10, 3, &mut StdRng::seed_from_u64(1));
        assert_eq!((odd.edge_count(), degrees(&odd)), (15, (3, 3)));
        let full = ring(5, 8, &mut StdRng::seed_from_u64(1));
        assert_eq!(full.edge_count(), 10);
    }

    #[test]
    fn small_worlds_keep_their_edges_and_shorten_the_ring() {
        let mut rng = StdRng::seed_from_u64(2);
        let lattice = ring(200, 6, &mut rng).stats();
        let g = small_world(200, 6, 0.1, &mut rng);
        let s = g.stats();
        assert_eq!(s.edges, 600);
        assert!(s.degree.min >= 3, "{s:?}");
        assert!(s.connected);
        let (d, l) = (s.mean_distance, lattice.mean_distance);
        assert!(d.zip(l).is_some_and(|(d, l)| d < l / 2.0), "{d:?} vs {l:?}");
        let none = small_world(200, 6, 0.0, &mut rng);
        assert_eq!(none.stats().diameter, lattice.diameter);
    }
}
