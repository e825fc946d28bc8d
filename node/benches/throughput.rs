//! Sustained publish + validate rate: one node publishes, a second validates and delivers,
//! over real TCP on loopback. Each iteration is one message from `publish` to `delivered`,
//! pipelined with at most `WINDOW` messages in flight (the time for N messages is
//! measured, divided by N). A publish that fails ends the iteration with a panic rather
//! than a hang.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lab_events::{Event, Record};
use meshnode::sink::ChannelSink;
use meshnode::{Command, NodeConfig, NodeHandle};
use tokio::sync::mpsc;

/// Messages in flight at most.
const WINDOW: u64 = 64;

fn config(name: &str, level: u16, bootstrap: Vec<String>) -> NodeConfig {
    let mut c = NodeConfig {
        name: Some(name.into()),
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        mldsa_level: level,
        metrics_port: 0,
        score_snapshot_ms: 100,
        ..NodeConfig::default()
    };
    c.gossipsub.heartbeat_ms = 200;
    c.gossipsub.ip_colocation_factor_weight = 0.0;
    c
}

async fn pair(level: u16) -> (NodeHandle, NodeHandle, mpsc::Receiver<Record>) {
    let (tx, mut rx) = mpsc::channel(1 << 20);
    let a = meshnode::start(
        config("a", level, vec![]),
        Box::new(ChannelSink(tx.clone())),
    )
    .await
    .expect("a starts");
    let b = meshnode::start(
        config("b", level, vec![a.listen_addrs[0].to_string()]),
        Box::new(ChannelSink(tx)),
    )
    .await
    .expect("b starts");
    // Wait until both meshes hold the other.
    let mut meshed = std::collections::HashSet::new();
    while meshed.len() < 2 {
        let r = rx.recv().await.expect("events");
        if let Event::Mesh { peers, .. } = &r.event
            && !peers.is_empty()
        {
            meshed.insert(r.node.clone());
        }
    }
    (a, b, rx)
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
        let (a, b, mut rx) = rt.block_on(pair(level));
        group.bench_function(format!("mldsa{level}"), |bench| {
            bench.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    let (mut sent, mut delivered) = (0u64, 0u64);
                    while delivered < iters {
                        while sent < iters && sent - delivered < WINDOW {
                            a.send(Command::Publish { size: 1024 })
                                .await
                                .expect("publish");
                            sent += 1;
                        }
                        let r = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                            .await
                            .expect("a delivery within 30 s")
                            .expect("events");
                        match r.event {
                            Event::Delivered { .. } if r.node == "b" => delivered += 1,
                            Event::PublishFailed { reason, .. } => {
                                panic!("publish failed: {reason}")
                            }
                            _ => {}
                        }
                    }
                    start.elapsed()
                })
            })
        });
        rt.block_on(async {
            a.shutdown().await.expect("a stops");
            b.shutdown().await.expect("b stops");
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
