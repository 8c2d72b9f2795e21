//! `vendor apply`: carries out the plan (see `crate::apply` for the order
//! of writes that keeps the tree consistent).

use std::collections::BTreeMap;
use std::path::Path;

use miette::{IntoDiagnostic, Result, WrapErr, miette};

use crate::apply;
use crate::cli::{ApplyArgs, Cli};
use crate::fsx::{self, TreeLock};
use crate::plan::{LockAction, Plan};
use crate::smoke;

use super::plan::State;
use super::{Exit, Io, Workspace};

pub fn run(cli: &Cli, args: &ApplyArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let saved = saved_plan(cli, ws, &args.targets)?;
    if !ws.manifest.is_file() {
        // Report the missing manifest without creating a work directory.
        super::load_manifest(ws, false)?;
    }
    let _guard = lock_tree(ws, io)?;
    let state = match &saved {
        Some(plan) => {
            refuse_stale(ws, plan)?;
            let mut state = super::plan::compute(ws, &plan.selected)?;
            adopt(&mut state, plan)?;
            state
        }
        None => {
            let state = super::plan::compute(ws, &args.targets)?;
            // --locked never re-resolves: refuse before asking upstream.
            refuse_lock_change(cli, &state.planned.plan)?;
            state
        }
    };
    // Items are resolved while staging (below), so that an item's
    // downloads start as soon as it is resolved.
    let resolve = saved.is_none();
    let mut state = state;
    // Whatever a killed run left, before anything else (see crate::tidy).
    let cache = super::cache(cli, &state.loaded.manifest)?;
    crate::tidy::tidy(&ws.root, &state.loaded.manifest, &state.lock, &cache);
    refuse_lock_change(cli, &state.planned.plan)?;
    let plan = &state.planned.plan;
    if !plan.has_changes() {
        io.print(&format!(
            "Nothing to apply: {} item{} in sync.\n",
            plan.items.len(),
            plural(plan.items.len())
        ))?;
        return Ok(Exit::Ok);
    }

    let client = super::client(cli, io)?;
    let work = fsx::work_dir(&ws.root)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create the work directory in {}", ws.root.display()))?;
    let stage_dir = tempfile::Builder::new()
        .prefix("staging-")
        .tempdir_in(&work)
        .into_diagnostic()
        .wrap_err("cannot create the staging directory")?;
    // Removed by the signal thread if a signal forces the run to end
    // before it unwinds (see crate::interrupt).
    let _abort_guard = crate::interrupt::remove_on_abort(stage_dir.path());
    let runtime = super::runtime()?;
    let (manifest, old_lock, planned) = (&state.loaded.manifest, &state.lock, &mut state.planned);
    let (warnings, staged) = runtime.block_on(async {
        let staging = apply::stage(
            client.as_ref(),
            &ws.root,
            &cache,
            manifest,
            planned,
            old_lock,
            stage_dir.path(),
            resolve,
        );
        tokio::select! {
            staged = staging => staged,
            stop = crate::interrupt::interrupted() => (Vec::new(), Err(stop.into())),
        }
    });
    for warning in warnings {
        io.note(&format!("warning: {warning}"));
    }
    super::remote_notes(cli, io, &cache);
    let staged = staged?;
    crate::interrupt::check()?;
    let smoked = if args.no_smoke {
        Vec::new()
    } else {
        smoke_staged(cli, ws, io, &state, &staged)?
    };
    let installed: usize = staged.iter().map(|s| s.files.len()).sum();
    crate::interrupt::check()?;
    apply::remember(&cache, &staged);
    // Once the tree starts changing, a signal waits for the commit to end.
    crate::interrupt::critical(|| {
        apply::commit(&ws.root, &ws.lock, &state.planned, &state.lock, staged)
    })?;
    if let Some(signal) = crate::interrupt::signal() {
        return Err(crate::interrupt::Interrupted {
            signal,
            committed: true,
        }
        .into());
    }

    let s = state.planned.plan.summary();
    let installs = if installed > 0 {
        format!(", {installed} file{} installed", plural(installed))
    } else {
        String::new()
    };
    io.print(&format!(
        "Applied: {} pin rewrite{} in {} file{}{installs}, {} lock change{}.\n",
        s.rewrites,
        plural(s.rewrites),
        s.files,
        plural(s.files),
        s.lock_changes,
        plural(s.lock_changes)
    ))?;
    if !smoked.is_empty() {
        io.print(&format!("{}\n", crate::report::smoke_verdict(&smoked)))?;
    }
    Ok(Exit::Ok)
}

