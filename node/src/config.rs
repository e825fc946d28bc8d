//! The node's typed configuration: one TOML document, every field defaulted to the spec's
//! value (seed 000 §4.1, §4.2, §4.4), unknown fields rejected.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Errors while loading a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TOML did not parse or named an unknown or mistyped field.
    #[error("parse config {origin}: {message}")]
    Parse {
        /// Where the TOML came from (a path, or the environment variable's name).
        origin: String,
        /// The parser's message, which names the line, column and field.
        message: String,
    },
    /// A value is out of range.
    #[error("accept config: field `{field}`: {message}")]
    Invalid {
        /// The offending field, as a dotted path.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// What this node does with the messages it publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Follows the protocol.
    #[default]
    Honest,
    /// Publishes envelopes whose ML-DSA signatures do not verify.
    InvalidSignature,
}

impl Role {
    /// The role's name as written in configuration and events.
    pub fn name(self) -> &'static str {
        match self {
            Role::Honest => "honest",
            Role::InvalidSignature => "invalid-signature",
        }
    }
}

/// The node's whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Name written into every event record; defaults to the peer id.
    pub name: Option<String>,
    /// The node's role.
    pub role: Role,
    /// Listen multiaddrs.
    pub listen: Vec<String>,
    /// Multiaddrs to dial at start (a `/p2p/<id>` suffix is optional).
    pub bootstrap: Vec<String>,
    /// ML-DSA parameter set: 44, 65 or 87 (spec §9.2: 87).
    pub mldsa_level: u16,
    /// Whether mDNS discovery runs.
    pub mdns: bool,
    /// Whether the listen addresses peers announce (identify) go into the Kademlia routing
    /// table, as in a usual libp2p node. Off, the table holds only what the node is told,
    /// and peers come from the bootstrap list and inbound connections: the orchestrator
    /// turns it off in testnets above 20 nodes, where every node's table filling at once
    /// set off kad's automatic bootstrap walks everywhere (README, "Scale").
    pub kad_learn: bool,
    /// Port of the Prometheus `/metrics` endpoint; 0 disables it.
    pub metrics_port: u16,
    /// Period of `scores` and `mesh` events, in milliseconds.
    pub score_snapshot_ms: u64,
    /// Period of pings to connected peers, in milliseconds.
    pub ping_interval_ms: u64,
    /// The gossipsub topic the node subscribes and publishes to (spec §4.3).
    pub topic: String,
    /// Largest accepted application payload in bytes.
    pub max_payload: usize,
    /// Gossipsub and peer-score settings.
    pub gossipsub: GossipsubSettings,
    /// Built-in traffic; absent means the node never publishes by itself.
    pub traffic: Option<TrafficConfig>,
    /// Connection limits (spec §4.4).
    pub limits: LimitsConfig,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            name: None,
            role: Role::Honest,
            listen: vec![
                "/ip4/0.0.0.0/tcp/4001".into(),
                "/ip4/0.0.0.0/udp/4001/quic-v1".into(),
            ],
            bootstrap: Vec::new(),
            mldsa_level: 87,
            mdns: false,
            kad_learn: true,
            metrics_port: 9100,
            score_snapshot_ms: 1000,
            ping_interval_ms: 2000,
            topic: "vigilia/consensus/v1".into(),
            max_payload: 64 * 1024,
            gossipsub: GossipsubSettings::default(),
            traffic: None,
            limits: LimitsConfig::default(),
        }
    }
}

