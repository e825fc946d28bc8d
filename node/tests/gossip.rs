//! Real nodes on loopback, in one process: delivery over TCP and over QUIC, rejection and
//! scoring of an invalid-signature publisher, and fetch by message id.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use lab_events::{Event, Record};
use meshnode::sink::ChannelSink;
use meshnode::{Command, NodeConfig, NodeHandle, Role};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout_at};

const DEADLINE: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
enum Transport {
    Tcp,
    Quic,
}

struct Net {
    nodes: Vec<NodeHandle>,
    names: Vec<String>,
    events: mpsc::Receiver<Record>,
    /// Everything received so far.
    log: Vec<Record>,
}

fn config(name: &str, role: Role, transport: Transport, bootstrap: Vec<String>) -> NodeConfig {
    let listen = match transport {
        Transport::Tcp => "/ip4/127.0.0.1/tcp/0",
        Transport::Quic => "/ip4/127.0.0.1/udp/0/quic-v1",
    };
    NodeConfig {
        role,
        mldsa_level: 65,
        score_snapshot_ms: 200,
        ..NodeConfig::sharing_a_host(name, listen, bootstrap)
    }
}

impl Net {
    /// Starts `honest` honest nodes (each dials node 0 and its predecessor) and then
    /// `attackers` invalid-signature nodes that dial every honest node.
    async fn start(honest: usize, attackers: usize, transport: Transport) -> Net {
        let (tx, events) = mpsc::channel(100_000);
        let mut nodes: Vec<NodeHandle> = Vec::new();
        let mut names = Vec::new();
        for i in 0..honest + attackers {
            let (name, role, bootstrap) = if i < honest {
                let mut b = Vec::new();
                if i > 0 {
                    b.push(nodes[0].listen_addrs[0].to_string());
                }
                if i > 1 {
                    b.push(nodes[i - 1].listen_addrs[0].to_string());
                }
                (format!("honest-{i}"), Role::Honest, b)
            } else {
                let b = nodes[..honest]
                    .iter()
                    .map(|n| n.listen_addrs[0].to_string())
                    .collect();
                (format!("attacker-{i}"), Role::InvalidSignature, b)
            };
            let node = meshnode::start(
                config(&name, role, transport, bootstrap),
                Box::new(ChannelSink(tx.clone())),
            )
            .await
            .expect("node starts");
            nodes.push(node);
            names.push(name);
        }
        Net {
            nodes,
            names,
            events,
            log: Vec::new(),
        }
    }

    /// Receives events until `done` holds over everything received, or the deadline passes.
    async fn until(&mut self, what: &str, mut done: impl FnMut(&[Record]) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !done(&self.log) {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(r)) => self.log.push(r),
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => {
                    let kinds: HashMap<String, usize> =
                        self.log.iter().fold(HashMap::new(), |mut m, r| {
                            let line = r.to_line();
                            let kind = line.split("\"event\":\"").nth(1).unwrap_or("?");
                            let kind = kind.split('"').next().unwrap_or("?").to_string();
                            *m.entry(kind).or_default() += 1;
                            m
                        });
                    let meshes: Vec<String> = self
                        .log
                        .iter()
                        .filter(|r| matches!(r.event, Event::Mesh { .. }))
                        .map(Record::to_line)
                        .collect();
                    panic!(
                        "timed out waiting for {what}; events by kind {kinds:?}; mesh events {meshes:#?}"
                    )
                }
            }
        }
    }

    /// Waits until every node's mesh holds at least `min` peers.
    async fn await_meshes(&mut self, min: usize) {
        let names: HashSet<String> = self.names.iter().cloned().collect();
        self.until("meshes", |log| {
            let mut last: HashMap<&str, usize> = HashMap::new();
            for r in log {
                if let Event::Mesh { peers, .. } = &r.event {
                    last.insert(&r.node, peers.len());
                }
            }
            names
                .iter()
                .all(|n| last.get(n.as_str()).is_some_and(|&k| k >= min))
        })
        .await;
    }

    fn peer_ids(&self) -> HashMap<String, String> {
        self.names
            .iter()
            .zip(&self.nodes)
            .map(|(n, h)| (h.peer_id.to_string(), n.clone()))
            .collect()
    }

    async fn shutdown(self) {
        for n in self.nodes {
            n.shutdown().await.expect("node stops");
        }
    }
}

fn deliveries(log: &[Record]) -> HashSet<(String, String)> {
    log.iter()
        .filter_map(|r| match &r.event {
            Event::Delivered { msg_id, .. } => Some((msg_id.clone(), r.node.clone())),
            _ => None,
        })
        .collect()
}

