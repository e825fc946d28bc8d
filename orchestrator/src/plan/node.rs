//! One planned node: its identity, address, peers, schedule, and the configuration the
//! node is started with.

use std::net::Ipv4Addr;

use serde::Serialize;

use super::nat::{self, NodeNat};
use crate::error::Error;
use crate::scenario::{Discovery, GossipsubSettings, NatType, Role, Security, Transport};
use lab_config::{LimitsConfig, NatConfig, NodeConfig, TimeScale, TrafficConfig};

/// One node of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodePlan {
    /// Node and container name, `<group>-<i>`.
    pub name: String,
    /// Its group's id.
    pub group: String,
    /// Its role.
    pub role: Role,
    /// Whether the role boots dormant (the timeline starts it: `attack`).
    pub dormant: bool,
    /// Global index (0-based, in group order).
    pub index: usize,
    /// Index within its group (the `<i>` of its name).
    pub group_index: usize,
    /// Its bridge network, `0..Plan::bridges.count` (see [`super::Bridges`]).
    pub network: usize,
    /// Its address in the run's subnet (in its bridge's).
    pub ip: Ipv4Addr,
    /// The transport it dials with.
    pub transport: Transport,
    /// The key exchange of its connections.
    pub security: Security,
    /// ML-DSA parameter set.
    pub mldsa_level: u16,
    /// The identities it runs besides its own (`sybil` nodes; 0 for the others).
    #[serde(skip_serializing_if = "is_zero")]
    pub sybil_identities: u16,
    /// The NAT it sits behind (`none`: on the run's network).
    pub nat: NatType,
    /// Its router and slot, when it sits behind a NAT.
    pub nat_place: Option<NodeNat>,
    /// Its libp2p peer id, derived from its identity seed, in a scenario with NATs.
    pub peer_id: Option<String>,
    /// The text its identity is derived from, in a scenario with NATs.
    #[serde(skip)]
    pub(super) identity_seed: Option<String>,
    /// The relay servers it reserves slots on (indices), when NATed.
    #[serde(skip)]
    pub(super) relays: Vec<usize>,
    /// Its `[nat]` table, in a scenario with NATs (relays, AutoNAT, hole punching).
    pub nat_table: Option<NatConfig>,
    /// Whether it publishes (honest publishers and every non-honest node).
    pub publishes: bool,
    /// Its publish schedule, when it publishes.
    pub traffic: Option<NodeTraffic>,
    /// Multiaddrs it dials at start.
    pub bootstrap: Vec<String>,
    /// The nodes (indices) behind `bootstrap`, for [`Plan::in_subnet`].
    #[serde(skip)]
    pub(super) bootstrap_peers: Vec<usize>,
    /// Period of its pings to every connected peer, in milliseconds: 2 s in small
    /// testnets (link fidelity wants samples), 15 s (libp2p's default) in large ones, where
    /// pings to dozens of peers from every node are a load of their own.
    pub ping_interval_ms: u64,
    /// Period of its score and mesh snapshots, in milliseconds: 1 s in small testnets, 2 s
    /// in large ones (each snapshot is a line with a score per connected peer).
    pub score_snapshot_ms: u64,
    /// Whether identify feeds its Kademlia routing table: yes in small testnets, no above
    /// [`SMALL_TESTNET`] nodes, where the tables filling everywhere at once set off kad's
    /// automatic bootstrap walks on every node (~4,000 handshakes at 100 nodes).
    pub kad_learn: bool,
    /// The topic (repeated from the plan for [`NodePlan::node_config_toml`]).
    #[serde(skip)]
    pub(super) topic: String,
    /// Gossipsub settings (repeated from the scenario for the node config).
    #[serde(skip)]
    pub(super) gossipsub: GossipsubSettings,
    /// The run's time scale (repeated from the plan for the node config).
    #[serde(skip)]
    pub(crate) time_scale: TimeScale,
    /// mDNS and the scheduled DHT queries (repeated from the scenario for the node config).
    #[serde(skip)]
    pub(super) discovery: Discovery,
}

fn is_zero(n: &u16) -> bool {
    *n == 0
}

/// One publisher's schedule: it publishes from the run's common traffic start (plus its
/// offset) until it is stopped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeTraffic {
    /// Delay after the run's common traffic start, in milliseconds.
    pub offset_ms: u64,
    /// Messages per second.
    pub rate_per_sec: f64,
    /// Payload bytes.
    pub size: u64,
}

impl NodePlan {
    /// Whether the node follows the protocol.
    pub fn is_honest(&self) -> bool {
        self.role.is_honest()
    }

    /// The node's configuration (the `MESHNODE_CONFIG_TOML` text). Its traffic has no count:
    /// it goes on until the node is stopped, so that meshes never sit idle (an idle mesh
    /// peer falls below zero under the spec's mesh-delivery penalty, P3, and is pruned).
    /// It starts `traffic_start_ms` (wall clock, ms since the epoch; a time already past
    /// means at boot) plus this node's own offset, or without a start time when the node
    /// is signalled (SIGUSR1), as in compose files.
    /// The configuration is checked with the node's own rules
    /// ([`NodeConfig::check`]) before it is written, so that no run starts nodes that
    /// would refuse it.
    pub fn node_config_toml(&self, traffic_start_ms: Option<u64>) -> Result<String, Error> {
        let config = self.node_config(traffic_start_ms);
        if let Some(p) = config.check().into_iter().next() {
            // Unreachable after validation, which runs the same check on every node.
            return Err(Error::Infra(format!(
                "plan node {}: its configuration breaks the node's rules: {p}",
                self.name
            )));
        }
        toml::to_string(&config).map_err(|e| Error::Encode {
            what: format!("the config of node {}", self.name),
            message: e.to_string(),
        })
    }

    /// The node's configuration (see [`NodePlan::node_config_toml`]).
    pub fn node_config(&self, traffic_start_ms: Option<u64>) -> NodeConfig {
        let mut listen = NodeConfig::default().listen;
        if !self.security.allows_quic() {
            listen.retain(|a| !lab_config::node::is_quic(a));
        }
        NodeConfig {
            listen,
            security: self.security,
            name: Some(self.name.clone()),
            role: self.role,
            dormant: self.dormant,
            bootstrap: self.bootstrap.clone(),
            mldsa_level: self.mldsa_level,
            mdns: self.discovery.mdns,
            dht: self.discovery.dht(),
            kad_learn: self.kad_learn,
            ping_interval_ms: self.ping_interval_ms,
            score_snapshot_ms: self.score_snapshot_ms,
            topic: self.topic.clone(),
            gossipsub: self.gossipsub.clone(),
            traffic: self.traffic.as_ref().map(|t| TrafficConfig {
                start_at_ms: traffic_start_ms,
                delay_ms: t.offset_ms,
                rate_per_sec: t.rate_per_sec,
                size: usize::try_from(t.size).unwrap_or(usize::MAX),
                count: None,
            }),
            time_scale: self.time_scale,
            limits: if self.nat_table.is_some() {
                nat::limits()
            } else {
                LimitsConfig::default()
            },
            nat: self.nat_table.clone().unwrap_or_default(),
            identity_seed: self.identity_seed.clone(),
            sybil_identities: if self.role == Role::Sybil {
                self.sybil_identities
            } else {
                lab_config::DEFAULT_SYBIL_IDENTITIES
            },
            ..NodeConfig::default()
        }
    }
}
