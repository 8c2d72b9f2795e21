//! `vendor plan`: what apply would change.

use miette::{IntoDiagnostic, Result, WrapErr};

use crate::cache::Cache;
use crate::cli::{Cli, Format, PlanArgs};
use crate::lock::Lock;
use crate::manifest::Loaded;
use crate::plan::{self, Context, Planned};
use crate::report;

use super::{Exit, Io, Workspace, format};

pub fn run(cli: &Cli, args: &PlanArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = format(cli, &[Format::Human, Format::Json, Format::Markdown])?;
    let mut state = compute(ws, &args.items)?;
    crate::tidy::tidy_if_idle(
        &ws.root,
        &state.loaded.manifest,
        &state.lock,
        &crate::cache::Cache::from_env(),
    );
    resolve(cli, io, &mut state)?;
    let plan = &state.planned.plan;
    if let Some(path) = &args.out {
        let path = &ws.user_path(cli, path);
        // Like everything printed, the plan file never holds the token.
        let text = report::plan_json(plan);
        let text = crate::secret::redact(&text);
        crate::fsx::write_atomic(path, text.as_bytes(), None)
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

/// The manifest, the lock as read and the plan computed from them.
pub struct State {
    /// The manifest's directory.
    pub root: std::path::PathBuf,
    pub loaded: Loaded,
    pub lock: Lock,
    pub planned: Planned,
}

/// Loads and validates the manifest, reads the lock and computes the plan
/// for `selected` items (all when empty), without the network.
pub fn compute(ws: &Workspace, selected: &[String]) -> Result<State> {
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
    Ok(State {
        root: ws.root.clone(),
        loaded,
        lock,
        planned,
    })
}

/// Resolves the items that need it against their upstreams (or, offline,
/// from what the cache remembers).
pub fn resolve(cli: &Cli, io: &mut Io<'_>, state: &mut State) -> Result<()> {
    if state.planned.plan.items.iter().all(|i| i.resolve.is_none()) {
        return Ok(());
    }
    let cache = Cache::from_env();
    let client = super::client(cli, io)?;
    let runtime = super::runtime()?;
    let warnings = runtime.block_on(crate::apply::resolve_plan(
        client.as_ref(),
        &state.root,
        &cache,
        &state.loaded.manifest,
        &state.lock,
        &mut state.planned,
    ))?;
    for warning in warnings {
        io.note(&format!("warning: {warning}"));
    }
    Ok(())
}
