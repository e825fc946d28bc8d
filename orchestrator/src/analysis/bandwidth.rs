//! Bandwidth efficiency (seed 000 §7.4: "payload size to total bytes", target > 80 %):
//! the application payload the nodes accepted over the measurement window against the
//! bytes their interfaces received over the same window (every protocol and header).
//!
//! It splits into two factors, so that a reader sees what would change it:
//! `efficiency = envelope_share / wire_per_envelope`, where `envelope_share` is payload per
//! whole message (the ML-DSA signature and public key, the envelope's fields, gossipsub's
//! framing) and `wire_per_envelope` is the bytes on the wire per accepted message byte
//! (redundant copies, IHAVE/IWANT, pings, identify, Kademlia, TCP/IP headers).

use std::collections::HashMap;

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::{Window, median};
use crate::plan::Plan;
use crate::run::ContainerUsage;

/// Payload delivered against bytes on the wire over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bandwidth {
    /// Nodes whose interface counters were read at both ends of the window.
    pub nodes: usize,
    /// Accepted application messages at those nodes in the window (first copies).
    pub deliveries: u64,
    /// Their payload bytes.
    pub payload_bytes: u64,
    /// The same messages' whole size as published (envelope and signature included).
    pub message_bytes: u64,
    /// Bytes the nodes' interfaces received over the window.
    pub rx_bytes: u64,
    /// Bytes the nodes' interfaces sent over the window.
    pub tx_bytes: u64,
    /// `payload_bytes / rx_bytes`; `None` when nothing was received.
    pub efficiency: Option<f64>,
    /// `payload_bytes / message_bytes`: what the envelope leaves of each message.
    pub envelope_share: Option<f64>,
    /// `rx_bytes / message_bytes`: bytes on the wire per accepted message byte.
    pub wire_per_message: Option<f64>,
    /// The nodes' own efficiencies (payload accepted / bytes received): lowest, median,
    /// highest.
    pub per_node: Option<Spread>,
}

/// Lowest, median and highest of a figure over the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spread {
    /// The lowest.
    pub min: f64,
    /// The median.
    pub median: f64,
    /// The highest.
    pub max: f64,
}

