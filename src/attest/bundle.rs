//! The Sigstore bundle (protobuf-specs JSON form, media types
//! `application/vnd.dev.sigstore.bundle.v0.1/v0.2/v0.3+json`) and the
//! in-toto statement a DSSE envelope carries: parsing, bounded in size,
//! with every byte field decoded once.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use super::{AttestError, Step};

/// Largest bundle read: real ones are a few KiB.
pub const BUNDLE_LIMIT: u64 = 1 << 20;

/// Media-type version of a bundle: v0.1 has no inclusion proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V01,
    V02,
    V03,
}

#[derive(Debug)]
pub struct Bundle {
    pub version: Version,
    /// DER of the signing (leaf) certificate.
    pub leaf: Vec<u8>,
    pub tlog_entries: Vec<TlogEntry>,
    /// DER RFC 3161 timestamps over the signature.
    pub timestamps: Vec<Vec<u8>>,
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

#[derive(Debug)]
pub struct TlogEntry {
    pub log_index: u64,
    pub log_id: Vec<u8>,
    pub kind: String,
    pub kind_version: String,
    pub integrated_time: i64,
    pub set: Option<Vec<u8>>,
    pub proof: Option<InclusionProof>,
    /// The body exactly as logged (decoded from `canonicalizedBody`).
    pub body: Vec<u8>,
    /// `canonicalizedBody` as written in the bundle (base64), which the SET
    /// signs.
    pub body_b64: String,
}

#[derive(Debug)]
pub struct InclusionProof {
    pub log_index: u64,
    pub root_hash: Vec<u8>,
    pub tree_size: u64,
    pub hashes: Vec<Vec<u8>>,
    pub checkpoint: String,
}

/// protobuf JSON writes 64-bit integers as strings; accept numbers too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Int {
    S(String),
    N(i64),
}

