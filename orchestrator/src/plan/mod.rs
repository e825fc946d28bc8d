//! The seeded plan of a run: which node gets which name, role, address, bootstrap peers
//! and publish schedule. Pure: the same scenario, seed and subnet give the same plan.
//!
//! Addresses: node `i` (global index, in group order) has host offset `i + 2` in the run's
//! /16 subnet (`.0.1` is the gateway). A run of more than [`NODES_PER_BRIDGE`] nodes is
//! spread over several bridge networks, in blocks, each on a /20 of the /16 (see
//! `bridges`); [`NodePlan::network`] is a node's bridge. Dial addresses use the dialing
//! node's group transport.
//!
//! Topology: the scenario's `network.topology` (default `random`: a random regular graph
//! of degree [`DEGREE`]) decides whom each node dials at start; each link is dialled by one
//! side, mostly the later node, so that its peer is already up, with at most
//! [`MAX_INBOUND_DIALS`] inbound dials a node (see `topology`). [`Plan::graph`] is the
//! graph.
//!
//! NATs (`nat`): NATed nodes sit behind routers ([`Plan::routers`]) on private networks of
//! the run's NAT /16 ([`Subnet::nat`]), routers take node slots on the run's network after
//! the nodes; in a scenario with NATs every node's identity is derived from a seed (its
//! peer id is in the plan), public honest nodes relay, and the drawn graph's links are
//! dialled so that each can work (a public node never dials a NATed one; NATed pairs dial
//! through a relay).
//!
//! Traffic: the first `publishers` honest nodes share the scenario's rate evenly and
//! publish until stopped (the measurement window, not a count, bounds the sample);
//! publisher `k` starts `k / rate` seconds after the common start so that publishes
//! interleave evenly. They are the first nodes to start, so the topic carries its whole
//! rate while the rest of a large testnet is still starting: a mesh formed before the
//! traffic would fall to the spec's mesh-delivery penalty (P3: fewer than 10 deliveries
//! 10 s after joining) and be pruned. Every node with a non-honest role publishes too (that
//! is its attack), at the same per-publisher rate and count.

mod bridges;
mod check;
mod eclipse;
pub mod nat;
mod node;
mod regions;
mod subnet;
mod topology;
mod traffic;

pub use bridges::{Bridges, MAX_BRIDGES, NODES_PER_BRIDGE};
pub use check::{load, node_problem, parse};
pub use nat::{NodeNat, RouterPlan};
pub use node::{NodePlan, NodeTraffic};
pub use regions::Regions;
pub use subnet::Subnet;
pub use topology::{DEGREE, MAX_INBOUND_DIALS, REWIRE};

use std::net::Ipv4Addr;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use crate::analysis::graph::Graph;
use crate::error::Error;
use crate::scenario::profile::{LinkProfile, ShaperChoice};
use crate::scenario::timeline::Action;
use crate::scenario::units::duration_str;
use crate::scenario::{
    CpuQuota, Discovery, GossipsubSettings, Group, Guard, Scenario, Targets, Topology, Traffic,
};
use lab_config::TimeScale;

