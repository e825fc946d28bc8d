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
//! - **defence**: the last score each honest node gave each attacker, and when the median
//!   of those scores first fell below each threshold;
//! - **link fidelity**: median of ping `rtt / 2` against the imposed one-way delay.
//!
//! Duplicates per delivery are not derivable from the events (the node reports only the
//! first, validated copy) and are left out. Missing or odd events never panic: counts are
//! then 0 and percentiles `None`.

use std::collections::{BTreeMap, HashMap};

use hdrhistogram::Histogram;
use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use crate::plan::Plan;
pub use crate::run::Window;

/// Coverage levels reported, in percent of honest subscribers.
pub const COVERAGE_LEVELS: [u8; 3] = [95, 99, 100];

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
    /// Measured against imposed link delay; `None` without ping events.
    pub fidelity: Option<LinkFidelity>,
    /// Redundant copies received per unique message at honest nodes; `None` when no node
    /// reported its counters (a node that died before stopping does not).
    #[serde(default)]
    pub duplicates: Option<Duplicates>,
}

/// Gossipsub copies received, from the nodes' `stopped` counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duplicates {
    /// Messages received on the topic, duplicates included.
    pub received: u64,
    /// Messages received after duplicates were dropped.
    pub unique: u64,
    /// Redundant copies per unique message: `(received − unique) / unique`.
    pub per_delivery: Option<f64>,
}

/// Sums the `stopped` counters of honest nodes.
fn duplicates(records: &[Record], plan: &Plan) -> Option<Duplicates> {
    let mut seen = false;
    let (mut received, mut unique) = (0u64, 0u64);
    for r in records {
        if let Event::Stopped {
            received: all,
            received_unique,
            ..
        } = &r.event
            && plan.node(&r.node).is_some_and(|n| n.is_honest())
        {
            seen = true;
            received += all;
            unique += received_unique;
        }
    }
    seen.then(|| Duplicates {
        received,
        unique,
        per_delivery: (unique > 0).then(|| received.saturating_sub(unique) as f64 / unique as f64),
    })
}

/// Messages published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PublishCounts {
    /// Distinct messages published by honest nodes (the denominator's messages).
    pub honest: u64,
    /// Messages published by non-honest nodes.
    pub attacker: u64,
}

/// A latency distribution in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_us: Option<u64>,
    /// 90th percentile.
    pub p90_us: Option<u64>,
    /// 95th percentile.
    pub p95_us: Option<u64>,
    /// 99th percentile.
    pub p99_us: Option<u64>,
    /// Largest sample (exact).
    pub max_us: Option<u64>,
    /// Mean (exact).
    pub mean_us: Option<f64>,
}

/// Time for messages to reach `percent` of honest subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageLevel {
    /// The level, in percent of honest subscribers.
    pub percent: u8,
    /// Messages considered.
    pub messages: u64,
    /// Messages that reached the level.
    pub reached: u64,
    /// Messages that never reached it.
    pub never: u64,
    /// Median time to reach it, over messages that did.
    pub p50_us: Option<u64>,
    /// 95th percentile time.
    pub p95_us: Option<u64>,
    /// 99th percentile time.
    pub p99_us: Option<u64>,
}

/// Deliveries against what was expected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRatio {
    /// Distinct (message, receiver) deliveries.
    pub delivered: u64,
    /// Messages × receivers that should have had them.
    pub expected: u64,
    /// `delivered / expected`; `None` when nothing was expected.
    pub ratio: Option<f64>,
}

/// Figures for one group's nodes as receivers of honest messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupStats {
    /// Group id.
    pub group: String,
    /// Its role.
    pub role: String,
    /// Its nodes.
    pub nodes: usize,
    /// Messages its nodes published.
    pub published: u64,
    /// Deliveries of honest messages at its nodes.
    pub delivery: DeliveryRatio,
    /// Latency of those deliveries.
    pub latency: LatencySummary,
}

