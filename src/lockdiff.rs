//! The difference between two locks, as data: which items were added,
//! removed or changed, and per item the version, tag, commit, pins,
//! artifacts and installed files that moved, with the two findings a
//! reviewer must not miss flagged on the artifact they concern:
//!
//! - a **trust downgrade**: an artifact whose hash is now trusted by a
//!   weaker source than before (DESIGN §6; [`TrustKind`] is ordered
//!   strongest first), e.g. `checksum-file` → `first-use`; by fewer
//!   signature kinds than before; or by a **new key** of a kind it was
//!   signed with before (a key rotation: a reviewer must confirm the new
//!   key, so it is flagged the same way);
//! - a **possible re-tag**: the same version and tag, but an artifact's
//!   sha256 (or the tag's commit) changed;
//! - a release that is **no longer immutable**: the old lock recorded
//!   GitHub's `immutable: true` for it, the new one does not (a trust
//!   downgrade of the release itself: its assets can now be replaced).
//!
//! Pure: no I/O. `vendor diff` reads the two locks and renders the result
//! (`crate::report`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::lock::{Artifact, InstalledFile, Lock, LockedItem, LockedPin, Trust};

/// Every item whose lock entry differs, sorted by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockDiff {
    pub items: Vec<ItemDiff>,
}

/// Whether something is new, gone or different.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Added,
    Removed,
    Changed,
}

impl Status {
    fn of<T>(old: Option<T>, new: Option<T>) -> Status {
        match (old, new) {
            (None, _) => Status::Added,
            (_, None) => Status::Removed,
            _ => Status::Changed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
        }
    }
}

/// A value on both sides; `None` where a side does not have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change<T> {
    pub old: Option<T>,
    pub new: Option<T>,
}

impl<T: PartialEq> Change<T> {
    pub fn changed(&self) -> bool {
        self.old != self.new
    }

    pub fn unchanged(&self) -> bool {
        !self.changed()
    }
}

/// One item's lock entry, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemDiff {
    pub item: String,
    pub status: Status,
    /// The source kind (`github-release`, `manual`, …).
    pub source: Change<String>,
    pub version: Change<String>,
    /// The tag or ref the version resolved to.
    pub tag: Change<String>,
    /// The commit the tag pointed to.
    pub commit: Change<String>,
    /// The GitHub release's `immutable` flag (shown only when it changed).
    #[serde(skip_serializing_if = "Change::unchanged")]
    pub immutable: Change<bool>,
    /// The old side was an immutable release, the new one is not (or no
    /// longer says so).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub immutability_lost: bool,
    /// The manifest entry's resolution inputs changed.
    pub fingerprint_changed: bool,
    /// Some artifact is now trusted by a weaker source.
    pub trust_downgrade: bool,
    /// Same version and tag, but an artifact's sha256 or the tag's commit
    /// changed: the upstream release may have been re-tagged.
    pub retag: bool,
    /// Where a reviewer reads what changed upstream (a GitHub compare or
    /// release page), when known; see [`LockDiff::attach_links`].
    pub link: Option<String>,
    pub pins: Vec<PinChange>,
    pub artifacts: Vec<ArtifactChange>,
    pub files: Vec<FileChange>,
    /// Upstream release notes of the versions taken in, when fetched
    /// (`crate::notes`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<crate::notes::ReleaseNote>,
    /// APT packages whose locked version or `.deb` changed (`crate::apt`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<crate::apt::diff::PackageChange>,
    /// APT suites whose verified release changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suites: Vec<crate::apt::diff::SuiteChange>,
    /// Advisories the version change fixes or introduces, when looked up
    /// (`vendor diff` with advisory sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<crate::advisory::SecurityChange>,
}

/// A pin, by file and locator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinChange {
    pub file: String,
    pub locator: String,
    pub status: Status,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A downloaded artifact, by platform and name. An artifact whose name
