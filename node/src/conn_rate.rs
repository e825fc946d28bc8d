//! The spec's connection rate limit (seed 000 §9.3: at most 10 new connections a second)
//! as a behaviour of its own: a token bucket of inbound connections, refilled at the
//! configured rate and holding a second's worth, that denies an inbound connection while
//! empty, before its security handshake.
//!
//! libp2p has no such limit: `connection_limits` caps how many connections are pending or
//! established at once, not how fast they come. Outbound dials are the node's own and are
//! not counted.

use std::convert::Infallible;
use std::task::{Context, Poll};

use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use tokio::time::Instant;

/// Why an inbound connection was denied.
#[derive(Debug, thiserror::Error)]
#[error("accept an inbound connection: more than {per_sec} new connections a second")]
pub struct RateExceeded {
    /// The limit, connections a (real) second.
    pub per_sec: f64,
}

/// Denies inbound connections beyond a rate.
#[derive(Debug)]
pub struct Behaviour {
    bucket: Bucket,
}

impl Behaviour {
    /// A limit of `per_sec` new inbound connections a (real) second, with a burst of as
    /// many (at least one).
    pub fn new(per_sec: f64) -> Self {
        Self {
            bucket: Bucket::new(per_sec, Instant::now()),
        }
    }
}

/// A token bucket: `capacity` tokens, refilled at `per_sec`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    per_sec: f64,
    capacity: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(per_sec: f64, now: Instant) -> Self {
        let capacity = per_sec.max(1.0);
        Self {
            per_sec,
            capacity,
            tokens: capacity,
            at: now,
        }
    }

    /// Takes a token at `now`; `false` when there is none.
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        if self.bucket.take(Instant::now()) {
            Ok(())
        } else {
            Err(ConnectionDenied::new(RateExceeded {
                per_sec: self.bucket.per_sec,
            }))
        }
    }

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

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_of_the_rate_passes_and_the_next_waits_for_a_refill() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10.0, t0);
        assert!((0..10).all(|_| b.take(t0)), "a second's worth at once");
        assert!(!b.take(t0), "the eleventh is denied");
        assert!(!b.take(t0 + Duration::from_millis(50)), "half a token");
        assert!(b.take(t0 + Duration::from_millis(100)), "one token later");
        assert!(!b.take(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn the_bucket_holds_no_more_than_a_second_after_a_long_quiet() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10.0, t0);
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..20).filter(|_| b.take(later)).count(), 10);
    }

    #[test]
    fn a_slow_rate_still_admits_one() {
        let t0 = Instant::now();
        let mut b = Bucket::new(0.1, t0);
        assert!(b.take(t0));
        assert!(!b.take(t0 + Duration::from_secs(5)));
        assert!(b.take(t0 + Duration::from_secs(10)));
    }
}
