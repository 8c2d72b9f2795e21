//! Rendering advisory findings: `check --advisories` (human, json,
//! GitHub annotations on the item's line in the manifest).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::advisory::Finding;
use crate::report::Paint;
use crate::report::annotation::command;

/// `GHSA-… (high): summary; fixed in 3.3.5` for one finding.
pub fn describe(f: &Finding) -> String {
    let mut text = f.id.clone();
    if !f.aliases.is_empty() {
        let _ = write!(text, " / {}", f.aliases.join(" / "));
    }
    let _ = write!(text, " ({})", f.severity);
    if !f.summary.is_empty() {
        let _ = write!(text, ": {}", f.summary);
    }
    match f.fixed_in.as_slice() {
        [] => text.push_str("; no fixed version known"),
        fixed => {
            let _ = write!(text, "; fixed in {}", fixed.join(", "));
        }
    }
    text
}

fn verdict(f: &Finding) -> String {
    match (&f.accepted_until, &f.expired) {
        (Some(until), _) => format!("accepted until {until}"),
        (None, Some(expired)) => format!("its acceptance expired on {expired}"),
        (None, None) => "affects the locked version".to_owned(),
    }
}

pub fn advisories_human(findings: &[Finding], paint: Paint) -> String {
    let mut out = String::new();
    for f in findings {
        let label = if f.fails() {
            paint.red("advisory")
        } else {
            paint.yellow("accepted")
        };
        let _ = writeln!(
            out,
            "{label} {} {}: {} ({})",
            f.item,
            f.version,
            describe(f),
            verdict(f)
        );
    }
    let failing = findings.iter().filter(|f| f.fails()).count();
    let _ = writeln!(
        out,
        "advisories: {failing} affecting locked versions, {} accepted",
        findings.len() - failing
    );
    out
}

/// One annotation per finding on the item's line of the manifest: an
/// error when it fails the gate, a notice when accepted.
pub fn advisories_github(
    findings: &[Finding],
    file: &str,
    lines: &BTreeMap<String, usize>,
) -> String {
    let mut out = String::new();
    for f in findings {
        let line = lines.get(&f.item).map(ToString::to_string);
        let mut props = vec![("file", file)];
        if let Some(line) = &line {
            props.push(("line", line.as_str()));
        }
        props.push(("title", "vendor advisory"));
        let level = if f.fails() { "error" } else { "notice" };
        let message = format!("{} {}: {} ({})", f.item, f.version, describe(f), verdict(f));
        out.push_str(&command(level, &props, &message));
    }
    out
}

/// Adds the findings to `check --format json` output.
pub fn with_advisories_json(text: &str, findings: &[Finding]) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_owned();
    };
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("advisories".into(), serde_json::json!(findings));
        if findings.iter().any(Finding::fails) {
            obj.insert("in_sync".into(), serde_json::json!(false));
        }
    }
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}
