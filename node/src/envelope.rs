//! The signed application envelope carried as gossipsub message data.
//!
//! Layout (all integers big-endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 4 | magic `MLE1` |
//! | 1 | ML-DSA level (44, 65, 87) |
//! | 8 | sequence number |
//! | 8 | publish time, ns since the Unix epoch |
//! | 2 + n | origin peer id (n ≤ 64) |
//! | 4 + m | payload (m ≤ the receiver's limit) |
//! | pk | the origin's ML-DSA public key (size fixed by the level) |
//! | sig | ML-DSA signature over every byte before it (size fixed by the level) |
//!
//! Trust: the whole gossipsub message, envelope included, is also signed with the origin's
//! libp2p identity key and checked in strict validation mode, with the envelope's origin
//! required to equal the gossipsub source. That binds the ML-DSA key to the origin's peer
//! id however many hops away it is, without any key distribution round: the hybrid rule
//! "Ed25519 verifies AND ML-DSA verifies" of spec §9.2. The cost is the public key in every
//! message (1312/1952/2592 bytes at 44/65/87).

use crate::pq::{self, Level, PqSigner};

const MAGIC: &[u8; 4] = b"MLE1";
/// Bytes of fixed header before the origin: magic, level, seq, publish time.
const FIXED: usize = 4 + 1 + 8 + 8;
/// Longest accepted origin peer id encoding.
pub const MAX_ORIGIN_LEN: usize = 64;

/// Why bytes are not a well-formed envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Fewer bytes than a field needs.
    #[error("decode envelope: truncated in {0}")]
    Truncated(&'static str),
    /// The magic is wrong.
    #[error("decode envelope: bad magic")]
    BadMagic,
    /// The level byte names no ML-DSA parameter set.
    #[error("decode envelope: unknown ML-DSA level {0}")]
    UnknownLevel(u8),
    /// The origin field is empty or too long.
    #[error("decode envelope: origin length {0} out of range")]
    OriginLength(usize),
    /// The payload exceeds the receiver's limit.
    #[error("decode envelope: payload of {size} bytes exceeds the limit of {max}")]
    PayloadTooLarge {
        /// Declared payload size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes follow the signature.
    #[error("decode envelope: {0} trailing bytes")]
    Trailing(usize),
}

/// A decoded envelope borrowing the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// ML-DSA level of key and signature.
    pub level: Level,
    /// The origin's sequence number.
    pub seq: u64,
    /// The origin's publish time, ns since the Unix epoch.
    pub published_ns: u64,
    /// The origin peer id's bytes.
    pub origin: &'a [u8],
    /// The application payload.
    pub payload: &'a [u8],
    /// The origin's encoded ML-DSA public key.
    pub public_key: &'a [u8],
    /// The encoded signature.
    pub signature: &'a [u8],
    /// The bytes the signature covers.
    pub signed: &'a [u8],
}

/// What an envelope says, before it is signed.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'a> {
    /// The origin's sequence number.
    pub seq: u64,
    /// Publish time, ns since the Unix epoch.
    pub published_ns: u64,
    /// The origin peer id's bytes.
    pub origin: &'a [u8],
    /// The application payload.
    pub payload: &'a [u8],
}

/// Envelope bytes beyond the payload for an origin id of `origin_len` bytes.
pub fn overhead(level: Level, origin_len: usize) -> usize {
    FIXED + 2 + origin_len + 4 + level.public_key_len() + level.signature_len()
}

impl Draft<'_> {
    /// The bytes to sign: everything up to and including the public key.
    fn signed_bytes(&self, level: Level, public_key: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(overhead(level, self.origin.len()) + self.payload.len());
        out.extend_from_slice(MAGIC);
        out.push(level.number());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.published_ns.to_be_bytes());
        // Lengths are bounded by the callers (peer ids are < 64 KiB, payloads < 4 GiB).
        out.extend_from_slice(&(self.origin.len() as u16).to_be_bytes());
        out.extend_from_slice(self.origin);
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(self.payload);
        out.extend_from_slice(public_key);
        out
    }

    /// Encodes and signs the envelope with `signer`.
    pub fn seal(&self, signer: &PqSigner) -> Vec<u8> {
        let mut out = self.signed_bytes(signer.level(), &signer.public_key());
        let sig = signer.sign(&out);
        out.extend_from_slice(&sig);
        out
    }

    /// Encodes the envelope with a signature that does not verify (the `invalid-signature`
    /// role): a correct signature with one bit flipped.
    pub fn seal_forged(&self, signer: &PqSigner) -> Vec<u8> {
        let mut out = self.seal(signer);
        if let Some(last) = out.last_mut() {
            *last ^= 0x01;
        }
        out
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], EnvelopeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(EnvelopeError::Truncated(field))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, EnvelopeError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
}

