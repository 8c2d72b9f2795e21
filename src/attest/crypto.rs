//! The signature primitives the bundle checks use: ECDSA over P-256 and
//! P-384 with SHA-256 or SHA-384, keys as DER `SubjectPublicKeyInfo`, and
//! signatures DER-encoded (as X.509, DSSE, Rekor, CT and checkpoints write
//! them).

use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::{Digest as _, Sha256, Sha384};
use x509_cert::der::Decode as _;
use x509_cert::der::asn1::ObjectIdentifier;

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `ecdsa-with-SHA256` and `ecdsa-with-SHA384`.
pub const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
pub const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    pub fn of_algorithm(oid: &ObjectIdentifier) -> Option<Hash> {
        match *oid {
            ECDSA_SHA256 => Some(Hash::Sha256),
            ECDSA_SHA384 => Some(Hash::Sha384),
            _ => None,
        }
    }

    pub fn digest(self, msg: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(msg).to_vec(),
            Hash::Sha384 => Sha384::digest(msg).to_vec(),
        }
    }
}

/// An ECDSA public key.
#[derive(Debug, Clone)]
pub enum Key {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

impl Key {
    /// From DER `SubjectPublicKeyInfo`; other algorithms and curves are
    /// named in the error.
    pub fn from_spki(der_bytes: &[u8]) -> Result<Key, String> {
        let spki = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(der_bytes)
            .map_err(|_| "not a DER SubjectPublicKeyInfo".to_owned())?;
        if spki.algorithm.oid != EC_PUBLIC_KEY {
            return Err(format!(
                "key algorithm {} is not ECDSA (only ECDSA P-256 and P-384 keys are supported)",
                spki.algorithm.oid
            ));
        }
        let curve = spki
            .algorithm
            .parameters_oid()
            .map_err(|_| "the ECDSA key names no curve".to_owned())?;
        let point = spki.subject_public_key.raw_bytes();
        match curve {
            P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map(Key::P256)
                .map_err(|_| "not a valid P-256 point".to_owned()),
            P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map(Key::P384)
                .map_err(|_| "not a valid P-384 point".to_owned()),
            other => Err(format!("unsupported elliptic curve {other}")),
        }
    }

    /// The hash a key of this curve signs with, where the format does not
    /// say (Rekor, CT, checkpoints, DSSE).
    pub fn default_hash(&self) -> Hash {
        match self {
            Key::P256(_) => Hash::Sha256,
            Key::P384(_) => Hash::Sha384,
        }
    }

    /// Whether `sig` (DER) is this key's signature of `msg` hashed with `hash`.
    pub fn verify(&self, hash: Hash, msg: &[u8], sig: &[u8]) -> bool {
        let digest = hash.digest(msg);
        match self {
            Key::P256(k) => p256::ecdsa::Signature::from_der(sig)
                .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
            Key::P384(k) => p384::ecdsa::Signature::from_der(sig)
                .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
        }
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