/// carries the version (`traefik_v3.3.4_linux_amd64.tar.gz`) is paired
/// with its renamed successor, so that its trust can be compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactChange {
    pub platform: Option<String>,
    /// The new name (the old one for a removed artifact).
    pub name: String,
    /// The old name, when it differs from the new one.
    pub renamed_from: Option<String>,
    pub status: Status,
    /// Which of `name`, `url`, `size`, `sha256`, `trust` differ.
    pub changed: Vec<&'static str>,
    /// The new trust source is weaker than the old one, or signed by a new
    /// key (see `key_rotation`).
    pub trust_downgrade: bool,
    /// A signature kind that signed before is now made with another key.
    pub key_rotation: bool,
    /// The sha256 changed under the same version and tag.
    pub retag: bool,
    pub old: Option<Artifact>,
    pub new: Option<Artifact>,
}

/// An installed file, by path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub path: String,
    pub status: Status,
    /// Which of `sha256`, `mode`, `from` differ.
    pub changed: Vec<&'static str>,
    pub old: Option<InstalledFile>,
    pub new: Option<InstalledFile>,
}

/// A GitHub repository an item comes from, for links to its changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubRepo {
    /// `owner/name`.
    pub repo: String,
    /// Release assets (`github-release`) rather than files at a ref.
    pub releases: bool,
}

impl GithubRepo {
    /// The lock's name for the source kind.
    pub fn source_kind(&self) -> &'static str {
        if self.releases {
            "github-release"
        } else {
            "github-files"
        }
    }
}

/// Compares `old` with `new`.
pub fn diff(old: &Lock, new: &Lock) -> LockDiff {
    let ids: BTreeSet<&String> = old.items.keys().chain(new.items.keys()).collect();
    let items = ids
        .into_iter()
        .filter_map(|id| item_diff(id, old.items.get(id), new.items.get(id)))
        .collect();
    LockDiff { items }
}

impl LockDiff {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The artifacts trusted by a weaker source than before, with their item.
    pub fn trust_downgrades(&self) -> impl Iterator<Item = (&ItemDiff, &ArtifactChange)> {
        self.artifacts_where(|a| a.trust_downgrade)
    }

    /// The artifacts whose sha256 changed under the same version.
    pub fn retagged_artifacts(&self) -> impl Iterator<Item = (&ItemDiff, &ArtifactChange)> {
        self.artifacts_where(|a| a.retag)
    }

    fn artifacts_where(
        &self,
        keep: impl Fn(&ArtifactChange) -> bool,
    ) -> impl Iterator<Item = (&ItemDiff, &ArtifactChange)> {
        self.items
            .iter()
            .flat_map(|i| i.artifacts.iter().map(move |a| (i, a)))
            .filter(move |(_, a)| keep(a))
    }

    /// Sets each item's upstream link from the repositories its manifest
    /// entry names (items without one keep none).
    pub fn attach_links(&mut self, repos: &BTreeMap<String, GithubRepo>) {
        for item in &mut self.items {
            item.link = repos
                .get(&item.item)
                .filter(|r| item.source.new.as_deref() == Some(r.source_kind()))
                .and_then(|r| github_link(r, item));
        }
    }
}

/// The page showing what changed upstream between the two sides: a
/// compare view of the tags (or of the commits under one tag), else the
/// new tag's release or tree.
pub fn github_link(repo: &GithubRepo, item: &ItemDiff) -> Option<String> {
    let base = format!("https://github.com/{}", repo.repo);
    if item.status == Status::Removed {
        return None;
    }
    if let (Some(old), Some(new)) = (&item.tag.old, &item.tag.new)
        && old != new
    {
        return Some(format!("{base}/compare/{}...{}", path(old), path(new)));
    }
    if let (Some(old), Some(new)) = (&item.commit.old, &item.commit.new)
        && old != new
    {
        return Some(format!("{base}/compare/{old}...{new}"));
    }
    let tag = path(item.tag.new.as_deref()?);
    Some(if repo.releases {
        format!("{base}/releases/tag/{tag}")
    } else {
        format!("{base}/tree/{tag}")
    })
}

/// A ref as a URL path segment: the few characters a ref may hold that a
/// URL path may not are escaped.
fn path(reference: &str) -> String {
    reference
        .replace('%', "%25")
        .replace('#', "%23")
        .replace(' ', "%20")
}

