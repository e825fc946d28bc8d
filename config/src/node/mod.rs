//! The node's typed configuration: one TOML document, every field defaulted to the spec's
//! value (seed 000 §4.1, §4.2, §4.4), unknown fields rejected, every number bounded
//! ([`crate::bounds`]). `meshnode` reads it; the orchestrator writes it for every node of a
//! run and checks a scenario's `[gossipsub]` table with [`GossipsubSettings::check`].

mod checks;
mod dht;
mod gossipsub;
mod nat;
mod score;
mod security;

use checks::Checker;
pub use checks::{check_dial_address, check_text};
pub use dht::{DhtConfig, MAX_DHT_PER_MIN, MIN_DHT_PER_MIN};
pub use gossipsub::GossipsubSettings;
pub use nat::{NatConfig, RelayMode};
pub use security::{Security, is_quic};

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bounds::*;
use crate::doc::{Document, FieldPath};
use crate::file::{ReadError, read_text};
use crate::time_scale::TimeScale;
use crate::{Diagnostic, Problem, num};

/// Messages a (virtual) second one origin may publish on a topic (seed 000 §9.3, "max 100
/// messages/sec per topic"): every node accepts at most this many from each origin.
pub const TOPIC_RATE_LIMIT: f64 = 100.0;

/// Bytes a (virtual) second a node reads from one peer (seed 000 §9.3, "Bandwidth
/// throttling: max 1 MB/sec per peer"): the default of `limits.peer_bytes_per_sec`.
pub const PEER_BYTES_PER_SEC_LIMIT: u64 = 1_000_000;

/// The `spam` role's publish rate, messages a (virtual) second: three times the limit.
pub const SPAM_RATE: f64 = 3.0 * TOPIC_RATE_LIMIT;

/// What this node does with the messages it publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Follows the protocol.
    #[default]
    Honest,
    /// Publishes envelopes whose ML-DSA signatures do not verify.
    InvalidSignature,
    /// Publishes bytes that do not decode as an envelope (the signature cut short).
    Malformed,
    /// Publishes well-signed envelopes whose payload exceeds `max_payload`.
    Oversize,
    /// Publishes two well-signed envelopes with different payloads under each sequence
    /// number.
    Equivocation,
    /// Publishes valid envelopes at 300 messages a second, three times the spec's per-topic
    /// limit (seed 000 §9.3), whatever its traffic's rate.
    Spam,
    /// Joins meshes but forwards nothing: it reports every message of others to gossipsub
    /// as ignored (it still delivers them to itself).
    Withholding,
    /// Republishes other origins' valid envelopes it recorded as its own gossipsub
    /// messages: the newest, and the oldest whose duplicate-cache entries have expired.
    Replay,
    /// Speaks gossipsub itself: relays like a mesh peer, and once a heartbeat sends every
    /// peer an IHAVE of a message id it never delivers when IWANTed (broken promises, P7).
    IhaveLiar,
    /// Speaks gossipsub itself: relays like a mesh peer, and re-GRAFTs at once whenever it
    /// is PRUNEd, or PRUNEs itself and re-GRAFTs, inside the backoff (P7).
    GraftBackoff,
    /// Many identities from one address: besides its own, runs `sybil_identities` more
    /// libp2p identities in its one process, each dialling the node's bootstrap peers and
    /// joining their meshes; all of them publish and forward nothing.
    Sybil,
    /// Crowds one victim (its only bootstrap peer): dials it at start and again whenever
    /// disconnected, grafts into its mesh, and forwards and publishes nothing.
    Eclipse,
}

impl Role {
    /// Every role, honest first.
    pub const ALL: [Role; 12] = [
        Role::Honest,
        Role::InvalidSignature,
        Role::Malformed,
        Role::Oversize,
        Role::Equivocation,
        Role::Spam,
        Role::Withholding,
        Role::Replay,
        Role::IhaveLiar,
        Role::GraftBackoff,
        Role::Sybil,
        Role::Eclipse,
    ];

