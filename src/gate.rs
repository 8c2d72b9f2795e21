//! The verification gate: the only way downloaded bytes become a
//! [`Verified`] artifact that may be staged for install, and the only code
//! that produces the trust record written to the lock.
//!
//! Every path that puts bytes into the tree (online apply, offline apply
//! from the cache, `fetch` then apply, a saved plan, `--locked`/`--frozen`,
//! repair from the lock, rollback from a cached resolution) ends here with
//! a [`Pending`] (the sha256 resolution or the lock expects, and the
//! evidence gathered: signature files and signed checksum files) and a
//! [`Download`] (bytes in the content-addressed cache). The gate checks:
//!
//! 1. the sha256 against the expected one, and the size against the
//!    announced one;
//! 2. every signature the *manifest* configures (not the ones the path
//!    happened to bring): a configured signature without evidence is
//!    refused, so a path that forgets to fetch one cannot pass;
//! 3. for a signed checksum file, that the signed file lists the artifact
//!    with this sha256;
//! 4. the attestation the manifest configures (a Sigstore bundle, checked
//!    by [`crate::attest`] against the trusted root in the tree).
//!
//! The trust it records names every signature that verified; without
//! signatures, where the checked sha256 came from. [`Verified`] has private
//! fields: installing takes `&[Verified]`, so nothing reaches staging or
//! the lock without passing here.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use miette::{Result, miette};
use serde::{Deserialize, Serialize};

use crate::lock::{Artifact, Trust, TrustKind};
use crate::manifest::model::{Checksum, Item, Signature, SignatureKind, SignedObject};
use crate::resolve::{self, Pending};
use crate::signature::{self, PublicKey, kind_name};

/// A file to check a signature over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureFile {
    pub kind: crate::manifest::model::SignatureKind,
    /// The key file, relative to the manifest's directory.
    pub key: String,
    /// Where the signature was fetched from.
    pub url: String,
    /// The signature file, base64.
    pub signature: String,
}

impl SignatureFile {
    /// Whether this is the evidence for the configured signature `sig`.
    fn is_for(&self, sig: &Signature) -> bool {
        self.kind == sig.kind && self.key == sig.key
    }

    fn bytes(&self, id: &str) -> Result<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.signature)
            .map_err(|_| {
                miette!(
                    code = "vendor::verify::bad-evidence",
                    help = "plan files and cached resolutions are written by vendor; plan again",
                    "{id}: the recorded signature from {} is not valid base64",
                    self.url
                )
            })
    }
}

/// A checksum file that signatures cover, kept whole so the gate can check
/// the signatures and the listed hash again on every path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedChecksums {
    pub url: String,
    /// The file, base64.
    pub content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<SignatureFile>,
}

/// What an artifact's bytes are checked against besides its sha256.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Signatures over the artifact itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<SignatureFile>,
    /// The signed checksum file that lists the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksums: Option<SignedChecksums>,
    /// The Sigstore bundle attesting the artifact (see [`crate::attest`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<crate::attest::BundleFile>,
}

impl Evidence {
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty() && self.checksums.is_none() && self.attestation.is_none()
    }
}

/// Bytes brought into the cache, not yet trusted.
#[derive(Debug, Clone)]
pub struct Download {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// Signatures that verified over these bytes while they downloaded
    /// ([`stream_signatures`]); [`admit`] checks the others from the file.
    pub checked: Vec<StreamedSignature>,
}

/// A signature over an artifact that verified on its download's bytes as
/// they arrived ([`crate::feed`]), so [`admit`] need not read the file
/// again. Only a success is kept, with all it depends on: the key and its
/// fingerprints, the signature file and the sha256 and size of exactly
/// the bytes read. [`admit`] takes it only when all of these are the ones
/// it checks; anything else (a failure, a stream that could not answer,
/// a retried download) is checked from the file as before, and reported
/// from there. Only [`stream_signatures`] makes one.
#[derive(Debug, Clone)]
pub struct StreamedSignature {
    kind: SignatureKind,
    key: String,
    fingerprints: Vec<String>,
    signature: String,
    sha256: String,
    size: u64,
    verified: signature::Verified,
}

