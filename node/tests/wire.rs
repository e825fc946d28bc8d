//! The roles that speak gossipsub themselves (`ihave-liar`, `graft-backoff`), each against
//! one honest node on loopback: the honest node meshes with the adversary, then its own
//! gossipsub records the misbehaviour (libp2p's penalty counters, read from its metrics
//! endpoint: libp2p decoded the adversary's frames and judged them) and scores the
//! adversary below zero by the behaviour penalty (P7), with the topic parts that the node
//! reconstructs (P1–P3b) not negative and nothing rejected (no P4).

use std::collections::HashMap;
use std::time::Duration;

use lab_events::{Event, PeerScore, Record};
use meshnode::sink::ChannelSink;
use meshnode::{NodeConfig, NodeHandle, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

const DEADLINE: Duration = Duration::from_secs(60);

struct Pair {
    honest: NodeHandle,
    adversary: NodeHandle,
    metrics_port: u16,
    events: mpsc::Receiver<Record>,
    log: Vec<Record>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn config(name: &str, role: Role, bootstrap: Vec<String>) -> NodeConfig {
    let mut c = NodeConfig {
        role,
        mldsa_level: 44,
        score_snapshot_ms: 200,
        ..NodeConfig::sharing_a_host(name, "/ip4/127.0.0.1/tcp/0", bootstrap)
    };
    // No P3 within the test: an adversary meshed with an idle honest node has nothing to
    // deliver, and the deficit must not be what scores it down.
    c.gossipsub.mesh_message_deliveries_activation_ms = 600_000;
    c
}

impl Pair {
    async fn start(role: Role) -> Pair {
        let (tx, events) = mpsc::channel(100_000);
        let metrics_port = free_port();
        let honest = meshnode::start(
            NodeConfig {
                metrics_port,
                ..config("honest", Role::Honest, Vec::new())
            },
            Box::new(ChannelSink(tx.clone())),
        )
        .await
        .expect("honest node starts");
        let adversary = meshnode::start(
            config("adversary", role, vec![honest.listen_addrs[0].to_string()]),
            Box::new(ChannelSink(tx)),
        )
        .await
        .expect("adversary starts");
        Pair {
            honest,
            adversary,
            metrics_port,
            events,
            log: Vec::new(),
        }
    }

    /// Receives events until `found` returns something, or fails the test at the deadline.
    async fn until<T>(&mut self, what: &str, mut found: impl FnMut(&[Record]) -> Option<T>) -> T {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(t) = found(&self.log) {
                return t;
            }
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(r)) => self.log.push(r),
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    /// Waits until the honest node's mesh holds the adversary.
    async fn meshed(&mut self) {
        let adversary = self.adversary.peer_id.to_string();
        self.until("the honest node meshing with the adversary", |log| {
            log.iter()
                .any(|r| {
                    r.node == "honest"
                        && matches!(&r.event, Event::Mesh { peers, .. } if peers.contains(&adversary))
                })
                .then_some(())
        })
        .await;
    }

    /// Waits until a mesh of the honest node's, after one holding the adversary, lacks
    /// it: pruned.
    async fn pruned(&mut self) {
        let adversary = self.adversary.peer_id.to_string();
        self.until("the honest node pruning the adversary", |log| {
            let mut meshed = false;
            for r in log.iter().filter(|r| r.node == "honest") {
                if let Event::Mesh { peers, .. } = &r.event {
                    if peers.contains(&adversary) {
                        meshed = true;
                    } else if meshed {
                        return Some(());
                    }
                }
            }
            None
        })
        .await;
    }

    /// The honest node's first snapshot scoring the adversary below zero.
    async fn scored_below_zero(&mut self) -> PeerScore {
        let adversary = self.adversary.peer_id.to_string();
        self.until("the honest node scoring the adversary below zero", |log| {
            log.iter().find_map(|r| match &r.event {
                Event::Scores { scores } if r.node == "honest" => scores
                    .iter()
                    .find(|s| s.peer == adversary && s.score < 0.0)
                    .cloned(),
                _ => None,
            })
        })
        .await
    }

    /// The honest gossipsub's penalty counters, by kind, from its metrics endpoint.
    async fn penalties(&self) -> HashMap<String, f64> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.metrics_port))
            .await
            .expect("metrics endpoint");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        let mut text = String::new();
        stream.read_to_string(&mut text).await.expect("response");
        let mut by_kind = HashMap::new();
        for line in text
            .lines()
            .filter(|l| l.contains("scoring_penalties_total{"))
        {
            let kind = line
                .split("penalty=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("a penalty label");
            let n: f64 = line
                .rsplit(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("a counter value");
            by_kind.insert(kind.to_string(), n);
        }
        by_kind
    }

    async fn shutdown(self) {
        self.adversary.shutdown().await.expect("adversary stops");
        self.honest.shutdown().await.expect("honest node stops");
    }
}

/// The adversary of `role` is meshed, then scored below zero by P7 alone and pruned; the
/// honest node counted penalties of `kind` only.
async fn penalised_for(role: Role, kind: &str) {
    let mut pair = Pair::start(role).await;
    pair.meshed().await;
    let s = pair.scored_below_zero().await;
    let parts = s.parts.clone().expect("score parts");
    let topic = parts.p1 + parts.p2 + parts.p3 + parts.p3b;
    assert!(
        parts.p3 == 0.0 && parts.p3b == 0.0 && topic >= 0.0,
        "the topic parts are not what scored it down: {s:?}"
    );
    assert!(
        !pair
            .log
            .iter()
            .any(|r| matches!(r.event, Event::Rejected { .. })),
        "nothing is invalid: no P4"
    );
    // What remains is P7 (P5 is unset, P6 off on a shared host): the behaviour penalty.
    assert!(s.score - topic < 0.0, "{s:?}");
    pair.pruned().await;
    let penalties = pair.penalties().await;
    assert!(
        penalties.get(kind).is_some_and(|n| *n > 0.0),
        "no {kind} penalty counted: {penalties:?}"
    );
    assert!(
        penalties
            .iter()
            .all(|(k, n)| k.as_str() == kind || *n == 0.0),
        "penalties of other kinds: {penalties:?}"
    );
    pair.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ihave_liar_breaks_its_promises_and_falls_below_zero_by_p7() {
    penalised_for(Role::IhaveLiar, "BrokenPromise").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graft_inside_the_backoff_is_penalised_and_pruned() {
    penalised_for(Role::GraftBackoff, "GraftBackoff").await;
}
