//! The seeded plan of a run: which node gets which name, role, address, bootstrap peers
//! and publish schedule. Pure: the same scenario, seed and subnet give the same plan.
//!
//! Topology: node `i` (global index, in group order) has host offset `i + 2` in the run's
//! /16 subnet (`.0.1` is the gateway). Every node but node 0 dials up to
//! [`BOOTSTRAP_PEERS`] distinct nodes among the nodes *before* it (the least-dialled ones,
//! drawn by the seeded RNG among equals), so that starting containers in index order finds
//! its bootstrap peers up; the graph is connected by construction. Dial addresses use the
//! dialing node's group transport.
//!
//! Traffic: the first `publishers` honest nodes share the scenario's rate evenly and
//! publish until stopped (the measurement window, not a count, bounds the sample);
//! publisher `k` starts `k / rate` seconds after the common start so that publishes
//! interleave evenly. They are the first nodes to start, so the topic carries its whole
//! rate while the rest of a large testnet is still starting: a mesh formed before the
//! traffic would fall to the spec's mesh-delivery penalty (P3: fewer than 10 deliveries
//! 10 s after joining) and be pruned. Every node with a non-honest role publishes too (that
//! is its attack), at the same per-publisher rate and count.

mod check;

pub use check::{load, node_problem, parse};

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Serialize, Serializer};

use crate::error::Error;
use crate::scenario::profile::{LinkProfile, ShaperChoice};
use crate::scenario::units::duration_str;
use crate::scenario::{GossipsubSettings, Group, Role, Scenario, Targets, Traffic, Transport};
use lab_config::{NodeConfig, TrafficConfig};

/// Testnets up to this many nodes ping every 2 s, larger ones every 15 s.
pub const SMALL_TESTNET: usize = 20;
/// Random earlier nodes each node dials.
pub const BOOTSTRAP_PEERS: usize = 6;
/// Host offset of node 0 in the subnet (offset 1 is the gateway).
pub const FIRST_HOST_OFFSET: u32 = 2;

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

/// The whole run, planned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The scenario's name.
    pub scenario: String,
    /// The seed everything was drawn from.
    pub seed: u64,
    /// Measured run length, from the moment every node is meshed.
    #[serde(with = "duration_str")]
    pub duration: Duration,
    /// Time after every node is meshed before measuring starts, counted in `duration`
    /// (traffic already flows during it).
    #[serde(with = "duration_str")]
    pub warmup: Duration,
    /// The measurement window that follows the warm-up: the messages published in it are
    /// the run's sample (`traffic.count / rate`, at most `duration − warmup`).
    #[serde(with = "duration_str")]
    pub window: Duration,
    /// The run's subnet.
    pub subnet: Subnet,
    /// The gossipsub topic.
    pub topic: String,
    /// The profile file's name, if the link came from one.
    pub link_profile: Option<String>,
    /// The link impairment applied to every node's egress.
    pub link: LinkProfile,
    /// Which shaper back end the scenario asks for.
    pub shaper: ShaperChoice,
    /// The scenario's targets.
    pub targets: Targets,
    /// The scenario's whole traffic (all honest publishers together).
    pub traffic: Traffic,
    /// Gossipsub settings of every node (the scenario's over the spec's defaults).
    pub gossipsub: GossipsubSettings,
    /// The scenario's groups.
    pub groups: Vec<Group>,
    /// Every node, in index order.
    pub nodes: Vec<NodePlan>,
}

/// One node of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodePlan {
    /// Node and container name, `<group>-<i>`.
    pub name: String,
    /// Its group's id.
    pub group: String,
    /// Its role.
    pub role: Role,
    /// Global index (0-based, in group order).
    pub index: usize,
    /// Index within its group (the `<i>` of its name).
    pub group_index: usize,
    /// Its address in the run's subnet.
    pub ip: Ipv4Addr,
    /// The transport it dials with.
    pub transport: Transport,
    /// ML-DSA parameter set.
    pub mldsa_level: u16,
    /// Whether it publishes (honest publishers and every non-honest node).
    pub publishes: bool,
    /// Its publish schedule, when it publishes.
    pub traffic: Option<NodeTraffic>,
    /// Multiaddrs it dials at start.
    pub bootstrap: Vec<String>,
    /// The nodes (indices) behind `bootstrap`, for [`Plan::in_subnet`].
    #[serde(skip)]
    bootstrap_peers: Vec<usize>,
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
    topic: String,
    /// Gossipsub settings (repeated from the scenario for the node config).
    #[serde(skip)]
    gossipsub: GossipsubSettings,
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
        NodeConfig {
            name: Some(self.name.clone()),
            role: self.role,
            bootstrap: self.bootstrap.clone(),
            mldsa_level: self.mldsa_level,
            mdns: false,
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
            ..NodeConfig::default()
        }
    }
}

