//! Which key exchange a node's TLS handshakes use (`security`): the ML-KEM-768 hybrid with
//! classical fallback (the default), the hybrid alone, or the classical group alone.

use serde::{Deserialize, Serialize};

/// The key-exchange policy of a node's connections (spec §9.1: hybrid TLS).
///
/// TCP and relayed connections offer libp2p TLS 1.3 (`/tls/1.0.0`) first and noise second
/// (noise XX has no post-quantum part); QUIC always speaks TLS 1.3 with libp2p-quic's own
/// settings, which prefer X25519MLKEM768 but also accept X25519, and which the node can
/// neither change nor observe per connection. So:
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Security {
    /// X25519MLKEM768 preferred, X25519 (and the NIST curves) accepted, noise as a
    /// fallback on TCP; QUIC on. What libp2p-tls does by itself.
    #[default]
    Hybrid,
    /// X25519MLKEM768 only, TLS only: a peer that cannot do the hybrid group is refused
    /// (the TLS handshake fails). QUIC is off (no QUIC listener, QUIC addresses cannot be
    /// dialled), because its group cannot be pinned; so the node's every connection is
    /// hybrid, which is what this mode proves.
    PqOnly,
    /// X25519 only, noise as a fallback: the classical baseline the hybrid's cost is
    /// measured against. QUIC on (with its own hybrid-preferring settings).
    Classical,
}

impl Security {
    /// Every mode, in the order the docs list them.
    pub const ALL: [Security; 3] = [Security::Hybrid, Security::PqOnly, Security::Classical];

    /// The mode's name as written in configuration.
    pub fn name(self) -> &'static str {
        match self {
            Security::Hybrid => "hybrid",
            Security::PqOnly => "pq-only",
            Security::Classical => "classical",
        }
    }

    /// Whether the node runs QUIC (listens on and dials QUIC addresses): all but `pq-only`.
    pub fn allows_quic(self) -> bool {
        self != Security::PqOnly
    }

    /// Whether TCP and relayed connections may fall back to noise: all but `pq-only`.
    pub fn allows_noise(self) -> bool {
        self != Security::PqOnly
    }
}

impl std::fmt::Display for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `addr` is a QUIC multiaddr.
pub fn is_quic(addr: &str) -> bool {
    addr.split('/').any(|p| p == "quic-v1" || p == "quic")
}
