//! Message hops: the time real messages spend on one link, which pings (small packets,
//! answered by the kernel) do not see. For every delivery at an honest node, the hop runs
//! from the moment the relay named in `from` had the message (its own `published` event
//! when it is the origin, else its `delivered` event, written once it had validated the
//! message) to the receiver's `received_ns`. It includes the relay's send path, the link and
//! the receiver's receive path.
//!
//! Only direct sends are hops: from the origin (which sends to its peers at once), or along
//! a mesh link (the receiver is in the relay's mesh, from the relay's `mesh` events, when the
//! receiver gets the message). A copy that came any other way was asked for (IHAVE, then
//! IWANT: at least two more link crossings and up to a heartbeat) or sent to a fanout peer;
//! those are counted, not timed.

use std::collections::{HashMap, HashSet};

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::latency::{histogram, quantile};
use super::median::median_u64;
use crate::plan::Plan;

/// The distribution of per-hop times of the sample's honest messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageHops {
    /// Hops measured (direct sends: from the origin or along a mesh link).
    pub samples: u64,
    /// Deliveries not timed: the relay neither published the message nor had the receiver
    /// in its mesh (copies served on request after IHAVE/IWANT, or fanout sends). Absent in
    /// results written before they were told apart.
    #[serde(default)]
    pub indirect: u64,
    /// 10th percentile hop time.
    pub p10_us: u64,
    /// Median hop time.
    pub p50_us: u64,
    /// 90th percentile hop time.
    pub p90_us: u64,
    /// 99th percentile hop time.
    pub p99_us: u64,
    /// The one-way delay imposed on a link.
    pub imposed_us: u64,
}

impl MessageHops {
    /// The median hop's excess over the imposed delay, relative to it (0.1 = 10 % longer);
    /// `None` when no delay is imposed.
    pub fn relative_error(&self) -> Option<f64> {
        (self.imposed_us > 0)
            .then(|| self.p50_us.abs_diff(self.imposed_us) as f64 / self.imposed_us as f64)
    }

    /// Share of the deliveries seen here that came by a direct push (from the origin or
    /// along a mesh link) rather than on request or by fanout.
    pub fn push_share(&self) -> f64 {
        self.samples as f64 / (self.samples + self.indirect).max(1) as f64
    }
}