impl Plan {
    /// The same plan in another subnet: every node keeps its host offset, and its
    /// bootstrap addresses follow its peers.
    pub fn in_subnet(mut self, subnet: Subnet) -> Plan {
        self.subnet = subnet;
        for n in &mut self.nodes {
            let [_, _, hi, lo] = n.ip.octets();
            n.ip = subnet.host(u32::from(u16::from_be_bytes([hi, lo])));
        }
        let ips: Vec<Ipv4Addr> = self.nodes.iter().map(|n| n.ip).collect();
        for n in &mut self.nodes {
            let transport = n.transport;
            n.bootstrap = n
                .bootstrap_peers
                .iter()
                .map(|&j| transport.multiaddr(ips[j]))
                .collect();
        }
        self
    }

    /// Whether the run shapes links at all.
    pub fn shapes(&self) -> bool {
        self.shaper != ShaperChoice::None && !self.link.is_none()
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodePlan> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Honest nodes, in index order.
    pub fn honest_nodes(&self) -> impl Iterator<Item = &NodePlan> {
        self.nodes.iter().filter(|n| n.is_honest())
    }

    /// Number of honest nodes.
    pub fn honest_count(&self) -> usize {
        self.honest_nodes().count()
    }

    /// The plan as a TOML document (what `orchestrator plan FILE` prints).
    pub fn render(&self) -> Result<String, Error> {
        toml::to_string(self).map_err(|e| Error::Encode {
            what: "the plan".to_string(),
            message: e.to_string(),
        })
    }
}

/// Plans a run of `s` in `subnet`. Pure and deterministic in (`s`, `subnet`).
pub fn plan(s: &Scenario, subnet: Subnet) -> Plan {
    let mut rng = StdRng::seed_from_u64(s.seed);

    let total = s.node_count();
    let small = total <= SMALL_TESTNET;
    let mut nodes = Vec::with_capacity(total);
    for g in &s.groups {
        for i in 0..g.count {
            let index = nodes.len();
            nodes.push(NodePlan {
                name: format!("{}-{i}", g.id),
                group: g.id.clone(),
                role: g.role,
                index,
                group_index: i,
                ip: subnet.host(FIRST_HOST_OFFSET + u32::try_from(index).unwrap_or(u32::MAX)),
                transport: g.transport,
                mldsa_level: g.mldsa_level,
                publishes: false,
                traffic: None,
                bootstrap: Vec::new(),
                bootstrap_peers: Vec::new(),
                ping_interval_ms: if small { 2_000 } else { 15_000 },
                kad_learn: small,
                score_snapshot_ms: if small { 1_000 } else { 2_000 },
                topic: s.traffic.topic.clone(),
                gossipsub: s.gossipsub.clone(),
            });
        }
    }

    // Publishers: the first honest nodes (see the module documentation).
    let p = s.traffic.publishers.min(s.honest_count());
    let chosen: Vec<usize> = nodes
        .iter()
        .filter(|n| n.is_honest())
        .map(|n| n.index)
        .take(p)
        .collect();
    let per_rate = if p > 0 {
        s.traffic.rate_per_sec / p as f64
    } else {
        0.0
    };
    let stagger_ms = |k: usize| -> u64 {
        if s.traffic.rate_per_sec > 0.0 {
            (k as f64 * 1000.0 / s.traffic.rate_per_sec).round() as u64
        } else {
            0
        }
    };
    for (k, &i) in chosen.iter().enumerate() {
        nodes[i].publishes = true;
        nodes[i].traffic = Some(NodeTraffic {
            offset_ms: stagger_ms(k),
            rate_per_sec: per_rate,
            size: s.traffic.size,
        });
    }
    // Attackers publish at the per-publisher rate too.
    if p > 0 {
        for (k, n) in nodes.iter_mut().filter(|n| !n.is_honest()).enumerate() {
            n.publishes = true;
            n.traffic = Some(NodeTraffic {
                offset_ms: stagger_ms(k % p),
                rate_per_sec: per_rate,
                size: s.traffic.size,
            });
        }
    }

    // Bootstrap: up to BOOTSTRAP_PEERS distinct earlier nodes, those with the fewest
    // inbound bootstrap links so far, each count blurred by a random amount in [0, 1.5) so
    // that the seed shapes the graph (with exact counts it hardly does). Every node ends with about
    // BOOTSTRAP_PEERS links each way, as in a random regular graph. Uniformly random earlier
    // nodes gave node 0 about 6·ln(n) inbound links and the last nodes almost none: at 100
    // nodes the late nodes' few neighbours had full meshes (mesh_n_high) and pruned their
    // GRAFTs for a minute at a time. No hub either: with every node dialling node 0, node
    // 0's pending-connection limit (spec §4.4: 10) refused most of a 100-node start.
    let mut inbound = vec![0usize; nodes.len()];
    for (i, node) in nodes.iter_mut().enumerate().skip(1) {
        let k = BOOTSTRAP_PEERS.min(i);
        let mut candidates: Vec<(f64, usize)> = (0..i)
            .map(|j| (inbound[j] as f64 + 1.5 * rng.random::<f64>(), j))
            .collect();
        candidates.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut targets: Vec<usize> = candidates.iter().take(k).map(|c| c.1).collect();
        targets.sort_unstable();
        for &j in &targets {
            inbound[j] += 1;
        }
        node.bootstrap_peers = targets;
    }

    Plan {
        scenario: s.name.clone(),
        seed: s.seed,
        duration: s.duration,
        warmup: s.warmup,
        window: measurement_window(s),
        subnet,
        topic: s.traffic.topic.clone(),
        link_profile: s.network.profile.clone(),
        link: s.network.link.clone(),
        shaper: s.network.shaper,
        targets: s.targets.clone(),
        traffic: s.traffic.clone(),
        gossipsub: s.gossipsub.clone(),
        groups: s.groups.clone(),
        nodes,
    }
    .in_subnet(subnet)
}

/// The measurement window: long enough for `traffic.count` messages at the scenario's
/// rate, else the whole `duration − warmup`.
fn measurement_window(s: &Scenario) -> Duration {
    let rest = s.duration.saturating_sub(s.warmup);
    if s.traffic.rate_per_sec > 0.0 && s.traffic.count > 0 {
        Duration::from_secs_f64(s.traffic.count as f64 / s.traffic.rate_per_sec).min(rest)
    } else {
        rest
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn scenario(seed: u64) -> Scenario {
        let text = format!(
            r#"
[scenario]
name = "t"
seed = {seed}
duration = "30s"
warmup = "10s"

[[groups]]
id = "honest"
count = 20

[[groups]]
id = "evil"
count = 3
role = "invalid-signature"
transport = "quic"

[traffic]
publishers = 4
rate = "8/s"
size = "1KiB"
count = 10

[gossipsub]
mesh_n = 5
"#
        );
        crate::scenario::parse(Path::new("t.toml"), &text, Path::new("/nonexistent"))
            .expect("valid scenario")
    }

    #[test]
    fn same_seed_same_plan_other_seed_other_plan() {
        let a = plan(&scenario(7), Subnet::DEFAULT);
        let b = plan(&scenario(7), Subnet::DEFAULT);
        let c = plan(&scenario(8), Subnet::DEFAULT);
        assert_eq!(a, b);
        assert_eq!(a.render().expect("renders"), b.render().expect("renders"));
        assert_ne!(a.nodes, c.nodes);
    }

    #[test]
    fn names_addresses_and_roles() {
        let p = plan(&scenario(1), Subnet::new(10, 80));
        assert_eq!(p.nodes.len(), 23);
        assert_eq!(p.nodes[0].name, "honest-0");
        assert_eq!(p.nodes[0].ip, Ipv4Addr::new(10, 80, 0, 2));
        assert_eq!(p.nodes[20].name, "evil-0");
        assert_eq!(p.nodes[20].group_index, 0);
        assert_eq!(p.nodes[20].ip, Ipv4Addr::new(10, 80, 0, 22));
        assert_eq!(p.nodes[20].role, Role::InvalidSignature);
        assert_eq!(p.honest_count(), 20);
        assert_eq!(Subnet::new(10, 80).host(300), Ipv4Addr::new(10, 80, 1, 44));
        assert_eq!(Subnet::new(10, 80).gateway(), Ipv4Addr::new(10, 80, 0, 1));
        assert_eq!(Subnet::new(10, 80).cidr(), "10.80.0.0/16");
    }

    #[test]
    fn publishers_split_the_rate_and_the_window_holds_the_count() {
        let p = plan(&scenario(3), Subnet::DEFAULT);
        let honest_pubs: Vec<&NodePlan> = p.honest_nodes().filter(|n| n.publishes).collect();
        assert_eq!(honest_pubs.len(), 4);
        // 10 messages at 8/s: a 1.25 s window, within duration − warmup.
        assert_eq!(p.window, Duration::from_millis(1250));
        let offsets: Vec<u64> = honest_pubs
            .iter()
            .map(|n| n.traffic.as_ref().expect("traffic").offset_ms)
            .collect();
        assert_eq!(offsets, [0, 125, 250, 375]);
        for n in &honest_pubs {
            assert_eq!(n.traffic.as_ref().expect("traffic").rate_per_sec, 2.0);
        }
        // Every attacker publishes; honest non-publishers do not.
        assert!(
            p.nodes
                .iter()
                .filter(|n| !n.is_honest())
                .all(|n| n.publishes)
        );
        assert_eq!(p.nodes.iter().filter(|n| n.traffic.is_some()).count(), 7);
    }

    #[test]
    fn bootstrap_is_distinct_earlier_nodes_without_a_hub() {
        let p = plan(&scenario(5), Subnet::DEFAULT);
        assert!(p.nodes[0].bootstrap.is_empty());
        assert_eq!(p.nodes[1].bootstrap, ["/ip4/10.77.0.2/tcp/4001"]);
        assert_eq!(p.nodes[2].bootstrap.len(), 2);
        // No hub: every node is dialled by at most two more than the bootstrap count.
        let mut inbound = vec![0usize; p.nodes.len()];
        for n in &p.nodes[BOOTSTRAP_PEERS..] {
            assert_eq!(n.bootstrap.len(), BOOTSTRAP_PEERS, "{}", n.name);
            let mut seen = n.bootstrap.clone();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), n.bootstrap.len(), "{}: duplicates", n.name);
            for addr in &n.bootstrap {
                let target = p
                    .nodes
                    .iter()
                    .find(|m| addr.contains(&format!("/{}/", m.ip)))
                    .expect("bootstrap names a node");
                assert!(
                    target.index < n.index,
                    "{} dials later {}",
                    n.name,
                    target.name
                );
                inbound[target.index] += 1;
            }
        }
        let most = inbound.iter().max().copied().unwrap_or_default();
        assert!(most <= BOOTSTRAP_PEERS + 2, "a node is dialled by {most}");
        let evil = &p.nodes[21];
        assert!(
            evil.bootstrap
                .iter()
                .all(|a| a.ends_with("/udp/4001/quic-v1"))
        );
    }

