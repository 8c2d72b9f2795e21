//! `vendor fetch`: fills the download cache for later offline runs,
//! without touching the tree or the lock.

use miette::Result;

use crate::cache::Cache;
use crate::cli::{Cli, FetchArgs};
use crate::resolve::Pending;

use super::{Exit, Io, Workspace};

pub fn run(cli: &Cli, args: &FetchArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let mut state = super::plan::compute(ws, &args.items)?;
    super::plan::resolve(cli, io, &mut state)?;
    let mut pending: Vec<Pending> = Vec::new();
    for item_plan in &state.planned.plan.items {
        let Some(item) = state.loaded.manifest.items.get(&item_plan.id) else {
            continue;
        };
        match &item_plan.resolve {
            Some(r) if r.is_resolved() => pending.extend(r.artifacts.iter().cloned()),
            Some(r) => {
                return Err(miette::miette!(
                    code = "vendor::fetch::unresolved",
                    "{} cannot be fetched: {}",
                    item_plan.id,
                    r.unknown.as_deref().unwrap_or("not resolved")
                ));
            }
            None => {
                let allow_http = item.source.allows_http();
                if let Some(entry) = state.lock.items.get(&item_plan.id) {
                    pending.extend(
                        entry
                            .artifacts
                            .iter()
                            .map(|a| Pending::from_locked(a, allow_http)),
                    );
                }
            }
        }
    }
    let cache = Cache::from_env();
    let cached = pending
        .iter()
        .filter(|p| p.sha256.as_deref().is_some_and(|s| cache.get(s).is_some()))
        .count();
    let client = super::client(cli, io)?;
    let total = pending.len();
    let runtime = super::runtime()?;
    let fetched = runtime.block_on(crate::install::fetch_all(client.as_ref(), &cache, pending))?;
    remember_resolutions(&state, &cache, &fetched);
    io.print(&format!(
        "Fetched {} artifact{} into {} ({cached} already cached).\n",
        total,
        if total == 1 { "" } else { "s" },
        cache.dir().display()
    ))?;
    Ok(Exit::Ok)
}

/// Records what each newly resolved item resolved to, so a later offline
/// apply can use the fetched artifacts (as `apply` does after installing).
fn remember_resolutions(
    state: &super::plan::State,
    cache: &Cache,
    fetched: &[crate::install::Fetched],
) {
    let mut rest = fetched;
    for item_plan in &state.planned.plan.items {
        let n = match &item_plan.resolve {
            Some(r) => r.artifacts.len(),
            None => state
                .lock
                .items
                .get(&item_plan.id)
                .map_or(0, |e| e.artifacts.len()),
        };
        let (mine, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        let (Some(r), Some(entry)) = (
            &item_plan.resolve,
            state.planned.lock.items.get(&item_plan.id),
        ) else {
            continue;
        };
        let mut entry = entry.clone();
        entry.resolved = r.resolved.clone();
        entry.artifacts = mine.iter().map(|f| f.artifact.clone()).collect();
        let _ = cache.save_resolution(&entry);
    }
}
