//! `vendor diff`: renders a lock change for review. By default the lock
//! at `HEAD` against the working tree's; `--base REV` picks another
//! revision; `OLD NEW` compares two lock files. A lock absent at the
//! revision (a new file) is an empty lock.
//!
//! A renderer: it exits 0 whatever changed, 1 on an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use miette::{IntoDiagnostic, Result, WrapErr, miette};

use crate::cli::{Cli, DiffArgs, Format};
use crate::lock::Lock;
use crate::lockdiff::{self, GithubRepo, ItemDiff, LockDiff};
use crate::manifest::model::Source;
use crate::report::{self, Sides, SmokeEvidence};

use super::{Exit, Io, Workspace, format};

/// Where smoke records live, beside the manifest: `<dir>/<item>.json`.
const SMOKE_DIR: &str = ".vendor/smoke";

pub fn run(cli: &Cli, args: &DiffArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = format(
        cli,
        &[
            Format::Human,
            Format::Json,
            Format::Markdown,
            Format::Commit,
        ],
    )?;
    let (base, target) = match (&args.old, &args.new) {
        (Some(old), Some(new)) => (file_side(cli, ws, old)?, file_side(cli, ws, new)?),
        _ => {
            let rev = args.base.as_deref().unwrap_or("HEAD");
            let (lock, _) = ws.read_lock()?;
            let target = Side {
                label: "the working tree".to_owned(),
                lock,
            };
            (git_side(ws, rev)?, target)
        }
    };
    let mut diff = lockdiff::diff(&base.lock, &target.lock);
    diff.attach_links(&github_repos(ws));
    if matches!(format, Format::Markdown | Format::Commit | Format::Json) {
        attach_notes(cli, ws, io, &mut diff)?;
    }
    attach_security(cli, ws, io, &mut diff)?;
    let sides = Sides {
        base: &base.label,
        target: &target.label,
    };
    let text = match format {
        Format::Json => report::diff_json(&diff, sides),
        Format::Markdown => report::diff_markdown(&diff, sides),
        Format::Commit => commit_message(ws, &diff, io)?,
        _ => report::diff_human(&diff, sides, io.paint),
    };
    io.print(&text)?;
    Ok(Exit::Ok)
}

/// A one-item change of the working tree against `rev`, rendered for a
/// pull request: the commit message, the markdown body, and the ids of
/// the advisories it fixes.
pub(super) struct Rendered {
    pub commit: String,
    pub markdown: String,
    pub fixes: Vec<String>,
}

/// Renders the working tree's lock change against `rev` as `vendor diff
/// --format commit` and `--format markdown` would.
pub(super) fn rendered(cli: &Cli, ws: &Workspace, io: &mut Io<'_>, rev: &str) -> Result<Rendered> {
    let base = git_side(ws, rev)?;
    let (lock, _) = ws.read_lock()?;
    let mut diff = lockdiff::diff(&base.lock, &lock);
    diff.attach_links(&github_repos(ws));
    attach_notes(cli, ws, io, &mut diff)?;
    attach_security(cli, ws, io, &mut diff)?;
    let sides = Sides {
        base: &base.label,
        target: "the working tree",
    };
    let fixes = diff
        .items
        .iter()
        .filter_map(|i| i.security.as_ref())
        .flat_map(|s| s.fixes.iter().map(|f| f.id.clone()))
        .collect();
    Ok(Rendered {
        commit: commit_message(ws, &diff, io)?,
        markdown: report::diff_markdown(&diff, sides),
        fixes,
    })
}

/// Fetches the release notes of each bumped GitHub-release item, when
/// online. A note that cannot be fetched is skipped with a warning: the
/// diff stands without it.
fn attach_notes(cli: &Cli, ws: &Workspace, io: &mut Io<'_>, diff: &mut LockDiff) -> Result<()> {
    let Ok(loaded) = crate::manifest::load(&ws.manifest) else {
        return Ok(());
    };
    let wanted: Vec<&mut ItemDiff> = diff
        .items
        .iter_mut()
        .filter(|i| i.version.old.is_some() && i.version.new.is_some() && i.version.changed())
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let Some(client) = super::client(cli, io)? else {
        return Ok(());
    };
    let runtime = super::runtime()?;
    for item_diff in wanted {
        let Some(item) = loaded.manifest.items.get(&item_diff.item) else {
            continue;
        };
        let Source::GithubRelease { repo, tag } = &item.source else {
            continue;
        };
        let (Some(old), Some(new)) = (&item_diff.version.old, &item_diff.version.new) else {
            continue;
        };
        let fetched = runtime.block_on(crate::notes::between(
            &client,
            repo,
            &item_diff.item,
            item,
            tag,
            old,
            new,
        ));
        match fetched {
            Ok(notes) => item_diff.notes = notes,
            Err(e) => io.note(&format!(
                "warning: release notes of {} not fetched: {e}",
                item_diff.item
            )),
        }
    }
    Ok(())
}

