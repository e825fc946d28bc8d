//! The composed libp2p behaviour and the swarm that carries it.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::time::Duration;

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::{Boxed, OptionalTransport};
use libp2p::core::upgrade;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    Multiaddr, PeerId, Swarm, SwarmBuilder, Transport, connection_limits, gossipsub, identify,
    identity, kad, mdns, ping, quic, relay, swarm::NetworkBehaviour, tcp, yamux,
};
use prometheus_client::registry::Registry;

use crate::adversary::{self, Attack};
use crate::config::NodeConfig;
use crate::dilation::{self, TimeScale};
use crate::security::{self, Handshakes};
use crate::throttle::Throttle;
use crate::{conn_manager, conn_rate, fetch, gossip, nat};

/// Agent protocol announced by identify.
pub const IDENTIFY_PROTOCOL: &str = "/meshlab/1.0.0";

pub use composed::{Behaviour, BehaviourEvent};

mod composed {
    // The derive generates `BehaviourEvent` without doc comments.
    #![allow(missing_docs)]
    use super::*;

    /// Every protocol the node speaks.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        /// The inbound connection rate limit (spec §9.3).
        pub conn_rate: conn_rate::Behaviour,
        /// Connection limits (spec §4.4).
        pub limits: connection_limits::Behaviour,
        /// The connection manager: trims peers to a target under the limits.
        pub conn_manager: conn_manager::Behaviour,
        /// Gossipsub 1.1 with peer scoring.
        pub gossipsub: gossipsub::Behaviour,
        /// Kademlia DHT in server mode.
        pub kad: kad::Behaviour<kad::store::MemoryStore>,
        /// Identify.
        pub identify: identify::Behaviour,
        /// Ping.
        pub ping: ping::Behaviour,
        /// mDNS, when enabled.
        pub mdns: Toggle<mdns::tokio::Behaviour>,
        /// Fetch a message by id, and serve the store of recent messages.
        pub fetch: fetch::Behaviour,
        /// Relay, AutoNAT and hole punching, as the `[nat]` table says.
        pub nat: nat::Behaviour,
        /// The gossipsub of a role that speaks it itself ([`crate::adversary`]); the
        /// `gossipsub` field's protocol is then muted.
        pub adversary: Toggle<adversary::Behaviour>,
    }
}

impl Behaviour {
    /// The connection manager's turn, with gossipsub's knowledge: peers in any mesh are
    /// kept, the others rank by their score. Returns the peers it disconnects.
    pub fn trim_peers(&mut self) -> Vec<PeerId> {
        let gossipsub = &self.gossipsub;
        let mesh: HashSet<&PeerId> = gossipsub.all_mesh_peers().collect();
        self.conn_manager
            .trim(|p| mesh.contains(p), |p| gossipsub.peer_score(p))
    }

    /// Learns `peer`'s listen addresses (from identify) for Kademlia, but only into a
    /// k-bucket with room: for a full bucket, kad's `add_address` dials the bucket's oldest
    /// disconnected entry to test it. Against the connection manager that was a perpetual
    /// loop at 100 nodes (trim a peer, kad dials it back, trim again: ~50 handshakes a
    /// second).
    pub fn learn_addresses(&mut self, peer: &PeerId, addrs: Vec<Multiaddr>) {
        if self
            .kad
            .kbucket(*peer)
            .is_some_and(|b| b.num_entries() < KAD_K)
        {
            for addr in addrs {
                self.kad.add_address(peer, addr);
            }
        }
    }
}

/// Why the swarm could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The gossipsub configuration was rejected.
    #[error("build gossipsub config: {0}")]
    GossipsubConfig(String),
    /// Peer scoring could not be enabled.
    #[error("enable peer scoring: {0}")]
    PeerScore(String),
    /// A transport could not be set up.
    #[error("set up transport: {0}")]
    Transport(String),
    /// mDNS could not start.
    #[error("start mdns: {0}")]
    Mdns(String),
}

/// Envelope bytes beyond the payload, rounded up generously, plus gossipsub framing.
const WIRE_SLACK: usize = 16 * 1024;

