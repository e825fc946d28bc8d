//! The per-peer byte rate limit on real connections: two nodes on loopback, over TCP and
//! over QUIC, each reading at most 16 kB a second from the other. A 64 KiB message cannot
//! arrive sooner than the limit lets it: at most a second's worth passes at once, and the
//! rest at the rate. The assertion is a lower bound on the time (a slow host only adds to
//! it), and the message arrives whole: the receiver verifies its ML-DSA signature before
//! it reports the delivery.

use std::time::Duration;

use lab_events::{Event, Record};
use meshnode::sink::ChannelSink;
use meshnode::{Command, NodeConfig};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

const DEADLINE: Duration = Duration::from_secs(90);
/// The limit under test, bytes a second (and the burst).
const LIMIT: u64 = 16_000;
/// The payload: with its envelope, more than four seconds' worth at [`LIMIT`].
const SIZE: usize = 64 * 1024;

#[derive(Clone, Copy)]
enum Transport {
    Tcp,
    Quic,
}

fn config(name: &str, transport: Transport, bootstrap: Vec<String>) -> NodeConfig {
    let listen = match transport {
        Transport::Tcp => "/ip4/127.0.0.1/tcp/0",
        Transport::Quic => "/ip4/127.0.0.1/udp/0/quic-v1",
    };
    let mut c = NodeConfig {
        mldsa_level: 65,
        score_snapshot_ms: 200,
        ..NodeConfig::sharing_a_host(name, listen, bootstrap)
    };
    c.limits.peer_bytes_per_sec = LIMIT;
    c
}

/// Receives records until `pick` returns something, or the deadline passes.
async fn until<T>(
    events: &mut mpsc::Receiver<Record>,
    what: &str,
    mut pick: impl FnMut(&Record) -> Option<T>,
) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match timeout_at(deadline, events.recv()).await {
            Ok(Some(r)) => {
                if let Some(t) = pick(&r) {
                    return t;
                }
            }
            Ok(None) => panic!("event channel closed while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

async fn a_big_message_arrives_no_faster_than_the_limit(transport: Transport) {
    let (tx, mut events) = mpsc::channel(10_000);
    let a = meshnode::start(
        config("a", transport, Vec::new()),
        Box::new(ChannelSink(tx.clone())),
    )
    .await
    .expect("a starts");
    let b = meshnode::start(
        config("b", transport, vec![a.listen_addrs[0].to_string()]),
        Box::new(ChannelSink(tx)),
    )
    .await
    .expect("b starts");
    let mut meshed = (false, false);
    until(&mut events, "both meshes", |r| {
        if let Event::Mesh { peers, .. } = &r.event {
            let has = !peers.is_empty();
            match r.node.as_str() {
                "a" => meshed.0 = has,
                _ => meshed.1 = has,
            }
        }
        (meshed.0 && meshed.1).then_some(())
    })
    .await;

    a.send(Command::Publish { size: SIZE })
        .await
        .expect("publish");
    let (wire_size, published_ns, received_ns) = {
        let mut wire = None;
        until(&mut events, "the delivery at b", |r| match &r.event {
            Event::Published { wire_size, .. } if r.node == "a" => {
                wire = Some(*wire_size);
                None
            }
            Event::Delivered {
                published_ns,
                received_ns,
                ..
            } if r.node == "b" => Some((wire, *published_ns, *received_ns)),
            _ => None,
        })
        .await
    };
    let wire_size = wire_size.expect("a published before b delivered") as u64;
    assert!(wire_size > SIZE as u64);
    // At most the burst passes at once; the rest waits for the rate.
    let floor = Duration::from_secs_f64((wire_size - LIMIT) as f64 / LIMIT as f64);
    let took = Duration::from_nanos(received_ns - published_ns);
    assert!(
        took >= floor,
        "{wire_size} bytes at {LIMIT} B/s (burst as many) take at least {floor:?}, took {took:?}"
    );
    for n in [a, b] {
        n.shutdown().await.expect("node stops");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_a_big_message_arrives_no_faster_than_the_limit() {
    a_big_message_arrives_no_faster_than_the_limit(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_a_big_message_arrives_no_faster_than_the_limit() {
    a_big_message_arrives_no_faster_than_the_limit(Transport::Quic).await;
}
