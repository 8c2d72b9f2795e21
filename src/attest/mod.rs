//! Keyless trust: Sigstore bundles (GitHub artifact attestations and
//! release attestations) verified offline against a trusted root committed
//! in the tree (`verify.attestation`).
//!
//! Resolution fetches each asset's bundle (a release asset, a file beside
//! the asset, a URL, or GitHub's attestations API) and attaches it to the
//! artifact as evidence ([`BundleFile`]), carried in plans and cached
//! resolutions; the gate ([`crate::gate`]) calls [`admit`] on every path
//! once the bytes are downloaded. A refusal names the [`Step`] that failed:
//!
//! 1. `bundle`: a v0.1–v0.3 bundle holding a DSSE envelope and a
//!    certificate, at most [`bundle::BUNDLE_LIMIT`] bytes;
//! 2. `envelope`: the DSSE signature (over the PAE of the payload) verifies
//!    with the certificate's key;
//! 3. `statement`, `subject`, `predicate-type`: the in-toto statement lists
//!    the artifact's sha256 and has the wanted predicate type;
//! 4. `tlog-entry`: the transparency-log entry (if any; a bundle without
//!    one needs a timestamp) is in a log of the trusted root and logs
//!    exactly this envelope and certificate;
//! 5. `signed-entry-timestamp`, `timestamp`: the log signed the time it
//!    integrated the entry, and/or an RFC 3161 timestamp authority of the
//!    trusted root signed a time over the signature; at least one time must
//!    be proven, and every proven time is a signing time;
//! 6. `inclusion-proof`, `checkpoint`: the Merkle inclusion proof leads to
//!    a root hash that a checkpoint signed by the log commits to (required
//!    with a log entry from bundle v0.2 on);
//! 7. `certificate-chain`, `certificate-validity`: the certificate is for
//!    code signing, chains to a certificate authority of the trusted root,
//!    and every certificate was valid at every signing time;
//! 8. `sct`: an embedded signed certificate timestamp verifies with a CT
//!    log key of the trusted root (always for artifact attestations; for
//!    release attestations unless the trusted root lists no CT log, as
//!    GitHub's own instance's does not);
//! 9. `identity`: for artifact attestations the Fulcio extensions name the
//!    OIDC issuer of GitHub Actions, the source repository, the ref (when
//!    the policy gives one) and the signer workflow; for release
//!    attestations the certificate names GitHub's releases signer and the
//!    statement the repository, the tag and the release's purl.
//!
//! `vendor check --upstream` asks whether each locked artifact's
//! attestation is still published ([`gone_upstream`]: presence only, the
//! bundle was verified when locked); a release that lost GitHub's
//! `immutable` flag is reported there too (`crate::upstream`).
//!
//! The trusted root is never fetched. Refreshing it is a deliberate,
//! reviewed change: replace the committed `trusted_root.json` with the new
//! one (e.g. from a trusted Sigstore TUF client, or `gh attestation
//! trusted-root`), run `vendor plan` / `vendor apply` so that every
//! attested item is verified against it, and review `vendor diff`: the
//! lock's signer names the root's sha256, so the change shows as a new
//! signer on every attested artifact.
//!
//! Not handled (refused, never skipped): Rekor v2 entries, entry kinds
//! other than `dsse` 0.0.1, key-signed (non-keyless) bundles, keys other
//! than ECDSA P-256/P-384, and GitHub Enterprise Server identities (the
//! host is `github.com`). The checkpoint's origin line is not compared
//! with the log's name; its signature by the log's key is what counts.

pub mod bundle;
pub mod cert;
pub mod crypto;
pub mod root;
pub mod tlog;
pub mod tsa;

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use miette::{Result, miette};
use serde::{Deserialize, Serialize};

use crate::fetch::Client;
use crate::lock::{Trust, TrustKind};
use crate::manifest::model::{Attestation, AttestationKind, BundleFrom, Item};
use crate::resolve::{Pending, file_name};
use crate::trust::Upstream;

use bundle::Bundle;
use cert::Cert;
use root::TrustedRoot;

