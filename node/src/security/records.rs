//! The records of finished security upgrades, waiting for their connections. An upgrade
//! runs before its connection has an id: it leaves its record here under the remote peer
//! and its direction, and the event loop takes it back at the connection's
//! `ConnectionEstablished`. An upgrade whose connection is then denied (connection limits)
//! leaves a record nobody takes: records expire after [`MAX_AGE`], and at most
//! [`CAPACITY`] are kept.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// What a security upgrade learnt of its handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// `tls` or `noise`.
    pub(crate) security: &'static str,
    /// The negotiated key-exchange group.
    pub(crate) group: String,
    /// Bytes read and written during the handshake.
    pub(crate) bytes: u64,
}

/// Records kept at most; beyond, the oldest go.
pub const CAPACITY: usize = 1024;
/// How long a record waits for its connection (real time): an established connection
/// follows its upgrade at once, so one this old belongs to a connection that was denied.
pub const MAX_AGE: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Pending {
    peer: PeerId,
    outbound: bool,
    at: Instant,
    record: Record,
}

/// The shared queue of records, cloned into every transport's upgrade.
#[derive(Debug, Clone, Default)]
pub struct Handshakes(Arc<Mutex<VecDeque<Pending>>>);

impl Handshakes {
    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Pending>> {
        // A poisoned lock held a queue of plain values: still consistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Leaves the record of an upgrade with `peer` (`outbound`: this node ran the client
    /// side).
    pub(crate) fn push(&self, peer: PeerId, outbound: bool, record: Record) {
        let now = Instant::now();
        let mut q = self.queue();
        while q
            .front()
            .is_some_and(|p| q.len() >= CAPACITY || now.duration_since(p.at) > MAX_AGE)
        {
            q.pop_front();
        }
        q.push_back(Pending {
            peer,
            outbound,
            at: now,
            record,
        });
    }

    /// Takes the newest record of an upgrade with `peer` in that direction.
    pub(crate) fn take(&self, peer: &PeerId, outbound: bool) -> Option<Record> {
        let mut q = self.queue();
        let i = q
            .iter()
            .rposition(|p| &p.peer == peer && p.outbound == outbound)?;
        q.remove(i).map(|p| p.record)
    }

    /// Records waiting.
    pub fn len(&self) -> usize {
        self.queue().len()
    }

    /// Whether no record waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(bytes: u64) -> Record {
        Record {
            security: "tls",
            group: "X25519".into(),
            bytes,
        }
    }

    #[test]
    fn records_are_taken_by_peer_and_direction_and_bounded() {
        let h = Handshakes::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        h.push(a, true, record(1));
        h.push(b, false, record(2));
        assert_eq!(h.take(&a, false), None);
        assert_eq!(h.take(&a, true), Some(record(1)));
        assert_eq!(h.take(&a, true), None);
        for i in 0..(CAPACITY as u64 + 5) {
            h.push(a, true, record(i));
        }
        assert_eq!(h.len(), CAPACITY);
        assert_eq!(h.take(&b, false), None, "the oldest went");
        assert_eq!(h.take(&a, true), Some(record(CAPACITY as u64 + 4)));
    }
}
