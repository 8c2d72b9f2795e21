//! `vendor bump ITEM VERSION`: verify the upstream has the version and
//! every platform's asset, then set it in vendor.yaml (format-preserving)
//! and show the plan; `--apply` also applies it.
//!
//! VERSION may also be the upstream tag (`v3.3.5`) when it maps back to
//! one version through the item's tag template. The upstream is resolved
//! once: the plan printed afterwards reuses the verification's result.

use std::collections::HashMap;

use miette::{IntoDiagnostic, Report, Result, WrapErr, miette};

use crate::cache::Cache;
use crate::cli::{ApplyArgs, BumpArgs, Cli, PlanArgs};
use crate::manifest::model::{Item, Source};
use crate::plan::item_vars;
use crate::resolve::Resolution;
use crate::source::github::GithubError;
use crate::updates;
use crate::version::{Scheme, tag_for_version, version_from_tag};

use super::{Exit, Io, Workspace};

/// What the upstream checks resolved, per item, for the plan to reuse.
pub type Resolved = HashMap<String, Resolution>;

pub fn run(cli: &Cli, args: &BumpArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    if args.pr.pr {
        let bump = super::pr::Bump {
            id: args.item.clone(),
            version: args.new_version.clone(),
        };
        return super::pr::run(cli, ws, io, &args.pr, &[bump], args.dry_run);
    }
    let resolved = bump(cli, ws, io, &args.item, &args.new_version)?;
    finish(
        cli,
        ws,
        io,
        std::slice::from_ref(&args.item),
        args.apply,
        resolved,
    )
}

/// Checks upstream and rewrites the manifest; nothing is written when a
/// check fails.
pub fn bump(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    id: &str,
    version: &str,
) -> Result<Resolved> {
    bump_all(cli, ws, io, &[(id.to_owned(), version.to_owned())])
}

/// The version `given` names for `item`: itself, or, when it is one of
/// the item's upstream tags in form (`v3.3.5` for `v{version}`), the
/// version that tag maps back to. A tag is taken only when that reading
/// is unambiguous: the template adds text around the version, the
/// manifest's current version is not itself written in tag form, and the
/// mapped version parses in the item's versioning scheme.
pub(super) fn version_named(id: &str, item: &Item, given: &str) -> Option<String> {
    let template = match &item.source {
        Source::GithubRelease { tag, .. } => tag,
        Source::GithubFiles { git_ref, .. } => git_ref,
        _ => return None,
    };
    let vars = item_vars(id, item);
    let version = version_from_tag(template, &vars, given)?;
    let tag_form = |v: &str| version_from_tag(template, &vars, v).is_some_and(|x| x != v);
    (version != given
        && !tag_form(&item.version)
        && Scheme::default_for(item).parse(&version).is_ok())
    .then_some(version)
}

