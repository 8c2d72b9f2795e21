//! Signatures as a source of trust (`verify.signatures`): where each
//! signature file is, fetching it, and verifying it with a key committed in
//! the tree, never one fetched from beside the artifact.
//!
//! A signature over a checksum file is verified during resolution, and the
//! trust of every artifact the file lists becomes that signature's. A
//! signature over an asset is fetched during resolution and verified once
//! the artifact is downloaded, before anything is extracted or installed.

use std::path::Path;

use base64::Engine as _;
use miette::{Result, miette};
use serde::{Deserialize, Serialize};

use crate::fetch::{Client, FetchError};
use crate::lock::{Trust, TrustKind};
use crate::manifest::model::{Item, Signature, SignatureKind, SignedObject};
use crate::plan::item_vars;
use crate::resolve::{Pending, is_url};
use crate::signature::{self, PublicKey, Verified, kind_name};
use crate::source::github::{self, Release};

/// Largest signature file read.
const SIGNATURE_LIMIT: u64 = 256 << 10;

/// A signature to check over a downloaded artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetSignature {
    pub kind: SignatureKind,
    /// The key file, relative to the manifest's directory.
    pub key: String,
    /// Where the signature was fetched from.
    pub url: String,
    /// The signature file, base64.
    pub signature: String,
}

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

/// The last path segment of a URL or path.
fn file_name(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
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

fn label(v: &Verified) -> Trust {
    Trust {
        kind: TrustKind::Signature,
        by: Some(v.trust_label()),
    }
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
) -> Result<(String, Vec<u8>)> {
    let what = format!("{} signature `{name}`", kind_name(sig.kind));
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
                            "release {tag} has: {}. Nothing was installed. Fix `verify.signatures` \
                             or ask upstream to publish signatures",
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
        client.api_raw(&url, SIGNATURE_LIMIT).await
    } else {
        client.get_small(&url, SIGNATURE_LIMIT, allow_http).await
    };
    match got {
        Ok(bytes) => Ok((url, bytes)),
        Err(FetchError::NotFound { .. }) => Err(miette!(
            code = "vendor::verify::signature-missing",
            help = "nothing was installed. Fix `verify.signatures`, or ask upstream to publish it",
            "{id}: expected the {what} for {} at {url}, but it is not there (404)",
            file_name(signed_url)
        )),
        Err(e) => Err(e.into()),
    }
}

/// Applies the item's signatures to its resolved artifacts: checksum
/// files are verified now (`checksum_file(url)` gives a checksum file's
/// bytes as fetched), asset signatures are fetched and attached for
/// verification after download.
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
    // Checksum files first: an asset signature replaces the artifact's
    // trust, and with it the checksum file it names.
    let mut ordered: Vec<&Signature> = verify.signatures.iter().collect();
    ordered.sort_by_key(|s| s.over == SignedObject::Asset);
    for sig in ordered {
        let key = load_key(root, id, sig.kind, &sig.key)?;
        match sig.over {
            SignedObject::ChecksumFile => {
                let mut done: Vec<(String, Trust)> = Vec::new();
                for a in artifacts.iter_mut() {
                    let Some(sums) = checksum_url(a) else {
                        return Err(miette!(
                            code = "vendor::verify::no-checksum-file",
                            help = "give the asset `checksum: {{file: …}}`, or sign `over: asset`",
                            "{id}: a signature over the checksum file is configured, but {} has \
                             no checksum file",
                            a.name
                        ));
                    };
                    if let Some((_, trust)) = done.iter().find(|(u, _)| *u == sums) {
                        a.trust = trust.clone();
                        continue;
                    }
                    let name =
                        signature_name(id, item, sig, a.platform.as_deref(), file_name(&sums))?;
                    let (url, bytes) =
                        fetch_signature(client, upstream, id, sig, &name, &sums).await?;
                    let data = checksum_file(&sums).unwrap_or_default();
                    let verified = signature::verify_bytes(&key, &data, &bytes).map_err(|e| {
                        miette!(
                            code = "vendor::verify::bad-signature",
                            help = "nothing was installed. The checksum file or its signature was \
                                    changed, or it was signed with another key than the one in the tree",
                            "{id}: the checksum file {} fails its {} signature {} (key {}, {}): {e}",
                            file_name(&sums),
                            kind_name(sig.kind),
                            file_name(&url),
                            sig.key,
                            key.fingerprint()
                        )
                    })?;
                    let trust = label(&verified);
                    a.trust = trust.clone();
                    done.push((sums, trust));
                }
            }
            SignedObject::Asset => {
                for a in artifacts.iter_mut() {
                    let name =
                        signature_name(id, item, sig, a.platform.as_deref(), file_name(&a.name))?;
                    let (url, bytes) =
                        fetch_signature(client, upstream, id, sig, &name, &a.url).await?;
                    a.signatures.push(AssetSignature {
                        kind: sig.kind,
                        key: sig.key.clone(),
                        url,
                        signature: base64::engine::general_purpose::STANDARD.encode(bytes),
                    });
                    // Until the download is checked: the pinned key.
                    a.trust = label(&Verified {
                        kind: sig.kind,
                        key: key.fingerprint().to_owned(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The checksum file an artifact's hash came from.
fn checksum_url(a: &Pending) -> Option<String> {
    match a.trust.kind {
        TrustKind::ChecksumFile => a.trust.by.clone(),
        _ => None,
    }
}

/// Verifies the attached signatures of a downloaded artifact at `path`;
/// returns the trust to record.
pub fn verify_download(
    root: &Path,
    id: &str,
    pending: &Pending,
    path: &Path,
    sha256: &str,
) -> Result<Option<Trust>> {
    let mut trust = None;
    for s in &pending.signatures {
        let key = load_key(root, id, s.kind, &s.key)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&s.signature)
            .map_err(|e| miette!("{id}: the recorded signature {} is not base64: {e}", s.url))?;
        let verified = signature::verify_file(&key, path, Some(sha256), &bytes).map_err(|e| {
            miette!(
                code = "vendor::verify::bad-signature",
                help = "nothing was installed. The file or its signature was changed, or it was \
                        signed with another key than the one in the tree",
                "{id}: {} fails its {} signature {} (key {}, {}): {e}",
                pending.name,
                kind_name(s.kind),
                file_name(&s.url),
                s.key,
                key.fingerprint()
            )
        })?;
        trust = Some(label(&verified));
    }
    Ok(trust)
}

/// Whether an item's assets may go without any checksum because a
/// signature over each asset establishes the trust.
pub fn signs_assets(item: &Item) -> bool {
    item.verify
        .as_ref()
        .is_some_and(|v| v.signatures.iter().any(|s| s.over == SignedObject::Asset))
}