/// The advisories each version change fixes or introduces, for items
/// with an `advisories` block or a kept answer (from `check
/// --advisories`): asked afresh when online, else (or when asking fails,
/// with a warning) the last answer, said how old.
fn attach_security(cli: &Cli, ws: &Workspace, io: &mut Io<'_>, diff: &mut LockDiff) -> Result<()> {
    let Ok(loaded) = crate::manifest::load(&ws.manifest) else {
        return Ok(());
    };
    let store = crate::advisory::store::open();
    let wanted: Vec<(&str, &crate::manifest::model::Item)> = diff
        .items
        .iter()
        .filter(|i| i.version.old.is_some() && i.version.new.is_some() && i.version.changed())
        .filter_map(|i| loaded.manifest.items.get_key_value(&i.item))
        .filter(|(_, item)| {
            let sources = crate::advisory::Sources::of(item);
            !sources.is_empty()
                && (item.advisories.is_some()
                    || crate::advisory::store::load(&store, &sources).is_some())
        })
        .map(|(id, item)| (id.as_str(), item))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let online = match super::advisories::lookups(cli, io, wanted.clone(), true) {
        Ok(found) => found,
        Err(e) => {
            io.note(&format!(
                "warning: advisories not fetched ({e}); using the last answers"
            ));
            super::advisories::lookups(cli, io, wanted, false).unwrap_or_default()
        }
    };
    for (id, item, lookup) in online {
        let Some(item_diff) = diff.items.iter_mut().find(|d| d.item == id) else {
            continue;
        };
        let (Some(old), Some(new)) = (&item_diff.version.old, &item_diff.version.new) else {
            continue;
        };
        item_diff.security = Some(crate::advisory::SecurityChange::between(
            id, item, old, new, &lookup,
        ));
    }
    Ok(())
}

/// One side of the comparison: a lock and how to name it.
struct Side {
    label: String,
    lock: Lock,
}

/// A lock file named on the command line; it must exist.
fn file_side(cli: &Cli, ws: &Workspace, path: &Path) -> Result<Side> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(ws.user_path(cli, path))
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read the lock file {label}"))?;
    Ok(Side {
        lock: parse_lock(&text, &label)?,
        label,
    })
}

/// Parses a lock's text; an empty file (`/dev/null`) is an empty lock.
fn parse_lock(text: &str, what: &str) -> Result<Lock> {
    if text.trim().is_empty() {
        return Ok(Lock::default());
    }
    Lock::parse(text).map_err(|message| {
        miette!(
            code = "vendor::lock::invalid",
            "{what} is not a valid lock file: {message}"
        )
    })
}

// ---------------------------------------------------------------------------
// git
// ---------------------------------------------------------------------------

/// The lock as committed at `rev`, read with git from the manifest's
/// directory.
fn git_side(ws: &Workspace, rev: &str) -> Result<Side> {
    lock_at(ws, rev).map(|(label, lock)| Side { label, lock })
}

/// The lock as committed at `rev` (empty if the lock is not in that
/// commit), with a label naming it.
pub(super) fn lock_at(ws: &Workspace, rev: &str) -> Result<(String, Lock)> {
    let dir = &ws.root;
    let prefix = git(dir, &["rev-parse", "--show-prefix"]).map_err(|e| {
        miette!(
            code = "vendor::diff::not-a-repository",
            help = "without a git repository, compare two lock files: `vendor diff OLD NEW`",
            "cannot read the lock at {rev}: {} is not in a git repository ({e})",
            dir.display()
        )
    })?;
    let commit = git(
        dir,
        &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")],
    )
    .map_err(|_| {
        miette!(
            code = "vendor::diff::unknown-revision",
            help = "give a branch, tag or commit with --base (a new repository has no HEAD until its first commit)",
            "`{rev}` does not name a commit in the repository at {}",
            dir.display()
        )
    })?;
    let name = ws
        .lock
        .file_name()
        .map_or_else(|| crate::lock::FILE_NAME.into(), |n| n.to_string_lossy());
    let object = format!("{}:{}{name}", commit.trim(), prefix.trim());
    let label = rev.to_owned();
    if git(dir, &["cat-file", "-e", &object]).is_err() {
        // Not in that commit: the lock is new.
        return Ok((label, Lock::default()));
    }
    let text = git(dir, &["cat-file", "blob", &object])
        .map_err(|e| miette!("cannot read {object} from git: {e}"))?;
    let lock = parse_lock(&text, &format!("{name} at {rev}"))?;
    Ok((label, lock))
}

