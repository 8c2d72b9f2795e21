//! Rendering a lock change (`vendor diff`): for people (`human`), as a
//! pull-request comment (`markdown`), for machines (`json`), and as the
//! playbook's commit message for a one-item bump (`commit`).
//!
//! Trust downgrades and possible re-tags are never left to the details:
//! each format states them before anything else about the item.

use std::fmt::Write;

use serde_json::json;

use crate::lock::{Artifact, InstalledFile, Trust, TrustKind};
use crate::lockdiff::{ArtifactChange, Change, FileChange, ItemDiff, LockDiff, PinChange, Status};
use crate::term::Shown;

use super::Paint;
use super::plan::human_size;

/// What was compared: how to name the old and the new lock.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    /// e.g. `HEAD`, or the old lock's path.
    pub base: &'a str,
    /// e.g. `the working tree`, or the new lock's path.
    pub target: &'a str,
}

/// A smoke-test record to quote in a commit message.
#[derive(Debug, Clone, Copy)]
pub struct SmokeEvidence<'a> {
    /// Where it was read, as shown to the reader.
    pub file: &'a str,
    pub record: &'a serde_json::Value,
}

/// The sentence for an empty diff, in every human-facing format.
const NO_CHANGES: &str = "no lock changes";

// ---------------------------------------------------------------------------
// human
// ---------------------------------------------------------------------------

/// Per item: a heading, its warnings, then every change, one per line.
pub fn diff_human(diff: &LockDiff, sides: Sides<'_>, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint.dim(&format!("vendor diff: {} → {}", sides.base, sides.target))
    );
    if diff.is_empty() {
        let _ = writeln!(out, "{}", paint.green(&format!("{NO_CHANGES}.")));
        return out;
    }
    for item in &diff.items {
        out.push('\n');
        item_human(&mut out, item, paint);
    }
    out.push('\n');
    out.push_str(&paint.bold(&summary(diff)));
    out.push('\n');
    out
}

fn item_human(out: &mut String, item: &ItemDiff, paint: Paint) {
    let source = item.source.new.as_ref().or(item.source.old.as_ref());
    let mut tags = vec![item.status.as_str().to_owned()];
    tags.extend(source.cloned());
    let _ = writeln!(
        out,
        "{} {} {}",
        paint.bold(&item.item),
        versions(&item.version),
        paint.dim(&format!("({})", tags.join(", ")))
    );
    for warning in warnings(item) {
        let _ = writeln!(out, "  {}", paint.red(&paint.bold(&format!("! {warning}"))));
    }
    if let Some(security) = item.security.as_ref().filter(|s| !s.is_empty()) {
        for f in &security.fixes {
            let _ = writeln!(
                out,
                "  {} {}",
                paint.green("fixes"),
                super::advisory::describe(f)
            );
        }
        for f in &security.introduces {
            let _ = writeln!(
                out,
                "  {} {}",
                paint.red("introduces"),
                super::advisory::describe(f)
            );
        }
        if !security.fixes.is_empty() {
            let _ = writeln!(out, "  {}", paint.dim(TAG_ADVICE));
        }
    }
    for (what, change) in [
        ("source", &item.source),
        ("tag", &item.tag),
        ("commit", &item.commit),
    ] {
        if item.status == Status::Changed && change.changed() {
            let _ = writeln!(out, "  {what} {}", arrow(change, |v| v.to_owned()));
        }
    }
    if item.status == Status::Changed && item.immutable.changed() {
        let _ = writeln!(out, "  immutable {}", flag_arrow(&item.immutable));
    }
    if inputs_changed(item) {
        let _ = writeln!(out, "  {}", paint.dim(INPUTS_CHANGED));
    }
    for pin in &item.pins {
        let _ = writeln!(
            out,
            "  {} {}  {}  {}",
            mark(pin.status, "pin", paint),
            pin.file,
            paint.dim(&pin.locator),
            pin_values(pin, |v| format!("{v:?}"))
        );
    }
    for line in crate::apt::diff::lines(item, |v| v.to_owned()) {
        let _ = writeln!(out, "  {line}");
    }
    for artifact in &item.artifacts {
        artifact_human(out, artifact, paint);
    }
    for file in &item.files {
        file_human(out, file, paint);
    }
}