impl StreamedSignature {
    /// The signer, if this check is for `sig` with `key` and `file` over
    /// the bytes of `download`.
    fn answers(
        &self,
        sig: &Signature,
        key: &PublicKey,
        file: &SignatureFile,
        download: &Download,
    ) -> Option<&signature::Verified> {
        let same = self.kind == sig.kind
            && self.key == sig.key
            && self.fingerprints == key.fingerprints()
            && self.signature == file.signature
            && self.sha256 == download.sha256
            && self.size == download.size;
        same.then_some(&self.verified)
    }
}

/// Signatures over artifacts that read the bytes (minisign, OpenPGP; a
/// cosign one is over the sha256) admitted so far: checked on the
/// download stream, and read again from the file.
static SIGNATURE_PASSES: [std::sync::atomic::AtomicU64; 2] = [
    std::sync::atomic::AtomicU64::new(0),
    std::sync::atomic::AtomicU64::new(0),
];

fn count_signature_pass(streamed: bool) {
    SIGNATURE_PASSES[usize::from(!streamed)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// The `-v` line on how signatures over artifacts were checked, or
/// `None` when none was.
pub fn signature_summary() -> Option<String> {
    let [streamed, file] =
        [0, 1].map(|i| SIGNATURE_PASSES[i].load(std::sync::atomic::Ordering::Relaxed));
    (streamed + file > 0).then(|| {
        format!(
            "minisign and OpenPGP signatures over artifacts: {streamed} checked on the download \
             as it arrived, {file} read again from the cached file"
        )
    })
}

/// Signature checks reading a download while it arrives, each on a thread
/// of its own; dropped unfinished (the download failed), they stop.
#[derive(Default)]
pub struct SignatureStreams {
    running: Vec<crate::feed::Reading<StreamedSignature>>,
}

impl SignatureStreams {
    /// Waits for the checks (once the download is over); those that
    /// verified.
    pub fn finish(self) -> Vec<StreamedSignature> {
        self.running
            .into_iter()
            .filter_map(crate::feed::Reading::finish)
            .collect()
    }
}

/// Starts a check of every signature over the artifact `pending` that
/// `item` configures and whose evidence came with it (a minisign or
/// OpenPGP signature: a cosign one is over the sha256 the download
/// computes anyway). Returns the feed to give the download, if any check
/// started.
pub fn stream_signatures(
    root: &Path,
    id: &str,
    item: &Item,
    pending: &Pending,
) -> (Option<crate::feed::Feed>, SignatureStreams) {
    let mut feed: Option<crate::feed::Feed> = None;
    let mut streams = SignatureStreams::default();
    let configured = item.verify.iter().flat_map(|v| &v.signatures);
    for sig in configured.filter(|s| s.over == SignedObject::Asset) {
        if sig.kind == SignatureKind::Cosign {
            continue;
        }
        let Some(file) = pending.evidence.signatures.iter().find(|f| f.is_for(sig)) else {
            continue;
        };
        let (Ok(key), Ok(bytes)) = (
            crate::trust::load_key(root, id, sig.kind, &sig.key),
            file.bytes(id),
        ) else {
            continue;
        };
        let (kind, key_path, signature) = (sig.kind, sig.key.clone(), file.signature.clone());
        let (mine, reading) = crate::feed::Reading::spawn(move |mut reader| {
            let outcome = signature::verify_stream(&key, &mut reader, &bytes);
            // Used only if the check read every byte of a complete attempt.
            let mut probe = [0u8; 1];
            let read_all = matches!(std::io::Read::read(&mut reader, &mut probe), Ok(0));
            let (sha256, size) = reader.drain().cloned()?;
            let verified = outcome?.ok().filter(|_| read_all)?;
            Some(StreamedSignature {
                kind,
                key: key_path,
                fingerprints: key.fingerprints().into_iter().map(str::to_owned).collect(),
                signature,
                sha256,
                size,
                verified,
            })
        });
        streams.running.push(reading);
        feed = Some(match feed {
            Some(f) => f.and(mine),
            None => mine,
        });
    }
    (feed, streams)
}

/// An artifact that passed the gate. Only [`admit`] makes one.
#[derive(Debug, Clone)]
pub struct Verified {
    artifact: Artifact,
    path: PathBuf,
    evidence: Evidence,
}

impl Verified {
    /// The lock record: hashes, size and the trust the gate established.
    pub fn artifact(&self) -> &Artifact {
        &self.artifact
    }

    /// The verified bytes (in the cache).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The evidence that was checked, for the cache.
    pub fn evidence(&self) -> &Evidence {
        &self.evidence
    }

    /// `pending` with the verified sha256 and size: what a cached
    /// resolution keeps, so a first-use download is found again offline.
    /// Still only evidence: the gate checks it again when it is used.
    pub fn as_pending(&self, pending: &Pending) -> Pending {
        Pending {
            sha256: Some(self.artifact.sha256.clone()),
            size: Some(self.artifact.size),
            locked: false,
            ..pending.clone()
        }
    }
}

/// Checks `download` against `pending` and everything `item` requires;
/// keys are read from the tree at `root`.
pub fn admit(
    root: &Path,
    id: &str,
    item: &Item,
    pending: &Pending,
    download: Download,
) -> Result<Verified> {
    check_digest(pending, &download.sha256, download.size)?;
    let mut signers: Vec<String> = Vec::new();
    for sig in item.verify.iter().flat_map(|v| &v.signatures) {
        let key = crate::trust::load_key(root, id, sig.kind, &sig.key)?;
        match sig.over {
            SignedObject::Asset => {
                let file = evidence_for(id, pending, sig, pending.evidence.signatures.iter())?;
                let streamed = download
                    .checked
                    .iter()
                    .find_map(|c| c.answers(sig, &key, file, &download));
                if sig.kind != SignatureKind::Cosign {
                    count_signature_pass(streamed.is_some());
                }
                let label = match streamed {
                    Some(v) => v.trust_label(),
                    None => {
                        let bytes = file.bytes(id)?;
                        signature::verify_file(&key, &download.path, Some(&download.sha256), &bytes)
                            .map_err(|e| refused(id, &pending.name, sig, &key, file, e))?
                            .trust_label()
                    }
                };
                signers.push(label);
            }
            SignedObject::ChecksumFile => {
                let Some(sums) = &pending.evidence.checksums else {
                    return Err(no_evidence(id, pending, sig));
                };
                let content = decode(id, &sums.url, &sums.content)?;
                let file = evidence_for(id, pending, sig, sums.signatures.iter())?;
                signers.push(check_checksum_signature(
                    id, &key, sig, &sums.url, &content, file,
                )?);
                listed_hash(id, pending, &sums.url, &content, &download.sha256)?;
            }
        }
    }
    if let Some(att) = item.verify.as_ref().and_then(|v| v.attestation.as_ref()) {
        signers.push(crate::attest::admit(
            root,
            id,
            item,
            att,
            pending,
            &download.sha256,
        )?);
    }
    signers.sort();
    signers.dedup();
    let trust = if !signers.is_empty() {
        let trust = Trust {
            kind: TrustKind::Signature,
            by: Some(signers.join(", ")),
        };
        if pending.locked && pending.trust != trust {
            return Err(miette!(
                code = "vendor::verify::lock-disagrees",
                help = "the lock was edited by hand or written for other keys; run `vendor apply` \
                        without --locked to lock what verifies",
                "{id}: the lock says {} was trusted by {}, but its signatures verify as {}",
                pending.name,
                resolve::describe(&pending.trust),
                resolve::describe(&trust)
            ));
        }
        trust
    } else {
        unsigned_trust(id, item, pending)?
    };
    Ok(Verified {
        artifact: Artifact {
            platform: pending.platform.clone(),
            name: pending.name.clone(),
            url: pending.url.clone(),
            size: download.size,
            sha256: download.sha256,
            trust,
        },
        path: download.path,
        evidence: pending.evidence.clone(),
    })
}

/// The sha256 and size of bytes against what `pending` expects. The
/// download path calls it too, so that bytes that fail it never enter the
/// cache.
pub fn check_digest(pending: &Pending, sha256: &str, size: u64) -> Result<()> {
    if let Some(expected) = &pending.sha256
        && expected != sha256
    {
        let help = format!(
            "nothing was installed. The file differs from what {} says: a corrupt download, \
             a compromised mirror, or an upstream that replaced the file",
            resolve::describe(&pending.trust)
        );
        return Err(miette!(
            code = "vendor::verify::checksum-mismatch",
            help = help,
            "checksum mismatch for {}: expected sha256 {expected}, got {sha256}",
            pending.url
        ));
    }
    if let Some(announced) = pending.size
        && announced != size
    {
        return Err(miette!(
            code = "vendor::verify::size-mismatch",
            "size mismatch for {}: upstream announced {announced} bytes, got {size}",
            pending.url
        ));
    }
    Ok(())
}

/// The trust of an artifact no signature covers: where its checked sha256
/// came from.
fn unsigned_trust(id: &str, item: &Item, pending: &Pending) -> Result<Trust> {
    if pending.locked {
        // A reinstall keeps the lock's record: the sha256 was checked
        // against it.
        return Ok(pending.trust.clone());
    }
    let first_use_allowed = item
        .assets
        .iter()
        .any(|a| matches!(a.checksum, Some(Checksum::FirstUse)));
    match pending.trust.kind {
        TrustKind::FirstUse if first_use_allowed => Ok(pending.trust.clone()),
        TrustKind::ChecksumFile | TrustKind::GithubDigest | TrustKind::Manifest
            if pending.sha256.is_some() =>
        {
            Ok(pending.trust.clone())
        }
        _ => Err(miette!(
            code = "vendor::verify::unverified",
            help = "nothing was installed. Plan again: the manifest decides how an artifact is \
                    verified",
            "{id}: nothing verifies {}: {} is claimed, but the manifest configures no such check",
            pending.name,
            resolve::describe(&pending.trust)
        )),
    }
}

/// The evidence for configured signature `sig` among `files`.
fn evidence_for<'a>(
    id: &str,
    pending: &Pending,
    sig: &Signature,
    mut files: impl Iterator<Item = &'a SignatureFile>,
) -> Result<&'a SignatureFile> {
    files
        .find(|f| f.is_for(sig))
        .ok_or_else(|| no_evidence(id, pending, sig))
}

