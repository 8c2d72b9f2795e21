//! Rendering the inventory (`vendor list`).

use std::fmt::Write;

use serde::Serialize;

/// One item of the inventory.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    pub wanted: String,
    pub locked: Option<String>,
    pub source: String,
    /// `file:line` of each pin (`file:?` when the locator finds nothing).
    pub pinned: Vec<String>,
    /// What ships: installed paths, or `pin only`.
    pub ships: Vec<String>,
    pub deferred: bool,
    pub sign_off: Option<String>,
}

pub fn list_human(rows: &[Row]) -> String {
    let headers = ["ITEM", "WANTED", "LOCKED", "SOURCE", "PINNED AT", "SHIPS"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let mut id = r.id.clone();
            if r.deferred {
                id.push_str(" (deferred)");
            }
            [
                id,
                r.wanted.clone(),
                r.locked.clone().unwrap_or_else(|| "-".into()),
                r.source.clone(),
                r.pinned.join(", "),
                r.ships.join(", "),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                let pad = w - cell.chars().count();
                let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, &headers);
    for row in &cells {
        let refs: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&mut out, &refs);
    }
    out
}

pub fn list_json(rows: &[Row]) -> String {
    let doc = serde_json::json!({
        "format_version": crate::plan::FORMAT_VERSION,
        "items": rows,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

pub fn list_markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| item | wanted | locked | source | pinned at | ships |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| `{}`{} | {} | {} | {} | {} | {} |",
            r.id,
            if r.deferred { " (deferred)" } else { "" },
            r.wanted,
            r.locked.as_deref().unwrap_or("-"),
            r.source,
            r.pinned
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join("<br>"),
            r.ships.join("<br>")
        );
    }
    out
}