fn artifact_human(out: &mut String, a: &ArtifactChange, paint: Paint) {
    let mut line = format!(
        "  {} {}{}",
        mark(a.status, "artifact", paint),
        a.name,
        platform(a)
    );
    if let Some(old) = &a.renamed_from {
        let _ = write!(line, ", was {old}");
    }
    match (&a.old, &a.new) {
        (Some(old), Some(new)) => {
            let _ = writeln!(out, "{line}");
            for (field, from, to) in artifact_rows(a, old, new, short_sha) {
                let _ = writeln!(out, "      {:<7} {from} → {to}", paint.dim(field));
            }
        }
        (None, Some(new)) => {
            let _ = writeln!(
                out,
                "{line}  {}",
                paint.dim(&artifact_summary(new, short_sha))
            );
        }
        _ => {
            let _ = writeln!(out, "{line}");
        }
    }
}

fn file_human(out: &mut String, f: &FileChange, paint: Paint) {
    let details = file_details(f, short_sha);
    let _ = writeln!(
        out,
        "  {} {}  {}",
        mark(f.status, "file", paint),
        f.path,
        paint.dim(&details)
    );
}

/// `+ artifact`, `- artifact`, `~ artifact`, coloured by status.
fn mark(status: Status, what: &str, paint: Paint) -> String {
    match status {
        Status::Added => paint.green(&format!("+ {what}")),
        Status::Removed => paint.red(&format!("- {what}")),
        Status::Changed => paint.yellow(&format!("~ {what}")),
    }
}

// ---------------------------------------------------------------------------
// json
// ---------------------------------------------------------------------------