/// Decodes `bytes`, accepting payloads of at most `max_payload` bytes. Checks structure
/// only: call [`Envelope::verify`] for the signature.
pub fn decode(bytes: &[u8], max_payload: usize) -> Result<Envelope<'_>, EnvelopeError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4, "magic")? != MAGIC {
        return Err(EnvelopeError::BadMagic);
    }
    let level_byte = r.take(1, "level")?[0];
    let level =
        Level::from_number(u16::from(level_byte)).ok_or(EnvelopeError::UnknownLevel(level_byte))?;
    let seq = r.u64("sequence number")?;
    let published_ns = r.u64("publish time")?;
    let origin_len = r.take(2, "origin length")?;
    let origin_len = usize::from(u16::from_be_bytes([origin_len[0], origin_len[1]]));
    if origin_len == 0 || origin_len > MAX_ORIGIN_LEN {
        return Err(EnvelopeError::OriginLength(origin_len));
    }
    let origin = r.take(origin_len, "origin")?;
    let len = r.take(4, "payload length")?;
    let payload_len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if payload_len > max_payload {
        return Err(EnvelopeError::PayloadTooLarge {
            size: payload_len,
            max: max_payload,
        });
    }
    let payload = r.take(payload_len, "payload")?;
    let public_key = r.take(level.public_key_len(), "public key")?;
    let signed_end = r.pos;
    let signature = r.take(level.signature_len(), "signature")?;
    if r.pos != bytes.len() {
        return Err(EnvelopeError::Trailing(bytes.len() - r.pos));
    }
    Ok(Envelope {
        level,
        seq,
        published_ns,
        origin,
        payload,
        public_key,
        signature,
        signed: &bytes[..signed_end],
    })
}

/// Where the public key lies in `bytes`, if they are a well-formed envelope (of any payload
/// size): the key ends where the signed bytes end.
pub fn public_key_span(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let envelope = decode(bytes, usize::MAX).ok()?;
    let end = envelope.signed.len();
    Some(end - envelope.public_key.len()..end)
}

impl Envelope<'_> {
    /// Whether the ML-DSA signature verifies under the carried public key.
    pub fn verify(&self) -> bool {
        pq::verify(self.level, self.public_key, self.signed, self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn draft<'a>(payload: &'a [u8]) -> Draft<'a> {
        Draft {
            seq: 9,
            published_ns: 1_700_000_000_000_000_000,
            origin: b"origin-peer-id",
            payload,
        }
    }

    #[test]
    fn sealed_envelope_decodes_and_verifies_at_every_level() {
        for level in Level::ALL {
            let signer = PqSigner::from_seed(level, [3; 32]);
            let bytes = draft(b"payload").seal(&signer);
            assert_eq!(bytes.len(), overhead(level, 14) + 7);
            let env = decode(&bytes, 1024).expect("decodes");
            assert_eq!(env.seq, 9);
            assert_eq!(env.payload, b"payload");
            assert_eq!(env.origin, b"origin-peer-id");
            assert!(env.verify(), "{level:?}");
        }
    }

    #[test]
    fn the_public_key_span_holds_the_public_key() {
        for level in Level::ALL {
            let signer = PqSigner::from_seed(level, [3; 32]);
            let bytes = draft(b"payload").seal(&signer);
            let span = public_key_span(&bytes).expect("an envelope");
            assert_eq!(bytes[span], signer.public_key()[..], "{level:?}");
        }
        assert_eq!(public_key_span(b"MLE1 not an envelope"), None);
    }

    #[test]
    fn forged_envelope_decodes_but_does_not_verify() {
        let signer = PqSigner::from_seed(Level::L44, [3; 32]);
        let bytes = draft(b"x").seal_forged(&signer);
        let env = decode(&bytes, 1024).expect("well formed");
        assert!(!env.verify());
    }

    #[test]
    fn tampered_payload_does_not_verify() {
        let signer = PqSigner::from_seed(Level::L44, [3; 32]);
        let mut bytes = draft(b"abc").seal(&signer);
        let at = FIXED + 2 + 14 + 4;
        bytes[at] ^= 0xff;
        assert!(!decode(&bytes, 1024).expect("well formed").verify());
    }

    #[test]
    fn limits_are_enforced() {
        let signer = PqSigner::from_seed(Level::L44, [3; 32]);
        let bytes = draft(&[0u8; 100]).seal(&signer);
        assert_eq!(
            decode(&bytes, 99),
            Err(EnvelopeError::PayloadTooLarge { size: 100, max: 99 })
        );
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(decode(&long, 1024), Err(EnvelopeError::Trailing(1)));
        assert_eq!(decode(b"XXXX", 1024), Err(EnvelopeError::BadMagic));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..9000)) {
            let _ = decode(&bytes, 4096);
        }

        #[test]
        fn random_bytes_after_a_valid_header_never_panic(
            level in prop_oneof![Just(44u8), Just(65u8), Just(87u8), any::<u8>()],
            rest in proptest::collection::vec(any::<u8>(), 0..9000),
        ) {
            let mut bytes = MAGIC.to_vec();
            bytes.push(level);
            bytes.extend_from_slice(&rest);
            let _ = decode(&bytes, 4096);
        }

        #[test]
        fn every_truncation_of_a_valid_envelope_is_an_error(cut in 0usize..4000) {
            let signer = PqSigner::from_seed(Level::L44, [5; 32]);
            let bytes = draft(b"truncate me").seal(&signer);
            let cut = cut % bytes.len();
            prop_assert!(decode(&bytes[..cut], 4096).is_err());
        }
    }
}
