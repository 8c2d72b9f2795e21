//! Release notes for review text: the GitHub release bodies of the
//! versions a bump takes in, each cut to a short summary that puts
//! headings and breaking-change and security lines first.

use serde::Serialize;

use crate::fetch::Client;
use crate::manifest::model::Item;
use crate::source::github;
use crate::template::Vars;
use crate::version::{Scheme, version_from_tag};

/// Lines kept from one release's notes.
const SUMMARY_LINES: usize = 8;

/// The notes of one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseNote {
    pub tag: String,
    pub url: String,
    pub summary: Vec<String>,
}

/// Words that put a line first in a summary.
const IMPORTANT: &[&str] = &[
    "breaking", "security", "cve-", "vulnerab", "deprecat", "removed",
];

/// The lines of a release body worth a reviewer's first look: lines
/// naming breaking changes or security fixes, then headings, then the
/// first other entries, up to `max`; order within each group is kept.
pub fn summarize(body: &str, max: usize) -> Vec<String> {
    let lines: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("<!--"))
        .collect();
    let rank = |l: &str| {
        let lower = l.to_lowercase();
        if IMPORTANT.iter().any(|w| lower.contains(w)) {
            0
        } else if l.starts_with('#') {
            1
        } else {
            2
        }
    };
    let mut ranked: Vec<(u8, &str)> = lines.into_iter().map(|l| (rank(l), l)).collect();
    // A stable sort keeps each group in the order of the notes.
    ranked.sort_by_key(|(r, _)| *r);
    ranked
        .into_iter()
        .take(max)
        .map(|(_, l)| shorten(l))
        .collect()
}

fn shorten(line: &str) -> String {
    const MAX: usize = 160;
    if line.chars().count() <= MAX {
        return line.to_owned();
    }
    let cut: String = line.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

/// The notes of every release after `old` up to and including `new`
/// (versions in the item's scheme, tags through its tag template), oldest
/// first. Drafts are skipped.
pub async fn between(
    client: &Client,
    repo: &str,
    id: &str,
    item: &Item,
    tag_template: &str,
    old: &str,
    new: &str,
) -> Result<Vec<ReleaseNote>, github::GithubError> {
    let scheme = Scheme::default_for(item);
    let (Ok(old), Ok(new)) = (scheme.parse(old), scheme.parse(new)) else {
        return Ok(Vec::new());
    };
    let vars = Vars::new().with("item", id);
    let mut notes: Vec<(crate::version::Version, ReleaseNote)> = github::releases(client, repo)
        .await?
        .into_iter()
        .filter(|r| !r.draft)
        .filter_map(|r| {
            let v = version_from_tag(tag_template, &vars, &r.tag_name)?;
            let v = scheme.parse(&v).ok()?;
            (v > old && v <= new).then(|| {
                let summary = summarize(r.body.as_deref().unwrap_or(""), SUMMARY_LINES);
                (
                    v,
                    ReleaseNote {
                        tag: r.tag_name,
                        url: r.html_url,
                        summary,
                    },
                )
            })
        })
        .collect();
    notes.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(notes.into_iter().map(|(_, n)| n).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaking_and_security_lines_come_first() {
        let body = "## What's changed\n\n* Bump go to 1.22\n* Fix routing\n\n### Breaking changes\n* Removed the `--foo` flag\n\nSecurity: fixes CVE-2024-1234\n<!-- hidden -->\n";
        assert_eq!(
            summarize(body, 4),
            [
                "### Breaking changes",
                "* Removed the `--foo` flag",
                "Security: fixes CVE-2024-1234",
                "## What's changed",
            ]
        );
        assert_eq!(summarize(body, 100).len(), 6);
        assert!(summarize("", 3).is_empty());
    }

    #[test]
    fn long_lines_are_cut() {
        let long = "x".repeat(500);
        let s = summarize(&long, 1);
        assert_eq!(s[0].chars().count(), 160);
        assert!(s[0].ends_with('…'));
    }
}