fn published(log: &[Record]) -> Vec<(String, String)> {
    log.iter()
        .filter_map(|r| match &r.event {
            Event::Published { msg_id, .. } => Some((msg_id.clone(), r.node.clone())),
            _ => None,
        })
        .collect()
}

async fn every_message_reaches_every_node(transport: Transport) {
    const NODES: usize = 5;
    const PER_NODE: usize = 2;
    let mut net = Net::start(NODES, 0, transport).await;
    net.await_meshes(2).await;
    for node in &net.nodes {
        for _ in 0..PER_NODE {
            node.send(Command::Publish { size: 1024 })
                .await
                .expect("publish");
        }
    }
    let expected = NODES * PER_NODE * (NODES - 1);
    net.until("all deliveries", |log| deliveries(log).len() >= expected)
        .await;

    let pubs = published(&net.log);
    assert_eq!(pubs.len(), NODES * PER_NODE, "every publish succeeded");
    let got = deliveries(&net.log);
    for (msg, origin) in &pubs {
        for name in &net.names {
            if name != origin {
                assert!(
                    got.contains(&(msg.clone(), name.clone())),
                    "{name} lacks {msg}"
                );
            }
        }
    }
    // Latency fields are the origin's and the receiver's wall clocks.
    for r in &net.log {
        if let Event::Delivered {
            published_ns,
            received_ns,
            ..
        } = r.event
        {
            assert!(received_ns >= published_ns);
        }
    }

    // Fetch by id: ask the origin of the first message for it over request-response.
    let (msg, origin) = &pubs[0];
    let origin_idx = net
        .names
        .iter()
        .position(|n| n == origin)
        .expect("known origin");
    let asker = &net.nodes[(origin_idx + 1) % NODES];
    let (reply, answer) = oneshot::channel();
    asker
        .send(Command::Fetch {
            peer: net.nodes[origin_idx].peer_id,
            msg_id: hex_decode(msg),
            reply,
        })
        .await
        .expect("fetch sent");
    let data = tokio::time::timeout(DEADLINE, answer)
        .await
        .expect("fetch answered in time")
        .expect("reply channel")
        .expect("origin has the message");
    assert_eq!(meshnode::gossip::message_id(&data).to_string(), *msg);
    net.shutdown().await;
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_every_message_reaches_every_node() {
    every_message_reaches_every_node(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_every_message_reaches_every_node() {
    every_message_reaches_every_node(Transport::Quic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_signatures_are_rejected_and_their_sender_is_penalised() {
    const HONEST: usize = 5;
    let mut net = Net::start(HONEST, 1, Transport::Tcp).await;
    net.await_meshes(2).await;
    let attacker = net.nodes[HONEST].peer_id.to_string();
    for _ in 0..10 {
        net.nodes[HONEST]
            .send(Command::Publish { size: 256 })
            .await
            .expect("publish");
    }
    for node in &net.nodes[..HONEST] {
        node.send(Command::Publish { size: 256 })
            .await
            .expect("publish");
    }
    let gossip_threshold = NodeConfig::default().gossipsub.gossip_threshold;
    let honest: Vec<String> = net.names[..HONEST].to_vec();
    let honest_expected = HONEST * (HONEST - 1);
    let attacker_id = attacker.clone();
    let names = net.peer_ids();
    net.until("attacker scored below the gossip threshold", |log| {
        // Every honest node that rejected an attacker message must score it below the
        // gossip threshold, and honest messages must all have arrived.
        let rejecters: HashSet<&str> = log
            .iter()
            .filter(|r| matches!(&r.event, Event::Rejected { from, .. } if *from == attacker_id))
            .map(|r| r.node.as_str())
            .collect();
        let mut last_score: HashMap<&str, f64> = HashMap::new();
        for r in log {
            if let Event::Scores { scores } = &r.event {
                for s in scores.iter().filter(|s| s.peer == attacker_id) {
                    last_score.insert(&r.node, s.score);
                }
            }
        }
        let honest_deliveries = deliveries(log)
            .iter()
            .filter(|(_, node)| honest.contains(node))
            .count();
        !rejecters.is_empty()
            && rejecters
                .iter()
                .all(|n| last_score.get(n).is_some_and(|s| *s < gossip_threshold))
            && honest_deliveries >= honest_expected
    })
    .await;

    for r in &net.log {
        if let Event::Delivered { origin, .. } = &r.event {
            assert_ne!(
                origin, &attacker,
                "{} delivered a message from the attacker",
                r.node
            );
        }
        if let Event::Rejected { from, reason, .. } = &r.event
            && from == &attacker
        {
            assert_eq!(reason, "invalid signature");
        }
    }
    assert!(
        names.contains_key(&attacker),
        "attacker id maps to a node name"
    );
    net.shutdown().await;
}
