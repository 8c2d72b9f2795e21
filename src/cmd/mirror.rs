//! `vendor mirror push|list`: fills the remote cache with everything the
//! lock needs (the air-gap transport: push on the connected side, `apply
//! --offline` on the other) and shows what it holds. The registry itself
//! is [`crate::registry`].

use miette::{Result, miette};

use crate::cli::{Cli, Format, MirrorCommand, MirrorPushArgs};
use crate::registry::layout::Listed;
use crate::resolve::Pending;

use super::{Exit, Io, Workspace, format};

pub fn run(cli: &Cli, command: &MirrorCommand, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    match command {
        MirrorCommand::Push(args) => push(cli, args, ws, io),
        MirrorCommand::List => list(cli, ws, io),
    }
}

fn no_remote() -> miette::Report {
    miette!(
        code = "vendor::registry::none",
        help = "set VENDOR_CACHE_REMOTE=oci://host[:port]/name, or `cache: {remote: …}` in vendor.yaml",
        "no remote cache is configured"
    )
}

fn push(cli: &Cli, args: &MirrorPushArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let state = super::plan::compute(ws, &args.items)?;
    let manifest = &state.loaded.manifest;
    let cache = super::cache(cli, manifest)?;
    let Some(remote) = cache.remote() else {
        return Err(no_remote());
    };
    let mut items: Vec<(&str, Vec<Pending>)> = Vec::new();
    let mut unlocked = Vec::new();
    for item_plan in &state.planned.plan.items {
        let Some(item) = manifest.items.get(&item_plan.id) else {
            continue;
        };
        if item.assets.is_empty() {
            continue;
        }
        match state.lock.items.get(&item_plan.id) {
            Some(entry) if !entry.artifacts.is_empty() => items.push((
                &item_plan.id,
                entry
                    .artifacts
                    .iter()
                    .map(|a| Pending::from_locked(a, item.source.allows_http()))
                    .collect(),
            )),
            _ => unlocked.push(item_plan.id.as_str()),
        }
    }
    if !unlocked.is_empty() {
        return Err(miette!(
            code = "vendor::mirror::unlocked",
            help = "run `vendor apply` (online) first: the remote cache holds what the lock names",
            "not locked, so nothing to push for: {}",
            unlocked.join(", ")
        ));
    }
    let client = super::client(cli, io)?;
    let runtime = super::runtime()?;
    let lock = state.lock.clone();
    let result = runtime.block_on(async {
        for (id, pending) in &mut items {
            if let Some(item) = manifest.items.get(*id) {
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
                client.as_ref(), &ws.root, &cache, manifest, &items,
            ) => verified,
            stop = crate::interrupt::interrupted() => Err(stop.into()),
        }
    });
    let notes = remote.notes();
    for note in &notes {
        io.note(note);
    }
    result?;
    if let Some(why) = remote.unavailable() {
        return Err(miette!(
            code = "vendor::registry::unavailable",
            "the remote cache {} is not usable: {why}",
            remote.shown()
        ));
    }
    let s = remote.stats();
    if s.failures > 0 {
        return Err(miette!(
            code = "vendor::mirror::push-failed",
            help = "check the credentials for the registry (push rights) and its free space",
            "{} upload{} to the remote cache {} failed",
            s.failures,
            if s.failures == 1 { "" } else { "s" },
            remote.shown()
        ));
    }
    let total: usize = items.iter().map(|(_, p)| p.len()).sum();
    io.print(&format!(
        "Pushed to {}: {total} artifact{} of {} item{} ({} uploaded, {} already there), {} manifest{} written.\n",
        remote.shown(),
        plural(total),
        items.len(),
        plural(items.len()),
        s.pushed,
        s.present + s.served,
        s.manifests,
        plural(s.manifests),
    ))?;
    Ok(Exit::Ok)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn list(cli: &Cli, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = format(cli, &[Format::Human, Format::Json])?;
    // The manifest may name the remote; without one, the environment must.
    let setting = if ws.manifest.is_file() {
        let loaded = super::load_manifest(ws, false)?;
        loaded.manifest.cache.and_then(|c| c.remote)
    } else {
        None
    };
    let remote = crate::registry::Remote::configured(setting.as_deref(), cli.offline())?
        .ok_or_else(no_remote)?;
    let runtime = super::runtime()?;
    let listed = runtime.block_on(remote.list())?;
    let text = match format {
        Format::Json => {
            let doc = serde_json::json!({
                "format_version": 1,
                "remote": remote.shown(),
                "items": listed,
            });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )
        }
        _ => human(remote.shown(), &listed),
    };
    io.print(&text)?;
    Ok(Exit::Ok)
}

fn human(remote: &str, listed: &[Listed]) -> String {
    if listed.is_empty() {
        return format!("{remote} holds no item versions.\n");
    }
    let rows: Vec<[String; 5]> = listed
        .iter()
        .map(|l| {
            let size: u64 = l.artifacts.iter().map(|a| a.size).sum();
            let platforms: std::collections::BTreeSet<&str> = l
                .artifacts
                .iter()
                .filter_map(|a| a.platform.as_deref())
                .collect();
            [
                l.item.clone(),
                l.version.clone(),
                format!("{} ({})", l.artifacts.len(), human_size(size)),
                platforms.into_iter().collect::<Vec<_>>().join(", "),
                l.tag.clone(),
            ]
        })
        .collect();
    let head = ["ITEM", "VERSION", "ARTIFACTS", "PLATFORMS", "TAG"];
    let mut widths = head.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = format!("{remote}:\n");
    out.push_str(&line(head.to_vec()));
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn human_size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else if bytes >= 1 << 10 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}
