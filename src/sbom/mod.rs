//! Software bills of materials: what the tree ships, from the lock, in
//! CycloneDX 1.6 JSON ([`cyclonedx`]) or SPDX 2.3 JSON ([`spdx`]).
//!
//! [`Inventory::build`] reads only the lock and the manifest (never the
//! network, never the tree): one entry per locked item with its version,
//! package URL ([`purl`]), the downloads with their URL, size, sha256 and
//! how that sha256 was trusted, and the installed files with their sha256
//! and mode. Both renderers are pure functions of the inventory, the tool
//! version and an optional timestamp: the same lock gives the same bytes
//! unless a timestamp is asked for (`vendor sbom --timestamp`).
//!
//! Package URLs: `pkg:github/OWNER/REPO@TAG` for GitHub sources (the locked
//! tag), the item's own `purl` template from the manifest when it has one
//! (e.g. `pkg:deb/ubuntu/dracut@{version}`), `pkg:generic/ITEM@VERSION`
//! otherwise.

pub mod cyclonedx;
pub mod purl;
pub mod spdx;

use crate::lock::{Artifact, InstalledFile, Lock, TrustKind};
use crate::manifest::model::{Item, Source};
use crate::template::Vars;

/// The manifest property naming an item's package URL template.
pub const PURL_KEY: &str = "purl";

/// What the SBOM lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// Items in lock order (sorted by id).
    pub items: Vec<Entry>,
    /// sha256 of the lock's canonical rendering: names the document.
    pub lock_sha256: String,
}

/// One locked item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub version: String,
    pub description: Option<String>,
    /// The source kind (`github-release`, `manual`, …).
    pub source: String,
    /// `owner/name` for GitHub sources.
    pub repo: Option<String>,
    pub tag: Option<String>,
    pub commit: Option<String>,
    pub purl: String,
    pub artifacts: Vec<Artifact>,
    pub files: Vec<InstalledFile>,
}

/// Why an SBOM could not be made.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SbomError {
    #[error("item `{id}`: `purl: {template}` {reason}")]
    #[diagnostic(
        code("vendor::sbom::purl"),
        help("write a package URL such as `pkg:deb/ubuntu/dracut@{{version}}`")
    )]
    Purl {
        id: String,
        template: String,
        reason: String,
    },
}

impl Inventory {
    /// The inventory of `lock`, with the manifest's items for repository
    /// names, descriptions and `purl` templates (a lock entry without a
    /// manifest item still appears, with a generic package URL).
    pub fn build(
        lock: &Lock,
        item_of: impl Fn(&str) -> Option<Item>,
    ) -> Result<Inventory, SbomError> {
        let mut items = Vec::new();
        for (id, locked) in &lock.items {
            let item = item_of(id);
            let tag = locked.resolved.as_ref().and_then(|r| r.tag.clone());
            let commit = locked.resolved.as_ref().and_then(|r| r.commit.clone());
            let repo = item.as_ref().and_then(|i| match &i.source {
                Source::GithubRelease { repo, .. } | Source::GithubFiles { repo, .. } => {
                    Some(repo.clone())
                }
                _ => None,
            });
            let tag_or_version = tag.clone().unwrap_or_else(|| locked.version.clone());
            let purl = match (item.as_ref().and_then(|i| i.purl.as_ref()), &repo) {
                (Some(template), _) => expand_purl(id, template, &locked.version, &tag_or_version)?,
                (None, Some(repo)) => purl::Purl::github(repo, &tag_or_version)
                    .unwrap_or_else(|| purl::Purl::generic(id, &locked.version))
                    .to_string(),
                (None, None) => purl::Purl::generic(id, &locked.version).to_string(),
            };
            let mut artifacts = locked.artifacts.clone();
            artifacts.sort_by(|a, b| (&a.platform, &a.name).cmp(&(&b.platform, &b.name)));
            let mut files = locked.files.clone();
            files.sort_by(|a, b| a.path.cmp(&b.path));
            items.push(Entry {
                id: id.clone(),
                version: locked.version.clone(),
                description: item.as_ref().and_then(|i| i.description.clone()),
                source: locked.source.clone(),
                repo,
                tag,
                commit,
                purl,
                artifacts,
                files,
            });
        }
        Ok(Inventory {
            items,
            lock_sha256: crate::hash::sha256_hex(lock.render().as_bytes()),
        })
    }
}

/// Expands an item's `purl` template: `{item}`, `{version}` and `{tag}`,
/// each percent-encoded as a purl component, then checks the result.
pub fn expand_purl(
    id: &str,
    template: &str,
    version: &str,
    tag: &str,
) -> Result<String, SbomError> {
    let fail = |reason: String| SbomError::Purl {
        id: id.to_owned(),
        template: template.to_owned(),
        reason,
    };
    let vars = Vars::new()
        .with("item", purl::encode(id))
        .with("version", purl::encode(version))
        .with("tag", purl::encode(tag));
    let text = vars.expand(template).map_err(fail)?;
    purl::check(&text).map_err(|e| fail(format!("is not a package URL: {e}")))?;
    Ok(text)
}

/// The lock's word for a trust kind (`checksum-file`, …).
pub fn trust_word(kind: TrustKind) -> &'static str {
    match kind {
        TrustKind::Signature => "signature",
        TrustKind::ChecksumFile => "checksum-file",
        TrustKind::GithubDigest => "github-digest",
        TrustKind::Manifest => "manifest",
        TrustKind::FirstUse => "first-use",
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch.
pub fn rfc3339(epoch: u64) -> String {
    // `fetch::utc` gives `YYYY-MM-DD HH:MM:SS UTC`.
    let text = crate::fetch::utc(epoch);
    let text = text.trim_end_matches(" UTC");
    format!("{}Z", text.replacen(' ', "T", 1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_709_726_400), "2024-03-06T12:00:00Z");
    }

    #[test]
    fn purl_templates_encode_the_version() {
        let purl = expand_purl("k3s", "pkg:generic/{item}@{version}", "1.30.4+k3s1", "v1").unwrap();
        assert_eq!(purl, "pkg:generic/k3s@1.30.4%2Bk3s1");
        assert!(expand_purl("x", "deb/{version}", "1", "1").is_err());
        assert!(expand_purl("x", "pkg:deb/{nope}", "1", "1").is_err());
    }
}