/// The OIDC issuer of GitHub Actions' tokens.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// SLSA provenance v1, what `actions/attest-build-provenance` makes.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A verification step; a refusal names the one that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Bundle,
    TrustedRoot,
    Envelope,
    Statement,
    Subject,
    PredicateType,
    TlogEntry,
    Set,
    InclusionProof,
    Checkpoint,
    Timestamp,
    Chain,
    CertificateValidity,
    Sct,
    Identity,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Bundle => "bundle",
            Step::TrustedRoot => "trusted-root",
            Step::Envelope => "envelope",
            Step::Statement => "statement",
            Step::Subject => "subject",
            Step::PredicateType => "predicate-type",
            Step::TlogEntry => "tlog-entry",
            Step::Set => "signed-entry-timestamp",
            Step::InclusionProof => "inclusion-proof",
            Step::Checkpoint => "checkpoint",
            Step::Timestamp => "timestamp",
            Step::Chain => "certificate-chain",
            Step::CertificateValidity => "certificate-validity",
            Step::Sct => "sct",
            Step::Identity => "identity",
        }
    }
}

/// Why a bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step `{}` failed: {message}", step.name())]
pub struct AttestError {
    pub step: Step,
    pub message: String,
}

impl AttestError {
    pub fn new(step: Step, message: String) -> AttestError {
        AttestError { step, message }
    }
}

/// GitHub's identity in the certificates of release attestations.
pub const GITHUB_RELEASES_SIGNER: &str = "https://dotcom.releases.github.com";
/// The in-toto release predicate GitHub's release attestations carry.
pub const RELEASE_V01: &str = "https://in-toto.io/attestation/release/v0.1";

/// What kind of attestation, and so which identity is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Made in GitHub Actions: the Fulcio extensions name the workflow.
    Artifact,
    /// Signed by GitHub for the release `tag`: the certificate names
    /// GitHub's releases signer and the statement the repository and tag.
    Release { tag: String },
}

/// Who must have signed, and what.
#[derive(Debug, Clone)]
pub struct Policy {
    pub kind: Kind,
    /// `owner/name`.
    pub repository: String,
    /// `owner/name/path/to/workflow.yml` (artifact attestations).
    pub workflow: String,
    pub git_ref: Option<String>,
    pub predicate_type: String,
    pub issuer: String,
}

/// What a verified bundle proved.
#[derive(Debug, Clone)]
pub struct Attested {
    /// The certificate's identity (the signer workflow at its ref).
    pub signer_uri: String,
    /// When the log integrated the signature (seconds since the epoch).
    pub signed_at: i64,
}

/// Verifies `bundle` for an artifact whose sha256 is `sha256` (hex).
pub fn verify(
    bundle: &[u8],
    root: &TrustedRoot,
    policy: &Policy,
    sha256: &str,
) -> Result<Attested, AttestError> {
    let b = bundle::parse(bundle)?;
    let leaf = Cert::parse(&b.leaf, Step::Bundle, "the signing certificate")?;
    verify_envelope(&b, &leaf)?;
    verify_statement(&b, policy, sha256)?;
    // Every time that is proven: the log's (SET) and each timestamp's.
    let mut times: Vec<i64> = verify_tlog(&b, root)?.into_iter().collect();
    for ts in &b.timestamps {
        times.push(tsa::verify(ts, &b.signature, root)?);
    }
    let Some(&signed_at) = times.first() else {
        return Err(AttestError::new(
            Step::Set,
            "the log entry has no signed entry timestamp (inclusionPromise) and the bundle no \
             RFC 3161 timestamp, so nothing proves when it was signed"
                .to_owned(),
        ));
    };
    let mut issuer = None;
    for &t in &times {
        issuer = Some(cert::verify_chain(&leaf, root, t)?);
        verify_validity(&leaf, t)?;
    }
    let Some(issuer) = issuer else {
        return Err(AttestError::new(Step::Chain, "no signing time".to_owned()));
    };
    // GitHub's own instance (release attestations) logs no certificates
    // in CT when its trusted root lists no CT log; otherwise the SCT is
    // required.
    if policy.kind == Kind::Artifact || !root.ctlogs.is_empty() {
        cert::verify_sct(&leaf, &issuer, root)?;
    }
    let signer_uri = match &policy.kind {
        Kind::Artifact => verify_identity(&leaf, policy)?,
        Kind::Release { tag } => verify_release_identity(&leaf, &b, policy, tag)?,
    };
    Ok(Attested {
        signer_uri,
        signed_at,
    })
}

