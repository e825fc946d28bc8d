//! Undirected graphs of nodes (the planned connection graph, and later the measured
//! connection and mesh graphs) and their statistics, next to those of a random graph of
//! the same size and degree.
//!
//! - **degree**: min, median (the mean of the two middle ones for an even count), max, mean;
//! - **mean distance**: the mean shortest-path length in hops over every connected pair of
//!   distinct nodes (`None` when there is no such pair);
//! - **diameter**: the longest of those shortest paths (0 without a connected pair); in a
//!   graph of several components, the longest within any of them;
//! - distances come from a breadth-first search from every node: O(nodes × edges), about
//!   10⁷ steps at 1,000 nodes of degree 12.
//!
//! [`random_reference`] gives the same statistics for a seeded random graph of the same
//! size and mean degree (see its documentation); `random` holds the generators.

pub mod random;

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::median::median;

/// A simple undirected graph over nodes `0..n`: no self-loops, at most one edge per pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graph {
    /// Each node's neighbours, ascending.
    adj: Vec<Vec<usize>>,
}

impl Graph {
    /// The graph of nodes `0..n` (plus any node an edge names beyond them) and `edges`;
    /// self-loops are dropped and repeated edges (either way round) counted once.
    pub fn new(n: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Graph {
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (a, b) in edges {
            if a == b {
                continue;
            }
            let top = a.max(b);
            if top >= adj.len() {
                adj.resize(top + 1, Vec::new());
            }
            adj[a].push(b);
            adj[b].push(a);
        }
        for list in &mut adj {
            list.sort_unstable();
            list.dedup();
        }
        Graph { adj }
    }

    /// The graph of the named `nodes` (plus any node an edge names) and the named `edges`,
    /// with the names in ascending order as nodes `0..n`; returns the names too.
    pub fn named<N: Ord + Clone>(
        nodes: impl IntoIterator<Item = N>,
        edges: impl IntoIterator<Item = (N, N)>,
    ) -> (Graph, Vec<N>) {
        let edges: Vec<(N, N)> = edges.into_iter().collect();
        let mut index: BTreeMap<N, usize> = nodes.into_iter().map(|n| (n, 0)).collect();
        for (a, b) in &edges {
            index.entry(a.clone()).or_insert(0);
            index.entry(b.clone()).or_insert(0);
        }
        for (i, slot) in index.values_mut().enumerate() {
            *slot = i;
        }
        let indexed: Vec<(usize, usize)> = edges
            .iter()
            .filter_map(|(a, b)| Some((*index.get(a)?, *index.get(b)?)))
            .collect();
        let graph = Graph::new(index.len(), indexed);
        (graph, index.into_keys().collect())
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.adj.len()
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.adj.iter().map(Vec::len).sum::<usize>() / 2
    }

    /// The neighbours of `node`, ascending (none for a node out of range).
    pub fn neighbours(&self, node: usize) -> &[usize] {
        self.adj.get(node).map_or(&[], Vec::as_slice)
    }

    /// The degree of `node`.
    pub fn degree(&self, node: usize) -> usize {
        self.neighbours(node).len()
    }

    /// Whether `a` and `b` are linked.
    pub fn has_edge(&self, a: usize, b: usize) -> bool {
        self.neighbours(a).binary_search(&b).is_ok()
    }

    /// Every edge once, as `(a, b)` with `a < b`, ascending.
    pub fn edges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.adj
            .iter()
            .enumerate()
            .flat_map(|(a, list)| list.iter().filter(move |&&b| b > a).map(move |&b| (a, b)))
    }

    /// Hops from `source` to every node (`None`: unreachable), by breadth-first search.
    pub fn distances_from(&self, source: usize) -> Vec<Option<u32>> {
        let mut dist = vec![None; self.adj.len()];
        if source >= self.adj.len() {
            return dist;
        }
        dist[source] = Some(0);
        let mut queue = VecDeque::from([source]);
        while let Some(u) = queue.pop_front() {
            let next = dist[u].map_or(0, |d| d + 1);
            for &v in &self.adj[u] {
                if dist[v].is_none() {
                    dist[v] = Some(next);
                    queue.push_back(v);
                }
            }
        }
        dist
    }

    /// Number of connected components (0 for the empty graph).
    pub fn components(&self) -> usize {
        let mut seen = vec![false; self.adj.len()];
        let mut count = 0;
        for start in 0..self.adj.len() {
            if seen[start] {
                continue;
            }
            count += 1;
            seen[start] = true;
            let mut stack = vec![start];
            while let Some(u) = stack.pop() {
                for &v in &self.adj[u] {
                    if !seen[v] {
                        seen[v] = true;
                        stack.push(v);
                    }
                }
            }
        }
        count
    }

    /// Whether every node reaches every other (true for 0 or 1 node).
    pub fn is_connected(&self) -> bool {
        self.components() <= 1
    }

