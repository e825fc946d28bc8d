//! How a run's nodes are spread over bridge networks.
//!
//! A run of up to [`NODES_PER_BRIDGE`] nodes has one bridge network on the whole of its
//! /16, as it always had. A larger run has `ceil(N / NODES_PER_BRIDGE)` bridges, bridge `k`
//! on the `k`-th /20 of the run's /16 (`A.B.(16k).0/20`, gateway `A.B.(16k).1`), and nodes
//! go to bridges in blocks in index order: nodes `0..500` on bridge 0, `500..1000` on
//! bridge 1, and so on. Blocks, not round robin, so that a node's address within its
//! bridge is its index within the block, a run of one bridge keeps the addresses it always
//! had, and a group (the nodes of one role, in index order) stays on as few bridges as
//! possible. The host routes between the bridges (see `host::bridges`).
//!
//! Every address of the run stays in its /16, so moving a plan to another /16 keeps each
//! node's bridge and host offset ([`super::Plan::in_subnet`]).

use std::net::Ipv4Addr;

use serde::Serialize;

use super::{FIRST_HOST_OFFSET, Subnet};

/// Most nodes on one bridge network. A Linux bridge holds at most 1024 ports
/// (`BR_MAX_PORTS`), one per attached container, and Docker's bridge driver fails to attach
/// the 1024th ("exchange full"). 500 keeps each bridge at half that limit, with room for
/// the run's other containers, and is a round share of the runs we aim at: 1000 nodes are
/// exactly two bridges, so about half of all links cross the host's router (one routed
/// hop, a little host CPU, no change in latency the shaper imposes). Smaller bridges would
/// gain nothing: a bridge floods broadcasts (ARP) to all its ports, which at 500 nodes is
/// still cheap next to the nodes' own traffic.
pub const NODES_PER_BRIDGE: usize = 500;

/// Most bridges in a run: the /20s of its /16.
pub const MAX_BRIDGES: usize = 16;

/// Width of the host part of one bridge's /20 in a run of several bridges.
const BRIDGE_HOST_BITS: u32 = 12;

/// How a run's nodes are spread over bridge networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bridges {
    /// Nodes on each bridge (the last may hold fewer).
    pub nodes_per_bridge: usize,
    /// Bridge networks of the run (1 for up to `nodes_per_bridge` nodes).
    pub count: usize,
}

impl Bridges {
    /// The split of `nodes` nodes into blocks of at most `nodes_per_bridge` (at least 1).
    /// Should that take more than [`MAX_BRIDGES`] bridges (never at [`NODES_PER_BRIDGE`]:
    /// a scenario has at most `lab_config::bounds::MAX_NODES` nodes), the blocks grow so
    /// that [`MAX_BRIDGES`] hold them.
    pub fn split(nodes: usize, nodes_per_bridge: usize) -> Bridges {
        let per = nodes_per_bridge.max(1).max(nodes.div_ceil(MAX_BRIDGES));
        Bridges {
            nodes_per_bridge: per,
            count: nodes.div_ceil(per).max(1),
        }
    }

    /// Whether the run has several bridges, which the host must route between.
    pub fn routed(&self) -> bool {
        self.count > 1
    }

    /// The bridge of node `index`.
    pub fn of(&self, index: usize) -> usize {
        (index / self.nodes_per_bridge).min(self.count - 1)
    }

    /// Host offset of node `index` in the run's /16: `index + 2` on a single bridge; on
    /// several, its place within its block, after the gateway, in its bridge's /20.
    pub fn host_offset(&self, index: usize) -> u32 {
        let offset = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        if !self.routed() {
            return FIRST_HOST_OFFSET.saturating_add(offset(index));
        }
        let bridge = self.of(index);
        let within = index - bridge * self.nodes_per_bridge;
        Self::base(bridge)
            .saturating_add(FIRST_HOST_OFFSET)
            .saturating_add(offset(within))
    }

    /// Bridge `k`'s subnet in CIDR notation: the whole /16 when the run has one bridge,
    /// else its `k`-th /20.
    pub fn cidr(&self, subnet: Subnet, k: usize) -> String {
        if self.routed() {
            format!("{}/20", subnet.host(Self::base(k)))
        } else {
            subnet.cidr()
        }
    }