/// DSSE's pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Step: the envelope's signature is the certificate key's, over the PAE.
fn verify_envelope(b: &Bundle, leaf: &Cert) -> Result<(), AttestError> {
    let fail = |m: String| AttestError::new(Step::Envelope, m);
    if b.payload_type != PAYLOAD_TYPE {
        return Err(fail(format!(
            "the payload type is {:?}, not {PAYLOAD_TYPE}",
            crate::term::escape(&b.payload_type)
        )));
    }
    let key = leaf
        .key()
        .map_err(|e| fail(format!("the certificate's key: {e}")))?;
    if key.verify(
        key.default_hash(),
        &pae(&b.payload_type, &b.payload),
        &b.signature,
    ) {
        return Ok(());
    }
    Err(fail(
        "the DSSE signature does not verify with the certificate's key: the statement was \
         altered or signed by another key"
            .to_owned(),
    ))
}

/// Steps: the statement parses, lists the artifact, has the predicate type.
fn verify_statement(b: &Bundle, policy: &Policy, sha256: &str) -> Result<(), AttestError> {
    let st: bundle::Statement = serde_json::from_slice(&b.payload).map_err(|e| {
        AttestError::new(
            Step::Statement,
            format!("the payload is not an in-toto statement: {e}"),
        )
    })?;
    if !matches!(
        st.type_.as_str(),
        "https://in-toto.io/Statement/v1" | "https://in-toto.io/Statement/v0.1"
    ) {
        return Err(AttestError::new(
            Step::Statement,
            format!(
                "unknown statement type {:?}",
                crate::term::escape(&st.type_)
            ),
        ));
    }
    if !st.subject.iter().any(|s| {
        s.digest
            .get("sha256")
            .is_some_and(|d| d.eq_ignore_ascii_case(sha256))
    }) {
        let listed: Vec<String> = st
            .subject
            .iter()
            .take(5)
            .map(|s| {
                format!(
                    "{} sha256:{}",
                    crate::term::escape(&s.name),
                    crate::term::escape(s.digest.get("sha256").map_or("-", String::as_str))
                )
            })
            .collect();
        return Err(AttestError::new(
            Step::Subject,
            format!(
                "the statement does not attest sha256 {sha256}; it lists {}",
                if listed.is_empty() {
                    "no subject".to_owned()
                } else {
                    listed.join(", ")
                }
            ),
        ));
    }
    if st.predicate_type != policy.predicate_type {
        return Err(AttestError::new(
            Step::PredicateType,
            format!(
                "the predicate type is {:?}, not {:?}",
                crate::term::escape(&st.predicate_type),
                policy.predicate_type
            ),
        ));
    }
    Ok(())
}

/// Steps: log entry, SET, inclusion proof and checkpoint. Returns the
/// signing time the SET proves, if the entry has one. Without a log entry
/// an RFC 3161 timestamp must prove the time.
fn verify_tlog(b: &Bundle, root: &TrustedRoot) -> Result<Option<i64>, AttestError> {
    let Some(entry) = b.tlog_entries.first() else {
        if !b.timestamps.is_empty() {
            return Ok(None);
        }
        return Err(AttestError::new(
            Step::TlogEntry,
            "the bundle has no transparency-log entry and no RFC 3161 timestamp, so nothing \
             proves when it was signed"
                .to_owned(),
        ));
    };
    if b.tlog_entries.len() > 1 {
        return Err(AttestError::new(
            Step::TlogEntry,
            "the bundle has several log entries; one is expected".to_owned(),
        ));
    }
    let log = tlog::log_for(entry, root)?;
    tlog::verify_body(entry, b)?;
    let time = if entry.set.is_some() || b.timestamps.is_empty() {
        tlog::verify_set(entry, log)?;
        Some(entry.integrated_time)
    } else {
        None
    };
    tlog::verify_inclusion(entry, log, b.version)?;
    Ok(time)
}

/// Step: the signing certificate was valid at the signing time.
fn verify_validity(leaf: &Cert, t: i64) -> Result<(), AttestError> {
    if leaf.valid_at(t) {
        return Ok(());
    }
    let utc = |s: i64| crate::fetch::utc(u64::try_from(s).unwrap_or(0));
    Err(AttestError::new(
        Step::CertificateValidity,
        format!(
            "the signing certificate was valid from {} to {}, but the log integrated the \
             signature at {}",
            utc(leaf.not_before()),
            utc(leaf.not_after()),
            utc(t)
        ),
    ))
}

