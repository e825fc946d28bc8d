//! The records indexed once, for every figure: which plan node each record is from, each
//! node's peer id, what each node published, and the honest messages in the sample with
//! their first delivery at each receiver.

use std::collections::HashMap;

use lab_events::{Event, Record};

use crate::plan::Plan;
use crate::run::Window;

/// A message published by an honest node.
pub(super) struct Message {
    /// Plan index of the node that published it.
    pub(super) origin: usize,
    /// First-delivery latency (µs) per receiving node index; never the origin.
    pub(super) deliveries: HashMap<usize, u64>,
}

/// The records, looked up by plan node.
pub(super) struct Index<'a> {
    /// Plan index by node name.
    node: HashMap<&'a str, usize>,
    /// Whether each node (by plan index) is honest.
    pub(super) honest: Vec<bool>,
    /// Plan index by peer id, from `started` events.
    pub(super) peer_node: HashMap<&'a str, usize>,
    /// Honest messages published in the sample, by message id.
    pub(super) messages: HashMap<&'a str, Message>,
    /// Messages each node (by plan index) published in the sample.
    pub(super) published_by: Vec<u64>,
    /// Messages non-honest nodes published in the sample.
    pub(super) attacker_published: u64,
    /// Records from nodes the plan does not know.
    pub(super) foreign_events: u64,
    /// Score times count from here: the window's traffic start, else the first `published`
    /// event, else the first record.
    pub(super) reference_ns: u64,
}

impl<'a> Index<'a> {
    /// Indexes `records` against `plan`; with a `window`, only messages published inside it
    /// are in the sample.
    pub(super) fn new(records: &'a [Record], plan: &'a Plan, window: Option<Window>) -> Self {
        let mut index = Index {
            node: plan
                .nodes
                .iter()
                .map(|n| (n.name.as_str(), n.index))
                .collect(),
            honest: plan.nodes.iter().map(|n| n.is_honest()).collect(),
            peer_node: HashMap::new(),
            messages: HashMap::new(),
            published_by: vec![0; plan.nodes.len()],
            attacker_published: 0,
            foreign_events: 0,
            reference_ns: reference_ns(records, window),
        };
        index.identities_and_publications(records, window);
        index.deliveries(records);
        index
    }

    /// Plan index of the node a record is from; `None` for a node the plan does not know.
    pub(super) fn of(&self, r: &Record) -> Option<usize> {
        self.node.get(r.node.as_str()).copied()
    }

    /// Nodes in the plan.
    pub(super) fn nodes(&self) -> usize {
        self.honest.len()
    }

    /// Honest nodes in the plan.
    pub(super) fn honest_nodes(&self) -> usize {
        self.honest.iter().filter(|h| **h).count()
    }

    /// Honest receivers each honest message should reach: honest nodes but its origin.
    pub(super) fn subscribers(&self) -> u64 {
        self.honest_nodes().saturating_sub(1) as u64
    }

    /// Pass 1: peer ids and published messages (a delivery may precede its publication in
    /// the records).
    fn identities_and_publications(&mut self, records: &'a [Record], window: Option<Window>) {
        let in_window = |ts: u64| window.is_none_or(|w| w.contains(ts));
        for r in records {
            let Some(i) = self.of(r) else {
                // The orchestrator's own timeline records are not foreign.
                self.foreign_events += u64::from(r.node != crate::run::faults::RECORDER);
                continue;
            };
            match &r.event {
                Event::Started { peer_id, .. } => {
                    self.peer_node.insert(peer_id.as_str(), i);
                }
                Event::Published { msg_id, .. } if in_window(r.ts_ns) => {
                    self.published_by[i] += 1;
                    if self.honest[i] {
                        self.messages
                            .entry(msg_id.as_str())
                            .or_insert_with(|| Message {
                                origin: i,
                                deliveries: HashMap::new(),
                            });
                    } else {
                        self.attacker_published += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// Pass 2: the first delivery of each sampled message at each node but its origin
    /// (received before published, through clock skew, counts as 0).
    fn deliveries(&mut self, records: &[Record]) {
        for r in records {
            let Some(i) = self.of(r) else {
                continue;
            };
            if let Event::Delivered {
                msg_id,
                published_ns,
                received_ns,
                ..
            } = &r.event
                && let Some(m) = self
                    .messages
                    .get_mut(msg_id.as_str())
                    .filter(|m| m.origin != i)
            {
                let us = received_ns.saturating_sub(*published_ns) / 1000;
                let e = m.deliveries.entry(i).or_insert(us);
                *e = (*e).min(us);
            }
        }
    }
}

/// The window's traffic start, else the first `published` event, else the first record,
/// else 0.
fn reference_ns(records: &[Record], window: Option<Window>) -> u64 {
    window
        .map(|w| w.traffic_ns)
        .or_else(|| {
            records
                .iter()
                .filter(|r| matches!(r.event, Event::Published { .. }))
                .map(|r| r.ts_ns)
                .min()
        })
        .or_else(|| records.iter().map(|r| r.ts_ns).min())
        .unwrap_or(0)
}
