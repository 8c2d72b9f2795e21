//! Signatures as a source of trust (`verify.signatures`): where each
//! signature file is, fetching it, and verifying it with a key committed in
//! the tree, never one fetched from beside the artifact.
//!
//! Resolution fetches every configured signature and attaches it, with the
//! signed checksum file where there is one, to the artifact as evidence
//! (carried in plans and cached resolutions). The gate ([`crate::gate`])
//! verifies it on every path once the artifact is downloaded, before
//! anything is extracted or installed; a signature over a checksum file is
//! also checked here, so that a bad one fails before any download.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use miette::{Result, miette};

use crate::fetch::{Client, FetchError};
use crate::gate::{SignatureFile, SignedChecksums};
use crate::lock::{Trust, TrustKind};
use crate::manifest::model::{Item, Signature, SignatureKind, SignedObject};
use crate::plan::item_vars;
use crate::resolve::{Pending, file_name, is_url};
use crate::signature::{PublicKey, kind_name};
use crate::source::github::{self, Release};

/// Largest signature file read.
const SIGNATURE_LIMIT: u64 = 256 << 10;

/// Where an item's upstream keeps files beside the signed ones.
pub enum Upstream<'a> {
    /// Assets of a GitHub release.
    Release {
        repo: &'a str,
        tag: &'a str,
        release: &'a Release,
    },
    /// Files of a repository at a commit.
    Files { repo: &'a str, commit: &'a str },
    /// Plain URLs: beside the signed file.
    Urls { allow_http: bool },
}

/// Reads and parses the `kind` key at `key` (relative to `root`).
pub fn load_key(root: &Path, id: &str, kind: SignatureKind, key: &str) -> Result<PublicKey> {
    let path = root.join(key);
    let bytes = std::fs::read(&path).map_err(|e| {
        miette!(
            code = "vendor::verify::key-unreadable",
            help = "keys are committed in the tree; the path is relative to vendor.yaml",
            "{id}: cannot read the {} key {key}: {e}",
            kind_name(kind)
        )
    })?;
    PublicKey::parse(kind, &bytes).map_err(|e| {
        miette!(
            code = "vendor::verify::bad-key",
            "{id}: {key} is not a usable {} key: {e}",
            kind_name(kind)
        )
    })
}

/// The signature file's name for a signed file, from the template.
fn signature_name(
    id: &str,
    item: &Item,
    sig: &Signature,
    platform: Option<&str>,
    signed: &str,
) -> Result<String> {
    let mut vars = item_vars(id, item);
    if let Some((os, arch)) = platform.and_then(|p| p.split_once('/')) {
        vars.set("os", os);
        vars.set("arch", arch);
    }
    vars.set("asset", signed);
    vars.expand(&sig.signature).map_err(|name| {
        miette!(
            code = "vendor::verify::template",
            "{id}: unknown placeholder `{{{name}}}` in the signature name `{}`",
            sig.signature
        )
    })
}

/// Fetches the signature `name` for the file at `signed_url`.
async fn fetch_signature(
    client: &Client,
    upstream: &Upstream<'_>,
    id: &str,
    sig: &Signature,
    name: &str,
    signed_url: &str,
) -> Result<SignatureFile> {
    let what = format!("{} signature `{name}`", kind_name(sig.kind));
    let (url, bytes) = fetch_beside(
        client,
        upstream,
        id,
        &what,
        name,
        signed_url,
        SIGNATURE_LIMIT,
        "verify.signatures",
    )
    .await?;
    Ok(SignatureFile {
        kind: sig.kind,
        key: sig.key.clone(),
        url,
        signature: BASE64.encode(bytes),
    })
}

/// Fetches `name` (`what`, e.g. a signature) for the file at `signed_url`:
/// a release asset, a file beside it, or a URL. Returns its URL and bytes.
/// `key` is the manifest key that names it, for the hint when it is missing.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn fetch_beside(
    client: &Client,
    upstream: &Upstream<'_>,
    id: &str,
    what: &str,
    name: &str,
    signed_url: &str,
    limit: u64,
    key: &str,
) -> Result<(String, Vec<u8>)> {
    let url = if is_url(name) {
        name.to_owned()
    } else {
        match upstream {
            Upstream::Release { repo, tag, release } => match release.asset(name) {
                Some(a) => a.browser_download_url.clone(),
                None => {
                    let names: Vec<&str> = release.assets.iter().map(|a| a.name.as_str()).collect();
                    return Err(miette!(
                        code = "vendor::verify::signature-missing",
                        help = format!(
                            "release {tag} has: {}. Nothing was installed. Fix `{key}` \
                             or ask upstream to publish it",
                            names.join(", ")
                        ),
                        "{id}: expected the {what} for {} in release {tag} of {repo}, \
                         but the release has no such asset",
                        file_name(signed_url)
                    ));
                }
            },
            Upstream::Files { repo, commit } => github::raw_file_url(client, repo, commit, name)
                .url()
                .to_owned(),
            Upstream::Urls { .. } => {
                let base = signed_url.rsplit_once('/').map_or(signed_url, |(b, _)| b);
                format!("{base}/{name}")
            }
        }
    };
    let allow_http = matches!(upstream, Upstream::Urls { allow_http: true });
    let got = if url.starts_with(&client.config().api_url) {
        client.api_raw(&url, limit).await
    } else {
        client.get_small(&url, limit, allow_http).await
    };
    match got {
        Ok(bytes) => Ok((url, bytes)),
        Err(FetchError::NotFound { .. }) => Err(miette!(
            code = "vendor::verify::signature-missing",
            help = format!("nothing was installed. Fix `{key}`, or ask upstream to publish it"),
            "{id}: expected the {what} for {} at {url}, but it is not there (404)",
            file_name(signed_url)
        )),
        Err(e) => Err(e.into()),
    }
}

