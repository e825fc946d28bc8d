//! Prometheus metrics and the `/metrics` endpoint.
//!
//! The HTTP server is our own, on purpose. It answers one request a connection, `GET
//! /metrics` (or `HEAD`), with one text body, and closes: about sixty lines on tokio, which
//! the node has anyway. prometheus-client has no server, and libp2p none either; hyper (with
//! hyper-util and http-body-util, or axum with tower on top) would add a dozen crates to a
//! binary that goes into every container, for keep-alive, chunked bodies and HTTP/2 that a
//! scraper does not need. What a server on an open port does need, it has: the request head
//! is read to at most [`MAX_HEAD`] bytes, every exchange ends within [`EXCHANGE_TIMEOUT`],
//! at most [`MAX_CLIENTS`] are served at once, and any other path is 404 (method 405,
//! malformed 400, oversized 431).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

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
    /// Handshakes by transport, security and group, and their times.
    pub handshakes: crate::security::HandshakeMetrics,
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
        self.handshakes.register(r);
    }
}

/// The scheduled Kademlia queries (`lookups.rs`): a counter by kind and outcome, and a
/// histogram of their real durations in seconds (1 ms to ~33 s).
#[derive(Debug, Clone)]
pub struct DhtMetrics {
    /// Queries ended, labelled `kind` (`closest`, `provide`, `providers`) and `outcome`
    /// (`ok`, `failed`).
    pub queries: Family<Vec<(String, String)>, Counter>,
    /// Their durations, seconds.
    pub duration: Histogram,
}

impl Default for DhtMetrics {
    fn default() -> Self {
        Self {
            queries: Family::default(),
            duration: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
        }
    }
}

impl DhtMetrics {
    /// Registers both metrics in `r`.
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "dht_queries",
            "scheduled kademlia queries ended, by kind and outcome",
            self.queries.clone(),
        );
        r.register(
            "dht_query_seconds",
            "scheduled kademlia query durations",
            self.duration.clone(),
        );
    }

    /// Counts one query of `kind` that ended (`ok` or not) after `took`.
    pub fn record(&self, kind: &str, ok: bool, took: Duration) {
        let outcome = if ok { "ok" } else { "failed" };
        self.queries
            .get_or_create(&vec![
                ("kind".to_string(), kind.to_string()),
                ("outcome".to_string(), outcome.to_string()),
            ])
            .inc();
        self.duration.observe(took.as_secs_f64());
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

/// The longest request head read (request line and headers); a scrape's is ~200 bytes.
pub const MAX_HEAD: usize = 8 * 1024;
/// How long one exchange (read the request, write the answer) may take.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);
/// Clients served at once; beyond them a new connection is closed unanswered.
pub const MAX_CLIENTS: usize = 8;
/// The pause after a failed accept (e.g. out of file descriptors), so it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `registry` as text at `/metrics` on `0.0.0.0:port` until the task is aborted.
pub async fn serve(port: u16, registry: Arc<Registry>) -> io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    serve_on(listener, registry).await
}

async fn serve_on(listener: TcpListener, registry: Arc<Registry>) -> io::Result<()> {
    let clients = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "failed to accept a metrics client");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = clients.clone().try_acquire_owned() else {
            continue;
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange(stream, &registry)).await;
        });
    }
}

/// Reads one request and writes its answer.
async fn exchange(mut stream: TcpStream, registry: &Registry) -> io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head_complete(&head) && head.len() <= MAX_HEAD {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    if head.is_empty() {
        return Ok(());
    }
    stream.write_all(&answer(&head, registry)).await?;
    stream.shutdown().await
}

fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n")
}

/// The response to a request that begins with `head`.
fn answer(head: &[u8], registry: &Registry) -> Vec<u8> {
    if head.len() > MAX_HEAD {
        return response("431 Request Header Fields Too Large", "", "");
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return response("400 Bad Request", "", "");
    };
    if !version.starts_with("HTTP/1.") {
        return response("400 Bad Request", "", "");
    }
    if method != "GET" && method != "HEAD" {
        return response("405 Method Not Allowed", "Allow: GET, HEAD\r\n", "");
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if path != "/metrics" {
        return response("404 Not Found", "", "");
    }
    let mut body = String::new();
    if encode(&mut body, registry).is_err() {
        return response("500 Internal Server Error", "", "");
    }
    let mut out = response(
        "200 OK",
        "Content-Type: text/plain; version=0.0.4\r\n",
        &body,
    );
    if method == "HEAD" {
        out.truncate(out.len() - body.len());
    }
    out
}

/// A whole response: status line, `headers` (each ending in CRLF), length, and `body`.
fn response(status: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
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

    fn registry() -> Registry {
        let mut r = Registry::with_prefix("meshnode");
        let m = Metrics::default();
        m.published.inc();
        m.register(&mut r);
        r
    }

    /// Sends `request` to a server on loopback and reads its answer to the end.
    async fn ask(request: &[u8]) -> String {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(serve_on(listener, Arc::new(registry())));
        let exchange = async {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            stream.write_all(request).await.expect("write");
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.expect("read");
            answer
        };
        let answer = tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .expect("answered in time");
        server.abort();
        String::from_utf8(answer).expect("text")
    }

    #[test]
    fn dht_queries_are_counted_by_kind_and_outcome() {
        let mut r = Registry::with_prefix("meshnode");
        let m = DhtMetrics::default();
        m.register(&mut r);
        m.record("closest", true, Duration::from_millis(20));
        m.record("closest", false, Duration::from_secs(60));
        let mut text = String::new();
        encode(&mut text, &r).expect("encodes");
        assert!(
            text.contains("meshnode_dht_queries_total{kind=\"closest\",outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("meshnode_dht_query_seconds_count 2"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_scrape_gets_the_registry_as_text() {
        let answer = ask(b"GET /metrics HTTP/1.1\r\nHost: node\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert!(body.contains("meshnode_published_total 1"), "{body}");
    }

    #[tokio::test]
    async fn a_head_request_gets_no_body() {
        let answer = ask(b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\n"), "{answer}");
    }

    #[tokio::test]
    async fn other_paths_are_not_found() {
        let answer = ask(b"GET / HTTP/1.1\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
    }

    #[tokio::test]
    async fn other_methods_and_malformed_requests_are_refused() {
        let answer = ask(b"POST /metrics HTTP/1.1\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 405 "), "{answer}");
        let answer = ask(b"hello\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    }

    #[tokio::test]
    async fn an_endless_request_head_is_cut_off() {
        // One byte over the bound, all of it read: a server that closes with unread data
        // resets the connection, and the answer could be lost.
        let mut request = b"GET /metrics HTTP/1.1\r\n".to_vec();
        request.resize(MAX_HEAD + 1, b'x');
        let answer = ask(&request).await;
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    }
}
