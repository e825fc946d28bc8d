//! Application-level validation of gossipsub messages: nothing is forwarded before it
//! passes here.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use libp2p::PeerId;
use libp2p::gossipsub::{Message, TopicHash};

use crate::dilation::TimeScale;
use crate::envelope::{self, EnvelopeError};
use crate::rate::{RateLimit, SPEC_MESSAGES_PER_SEC};

/// What to tell gossipsub about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: deliver and forward.
    Accept {
        /// The origin.
        origin: PeerId,
        /// The origin's sequence number.
        seq: u64,
        /// The origin's publish time, ns since the Unix epoch.
        published_ns: u64,
    },
    /// Invalid: drop and penalise the sender.
    Reject(String),
    /// Not useful (e.g. a duplicate): drop without penalty.
    Ignore(String),
    /// A second, different envelope signed by `origin` under a sequence number it already
    /// used: drop without penalising whoever relayed it, and penalise the origin
    /// ([`crate::equivocators`]).
    Equivocation {
        /// The origin that signed both.
        origin: PeerId,
    },
}

/// Checks messages and remembers which (origin, sequence) pairs it has accepted, each with
/// the BLAKE3 digest of its signed bytes.
#[derive(Debug)]
pub struct Validator {
    max_payload: usize,
    topic: TopicHash,
    seen: HashMap<(PeerId, u64), blake3::Hash>,
    order: VecDeque<(PeerId, u64)>,
    rate: RateLimit,
}

/// How many accepted (origin, sequence) pairs are remembered for duplicate and
/// equivocation detection.
const SEEN_CAP: usize = 1 << 16;