/// Runs `git -C dir ARGS`: its stdout, or why it failed (git's message).
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    // git needs no GitHub token: it stays out of git's environment.
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(match stderr.trim() {
            "" => format!("git {} failed", args.join(" ")),
            message => message.to_owned(),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| format!("git {} printed non-UTF-8", args.join(" ")))
}

// ---------------------------------------------------------------------------
// manifest and smoke records
// ---------------------------------------------------------------------------

/// The GitHub repository of each item of the manifest, for links to
/// upstream changes. A manifest that cannot be read gives no links: the
/// diff is about the lock and stands without it.
fn github_repos(ws: &Workspace) -> BTreeMap<String, GithubRepo> {
    let Ok(loaded) = crate::manifest::load(&ws.manifest) else {
        return BTreeMap::new();
    };
    loaded
        .manifest
        .items
        .into_iter()
        .filter_map(|(id, item)| {
            let (repo, releases) = match item.source {
                Source::GithubRelease { repo, .. } => (repo, true),
                Source::GithubFiles { repo, .. } => (repo, false),
                _ => return None,
            };
            Some((id, GithubRepo { repo, releases }))
        })
        .collect()
}

/// The commit message of a one-item change; several items are refused
/// (the playbook: one item per bump).
fn commit_message(ws: &Workspace, diff: &LockDiff, io: &mut Io<'_>) -> Result<String> {
    // An apt-package item checked again at a bumped snapshot, at the same
    // version, is part of that snapshot's bump, not a bump of its own.
    let (rechecked, bumps): (Vec<_>, Vec<_>) = diff
        .items
        .iter()
        .cloned()
        .partition(crate::apt::diff::is_recheck);
    let rechecked = if bumps.len() == 1 {
        rechecked
    } else {
        Vec::new()
    };
    let items = if rechecked.is_empty() {
        diff.items.clone()
    } else {
        bumps
    };
    let item = match items.as_slice() {
        [item] => item,
        [] => {
            return Err(miette!(
                code = "vendor::diff::nothing-to-commit",
                help = "bump an item first: `vendor bump ITEM VERSION`, then `vendor apply`",
                "no lock changes: there is no bump to write a commit message for"
            ));
        }
        items => {
            let ids: Vec<&str> = items.iter().map(|i| i.item.as_str()).collect();
            return Err(miette!(
                code = "vendor::diff::several-items",
                help = "one item per bump: commit each item's lock change on its own \
                        (they have different smoke surfaces and rollbacks)",
                "--format commit writes the message of one bump, but this lock change touches {} items: {}",
                ids.len(),
                ids.join(", ")
            ));
        }
    };
    let record = smoke_record(ws, item, io);
    let smoke = record
        .as_ref()
        .map(|(file, record)| SmokeEvidence { file, record });
    let mut message = report::diff_commit(item, smoke);
    for r in &rechecked {
        message.push_str(&format!(
            "\n{} {} was checked again at the new snapshot.\n",
            r.item,
            r.version.new.as_deref().unwrap_or_default()
        ));
    }
    Ok(message)
}

/// The item's smoke record, when there is one for the new version. A
/// record that cannot be read, or that is about another version, is left
/// out with a note: a commit message must not quote wrong evidence.
fn smoke_record(
    ws: &Workspace,
    item: &ItemDiff,
    io: &mut Io<'_>,
) -> Option<(String, serde_json::Value)> {
    let rel = format!("{SMOKE_DIR}/{}.json", item.item);
    let path: PathBuf = ws.root.join(&rel);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            io.note(&format!(
                "warning: smoke evidence left out: cannot read {rel}: {e}"
            ));
            return None;
        }
    };
    let record: serde_json::Value = match serde_json::from_str(&text) {
        Ok(record) => record,
        Err(e) => {
            io.note(&format!(
                "warning: smoke evidence left out: {rel} is not JSON: {e}"
            ));
            return None;
        }
    };
    let recorded = record.get("version").and_then(|v| v.as_str());
    if let (Some(recorded), Some(new)) = (recorded, item.version.new.as_deref())
        && recorded != new
    {
        io.note(&format!(
            "warning: smoke evidence left out: {rel} is about version {recorded}, not {new}; re-run the smoke checks"
        ));
        return None;
    }
    Some((rel, record))
}
