//! Where NATed nodes live in the plan: their routers, relays, identities, and who dials
//! whom across a NAT.
//!
//! **Routers.** Each NATed node without a `nat_group` sits behind a router of its own;
//! the nodes naming one `nat_group` (from any groups) share one router, and so one public
//! address (a carrier-grade NAT). Router `r` has the /24 `N.M.r.0/24` of the run's NAT
//! /16 ([`Subnet::nat`]) as its private network: the engine's bridge at `.1`, the router
//! at `.2`, its nodes from `.3` in index order. On the run's network it takes the
//! address of a node slot after the last node ([`Bridges`] counts routers with nodes).
//! Each node behind it has a slot `j` and, where the mapping is endpoint-independent, the
//! fixed public port `4001 + j` (its listen port, 4001, as libp2p's port reuse dials
//! from it): `rules` writes the router's iptables.
//!
//! **Relays and identities.** In a scenario with NATs every node's identity is derived
//! from the scenario's name and seed and its own name (`identity_seed`), so the plan knows
//! every peer id. Public honest nodes are relay servers; each NATed node reserves a slot on
//! [`RELAYS_PER_NODE`] of them, the least used first (ties by the seed), and every node
//! runs AutoNAT (answering and asking; private addresses allowed) with
//! `max_connections_per_peer = 2` (a dial-back, or a direct connection next to a relayed
//! one, is a second connection to a peer). NATed nodes punch holes (DCUtR).
//!
//! **Dials.** The topology's graph is drawn over all nodes as usual, then each link is
//! dialled so that it can work: a public node cannot reach a NATed one, so a link between
//! them is dialled by the NATed node; a link between two NATed nodes is dialled through
//! the listener's first relay (`…/p2p/<relay>/p2p-circuit/p2p/<peer>`), after which DCUtR
//! tries a direct connection. Gossipsub does not run over relayed (limited) connections:
//! NATed pairs whose hole punch fails stay connected only through public nodes.

use std::net::Ipv4Addr;

use rand::RngExt;
use rand::rngs::StdRng;
use serde::Serialize;

use super::node::NodePlan;
use super::{Bridges, Subnet};
use crate::scenario::{Group, NatType};
use lab_config::{LimitsConfig, NatConfig, RelayMode};

pub mod rules;

/// Relays each NATed node reserves a slot on.
pub const RELAYS_PER_NODE: usize = 2;
/// The port every node listens on (TCP and QUIC).
pub const LISTEN_PORT: u16 = 4001;
/// Host offset of a router in its private /24 (the engine's bridge has `.1`).
const ROUTER_HOST: u32 = 2;
/// Host offset of the first node in a router's private /24.
const FIRST_NATED_HOST: u32 = 3;

/// One NAT router of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterPlan {
    /// Its name in the run, `nat-<r>` or `nat-<nat_group>`.
    pub name: String,
    /// Its index `r` (its private /24 is the `r`-th of the NAT /16).
    pub index: usize,
    /// Its type.
    pub nat: NatType,
    /// The shared NAT it is, if any.
    pub nat_group: Option<String>,
    /// Its bridge on the run's network.
    pub network: usize,
    /// Its public address, on the run's network.
    pub public_ip: Ipv4Addr,
    /// Its address on its private network.
    pub private_ip: Ipv4Addr,
    /// Its private network, CIDR.
    pub private_cidr: String,
    /// The nodes behind it (indices), in slot order.
    pub nodes: Vec<usize>,
}

impl RouterPlan {
    /// The public port of the node in `slot` where the mapping keeps one port for every
    /// destination.
    pub fn external_port(slot: usize) -> u16 {
        LISTEN_PORT.saturating_add(u16::try_from(slot).unwrap_or(u16::MAX - LISTEN_PORT))
    }
}

/// A NATed node's place behind its router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NodeNat {
    /// Its router (index).
    pub router: usize,
    /// Its slot behind the router (its host offset is `3 + slot`).
    pub slot: usize,
}

/// How many routers `groups` need: one a NATed node without a `nat_group`, one a
/// `nat_group`.
pub(super) fn router_count(groups: &[Group]) -> usize {
    let own: usize = groups
        .iter()
        .filter(|g| g.nat.is_nated() && g.nat_group.is_none())
        .map(|g| g.count)
        .sum();
    let shared: std::collections::BTreeSet<&str> = groups
        .iter()
        .filter(|g| g.nat.is_nated())
        .filter_map(|g| g.nat_group.as_deref())
        .collect();
    own + shared.len()
}

