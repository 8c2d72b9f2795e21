//! Resolving an item's version against its upstream: which files to
//! download, from where, and what their sha256 must be, with the source of
//! that trust. Nothing is downloaded here except checksum files.

use std::collections::HashMap;
use std::path::Path;

use miette::{Result, miette};

use crate::checksum;
use crate::fetch::Client;
use crate::gate::Evidence;
use crate::lock::{LockedItem, Resolved, Trust, TrustKind};
use crate::manifest::model::{Checksum, Item, Manifest, Source};
use crate::plan::{AssetInstance, asset_instances, item_vars};
use crate::source::github::{self, RawUrl};
use crate::trust::Upstream;

/// Largest checksum file read into memory.
const CHECKSUM_FILE_LIMIT: u64 = 4 << 20;

/// Largest snapshot index page read when checking that a snapshot exists.
const SNAPSHOT_PAGE_LIMIT: u64 = 16 << 20;

/// A snapshot the service does not have is named as such; other failures
/// pass through (an unreachable service leaves the item unresolved).
fn snapshot_missing(e: crate::fetch::FetchError, version: &str, base: &str) -> miette::Report {
    match e {
        crate::fetch::FetchError::NotFound { .. } => miette!(
            code = "vendor::resolve::snapshot-missing",
            help = "snapshot timestamps are UTC `YYYYMMDDTHHMMSSZ`; pick one the service lists",
            "the APT snapshot {version} does not exist at {base}"
        ),
        other => other.into(),
    }
}

/// A file to download and the hash it must have.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    pub platform: Option<String>,
    /// The asset's name (release asset, repository path or URL file name).
    pub name: String,
    pub url: String,
    /// Size announced by the upstream, when it announces one.
    pub size: Option<u64>,
    /// Expected sha256; `None` only for a first use.
    pub sha256: Option<String>,
    pub trust: Trust,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_http: bool,
    /// Signatures and signed checksum files for the gate to check.
    #[serde(flatten)]
    pub evidence: Evidence,
    /// The sha256 and trust are the lock's (a reinstall). Never read from
    /// a plan file or the cache: only [`Pending::from_locked`] sets it.
    #[serde(skip)]
    pub locked: bool,
}

impl Pending {
    /// A locked artifact to download again: its hash is the lock's.
    pub fn from_locked(a: &crate::lock::Artifact, allow_http: bool) -> Pending {
        Pending {
            platform: a.platform.clone(),
            name: a.name.clone(),
            url: a.url.clone(),
            size: Some(a.size),
            sha256: Some(a.sha256.clone()),
            trust: a.trust.clone(),
            allow_http,
            evidence: Evidence::default(),
            locked: true,
        }
    }
}

/// What an item's version resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub resolved: Option<Resolved>,
    pub artifacts: Vec<Pending>,
}

/// Resolves `item` at its wanted version; signature keys are read from
/// the tree at `root`. `previous` is the item's current
/// lock entry: a hash recorded there is the expected hash of a first-use
/// download of the same URL, and a hash that changed under the same URL is
/// refused.
pub async fn resolve(
    client: &Client,
    root: &Path,
    id: &str,
    item: &Item,
    previous: Option<&LockedItem>,
) -> Result<Resolution> {
    resolve_in(client, root, None, id, item, previous).await
}