/// The window's bandwidth efficiency, from the `published` and `delivered` records and
/// each node's interface counters (`containers`, by node name); `None` without a window
/// or without a node whose counters were read.
pub fn bandwidth(
    records: &[Record],
    plan: &Plan,
    window: Option<Window>,
    containers: &[ContainerUsage],
) -> Option<Bandwidth> {
    let window = window?;
    let sizes: HashMap<&str, (u64, u64)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Published {
                msg_id,
                size,
                wire_size,
                ..
            } => Some((msg_id.as_str(), (*size as u64, *wire_size as u64))),
            _ => None,
        })
        .collect();
    // Per node: (deliveries, payload, whole messages) accepted in the window.
    let mut accepted: HashMap<&str, (u64, u64, u64)> = HashMap::new();
    for r in records {
        if let Event::Delivered {
            msg_id,
            received_ns,
            ..
        } = &r.event
            && window.contains(*received_ns)
            && let Some((size, wire)) = sizes.get(msg_id.as_str())
        {
            let a = accepted.entry(r.node.as_str()).or_default();
            *a = (a.0 + 1, a.1 + size, a.2 + wire);
        }
    }
    let wire: HashMap<&str, (u64, u64)> = containers
        .iter()
        .filter_map(|c| Some((c.name.as_str(), (c.net_rx_bytes?, c.net_tx_bytes?))))
        .collect();
    let mut b = Bandwidth {
        nodes: 0,
        deliveries: 0,
        payload_bytes: 0,
        message_bytes: 0,
        rx_bytes: 0,
        tx_bytes: 0,
        efficiency: None,
        envelope_share: None,
        wire_per_message: None,
        per_node: None,
    };
    let mut per_node = Vec::new();
    for node in &plan.nodes {
        let Some(&(rx, tx)) = wire.get(node.name.as_str()) else {
            continue;
        };
        let (n, payload, whole) = accepted
            .get(node.name.as_str())
            .copied()
            .unwrap_or_default();
        b.nodes += 1;
        b.deliveries += n;
        b.payload_bytes += payload;
        b.message_bytes += whole;
        b.rx_bytes += rx;
        b.tx_bytes += tx;
        if rx > 0 {
            per_node.push(payload as f64 / rx as f64);
        }
    }
    if b.nodes == 0 {
        return None;
    }
    let ratio = |a: u64, d: u64| (d > 0).then(|| a as f64 / d as f64);
    b.efficiency = ratio(b.payload_bytes, b.rx_bytes);
    b.envelope_share = ratio(b.payload_bytes, b.message_bytes);
    b.wire_per_message = ratio(b.rx_bytes, b.message_bytes);
    per_node.sort_by(f64::total_cmp);
    b.per_node = match (per_node.first(), median(&per_node), per_node.last()) {
        (Some(&min), Some(median), Some(&max)) => Some(Spread { min, median, max }),
        _ => None,
    };
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture::{T0, rec, test_plan};

    fn usage(name: &str, rx: Option<u64>) -> ContainerUsage {
        ContainerUsage {
            name: name.into(),
            cpu_percent_mean: None,
            cpu_percent_peak: None,
            mem_peak_bytes: None,
            net_rx_bytes: rx,
            net_tx_bytes: rx.map(|r| r / 2),
        }
    }

    fn published(node: &str, msg_id: &str, size: usize, wire_size: usize) -> Record {
        rec(
            T0,
            node,
            Event::Published {
                msg_id: msg_id.into(),
                seq: 1,
                size,
                wire_size,
            },
        )
    }

    fn delivered(node: &str, msg_id: &str, at_ns: u64) -> Record {
        rec(
            at_ns,
            node,
            Event::Delivered {
                msg_id: msg_id.into(),
                origin: "o".into(),
                seq: 1,
                published_ns: T0,
                received_ns: at_ns,
                from: "f".into(),
            },
        )
    }

    #[test]
    fn payload_in_the_window_against_the_bytes_received() {
        let plan = test_plan();
        let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
        let window = Window {
            traffic_ns: T0,
            start_ns: T0 + 10,
            end_ns: T0 + 100,
        };
        let records = vec![
            published(names[0], "m1", 1000, 8000),
            published(names[0], "m2", 1000, 8000),
            delivered(names[1], "m1", T0 + 20),
            delivered(names[1], "m2", T0 + 30),
            delivered(names[2], "m1", T0 + 40),
            // Outside the window, and an unknown message: not counted.
            delivered(names[2], "m2", T0 + 100),
            delivered(names[2], "m9", T0 + 50),
            // No counters for this node: not counted either.
            delivered(names[3], "m1", T0 + 50),
        ];
        let containers = vec![
            usage(names[0], Some(4000)),
            usage(names[1], Some(40_000)),
            usage(names[2], Some(20_000)),
            usage(names[3], None),
        ];
        let b = bandwidth(&records, &plan, Some(window), &containers).expect("measured");
        assert_eq!(b.nodes, 3);
        assert_eq!(b.deliveries, 3);
        assert_eq!(b.payload_bytes, 3000);
        assert_eq!(b.message_bytes, 24_000);
        assert_eq!((b.rx_bytes, b.tx_bytes), (64_000, 32_000));
        assert_eq!(b.efficiency, Some(3000.0 / 64_000.0));
        assert_eq!(b.envelope_share, Some(0.125));
        assert_eq!(b.wire_per_message, Some(64_000.0 / 24_000.0));
        let s = b.per_node.expect("spread");
        assert_eq!((s.min, s.median, s.max), (0.0, 0.05, 0.05));
        let product = b.envelope_share.unwrap_or(0.0) / b.wire_per_message.unwrap_or(1.0);
        assert!((product - b.efficiency.unwrap_or(0.0)).abs() < 1e-12);
    }

    #[test]
    fn nothing_to_say_without_a_window_or_counters() {
        let plan = test_plan();
        let containers = vec![usage(&plan.nodes[0].name, None)];
        assert_eq!(bandwidth(&[], &plan, None, &containers), None);
        let window = Window {
            traffic_ns: T0,
            start_ns: T0,
            end_ns: T0 + 1,
        };
        assert_eq!(bandwidth(&[], &plan, Some(window), &containers), None);
    }
}
