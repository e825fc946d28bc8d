//! The crowding attacks on loopback swarms and the defences against them: a `sybil` node's
//! identities share its address and an honest node scores each of them down by the IP
//! colocation factor (P6); `eclipse` nodes crowd their victim's mesh and forward nothing,
//! while its outbound honest peers keep it fed (`mesh_outbound_min`); and inbound
//! connections beyond the spec's rate are refused before their handshake.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use lab_events::{Event, Record};
use meshnode::sink::{ChannelSink, EventSink};
use meshnode::{Command, NodeConfig, NodeHandle, Role, sybil};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

const DEADLINE: Duration = Duration::from_secs(60);

fn config(name: &str, role: Role, bootstrap: Vec<String>) -> NodeConfig {
    NodeConfig {
        role,
        mldsa_level: 44,
        score_snapshot_ms: 200,
        ..NodeConfig::sharing_a_host(name, "/ip4/127.0.0.1/tcp/0", bootstrap)
    }
}

fn sink(tx: &mpsc::Sender<Record>) -> Box<dyn EventSink> {
    Box::new(ChannelSink(tx.clone()))
}

/// Records received so far, and the channel they come from.
struct Log {
    events: mpsc::Receiver<Record>,
    log: Vec<Record>,
}

impl Log {
    /// Receives events until `done` holds over everything received, or fails the test at
    /// the deadline.
    async fn until(&mut self, what: &str, mut done: impl FnMut(&[Record]) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !done(&self.log) {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(r)) => self.log.push(r),
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }
}

/// `node`'s latest scores, by peer id.
fn latest_scores<'a>(log: &'a [Record], node: &str) -> HashMap<&'a str, f64> {
    let mut latest = HashMap::new();
    for r in log.iter().filter(|r| r.node == node) {
        if let Event::Scores { scores } = &r.event {
            latest = scores.iter().map(|s| (s.peer.as_str(), s.score)).collect();
        }
    }
    latest
}

