//! `vendor check`: the offline CI gate.

use miette::Result;

use crate::cli::{CheckArgs, Cli, Format};
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
            report::check_github(&findings, &ws.display_root())
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
