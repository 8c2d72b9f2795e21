//! `vendor apply`: carries out the plan.
//!
//! Order matters for crash safety: pin files are replaced first, each by
//! an atomic rename, and the lock last. A run killed in between leaves
//! every file old or new; the next plan sees the pins already rewritten
//! and only the lock to update, so a re-run converges.

use std::collections::BTreeMap;
use std::path::Path;

use miette::{IntoDiagnostic, Result, WrapErr, miette};

use crate::cli::{ApplyArgs, Cli};
use crate::fsx::{self, TreeLock};
use crate::plan::{LockAction, Plan, Planned};

use super::{Exit, Io, Workspace};

pub fn run(cli: &Cli, args: &ApplyArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let saved = saved_plan(&args.targets)?;
    let _guard = lock_tree(ws, io)?;
    let selected = match &saved {
        Some(plan) => plan.selected.clone(),
        None => args.targets.clone(),
    };
    if let Some(plan) = &saved {
        refuse_stale(ws, plan)?;
    }
    let (_, planned) = super::plan::compute(ws, &selected)?;
    if let Some(plan) = &saved
        && (plan.items != planned.plan.items || plan.edits != planned.plan.edits)
    {
        return Err(miette!(
            code = "vendor::plan::stale",
            help = "run `vendor plan --out FILE` again",
            "the saved plan no longer matches what apply would do"
        ));
    }
    let plan = &planned.plan;
    if cli.locked() && plan.items.iter().any(|i| i.lock != LockAction::Keep) {
        let ids: Vec<&str> = plan
            .items
            .iter()
            .filter(|i| i.lock != LockAction::Keep)
            .map(|i| i.id.as_str())
            .collect();
        return Err(miette!(
            code = "vendor::lock::would-change",
            help = "run `vendor apply` without --locked/--frozen and commit the lock",
            "the lock is not up to date for {} (--locked forbids changing it)",
            ids.join(", ")
        ));
    }
    refuse_downloads(plan)?;
    if !plan.has_changes() {
        io.print(&format!(
            "Nothing to apply: {} item{} in sync.\n",
            plan.items.len(),
            if plan.items.len() == 1 { "" } else { "s" }
        ))?;
        return Ok(Exit::Ok);
    }
    execute(ws, &planned)?;
    let s = plan.summary();
    io.print(&format!(
        "Applied: {} pin rewrite{} in {} file{}, {} lock change{}.\n",
        s.rewrites,
        plural(s.rewrites),
        s.files,
        plural(s.files),
        s.lock_changes,
        plural(s.lock_changes)
    ))?;
    Ok(Exit::Ok)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A single target that looks like a path (item ids have no `.` or `/`)
/// is a saved plan.
fn saved_plan(targets: &[String]) -> Result<Option<Plan>> {
    let [target] = targets else { return Ok(None) };
    if !target.contains(['.', '/', '\\']) {
        return Ok(None);
    }
    let text = std::fs::read_to_string(target)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read the saved plan {target}"))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        miette!(
            code = "vendor::plan::invalid",
            help = "a plan file is written by `vendor plan --out FILE`",
            "{target} is not a plan file: {e}"
        )
    })?;
    if plan.format_version != crate::plan::FORMAT_VERSION {
        return Err(miette!(
            code = "vendor::plan::invalid",
            "{target} has plan format {} (this vendor reads {})",
            plan.format_version,
            crate::plan::FORMAT_VERSION
        ));
    }
    Ok(Some(plan))
}

/// Takes the tree lock, waiting (and saying so) if another run holds it.
fn lock_tree(ws: &Workspace, io: &mut Io<'_>) -> Result<TreeLock> {
    match TreeLock::acquire(&ws.root, false) {
        Ok(lock) => Ok(lock),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            io.note("waiting for another vendor run on this tree to finish…");
            TreeLock::acquire(&ws.root, true)
                .into_diagnostic()
                .wrap_err("cannot lock the tree")
        }
        Err(e) => Err(e)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot lock the tree at {}", ws.root.display())),
    }
}

/// Refuses a saved plan whose inputs changed, naming each one.
fn refuse_stale(ws: &Workspace, plan: &Plan) -> Result<()> {
    let mut changed = Vec::new();
    let hash = |p: &Path| crate::hash::sha256_file(p).ok();
    if hash(&ws.manifest).as_deref() != Some(plan.inputs.manifest.as_str()) {
        changed.push(format!("the manifest {}", ws.manifest.display()));
    }
    if hash(&ws.lock) != plan.inputs.lock {
        changed.push(format!("the lock {}", ws.lock.display()));
    }
    let files: BTreeMap<&String, Option<String>> = plan
        .inputs
        .files
        .keys()
        .map(|f| (f, hash(&ws.root.join(f))))
        .collect();
    for (path, now) in files {
        if plan.inputs.files.get(path) != Some(&now) {
            changed.push(path.clone());
        }
    }
    if changed.is_empty() {
        return Ok(());
    }
    Err(miette!(
        code = "vendor::plan::stale",
        help = "run `vendor plan --out FILE` again and review the new plan",
        "the saved plan is stale: changed since it was made: {}",
        changed.join(", ")
    ))
}

/// Items whose plan needs downloads cannot be applied by this version.
fn refuse_downloads(plan: &Plan) -> Result<()> {
    let blocked: Vec<&str> = plan
        .items
        .iter()
        .filter(|i| i.resolve.is_some() || !i.reinstall.is_empty())
        .map(|i| i.id.as_str())
        .collect();
    if blocked.is_empty() {
        return Ok(());
    }
    let ready: Vec<&str> = plan
        .items
        .iter()
        .filter(|i| i.has_changes() && !blocked.contains(&i.id.as_str()))
        .map(|i| i.id.as_str())
        .collect();
    let help = if ready.is_empty() {
        "resolving upstream releases and downloading artifacts is not supported yet".to_owned()
    } else {
        format!(
            "resolving upstream releases and downloading artifacts is not supported yet; \
             `vendor apply {}` applies the items that need no download",
            ready.join(" ")
        )
    };
    Err(miette!(
        code = "vendor::apply::needs-download",
        help = help,
        "nothing applied: {} need{} upstream resolution or downloads",
        blocked.join(", "),
        if blocked.len() == 1 { "s" } else { "" }
    ))
}

fn execute(ws: &Workspace, planned: &Planned) -> Result<()> {
    for (rel, text) in planned.tree.changed() {
        let path = ws.root.join(rel);
        fsx::write_atomic(&path, text.as_bytes(), None)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    }
    for item in &planned.plan.items {
        for rel in &item.remove_files {
            let path = ws.root.join(rel);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e)
                        .into_diagnostic()
                        .wrap_err_with(|| format!("cannot remove {}", path.display()));
                }
            }
        }
    }
    let text = planned.lock.render();
    let current = std::fs::read_to_string(&ws.lock).ok();
    if current.as_deref() != Some(text.as_str()) {
        fsx::write_atomic(&ws.lock, text.as_bytes(), None)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", ws.lock.display()))?;
    }
    Ok(())
}