fn item_diff(id: &str, old: Option<&LockedItem>, new: Option<&LockedItem>) -> Option<ItemDiff> {
    if old == new {
        return None;
    }
    let tag = |i: &LockedItem| i.resolved.as_ref().and_then(|r| r.tag.clone());
    let commit = |i: &LockedItem| i.resolved.as_ref().and_then(|r| r.commit.clone());
    let version = Change {
        old: old.map(|i| i.version.clone()),
        new: new.map(|i| i.version.clone()),
    };
    let tag = Change {
        old: old.and_then(tag),
        new: new.and_then(tag),
    };
    let commit = Change {
        old: old.and_then(commit),
        new: new.and_then(commit),
    };
    let immutable = |i: &LockedItem| i.resolved.as_ref().and_then(|r| r.immutable);
    let immutable = Change {
        old: old.and_then(immutable),
        new: new.and_then(immutable),
    };
    let immutability_lost =
        new.is_some() && immutable.old == Some(true) && immutable.new != Some(true);
    let status = Status::of(old, new);
    // A re-tag needs something to compare against on both sides.
    let same_release = status == Status::Changed && !version.changed() && !tag.changed();
    let artifacts = artifact_changes(
        old.map_or(&[][..], |i| &i.artifacts),
        new.map_or(&[][..], |i| &i.artifacts),
        &Renames::new(&version, &tag),
        same_release,
    );
    let moved_commit = commit.old.is_some() && commit.new.is_some() && commit.changed();
    let diff = ItemDiff {
        item: id.to_owned(),
        status,
        source: Change {
            old: old.map(|i| i.source.clone()),
            new: new.map(|i| i.source.clone()),
        },
        fingerprint_changed: status == Status::Changed
            && old.map(|i| &i.fingerprint) != new.map(|i| &i.fingerprint),
        trust_downgrade: immutability_lost || artifacts.iter().any(|a| a.trust_downgrade),
        retag: same_release && (moved_commit || artifacts.iter().any(|a| a.retag)),
        link: None,
        notes: Vec::new(),
        security: None,
        pins: pin_changes(
            old.map_or(&[][..], |i| &i.pins),
            new.map_or(&[][..], |i| &i.pins),
        ),
        files: file_changes(
            old.map_or(&[][..], |i| &i.files),
            new.map_or(&[][..], |i| &i.files),
        ),
        packages: crate::apt::diff::packages(old, new),
        suites: crate::apt::diff::suites(old, new),
        artifacts,
        version,
        tag,
        commit,
        immutable,
        immutability_lost,
    };
    diff.has_changes().then_some(diff)
}

impl ItemDiff {
    /// Whether anything a reviewer can see differs (two entries that only
    /// list the same things in another order do not).
    fn has_changes(&self) -> bool {
        self.status != Status::Changed
            || self.source.changed()
            || self.version.changed()
            || self.tag.changed()
            || self.commit.changed()
            || self.immutable.changed()
            || self.fingerprint_changed
            || !self.pins.is_empty()
            || !self.artifacts.is_empty()
            || !self.files.is_empty()
            || !self.packages.is_empty()
            || !self.suites.is_empty()
    }
}

fn pin_changes(old: &[LockedPin], new: &[LockedPin]) -> Vec<PinChange> {
    let key = |p: &LockedPin| (p.file.clone(), p.locator.clone());
    keyed_changes(old, new, key)
        .into_iter()
        .filter(|(_, o, n)| o.map(|p| &p.value) != n.map(|p| &p.value))
        .map(|((file, locator), o, n)| PinChange {
            file,
            locator,
            status: Status::of(o, n),
            old: o.map(|p| p.value.clone()),
            new: n.map(|p| p.value.clone()),
        })
        .collect()
}

fn file_changes(old: &[InstalledFile], new: &[InstalledFile]) -> Vec<FileChange> {
    keyed_changes(old, new, |f| f.path.clone())
        .into_iter()
        .filter_map(|(path, o, n)| {
            let changed = match (o, n) {
                (Some(o), Some(n)) => file_fields(o, n),
                _ => Vec::new(),
            };
            let status = Status::of(o, n);
            (status != Status::Changed || !changed.is_empty()).then(|| FileChange {
                path,
                status,
                changed,
                old: o.cloned(),
                new: n.cloned(),
            })
        })
        .collect()
}

