//! Finding newer upstream versions, and setting the wanted version in the
//! manifest without disturbing its formatting.

use miette::{Result, miette};
use serde::Serialize;

use crate::fetch::Client;
use crate::manifest::model::{Item, Source};
use crate::pin::{self, Locator};
use crate::plan::item_vars;
use crate::source::github;
use crate::version::{Constraint, Scheme, newest};

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
}

/// Compares `item` with the versions its upstream lists.
pub async fn outdated(
    client: &Client,
    id: &str,
    item: &Item,
    locked: Option<String>,
) -> Result<Outdated> {
    let mut row = Outdated {
        id: id.to_owned(),
        wanted: item.version.clone(),
        locked,
        constraint: item.constraint.clone(),
        newest_allowed: None,
        newest: None,
        status: Status::Manual,
    };
    let (template, tags) = match &item.source {
        Source::GithubRelease { repo, tag } => {
            let releases = github::releases(client, repo).await?;
            let tags = releases
                .into_iter()
                .filter(|r| !r.draft && (item.prereleases || !r.prerelease))
                .map(|r| r.tag_name)
                .collect::<Vec<_>>();
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
        Source::Url { .. } | Source::AptSnapshot { .. } | Source::Manual => return Ok(row),
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
