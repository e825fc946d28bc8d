//! Sustained publish → validate → deliver rate between two nodes over real TCP on loopback:
//! node `a` publishes 1 KiB messages signed with ML-DSA, node `b` validates and delivers
//! them. Each iteration is one message from `publish` at `a` to `delivered` at `b`,
//! pipelined with at most `WINDOW` messages in flight (the time for N messages is measured,
//! divided by N), so criterion's elem/s is messages per second.
//!
//! `b` also publishes a small message every `KEEPALIVE`. The bench measures one node's
//! publish and validate rate, not peer scoring, but the spec's scoring still runs, and its
//! P3 (mesh message deliveries: threshold 10, activation 10 s, weight -1) gives a mesh peer
//! that delivers nothing a score of about -100 ten seconds after the graft. Were `b`
//! silent, `a` would prune it then; once they are out of each other's mesh, each gossips
//! IHAVEs to the other listing every message id of the last `history_gossip` heartbeats,
//! and at this rate those exceed gossipsub 0.50's 16 KiB limit on the control part of an
//! inbound RPC. The receiver then drops its inbound stream, the sender's messages pile up
//! in a yamux stream nobody reads, and deliveries stop with no error and no
//! `PublishFailed`. The keepalive (10 messages/s, well under 1 % of `a`'s rate) keeps `b`
//! above P3's threshold at `a`, so both stay in the mesh and no IHAVE is sent.
//!
//! Nothing waits forever: a stall panics with "no delivery for 10 s: N of M delivered" and
//! the last scores and meshes; a publish that fails, or a mesh that loses its peer, panics
//! too (either means the bench no longer measures what it claims).
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lab_events::{Event, Record};
use meshnode::sink::ChannelSink;
use meshnode::{Command, NodeConfig, NodeHandle};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Messages in flight at most.
const WINDOW: u64 = 64;
/// Payload size of the measured messages.
const SIZE: usize = 1024;
/// Longest wait for the next delivery (or for the node to take a publish command).
const STALL: Duration = Duration::from_secs(10);
/// Longest wait for the pair to start and mesh, or to stop.
const SETUP: Duration = Duration::from_secs(30);
/// Period of `b`'s keepalive messages.
const KEEPALIVE: Duration = Duration::from_millis(100);
/// Payload size of `b`'s keepalive messages.
const KEEPALIVE_SIZE: usize = 64;

fn config(name: &str, level: u16, bootstrap: Vec<String>) -> NodeConfig {
    NodeConfig {
        mldsa_level: level,
        score_snapshot_ms: 100,
        ..NodeConfig::sharing_a_host(name, "/ip4/127.0.0.1/tcp/0", bootstrap)
    }
}

/// Two meshed nodes, their event records, and `b`'s keepalive publisher.
struct Pair {
    a: NodeHandle,
    b: NodeHandle,
    rx: mpsc::Receiver<Record>,
    keepalive: JoinHandle<()>,
    /// The last scores each node reported, for the stall message.
    scores: BTreeMap<String, Vec<f64>>,
}

impl Pair {
    /// Starts `a` and `b`, waits until each holds the other in its mesh, then starts the
    /// keepalive.
    async fn start(level: u16) -> Self {
        let (tx, mut rx) = mpsc::channel(1 << 20);
        let a = meshnode::start(
            config("a", level, vec![]),
            Box::new(ChannelSink(tx.clone())),
        )
        .await
        .expect("node a starts");
        let b = meshnode::start(
            config("b", level, vec![a.listen_addrs[0].to_string()]),
            Box::new(ChannelSink(tx)),
        )
        .await
        .expect("node b starts");
        let deadline = tokio::time::Instant::now() + SETUP;
        let mut meshed = std::collections::HashSet::new();
        while meshed.len() < 2 {
            let r = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("nodes not meshed within {SETUP:?}: {meshed:?}"))
                .expect("event channel open");
            if let Event::Mesh { peers, .. } = &r.event
                && !peers.is_empty()
            {
                meshed.insert(r.node.clone());
            }
        }
        let commands = b.commands();
        let keepalive = tokio::spawn(async move {
            let mut tick = tokio::time::interval(KEEPALIVE);
            loop {
                tick.tick().await;
                let publish = Command::Publish {
                    size: KEEPALIVE_SIZE,
                };
                if commands.send(publish).await.is_err() {
                    break;
                }
            }
        });
        Self {
            a,
            b,
            rx,
            keepalive,
            scores: BTreeMap::new(),
        }
    }

    /// Notes one record; true if it is a delivery at `b`. Panics on a failed publish or a
    /// mesh that lost its peer.
    fn observe(&mut self, r: Record) -> bool {
        match r.event {
            Event::Delivered { .. } => r.node == "b",
            Event::PublishFailed { seq, reason } => {
                panic!("node {} failed to publish message {seq}: {reason}", r.node)
            }
            Event::Mesh { peers, .. } if peers.is_empty() => panic!(
                "node {} pruned its mesh peer, so the bench no longer measures mesh \
                 delivery; last scores: {:?}",
                r.node, self.scores
            ),
            Event::Scores { scores } => {
                self.scores
                    .insert(r.node, scores.iter().map(|s| s.score).collect());
                false
            }
            _ => false,
        }
    }

    /// Publishes `iters` messages at `a`, at most `WINDOW` in flight, and returns the time
    /// until `b` delivered the last.
    async fn run(&mut self, iters: u64) -> Duration {
        // Records that arrived between samples (scores, keepalive traffic) are not timed.
        while let Ok(r) = self.rx.try_recv() {
            self.observe(r);
        }
        let start = Instant::now();
        let (mut sent, mut delivered) = (0u64, 0u64);
        let mut deadline = tokio::time::Instant::now() + STALL;
        while delivered < iters {
            while sent < iters && sent - delivered < WINDOW {
                tokio::time::timeout_at(deadline, self.a.send(Command::Publish { size: SIZE }))
                    .await
                    .unwrap_or_else(|_| {
                        panic!("node a took no publish command for {} s", STALL.as_secs())
                    })
                    .expect("node a is running");
                sent += 1;
            }
            let Ok(r) = tokio::time::timeout_at(deadline, self.rx.recv()).await else {
                panic!(
                    "no delivery for {} s: {delivered} of {iters} delivered ({sent} published); \
                     last scores: {:?}",
                    STALL.as_secs(),
                    self.scores
                );
            };
            if self.observe(r.expect("event channel open")) {
                delivered += 1;
                deadline = tokio::time::Instant::now() + STALL;
            }
        }
        start.elapsed()
    }

    /// Stops the keepalive and both nodes.
    async fn stop(self) {
        self.keepalive.abort();
        for (name, node) in [("a", self.a), ("b", self.b)] {
            tokio::time::timeout(SETUP, node.shutdown())
                .await
                .unwrap_or_else(|_| panic!("node {name} did not stop within {SETUP:?}"))
                .expect("node stops");
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("publish_validate_deliver_1KiB");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));
    for level in [44u16, 65, 87] {
        let mut pair = rt.block_on(Pair::start(level));
        group.bench_function(format!("mldsa{level}"), |bench| {
            bench.iter_custom(|iters| rt.block_on(pair.run(iters)))
        });
        rt.block_on(pair.stop());
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