/// Gossipsub 1.1 mesh and peer-score settings; defaults are the spec's (§4.1, §4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GossipsubSettings {
    /// Target mesh degree D.
    pub mesh_n: usize,
    /// Low watermark D_lo.
    pub mesh_n_low: usize,
    /// High watermark D_hi.
    pub mesh_n_high: usize,
    /// Minimum outbound mesh peers D_out.
    pub mesh_outbound_min: usize,
    /// Heartbeats of message history kept.
    pub history_length: usize,
    /// Heartbeats of history gossiped in IHAVE.
    pub history_gossip: usize,
    /// Heartbeat interval in milliseconds.
    pub heartbeat_ms: u64,
    /// Duplicate cache time in milliseconds.
    pub duplicate_cache_ms: u64,
    /// Whether own messages are flooded to all peers instead of the mesh.
    pub flood_publish: bool,
    /// Below this score no gossip is exchanged with a peer.
    pub gossip_threshold: f64,
    /// Below this score own messages are not published to a peer.
    pub publish_threshold: f64,
    /// Below this score all RPCs from a peer are ignored.
    pub graylist_threshold: f64,
    /// Above this score peer exchange from a peer is accepted.
    pub accept_px_threshold: f64,
    /// Median mesh score below which opportunistic grafting runs.
    pub opportunistic_graft_threshold: f64,
    /// Weight of invalid message deliveries (P4) on the topic.
    pub invalid_message_deliveries_weight: f64,
    /// Weight of the IP colocation factor (P6).
    pub ip_colocation_factor_weight: f64,
    /// Peers per IP tolerated before P6 applies.
    pub ip_colocation_factor_threshold: f64,
}

impl Default for GossipsubSettings {
    fn default() -> Self {
        Self {
            mesh_n: 6,
            mesh_n_low: 4,
            mesh_n_high: 12,
            mesh_outbound_min: 2,
            history_length: 5,
            history_gossip: 3,
            heartbeat_ms: 1000,
            duplicate_cache_ms: 120_000,
            flood_publish: false,
            gossip_threshold: -100.0,
            publish_threshold: -500.0,
            graylist_threshold: -1000.0,
            accept_px_threshold: 50.0,
            opportunistic_graft_threshold: 5.0,
            invalid_message_deliveries_weight: -10.0,
            ip_colocation_factor_weight: -5.0,
            ip_colocation_factor_threshold: 3.0,
        }
    }
}

/// A publish schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    /// Wall-clock start, milliseconds since the Unix epoch. Absent: the schedule starts when
    /// the node is told to (SIGUSR1 to the process, or [`crate::Command::StartTraffic`]),
    /// which is how the orchestrator starts traffic once every mesh is ready.
    #[serde(default)]
    pub start_at_ms: Option<u64>,
    /// Wait this long after the start (time or signal) before the first message, in
    /// milliseconds; staggers publishers that share one start.
    #[serde(default)]
    pub delay_ms: u64,
    /// Messages per second.
    pub rate_per_sec: f64,
    /// Payload size in bytes.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Messages in all; absent: publish until the node stops (how the orchestrator runs
    /// traffic, so that meshes never sit idle; see the README's "Measurement window").
    #[serde(default)]
    pub count: Option<u64>,
}

fn default_size() -> usize {
    1024
}

/// Connection limits (spec §4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Maximum established connections in all.
    pub max_connections: u32,
    /// Maximum established connections per peer.
    pub max_connections_per_peer: u32,
    /// Maximum pending incoming connections.
    pub max_pending_incoming: u32,
    /// Maximum pending outgoing connections.
    pub max_pending_outgoing: u32,
    /// Maximum established incoming connections.
    pub max_established_incoming: u32,
    /// Maximum established outgoing connections.
    pub max_established_outgoing: u32,
    /// Connection manager: above 1.5 × this many connected peers (the high watermark),
    /// the lowest-scored peers that are in no mesh and have been connected for 30 s are
    /// disconnected at each snapshot tick, down to this many (0: never trim). The spec's
    /// limits above are hard caps; without a target, Kademlia's lookups leave every node
    /// connected to nearly every other (median 73 of 99 peers at 100 nodes).
    pub target_peers: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_connections: 100,
            max_connections_per_peer: 1,
            max_pending_incoming: 10,
            max_pending_outgoing: 20,
            max_established_incoming: 50,
            max_established_outgoing: 50,
            target_peers: 32,
        }
    }
}

