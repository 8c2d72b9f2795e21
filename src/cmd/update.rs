//! `vendor update [ITEM…]`: bump to the newest allowed version whose
//! release has every platform's asset (newer incomplete releases are
//! named and skipped). One item per change by default, as the playbook
//! forbids bundling bumps.

use miette::Result;

use crate::cli::{Cli, UpdateArgs};
use crate::updates::Status;

use super::{Exit, Io, Workspace};

pub fn run(cli: &Cli, args: &UpdateArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let rows = super::outdated::rows(cli, ws, io, &args.items)?;
    let updates: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| r.status == Status::Update)
        .filter_map(|r| Some((r.id.clone(), r.wanted.clone(), r.newest_allowed.clone()?)))
        .collect();
    let skipped = |io: &mut Io<'_>, id: &str| {
        for r in rows.iter().filter(|r| r.id == id) {
            for s in &r.incomplete {
                io.note(&format!("{id}: skipped {}: {}", s.version, s.describe()));
            }
        }
    };
    let Some(first) = updates.first() else {
        for r in rows.iter().filter(|r| r.status == Status::Incomplete) {
            skipped(io, &r.id);
        }
        let manual: Vec<&str> = rows
            .iter()
            .filter(|r| r.status == Status::Manual)
            .map(|r| r.id.as_str())
            .collect();
        if rows.iter().any(|r| r.status == Status::Incomplete) {
            io.print("No updates found: the newer releases lack assets upstream.\n")?;
        } else if manual.is_empty() {
            io.print("Everything is up to date.\n")?;
        } else {
            io.print(&format!(
                "No updates found; not checked (manual sources): {}.\n",
                manual.join(", ")
            ))?;
        }
        return Ok(Exit::Ok);
    };
    if args.pr.pr {
        // One pull request per bump: every outdated item, each on its own.
        for (id, ..) in &updates {
            skipped(io, id);
        }
        let bumps: Vec<super::pr::Bump> = updates
            .iter()
            .map(|(id, _, new)| super::pr::Bump {
                id: id.clone(),
                version: new.clone(),
            })
            .collect();
        return super::pr::run(cli, ws, io, &args.pr, &bumps, args.dry_run);
    }
    let take = if args.all {
        &updates[..]
    } else {
        std::slice::from_ref(first)
    };
    for (id, ..) in take {
        skipped(io, id);
    }
    let mut resolved = super::bump::Resolved::new();
    if args.dry_run {
        for (id, old, new) in take {
            io.print(&format!("would bump {id} {old} → {new}\n"))?;
        }
    } else {
        let bumps: Vec<(String, String)> = take
            .iter()
            .map(|(id, _, new)| (id.clone(), new.clone()))
            .collect();
        resolved = super::bump::bump_all(cli, ws, io, &bumps)?;
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
    let ids: Vec<String> = take.iter().map(|(id, ..)| id.clone()).collect();
    super::bump::finish(cli, ws, io, &ids, args.apply, resolved)
}
