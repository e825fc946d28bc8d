//! A relay server's external addresses. A relay can only hand out reservations once it
//! has an external address (the reservation carries them), and a relay server is public
//! by configuration: its listen addresses and the addresses its peers observe (identify)
//! are external at once, without waiting for AutoNAT. A wildcard listener's loopback
//! address is left out (peers elsewhere cannot use it) unless the node was told to listen
//! on loopback.

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

/// Which of a relay server's addresses are external.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Announce {
    loopback_too: bool,
}

impl Announce {
    /// For a node listening on `listen` (as configured).
    pub(crate) fn new(listen: &[Multiaddr]) -> Self {
        Self {
            loopback_too: listen.iter().any(is_loopback),
        }
    }

    /// Whether `addr` (a listen address, or one a peer observed) is external.
    pub(crate) fn is_external(self, addr: &Multiaddr) -> bool {
        let relayed = addr.iter().any(|p| p == Protocol::P2pCircuit);
        !relayed && (self.loopback_too || !is_loopback(addr))
    }
}

fn is_loopback(addr: &Multiaddr) -> bool {
    match addr.iter().next() {
        Some(Protocol::Ip4(ip)) => ip.is_loopback(),
        Some(Protocol::Ip6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Multiaddr {
        s.parse().expect("valid")
    }

    #[test]
    fn loopback_is_external_only_when_listening_on_loopback() {
        let wildcard = Announce::new(&[a("/ip4/0.0.0.0/tcp/4001")]);
        assert!(wildcard.is_external(&a("/ip4/172.18.0.5/tcp/4001")));
        assert!(!wildcard.is_external(&a("/ip4/127.0.0.1/tcp/4001")));
        let local = Announce::new(&[a("/ip4/127.0.0.1/tcp/0")]);
        assert!(local.is_external(&a("/ip4/127.0.0.1/tcp/4001")));
        assert!(!local.is_external(&a(
            "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"
        )));
    }
}
