//! `vendor update [ITEM…]`: bump to the newest allowed version. One item
//! per change by default, as the playbook forbids bundling bumps.

use miette::Result;

use crate::cli::{Cli, UpdateArgs};
use crate::updates::Status;

use super::{Exit, Io, Workspace};

pub fn run(cli: &Cli, args: &UpdateArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let rows = super::outdated::rows(cli, ws, io, &args.items)?;
    let updates: Vec<(String, String, String)> = rows
        .into_iter()
        .filter(|r| r.status == Status::Update)
        .filter_map(|r| Some((r.id, r.wanted, r.newest_allowed?)))
        .collect();
    let Some(first) = updates.first() else {
        io.print("Everything is up to date.\n")?;
        return Ok(Exit::Ok);
    };
    let take = if args.all {
        &updates[..]
    } else {
        std::slice::from_ref(first)
    };
    for (id, old, new) in take {
        if args.dry_run {
            io.print(&format!("would bump {id} {old} → {new}\n"))?;
        } else {
            super::bump::bump(cli, ws, io, id, new)?;
        }
    }
    let rest: Vec<&str> = updates[take.len()..]
        .iter()
        .map(|(id, ..)| id.as_str())
        .collect();
    if !rest.is_empty() {
        io.note(&format!(
            "also outdated: {} (one bump per change: run `vendor update ITEM` for each, or --all)",
            rest.join(", ")
        ));
    }
    if args.dry_run {
        return Ok(Exit::Changes);
    }
    match take {
        [(id, ..)] => super::bump::finish(cli, ws, io, id, args.apply),
        _ => {
            let plan = crate::cli::PlanArgs {
                items: take.iter().map(|(id, ..)| id.clone()).collect(),
                detailed_exitcode: false,
                out: None,
            };
            super::plan::run(cli, &plan, ws, io)
        }
    }
}
