//! `vendor validate`: schema and semantic checks, every problem at once.

use miette::Result;

use crate::cli::{Cli, Format};

use super::{Exit, Io, Workspace, format};

pub fn run(cli: &Cli, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = format(cli, &[Format::Human, Format::Json])?;
    let loaded = super::load_manifest(ws, true)?;
    let items = loaded.manifest.items.len();
    let pins: usize = loaded.manifest.items.values().map(|i| i.pins.len()).sum();
    let text = match format {
        Format::Json => {
            let doc = serde_json::json!({
                "format_version": crate::plan::FORMAT_VERSION,
                "valid": true,
                "items": items,
                "pins": pins,
            });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )
        }
        _ => format!(
            "{} is valid: {items} item{}, {pins} pin{}.\n",
            ws.manifest.display(),
            if items == 1 { "" } else { "s" },
            if pins == 1 { "" } else { "s" }
        ),
    };
    if !cli.quiet || format == Format::Json {
        io.print(&text)?;
    }
    Ok(Exit::Ok)
}
