//! APT archives as verified upstreams: an `apt-snapshot` item pins an
//! archive snapshot (a timestamp under a snapshot service, or a mirror)
//! with the suites, components and architectures a build installs from,
//! and an `apt-package` item pins one package of such a snapshot (the
//! kernel ABI).
//!
//! Everything is read through the archive's signed chain only: each
//! suite's `InRelease` (or `Release` + `Release.gpg`) is verified with the
//! keyring committed in the tree ([`crate::signature`], the same time and
//! revocation rules as every OpenPGP signature); the sha256 it lists for
//! a `Packages` index (`.xz`, several streams allowed, `.gz` or plain;
//! fetched by hash when the suite says `Acquire-By-Hash: yes`) is checked
//! before the index is read; package versions and `.deb` hashes come from
//! that index. Indexes are kept in the content-addressed cache under the
//! sha256 the signed release gives them, so a second run reads them from
//! disk.
//!
//! Layout: `{url}/{snapshot}/dists/{suite}/InRelease`, pool files at
//! `{url}/{snapshot}/{Filename}`. Package versions compare by Debian's
//! rules ([`debver`]), never by semver.

pub mod debver;
pub mod diff;
pub mod packages;
pub mod release;
pub mod sources;
pub mod updates;

use std::path::Path;

use miette::{IntoDiagnostic, Result, miette};
use serde::{Deserialize, Serialize};

use crate::cache::Cache;
use crate::fetch::{Client, FetchError};
use crate::manifest::model::{Item, Manifest, SignatureKind, Source};
use crate::signature::{self, PublicKey};

use packages::Package;

/// Largest `InRelease`/`Release` (and `Release.gpg`) read.
const RELEASE_LIMIT: u64 = 16 << 20;
/// Largest compressed `Packages` index downloaded.
const INDEX_LIMIT: u64 = 256 << 20;
/// Largest `Packages` index once decompressed.
const INDEX_TEXT_LIMIT: u64 = 1 << 30;

/// What the lock records of an APT resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    /// For an `apt-package` item: the snapshot version it was found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Each suite's verified release.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suites: Vec<LockedSuite>,
    /// The tracked packages (or the item's package) as the snapshot has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<LockedPackage>,
}

/// A suite's release as it verified.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedSuite {
    pub suite: String,
    /// sha256 of `InRelease` (or of `Release` when signed detached).
    pub release_sha256: String,
    /// `pgp:` and the signer's primary key fingerprint.
    pub signer: String,
    /// The release's own `Date` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// A package version the snapshot offers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    pub name: String,
    pub architecture: String,
    pub version: String,
    /// The suite whose index gave the newest version.
    pub suite: String,
    /// sha256 of the `.deb`, as the signed index lists it.
    pub sha256: String,
}

/// Which snapshot to read and how to verify it.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    /// The item the snapshot belongs to, for messages.
    pub id: &'a str,
    /// The URL `dists/` lives under (`{url}/{snapshot}`).
    pub root: String,
    /// How the snapshot is named in messages (its timestamp).
    pub name: String,
    pub suites: &'a [String],
    pub components: Vec<String>,
    pub architectures: &'a [String],
    /// The keyring file, relative to the manifest's directory.
    pub keyring: &'a str,
}

/// The parts of an `apt-snapshot` source that make it a verified one.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotSource<'a> {
    pub url: &'a str,
    pub suites: &'a [String],
    pub components: &'a [String],
    pub architectures: &'a [String],
    pub keyring: &'a str,
    pub packages: &'a [String],
    pub latest: Option<&'a str>,
}

