//! Where each node of a run placed in regions is, and the one-way delay the links impose
//! between any two nodes: the matrix's link between their regions, or the run's one link.

use std::net::Ipv4Addr;
use std::time::Duration;

use lab_config::{SourceRegions, TimeScale};
use serde::Serialize;

use crate::scenario::matrix::Matrix;

/// The run's regions: the matrix and every node's region in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regions {
    /// The matrix the scenario named.
    pub matrix: Matrix,
    /// The region (index into the matrix) of every node, in node order.
    #[serde(skip)]
    pub of_node: Vec<usize>,
}

impl Regions {
    /// The regions of nodes placed by their groups' region names (`None` if a name is not
    /// in the matrix, which validation has ruled out).
    pub fn place<'a>(
        matrix: &Matrix,
        node_regions: impl Iterator<Item = Option<&'a str>>,
    ) -> Option<Regions> {
        let of_node = node_regions
            .map(|r| r.and_then(|r| matrix.links.index(r)))
            .collect::<Option<Vec<_>>>()?;
        Some(Regions {
            matrix: matrix.clone(),
            of_node,
        })
    }

    /// The region names.
    pub fn names(&self) -> &[String] {
        &self.matrix.links.regions
    }

    /// The one-way delay (virtual) from region `from` to region `to`.
    pub fn delay(&self, from: usize, to: usize) -> Duration {
        self.matrix
            .links
            .link(from, to)
            .map_or(Duration::ZERO, |l| l.delay)
    }

    /// What the shaper is given: the matrix in real time (dilated by `k`) and each
    /// region's senders, the addresses of `ips` (in node order).
    pub fn for_shaper(&self, k: TimeScale, ips: &[Ipv4Addr]) -> SourceRegions {
        let mut senders = vec![Vec::new(); self.names().len()];
        for (&r, &ip) in self.of_node.iter().zip(ips) {
            senders[r].push(ip);
        }
        SourceRegions {
            matrix: self.matrix.links.dilated(k),
            senders,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::matrix;

    fn two() -> Matrix {
        matrix::fixture(&["eu", "us"], &[5, 6], &[(0, 1, 40)])
    }

    #[test]
    fn nodes_are_placed_and_the_shaper_gets_their_addresses_by_region() {
        let m = two();
        let r =
            Regions::place(&m, [Some("us"), Some("eu"), Some("us")].into_iter()).expect("placed");
        assert_eq!(r.of_node, [1, 0, 1]);
        assert_eq!(r.delay(0, 1), Duration::from_millis(40));
        assert_eq!(r.delay(1, 1), Duration::from_millis(6));
        let ips = [
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(10, 0, 0, 3),
            Ipv4Addr::new(10, 0, 0, 4),
        ];
        let k = TimeScale::new(2.0).expect("k");
        let s = r.for_shaper(k, &ips);
        assert_eq!(s.senders, [vec![ips[1]], vec![ips[0], ips[2]]]);
        assert_eq!(
            s.matrix.link(0, 1).map(|l| l.delay),
            Some(Duration::from_millis(80))
        );
        assert!(Regions::place(&m, [Some("asia")].into_iter()).is_none());
        assert!(Regions::place(&m, [None].into_iter()).is_none());
    }
}
