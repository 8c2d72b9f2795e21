//! The plan: what must change so that the lock and the tree match the
//! manifest. Computing it reads files but never writes; the result is
//! plain data that `plan` renders, `check` judges and `apply` carries out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::hash::{sha256_file, sha256_hex};
use crate::lock::{self, Lock, LockedItem, LockedPin};
use crate::manifest::model::{Asset, Item, Manifest, Source};
use crate::pin::{self, Locator};
use crate::template::Vars;

/// Version of the JSON shape of plans and reports.
pub const FORMAT_VERSION: u32 = 1;

/// A difference between the manifest, the lock and the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Drift {
    /// The manifest entry changed since it was locked, or was never locked.
    LockOutdated { reason: String },
    /// A pin does not hold the locked value.
    PinDrift {
        file: String,
        line: usize,
        locator: String,
        found: String,
        expected: String,
    },
    /// An installed file differs from the lock.
    ArtifactDrift {
        path: String,
        what: String,
        found: String,
        expected: String,
    },
    /// A locked file is not installed (reported as drift only when
    /// installed artifacts are required).
    NotInstalled { path: String },
    /// A lock entry or installed file without a manifest item.
    Orphan { what: String },
    /// Upstream changed what the lock recorded (`check --upstream`): a
    /// moved tag, a replaced or missing asset, a missing release.
    UpstreamChanged {
        change: UpstreamChange,
        subject: String,
        found: String,
        expected: String,
    },
}

/// What changed upstream under a locked version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamChange {
    /// The locked tag or ref now points to another commit.
    Retagged,
    /// An asset's bytes (digest or size) changed under the same tag.
    AssetChanged,
    /// A locked asset is gone.
    AssetMissing,
    /// The locked release, tag, ref or snapshot is gone.
    ReleaseMissing,
    /// The locked release was immutable and no longer is.
    ImmutabilityLost,
    /// An attestation the item is verified with is no longer published.
    AttestationMissing,
}

impl Drift {
    pub fn kind(&self) -> &'static str {
        match self {
            Drift::LockOutdated { .. } => "lock-outdated",
            Drift::PinDrift { .. } => "pin-drift",
            Drift::ArtifactDrift { .. } => "artifact-drift",
            Drift::NotInstalled { .. } => "not-installed",
            Drift::Orphan { .. } => "orphan",
            Drift::UpstreamChanged { .. } => "upstream-changed",
        }
    }
}

/// A pin value to rewrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinChange {
    pub file: String,
    pub line: usize,
    pub locator: String,
    pub from: String,
    pub to: String,
}

/// A file the plan rewrites, with its unified diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEdit {
    pub path: String,
    pub diff: String,
}

/// What happens to an item's lock entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockAction {
    Keep,
    Add,
    Update,
    Remove,
}

/// Upstream work an item needs before it can be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// What will be resolved, e.g. `release v3.3.5 of traefik/traefik`.
    pub what: String,
    /// Files to download, by name (known without the network).
    pub downloads: Vec<String>,
    /// The tag and commit the version resolved to, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<lock::Resolved>,
    /// The files with URL, size and expected sha256, once resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<crate::resolve::Pending>,
    /// Why the resolution is not known (offline, upstream unreachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

impl Resolution {
    pub fn is_resolved(&self) -> bool {
        self.unknown.is_none() && (self.resolved.is_some() || !self.artifacts.is_empty())
    }
}

/// The plan for one manifest item (or one orphaned lock entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemPlan {
    pub id: String,
    /// The manifest's version; `None` for an orphan.
    pub wanted: Option<String>,
    pub locked: Option<String>,
    pub source: String,
    pub deferred: bool,
    pub drift: Vec<Drift>,
    pub pins: Vec<PinChange>,
    pub resolve: Option<Resolution>,
    pub lock: LockAction,
    /// Installed files of an orphan that apply deletes (unchanged since
    /// they were locked).
    pub remove_files: Vec<String>,
    /// Locked files to (re)install because they are missing or drifted.
    pub reinstall: Vec<String>,
}