/// [`resolve`], with the manifest `item` belongs to: an `apt-package`
/// item is resolved in the snapshot of the item it names.
pub async fn resolve_in(
    client: &Client,
    root: &Path,
    manifest: Option<&Manifest>,
    id: &str,
    item: &Item,
    previous: Option<&LockedItem>,
) -> Result<Resolution> {
    let vars = item_vars(id, item);
    let tag = vars.get("tag").unwrap_or(&item.version).to_owned();
    let mut checksums = ChecksumFiles::default();
    let (resolved, mut artifacts) = match &item.source {
        Source::GithubRelease { repo, .. } => {
            // Independent requests: both at once.
            let (release, commit) = tokio::join!(
                github::release_by_tag(client, repo, &tag),
                github::tag_commit(client, repo, &tag)
            );
            let (release, commit) = (release?, commit?);
            let mut out = Vec::new();
            for inst in asset_instances(&vars, item) {
                out.push(
                    release_asset(client, item, repo, &tag, &release, &inst, &mut checksums)
                        .await?,
                );
            }
            let upstream = Upstream::Release {
                repo,
                tag: &tag,
                release: &release,
            };
            checksums
                .signatures(client, root, id, item, &upstream, &mut out)
                .await?;
            (
                Some(Resolved {
                    tag: Some(tag),
                    commit: Some(commit),
                    apt: None,
                    immutable: release.immutable,
                }),
                out,
            )
        }
        Source::GithubFiles { repo, .. } => {
            let commit = github::commit_for_ref(client, repo, &tag).await?;
            let mut out = Vec::new();
            for inst in asset_instances(&vars, item) {
                out.push(repo_file(client, item, repo, &commit, &inst, &mut checksums).await?);
            }
            let upstream = Upstream::Files {
                repo,
                commit: &commit,
            };
            checksums
                .signatures(client, root, id, item, &upstream, &mut out)
                .await?;
            (
                Some(Resolved {
                    tag: Some(tag),
                    commit: Some(commit),
                    ..Resolved::default()
                }),
                out,
            )
        }
        Source::Url { allow_http } => {
            let mut out = Vec::new();
            for inst in asset_instances(&vars, item) {
                out.push(url_asset(client, item, *allow_http, &inst, &mut checksums).await?);
            }
            let upstream = Upstream::Urls {
                allow_http: *allow_http,
            };
            checksums
                .signatures(client, root, id, item, &upstream, &mut out)
                .await?;
            (None, out)
        }
        Source::AptSnapshot { .. } if crate::apt::SnapshotSource::of(item).is_some() => {
            let apt = crate::apt::resolve_snapshot(client, root, id, item).await?;
            (
                Some(Resolved {
                    tag: Some(item.version.clone()),
                    commit: None,
                    apt: Some(apt),
                    immutable: None,
                }),
                Vec::new(),
            )
        }
        Source::AptPackage { package, .. } => {
            let Some(manifest) = manifest else {
                return Err(miette!(
                    code = "vendor::internal",
                    "{id}: an apt-package item is resolved with its manifest"
                ));
            };
            let (apt, debs) =
                crate::apt::resolve_package_debs(client, root, manifest, id, item).await?;
            (
                Some(Resolved {
                    tag: Some(crate::apt::package_name(package, id, &item.version)?),
                    commit: None,
                    apt: Some(apt),
                    immutable: None,
                }),
                debs,
            )
        }
        Source::AptSnapshot {
            url: Some(base), ..
        } => {
            let url = format!("{}/{}/", base.trim_end_matches('/'), item.version);
            client
                .get_small(&url, SNAPSHOT_PAGE_LIMIT, false)
                .await
                .map_err(|e| snapshot_missing(e, &item.version, base))?;
            (
                Some(Resolved {
                    tag: Some(item.version.clone()),
                    ..Resolved::default()
                }),
                Vec::new(),
            )
        }
        Source::AptSnapshot { url: None, .. } | Source::Manual => (None, Vec::new()),
    };
    if let Some(previous) = previous {
        hold_previous_hashes(id, &mut artifacts, previous)?;
    }
    Ok(Resolution {
        resolved,
        artifacts,
    })
}

