//! Prometheus metrics of handshakes: connections per transport, security and group, and
//! the handshake time (dial or accept to established) per transport and security.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::Handshake;

type Labels3 = [(&'static str, String); 3];
type Labels2 = [(&'static str, String); 2];

/// The handshake metrics.
#[derive(Debug, Clone)]
pub struct HandshakeMetrics {
    connections: Family<Labels3, Counter>,
    seconds: Family<Labels2, Histogram, fn() -> Histogram>,
}

/// 0.5 ms to ~4 s, doubling.
fn histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

impl Default for HandshakeMetrics {
    fn default() -> Self {
        HandshakeMetrics {
            connections: Family::default(),
            seconds: Family::new_with_constructor(histogram),
        }
    }
}

impl HandshakeMetrics {
    /// Registers both metrics in `r`.
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "handshakes",
            "connections established, by transport, security protocol and key-exchange group",
            self.connections.clone(),
        );
        r.register(
            "handshake_seconds",
            "time from dial (or accept) to established connection",
            self.seconds.clone(),
        );
    }

    /// Counts one established connection.
    pub fn observe(&self, h: &Handshake) {
        self.connections
            .get_or_create(&[
                ("transport", h.transport.to_string()),
                ("security", h.security.clone()),
                ("group", h.group.clone()),
            ])
            .inc();
        self.seconds
            .get_or_create(&[
                ("transport", h.transport.to_string()),
                ("security", h.security.clone()),
            ])
            .observe(h.established.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn a_handshake_is_counted_and_timed() {
        let m = HandshakeMetrics::default();
        let mut r = Registry::with_prefix("meshnode");
        m.register(&mut r);
        m.observe(&Handshake {
            outbound: true,
            transport: "tcp",
            security: "tls".into(),
            group: "X25519MLKEM768".into(),
            established: Duration::from_millis(3),
            bytes: Some(3793),
        });
        let mut text = String::new();
        encode(&mut text, &r).expect("encodes");
        assert!(
            text.contains(
                "meshnode_handshakes_total{transport=\"tcp\",security=\"tls\",group=\"X25519MLKEM768\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("meshnode_handshake_seconds_count{transport=\"tcp\",security=\"tls\"} 1"),
            "{text}"
        );
    }
}