/// Step: the certificate names the policy's issuer, repository, ref and
/// workflow. Returns the signer URI.
fn verify_identity(leaf: &Cert, policy: &Policy) -> Result<String, AttestError> {
    let fail = |m: String| AttestError::new(Step::Identity, m);
    let get = |oid, what: &str| {
        leaf.fulcio_string(oid)
            .ok_or_else(|| fail(format!("the certificate does not name the {what}")))
    };
    let issuer = get(cert::OID_ISSUER_V2, "OIDC issuer")?;
    if issuer != policy.issuer {
        return Err(fail(format!(
            "the certificate was issued for tokens of {:?}, not {:?}",
            crate::term::escape(&issuer),
            policy.issuer
        )));
    }
    let repo = get(cert::OID_SOURCE_REPO_URI, "source repository")?;
    let want_repo = format!("https://github.com/{}", policy.repository);
    if !repo.eq_ignore_ascii_case(&want_repo) {
        return Err(fail(format!(
            "the attestation was made for repository {}, not {want_repo}",
            crate::term::escape(&repo)
        )));
    }
    if let Some(want) = &policy.git_ref {
        let got = get(cert::OID_SOURCE_REPO_REF, "source ref")?;
        if got != *want {
            return Err(fail(format!(
                "the attestation was made at ref {}, not {want}",
                crate::term::escape(&got)
            )));
        }
    }
    let signer = get(cert::OID_BUILD_SIGNER_URI, "signer workflow")?;
    let path = signer
        .strip_prefix("https://github.com/")
        .and_then(|s| s.split_once('@'))
        .map(|(p, _)| p);
    if !path.is_some_and(|p| same_workflow(p, &policy.workflow)) {
        return Err(fail(format!(
            "the attestation was signed by workflow {}, not {}",
            crate::term::escape(&signer),
            policy.workflow
        )));
    }
    if !leaf.san_uris().contains(&signer) {
        return Err(fail(
            "the certificate's subject does not name the signer workflow".to_owned(),
        ));
    }
    Ok(signer)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReleasePredicate {
    #[serde(default)]
    repository: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    purl: String,
}

#[derive(Deserialize)]
struct ReleaseStatement {
    predicate: ReleasePredicate,
}

/// Step: a release attestation is GitHub's, for this repository and tag.
fn verify_release_identity(
    leaf: &Cert,
    b: &Bundle,
    policy: &Policy,
    tag: &str,
) -> Result<String, AttestError> {
    let fail = |m: String| AttestError::new(Step::Identity, m);
    if !leaf.san_uris().iter().any(|u| u == GITHUB_RELEASES_SIGNER) {
        return Err(fail(format!(
            "the certificate is not GitHub's release signer ({GITHUB_RELEASES_SIGNER}): it names {}",
            crate::term::escape(&leaf.san_uris().join(", "))
        )));
    }
    let st: ReleaseStatement = serde_json::from_slice(&b.payload)
        .map_err(|e| fail(format!("the statement has no release predicate: {e}")))?;
    let p = st.predicate;
    if !p.repository.eq_ignore_ascii_case(&policy.repository) {
        return Err(fail(format!(
            "the release attestation is for repository {}, not {}",
            crate::term::escape(&p.repository),
            policy.repository
        )));
    }
    if p.tag != tag {
        return Err(fail(format!(
            "the release attestation is for tag {}, not {tag}",
            crate::term::escape(&p.tag)
        )));
    }
    let purl = format!("pkg:github/{}@{tag}", policy.repository);
    if !p.purl.eq_ignore_ascii_case(&purl) {
        return Err(fail(format!(
            "the release attestation names {}, not {purl}",
            crate::term::escape(&p.purl)
        )));
    }
    Ok(GITHUB_RELEASES_SIGNER.to_owned())
}

/// `owner/name/path`: owner and name compare without case (as GitHub
/// does), the path exactly.
fn same_workflow(got: &str, want: &str) -> bool {
    fn split(s: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
        let mut it = s.splitn(3, '/');
        (it.next(), it.next(), it.next())
    }
    match (split(got), split(want)) {
        ((Some(o1), Some(r1), Some(p1)), (Some(o2), Some(r2), Some(p2))) => {
            o1.eq_ignore_ascii_case(o2) && r1.eq_ignore_ascii_case(r2) && p1 == p2
        }
        _ => false,
    }
}

// ----- the manifest, resolution and the gate ----------------------------

/// A fetched bundle, evidence for the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleFile {
    pub url: String,
    /// The bundle, base64.
    pub bundle: String,
}

