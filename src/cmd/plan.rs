//! `vendor plan`: what apply would change.

use miette::{IntoDiagnostic, Result, WrapErr};

use crate::cli::{Cli, Format, PlanArgs};
use crate::manifest::Loaded;
use crate::plan::{self, Context, Planned};
use crate::report;

use super::{Exit, Io, Workspace, format};

pub fn run(cli: &Cli, args: &PlanArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = format(cli, &[Format::Human, Format::Json, Format::Markdown])?;
    let (_, planned) = compute(ws, &args.items)?;
    let plan = &planned.plan;
    if let Some(path) = &args.out {
        crate::fsx::write_atomic(path, report::plan_json(plan).as_bytes(), None)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write the plan to {}", path.display()))?;
    }
    let text = match format {
        Format::Json => report::plan_json(plan),
        Format::Markdown => report::plan_markdown(plan),
        _ => report::plan_human(plan, io.paint, cli.verbose > 0),
    };
    io.print(&text)?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Ok
    })
}

/// Loads and validates the manifest, reads the lock and computes the plan
/// for `selected` items (all when empty).
pub fn compute(ws: &Workspace, selected: &[String]) -> Result<(Loaded, Planned)> {
    let loaded = super::load_manifest(ws, false)?;
    let (lock, lock_sha256) = ws.read_lock()?;
    let cx = Context {
        manifest: &loaded.manifest,
        manifest_sha256: crate::hash::sha256_hex(loaded.source.text.as_bytes()),
        lock: &lock,
        lock_sha256,
        root: &ws.root,
        selected,
    };
    let planned = plan::plan(&cx).map_err(|errors| super::plan_errors(ws, errors))?;
    Ok((loaded, planned))
}
