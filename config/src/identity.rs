//! Node identities derived from a seed text: the node builds its libp2p key from its
//! configuration's `identity_seed`, and the orchestrator computes the same node's peer id
//! from the same text, before the node runs (a NATed node's relays, and the circuit
//! addresses of NATed peers, name peer ids). One derivation, used by both.
//!
//! The ed25519 secret is the BLAKE3 hash of the seed under a fixed context: a testnet's
//! identities, reproducible from the scenario's seed and the node's name, not secrets.

use libp2p_identity::{DecodingError, Keypair, PeerId};

/// The BLAKE3 key-derivation context of node identities.
const CONTEXT: &str = "meshlab 2026 node identity ed25519 v1";

/// The ed25519 identity derived from `seed` (every 32 bytes are an ed25519 secret, so
/// the error is libp2p's type, not a case that occurs).
pub fn keypair(seed: &str) -> Result<Keypair, DecodingError> {
    let mut secret = blake3::derive_key(CONTEXT, seed.as_bytes());
    Keypair::ed25519_from_bytes(&mut secret)
}

/// The peer id of the identity derived from `seed`.
pub fn peer_id(seed: &str) -> Result<PeerId, DecodingError> {
    Ok(keypair(seed)?.public().to_peer_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_peer_id_and_another_another() {
        let id = |s| peer_id(s).expect("an ed25519 key");
        assert_eq!(id("run/a"), id("run/a"));
        assert_ne!(id("run/a"), id("run/b"));
    }
}