/// Several bumps at once, all or nothing: every version is checked
/// upstream before the manifest is written, once.
pub fn bump_all(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    bumps: &[(String, String)],
) -> Result<Resolved> {
    let loaded = super::load_manifest(ws, false)?;
    let ids: Vec<String> = bumps.iter().map(|(id, _)| id.clone()).collect();
    super::known_items(&loaded.manifest, &ids)?;
    let mut text = loaded.source.text.to_string();
    let mut notes = Vec::new();
    let mut resolved = Resolved::new();
    for (id, given) in bumps {
        let Some(item) = loaded.manifest.items.get(id) else {
            continue;
        };
        let latest;
        let given = if given == "latest" && crate::apt::SnapshotSource::of(item).is_some() {
            latest = latest_snapshot(cli, ws, io, id, item)?;
            notes.push(format!("the newest snapshot of {id} is {latest}"));
            &latest
        } else {
            given
        };
        let as_tag = version_named(id, item, given);
        if let Some(version) = &as_tag {
            notes.push(format!("`{given}` is {id}'s tag for version {version}"));
        }
        let version = as_tag.as_ref().unwrap_or(given);
        if item.version == *version {
            notes.push(format!("{id} is already at {version}"));
            continue;
        }
        // A version that cannot be written is refused before upstream is asked.
        let next_text = updates::set_version(&text, id, version)?;
        let mut wanted = item.clone();
        wanted.version = version.clone();
        let typed_tag = as_tag.is_some();
        let manifest = &loaded.manifest;
        if let Some(resolution) = verify_upstream(cli, ws, io, manifest, id, &wanted, typed_tag)? {
            resolved.insert(id.clone(), resolution);
        }
        // The packages pinned in this snapshot must still be there.
        let mut bumped = manifest.clone();
        bumped.items.insert(id.clone(), wanted.clone());
        for dep in crate::apt::dependents(manifest, std::slice::from_ref(id)) {
            let Some(dep_item) = bumped.items.get(&dep) else {
                continue;
            };
            let found = verify_upstream(cli, ws, io, &bumped, &dep, dep_item, false)
                .wrap_err_with(|| format!("{dep} {} is not in {id} {version}", dep_item.version))
                .wrap_err_with(|| {
                    format!("{id} cannot be bumped to {version}; vendor.yaml is unchanged")
                })?;
            if let Some(resolution) = found {
                resolved.insert(dep, resolution);
            }
        }
        text = next_text;
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
    Ok(resolved)
}

/// A missing release or ref, with its suggestions in the form the user
/// types: versions for a version, tags for a tag.
fn as_typed(err: Report, id: &str, item: &Item, typed_tag: bool) -> Report {
    let template = match &item.source {
        Source::GithubRelease { tag, .. } => tag,
        Source::GithubFiles { git_ref, .. } => git_ref,
        _ => return err,
    };
    let (what, nearest) = match err.downcast_ref::<GithubError>() {
        Some(GithubError::ReleaseNotFound {
            repo, tag, nearest, ..
        }) => (format!("{repo} has no release tagged `{tag}`"), nearest),
        Some(GithubError::RefNotFound {
            repo,
            git_ref,
            nearest,
            ..
        }) => (
            format!("{repo} has no tag, branch or commit `{git_ref}`"),
            nearest,
        ),
        _ => return err,
    };
    let vars = item_vars(id, item);
    let typed: Vec<String> = nearest
        .iter()
        .filter_map(|tag| {
            if typed_tag {
                Some(tag.clone())
            } else {
                let v = version_from_tag(template, &vars, tag)?;
                (tag_for_version(template, &vars, &v).as_deref() == Some(tag)).then_some(v)
            }
        })
        .collect();
    let help = match typed.split_first() {
        None => "no release is close; `vendor outdated` lists what upstream has".to_owned(),
        Some((best, [])) => format!("did you mean `{best}`? (`vendor bump {id} {best}`)"),
        Some((best, rest)) => format!(
            "did you mean `{best}`? (`vendor bump {id} {best}`) Also close: {}",
            rest.iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    miette!(
        code = "vendor::github::release-not-found",
        help = help,
        "{what}"
    )
}

/// The checks the playbook's bump target made: the release exists and
/// every platform's asset (and checksum file) is there. Offline, only a
/// version this machine resolved before (a rollback) is accepted.
/// The timestamp of a snapshot item's newest state (its `latest` URL),
/// verified to serve the same signed releases.
fn latest_snapshot(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    id: &str,
    item: &Item,
) -> Result<String> {
    let Some(client) = super::client(cli, io)? else {
        return Err(miette!(
            code = "vendor::bump::offline",
            help = "run online to find the newest snapshot",
            "{id}: finding the newest snapshot needs the network"
        ));
    };
    let runtime = super::runtime()?;
    runtime
        .block_on(crate::apt::latest(&client, &ws.root, id, item))
        .map(|(ts, _)| ts)
        .wrap_err_with(|| {
            format!("{id} cannot be bumped to its newest snapshot; vendor.yaml is unchanged")
        })
}

#[allow(clippy::too_many_arguments)]
fn verify_upstream(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    manifest: &crate::manifest::model::Manifest,
    id: &str,
    item: &Item,
    typed_tag: bool,
) -> Result<Option<Resolution>> {
    let snapshot = matches!(
        item.source,
        Source::AptSnapshot { url: Some(_), .. } | Source::AptPackage { .. }
    );
    if !item.source.downloads() && item.assets.is_empty() && !snapshot {
        return Ok(None);
    }
    let Some(client) = super::client(cli, io)? else {
        let fingerprint = crate::apt::fingerprint(manifest, item);
        return match Cache::from_env().resolution(&fingerprint) {
            Some(_) => Ok(None),
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
        .block_on(crate::resolve::resolve_in(
            &client,
            &ws.root,
            Some(manifest),
            id,
            item,
            lock.items.get(id),
        ))
        .map(Some)
        .map_err(|e| as_typed(e, id, item, typed_tag))
        .wrap_err_with(|| {
            format!(
                "{id} {} cannot be bumped to; vendor.yaml is unchanged",
                item.version
            )
        })
}

/// Prints the plan for the bumped items, or applies it. The plan takes
/// the upstream resolutions the bump's checks made (`resolved`) instead of
/// asking upstream again.
pub fn finish(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    ids: &[String],
    apply: bool,
    mut resolved: Resolved,
) -> Result<Exit> {
    // Items looked up in a bumped snapshot are checked again with it.
    let loaded = super::load_manifest(ws, false)?;
    let mut ids = ids.to_vec();
    for dep in crate::apt::dependents(&loaded.manifest, &ids) {
        if !ids.contains(&dep) {
            ids.push(dep);
        }
    }
    let ids = &ids[..];
    if apply {
        let args = ApplyArgs {
            targets: ids.to_vec(),
            no_smoke: false,
        };
        return super::apply::run(cli, &args, ws, io);
    }
    if resolved.is_empty() {
        let args = PlanArgs {
            items: ids.to_vec(),
            detailed_exitcode: false,
            out: None,
        };
        return super::plan::run(cli, &args, ws, io);
    }
    let format = super::format(
        cli,
        &[
            crate::cli::Format::Human,
            crate::cli::Format::Json,
            crate::cli::Format::Markdown,
        ],
    )?;
    let mut state = super::plan::compute(ws, ids)?;
    crate::tidy::tidy_if_idle(
        &ws.root,
        &state.loaded.manifest,
        &state.lock,
        &Cache::from_env(),
    );
    // Set the resolved items aside while the others (if any) resolve.
    let mut reused = Vec::new();
    for (n, item_plan) in state.planned.plan.items.iter_mut().enumerate() {
        if let (Some(resolution), Some(r)) =
            (&mut item_plan.resolve, resolved.remove(&item_plan.id))
        {
            resolution.resolved = r.resolved;
            resolution.artifacts = r.artifacts;
            reused.push((n, item_plan.resolve.take()));
        }
    }
    super::plan::resolve(cli, io, &mut state)?;
    for (n, resolution) in reused {
        state.planned.plan.items[n].resolve = resolution;
    }
    let plan = &state.planned.plan;
    let text = match format {
        crate::cli::Format::Json => crate::report::plan_json(plan),
        crate::cli::Format::Markdown => crate::report::plan_markdown(plan),
        _ => crate::report::plan_human(plan, io.paint, cli.verbose > 0),
    };
    io.print(&text)?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(version: &str, tag: &str) -> Item {
        serde_yaml::from_str(&format!(
            "version: {version}\nsource: {{type: github-release, repo: o/r, tag: \"{tag}\"}}\n"
        ))
        .expect("an item")
    }

    #[test]
    fn a_tag_names_the_version_it_maps_back_to() {
        let traefik = item("3.3.4", "v{version}");
        assert_eq!(
            version_named("traefik", &traefik, "v3.3.5").as_deref(),
            Some("3.3.5")
        );
        // A version is a version.
        assert_eq!(version_named("traefik", &traefik, "3.3.5"), None);
        // `{item}-{version}` tags.
        let tool = item("1.2.0", "{item}-{version}");
        assert_eq!(
            version_named("tool", &tool, "tool-1.3.0").as_deref(),
            Some("1.3.0")
        );
        // The template adds nothing: nothing to map.
        let bare = item("1.2.0", "{version}");
        assert_eq!(version_named("x", &bare, "1.3.0"), None);
        // The manifest already writes versions in tag form (`v1.2` with
        // tags `vv1.2`): `v1.3` is a version, not a tag.
        let odd = item("v1.2", "v{version}");
        assert_eq!(version_named("x", &odd, "v1.3"), None);
    }
}