fn behaviour(
    key: &identity::Keypair,
    relay_client: relay::client::Behaviour,
    config: &NodeConfig,
    registry: &mut Registry,
) -> Result<Behaviour, BuildError> {
    let peer_id = key.public().to_peer_id();
    let g = &config.gossipsub;
    let k = config.time_scale;
    let max_transmit = config.max_payload + WIRE_SLACK;
    let attack = Attack::of(config.role);
    let mut gs_config = gossip::builder(g, max_transmit, k);
    if attack.is_some() {
        gs_config.protocol_id(adversary::MUTED_PROTOCOL, gossipsub::Version::V1_1);
    }
    let gs_config = gs_config
        .build()
        .map_err(|e| BuildError::GossipsubConfig(e.to_string()))?;
    let gossipsub = gossipsub::Behaviour::new(
        gossipsub::MessageAuthenticity::Signed(key.clone()),
        gs_config,
    )
    .map_err(|e| BuildError::GossipsubConfig(e.to_string()))?;
    let mut gossipsub = gossipsub.with_metrics(registry, gossipsub::MetricsConfig::default());
    let topic = gossipsub::IdentTopic::new(config.topic.clone());
    gossipsub.register_topics_for_metrics(vec![topic.hash()]);
    gossipsub
        .with_peer_score(gossip::score_params(g, topic.hash()), gossip::thresholds(g))
        .map_err(BuildError::PeerScore)?;

    let l = &config.limits;
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(l.max_connections))
        .with_max_established_per_peer(Some(l.max_connections_per_peer))
        .with_max_pending_incoming(Some(l.max_pending_incoming))
        .with_max_pending_outgoing(Some(l.max_pending_outgoing))
        .with_max_established_incoming(Some(l.max_established_incoming))
        .with_max_established_outgoing(Some(l.max_established_outgoing));

    let mut kad_config = kad::Config::new(kad::PROTOCOL_NAME);
    if let Some(k) = NonZeroUsize::new(KAD_K) {
        kad_config.set_replication_factor(k);
    }
    // The node fills the routing table itself (from identify, where a bucket has room):
    // kad's own inserts on connection dial a full bucket's oldest disconnected entry,
    // which fights the connection manager (see `Behaviour::learn_addresses`).
    kad_config.set_kbucket_inserts(kad::BucketInserts::Manual);
    // No periodic bucket refresh (default every 5 min): each one dials peers across the
    // whole id space, a burst of handshakes that a testnet would measure as a stall. The
    // join lookup is scheduled by `redial.rs`; kad still bootstraps by itself while its
    // table holds fewer than k peers.
    kad_config.set_periodic_bootstrap_interval(None);
    kad_config.set_query_timeout(k.real(dilation::KAD_QUERY_TIMEOUT));
    let mut kad =
        kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
    kad.set_mode(Some(kad::Mode::Server));

    let mdns = if config.mdns {
        Some(
            mdns::tokio::Behaviour::new(dilation::mdns(k), peer_id)
                .map_err(|e| BuildError::Mdns(e.to_string()))?,
        )
    } else {
        None
    };

    Ok(Behaviour {
        conn_rate: conn_rate::Behaviour::new(l.inbound_rate_per_sec),
        limits: connection_limits::Behaviour::new(limits),
        conn_manager: conn_manager::Behaviour::new(
            l.target_peers as usize,
            k.real(conn_manager::GRACE),
        ),
        gossipsub,
        kad,
        identify: identify::Behaviour::new(
            identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())
                .with_interval(k.real(dilation::IDENTIFY_INTERVAL)),
        ),
        ping: ping::Behaviour::new(
            ping::Config::new()
                .with_interval(Duration::from_millis(config.ping_interval_ms))
                .with_timeout(k.real(dilation::PING_TIMEOUT)),
        ),
        mdns: Toggle::from(mdns),
        fetch: fetch::Behaviour::new(fetch::STORE_CAPACITY),
        nat: nat::behaviour(peer_id, relay_client, config),
        adversary: Toggle::from(attack.map(|a| {
            adversary::Behaviour::new(
                a,
                peer_id,
                config.topic.clone(),
                Duration::from_millis(g.heartbeat_ms),
                max_transmit.max(gossip::MAX_CONTROL_MESSAGE_SIZE),
            )
        })),
    })
}