/// Figures for one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStats {
    /// Node name.
    pub name: String,
    /// Its group.
    pub group: String,
    /// Its role.
    pub role: String,
    /// Messages it published.
    pub published: u64,
    /// Honest messages it delivered / should have.
    pub delivery: DeliveryRatio,
    /// Median latency of its deliveries.
    pub median_latency_us: Option<u64>,
    /// Messages it rejected.
    pub rejected: u64,
}

/// How honest nodes scored the attackers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefenceStats {
    /// Attacker nodes in the plan.
    pub attackers: usize,
    /// (honest node, attacker) pairs with at least one score.
    pub scored_pairs: usize,
    /// Lowest last score.
    pub final_min: Option<f64>,
    /// Median last score.
    pub final_median: Option<f64>,
    /// Highest last score.
    pub final_max: Option<f64>,
    /// When the median score first fell below each threshold.
    pub thresholds: Vec<ThresholdCrossing>,
    /// Min/median/max over pairs' latest scores, once per second of snapshots.
    pub series: Vec<ScorePoint>,
}

/// When the attackers' median score first fell below a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdCrossing {
    /// `gossip`, `publish` or `graylist`.
    pub name: String,
    /// The threshold.
    pub threshold: f64,
    /// Seconds after the reference time (traffic start); `None` = never.
    pub first_below_s: Option<f64>,
}

/// One point of the attacker score series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorePoint {
    /// Seconds after the reference time (traffic start).
    pub t_s: f64,
    /// Lowest latest score.
    pub min: f64,
    /// Median latest score.
    pub median: f64,
    /// Highest latest score.
    pub max: f64,
}

/// Measured one-way link delay (ping RTT / 2) against the imposed delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkFidelity {
    /// Ping samples used.
    pub samples: u64,
    /// Median measured one-way delay.
    pub measured_us: u64,
    /// 95th percentile measured one-way delay.
    pub measured_p95_us: u64,
    /// Imposed one-way delay.
    pub imposed_us: u64,
    /// `measured − imposed`.
    pub error_us: i64,
    /// `|error| / imposed`; `None` when nothing was imposed.
    pub relative_error: Option<f64>,
}

/// Histogram bounds: 1 µs to 1 hour, 3 significant digits.
fn histogram(samples: &[u64]) -> Option<Histogram<u64>> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).ok()?;
    for &s in samples {
        h.saturating_record(s);
    }
    Some(h)
}

fn quantile(h: &Option<Histogram<u64>>, q: f64) -> Option<u64> {
    h.as_ref()
        .filter(|h| !h.is_empty())
        .map(|h| h.value_at_quantile(q))
}

fn summarize(samples: &[u64]) -> LatencySummary {
    if samples.is_empty() {
        return LatencySummary::default();
    }
    let h = histogram(samples);
    let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
    LatencySummary {
        count: samples.len() as u64,
        p50_us: quantile(&h, 0.50),
        p90_us: quantile(&h, 0.90),
        p95_us: quantile(&h, 0.95),
        p99_us: quantile(&h, 0.99),
        max_us: samples.iter().copied().max(),
        mean_us: Some(sum as f64 / samples.len() as f64),
    }
}

fn ratio(delivered: u64, expected: u64) -> DeliveryRatio {
    DeliveryRatio {
        delivered,
        expected,
        ratio: (expected > 0).then(|| delivered as f64 / expected as f64),
    }
}

