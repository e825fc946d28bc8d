//! The running node: startup, and the event loop that publishes, validates and emits
//! events. Policy lives elsewhere: the connection manager and the fetch store are
//! behaviours (`conn_manager.rs`, `fetch.rs`), the publish schedule and the redial backoff
//! are `traffic.rs` and `redial.rs`, the scheduled DHT queries `lookups.rs`, relay, AutoNAT
//! and hole punching are `nat/`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lab_events::{Event, PeerScore, now_ns};
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::request_response::OutboundRequestId;
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, Swarm, identify, identity, kad, mdns, ping};
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::behaviour::{self, Behaviour, BehaviourEvent};
use crate::config::{NodeConfig, Role};
use crate::equivocators::Equivocators;
use crate::fetch;
use crate::handle::{Command, NodeError, NodeHandle, Totals};
use crate::listen;
use crate::lookups::Lookups;
use crate::metrics::{DhtMetrics, Metrics};
use crate::nat::Nat;
use crate::pq::{Level, PqSigner};
use crate::redial::Redial;
use crate::replay::Replay;
use crate::role;
use crate::score_parts::ScoreLedger;
use crate::security::Handshakes;
use crate::sink::{Emitter, EventSink};
use crate::traffic::Traffic;
use crate::validate::{Validator, Verdict};

/// Starts a node with the identity its configuration's `identity_seed` derives
/// ([`lab_config::identity`]), or a fresh one; returns once it listens on every configured
/// address.
pub async fn start(config: NodeConfig, sink: Box<dyn EventSink>) -> Result<NodeHandle, NodeError> {
    let key = match &config.identity_seed {
        Some(seed) => {
            lab_config::identity::keypair(seed).map_err(|e| NodeError::Identity(e.to_string()))?
        }
        None => identity::Keypair::generate_ed25519(),
    };
    start_with_key(key, config, sink).await
}

/// Starts a node with the given libp2p identity.
pub async fn start_with_key(
    key: identity::Keypair,
    config: NodeConfig,
    sink: Box<dyn EventSink>,
) -> Result<NodeHandle, NodeError> {
    crate::config::ensure_valid(&config)?;
    let stance = role::Stance::new(config.role, config.dormant);
    // The rate the traffic asks for, virtual: the schedule's as the stance changes.
    let asked_rate = config.traffic.as_ref().map(|t| t.rate_per_sec);
    let mut config = config;
    config.traffic = config.traffic.map(|t| role::traffic(stance.role(), t));
    // From here on every time in the configuration is real ([`crate::dilation`]).
    let config = config.dilated();
    let k = config.time_scale;
    let level = Level::from_number(config.mldsa_level).ok_or_else(|| {
        crate::config::ConfigError::Rejected(vec![lab_config::Problem::new(
            lab_config::FieldPath::root("mldsa_level"),
            "must be 44, 65 or 87",
        )])
    })?;
    // The ML-DSA key is derived from the identity key, so one secret makes the node.
    let seed = key
        .derive_secret(b"meshlab ml-dsa signing key v1")
        .unwrap_or_else(|| *blake3::hash(&key.public().encode_protobuf()).as_bytes());
    let signer = PqSigner::from_seed(level, seed);
    let peer_id = key.public().to_peer_id();
    let bootstrap = config
        .bootstrap
        .iter()
        .map(|a| listen::parse_addr(a))
        .collect::<Result<Vec<_>, _>>()?;
    let listen = config
        .listen
        .iter()
        .map(|a| listen::parse_addr(a))
        .collect::<Result<Vec<_>, _>>()?;

    let mut registry = Registry::with_prefix("meshnode");
    let handshakes = Handshakes::default();
    let mut swarm = behaviour::swarm(key, &config, &handshakes, &mut registry)?;
    let topic = IdentTopic::new(config.topic.clone());
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&topic)
        .map_err(|e| NodeError::Subscribe(e.to_string()))?;
    let listen_addrs = listen::listen(&mut swarm, &listen).await?;
    let mut nat = Nat::new(&config, &listen)?;
    nat.start(&mut swarm, &bootstrap);
    for addr in &bootstrap {
        if let Err(e) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, error = %e, "failed to dial bootstrap peer");
        }
    }

    let name = config.name.clone().unwrap_or_else(|| peer_id.to_string());
    let mut emitter = Emitter::new(name, sink);
    emitter.emit(Event::Started {
        peer_id: peer_id.to_string(),
        role: config.role.name().to_string(),
        listen: listen_addrs.iter().map(ToString::to_string).collect(),
    });

    emitter.emit(crate::cpu_probe::run(&signer));

    let metrics = Metrics::default();
    metrics.register(&mut registry);
    let dht_metrics = DhtMetrics::default();
    dht_metrics.register(&mut registry);
    let registry = Arc::new(registry);
    let metrics_task = (config.metrics_port != 0).then(|| {
        let registry = registry.clone();
        let port = config.metrics_port;
        tokio::spawn(async move {
            if let Err(e) = crate::metrics::serve(port, registry).await {
                tracing::warn!(port, error = %e, "failed to serve metrics");
            }
        })
    });

    let (tx, rx) = mpsc::channel(64);
    let ledger = ScoreLedger::new(&config.gossipsub);
    let lookups = Lookups::new(peer_id, &config.dht, dht_metrics);
    let replay = (config.role == Role::Replay).then(|| {
        // Past the duplicate cache, and two heartbeats more for its lazy expiry.
        let g = &config.gossipsub;
        Replay::new(Duration::from_millis(
            g.duplicate_cache_ms + 2 * g.heartbeat_ms,
        ))
    });
    let clung = if role::clings(config.role) {
        bootstrap.clone()
    } else {
        Vec::new()
    };
    let node = Node {
        ledger,
        validator: Validator::new(config.max_payload, topic.hash(), k),
        equivocators: Equivocators::new(&config.gossipsub),
        traffic: config.traffic.clone().map(Traffic::new),
        snapshot: interval(Duration::from_millis(config.score_snapshot_ms)),
        swarm,
        topic,
        signer,
        emitter,
        metrics,
        registry,
        config,
        peer_id,
        seq: first_seq(),
        totals: Totals::default(),
        last_mesh: Vec::new(),
        fetches: HashMap::new(),
        clung,
        redial: Redial::new(bootstrap, k),
        nat,
        handshakes,
        lookups,
        joined: false,
        mdns_seen: HashSet::new(),
        replay,
        stance,
        asked_rate,
    };
    let task = tokio::spawn(async move {
        let totals = node.run(rx).await;
        if let Some(t) = metrics_task {
            t.abort();
        }
        totals
    });
    Ok(NodeHandle::new(peer_id, listen_addrs, tx, task))
}

