//! Node roles: what each one puts on the wire, and whether it acts yet ([`Stance`]: a
//! dormant role behaves honestly until it is switched on). Adding a role is a variant in
//! [`crate::config::Role`] and an arm here (README, "Byzantine roles").

use crate::config::{Role, TrafficConfig};
use crate::envelope::Draft;
use crate::pq::PqSigner;

/// How far past the receivers' `max_payload` the `oversize` role's payloads go, in bytes:
/// enough to break the limit, small enough for gossipsub's transmit limit (the limit plus
/// 16 KiB), so that the message reaches the application's validation.
pub const OVERSIZE_EXCESS: usize = 1024;

/// The `spam` role's rate, messages a (virtual) second: three times the spec's limit.
pub use lab_config::SPAM_RATE as SPAM_MESSAGES_PER_SEC;

/// The publish schedule of a node with `role` given `traffic`: the `spam` role's at its own
/// rate, every other role's as given.
pub fn traffic(role: Role, traffic: TrafficConfig) -> TrafficConfig {
    TrafficConfig {
        rate_per_sec: rate(role, traffic.rate_per_sec),
        ..traffic
    }
}

/// The publish rate (messages a virtual second) of a node with `role` whose traffic asks
/// for `rate_per_sec`: the `spam` role's own, every other role's as asked.
pub fn rate(role: Role, rate_per_sec: f64) -> f64 {
    match role {
        Role::Spam => SPAM_MESSAGES_PER_SEC,
        _ => rate_per_sec,
    }
}

/// A node's role and whether it acts it: a dormant role ([`crate::config::NodeConfig::dormant`])
/// behaves as [`Role::Honest`] until switched on, and again once switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stance {
    role: Role,
    acting: bool,
}

impl Stance {
    /// The stance of a node with `role` at start.
    pub fn new(role: Role, dormant: bool) -> Self {
        Self {
            role,
            acting: !dormant,
        }
    }

    /// The role the node acts now: its own while acting, else honest.
    pub fn role(self) -> Role {
        if self.acting { self.role } else { Role::Honest }
    }

    /// The node's own role, acting or not.
    pub fn own(self) -> Role {
        self.role
    }

    /// Whether the role acts now.
    pub fn acting(self) -> bool {
        self.acting
    }

    /// Switches the role on (`true`) or off; whether that changed anything (an honest
    /// node, or one already so, does not change).
    pub fn switch(&mut self, acting: bool) -> bool {
        if self.role.is_honest() || self.acting == acting {
            return false;
        }
        self.acting = acting;
        true
    }
}

/// Who publishes: the origin's peer id bytes, its ML-DSA signer, and the payload limit it
/// shares with every node.
#[derive(Clone, Copy)]
pub struct Publisher<'a> {
    /// The origin peer id's bytes.
    pub origin: &'a [u8],
    /// The origin's ML-DSA signer.
    pub signer: &'a PqSigner,
    /// Largest payload receivers accept (`max_payload`).
    pub max_payload: usize,
}

/// Whether a node with `role` lets gossipsub forward the valid messages of others; a
/// `withholding`, `sybil` or `eclipse` node reports them ignored, so that gossipsub neither
/// forwards nor gossips them.
pub fn forwards(role: Role) -> bool {
    !matches!(role, Role::Withholding | Role::Sybil | Role::Eclipse)
}

/// Whether a node with `role` dials its bootstrap peers again whenever it has no peer at
/// all: the `eclipse` role, whose only bootstrap peer is its victim.
pub fn clings(role: Role) -> bool {
    role == Role::Eclipse
}