/// Kademlia's k (spec: 20), the replication factor; also libp2p's fixed bucket size.
pub const KAD_K: usize = 20;

/// Builds a swarm with TCP and relayed (`/p2p-circuit`) transports secured by
/// [`security::Upgrade`] (TLS 1.3 with the groups of `config.security`, noise as fallback
/// unless `pq-only`; yamux), and QUIC unless `pq-only` ([`lab_config::Security::allows_quic`]); the
/// relayed one works only where the `[nat]` table turns the relay client on
/// ([`lab_config::NatConfig::dials_circuits`]). Every connection's reads are throttled
/// per peer ([`crate::throttle`]). The upgrades leave their records in `handshakes`.
/// Gossipsub and the throttle register their metrics in `registry`. `config` holds real
/// times ([`NodeConfig::dilated`]); the timers it does not name are scaled by its
/// `time_scale` here ([`crate::dilation`]).
pub fn swarm(
    key: identity::Keypair,
    config: &NodeConfig,
    handshakes: &Handshakes,
    registry: &mut Registry,
) -> Result<Swarm<Behaviour>, BuildError> {
    let k: TimeScale = config.time_scale;
    let throttle = Throttle::new(config.limits.peer_bytes_per_sec as f64, k);
    throttle.register(registry);
    let (relay_transport, relay_client) = relay::client::new(key.public().to_peer_id());
    let transport = transport(&key, config, handshakes, relay_transport, throttle)?;
    let mut built: Option<BuildError> = None;
    let Ok(swarm) = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_other_transport(|_| transport);
    let swarm = swarm.with_behaviour(|key| match behaviour(key, relay_client, config, registry) {
        Ok(b) => Ok(b),
        Err(e) => {
            let msg = e.to_string();
            built = Some(e);
            Err(msg.into())
        }
    });
    let swarm = match swarm {
        Ok(s) => s,
        Err(e) => return Err(built.unwrap_or_else(|| BuildError::Transport(e.to_string()))),
    };
    Ok(swarm
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(k.real(dilation::IDLE_CONNECTION_TIMEOUT))
        })
        .with_connection_timeout(k.real(dilation::CONNECTION_TIMEOUT))
        .build())
}

/// The node's transports, as libp2p's `SwarmBuilder` composes them (`with_tcp`,
/// `with_other_transport` for QUIC, `with_relay_client`), but built here so that every
/// connection, whatever its transport, comes out wrapped in the per-peer throttle.
fn transport(
    key: &identity::Keypair,
    config: &NodeConfig,
    handshakes: &Handshakes,
    relay: relay::client::Transport,
    throttle: Throttle,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, BuildError> {
    let security = config.security;
    let upgrade = security::Upgrade::new(key, security, handshakes.clone())
        .map_err(|e| BuildError::Transport(e.to_string()))?;
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
        .upgrade(upgrade::Version::V1Lazy)
        .authenticate(upgrade.clone())
        .multiplex(yamux::Config::default())
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)));
    // pq-only: no QUIC at all (its rustls groups are libp2p-quic's, not ours).
    let quic = if security.allows_quic() {
        OptionalTransport::some(quic::tokio::Transport::new(dilation::quic(
            quic::Config::new(key),
            config.time_scale,
        )))
    } else {
        OptionalTransport::none()
    }
    .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)));
    let relayed = relay
        .upgrade(upgrade::Version::V1Lazy)
        .authenticate(upgrade)
        .multiplex(yamux::Config::default())
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)));
    Ok(relayed
        .or_transport(tcp.or_transport(quic).map(|either, _| either.into_inner()))
        .map(|either, _| either.into_inner())
        .map(move |(peer, muxer), _| (peer, StreamMuxerBox::new(throttle.wrap(peer, muxer))))
        .boxed())
}