/// The workflow as `owner/name/path`.
fn full_workflow(att: &Attestation) -> String {
    let wf = att.workflow.as_deref().unwrap_or_default();
    if wf.starts_with(".github/") {
        format!("{}/{wf}", att.repository)
    } else {
        wf.to_owned()
    }
}

/// The lock's signer label: `github-attestation:<repo>@<workflow>`, the
/// workflow relative to the repository when it is the repository's own;
/// `github-release-attestation:<repo>` for release attestations (the tag
/// is checked, but left out so that a bump is no change of signer).
///
/// The trusted root's sha256 (its first 16 hex digits) is part of the
/// signer, so that `vendor diff` shows a refreshed trusted root as a
/// change of signer.
pub fn label(att: &Attestation, trusted_root: &[u8]) -> String {
    let root = &crypto::hex(&crypto::sha256(trusted_root))[..16];
    format!("{} (trusted root sha256:{root})", identity_label(att))
}

fn identity_label(att: &Attestation) -> String {
    if att.kind == AttestationKind::Release {
        return format!("github-release-attestation:{}", att.repository);
    }
    let wf = full_workflow(att);
    let prefix = format!("{}/", att.repository);
    let wf = match wf.get(..prefix.len()) {
        Some(p) if p.eq_ignore_ascii_case(&prefix) => wf[prefix.len()..].to_owned(),
        _ => wf,
    };
    format!("github-attestation:{}@{wf}", att.repository)
}

fn vars_for<'a>(
    id: &'a str,
    item: &Item,
    platform: Option<&str>,
    asset: &str,
) -> crate::template::Vars<'a> {
    let mut vars = crate::plan::item_vars(id, item);
    if let Some((os, arch)) = platform.and_then(|p| p.split_once('/')) {
        vars.set("os", os);
        vars.set("arch", arch);
    }
    vars.set("asset", asset);
    vars
}

fn expand(id: &str, vars: &crate::template::Vars<'_>, what: &str, t: &str) -> Result<String> {
    vars.expand(t).map_err(|name| {
        miette!(
            code = "vendor::verify::template",
            "{id}: unknown placeholder `{{{name}}}` in the attestation's {what} `{t}`"
        )
    })
}

/// Fetches each artifact's bundle and attaches it as evidence; the gate
/// verifies it.
pub async fn resolve_bundles(
    client: &Client,
    root_dir: &Path,
    id: &str,
    item: &Item,
    upstream: &Upstream<'_>,
    artifacts: &mut [Pending],
) -> Result<()> {
    let Some(att) = item.verify.as_ref().and_then(|v| v.attestation.as_ref()) else {
        return Ok(());
    };
    let template = att.bundle.as_deref().unwrap_or("{asset}.sigstore.json");
    for a in artifacts.iter_mut() {
        let (url, bytes) = match att.from.unwrap_or_default() {
            BundleFrom::GithubApi => from_api(client, id, att, a).await?,
            BundleFrom::Bundle => {
                let vars = vars_for(id, item, a.platform.as_deref(), file_name(&a.name));
                let name = expand(id, &vars, "bundle", template)?;
                crate::trust::fetch_beside(
                    client,
                    upstream,
                    id,
                    &format!("attestation bundle `{name}`"),
                    &name,
                    &a.url,
                    bundle::BUNDLE_LIMIT,
                    "verify.attestation.bundle",
                )
                .await?
            }
        };
        a.evidence.attestation = Some(BundleFile {
            url,
            bundle: BASE64.encode(bytes),
        });
        // What the plan shows; the gate records what actually verified.
        let mut by: Vec<String> = match (&a.trust.kind, &a.trust.by) {
            (TrustKind::Signature, Some(by)) if !by.is_empty() => vec![by.clone()],
            _ => Vec::new(),
        };
        let root = crate::fsx::read_bounded(&root_dir.join(&att.trusted_root), root::ROOT_LIMIT)
            .unwrap_or_default();
        by.push(label(att, &root));
        a.trust = Trust {
            kind: TrustKind::Signature,
            by: Some(by.join(", ")),
        };
    }
    Ok(())
}

/// Largest answer of the attestations API read.
const API_LIMIT: u64 = 8 << 20;