impl ItemPlan {
    /// Whether `apply` has anything to do for this item.
    pub fn has_changes(&self) -> bool {
        !self.pins.is_empty()
            || self.resolve.is_some()
            || self.lock != LockAction::Keep
            || !self.remove_files.is_empty()
            || !self.reinstall.is_empty()
    }
}

/// Hash of an input the plan was computed from; a saved plan is stale when
/// any of them changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub manifest: String,
    pub lock: Option<String>,
    /// Every file the plan read, by path: its sha256, or `None` if missing.
    pub files: BTreeMap<String, Option<String>>,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub items: Vec<ItemPlan>,
    pub edits: Vec<FileEdit>,
    pub inputs: Inputs,
    /// Selected item ids (empty: all).
    pub selected: Vec<String>,
}

/// Counts for the one-line summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub items: usize,
    pub changed: usize,
    pub rewrites: usize,
    pub files: usize,
    pub lock_changes: usize,
    pub unresolved: usize,
    pub drift: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            items: self.items.len(),
            files: self.edits.len(),
            ..Summary::default()
        };
        for item in &self.items {
            s.changed += usize::from(item.has_changes());
            s.rewrites += item.pins.len();
            s.lock_changes += usize::from(item.lock != LockAction::Keep);
            s.unresolved += usize::from(item.resolve.is_some());
            s.drift += item.drift.len();
        }
        s
    }

    /// Whether anything differs (what `--detailed-exitcode` and `check`
    /// turn into exit code 2).
    pub fn has_changes(&self) -> bool {
        self.items
            .iter()
            .any(|i| i.has_changes() || !i.drift.is_empty())
    }

    /// Drift that `check` fails on. `not-installed` counts only when
    /// installed artifacts are required, and never for deferred items.
    pub fn check_findings(&self, require_installed: bool) -> Vec<(&ItemPlan, &Drift)> {
        self.items
            .iter()
            .flat_map(|item| item.drift.iter().map(move |d| (item, d)))
            .filter(|(item, d)| match d {
                Drift::NotInstalled { .. } => require_installed && !item.deferred,
                _ => true,
            })
            .collect()
    }
}

/// A problem that stops planning: the tree cannot be read as the manifest
/// says (a pin file missing, a locator matching the wrong number of
/// places, a file that does not parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub code: &'static str,
    pub item: String,
    /// File (relative to the manifest) and byte ranges in it to point at.
    pub file: Option<String>,
    pub spans: Vec<(std::ops::Range<usize>, String)>,
    pub message: String,
    pub help: Option<String>,
}

/// Everything the planner reads.
pub struct Context<'a> {
    pub manifest: &'a Manifest,
    /// sha256 of the manifest's bytes.
    pub manifest_sha256: String,
    pub lock: &'a Lock,
    pub lock_sha256: Option<String>,
    /// The manifest's directory; every path is relative to it.
    pub root: &'a Path,
    /// Items to plan (empty: all, plus orphans).
    pub selected: &'a [String],
}

