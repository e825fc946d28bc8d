//! A publisher restarted with the same identity (the timeline's `restart`): its messages
//! of the second lifetime carry sequence numbers it never used before, so a peer that
//! stayed up and remembers the first lifetime's `(origin, seq)` pairs still delivers them
//! (neither a duplicate nor an equivocation).

use std::time::Duration;

use lab_events::{Event, Record};
use meshnode::sink::ChannelSink;
use meshnode::{Command, NodeConfig, NodeHandle};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

const DEADLINE: Duration = Duration::from_secs(60);
const MESSAGES: usize = 3;

fn config(name: &str, bootstrap: Vec<String>) -> NodeConfig {
    NodeConfig {
        mldsa_level: 44,
        identity_seed: Some(format!("restart-test/{name}")),
        ..NodeConfig::sharing_a_host(name, "/ip4/127.0.0.1/tcp/0", bootstrap)
    }
}

/// Receives records into `log` until `done` holds over it, or fails at the deadline.
async fn until(
    events: &mut mpsc::Receiver<Record>,
    log: &mut Vec<Record>,
    what: &str,
    done: impl Fn(&[Record]) -> bool,
) {
    let deadline = Instant::now() + DEADLINE;
    while !done(log) {
        match timeout_at(deadline, events.recv()).await {
            Ok(Some(r)) => log.push(r),
            Ok(None) => panic!("event channel closed while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}; log: {log:?}"),
        }
    }
}

/// `node`'s latest mesh holds a peer.
fn meshed(log: &[Record], node: &str) -> bool {
    log.iter()
        .rev()
        .find_map(|r| match &r.event {
            Event::Mesh { peers, .. } if r.node == node => Some(!peers.is_empty()),
            _ => None,
        })
        .unwrap_or(false)
}

/// The sequence numbers `node` delivered from `origin`.
fn delivered(log: &[Record], node: &str, origin: &str) -> Vec<u64> {
    log.iter()
        .filter_map(|r| match &r.event {
            Event::Delivered { origin: o, seq, .. } if r.node == node && o == origin => Some(*seq),
            _ => None,
        })
        .collect()
}

/// Starts the publisher `pub` (dialling `stay`), waits for its mesh, publishes
/// `MESSAGES` and waits until `stay` delivered `want` of its messages in all.
async fn lifetime(
    stay: &NodeHandle,
    events: &mut mpsc::Receiver<Record>,
    tx: &mpsc::Sender<Record>,
    log: &mut Vec<Record>,
    want: usize,
) -> NodeHandle {
    let bootstrap = vec![stay.listen_addrs[0].to_string()];
    let publisher = meshnode::start(config("pub", bootstrap), Box::new(ChannelSink(tx.clone())))
        .await
        .expect("publisher starts");
    let from = log.len();
    until(events, log, "the publisher's mesh", |l| {
        meshed(&l[from..], "pub")
    })
    .await;
    for _ in 0..MESSAGES {
        publisher
            .send(Command::Publish { size: 64 })
            .await
            .expect("publish");
    }
    let origin = publisher.peer_id.to_string();
    until(events, log, "the publisher's messages", |l| {
        delivered(l, "stay", &origin).len() >= want
    })
    .await;
    publisher
}

#[tokio::test]
async fn a_restarted_publisher_never_reuses_a_sequence_number() {
    let (tx, mut events) = mpsc::channel(100_000);
    let mut log = Vec::new();
    let stay = meshnode::start(
        config("stay", Vec::new()),
        Box::new(ChannelSink(tx.clone())),
    )
    .await
    .expect("node starts");

    let first = lifetime(&stay, &mut events, &tx, &mut log, MESSAGES).await;
    let origin = first.peer_id.to_string();
    first.shutdown().await.expect("publisher stops");
    let second = lifetime(&stay, &mut events, &tx, &mut log, 2 * MESSAGES).await;
    assert_eq!(second.peer_id.to_string(), origin, "the same identity");

    let seqs = delivered(&log, "stay", &origin);
    assert_eq!(seqs.len(), 2 * MESSAGES, "{seqs:?}");
    let (before, after) = seqs.split_at(MESSAGES);
    let (last, next) = (before.iter().max(), after.iter().min());
    assert!(
        last < next,
        "the second lifetime goes on above the first: {seqs:?}"
    );
    let rejected: Vec<&Record> = log
        .iter()
        .filter(|r| matches!(r.event, Event::Rejected { .. }))
        .collect();
    assert!(rejected.is_empty(), "{rejected:?}");
    second.shutdown().await.expect("publisher stops");
    stay.shutdown().await.expect("node stops");
}
