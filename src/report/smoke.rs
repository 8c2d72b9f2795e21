//! Rendering smoke records.

use std::fmt::Write;

use serde_json::json;

use crate::smoke::{Check, Record, Status};

use super::Paint;
use super::diff::cell;

fn status(paint: Paint, s: Status) -> String {
    let word = format!("{:<7}", s.as_str());
    match s {
        Status::Passed => paint.green(&word),
        Status::Failed => paint.red(&word),
        Status::Skipped => paint.yellow(&word),
    }
}

/// What a check looked at, in words: the file, or the command and how
/// it ran.
fn subject(c: &Check) -> String {
    match (&c.command, &c.runner) {
        (Some(cmd), Some(runner)) => format!("`{cmd}` ({runner})"),
        (Some(cmd), None) => format!("`{cmd}`"),
        _ => c.file.clone(),
    }
}

/// One line per check, grouped by item, then a verdict line.
pub fn smoke_human(records: &[Record], paint: Paint) -> String {
    let mut out = smoke_checks_human(records, paint);
    let _ = writeln!(out, "{}", verdict(records));
    out
}

/// One line per check, grouped by item (a failed check with its output).
pub fn smoke_checks_human(records: &[Record], paint: Paint) -> String {
    let mut out = String::new();
    for r in records {
        let _ = writeln!(out, "{} {} on {}", paint.bold(&r.item), r.version, r.host);
        for c in &r.checks {
            let _ = writeln!(
                out,
                "  {} {:<7} {}: {}",
                status(paint, c.status),
                c.check,
                subject(c),
                c.detail
            );
            if c.status == Status::Failed
                && let Some(output) = c.output.as_deref().filter(|o| !o.is_empty())
            {
                for line in output.lines() {
                    let _ = writeln!(out, "          | {line}");
                }
            }
        }
    }
    out
}

/// `smoke: 2 items, 5 passed, 1 skipped, 0 failed`.
pub fn verdict(records: &[Record]) -> String {
    let count = |s| records.iter().map(|r| r.count(s)).sum::<usize>();
    format!(
        "smoke: {} item{}, {} passed, {} skipped, {} failed",
        records.len(),
        if records.len() == 1 { "" } else { "s" },
        count(Status::Passed),
        count(Status::Skipped),
        count(Status::Failed)
    )
}

/// Stable JSON: every record in full.
pub fn smoke_json(records: &[Record]) -> String {
    let doc = json!({
        "format_version": crate::smoke::FORMAT_VERSION,
        "passed": records.iter().all(|r| r.passed),
        "items": records,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// A Markdown table per item, for a pull-request comment.
pub fn smoke_markdown(records: &[Record]) -> String {
    let mut out = String::from("### vendor smoke\n\n");
    for r in records {
        let _ = writeln!(out, "**{}** {} on `{}`\n", r.item, r.version, r.host);
        out.push_str("| status | check | subject | detail |\n|---|---|---|---|\n");
        for c in &r.checks {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                c.status.as_str(),
                c.check,
                cell(&subject(c)),
                cell(&c.detail)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", verdict(records));
    out
}

/// A record as the lines of a commit message's smoke evidence.
pub fn smoke_evidence(r: &Record) -> Vec<String> {
    let mut lines = vec![format!("{} {} on {}:", r.item, r.version, r.host)];
    for c in &r.checks {
        lines.push(format!(
            "- {} {}: {}: {}",
            c.status.as_str(),
            c.check,
            subject(c),
            c.detail
        ));
    }
    lines
}
