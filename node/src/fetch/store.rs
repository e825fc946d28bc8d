//! The fetch store: the latest messages by id, the oldest dropped beyond its capacity, each
//! handed back byte for byte.
//!
//! Every envelope carries its origin's ML-DSA public key (2,592 of its ~8,300 bytes at
//! ML-DSA-87 with a 1 KiB payload), the same in every message of one origin. The store keeps
//! each distinct key once, shared by the messages that carry it, and the rest of each message
//! apart: a full store of 1,024 such messages holds ~5.6 MiB instead of ~8.3 MiB. Anything
//! that is not a well-formed envelope is kept whole.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use libp2p::gossipsub::MessageId;

use crate::envelope;

/// A bounded store of recent message data: beyond its capacity the oldest goes.
pub(super) struct Store {
    cap: usize,
    order: VecDeque<MessageId>,
    data: HashMap<MessageId, Stored>,
    /// The distinct public keys of the stored messages.
    keys: HashSet<Arc<[u8]>>,
}

/// One message as kept: its bytes without the public key, and the key with where it goes.
struct Stored {
    rest: Box<[u8]>,
    key: Option<(usize, Arc<[u8]>)>,
}

impl Store {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            cap,
            order: VecDeque::new(),
            data: HashMap::new(),
            keys: HashSet::new(),
        }
    }

    pub(super) fn insert(&mut self, id: MessageId, data: Vec<u8>) {
        let stored = self.split(data);
        match self.data.insert(id.clone(), stored) {
            Some(old) => self.release(old),
            None => self.order.push_back(id),
        }
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front().and_then(|id| self.data.remove(&id)) {
                self.release(old);
            }
        }
    }

    pub(super) fn get(&self, id: &MessageId) -> Option<Vec<u8>> {
        let stored = self.data.get(id)?;
        Some(match &stored.key {
            None => stored.rest.to_vec(),
            Some((at, key)) => {
                let mut out = Vec::with_capacity(stored.rest.len() + key.len());
                out.extend_from_slice(&stored.rest[..*at]);
                out.extend_from_slice(key);
                out.extend_from_slice(&stored.rest[*at..]);
                out
            }
        })
    }

    /// Cuts the public key out of an envelope, sharing it with the messages stored already.
    fn split(&mut self, data: Vec<u8>) -> Stored {
        let Some(span) = envelope::public_key_span(&data) else {
            return Stored {
                rest: data.into_boxed_slice(),
                key: None,
            };
        };
        let key = match self.keys.get(&data[span.clone()]) {
            Some(key) => Arc::clone(key),
            None => {
                let key: Arc<[u8]> = Arc::from(&data[span.clone()]);
                self.keys.insert(Arc::clone(&key));
                key
            }
        };
        let mut rest = Vec::with_capacity(data.len() - span.len());
        rest.extend_from_slice(&data[..span.start]);
        rest.extend_from_slice(&data[span.end..]);
        Stored {
            rest: rest.into_boxed_slice(),
            key: Some((span.start, key)),
        }
    }

    /// Forgets a key that no stored message carries any more.
    fn release(&mut self, old: Stored) {
        if let Some((_, key)) = old.key {
            // Held by `keys` and by `old` alone: no other message carries it.
            if Arc::strong_count(&key) == 2 {
                self.keys.remove(&key[..]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Draft;
    use crate::pq::{Level, PqSigner};

    fn id(n: u8) -> MessageId {
        MessageId::new(&[n])
    }

    fn sealed(signer: &PqSigner, seq: u64) -> Vec<u8> {
        Draft {
            seq,
            published_ns: 1_700_000_000_000_000_000,
            origin: b"origin-peer-id",
            payload: &[seq as u8; 100],
        }
        .seal(signer)
    }

    #[test]
    fn the_store_drops_the_oldest_message_beyond_its_capacity() {
        let mut s = Store::new(2);
        s.insert(id(1), vec![1]);
        s.insert(id(2), vec![2]);
        s.insert(id(3), vec![3]);
        assert_eq!(s.get(&id(1)), None);
        assert_eq!(s.get(&id(2)), Some(vec![2]));
        assert_eq!(s.get(&id(3)), Some(vec![3]));
    }

    #[test]
    fn storing_an_id_again_replaces_its_data_without_a_second_place() {
        let mut s = Store::new(2);
        s.insert(id(1), vec![1]);
        s.insert(id(1), vec![9]);
        s.insert(id(2), vec![2]);
        assert_eq!(s.get(&id(1)), Some(vec![9]), "still within capacity");
        assert_eq!(s.order.len(), 2);
    }

    #[test]
    fn envelopes_come_back_byte_for_byte_and_share_their_key() {
        let a = PqSigner::from_seed(Level::L87, [1; 32]);
        let b = PqSigner::from_seed(Level::L44, [2; 32]);
        let messages = [sealed(&a, 1), sealed(&a, 2), sealed(&b, 3)];
        let mut s = Store::new(8);
        for (n, m) in messages.iter().enumerate() {
            s.insert(id(n as u8), m.clone());
        }
        for (n, m) in messages.iter().enumerate() {
            assert_eq!(s.get(&id(n as u8)).as_ref(), Some(m));
        }
        assert_eq!(s.keys.len(), 2, "one key per signer");
        let held: usize = s.data.values().map(|d| d.rest.len()).sum();
        let whole: usize = messages.iter().map(Vec::len).sum();
        assert_eq!(
            whole - held,
            2 * a.public_key().len() + b.public_key().len()
        );
    }

    #[test]
    fn a_key_goes_with_the_last_message_that_carries_it() {
        let a = PqSigner::from_seed(Level::L44, [1; 32]);
        let b = PqSigner::from_seed(Level::L44, [2; 32]);
        let mut s = Store::new(2);
        s.insert(id(1), sealed(&a, 1));
        s.insert(id(2), sealed(&a, 2));
        s.insert(id(3), sealed(&b, 3));
        assert_eq!(s.keys.len(), 2, "a's key is still carried by message 2");
        s.insert(id(4), sealed(&b, 4));
        assert_eq!(s.keys.len(), 1, "only b's messages are left");
        s.insert(id(3), vec![0]);
        s.insert(id(4), vec![0]);
        assert!(s.keys.is_empty(), "replaced by non-envelopes");
        assert_eq!(s.get(&id(4)), Some(vec![0]));
    }
}
