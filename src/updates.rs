//! Finding newer upstream versions, and setting the wanted version in the
//! manifest without disturbing its formatting.

use miette::{Result, miette};
use serde::Serialize;

use crate::fetch::Client;
use crate::manifest::model::{Checksum, Item, Source};
use crate::pin::{self, Locator};
use crate::plan::{asset_instances, item_vars};
use crate::source::github;
use crate::version::{Constraint, Scheme, Version, newest, version_from_tag};

/// Where an item stands against its upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum Status {
    UpToDate,
    /// A newer version is allowed by the constraint.
    Update,
    /// Newer versions exist, but the constraint excludes them.
    Held,
    /// The source cannot be listed (manual, URL, APT snapshot).
    Manual,
    /// Newer allowed releases exist, but each lacks an asset of some
    /// platform, so none can be bumped to.
    Incomplete,
}

/// A newer allowed release that lacks some of the item's assets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incomplete {
    pub version: String,
    pub tag: String,
    pub missing: Vec<MissingAsset>,
}

/// An asset (or checksum file) a release does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingAsset {
    /// The platform it is for; `None` for an item without platforms.
    pub platform: Option<String>,
    pub asset: String,
}

impl Incomplete {
    /// e.g. `no asset for linux/arm64 (traefik_v3.3.6_linux_arm64.tar.gz)`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .missing
            .iter()
            .map(|m| match &m.platform {
                Some(p) => format!("{p} ({})", m.asset),
                None => m.asset.clone(),
            })
            .collect();
        format!("no asset for {}", parts.join(", "))
    }
}

/// One row of `vendor outdated`.
#[derive(Debug, Clone, Serialize)]
pub struct Outdated {
    pub id: String,
    pub wanted: String,
    pub locked: Option<String>,
    pub constraint: Option<String>,
    /// Newest version the constraint allows.
    pub newest_allowed: Option<String>,
    /// Newest version overall.
    pub newest: Option<String>,
    #[serde(flatten)]
    pub status: Status,
    /// Newer allowed releases passed over because they lack assets, newest
    /// first; `newest_allowed` is the newest complete one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<Incomplete>,
    /// For an APT snapshot: tracked packages whose version differs at the
    /// newest snapshot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<Moved>,
    /// Advisories affecting the locked version that `newest_allowed` no
    /// longer is affected by (filled by `vendor outdated` when it looks
    /// advisories up).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<crate::advisory::Finding>,
}

/// A tracked package whose version a newer snapshot changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub package: String,
    pub architecture: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Outdated {
    /// The row of an item nothing is known of yet: `manual` until its
    /// upstream says otherwise.
    pub fn new(id: &str, item: &Item, locked: Option<String>) -> Outdated {
        Outdated {
            id: id.to_owned(),
            wanted: item.version.clone(),
            locked,
            constraint: item.constraint.clone(),
            newest_allowed: None,
            newest: None,
            status: Status::Manual,
            incomplete: Vec::new(),
            moved: Vec::new(),
            fixes: Vec::new(),
        }
    }
}