#[derive(Deserialize)]
struct ApiAnswer {
    #[serde(default)]
    attestations: Vec<ApiAttestation>,
}

#[derive(Deserialize)]
struct ApiAttestation {
    bundle: serde_json::Value,
}

/// The bundle GitHub's attestations API of the policy's repository holds
/// for the artifact's sha256 with the wanted predicate type. Only picked
/// here; the gate verifies it.
async fn from_api(
    client: &Client,
    id: &str,
    att: &Attestation,
    a: &Pending,
) -> Result<(String, Vec<u8>)> {
    let Some(sha) = &a.sha256 else {
        return Err(miette!(
            code = "vendor::verify::attestation-needs-digest",
            help = "give the asset a checksum (`checksum: {file: …}`, `github-digest` or \
                    `sha256`), or take the bundle from a file with `bundle`",
            "{id}: the attestations API is asked by sha256, but the sha256 of {} is not known \
             before its download",
            a.name
        ));
    };
    match api_bundle(client, id, att, sha).await? {
        (url, Some(b)) => Ok((url, b)),
        (_, None) => Err(miette!(
            code = "vendor::verify::signature-missing",
            help = "nothing was installed. The attestation may not be published yet, or the \
                    asset was not attested by that repository",
            "{id}: GitHub has no attestation of {} (sha256 {sha}) in {}",
            a.name,
            att.repository
        )),
    }
}

/// Asks GitHub's attestations API of the policy's repository for the
/// subject `sha` (hex): the URL asked and the first bundle with the wanted
/// predicate type, `None` when there is none (a 404 or no such bundle).
async fn api_bundle(
    client: &Client,
    id: &str,
    att: &Attestation,
    sha: &str,
) -> Result<(String, Option<Vec<u8>>)> {
    let url = format!(
        "{}/repos/{}/attestations/sha256:{sha}",
        client.config().api_url,
        att.repository
    );
    let body = match client
        .api_get(&url, "application/vnd.github+json", API_LIMIT)
        .await
    {
        Ok(body) => body,
        Err(crate::fetch::FetchError::NotFound { .. }) => return Ok((url, None)),
        Err(e) => return Err(e.into()),
    };
    let answer: ApiAnswer = serde_json::from_slice(&body).map_err(|e| {
        miette!(
            code = "vendor::verify::bad-evidence",
            "{id}: the attestations API answered {url} with unexpected JSON: {e}"
        )
    })?;
    let want = att
        .predicate_type
        .as_deref()
        .unwrap_or(default_predicate(att.kind));
    let picked = answer
        .attestations
        .iter()
        .filter_map(|x| serde_json::to_vec(&x.bundle).ok())
        .find(|b| predicate_type_of(b).as_deref() == Some(want));
    Ok((url, picked))
}

/// For `check --upstream`: whether the attestation of a locked artifact
/// is still published where the item takes it from. Returns what is
/// missing, in words, or `None` when it is still there. Only presence is
/// checked (the bundle was verified when locked): a release asset is
/// looked up in the release's metadata; the attestations API is asked for
/// the locked sha256; a bundle file beside the asset or at a URL is
/// fetched (bounded).
pub async fn gone_upstream(
    client: &Client,
    upstream: &Upstream<'_>,
    id: &str,
    item: &Item,
    artifact: &crate::lock::Artifact,
) -> Result<Option<String>> {
    let Some(att) = item.verify.as_ref().and_then(|v| v.attestation.as_ref()) else {
        return Ok(None);
    };
    if att.from.unwrap_or_default() == BundleFrom::GithubApi {
        let (url, found) = api_bundle(client, id, att, &artifact.sha256).await?;
        return Ok(found
            .is_none()
            .then(|| format!("no attestation of sha256 {} at {url}", artifact.sha256)));
    }
    let template = att.bundle.as_deref().unwrap_or("{asset}.sigstore.json");
    let vars = vars_for(
        id,
        item,
        artifact.platform.as_deref(),
        file_name(&artifact.name),
    );
    let name = expand(id, &vars, "bundle", template)?;
    let url = if crate::resolve::is_url(&name) {
        name.clone()
    } else {
        match upstream {
            Upstream::Release { tag, release, .. } => {
                return Ok(release
                    .asset(&name)
                    .is_none()
                    .then(|| format!("release {tag} no longer has the bundle {name}")));
            }
            Upstream::Files { repo, commit } => {
                crate::source::github::raw_file_url(client, repo, commit, &name)
                    .url()
                    .to_owned()
            }
            Upstream::Urls { .. } => {
                let base = artifact
                    .url
                    .rsplit_once('/')
                    .map_or(artifact.url.as_str(), |(b, _)| b);
                format!("{base}/{name}")
            }
        }
    };
    let allow_http = matches!(upstream, Upstream::Urls { allow_http: true });
    let got = if url.starts_with(&client.config().api_url) {
        client.api_raw(&url, bundle::BUNDLE_LIMIT).await
    } else {
        client
            .get_small(&url, bundle::BUNDLE_LIMIT, allow_http)
            .await
    };
    match got {
        Ok(_) => Ok(None),
        Err(crate::fetch::FetchError::NotFound { .. }) => {
            Ok(Some(format!("the bundle {url} is not found")))
        }
        Err(e) => Err(e.into()),
    }
}

