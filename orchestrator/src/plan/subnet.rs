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

    /// The gateway address `A.B.0.1`.
    pub fn gateway(&self) -> Ipv4Addr {
        self.host(1)
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