/// The hops of the sample's honest messages into honest nodes; `None` when no delivery
/// names a relay whose own event is known.
pub(super) fn hops(records: &[Record], plan: &Plan, index: &Index) -> Option<MessageHops> {
    let mut had: HashMap<(usize, &str), u64> = HashMap::new();
    for r in records {
        let (Some(node), Event::Published { msg_id, .. } | Event::Delivered { msg_id, .. }) =
            (index.of(r), &r.event)
        else {
            continue;
        };
        if index.messages.contains_key(msg_id.as_str()) {
            had.entry((node, msg_id.as_str())).or_insert(r.ts_ns);
        }
    }
    let mut peer_of: HashMap<usize, &str> = HashMap::new();
    for (peer, node) in &index.peer_node {
        peer_of.insert(*node, peer);
    }
    // Each node's mesh as its latest `mesh` event before the record at hand (records are in
    // time order).
    let mut mesh: HashMap<usize, HashSet<&str>> = HashMap::new();
    let mut samples = Vec::new();
    let mut imposed = Vec::new();
    let mut indirect = 0u64;
    for r in records {
        let Some(node) = index.of(r) else {
            continue;
        };
        let (msg_id, received_ns, from) = match &r.event {
            Event::Mesh { peers, .. } => {
                mesh.insert(node, peers.iter().map(String::as_str).collect());
                continue;
            }
            Event::Delivered {
                msg_id,
                received_ns,
                from,
                ..
            } => (msg_id, *received_ns, from),
            _ => continue,
        };
        if !index.honest[node] {
            continue;
        }
        let Some(&relay) = index.peer_node.get(from.as_str()) else {
            continue;
        };
        let Some(&sent) = had.get(&(relay, msg_id.as_str())) else {
            continue;
        };
        if relay == node || received_ns < sent {
            continue;
        }
        let origin = index
            .messages
            .get(msg_id.as_str())
            .is_some_and(|m| m.origin == relay);
        let along_mesh = peer_of
            .get(&node)
            .is_some_and(|me| mesh.get(&relay).is_some_and(|m| m.contains(me)));
        if origin || along_mesh {
            samples.push((received_ns - sent) / 1000);
            imposed.push(u64::try_from(plan.one_way(relay, node).as_micros()).unwrap_or(u64::MAX));
        } else {
            indirect += 1;
        }
    }
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    imposed.sort_unstable();
    let h = histogram(&samples);
    let q = |p: f64| quantile(&h, p).unwrap_or_default();
    Some(MessageHops {
        samples: samples.len() as u64,
        indirect,
        p10_us: q(0.10),
        p50_us: q(0.50),
        p90_us: q(0.90),
        p99_us: q(0.99),
        // One link: its delay; by region, the median of each hop's link's.
        imposed_us: median_u64(&imposed).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use lab_events::Event;

    use super::super::fixture::{T0, published, rec, started, test_plan};
    use super::*;

    fn relayed(node: &str, msg: &str, from: &str, received_ns: u64, validated_ns: u64) -> Record {
        rec(
            validated_ns,
            node,
            Event::Delivered {
                msg_id: msg.to_string(),
                origin: "P0".to_string(),
                seq: 0,
                published_ns: T0,
                received_ns,
                from: from.to_string(),
            },
        )
    }

    fn mesh(node: &str, at: u64, peers: &[&str]) -> Record {
        rec(
            at,
            node,
            Event::Mesh {
                topic: "t".to_string(),
                peers: peers.iter().map(|p| p.to_string()).collect(),
            },
        )
    }

    #[test]
    fn a_hop_runs_from_the_relay_having_the_message_to_the_receiver_getting_it() {
        let plan = test_plan();
        let ms = 1_000_000;
        let records = vec![
            started("h-0", "P0"),
            started("h-1", "P1"),
            started("h-2", "P2"),
            started("h-3", "P3"),
            mesh("h-1", T0 - ms, &["P0", "P2"]),
            published("h-0", "m1", T0),
            // h-1 gets m1 from the origin 26 ms after it was published, validates it 2 ms later.
            relayed("h-1", "m1", "P0", T0 + 26 * ms, T0 + 28 * ms),
            // h-2, in h-1's mesh, gets it from h-1 27 ms after h-1 validated it.
            relayed("h-2", "m1", "P1", T0 + 55 * ms, T0 + 56 * ms),
            // h-3 is not in h-1's mesh: its copy was asked for (IWANT), not timed.
            relayed("h-3", "m1", "P1", T0 + 900 * ms, T0 + 901 * ms),
            // A relay nobody knows gives no hop.
            relayed("h-3", "m1", "PX", T0 + 30 * ms, T0 + 31 * ms),
        ];
        let index = Index::new(&records, &plan, None);
        let h = hops(&records, &plan, &index).expect("hops");
        assert_eq!((h.samples, h.indirect), (2, 1), "{h:?}");
        assert_eq!((h.p10_us / 1000, h.p99_us / 1000), (26, 27), "{h:?}");
        assert_eq!(h.imposed_us, 25_000);
        assert!(
            (h.relative_error().expect("imposed") - 0.04).abs() < 0.01,
            "{h:?}"
        );
        assert_eq!(
            hops(
                &records[..6],
                &plan,
                &Index::new(&records[..6], &plan, None)
            ),
            None
        );
    }

    #[test]
    fn a_relay_that_leaves_the_mesh_no_longer_gives_hops() {
        let plan = test_plan();
        let ms = 1_000_000;
        let records = vec![
            started("h-0", "P0"),
            started("h-1", "P1"),
            started("h-2", "P2"),
            mesh("h-1", T0 - ms, &["P2"]),
            published("h-0", "m1", T0),
            published("h-0", "m2", T0 + ms),
            relayed("h-1", "m1", "P0", T0 + 26 * ms, T0 + 27 * ms),
            relayed("h-1", "m2", "P0", T0 + 27 * ms, T0 + 28 * ms),
            relayed("h-2", "m1", "P1", T0 + 54 * ms, T0 + 55 * ms),
            // h-1 prunes h-2; m2 then reaches h-2 from h-1 only on request.
            mesh("h-1", T0 + 60 * ms, &[]),
            relayed("h-2", "m2", "P1", T0 + 700 * ms, T0 + 701 * ms),
        ];
        let index = Index::new(&records, &plan, None);
        let h = hops(&records, &plan, &index).expect("hops");
        assert_eq!((h.samples, h.indirect), (3, 1), "{h:?}");
        assert!(h.p99_us < 30_000, "{h:?}");
    }
}
