//! Delivery: what each node received of the honest messages (the first-delivery latencies
//! every latency figure is made of) against what it should have, as a [`DeliveryRatio`].

use serde::{Deserialize, Serialize};

use super::index::Index;

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

/// `delivered` of `expected`, with their ratio when something was expected.
pub(super) fn ratio(delivered: u64, expected: u64) -> DeliveryRatio {
    DeliveryRatio {
        delivered,
        expected,
        ratio: (expected > 0).then(|| delivered as f64 / expected as f64),
    }
}

/// What each node (by plan index) received of the honest messages in the sample.
pub(super) struct Receipts {
    /// First-delivery latencies (µs), one per message received.
    pub(super) samples: Vec<Vec<u64>>,
    /// Messages it should have received: every honest message but its own.
    pub(super) expected: Vec<u64>,
}

impl Receipts {
    /// Each node's deliveries and expectations.
    pub(super) fn new(index: &Index) -> Self {
        let mut samples: Vec<Vec<u64>> = vec![Vec::new(); index.nodes()];
        let mut expected = vec![index.messages.len() as u64; index.nodes()];
        for m in index.messages.values() {
            for (&rcv, &us) in &m.deliveries {
                samples[rcv].push(us);
            }
            // A node's own messages are not expected back.
            expected[m.origin] -= 1;
        }
        Receipts { samples, expected }
    }

    /// The latencies at honest receivers, in plan order.
    pub(super) fn honest_samples(&self, index: &Index) -> Vec<u64> {
        self.samples
            .iter()
            .zip(&index.honest)
            .filter(|(_, honest)| **honest)
            .flat_map(|(s, _)| s.iter().copied())
            .collect()
    }
}

/// Deliveries at honest receivers (`honest_samples`, one each) against every honest
/// message at every honest subscriber.
pub(super) fn honest_delivery(honest_samples: &[u64], index: &Index) -> DeliveryRatio {
    ratio(
        honest_samples.len() as u64,
        index.messages.len() as u64 * index.subscribers(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixture;

    #[test]
    fn synthetic_run_gives_the_hand_computed_delivery_ratio() {
        let s = fixture::synthetic_stats();
        // 5 of 2 messages × 3 subscribers.
        assert_eq!(s.delivery.delivered, 5);
        assert_eq!(s.delivery.expected, 6);
        assert_eq!(s.delivery.ratio, Some(5.0 / 6.0));
    }
}
