//! The node's own behaviours alone, each in small swarms on loopback TCP: the connection
//! manager trims the lowest-scored peers above its high watermark, and the fetch store
//! answers requests from its store by itself.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::MessageId;
use libp2p::request_response::OutboundFailure;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, SwarmBuilder, noise, tcp, yamux};
use meshnode::{conn_manager, fetch};
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(30);

/// A swarm with a fresh identity and `behaviour`, over TCP with noise and yamux. Connections
/// stay up while idle: the behaviours under test open no streams of their own.
fn swarm<B: NetworkBehaviour>(behaviour: B) -> Swarm<B> {
    SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp transport")
        .with_behaviour(|_| behaviour)
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// Awaits `f`, failing the test after [`DEADLINE`].
async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(DEADLINE, f).await {
        Ok(t) => t,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Listens on a loopback port; returns the address.
async fn listen<B: NetworkBehaviour>(swarm: &mut Swarm<B>) -> Multiaddr {
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().expect("valid address"))
        .expect("listen");
    within("a listen address", async {
        loop {
            if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
                return address;
            }
        }
    })
    .await
}

/// Drives `swarm` in a task, passing on the events of its behaviour.
fn drive<B>(
    mut swarm: Swarm<B>,
) -> (
    tokio::task::JoinHandle<()>,
    mpsc::UnboundedReceiver<B::ToSwarm>,
)
where
    B: NetworkBehaviour + Send,
    B::ToSwarm: Send,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            if let SwarmEvent::Behaviour(e) = swarm.select_next_some().await {
                let _ = tx.send(e);
            }
        }
    });
    (task, rx)
}

#[tokio::test]
async fn the_connection_manager_closes_the_lowest_scored_peers_above_its_high_watermark() {
    // Target 2: the high watermark is 3, so 4 peers are 2 too many.
    let mut hub = swarm(conn_manager::Behaviour::new(2, Duration::ZERO));
    let addr = listen(&mut hub).await;
    let mut leaves = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut leaf = swarm(conn_manager::Behaviour::new(0, Duration::ZERO));
        leaves.push(*leaf.local_peer_id());
        leaf.dial(addr.clone()).expect("dial the hub");
        tasks.push(drive(leaf).0);
    }
    within("four peers at the hub", async {
        while hub.behaviour().num_peers() < 4 {
            hub.select_next_some().await;
        }
    })
    .await;

    // Leaf 0 scores lowest but is kept (as a mesh peer is); leaves 1 and 3 score lowest
    // of the rest.
    let scores: HashMap<PeerId, f64> = leaves
        .iter()
        .copied()
        .zip([-10.0, -5.0, 1.0, -1.0])
        .collect();
    let kept = leaves[0];
    let chosen = hub
        .behaviour_mut()
        .trim(|p| *p == kept, |p| scores.get(p).copied());
    assert_eq!(chosen, vec![leaves[1], leaves[3]]);

    let mut closed = HashSet::new();
    within("the trimmed connections to close", async {
        while closed.len() < 2 {
            if let SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } = hub.select_next_some().await
            {
                closed.insert(peer_id);
            }
        }
    })
    .await;
    assert_eq!(closed, HashSet::from([leaves[1], leaves[3]]));
    assert_eq!(hub.behaviour().num_peers(), 2);
    assert!(hub.is_connected(&leaves[0]) && hub.is_connected(&leaves[2]));
    let m = hub.behaviour_mut();
    assert!(m.take_trimmed(&leaves[1]) && m.take_trimmed(&leaves[3]));
    assert!(!m.take_trimmed(&leaves[1]), "asking forgets");

    // A peer that leaves by itself was not trimmed.
    tasks[2].abort();
    within("leaf 2 to leave", async {
        loop {
            if let SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } = hub.select_next_some().await
                && peer_id == leaves[2]
            {
                break;
            }
        }
    })
    .await;
    assert!(!hub.behaviour_mut().take_trimmed(&leaves[2]));
    assert_eq!(hub.behaviour().num_peers(), 1);
    for t in tasks {
        t.abort();
    }
}

#[tokio::test]
async fn the_fetch_store_answers_with_stored_data_and_not_found_otherwise() {
    let mut server = swarm(fetch::Behaviour::new(16));
    let server_id = *server.local_peer_id();
    server
        .behaviour_mut()
        .insert(MessageId::new(b"stored"), b"envelope".to_vec());
    let addr = listen(&mut server).await;
    let (server_task, mut server_events) = drive(server);

    let mut client = swarm(fetch::Behaviour::new(16));
    client.dial(addr).expect("dial the server");
    within("the connection", async {
        loop {
            if let SwarmEvent::ConnectionEstablished { .. } = client.select_next_some().await {
                break;
            }
        }
    })
    .await;
    let known = client.behaviour_mut().fetch(&server_id, b"stored".to_vec());
    let unknown = client.behaviour_mut().fetch(&server_id, b"other".to_vec());

    let mut answers = HashMap::new();
    within("both answers", async {
        while answers.len() < 2 {
            match client.select_next_some().await {
                SwarmEvent::Behaviour(fetch::Event::Fetched { request, data }) => {
                    answers.insert(request, data);
                }
                SwarmEvent::Behaviour(fetch::Event::Failed { error, .. }) => {
                    panic!("a fetch failed: {error}")
                }
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(answers[&known], Some(b"envelope".to_vec()));
    assert_eq!(answers[&unknown], None);
    assert!(
        server_events.try_recv().is_err(),
        "the server answers by itself and reports nothing"
    );
    server_task.abort();
}

#[tokio::test]
async fn a_fetch_from_an_unreachable_peer_fails() {
    let mut client = swarm(fetch::Behaviour::new(16));
    let request = client
        .behaviour_mut()
        .fetch(&PeerId::random(), b"stored".to_vec());
    let error = within("the failure", async {
        loop {
            if let SwarmEvent::Behaviour(fetch::Event::Failed { request: r, error }) =
                client.select_next_some().await
            {
                assert_eq!(r, request);
                return error;
            }
        }
    })
    .await;
    assert!(matches!(error, OutboundFailure::DialFailure), "{error}");
}