/// The diff as stable JSON (`format_version` first).
pub fn diff_json(diff: &LockDiff, sides: Sides<'_>) -> String {
    let doc = json!({
        "format_version": crate::plan::FORMAT_VERSION,
        "base": sides.base,
        "target": sides.target,
        "changed": !diff.is_empty(),
        "trust_downgrade": diff.trust_downgrades().next().is_some()
            || diff.items.iter().any(|i| i.immutability_lost),
        "key_rotation": diff.trust_downgrades().any(|(_, a)| a.key_rotation),
        "retag": diff.items.iter().any(|i| i.retag),
        "items": diff.items,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

// ---------------------------------------------------------------------------
// markdown
// ---------------------------------------------------------------------------

/// A pull-request comment: warnings as callouts, a table of items, then
/// per item a collapsible section with its changes and upstream link.
pub fn diff_markdown(diff: &LockDiff, sides: Sides<'_>) -> String {
    let mut out = String::from("### vendor diff\n\n");
    let _ = writeln!(
        out,
        "Lock changes from {} to {}.\n",
        side_markdown(sides.base),
        side_markdown(sides.target)
    );
    if diff.is_empty() {
        let mut sentence = NO_CHANGES.to_owned();
        sentence[..1].make_ascii_uppercase();
        let _ = writeln!(out, "{sentence}.");
        return out;
    }
    callouts_markdown(&mut out, diff);
    out.push_str("| item | old | new | changes |\n|---|---|---|---|\n");
    for item in &diff.items {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            item.item,
            cell(item.version.old.as_deref().unwrap_or("")),
            cell(item.version.new.as_deref().unwrap_or("")),
            cell(&changes_cell(item))
        );
    }
    for item in &diff.items {
        out.push('\n');
        details_markdown(&mut out, item);
        security_markdown(&mut out, item);
        notes_markdown(&mut out, item);
    }
    out.push('\n');
    out.push_str(&summary(diff));
    out.push('\n');
    out
}

/// The advisories a bump fixes or introduces, and the playbook's advice
/// to tag a release for a security bump.
fn security_markdown(out: &mut String, item: &ItemDiff) {
    let Some(security) = item.security.as_ref().filter(|s| !s.is_empty()) else {
        return;
    };
    let _ = writeln!(out, "\n**Security** (`{}`):\n", item.item);
    for f in &security.fixes {
        let _ = writeln!(out, "- fixes {}", Shown(&super::advisory::describe(f)));
    }
    for f in &security.introduces {
        let _ = writeln!(
            out,
            "- **introduces** {}",
            Shown(&super::advisory::describe(f))
        );
    }
    if let Some(as_of) = &security.as_of {
        let _ = writeln!(out, "- advisories {as_of}");
    }
    if !security.fixes.is_empty() {
        let _ = writeln!(out, "\n> [!IMPORTANT]\n> {}", TAG_ADVICE);
    }
}

/// What a security bump should be followed by (the playbook's last step).
const TAG_ADVICE: &str =
    "This is a security bump: tag a release once it is merged, so the fix ships.";

/// The security lines of a commit message.
fn security_commit(item: &ItemDiff) -> String {
    let mut out = String::new();
    let Some(security) = item.security.as_ref().filter(|s| !s.is_empty()) else {
        return out;
    };
    for f in &security.fixes {
        let _ = writeln!(out, "Fixes {}", Shown(&super::advisory::describe(f)));
    }
    for f in &security.introduces {
        let _ = writeln!(
            out,
            "WARNING: introduces {}",
            Shown(&super::advisory::describe(f))
        );
    }
    if let Some(as_of) = &security.as_of {
        let _ = writeln!(out, "(advisories {as_of})");
    }
    if !security.fixes.is_empty() {
        let _ = writeln!(out, "\n{TAG_ADVICE}");
    }
    out.push('\n');
    out
}

/// The upstream release notes of an item, collapsed.
fn notes_markdown(out: &mut String, item: &ItemDiff) {
    if item.notes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n<details><summary>Release notes of <code>{}</code> ({})</summary>\n",
        item.item,
        item.notes.len()
    );
    // Notes, tags and URLs are upstream's text: escaped here too, so even
    // a colour code shows as text.
    for note in &item.notes {
        let _ = writeln!(out, "#### [{}]({})\n", Shown(&note.tag), Shown(&note.url));
        for line in &note.summary {
            let _ = writeln!(out, "> {}", Shown(line));
        }
        out.push('\n');
    }
    out.push_str("</details>\n");
}

/// `HEAD` as code, a phrase like `the working tree` as it is.
fn side_markdown(side: &str) -> String {
    if side.contains(' ') {
        side.to_owned()
    } else {
        format!("`{side}`")
    }
}

/// One warning callout per kind of finding, each finding a bullet.
fn callouts_markdown(out: &mut String, diff: &LockDiff) {
    let mut downgrades: Vec<String> = diff
        .items
        .iter()
        .filter(|i| i.immutability_lost)
        .map(|i| format!("`{}`: {}", i.item, immutability_text(i, true)))
        .collect();
    downgrades.extend(
        diff.trust_downgrades()
            .map(|(item, a)| format!("`{}`: {}", item.item, downgrade_text(a, true))),
    );
    let retags: Vec<String> = diff
        .items
        .iter()
        .filter(|i| i.retag)
        .map(|i| format!("`{}`: {}", i.item, retag_text(i, true)))
        .collect();
    for (title, lines) in [("Trust downgrade", downgrades), ("Possible re-tag", retags)] {
        if lines.is_empty() {
            continue;
        }
        let _ = writeln!(out, "> [!WARNING]\n> **{title}**");
        for line in lines {
            let _ = writeln!(out, "> - {line}");
        }
        out.push('\n');
    }
}

/// The table's last column: what kinds of things changed.
fn changes_cell(item: &ItemDiff) -> String {
    let mut parts = Vec::new();
    if item.status != Status::Changed {
        parts.push(item.status.as_str().to_owned());
    }
    for (n, noun) in [
        (item.pins.len(), "pin"),
        (item.artifacts.len(), "artifact"),
        (item.packages.len(), "package"),
        (item.files.len(), "file"),
    ] {
        if n > 0 {
            parts.push(count(n, noun));
        }
    }
    if item.status == Status::Changed && item.tag.changed() && !item.version.changed() {
        parts.push("tag".to_owned());
    }
    if item.trust_downgrade {
        parts.push("**⚠ trust downgrade**".to_owned());
    }
    if item.retag {
        parts.push("**⚠ possible re-tag**".to_owned());
    }
    parts.join(", ")
}

fn details_markdown(out: &mut String, item: &ItemDiff) {
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code> {}</summary>\n",
        item.item,
        html(&versions(&item.version))
    );
    if let Some(link) = &item.link {
        let _ = writeln!(out, "Upstream changes: {link}\n");
    }
    let mut general = Vec::new();
    for (what, change) in [
        ("source", &item.source),
        ("tag", &item.tag),
        ("commit", &item.commit),
    ] {
        if item.status == Status::Changed && change.changed() {
            general.push(format!("{what}: {}", arrow(change, |v| format!("`{v}`"))));
        }
    }
    if item.status == Status::Changed && item.immutable.changed() {
        general.push(format!("immutable: {}", flag_arrow(&item.immutable)));
    }
    if inputs_changed(item) {
        general.push(INPUTS_CHANGED.to_owned());
    }
    section_markdown(out, None, &general);
    let pins: Vec<String> = item
        .pins
        .iter()
        .map(|p| {
            format!(
                "`{}` `{}`: {}",
                p.file,
                p.locator,
                pin_values(p, |v| format!("`{v}`"))
            )
        })
        .collect();
    section_markdown(out, Some("Pins"), &pins);
    let packages = crate::apt::diff::lines(item, |v| format!("`{v}`"));
    section_markdown(out, Some("APT packages and suites"), &packages);
    let artifacts: Vec<String> = item.artifacts.iter().map(artifact_markdown).collect();
    section_markdown(out, Some("Artifacts"), &artifacts);
    let files: Vec<String> = item
        .files
        .iter()
        .map(|f| {
            format!(
                "`{}` {}: {}",
                f.path,
                f.status.as_str(),
                file_details(f, code)
            )
        })
        .collect();
    section_markdown(out, Some("Installed files"), &files);
    out.push_str("</details>\n");
}