/// Testnets up to this many nodes ping every 2 s, larger ones every 15 s.
pub const SMALL_TESTNET: usize = 20;
/// Earlier nodes each node dials in the `banded` topology (half of [`DEGREE`]).
pub const BOOTSTRAP_PEERS: usize = 6;
/// Host offset of a bridge's first node in its subnet (offset 1 is the gateway).
pub const FIRST_HOST_OFFSET: u32 = 2;

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
    /// How many real seconds one virtual second of the run lasts (the scenario's
    /// `time_scale`, `auto` resolved for this host); every duration of the plan is virtual.
    pub time_scale: TimeScale,
    /// The scenario's `time_scale` as written (`auto`, or the number).
    pub time_scale_asked: String,
    /// Cores each node has per virtual second (the scenario's `cpu_per_node`).
    pub cpu_per_node: f64,
    /// Each node container's CPU quota, `cpu_per_node / time_scale` cores; none when a node
    /// runs unlimited (`k = 1`, a core or more per node).
    pub cpu_quota: Option<CpuQuota>,
    /// The run's subnet.
    pub subnet: Subnet,
    /// How the nodes are spread over bridge networks in it.
    pub bridges: Bridges,
    /// The gossipsub topic.
    pub topic: String,
    /// The profile file's name, if the link came from one.
    pub link_profile: Option<String>,
    /// The link impairment applied to every node's egress.
    pub link: LinkProfile,
    /// With a region matrix, the nodes' regions and the links between them (`link` is
    /// then no impairment).
    pub regions: Option<Regions>,
    /// Which shaper back end the scenario asks for.
    pub shaper: ShaperChoice,
    /// The shape of the connection graph.
    pub topology: Topology,
    /// The scenario's targets.
    pub targets: Targets,
    /// The scenario's guard against distorted runs.
    pub guard: Guard,
    /// mDNS and the nodes' scheduled DHT queries.
    pub discovery: Discovery,
    /// The faults injected during the window.
    pub timeline: crate::scenario::Timeline,
    /// The scenario's whole traffic (all honest publishers together).
    pub traffic: Traffic,
    /// Gossipsub settings of every node (the scenario's over the spec's defaults).
    pub gossipsub: GossipsubSettings,
    /// The scenario's groups.
    pub groups: Vec<Group>,
    /// Every node, in index order.
    pub nodes: Vec<NodePlan>,
    /// The NAT routers, in index order (none without NATs; see `nat`).
    pub routers: Vec<RouterPlan>,
}

impl Plan {
    /// Messages a (virtual) second every node handles: the traffic's rate and what the
    /// attackers' roles add ([`crate::scenario::Scenario::topic_rate`]).
    pub fn topic_rate(&self) -> f64 {
        self.traffic.rate_per_sec
            + self
                .nodes
                .iter()
                .map(|n| n.role.extra_topic_rate())
                .sum::<f64>()
    }