    #[test]
    fn node_config_follows_the_node_contract() {
        let p = plan(&scenario(9), Subnet::DEFAULT);
        let publisher = p
            .nodes
            .iter()
            .find(|n| n.is_honest() && n.publishes)
            .expect("a publisher");
        let text = publisher.node_config_toml(None).expect("renders");
        let started = publisher
            .node_config_toml(Some(1_700_000_000_000))
            .expect("renders");
        assert!(started.contains("start_at_ms = 1700000000000"), "{started}");
        let doc: toml::Table = text.parse().expect("valid toml");
        assert_eq!(doc["name"].as_str(), Some(publisher.name.as_str()));
        assert_eq!(doc["role"].as_str(), Some("honest"));
        assert_eq!(doc["mldsa_level"].as_integer(), Some(87));
        assert_eq!(doc["mdns"].as_bool(), Some(false));
        assert_eq!(doc["topic"].as_str(), Some(crate::scenario::DEFAULT_TOPIC));
        assert_eq!(
            doc["bootstrap"].as_array().map(Vec::len),
            Some(publisher.bootstrap.len())
        );
        let g = doc["gossipsub"].as_table().expect("gossipsub table");
        assert_eq!(g["mesh_n"].as_integer(), Some(5));
        // What the node reads back is what the plan meant.
        let read = NodeConfig::from_toml(&started, Path::new("plan")).expect("the node accepts it");
        assert_eq!(read, publisher.node_config(Some(1_700_000_000_000)));
        let t = doc["traffic"].as_table().expect("traffic table");
        let own = publisher.traffic.as_ref().expect("traffic");
        assert!(
            !t.contains_key("start_at_ms"),
            "traffic starts on the runner's signal"
        );
        assert_eq!(t["delay_ms"].as_integer(), Some(own.offset_ms as i64));
        assert_eq!(t["rate_per_sec"].as_float(), Some(2.0));
        assert_eq!(t["size"].as_integer(), Some(1024));
        assert!(
            !t.contains_key("count"),
            "traffic runs until the node stops"
        );

        let quiet = p
            .nodes
            .iter()
            .find(|n| !n.publishes)
            .expect("a non-publisher");
        let doc: toml::Table = quiet
            .node_config_toml(None)
            .expect("renders")
            .parse()
            .expect("valid toml");
        assert!(!doc.contains_key("traffic"));

        let attacker = &p.nodes[20];
        let doc: toml::Table = attacker
            .node_config_toml(None)
            .expect("renders")
            .parse()
            .expect("valid toml");
        assert_eq!(doc["role"].as_str(), Some("invalid-signature"));
        assert!(doc.contains_key("traffic"));
    }

    #[test]
    fn plan_renders_as_toml() {
        let p = plan(&scenario(1), Subnet::DEFAULT);
        let text = p.render().expect("renders");
        let doc: toml::Table = text.parse().expect("valid toml");
        assert_eq!(doc["subnet"].as_str(), Some("10.77.0.0/16"));
        assert_eq!(doc["duration"].as_str(), Some("30s"));
        assert_eq!(doc["nodes"].as_array().map(Vec::len), Some(23));
    }
}