/// The data a node with `role` publishes as message `seq` of `size` payload bytes, each
/// entry one gossipsub message. A `replay` node publishes nothing of its own (what it
/// replays comes from [`crate::replay`]), nor do the roles that speak gossipsub themselves
/// ([`crate::adversary`], whose libp2p gossipsub is off the wire), nor `sybil` and
/// `eclipse` nodes: silent identities earn no first-delivery credit (P2) that would hide
/// what they withhold.
pub fn messages(
    role: Role,
    seq: u64,
    size: usize,
    published_ns: u64,
    by: Publisher<'_>,
) -> Vec<Vec<u8>> {
    let seal = |payload: &[u8]| {
        Draft {
            seq,
            published_ns,
            origin: by.origin,
            payload,
        }
        .seal(by.signer)
    };
    match role {
        Role::Honest | Role::Spam | Role::Withholding => vec![seal(&payload(seq, size))],
        Role::Replay | Role::IhaveLiar | Role::GraftBackoff | Role::Sybil | Role::Eclipse => {
            Vec::new()
        }
        Role::InvalidSignature => {
            let draft = Draft {
                seq,
                published_ns,
                origin: by.origin,
                payload: &payload(seq, size),
            };
            vec![draft.seal_forged(by.signer)]
        }
        Role::Malformed => {
            // A sealed envelope cut in the middle of its signature: it does not decode.
            let mut out = seal(&payload(seq, size));
            out.truncate(out.len() - by.signer.level().signature_len() / 2);
            vec![out]
        }
        Role::Oversize => vec![seal(&payload(seq, by.max_payload + OVERSIZE_EXCESS))],
        Role::Equivocation => {
            // Back to back to the same mesh peers: the second differs in its last byte.
            let first = payload(seq, size.max(1));
            let mut second = first.clone();
            if let Some(last) = second.last_mut() {
                *last ^= 0xff;
            }
            vec![seal(&first), seal(&second)]
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{self, EnvelopeError};
    use crate::pq::Level;

    fn publish(role: Role) -> Vec<Vec<u8>> {
        let signer = PqSigner::from_seed(Level::L44, [2; 32]);
        let by = Publisher {
            origin: b"origin",
            signer: &signer,
            max_payload: 4096,
        };
        messages(role, 7, 100, 1, by)
    }

    #[test]
    fn a_dormant_role_acts_honestly_until_switched_on() {
        let mut s = Stance::new(Role::Equivocation, true);
        assert_eq!((s.role(), s.acting()), (Role::Honest, false));
        assert!(s.switch(true));
        assert_eq!(s.role(), Role::Equivocation);
        assert!(!s.switch(true), "already on");
        assert!(s.switch(false));
        assert_eq!(s.role(), Role::Honest);
        assert_eq!(s.own(), Role::Equivocation);
        let mut honest = Stance::new(Role::Honest, false);
        assert!(
            !honest.switch(false),
            "an honest node has nothing to switch"
        );
        assert_eq!(rate(Role::Spam, 1.0), SPAM_MESSAGES_PER_SEC);
        assert_eq!(rate(Role::Replay, 1.0), 1.0);
    }

    #[test]
    fn honest_and_forged_envelopes_decode() {
        let honest = publish(Role::Honest);
        assert!(
            envelope::decode(&honest[0], 4096)
                .expect("decodes")
                .verify()
        );
        let forged = publish(Role::InvalidSignature);
        assert!(
            !envelope::decode(&forged[0], 4096)
                .expect("decodes")
                .verify()
        );
    }

    #[test]
    fn equivocation_signs_two_payloads_under_one_sequence_number() {
        let m = publish(Role::Equivocation);
        assert_eq!(m.len(), 2);
        let a = envelope::decode(&m[0], 4096).expect("decodes");
        let b = envelope::decode(&m[1], 4096).expect("decodes");
        assert!(a.verify() && b.verify());
        assert_eq!((a.seq, a.origin), (b.seq, b.origin));
        assert_ne!(a.payload, b.payload);
    }

    #[test]
    fn malformed_bytes_do_not_decode() {
        let m = publish(Role::Malformed);
        assert_eq!(
            envelope::decode(&m[0], usize::MAX),
            Err(EnvelopeError::Truncated("signature"))
        );
    }

    #[test]
    fn oversize_payloads_exceed_the_limit_and_are_otherwise_valid() {
        let m = publish(Role::Oversize);
        assert_eq!(
            envelope::decode(&m[0], 4096),
            Err(EnvelopeError::PayloadTooLarge {
                size: 4096 + OVERSIZE_EXCESS,
                max: 4096
            })
        );
        assert!(
            envelope::decode(&m[0], usize::MAX)
                .expect("decodes")
                .verify()
        );
    }
}
