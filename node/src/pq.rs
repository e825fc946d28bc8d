//! ML-DSA (FIPS 204) keys at the three parameter sets, behind one enum so the rest of the
//! node is not generic over the level.

use ml_dsa::{
    EncodedSignature, EncodedVerifyingKey, Keypair, MlDsa44, MlDsa65, MlDsa87, MlDsaParams,
    Signature, Signer, SigningKey, Verifier, VerifyingKey,
};

/// An ML-DSA parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// ML-DSA-44 (NIST category 2).
    L44,
    /// ML-DSA-65 (NIST category 3).
    L65,
    /// ML-DSA-87 (NIST category 5), the spec's default (§9.2).
    L87,
}

impl Level {
    /// The level from its number (44, 65 or 87).
    pub fn from_number(n: u16) -> Option<Self> {
        match n {
            44 => Some(Level::L44),
            65 => Some(Level::L65),
            87 => Some(Level::L87),
            _ => None,
        }
    }

    /// The level's number.
    pub fn number(self) -> u8 {
        match self {
            Level::L44 => 44,
            Level::L65 => 65,
            Level::L87 => 87,
        }
    }

    /// Encoded public key size in bytes.
    pub fn public_key_len(self) -> usize {
        match self {
            Level::L44 => 1312,
            Level::L65 => 1952,
            Level::L87 => 2592,
        }
    }

    /// Encoded signature size in bytes.
    pub fn signature_len(self) -> usize {
        match self {
            Level::L44 => 2420,
            Level::L65 => 3309,
            Level::L87 => 4627,
        }
    }

    /// All levels, smallest first.
    pub const ALL: [Level; 3] = [Level::L44, Level::L65, Level::L87];
}

/// An ML-DSA signing key at some level.
pub enum PqSigner {
    /// ML-DSA-44.
    L44(Box<SigningKey<MlDsa44>>),
    /// ML-DSA-65.
    L65(Box<SigningKey<MlDsa65>>),
    /// ML-DSA-87.
    L87(Box<SigningKey<MlDsa87>>),
}

impl std::fmt::Debug for PqSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PqSigner(ML-DSA-{})", self.level().number())
    }
}

impl PqSigner {
    /// Derives a key deterministically from a 32-byte seed (FIPS 204 KeyGen_internal).
    pub fn from_seed(level: Level, seed: [u8; 32]) -> Self {
        let seed = ml_dsa::B32::from(seed);
        match level {
            Level::L44 => PqSigner::L44(Box::new(SigningKey::from_seed(&seed))),
            Level::L65 => PqSigner::L65(Box::new(SigningKey::from_seed(&seed))),
            Level::L87 => PqSigner::L87(Box::new(SigningKey::from_seed(&seed))),
        }
    }

    /// The key's level.
    pub fn level(&self) -> Level {
        match self {
            PqSigner::L44(_) => Level::L44,
            PqSigner::L65(_) => Level::L65,
            PqSigner::L87(_) => Level::L87,
        }
    }

    /// The encoded public (verifying) key.
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            PqSigner::L44(k) => k.verifying_key().encode().to_vec(),
            PqSigner::L65(k) => k.verifying_key().encode().to_vec(),
            PqSigner::L87(k) => k.verifying_key().encode().to_vec(),
        }
    }

    /// Signs `msg`, returning the encoded signature.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            PqSigner::L44(k) => k.sign(msg).encode().to_vec(),
            PqSigner::L65(k) => k.sign(msg).encode().to_vec(),
            PqSigner::L87(k) => k.sign(msg).encode().to_vec(),
        }
    }
}

/// Verifies an encoded signature over `msg` with an encoded public key; any malformed input
/// is simply "does not verify".
pub fn verify(level: Level, public_key: &[u8], msg: &[u8], signature: &[u8]) -> bool {
    match level {
        Level::L44 => verify_with::<MlDsa44>(public_key, msg, signature),
        Level::L65 => verify_with::<MlDsa65>(public_key, msg, signature),
        Level::L87 => verify_with::<MlDsa87>(public_key, msg, signature),
    }
}

fn verify_with<P: MlDsaParams>(public_key: &[u8], msg: &[u8], signature: &[u8]) -> bool {
    let Ok(pk) = EncodedVerifyingKey::<P>::try_from(public_key) else {
        return false;
    };
    let Ok(sig) = EncodedSignature::<P>::try_from(signature) else {
        return false;
    };
    let Some(sig) = Signature::<P>::decode(&sig) else {
        return false;
    };
    VerifyingKey::<P>::decode(&pk).verify(msg, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_encodings_and_signatures_verify() {
        for level in Level::ALL {
            let k = PqSigner::from_seed(level, [7; 32]);
            let pk = k.public_key();
            let sig = k.sign(b"hello");
            assert_eq!(pk.len(), level.public_key_len(), "{level:?}");
            assert_eq!(sig.len(), level.signature_len(), "{level:?}");
            assert!(verify(level, &pk, b"hello", &sig));
            assert!(!verify(level, &pk, b"hellO", &sig));
            let mut bad = sig.clone();
            bad[10] ^= 1;
            assert!(!verify(level, &pk, b"hello", &bad));
            assert!(!verify(level, &pk[1..], b"hello", &sig));
        }
    }

    #[test]
    fn different_seeds_give_different_keys() {
        let a = PqSigner::from_seed(Level::L44, [1; 32]).public_key();
        let b = PqSigner::from_seed(Level::L44, [2; 32]).public_key();
        assert_ne!(a, b);
    }
}
