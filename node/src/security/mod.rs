//! The security of the node's connections (`security` in its configuration, spec §9.1):
//! TLS 1.3 with the key-exchange groups the [`Security`] mode chooses, noise as the
//! fallback, QUIC on or off, and what each established connection negotiated.
//!
//! - `upgrade`: the TCP and relay security upgrade (TLS first, noise second);
//! - `tls`: the rustls configurations per mode, and the handshake;
//! - `verifier`: the libp2p certificate check for the node's own configurations;
//! - `counting`: the byte-counting socket under a handshake;
//! - `records`: upgrade records waiting for their connections ([`Handshakes`]);
//! - `metrics`: the Prometheus side ([`HandshakeMetrics`]).
//!
//! What a connection's [`Handshake`] can say: on TCP and relayed connections the upgrade
//! sees the TLS session, so the group is rustls's negotiated one (for noise, XX over
//! X25519: `X25519`). QUIC connections are secured inside libp2p-quic, whose rustls
//! session is not exposed: their group is `unknown` here (the wire test,
//! `node/tests/security.rs`, shows what two nodes negotiate), their handshake bytes too.

mod counting;
mod metrics;
mod records;
mod tls;
mod upgrade;
mod verifier;

use std::time::Duration;

pub use counting::Counting;
pub use lab_config::Security;
use lab_events::Event;
use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::Protocol;
use libp2p::tls::certificate;
use libp2p::{Multiaddr, PeerId, noise};
pub use metrics::HandshakeMetrics;
pub use records::{CAPACITY, Handshakes, MAX_AGE};
pub use upgrade::{Secured, Upgrade};

/// The group of a noise handshake: the node's noise is XX over X25519.
pub const NOISE_GROUP: &str = "X25519";

/// What an established connection's handshake was.
#[derive(Debug, Clone, PartialEq)]
pub struct Handshake {
    /// Whether this node dialled.
    pub outbound: bool,
    /// `tcp`, `quic` or `relay`.
    pub transport: &'static str,
    /// `tls`, `noise`, `quic-tls`, or `unknown` when no upgrade record was found.
    pub security: String,
    /// The negotiated key-exchange group, or `unknown`.
    pub group: String,
    /// Dial (or accept) to established, real time.
    pub established: Duration,
    /// Bytes the security handshake read and wrote, when the node saw them.
    pub bytes: Option<u64>,
}

impl Handshakes {
    /// The handshake of the connection with `peer` just established at `endpoint` after
    /// `established_in` (swarm's `ConnectionEstablished`), with its upgrade's record.
    pub fn established(
        &self,
        peer: &PeerId,
        endpoint: &ConnectedPoint,
        established_in: Duration,
    ) -> Handshake {
        let transport = transport(endpoint.get_remote_address());
        // The side that ran the upgrade's client: a hole-punched dial may act as listener.
        let upgraded_outbound = match endpoint {
            ConnectedPoint::Dialer { role_override, .. } => role_override.is_dialer(),
            ConnectedPoint::Listener { .. } => false,
        };
        let (security, group, bytes) = if transport == "quic" {
            ("quic-tls".to_string(), "unknown".to_string(), None)
        } else {
            match self.take(peer, upgraded_outbound) {
                Some(r) => (r.security.to_string(), r.group, Some(r.bytes)),
                None => ("unknown".to_string(), "unknown".to_string(), None),
            }
        };
        Handshake {
            outbound: endpoint.is_dialer(),
            transport,
            security,
            group,
            established: established_in,
            bytes,
        }
    }
}

impl Handshake {
    /// The event record of this handshake with `peer`.
    pub fn event(&self, peer: &PeerId) -> Event {
        Event::Handshake {
            peer: peer.to_string(),
            outbound: self.outbound,
            transport: self.transport.to_string(),
            security: self.security.clone(),
            group: self.group.clone(),
            established_us: u64::try_from(self.established.as_micros()).unwrap_or(u64::MAX),
            handshake_bytes: self.bytes,
        }
    }
}

/// `relay` for a circuit, `quic` for QUIC, else `tcp`.
fn transport(addr: &Multiaddr) -> &'static str {
    if addr.iter().any(|p| matches!(p, Protocol::P2pCircuit)) {
        "relay"
    } else if addr
        .iter()
        .any(|p| matches!(p, Protocol::QuicV1 | Protocol::Quic))
    {
        "quic"
    } else {
        "tcp"
    }
}

/// Why the security upgrade could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The libp2p TLS certificate could not be made.
    #[error("generate the TLS certificate: {0}")]
    Certificate(#[from] certificate::GenError),
    /// rustls refused the configuration.
    #[error("build the TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The noise configuration could not be made.
    #[error("build the noise configuration: {0}")]
    Noise(#[from] noise::Error),
}

/// Why a connection's security handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// The TLS handshake failed (no common group under `pq-only` or `classical` lands
    /// here).
    #[error("complete the TLS handshake: {0}")]
    Tls(std::io::Error),
    /// The peer's certificate is no libp2p certificate.
    #[error("read the peer's libp2p certificate: {0}")]
    Certificate(#[from] certificate::ParseError),
    /// The peer presented no certificate, or more than one.
    #[error("read the peer's certificate: exactly one is required")]
    CertificateCount,
    /// The noise handshake failed.
    #[error("complete the noise handshake: {0}")]
    Noise(#[from] noise::Error),
    /// multistream-select agreed a protocol this upgrade does not offer.
    #[error("negotiate a security protocol: `{0}` is not offered")]
    Protocol(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_are_named_by_address() {
        let t = |a: &str| transport(&a.parse().expect("multiaddr"));
        assert_eq!(t("/ip4/1.2.3.4/tcp/1"), "tcp");
        assert_eq!(t("/ip4/1.2.3.4/udp/1/quic-v1"), "quic");
        assert_eq!(
            t(
                "/ip4/1.2.3.4/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"
            ),
            "relay"
        );
    }
}
