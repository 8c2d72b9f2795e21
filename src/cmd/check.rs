//! `vendor check`: the offline CI gate.

use std::collections::BTreeMap;

use miette::Result;

use crate::cli::{CheckArgs, Cli, Format};
use crate::manifest::{Loaded, Part, PathSeg};
use crate::report;

use super::{Exit, Io, Workspace, format};

pub fn run(cli: &Cli, args: &CheckArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = format(cli, &[Format::Human, Format::Json, Format::Github])?;
    let state = super::plan::compute(ws, &args.items)?;
    let plan = &state.planned.plan;
    let findings = plan.check_findings(args.installed);
    let items = plan.items.iter().filter(|i| i.wanted.is_some()).count();
    let text = match format {
        Format::Json => report::check_json(&findings, items),
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
    io.print(&text)?;
    Ok(if findings.is_empty() {
        Exit::Ok
    } else {
        Exit::Changes
    })
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