fn section_markdown(out: &mut String, title: Option<&str>, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    if let Some(title) = title {
        let _ = writeln!(out, "**{title}**\n");
    }
    for line in lines {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
}

fn artifact_markdown(a: &ArtifactChange) -> String {
    let mut text = format!("`{}`{} {}", a.name, platform(a), a.status.as_str());
    if let Some(old) = &a.renamed_from {
        let _ = write!(text, ", renamed from `{old}`");
    }
    match (&a.old, &a.new) {
        (Some(old), Some(new)) => {
            for (field, from, to) in artifact_rows(a, old, new, code) {
                let _ = write!(text, "\n  - {field}: {from} → {to}");
            }
            if a.trust_downgrade {
                text.push_str("\n  - **⚠ trust downgrade**");
            }
            if a.retag {
                text.push_str("\n  - **⚠ sha256 changed under the same version**");
            }
        }
        (None, Some(new)) => {
            let _ = write!(text, ": {}", artifact_summary(new, code));
        }
        _ => {}
    }
    text
}

/// A table cell: pipes escaped, line breaks as `<br>`.
pub(super) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

/// Text inside HTML (the `<summary>` of a details block).
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

// ---------------------------------------------------------------------------
// commit
// ---------------------------------------------------------------------------

/// The playbook's commit message for a change to one item: the subject
/// `chore(<item>): bump <item> <old> → <new>`, then where to read the
/// upstream changelog, any warning, the smoke evidence when there is a
/// record, and the rollback plan.
pub fn diff_commit(item: &ItemDiff, smoke: Option<SmokeEvidence<'_>>) -> String {
    let mut out = subject(item);
    out.push_str("\n\n");
    if let Some(link) = &item.link {
        let _ = writeln!(out, "Changelog: see {link}\n");
    }
    if !item.packages.is_empty() {
        out.push_str("Packages:\n");
        for p in &item.packages {
            let v = |side: &Option<crate::apt::LockedPackage>| {
                side.as_ref().map_or("-".to_owned(), |p| p.version.clone())
            };
            let _ = writeln!(
                out,
                "    {} ({}) {} → {}",
                Shown(&p.name),
                Shown(&p.architecture),
                Shown(&v(&p.old)),
                Shown(&v(&p.new))
            );
        }
        out.push('\n');
    }
    for note in &item.notes {
        let _ = writeln!(out, "{} ({}):", Shown(&note.tag), Shown(&note.url));
        for line in &note.summary {
            let _ = writeln!(out, "    {}", Shown(line));
        }
        out.push('\n');
    }
    out.push_str(&security_commit(item));
    let warnings = warnings(item);
    if !warnings.is_empty() {
        for warning in warnings {
            let _ = writeln!(out, "WARNING: {warning}");
        }
        out.push('\n');
    }
    if let Some(smoke) = smoke {
        let _ = writeln!(out, "Smoke evidence ({}):\n", smoke.file);
        // A record of `vendor smoke` reads as one line per check; anything
        // else is quoted as it is.
        let lines = match serde_json::from_value::<crate::smoke::Record>(smoke.record.clone()) {
            Ok(record) => super::smoke::smoke_evidence(&record),
            Err(_) => serde_json::to_string_pretty(smoke.record)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect(),
        };
        for line in lines {
            let _ = writeln!(out, "    {line}");
        }
        out.push('\n');
    }
    out.push_str(&rollback(item));
    out.push('\n');
    out
}

fn subject(item: &ItemDiff) -> String {
    let id = &item.item;
    let scope = format!("chore({id}):");
    match (&item.version.old, &item.version.new) {
        (Some(old), Some(new)) if old != new => format!("{scope} bump {id} {old} → {new}"),
        (Some(v), Some(_)) => format!("{scope} relock {id} {v}"),
        (None, Some(new)) => format!("{scope} add {id} {new}"),
        (Some(old), None) => format!("{scope} remove {id} {old}"),
        (None, None) => format!("{scope} update {id}"),
    }
}

fn rollback(item: &ItemDiff) -> String {
    let revert = "`git revert` this commit and run `vendor apply`.";
    match (&item.version.old, &item.version.new) {
        (Some(old), Some(new)) if old != new => format!(
            "Rollback: `vendor bump {} {old}` (works offline from the cache), or {revert}",
            item.item
        ),
        _ => format!("Rollback: {revert}"),
    }
}

// ---------------------------------------------------------------------------
// shared pieces
// ---------------------------------------------------------------------------

/// The one-line count under the human and Markdown diffs.
fn summary(diff: &LockDiff) -> String {
    let mut parts = Vec::new();
    for status in [Status::Changed, Status::Added, Status::Removed] {
        let n = diff.items.iter().filter(|i| i.status == status).count();
        if n > 0 {
            parts.push(format!("{} {}", count(n, "item"), status.as_str()));
        }
    }
    let mut text = format!("Lock diff: {}", parts.join(", "));
    let downgrades =
        diff.trust_downgrades().count() + diff.items.iter().filter(|i| i.immutability_lost).count();
    let retags = diff.items.iter().filter(|i| i.retag).count();
    let mut flags = Vec::new();
    if downgrades > 0 {
        flags.push(count(downgrades, "trust downgrade"));
    }
    if retags > 0 {
        flags.push(count(retags, "possible re-tag"));
    }
    if !flags.is_empty() {
        let _ = write!(text, "; {}", flags.join(", "));
    }
    text.push('.');
    text
}

const INPUTS_CHANGED: &str = "the manifest entry's resolution inputs changed";

/// Whether to say the manifest entry changed: a new version always changes
/// it, so only without one is it news.
fn inputs_changed(item: &ItemDiff) -> bool {
    item.fingerprint_changed && !item.version.changed()
}

/// The warnings about one item, as sentences without a prefix.
fn warnings(item: &ItemDiff) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if item.immutability_lost {
        out.push(format!(
            "trust downgrade: {}",
            immutability_text(item, false)
        ));
    }
    out.extend(
        item.artifacts
            .iter()
            .filter(|a| a.trust_downgrade)
            .map(|a| format!("trust downgrade: {}", downgrade_text(a, false))),
    );
    if item.retag {
        out.push(format!("possible re-tag: {}", retag_text(item, false)));
    }
    out
}

