//! Where a node lives: whether it relays for others or reserves a relayed address
//! itself, whether it asks its peers if it can be dialled (AutoNAT) and whether it
//! upgrades relayed connections to direct ones by hole punching (DCUtR). Everything is off
//! by default: a node without a `[nat]` table runs exactly as before.

use serde::{Deserialize, Serialize};

use super::checks::{Checker, check_dial_address};
use crate::Problem;
use crate::bounds::{MAX_ADDRESSES, MAX_NODE_MILLIS};
use crate::doc::FieldPath;

/// The node's part in circuit relay v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelayMode {
    /// No relay: the node neither serves nor uses circuits.
    #[default]
    Off,
    /// A public node: it accepts reservations and relays circuits for other peers, and
    /// announces its listen addresses and the addresses its peers observe as external.
    Server,
    /// A node behind a NAT: it reserves a relayed address on every relay in
    /// [`NatConfig::relays`] and is reached through them (`…/p2p-circuit/p2p/<id>`).
    Client,
}

impl RelayMode {
    /// The mode's name as written in configuration.
    pub fn name(self) -> &'static str {
        match self {
            RelayMode::Off => "off",
            RelayMode::Server => "server",
            RelayMode::Client => "client",
        }
    }
}

/// The `[nat]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatConfig {
    /// The node's part in circuit relay v2.
    pub relay: RelayMode,
    /// The relays a [`RelayMode::Client`] reserves a slot on: dial addresses ending in
    /// `/p2p/<relay peer id>`.
    pub relays: Vec<String>,
    /// Whether AutoNAT (v1) runs: the node serves dial-back probes for its peers and asks
    /// them whether it can be dialled; a confirmed address becomes an external address.
    pub autonat: bool,
    /// AutoNAT serves and asks only peers seen at global IP addresses (libp2p's default).
    /// A testnet on private addresses (containers, loopback) turns it off.
    pub autonat_only_global_ips: bool,
    /// The first AutoNAT probe, this long after start, in (virtual) milliseconds
    /// (libp2p's default: 15 s).
    pub autonat_boot_delay_ms: u64,
    /// Whether relayed connections are upgraded to direct ones by hole punching (DCUtR).
    /// Both ends of a relayed connection need it.
    pub hole_punch: bool,
}

impl Default for NatConfig {
    fn default() -> Self {
        Self {
            relay: RelayMode::Off,
            relays: Vec::new(),
            autonat: false,
            autonat_only_global_ips: true,
            autonat_boot_delay_ms: 15_000,
            hole_punch: false,
        }
    }
}

impl NatConfig {
    /// Whether the node can dial relayed (`/p2p-circuit`) addresses: it has a relay part,
    /// or punches holes (which starts from a relayed connection).
    pub fn dials_circuits(&self) -> bool {
        self.relay != RelayMode::Off || self.hole_punch
    }

    /// Whether any of it is on.
    pub fn is_on(&self) -> bool {
        self.dials_circuits() || self.autonat
    }

    /// Checks the table; `max_connections_per_peer` is the node's per-peer connection
    /// limit. Problems are relative to the table.
    pub fn check(&self, max_connections_per_peer: u32) -> Vec<Problem> {
        let mut c = Checker::new(FieldPath::default());
        if self.relays.len() > MAX_ADDRESSES {
            c.fail(
                "relays",
                format!(
                    "must name at most {MAX_ADDRESSES} addresses, got {}",
                    self.relays.len()
                ),
            );
        }
        for (i, a) in self.relays.iter().enumerate() {
            let checked = check_dial_address(a).and_then(|()| {
                if a.contains("/p2p/") {
                    Ok(())
                } else {
                    Err(format!("`{a}` must end in /p2p/<relay peer id>"))
                }
            });
            if let Err(e) = checked {
                c.problems
                    .push(Problem::new(FieldPath::root("relays").index(i), e));
            }
        }
        if self.relay == RelayMode::Client && self.relays.is_empty() {
            c.relation(
                "relays",
                &["relay"],
                "must name at least one relay when `relay` is \"client\"",
            );
        }
        if self.relay != RelayMode::Client && !self.relays.is_empty() {
            c.relation(
                "relays",
                &["relay"],
                "is only used when `relay` is \"client\"",
            );
        }
        c.within(
            "autonat_boot_delay_ms",
            self.autonat_boot_delay_ms,
            0,
            MAX_NODE_MILLIS,
        );
        // A dial-back probe, and a direct connection next to a relayed one, are a second
        // connection to a connected peer.
        if (self.autonat || self.hole_punch) && max_connections_per_peer < 2 {
            c.fail(
                "autonat",
                format!(
                    "AutoNAT and hole punching open a second connection to a peer: they need \
                     limits.max_connections_per_peer >= 2, got {max_connections_per_peer}"
                ),
            );
        }
        c.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELAY: &str =
        "/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

    fn fields(c: &NatConfig, per_peer: u32) -> Vec<String> {
        c.check(per_peer)
            .into_iter()
            .map(|p| p.field.to_string())
            .collect()
    }

    #[test]
    fn the_default_is_off_and_valid() {
        let c = NatConfig::default();
        assert!(!c.is_on());
        assert!(c.check(1).is_empty());
    }

    #[test]
    fn a_client_needs_a_relay_with_a_peer_id() {
        let mut c = NatConfig {
            relay: RelayMode::Client,
            ..NatConfig::default()
        };
        assert_eq!(fields(&c, 1), ["relays"]);
        c.relays = vec!["/ip4/10.0.0.1/tcp/4001".into()];
        assert_eq!(fields(&c, 1), ["relays[0]"]);
        c.relays = vec![RELAY.into()];
        assert!(c.check(1).is_empty());
        assert!(c.dials_circuits());
    }

    #[test]
    fn autonat_and_hole_punching_need_two_connections_a_peer() {
        let c = NatConfig {
            autonat: true,
            ..NatConfig::default()
        };
        assert_eq!(fields(&c, 1), ["autonat"]);
        assert!(c.check(2).is_empty());
        let c = NatConfig {
            hole_punch: true,
            ..NatConfig::default()
        };
        assert_eq!(fields(&c, 1), ["autonat"]);
    }
}
