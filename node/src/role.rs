//! Node roles: what each one puts on the wire. Adding a role is a variant in
//! [`crate::config::Role`] and an arm here.

use crate::config::Role;
use crate::envelope::Draft;
use crate::pq::PqSigner;

/// Seals `draft` as `role` does.
pub fn seal(role: Role, draft: &Draft<'_>, signer: &PqSigner) -> Vec<u8> {
    match role {
        Role::Honest => draft.seal(signer),
        Role::InvalidSignature => draft.seal_forged(signer),
    }
}

/// A payload of `size` bytes for message `seq`: the sequence number, then filler, so that
/// every message's data (and so its BLAKE3 id) is distinct.
pub fn payload(seq: u64, size: usize) -> Vec<u8> {
    let mut p = vec![0xa5u8; size];
    let tag = seq.to_be_bytes();
    let n = tag.len().min(size);
    p[..n].copy_from_slice(&tag[..n]);
    p
}