/// Compares `item` with the versions its upstream lists.
pub async fn outdated(
    client: &Client,
    id: &str,
    item: &Item,
    locked: Option<String>,
) -> Result<Outdated> {
    let mut row = Outdated::new(id, item, locked);
    let mut releases = Vec::new();
    let (template, tags) = match &item.source {
        Source::GithubRelease { repo, tag } => {
            releases = github::releases(client, repo).await?;
            releases.retain(|r| !r.draft && (item.prereleases || !r.prerelease));
            let tags: Vec<String> = releases.iter().map(|r| r.tag_name.clone()).collect();
            (tag, tags)
        }
        Source::GithubFiles { repo, git_ref } => {
            let tags = github::tags(client, repo)
                .await?
                .into_iter()
                .map(|t| t.name)
                .collect();
            (git_ref, tags)
        }
        Source::Url { .. }
        | Source::AptSnapshot { .. }
        | Source::AptPackage { .. }
        | Source::Manual => return Ok(row),
    };
    let scheme = Scheme::default_for(item);
    let constraint = item
        .constraint
        .as_deref()
        .map(|c| Constraint::parse(c, &scheme))
        .transpose()
        .map_err(|e| miette!(code = "vendor::outdated::constraint", "{id}: {e}"))?;
    let vars = item_vars(id, item);
    let found = newest(
        &tags,
        template,
        &vars,
        &scheme,
        constraint.as_ref(),
        item.prereleases,
    );
    let wanted = scheme.parse(&item.version).ok();
    let newer = |v: &Option<Version>| match (v, &wanted) {
        (Some(v), Some(w)) => v > w,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let mut allowed = found.allowed.clone();
    if !releases.is_empty() && newer(&allowed) {
        // The newest allowed release every platform can be bumped to;
        // the newer ones that lack assets are reported, not taken.
        let mut candidates: Vec<(Version, &github::Release)> = releases
            .iter()
            .filter_map(|r| {
                let text = version_from_tag(template, &vars, &r.tag_name)?;
                let v = scheme.parse(&text).ok()?;
                let ok = (item.prereleases || !v.is_prerelease())
                    && constraint.as_ref().is_none_or(|c| c.matches(&v));
                ok.then_some((v, r))
            })
            .collect();
        candidates.sort_by(|a, b| b.0.cmp(&a.0));
        allowed = None;
        for (v, release) in candidates {
            if !newer(&Some(v.clone())) {
                allowed = Some(v);
                break;
            }
            let missing = missing_assets(id, item, &v, release);
            if missing.is_empty() {
                allowed = Some(v);
                break;
            }
            row.incomplete.push(Incomplete {
                version: v.as_str().to_owned(),
                tag: release.tag_name.clone(),
                missing,
            });
        }
    }
    row.status = if newer(&allowed) {
        Status::Update
    } else if !row.incomplete.is_empty() {
        Status::Incomplete
    } else if newer(&found.overall) {
        Status::Held
    } else {
        Status::UpToDate
    };
    row.newest_allowed = allowed.map(|v| v.as_str().to_owned());
    row.newest = found.overall.map(|v| v.as_str().to_owned());
    Ok(row)
}

/// The assets (and checksum files) of `item` at `version` that `release`
/// does not list, from the release list alone.
fn missing_assets(
    id: &str,
    item: &Item,
    version: &Version,
    release: &github::Release,
) -> Vec<MissingAsset> {
    let mut at = item.clone();
    at.version = version.as_str().to_owned();
    let vars = item_vars(id, &at);
    let has = |name: &str| release.assets.iter().any(|a| a.name == name);
    let mut missing: Vec<MissingAsset> = Vec::new();
    for inst in asset_instances(&vars, &at) {
        let mut names = Vec::new();
        if let Some(name) = inst.asset.name.as_deref() {
            names.extend(inst.vars.expand(name).ok());
        }
        if let Some(Checksum::File(file)) = &inst.asset.checksum
            && let Ok(file) = inst.vars.expand(file)
            && !crate::resolve::is_url(&file)
        {
            names.push(file);
        }
        for name in names.into_iter().filter(|n| !has(n)) {
            let platform = inst.platform.map(str::to_owned);
            match missing.iter_mut().find(|m| m.asset == name) {
                // A file every platform needs (a checksum file) is listed
                // once, without a platform.
                Some(m) if m.platform != platform => m.platform = None,
                Some(_) => {}
                None => missing.push(MissingAsset {
                    platform,
                    asset: name,
                }),
            }
        }
    }
    missing
}

/// Rewrites `items.<id>.version` in the manifest text to `version`,
/// changing only the value's bytes (quotes, comments and layout stay).
pub fn set_version(manifest_text: &str, id: &str, version: &str) -> Result<String> {
    let locator = Locator::Yaml {
        path: vec!["items".into(), id.into(), "version".into()],
        regex: None,
    };
    let matches =
        pin::find(&locator, manifest_text).map_err(|e| miette!("cannot edit the manifest: {e}"))?;
    if matches.len() != 1 {
        return Err(miette!(
            "cannot edit the manifest: `items.{id}.version` appears {} times",
            matches.len()
        ));
    }
    pin::rewrite(&locator, manifest_text, &matches, version).map_err(|e| {
        miette!(
            code = "vendor::bump::unwritable",
            help = "quote the version in vendor.yaml (`version: \"…\"`) and try again",
            "cannot write version `{version}` for {id}: {e}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_version_keeps_everything_else() {
        let text = "version: 1\nitems:\n  a:\n    version: \"1.2\"   # pinned\n    source: {type: manual}\n  b:\n    version: 3.3.4\n";
        let out = set_version(text, "a", "1.3").expect("rewrites");
        assert_eq!(out, text.replace("\"1.2\"", "\"1.3\""));
        let out = set_version(text, "b", "3.3.5").expect("rewrites");
        assert_eq!(out, text.replace("3.3.4", "3.3.5"));
    }

    #[test]
    fn set_version_of_a_missing_item_fails() {
        assert!(set_version("version: 1\nitems: {}\n", "x", "1").is_err());
    }
}