impl<'a> SnapshotSource<'a> {
    /// The verified-snapshot settings of `item`, when it has them (suites
    /// and a keyring; validation requires the rest).
    pub fn of(item: &'a Item) -> Option<SnapshotSource<'a>> {
        match &item.source {
            Source::AptSnapshot {
                url: Some(url),
                suites,
                components,
                architectures,
                keyring: Some(keyring),
                packages,
                latest,
            } if !suites.is_empty() => Some(SnapshotSource {
                url,
                suites,
                components,
                architectures,
                keyring,
                packages,
                latest: latest.as_deref(),
            }),
            _ => None,
        }
    }

    /// The spec of this source at snapshot `version`.
    pub fn at(&self, id: &'a str, version: &str) -> Spec<'a> {
        Spec {
            id,
            root: format!("{}/{version}", self.url.trim_end_matches('/')),
            name: version.to_owned(),
            ..self.spec(id)
        }
    }

    /// The spec of this source's configured newest state.
    pub fn latest_spec(&self, id: &'a str) -> Option<Spec<'a>> {
        let latest = self.latest?;
        Some(Spec {
            root: latest.trim_end_matches('/').to_owned(),
            name: "latest".to_owned(),
            ..self.spec(id)
        })
    }

    fn spec(&self, id: &'a str) -> Spec<'a> {
        Spec {
            id,
            root: String::new(),
            name: String::new(),
            suites: self.suites,
            components: if self.components.is_empty() {
                vec!["main".to_owned()]
            } else {
                self.components.to_vec()
            },
            architectures: self.architectures,
            keyring: self.keyring,
        }
    }
}

/// One verified suite and its packages.
#[derive(Debug, Clone)]
pub struct Suite {
    pub locked: LockedSuite,
    pub packages: Vec<Package>,
}

/// A verified snapshot: every suite of the spec.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub name: String,
    pub root: String,
    /// The architectures the build installs for: a required package must
    /// be there for each (or be `all`).
    pub architectures: Vec<String>,
    pub suites: Vec<Suite>,
}

impl Snapshot {
    /// The newest version of `name` per architecture, across suites, as
    /// APT would pick it (equal pins: the highest version wins).
    pub fn newest(&self, name: &str) -> Vec<LockedPackage> {
        let mut best: Vec<LockedPackage> = Vec::new();
        for suite in &self.suites {
            for p in suite.packages.iter().filter(|p| p.name == name) {
                let candidate = LockedPackage {
                    name: p.name.clone(),
                    architecture: p.architecture.clone(),
                    version: p.version.clone(),
                    suite: suite.locked.suite.clone(),
                    sha256: p.sha256.clone(),
                };
                match best.iter_mut().find(|b| b.architecture == p.architecture) {
                    Some(b) => {
                        if debver::compare(&p.version, &b.version).is_gt() {
                            *b = candidate;
                        }
                    }
                    None => best.push(candidate),
                }
            }
        }
        best.sort();
        best
    }

    /// Every package name in the snapshot, sorted, once.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .suites
            .iter()
            .flat_map(|s| s.packages.iter().map(|p| p.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// `name` as the snapshot has it for every architecture of the build,
    /// or an error with the nearest names.
    pub fn require(&self, id: &str, name: &str) -> Result<Vec<LockedPackage>> {
        let found = self.newest(name);
        let suites: Vec<&str> = self
            .suites
            .iter()
            .map(|s| s.locked.suite.as_str())
            .collect();
        if !found.is_empty() {
            let missing: Vec<&str> = self
                .architectures
                .iter()
                .filter(|a| {
                    !found
                        .iter()
                        .any(|p| &p.architecture == *a || p.architecture == "all")
                })
                .map(String::as_str)
                .collect();
            if missing.is_empty() {
                return Ok(found);
            }
            let has: Vec<&str> = found.iter().map(|p| p.architecture.as_str()).collect();
            return Err(miette!(
                code = "vendor::apt::package-missing",
                help = "a build on that architecture could not install it; drop the \
                        architecture from the snapshot's `architectures`, or pick a \
                        version built for all of them",
                "{id}: snapshot {} has `{name}` for {} but not for {} (suites {})",
                self.name,
                has.join(", "),
                missing.join(", "),
                suites.join(", ")
            ));
        }
        let names = self.names();
        let help = match crate::diag::suggest(name, names.iter()) {
            Some(n) => format!("did you mean `{n}`?"),
            None => "`vendor outdated` lists what the snapshot offers".to_owned(),
        };
        Err(miette!(
            code = "vendor::apt::package-missing",
            help = help,
            "{id}: snapshot {} has no package `{name}` (suites {})",
            self.name,
            suites.join(", ")
        ))
    }

    /// What the lock records of the suites.
    pub fn locked_suites(&self) -> Vec<LockedSuite> {
        self.suites.iter().map(|s| s.locked.clone()).collect()
    }

    /// The newest `Date` of the suites as a snapshot timestamp.
    pub fn timestamp(&self) -> Option<String> {
        self.suites
            .iter()
            .filter_map(|s| s.locked.date.as_deref().and_then(release::timestamp))
            .max()
    }
}

/// Fetches and verifies every suite of `spec`, and reads their indexes.
pub async fn open(client: &Client, root: &Path, spec: &Spec<'_>) -> Result<Snapshot> {
    let key = crate::trust::load_key(root, spec.id, SignatureKind::Pgp, spec.keyring)?;
    let cache = Cache::from_env();
    let suites = futures_util::future::join_all(
        spec.suites
            .iter()
            .map(|suite| open_suite(client, &cache, &key, spec, suite)),
    )
    .await;
    Ok(Snapshot {
        name: spec.name.clone(),
        root: spec.root.clone(),
        architectures: spec.architectures.to_vec(),
        suites: suites.into_iter().collect::<Result<Vec<_>>>()?,
    })
}

/// The signed release text of `suite`, verified.
async fn signed_release(
    client: &Client,
    key: &PublicKey,
    spec: &Spec<'_>,
    suite: &str,
) -> Result<(LockedSuite, String)> {
    let id = spec.id;
    let dists = format!("{}/dists/{suite}", spec.root);
    let inrelease = format!("{dists}/InRelease");
    let refused = |what: &str, e: signature::SignatureError| {
        let help = e.help_text();
        miette!(
            code = "vendor::apt::bad-signature",
            help = format!(
                "nothing was written. The archive's release must verify with the keyring {} \
                 ({}); {help}",
                spec.keyring,
                key.fingerprints().join(", ")
            ),
            "{id}: {what} of suite {suite} in snapshot {} fails verification: {e}",
            spec.name
        )
    };
    match client.get_small(&inrelease, RELEASE_LIMIT, false).await {
        Ok(bytes) => {
            let (verified, text) =
                signature::verify_cleartext(key, &bytes).map_err(|e| refused("InRelease", e))?;
            let locked = LockedSuite {
                suite: suite.to_owned(),
                release_sha256: crate::hash::sha256_hex(&bytes),
                signer: verified.trust_label(),
                date: None,
            };
            Ok((locked, text))
        }
        Err(FetchError::NotFound { .. }) => {
            let url = format!("{dists}/Release");
            let release = match client.get_small(&url, RELEASE_LIMIT, false).await {
                Ok(b) => b,
                Err(FetchError::NotFound { .. }) => return Err(missing_suite(spec, suite)),
                Err(e) => return Err(e.into()),
            };
            let gpg_url = format!("{url}.gpg");
            let sig = match client.get_small(&gpg_url, RELEASE_LIMIT, false).await {
                Ok(b) => b,
                Err(FetchError::NotFound { .. }) => {
                    return Err(miette!(
                        code = "vendor::apt::unsigned",
                        help = "nothing was written. An archive without signatures cannot be \
                                verified; use one that publishes InRelease or Release.gpg",
                        "{id}: suite {suite} of snapshot {} is not signed: neither InRelease \
                         nor Release.gpg exists at {dists}",
                        spec.name
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            let verified =
                signature::verify_bytes(key, &release, &sig).map_err(|e| refused("Release", e))?;
            let text = String::from_utf8(release.clone()).map_err(|_| {
                miette!(
                    code = "vendor::apt::bad-release",
                    "{id}: {url} is not UTF-8 text"
                )
            })?;
            let locked = LockedSuite {
                suite: suite.to_owned(),
                release_sha256: crate::hash::sha256_hex(&release),
                signer: verified.trust_label(),
                date: None,
            };
            Ok((locked, text))
        }
        Err(e) => Err(e.into()),
    }
}

fn missing_suite(spec: &Spec<'_>, suite: &str) -> miette::Report {
    miette!(
        code = "vendor::apt::suite-missing",
        help = "nothing was written. Check the snapshot timestamp (UTC `YYYYMMDDTHHMMSSZ`) and \
                the source's `suites`; a snapshot older than a suite does not have it",
        "{}: snapshot {} has no suite {suite} (no InRelease or Release under {}/dists/{suite})",
        spec.id,
        spec.name,
        spec.root
    )
}

async fn open_suite(
    client: &Client,
    cache: &Cache,
    key: &PublicKey,
    spec: &Spec<'_>,
    suite: &str,
) -> Result<Suite> {
    let id = spec.id;
    let (mut locked, text) = signed_release(client, key, spec, suite).await?;
    let bad = |what: String| {
        miette!(
            code = "vendor::apt::bad-release",
            help = "the signed release is not what an archive publishes; report it to the \
                    archive's operator",
            "{id}: the release of suite {suite} in snapshot {}: {what}",
            spec.name
        )
    };
    let rel = release::parse(&text).map_err(bad)?;
    if !rel.is_suite(suite) {
        return Err(bad(format!(
            "it names itself {} (a release of another suite served in its place)",
            rel.codename
                .as_deref()
                .or(rel.suite.as_deref())
                .unwrap_or("?")
        )));
    }
    locked.date = rel.date.clone();
    let mut packages = Vec::new();
    for component in &spec.components {
        for arch in spec.architectures {
            let dir = format!("{component}/binary-{arch}");
            let Some(index) = ["Packages.xz", "Packages.gz", "Packages"]
                .iter()
                .find_map(|name| rel.file(&format!("{dir}/{name}")))
            else {
                let announced = if !rel.components.is_empty() && !rel.components.contains(component)
                {
                    format!(
                        "it has no component {component} (it has {})",
                        rel.components.join(", ")
                    )
                } else if !rel.architectures.is_empty() && !rel.architectures.contains(arch) {
                    format!(
                        "it has no architecture {arch} (it has {})",
                        rel.architectures.join(", ")
                    )
                } else {
                    format!("it lists no Packages index for {dir}")
                };
                return Err(miette!(
                    code = "vendor::apt::index-missing",
                    help = "check the source's `components` and `architectures`",
                    "{id}: suite {suite} of snapshot {}: {announced}",
                    spec.name
                ));
            };
            let text = read_index(client, cache, spec, suite, &rel, index).await?;
            let index_url = format!("{}/dists/{suite}/{}", spec.root, index.path);
            let mut found = packages::parse(&text).map_err(|e| {
                miette!(
                    code = "vendor::apt::bad-index",
                    "{id}: {} of suite {suite}: {e}",
                    index.path
                )
            })?;
            for p in &mut found {
                p.index.clone_from(&index_url);
            }
            packages.append(&mut found);
        }
    }
    Ok(Suite { locked, packages })
}

/// The decompressed text of an index file whose sha256 and size the
/// signed release lists; from the cache when it holds those bytes.
async fn read_index(
    client: &Client,
    cache: &Cache,
    spec: &Spec<'_>,
    suite: &str,
    rel: &release::Release,
    index: &release::IndexFile,
) -> Result<String> {
    let id = spec.id;
    let path = match cache.get(&index.sha256) {
        Some(path) => path,
        None => {
            if index.size > INDEX_LIMIT {
                return Err(miette!(
                    code = "vendor::apt::index-too-large",
                    "{id}: {} of suite {suite} is {} bytes, more than the {} read",
                    index.path,
                    index.size,
                    INDEX_LIMIT
                ));
            }
            let dists = format!("{}/dists/{suite}", spec.root);
            let plain = format!("{dists}/{}", index.path);
            let mut urls = Vec::new();
            if rel.acquire_by_hash {
                let dir = index.path.rsplit_once('/').map_or("", |(d, _)| d);
                urls.push(format!("{dists}/{dir}/by-hash/SHA256/{}", index.sha256));
            }
            urls.push(plain.clone());
            let tmp = cache.temp_file().into_diagnostic()?;
            let mut got = None;
            for (n, url) in urls.iter().enumerate() {
                match client
                    .download(url, &tmp, Some(index.size), false, &index.path)
                    .await
                {
                    Ok(d) => {
                        got = Some((url.clone(), d));
                        break;
                    }
                    // By-hash may lag behind; the plain path is the fallback.
                    Err(FetchError::NotFound { .. }) if n + 1 < urls.len() => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let Some((url, got)) = got else {
                return Err(miette!("{id}: {plain} could not be fetched"));
            };
            if got.sha256 != index.sha256 {
                return Err(miette!(
                    code = "vendor::apt::index-mismatch",
                    help = "nothing was written. The index is not the one the signed release \
                            lists: a corrupt or tampered mirror, or a snapshot changed under \
                            its timestamp",
                    "{id}: checksum mismatch for {url}: the signed release of suite {suite} \
                     lists sha256 {}, got {}",
                    index.sha256,
                    got.sha256
                ));
            }
            cache.insert(tmp, &got.sha256).into_diagnostic()?
        }
    };
    decompress(&path, &index.path).map_err(|e| {
        miette!(
            code = "vendor::apt::bad-index",
            "{id}: {} of suite {suite} cannot be read: {e}",
            index.path
        )
    })
}

/// Reads an index file, decompressing by its name, up to
/// [`INDEX_TEXT_LIMIT`] bytes of UTF-8.
fn decompress(path: &Path, name: &str) -> std::result::Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader: Box<dyn std::io::Read> = if name.ends_with(".xz") {
        // An index may be several concatenated xz streams.
        Box::new(liblzma::read::XzDecoder::new_multi_decoder(
            std::io::BufReader::new(file),
        ))
    } else if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        )))
    } else {
        Box::new(file)
    };
    let mut out = Vec::new();
    reader
        .take(INDEX_TEXT_LIMIT + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("{e}"))?;
    if out.len() as u64 > INDEX_TEXT_LIMIT {
        return Err(format!("it expands to more than {INDEX_TEXT_LIMIT} bytes"));
    }
    String::from_utf8(out).map_err(|_| "it is not UTF-8 text".to_owned())
}

/// The snapshot item an `apt-package` item refers to, with its source.
pub fn snapshot_of<'a>(
    manifest: &'a Manifest,
    id: &str,
    snapshot: &str,
) -> Result<(&'a Item, SnapshotSource<'a>)> {
    let item = manifest.items.get(snapshot).ok_or_else(|| {
        miette!(
            code = "vendor::apt::no-snapshot",
            "{id}: no item `{snapshot}` in the manifest (its `source.snapshot`)"
        )
    })?;
    let source = SnapshotSource::of(item).ok_or_else(|| {
        miette!(
            code = "vendor::apt::no-snapshot",
            help = "give the snapshot item `suites`, `architectures` and a `keyring`",
            "{id}: item `{snapshot}` is not a verified apt-snapshot"
        )
    })?;
    Ok((item, source))
}

/// For an `apt-package` item whose lock was resolved at another snapshot
/// than its snapshot item now wants: why it must be resolved again.
pub fn snapshot_moved(
    manifest: &Manifest,
    item: &Item,
    locked: Option<&crate::lock::LockedItem>,
) -> Option<String> {
    let Source::AptPackage { snapshot, .. } = &item.source else {
        return None;
    };
    let wanted = &manifest.items.get(snapshot)?.version;
    let at = locked?
        .resolved
        .as_ref()
        .and_then(|r| r.apt.as_ref())
        .and_then(|a| a.snapshot.as_deref());
    match at {
        Some(at) if at == wanted => None,
        Some(at) => Some(format!("snapshot of {snapshot} {at} → {wanted}")),
        None => Some(format!(
            "not yet checked against the snapshot of {snapshot}"
        )),
    }
}

/// The lock fingerprint of `item`: [`crate::lock::fingerprint`], and for
/// an `apt-package` item also the snapshot it is looked up in (its
/// snapshot item's version and source), so that a snapshot bump makes it
/// resolve again, and its cached resolutions are kept per snapshot.
pub fn fingerprint(manifest: &Manifest, item: &Item) -> String {
    let own = crate::lock::fingerprint(item);
    let Source::AptPackage { snapshot, .. } = &item.source else {
        return own;
    };
    let Some(snap) = manifest.items.get(snapshot) else {
        return own;
    };
    let inputs = format!(
        "{own}\n{}\n{}",
        snap.version,
        crate::lock::fingerprint(snap)
    );
    format!("sha256:{}", crate::hash::sha256_hex(inputs.as_bytes()))
}

/// The package name of an `apt-package` item at `version`.
pub fn package_name(template: &str, id: &str, version: &str) -> Result<String> {
    crate::template::Vars::new()
        .with("item", id)
        .with("version", version.to_owned())
        .expand(template)
        .map_err(|name| {
            miette!(
                code = "vendor::apt::template",
                "{id}: unknown placeholder `{{{name}}}` in the package `{template}`"
            )
        })
}

/// Resolves a verified snapshot item: every suite verifies and every
/// tracked package exists.
pub async fn resolve_snapshot(
    client: &Client,
    root: &Path,
    id: &str,
    item: &Item,
) -> Result<Locked> {
    let Some(source) = SnapshotSource::of(item) else {
        return Ok(Locked::default());
    };
    let snapshot = open(client, root, &source.at(id, &item.version)).await?;
    let mut packages = Vec::new();
    for name in source.packages {
        packages.extend(snapshot.require(id, name)?);
    }
    Ok(Locked {
        snapshot: None,
        suites: snapshot.locked_suites(),
        packages,
    })
}

/// Resolves an `apt-package` item: its package exists in the snapshot
/// item's pinned snapshot.
pub async fn resolve_package(
    client: &Client,
    root: &Path,
    manifest: &Manifest,
    id: &str,
    item: &Item,
) -> Result<Locked> {
    Ok(resolve_package_debs(client, root, manifest, id, item)
        .await?
        .0)
}

/// [`resolve_package`], and the `.deb` downloads of the item's assets:
/// for each asset (and platform), the package file the snapshot's signed
/// index lists, with the sha256 and size it gives. A platform picks the
/// package of its architecture; without one, the package must have one.
pub async fn resolve_package_debs(
    client: &Client,
    root: &Path,
    manifest: &Manifest,
    id: &str,
    item: &Item,
) -> Result<(Locked, Vec<crate::resolve::Pending>)> {
    let Source::AptPackage { snapshot, package } = &item.source else {
        return Ok((Locked::default(), Vec::new()));
    };
    let (snap_item, source) = snapshot_of(manifest, id, snapshot)?;
    let name = package_name(package, id, &item.version)?;
    let opened = open(client, root, &source.at(snapshot, &snap_item.version)).await?;
    let found = opened.require(id, &name).map_err(|e| {
        if !opened.newest(&name).is_empty() {
            return e; // there, but not for every architecture
        }
        // A typo in the flavour matches no flavour: then any is nearer than none.
        let mut candidates = candidates(&opened, package, id, &item.version);
        if candidates.is_empty() {
            candidates = versions_of(&opened, package, id, |_| true);
        }
        let nearest = crate::version::nearest(&item.version, &candidates, 3);
        match nearest.first() {
            Some(best) => miette!(
                code = "vendor::apt::package-missing",
                help = format!(
                    "did you mean `{best}`? (`vendor bump {id} {best}`); `vendor outdated {id}` \
                     lists what the snapshot offers"
                ),
                "{id} {}: snapshot {} of `{snapshot}` has no package `{name}`",
                item.version,
                snap_item.version
            ),
            None => e,
        }
    })?;
    let debs = debs(&opened, id, item, &name, &found)?;
    let locked = Locked {
        snapshot: Some(snap_item.version.clone()),
        suites: opened.locked_suites(),
        packages: found,
    };
    Ok((locked, debs))
}

fn debs(
    opened: &Snapshot,
    id: &str,
    item: &Item,
    name: &str,
    newest: &[LockedPackage],
) -> Result<Vec<crate::resolve::Pending>> {
    let vars = crate::plan::item_vars(id, item);
    let mut out = Vec::new();
    for inst in crate::plan::asset_instances(&vars, item) {
        let arch = inst
            .platform
            .and_then(|p| p.split_once('/'))
            .map(|(_, a)| a);
        let pick: Vec<&LockedPackage> = newest
            .iter()
            .filter(|p| arch.is_none_or(|a| p.architecture == a || p.architecture == "all"))
            .collect();
        let [chosen] = pick.as_slice() else {
            let archs: Vec<&str> = newest.iter().map(|p| p.architecture.as_str()).collect();
            return Err(miette!(
                code = "vendor::apt::architecture",
                help =
                    "give the item `platforms` (`linux/ARCH`) to choose the package's architecture",
                "{id}: `{name}` is offered for {}; which one to install is not clear",
                archs.join(", ")
            ));
        };
        let Some(entry) = opened.suites.iter().find_map(|s| {
            (s.locked.suite == chosen.suite).then(|| {
                s.packages.iter().find(|p| {
                    p.name == chosen.name
                        && p.version == chosen.version
                        && p.architecture == chosen.architecture
                })
            })?
        }) else {
            continue;
        };
        let file = entry.filename.rsplit('/').next().unwrap_or(&entry.filename);
        out.push(crate::resolve::Pending {
            platform: inst.platform.map(str::to_owned),
            name: file.to_owned(),
            url: format!("{}/{}", opened.root, entry.filename),
            size: Some(entry.size),
            sha256: Some(entry.sha256.clone()),
            trust: crate::lock::Trust {
                kind: crate::lock::TrustKind::ChecksumFile,
                by: Some(entry.index.clone()),
            },
            allow_http: false,
            evidence: crate::gate::Evidence::default(),
            locked: false,
        });
    }
    Ok(out)
}

/// The versions of an `apt-package` item the snapshot offers: package
/// names matching the template, in the same flavour as `current` (the
/// text after its leading numbers, e.g. `-generic`).
pub fn candidates(snapshot: &Snapshot, template: &str, id: &str, current: &str) -> Vec<String> {
    let flavour = flavour(current);
    versions_of(snapshot, template, id, |v| flavour_of(v) == flavour)
}

/// The versions the package names of the snapshot give the template
/// (those starting with a digit), kept by `keep`.
fn versions_of(
    snapshot: &Snapshot,
    template: &str,
    id: &str,
    keep: impl Fn(&str) -> bool,
) -> Vec<String> {
    let Ok(probe) = package_name(template, id, "\u{1}") else {
        return Vec::new();
    };
    let (prefix, suffix) = probe.split_once('\u{1}').unwrap_or((&probe, ""));
    snapshot
        .names()
        .into_iter()
        .filter_map(|n| {
            let v = n.strip_prefix(prefix)?.strip_suffix(suffix)?;
            (!v.is_empty() && v.starts_with(|c: char| c.is_ascii_digit()) && keep(v))
                .then(|| v.to_owned())
        })
        .collect()
}

/// The flavour of a kernel ABI: what follows its numbers and dashes
/// (`6.8.0-45-generic` → `generic`); empty when there is none.
pub fn flavour(version: &str) -> &str {
    flavour_of(version)
}

fn flavour_of(version: &str) -> &str {
    let start = version
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(version.len());
    version.get(start..).unwrap_or("")
}

/// The newest state of a snapshot item (its `latest` URL), as the
/// archive's own timestamp (the newest `Date` of its suites), checked to
/// be served the same at that timestamp; and that state.
pub async fn latest(
    client: &Client,
    root: &Path,
    id: &str,
    item: &Item,
) -> Result<(String, Snapshot)> {
    let Some(source) = SnapshotSource::of(item) else {
        return Err(miette!("{id} is not a verified apt-snapshot"));
    };
    let Some(spec) = source.latest_spec(id) else {
        return Err(miette!(
            code = "vendor::apt::no-latest",
            help = "set the source's `latest` to the URL of the archive's newest state (where its \
                    `dists/` is), or bump to a timestamp",
            "{id}: the source names no `latest` archive state"
        ));
    };
    let newest = open(client, root, &spec).await?;
    let Some(ts) = newest.timestamp() else {
        return Err(miette!(
            code = "vendor::apt::no-date",
            "{id}: the newest releases carry no readable `Date`, so no snapshot timestamp"
        ));
    };
    let pinned = open(client, root, &source.at(id, &ts)).await?;
    for (a, b) in newest.suites.iter().zip(&pinned.suites) {
        if a.locked.release_sha256 != b.locked.release_sha256 {
            return Err(miette!(
                code = "vendor::apt::latest-moved",
                help = "the archive changed while it was read, or the snapshot service lags \
                        behind; try again later",
                "{id}: snapshot {ts} does not serve the release of suite {} that `latest` serves",
                a.locked.suite
            ));
        }
    }
    Ok((ts, pinned))
}

/// The `apt-package` items that are looked up in the snapshot of one of
/// `ids`, in manifest order.
pub fn dependents(manifest: &Manifest, ids: &[String]) -> Vec<String> {
    manifest
        .items
        .iter()
        .filter(|(_, item)| {
            matches!(&item.source, Source::AptPackage { snapshot, .. } if ids.contains(snapshot))
        })
        .map(|(id, _)| id.clone())
        .collect()
}

/// Whether `item` is resolved through an archive's signed chain.
pub fn is_verified(item: &Item) -> bool {
    SnapshotSource::of(item).is_some() || matches!(item.source, Source::AptPackage { .. })
}

/// `check --upstream` for an APT item: the chain is verified again, and
/// what the lock recorded (each suite's release, the packages' versions
/// and `.deb` hashes) must still be what the snapshot says. A failing
/// signature is an error; a snapshot that moved under its timestamp, or
/// a package that is gone, is drift.
pub async fn recheck(
    client: &Client,
    root: &Path,
    manifest: &Manifest,
    id: &str,
    item: &Item,
    locked: &crate::lock::LockedItem,
) -> Result<Vec<crate::plan::Drift>> {
    use crate::plan::{Drift, UpstreamChange};
    let Some(was) = locked.resolved.as_ref().and_then(|r| r.apt.as_ref()) else {
        return Ok(Vec::new());
    };
    let mut at = item.clone();
    at.version.clone_from(&locked.version);
    let now = match &item.source {
        Source::AptPackage { .. } => match resolve_package(client, root, manifest, id, &at).await {
            Ok(now) => now,
            Err(e) if is_code(&e, "vendor::apt::package-missing") => {
                return Ok(vec![Drift::UpstreamChanged {
                    change: UpstreamChange::ReleaseMissing,
                    subject: format!("package of {id} {}", locked.version),
                    found: "no longer in the snapshot".into(),
                    expected: "the locked package".into(),
                }]);
            }
            Err(e) => return Err(e),
        },
        _ => resolve_snapshot(client, root, id, &at).await?,
    };
    let mut out = Vec::new();
    for old in &was.suites {
        let new = now.suites.iter().find(|s| s.suite == old.suite);
        if let Some(new) = new.filter(|n| n.release_sha256 != old.release_sha256) {
            out.push(Drift::UpstreamChanged {
                change: UpstreamChange::AssetChanged,
                subject: format!(
                    "release of suite {} (snapshot {})",
                    old.suite, locked.version
                ),
                found: format!("sha256 {}", new.release_sha256),
                expected: format!("sha256 {}", old.release_sha256),
            });
        }
    }
    for old in &was.packages {
        let new = now
            .packages
            .iter()
            .find(|p| p.name == old.name && p.architecture == old.architecture);
        match new {
            Some(new) if new.version == old.version && new.sha256 == old.sha256 => {}
            Some(new) => out.push(Drift::UpstreamChanged {
                change: UpstreamChange::AssetChanged,
                subject: format!("{} ({})", old.name, old.architecture),
                found: format!("{} sha256 {}", new.version, new.sha256),
                expected: format!("{} sha256 {}", old.version, old.sha256),
            }),
            None => out.push(Drift::UpstreamChanged {
                change: UpstreamChange::AssetMissing,
                subject: format!("{} ({})", old.name, old.architecture),
                found: "not in the snapshot".into(),
                expected: old.version.clone(),
            }),
        }
    }
    Ok(out)
}

fn is_code(e: &miette::Report, code: &str) -> bool {
    e.code().is_some_and(|c| c.to_string() == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavours() {
        assert_eq!(flavour("6.8.0-45-generic"), "generic");
        assert_eq!(flavour("6.8.0-45-lowlatency-64k"), "lowlatency-64k");
        assert_eq!(flavour("6.8.0-45"), "");
    }
}