fn no_evidence(id: &str, pending: &Pending, sig: &Signature) -> miette::Report {
    let over = match sig.over {
        SignedObject::Asset => pending.name.clone(),
        SignedObject::ChecksumFile => format!("the checksum file of {}", pending.name),
    };
    miette!(
        code = "vendor::verify::no-evidence",
        help = "nothing was installed. Run `vendor fetch` (or `vendor apply`) online once: it \
                fetches and checks the signatures, and keeps them in the cache for offline runs",
        "{id}: the {} signature over {over} (key {}) was not fetched on this path, so {} cannot \
         be verified",
        kind_name(sig.kind),
        sig.key,
        pending.name
    )
}

fn decode(id: &str, url: &str, b64: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| {
            miette!(
                code = "vendor::verify::bad-evidence",
                help = "plan files and cached resolutions are written by vendor; plan again",
                "{id}: the recorded copy of {url} is not valid base64"
            )
        })
}

/// Verifies one signature over a checksum file's `content`; returns the
/// signer's trust label. Resolution calls it too, to fail before any
/// download.
pub fn check_checksum_signature(
    id: &str,
    key: &PublicKey,
    sig: &Signature,
    sums_url: &str,
    content: &[u8],
    file: &SignatureFile,
) -> Result<String> {
    let bytes = file.bytes(id)?;
    let what = format!("the checksum file {}", resolve::file_name(sums_url));
    signature::verify_bytes(key, content, &bytes)
        .map(|v| v.trust_label())
        .map_err(|e| refused(id, &what, sig, key, file, e))
}