/// A file the planner read, with the edits the plan makes to it.
struct TreeFile {
    original: Option<String>,
    current: Option<String>,
    /// Why it could not be read, and what to do, unless it does not exist.
    unreadable: Option<(String, &'static str)>,
}

/// What a pin's locator found in the file as read: `None` when the file
/// cannot be read.
type Found = Option<Result<Vec<pin::Match>, pin::PinError>>;

/// Files read during planning, each read and parsed once.
#[derive(Default)]
pub struct Tree {
    files: BTreeMap<String, TreeFile>,
    hashed: BTreeMap<String, Option<String>>,
    /// Locator results by (item id, pin index).
    found: std::collections::HashMap<(String, usize), Found>,
}

impl Tree {
    /// Runs the locator of every selected item's pins, grouped by file so
    /// that each file is read and parsed once however many pins it holds.
    fn find_pins(&mut self, cx: &Context<'_>) {
        let mut by_file: BTreeMap<&str, Vec<(&str, usize, Locator)>> = BTreeMap::new();
        for (id, item) in &cx.manifest.items {
            if !cx.selected.is_empty() && !cx.selected.contains(id) {
                continue;
            }
            for (i, p) in item.pins.iter().enumerate() {
                if let Ok(locator) = Locator::from_pin(p) {
                    by_file.entry(&p.file).or_default().push((id, i, locator));
                }
            }
        }
        for (file, jobs) in by_file {
            let results: Vec<((String, usize), Found)> = match self.text(cx.root, file) {
                None => jobs
                    .into_iter()
                    .map(|(id, i, _)| ((id.to_owned(), i), None))
                    .collect(),
                Some(text) => {
                    let parsed = pin::Parsed::new(text);
                    jobs.into_iter()
                        .map(|(id, i, loc)| {
                            let found = pin::find_in(&parsed, &loc).and_then(|m| {
                                match (&loc, cx.manifest.items.get(id)) {
                                    (Locator::AptSources(base), Some(item)) => {
                                        crate::apt::sources::check_item(
                                            item,
                                            base,
                                            parsed.apt_sources()?,
                                        )
                                        .map_err(pin::PinError::Parse)?;
                                        Ok(m)
                                    }
                                    _ => Ok(m),
                                }
                            });
                            ((id.to_owned(), i), Some(found))
                        })
                        .collect()
                }
            };
            self.found.extend(results);
        }
    }

    /// The current text of a file the plan rewrites, and whether an earlier
    /// rewrite already changed it.
    fn current(&self, rel: &str) -> Option<(String, bool)> {
        let f = self.files.get(rel)?;
        let current = f.current.clone()?;
        let changed = f.original.as_ref() != Some(&current);
        Some((current, changed))
    }

    fn text(&mut self, root: &Path, rel: &str) -> Option<&str> {
        self.files
            .entry(rel.to_owned())
            .or_insert_with(|| {
                let (text, unreadable) = match pin::read_file(&root.join(rel)) {
                    Ok(text) => (Some(text), None),
                    Err(crate::fsx::ReadError::Io(e))
                        if e.kind() == std::io::ErrorKind::NotFound =>
                    {
                        (None, None)
                    }
                    Err(e) => (None, Some((e.to_string(), e.help()))),
                };
                TreeFile {
                    original: text.clone(),
                    current: text,
                    unreadable,
                }
            })
            .current
            .as_deref()
    }

    fn update(&mut self, rel: &str, text: String) {
        if let Some(f) = self.files.get_mut(rel) {
            f.current = Some(text);
        }
    }

