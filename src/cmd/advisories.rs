//! Advisory look-ups shared by `check --advisories`, `outdated` and
//! `diff`: one look-up per item, all at once, in manifest order.

use miette::Result;

use crate::advisory::{self, Lookup, Sources};
use crate::cli::Cli;
use crate::manifest::model::Item;

use super::Io;

/// The look-up of each of `items` that has advisory sources; `online`
/// asks the network (when the command line allows it), otherwise the
/// last snapshots are used. Staleness notes go to stderr.
pub fn lookups<'a>(
    cli: &Cli,
    io: &mut Io<'_>,
    items: Vec<(&'a str, &'a Item)>,
    online: bool,
) -> Result<Vec<(&'a str, &'a Item, Lookup)>> {
    let wanted: Vec<(&str, &Item, Sources)> = items
        .into_iter()
        .map(|(id, item)| (id, item, Sources::of(item)))
        .filter(|(_, _, s)| !s.is_empty())
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let client = if online {
        super::client(cli, io)?
    } else {
        None
    };
    let runtime = super::runtime()?;
    let results = runtime.block_on(crate::jobs::ordered(wanted, |(id, item, sources)| {
        let client = client.as_ref();
        async move {
            let found = advisory::lookup(client, id, &sources).await;
            (id, item, found)
        }
    }));
    let mut out = Vec::new();
    for (id, item, found) in results {
        let found = found?;
        if let Some(stale) = found.staleness() {
            io.note(&format!("note: advisories for {id} {stale}"));
        }
        out.push((id, item, found));
    }
    Ok(out)
}
