//! `vendor check`: the offline CI gate.

use std::collections::BTreeMap;

use miette::{IntoDiagnostic, Result, WrapErr};

use crate::cli::{CheckArgs, Cli, Format};
use crate::manifest::{Loaded, Part, PathSeg};
use crate::report;

use super::{Exit, Io, UsageError, Workspace, format};

pub fn run(cli: &Cli, args: &CheckArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = format(cli, &[Format::Human, Format::Json, Format::Github])?;
    let mut state = super::plan::compute(ws, &args.items)?;
    crate::tidy::tidy_if_idle(
        &ws.root,
        &state.loaded.manifest,
        &state.lock,
        &crate::cache::Cache::from_env(),
    );
    if args.upstream {
        upstream(cli, io, &mut state)?;
    }
    let plan = &state.planned.plan;
    let findings = plan.check_findings(args.installed);
    let items = plan.items.iter().filter(|i| i.wanted.is_some()).count();
    let policy = match &args.base {
        Some(rev) => policy(ws, rev, &state)?,
        None => Policy::default(),
    };
    let advisories = if args.advisories {
        advisory_findings(cli, io, &state)?
    } else {
        Vec::new()
    };
    let mut text = match format {
        Format::Json => with_policy_json(
            &report::check_json(&findings, items),
            &policy,
            args.base.is_some(),
        ),
        Format::Github => {
            // Annotations go to stdout for the runner; the verdict to stderr.
            io.note(&format!(
                "check: {items} items, {} findings",
                findings.len()
            ));
            let lines = item_lines(&state.loaded);
            let file = ws
                .manifest
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let manifest = report::ManifestLines {
                file: &file,
                lines: &lines,
            };
            report::check_github(&findings, &ws.display_root(), &manifest)
        }
        _ => report::check_human(&findings, items, io.paint),
    };
    match format {
        Format::Json => {}
        Format::Github => text.push_str(&policy.github()),
        _ => text.push_str(&policy.human(io.paint)),
    }
    if args.advisories {
        match format {
            Format::Json => text = report::advisory::with_advisories_json(&text, &advisories),
            Format::Github => {
                let file = ws
                    .manifest
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let file = match ws.display_root().as_str() {
                    "." | "" => file,
                    root => format!("{}/{file}", root.trim_end_matches('/')),
                };
                let lines = item_lines(&state.loaded);
                text.push_str(&report::advisory::advisories_github(
                    &advisories,
                    &file,
                    &lines,
                ));
            }
            _ => text.push_str(&report::advisory::advisories_human(&advisories, io.paint)),
        }
    }
    io.print(&text)?;
    let advisory_failed = advisories.iter().any(crate::advisory::Finding::fails);
    Ok(
        if findings.is_empty() && !policy.violated() && !advisory_failed {
            Exit::Ok
        } else {
            Exit::Changes
        },
    )
}

/// Re-reads upstream for every planned item that has a lock entry and
/// adds what changed to the item's drift.
fn upstream(cli: &Cli, io: &mut Io<'_>, state: &mut super::plan::State) -> Result<()> {
    let Some(client) = super::client(cli, io)? else {
        return Err(UsageError(
            "`check --upstream` asks upstream, which --offline and --frozen forbid".into(),
        )
        .into());
    };
    let scratch = tempfile::tempdir()
        .into_diagnostic()
        .wrap_err("cannot create a scratch directory")?;
    let runtime = super::runtime()?;
    let manifest = &state.loaded.manifest;
    let lock = &state.lock;
    let wanted: Vec<(
        usize,
        &str,
        &crate::manifest::model::Item,
        &crate::lock::LockedItem,
    )> = state
        .planned
        .plan
        .items
        .iter()
        .enumerate()
        .filter_map(|(n, p)| {
            let (id, item) = manifest.items.get_key_value(&p.id)?;
            Some((n, id.as_str(), item, lock.items.get(&p.id)?))
        })
        .collect();
    // Every item at once; drift (and the first failure) in plan order.
    let results = runtime.block_on(crate::jobs::ordered(wanted, |(n, id, item, locked)| {
        let scratch = scratch.path();
        let client = &client;
        let root = &state.root;
        async move {
            if crate::apt::is_verified(item) {
                let found = crate::apt::recheck(client, root, manifest, id, item, locked).await;
                return (n, found);
            }
            (
                n,
                crate::upstream::recheck(client, id, item, locked, scratch).await,
            )
        }
    }));
    for (n, result) in results {
        let plan = &mut state.planned.plan.items[n];
        let found =
            result.map_err(|e| e.wrap_err(format!("{}: cannot re-check upstream", plan.id)))?;
        plan.drift.extend(found);
    }
    Ok(())
}