    /// The files whose content the plan changes: (path, new content).
    pub fn changed(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files
            .iter()
            .filter_map(|(p, f)| match (&f.original, &f.current) {
                (Some(a), Some(b)) if a != b => Some((p.as_str(), b.as_str())),
                _ => None,
            })
    }
}

/// The plan and the new state it leads to.
pub struct Planned {
    pub plan: Plan,
    pub tree: Tree,
    /// The lock after apply (for items that need no upstream resolution).
    pub lock: Lock,
}

/// Computes the plan. Errors list every problem found, not the first.
pub fn plan(cx: &Context<'_>) -> Result<Planned, Vec<PlanError>> {
    let mut errors = Vec::new();
    let unknown: Vec<&String> = cx
        .selected
        .iter()
        .filter(|id| !cx.manifest.items.contains_key(id.as_str()))
        .collect();
    for id in unknown {
        errors.push(unknown_item(cx.manifest, id));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut tree = Tree::default();
    tree.find_pins(cx);
    let mut new_lock = cx.lock.clone();
    let mut items = Vec::new();
    let mut to_hash: Vec<(usize, &lock::InstalledFile)> = Vec::new();

    for (id, item) in &cx.manifest.items {
        if !cx.selected.is_empty() && !cx.selected.contains(id) {
            continue;
        }
        let locked = cx.lock.items.get(id);
        match plan_item(cx, id, item, locked, &mut tree) {
            Ok((mut p, next)) => {
                if let Some(next) = next {
                    new_lock.items.insert(id.clone(), next);
                }
                if let Some(locked) = locked {
                    // When the item is re-resolved its files are replaced
                    // anyway; otherwise they must match the lock as it is.
                    if p.resolve.is_none() {
                        let index = items.len();
                        to_hash.extend(locked.files.iter().map(|f| (index, f)));
                    }
                    p.locked = Some(locked.version.clone());
                }
                items.push(p);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }

    if cx.selected.is_empty() {
        for (id, locked) in &cx.lock.items {
            if cx.manifest.items.contains_key(id) {
                continue;
            }
            new_lock.items.remove(id);
            let index = items.len();
            to_hash.extend(locked.files.iter().map(|f| (index, f)));
            items.push(ItemPlan {
                id: id.clone(),
                wanted: None,
                locked: Some(locked.version.clone()),
                source: locked.source.clone(),
                deferred: false,
                drift: vec![Drift::Orphan {
                    what: "lock entry without a manifest item".into(),
                }],
                pins: Vec::new(),
                resolve: None,
                lock: LockAction::Remove,
                remove_files: Vec::new(),
                reinstall: Vec::new(),
            });
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }

    let mut hashed = BTreeMap::new();
    for ((index, file), state) in to_hash.iter().zip(inspect_installed(cx.root, &to_hash)) {
        let item = &mut items[*index];
        hashed.insert(file.path.clone(), state.sha256.clone());
        let orphan = item.wanted.is_none();
        match state.sha256 {
            None if orphan => {}
            None => {
                item.reinstall.push(file.path.clone());
                item.drift.push(Drift::NotInstalled {
                    path: file.path.clone(),
                });
            }
            Some(ref sha) if orphan => {
                if *sha == file.sha256 {
                    item.remove_files.push(file.path.clone());
                } else {
                    item.drift.push(Drift::Orphan {
                        what: format!("{} (modified since locked; left in place)", file.path),
                    });
                }
            }
            Some(ref sha) if *sha != file.sha256 => {
                item.reinstall.push(file.path.clone());
                item.drift.push(Drift::ArtifactDrift {
                    path: file.path.clone(),
                    what: "sha256".into(),
                    found: sha.clone(),
                    expected: file.sha256.clone(),
                });
            }
            Some(_) => {
                if let Some(mode) = state.mode
                    && lock::parse_mode(&file.mode) != Some(mode)
                {
                    item.reinstall.push(file.path.clone());
                    item.drift.push(Drift::ArtifactDrift {
                        path: file.path.clone(),
                        what: "mode".into(),
                        found: lock::mode_string(mode),
                        expected: file.mode.clone(),
                    });
                }
            }
        }
    }
    tree.hashed = hashed;

    let edits = tree
        .files
        .iter()
        .filter_map(|(path, f)| match (&f.original, &f.current) {
            (Some(a), Some(b)) if a != b => Some(FileEdit {
                path: path.clone(),
                diff: unified_diff(path, a, b),
            }),
            _ => None,
        })
        .collect();

    let mut files: BTreeMap<String, Option<String>> = tree
        .files
        .iter()
        .map(|(p, f)| {
            (
                p.clone(),
                f.original.as_deref().map(|t| sha256_hex(t.as_bytes())),
            )
        })
        .collect();
    files.extend(tree.hashed.iter().map(|(p, h)| (p.clone(), h.clone())));

    let plan = Plan {
        format_version: FORMAT_VERSION,
        items,
        edits,
        inputs: Inputs {
            manifest: cx.manifest_sha256.clone(),
            lock: cx.lock_sha256.clone(),
            files,
        },
        selected: cx.selected.to_vec(),
    };
    Ok(Planned {
        plan,
        tree,
        lock: new_lock,
    })
}

fn unknown_item(manifest: &Manifest, id: &str) -> PlanError {
    let known: Vec<&str> = manifest.items.keys().map(String::as_str).collect();
    let nearest = crate::diag::suggest(id, known.iter().copied());
    PlanError {
        code: "vendor::item::unknown",
        item: id.to_owned(),
        file: None,
        spans: Vec::new(),
        message: format!("no item `{id}` in the manifest"),
        help: Some(match nearest {
            Some(n) => format!("did you mean `{n}`? Items: {}", known.join(", ")),
            None => format!("items: {}", known.join(", ")),
        }),
    }
}

/// Template variables for an item at its wanted version.
pub fn item_vars<'a>(id: &'a str, item: &Item) -> Vars<'a> {
    let mut vars = Vars::new()
        .with("item", id)
        .with("version", item.version.clone());
    // The tag template sees the same `item` and `version` (not `tag`).
    let template = match &item.source {
        Source::GithubRelease { tag, .. } => Some(tag),
        Source::GithubFiles { git_ref, .. } => Some(git_ref),
        _ => None,
    };
    let tag = template.and_then(|t| vars.expand(t).ok());
    vars.set("tag", tag.unwrap_or_else(|| item.version.clone()));
    vars
}

type ItemOutcome = (ItemPlan, Option<LockedItem>);

fn plan_item(
    cx: &Context<'_>,
    id: &str,
    item: &Item,
    locked: Option<&LockedItem>,
    tree: &mut Tree,
) -> Result<ItemOutcome, Vec<PlanError>> {
    let fingerprint = crate::apt::fingerprint(cx.manifest, item);
    let vars = item_vars(id, item);
    let mut drift = Vec::new();
    // An apt-package item is checked again when its snapshot moves (its
    // fingerprint covers the snapshot, too).
    let snapshot_moved = crate::apt::snapshot_moved(cx.manifest, item, locked);
    let lock_current =
        locked.is_some_and(|l| l.fingerprint == fingerprint) && snapshot_moved.is_none();
    match locked {
        None => drift.push(Drift::LockOutdated {
            reason: "not locked yet".into(),
        }),
        Some(l) if !lock_current => drift.push(Drift::LockOutdated {
            reason: if l.version != item.version {
                format!("version {} → {}", l.version, item.version)
            } else if let Some(moved) = snapshot_moved {
                moved
            } else {
                "resolution inputs changed in the manifest".into()
            },
        }),
        Some(_) => {}
    }

    let (pins, locked_pins, errors) =
        plan_pins(cx, id, item, &vars, locked, lock_current, tree, &mut drift);
    if !errors.is_empty() {
        return Err(errors);
    }

    // An APT snapshot with a service URL is checked to exist upstream.
    let checks_snapshot = matches!(
        item.source,
        Source::AptSnapshot { url: Some(_), .. } | Source::AptPackage { .. }
    );
    let needs_upstream = item.source.downloads() || !item.assets.is_empty() || checks_snapshot;
    let resolve = (needs_upstream && !lock_current).then(|| resolution(id, item, &vars));
    // For an item resolved upstream, apply completes the entry with what
    // the resolution and installation found.
    let (lock_action, next) = if lock_current {
        (LockAction::Keep, None)
    } else {
        let next = LockedItem {
            version: item.version.clone(),
            fingerprint,
            source: item.source.kind().to_owned(),
            resolved: None,
            pins: locked_pins,
            artifacts: Vec::new(),
            files: Vec::new(),
        };
        let action = if locked.is_some() {
            LockAction::Update
        } else {
            LockAction::Add
        };
        (action, Some(next))
    };

    Ok((
        ItemPlan {
            id: id.to_owned(),
            wanted: Some(item.version.clone()),
            locked: None,
            source: item.source.kind().to_owned(),
            deferred: item.policy.deferred,
            drift,
            pins,
            resolve,
            lock: lock_action,
            remove_files: Vec::new(),
            reinstall: Vec::new(),
        },
        next,
    ))
}

#[allow(clippy::too_many_arguments)]
fn plan_pins(
    cx: &Context<'_>,
    id: &str,
    item: &Item,
    vars: &Vars<'_>,
    locked: Option<&LockedItem>,
    lock_current: bool,
    tree: &mut Tree,
    drift: &mut Vec<Drift>,
) -> (Vec<PinChange>, Vec<LockedPin>, Vec<PlanError>) {
    let mut changes = Vec::new();
    let mut locked_pins = Vec::new();
    let mut errors = Vec::new();
    for (index, pin_spec) in item.pins.iter().enumerate() {
        let error = |code, message: String, help: Option<String>| PlanError {
            code,
            item: id.to_owned(),
            file: Some(pin_spec.file.clone()),
            spans: Vec::new(),
            message,
            help,
        };
        let locator = match Locator::from_pin(pin_spec) {
            Ok(l) => l,
            Err(e) => {
                errors.push(error("vendor::pin::invalid", e, None));
                continue;
            }
        };
        let expected = match vars.expand(pin_spec.value_template()) {
            Ok(v) => v,
            Err(name) => {
                errors.push(error(
                    "vendor::pin::invalid",
                    format!("unknown placeholder `{{{name}}}` in the pin value"),
                    None,
                ));
                continue;
            }
        };
        let described = locator.describe();
        locked_pins.push(LockedPin {
            file: pin_spec.file.clone(),
            locator: described.clone(),
            value: expected.clone(),
        });
        let matches = match tree.found.remove(&(id.to_owned(), index)) {
            Some(Some(Ok(m))) => m,
            Some(Some(Err(e))) => {
                errors.push(error(
                    "vendor::pin::unreadable",
                    format!("{}: {e}", pin_spec.file),
                    None,
                ));
                continue;
            }
            Some(None) | None
                if let Some((why, help)) = tree
                    .files
                    .get(&pin_spec.file)
                    .and_then(|f| f.unreadable.as_ref()) =>
            {
                errors.push(error(
                    "vendor::pin::unreadable",
                    format!(
                        "pin file `{}` of item `{id}` cannot be read: {why}",
                        pin_spec.file
                    ),
                    Some((*help).to_owned()),
                ));
                continue;
            }
            Some(None) | None => {
                errors.push(error(
                    "vendor::pin::file-missing",
                    format!("pin file `{}` of item `{id}` cannot be read", pin_spec.file),
                    Some(format!(
                        "looked for {}; fix the pin's `file` in the manifest",
                        cx.root.join(&pin_spec.file).display()
                    )),
                ));
                continue;
            }
        };
        if matches.len() != pin_spec.expected_count() {
            let mut e = error(
                "vendor::pin::match-count",
                format!(
                    "`{described}` matches {} place{} in {} (expected {})",
                    matches.len(),
                    if matches.len() == 1 { "" } else { "s" },
                    pin_spec.file,
                    pin_spec.expected_count()
                ),
                Some(if matches.is_empty() {
                    "check the locator against the file, or the file path".to_owned()
                } else {
                    "make the locator more specific, or set `count` on the pin to the number of places".to_owned()
                }),
            );
            e.spans = matches
                .iter()
                .map(|m| (m.range.clone(), format!("match at line {}", m.line)))
                .collect();
            errors.push(e);
            continue;
        }
        let locked_value = locked.and_then(|l| {
            l.pins
                .iter()
                .find(|p| p.file == pin_spec.file && p.locator == described)
                .map(|p| p.value.as_str())
        });
        let stale: Vec<&pin::Match> = matches.iter().filter(|m| m.value != expected).collect();
        if stale.is_empty() {
            continue;
        }
        for m in &stale {
            // A pin that differs from what the lock recorded was changed
            // behind the tool's back; one that still holds the locked value
            // simply follows a manifest change.
            let tampered = match locked_value {
                Some(v) => m.value != v || lock_current,
                None => lock_current,
            };
            if tampered {
                drift.push(Drift::PinDrift {
                    file: pin_spec.file.clone(),
                    line: m.line,
                    locator: described.clone(),
                    found: m.value.clone(),
                    expected: expected.clone(),
                });
            }
            changes.push(PinChange {
                file: pin_spec.file.clone(),
                line: m.line,
                locator: described.clone(),
                from: m.value.clone(),
                to: expected.clone(),
            });
        }
        let rewritten = tree
            .current(&pin_spec.file)
            .ok_or_else(|| pin::PinError::Parse("file not read".into()))
            .and_then(|(text, changed)| {
                // An earlier pin already rewrote this file: find again in the
                // new text, where the byte ranges moved.
                let matches = if changed {
                    pin::find(&locator, &text)?
                } else {
                    matches.clone()
                };
                pin::rewrite(&locator, &text, &matches, &expected)
            });
        match rewritten {
            Ok(new_text) => tree.update(&pin_spec.file, new_text),
            Err(e) => errors.push(error(
                "vendor::pin::unwritable",
                format!("cannot rewrite `{described}` in {}: {e}", pin_spec.file),
                None,
            )),
        }
    }
    (changes, locked_pins, errors)
}

fn resolution(id: &str, item: &Item, vars: &Vars<'_>) -> Resolution {
    let tag = vars.get("tag").unwrap_or(&item.version).to_owned();
    let what = match &item.source {
        Source::GithubRelease { repo, .. } => format!("release {tag} of {repo}"),
        Source::GithubFiles { repo, .. } => format!("ref {tag} of {repo}"),
        Source::Url { .. } => format!("{id} {} from its URLs", item.version),
        Source::AptSnapshot { url: Some(url), .. } => {
            format!("snapshot {} at {}", item.version, url.trim_end_matches('/'))
        }
        Source::AptPackage { snapshot, package } => {
            let name = crate::apt::package_name(package, id, &item.version).unwrap_or_default();
            format!("package {name} in the snapshot of {snapshot}")
        }
        Source::AptSnapshot { url: None, .. } | Source::Manual => format!("{id} {}", item.version),
    };
    let downloads = asset_instances(vars, item)
        .into_iter()
        .map(|a| {
            let name = a
                .asset
                .url
                .as_deref()
                .or(a.asset.name.as_deref())
                .and_then(|t| a.vars.expand(t).ok())
                .unwrap_or_else(|| match &item.source {
                    Source::AptPackage { package, .. } => {
                        let name = crate::apt::package_name(package, id, &item.version);
                        format!("{}.deb", name.unwrap_or_default())
                    }
                    _ => String::new(),
                });
            match a.platform {
                Some(p) => format!("{name} ({p})"),
                None => name,
            }
        })
        .collect();
    Resolution {
        what,
        downloads,
        resolved: None,
        artifacts: Vec::new(),
        unknown: None,
    }
}

/// One asset for one platform, with the template variables to expand its
/// names (`os` and `arch` set when it has a platform).
pub struct AssetInstance<'a> {
    pub asset: &'a Asset,
    pub platform: Option<&'a str>,
    pub vars: Vars<'a>,
}

/// Every asset of `item` once per platform it applies to: its own
/// `platforms`, else the item's, else once without a platform.
pub fn asset_instances<'a>(vars: &Vars<'a>, item: &'a Item) -> Vec<AssetInstance<'a>> {
    let mut out = Vec::new();
    for asset in &item.assets {
        let platforms: Vec<Option<&str>> = match &asset.platforms {
            Some(list) => list.iter().map(|p| Some(p.as_str())).collect(),
            None if item.platforms.is_empty() => vec![None],
            None => item.platforms.iter().map(|p| Some(p.as_str())).collect(),
        };
        for platform in platforms {
            let mut v = vars.clone();
            if let Some((os, arch)) = platform.and_then(|p| p.split_once('/')) {
                v.set("os", os);
                v.set("arch", arch);
            }
            out.push(AssetInstance {
                asset,
                platform,
                vars: v,
            });
        }
    }
    out
}

/// Hash and mode of an installed file (`sha256: None` when missing).
struct Installed {
    sha256: Option<String>,
    mode: Option<u32>,
}

/// Hashes installed files on all cores: one large file runs at the
/// single-core hashing speed, many files in parallel.
fn inspect_installed(root: &Path, files: &[(usize, &lock::InstalledFile)]) -> Vec<Installed> {
    let paths: Vec<PathBuf> = files.iter().map(|(_, f)| root.join(&f.path)).collect();
    let inspect = |path: &PathBuf| match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Installed {
            sha256: sha256_file(path).ok(),
            mode: Some(crate::fsx::file_mode(&meta)),
        },
        _ => Installed {
            sha256: None,
            mode: None,
        },
    };
    crate::par::map(&paths, inspect)
}

/// A unified diff with `a/` and `b/` headers and three lines of context.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}