/// Every mesh `node` reported, in order.
fn meshes<'a>(log: &'a [Record], node: &str) -> Vec<&'a [String]> {
    log.iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match &r.event {
            Event::Mesh { peers, .. } => Some(peers.as_slice()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sybil_identities_share_one_address_and_are_scored_down_by_ip_colocation() {
    let (tx, events) = mpsc::channel(1_000_000);
    let mut log = Log {
        events,
        log: Vec::new(),
    };
    // The honest node counts colocated peers as the spec says (loopback configurations
    // turn P6 off, as every loopback peer shares 127.0.0.1).
    let spec = NodeConfig::default().gossipsub;
    let mut h = config("honest", Role::Honest, Vec::new());
    h.gossipsub.ip_colocation_factor_weight = spec.ip_colocation_factor_weight;
    let honest = meshnode::start(h, sink(&tx)).await.expect("honest starts");

    let mut s = config(
        "sybil",
        Role::Sybil,
        vec![honest.listen_addrs[0].to_string()],
    );
    s.sybil_identities = 5;
    let sinks = (0..sybil::identities(&s)).map(|_| sink(&tx)).collect();
    let extras = sybil::start(&s, sinks).await.expect("identities start");
    let primary = meshnode::start(s, sink(&tx)).await.expect("sybil starts");
    let ids: HashSet<String> = extras
        .iter()
        .chain([&primary])
        .map(|n| n.peer_id.to_string())
        .collect();
    assert_eq!(ids.len(), 6, "six distinct identities");

    // P6: −5 × (6 − 3)² = −45 for each; P1 adds at most +0.01 a second in the mesh.
    let surplus = 6.0 - spec.ip_colocation_factor_threshold;
    let penalty = spec.ip_colocation_factor_weight * surplus * surplus;
    log.until("the honest node scoring every identity by P6", |log| {
        let latest = latest_scores(log, "honest");
        ids.iter()
            .all(|id| latest.get(id.as_str()).is_some_and(|s| *s <= penalty + 1.0))
    })
    .await;
    let started: HashSet<&str> = log
        .log
        .iter()
        .filter(|r| r.node == "sybil")
        .filter_map(|r| match &r.event {
            Event::Started { peer_id, role, .. } => {
                assert_eq!(role, "sybil");
                Some(peer_id.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        started,
        ids.iter().map(String::as_str).collect::<HashSet<_>>(),
        "every identity's started record, under the node's name"
    );
    for n in extras.into_iter().chain([primary, honest]) {
        n.shutdown().await.expect("node stops");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eclipse_attackers_graft_the_victim_and_withhold_while_its_outbound_peers_feed_it() {
    const ATTACKERS: usize = 8;
    let (tx, events) = mpsc::channel(1_000_000);
    let mut log = Log {
        events,
        log: Vec::new(),
    };
    // A small mesh, so that the attackers outnumber its high watermark: the victim then
    // prunes, and keeps `mesh_outbound_min` (2) peers it dialled itself.
    let small_mesh = |c: &mut NodeConfig| {
        c.gossipsub.mesh_n = 4;
        c.gossipsub.mesh_n_low = 3;
        c.gossipsub.mesh_n_high = 5;
        c.gossipsub.mesh_outbound_min = 2;
    };
    let mut honest: Vec<NodeHandle> = Vec::new();
    for name in ["honest-a", "honest-b"] {
        let bootstrap = honest
            .iter()
            .map(|n| n.listen_addrs[0].to_string())
            .collect();
        let mut c = config(name, Role::Honest, bootstrap);
        small_mesh(&mut c);
        honest.push(meshnode::start(c, sink(&tx)).await.expect("starts"));
    }
    let mut v = config(
        "victim",
        Role::Honest,
        honest
            .iter()
            .map(|n| n.listen_addrs[0].to_string())
            .collect(),
    );
    small_mesh(&mut v);
    let victim = meshnode::start(v, sink(&tx)).await.expect("victim starts");
    let victim_id = victim.peer_id.to_string();
    let mut attackers = Vec::new();
    for i in 0..ATTACKERS {
        let mut c = config(
            &format!("eclipse-{i}"),
            Role::Eclipse,
            vec![victim.listen_addrs[0].to_string()],
        );
        small_mesh(&mut c);
        attackers.push(meshnode::start(c, sink(&tx)).await.expect("starts"));
    }
    let attacker_ids: HashSet<String> = attackers.iter().map(|n| n.peer_id.to_string()).collect();
    let outbound: HashSet<String> = honest.iter().map(|n| n.peer_id.to_string()).collect();

    log.until(
        "attackers in the victim's mesh, and then its outbound peers",
        |log| {
            let m = meshes(log, "victim");
            let crowded = m
                .iter()
                .position(|m| m.iter().filter(|p| attacker_ids.contains(*p)).count() >= 2);
            crowded.is_some_and(|at| {
                m[at..]
                    .iter()
                    .any(|m| outbound.iter().all(|p| m.contains(p)))
            })
        },
    )
    .await;
    let before = log.log.len();
    for _ in 0..3 {
        honest[0]
            .send(Command::Publish { size: 256 })
            .await
            .expect("publish");
    }
    log.until("the victim delivering the three messages", |log| {
        log[before..]
            .iter()
            .filter(|r| r.node == "victim" && matches!(r.event, Event::Delivered { .. }))
            .count()
            >= 3
    })
    .await;
    for r in &log.log {
        match &r.event {
            Event::Delivered { from, .. } => {
                assert!(
                    !attacker_ids.contains(from),
                    "{} got a message from an attacker",
                    r.node
                )
            }
            Event::PeerConnected { peer, .. } if r.node.starts_with("eclipse-") => {
                assert_eq!(*peer, victim_id, "{} connected beyond its victim", r.node)
            }
            _ => {}
        }
    }
    for n in attackers.into_iter().chain(honest).chain([victim]) {
        n.shutdown().await.expect("node stops");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_connections_beyond_the_rate_are_closed_before_their_handshake() {
    let (tx, _events) = mpsc::channel(1_000_000);
    let mut c = config("limited", Role::Honest, Vec::new());
    // One connection, then one every 10 s.
    c.limits.inbound_rate_per_sec = 0.1;
    let node = meshnode::start(c, sink(&tx)).await.expect("starts");
    let addr = node.listen_addrs[0]
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .expect("a TCP port");
    // Neither socket speaks: the first waits for its handshake until the upgrade timeout,
    // the second is refused at once.
    let mut first = TcpStream::connect(("127.0.0.1", addr))
        .await
        .expect("connects");
    let mut second = TcpStream::connect(("127.0.0.1", addr))
        .await
        .expect("connects");
    let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
    let closed_first = tokio::select! {
        r = second.read(&mut b) => { assert!(matches!(r, Ok(0) | Err(_)), "{r:?}"); "second" }
        r = first.read(&mut a) => { let _ = r; "first" }
    };
    assert_eq!(
        closed_first, "second",
        "the connection over the rate closes first"
    );
    node.shutdown().await.expect("node stops");
}
