//! `[[groups]] nat` and `nat_group`: which nodes sit behind a NAT, of which type, and which
//! share one (a carrier-grade NAT: one router, one public address, several nodes).
//!
//! The types are RFC 4787's mapping and filtering behaviours (§4.1, §5):
//!
//! | `nat` | mapping | filtering |
//! | --- | --- | --- |
//! | `none` | public address | none |
//! | `full-cone` | endpoint-independent | endpoint-independent |
//! | `address-restricted` | endpoint-independent | address-dependent |
//! | `port-restricted` | endpoint-independent | address- and port-dependent |
//! | `symmetric` | address- and port-dependent | address- and port-dependent |
//!
//! How a router implements each is `plan::nat` (its rules) and README "NATs".

use serde::{Deserialize, Serialize};

/// The most nodes behind one NAT: its private network is a /24 (the engine's bridge at
/// `.1`, the router at `.2`, nodes from `.3`).
pub const MAX_NODES_BEHIND_ONE_NAT: usize = 250;
/// The most NAT routers in a run: each has a /24 of the run's NAT /16.
pub const MAX_NAT_ROUTERS: usize = 250;

/// A group's NAT type (RFC 4787 behaviour).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum NatType {
    /// No NAT: the node is on the run's shared network with its own address.
    #[default]
    None,
    /// Endpoint-independent mapping and filtering: once the node has sent from a port,
    /// anyone may reach it at the mapped address.
    FullCone,
    /// Endpoint-independent mapping, address-dependent filtering: only hosts the node has
    /// sent to may reach the mapped address (from any port).
    AddressRestricted,
    /// Endpoint-independent mapping, address- and port-dependent filtering: only the exact
    /// address and port the node has sent to may answer.
    PortRestricted,
    /// Address- and port-dependent mapping (a new, random public port for every
    /// destination) and filtering.
    Symmetric,
}

impl NatType {
    /// Every type behind a NAT, in the order of the NAT matrix.
    pub const NATED: [NatType; 4] = [
        NatType::FullCone,
        NatType::AddressRestricted,
        NatType::PortRestricted,
        NatType::Symmetric,
    ];

    /// The name as written in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            NatType::None => "none",
            NatType::FullCone => "full-cone",
            NatType::AddressRestricted => "address-restricted",
            NatType::PortRestricted => "port-restricted",
            NatType::Symmetric => "symmetric",
        }
    }

    /// Whether the node is behind a NAT.
    pub fn is_nated(self) -> bool {
        self != NatType::None
    }

    /// Whether the public port a node is seen at is the same for every destination
    /// (RFC 4787 endpoint-independent mapping), so that the address a peer observed is the
    /// one another peer can aim at.
    pub fn maps_independently(self) -> bool {
        !matches!(self, NatType::Symmetric)
    }

    /// Whether a host the node never sent to can open a connection to it: the truth
    /// AutoNAT's verdict is compared with ("public" or "private").
    pub fn reachable_unsolicited(self) -> bool {
        matches!(self, NatType::None | NatType::FullCone)
    }

    /// What RFC 4787 predicts for TCP hole punching (simultaneous open to the addresses
    /// each side's peers observed) between a node behind `self` and one behind `other`:
    /// it works when each side's packets reach the other through its filter. A side with
    /// endpoint-independent mapping is aimed at correctly; a symmetric side is aimed at a
    /// wrong port, so its peer's filter must let in packets from the symmetric side's
    /// address on a port it never sent to: only full-cone and address-restricted filters
    /// do, and two symmetric sides never meet.
    pub fn punch_predicted(self, other: NatType) -> bool {
        let passes = |filter: NatType, sender: NatType| {
            sender.maps_independently()
                || matches!(
                    filter,
                    NatType::None | NatType::FullCone | NatType::AddressRestricted
                )
        };
        passes(self, other) && passes(other, self)
    }
}

impl std::fmt::Display for NatType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::NatType::*;
    use super::*;

    #[test]
    fn rfc_4787_predicts_which_pairs_punch() {
        for a in NatType::NATED {
            for b in NatType::NATED {
                assert_eq!(a.punch_predicted(b), b.punch_predicted(a), "{a}×{b}");
            }
            assert!(a.punch_predicted(FullCone), "{a} meets full-cone");
        }
        assert!(!Symmetric.punch_predicted(Symmetric));
        assert!(!Symmetric.punch_predicted(PortRestricted));
        assert!(Symmetric.punch_predicted(AddressRestricted));
        assert!(PortRestricted.punch_predicted(PortRestricted));
        assert!(AddressRestricted.punch_predicted(PortRestricted));
    }
}
