//! Rendering plans.

use std::fmt::Write;

use crate::plan::{Drift, ItemPlan, LockAction, Plan, Resolution, UpstreamChange};

use super::Paint;

/// The one-line summary under every plan.
pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary();
    if !plan.has_changes() {
        return format!("No changes: {} item{} in sync.", s.items, plural(s.items));
    }
    let mut parts = vec![format!(
        "{} pin rewrite{} in {} file{}",
        s.rewrites,
        plural(s.rewrites),
        s.files,
        plural(s.files)
    )];
    parts.push(format!(
        "{} lock change{}",
        s.lock_changes,
        plural(s.lock_changes)
    ));
    if s.unresolved > 0 {
        parts.push(format!("{} to resolve upstream", s.unresolved));
    }
    let installs: usize = plan.items.iter().map(|i| i.reinstall.len()).sum();
    if installs > 0 {
        parts.push(format!("{installs} file{} to reinstall", plural(installs)));
    }
    let removals: usize = plan.items.iter().map(|i| i.remove_files.len()).sum();
    if removals > 0 {
        parts.push(format!(
            "{removals} orphaned file{} to remove",
            plural(removals)
        ));
    }
    format!(
        "Plan: {} of {} item{} to change: {}.",
        s.changed,
        s.items,
        plural(s.items),
        parts.join(", ")
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Human-readable plan: per item its drift and actions, then the diffs and
/// the summary. Items in sync are listed only with `verbose`.
pub fn plan_human(plan: &Plan, paint: Paint, verbose: bool) -> String {
    let mut out = String::new();
    for item in &plan.items {
        if !verbose && !item.has_changes() && item.drift.is_empty() {
            continue;
        }
        item_human(&mut out, item, paint);
        out.push('\n');
    }
    for edit in &plan.edits {
        out.push_str(&paint.diff(&edit.diff));
        if !edit.diff.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&paint.bold(&summary_line(plan)));
    out.push('\n');
    out
}

fn versions(item: &ItemPlan) -> String {
    match (&item.locked, &item.wanted) {
        (Some(l), Some(w)) if l != w => format!("{l} → {w}"),
        (_, Some(w)) => w.clone(),
        (Some(l), None) => format!("{l} → (removed)"),
        (None, None) => String::new(),
    }
}

fn item_human(out: &mut String, item: &ItemPlan, paint: Paint) {
    let mut tags = vec![item.source.clone()];
    if item.deferred {
        tags.push("deferred".into());
    }
    let _ = writeln!(
        out,
        "{} {} {}",
        paint.bold(&item.id),
        versions(item),
        paint.dim(&format!("({})", tags.join(", ")))
    );
    for d in &item.drift {
        let _ = writeln!(out, "  {}: {}", paint.yellow(d.kind()), drift_text(d));
    }
    for p in &item.pins {
        let _ = writeln!(
            out,
            "  {} {}:{}  {}  {:?} → {:?}",
            paint.yellow("~ rewrite"),
            p.file,
            p.line,
            paint.dim(&p.locator),
            p.from,
            p.to
        );
    }
    if let Some(r) = &item.resolve {
        resolution_human(out, r, paint);
    }
    for f in &item.reinstall {
        let _ = writeln!(
            out,
            "  {} {f} {}",
            paint.green("+ install"),
            paint.dim("(from the lock)")
        );
    }
    for f in &item.remove_files {
        let _ = writeln!(out, "  {} {f}", paint.red("- remove"));
    }
    let lock = match (item.lock, item.resolve.is_some()) {
        (LockAction::Keep, _) => None,
        (LockAction::Add, false) => Some(paint.green("+ lock: add")),
        (LockAction::Add, true) => Some(paint.green("+ lock: add after resolution")),
        (LockAction::Update, false) => Some(paint.yellow("~ lock: update")),
        (LockAction::Update, true) => Some(paint.yellow("~ lock: update after resolution")),
        (LockAction::Remove, _) => Some(paint.red("- lock: remove")),
    };
    if let Some(lock) = lock {
        let _ = writeln!(out, "  {lock}");
    }
    if !item.has_changes() && item.drift.is_empty() {
        let _ = writeln!(out, "  {}", paint.green("in sync"));
    }
}

fn resolution_human(out: &mut String, r: &Resolution, paint: Paint) {
    if !r.is_resolved() {
        let why = r.unknown.as_deref().unwrap_or("known after resolution");
        let _ = writeln!(
            out,
            "  {} {} {}",
            paint.cyan("? resolve"),
            r.what,
            // May quote an upstream's error message.
            paint.dim(&format!("({})", crate::term::Shown(why)))
        );
        for d in &r.downloads {
            let _ = writeln!(
                out,
                "    {} {d}  {}",
                paint.cyan("↓"),
                paint.dim("size and sha256 unknown until resolved")
            );
        }
        return;
    }
    let commit = r
        .resolved
        .as_ref()
        .and_then(|x| x.commit.as_deref())
        .map(|c| format!(" at {}", c.get(..12).unwrap_or(c)))
        .unwrap_or_default();
    let _ = writeln!(out, "  {} {}{commit}", paint.cyan("✓ resolved"), r.what);
    for a in &r.artifacts {
        let size = a.size.map_or_else(|| "size unknown".to_owned(), human_size);
        let sha = match &a.sha256 {
            Some(s) => format!("sha256 {}…", s.get(..16).unwrap_or(s)),
            None => "sha256 recorded on first use".to_owned(),
        };
        let platform = a
            .platform
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    {} {}{platform}  {}",
            paint.cyan("↓"),
            a.name,
            paint.dim(&format!(
                "{size}, {sha}, trusted by {}",
                crate::resolve::describe(&a.trust)
            ))
        );
    }
}

