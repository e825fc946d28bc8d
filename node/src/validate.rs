//! Application-level validation of gossipsub messages: nothing is forwarded before it
//! passes here.

use std::collections::{HashSet, VecDeque};

use libp2p::PeerId;
use libp2p::gossipsub::{Message, TopicHash};

use crate::envelope;

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
}

/// Checks messages and remembers which (origin, sequence) pairs it has accepted.
#[derive(Debug)]
pub struct Validator {
    max_payload: usize,
    topic: TopicHash,
    seen: HashSet<(PeerId, u64)>,
    order: VecDeque<(PeerId, u64)>,
}

/// How many accepted (origin, sequence) pairs are remembered for duplicate detection.
const SEEN_CAP: usize = 1 << 16;

impl Validator {
    /// A validator for `topic` accepting payloads up to `max_payload` bytes.
    pub fn new(max_payload: usize, topic: TopicHash) -> Self {
        Self {
            max_payload,
            topic,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Decodes, checks size limits, checks that the envelope's origin is the gossipsub
    /// source (whose own signature strict mode has checked), verifies the ML-DSA signature,
    /// and drops duplicates.
    pub fn check(&mut self, message: &Message) -> Verdict {
        if message.topic != self.topic {
            return Verdict::Ignore("unknown topic".into());
        }
        let env = match envelope::decode(&message.data, self.max_payload) {
            Ok(env) => env,
            Err(e) => return Verdict::Reject(format!("malformed: {e}")),
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
        if !env.verify() {
            return Verdict::Reject("invalid signature".into());
        }
        let key = (origin, env.seq);
        if !self.seen.insert(key) {
            return Verdict::Ignore("duplicate".into());
        }
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
        let signer = PqSigner::from_seed(Level::L44, [1; 32]);
        let o = origin.to_bytes();
        let d = Draft {
            seq,
            published_ns: 5,
            origin: &o,
            payload: b"hi",
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
        let mut v = Validator::new(1024, IdentTopic::new("t").hash());
        assert!(matches!(
            v.check(&message(me, sealed(me, 1, false), "t")),
            Verdict::Accept { seq: 1, .. }
        ));
        assert_eq!(
            v.check(&message(me, sealed(me, 1, false), "t")),
            Verdict::Ignore("duplicate".into())
        );
        assert_eq!(
            v.check(&message(me, sealed(me, 2, true), "t")),
            Verdict::Reject("invalid signature".into())
        );
        assert_eq!(
            v.check(&message(other, sealed(me, 3, false), "t")),
            Verdict::Reject("origin mismatch".into())
        );
        assert!(matches!(
            v.check(&message(me, vec![1, 2, 3], "t")),
            Verdict::Reject(r) if r.starts_with("malformed")
        ));
        assert_eq!(
            v.check(&message(me, sealed(me, 4, false), "u")),
            Verdict::Ignore("unknown topic".into())
        );
    }
}