fn median_f64(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// A message published by an honest node.
struct Message {
    origin: usize,
    /// First-delivery latency per receiving node index.
    deliveries: HashMap<usize, u64>,
}

/// Computes the run's statistics. With a `window`, the sample is the messages published
/// inside it, and pings are taken from its start; without one, every message and ping
/// counts and the first `published` event (else the first record) anchors score times.
pub fn compute(records: &[Record], plan: &Plan, window: Option<Window>) -> Stats {
    let index: HashMap<&str, usize> = plan
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.index))
        .collect();
    let honest: Vec<bool> = plan.nodes.iter().map(|n| n.is_honest()).collect();
    let honest_nodes = honest.iter().filter(|h| **h).count();
    let subscribers = honest_nodes.saturating_sub(1) as u64;

    let in_window = |ts: u64| window.is_none_or(|w| w.contains(ts));
    let reference_ns = window
        .map(|w| w.traffic_ns)
        .or_else(|| {
            records
                .iter()
                .filter(|r| matches!(r.event, Event::Published { .. }))
                .map(|r| r.ts_ns)
                .min()
        })
        .or_else(|| records.iter().map(|r| r.ts_ns).min())
        .unwrap_or(0);

    // Pass 1: identities and published messages.
    let mut peer_node: HashMap<&str, usize> = HashMap::new();
    let mut messages: HashMap<&str, Message> = HashMap::new();
    let mut published_by = vec![0u64; plan.nodes.len()];
    let mut attacker_published = 0u64;
    let mut foreign_events = 0u64;
    for r in records {
        let Some(&i) = index.get(r.node.as_str()) else {
            foreign_events += 1;
            continue;
        };
        match &r.event {
            Event::Started { peer_id, .. } => {
                peer_node.insert(peer_id.as_str(), i);
            }
            Event::Published { msg_id, .. } if in_window(r.ts_ns) => {
                published_by[i] += 1;
                if honest[i] {
                    messages.entry(msg_id.as_str()).or_insert_with(|| Message {
                        origin: i,
                        deliveries: HashMap::new(),
                    });
                } else {
                    attacker_published += 1;
                }
            }
            _ => {}
        }
    }

    // Pass 2: deliveries, rejections, pings.
    let mut rejected_by = vec![0u64; plan.nodes.len()];
    let mut rejections: BTreeMap<String, u64> = BTreeMap::new();
    let mut pings_after: Vec<u64> = Vec::new();
    let mut pings_all: Vec<u64> = Vec::new();
    for r in records {
        let Some(&i) = index.get(r.node.as_str()) else {
            continue;
        };
        match &r.event {
            Event::Delivered {
                msg_id,
                published_ns,
                received_ns,
                ..
            } => {
                if let Some(m) = messages.get_mut(msg_id.as_str()).filter(|m| m.origin != i) {
                    let us = received_ns.saturating_sub(*published_ns) / 1000;
                    let e = m.deliveries.entry(i).or_insert(us);
                    *e = (*e).min(us);
                }
            }
            Event::Rejected { reason, .. } => {
                rejected_by[i] += 1;
                *rejections.entry(reason.clone()).or_insert(0) += 1;
            }
            Event::Ping { rtt_us, .. } => {
                pings_all.push(rtt_us / 2);
                if r.ts_ns >= window.map_or(reference_ns, |w| w.start_ns) {
                    pings_after.push(rtt_us / 2);
                }
            }
            _ => {}
        }
    }

    // Per-node samples and expectations.
    let honest_messages = messages.len() as u64;
    let mut node_samples: Vec<Vec<u64>> = vec![Vec::new(); plan.nodes.len()];
    let mut coverage_samples: Vec<Vec<u64>> = vec![Vec::new(); COVERAGE_LEVELS.len()];
    let mut coverage_never = vec![0u64; COVERAGE_LEVELS.len()];
    let mut considered = 0u64;
    for m in messages.values() {
        let mut honest_lat: Vec<u64> = Vec::new();
        for (&rcv, &us) in &m.deliveries {
            node_samples[rcv].push(us);
            if honest[rcv] {
                honest_lat.push(us);
            }
        }
        if subscribers == 0 {
            continue;
        }
        considered += 1;
        honest_lat.sort_unstable();
        for (l, &pct) in COVERAGE_LEVELS.iter().enumerate() {
            let need = (u64::from(pct) * subscribers).div_ceil(100).max(1);
            match honest_lat.get(need as usize - 1) {
                Some(&t) => coverage_samples[l].push(t),
                None => coverage_never[l] += 1,
            }
        }
    }
    // A node's own messages are not expected back.
    let mut own_distinct = vec![0u64; plan.nodes.len()];
    for m in messages.values() {
        own_distinct[m.origin] += 1;
    }

    let nodes: Vec<NodeStats> = plan
        .nodes
        .iter()
        .map(|n| {
            let i = n.index;
            let expected = honest_messages - own_distinct[i];
            let h = histogram(&node_samples[i]);
            NodeStats {
                name: n.name.clone(),
                group: n.group.clone(),
                role: n.role.name().to_string(),
                published: published_by[i],
                delivery: ratio(node_samples[i].len() as u64, expected),
                median_latency_us: quantile(&h, 0.5),
                rejected: rejected_by[i],
            }
        })
        .collect();

    let honest_samples: Vec<u64> = plan
        .nodes
        .iter()
        .filter(|n| n.is_honest())
        .flat_map(|n| node_samples[n.index].iter().copied())
        .collect();
    let honest_expected: u64 = honest_messages * subscribers;

    let groups: Vec<GroupStats> = plan
        .groups
        .iter()
        .map(|g| {
            let members: Vec<usize> = plan
                .nodes
                .iter()
                .filter(|n| n.group == g.id)
                .map(|n| n.index)
                .collect();
            let samples: Vec<u64> = members
                .iter()
                .flat_map(|&i| node_samples[i].iter().copied())
                .collect();
            let expected: u64 = members
                .iter()
                .map(|&i| honest_messages - own_distinct[i])
                .sum();
            GroupStats {
                group: g.id.clone(),
                role: g.role.name().to_string(),
                nodes: members.len(),
                published: members.iter().map(|&i| published_by[i]).sum(),
                delivery: ratio(samples.len() as u64, expected),
                latency: summarize(&samples),
            }
        })
        .collect();

    let coverage = COVERAGE_LEVELS
        .iter()
        .enumerate()
        .map(|(l, &percent)| {
            let h = histogram(&coverage_samples[l]);
            CoverageLevel {
                percent,
                messages: considered,
                reached: coverage_samples[l].len() as u64,
                never: coverage_never[l],
                p50_us: quantile(&h, 0.50),
                p95_us: quantile(&h, 0.95),
                p99_us: quantile(&h, 0.99),
            }
        })
        .collect();

    let defence = defence(records, plan, &index, &honest, &peer_node, reference_ns);

    let pings = if pings_after.is_empty() {
        pings_all
    } else {
        pings_after
    };
    let fidelity = fidelity(pings, plan);

    Stats {
        events: records.len() as u64,
        foreign_events,
        honest_nodes,
        published: PublishCounts {
            honest: honest_messages,
            attacker: attacker_published,
        },
        latency: summarize(&honest_samples),
        coverage,
        delivery: ratio(honest_samples.len() as u64, honest_expected),
        groups,
        nodes,
        rejections,
        defence,
        fidelity,
        duplicates: duplicates(records, plan),
    }
}