impl Int {
    fn get(&self, what: &str) -> Result<i64, AttestError> {
        match self {
            Int::N(n) => Ok(*n),
            Int::S(s) => s
                .parse()
                .map_err(|_| bad(format!("{what} is not an integer: {s:?}"))),
        }
    }
    fn unsigned(&self, what: &str) -> Result<u64, AttestError> {
        u64::try_from(self.get(what)?).map_err(|_| bad(format!("{what} is negative")))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: String,
    verification_material: RawMaterial,
    dsse_envelope: Option<RawEnvelope>,
    message_signature: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    certificate: Option<RawBytes>,
    x509_certificate_chain: Option<RawChain>,
    public_key: Option<serde_json::Value>,
    #[serde(default)]
    tlog_entries: Vec<RawEntry>,
    timestamp_verification_data: Option<RawTsData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTsData {
    #[serde(default)]
    rfc3161_timestamps: Vec<RawTimestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestamp {
    signed_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawBytes {
    pub raw_bytes: String,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawBytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    log_index: Int,
    log_id: RawKeyId,
    kind_version: RawKindVersion,
    integrated_time: Int,
    inclusion_promise: Option<RawPromise>,
    inclusion_proof: Option<RawProof>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawKeyId {
    pub key_id: String,
}

#[derive(Deserialize)]
struct RawKindVersion {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPromise {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProof {
    log_index: Int,
    root_hash: String,
    tree_size: Int,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Option<RawCheckpoint>,
}

#[derive(Deserialize)]
struct RawCheckpoint {
    envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEnvelope {
    payload: String,
    payload_type: String,
    signatures: Vec<RawSig>,
}

#[derive(Deserialize)]
struct RawSig {
    sig: String,
}

fn bad(msg: String) -> AttestError {
    AttestError::new(Step::Bundle, msg)
}

pub(super) fn b64(what: &str, s: &str) -> Result<Vec<u8>, AttestError> {
    BASE64
        .decode(s)
        .map_err(|_| bad(format!("{what} is not valid base64")))
}

/// Parses a bundle; everything the verification needs must be there.
pub fn parse(bytes: &[u8]) -> Result<Bundle, AttestError> {
    if bytes.len() as u64 > BUNDLE_LIMIT {
        return Err(bad(format!(
            "the bundle is {} bytes, more than the {BUNDLE_LIMIT} accepted",
            bytes.len()
        )));
    }
    let raw: RawBundle = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not a Sigstore bundle (JSON): {e}")))?;
    let version = match raw.media_type.as_str() {
        "application/vnd.dev.sigstore.bundle+json;version=0.1"
        | "application/vnd.dev.sigstore.bundle.v0.1+json" => Version::V01,
        "application/vnd.dev.sigstore.bundle+json;version=0.2"
        | "application/vnd.dev.sigstore.bundle.v0.2+json" => Version::V02,
        "application/vnd.dev.sigstore.bundle+json;version=0.3"
        | "application/vnd.dev.sigstore.bundle.v0.3+json" => Version::V03,
        other => {
            return Err(bad(format!(
                "unknown bundle media type {:?}",
                crate::term::escape(other)
            )));
        }
    };
    let m = raw.verification_material;
    if m.public_key.is_some() {
        return Err(bad(
            "the bundle is signed with a public key, not a certificate: keyless attestations \
             carry a certificate"
                .to_owned(),
        ));
    }
    let leaf = match (&m.certificate, &m.x509_certificate_chain) {
        (Some(c), _) => b64("the certificate", &c.raw_bytes)?,
        (None, Some(chain)) => match chain.certificates.first() {
            Some(c) => b64("the certificate", &c.raw_bytes)?,
            None => return Err(bad("the certificate chain is empty".to_owned())),
        },
        (None, None) => return Err(bad("the bundle carries no certificate".to_owned())),
    };
    let (None, Some(env)) = (raw.message_signature, raw.dsse_envelope) else {
        return Err(bad(
            "the bundle holds no DSSE envelope (an attestation is an in-toto statement in one)"
                .to_owned(),
        ));
    };
    if env.signatures.len() != 1 {
        return Err(bad(format!(
            "the DSSE envelope has {} signatures; exactly one is expected",
            env.signatures.len()
        )));
    }
    let signature = b64("the DSSE signature", &env.signatures[0].sig)?;
    let payload = b64("the DSSE payload", &env.payload)?;
    let mut tlog_entries = Vec::new();
    for (i, e) in m.tlog_entries.iter().enumerate() {
        let what = |f: &str| format!("tlogEntries[{i}].{f}");
        let proof = match &e.inclusion_proof {
            None => None,
            Some(p) => Some(InclusionProof {
                log_index: p.log_index.unsigned(&what("inclusionProof.logIndex"))?,
                root_hash: b64(&what("inclusionProof.rootHash"), &p.root_hash)?,
                tree_size: p.tree_size.unsigned(&what("inclusionProof.treeSize"))?,
                hashes: p
                    .hashes
                    .iter()
                    .map(|h| b64(&what("inclusionProof.hashes"), h))
                    .collect::<Result<_, _>>()?,
                checkpoint: match &p.checkpoint {
                    Some(c) => c.envelope.clone(),
                    None => {
                        return Err(bad(format!("{} has no checkpoint", what("inclusionProof"))));
                    }
                },
            }),
        };
        tlog_entries.push(TlogEntry {
            log_index: e.log_index.unsigned(&what("logIndex"))?,
            log_id: b64(&what("logId.keyId"), &e.log_id.key_id)?,
            kind: e.kind_version.kind.clone(),
            kind_version: e.kind_version.version.clone(),
            integrated_time: e.integrated_time.get(&what("integratedTime"))?,
            set: e
                .inclusion_promise
                .as_ref()
                .map(|p| b64(&what("inclusionPromise"), &p.signed_entry_timestamp))
                .transpose()?,
            proof,
            body: b64(&what("canonicalizedBody"), &e.canonicalized_body)?,
            body_b64: e.canonicalized_body.clone(),
        });
    }
    let raw_ts = m
        .timestamp_verification_data
        .map(|t| t.rfc3161_timestamps)
        .unwrap_or_default();
    if raw_ts.len() > 8 || m.tlog_entries.len() > 8 {
        return Err(bad(
            "the bundle has too many log entries or timestamps".to_owned()
        ));
    }
    let timestamps = raw_ts
        .iter()
        .map(|t| b64("an RFC 3161 timestamp", &t.signed_timestamp))
        .collect::<Result<_, _>>()?;
    Ok(Bundle {
        version,
        leaf,
        tlog_entries,
        timestamps,
        payload_type: env.payload_type,
        payload,
        signature,
    })
}

/// The in-toto statement (v0.1 or v1) inside the envelope.
#[derive(Debug, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
}

#[derive(Debug, Deserialize)]
pub struct Subject {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub digest: std::collections::BTreeMap<String, String>,
}
