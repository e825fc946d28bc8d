//! The bandwidth efficiency in words, for the summary and the report: the headline ratio,
//! then its two factors (what the envelope leaves of a message, and the bytes on the wire
//! per accepted message byte), so that a reader sees which one to change.

use crate::analysis::Bandwidth;

/// `4.9 % of the 21.0 MB the nodes received was payload (1.0 MB over 30 nodes; per node
/// 3.1 %–5.6 %, median 4.9 %): a message is 13.8 % payload (…), 2.84 B on the wire per
/// accepted message byte`.
pub(crate) fn line(b: &Bandwidth) -> String {
    let pct = |v: f64| format!("{:.1} %", v * 100.0);
    let mut t = match b.efficiency {
        Some(e) => format!(
            "{} of the {} the nodes received was payload ({} over {} nodes",
            pct(e),
            megabytes(b.rx_bytes),
            megabytes(b.payload_bytes),
            b.nodes
        ),
        None => format!("nothing received ({} nodes", b.nodes),
    };
    if let Some(s) = &b.per_node {
        t.push_str(&format!(
            "; per node {}–{}, median {}",
            pct(s.min),
            pct(s.max),
            pct(s.median)
        ));
    }
    t.push(')');
    if let (Some(share), Some(wire)) = (b.envelope_share, b.wire_per_message) {
        t.push_str(&format!(
            ": a message is {} payload (envelope and signature the rest), {wire:.2} B on the wire per accepted message byte",
            pct(share)
        ));
    }
    t
}

/// Bytes in decimal megabytes, `24.6 MB`.
fn megabytes(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Spread;

    #[test]
    fn the_ratio_then_its_two_factors() {
        let b = Bandwidth {
            nodes: 30,
            deliveries: 1000,
            payload_bytes: 1_024_000,
            message_bytes: 7_400_000,
            rx_bytes: 21_000_000,
            tx_bytes: 21_100_000,
            efficiency: Some(1_024_000.0 / 21_000_000.0),
            envelope_share: Some(1024.0 / 7400.0),
            wire_per_message: Some(21.0 / 7.4),
            per_node: Some(Spread {
                min: 0.031,
                median: 0.049,
                max: 0.056,
            }),
        };
        assert_eq!(
            line(&b),
            "4.9 % of the 21.0 MB the nodes received was payload (1.0 MB over 30 nodes; per node 3.1 %–5.6 %, median 4.9 %): a message is 13.8 % payload (envelope and signature the rest), 2.84 B on the wire per accepted message byte"
        );
        let none = Bandwidth {
            efficiency: None,
            envelope_share: None,
            per_node: None,
            ..b
        };
        assert_eq!(line(&none), "nothing received (30 nodes)");
    }
}
