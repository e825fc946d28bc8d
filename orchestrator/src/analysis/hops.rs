//! Message hops: the time real messages spend on one link, which pings (small packets,
//! answered by the kernel) do not see. For every delivery at an honest node, the hop runs
//! from the moment the relay named in `from` had the message (its own `published` event
//! when it is the origin, else its `delivered` event, written once it had validated the
//! message) to the receiver's `received_ns`. It includes the relay's send path, the link,
//! and copies a relay sent on request (IWANT), which the events do not tell apart.

use std::collections::HashMap;

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::latency::{histogram, quantile};
use crate::plan::Plan;

/// The distribution of per-hop times of the sample's honest messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageHops {
    /// Hops measured.
    pub samples: u64,
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
    let mut samples: Vec<u64> = records
        .iter()
        .filter_map(|r| {
            let Event::Delivered {
                msg_id,
                received_ns,
                from,
                ..
            } = &r.event
            else {
                return None;
            };
            let receiver = index.of(r).filter(|&i| index.honest[i])?;
            let relay = *index.peer_node.get(from.as_str())?;
            let sent = *had.get(&(relay, msg_id.as_str()))?;
            (receiver != relay && *received_ns >= sent).then(|| (received_ns - sent) / 1000)
        })
        .collect();
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let h = histogram(&samples);
    let q = |p: f64| quantile(&h, p).unwrap_or_default();
    Some(MessageHops {
        samples: samples.len() as u64,
        p10_us: q(0.10),
        p50_us: q(0.50),
        p90_us: q(0.90),
        p99_us: q(0.99),
        imposed_us: u64::try_from(plan.link.delay.as_micros()).unwrap_or(u64::MAX),
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

    #[test]
    fn a_hop_runs_from_the_relay_having_the_message_to_the_receiver_getting_it() {
        let plan = test_plan();
        let ms = 1_000_000;
        let records = vec![
            started("h-0", "P0"),
            started("h-1", "P1"),
            started("h-2", "P2"),
            published("h-0", "m1", T0),
            // h-1 gets m1 from the origin 26 ms after it was published, validates it 2 ms later.
            relayed("h-1", "m1", "P0", T0 + 26 * ms, T0 + 28 * ms),
            // h-2 gets it from h-1 27 ms after h-1 validated it.
            relayed("h-2", "m1", "P1", T0 + 55 * ms, T0 + 56 * ms),
            // A relay nobody knows gives no hop.
            relayed("h-3", "m1", "PX", T0 + 30 * ms, T0 + 31 * ms),
        ];
        let index = Index::new(&records, &plan, None);
        let h = hops(&records, &plan, &index).expect("hops");
        assert_eq!(h.samples, 2, "{h:?}");
        assert_eq!((h.p10_us / 1000, h.p99_us / 1000), (26, 27), "{h:?}");
        assert_eq!(h.imposed_us, 25_000);
        assert_eq!(
            hops(
                &records[..4],
                &plan,
                &Index::new(&records[..4], &plan, None)
            ),
            None
        );
    }
}
