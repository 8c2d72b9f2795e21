//! `vendor outdated` for APT items: newer kernel ABIs a snapshot offers
//! (same flavour, within the item's constraint), and what a newer
//! snapshot moves among the tracked packages.

use std::path::Path;

use miette::{Result, miette};

use crate::fetch::Client;
use crate::manifest::model::{Item, Manifest, Source};
use crate::updates::{Moved, Outdated, Status};
use crate::version::{Constraint, Scheme, newest};

use super::{SnapshotSource, candidates, latest, open, snapshot_of};

/// The outdated row of a verified APT item.
pub async fn outdated(
    client: &Client,
    root: &Path,
    manifest: &Manifest,
    id: &str,
    item: &Item,
    locked: Option<String>,
) -> Result<Outdated> {
    let mut row = Outdated::new(id, item, locked);
    let scheme = Scheme::default_for(item);
    let constraint = item
        .constraint
        .as_deref()
        .map(|c| Constraint::parse(c, &scheme))
        .transpose()
        .map_err(|e| miette!(code = "vendor::outdated::constraint", "{id}: {e}"))?;
    let wanted = scheme.parse(&item.version).ok();
    let tags: Vec<String> = match &item.source {
        Source::AptPackage { snapshot, package } => {
            let (snap_item, source) = snapshot_of(manifest, id, snapshot)?;
            let opened = open(client, root, &source.at(snapshot, &snap_item.version)).await?;
            candidates(&opened, package, id, &item.version)
        }
        _ => {
            let Some(source) = SnapshotSource::of(item) else {
                return Ok(row);
            };
            if source.latest.is_none() {
                return Ok(row);
            }
            let (ts, newest_state) = latest(client, root, id, item).await?;
            let pinned = open(client, root, &source.at(id, &item.version)).await?;
            for name in source.packages {
                let old = pinned.newest(name);
                let new = newest_state.newest(name);
                let archs: std::collections::BTreeSet<&String> =
                    old.iter().chain(&new).map(|p| &p.architecture).collect();
                for arch in archs {
                    let from = old.iter().find(|p| &p.architecture == arch);
                    let to = new.iter().find(|p| &p.architecture == arch);
                    let (from, to) = (
                        from.map(|p| p.version.clone()),
                        to.map(|p| p.version.clone()),
                    );
                    if from != to {
                        row.moved.push(Moved {
                            package: name.clone(),
                            architecture: arch.clone(),
                            from,
                            to,
                        });
                    }
                }
            }
            vec![ts]
        }
    };
    let vars = crate::plan::item_vars(id, item);
    let found = newest(
        &tags,
        "{version}",
        &vars,
        &scheme,
        constraint.as_ref(),
        item.prereleases,
    );
    let newer = |v: &Option<crate::version::Version>| match (v, &wanted) {
        (Some(v), Some(w)) => v > w,
        (Some(_), None) => true,
        (None, _) => false,
    };
    row.status = if newer(&found.allowed) {
        Status::Update
    } else if newer(&found.overall) {
        Status::Held
    } else {
        Status::UpToDate
    };
    row.newest_allowed = found.allowed.map(|v| v.as_str().to_owned());
    row.newest = found.overall.map(|v| v.as_str().to_owned());
    Ok(row)
}