fn defence(
    records: &[Record],
    plan: &Plan,
    index: &HashMap<&str, usize>,
    honest: &[bool],
    peer_node: &HashMap<&str, usize>,
    reference_ns: u64,
) -> Option<DefenceStats> {
    let attackers = honest.iter().filter(|h| !**h).count();
    if attackers == 0 {
        return None;
    }
    let mut snapshots: Vec<(u64, usize, &[lab_events::PeerScore])> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Scores { scores } => {
                let &i = index.get(r.node.as_str())?;
                honest[i].then_some((r.ts_ns, i, scores.as_slice()))
            }
            _ => None,
        })
        .collect();
    snapshots.sort_by_key(|(ts, i, _)| (*ts, *i));

    let t_s = |ts: u64| (ts as f64 - reference_ns as f64) / 1e9;
    let second = |ts: u64| ts.saturating_sub(reference_ns) / 1_000_000_000;
    let mut latest: HashMap<(usize, usize), f64> = HashMap::new();
    let mut series: Vec<ScorePoint> = Vec::new();
    let mut point = |latest: &HashMap<(usize, usize), f64>, ts: u64| {
        let mut v: Vec<f64> = latest.values().copied().filter(|s| !s.is_nan()).collect();
        if v.is_empty() {
            return;
        }
        v.sort_by(f64::total_cmp);
        if let Some(median) = median_f64(&v) {
            series.push(ScorePoint {
                t_s: t_s(ts),
                min: v[0],
                median,
                max: v[v.len() - 1],
            });
        }
    };
    let mut last: Option<u64> = None;
    for &(ts, observer, scores) in &snapshots {
        if let Some(prev) = last.filter(|&p| second(p) != second(ts)) {
            point(&latest, prev);
        }
        for s in scores {
            if let Some(&a) = peer_node.get(s.peer.as_str()).filter(|&&a| !honest[a]) {
                latest.insert((observer, a), s.score);
            }
        }
        last = Some(ts);
    }
    if let Some(prev) = last {
        point(&latest, prev);
    }

    let mut finals: Vec<f64> = latest.values().copied().filter(|s| !s.is_nan()).collect();
    finals.sort_by(f64::total_cmp);
    let g = &plan.gossipsub;
    let thresholds = [
        ("gossip", g.gossip_threshold),
        ("publish", g.publish_threshold),
        ("graylist", g.graylist_threshold),
    ]
    .into_iter()
    .map(|(name, threshold)| ThresholdCrossing {
        name: name.to_string(),
        threshold,
        first_below_s: series.iter().find(|p| p.median < threshold).map(|p| p.t_s),
    })
    .collect();
    Some(DefenceStats {
        attackers,
        scored_pairs: latest.len(),
        final_min: finals.first().copied(),
        final_median: median_f64(&finals),
        final_max: finals.last().copied(),
        thresholds,
        series,
    })
}

