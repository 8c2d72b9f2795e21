//! GitHub repository security advisories
//! (`GET /repos/{owner}/{repo}/security-advisories?state=published`).

use serde::Deserialize;

use super::{Advisory, Range};
use crate::fetch::Client;
use crate::source::github::{self, GithubError};

/// The fields read of GitHub's repository advisory JSON.
#[derive(Debug, Deserialize)]
pub struct RepositoryAdvisory {
    pub ghsa_id: String,
    #[serde(default)]
    pub cve_id: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub withdrawn_at: Option<String>,
    #[serde(default)]
    pub vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Debug, Deserialize)]
pub struct Vulnerability {
    #[serde(default)]
    pub vulnerable_version_range: Option<String>,
    #[serde(default)]
    pub patched_versions: Option<String>,
}

/// The published, not withdrawn advisories of `repo`.
pub async fn fetch(client: &Client, repo: &str) -> Result<Vec<Advisory>, GithubError> {
    let raw: Vec<RepositoryAdvisory> = github::security_advisories(client, repo).await?;
    Ok(raw.into_iter().filter_map(normalise).collect())
}

/// The advisory in the common form; `None` for one not published or
/// withdrawn.
pub fn normalise(a: RepositoryAdvisory) -> Option<Advisory> {
    if a.state.as_deref().is_some_and(|s| s != "published") || a.withdrawn_at.is_some() {
        return None;
    }
    let ranges = a
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| {
            let range = v.vulnerable_version_range?.trim().to_owned();
            if range.is_empty() {
                return None;
            }
            let patched = v
                .patched_versions
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            Some(Range::Constraint { range, patched })
        })
        .collect();
    Some(Advisory {
        id: a.ghsa_id,
        aliases: a.cve_id.into_iter().collect(),
        summary: a.summary.unwrap_or_default(),
        severity: a.severity,
        url: a.html_url,
        source: "github".to_owned(),
        ranges,
    })
}
