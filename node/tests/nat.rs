//! Where nodes live, on loopback TCP with whole nodes: a relay client reserves a slot on a
//! relay server and a third node reaches it through the relay; AutoNAT finds a dialable
//! node public; a relayed connection is upgraded to a direct one by hole punching (DCUtR).
//!
//! Every wait is bounded by [`DEADLINE`] and ends on an event record, never on a sleep.

use std::time::Duration;

use lab_events::{Event, Record};
use meshnode::sink::ChannelSink;
use meshnode::{NatConfig, NodeConfig, NodeHandle, RelayMode};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

const DEADLINE: Duration = Duration::from_secs(30);

/// A node on loopback that may open a few connections to one peer (a relayed one, a direct
/// one next to it, a dial-back).
fn config(name: &str, nat: NatConfig, bootstrap: Vec<String>) -> NodeConfig {
    let mut c = NodeConfig {
        mldsa_level: 44,
        nat,
        ..NodeConfig::sharing_a_host(name, "/ip4/127.0.0.1/tcp/0", bootstrap)
    };
    c.limits.max_connections_per_peer = 4;
    c
}

/// The relay server's configuration.
fn relay_server() -> NatConfig {
    NatConfig {
        relay: RelayMode::Server,
        ..NatConfig::default()
    }
}

/// A node's dial address with its peer id.
fn dial_addr(node: &NodeHandle) -> String {
    format!("{}/p2p/{}", node.listen_addrs[0], node.peer_id)
}

/// The event records of every node, as they arrive.
struct Log {
    rx: mpsc::Receiver<Record>,
    seen: Vec<Record>,
}

impl Log {
    /// A log and the sender every node of a test writes its records to.
    fn new() -> (mpsc::Sender<Record>, Log) {
        let (tx, rx) = mpsc::channel(10_000);
        (
            tx,
            Log {
                rx,
                seen: Vec::new(),
            },
        )
    }

    /// Receives records until one of `node` matches `want` (returned), or fails the test at
    /// the deadline with everything seen.
    async fn until<T>(&mut self, what: &str, mut want: impl FnMut(&Record) -> Option<T>) -> T {
        if let Some(t) = self.seen.iter().find_map(&mut want) {
            return t;
        }
        let deadline = Instant::now() + DEADLINE;
        loop {
            match timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(r)) => {
                    let hit = want(&r);
                    self.seen.push(r);
                    if let Some(t) = hit {
                        return t;
                    }
                }
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => {
                    let lines: Vec<String> = self
                        .seen
                        .iter()
                        .filter(|r| !matches!(r.event, Event::CpuProbe { .. }))
                        .map(Record::to_line)
                        .collect();
                    panic!("timed out waiting for {what}; events: {lines:#?}")
                }
            }
        }
    }
}

async fn start(c: NodeConfig, tx: &mpsc::Sender<Record>) -> NodeHandle {
    meshnode::start(c, Box::new(ChannelSink(tx.clone())))
        .await
        .expect("node starts")
}

/// Relay server `relay`, and client `a` with a reservation on it.
async fn relay_and_client(
    tx: &mpsc::Sender<Record>,
    log: &mut Log,
    hole_punch: bool,
) -> (NodeHandle, NodeHandle) {
    // On loopback `a` can be dialled directly: the relay must not hand its listen address
    // to the other nodes' Kademlia lookups (it would, from identify), or they would reach
    // `a` directly before or instead of through the relay.
    let relay = start(
        NodeConfig {
            kad_learn: false,
            ..config("relay", relay_server(), vec![])
        },
        tx,
    )
    .await;
    let client = NatConfig {
        relay: RelayMode::Client,
        relays: vec![dial_addr(&relay)],
        hole_punch,
        ..NatConfig::default()
    };
    let a = start(config("a", client, vec![]), tx).await;
    let relay_id = relay.peer_id.to_string();
    log.until("a's reservation on the relay", |r| match &r.event {
        Event::RelayReservationAccepted { relay, .. } if r.node == "a" && *relay == relay_id => {
            Some(())
        }
        Event::RelayReservationFailed { reason, .. } if r.node == "a" => {
            panic!("the reservation failed: {reason}")
        }
        _ => None,
    })
    .await;
    (relay, a)
}

/// The circuit address of `a` on `relay`.
fn circuit(relay: &NodeHandle, a: &NodeHandle) -> String {
    format!("{}/p2p-circuit/p2p/{}", dial_addr(relay), a.peer_id)
}

