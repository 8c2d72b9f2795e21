//! The OSV database (`POST {VENDOR_OSV_URL}/v1/query`, default
//! `https://api.osv.dev`): every vulnerability recorded for a package,
//! evaluated here against any version of the item.

use serde::Deserialize;
use serde_json::json;

use super::{Advisory, Event, Range};
use crate::fetch::{Client, FetchError};

/// The OSV API when `VENDOR_OSV_URL` is not set.
pub const DEFAULT_URL: &str = "https://api.osv.dev";
/// Largest answer page read.
const MAX_PAGE: u64 = 16 << 20;
/// Most pages followed for one package.
const MAX_PAGES: usize = 20;

/// `VENDOR_OSV_URL` or [`DEFAULT_URL`], without a trailing slash.
pub fn base_url() -> String {
    std::env::var("VENDOR_OSV_URL")
        .ok()
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    vulns: Vec<Vuln>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Vuln {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
    #[serde(default)]
    pub references: Vec<Reference>,
}

#[derive(Debug, Deserialize)]
pub struct Affected {
    #[serde(default)]
    pub package: Option<Package>,
    #[serde(default)]
    pub ranges: Vec<OsvRange>,
    #[serde(default)]
    pub versions: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct OsvRange {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
pub struct Reference {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// Every vulnerability OSV records for `package` in `ecosystem`.
pub async fn fetch(
    client: &Client,
    ecosystem: &str,
    package: &str,
) -> Result<Vec<Advisory>, FetchError> {
    let url = format!("{}/v1/query", base_url());
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = json!({"package": {"ecosystem": ecosystem, "name": package}});
        if let Some(t) = &token {
            query["page_token"] = json!(t);
        }
        let body = client.post_json(&url, &query, MAX_PAGE).await?;
        let answer: Answer =
            serde_json::from_slice(&body).map_err(|e| FetchError::InvalidResponse {
                url: url.clone(),
                message: format!("not an OSV query answer: {e}"),
            })?;
        out.extend(
            answer
                .vulns
                .into_iter()
                .filter_map(|v| normalise(v, ecosystem, package)),
        );
        match answer.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) if token.as_ref() != Some(&next) => token = Some(next),
            _ => break,
        }
    }
    Ok(out)
}

/// The record in the common form, with only the ranges of `package`;
/// `None` when withdrawn.
pub fn normalise(v: Vuln, ecosystem: &str, package: &str) -> Option<Advisory> {
    if v.withdrawn.as_deref().is_some_and(|w| !w.trim().is_empty()) {
        return None;
    }
    let mut ranges = Vec::new();
    for a in v.affected {
        let ours = a
            .package
            .as_ref()
            .is_none_or(|p| p.ecosystem == ecosystem && p.name == package);
        if !ours {
            continue;
        }
        for r in &a.ranges {
            // GIT ranges name commits: left to `versions`.
            if !matches!(r.kind.as_str(), "SEMVER" | "ECOSYSTEM") {
                continue;
            }
            let mut these = Vec::new();
            for e in &r.events {
                for (key, value) in e {
                    let Some(text) = value.as_str().map(str::to_owned) else {
                        continue;
                    };
                    these.push(match key.as_str() {
                        "introduced" => Event::Introduced(text),
                        "fixed" => Event::Fixed(text),
                        "last_affected" => Event::LastAffected(text),
                        "limit" => Event::Limit(text),
                        _ => continue,
                    });
                }
            }
            // Each range is its own timeline.
            ranges.push(Range::Events {
                events: these,
                versions: Vec::new(),
            });
        }
        if !a.versions.is_empty() {
            ranges.push(Range::Events {
                events: Vec::new(),
                versions: a.versions.clone(),
            });
        }
    }
    let severity = v
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(|s| s.as_str())
        .map(str::to_ascii_lowercase);
    let url = v
        .references
        .iter()
        .find(|r| r.kind.as_deref() == Some("ADVISORY"))
        .and_then(|r| r.url.clone());
    let summary = v
        .summary
        .or_else(|| v.details.map(|d| d.lines().next().unwrap_or("").to_owned()))
        .unwrap_or_default();
    Some(Advisory {
        id: v.id,
        aliases: v.aliases,
        summary,
        severity,
        url,
        source: "osv".to_owned(),
        ranges,
    })
}
