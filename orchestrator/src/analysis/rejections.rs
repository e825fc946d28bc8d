//! Rejected messages, counted by receiving node and by reason.

use std::collections::BTreeMap;

use lab_events::{Event, Record};

use super::index::Index;

/// Rejections at the plan's nodes.
pub(super) struct Rejections {
    /// Messages each node (by plan index) rejected.
    pub(super) by_node: Vec<u64>,
    /// Messages rejected at all nodes, by reason.
    pub(super) by_reason: BTreeMap<String, u64>,
}

impl Rejections {
    /// Counts the `rejected` events of nodes the plan knows.
    pub(super) fn new(records: &[Record], index: &Index) -> Self {
        let mut by_node = vec![0u64; index.nodes()];
        let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
        for r in records {
            if let Event::Rejected { reason, .. } = &r.event
                && let Some(i) = index.of(r)
            {
                by_node[i] += 1;
                *by_reason.entry(reason.clone()).or_insert(0) += 1;
            }
        }
        Rejections { by_node, by_reason }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;

    #[test]
    fn synthetic_run_gives_the_hand_computed_rejections() {
        let s = fixture::synthetic_stats();
        assert_eq!(s.rejections.get("invalid signature"), Some(&2));
        assert_eq!(s.rejections.len(), 1);
    }
}