fn fidelity(mut one_way_us: Vec<u64>, plan: &Plan) -> Option<LinkFidelity> {
    if one_way_us.is_empty() {
        return None;
    }
    one_way_us.sort_unstable();
    let n = one_way_us.len();
    let measured = if n % 2 == 1 {
        one_way_us[n / 2]
    } else {
        (one_way_us[n / 2 - 1] + one_way_us[n / 2]) / 2
    };
    let h = histogram(&one_way_us);
    let imposed = u64::try_from(plan.link.delay.as_micros()).unwrap_or(u64::MAX);
    let error = measured as i64 - imposed as i64;
    Some(LinkFidelity {
        samples: n as u64,
        measured_us: measured,
        measured_p95_us: quantile(&h, 0.95).unwrap_or(measured),
        imposed_us: imposed,
        error_us: error,
        relative_error: (imposed > 0).then(|| error.unsigned_abs() as f64 / imposed as f64),
    })
}

#[cfg(test)]
mod tests {
    use lab_events::PeerScore;

    use super::*;

    const T0: u64 = 1_000_000_000_000;

    fn test_plan() -> Plan {
        crate::testkit::Small {
            name: "stats",
            duration: "30s",
            warmup: "10s",
            link: r#"{ delay = "25ms" }"#,
            honest_id: "h",
            evil_id: "e",
            evil: 1,
            publishers: 2,
            ..Default::default()
        }
        .plan()
    }

    fn rec(ts_ns: u64, node: &str, event: Event) -> Record {
        Record {
            ts_ns,
            node: node.to_string(),
            event,
        }
    }

    fn started(node: &str, peer: &str) -> Record {
        rec(
            T0 - 5_000_000_000,
            node,
            Event::Started {
                peer_id: peer.to_string(),
                role: "x".to_string(),
                listen: Vec::new(),
            },
        )
    }

    fn published(node: &str, msg: &str, at: u64) -> Record {
        rec(
            at,
            node,
            Event::Published {
                msg_id: msg.to_string(),
                seq: 0,
                size: 1024,
                wire_size: 6000,
            },
        )
    }

    fn delivered(node: &str, msg: &str, published_ns: u64, after_us: u64) -> Record {
        let received_ns = published_ns + after_us * 1000;
        rec(
            received_ns,
            node,
            Event::Delivered {
                msg_id: msg.to_string(),
                origin: "p".to_string(),
                seq: 0,
                published_ns,
                received_ns,
                from: "q".to_string(),
            },
        )
    }

