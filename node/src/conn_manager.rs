//! The connection manager, with go-libp2p's watermarks, as a behaviour of its own: above the
//! high watermark (`target` × 1.5 peers) it disconnects the lowest-scored peers that are not
//! kept and were connected more than a grace period ago, down to `target`.
//!
//! The hard caps are libp2p's `connection_limits` behaviour (see `behaviour.rs`); this is the
//! soft target under them. Which peers to keep and how they score is gossipsub's knowledge,
//! so the caller passes it to [`Behaviour::trim`]; the behaviour tracks connections itself
//! and closes the chosen peers through [`ToSwarm::CloseConnection`].
//!
//! Trimming at the target itself, with no grace, fed a loop in 100-node testnets: a node cut
//! a connection that a Kademlia query had just opened, the query dialled the next peer, which
//! cut it in turn; ~50 handshakes a second for minutes on end.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::swarm::behaviour::{ConnectionClosed, ConnectionEstablished};
use libp2p::swarm::{
    CloseConnection, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};
use tokio::time::Instant;

/// A new connection is safe from the connection manager this long (go-libp2p's connection
/// manager has the same idea), so that queries and grafts can use it.
pub const GRACE: Duration = Duration::from_secs(30);

/// Tracks connected peers and trims them to a target on request.
#[derive(Debug)]
pub struct Behaviour {
    target: usize,
    grace: Duration,
    /// Connected peers, with when the first connection to each was established.
    connected: HashMap<PeerId, Instant>,
    /// Peers chosen by [`Behaviour::trim`] whose close is still to be asked of the swarm.
    closing: VecDeque<PeerId>,
    /// Peers trimmed whose close is still to be reported ([`Behaviour::take_trimmed`]).
    trimmed: HashSet<PeerId>,
    waker: Option<Waker>,
}

impl Behaviour {
    /// A manager that trims to `target` peers (0: never) and spares connections younger
    /// than `grace`.
    pub fn new(target: usize, grace: Duration) -> Self {
        Self {
            target,
            grace,
            connected: HashMap::new(),
            closing: VecDeque::new(),
            trimmed: HashSet::new(),
            waker: None,
        }
    }

    /// Peers with at least one connection.
    pub fn peers(&self) -> impl Iterator<Item = &PeerId> {
        self.connected.keys()
    }

    /// How many peers have at least one connection.
    pub fn num_peers(&self) -> usize {
        self.connected.len()
    }

    /// Above the high watermark, disconnects the lowest-scored peers (`score`, 0 for none)
    /// that are not to be kept (`keep`) and are older than the grace period, down to the
    /// target; returns the peers it disconnects.
    pub fn trim(
        &mut self,
        keep: impl Fn(&PeerId) -> bool,
        score: impl Fn(&PeerId) -> Option<f64>,
    ) -> Vec<PeerId> {
        let chosen = choose(
            &self.connected,
            Instant::now(),
            self.target,
            self.grace,
            keep,
            score,
        );
        for peer in &chosen {
            self.trimmed.insert(*peer);
            self.closing.push_back(*peer);
        }
        if !chosen.is_empty()
            && let Some(w) = self.waker.take()
        {
            w.wake();
        }
        chosen
    }

    /// Whether the manager disconnected `peer`, whose last connection has closed; asking
    /// forgets it.
    pub fn take_trimmed(&mut self, peer: &PeerId) -> bool {
        self.trimmed.remove(peer)
    }
}

/// The peers [`Behaviour::trim`] disconnects: beyond `target` × 1.5, the lowest-scored
/// ones neither kept nor younger than `grace`, as many as are beyond `target`.
fn choose(
    connected: &HashMap<PeerId, Instant>,
    now: Instant,
    target: usize,
    grace: Duration,
    keep: impl Fn(&PeerId) -> bool,
    score: impl Fn(&PeerId) -> Option<f64>,
) -> Vec<PeerId> {
    let high = target + target / 2;
    if target == 0 || connected.len() <= high {
        return Vec::new();
    }
    let excess = connected.len() - target;
    let mut candidates: Vec<(f64, PeerId)> = connected
        .iter()
        .filter(|(p, since)| !keep(p) && now.duration_since(**since) >= grace)
        .map(|(p, _)| (score(p).unwrap_or(0.0), *p))
        .collect();
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    candidates
        .into_iter()
        .take(excess)
        .map(|(_, p)| p)
        .collect()
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished {
                peer_id,
                other_established: 0,
                ..
            }) => {
                self.connected.insert(peer_id, Instant::now());
            }
            FromSwarm::ConnectionClosed(ConnectionClosed {
                peer_id,
                remaining_established: 0,
                ..
            }) => {
                self.connected.remove(&peer_id);
                // Closed before the swarm was asked to: a close now would only cancel a
                // new dial to the peer.
                self.closing.retain(|p| *p != peer_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        match self.closing.pop_front() {
            Some(peer_id) => Poll::Ready(ToSwarm::CloseConnection {
                peer_id,
                connection: CloseConnection::All,
            }),
            None => {
                self.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` peers connected at `since`.
    fn peers(n: usize, since: Instant) -> (Vec<PeerId>, HashMap<PeerId, Instant>) {
        let ids: Vec<PeerId> = (0..n).map(|_| PeerId::random()).collect();
        let map = ids.iter().map(|p| (*p, since)).collect();
        (ids, map)
    }

    #[test]
    fn nothing_is_trimmed_up_to_the_high_watermark() {
        let since = Instant::now();
        let now = since + GRACE;
        let (_, connected) = peers(6, since);
        assert!(choose(&connected, now, 4, GRACE, |_| false, |_| None).is_empty());
    }

    #[test]
    fn above_the_high_watermark_the_lowest_scored_go_down_to_the_target() {
        let since = Instant::now();
        let now = since + GRACE;
        let (ids, connected) = peers(7, since);
        let scores: HashMap<PeerId, f64> = ids
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, i as f64))
            .collect();
        let chosen = choose(
            &connected,
            now,
            4,
            GRACE,
            |_| false,
            |p| scores.get(p).copied(),
        );
        assert_eq!(chosen, ids[..3].to_vec());
    }

    #[test]
    fn kept_and_young_peers_are_spared() {
        let since = Instant::now();
        let now = since + GRACE;
        let (ids, mut connected) = peers(7, since);
        connected.insert(ids[1], since + GRACE / 2);
        let chosen = choose(
            &connected,
            now,
            4,
            GRACE,
            |p| *p == ids[0],
            |p| Some(if ids[..2].contains(p) { -100.0 } else { 0.0 }),
        );
        assert_eq!(chosen.len(), 3);
        assert!(!chosen.contains(&ids[0]), "kept");
        assert!(!chosen.contains(&ids[1]), "within the grace period");
    }

    #[test]
    fn a_target_of_zero_turns_trimming_off() {
        let since = Instant::now();
        let now = since + GRACE;
        let (_, connected) = peers(50, since);
        assert!(choose(&connected, now, 0, GRACE, |_| false, |_| None).is_empty());
    }
}
