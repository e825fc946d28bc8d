//! Hole punching's account: DCUtR starts on every relayed connection and reports only its
//! result, so the attempt is the relayed connection, and the duration runs from it to the
//! result.

use std::collections::HashMap;
use std::time::Instant;

use lab_events::Event;
use libp2p::{PeerId, dcutr};

/// The hole punches under way, by peer.
#[derive(Debug, Default)]
pub(crate) struct HolePunches {
    started: HashMap<PeerId, Instant>,
}

impl HolePunches {
    /// A relayed connection to `peer` was established at `now`: an attempt starts, unless
    /// one to that peer is under way.
    pub(crate) fn on_relayed_connection(&mut self, peer: PeerId, now: Instant) -> Option<Event> {
        if self.started.contains_key(&peer) {
            return None;
        }
        self.started.insert(peer, now);
        Some(Event::HolePunchAttempt {
            peer: peer.to_string(),
        })
    }

    /// The last relayed connection to `peer` closed: an attempt without a result is over.
    pub(crate) fn forget(&mut self, peer: &PeerId) {
        self.started.remove(peer);
    }

    /// DCUtR's result at `now`.
    pub(crate) fn on_result(&mut self, event: dcutr::Event, now: Instant) -> Event {
        let peer = event.remote_peer_id;
        let duration = self
            .started
            .remove(&peer)
            .map_or(std::time::Duration::ZERO, |t| {
                now.saturating_duration_since(t)
            });
        let (success, reason) = match event.result {
            Ok(_) => (true, None),
            Err(e) => (false, Some(e.to_string())),
        };
        Event::HolePunchResult {
            peer: peer.to_string(),
            success,
            duration_us: u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use libp2p::swarm::ConnectionId;

    use super::*;

    #[test]
    fn one_attempt_a_peer_timed_to_its_result() {
        let mut h = HolePunches::default();
        let peer = PeerId::random();
        let t0 = Instant::now();
        assert!(matches!(
            h.on_relayed_connection(peer, t0),
            Some(Event::HolePunchAttempt { .. })
        ));
        assert!(h.on_relayed_connection(peer, t0).is_none(), "one at a time");
        let result = dcutr::Event {
            remote_peer_id: peer,
            result: Ok(ConnectionId::new_unchecked(1)),
        };
        let e = h.on_result(result, t0 + Duration::from_millis(3));
        assert_eq!(
            e,
            Event::HolePunchResult {
                peer: peer.to_string(),
                success: true,
                duration_us: 3000,
                reason: None,
            }
        );
        assert!(h.on_relayed_connection(peer, t0).is_some(), "a new attempt");
    }
}