/// Assigns every NATed node of `groups` (whose nodes are `nodes`, in group order) to a
/// router and returns the routers; addresses are set by [`place`].
pub(super) fn routers(nodes: &mut [NodePlan], groups: &[Group]) -> Vec<RouterPlan> {
    let mut routers: Vec<RouterPlan> = Vec::new();
    let mut index = 0;
    for g in groups {
        for _ in 0..g.count {
            let node = &mut nodes[index];
            if g.nat.is_nated() {
                let existing = g.nat_group.as_ref().and_then(|name| {
                    routers
                        .iter()
                        .position(|r| r.nat_group.as_ref() == Some(name))
                });
                let r = existing.unwrap_or_else(|| {
                    let r = routers.len();
                    routers.push(RouterPlan {
                        name: match &g.nat_group {
                            Some(name) => format!("nat-{name}"),
                            None => format!("nat-{r}"),
                        },
                        index: r,
                        nat: g.nat,
                        nat_group: g.nat_group.clone(),
                        network: 0,
                        public_ip: Ipv4Addr::UNSPECIFIED,
                        private_ip: Ipv4Addr::UNSPECIFIED,
                        private_cidr: String::new(),
                        nodes: Vec::new(),
                    });
                    r
                });
                node.nat_place = Some(NodeNat {
                    router: r,
                    slot: routers[r].nodes.len(),
                });
                routers[r].nodes.push(index);
            }
            index += 1;
        }
    }
    routers
}

/// Sets the addresses of `routers` and of the nodes behind them in `subnet` (the run's)
/// and its NAT /16; routers take the node slots after `nodes`.
pub(super) fn place(
    nodes: &mut [NodePlan],
    routers: &mut [RouterPlan],
    subnet: Subnet,
    bridges: Bridges,
) {
    let nat = subnet.nat();
    let total = nodes.len();
    for r in routers.iter_mut() {
        let base = u32::try_from(r.index)
            .unwrap_or(u32::MAX)
            .saturating_mul(256);
        r.network = bridges.of(total + r.index);
        r.public_ip = subnet.host(bridges.host_offset(total + r.index));
        r.private_ip = nat.host(base + ROUTER_HOST);
        r.private_cidr = format!("{}/24", nat.host(base));
        for (slot, &i) in r.nodes.iter().enumerate() {
            let slot = u32::try_from(slot).unwrap_or(u32::MAX);
            nodes[i].ip = nat.host(base + FIRST_NATED_HOST + slot);
        }
    }
}

/// Chooses each NATed node's relays among the public honest nodes: the least used first,
/// ties broken by the seed.
pub(super) fn choose_relays(nodes: &mut [NodePlan], rng: &mut StdRng) {
    let servers: Vec<usize> = nodes
        .iter()
        .filter(|n| n.is_honest() && n.nat_place.is_none())
        .map(|n| n.index)
        .collect();
    let mut load = vec![0usize; nodes.len()];
    for node in nodes.iter_mut() {
        if node.nat_place.is_none() {
            continue;
        }
        let mut ranked: Vec<(usize, u32, usize)> = servers
            .iter()
            .map(|&s| (load[s], rng.random::<u32>(), s))
            .collect();
        ranked.sort_unstable();
        let chosen: Vec<usize> = ranked
            .iter()
            .take(RELAYS_PER_NODE)
            .map(|&(_, _, s)| s)
            .collect();
        for &s in &chosen {
            load[s] += 1;
        }
        node.relays = chosen;
    }
}

/// Re-orients the planned dials so that each can work: a link between a public and a
/// NATed node is dialled by the NATed one (a public node cannot reach behind a NAT);
/// links between NATed nodes stay as drawn and are dialled through a relay.
pub(super) fn orient(nodes: &mut [NodePlan]) {
    let nated: Vec<bool> = nodes.iter().map(|n| n.nat_place.is_some()).collect();
    let mut reversed: Vec<(usize, usize)> = Vec::new();
    for n in nodes.iter_mut() {
        if nated[n.index] {
            continue;
        }
        n.bootstrap_peers.retain(|&j| {
            if nated[j] {
                reversed.push((j, n.index));
                false
            } else {
                true
            }
        });
    }
    for (from, to) in reversed {
        let peers = &mut nodes[from].bootstrap_peers;
        if !peers.contains(&to) {
            peers.push(to);
            peers.sort_unstable();
        }
    }
}

/// The identity seed of node `name` in scenario `scenario` with `seed`.
pub(super) fn identity_seed(scenario: &str, seed: u64, name: &str) -> String {
    format!("{scenario}/{seed}/{name}")
}