/// Runs the smoke checks of every newly resolved item on its staged files,
/// before anything is installed; a failure aborts the apply. Records are
/// saved either way, for `vendor smoke`-style evidence.
fn smoke_staged(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    state: &State,
    staged: &[apply::StagedItem],
) -> Result<Vec<crate::smoke::Record>> {
    let mut records = Vec::new();
    for s in staged {
        let resolved = state
            .planned
            .plan
            .items
            .iter()
            .any(|i| i.id == s.id && i.resolve.is_some());
        let Some(item) = state.loaded.manifest.items.get(&s.id) else {
            continue;
        };
        if !resolved || item.smoke.is_none() {
            continue;
        }
        let targets: Vec<smoke::Target> = s
            .files
            .iter()
            .filter(|f| f.record.is_executable())
            .map(|f| smoke::Target {
                file: f.record.path.clone(),
                path: f.staged.clone(),
                platform: smoke::platform_of(&s.entry, &f.record.from),
            })
            .collect();
        let record = smoke::run_item(&s.id, item, &s.entry.version, &targets);
        // A smoke command killed by Ctrl-C is no verdict on the item.
        crate::interrupt::check()?;
        if let Err(e) = smoke::save(&ws.root, &record) {
            io.note(&format!(
                "warning: cannot save the smoke record of {}: {e}",
                s.id
            ));
        }
        records.push(record);
    }
    if records.is_empty() {
        return Ok(records);
    }
    let report = crate::report::smoke_checks_human(&records, io.paint_err);
    let failed: Vec<&str> = records
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.item.as_str())
        .collect();
    if !failed.is_empty() {
        io.note(report.trim_end());
        return Err(miette!(
            code = "vendor::apply::smoke-failed",
            help = "nothing was installed. Fix the item (version, assets, smoke expectations), or \
                    apply with --no-smoke to install without the checks",
            "smoke checks failed for {} on the staged artifacts",
            failed.join(", ")
        ));
    }
    if !cli.quiet {
        io.note(report.trim_end());
    }
    Ok(records)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `--locked`: the lock must already say everything.
fn refuse_lock_change(cli: &Cli, plan: &Plan) -> Result<()> {
    if !cli.locked() {
        return Ok(());
    }
    let ids: Vec<&str> = plan
        .items
        .iter()
        .filter(|i| i.lock != LockAction::Keep)
        .map(|i| i.id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    Err(miette!(
        code = "vendor::lock::would-change",
        help = "run `vendor apply` without --locked/--frozen and commit the lock",
        "the lock is not up to date for {} (--locked forbids changing it)",
        ids.join(", ")
    ))
}

/// A single target that looks like a path (item ids have no `.` or `/`)
/// is a saved plan.
fn saved_plan(cli: &Cli, ws: &Workspace, targets: &[String]) -> Result<Option<Plan>> {
    let [target] = targets else { return Ok(None) };
    if !target.contains(['.', '/', '\\']) {
        return Ok(None);
    }
    let text = std::fs::read_to_string(ws.user_path(cli, Path::new(target)))
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

/// Takes the saved plan's resolutions, after checking that the plan
/// computed now from the same inputs is the saved one.
fn adopt(state: &mut State, saved: &Plan) -> Result<()> {
    let now = &mut state.planned.plan;
    let same_shape = now.edits == saved.edits
        && now.items.len() == saved.items.len()
        && now.items.iter().zip(&saved.items).all(|(a, b)| {
            let mut b = b.clone();
            b.resolve = b.resolve.map(|mut r| {
                r.resolved = None;
                r.artifacts.clear();
                r.unknown = None;
                r
            });
            *a == b
        });
    if !same_shape {
        return Err(miette!(
            code = "vendor::plan::stale",
            help = "run `vendor plan --out FILE` again",
            "the saved plan no longer matches what apply would do"
        ));
    }
    for (a, b) in now.items.iter_mut().zip(&saved.items) {
        a.resolve.clone_from(&b.resolve);
    }
    Ok(())
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
