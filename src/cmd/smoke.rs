//! `vendor smoke`: runs the items' smoke checks on the installed
//! artifacts and saves each item's record for `vendor diff --format commit`.

use miette::{Result, miette};

use crate::cli::{Cli, Format, SmokeArgs};
use crate::report;
use crate::smoke::{self, Record, Status};

use super::{Exit, Io, Workspace, format};

pub fn run(cli: &Cli, args: &SmokeArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = format(cli, &[Format::Human, Format::Json, Format::Markdown])?;
    let loaded = super::load_manifest(ws, false)?;
    super::known_items(&loaded.manifest, &args.items)?;
    let (lock, _) = ws.read_lock()?;
    let mut records = Vec::new();
    for (id, item) in &loaded.manifest.items {
        if !args.items.is_empty() && !args.items.contains(id) {
            continue;
        }
        if item.smoke.is_none() {
            if args.items.contains(id) {
                io.note(&format!("{id}: no smoke checks in vendor.yaml"));
            }
            continue;
        }
        let Some(entry) = lock.items.get(id) else {
            return Err(miette!(
                code = "vendor::smoke::not-locked",
                help = "run `vendor apply` first",
                "{id} is not locked, so nothing of it is installed to smoke-test"
            ));
        };
        let mut targets = smoke::installed_targets(&ws.root, entry);
        if item.policy.deferred {
            // A deferred item need not be installed: check what is.
            targets.retain(|t| t.path.exists());
            if targets.is_empty() {
                io.note(&format!("{id}: deferred and not installed; skipped"));
                continue;
            }
        }
        let record = smoke::run_item(id, item, &entry.version, &targets);
        if let Err(e) = smoke::save(&ws.root, &record) {
            io.note(&format!(
                "warning: cannot save the smoke record of {id}: {e}"
            ));
        }
        records.push(record);
    }
    let text = match format {
        Format::Json => report::smoke_json(&records),
        Format::Markdown => report::smoke_markdown(&records),
        _ => report::smoke_human(&records, io.paint),
    };
    io.print(&text)?;
    failed(&records)
}

fn failed(records: &[Record]) -> Result<Exit> {
    let failed: Vec<&str> = records
        .iter()
        .filter(|r| r.count(Status::Failed) > 0)
        .map(|r| r.item.as_str())
        .collect();
    if failed.is_empty() {
        return Ok(Exit::Ok);
    }
    Err(miette!(
        code = "vendor::smoke::failed",
        "smoke checks failed for {}",
        failed.join(", ")
    ))
}