/// Connections a node in a scenario with NATs may have to one peer: a dial-back, or a
/// direct connection next to a relayed one, is a second.
pub const CONNECTIONS_PER_PEER: u32 = 2;

/// The connection limits of a node in a scenario with NATs.
pub(super) fn limits() -> LimitsConfig {
    LimitsConfig {
        max_connections_per_peer: CONNECTIONS_PER_PEER,
        ..LimitsConfig::default()
    }
}

/// The address `from` dials node `to` at, in a scenario with NATs: directly at a public
/// node, through its first relay at a NATed one; always ending in the peer's id.
pub(super) fn dial_address(nodes: &[NodePlan], from: usize, to: usize) -> String {
    let peer = &nodes[to];
    let id = peer.peer_id.as_deref().unwrap_or_default();
    match peer.relays.first() {
        Some(&relay) if peer.nat_place.is_some() => {
            format!("{}/p2p-circuit/p2p/{id}", relay_address(&nodes[relay]))
        }
        _ => format!("{}/p2p/{id}", nodes[from].transport.multiaddr(peer.ip)),
    }
}

/// A relay server's address (TCP), ending in its peer id.
pub(super) fn relay_address(relay: &NodePlan) -> String {
    format!(
        "{}/p2p/{}",
        crate::scenario::Transport::Tcp.multiaddr(relay.ip),
        relay.peer_id.as_deref().unwrap_or_default()
    )
}

/// The `[nat]` table of a node in a scenario with NATs, whose relays' dial addresses are
/// `relays`.
pub(super) fn nat_table(node: &NodePlan, relays: Vec<String>) -> NatConfig {
    let nated = node.nat_place.is_some();
    let relay = if nated {
        RelayMode::Client
    } else if node.is_honest() {
        RelayMode::Server
    } else {
        RelayMode::Off
    };
    NatConfig {
        relay,
        relays,
        autonat: true,
        autonat_only_global_ips: false,
        hole_punch: nated,
        ..NatConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::{Subnet, plan};
    use crate::scenario::NatType;
    use crate::testkit::{NATS, parse};
    use lab_config::RelayMode;

    #[test]
    fn nated_nodes_sit_behind_their_routers_and_dial_only_what_can_work() {
        let p = plan(&parse(NATS), Subnet::new(10, 80));
        // Four routers of their own, one shared by two groups.
        assert_eq!(p.routers.len(), 5);
        let shared = &p.routers[4];
        assert_eq!(shared.name, "nat-carrier");
        assert_eq!(shared.nat, NatType::Symmetric);
        assert_eq!(shared.nodes, (12..18).collect::<Vec<_>>());
        assert_eq!(shared.private_cidr, "10.180.4.0/24");
        assert_eq!(shared.private_ip.to_string(), "10.180.4.2");
        assert_eq!(p.nodes[13].ip.to_string(), "10.180.4.4");
        assert_eq!(p.routers[0].public_ip.to_string(), "10.80.0.20");
        assert_eq!(p.nodes[8].ip.to_string(), "10.180.0.3");
        for n in &p.nodes {
            let config = n.node_config(Some(0));
            assert!(
                config.check().is_empty(),
                "{}: {:?}",
                n.name,
                config.check()
            );
            assert_eq!(config.limits.max_connections_per_peer, 2);
            assert!(config.nat.autonat && !config.nat.autonat_only_global_ips);
            assert!(config.identity_seed.is_some());
            let nated = n.nat_place.is_some();
            assert_eq!(config.nat.hole_punch, nated);
            if nated {
                assert_eq!(config.nat.relay, RelayMode::Client);
                assert_eq!(config.nat.relays.len(), 2);
                assert!(
                    config
                        .nat
                        .relays
                        .iter()
                        .all(|a| a.starts_with("/ip4/10.80.0."))
                );
            } else {
                assert_eq!(config.nat.relay, RelayMode::Server);
            }
            for (&j, addr) in n.bootstrap_peers.iter().zip(&n.bootstrap) {
                let peer = &p.nodes[j];
                assert!(
                    addr.ends_with(&format!("/p2p/{}", peer.peer_id.as_deref().unwrap_or("?"))),
                    "{addr}"
                );
                match (nated, peer.nat_place.is_some()) {
                    (false, true) => panic!("{} dials {} behind a NAT", n.name, peer.name),
                    (true, true) => assert!(addr.contains("/p2p-circuit/"), "{addr}"),
                    _ => assert!(!addr.contains("/p2p-circuit/"), "{addr}"),
                }
            }
        }
        // Every link of the drawn graph is still dialled, by one side.
        let g = p.graph();
        assert!(g.is_connected());
    }
}