fn default_predicate(kind: AttestationKind) -> &'static str {
    match kind {
        AttestationKind::Artifact => SLSA_PROVENANCE_V1,
        AttestationKind::Release => RELEASE_V01,
    }
}

/// The predicate type a bundle's statement claims (unverified: for
/// picking among several).
fn predicate_type_of(b: &[u8]) -> Option<String> {
    let b = bundle::parse(b).ok()?;
    let st: bundle::Statement = serde_json::from_slice(&b.payload).ok()?;
    Some(st.predicate_type)
}

/// The gate's check of the configured attestation for `pending`, whose
/// bytes hash to `sha256`. Returns the signer label for the lock.
pub fn admit(
    root_dir: &Path,
    id: &str,
    item: &Item,
    att: &Attestation,
    pending: &Pending,
    sha256: &str,
) -> Result<String> {
    let Some(file) = &pending.evidence.attestation else {
        return Err(miette!(
            code = "vendor::verify::no-evidence",
            help = "nothing was installed. Run `vendor fetch` (or `vendor apply`) online once: it \
                    fetches and checks the attestation, and keeps it in the cache for offline runs",
            "{id}: the attestation of {} was not fetched on this path, so it cannot be verified",
            pending.name
        ));
    };
    let bytes = BASE64.decode(&file.bundle).map_err(|_| {
        miette!(
            code = "vendor::verify::bad-evidence",
            help = "plan files and cached resolutions are written by vendor; plan again",
            "{id}: the recorded attestation from {} is not valid base64",
            file.url
        )
    })?;
    let path = root_dir.join(&att.trusted_root);
    let root_bytes = crate::fsx::read_bounded(&path, root::ROOT_LIMIT).map_err(|e| {
        miette!(
            code = "vendor::verify::key-unreadable",
            help = "the trusted root is committed in the tree; the path is relative to vendor.yaml",
            "{id}: cannot read the trusted root {}: {e}",
            att.trusted_root
        )
    })?;
    let root = root::parse(&root_bytes).map_err(|e| {
        miette!(
            code = "vendor::verify::bad-key",
            "{id}: {} is not a usable trusted root: {}",
            att.trusted_root,
            e.message
        )
    })?;
    let vars = vars_for(
        id,
        item,
        pending.platform.as_deref(),
        file_name(&pending.name),
    );
    let kind = match att.kind {
        AttestationKind::Artifact => Kind::Artifact,
        AttestationKind::Release => Kind::Release {
            tag: expand(id, &vars, "tag", att.tag.as_deref().unwrap_or("{tag}"))?,
        },
    };
    let policy = Policy {
        kind,
        repository: att.repository.clone(),
        workflow: full_workflow(att),
        git_ref: att
            .git_ref
            .as_deref()
            .map(|r| expand(id, &vars, "ref", r))
            .transpose()?,
        predicate_type: att
            .predicate_type
            .clone()
            .unwrap_or_else(|| default_predicate(att.kind).to_owned()),
        issuer: GITHUB_ACTIONS_ISSUER.to_owned(),
    };
    verify(&bytes, &root, &policy, sha256).map_err(|e| {
        miette!(
            code = "vendor::verify::attestation",
            help = "nothing was installed. The bundle must verify fully against the trusted root \
                    in the tree and name the identity `verify.attestation` gives",
            "{id}: the attestation {} of {} is refused: {e}",
            file_name(&file.url),
            pending.name
        )
    })?;
    Ok(label(att, &root_bytes))
}