fn file_fields(old: &InstalledFile, new: &InstalledFile) -> Vec<&'static str> {
    [
        ("sha256", old.sha256 != new.sha256),
        ("mode", old.mode != new.mode),
        ("from", old.from != new.from),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
    .collect()
}

/// Entries of two lists joined on `key`, sorted by it.
fn keyed_changes<'a, T, K: Ord>(
    old: &'a [T],
    new: &'a [T],
    key: impl Fn(&T) -> K,
) -> Vec<(K, Option<&'a T>, Option<&'a T>)> {
    let mut joined: BTreeMap<K, (Option<&T>, Option<&T>)> = BTreeMap::new();
    for o in old {
        joined.entry(key(o)).or_default().0 = Some(o);
    }
    for n in new {
        joined.entry(key(n)).or_default().1 = Some(n);
    }
    joined.into_iter().map(|(k, (o, n))| (k, o, n)).collect()
}

/// How an artifact's name may carry the version or tag on each side.
struct Renames<'a> {
    old: Vec<(&'a str, &'static str)>,
    new: Vec<(&'a str, &'static str)>,
}

impl<'a> Renames<'a> {
    fn new(version: &'a Change<String>, tag: &'a Change<String>) -> Renames<'a> {
        let side = |tag: &'a Option<String>, version: &'a Option<String>| {
            // The tag first: it usually contains the version (`v3.3.4`).
            [(tag, "{tag}"), (version, "{version}")]
                .into_iter()
                .filter_map(|(value, placeholder)| Some((value.as_deref()?, placeholder)))
                .filter(|(value, _)| !value.is_empty())
                .collect()
        };
        Renames {
            old: side(&tag.old, &version.old),
            new: side(&tag.new, &version.new),
        }
    }

    /// `name` with the side's tag and version replaced by placeholders.
    fn template(subs: &[(&str, &str)], name: &str) -> String {
        subs.iter()
            .fold(name.to_owned(), |n, (value, placeholder)| {
                n.replace(value, placeholder)
            })
    }
}

/// Artifacts paired old to new: by platform and name, then by name with
/// the version and tag abstracted away, then the one remaining artifact
/// of a platform on each side.
fn artifact_changes(
    old: &[Artifact],
    new: &[Artifact],
    renames: &Renames<'_>,
    same_release: bool,
) -> Vec<ArtifactChange> {
    let mut olds: Vec<Option<&Artifact>> = old.iter().map(Some).collect();
    let mut news: Vec<Option<&Artifact>> = new.iter().map(Some).collect();
    let mut pairs = Vec::new();
    pair_unique(
        &mut olds,
        &mut news,
        &mut pairs,
        |a| (a.platform.clone(), a.name.clone()),
        |a| (a.platform.clone(), a.name.clone()),
    );
    pair_unique(
        &mut olds,
        &mut news,
        &mut pairs,
        |a| (a.platform.clone(), Renames::template(&renames.old, &a.name)),
        |a| (a.platform.clone(), Renames::template(&renames.new, &a.name)),
    );
    pair_unique(
        &mut olds,
        &mut news,
        &mut pairs,
        |a| a.platform.clone(),
        |a| a.platform.clone(),
    );
    let unpaired_old = olds.into_iter().flatten().map(|o| (Some(o), None));
    let unpaired_new = news.into_iter().flatten().map(|n| (None, Some(n)));
    let mut changes: Vec<ArtifactChange> = pairs
        .into_iter()
        .map(|(o, n)| (Some(o), Some(n)))
        .chain(unpaired_old)
        .chain(unpaired_new)
        .filter_map(|(o, n)| artifact_change(o, n, same_release))
        .collect();
    changes.sort_by(|a, b| (&a.platform, &a.name).cmp(&(&b.platform, &b.name)));
    changes
}