#[tokio::test]
async fn a_client_reserves_on_a_relay_and_is_reached_through_it() {
    let (tx, mut log) = Log::new();
    let (relay, a) = relay_and_client(&tx, &mut log, false).await;

    // `b` dials a only through the relay: a's circuit address is all it knows.
    let dialer = NatConfig {
        relay: RelayMode::Client,
        relays: vec![dial_addr(&relay)],
        ..NatConfig::default()
    };
    let b = start(config("b", dialer, vec![circuit(&relay, &a)]), &tx).await;
    let (a_id, b_id) = (a.peer_id.to_string(), b.peer_id.to_string());
    let outbound = log
        .until("b connected to a", |r| match &r.event {
            Event::PeerConnected {
                peer,
                outbound,
                relayed,
            } if r.node == "b" && *peer == a_id => Some((*outbound, *relayed)),
            _ => None,
        })
        .await;
    assert_eq!(outbound, (true, true), "b dialled a, through the relay");
    let inbound = log
        .until("a connected to b", |r| match &r.event {
            Event::PeerConnected {
                peer,
                outbound,
                relayed,
            } if r.node == "a" && *peer == b_id => Some((*outbound, *relayed)),
            _ => None,
        })
        .await;
    assert_eq!(inbound, (false, true), "a was dialled, through the relay");
    // Connections to the relay itself are direct.
    let relay_id = relay.peer_id.to_string();
    let to_relay = log
        .until("a connected to the relay", |r| match &r.event {
            Event::PeerConnected { peer, relayed, .. } if r.node == "a" && *peer == relay_id => {
                Some(*relayed)
            }
            _ => None,
        })
        .await;
    assert!(!to_relay, "a reaches the relay directly");
    for n in [b, a, relay] {
        n.shutdown().await.expect("node stops");
    }
}

#[tokio::test]
async fn autonat_finds_a_node_that_can_be_dialled_back_public() {
    let (tx, mut log) = Log::new();
    // Loopback is not a global address: both ends must accept it.
    let autonat = NatConfig {
        autonat: true,
        autonat_only_global_ips: false,
        autonat_boot_delay_ms: 500,
        ..NatConfig::default()
    };
    let server = start(config("server", autonat.clone(), vec![]), &tx).await;
    let c = start(config("c", autonat, vec![dial_addr(&server)]), &tx).await;
    let port = c.listen_addrs[0].to_string();
    let (status, address) = log
        .until("c's NAT status", |r| match &r.event {
            Event::NatStatus { status, address } if r.node == "c" => {
                Some((status.clone(), address.clone()))
            }
            _ => None,
        })
        .await;
    assert_eq!(status, "public", "c listens on loopback: it can be dialled");
    let address = address.expect("a public verdict names the address");
    assert!(
        address.starts_with(&port),
        "the server dialled c's listen address {port}, got {address}"
    );
    for n in [c, server] {
        n.shutdown().await.expect("node stops");
    }
}

#[tokio::test]
async fn a_relayed_connection_is_upgraded_to_a_direct_one() {
    let (tx, mut log) = Log::new();
    let (relay, a) = relay_and_client(&tx, &mut log, true).await;
    // `b` knows the relay (whose identify tells b its own address, the hole punch's
    // candidate) and a's circuit address.
    let puncher = NatConfig {
        hole_punch: true,
        ..NatConfig::default()
    };
    let b = start(
        config("b", puncher, vec![dial_addr(&relay), circuit(&relay, &a)]),
        &tx,
    )
    .await;
    let (a_id, b_id) = (a.peer_id.to_string(), b.peer_id.to_string());
    let relayed = log
        .until("b's first connection to a", |r| match &r.event {
            Event::PeerConnected { peer, relayed, .. } if r.node == "b" && *peer == a_id => {
                Some(*relayed)
            }
            _ => None,
        })
        .await;
    assert!(relayed, "b first reaches a through the relay");
    log.until("a hole punch attempt", |r| match &r.event {
        Event::HolePunchAttempt { peer } if r.node == "b" && *peer == a_id => Some(()),
        _ => None,
    })
    .await;
    // DCUtR reports success on the side whose dial made the direct connection; on
    // loopback both dial the same pair of ports, and one of the two dials wins.
    let (who, duration_us) = log
        .until("a successful hole punch", |r| match &r.event {
            Event::HolePunchResult {
                peer,
                success: true,
                duration_us,
                ..
            } if (r.node == "b" && *peer == a_id) || (r.node == "a" && *peer == b_id) => {
                Some((r.node.clone(), *duration_us))
            }
            Event::HolePunchResult {
                success: false,
                reason,
                ..
            } if r.node == "b" => panic!("b's hole punch failed: {reason:?}"),
            _ => None,
        })
        .await;
    assert!(duration_us > 0, "{who}'s hole punch took {duration_us} µs");
    assert!(
        duration_us < DEADLINE.as_micros() as u64,
        "{who}'s hole punch took {duration_us} µs"
    );
    for n in [b, a, relay] {
        n.shutdown().await.expect("node stops");
    }
}
