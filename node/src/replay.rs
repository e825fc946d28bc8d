//! The `replay` role's memory: valid envelopes of other origins it accepted, republished
//! later as its own gossipsub messages (signed by the replayer, so that their gossipsub
//! source is the replayer and the envelope's origin someone else).
//!
//! Each publish replays the newest envelope recorded (still in every duplicate cache: the
//! replayer's own gossipsub refuses to publish it, as `Duplicate`) and, once there is one,
//! the oldest envelope whose duplicate-cache entries have expired (it goes out, and the
//! receivers' check that the origin is the gossipsub source rejects it).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Envelopes kept at most; beyond it the oldest are dropped.
const CAPACITY: usize = 4096;

/// Recorded envelopes, oldest first.
#[derive(Debug)]
pub struct Replay {
    recorded: VecDeque<(Instant, Vec<u8>)>,
    /// Age at which an envelope has left every duplicate cache (real time).
    expired_after: Duration,
}

impl Replay {
    /// A recorder whose envelopes count as expired `expired_after` after they arrived.
    pub fn new(expired_after: Duration) -> Self {
        Self {
            recorded: VecDeque::new(),
            expired_after,
        }
    }

    /// Records an envelope accepted at `now`.
    pub fn record(&mut self, data: Vec<u8>, now: Instant) {
        if self.recorded.len() >= CAPACITY {
            self.recorded.pop_front();
        }
        self.recorded.push_back((now, data));
    }

    /// What to replay at `now`: the oldest expired envelope (taken), if any, and the
    /// newest one (kept).
    pub fn due(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self
            .recorded
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= self.expired_after)
            && let Some((_, data)) = self.recorded.pop_front()
        {
            out.push(data);
        }
        if let Some((_, data)) = self.recorded.back() {
            out.push(data.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_is_replayed_and_the_expired_ones_once_each() {
        let mut r = Replay::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(r.due(t0).is_empty(), "nothing recorded yet");
        r.record(b"a".to_vec(), t0);
        r.record(b"b".to_vec(), t0 + Duration::from_secs(5));
        assert_eq!(r.due(t0 + Duration::from_secs(6)), [b"b".to_vec()]);
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(r.due(t1), [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(r.due(t1), [b"b".to_vec()], "an expired one goes once");
        let t2 = t0 + Duration::from_secs(14);
        assert_eq!(r.due(t2), [b"b".to_vec()], "the newest is kept");
    }

    #[test]
    fn the_oldest_are_dropped_beyond_the_capacity() {
        let mut r = Replay::new(Duration::ZERO);
        let t0 = Instant::now();
        for i in 0..=CAPACITY as u32 {
            r.record(i.to_be_bytes().to_vec(), t0);
        }
        assert_eq!(r.recorded.len(), CAPACITY);
        assert_eq!(r.due(t0)[0], 1u32.to_be_bytes());
    }
}