    /// The graph's statistics (see the module documentation).
    pub fn stats(&self) -> Stats {
        let mut degrees: Vec<usize> = self.adj.iter().map(Vec::len).collect();
        degrees.sort_unstable();
        let sorted: Vec<f64> = degrees.iter().map(|&d| d as f64).collect();
        let n = self.adj.len();
        let degree = Degrees {
            min: degrees.first().copied().unwrap_or(0),
            median: median(&sorted).unwrap_or(0.0),
            max: degrees.last().copied().unwrap_or(0),
            mean: if n == 0 {
                0.0
            } else {
                sorted.iter().sum::<f64>() / n as f64
            },
        };
        let (mut pairs, mut total, mut diameter) = (0u64, 0u64, 0u32);
        for source in 0..n {
            for d in self.distances_from(source).into_iter().flatten() {
                if d > 0 {
                    pairs += 1;
                    total += u64::from(d);
                    diameter = diameter.max(d);
                }
            }
        }
        Stats {
            nodes: n,
            edges: self.edge_count(),
            connected: self.is_connected(),
            components: self.components(),
            degree,
            mean_distance: (pairs > 0).then(|| total as f64 / pairs as f64),
            diameter,
        }
    }
}

/// The statistics of one graph (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    /// Number of nodes.
    pub nodes: usize,
    /// Number of edges.
    pub edges: usize,
    /// Whether every node reaches every other.
    pub connected: bool,
    /// Number of connected components.
    pub components: usize,
    /// The nodes' degrees.
    pub degree: Degrees,
    /// Mean shortest-path length in hops over connected pairs of distinct nodes; `None`
    /// without such a pair.
    pub mean_distance: Option<f64>,
    /// The longest shortest path in hops over connected pairs (0 without such a pair).
    pub diameter: u32,
}

/// Degree figures of a graph (all 0 for the empty graph).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Degrees {
    /// The smallest degree.
    pub min: usize,
    /// The median degree.
    pub median: f64,
    /// The largest degree.
    pub max: usize,
    /// The mean degree (2 × edges / nodes).
    pub mean: f64,
}

impl Stats {
    /// The statistics of the graph of `edges` over the nodes they name (a node in no edge
    /// is not counted: use [`Graph::named`] with the node list to count it).
    pub fn of<N: Ord + Clone>(edges: impl IntoIterator<Item = (N, N)>) -> Stats {
        Graph::named(std::iter::empty(), edges).0.stats()
    }

    /// A plain-text table of `self` (headed `label`) next to `reference` (headed "random
    /// reference"): mean distance, diameter, degree range and mean, components.
    pub fn side_by_side(&self, label: &str, reference: &Stats) -> String {
        let distance = |s: &Stats| {
            s.mean_distance
                .map_or("-".to_string(), |d| format!("{d:.2}"))
        };
        let degree = |s: &Stats| {
            format!(
                "{}..{} (mean {:.1})",
                s.degree.min, s.degree.max, s.degree.mean
            )
        };
        let rows = [
            ("nodes", self.nodes.to_string(), reference.nodes.to_string()),
            ("edges", self.edges.to_string(), reference.edges.to_string()),
            ("mean distance", distance(self), distance(reference)),
            (
                "diameter",
                self.diameter.to_string(),
                reference.diameter.to_string(),
            ),
            ("degree", degree(self), degree(reference)),
            (
                "components",
                self.components.to_string(),
                reference.components.to_string(),
            ),
        ];
        let width = rows
            .iter()
            .map(|r| r.1.len())
            .chain([label.len()])
            .max()
            .unwrap_or(0);
        let mut out = format!("{:<14} {label:<width$}  random reference\n", "");
        for (name, a, b) in rows {
            let _ = writeln!(out, "{name:<14} {a:<width$}  {b}");
        }
        out
    }
}

/// Random graphs drawn for [`random_reference`].
pub const REFERENCE_DRAWS: usize = 5;

