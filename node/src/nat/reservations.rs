//! A relay client's reservations: one `/p2p-circuit` listener on each configured relay, a
//! failed or lost one asked for again after a (dilated) pause.

use std::collections::HashMap;
use std::time::Duration;

use lab_events::Event;
use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::time::Instant;

/// The relays this node reserves on, and its listener on each.
#[derive(Debug)]
pub(crate) struct Reservations {
    /// Each relay's `…/p2p/<relay>/p2p-circuit` address.
    circuits: Vec<Multiaddr>,
    /// Listeners under way, by the index of their relay.
    listeners: HashMap<ListenerId, usize>,
    /// Relays to ask again, and when.
    retry: Vec<(Instant, usize)>,
    pause: Duration,
}

impl Reservations {
    /// Reservations on `relays` (each ending in `/p2p/<id>`); `pause` is the real time
    /// before a failed one is asked for again.
    pub(crate) fn new(relays: &[Multiaddr], pause: Duration) -> Self {
        let now = Instant::now();
        Self {
            circuits: relays
                .iter()
                .map(|r| r.clone().with(Protocol::P2pCircuit))
                .collect(),
            listeners: HashMap::new(),
            retry: (0..relays.len()).map(|i| (now, i)).collect(),
            pause,
        }
    }

    /// The relays' peer ids and addresses (without `/p2p-circuit`).
    pub(crate) fn relays(&self) -> impl Iterator<Item = (PeerId, Multiaddr)> + '_ {
        self.circuits.iter().filter_map(|c| {
            let mut relay = c.clone();
            relay.pop();
            let peer = match relay.iter().last() {
                Some(Protocol::P2p(peer)) => peer,
                _ => return None,
            };
            Some((peer, relay))
        })
    }

    /// When the next relay is due to be asked.
    pub(crate) fn next_at(&self) -> Option<Instant> {
        self.retry.iter().map(|(at, _)| *at).min()
    }

    /// The circuit addresses due at `now`, to listen on; each listener is then given to
    /// [`Reservations::listening`] (or its error to [`Reservations::refused`]).
    pub(crate) fn due(&mut self, now: Instant) -> Vec<(usize, Multiaddr)> {
        let (due, later): (Vec<(Instant, usize)>, Vec<_>) =
            self.retry.drain(..).partition(|(at, _)| *at <= now);
        self.retry = later;
        due.into_iter()
            .map(|(_, i)| (i, self.circuits[i].clone()))
            .collect()
    }

    /// The listener asking relay `i`.
    pub(crate) fn listening(&mut self, i: usize, listener: ListenerId) {
        self.listeners.insert(listener, i);
    }

    /// Listening on relay `i` was refused at once (`reason`): asked again later.
    pub(crate) fn refused(&mut self, i: usize, reason: String, now: Instant) -> Event {
        self.retry.push((now + self.pause, i));
        Event::RelayReservationFailed {
            relay: self.circuits[i].to_string(),
            reason,
        }
    }

    /// A listener closed: if it was a relay's, its reservation failed or is lost, and the
    /// relay is asked again later.
    pub(crate) fn on_listener_closed(
        &mut self,
        listener: ListenerId,
        reason: String,
        now: Instant,
    ) -> Option<Event> {
        let i = self.listeners.remove(&listener)?;
        Some(self.refused(i, reason, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_relay_listener_fails_and_is_retried_after_the_pause() {
        let relay_id = PeerId::random();
        let relay: Multiaddr = format!("/ip4/127.0.0.1/tcp/4001/p2p/{relay_id}")
            .parse()
            .expect("valid");
        let pause = Duration::from_secs(10);
        let mut r = Reservations::new(std::slice::from_ref(&relay), pause);
        assert_eq!(r.relays().collect::<Vec<_>>(), [(relay_id, relay.clone())]);
        let now = Instant::now();
        let due = r.due(now);
        assert_eq!(due, [(0, relay.clone().with(Protocol::P2pCircuit))]);
        assert_eq!(r.next_at(), None);
        let listener = ListenerId::next();
        r.listening(0, listener);
        assert!(
            r.on_listener_closed(ListenerId::next(), "x".into(), now)
                .is_none(),
            "not a relay's listener"
        );
        let failed = r.on_listener_closed(listener, "refused".into(), now);
        assert!(matches!(
            failed,
            Some(Event::RelayReservationFailed { ref reason, .. }) if reason == "refused"
        ));
        assert_eq!(r.next_at(), Some(now + pause));
        assert!(r.due(now).is_empty());
        assert_eq!(r.due(now + pause).len(), 1);
    }
}
