//! Statistics of a run, computed from the merged event records and the plan.
//!
//! Definitions (DESIGN.md §5), all restricted to messages published by honest nodes:
//!
//! - **delivery latency**: `received_ns − published_ns` of the first delivery of a message
//!   at each honest node other than its origin (µs, hdrhistogram, 3 significant digits;
//!   percentiles are the histogram's, max and mean exact);
//! - **coverage time**: per message, the latency of the `⌈p·S⌉`-th honest delivery where
//!   `S` = honest nodes − 1; a message that never gets there counts in `never`;
//! - **delivery ratio**: distinct (message, honest receiver) deliveries / (messages × S);
//! - **defence**: the last score each honest node gave each attacker identity, and when
//!   the median of those scores first fell below each threshold;
//! - **crowding**: the share of honest mesh slots attacker identities held, and an
//!   `eclipse` victim's delivery and latency against the other honest nodes';
//! - **link fidelity**: median of ping `rtt / 2` against the imposed one-way delay (in a
//!   run placed in regions, against the median of each ping's region pair's delay, and
//!   per region pair in `regions`);
//! - **duplicates**: redundant copies per unique message, from the honest nodes' `stopped`
//!   counters (the events report only the first, validated copy of a message).
//!
//! Missing or odd events never panic: counts are then 0 and percentiles `None`.
//!
//! [`compute`] indexes the records once (`index`), then calls one module per figure
//! family: `latency` (summaries, coverage), `delivery`, `nodes` (per node and group),
//! `rejections`, `defence`, `crowding`, `fidelity`, `duplicates`, `hops`, `mesh_health`, `graphs` (on
//! `graph`), `cpu_probe`, `regions`, `nat` (hole punching, relays, AutoNAT, colocation
//! behind NATs), `discovery` (DHT queries, mDNS, join times), `handshakes` (per transport,
//! security and group); [`median()`] is shared.
//! `bandwidth` needs the nodes' interface counters too, which the run measures: the
//! pipeline adds it ([`bandwidth()`]).

mod bandwidth;
mod cpu_probe;
mod crowding;
mod defence;
mod delivery;
mod discovery;
mod duplicates;
mod fidelity;
pub mod graph;
mod graphs;
mod handshakes;
mod hops;
mod index;
mod latency;
mod median;
mod mesh_health;
mod nat;
mod nodes;
mod phases;
mod regions;
mod rejections;

#[cfg(test)]
mod fixture;

use std::collections::BTreeMap;

use lab_events::Record;
use serde::{Deserialize, Serialize};

pub use self::bandwidth::{Bandwidth, Spread, bandwidth};
pub use self::cpu_probe::CpuProbe;
pub use self::crowding::{CrowdingStats, VictimStats};
pub use self::defence::{DefenceStats, ScorePoint, ThresholdCrossing};
pub use self::delivery::DeliveryRatio;
use self::delivery::Receipts;
pub use self::discovery::{DHT_KINDS, DhtKind, DhtStats, DiscoveryStats, JoinStats, MdnsStats};
pub use self::duplicates::Duplicates;
pub use self::fidelity::LinkFidelity;
pub use self::graphs::Graphs;
pub use self::handshakes::{HandshakeRow, HandshakeStats, HandshakeTimes};
pub use self::hops::MessageHops;
use self::index::Index;
pub use self::latency::{COVERAGE_LEVELS, CoverageLevel, LatencySummary};
pub use self::median::median;
pub use self::mesh_health::{HealthPoint, MeanParts, MeshHealth, P3Fill, ScoreHealth};
pub use self::nat::{
    AutonatStats, AutonatVerdict, Colocation, NatCell, NatStats, PunchCount, RelayedShare,
    SideFigures,
};
pub use self::nodes::{GroupStats, NodeStats};
pub use self::phases::{ChurnCount, FaultMark, PartitionLoss, Phase, PhaseStats};
pub use self::regions::{FromTo, PairFidelity, RegionLatency, RegionStats};
use self::rejections::Rejections;
use crate::plan::Plan;
pub use crate::run::Window;