    /// The role's name as written in configuration and events.
    pub fn name(self) -> &'static str {
        match self {
            Role::Honest => "honest",
            Role::InvalidSignature => "invalid-signature",
            Role::Malformed => "malformed",
            Role::Oversize => "oversize",
            Role::Equivocation => "equivocation",
            Role::Spam => "spam",
            Role::Withholding => "withholding",
            Role::Replay => "replay",
            Role::IhaveLiar => "ihave-liar",
            Role::GraftBackoff => "graft-backoff",
            Role::Sybil => "sybil",
            Role::Eclipse => "eclipse",
        }
    }

    /// Whether the role follows the protocol.
    pub fn is_honest(self) -> bool {
        self == Role::Honest
    }

    /// Messages a (virtual) second that one node of this role adds to what every node
    /// handles, beyond the scenario's traffic: a spammer's accepted share (the rate limit),
    /// none for the others, which publish at the traffic's rate.
    pub fn extra_topic_rate(self) -> f64 {
        match self {
            Role::Spam => SPAM_RATE.min(TOPIC_RATE_LIMIT),
            _ => 0.0,
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
    /// Whether the role starts dormant: the node behaves honestly (publishes honest
    /// messages at its traffic's rate, forwards) until it receives [`ATTACK_ON_SIGNAL`],
    /// acts its role until [`ATTACK_OFF_SIGNAL`], and so on; how the orchestrator plays a
    /// timeline's `attack` actions. Only a non-honest role may be dormant.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dormant: bool,
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
    /// The file the node appends its event records to, one JSON object a line, each line
    /// written whole by one write (nothing held in memory: a killed node loses no event it
    /// had written). Absent: the records go to stdout. The orchestrator sets it to a file
    /// on a bind mount (`/events/<node>.jsonl`), so that events bypass the engine's log
    /// driver. A relative path is relative to the node's working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<PathBuf>,
    /// Time dilation ([`TimeScale`]): every time in this configuration, and every timer the
    /// node sets by itself, is virtual and lasts `time_scale` times longer in real time
    /// (default 1, real time). Event records keep real clock times; the orchestrator turns
    /// them into virtual times when it reads them.
    pub time_scale: TimeScale,
    /// Relay, AutoNAT and hole punching (`[nat]`); all off by default.
    pub nat: NatConfig,
    /// The text the node's libp2p identity is derived from ([`crate::identity`]), so that
    /// whoever writes the configuration knows the node's peer id in advance (a relay's id
    /// in a relay address, a NATed peer's in a circuit address). Absent: a fresh random
    /// identity. A testnet's: anyone who reads the text has the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_seed: Option<String>,
    /// The key exchange of its connections ([`Security`]): `hybrid` (default), `pq-only`
    /// (no QUIC address may then be listened on or dialled) or `classical`.
    pub security: Security,
    /// Scheduled Kademlia queries (`[dht]`); off by default, and then not written.
    #[serde(skip_serializing_if = "DhtConfig::is_off")]
    pub dht: DhtConfig,
    /// The identities a `sybil` node runs besides its own (0..=[`MAX_SYBIL_IDENTITIES`],
    /// default [`DEFAULT_SYBIL_IDENTITIES`]); other roles ignore it. Written only when not
    /// the default.
    #[serde(skip_serializing_if = "is_default_sybil_identities")]
    pub sybil_identities: u16,
}

/// The identities a `sybil` node runs besides its own unless told otherwise.
pub const DEFAULT_SYBIL_IDENTITIES: u16 = 8;
/// The most identities a `sybil` node runs besides its own: each is a whole swarm in the
/// node's process.
pub const MAX_SYBIL_IDENTITIES: u16 = 32;

fn is_default_sybil_identities(n: &u16) -> bool {
    *n == DEFAULT_SYBIL_IDENTITIES
}

/// The longest `events` path accepted, in bytes (Linux's `PATH_MAX`).
pub const MAX_EVENTS_PATH_BYTES: usize = 4096;

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            name: None,
            role: Role::Honest,
            dormant: false,
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
            topic: DEFAULT_TOPIC.into(),
            max_payload: DEFAULT_MAX_PAYLOAD,
            gossipsub: GossipsubSettings::default(),
            traffic: None,
            limits: LimitsConfig::default(),
            events: None,
            time_scale: TimeScale::REAL,
            nat: NatConfig::default(),
            identity_seed: None,
            security: Security::Hybrid,
            dht: DhtConfig::default(),
            sybil_identities: DEFAULT_SYBIL_IDENTITIES,
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
    /// New inbound connections accepted a second (spec §9.3: 10), with a burst of as
    /// many; beyond it an inbound connection is denied before its handshake
    /// (`node/src/conn_rate.rs`).
    pub inbound_rate_per_sec: f64,
    /// Bytes a second the node reads from one peer, over all its connections and streams
    /// together (spec §9.3: 1 MB), with a burst of as many; beyond it reads wait, and the
    /// peer's sends back up through the muxer's flow control (`node/src/throttle.rs`).
    pub peer_bytes_per_sec: u64,
}