/// `name (platform) was trusted by X, now only by Y`.
fn downgrade_text(a: &ArtifactChange, markdown: bool) -> String {
    let name = if markdown {
        code(&a.name)
    } else {
        a.name.clone()
    };
    let Some((o, n)) = a.old.as_ref().zip(a.new.as_ref()) else {
        return format!("{name}{}", platform(a));
    };
    let signers = |t: &crate::lock::Trust| {
        let s = t.signers().join(", ");
        if markdown { code(&s) } else { s }
    };
    if a.key_rotation {
        return format!(
            "{name}{} was signed by {}, now by {}: a new signing key, to confirm through a \
             trusted channel",
            platform(a),
            signers(&o.trust),
            signers(&n.trust)
        );
    }
    if o.trust.kind == n.trust.kind {
        return format!(
            "{name}{} was signed by {}, now only by {}",
            platform(a),
            signers(&o.trust),
            signers(&n.trust)
        );
    }
    format!(
        "{name}{} was trusted by {}, now only by {}",
        platform(a),
        trust_name(o.trust.kind),
        trust_name(n.trust.kind)
    )
}

/// `release v1 was immutable, now v2 is not`: GitHub no longer locks
/// the release's assets and tag.
fn immutability_text(item: &ItemDiff, markdown: bool) -> String {
    let quote = |s: &str| if markdown { code(s) } else { s.to_owned() };
    let old = item.tag.old.as_deref().unwrap_or("?");
    let new = item.tag.new.as_deref().unwrap_or("?");
    let now = match item.immutable.new {
        Some(false) => "is not",
        _ => "is not known to be",
    };
    let release = if old == new {
        format!("release {} was immutable, now it {now}", quote(old))
    } else {
        format!(
            "release {} was immutable, now release {} {now}",
            quote(old),
            quote(new)
        )
    };
    format!("{release}: its assets and tag can be replaced upstream")
}