/// Everything measured in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Event records considered.
    pub events: u64,
    /// Records from nodes the plan does not know (ignored otherwise).
    pub foreign_events: u64,
    /// Honest nodes in the plan.
    pub honest_nodes: usize,
    /// Messages published, by honest and by other nodes.
    pub published: PublishCounts,
    /// Delivery latency at honest receivers.
    pub latency: LatencySummary,
    /// Coverage time distributions, one per level of [`COVERAGE_LEVELS`].
    pub coverage: Vec<CoverageLevel>,
    /// Delivery ratio at honest receivers.
    pub delivery: DeliveryRatio,
    /// Per group (receivers of that group; honest messages only).
    pub groups: Vec<GroupStats>,
    /// Per node, in plan order.
    pub nodes: Vec<NodeStats>,
    /// Rejected messages at all nodes, by reason.
    pub rejections: BTreeMap<String, u64>,
    /// Scores honest nodes gave attackers; `None` when the plan has no attacker.
    pub defence: Option<DefenceStats>,
    /// Mesh slots held by attacker identities, and an `eclipse` victim's figures; `None`
    /// without attackers (and in results written before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crowding: Option<CrowdingStats>,
    /// Measured against imposed link delay; `None` without ping events.
    pub fidelity: Option<LinkFidelity>,
    /// Redundant copies received per unique message at honest nodes; `None` when no node
    /// reported its counters (a node that died before stopping does not).
    #[serde(default)]
    pub duplicates: Option<Duplicates>,
    /// Per-hop times of real messages against the imposed link delay; `None` without
    /// relayed deliveries (and in results written before it was measured).
    #[serde(default)]
    pub hops: Option<MessageHops>,
    /// Mesh sizes and honest scores over the window; `None` without `mesh` events (and in
    /// results written before it was measured).
    #[serde(default)]
    pub mesh_health: Option<MeshHealth>,
    /// The planned, connection and mesh graphs next to random references; `None` without
    /// connection events (and in results written before they were measured).
    #[serde(default)]
    pub graphs: Option<Graphs>,
    /// The nodes' CPU probes at start (virtual time); `None` without probes (and in
    /// results written before nodes probed).
    #[serde(default)]
    pub cpu_probe: Option<CpuProbe>,
    /// By region pair and region, for a run placed in regions; `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<RegionStats>,
    /// What NATs did: the hole-punch matrix, relayed connections, AutoNAT's verdicts, the
    /// colocation penalty; `None` when no node sat behind a NAT (and in results written
    /// before NATs existed).
    #[serde(default)]
    pub nat: Option<NatStats>,
    /// Connection handshakes by transport, security and key-exchange group; `None`
    /// without `handshake` events (and in results written before nodes reported them).
    #[serde(default)]
    pub handshakes: Option<HandshakeStats>,
    /// DHT queries, mDNS and join times; `None` without `started` events (and in results
    /// written before they were measured).
    #[serde(default)]
    pub discovery: Option<DiscoveryStats>,
    /// Payload delivered against bytes on the wire over the window; filled by the run
    /// from the nodes' interface counters ([`bandwidth()`]), `None` without them (and in
    /// results written before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<Bandwidth>,
    /// Figures per phase of the fault timeline; `None` without one (and in results
    /// written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<PhaseStats>,
}

/// Messages published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PublishCounts {
    /// Distinct messages published by honest nodes (the denominator's messages).
    pub honest: u64,
    /// Messages published by non-honest nodes.
    pub attacker: u64,
}