impl NodeConfig {
    /// Parses and checks a TOML document; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: NodeConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.check()?;
        Ok(config)
    }

    /// Reads, parses and checks a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Checks ranges and relations the types cannot express.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_string(),
            })
        };
        if !matches!(self.mldsa_level, 44 | 65 | 87) {
            return invalid("mldsa_level", "must be 44, 65 or 87");
        }
        let g = &self.gossipsub;
        if !(g.mesh_n_low <= g.mesh_n && g.mesh_n <= g.mesh_n_high) {
            return invalid(
                "gossipsub.mesh_n",
                "must satisfy mesh_n_low <= mesh_n <= mesh_n_high",
            );
        }
        if g.mesh_outbound_min > g.mesh_n / 2 {
            return invalid("gossipsub.mesh_outbound_min", "must be at most mesh_n / 2");
        }
        if g.history_gossip > g.history_length {
            return invalid("gossipsub.history_gossip", "must be at most history_length");
        }
        if g.heartbeat_ms == 0 {
            return invalid("gossipsub.heartbeat_ms", "must be positive");
        }
        if !(g.graylist_threshold <= g.publish_threshold
            && g.publish_threshold <= g.gossip_threshold
            && g.gossip_threshold <= 0.0)
        {
            return invalid(
                "gossipsub.gossip_threshold",
                "must satisfy graylist <= publish <= gossip <= 0",
            );
        }
        if self.score_snapshot_ms == 0 {
            return invalid("score_snapshot_ms", "must be positive");
        }
        if self.ping_interval_ms == 0 {
            return invalid("ping_interval_ms", "must be positive");
        }
        if self.topic.is_empty() {
            return invalid("topic", "must not be empty");
        }
        if self.listen.is_empty() {
            return invalid("listen", "must name at least one address");
        }
        if self.limits.target_peers > self.limits.max_connections {
            return invalid(
                "limits.target_peers",
                "must not exceed limits.max_connections",
            );
        }
        if let Some(t) = &self.traffic {
            if !(t.rate_per_sec.is_finite() && t.rate_per_sec > 0.0) {
                return invalid("traffic.rate_per_sec", "must be a positive number");
            }
            if t.size > self.max_payload {
                return invalid("traffic.size", "must not exceed max_payload");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_gives_the_spec_defaults() {
        let c = NodeConfig::from_toml("", "test").expect("valid");
        assert_eq!(c.gossipsub.mesh_n, 6);
        assert_eq!(c.gossipsub.mesh_n_low, 4);
        assert_eq!(c.gossipsub.mesh_n_high, 12);
        assert_eq!(c.gossipsub.duplicate_cache_ms, 120_000);
        assert_eq!(c.mldsa_level, 87);
        assert_eq!(c.limits.max_connections, 100);
    }

    #[test]
    fn unknown_field_is_named_with_its_line() {
        let err = NodeConfig::from_toml("role = \"honest\"\n[gossipsub]\nmesh_m = 3\n", "cfg.toml")
            .expect_err("unknown field");
        let msg = err.to_string();
        assert!(msg.contains("cfg.toml"), "{msg}");
        assert!(msg.contains("mesh_m"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn mesh_bounds_are_checked() {
        let err = NodeConfig::from_toml("[gossipsub]\nmesh_n = 20\n", "t").expect_err("bad mesh");
        assert!(err.to_string().contains("gossipsub.mesh_n"), "{err}");
    }

    #[test]
    fn bad_role_and_level_are_errors() {
        assert!(NodeConfig::from_toml("role = \"evil\"", "t").is_err());
        let err = NodeConfig::from_toml("mldsa_level = 99", "t").expect_err("bad level");
        assert!(err.to_string().contains("mldsa_level"), "{err}");
    }

    #[test]
    fn traffic_needs_a_positive_rate_and_runs_until_stopped_without_a_count() {
        let c = NodeConfig::from_toml("[traffic]\nrate_per_sec = 1.0\n", "t").expect("no count");
        assert_eq!(c.traffic.expect("traffic").count, None);
        let err = NodeConfig::from_toml("[traffic]\nrate_per_sec = 0.0\ncount = 1\n", "t")
            .expect_err("zero rate");
        assert!(err.to_string().contains("traffic.rate_per_sec"), "{err}");
    }
}