/// Attaches the item's signatures to its resolved artifacts as evidence
/// for the gate (see [`crate::gate`]). `checksum_file(url)` gives a
/// checksum file's bytes as fetched. Signatures over checksum files are
/// also checked now, so that a bad one fails before any download; only the
/// gate's check produces trust.
pub async fn resolve_signatures(
    client: &Client,
    root: &Path,
    id: &str,
    item: &Item,
    upstream: &Upstream<'_>,
    artifacts: &mut [Pending],
    checksum_file: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<()> {
    let Some(verify) = &item.verify else {
        return Ok(());
    };
    let mut fingerprints: Vec<String> = Vec::new();
    for sig in &verify.signatures {
        let key = load_key(root, id, sig.kind, &sig.key)?;
        fingerprints.push(format!(
            "{}:{}",
            kind_name(sig.kind),
            key.fingerprints().join("|")
        ));
        match sig.over {
            SignedObject::ChecksumFile => {
                // Each checksum file's signature is fetched and checked once.
                let mut done: Vec<(String, SignatureFile)> = Vec::new();
                for a in artifacts.iter_mut() {
                    let Some(sums) = checksum_url(a) else {
                        return Err(miette!(
                            code = "vendor::verify::no-checksum-file",
                            help = "give the asset `checksum: {file: …}`, or sign `over: asset`",
                            "{id}: a signature over the checksum file is configured, but {} has \
                             no checksum file",
                            a.name
                        ));
                    };
                    let file = match done.iter().find(|(u, _)| *u == sums) {
                        Some((_, file)) => file.clone(),
                        None => {
                            let name = signature_name(
                                id,
                                item,
                                sig,
                                a.platform.as_deref(),
                                file_name(&sums),
                            )?;
                            let file =
                                fetch_signature(client, upstream, id, sig, &name, &sums).await?;
                            let content = checksum_file(&sums).unwrap_or_default();
                            crate::gate::check_checksum_signature(
                                id, &key, sig, &sums, &content, &file,
                            )?;
                            done.push((sums.clone(), file.clone()));
                            file
                        }
                    };
                    let content = checksum_file(&sums).unwrap_or_default();
                    a.evidence
                        .checksums
                        .get_or_insert_with(|| SignedChecksums {
                            url: sums.clone(),
                            content: BASE64.encode(&content),
                            signatures: Vec::new(),
                        })
                        .signatures
                        .push(file);
                }
            }
            SignedObject::Asset => {
                for a in artifacts.iter_mut() {
                    let name =
                        signature_name(id, item, sig, a.platform.as_deref(), file_name(&a.name))?;
                    let file = fetch_signature(client, upstream, id, sig, &name, &a.url).await?;
                    a.evidence.signatures.push(file);
                }
            }
        }
    }
    // What the plan shows; the gate records what actually verified.
    for a in artifacts.iter_mut() {
        a.trust = Trust {
            kind: TrustKind::Signature,
            by: Some(fingerprints.join(", ")),
        };
    }
    Ok(())
}

/// The checksum file an artifact's hash came from.
fn checksum_url(a: &Pending) -> Option<String> {
    match (&a.evidence.checksums, a.trust.kind) {
        (Some(sums), _) => Some(sums.url.clone()),
        (None, TrustKind::ChecksumFile) => a.trust.by.clone(),
        _ => None,
    }
}

/// Whether an item's assets may go without any checksum because a
/// signature over each asset establishes the trust.
pub fn signs_assets(item: &Item) -> bool {
    item.verify.as_ref().is_some_and(|v| {
        v.attestation.is_some() || v.signatures.iter().any(|s| s.over == SignedObject::Asset)
    })
}