/// `true → false`, `true → (absent)`.
fn flag_arrow(change: &Change<bool>) -> String {
    let side = |v: Option<bool>| v.map_or_else(|| "(not recorded)".to_owned(), |b| b.to_string());
    format!("{} → {}", side(change.old), side(change.new))
}

/// What changed under an unchanged version and tag.
fn retag_text(item: &ItemDiff, markdown: bool) -> String {
    let quote = |s: &str| if markdown { code(s) } else { s.to_owned() };
    let version = item.version.new.as_deref().unwrap_or("?");
    let mut what: Vec<String> = item
        .artifacts
        .iter()
        .filter(|a| a.retag)
        .map(|a| format!("the sha256 of {}{}", quote(&a.name), platform(a)))
        .collect();
    if let (Some(old), Some(new)) = (&item.commit.old, &item.commit.new)
        && old != new
    {
        what.push(format!(
            "the commit ({} → {})",
            quote(short(old, 12)),
            quote(short(new, 12))
        ));
    }
    format!(
        "version {} is unchanged but {} changed; the upstream release may have been re-tagged",
        quote(version),
        what.join(" and ")
    )
}

/// `old → new`, or the one side there is.
fn versions(version: &Change<String>) -> String {
    match (&version.old, &version.new) {
        (Some(o), Some(n)) if o != n => format!("{o} → {n}"),
        (_, Some(v)) | (Some(v), None) => v.clone(),
        (None, None) => String::new(),
    }
}

/// `old → new` with `(none)` for a missing side.
fn arrow(change: &Change<String>, show: impl Fn(&str) -> String) -> String {
    let side = |v: &Option<String>| v.as_deref().map_or_else(|| "(none)".to_owned(), &show);
    format!("{} → {}", side(&change.old), side(&change.new))
}

fn pin_values(pin: &PinChange, show: impl Fn(&str) -> String) -> String {
    match (&pin.old, &pin.new) {
        (Some(o), Some(n)) => format!("{} → {}", show(o), show(n)),
        (None, Some(v)) | (Some(v), None) => show(v),
        (None, None) => String::new(),
    }
}

/// ` (linux/amd64)`, or nothing for a platform-independent artifact.
fn platform(a: &ArtifactChange) -> String {
    a.platform
        .as_deref()
        .map(|p| format!(" ({p})"))
        .unwrap_or_default()
}