/// Computes the run's statistics. With a `window`, the sample is the messages published
/// inside it, and pings are taken from its start; without one, every message and ping
/// counts and the first `published` event (else the first record) anchors score times.
pub fn compute(records: &[Record], plan: &Plan, window: Option<Window>) -> Stats {
    let index = Index::new(records, plan, window);
    let receipts = Receipts::new(&index);
    let rejections = Rejections::new(records, &index);
    let honest_samples = receipts.honest_samples(&index);
    let hops = hops::hops(records, plan, &index);
    Stats {
        events: records.len() as u64,
        foreign_events: index.foreign_events,
        honest_nodes: index.honest_nodes(),
        published: PublishCounts {
            honest: index.messages.len() as u64,
            attacker: index.attacker_published,
        },
        latency: latency::summarize(&honest_samples),
        coverage: latency::coverage(&index),
        delivery: delivery::honest_delivery(&honest_samples, &index),
        groups: nodes::groups(plan, &index, &receipts),
        nodes: nodes::nodes(plan, &index, &receipts, &rejections),
        rejections: rejections.by_reason,
        defence: defence::defence(records, plan, &index),
        crowding: crowding::crowding(records, plan, &index, &receipts, window),
        fidelity: fidelity::fidelity(records, plan, &index, window),
        duplicates: duplicates::duplicates(records, plan),
        mesh_health: mesh_health::mesh_health(
            records,
            plan,
            &index,
            window,
            hops.as_ref().map(MessageHops::push_share),
        ),
        hops,
        graphs: graphs::graphs(records, plan, &index, window),
        cpu_probe: cpu_probe::cpu_probe(records),
        regions: regions::regions(records, plan, &index, window),
        nat: nat::nat(records, plan, &index, &receipts, window),
        handshakes: handshakes::handshakes(records, &index),
        discovery: discovery::discovery(records, plan, &index, window),
        bandwidth: None,
        phases: phases::phases(records, plan, &index, window),
    }
}

#[cfg(test)]
mod tests {
    use lab_events::Event;

    use super::fixture::{T0, delivered, published, rec, synthetic_stats, test_plan};
    use super::*;

    #[test]
    fn synthetic_run_gives_the_hand_computed_counts() {
        let s = synthetic_stats();
        assert_eq!(s.honest_nodes, 4);
        assert_eq!(s.foreign_events, 1);
        assert_eq!(
            s.published,
            PublishCounts {
                honest: 2,
                attacker: 1
            }
        );
    }

    #[test]
    fn empty_input_gives_zero_counts_and_no_percentiles() {
        let p = test_plan();
        let s = compute(&[], &p, None);
        assert_eq!(s.events, 0);
        assert_eq!(s.latency, LatencySummary::default());
        assert_eq!(s.delivery.ratio, None);
        assert_eq!(s.delivery.expected, 0);
        assert!(
            s.coverage
                .iter()
                .all(|c| c.messages == 0 && c.p50_us.is_none())
        );
        assert_eq!(s.nodes.len(), 5);
        assert!(s.nodes.iter().all(|n| n.median_latency_us.is_none()));
        let d = s.defence.expect("plan has an attacker");
        assert_eq!(d.final_median, None);
        assert!(d.series.is_empty());
        assert!(d.thresholds.iter().all(|t| t.first_below_s.is_none()));
        assert_eq!(s.fidelity, None);
    }

    #[test]
    fn clock_skew_and_unknown_messages_do_not_panic() {
        let p = test_plan();
        let mut v = vec![
            published("h-0", "m1", T0),
            // Received "before" it was published: clamps to 0.
            rec(
                T0,
                "h-1",
                Event::Delivered {
                    msg_id: "m1".into(),
                    origin: "p".into(),
                    seq: 0,
                    published_ns: T0 + 10,
                    received_ns: T0,
                    from: "q".into(),
                },
            ),
        ];
        // A delivery of a message nobody published.
        v.push(delivered("h-2", "ghost", T0, 10));
        let s = compute(&v, &p, None);
        assert_eq!(s.latency.count, 1);
        assert_eq!(s.latency.max_us, Some(0));
        assert_eq!(s.delivery.delivered, 1);
        assert_eq!(s.delivery.expected, 3);
    }
}
