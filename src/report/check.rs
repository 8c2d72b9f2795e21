//! Rendering `check` findings.

use std::fmt::Write;

use serde_json::json;

use crate::plan::{Drift, ItemPlan};

use super::Paint;
use super::annotation;
use super::plan::drift_text;

type Finding<'a> = (&'a ItemPlan, &'a Drift);

/// Where a finding points: a file and line when it has them.
fn location(d: &Drift) -> (Option<&str>, Option<usize>) {
    match d {
        Drift::PinDrift { file, line, .. } => (Some(file), Some(*line)),
        Drift::ArtifactDrift { path, .. } | Drift::NotInstalled { path } => (Some(path), None),
        Drift::LockOutdated { .. } | Drift::Orphan { .. } | Drift::UpstreamChanged { .. } => {
            (None, None)
        }
    }
}

/// One line per finding, then a verdict.
pub fn check_human(findings: &[Finding<'_>], items: usize, paint: Paint) -> String {
    let mut out = String::new();
    for (item, d) in findings {
        let _ = writeln!(
            out,
            "{} {}: {}",
            paint.red(d.kind()),
            paint.bold(&item.id),
            drift_text(d)
        );
    }
    if findings.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint.green(&format!("check: {items} item{} in sync", plural(items)))
        );
    } else {
        let _ = writeln!(
            out,
            "{}",
            paint.bold(&format!(
                "check: {} finding{}. Run `vendor plan` to see the changes and `vendor apply` to make them.",
                findings.len(),
                plural(findings.len())
            ))
        );
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Where a manifest item is written, for findings about the item as a
/// whole (`lock-outdated`): the manifest's path and each item's line.
pub struct ManifestLines<'a> {
    pub file: &'a str,
    pub lines: &'a std::collections::BTreeMap<String, usize>,
}

/// GitHub Actions workflow commands: one `::error` annotation per finding.
/// `prefix` is the manifest's directory relative to the repository root.
pub fn check_github(
    findings: &[Finding<'_>],
    prefix: &str,
    manifest: &ManifestLines<'_>,
) -> String {
    let mut out = String::new();
    for (item, d) in findings {
        let (file, line) = match (location(d), d) {
            ((None, None), Drift::LockOutdated { .. } | Drift::UpstreamChanged { .. }) => {
                (Some(manifest.file), manifest.lines.get(&item.id).copied())
            }
            (found, _) => found,
        };
        let file = file.map(|f| join(prefix, f));
        let line = line.map(|l| l.to_string());
        let title = format!("vendor {}", d.kind());
        let mut props = Vec::new();
        if let Some(file) = &file {
            props.push(("file", file.as_str()));
        }
        if let Some(line) = &line {
            props.push(("line", line.as_str()));
        }
        props.push(("title", title.as_str()));
        let message = format!("{}: {}", item.id, drift_text(d));
        out.push_str(&annotation::command("error", &props, &message));
    }
    out
}

fn join(prefix: &str, path: &str) -> String {
    if prefix.is_empty() || prefix == "." {
        path.to_owned()
    } else {
        format!("{}/{path}", prefix.trim_end_matches('/'))
    }
}

/// Findings as stable JSON.
pub fn check_json(findings: &[Finding<'_>], items: usize) -> String {
    let list: Vec<_> = findings
        .iter()
        .map(|(item, d)| {
            let mut v = serde_json::to_value(d).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("item".into(), json!(item.id));
                obj.insert("message".into(), json!(drift_text(d)));
            }
            v
        })
        .collect();
    let doc = json!({
        "format_version": crate::plan::FORMAT_VERSION,
        "in_sync": findings.is_empty(),
        "items": items,
        "findings": list,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
