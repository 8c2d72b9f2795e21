//! `vendor fetch`: fills the download cache for later offline runs,
//! without touching the tree or the lock. Every artifact passes the
//! verification gate, signatures included, so what is cached for an
//! offline run is what an online apply would accept.

use miette::Result;

use crate::cache::CachedResolution;
use crate::cli::{Cli, FetchArgs};
use crate::resolve::Pending;

use super::{Exit, Io, Workspace};

pub fn run(cli: &Cli, args: &FetchArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let mut state = super::plan::compute(ws, &args.items)?;
    crate::tidy::tidy_if_idle(
        &ws.root,
        &state.loaded.manifest,
        &state.lock,
        &crate::cache::Cache::from_env(),
    );
    super::plan::resolve(cli, io, &mut state)?;
    let mut items: Vec<(&str, Vec<Pending>)> = Vec::new();
    let mut resolutions: Vec<Option<(String, Option<crate::lock::Resolved>)>> = Vec::new();
    for item_plan in &state.planned.plan.items {
        let Some(item) = state.loaded.manifest.items.get(&item_plan.id) else {
            continue;
        };
        match &item_plan.resolve {
            Some(r) if r.is_resolved() => {
                items.push((&item_plan.id, r.artifacts.clone()));
                resolutions.push(Some((
                    crate::apt::fingerprint(&state.loaded.manifest, item),
                    r.resolved.clone(),
                )));
            }
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
                    resolutions.push(None);
                    items.push((
                        &item_plan.id,
                        entry
                            .artifacts
                            .iter()
                            .map(|a| Pending::from_locked(a, allow_http))
                            .collect(),
                    ));
                }
            }
        }
    }
    let cache = super::cache(cli, &state.loaded.manifest)?;
    let cached = items
        .iter()
        .flat_map(|(_, p)| p)
        .filter(|p| p.sha256.as_deref().is_some_and(|s| cache.get(s).is_some()))
        .count();
    let total: usize = items.iter().map(|(_, p)| p.len()).sum();
    let client = super::client(cli, io)?;
    let runtime = super::runtime()?;
    let lock = state.lock.clone();
    let verified = runtime.block_on(async {
        for (id, pending) in &mut items {
            if let Some(item) = state.loaded.manifest.items.get(*id) {
                crate::apply::complete_evidence(
                    client.as_ref(),
                    &ws.root,
                    &cache,
                    id,
                    item,
                    &lock,
                    pending,
                )
                .await?;
            }
        }
        tokio::select! {
            verified = crate::apply::fetch_verified(
                client.as_ref(),
                &ws.root,
                &cache,
                &state.loaded.manifest,
                &items,
            ) => verified,
            stop = crate::interrupt::interrupted() => Err(stop.into()),
        }
    });
    super::remote_notes(cli, io, &cache);
    let verified = verified?;
    // Only once everything verified: a later offline apply re-checks the
    // evidence anyway, through the same gate.
    for ((saved, (_, pending)), verified) in resolutions.into_iter().zip(&items).zip(&verified) {
        if let Some((fingerprint, resolved)) = saved {
            let entry = CachedResolution::verified(resolved, pending, verified);
            let _ = cache.save_resolution(&fingerprint, &entry);
        }
    }
    io.print(&format!(
        "Fetched {} artifact{} into {} ({cached} already cached).\n",
        total,
        if total == 1 { "" } else { "s" },
        cache.dir().display()
    ))?;
    Ok(Exit::Ok)
}