/// The most new inbound connections a second a node can be told to accept.
pub const MAX_INBOUND_RATE_PER_SEC: f64 = 10_000.0;
/// The lowest per-peer read rate a node can be told to keep, bytes a second: 1 KB, a
/// few pings and identify exchanges; below it the node's own protocols time out.
pub const MIN_PEER_BYTES_PER_SEC: u64 = 1_000;
/// The highest per-peer read rate, bytes a second: 1 GB, above any link a container gets;
/// higher is a unit mistake.
pub const MAX_PEER_BYTES_PER_SEC: u64 = 1_000_000_000;

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
            inbound_rate_per_sec: 10.0,
            peer_bytes_per_sec: PEER_BYTES_PER_SEC_LIMIT,
        }
    }
}

/// The signal (number) that makes a running node act its role ([`NodeConfig::dormant`]):
/// SIGUSR2.
pub const ATTACK_ON_SIGNAL: i32 = 12;
/// The signal (number) that returns a node acting its role to honest behaviour: SIGRTMIN+1
/// as the C library counts (the kernel's first two real-time signals, 32 and 33, are the
/// library's own).
pub const ATTACK_OFF_SIGNAL: i32 = 35;

/// The topic a node uses when its configuration names none (spec §4.3).
pub const DEFAULT_TOPIC: &str = "vigilia/consensus/v1";
/// The largest payload a node accepts when its configuration sets no `max_payload`.
pub const DEFAULT_MAX_PAYLOAD: usize = 64 * 1024;

impl NodeConfig {
    /// The configuration of `name`, one of several nodes that share a host (loopback tests
    /// and benches): listening on `listen`, dialling `bootstrap`, no metrics port, and
    /// the spec's settings but two: a faster heartbeat, which only speeds up mesh
    /// formation, and no IP-colocation penalty (P6), which would count every peer on
    /// 127.0.0.1 against all the others and prune them from the mesh.
    pub fn sharing_a_host(name: &str, listen: &str, bootstrap: Vec<String>) -> Self {
        let mut c = NodeConfig {
            name: Some(name.to_string()),
            listen: vec![listen.to_string()],
            bootstrap,
            metrics_port: 0,
            ..NodeConfig::default()
        };
        c.gossipsub.heartbeat_ms = 200;
        c.gossipsub.ip_colocation_factor_weight = 0.0;
        c
    }

    /// This configuration with every virtual time turned into real time under its
    /// `time_scale` (`k`): periods and delays × k, the publish rate ÷ k, the gossipsub and
    /// score durations as [`GossipsubSettings::dilated`]. Absolute instants
    /// (`traffic.start_at_ms`) are wall-clock times and stay. The node calls it once, on
    /// the configuration it read; `time_scale` is kept, for the timers the node sets
    /// without a field here.
    pub fn dilated(&self) -> NodeConfig {
        let k = self.time_scale;
        let ms = |v: u64| u64::try_from(k.real_ms(v).as_millis()).unwrap_or(u64::MAX);
        NodeConfig {
            score_snapshot_ms: ms(self.score_snapshot_ms),
            ping_interval_ms: ms(self.ping_interval_ms),
            gossipsub: self.gossipsub.dilated(k),
            nat: NatConfig {
                autonat_boot_delay_ms: ms(self.nat.autonat_boot_delay_ms),
                ..self.nat.clone()
            },
            traffic: self.traffic.as_ref().map(|t| TrafficConfig {
                delay_ms: ms(t.delay_ms),
                rate_per_sec: k.real_rate(t.rate_per_sec),
                ..t.clone()
            }),
            dht: self.dht.dilated(k),
            limits: LimitsConfig {
                inbound_rate_per_sec: k.real_rate(self.limits.inbound_rate_per_sec),
                peer_bytes_per_sec: (k.real_rate(self.limits.peer_bytes_per_sec as f64).round()
                    as u64)
                    .max(1),
                ..self.limits.clone()
            },
            ..self.clone()
        }
    }