/// The statistics of a seeded random graph of `n` nodes and mean degree `mean_degree`:
/// of [`REFERENCE_DRAWS`] random near-regular graphs (every node of degree ⌊k⌋ or ⌈k⌉,
/// `round(n·k / 2)` edges in all, k = `mean_degree` capped at n − 1; see
/// [`random::near_regular`]), the one with the median mean distance. A near-regular graph
/// rather than G(n, m): it is what a plan that balances degrees can reach, the lower
/// bound of mean distance at that degree in practice (G(n, m)'s low-degree nodes lengthen
/// its paths). Same arguments, same figures.
pub fn random_reference(n: usize, mean_degree: f64, seed: u64) -> Stats {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draws: Vec<Stats> = (0..REFERENCE_DRAWS)
        .map(|_| random::near_regular(n, mean_degree, &mut rng).stats())
        .collect();
    draws.sort_by(|a, b| {
        let d = |s: &Stats| s.mean_distance.unwrap_or(f64::INFINITY);
        d(a).total_cmp(&d(b))
    });
    draws.swap_remove(REFERENCE_DRAWS / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(n: usize) -> Graph {
        Graph::new(n, (1..n).map(|i| (i - 1, i)))
    }

    #[test]
    fn a_path_of_five() {
        let s = path(5).stats();
        assert_eq!((s.nodes, s.edges, s.components), (5, 4, 1));
        assert!(s.connected);
        // Pairs at distance 1, 2, 3, 4: 4, 3, 2, 1 of them; (4 + 6 + 6 + 4) / 10.
        assert_eq!(s.mean_distance, Some(2.0));
        assert_eq!(s.diameter, 4);
        assert_eq!((s.degree.min, s.degree.max), (1, 2));
        assert_eq!(s.degree.median, 2.0);
        assert_eq!(s.degree.mean, 1.6);
    }

    #[test]
    fn a_cycle_of_six() {
        let s = Graph::new(6, (0..6).map(|i| (i, (i + 1) % 6))).stats();
        assert_eq!((s.edges, s.diameter), (6, 3));
        // From any node: 2 at 1, 2 at 2, 1 at 3: 9 / 5.
        assert_eq!(s.mean_distance, Some(1.8));
        assert_eq!((s.degree.min, s.degree.max, s.degree.mean), (2, 2, 2.0));
    }

    #[test]
    fn a_star_of_one_hub_and_four_leaves() {
        let s = Graph::new(5, (1..5).map(|i| (0, i))).stats();
        assert_eq!((s.edges, s.diameter), (4, 2));
        // 4 pairs hub–leaf at 1, 6 pairs leaf–leaf at 2: 16 / 10.
        assert_eq!(s.mean_distance, Some(1.6));
        assert_eq!((s.degree.min, s.degree.median, s.degree.max), (1, 1.0, 4));
    }

    #[test]
    fn two_components_count_only_connected_pairs() {
        // A triangle and a path of three.
        let s = Graph::new(6, [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5)]).stats();
        assert!(!s.connected);
        assert_eq!(s.components, 2);
        // Triangle: 3 pairs at 1; path: 2 at 1, 1 at 2: 7 / 6.
        assert_eq!(s.mean_distance, Some(7.0 / 6.0));
        assert_eq!(s.diameter, 2);
        let isolated = Graph::new(3, []).stats();
        assert_eq!((isolated.components, isolated.diameter), (3, 0));
        assert_eq!(isolated.mean_distance, None);
        assert!(!isolated.connected);
        let empty = Graph::default().stats();
        assert!(empty.connected);
        assert_eq!(
            (empty.nodes, empty.components, empty.degree.mean),
            (0, 0, 0.0)
        );
    }

    #[test]
    fn loops_and_repeats_are_dropped_and_names_sorted() {
        let g = Graph::new(2, [(0, 1), (1, 0), (1, 1), (3, 1)]);
        assert_eq!((g.node_count(), g.edge_count()), (4, 2));
        assert_eq!(g.edges().collect::<Vec<_>>(), [(0, 1), (1, 3)]);
        let (g, names) = Graph::named(["d"], [("b", "a"), ("c", "b"), ("a", "b")]);
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert_eq!(g.edges().collect::<Vec<_>>(), [(0, 1), (1, 2)]);
        let s = Stats::of([("x", "y"), ("y", "z")]);
        assert_eq!((s.nodes, s.edges, s.diameter), (3, 2, 2));
    }

    #[test]
    fn the_reference_is_seeded_and_near_regular() {
        let a = random_reference(100, 12.0, 1);
        assert_eq!(a, random_reference(100, 12.0, 1));
        assert_eq!((a.nodes, a.edges), (100, 600));
        assert_eq!((a.degree.min, a.degree.max), (12, 12));
        assert!(a.connected);
        // A random 12-regular graph of 100 nodes: 12 at one hop, most of the rest at two.
        let d = a.mean_distance.expect("connected pairs");
        assert!((1.9..2.2).contains(&d), "{d}");
        assert_eq!(a.diameter, 3);
        let odd = random_reference(101, 5.5, 2);
        assert_eq!(odd.edges, 278);
        assert_eq!((odd.degree.min, odd.degree.max), (5, 6));
    }

    #[test]
    fn the_table_lists_both_graphs() {
        let a = path(4).stats();
        let b = random_reference(4, 1.5, 3);
        let t = a.side_by_side("planned", &b);
        assert!(
            t.lines()
                .next()
                .is_some_and(|l| l.contains("planned") && l.ends_with("random reference")),
            "{t}"
        );
        assert!(t.contains("mean distance  1.67"), "{t}");
        assert!(t.contains("degree         1..2 (mean 1.5)"), "{t}");
    }
}
