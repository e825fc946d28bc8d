//! When to dial the bootstrap peers again and when to look for more peers.
//!
//! A first dial can be refused (the peer was not listening yet, or its pending-connection
//! limit was full), and a node that gives up after one try stays alone for good: the
//! bootstrap peers not reached yet are dialled again with a backoff. Below `mesh_n` peers a
//! node also runs a Kademlia lookup of its own id (the join procedure of the Kademlia
//! paper), which connects it to its nearest peers.
//!
//! Discovery on demand, not at every start: a lookup by every node of a 100-node testnet at
//! once meant ~40 handshakes per node (~4,000 in all) while the containers were still
//! starting, and the 2-core host never caught up.

use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::time::Instant;

use crate::dilation::TimeScale;

/// The redial and lookup schedule, and the bootstrap peers not reached yet.
pub(crate) struct Redial {
    bootstrap: Vec<Multiaddr>,
    at: Instant,
    backoff: Duration,
    /// The first backoff and the longest, in real time.
    first: Duration,
    max: Duration,
}

/// What a due check does.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Due {
    /// Bootstrap addresses to dial again.
    pub(crate) dial: Vec<Multiaddr>,
    /// Whether to run a Kademlia lookup of our own id.
    pub(crate) lookup: bool,
}

impl Redial {
    const FIRST: Duration = Duration::from_secs(2);
    const MAX: Duration = Duration::from_secs(30);

    /// A schedule whose first check is [`Redial::FIRST`] (virtual time, dilated by `k`)
    /// from now.
    pub(crate) fn new(bootstrap: Vec<Multiaddr>, k: TimeScale) -> Self {
        let first = k.real(Self::FIRST);
        Self {
            bootstrap,
            at: Instant::now() + first,
            backoff: first,
            first,
            max: k.real(Self::MAX),
        }
    }

    /// When the next check is due.
    pub(crate) fn at(&self) -> Instant {
        self.at
    }

    /// Bootstrap peers not reached yet.
    pub(crate) fn left(&self) -> usize {
        self.bootstrap.len()
    }

    /// A connection we dialled to `peer` at `address` is up: the bootstrap peer it reached
    /// (the address extends the bootstrap one, e.g. with `/p2p/<id>`, or the bootstrap
    /// address names the peer, as a relayed one does) needs no more dials.
    pub(crate) fn reached(&mut self, peer: &PeerId, address: &Multiaddr) {
        if self.bootstrap.is_empty() {
            return;
        }
        let reached = address.to_string();
        self.bootstrap.retain(|b| {
            let names_peer = matches!(b.iter().last(), Some(Protocol::P2p(id)) if id == *peer);
            !names_peer && !reached.starts_with(&b.to_string())
        });
    }

    /// The check that is due, with `peers` connected, and schedules the next one: sooner
    /// while dials or lookups are needed, backing off to [`Redial::MAX`].
    ///
    /// Bootstrap peers are dialled until the backoff tops out (about a minute), or for good
    /// while fewer than `mesh_n_low` peers are connected; the dialler rarely needs it, but
    /// the peer may (node 0 of a plan has no bootstrap list of its own).
    pub(crate) fn due(&mut self, peers: usize, mesh_n_low: usize, mesh_n: usize) -> Due {
        let redial = !self.bootstrap.is_empty() && (self.backoff < self.max || peers < mesh_n_low);
        let lookup = peers > 0 && peers < mesh_n;
        let needed = redial || lookup;
        self.backoff = if needed {
            (self.backoff * 2).min(self.max)
        } else {
            self.first
        };
        self.at = Instant::now() + if needed { self.backoff } else { self.max };
        Due {
            dial: if redial {
                self.bootstrap.clone()
            } else {
                Vec::new()
            },
            lookup,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Multiaddr {
        format!("/ip4/10.0.0.1/tcp/{port}")
            .parse()
            .expect("valid address")
    }

    #[test]
    fn unreached_bootstrap_peers_are_redialled_with_a_doubling_backoff() {
        let mut r = Redial::new(vec![addr(1), addr(2)], TimeScale::REAL);
        let mut backoffs = Vec::new();
        for _ in 0..5 {
            let due = r.due(0, 4, 8);
            assert_eq!(due.dial, vec![addr(1), addr(2)]);
            assert!(!due.lookup, "no peer to ask");
            backoffs.push(r.backoff.as_secs());
        }
        assert_eq!(backoffs, [4, 8, 16, 30, 30]);
    }

    #[test]
    fn a_reached_peer_is_dialled_no_more() {
        let mut r = Redial::new(vec![addr(1), addr(2)], TimeScale::REAL);
        let peer = PeerId::random();
        let reached: Multiaddr = format!("{}/p2p/{peer}", addr(1))
            .parse()
            .expect("valid address");
        r.reached(&peer, &reached);
        assert_eq!(r.left(), 1);
        assert_eq!(r.due(0, 4, 8).dial, vec![addr(2)]);
    }

    #[test]
    fn a_peer_named_by_its_bootstrap_address_is_reached_at_any_address() {
        let peer = PeerId::random();
        let circuit: Multiaddr = format!(
            "{}/p2p/{}/p2p-circuit/p2p/{peer}",
            addr(1),
            PeerId::random()
        )
        .parse()
        .expect("valid address");
        let mut r = Redial::new(vec![circuit, addr(2)], TimeScale::REAL);
        r.reached(&peer, &addr(3));
        assert_eq!(r.due(0, 4, 8).dial, vec![addr(2)]);
    }

    #[test]
    fn after_the_backoff_tops_out_only_a_short_node_redials() {
        let mut r = Redial::new(vec![addr(1)], TimeScale::REAL);
        while r.backoff < Redial::MAX {
            r.due(5, 4, 8);
        }
        let due = r.due(5, 4, 8);
        assert!(due.dial.is_empty(), "enough peers");
        assert!(due.lookup, "fewer than mesh_n");
        assert_eq!(r.due(3, 4, 8).dial, vec![addr(1)], "below mesh_n_low");
    }

    #[test]
    fn a_node_with_enough_peers_checks_again_at_the_longest_interval() {
        let mut r = Redial::new(Vec::new(), TimeScale::REAL);
        assert_eq!(
            r.due(8, 4, 8),
            Due {
                dial: Vec::new(),
                lookup: false
            }
        );
        assert_eq!(r.backoff, Redial::FIRST);
        assert!(r.at() >= Instant::now() + Redial::MAX - Duration::from_secs(1));
    }

    #[test]
    fn a_dilated_node_backs_off_in_virtual_time() {
        let k = TimeScale::new(4.0).expect("valid");
        let mut r = Redial::new(vec![addr(1)], k);
        assert_eq!(r.backoff, Redial::FIRST * 4);
        let mut backoffs = Vec::new();
        for _ in 0..5 {
            r.due(0, 4, 8);
            backoffs.push(r.backoff.as_secs());
        }
        assert_eq!(backoffs, [16, 32, 64, 120, 120]);
    }
}