/// The sequence number before this lifetime's first message: the wall clock in µs since
/// the Unix epoch. A node restarted with the same identity (the timeline's `restart`) thus
/// goes on above every number it used before, as long as it published fewer than a
/// million messages a second: peers remember accepted `(origin, seq)` pairs and would
/// take a repeated one for a duplicate or an equivocation.
fn first_seq() -> u64 {
    now_ns() / 1_000
}

fn interval(period: Duration) -> Interval {
    let mut i = tokio::time::interval(period);
    i.set_missed_tick_behavior(MissedTickBehavior::Delay);
    i
}

struct Node {
    swarm: Swarm<Behaviour>,
    topic: IdentTopic,
    signer: PqSigner,
    emitter: Emitter,
    metrics: Metrics,
    registry: Arc<Registry>,
    config: NodeConfig,
    peer_id: PeerId,
    validator: Validator,
    equivocators: Equivocators,
    traffic: Option<Traffic>,
    snapshot: Interval,
    /// The last message's sequence number (see [`first_seq`]).
    seq: u64,
    totals: Totals,
    last_mesh: Vec<PeerId>,
    /// The topic parts of each peer's score, reconstructed (libp2p gives the total only).
    ledger: ScoreLedger,
    /// Our fetches in flight, and where each answer goes.
    fetches: HashMap<OutboundRequestId, oneshot::Sender<Option<Vec<u8>>>>,
    redial: Redial,
    /// The bootstrap addresses the node dials again whenever it has no peer at all
    /// ([`role::clings`]); empty for every other role.
    clung: Vec<Multiaddr>,
    nat: Nat,
    /// Upgrade records waiting for their connections.
    handshakes: Handshakes,
    /// Scheduled Kademlia queries (`[dht]`), started once the node has joined its mesh.
    lookups: Lookups,
    /// Whether the topic mesh has held a peer (`mesh_joined` was emitted).
    joined: bool,
    /// Peers mDNS has discovered.
    mdns_seen: HashSet<PeerId>,
    /// The `replay` role's recorded envelopes (recorded while dormant too); `None` for
    /// every other role.
    replay: Option<Replay>,
    /// The role and whether it acts yet.
    stance: role::Stance,
    /// The publish rate the traffic asks for (virtual), before the role changes it.
    asked_rate: Option<f64>,
}

/// Until the node has joined its mesh, the mesh is checked this often (real time) besides
/// after every swarm event: a graft received from a peer reaches no event of the loop.
const JOIN_PROBE: Duration = Duration::from_millis(20);

