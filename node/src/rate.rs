//! The spec's per-topic message rate limit (seed 000 §9.3, "max 100 messages/sec per
//! topic"), which libp2p's gossipsub does not enforce: its nearest limits are per RPC
//! (`max_publish_messages`, 5000 messages), per connection queue
//! (`connection_handler_queue_len`) and for IHAVE per heartbeat, none a rate.
//!
//! A token bucket per origin (the peer that signed the messages, wherever they come from),
//! holding one second's worth: an origin may publish 100 messages at once, then 100 a
//! second. The rate is virtual: under time dilation a second lasts `k` real seconds.

use std::collections::HashMap;
use std::time::Instant;

use libp2p::PeerId;

use crate::dilation::TimeScale;

/// Messages a second one origin may publish on a topic (seed 000 §9.3).
pub use lab_config::TOPIC_RATE_LIMIT as SPEC_MESSAGES_PER_SEC;

/// Origins tracked at most; beyond it, origins whose buckets have refilled are forgotten.
const MAX_ORIGINS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Per-origin token buckets for one topic.
#[derive(Debug)]
pub struct RateLimit {
    /// Tokens a real second.
    rate: f64,
    /// The bucket's size.
    burst: f64,
    buckets: HashMap<PeerId, Bucket>,
}

impl RateLimit {
    /// `per_sec` messages a (virtual) second from each origin, on a node dilated by `k`.
    pub fn new(per_sec: f64, k: TimeScale) -> Self {
        Self {
            rate: k.real_rate(per_sec),
            burst: per_sec.max(1.0),
            buckets: HashMap::new(),
        }
    }

    /// Whether `origin` may have one more message at `now`; takes a token if so.
    pub fn allow(&mut self, origin: PeerId, now: Instant) -> bool {
        if self.buckets.len() >= MAX_ORIGINS && !self.buckets.contains_key(&origin) {
            let (rate, burst) = (self.rate, self.burst);
            self.buckets
                .retain(|_, b| refilled(b, rate, burst, now) < burst);
        }
        let (rate, burst) = (self.rate, self.burst);
        let b = self.buckets.entry(origin).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = refilled(b, rate, burst, now);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The tokens `b` holds at `now`.
fn refilled(b: &Bucket, rate: f64, burst: f64, now: Instant) -> f64 {
    let dt = now.saturating_duration_since(b.at).as_secs_f64();
    (b.tokens + dt * rate).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_of_the_rate_then_the_rate() {
        let mut r = RateLimit::new(100.0, TimeScale::REAL);
        let (a, b) = (PeerId::random(), PeerId::random());
        let t0 = Instant::now();
        assert_eq!((0..150).filter(|_| r.allow(a, t0)).count(), 100);
        assert!(r.allow(b, t0), "origins are counted apart");
        // A tenth of a second later: ten more.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!((0..50).filter(|_| r.allow(a, t1)).count(), 10);
        // After an idle second the bucket is full again, no fuller.
        let t2 = t1 + Duration::from_secs(5);
        assert_eq!((0..150).filter(|_| r.allow(a, t2)).count(), 100);
    }

    #[test]
    fn the_rate_is_virtual() {
        let mut r = RateLimit::new(100.0, TimeScale::new(4.0).expect("valid"));
        let a = PeerId::random();
        let t0 = Instant::now();
        assert_eq!((0..100).filter(|_| r.allow(a, t0)).count(), 100);
        // One real second is a quarter of a virtual one.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..100).filter(|_| r.allow(a, t1)).count(), 25);
    }

    #[test]
    fn idle_origins_are_forgotten_beyond_the_cap() {
        let mut r = RateLimit::new(100.0, TimeScale::REAL);
        let t0 = Instant::now();
        for _ in 0..MAX_ORIGINS {
            r.allow(PeerId::random(), t0);
        }
        assert_eq!(r.buckets.len(), MAX_ORIGINS);
        r.allow(PeerId::random(), t0 + Duration::from_secs(2));
        assert_eq!(r.buckets.len(), 1);
    }
}