    fn scores(node: &str, at: u64, score: f64) -> Record {
        rec(
            at,
            node,
            Event::Scores {
                scores: vec![
                    PeerScore {
                        peer: "PE".to_string(),
                        score,
                    },
                    // Honest peers' scores do not count as attacker scores.
                    PeerScore {
                        peer: "P3".to_string(),
                        score: 10.0,
                    },
                ],
            },
        )
    }

    fn ping(node: &str, rtt_us: u64) -> Record {
        rec(
            T0 + 1,
            node,
            Event::Ping {
                peer: "x".to_string(),
                rtt_us,
            },
        )
    }

    /// Two honest messages, three honest receivers each (4 honest nodes), one attacker.
    fn events() -> Vec<Record> {
        let m1 = T0;
        let m2 = T0 + 500_000_000;
        let mut v = vec![
            started("h-0", "P0"),
            started("h-1", "P1"),
            started("h-2", "P2"),
            started("h-3", "P3"),
            started("e-0", "PE"),
            published("h-0", "m1", m1),
            published("h-1", "m2", m2),
            published("e-0", "bad", T0),
            // m1 reaches every honest subscriber: 1, 1.4, 2 ms. (Values below 2048 µs
            // are exact in a 3-digit histogram; above, percentiles report the top of
            // their bucket.)
            delivered("h-1", "m1", m1, 1000),
            delivered("h-2", "m1", m1, 1400),
            delivered("h-3", "m1", m1, 2000),
            // A second delivery record of the same pair is not a new delivery.
            delivered("h-1", "m1", m1, 5000),
            // m2 misses h-3.
            delivered("h-0", "m2", m2, 1500),
            delivered("h-2", "m2", m2, 500),
            // The attacker receives m1; the origin never counts its own message.
            delivered("e-0", "m1", m1, 700),
            delivered("h-0", "m1", m1, 1),
            // The attacker's message is rejected twice.
            rec(
                T0 + 1,
                "h-0",
                Event::Rejected {
                    msg_id: "bad".into(),
                    from: "PE".into(),
                    reason: "invalid signature".into(),
                },
            ),
            rec(
                T0 + 2,
                "h-2",
                Event::Rejected {
                    msg_id: "bad".into(),
                    from: "PE".into(),
                    reason: "invalid signature".into(),
                },
            ),
            // Scores of the attacker: second 1: -50, -20 (median -35);
            // second 2: -300, -20, -150 (median -150).
            scores("h-0", T0 + 1_000_000_000, -50.0),
            scores("h-1", T0 + 1_200_000_000, -20.0),
            scores("h-0", T0 + 2_500_000_000, -300.0),
            scores("h-2", T0 + 2_600_000_000, -150.0),
            // The attacker's own view does not count.
            scores("e-0", T0 + 2_700_000_000, -9999.0),
            // One-way 25.2, 25.4, 25.5 ms against 25 ms imposed.
            ping("h-0", 50_400),
            ping("h-1", 50_800),
            ping("h-2", 51_000),
            // Before the reference time: ignored.
            rec(
                T0 - 1,
                "h-3",
                Event::Ping {
                    peer: "x".into(),
                    rtt_us: 2,
                },
            ),
            // A node the plan does not know.
            published("stranger", "m9", T0),
            // Published before and after the measurement window: not in the sample, even
            // though they were delivered (the late one only partly).
            published("h-0", "early", T0 - 2_000_000_000),
            delivered("h-1", "early", T0 - 2_000_000_000, 90_000),
            published("h-2", "late", T0 + 3_000_000_000),
            delivered("h-3", "late", T0 + 3_000_000_000, 90_000),
        ];
        v.reverse(); // order must not matter
        v
    }

