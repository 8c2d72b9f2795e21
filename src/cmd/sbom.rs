//! `vendor sbom`: a CycloneDX or SPDX bill of materials from the lock.

use miette::{IntoDiagnostic, Result};

use crate::cli::{Cli, Format, SbomArgs};
use crate::sbom::{self, Inventory};

use super::{Exit, Io, Workspace, format};

pub fn run(cli: &Cli, args: &SbomArgs, ws: &Workspace, io: &mut Io<'_>) -> Result<Exit> {
    let format = match cli.format {
        None => Format::Cyclonedx,
        Some(_) => format(cli, &[Format::Cyclonedx, Format::Spdx])?,
    };
    let loaded = super::load_manifest(ws, false)?;
    let (lock, _) = ws.read_lock()?;
    if lock.items.is_empty() {
        io.note("warning: the lock is empty: run `vendor apply` first for an SBOM of what ships");
    }
    let inventory = Inventory::build(&lock, |id| loaded.manifest.items.get(id).cloned())?;
    let timestamp = if args.timestamp {
        Some(sbom::rfc3339(now()?))
    } else {
        None
    };
    let version = env!("CARGO_PKG_VERSION");
    let text = match format {
        Format::Spdx => sbom::spdx::render(&inventory, version, timestamp.as_deref()),
        _ => sbom::cyclonedx::render(&inventory, version, timestamp.as_deref()),
    };
    io.print(&text)?;
    Ok(Exit::Ok)
}

/// `SOURCE_DATE_EPOCH` when set (reproducible builds), else the clock.
fn now() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) if !text.trim().is_empty() => text.trim().parse().map_err(|_| {
            miette::miette!(
                code = "vendor::sbom::source-date-epoch",
                "SOURCE_DATE_EPOCH=`{text}` is not a number of seconds since 1970"
            )
        }),
        _ => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .into_diagnostic()?
            .as_secs()),
    }
}
