//! Transparency-log evidence (Rekor v1 entries): the entry's body binds
//! this envelope and certificate; the signed entry timestamp (SET) proves
//! when the log integrated it; the RFC 6962 Merkle inclusion proof and the
//! checkpoint (a signed note) prove the entry is in the log's tree.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::bundle::{Bundle, TlogEntry, Version};
use super::crypto::{self, hex};
use super::root::{Log, TrustedRoot};
use super::{AttestError, Step};

/// The log of the trusted root that `entry` names, valid at its time.
pub fn log_for<'a>(entry: &TlogEntry, root: &'a TrustedRoot) -> Result<&'a Log, AttestError> {
    let log = root
        .tlogs
        .iter()
        .find(|l| l.key_id == entry.log_id)
        .ok_or_else(|| {
            AttestError::new(
                Step::TlogEntry,
                format!(
                    "the entry is in log {}, which the trusted root does not list",
                    hex(&entry.log_id)
                ),
            )
        })?;
    if !log.valid.contains(entry.integrated_time) {
        return Err(AttestError::new(
            Step::TlogEntry,
            format!(
                "the log key of {} was not valid when the entry was integrated",
                log.base_url
            ),
        ));
    }
    Ok(log)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseBody {
    api_version: String,
    kind: String,
    spec: DsseSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseSpec {
    payload_hash: HashValue,
    signatures: Vec<DsseBodySig>,
}

#[derive(Deserialize)]
struct HashValue {
    algorithm: String,
    value: String,
}

#[derive(Deserialize)]
struct DsseBodySig {
    signature: String,
    verifier: String,
}

/// Step: the logged body is a `dsse` 0.0.1 entry of this payload, this
/// signature and this certificate.
pub fn verify_body(entry: &TlogEntry, bundle: &Bundle) -> Result<(), AttestError> {
    let fail = |m: String| AttestError::new(Step::TlogEntry, m);
    if (entry.kind.as_str(), entry.kind_version.as_str()) != ("dsse", "0.0.1") {
        return Err(fail(format!(
            "entries of kind {:?} version {:?} are not supported (dsse 0.0.1 is)",
            crate::term::escape(&entry.kind),
            crate::term::escape(&entry.kind_version)
        )));
    }
    let body: DsseBody = serde_json::from_slice(&entry.body)
        .map_err(|e| fail(format!("the logged body is not a dsse entry: {e}")))?;
    if body.kind != entry.kind || body.api_version != entry.kind_version {
        return Err(fail(
            "the logged body's kind differs from the entry's".to_owned(),
        ));
    }
    let ph = &body.spec.payload_hash;
    if ph.algorithm != "sha256"
        || !ph
            .value
            .eq_ignore_ascii_case(&hex(&crypto::sha256(&bundle.payload)))
    {
        return Err(fail(
            "the logged payload hash is not the hash of this envelope's payload".to_owned(),
        ));
    }
    let [sig] = body.spec.signatures.as_slice() else {
        return Err(fail(
            "the logged entry does not hold exactly one signature".to_owned(),
        ));
    };
    if BASE64.decode(&sig.signature).ok().as_deref() != Some(bundle.signature.as_slice()) {
        return Err(fail(
            "the logged signature is not this envelope's signature".to_owned(),
        ));
    }
    let pem = BASE64.decode(&sig.verifier).unwrap_or_default();
    if pem_to_der(&pem).as_deref() != Some(bundle.leaf.as_slice()) {
        return Err(fail(
            "the logged certificate is not this bundle's certificate".to_owned(),
        ));
    }
    Ok(())
}

/// The DER inside a PEM `CERTIFICATE` block.
fn pem_to_der(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let body = text
        .trim()
        .strip_prefix("-----BEGIN CERTIFICATE-----")?
        .strip_suffix("-----END CERTIFICATE-----")?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(b64).ok()
}

/// Step: the signed entry timestamp, the log's signature over the entry's
/// body, integrated time, log id and index (canonical JSON).
pub fn verify_set(entry: &TlogEntry, log: &Log) -> Result<(), AttestError> {
    let Some(set) = &entry.set else {
        return Err(AttestError::new(
            Step::Set,
            "the log entry has no signed entry timestamp (inclusionPromise), so nothing proves \
             when it was signed"
                .to_owned(),
        ));
    };
    // Keys in lexical order, no blanks: Rekor's canonical form.
    let msg = format!(
        "{{\"body\":{},\"integratedTime\":{},\"logID\":\"{}\",\"logIndex\":{}}}",
        serde_json::Value::String(entry.body_b64.clone()),
        entry.integrated_time,
        hex(&entry.log_id),
        entry.log_index
    );
    if log.key.verify(log.key.default_hash(), msg.as_bytes(), set) {
        return Ok(());
    }
    Err(AttestError::new(
        Step::Set,
        format!(
            "the signed entry timestamp does not verify with the key of {}",
            log.base_url
        ),
    ))
}

/// Step: the inclusion proof leads from the entry to the root hash, and a
/// checkpoint signed by the log commits to that root. Required from bundle
/// v0.2 on.
pub fn verify_inclusion(entry: &TlogEntry, log: &Log, version: Version) -> Result<(), AttestError> {
    let fail = |m: String| AttestError::new(Step::InclusionProof, m);
    let Some(proof) = &entry.proof else {
        if version == Version::V01 {
            return Ok(());
        }
        return Err(fail("the log entry has no inclusion proof".to_owned()));
    };
    if proof.hashes.len() > 64 || proof.hashes.iter().any(|h| h.len() != 32) {
        return Err(fail("the proof's hashes are malformed".to_owned()));
    }
    let mut leaf = Sha256::new();
    leaf.update([0u8]);
    leaf.update(&entry.body);
    let leaf: [u8; 32] = leaf.finalize().into();
    let root = root_from_proof(proof.log_index, proof.tree_size, leaf, &proof.hashes)
        .ok_or_else(|| fail("the proof does not fit the tree size".to_owned()))?;
    if root.as_slice() != proof.root_hash.as_slice() {
        return Err(fail(
            "the inclusion proof does not lead to the root hash: the entry is not in the tree"
                .to_owned(),
        ));
    }
    verify_checkpoint(&proof.checkpoint, log, proof.tree_size, &proof.root_hash)
}

/// RFC 9162 §2.1.3.2: the root hash an inclusion proof leads to.
pub fn root_from_proof(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    path: &[Vec<u8>],
) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf;
    for p in path {
        if s == 0 {
            return None;
        }
        let mut h = Sha256::new();
        h.update([1u8]);
        if f & 1 == 1 || f == s {
            h.update(p);
            h.update(r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            h.update(r);
            h.update(p);
        }
        r = h.finalize().into();
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// Step: the checkpoint is a signed note by the log's key whose tree size
/// and root hash are the proof's.
fn verify_checkpoint(note: &str, log: &Log, size: u64, root: &[u8]) -> Result<(), AttestError> {
    let fail = |m: String| AttestError::new(Step::Checkpoint, m);
    let Some((text, sigs)) = note.split_once("\n\n") else {
        return Err(fail("the checkpoint is not a signed note".to_owned()));
    };
    let text = format!("{text}\n");
    let mut lines = text.lines();
    let (_origin, tree, hash) = (lines.next(), lines.next(), lines.next());
    if tree.and_then(|t| t.parse::<u64>().ok()) != Some(size) {
        return Err(fail("the checkpoint is for another tree size".to_owned()));
    }
    if hash.and_then(|h| BASE64.decode(h).ok()).as_deref() != Some(root) {
        return Err(fail(
            "the checkpoint commits to another root hash".to_owned(),
        ));
    }
    let hint = &crypto::sha256(&log.spki)[..4];
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((_name, sig)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Ok(sig) = BASE64.decode(sig) else {
            continue;
        };
        if sig.len() > 4
            && &sig[..4] == hint
            && log
                .key
                .verify(log.key.default_hash(), text.as_bytes(), &sig[4..])
        {
            return Ok(());
        }
    }
    Err(fail(format!(
        "the checkpoint is not signed by the key of {}",
        log.base_url
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(l);
        h.update(r);
        h.finalize().into()
    }

    #[test]
    fn inclusion_in_a_tree_of_five() {
        let leaves: Vec<[u8; 32]> = (0u8..5).map(|i| crypto::sha256(&[0, i])).collect();
        let n01 = node(&leaves[0], &leaves[1]);
        let n23 = node(&leaves[2], &leaves[3]);
        let n0123 = node(&n01, &n23);
        let root = node(&n0123, &leaves[4]);
        let p = |v: &[[u8; 32]]| v.iter().map(|h| h.to_vec()).collect::<Vec<_>>();
        assert_eq!(root_from_proof(4, 5, leaves[4], &p(&[n0123])), Some(root));
        assert_eq!(
            root_from_proof(2, 5, leaves[2], &p(&[leaves[3], n01, leaves[4]])),
            Some(root)
        );
        assert_ne!(
            root_from_proof(2, 5, leaves[3], &p(&[leaves[3], n01, leaves[4]])),
            Some(root)
        );
        assert_eq!(root_from_proof(5, 5, leaves[4], &p(&[n0123])), None);
        assert_eq!(root_from_proof(4, 5, leaves[4], &p(&[n0123, n01])), None);
    }
}