    /// Parses and checks a TOML document; `origin` names it in diagnostics (a path, or the
    /// environment variable it came from). Every problem is located.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, Vec<Diagnostic>> {
        let doc = Document::new(origin, text);
        let config: NodeConfig = doc.deserialize().map_err(|d| vec![d])?;
        let problems = config.check();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems.iter().map(|p| doc.diag_problem(p)).collect())
        }
    }

    /// Reads (at most [`MAX_CONFIG_FILE_BYTES`]), parses and checks a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, Vec<Diagnostic>> {
        let text = read_text(path, MAX_CONFIG_FILE_BYTES, "a node config")
            .map_err(|e: ReadError| vec![e.into_diagnostic()])?;
        Self::from_toml(&text, path)
    }

    /// Checks every range and relation the types cannot express; an empty list means the
    /// node can run with this configuration.
    pub fn check(&self) -> Vec<Problem> {
        let mut c = Checker::new(FieldPath::default());
        if let Some(name) = &self.name {
            c.text("name", name);
        }
        if self.listen.is_empty() || self.listen.len() > MAX_ADDRESSES {
            c.fail(
                "listen",
                format!(
                    "must name 1..={MAX_ADDRESSES} addresses, got {}",
                    self.listen.len()
                ),
            );
        }
        for (i, a) in self.listen.iter().enumerate() {
            if let Err(e) = check_dial_address(a) {
                c.problems
                    .push(Problem::new(FieldPath::root("listen").index(i), e));
            }
        }
        if self.bootstrap.len() > MAX_ADDRESSES {
            c.fail(
                "bootstrap",
                format!(
                    "must name at most {MAX_ADDRESSES} addresses, got {}",
                    self.bootstrap.len()
                ),
            );
        }
        for (i, a) in self.bootstrap.iter().enumerate() {
            if let Err(e) = check_dial_address(a) {
                c.problems
                    .push(Problem::new(FieldPath::root("bootstrap").index(i), e));
            }
        }
        if self.dormant && self.role.is_honest() {
            c.fail("dormant", "only a non-honest role can be dormant");
        }
        if !matches!(self.mldsa_level, 44 | 65 | 87) {
            c.fail(
                "mldsa_level",
                format!("must be 44, 65 or 87, got {}", self.mldsa_level),
            );
        }
        c.within(
            "score_snapshot_ms",
            self.score_snapshot_ms,
            MIN_PERIOD_MS,
            MAX_NODE_MILLIS,
        );
        c.within(
            "ping_interval_ms",
            self.ping_interval_ms,
            MIN_PERIOD_MS,
            MAX_NODE_MILLIS,
        );
        c.text("topic", &self.topic);
        c.within("max_payload", self.max_payload, 1, MAX_PAYLOAD_BYTES);
        let gossipsub = FieldPath::root("gossipsub");
        c.problems.extend(
            self.gossipsub
                .check()
                .into_iter()
                .map(|p| p.under(&gossipsub)),
        );
        if let Some(t) = &self.traffic {
            let mut tc = Checker::new(FieldPath::root("traffic"));
            if let Some(at) = t.start_at_ms {
                tc.within("start_at_ms", at, 0, MAX_EPOCH_MS);
            }
            tc.within("delay_ms", t.delay_ms, 0, MAX_NODE_MILLIS);
            let rate = t.rate_per_sec;
            if !(rate.is_finite()
                && (MIN_NODE_RATE_PER_SEC..=MAX_NODE_RATE_PER_SEC).contains(&rate))
            {
                tc.fail(
                    "rate_per_sec",
                    format!(
                        "must be one message an hour to {} a second, got {}",
                        num(MAX_NODE_RATE_PER_SEC),
                        num(rate)
                    ),
                );
            }
            tc.within("size", t.size, 1, self.max_payload.max(1));
            if let Some(n) = t.count {
                tc.within("count", n, 1, 1_000_000_000);
            }
            c.problems.extend(tc.problems);
        }
        let l = &self.limits;
        let mut lc = Checker::new(FieldPath::root("limits"));
        lc.within("max_connections", l.max_connections, 1, MAX_CONNECTIONS);
        lc.within(
            "max_connections_per_peer",
            l.max_connections_per_peer,
            1,
            MAX_CONNECTIONS_PER_PEER,
        );
        lc.within(
            "max_pending_incoming",
            l.max_pending_incoming,
            1,
            MAX_CONNECTIONS,
        );
        lc.within(
            "max_pending_outgoing",
            l.max_pending_outgoing,
            1,
            MAX_CONNECTIONS,
        );
        lc.within(
            "max_established_incoming",
            l.max_established_incoming,
            1,
            l.max_connections.max(1),
        );
        lc.within(
            "max_established_outgoing",
            l.max_established_outgoing,
            1,
            l.max_connections.max(1),
        );
        lc.within("target_peers", l.target_peers, 0, l.max_connections);
        lc.within_f(
            "inbound_rate_per_sec",
            l.inbound_rate_per_sec,
            0.1,
            MAX_INBOUND_RATE_PER_SEC,
        );
        lc.within(
            "peer_bytes_per_sec",
            l.peer_bytes_per_sec,
            MIN_PEER_BYTES_PER_SEC,
            MAX_PEER_BYTES_PER_SEC,
        );
        c.problems.extend(lc.problems);
        if let Some(path) = &self.events {
            c.events_path("events", path);
        }
        if let Some(seed) = &self.identity_seed {
            c.text("identity_seed", seed);
        }
        c.within(
            "sybil_identities",
            self.sybil_identities,
            0,
            MAX_SYBIL_IDENTITIES,
        );
        if let Err(e) = TimeScale::new(self.time_scale.factor()) {
            c.fail("time_scale", e);
        }
        self.check_security(&mut c);
        let nat = FieldPath::root("nat");
        c.problems.extend(
            self.nat
                .check(self.limits.max_connections_per_peer)
                .into_iter()
                .map(|p| p.under(&nat)),
        );
        let dht = FieldPath::root("dht");
        c.problems
            .extend(self.dht.check().into_iter().map(|p| p.under(&dht)));
        c.problems
    }

    /// `pq-only` runs no QUIC ([`Security::allows_quic`]): a QUIC listen or bootstrap
    /// address is an error at that address.
    fn check_security(&self, c: &mut Checker) {
        if self.security.allows_quic() {
            return;
        }
        for (list, addrs) in [("listen", &self.listen), ("bootstrap", &self.bootstrap)] {
            for (i, a) in addrs.iter().enumerate().filter(|(_, a)| is_quic(a)) {
                c.problems.push(Problem {
                    field: FieldPath::root(list).index(i),
                    message: format!(
                        "is a QUIC address `{a}`, but `security = \"pq-only\"` runs no QUIC (its key exchange cannot be pinned to X25519MLKEM768)"
                    ),
                    related: vec![FieldPath::root("security")],
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NodeConfig, Vec<Diagnostic>> {
        NodeConfig::from_toml(text, Path::new("cfg.toml"))
    }

    fn fields(text: &str) -> Vec<String> {
        parse(text)
            .expect_err("invalid")
            .into_iter()
            .map(|d| d.field)
            .collect()
    }

    #[test]
    fn empty_document_gives_the_spec_defaults() {
        let c = parse("").expect("valid");
        assert_eq!(c.gossipsub.mesh_n, 6);
        assert_eq!(c.gossipsub.mesh_n_low, 4);
        assert_eq!(c.gossipsub.mesh_n_high, 12);
        assert_eq!(c.gossipsub.duplicate_cache_ms, 120_000);
        assert_eq!(c.mldsa_level, 87);
        assert_eq!(c.limits.max_connections, 100);
        assert!(c.check().is_empty());
    }

    #[test]
    fn unknown_field_is_named_with_its_line() {
        let d = parse("role = \"honest\"\n[gossipsub]\nmesh_m = 3\n").expect_err("unknown");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].line, 3, "{}", d[0]);
        assert_eq!(d[0].field, "gossipsub.mesh_m", "{}", d[0]);
        assert!(d[0].to_string().starts_with("cfg.toml:3:1: "), "{}", d[0]);
    }

    #[test]
    fn check_problems_are_located_at_the_value() {
        let d = parse("mldsa_level = 87\n[gossipsub]\nmesh_n = 20\n").expect_err("bad mesh");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].line, d[0].column), (3, 10), "{}", d[0]);
        assert_eq!(d[0].field, "gossipsub.mesh_n");
    }

    #[test]
    fn only_a_non_honest_role_is_dormant() {
        let d = parse("dormant = true\n").expect_err("honest");
        assert_eq!((d[0].field.as_str(), d[0].line), ("dormant", 1), "{}", d[0]);
        let c = parse("role = \"equivocation\"\ndormant = true\n").expect("valid");
        assert!(c.dormant);
        assert!(
            !toml::to_string(&NodeConfig::default())
                .expect("serialises")
                .contains("dormant")
        );
    }

    #[test]
    fn libp2p_rules_are_checked_here() {
        assert_eq!(
            fields("[gossipsub]\nip_colocation_factor_weight = 5.0\n"),
            ["gossipsub.ip_colocation_factor_weight"]
        );
        assert_eq!(
            fields("[gossipsub]\naccept_px_threshold = -1.0\n"),
            ["gossipsub.accept_px_threshold"]
        );
        assert_eq!(
            fields("[gossipsub]\ninvalid_message_deliveries_weight = 1.0\n"),
            ["gossipsub.invalid_message_deliveries_weight"]
        );
        assert_eq!(
            fields("[gossipsub]\nmesh_outbound_min = 5\nmesh_n = 12\nmesh_n_high = 12\n"),
            ["gossipsub.mesh_outbound_min"]
        );
        assert_eq!(
            fields("[gossipsub]\nip_colocation_factor_threshold = 0.5\n"),
            ["gossipsub.ip_colocation_factor_threshold"]
        );
    }

    #[test]
    fn every_role_is_read_by_its_name() {
        for role in Role::ALL {
            let c = parse(&format!("role = \"{}\"", role.name())).expect("a role");
            assert_eq!(c.role, role);
        }
    }

    #[test]
    fn sybil_identities_are_bounded_and_written_only_when_set() {
        assert_eq!(
            parse("").expect("valid").sybil_identities,
            DEFAULT_SYBIL_IDENTITIES
        );
        assert_eq!(
            parse("sybil_identities = 0")
                .expect("valid")
                .sybil_identities,
            0
        );
        assert_eq!(fields("sybil_identities = 33"), ["sybil_identities"]);
        let c = NodeConfig {
            sybil_identities: 3,
            ..NodeConfig::default()
        };
        let text = toml::to_string(&c).expect("renders");
        assert_eq!(parse(&text).expect("reads back"), c);
        assert!(
            !toml::to_string(&NodeConfig::default())
                .expect("renders")
                .contains("sybil")
        );
    }

    #[test]
    fn bad_role_and_level_are_errors() {
        assert!(parse("role = \"evil\"").is_err());
        assert_eq!(fields("mldsa_level = 99"), ["mldsa_level"]);
    }

    #[test]
    fn every_number_is_bounded() {
        assert_eq!(
            fields("[traffic]\nrate_per_sec = 1e-300\n"),
            ["traffic.rate_per_sec"]
        );
        assert_eq!(
            fields("[traffic]\nrate_per_sec = 1e308\n"),
            ["traffic.rate_per_sec"]
        );
        assert_eq!(
            fields("[traffic]\nrate_per_sec = nan\n"),
            ["traffic.rate_per_sec"]
        );
        assert_eq!(
            fields("[traffic]\nrate_per_sec = 1.0\ndelay_ms = 18446744073709551615\n"),
            ["traffic.delay_ms"]
        );
        assert_eq!(fields("ping_interval_ms = 0"), ["ping_interval_ms"]);
        assert_eq!(fields("time_scale = 0.5"), ["time_scale"]);
        assert_eq!(fields("time_scale = 1e9"), ["time_scale"]);
        assert_eq!(
            parse("time_scale = 4.5")
                .expect("valid")
                .time_scale
                .factor(),
            4.5
        );
        assert_eq!(
            fields("[gossipsub]\nheartbeat_ms = 1\n"),
            ["gossipsub.heartbeat_ms"]
        );
        assert_eq!(
            fields("[limits]\nmax_connections = 4000000000\n"),
            ["limits.max_connections"]
        );
        assert_eq!(
            fields("[limits]\ninbound_rate_per_sec = 0.0\n"),
            ["limits.inbound_rate_per_sec"]
        );
        assert_eq!(
            parse("").expect("valid").limits.peer_bytes_per_sec,
            PEER_BYTES_PER_SEC_LIMIT
        );
        assert_eq!(
            fields("[limits]\npeer_bytes_per_sec = 0\n"),
            ["limits.peer_bytes_per_sec"]
        );
        assert_eq!(
            fields("[limits]\npeer_bytes_per_sec = 999\n"),
            ["limits.peer_bytes_per_sec"]
        );
        assert_eq!(
            fields("[limits]\npeer_bytes_per_sec = 1000000001\n"),
            ["limits.peer_bytes_per_sec"]
        );
        assert_eq!(
            parse("[limits]\npeer_bytes_per_sec = 1000\n")
                .expect("the lowest")
                .limits
                .peer_bytes_per_sec,
            1000
        );
    }

    #[test]
    fn addresses_must_name_a_transport() {
        assert_eq!(fields("bootstrap = [\"/ip4/127.0.0.1\"]"), ["bootstrap[0]"]);
        assert_eq!(fields("listen = [\"tcp://x\"]"), ["listen[0]"]);
        assert!(check_dial_address("/ip4/10.0.0.1/tcp/4001").is_ok());
        assert!(check_dial_address("/ip4/10.0.0.1/udp/4001/quic-v1").is_ok());
        assert!(check_dial_address("/ip4/10.0.0.1/udp/4001").is_err());
        assert!(check_dial_address("/ip4/10.0.0.1/tcp/99999").is_err());
    }

    #[test]
    fn events_file_is_optional_and_checked() {
        assert_eq!(parse("").expect("valid").events, None);
        let c = parse("events = \"/events/honest-7.jsonl\"\n").expect("valid");
        assert_eq!(c.events, Some(PathBuf::from("/events/honest-7.jsonl")));
        let text = toml::to_string(&c).expect("renders");
        assert_eq!(parse(&text).expect("reads back"), c);
        assert!(
            !toml::to_string(&NodeConfig::default())
                .expect("renders")
                .contains("events")
        );
        assert_eq!(fields("events = \"\""), ["events"]);
        assert_eq!(fields("events = \"/events/\""), ["events"]);
        assert_eq!(fields("events = \"a\\u0007b\""), ["events"]);
        let long = format!("events = \"/{}\"", "x".repeat(MAX_EVENTS_PATH_BYTES));
        assert_eq!(fields(&long), ["events"]);
    }

    /// Every `*_ms` field of the whole configuration but the one absolute instant is scaled
    /// by `dilated`, the rate divided, nothing else changed: a new timer field that
    /// `dilated` forgets fails here.
    #[test]
    fn dilation_scales_every_period_and_the_rate() {
        let c = parse(
            "time_scale = 4.0\n[traffic]\nrate_per_sec = 2.0\ndelay_ms = 250\nstart_at_ms = 1000\n\
             [dht]\nlookups_per_min = 60.0\nprovides_per_min = 6.0\n",
        )
        .expect("valid");
        fn walk(path: &str, a: &toml::Value, b: &toml::Value, scaled: &mut usize) {
            match (a, b) {
                (toml::Value::Table(ta), toml::Value::Table(tb)) => {
                    assert_eq!(ta.len(), tb.len(), "{path}");
                    for (key, va) in ta {
                        walk(&format!("{path}.{key}"), va, &tb[key], scaled);
                    }
                }
                (toml::Value::Integer(x), toml::Value::Integer(y))
                    if path.ends_with("_ms") && !path.ends_with("start_at_ms") =>
                {
                    *scaled += 1;
                    assert_eq!(*y, x * 4, "{path} is a period: scaled");
                }
                (toml::Value::Float(x), toml::Value::Float(y))
                    if path.ends_with("rate_per_sec") || path.ends_with("_per_min") =>
                {
                    assert_eq!(*y, x / 4.0, "{path} is a rate: divided");
                }
                (toml::Value::Integer(x), toml::Value::Integer(y))
                    if path.ends_with("_per_sec") =>
                {
                    assert_eq!(*y, x / 4, "{path} is a rate: divided");
                }
                _ => assert_eq!(a, b, "{path} unchanged"),
            }
        }
        let render = |c: &NodeConfig| toml::Value::try_from(c).expect("renders");
        let mut scaled = 0;
        walk("", &render(&c), &render(&c.dilated()), &mut scaled);
        assert_eq!(
            scaled, 11,
            "snapshot, ping, traffic delay, 7 gossipsub durations and AutoNAT's boot delay"
        );
        let real = parse("").expect("valid");
        assert_eq!(real.dilated(), real);
    }

    #[test]
    fn traffic_needs_a_positive_rate_and_runs_until_stopped_without_a_count() {
        let c = parse("[traffic]\nrate_per_sec = 1.0\n").expect("no count");
        assert_eq!(c.traffic.expect("traffic").count, None);
        assert_eq!(
            fields("[traffic]\nrate_per_sec = 0.0\ncount = 1\n"),
            ["traffic.rate_per_sec"]
        );
    }

    #[test]
    fn security_is_kebab_case_and_pq_only_refuses_quic() {
        assert_eq!(parse("").expect("valid").security, Security::Hybrid);
        let c =
            parse("security = \"pq-only\"\nlisten = [\"/ip4/0.0.0.0/tcp/4001\"]\n").expect("valid");
        assert_eq!(c.security, Security::PqOnly);
        assert!(parse("security = \"quantum\"").is_err());
        assert_eq!(
            fields("security = \"pq-only\"\n"),
            ["security"],
            "the default listen list (not in the file) holds a QUIC address"
        );
        assert_eq!(
            fields(
                "security = \"pq-only\"\nlisten = [\"/ip4/0.0.0.0/tcp/1\"]\nbootstrap = [\"/ip4/10.0.0.1/udp/1/quic-v1\"]\n"
            ),
            ["bootstrap[0]"]
        );
        assert!(parse("security = \"classical\"\n").is_ok());
    }

    #[test]
    fn the_nat_table_is_typed_and_checked() {
        let c = parse(
            "[limits]\nmax_connections_per_peer = 2\n[nat]\nrelay = \"client\"\nautonat = true\n\
             relays = [\"/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN\"]\n",
        )
        .expect("valid");
        assert_eq!(c.nat.relay, RelayMode::Client);
        assert!(c.nat.autonat && !c.nat.hole_punch);
        assert_eq!(parse("").expect("valid").nat, NatConfig::default());
        assert!(parse("[nat]\nrelay = \"sometimes\"\n").is_err());
        assert_eq!(
            fields("[nat]\nhole_punching = true\n"),
            ["nat.hole_punching"]
        );
        assert_eq!(fields("[nat]\nautonat = true\n"), ["nat.autonat"]);
    }

    #[test]
    fn the_dht_table_is_off_by_default_and_bounded() {
        let c = parse("").expect("valid");
        assert!(!c.dht.is_on());
        let c = parse("[dht]\nlookups_per_min = 60.0\n").expect("valid");
        assert!(c.dht.is_on());
        assert_eq!(
            fields("[dht]\nlookups_per_min = 601.0\nprovides_per_min = -1.0\n"),
            ["dht.lookups_per_min", "dht.provides_per_min"]
        );
        assert_eq!(
            fields("[dht]\nlookups_per_min = nan\n"),
            ["dht.lookups_per_min"]
        );
        let d = parse("[dht]\nprovides_per_min = 1e9\n").expect_err("too fast");
        assert_eq!((d[0].line, d[0].column), (2, 20), "{}", d[0]);
        assert!(parse("[dht]\nlookups = 1.0\n").is_err());
    }
}
