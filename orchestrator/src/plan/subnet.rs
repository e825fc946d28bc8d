//! A run's private /16 and the addresses in it.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Serialize, Serializer};

/// A run's private IPv4 /16, `A.B.0.0/16`. The runner picks one that is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// The first two octets.
    pub octets: [u8; 2],
}

impl Subnet {
    /// `10.77.0.0/16`.
    pub const DEFAULT: Subnet = Subnet { octets: [10, 77] };

    /// `a.b.0.0/16`.
    pub fn new(a: u8, b: u8) -> Self {
        Subnet { octets: [a, b] }
    }

    /// CIDR notation, e.g. `10.77.0.0/16`.
    pub fn cidr(&self) -> String {
        format!("{}.{}.0.0/16", self.octets[0], self.octets[1])
    }

    /// The /16 of this run's NAT routers' private networks: `A.(B+100)` (10.177 to 10.196
    /// for the runs' 10.77 to 10.96; the compose export's 10.97 gives 10.197), so that each
    /// run's NATs have a /16 of their own next to its network.
    pub fn nat(&self) -> Subnet {
        Subnet::new(self.octets[0], self.octets[1].wrapping_add(100))
    }

    /// The gateway address `A.B.0.1`.
    pub fn gateway(&self) -> Ipv4Addr {
        self.host(1)
    }

    /// The last /24 of the subnet, `A.B.255.0/24`: where an engine may pick addresses of
    /// its own (a swarm overlay's load-balancer endpoint on each host), clear of the
    /// planned nodes, which fill the subnet from its start.
    pub fn engine_range(&self) -> String {
        format!("{}.{}.255.0/24", self.octets[0], self.octets[1])
    }

    /// The address at host `offset` (0..=65535) in the subnet.
    pub fn host(&self, offset: u32) -> Ipv4Addr {
        let [hi, lo] = u16::try_from(offset).unwrap_or(u16::MAX).to_be_bytes();
        Ipv4Addr::new(self.octets[0], self.octets[1], hi, lo)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cidr())
    }
}

impl Serialize for Subnet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.cidr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_range_is_the_last_24_and_clear_of_the_nodes() {
        let s = Subnet::new(10, 81);
        assert_eq!(s.engine_range(), "10.81.255.0/24");
        // The largest run on one network (the Swarm runner's only kind) places no node
        // in it.
        let plan = crate::testkit::Small {
            honest: crate::plan::NODES_PER_BRIDGE,
            ..crate::testkit::Small::default()
        }
        .plan()
        .in_subnet(s);
        assert!(!plan.bridges.routed());
        assert_eq!(plan.nodes.len(), crate::plan::NODES_PER_BRIDGE);
        for n in &plan.nodes {
            let [a, b, c, _] = n.ip.octets();
            assert_eq!([a, b], [10, 81], "{}", n.ip);
            assert_ne!(c, 255, "{} is in the engine's range", n.ip);
        }
    }
}