/// Sizes for people: `12.3 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

/// A sentence for one drift finding (without the item or kind).
pub fn drift_text(d: &Drift) -> String {
    match d {
        Drift::LockOutdated { reason } => reason.clone(),
        Drift::PinDrift {
            file,
            line,
            locator,
            found,
            expected,
        } => format!("{file}:{line} {locator} holds {found:?}, expected {expected:?}"),
        Drift::ArtifactDrift {
            path,
            what,
            found,
            expected,
        } => format!("{path}: {what} is {found}, expected {expected}"),
        Drift::NotInstalled { path } => format!("{path} is not installed"),
        Drift::Orphan { what } => what.clone(),
        Drift::UpstreamChanged {
            change,
            subject,
            found,
            expected,
        } => format!(
            "{}: upstream now has {found}, the lock has {expected}",
            upstream_subject(*change, subject)
        ),
    }
}

/// What an upstream change is about, in words.
fn upstream_subject(change: UpstreamChange, subject: &str) -> String {
    match change {
        UpstreamChange::Retagged => format!("{subject} was re-tagged"),
        UpstreamChange::AssetChanged => format!("{subject} changed under the same tag"),
        UpstreamChange::AssetMissing => format!("{subject} disappeared upstream"),
        UpstreamChange::ReleaseMissing => format!("{subject} disappeared"),
        UpstreamChange::ImmutabilityLost => format!("{subject} is no longer immutable"),
        UpstreamChange::AttestationMissing => format!("the attestation of {subject} disappeared"),
    }
}

/// The plan as stable JSON (`format_version` first).
pub fn plan_json(plan: &Plan) -> String {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "summary".into(),
            serde_json::to_value(plan.summary()).unwrap_or_default(),
        );
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// The plan as a Markdown pull-request comment.
pub fn plan_markdown(plan: &Plan) -> String {
    let mut out = String::from("### vendor plan\n\n");
    let changed: Vec<&ItemPlan> = plan
        .items
        .iter()
        .filter(|i| i.has_changes() || !i.drift.is_empty())
        .collect();
    if !changed.is_empty() {
        out.push_str("| item | version | drift | actions |\n|---|---|---|---|\n");
        for item in changed {
            let drift: Vec<&str> = item.drift.iter().map(Drift::kind).collect();
            let mut actions = Vec::new();
            if !item.pins.is_empty() {
                actions.push(format!("{} pin rewrite(s)", item.pins.len()));
            }
            if item.resolve.is_some() {
                actions.push("resolve upstream".to_owned());
            }
            if item.lock != LockAction::Keep {
                actions.push(format!("lock {}", lock_word(item.lock)));
            }
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                item.id,
                versions(item),
                drift.join(", "),
                actions.join(", ")
            );
        }
        out.push('\n');
    }
    for edit in &plan.edits {
        let _ = write!(
            out,
            "<details><summary><code>{}</code></summary>\n\n```diff\n{}```\n\n</details>\n\n",
            edit.path, edit.diff
        );
    }
    out.push_str(&summary_line(plan));
    out.push('\n');
    out
}

fn lock_word(action: LockAction) -> &'static str {
    match action {
        LockAction::Keep => "keep",
        LockAction::Add => "add",
        LockAction::Update => "update",
        LockAction::Remove => "remove",
    }
}