    /// Bridge `k`'s gateway, the first address of its subnet.
    pub fn gateway(&self, subnet: Subnet, k: usize) -> Ipv4Addr {
        if self.routed() {
            subnet.host(Self::base(k) + 1)
        } else {
            subnet.gateway()
        }
    }

    /// Host offset of the first address of bridge `k`'s /20.
    fn base(k: usize) -> u32 {
        u32::try_from(k.min(MAX_BRIDGES - 1)).unwrap_or(0) << BRIDGE_HOST_BITS
    }
}

// At the default split every scenario fits the /20s of one /16.
const _: () = assert!(lab_config::bounds::MAX_NODES.div_ceil(NODES_PER_BRIDGE) <= MAX_BRIDGES);
// And a bridge's /20 holds its nodes after its gateway.
const _: () = assert!(NODES_PER_BRIDGE + 3 <= 1 << BRIDGE_HOST_BITS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_runs_keep_one_bridge_on_the_whole_subnet() {
        let b = Bridges::split(500, NODES_PER_BRIDGE);
        assert_eq!(b.count, 1);
        assert!(!b.routed());
        let s = Subnet::new(10, 77);
        assert_eq!(b.cidr(s, 0), "10.77.0.0/16");
        assert_eq!(b.gateway(s, 0), Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(b.of(499), 0);
        assert_eq!(s.host(b.host_offset(0)), Ipv4Addr::new(10, 77, 0, 2));
        assert_eq!(s.host(b.host_offset(499)), Ipv4Addr::new(10, 77, 1, 245));
        assert_eq!(Bridges::split(0, NODES_PER_BRIDGE).count, 1);
    }

    #[test]
    fn a_thousand_nodes_take_two_bridges_in_blocks_of_500() {
        let b = Bridges::split(1000, NODES_PER_BRIDGE);
        assert_eq!(b.count, 2);
        assert!(b.routed());
        let s = Subnet::new(10, 80);
        assert_eq!(b.cidr(s, 0), "10.80.0.0/20");
        assert_eq!(b.cidr(s, 1), "10.80.16.0/20");
        assert_eq!(b.gateway(s, 1), Ipv4Addr::new(10, 80, 16, 1));
        assert_eq!((b.of(0), b.of(499), b.of(500), b.of(999)), (0, 0, 1, 1));
        assert_eq!(s.host(b.host_offset(0)), Ipv4Addr::new(10, 80, 0, 2));
        assert_eq!(s.host(b.host_offset(499)), Ipv4Addr::new(10, 80, 1, 245));
        assert_eq!(s.host(b.host_offset(500)), Ipv4Addr::new(10, 80, 16, 2));
        assert_eq!(s.host(b.host_offset(999)), Ipv4Addr::new(10, 80, 17, 245));
        assert_eq!(Bridges::split(1001, NODES_PER_BRIDGE).count, 3);
        assert_eq!(Bridges::split(501, NODES_PER_BRIDGE).count, 2);
    }

    #[test]
    fn every_address_is_distinct_and_inside_its_bridge() {
        for (nodes, per) in [(2048, NODES_PER_BRIDGE), (23, 2), (7, 3), (100, 1)] {
            let b = Bridges::split(nodes, per);
            assert!(b.count <= MAX_BRIDGES, "{nodes}/{per}: {b:?}");
            let s = Subnet::DEFAULT;
            let mut seen = std::collections::HashSet::new();
            for i in 0..nodes {
                let ip = s.host(b.host_offset(i));
                assert!(seen.insert(ip), "{nodes}/{per}: {ip} twice");
                let k = b.of(i);
                assert!(k < b.count);
                assert_ne!(ip, b.gateway(s, k));
                let [_, _, hi, _] = ip.octets();
                if b.routed() {
                    assert_eq!(usize::from(hi) / 16, k, "{nodes}/{per}: node {i} at {ip}");
                }
            }
        }
    }

    #[test]
    fn a_split_beyond_the_subnet_grows_the_blocks() {
        let b = Bridges::split(100, 1);
        assert_eq!(b.nodes_per_bridge, 7);
        assert_eq!(b.count, 15);
        assert_eq!(b.of(99), 14);
    }
}