/// Moves into `pairs` every remaining old/new artifact whose key occurs
/// exactly once among the remaining ones on each side.
fn pair_unique<'a, K: Ord + Clone>(
    olds: &mut [Option<&'a Artifact>],
    news: &mut [Option<&'a Artifact>],
    pairs: &mut Vec<(&'a Artifact, &'a Artifact)>,
    old_key: impl Fn(&Artifact) -> K,
    new_key: impl Fn(&Artifact) -> K,
) {
    let index = |list: &[Option<&Artifact>], key: &dyn Fn(&Artifact) -> K| {
        let mut found: BTreeMap<K, Vec<usize>> = BTreeMap::new();
        for (i, a) in list.iter().enumerate() {
            if let Some(a) = a {
                found.entry(key(a)).or_default().push(i);
            }
        }
        found
    };
    let old_index = index(olds, &old_key);
    let new_index = index(news, &new_key);
    for (key, o) in old_index {
        if let ([o], Some([n])) = (o.as_slice(), new_index.get(&key).map(Vec::as_slice))
            && let (Some(old), Some(new)) = (olds[*o].take(), news[*n].take())
        {
            pairs.push((old, new));
        }
    }
}

fn artifact_change(
    old: Option<&Artifact>,
    new: Option<&Artifact>,
    same_release: bool,
) -> Option<ArtifactChange> {
    let changed = match (old, new) {
        (Some(o), Some(n)) => artifact_fields(o, n),
        _ => Vec::new(),
    };
    let status = Status::of(old, new);
    if status == Status::Changed && changed.is_empty() {
        return None;
    }
    let named = new.or(old)?;
    let (weaker, rotation) = match (old, new) {
        (Some(o), Some(n)) => trust_finding(&o.trust, &n.trust),
        _ => (false, false),
    };
    Some(ArtifactChange {
        platform: named.platform.clone(),
        name: named.name.clone(),
        renamed_from: old
            .map(|o| o.name.clone())
            .filter(|name| *name != named.name),
        status,
        trust_downgrade: weaker || rotation,
        key_rotation: rotation,
        retag: same_release && changed.contains(&"sha256"),
        changed,
        old: old.cloned(),
        new: new.cloned(),
    })
}

/// `(weaker, rotated)`: the new trust is a weaker kind or drops a
/// signature kind; or a kind signed by both is signed by another key.
fn trust_finding(old: &Trust, new: &Trust) -> (bool, bool) {
    if new.kind != old.kind {
        return (new.kind > old.kind, false);
    }
    let kind_of = |s: &str| s.split_once(':').map_or(s, |(k, _)| k).to_owned();
    let kinds = |t: &Trust| -> BTreeMap<String, BTreeSet<String>> {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in t.signers() {
            m.entry(kind_of(s)).or_default().insert(s.to_owned());
        }
        m
    };
    let (o, n) = (kinds(old), kinds(new));
    let dropped = o.keys().any(|k| !n.contains_key(k));
    let rotated = o
        .iter()
        .any(|(k, keys)| n.get(k).is_some_and(|new_keys| new_keys != keys));
    (dropped, rotated)
}

fn artifact_fields(old: &Artifact, new: &Artifact) -> Vec<&'static str> {
    [
        ("name", old.name != new.name),
        ("url", old.url != new.url),
        ("size", old.size != new.size),
        ("sha256", old.sha256 != new.sha256),
        ("trust", old.trust != new.trust),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::{Resolved, Trust, TrustKind};

    fn artifact(platform: &str, name: &str, sha: &str, kind: TrustKind) -> Artifact {
        Artifact {
            platform: Some(platform.into()),
            name: name.into(),
            url: format!("https://example.test/{name}"),
            size: 10,
            sha256: sha.into(),
            trust: Trust { kind, by: None },
        }
    }

    fn item(version: &str, artifacts: Vec<Artifact>) -> LockedItem {
        LockedItem {
            version: version.into(),
            fingerprint: "sha256:00".into(),
            source: "github-release".into(),
            resolved: Some(Resolved {
                tag: Some(format!("v{version}")),
                ..Resolved::default()
            }),
            pins: vec![],
            artifacts,
            files: vec![],
        }
    }

    fn lock(items: &[(&str, LockedItem)]) -> Lock {
        let mut lock = Lock::default();
        for (id, item) in items {
            lock.items.insert((*id).into(), item.clone());
        }
        lock
    }

    #[test]
    fn equal_locks_have_no_diff() {
        let a = lock(&[("x", item("1", vec![]))]);
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn reordered_lists_are_no_change() {
        let arts = vec![
            artifact("linux/amd64", "a", "1", TrustKind::GithubDigest),
            artifact("linux/arm64", "b", "2", TrustKind::GithubDigest),
        ];
        let mut reversed = arts.clone();
        reversed.reverse();
        let d = diff(
            &lock(&[("x", item("1", arts))]),
            &lock(&[("x", item("1", reversed))]),
        );
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn renamed_artifact_is_paired_and_downgrade_flagged() {
        let old = lock(&[(
            "t",
            item(
                "3.3.4",
                vec![artifact(
                    "linux/amd64",
                    "t_v3.3.4_amd64.tgz",
                    "aa",
                    TrustKind::ChecksumFile,
                )],
            ),
        )]);
        let new = lock(&[(
            "t",
            item(
                "3.3.5",
                vec![artifact(
                    "linux/amd64",
                    "t_v3.3.5_amd64.tgz",
                    "bb",
                    TrustKind::FirstUse,
                )],
            ),
        )]);
        let d = diff(&old, &new);
        let a = &d.items[0].artifacts[0];
        assert_eq!(a.status, Status::Changed);
        assert_eq!(a.renamed_from.as_deref(), Some("t_v3.3.4_amd64.tgz"));
        assert!(a.trust_downgrade);
        assert!(!a.retag, "a new version is not a re-tag");
        assert!(d.items[0].trust_downgrade);
        assert_eq!(d.trust_downgrades().count(), 1);
    }

    fn signed(by: &str) -> Trust {
        Trust {
            kind: TrustKind::Signature,
            by: Some(by.into()),
        }
    }

    #[test]
    fn key_rotation_and_dropped_signers_are_flagged() {
        let cases = [
            ("minisign:A", "minisign:B", (false, true)),
            ("minisign:A", "minisign:A", (false, false)),
            ("minisign:A, pgp:F", "pgp:F", (true, false)),
            ("minisign:A", "minisign:A, pgp:F", (false, false)),
            (
                "cosign:sha256:1, pgp:F",
                "cosign:sha256:2, pgp:F",
                (false, true),
            ),
        ];
        for (old, new, want) in cases {
            assert_eq!(
                trust_finding(&signed(old), &signed(new)),
                want,
                "{old} → {new}"
            );
        }
        let old = lock(&[(
            "t",
            item(
                "1.0.0",
                vec![Artifact {
                    trust: signed("minisign:A"),
                    ..artifact("linux/amd64", "t.tgz", "aa", TrustKind::Signature)
                }],
            ),
        )]);
        let new = lock(&[(
            "t",
            item(
                "1.1.0",
                vec![Artifact {
                    trust: signed("minisign:B"),
                    ..artifact("linux/amd64", "t.tgz", "bb", TrustKind::Signature)
                }],
            ),
        )]);
        let d = diff(&old, &new);
        let a = &d.items[0].artifacts[0];
        assert!(a.key_rotation && a.trust_downgrade);
        assert!(d.items[0].trust_downgrade);
    }

    #[test]
    fn stronger_trust_is_no_downgrade() {
        let old = lock(&[(
            "t",
            item("1", vec![artifact("p/a", "n", "aa", TrustKind::FirstUse)]),
        )]);
        let new = lock(&[(
            "t",
            item("2", vec![artifact("p/a", "n", "bb", TrustKind::Signature)]),
        )]);
        assert!(!diff(&old, &new).items[0].trust_downgrade);
    }

    #[test]
    fn same_version_new_sha_is_a_retag() {
        let old = lock(&[(
            "t",
            item(
                "1",
                vec![artifact("p/a", "n", "aa", TrustKind::GithubDigest)],
            ),
        )]);
        let new = lock(&[(
            "t",
            item(
                "1",
                vec![artifact("p/a", "n", "bb", TrustKind::GithubDigest)],
            ),
        )]);
        let d = diff(&old, &new);
        assert!(d.items[0].retag);
        assert_eq!(d.items[0].artifacts[0].changed, ["sha256"]);
        assert_eq!(d.retagged_artifacts().count(), 1);
    }

    fn with_immutable(version: &str, flag: Option<bool>) -> LockedItem {
        let mut i = item(version, vec![]);
        if let Some(r) = i.resolved.as_mut() {
            r.immutable = flag;
        }
        i
    }

    #[test]
    fn a_release_that_is_no_longer_immutable_is_a_trust_downgrade() {
        for (old, new, lost) in [
            (Some(true), Some(false), true),
            (Some(true), None, true),
            (Some(true), Some(true), false),
            (Some(false), Some(true), false),
            (None, Some(false), false),
        ] {
            let d = diff(
                &lock(&[("t", with_immutable("1", old))]),
                &lock(&[("t", with_immutable("2", new))]),
            );
            let i = &d.items[0];
            assert_eq!(i.immutability_lost, lost, "{old:?} → {new:?}");
            assert_eq!(i.trust_downgrade, lost, "{old:?} → {new:?}");
            assert_eq!(i.immutable.changed(), old != new);
        }
        // Only the flag changed: still a change to show.
        let d = diff(
            &lock(&[("t", with_immutable("1", Some(true)))]),
            &lock(&[("t", with_immutable("1", Some(false)))]),
        );
        assert!(d.items[0].immutability_lost);
        // Removing the item is no downgrade of a release.
        let d = diff(&lock(&[("t", with_immutable("1", Some(true)))]), &lock(&[]));
        assert!(!d.items[0].immutability_lost);
    }

    #[test]
    fn moved_commit_under_same_tag_is_a_retag() {
        let mut a = item("1", vec![]);
        a.resolved = Some(Resolved {
            tag: Some("1".into()),
            commit: Some("c1".into()),
            ..Resolved::default()
        });
        let mut b = a.clone();
        b.resolved = Some(Resolved {
            tag: Some("1".into()),
            commit: Some("c2".into()),
            ..Resolved::default()
        });
        assert!(diff(&lock(&[("f", a)]), &lock(&[("f", b)])).items[0].retag);
    }

    #[test]
    fn added_and_removed_items() {
        let old = lock(&[("gone", item("1", vec![]))]);
        let new = lock(&[(
            "new",
            item("2", vec![artifact("p/a", "n", "aa", TrustKind::FirstUse)]),
        )]);
        let d = diff(&old, &new);
        let statuses: Vec<_> = d
            .items
            .iter()
            .map(|i| (i.item.as_str(), i.status))
            .collect();
        assert_eq!(
            statuses,
            [("gone", Status::Removed), ("new", Status::Added)]
        );
        assert_eq!(d.items[1].artifacts[0].status, Status::Added);
        assert!(!d.items[1].trust_downgrade, "nothing to downgrade from");
    }

    #[test]
    fn pins_and_files() {
        let mut old = item("1", vec![]);
        old.pins = vec![LockedPin {
            file: "Makefile".into(),
            locator: "make V".into(),
            value: "1".into(),
        }];
        old.files = vec![InstalledFile {
            path: "dist/x".into(),
            sha256: "aa".into(),
            mode: "0755".into(),
            from: "n".into(),
        }];
        let mut new = old.clone();
        new.version = "2".into();
        new.pins[0].value = "2".into();
        new.files[0].mode = "0644".into();
        let d = diff(&lock(&[("i", old)]), &lock(&[("i", new)]));
        let i = &d.items[0];
        assert_eq!(i.pins[0].old.as_deref(), Some("1"));
        assert_eq!(i.pins[0].new.as_deref(), Some("2"));
        assert_eq!(i.files[0].changed, ["mode"]);
    }

    #[test]
    fn links() {
        let release = GithubRepo {
            repo: "o/r".into(),
            releases: true,
        };
        let old = lock(&[("t", item("1", vec![]))]);
        let new = lock(&[("t", item("2", vec![]))]);
        let d = diff(&old, &new);
        assert_eq!(
            github_link(&release, &d.items[0]).as_deref(),
            Some("https://github.com/o/r/compare/v1...v2")
        );
        let added = diff(&Lock::default(), &new);
        assert_eq!(
            github_link(&release, &added.items[0]).as_deref(),
            Some("https://github.com/o/r/releases/tag/v2")
        );
        let files = GithubRepo {
            releases: false,
            ..release
        };
        assert_eq!(
            github_link(&files, &added.items[0]).as_deref(),
            Some("https://github.com/o/r/tree/v2")
        );
        assert_eq!(
            github_link(&files, &diff(&new, &Lock::default()).items[0]),
            None
        );
    }
}