/// `(field, old, new)` for each field of a changed artifact that differs.
fn artifact_rows(
    a: &ArtifactChange,
    old: &Artifact,
    new: &Artifact,
    sha: fn(&str) -> String,
) -> Vec<(&'static str, String, String)> {
    a.changed
        .iter()
        .filter_map(|field| {
            let (from, to) = match *field {
                "url" => (old.url.clone(), new.url.clone()),
                "size" => sizes(old.size, new.size),
                "sha256" => (sha(&old.sha256), sha(&new.sha256)),
                "trust" => (trust_text(&old.trust), trust_text(&new.trust)),
                // The name is shown as `renamed from`.
                _ => return None,
            };
            Some((*field, from, to))
        })
        .collect()
}

/// Sizes for people, in bytes when that is what tells them apart.
fn sizes(old: u64, new: u64) -> (String, String) {
    let (o, n) = (human_size(old), human_size(new));
    if o == n {
        (format!("{old} B"), format!("{new} B"))
    } else {
        (o, n)
    }
}

/// `12.3 MiB, sha256 0123…, trusted by checksum-file (URL)`.
fn artifact_summary(a: &Artifact, sha: fn(&str) -> String) -> String {
    format!(
        "{}, sha256 {}, trusted by {}",
        human_size(a.size),
        sha(&a.sha256),
        trust_text(&a.trust)
    )
}

/// What differs in an installed file, or what an added one is.
fn file_details(f: &FileChange, sha: fn(&str) -> String) -> String {
    match (&f.old, &f.new) {
        (Some(old), Some(new)) => f
            .changed
            .iter()
            .map(|field| {
                let (from, to) = file_field(old, new, field, sha);
                format!("{field} {from} → {to}")
            })
            .collect::<Vec<_>>()
            .join(", "),
        (None, Some(new)) => format!("sha256 {}, mode {}", sha(&new.sha256), new.mode),
        _ => String::new(),
    }
}

fn file_field(
    old: &InstalledFile,
    new: &InstalledFile,
    field: &str,
    sha: fn(&str) -> String,
) -> (String, String) {
    match field {
        "sha256" => (sha(&old.sha256), sha(&new.sha256)),
        "mode" => (old.mode.clone(), new.mode.clone()),
        _ => (old.from.clone(), new.from.clone()),
    }
}

/// `checksum-file (URL)`.
fn trust_text(trust: &Trust) -> String {
    match &trust.by {
        Some(by) => format!("{} ({by})", trust_name(trust.kind)),
        None => trust_name(trust.kind).to_owned(),
    }
}

/// The lock's spelling of a trust source.
fn trust_name(kind: TrustKind) -> &'static str {
    match kind {
        TrustKind::Signature => "signature",
        TrustKind::ChecksumFile => "checksum-file",
        TrustKind::GithubDigest => "github-digest",
        TrustKind::Manifest => "manifest",
        TrustKind::FirstUse => "first-use",
    }
}

/// A sha256 shortened for a terminal line.
fn short_sha(sha: &str) -> String {
    let s = short(sha, 16);
    if s.len() < sha.len() {
        format!("{s}…")
    } else {
        s.to_owned()
    }
}

fn short(text: &str, n: usize) -> &str {
    text.get(..n).unwrap_or(text)
}

/// `1 item`, `2 items`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(count(1, "pin"), "1 pin");
        assert_eq!(count(3, "trust downgrade"), "3 trust downgrades");
    }

    #[test]
    fn short_shas() {
        assert_eq!(short_sha("abc"), "abc");
        assert_eq!(short_sha(&"a".repeat(64)), format!("{}…", "a".repeat(16)));
    }

    #[test]
    fn markdown_escapes() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(html("1 → <2>"), "1 → &lt;2&gt;");
    }

    #[test]
    fn empty_diff() {
        let diff = LockDiff { items: vec![] };
        let sides = Sides {
            base: "HEAD",
            target: "the working tree",
        };
        assert!(diff_human(&diff, sides, Paint::PLAIN).contains("no lock changes."));
        assert!(diff_markdown(&diff, sides).contains("No lock changes."));
    }
}