/// A first-use hash recorded in the lock is the expected hash from then
/// on; any other recorded hash must still be what upstream says.
fn hold_previous_hashes(id: &str, artifacts: &mut [Pending], previous: &LockedItem) -> Result<()> {
    for a in artifacts {
        let Some(old) = previous.artifacts.iter().find(|o| o.url == a.url) else {
            continue;
        };
        match &a.sha256 {
            None => {
                a.sha256 = Some(old.sha256.clone());
                a.trust = old.trust.clone();
            }
            Some(new) if *new != old.sha256 => {
                return Err(miette!(
                    code = "vendor::resolve::changed-upstream",
                    help = "an upstream that replaces a published file under the same name needs a \
                            human look: compare the release, then remove the item's lock entry to \
                            accept the new file",
                    "{id}: {} changed upstream since it was locked: the lock has sha256 {}, \
                     upstream now says {new}",
                    a.url,
                    old.sha256
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn expand(inst: &AssetInstance<'_>, template: &str, what: &str) -> Result<String> {
    inst.vars.expand(template).map_err(|name| {
        miette!(
            code = "vendor::resolve::template",
            "unknown placeholder `{{{name}}}` in the asset's {what} `{template}`"
        )
    })
}

async fn release_asset(
    client: &Client,
    item: &Item,
    repo: &str,
    tag: &str,
    release: &github::Release,
    inst: &AssetInstance<'_>,
    checksums: &mut ChecksumFiles,
) -> Result<Pending> {
    let template = inst.asset.name.as_deref().unwrap_or_default();
    let name = expand(inst, template, "name")?;
    let Some(asset) = release.assets.iter().find(|a| a.name == name) else {
        return Err(github::asset_missing(repo, tag, &name, &release.assets).into());
    };
    let digest = asset
        .checked_sha256()
        .map_err(|text| malformed_digest(&name, tag, repo, &text))?;
    let (sha256, trust) = match &inst.asset.checksum {
        Some(Checksum::File(t)) => {
            let file = expand(inst, t, "checksum file")?;
            let url = if is_url(&file) {
                file.clone()
            } else {
                let Some(sums) = release.assets.iter().find(|a| a.name == file) else {
                    let names: Vec<&str> = release.assets.iter().map(|a| a.name.as_str()).collect();
                    let help = format!(
                        "upstream has: {}; fix the asset's `checksum.file`",
                        names.join(", ")
                    );
                    return Err(miette!(
                        code = "vendor::resolve::checksum-file-missing",
                        help = help,
                        "release {tag} of {repo} has no checksum file `{file}`"
                    ));
                };
                sums.browser_download_url.clone()
            };
            let sha = checksums.lookup(client, &url, &name, false).await?;
            (Some(sha), trust(TrustKind::ChecksumFile, &url))
        }
        Some(Checksum::GithubDigest) => match &digest {
            Some(d) => (Some(d.clone()), trust(TrustKind::GithubDigest, &asset.url)),
            None => {
                return Err(miette!(
                    code = "vendor::resolve::no-digest",
                    help = "this release predates GitHub's asset digests; use `checksum: {file: …}` \
                            or `first-use`",
                    "GitHub publishes no digest for {name} in release {tag} of {repo}"
                ));
            }
        },
        Some(Checksum::Sha256(h)) => (
            Some(h.to_ascii_lowercase()),
            trust(TrustKind::Manifest, "vendor.yaml"),
        ),
        Some(Checksum::FirstUse) => (None, trust(TrustKind::FirstUse, "")),
        None => match &digest {
            Some(d) => (Some(d.clone()), trust(TrustKind::GithubDigest, &asset.url)),
            None if crate::trust::signs_assets(item) => (None, trust(TrustKind::Signature, "")),
            None => {
                return Err(miette!(
                    code = "vendor::resolve::no-checksum",
                    help = "set the asset's `checksum`: `{file: NAME}` for an upstream checksum \
                            file, `sha256: HEX`, or `first-use` to trust the first download",
                    "nothing establishes the sha256 of {name} (release {tag} of {repo})"
                ));
            }
        },
    };
    if let (Some(d), Some(s)) = (&digest, &sha256)
        && d != s
    {
        return Err(miette!(
            code = "vendor::resolve::sources-disagree",
            help = "two upstream sources give different hashes for the same file: do not install it; \
                    report it upstream",
            "{name}: GitHub's digest is {d} but {} says {s}",
            describe(&trust)
        ));
    }
    Ok(Pending {
        platform: inst.platform.map(str::to_owned),
        name,
        url: asset.browser_download_url.clone(),
        size: Some(asset.size),
        sha256,
        trust,
        allow_http: false,
        evidence: Evidence::default(),
        locked: false,
    })
}

/// Longest part of a malformed digest shown.
const MAX_SHOWN_DIGEST: usize = 100;

/// GitHub's answer held a `digest` that is no digest: the answer is
/// broken, not a second opinion on the file's hash.
fn malformed_digest(name: &str, tag: &str, repo: &str, text: &str) -> miette::Report {
    let mut shown: String = text.chars().take(MAX_SHOWN_DIGEST).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    miette!(
        code = "vendor::resolve::malformed-digest",
        help = "GitHub's asset digests read `sha256:` and 64 hex digits; nothing was trusted from \
                this one. The API (or a proxy or mirror in between) answered wrongly: check \
                GITHUB_API_URL and VENDOR_MIRRORS, or report it to the server's operator",
        "{name} (release {tag} of {repo}): the asset's digest `{shown}` is malformed"
    )
}

async fn repo_file(
    client: &Client,
    item: &Item,
    repo: &str,
    commit: &str,
    inst: &AssetInstance<'_>,
    checksums: &mut ChecksumFiles,
) -> Result<Pending> {
    let template = inst.asset.name.as_deref().unwrap_or_default();
    let path = expand(inst, template, "name")?;
    let url = match github::raw_file_url(client, repo, commit, &path) {
        RawUrl::Download(url) | RawUrl::Api(url) => url,
    };
    let (sha256, trust) = plain_checksum(client, item, inst, &url, &path, false, checksums).await?;
    Ok(Pending {
        platform: inst.platform.map(str::to_owned),
        name: path,
        url,
        size: None,
        sha256,
        trust,
        allow_http: false,
        evidence: Evidence::default(),
        locked: false,
    })
}

async fn url_asset(
    client: &Client,
    item: &Item,
    allow_http: bool,
    inst: &AssetInstance<'_>,
    checksums: &mut ChecksumFiles,
) -> Result<Pending> {
    let template = inst.asset.url.as_deref().unwrap_or_default();
    let url = expand(inst, template, "url")?;
    let name = url
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(&url)
        .to_owned();
    let (sha256, trust) =
        plain_checksum(client, item, inst, &url, &name, allow_http, checksums).await?;
    Ok(Pending {
        platform: inst.platform.map(str::to_owned),
        name,
        url,
        size: None,
        sha256,
        trust,
        allow_http,
        evidence: Evidence::default(),
        locked: false,
    })
}

/// Checksums for sources without GitHub's digests: a checksum file (a URL,
/// or a name beside the artifact's URL), a hash in the manifest, or first
/// use.
async fn plain_checksum(
    client: &Client,
    item: &Item,
    inst: &AssetInstance<'_>,
    url: &str,
    name: &str,
    allow_http: bool,
    checksums: &mut ChecksumFiles,
) -> Result<(Option<String>, Trust)> {
    match &inst.asset.checksum {
        Some(Checksum::File(t)) => {
            let file = expand(inst, t, "checksum file")?;
            let sums_url = if is_url(&file) {
                file
            } else {
                let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
                format!("{base}/{file}")
            };
            let sha = checksums
                .lookup(client, &sums_url, name, allow_http)
                .await?;
            Ok((Some(sha), trust(TrustKind::ChecksumFile, &sums_url)))
        }
        Some(Checksum::Sha256(h)) => Ok((
            Some(h.to_ascii_lowercase()),
            trust(TrustKind::Manifest, "vendor.yaml"),
        )),
        Some(Checksum::FirstUse) => Ok((None, trust(TrustKind::FirstUse, ""))),
        None if crate::trust::signs_assets(item) => Ok((None, trust(TrustKind::Signature, ""))),
        Some(Checksum::GithubDigest) | None => Err(miette!(
            code = "vendor::resolve::no-checksum",
            help = "set the asset's `checksum`: `{file: NAME}`, `sha256: HEX` or `first-use`",
            "nothing establishes the sha256 of {name}"
        )),
    }
}

/// The last path segment of a URL or path.
pub fn file_name(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether a template expanded to a full URL rather than a name.
pub fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

fn trust(kind: TrustKind, by: &str) -> Trust {
    Trust {
        kind,
        by: (!by.is_empty()).then(|| by.to_owned()),
    }
}

/// A phrase naming where a trusted hash came from.
pub fn describe(trust: &Trust) -> String {
    let by = trust.by.as_deref().unwrap_or("");
    match trust.kind {
        TrustKind::Signature => format!("the signature ({by})"),
        TrustKind::ChecksumFile => format!("the checksum file {by}"),
        TrustKind::GithubDigest => "GitHub's asset digest".to_owned(),
        TrustKind::Manifest => "the sha256 in vendor.yaml".to_owned(),
        TrustKind::FirstUse => "the first download (recorded in the lock)".to_owned(),
    }
}

/// Checksum files fetched once per resolution, however many assets they
/// cover.
#[derive(Default)]
struct ChecksumFiles {
    /// URL → the file's bytes.
    files: HashMap<String, Vec<u8>>,
}

impl ChecksumFiles {
    async fn lookup(
        &mut self,
        client: &Client,
        url: &str,
        name: &str,
        allow_http: bool,
    ) -> Result<String> {
        if !self.files.contains_key(url) {
            let bytes = client
                .get_small(url, CHECKSUM_FILE_LIMIT, allow_http)
                .await?;
            self.files.insert(url.to_owned(), bytes);
        }
        let bytes = self.files.get(url).map(Vec::as_slice).unwrap_or_default();
        checksum::lookup(&String::from_utf8_lossy(bytes), name)
            .map_err(|e| miette::Report::new(e).wrap_err(format!("in {url}")))
    }

    /// Verifies and attaches the item's signatures (see [`crate::trust`]).
    async fn signatures(
        &self,
        client: &Client,
        root: &Path,
        id: &str,
        item: &Item,
        upstream: &Upstream<'_>,
        artifacts: &mut [Pending],
    ) -> Result<()> {
        let file = |url: &str| self.files.get(url).cloned();
        crate::trust::resolve_signatures(client, root, id, item, upstream, artifacts, &file)
            .await?;
        crate::attest::resolve_bundles(client, root, id, item, upstream, artifacts).await
    }
}