impl Node {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) -> Totals {
        loop {
            let next_publish = self.traffic.as_ref().and_then(Traffic::due);
            tokio::select! {
                event = self.swarm.select_next_some() => {
                    self.on_swarm_event(event);
                    self.check_joined();
                }
                _ = sleep_until((!self.joined).then(|| Instant::now() + JOIN_PROBE)) => {
                    self.check_joined();
                }
                _ = sleep_until(self.lookups.next_at()) => {
                    for e in self.lookups.run_due(&mut self.swarm.behaviour_mut().kad) {
                        self.emitter.emit(e);
                    }
                }
                command = commands.recv() => match command {
                    Some(Command::Publish { size }) => self.publish(size),
                    Some(Command::Fetch { peer, msg_id, reply }) => {
                        let id = self.swarm.behaviour_mut().fetch.fetch(&peer, msg_id);
                        self.fetches.insert(id, reply);
                    }
                    Some(Command::StartTraffic) => {
                        if let Some(t) = self.traffic.as_mut() {
                            t.start_now();
                        }
                    }
                    Some(Command::Act(on)) => self.act(on),
                    Some(Command::Shutdown) | None => break,
                },
                _ = self.snapshot.tick() => self.snapshot(),
                _ = tokio::time::sleep_until(self.redial.at()) => self.redial(),
                _ = sleep_until(self.nat.next_at()) => {
                    for e in self.nat.reserve(&mut self.swarm) {
                        self.emitter.emit(e);
                    }
                }
                _ = sleep_until(next_publish) => self.scheduled_publish(),
            }
        }
        let (received, received_unique) = crate::metrics::gossip_received(&self.registry);
        self.emitter.emit(Event::Stopped {
            published: self.totals.published,
            delivered: self.totals.delivered,
            rejected: self.totals.rejected,
            received,
            received_unique,
        });
        self.totals
    }

    /// Dials the bootstrap peers not reached yet and looks up our own id, as the redial
    /// schedule says (see `redial.rs`).
    fn redial(&mut self) {
        let peers = self.peers();
        let g = &self.config.gossipsub;
        let due = self.redial.due(peers, g.mesh_n_low, g.mesh_n);
        if !due.dial.is_empty() {
            tracing::debug!(
                peers,
                left = self.redial.left(),
                "redialling bootstrap peers"
            );
            for addr in due.dial {
                let _ = self.swarm.dial(addr);
            }
        }
        if due.lookup {
            tracing::debug!(peers, "kademlia lookup of our own id");
            self.swarm
                .behaviour_mut()
                .kad
                .get_closest_peers(self.peer_id);
        }
    }

    /// The first time the topic mesh holds a peer: `mesh_joined`, and the scheduled DHT
    /// queries start.
    fn check_joined(&mut self) {
        if self.joined {
            return;
        }
        let b = self.swarm.behaviour();
        let peers = b.gossipsub.mesh_peers(&self.topic.hash()).count()
            + b.adversary.as_ref().map_or(0, |a| a.mesh_len());
        if peers > 0 {
            self.joined = true;
            self.emitter.emit(Event::MeshJoined {
                peers: peers as u64,
            });
            self.lookups.start();
        }
    }

    /// Peers mDNS found: reported when new, their addresses learnt (into k-buckets with
    /// room, as identify's), and dialled while the node is below its target peer count.
    /// Dialling every peer found, as the node used to, connected each node to its whole
    /// bridge at once; the connection manager then trimmed the excess after its grace
    /// period, and mDNS, which reports a peer only once, never dialled it back: no loop, but
    /// a burst of handshakes at start for nothing.
    fn on_mdns(&mut self, found: Vec<(PeerId, Multiaddr)>) {
        let mut by_peer: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
        for (peer, addr) in found {
            by_peer.entry(peer).or_default().push(addr);
        }
        let new = by_peer
            .keys()
            .filter(|p| self.mdns_seen.insert(**p))
            .count();
        if new > 0 {
            self.emitter.emit(Event::MdnsDiscovered {
                new: new as u64,
                total: self.mdns_seen.len() as u64,
            });
        }
        let target = self.config.limits.target_peers as usize;
        let mut dials = self.peers();
        for (peer, addrs) in by_peer {
            self.swarm
                .behaviour_mut()
                .learn_addresses(&peer, addrs.clone());
            if self.swarm.is_connected(&peer) || (target > 0 && dials >= target) {
                continue;
            }
            dials += 1;
            let _ = self
                .swarm
                .dial(DialOpts::peer_id(peer).addresses(addrs).build());
        }
    }

    /// Peers with at least one connection.
    fn peers(&self) -> usize {
        self.swarm.behaviour().conn_manager.num_peers()
    }

    /// Switches a dormant role on or off: the publish rate follows, and a `role_switched`
    /// event records the moment.
    fn act(&mut self, on: bool) {
        if !self.stance.switch(on) {
            return;
        }
        let role = self.stance.role();
        if let (Some(t), Some(rate)) = (self.traffic.as_mut(), self.asked_rate) {
            t.set_rate(self.config.time_scale.real_rate(role::rate(role, rate)));
        }
        self.emitter.emit(Event::RoleSwitched {
            role: self.stance.own().name().to_string(),
            acting: on,
        });
    }

    fn scheduled_publish(&mut self) {
        if let Some(size) = self.traffic.as_mut().map(Traffic::take) {
            self.publish(size);
        }
    }

    fn publish(&mut self, size: usize) {
        self.seq += 1;
        let origin = self.peer_id.to_bytes();
        let by = role::Publisher {
            origin: &origin,
            signer: &self.signer,
            max_payload: self.config.max_payload,
        };
        let mut data = role::messages(self.stance.role(), self.seq, size, now_ns(), by);
        if let Some(replay) = self.replay.as_mut().filter(|_| self.stance.acting()) {
            data = replay.due(std::time::Instant::now());
        }
        for data in data {
            self.publish_data(size, data);
        }
    }

    /// Publishes `data` as message `self.seq` (of `size` payload bytes).
    fn publish_data(&mut self, size: usize, data: Vec<u8>) {
        let wire_size = data.len();
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(self.topic.clone(), data.clone())
        {
            Ok(id) => {
                self.totals.published += 1;
                self.metrics.published.inc();
                self.emitter.emit(Event::Published {
                    msg_id: id.to_string(),
                    seq: self.seq,
                    size,
                    wire_size,
                });
                self.swarm.behaviour_mut().fetch.insert(id, data);
            }
            Err(e) => {
                self.metrics.publish_failed.inc();
                self.emitter.emit(Event::PublishFailed {
                    seq: self.seq,
                    reason: e.to_string(),
                });
            }
        }
    }

    fn snapshot(&mut self) {
        let now = std::time::Instant::now();
        let b = self.swarm.behaviour();
        let gs = &b.gossipsub;
        let mut mesh: Vec<PeerId> = gs.mesh_peers(&self.topic.hash()).copied().collect();
        mesh.sort();
        self.metrics.mesh_peers.set(mesh.len() as i64);
        self.ledger.on_mesh(&mesh, now);
        let protocols: HashMap<&PeerId, String> = gs
            .peer_protocol()
            .map(|(p, kind)| (p, kind.to_string()))
            .collect();
        let ledger = &mut self.ledger;
        let mut scores: Vec<PeerScore> = b
            .conn_manager
            .peers()
            .filter_map(|p| {
                gs.peer_score(p).map(|score| PeerScore {
                    peer: p.to_string(),
                    score,
                    protocol: protocols.get(p).cloned(),
                    parts: ledger.parts(*p, now),
                })
            })
            .collect();
        scores.sort_by(|a, b| a.peer.cmp(&b.peer));
        if mesh != self.last_mesh {
            self.emitter.emit(Event::Mesh {
                topic: self.topic.to_string(),
                peers: mesh.iter().map(ToString::to_string).collect(),
            });
            self.last_mesh = mesh;
        }
        if !scores.is_empty() {
            self.emitter.emit(Event::Scores { scores });
        }
        self.swarm.behaviour_mut().trim_peers();
        if self.peers() == 0 {
            for addr in self.clung.clone() {
                let _ = self.swarm.dial(addr);
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(e)) => self.on_gossipsub(e),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) if self.config.kad_learn => self
                .swarm
                .behaviour_mut()
                .learn_addresses(&peer_id, info.listen_addrs),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                result: Ok(rtt),
                ..
            })) => self.emitter.emit(Event::Ping {
                peer: peer.to_string(),
                rtt_us: u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX),
            }),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                self.on_mdns(found);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Fetch(e)) => self.on_fetch(e),
            SwarmEvent::Behaviour(BehaviourEvent::Nat(e)) => {
                if let Some(e) = self.nat.on_event(e) {
                    self.emitter.emit(e);
                }
            }
            SwarmEvent::NewListenAddr { address, .. }
            | SwarmEvent::NewExternalAddrCandidate { address } => {
                self.nat.on_address(&mut self.swarm, address);
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                if let Some(e) = self.nat.on_listener_closed(listener_id, reason) {
                    self.emitter.emit(e);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(e)) => {
                if let kad::Event::RoutingUpdated { peer, .. } = &e {
                    tracing::debug!(%peer, "kademlia routing updated");
                }
                if let Some(e) = self
                    .lookups
                    .on_event(&mut self.swarm.behaviour_mut().kad, &e)
                {
                    self.emitter.emit(e);
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                established_in,
                ..
            } => {
                let handshake = self
                    .handshakes
                    .established(&peer_id, &endpoint, established_in);
                self.metrics.handshakes.observe(&handshake);
                self.emitter.emit(handshake.event(&peer_id));
                if num_established.get() == 1 {
                    self.equivocators
                        .on_connected(&peer_id, &mut self.swarm.behaviour_mut().gossipsub);
                    if let ConnectedPoint::Dialer { address, .. } = &endpoint {
                        self.redial.reached(&peer_id, address);
                    }
                    self.metrics.connected_peers.set(self.peers() as i64);
                    self.emitter.emit(Event::PeerConnected {
                        peer: peer_id.to_string(),
                        outbound: endpoint.is_dialer(),
                        relayed: endpoint.is_relayed(),
                    });
                }
                if let Some(e) = self.nat.on_connection_established(peer_id, &endpoint) {
                    self.emitter.emit(e);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                endpoint,
                ..
            } => {
                self.nat.on_connection_closed(peer_id, &endpoint);
                if num_established > 0 {
                    return;
                }
                self.metrics.connected_peers.set(self.peers() as i64);
                self.ledger.forget(&peer_id);
                let trimmed = self
                    .swarm
                    .behaviour_mut()
                    .conn_manager
                    .take_trimmed(&peer_id);
                let cause = if trimmed {
                    "trimmed".to_string()
                } else {
                    cause.map_or_else(|| "closed".to_string(), |e| e.to_string())
                };
                self.emitter.emit(Event::PeerDisconnected {
                    peer: peer_id.to_string(),
                    cause: Some(cause),
                });
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(?peer_id, %error, "outgoing connection failed");
            }
            _ => {}
        }
    }

    fn on_gossipsub(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let received_ns = now_ns();
        let (acceptance, event) =
            match self
                .validator
                .check(&message, &propagation_source, std::time::Instant::now())
            {
                Verdict::Accept {
                    origin,
                    seq,
                    published_ns,
                } => {
                    self.totals.delivered += 1;
                    self.metrics.delivered.inc();
                    let event = Event::Delivered {
                        msg_id: message_id.to_string(),
                        origin: origin.to_string(),
                        seq,
                        published_ns,
                        received_ns,
                        from: propagation_source.to_string(),
                    };
                    (MessageAcceptance::Accept, event)
                }
                Verdict::Reject(reason) => (
                    MessageAcceptance::Reject,
                    self.rejection(&message_id, &propagation_source, reason),
                ),
                Verdict::Ignore(reason) => (
                    MessageAcceptance::Ignore,
                    self.rejection(&message_id, &propagation_source, reason),
                ),
                Verdict::Equivocation { origin } => {
                    self.equivocators
                        .caught(origin, &mut self.swarm.behaviour_mut().gossipsub);
                    (
                        MessageAcceptance::Ignore,
                        self.rejection(&message_id, &propagation_source, "equivocation".into()),
                    )
                }
            };
        let acceptance = match acceptance {
            MessageAcceptance::Accept if !role::forwards(self.stance.role()) => {
                MessageAcceptance::Ignore
            }
            a => a,
        };
        let accepted = matches!(acceptance, MessageAcceptance::Accept);
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&message_id, &propagation_source, acceptance);
        if accepted && let Some(replay) = self.replay.as_mut() {
            replay.record(message.data.clone(), std::time::Instant::now());
        }
        if accepted {
            self.ledger
                .on_delivery(propagation_source, std::time::Instant::now());
            self.swarm
                .behaviour_mut()
                .fetch
                .insert(message_id, message.data);
        }
        self.emitter.emit(event);
    }

    fn rejection(&mut self, id: &MessageId, from: &PeerId, reason: String) -> Event {
        self.totals.rejected += 1;
        self.metrics.rejected.inc();
        Event::Rejected {
            msg_id: id.to_string(),
            from: from.to_string(),
            reason,
        }
    }

    /// Hands the outcome of one of our fetches to whoever asked.
    fn on_fetch(&mut self, event: fetch::Event) {
        let (request, data) = match event {
            fetch::Event::Fetched { request, data } => (request, data),
            fetch::Event::Failed { request, .. } => (request, None),
        };
        if let Some(reply) = self.fetches.remove(&request) {
            let _ = reply.send(data);
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
