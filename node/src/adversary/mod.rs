//! Adversaries that speak the gossipsub wire protocol themselves, for misbehaviour that
//! libp2p's gossipsub never produces (README, "Byzantine roles"). A node with such a role
//! runs [`Behaviour`] on `/meshsub/1.1.0` instead of libp2p's gossipsub (whose own protocol
//! is then renamed out of the way, [`MUTED_PROTOCOL`]); the rest of the node (identify,
//! Kademlia, ping, fetch, the connection manager) is the honest node's.
//!
//! Towards every peer the behaviour acts as a gossipsub 1.1 peer would: it subscribes to
//! the topic, grafts every subscribed peer, accepts grafts and relays each message it
//! receives once to its other mesh peers, unchanged (so its mesh deliveries count). What it
//! adds is its [`Attack`], once a heartbeat:
//! - [`Attack::IhaveLiar`]: one IHAVE to every subscribed peer, of a message id that no
//!   one has, and no answer to the IWANT that follows: the peer's promise to deliver it
//!   breaks after `iwant_followup_time` (P7, one penalty a broken promise).
//! - [`Attack::GraftBackoff`]: to every peer whose mesh it is in, a PRUNE and at once a
//!   GRAFT, which falls inside the backoff the PRUNE started; every PRUNE it receives it
//!   answers with a GRAFT (one a peer a heartbeat), inside the backoff that PRUNE carries
//!   (P7, two penalties for a GRAFT this early in the backoff, and a PRUNE back).
//!
//! The wire types are [`proto`]; the streams are [`handler`].

pub mod handler;
pub mod proto;

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::swarm::behaviour::{ConnectionClosed, ConnectionEstablished};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, NotifyHandler, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{PeerId, StreamProtocol};
use tokio::time::{Interval, MissedTickBehavior};

use crate::config::Role;
use handler::Handler;
use proto::Rpc;

/// The gossipsub protocol the adversary speaks.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/meshsub/1.1.0");

/// The protocol id an adversary's own (libp2p) gossipsub is given instead, which no peer
/// speaks: it stays off the wire.
pub const MUTED_PROTOCOL: &str = "/meshlab/muted-gossipsub/1.1.0";

/// How many message ids the adversary remembers having relayed.
const SEEN_CAPACITY: usize = 100_000;

/// The protocol misbehaviour an adversarial node commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// IHAVE of ids it never delivers when asked (`ihave-liar`).
    IhaveLiar,
    /// GRAFT inside the backoff of a PRUNE (`graft-backoff`).
    GraftBackoff,
}

impl Attack {
    /// The attack of a role, if the role speaks gossipsub itself.
    pub fn of(role: Role) -> Option<Attack> {
        match role {
            Role::IhaveLiar => Some(Attack::IhaveLiar),
            Role::GraftBackoff => Some(Attack::GraftBackoff),
            _ => None,
        }
    }
}

/// What the adversary knows of one peer.
#[derive(Debug, Default)]
struct Peer {
    /// The peer subscribed to the topic.
    subscribed: bool,
    /// A mesh link, as far as the adversary knows: it grafted the peer or the peer grafted
    /// it, and no PRUNE came since.
    in_mesh: bool,
    /// A GRAFT went to the peer this heartbeat.
    grafted: bool,
    /// A PRUNE came that no GRAFT has answered yet.
    owes_graft: bool,
}

/// Ids of the messages relayed, oldest first out.
#[derive(Debug, Default)]
struct Seen {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl Seen {
    /// Whether `id` is new (and remembers it).
    fn insert(&mut self, id: [u8; 32]) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN_CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// Counts of what the adversary sent, for tests and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// IHAVE ids no one has.
    pub lies: u64,
    /// IWANT ids received (and not answered).
    pub iwants_ignored: u64,
    /// GRAFTs.
    pub grafts: u64,
    /// PRUNEs.
    pub prunes: u64,
    /// Messages relayed (one per peer sent to).
    pub relayed: u64,
}

/// The adversary's gossipsub.
pub struct Behaviour {
    attack: Attack,
    topic: String,
    max_len: usize,
    heartbeat: Interval,
    peers: HashMap<PeerId, Peer>,
    seen: Seen,
    /// Seeds the lies' ids: this node's id and a counter.
    local: PeerId,
    lies: u64,
    sent: Sent,
    events: VecDeque<ToSwarm<Infallible, Rpc>>,
}

impl Behaviour {
    /// An adversary committing `attack` on `topic` once every `heartbeat` (real time),
    /// refusing frames above `max_len` bytes.
    pub fn new(
        attack: Attack,
        local: PeerId,
        topic: String,
        heartbeat: Duration,
        max_len: usize,
    ) -> Self {
        let mut heartbeat = tokio::time::interval(heartbeat);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Behaviour {
            attack,
            topic,
            max_len,
            heartbeat,
            peers: HashMap::new(),
            seen: Seen::default(),
            local,
            lies: 0,
            sent: Sent::default(),
            events: VecDeque::new(),
        }
    }

    /// Peers it has a mesh link with, as far as it knows.
    pub fn mesh_len(&self) -> usize {
        self.peers.values().filter(|p| p.in_mesh).count()
    }

