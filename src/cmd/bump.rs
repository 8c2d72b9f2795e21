//! `vendor bump ITEM VERSION`: verify the upstream has the version and
//! every platform's asset, then set it in vendor.yaml (format-preserving)
//! and show the plan; `--apply` also applies it.

use miette::{IntoDiagnostic, Result, WrapErr, miette};

use crate::cache::Cache;
use crate::cli::{ApplyArgs, BumpArgs, Cli, PlanArgs};
use crate::manifest::model::Source;
use crate::updates;

use super::{Exit, Io, Workspace};

pub fn run(cli: &Cli, args: &BumpArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    bump(cli, ws, io, &args.item, &args.new_version)?;
    finish(cli, ws, io, std::slice::from_ref(&args.item), args.apply)
}

/// Checks upstream and rewrites the manifest; nothing is written when a
/// check fails.
pub fn bump(cli: &Cli, ws: &Workspace, io: &mut Io<'_>, id: &str, version: &str) -> Result<()> {
    bump_all(cli, ws, io, &[(id.to_owned(), version.to_owned())])
}

/// Several bumps at once, all or nothing: every version is checked
/// upstream before the manifest is written, once.
pub fn bump_all(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    bumps: &[(String, String)],
) -> Result<()> {
    let loaded = super::load_manifest(ws, false)?;
    let ids: Vec<String> = bumps.iter().map(|(id, _)| id.clone()).collect();
    super::known_items(&loaded.manifest, &ids)?;
    let mut text = loaded.source.text.to_string();
    let mut notes = Vec::new();
    for (id, version) in bumps {
        let Some(item) = loaded.manifest.items.get(id) else {
            continue;
        };
        if item.version == *version {
            notes.push(format!("{id} is already at {version}"));
            continue;
        }
        let mut wanted = item.clone();
        wanted.version = version.clone();
        verify_upstream(cli, ws, io, id, &wanted)?;
        text = updates::set_version(&text, id, version)?;
        notes.push(format!(
            "{id}: {} → {version} in {}",
            item.version,
            ws.manifest.display()
        ));
        if let Some(who) = &item.policy.sign_off {
            notes.push(format!(
                "{id} requires sign-off by {who}; keep this bump in a change of its own"
            ));
        }
    }
    if text != *loaded.source.text {
        crate::fsx::write_atomic(&ws.manifest, text.as_bytes(), None)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", ws.manifest.display()))?;
    }
    for note in notes {
        io.note(&note);
    }
    Ok(())
}

/// The checks the playbook's bump target made: the release exists and
/// every platform's asset (and checksum file) is there. Offline, only a
/// version this machine resolved before (a rollback) is accepted.
fn verify_upstream(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    id: &str,
    item: &crate::manifest::model::Item,
) -> Result<()> {
    let snapshot = matches!(item.source, Source::AptSnapshot { url: Some(_) });
    if !item.source.downloads() && item.assets.is_empty() && !snapshot {
        return Ok(());
    }
    let Some(client) = super::client(cli, io)? else {
        let fingerprint = crate::lock::fingerprint(item);
        return match Cache::from_env().resolution(&fingerprint) {
            Some(_) => Ok(()),
            None => Err(miette!(
                code = "vendor::bump::offline",
                help = "run online to check the upstream, or bump to a version installed before on this machine",
                "{id} {} was never resolved on this machine, and --offline forbids checking upstream",
                item.version
            )),
        };
    };
    let (lock, _) = ws.read_lock()?;
    let runtime = super::runtime()?;
    runtime
        .block_on(crate::resolve::resolve(
            &client,
            &ws.root,
            id,
            item,
            lock.items.get(id),
        ))
        .map(|_| ())
        .wrap_err_with(|| {
            format!(
                "{id} {} cannot be bumped to; vendor.yaml is unchanged",
                item.version
            )
        })
}

/// Prints the plan for the bumped items, or applies it.
pub fn finish(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    ids: &[String],
    apply: bool,
) -> Result<Exit> {
    if apply {
        let args = ApplyArgs {
            targets: ids.to_vec(),
            no_smoke: false,
        };
        return super::apply::run(cli, &args, ws, io);
    }
    let args = PlanArgs {
        items: ids.to_vec(),
        detailed_exitcode: false,
        out: None,
    };
    super::plan::run(cli, &args, ws, io)
}
