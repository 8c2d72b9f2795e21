//! `vendor list`: the inventory.

use miette::Result;

use crate::cli::{Cli, Format};
use crate::manifest::model::Item;
use crate::pin::{self, Locator};
use crate::plan::{asset_instances, item_vars};
use crate::report::{self, Row};

use super::{Exit, Io, Workspace, format};

pub fn run(cli: &Cli, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = format(cli, &[Format::Human, Format::Json, Format::Markdown])?;
    let loaded = super::load_manifest(ws, false)?;
    let (lock, _) = ws.read_lock()?;
    let rows: Vec<Row> = loaded
        .manifest
        .items
        .iter()
        .map(|(id, item)| Row {
            id: id.clone(),
            wanted: item.version.clone(),
            locked: lock.items.get(id).map(|l| l.version.clone()),
            source: item.source.kind().to_owned(),
            pinned: pinned_at(ws, item),
            ships: ships(id, item),
            deferred: item.policy.deferred,
            sign_off: item.policy.sign_off.clone(),
        })
        .collect();
    let text = match format {
        Format::Json => report::list_json(&rows),
        Format::Markdown => report::list_markdown(&rows),
        _ => report::list_human(&rows),
    };
    io.print(&text)?;
    Ok(Exit::Ok)
}

/// `file:line` of every place each pin matches (`file:?` if none).
fn pinned_at(ws: &Workspace, item: &Item) -> Vec<String> {
    item.pins
        .iter()
        .flat_map(|p| {
            let lines: Vec<usize> = Locator::from_pin(p)
                .ok()
                .zip(pin::read_file(&ws.root.join(&p.file)).ok())
                .and_then(|(loc, text)| pin::find(&loc, &text).ok())
                .map(|ms| ms.iter().map(|m| m.line).collect())
                .unwrap_or_default();
            if lines.is_empty() {
                vec![format!("{}:?", p.file)]
            } else {
                lines.iter().map(|l| format!("{}:{l}", p.file)).collect()
            }
        })
        .collect()
}

/// Install paths per platform, or `pin only`.
fn ships(id: &str, item: &Item) -> Vec<String> {
    if item.assets.is_empty() {
        return vec!["pin only".to_owned()];
    }
    let vars = item_vars(id, item);
    let mut out = Vec::new();
    for a in asset_instances(&vars, item) {
        if let Ok(path) = a.vars.expand(&a.asset.install)
            && !out.contains(&path)
        {
            out.push(path);
        }
    }
    out
}
