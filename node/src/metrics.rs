//! Prometheus metrics and the `/metrics` endpoint.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The node's counters and gauges.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Messages published.
    pub published: Counter,
    /// Publish attempts that failed.
    pub publish_failed: Counter,
    /// Messages accepted from others.
    pub delivered: Counter,
    /// Messages rejected or ignored.
    pub rejected: Counter,
    /// Peers with at least one connection.
    pub connected_peers: Gauge,
    /// Peers in the topic mesh.
    pub mesh_peers: Gauge,
}

impl Metrics {
    /// Registers every metric in `r`.
    pub fn register(&self, r: &mut Registry) {
        r.register("published", "messages published", self.published.clone());
        r.register(
            "publish_failed",
            "publish attempts that failed",
            self.publish_failed.clone(),
        );
        r.register("delivered", "messages accepted", self.delivered.clone());
        r.register(
            "rejected",
            "messages rejected or ignored",
            self.rejected.clone(),
        );
        r.register(
            "connected_peers",
            "connected peers",
            self.connected_peers.clone(),
        );
        r.register(
            "mesh_peers",
            "peers in the topic mesh",
            self.mesh_peers.clone(),
        );
    }
}

/// Gossipsub's received-message counters summed over topics: `(with duplicates, without)`.
pub fn gossip_received(registry: &Registry) -> (u64, u64) {
    let mut text = String::new();
    if encode(&mut text, registry).is_err() {
        return (0, 0);
    }
    received_counts(&text)
}

fn received_counts(text: &str) -> (u64, u64) {
    let mut all = 0;
    let mut unique = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = name.split('{').next().unwrap_or(name);
        let value = value.parse::<f64>().unwrap_or(0.0) as u64;
        if name.ends_with("topic_msg_recv_counts_unfiltered_total") {
            all += value;
        } else if name.ends_with("topic_msg_recv_counts_total") {
            unique += value;
        }
    }
    (all, unique)
}

/// Serves `registry` as text on `0.0.0.0:port` at any path until the task is aborted.
pub async fn serve(port: u16, registry: Arc<Registry>) -> std::io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    loop {
        let (mut stream, _) = listener.accept().await?;
        let registry = registry.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            // One read is enough for a scrape's request line; the body is ignored.
            let _ = stream.read(&mut buf).await;
            let mut body = String::new();
            if encode(&mut body, &registry).is_err() {
                return;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_counters_are_summed_over_topics() {
        let text = "# HELP x\nmeshnode_topic_msg_recv_counts_unfiltered_total{hash=\"a\"} 7\n\
meshnode_topic_msg_recv_counts_unfiltered_total{hash=\"b\"} 3\n\
meshnode_topic_msg_recv_counts_total{hash=\"a\"} 4\nother_total 9\n";
        assert_eq!(received_counts(text), (10, 4));
    }
}