    #[test]
    fn synthetic_run_gives_the_hand_computed_figures() {
        let p = test_plan();
        let window = Window {
            traffic_ns: T0,
            start_ns: T0,
            end_ns: T0 + 3_000_000_000,
        };
        let s = compute(&events(), &p, Some(window));
        assert_eq!(s.honest_nodes, 4);
        assert_eq!(s.foreign_events, 1);
        assert_eq!(
            s.published,
            PublishCounts {
                honest: 2,
                attacker: 1
            }
        );

        // Honest samples: 500, 1000, 1400, 1500, 2000 µs.
        assert_eq!(s.latency.count, 5);
        assert_eq!(s.latency.p50_us, Some(1400)); // ceil(2.5) = 3rd of 5
        assert_eq!(s.latency.p90_us, Some(2000)); // ceil(4.5) = 5th
        assert_eq!(s.latency.p95_us, Some(2000));
        assert_eq!(s.latency.p99_us, Some(2000));
        assert_eq!(s.latency.max_us, Some(2000));
        assert_eq!(s.latency.mean_us, Some(1280.0));

        // 5 of 2 messages × 3 subscribers.
        assert_eq!(s.delivery.delivered, 5);
        assert_eq!(s.delivery.expected, 6);
        assert_eq!(s.delivery.ratio, Some(5.0 / 6.0));

        // Every level needs all 3 subscribers (ceil(0.95 × 3) = 3): m1 at 2 ms, m2 never.
        assert_eq!(s.coverage.len(), 3);
        for c in &s.coverage {
            assert_eq!((c.messages, c.reached, c.never), (2, 1, 1), "{c:?}");
            assert_eq!(c.p50_us, Some(2000));
            assert_eq!(c.p99_us, Some(2000));
        }

        let node = |name: &str| s.nodes.iter().find(|n| n.name == name).expect("node");
        assert_eq!(node("h-0").delivery.expected, 1); // m1 is its own
        assert_eq!(node("h-0").delivery.delivered, 1);
        assert_eq!(node("h-0").published, 1);
        assert_eq!(node("h-0").rejected, 1);
        assert_eq!(node("h-2").delivery.ratio, Some(1.0));
        assert_eq!(node("h-2").median_latency_us, Some(500)); // ceil(0.5 × 2) = 1st
        assert_eq!(node("h-3").delivery.ratio, Some(0.5));
        assert_eq!(node("h-3").median_latency_us, Some(2000));
        assert_eq!(node("e-0").delivery.delivered, 1);
        assert_eq!(node("e-0").delivery.expected, 2);

        assert_eq!(s.groups.len(), 2);
        assert_eq!(s.groups[0].group, "h");
        assert_eq!(s.groups[0].delivery.delivered, 5);
        assert_eq!(s.groups[0].delivery.expected, 6);
        assert_eq!(s.groups[0].published, 2);
        assert_eq!(s.groups[1].role, "invalid-signature");
        assert_eq!(s.groups[1].latency.max_us, Some(700));

        assert_eq!(s.rejections.get("invalid signature"), Some(&2));
        assert_eq!(s.rejections.len(), 1);

        let d = s.defence.as_ref().expect("defence");
        assert_eq!(d.attackers, 1);
        assert_eq!(d.scored_pairs, 3);
        assert_eq!(d.final_min, Some(-300.0));
        assert_eq!(d.final_median, Some(-150.0));
        assert_eq!(d.final_max, Some(-20.0));
        assert_eq!(d.series.len(), 2);
        assert_eq!(d.series[0].median, -35.0);
        assert_eq!(d.series[1].median, -150.0);
        let gossip = &d.thresholds[0];
        assert_eq!(gossip.name, "gossip");
        assert_eq!(gossip.threshold, -100.0);
        let t = gossip.first_below_s.expect("crossed");
        assert!((t - 2.6).abs() < 1e-9, "{t}");
        assert_eq!(d.thresholds[1].first_below_s, None);

        let f = s.fidelity.as_ref().expect("fidelity");
        assert_eq!(f.samples, 3);
        assert_eq!(f.measured_us, 25_400);
        assert_eq!(f.imposed_us, 25_000);
        assert_eq!(f.error_us, 400);
        assert_eq!(f.relative_error, Some(0.016));
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