impl Validator {
    /// A validator for `topic` accepting payloads up to `max_payload` bytes, and from each
    /// origin the spec's 100 messages a (virtual) second on a node dilated by `k`.
    pub fn new(max_payload: usize, topic: TopicHash, k: TimeScale) -> Self {
        Self {
            rate: RateLimit::new(SPEC_MESSAGES_PER_SEC, k),
            max_payload,
            topic,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Decodes (bytes that do not decode: `malformed`; a payload above the limit:
    /// `oversize`), checks size limits, checks that the envelope's origin is the gossipsub
    /// source (whose own signature strict mode has checked), verifies the ML-DSA signature,
    /// and drops duplicates. A second, different envelope under an accepted (origin,
    /// sequence) is [`Verdict::Equivocation`], whoever handed it over: a `Reject` would
    /// also penalise the honest relays that forward that version later (gossipsub scores
    /// every later copy of a rejected id as invalid). A new message from an
    /// origin above its rate ([`crate::rate`]) is `rate limit`, rejected or ignored by the
    /// same rule: relays forward an origin's first 100 a second, and a relay's copies may
    /// bunch up on the way. Both come before the costly ML-DSA verification.
    pub fn check(&mut self, message: &Message, from: &PeerId, now: Instant) -> Verdict {
        if message.topic != self.topic {
            return Verdict::Ignore("unknown topic".into());
        }
        let env = match envelope::decode(&message.data, self.max_payload) {
            Ok(env) => env,
            Err(EnvelopeError::PayloadTooLarge { .. }) => {
                return Verdict::Reject("oversize".into());
            }
            Err(_) => return Verdict::Reject("malformed".into()),
        };
        let Some(source) = message.source else {
            return Verdict::Reject("unsigned message".into());
        };
        let Ok(origin) = PeerId::from_bytes(env.origin) else {
            return Verdict::Reject("malformed origin".into());
        };
        if origin != source {
            return Verdict::Reject("origin mismatch".into());
        }
        let key = (origin, env.seq);
        let digest = blake3::hash(env.signed);
        match self.seen.get(&key) {
            Some(d) if *d == digest => return Verdict::Ignore("duplicate".into()),
            Some(_) => return Verdict::Equivocation { origin },
            None => {}
        }
        if !self.rate.allow(origin, now) {
            return if *from == origin {
                Verdict::Reject("rate limit".into())
            } else {
                Verdict::Ignore("rate limit".into())
            };
        }
        if !env.verify() {
            return Verdict::Reject("invalid signature".into());
        }
        self.seen.insert(key, digest);
        self.order.push_back(key);
        if self.order.len() > SEEN_CAP
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        Verdict::Accept {
            origin,
            seq: env.seq,
            published_ns: env.published_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Draft;
    use crate::pq::{Level, PqSigner};
    use libp2p::gossipsub::IdentTopic;

    fn message(source: PeerId, data: Vec<u8>, topic: &str) -> Message {
        Message {
            source: Some(source),
            data,
            sequence_number: Some(1),
            topic: IdentTopic::new(topic).hash(),
        }
    }

    fn sealed(origin: PeerId, seq: u64, forged: bool) -> Vec<u8> {
        sealed_with(origin, seq, forged, b"hi")
    }

    fn sealed_with(origin: PeerId, seq: u64, forged: bool, payload: &[u8]) -> Vec<u8> {
        let signer = PqSigner::from_seed(Level::L44, [1; 32]);
        let o = origin.to_bytes();
        let d = Draft {
            seq,
            published_ns: 5,
            origin: &o,
            payload,
        };
        if forged {
            d.seal_forged(&signer)
        } else {
            d.seal(&signer)
        }
    }

    #[test]
    fn verdicts() {
        let me = PeerId::random();
        let other = PeerId::random();
        let mut v = Validator::new(1024, IdentTopic::new("t").hash(), TimeScale::REAL);
        assert!(matches!(
            v.check(&message(me, sealed(me, 1, false), "t"), &me, Instant::now()),
            Verdict::Accept { seq: 1, .. }
        ));
        assert_eq!(
            v.check(&message(me, sealed(me, 1, false), "t"), &me, Instant::now()),
            Verdict::Ignore("duplicate".into())
        );
        assert_eq!(
            v.check(&message(me, sealed(me, 2, true), "t"), &me, Instant::now()),
            Verdict::Reject("invalid signature".into())
        );
        assert_eq!(
            v.check(
                &message(other, sealed(me, 3, false), "t"),
                &other,
                Instant::now()
            ),
            Verdict::Reject("origin mismatch".into())
        );
        assert_eq!(
            v.check(&message(me, vec![1, 2, 3], "t"), &me, Instant::now()),
            Verdict::Reject("malformed".into())
        );
        let mut small = Validator::new(1, IdentTopic::new("t").hash(), TimeScale::REAL);
        assert_eq!(
            small.check(&message(me, sealed(me, 5, false), "t"), &me, Instant::now()),
            Verdict::Reject("oversize".into())
        );
        assert_eq!(
            v.check(&message(me, sealed(me, 4, false), "u"), &me, Instant::now()),
            Verdict::Ignore("unknown topic".into())
        );
    }

    #[test]
    fn a_second_payload_under_one_sequence_number_is_equivocation() {
        let origin = PeerId::random();
        let relay = PeerId::random();
        let mut v = Validator::new(1024, IdentTopic::new("t").hash(), TimeScale::REAL);
        let first = sealed_with(origin, 1, false, b"one");
        let second = sealed_with(origin, 1, false, b"two");
        assert!(matches!(
            v.check(
                &message(origin, first.clone(), "t"),
                &origin,
                Instant::now()
            ),
            Verdict::Accept { seq: 1, .. }
        ));
        assert_eq!(
            v.check(&message(origin, first, "t"), &relay, Instant::now()),
            Verdict::Ignore("duplicate".into()),
            "an identical copy is a duplicate"
        );
        assert_eq!(
            v.check(
                &message(origin, second.clone(), "t"),
                &relay,
                Instant::now()
            ),
            Verdict::Equivocation { origin },
            "a relay may have accepted the other version first"
        );
        assert_eq!(
            v.check(&message(origin, second, "t"), &origin, Instant::now()),
            Verdict::Equivocation { origin },
            "the origin signed both"
        );
        assert!(matches!(
            v.check(
                &message(origin, sealed_with(origin, 2, false, b"two"), "t"),
                &origin,
                Instant::now()
            ),
            Verdict::Accept { seq: 2, .. }
        ));
    }

    #[test]
    fn beyond_the_rate_is_rejected_from_the_origin_and_ignored_from_relays() {
        let origin = PeerId::random();
        let relay = PeerId::random();
        let mut v = Validator::new(1024, IdentTopic::new("t").hash(), TimeScale::REAL);
        let now = Instant::now();
        let mut seq = 0;
        let mut next = |v: &mut Validator, from: &PeerId| {
            seq += 1;
            v.check(&message(origin, sealed(origin, seq, false), "t"), from, now)
        };
        for _ in 0..SPEC_MESSAGES_PER_SEC as usize {
            assert!(matches!(next(&mut v, &origin), Verdict::Accept { .. }));
        }
        assert_eq!(next(&mut v, &origin), Verdict::Reject("rate limit".into()));
        assert_eq!(next(&mut v, &relay), Verdict::Ignore("rate limit".into()));
        let other = PeerId::random();
        assert!(matches!(
            v.check(&message(other, sealed(other, 1, false), "t"), &other, now),
            Verdict::Accept { .. }
        ));
    }
}