    /// The same plan in another subnet: every node keeps its bridge and host offset, and
    /// its bootstrap addresses follow its peers.
    pub fn in_subnet(mut self, subnet: Subnet) -> Plan {
        self.subnet = subnet;
        for n in &mut self.nodes {
            let [_, _, hi, lo] = n.ip.octets();
            n.ip = subnet.host(u32::from(u16::from_be_bytes([hi, lo])));
        }
        if !self.routers.is_empty() {
            nat::place(&mut self.nodes, &mut self.routers, subnet, self.bridges);
            return self.with_nat_addresses();
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

    /// Every node's dial and relay addresses in a scenario with NATs (see `nat`).
    fn with_nat_addresses(mut self) -> Plan {
        let nodes = &self.nodes;
        let dials: Vec<Vec<String>> = nodes
            .iter()
            .map(|n| {
                n.bootstrap_peers
                    .iter()
                    .map(|&j| nat::dial_address(nodes, n.index, j))
                    .collect()
            })
            .collect();
        let tables: Vec<_> = nodes
            .iter()
            .map(|n| {
                let relays = n
                    .relays
                    .iter()
                    .map(|&r| nat::relay_address(&nodes[r]))
                    .collect();
                nat::nat_table(n, relays)
            })
            .collect();
        for ((n, dial), table) in self.nodes.iter_mut().zip(dials).zip(tables) {
            n.bootstrap = dial;
            n.nat_table = Some(table);
        }
        self
    }

    /// Whether any node sits behind a NAT.
    pub fn has_nat(&self) -> bool {
        !self.routers.is_empty()
    }

    /// The planned connection graph: a link between every node and each of its
    /// bootstrap peers (node indices).
    pub fn graph(&self) -> Graph {
        Graph::new(self.nodes.len(), self.dials())
    }

    /// Every planned dial, as (dialling node, dialled node).
    pub fn dials(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.nodes
            .iter()
            .flat_map(|n| n.bootstrap_peers.iter().map(move |&j| (n.index, j)))
    }

    /// Every timeline link change whose shape, in real time at this plan's time scale, the
    /// shaper cannot impose (a delay above 10 s once dilated), in words (the validator saw
    /// virtual times; `auto` chose the scale after it).
    pub fn real_link_problems(&self) -> Vec<String> {
        let k = self.time_scale;
        self.timeline
            .events
            .iter()
            .filter_map(|e| match &e.action {
                Action::Link(l) => {
                    let real = l.shape.dilated(k);
                    (!real.check().is_empty()).then(|| {
                        format!(
                            "the timeline's link change at {}: its delay {} ± {} is {} ± {} at time scale {k}, above the shaper's {} s; lower `delay` or `time_scale`",
                            crate::scenario::units::format_duration(e.at),
                            crate::scenario::units::format_duration(l.shape.delay),
                            crate::scenario::units::format_duration(l.shape.jitter),
                            crate::scenario::units::format_duration(real.delay),
                            crate::scenario::units::format_duration(real.jitter),
                            lab_config::bounds::MAX_LINK_DELAY.as_secs()
                        )
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// Whether the scenario's links are shaped from the start (a link or a region matrix):
    /// what an export gives every node.
    pub fn shapes(&self) -> bool {
        self.shaper != ShaperChoice::None && (self.regions.is_some() || !self.link.is_none())
    }

    /// Whether a run of the plan needs the shaper: its links are shaped, or its timeline
    /// changes them.
    pub fn shapes_in_run(&self) -> bool {
        self.shapes() || (self.shaper != ShaperChoice::None && self.timeline.changes_links())
    }

    /// The one-way delay (virtual) the links impose on a packet from node `from` to node
    /// `to` (indices): the matrix's link between their regions, or the run's one link.
    pub fn one_way(&self, from: usize, to: usize) -> Duration {
        match &self.regions {
            Some(r) => match (r.of_node.get(from), r.of_node.get(to)) {
                (Some(&a), Some(&b)) => r.delay(a, b),
                _ => Duration::ZERO,
            },
            None => self.link.delay,
        }
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

/// Plans a run of `s` in `subnet`, [`NODES_PER_BRIDGE`] nodes a bridge network. Pure and
/// deterministic in (`s`, `subnet`).
pub fn plan(s: &Scenario, subnet: Subnet) -> Plan {
    plan_with_bridges(s, subnet, NODES_PER_BRIDGE)
}

/// [`plan`] with at most `nodes_per_bridge` nodes on a bridge network (tests force a small
/// split with it). Only the nodes' networks and addresses depend on it.
pub fn plan_with_bridges(s: &Scenario, subnet: Subnet, nodes_per_bridge: usize) -> Plan {
    let mut rng = StdRng::seed_from_u64(s.seed);

    let total = s.node_count();
    // Routers take node slots on the run's network, after the nodes.
    let bridges = Bridges::split(total + nat::router_count(&s.groups), nodes_per_bridge);
    let small = total <= SMALL_TESTNET;
    let time_scale = s
        .time_scale
        .resolve(s.identity_count(), s.topic_rate(), host_cores());
    let mut nodes = Vec::with_capacity(total);
    for g in &s.groups {
        for i in 0..g.count {
            let index = nodes.len();
            nodes.push(NodePlan {
                name: format!("{}-{i}", g.id),
                group: g.id.clone(),
                role: g.role,
                dormant: s.timeline.dormant(&g.id),
                index,
                group_index: i,
                network: bridges.of(index),
                ip: subnet.host(bridges.host_offset(index)),
                transport: g.transport,
                security: g.security,
                mldsa_level: g.mldsa_level,
                sybil_identities: g.sybil_identities,
                nat: g.nat,
                nat_place: None,
                peer_id: None,
                identity_seed: None,
                relays: Vec::new(),
                nat_table: None,
                publishes: false,
                traffic: None,
                bootstrap: Vec::new(),
                bootstrap_peers: Vec::new(),
                ping_interval_ms: if small { 2_000 } else { 15_000 },
                // Scheduled DHT queries need a routing table: identify fills it (only
                // buckets with room, so no dial loop; `Behaviour::learn_addresses`).
                kad_learn: small || s.discovery.dht_on(),
                score_snapshot_ms: if small { 1_000 } else { 2_000 },
                topic: s.traffic.topic.clone(),
                gossipsub: s.gossipsub.clone(),
                time_scale,
                discovery: s.discovery.clone(),
            });
        }
    }

    traffic::assign(&mut nodes, s);
    topology::bootstrap(&mut nodes, s.network.topology, &mut rng);
    eclipse::aim(&mut nodes, &s.groups);
    let routers = nat::routers(&mut nodes, &s.groups);
    // A restarted node keeps its identity only if it is derived, not drawn at boot.
    if !routers.is_empty() || s.timeline.restarts() {
        for n in &mut nodes {
            let seed = nat::identity_seed(&s.name, s.seed, &n.name);
            n.peer_id = lab_config::identity::peer_id(&seed)
                .ok()
                .map(|id| id.to_string());
            n.identity_seed = Some(seed);
        }
    }
    if !routers.is_empty() {
        nat::choose_relays(&mut nodes, &mut rng);
        nat::orient(&mut nodes);
    }

    Plan {
        scenario: s.name.clone(),
        seed: s.seed,
        duration: s.duration,
        warmup: s.warmup,
        window: measurement_window(s),
        time_scale,
        time_scale_asked: s.time_scale.to_string(),
        cpu_per_node: s.cpu_per_node,
        cpu_quota: CpuQuota::of(s.cpu_per_node, time_scale),
        subnet,
        bridges,
        topic: s.traffic.topic.clone(),
        link_profile: s.network.profile.clone(),
        link: s.network.link.clone(),
        regions: s.network.matrix.as_ref().and_then(|m| {
            let names = s
                .groups
                .iter()
                .flat_map(|g| std::iter::repeat_n(g.region.as_deref(), g.count));
            Regions::place(m, names)
        }),
        shaper: s.network.shaper,
        topology: s.network.topology,
        targets: s.targets.clone(),
        guard: s.guard,
        discovery: s.discovery.clone(),
        timeline: s.timeline.clone(),
        traffic: s.traffic.clone(),
        gossipsub: s.gossipsub.clone(),
        groups: s.groups.clone(),
        nodes,
        routers,
    }
    .in_subnet(subnet)
}

/// The host's cores, which `time_scale = "auto"` sizes the run for.
pub fn host_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
    use crate::scenario::Role;
    use lab_config::NodeConfig;

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
    fn spammers_add_their_accepted_rate_to_the_demand() {
        let s = scenario(1);
        assert_eq!(s.topic_rate(), 8.0, "invalid signatures add no rate");
        assert_eq!(plan(&s, Subnet::DEFAULT).topic_rate(), 8.0);
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let text =
            std::fs::read_to_string(root.join("scenarios/attacks/spam.toml")).expect("spam.toml");
        let spam = crate::scenario::parse(Path::new("spam.toml"), &text, &root.join("netem"))
            .expect("valid scenario");
        let spammers = spam.groups.iter().filter(|g| g.role == Role::Spam).count();
        assert!(spammers > 0);
        let count: usize = spam
            .groups
            .iter()
            .filter(|g| g.role == Role::Spam)
            .map(|g| g.count)
            .sum();
        let expected = spam.traffic.rate_per_sec + count as f64 * lab_config::TOPIC_RATE_LIMIT;
        assert_eq!(spam.topic_rate(), expected);
        assert_eq!(plan(&spam, Subnet::DEFAULT).topic_rate(), expected);
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
    fn publishers_come_from_every_honest_group_in_turn() {
        let text = r#"
[scenario]
name = "t"
seed = 1
duration = "30s"
[[groups]]
id = "a"
count = 5
[[groups]]
id = "evil"
count = 2
role = "invalid-signature"
[[groups]]
id = "b"
count = 2
[[groups]]
id = "c"
count = 3
[traffic]
publishers = 6
rate = "6/s"
size = "1KiB"
"#;
        let s = crate::scenario::parse(Path::new("t.toml"), text, Path::new("/nonexistent"))
            .expect("valid scenario");
        let p = plan(&s, Subnet::DEFAULT);
        let honest_pubs: Vec<&str> = p
            .honest_nodes()
            .filter(|n| n.publishes)
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(honest_pubs, ["a-0", "a-1", "b-0", "b-1", "c-0", "c-1"]);
        // Staggered in the order they were taken: a round of every group, then the next.
        let offset = |name: &str| {
            p.node(name)
                .and_then(|n| n.traffic.as_ref())
                .map(|t| t.offset_ms)
        };
        assert_eq!(offset("a-0"), Some(0));
        assert_eq!(offset("b-0"), Some(167));
        assert_eq!(offset("c-0"), Some(333));
        assert_eq!(offset("a-1"), Some(500));
    }

    #[test]
    fn bootstrap_lists_are_distinct_nodes_without_a_hub() {
        let p = plan(&scenario(5), Subnet::DEFAULT);
        assert_eq!(p.topology, Topology::Random);
        let mut inbound = vec![0usize; p.nodes.len()];
        for n in &p.nodes {
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
                assert_ne!(target.index, n.index, "{} dials itself", n.name);
                inbound[target.index] += 1;
            }
        }
        let most = inbound.iter().max().copied().unwrap_or_default();
        assert!(most <= MAX_INBOUND_DIALS, "a node is dialled by {most}");
        let g = p.graph();
        assert!(g.is_connected());
        assert_eq!(g.edge_count(), p.nodes.len() * DEGREE / 2);
        let evil = &p.nodes[21];
        assert!(
            evil.bootstrap
                .iter()
                .all(|a| a.ends_with("/udp/4001/quic-v1"))
        );
    }

    #[test]
    fn each_node_gets_its_group_security_and_pq_only_listens_without_quic() {
        let mut s = scenario(3);
        s.groups[0].security = lab_config::Security::PqOnly;
        s.groups[1].security = lab_config::Security::Classical;
        let p = plan(&s, Subnet::DEFAULT);
        for n in &p.nodes {
            let c = n.node_config(None);
            assert_eq!(
                c.security,
                s.groups[usize::from(n.group == "evil")].security
            );
            assert!(c.check().is_empty(), "{:?}", c.check());
            let quic = c.listen.iter().any(|a| lab_config::node::is_quic(a));
            assert_eq!(quic, n.group == "evil", "{}: {:?}", n.name, c.listen);
        }
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
    fn a_forced_split_puts_blocks_of_nodes_on_their_own_bridges() {
        let one = plan(&scenario(5), Subnet::DEFAULT);
        assert_eq!(
            one.bridges,
            Bridges {
                nodes_per_bridge: NODES_PER_BRIDGE,
                count: 1
            }
        );
        assert!(one.nodes.iter().all(|n| n.network == 0));

        let p = plan_with_bridges(&scenario(5), Subnet::new(10, 80), 10);
        assert_eq!(
            p.bridges,
            Bridges {
                nodes_per_bridge: 10,
                count: 3
            }
        );
        let networks: Vec<usize> = p.nodes.iter().map(|n| n.network).collect();
        assert_eq!(
            networks,
            [[0; 10], [1; 10]]
                .concat()
                .into_iter()
                .chain([2; 3])
                .collect::<Vec<_>>()
        );
        assert_eq!(p.nodes[0].ip, Ipv4Addr::new(10, 80, 0, 2));
        assert_eq!(p.nodes[9].ip, Ipv4Addr::new(10, 80, 0, 11));
        assert_eq!(p.nodes[10].ip, Ipv4Addr::new(10, 80, 16, 2));
        assert_eq!(p.nodes[22].ip, Ipv4Addr::new(10, 80, 32, 4));
        // The split changes addresses only: the same peers, schedules and roles.
        for (a, b) in one.nodes.iter().zip(&p.nodes) {
            assert_eq!(a.bootstrap_peers, b.bootstrap_peers);
            assert_eq!((&a.name, a.role, &a.traffic), (&b.name, b.role, &b.traffic));
        }
        // Bootstrap addresses name the peers' addresses on their own bridges.
        for n in &p.nodes {
            for (&j, addr) in n.bootstrap_peers.iter().zip(&n.bootstrap) {
                assert!(addr.contains(&format!("/{}/", p.nodes[j].ip)), "{addr}");
            }
        }
        let crossing = p
            .dials()
            .filter(|&(a, b)| p.nodes[a].network != p.nodes[b].network);
        assert!(crossing.count() > 0, "some links cross bridges");
        // Moving the plan keeps every node's bridge and offset.
        let moved = p.clone().in_subnet(Subnet::new(10, 90));
        assert_eq!(moved.nodes[22].ip, Ipv4Addr::new(10, 90, 32, 4));
        assert_eq!(moved.nodes[22].network, 2);
        assert!(
            moved.nodes[15]
                .bootstrap
                .iter()
                .all(|a| a.contains("/10.90."))
        );
        let doc: toml::Table = p.render().expect("renders").parse().expect("valid toml");
        assert_eq!(doc["bridges"]["count"].as_integer(), Some(3));
        assert_eq!(doc["nodes"][12]["network"].as_integer(), Some(1));
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