    /// What it sent so far.
    pub fn sent(&self) -> Sent {
        self.sent
    }

    fn send(&mut self, peer_id: PeerId, rpc: Rpc) {
        self.events.push_back(ToSwarm::NotifyHandler {
            peer_id,
            handler: NotifyHandler::Any,
            event: rpc,
        });
    }

    fn graft(&mut self, peer: PeerId) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.in_mesh = true;
            p.grafted = true;
            p.owes_graft = false;
        }
        self.sent.grafts += 1;
        let rpc = Rpc::graft(&self.topic);
        self.send(peer, rpc);
    }

    fn prune(&mut self, peer: PeerId) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.in_mesh = false;
        }
        self.sent.prunes += 1;
        let rpc = Rpc::prune(&self.topic);
        self.send(peer, rpc);
    }

    /// A fresh message id no one has: 32 bytes, like the lab's BLAKE3 ids.
    fn lie(&mut self) -> Vec<u8> {
        self.lies += 1;
        let mut h = blake3::Hasher::new();
        h.update(b"meshlab ihave lie");
        h.update(&self.local.to_bytes());
        h.update(&self.lies.to_be_bytes());
        h.finalize().as_bytes().to_vec()
    }

    fn on_heartbeat(&mut self) {
        let peers: Vec<PeerId> = self.peers.keys().copied().collect();
        for peer in peers {
            let Some(p) = self.peers.get_mut(&peer) else {
                continue;
            };
            p.grafted = false;
            if !p.subscribed {
                continue;
            }
            match self.attack {
                Attack::IhaveLiar => {
                    let id = self.lie();
                    self.sent.lies += 1;
                    let rpc = Rpc::ihave(&self.topic, vec![id]);
                    self.send(peer, rpc);
                }
                Attack::GraftBackoff => {
                    let (in_mesh, owes) = (p.in_mesh, p.owes_graft);
                    if in_mesh {
                        // Leave, and come back at once: inside the backoff just started.
                        self.prune(peer);
                        self.graft(peer);
                    } else if owes {
                        self.graft(peer);
                    }
                }
            }
        }
    }

    fn on_rpc(&mut self, from: PeerId, rpc: Rpc) {
        for sub in &rpc.subscriptions {
            if sub.topic_id.as_deref() != Some(self.topic.as_str()) {
                continue;
            }
            let subscribe = sub.subscribe.unwrap_or(false);
            let Some(p) = self.peers.get_mut(&from) else {
                return;
            };
            let new = subscribe && !p.subscribed;
            p.subscribed = subscribe;
            if !subscribe {
                p.in_mesh = false;
            }
            if new {
                self.graft(from);
            }
        }
        let relay: Vec<proto::Message> = rpc
            .publish
            .into_iter()
            .filter(|m| m.topic == self.topic)
            .filter(|m| {
                let id = blake3::hash(m.data.as_deref().unwrap_or_default());
                self.seen.insert(*id.as_bytes())
            })
            .collect();
        if !relay.is_empty() {
            let to: Vec<PeerId> = self
                .peers
                .iter()
                .filter(|(id, p)| p.in_mesh && **id != from)
                .map(|(id, _)| *id)
                .collect();
            for peer in to {
                self.sent.relayed += relay.len() as u64;
                self.send(peer, Rpc::publish(relay.clone()));
            }
        }
        let Some(control) = rpc.control else {
            return;
        };
        let ours = |t: &Option<String>| t.as_deref() == Some(self.topic.as_str());
        let grafted = control.graft.iter().any(|g| ours(&g.topic_id));
        let pruned = control.prune.iter().any(|p| ours(&p.topic_id));
        let iwants: usize = control.iwant.iter().map(|w| w.message_ids.len()).sum();
        self.sent.iwants_ignored += iwants as u64;
        let attack = self.attack;
        let Some(p) = self.peers.get_mut(&from) else {
            return;
        };
        if grafted {
            p.in_mesh = true;
        }
        if pruned {
            p.in_mesh = false;
            if attack == Attack::GraftBackoff {
                if p.grafted {
                    p.owes_graft = true;
                } else {
                    self.graft(from);
                }
            }
        }
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = Handler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(Handler::new(PROTOCOL, self.max_len))
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(Handler::new(PROTOCOL, self.max_len))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished {
                peer_id,
                other_established: 0,
                ..
            }) => {
                self.peers.insert(peer_id, Peer::default());
                let rpc = Rpc::subscribe(&self.topic);
                self.send(peer_id, rpc);
            }
            FromSwarm::ConnectionClosed(ConnectionClosed {
                peer_id,
                remaining_established: 0,
                ..
            }) => {
                self.peers.remove(&peer_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        _: ConnectionId,
        rpc: THandlerOutEvent<Self>,
    ) {
        self.on_rpc(peer, rpc);
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        while self.heartbeat.poll_tick(cx).is_ready() {
            self.on_heartbeat();
        }
        match self.events.pop_front() {
            Some(e) => Poll::Ready(e),
            None => Poll::Pending,
        }
    }
}
