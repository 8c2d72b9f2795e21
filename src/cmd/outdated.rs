//! `vendor outdated`: newer upstream versions allowed by each item's
//! constraint. Exit 2 when an update exists.

use miette::Result;

use crate::cli::{Cli, Format, OutdatedArgs};
use crate::report;
use crate::updates::{self, Outdated, Status};

use super::{Exit, Io, Workspace, format};

pub fn run(cli: &Cli, args: &OutdatedArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = format(cli, &[Format::Human, Format::Json, Format::Markdown])?;
    let mut rows = rows(cli, ws, io, &args.items)?;
    mark_security(cli, ws, io, &mut rows, args.security)?;
    if args.security {
        rows.retain(|r| !r.fixes.is_empty());
    }
    let text = match format {
        Format::Json => report::outdated_json(&rows),
        Format::Markdown => report::outdated_markdown(&rows),
        _ => report::outdated_human(&rows),
    };
    io.print(&text)?;
    Ok(if rows.iter().any(|r| r.status == Status::Update) {
        Exit::Changes
    } else {
        Exit::Ok
    })
}

/// The outdated rows of the selected items (all when empty).
pub fn rows(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    selected: &[String],
) -> Result<Vec<Outdated>> {
    let loaded = super::load_manifest(ws, false)?;
    let (lock, _) = ws.read_lock()?;
    super::known_items(&loaded.manifest, selected)?;
    let Some(client) = super::client(cli, io)? else {
        return Err(miette::miette!(
            code = "vendor::outdated::offline",
            help = "run without --offline/--frozen/VENDOR_OFFLINE",
            "finding newer versions needs the network"
        ));
    };
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let wanted = loaded
            .manifest
            .items
            .iter()
            .filter(|(id, _)| selected.is_empty() || selected.contains(id));
        // Every item at once; rows (and the first failure) in manifest order.
        crate::jobs::ordered(wanted, |(id, item)| {
            let locked = lock.items.get(id).map(|l| l.version.clone());
            let (client, manifest, root) = (&client, &loaded.manifest, &ws.root);
            async move {
                if crate::apt::is_verified(item) {
                    return crate::apt::updates::outdated(client, root, manifest, id, item, locked)
                        .await;
                }
                updates::outdated(client, id, item, locked).await
            }
        })
        .await
        .into_iter()
        .collect()
    })
}

/// Fills each update's `fixes`: the advisories affecting the locked
/// version that the newest allowed version is not affected by. Looks
/// advisories up for items with an `advisories` block, or all with `all`.
pub fn mark_security(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    rows: &mut [Outdated],
    all: bool,
) -> Result<()> {
    let loaded = super::load_manifest(ws, false)?;
    let items: Vec<(&str, &crate::manifest::model::Item)> = rows
        .iter()
        .filter(|r| r.status == Status::Update && r.newest_allowed.is_some())
        .filter_map(|r| loaded.manifest.items.get_key_value(&r.id))
        .filter(|(_, item)| all || item.advisories.is_some())
        .map(|(id, item)| (id.as_str(), item))
        .collect();
    let today = crate::advisory::today();
    for (id, item, found) in super::advisories::lookups(cli, io, items, true)? {
        let Some(row) = rows.iter_mut().find(|r| r.id == id) else {
            continue;
        };
        let current = row.locked.clone().unwrap_or_else(|| row.wanted.clone());
        let Some(next) = row.newest_allowed.clone() else {
            continue;
        };
        let now = crate::advisory::evaluate(id, item, &current, &found.advisories, &today);
        let then = crate::advisory::evaluate(id, item, &next, &found.advisories, &today);
        row.fixes = now
            .findings
            .into_iter()
            .filter(|f| !then.findings.iter().any(|t| t.id == f.id))
            .collect();
    }
    Ok(())
}