/// The signed checksum file must list the artifact with its sha256.
fn listed_hash(id: &str, pending: &Pending, url: &str, content: &[u8], sha256: &str) -> Result<()> {
    let listed = crate::checksum::lookup(&String::from_utf8_lossy(content), &pending.name)
        .map_err(|e| miette::Report::new(e).wrap_err(format!("{id}: in the signed {url}")))?;
    if listed == sha256 {
        return Ok(());
    }
    Err(miette!(
        code = "vendor::verify::checksum-mismatch",
        help = "nothing was installed. The file is not the one the signed checksum file lists",
        "checksum mismatch for {}: the signed checksum file {} lists sha256 {listed}, got {sha256}",
        pending.url,
        resolve::file_name(url)
    ))
}

/// A refused signature, in plain words: what was checked, with which key,
/// and what was found.
fn refused(
    id: &str,
    what: &str,
    sig: &Signature,
    key: &PublicKey,
    file: &SignatureFile,
    e: signature::SignatureError,
) -> miette::Report {
    let help = e.help_text();
    miette!(
        code = "vendor::verify::bad-signature",
        help = format!("nothing was installed. {help}"),
        "{id}: {what} fails its {} signature {} (key {}, {}): {e}",
        kind_name(sig.kind),
        resolve::file_name(&file.url),
        sig.key,
        key.fingerprints().join(", ")
    )
}
