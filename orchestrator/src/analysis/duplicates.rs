//! Redundant gossipsub copies, from the honest nodes' `stopped` counters.

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use crate::plan::Plan;

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

/// Sums the `stopped` counters of honest nodes; `None` when none reported them.
pub(super) fn duplicates(records: &[Record], plan: &Plan) -> Option<Duplicates> {
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

#[cfg(test)]
mod tests {
    use super::super::fixture::{T0, rec, test_plan};
    use super::*;

    fn stopped(node: &str, received: u64, received_unique: u64) -> Record {
        rec(
            T0,
            node,
            Event::Stopped {
                published: 0,
                delivered: 0,
                rejected: 0,
                received,
                received_unique,
            },
        )
    }

    #[test]
    fn honest_counters_are_summed() {
        let p = test_plan();
        assert_eq!(duplicates(&[], &p), None);
        let v = [
            stopped("h-0", 30, 10),
            stopped("h-1", 20, 10),
            // Neither the attacker's nor an unknown node's counters count.
            stopped("e-0", 500, 1),
            stopped("stranger", 500, 1),
        ];
        let d = duplicates(&v, &p).expect("honest counters");
        assert_eq!((d.received, d.unique, d.per_delivery), (50, 20, Some(1.5)));
        let none_unique = duplicates(&[stopped("h-2", 0, 0)], &p).expect("reported");
        assert_eq!(none_unique.per_delivery, None);
    }
}
