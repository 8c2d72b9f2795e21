//! Rendering `vendor outdated`.

use std::fmt::Write;

use crate::updates::{Outdated, Status};

fn status_word(s: &Status) -> &'static str {
    match s {
        Status::UpToDate => "up to date",
        Status::Update => "update",
        Status::Held => "held by constraint",
        Status::Manual => "manual",
        Status::Incomplete => "incomplete upstream",
    }
}

fn cells(r: &Outdated) -> [String; 6] {
    let dash = || "-".to_owned();
    [
        r.id.clone(),
        r.wanted.clone(),
        r.newest_allowed.clone().unwrap_or_else(dash),
        r.newest.clone().unwrap_or_else(dash),
        r.constraint.clone().unwrap_or_else(dash),
        if r.status == Status::Update && !r.fixes.is_empty() {
            "security update".to_owned()
        } else {
            status_word(&r.status).to_owned()
        },
    ]
}

const HEADERS: [&str; 6] = [
    "ITEM",
    "WANTED",
    "ALLOWED",
    "NEWEST",
    "CONSTRAINT",
    "STATUS",
];

pub fn outdated_human(rows: &[Outdated]) -> String {
    let table: Vec<[String; 6]> = rows.iter().map(cells).collect();
    let mut widths = HEADERS.map(str::len);
    for row in &table {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |row: [&str; 6]| {
        let mut text = String::new();
        for (cell, w) in row.iter().zip(widths) {
            let _ = write!(text, "{cell}{}  ", " ".repeat(w - cell.chars().count()));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(HEADERS);
    for row in &table {
        line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]].map(String::as_str));
    }
    out.push_str(&incomplete_lines(rows, ""));
    out.push_str(&moved_lines(rows, ""));
    out.push_str(&security_lines(rows, ""));
    out
}

/// One line per tracked package a newer snapshot moves.
fn moved_lines(rows: &[Outdated], bullet: &str) -> String {
    let mut out = String::new();
    for r in rows {
        for m in &r.moved {
            let dash = || "-".to_owned();
            let _ = writeln!(
                out,
                "{bullet}{} {}: {} ({}) {} → {}",
                r.id,
                r.newest.as_deref().unwrap_or("newest"),
                m.package,
                m.architecture,
                m.from.clone().unwrap_or_else(dash),
                m.to.clone().unwrap_or_else(dash)
            );
        }
    }
    out
}

/// One line per advisory an update fixes.
fn security_lines(rows: &[Outdated], bullet: &str) -> String {
    let mut out = String::new();
    for r in rows {
        let (Some(next), Some(current)) =
            (&r.newest_allowed, r.locked.as_ref().or(Some(&r.wanted)))
        else {
            continue;
        };
        for f in &r.fixes {
            let _ = writeln!(
                out,
                "{bullet}security: {} {next} fixes {} affecting {current}",
                r.id,
                crate::report::advisory::describe(f)
            );
        }
    }
    out
}

/// One line per newer release passed over for lacking assets.
fn incomplete_lines(rows: &[Outdated], bullet: &str) -> String {
    let mut out = String::new();
    for r in rows {
        for skipped in &r.incomplete {
            let _ = writeln!(
                out,
                "{bullet}{} {} is incomplete upstream: {}",
                r.id,
                skipped.version,
                skipped.describe()
            );
        }
    }
    out
}

pub fn outdated_markdown(rows: &[Outdated]) -> String {
    let mut out = String::from(
        "| item | wanted | allowed | newest | constraint | status |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let c = cells(r);
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            c[0], c[1], c[2], c[3], c[4], c[5]
        );
    }
    let mut skipped = incomplete_lines(rows, "- ");
    skipped.push_str(&moved_lines(rows, "- "));
    skipped.push_str(&security_lines(rows, "- "));
    if !skipped.is_empty() {
        out.push('\n');
        out.push_str(&skipped);
    }
    out
}

pub fn outdated_json(rows: &[Outdated]) -> String {
    let doc = serde_json::json!({
        "format_version": crate::plan::FORMAT_VERSION,
        "items": rows,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}