/// The advisories affecting each checked item's locked version.
fn advisory_findings(
    cli: &Cli,
    io: &mut Io<'_>,
    state: &super::plan::State,
) -> Result<Vec<crate::advisory::Finding>> {
    let manifest = &state.loaded.manifest;
    let items: Vec<(&str, &crate::manifest::model::Item)> = state
        .planned
        .plan
        .items
        .iter()
        .filter(|p| state.lock.items.contains_key(&p.id))
        .filter_map(|p| manifest.items.get_key_value(&p.id))
        .map(|(id, item)| (id.as_str(), item))
        .collect();
    let today = crate::advisory::today();
    let mut findings = Vec::new();
    for (id, item, found) in super::advisories::lookups(cli, io, items, true)? {
        let Some(locked) = state.lock.items.get(id) else {
            continue;
        };
        let eval = crate::advisory::evaluate(id, item, &locked.version, &found.advisories, &today);
        if !eval.unknown.is_empty() {
            io.note(&format!(
                "warning: {id}: cannot evaluate {} in the item's versioning scheme",
                eval.unknown.join(", ")
            ));
        }
        findings.extend(eval.findings);
    }
    Ok(findings)
}

/// The line of each item's key in the manifest.
fn item_lines(loaded: &Loaded) -> BTreeMap<String, usize> {
    loaded
        .manifest
        .items
        .keys()
        .filter_map(|id| {
            let path = [PathSeg::Key("items".into()), PathSeg::Key(id.clone())];
            let span = loaded.span_of(&path, Part::Key)?;
            Some((id.clone(), loaded.source.line_col(span.start).0))
        })
        .collect()
}

/// The change policy against a base revision (DESIGN §2: one item per
/// bump; some items need a named approver).
#[derive(Debug, Default)]
struct Policy {
    /// Items whose version changes (or that are added or removed) since
    /// the base.
    bumped: Vec<(String, Option<String>, Option<String>)>,
    /// Items among them that need sign-off, and by whom.
    sign_off: Vec<(String, String)>,
}

fn policy(ws: &Workspace, rev: &str, state: &super::plan::State) -> Result<Policy> {
    let (_, base) = super::diff::lock_at(ws, rev)?;
    let diff = crate::lockdiff::diff(&base, &state.planned.lock);
    let mut policy = Policy::default();
    for item in diff.items {
        if !item.version.changed() {
            continue;
        }
        if let Some(who) = state
            .loaded
            .manifest
            .items
            .get(&item.item)
            .and_then(|i| i.policy.sign_off.clone())
        {
            policy.sign_off.push((item.item.clone(), who));
        }
        policy
            .bumped
            .push((item.item, item.version.old, item.version.new));
    }
    Ok(policy)
}

impl Policy {
    fn violated(&self) -> bool {
        self.bumped.len() > 1
    }

    fn bundled_message(&self) -> String {
        let ids: Vec<&str> = self.bumped.iter().map(|(id, ..)| id.as_str()).collect();
        format!(
            "this change bumps {} items ({}); one item per bump: split it into one change per item",
            ids.len(),
            ids.join(", ")
        )
    }

    fn sign_off_messages(&self) -> Vec<String> {
        self.sign_off
            .iter()
            .map(|(id, who)| {
                let (old, new) = self
                    .bumped
                    .iter()
                    .find(|(b, ..)| b == id)
                    .map(|(_, o, n)| (o.clone().unwrap_or_default(), n.clone().unwrap_or_default()))
                    .unwrap_or_default();
                format!("{id} {old} → {new} needs sign-off by {who}")
            })
            .collect()
    }

    fn human(&self, paint: crate::report::Paint) -> String {
        let mut out = String::new();
        if self.violated() {
            out.push_str(&format!(
                "{} {}\n",
                paint.red("policy"),
                self.bundled_message()
            ));
        }
        for m in self.sign_off_messages() {
            out.push_str(&format!("{} {m}\n", paint.yellow("sign-off")));
        }
        out
    }

    fn github(&self) -> String {
        use crate::report::annotation::command;
        let mut out = String::new();
        if self.violated() {
            let title = [("title", "vendor policy")];
            out.push_str(&command("error", &title, &self.bundled_message()));
        }
        for m in self.sign_off_messages() {
            out.push_str(&command("notice", &[("title", "vendor sign-off")], &m));
        }
        out
    }
}

/// Adds the policy verdict to `check --format json` output.
fn with_policy_json(text: &str, policy: &Policy, asked: bool) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_owned();
    };
    if asked && let Some(obj) = doc.as_object_mut() {
        let bumped: Vec<_> = policy
            .bumped
            .iter()
            .map(|(id, old, new)| serde_json::json!({"item": id, "old": old, "new": new}))
            .collect();
        let sign_off: Vec<_> = policy
            .sign_off
            .iter()
            .map(|(id, who)| serde_json::json!({"item": id, "by": who}))
            .collect();
        obj.insert(
            "policy".into(),
            serde_json::json!({"bumped": bumped, "one_bump_per_change": !policy.violated(), "sign_off": sign_off}),
        );
        if policy.violated() {
            obj.insert("in_sync".into(), serde_json::json!(false));
        }
    }
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}
