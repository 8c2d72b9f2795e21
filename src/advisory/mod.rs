//! Security advisories: which known vulnerabilities affect a version of an
//! item, which version fixes them, and which the manifest accepts.
//!
//! Sources ([`Sources::of`]): GitHub's repository security advisories for
//! GitHub sources (`advisories.github`, default on) and the OSV database
//! for items mapped to an OSV ecosystem and package (`advisories.osv`).
//! Both are normalised into [`Advisory`], whose ranges are evaluated with
//! the item's own versioning scheme ([`crate::version`]):
//!
//! - GitHub: `vulnerabilities[].vulnerable_version_range` is a constraint
//!   (`>= 3.0.0, < 3.3.5`), `patched_versions` the fixed-in list; only
//!   `published` advisories count (withdrawn ones carry `withdrawn_at`).
//! - OSV: `affected[]` entries for the mapped package; each `SEMVER` or
//!   `ECOSYSTEM` range is a list of `introduced` / `fixed` /
//!   `last_affected` / `limit` events (`introduced: "0"` is "from the
//!   start"), and `versions` lists affected versions outright. `GIT`
//!   ranges name commits, which a version cannot be ordered against: they
//!   are left to the `versions` list OSV enumerates from them. A
//!   `withdrawn` record affects nothing.
//!
//! A bound that does not parse in the item's scheme makes its range
//! unusable; such a range never marks a version affected, and the count
//! of unusable ranges is reported ([`Evaluation::unknown`]).
//!
//! Answers are fetched through [`crate::fetch::Client`] (GitHub's through
//! the HTTP cache, with conditional requests) and the normalised result
//! is kept in the HTTP cache's store as a snapshot with the time it was
//! taken ([`store`]); offline runs use the last snapshot and say how old
//! it is.

pub mod github;
pub mod osv;
pub mod store;

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::manifest::model::{Advisories, Item, Source};
use crate::version::{Constraint, Scheme, Version};

/// One advisory, from either source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// `GHSA-…`, or the OSV id.
    pub id: String,
    /// Other ids of the same advisory (CVE, GHSA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub summary: String,
    /// `low`, `medium`/`moderate`, `high`, `critical`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `github` or `osv`.
    pub source: String,
    pub ranges: Vec<Range>,
}

/// Which versions an advisory affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Range {
    /// A constraint over versions (GitHub's `vulnerable_version_range`)
    /// and the versions that patch it.
    Constraint {
        range: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        patched: Vec<String>,
    },
    /// OSV events in order, and versions listed outright.
    Events {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        events: Vec<Event>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        versions: Vec<String>,
    },
}

/// One OSV range event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// Whether a version is affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Affected,
    NotAffected,
    /// No range could be evaluated in the item's scheme.
    Unknown,
}

impl Advisory {
    /// Whether `version` (a version of `scheme`) is affected.
    pub fn affects(&self, scheme: &Scheme, version: &Version) -> Verdict {
        let mut usable = false;
        for range in &self.ranges {
            match range_affects(range, scheme, version) {
                Some(true) => return Verdict::Affected,
                Some(false) => usable = true,
                None => {}
            }
        }
        if usable {
            Verdict::NotAffected
        } else {
            Verdict::Unknown
        }
    }

    /// The versions named as fixing it (patched versions, `fixed` events),
    /// in the order given, without repeats.
    pub fn fixed_in(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for range in &self.ranges {
            let found: Vec<&String> = match range {
                Range::Constraint { patched, .. } => patched.iter().collect(),
                Range::Events { events, .. } => events
                    .iter()
                    .filter_map(|e| match e {
                        Event::Fixed(v) => Some(v),
                        _ => None,
                    })
                    .collect(),
            };
            for v in found {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
        out
    }

    /// Whether `id` names this advisory (its id or an alias, any case).
    pub fn is_named(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(id))
    }

    /// Its severity for display (`unknown` when none).
    pub fn severity_word(&self) -> &str {
        self.severity.as_deref().unwrap_or("unknown")
    }
}

fn parse(scheme: &Scheme, text: &str) -> Option<Version> {
    scheme.parse(text.trim()).ok()
}

/// `Some(affected)`, or `None` when the range cannot be evaluated.
fn range_affects(range: &Range, scheme: &Scheme, v: &Version) -> Option<bool> {
    match range {
        Range::Constraint { range, .. } => {
            let c = Constraint::parse(&normalise_range(range), scheme).ok()?;
            Some(c.matches(v))
        }
        Range::Events { events, versions } => {
            let listed = versions.iter().any(|text| {
                text == v.as_str()
                    || parse(scheme, text).is_some_and(|l| l.cmp_precedence(v).is_eq())
            });
            if listed {
                return Some(true);
            }
            if events.is_empty() {
                return (!versions.is_empty()).then_some(false);
            }
            events_affect(events, scheme, v)
        }
    }
}

/// GitHub writes `= 1.2.3`, `>= 1.0, < 2.0`; the constraint parser
/// takes the same once spaces after operators are gone.
fn normalise_range(range: &str) -> String {
    range
        .split(',')
        .map(|clause| {
            let clause = clause.trim();
            let op_end = clause
                .find(|c: char| !matches!(c, '<' | '>' | '='))
                .unwrap_or(clause.len());
            format!("{}{}", &clause[..op_end], clause[op_end..].trim())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The OSV evaluation: sorted by version, each `introduced` opens an
/// affected interval that the next `fixed` (exclusive) or `last_affected`
/// (inclusive) closes; `limit` events bound every interval from above.
fn events_affect(events: &[Event], scheme: &Scheme, v: &Version) -> Option<bool> {
    // (version or None for "0", order of kinds at equal versions, event)
    let mut points: Vec<(Option<Version>, &Event)> = Vec::new();
    let mut limits = Vec::new();
    for e in events {
        match e {
            Event::Introduced(text) if text.trim() == "0" => points.push((None, e)),
            Event::Introduced(text) | Event::Fixed(text) | Event::LastAffected(text) => {
                points.push((Some(parse(scheme, text)?), e));
            }
            Event::Limit(text) if text.trim() == "*" => {}
            Event::Limit(text) => limits.push(parse(scheme, text)?),
        }
    }
    if limits.iter().any(|l| v.cmp_precedence(l) != Ordering::Less) {
        return Some(false);
    }
    points.sort_by(|(a, _), (b, _)| match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => a.cmp_precedence(b),
    });
    let mut affected = false;
    for (at, event) in points {
        let reached = at
            .as_ref()
            .is_none_or(|at| v.cmp_precedence(at) != Ordering::Less);
        match event {
            Event::Introduced(_) if reached => affected = true,
            Event::Fixed(_) if reached => affected = false,
            Event::LastAffected(_)
                if at.as_ref().is_some_and(|at| v.cmp_precedence(at).is_gt()) =>
            {
                affected = false;
            }
            _ => {}
        }
    }
    Some(affected)
}

/// Where an item's advisories come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// `owner/name` whose repository advisories are read.
    pub github: Option<String>,
    /// OSV ecosystem and package name.
    pub osv: Option<(String, String)>,
}

impl Sources {
    /// The item's sources: its `advisories` block, else the defaults
    /// (GitHub repository advisories for GitHub sources).
    pub fn of(item: &Item) -> Sources {
        let config = item.advisories.clone().unwrap_or_default();
        let repo = match &item.source {
            Source::GithubRelease { repo, .. } | Source::GithubFiles { repo, .. } => {
                Some(repo.clone())
            }
            _ => None,
        };
        Sources {
            github: repo.filter(|_| config.github.unwrap_or(true)),
            osv: config.osv.map(|o| (o.ecosystem, o.package)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.github.is_none() && self.osv.is_none()
    }

    /// What identifies these sources in the snapshot store.
    pub fn key(&self) -> String {
        let mut key = String::new();
        if let Some(repo) = &self.github {
            key.push_str(&format!("github:{repo};"));
        }
        if let Some((eco, name)) = &self.osv {
            key.push_str(&format!("osv:{eco}:{name};"));
        }
        key
    }
}

/// One advisory against one version, with whether it is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub item: String,
    pub version: String,
    pub id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub severity: String,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub fixed_in: Vec<String>,
    /// Accepted by the allow-list until this date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_until: Option<String>,
    /// An acceptance that has expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired: Option<String>,
}

impl Finding {
    /// Whether the finding fails the gate.
    pub fn fails(&self) -> bool {
        self.accepted_until.is_none()
    }
}

/// The advisories affecting `version`, each checked against the item's
/// allow-list on `today` (`YYYY-MM-DD`); and how many advisories could
/// not be evaluated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub unknown: Vec<String>,
}

pub fn evaluate(
    id: &str,
    item: &Item,
    version: &str,
    advisories: &[Advisory],
    today: &str,
) -> Evaluation {
    let scheme = Scheme::default_for(item);
    let mut out = Evaluation::default();
    let Ok(v) = scheme.parse(version) else {
        out.unknown = advisories.iter().map(|a| a.id.clone()).collect();
        return out;
    };
    let allow = item
        .advisories
        .as_ref()
        .map(|a| a.allow.as_slice())
        .unwrap_or_default();
    for a in advisories {
        match a.affects(&scheme, &v) {
            Verdict::Affected => {}
            Verdict::NotAffected => continue,
            Verdict::Unknown => {
                out.unknown.push(a.id.clone());
                continue;
            }
        }
        let entry = allow.iter().find(|e| a.is_named(&e.id));
        let (accepted_until, expired) = match entry {
            Some(e) if e.expires.as_str() >= today => (Some(e.expires.clone()), None),
            Some(e) => (None, Some(e.expires.clone())),
            None => (None, None),
        };
        out.findings.push(Finding {
            item: id.to_owned(),
            version: version.to_owned(),
            id: a.id.clone(),
            aliases: a.aliases.clone(),
            severity: a.severity_word().to_owned(),
            summary: a.summary.clone(),
            url: a.url.clone(),
            fixed_in: a.fixed_in(),
            accepted_until,
            expired,
        });
    }
    out
}

/// The same advisory reported by both sources (a GHSA id that OSV lists
/// as an id or alias) is kept once, the first seen.
pub fn dedupe(advisories: Vec<Advisory>) -> Vec<Advisory> {
    let mut out: Vec<Advisory> = Vec::new();
    for a in advisories {
        let seen = out.iter().any(|o| {
            o.is_named(&a.id)
                || a.aliases
                    .iter()
                    .any(|alias| o.is_named(alias) && alias.starts_with("GHSA-"))
        });
        if !seen {
            out.push(a);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// An item's advisories and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub advisories: Vec<Advisory>,
    /// When they were fetched (seconds since the Unix epoch).
    pub fetched_at: u64,
    /// From the last snapshot (offline), not asked now.
    pub cached: bool,
}

impl Lookup {
    /// `as of 3 hours ago (offline: the last answer)` for a cached
    /// lookup, `None` for a fresh one.
    pub fn staleness(&self) -> Option<String> {
        self.cached.then(|| {
            format!(
                "as of {} ago, {} (offline: the last answer)",
                store::age(store::now().saturating_sub(self.fetched_at)),
                crate::fetch::utc(self.fetched_at)
            )
        })
    }
}

/// Why an item's advisories are not known.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AdvisoryError {
    #[error("{item}: no advisory answer is cached for offline use")]
    #[diagnostic(
        code("vendor::advisory::not-cached"),
        help("run once with the network (without --offline) to fetch and keep the answer")
    )]
    NotCached { item: String },
    #[error("{item}: cannot read the GitHub security advisories of {repo}")]
    #[diagnostic(code("vendor::advisory::github"))]
    Github {
        item: String,
        repo: String,
        #[source]
        #[diagnostic_source]
        source: crate::source::github::GithubError,
    },
    #[error("{item}: cannot query OSV for {ecosystem} {package}")]
    #[diagnostic(code("vendor::advisory::osv"))]
    Osv {
        item: String,
        ecosystem: String,
        package: String,
        #[source]
        #[diagnostic_source]
        source: crate::fetch::FetchError,
    },
}

/// The advisories of `item`'s sources: asked now with a client (and kept
/// as the snapshot), else the last snapshot.
pub async fn lookup(
    client: Option<&crate::fetch::Client>,
    id: &str,
    sources: &Sources,
) -> Result<Lookup, AdvisoryError> {
    let cache = store::open();
    let Some(client) = client else {
        let snapshot = store::load(&cache, sources).ok_or_else(|| AdvisoryError::NotCached {
            item: id.to_owned(),
        })?;
        return Ok(Lookup {
            advisories: snapshot.advisories,
            fetched_at: snapshot.fetched_at,
            cached: true,
        });
    };
    let from_github = async {
        match &sources.github {
            None => Ok(Vec::new()),
            Some(repo) => match github::fetch(client, repo).await {
                // A GitHub without the endpoint (older Enterprise) or a
                // repository without advisories enabled: none known.
                Err(crate::source::github::GithubError::Fetch(
                    crate::fetch::FetchError::NotFound { .. },
                )) => Ok(Vec::new()),
                other => other.map_err(|source| AdvisoryError::Github {
                    item: id.to_owned(),
                    repo: repo.clone(),
                    source,
                }),
            },
        }
    };
    let from_osv = async {
        match &sources.osv {
            None => Ok(Vec::new()),
            Some((ecosystem, package)) => {
                osv::fetch(client, ecosystem, package)
                    .await
                    .map_err(|source| AdvisoryError::Osv {
                        item: id.to_owned(),
                        ecosystem: ecosystem.clone(),
                        package: package.clone(),
                        source,
                    })
            }
        }
    };
    let (gh, os) = tokio::join!(from_github, from_osv);
    let mut all = gh?;
    all.extend(os?);
    let snapshot = store::Snapshot {
        fetched_at: store::now(),
        advisories: dedupe(all),
    };
    store::save(&cache, sources, &snapshot);
    Ok(Lookup {
        advisories: snapshot.advisories,
        fetched_at: snapshot.fetched_at,
        cached: false,
    })
}

/// What a version change does to the advisories affecting an item
/// (`vendor diff`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecurityChange {
    /// Affecting the old version, not the new one.
    pub fixes: Vec<Finding>,
    /// Affecting the new version, not the old one.
    pub introduces: Vec<Finding>,
    /// How old the answer is, when it came from the snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

impl SecurityChange {
    /// Compares the advisories of `old` and `new` (versions of `item`).
    pub fn between(id: &str, item: &Item, old: &str, new: &str, lookup: &Lookup) -> SecurityChange {
        let today = today();
        let before = evaluate(id, item, old, &lookup.advisories, &today).findings;
        let after = evaluate(id, item, new, &lookup.advisories, &today).findings;
        let only = |a: &[Finding], b: &[Finding]| -> Vec<Finding> {
            a.iter()
                .filter(|f| !b.iter().any(|g| g.id == f.id))
                .cloned()
                .collect()
        };
        SecurityChange {
            fixes: only(&before, &after),
            introduces: only(&after, &before),
            as_of: lookup.staleness(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fixes.is_empty() && self.introduces.is_empty()
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    crate::fetch::utc(now)[..10].to_owned()
}

/// Whether `text` is a `YYYY-MM-DD` date.
pub fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(text[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(text[8..10].parse::<u8>(), Ok(1..=31))
}

/// The manifest block, for callers that only need to know it is there.
pub fn configured(item: &Item) -> Option<&Advisories> {
    item.advisories.as_ref()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn osv(events: &[Event], versions: &[&str]) -> Advisory {
        Advisory {
            id: "OSV-1".into(),
            aliases: vec![],
            summary: String::new(),
            severity: None,
            url: None,
            source: "osv".into(),
            ranges: vec![Range::Events {
                events: events.to_vec(),
                versions: versions.iter().map(|s| (*s).to_owned()).collect(),
            }],
        }
    }

    fn gh(range: &str) -> Advisory {
        Advisory {
            id: "GHSA-1".into(),
            aliases: vec![],
            summary: String::new(),
            severity: None,
            url: None,
            source: "github".into(),
            ranges: vec![Range::Constraint {
                range: range.into(),
                patched: vec![],
            }],
        }
    }

    fn verdict(a: &Advisory, scheme: &Scheme, v: &str) -> Verdict {
        a.affects(scheme, &scheme.parse(v).unwrap())
    }

    use Event::*;

    #[test]
    fn osv_events_follow_the_spec() {
        let s = Scheme::Semver;
        let a = osv(&[Introduced("0".into()), Fixed("3.3.5".into())], &[]);
        assert_eq!(verdict(&a, &s, "3.3.4"), Verdict::Affected);
        assert_eq!(verdict(&a, &s, "v3.3.4"), Verdict::Affected);
        assert_eq!(verdict(&a, &s, "3.3.5"), Verdict::NotAffected);
        assert_eq!(verdict(&a, &s, "v3.3.5"), Verdict::NotAffected);
        // Two intervals, out of order in the record.
        let a = osv(
            &[
                Introduced("2.0.0".into()),
                Fixed("2.1.0".into()),
                Introduced("1.0.0".into()),
                Fixed("1.0.5".into()),
            ],
            &[],
        );
        for (v, want) in [
            ("0.9.0", Verdict::NotAffected),
            ("1.0.0", Verdict::Affected),
            ("1.0.4", Verdict::Affected),
            ("1.0.5", Verdict::NotAffected),
            ("1.9.9", Verdict::NotAffected),
            ("2.0.3", Verdict::Affected),
            ("2.1.0", Verdict::NotAffected),
        ] {
            assert_eq!(verdict(&a, &s, v), want, "{v}");
        }
        let a = osv(
            &[Introduced("1.0.0".into()), LastAffected("1.2.0".into())],
            &[],
        );
        assert_eq!(verdict(&a, &s, "1.2.0"), Verdict::Affected);
        assert_eq!(verdict(&a, &s, "1.2.1"), Verdict::NotAffected);
        let a = osv(&[Introduced("0".into()), Limit("2.0.0".into())], &[]);
        assert_eq!(verdict(&a, &s, "1.9.0"), Verdict::Affected);
        assert_eq!(verdict(&a, &s, "2.0.0"), Verdict::NotAffected);
        // Listed versions count without events.
        let a = osv(&[], &["1.2.3"]);
        assert_eq!(verdict(&a, &s, "1.2.3"), Verdict::Affected);
        assert_eq!(verdict(&a, &s, "1.2.4"), Verdict::NotAffected);
        // A bound the scheme cannot read: unknown, never affected.
        let a = osv(&[Introduced("0".into()), Fixed("deadbeef".into())], &[]);
        assert_eq!(verdict(&a, &s, "1.0.0"), Verdict::Unknown);
    }

    #[test]
    fn loose_and_build_metadata_versions_are_compared_in_their_scheme() {
        let loose = Scheme::Loose;
        let a = osv(
            &[Introduced("0".into()), Fixed("6.8.0-47-generic".into())],
            &[],
        );
        assert_eq!(verdict(&a, &loose, "6.8.0-45-generic"), Verdict::Affected);
        assert_eq!(
            verdict(&a, &loose, "6.8.0-47-generic"),
            Verdict::NotAffected
        );
        let semver = Scheme::Semver;
        let a = gh(">= 1.30.0, < 1.30.4+k3s2");
        assert_eq!(verdict(&a, &semver, "1.30.4+k3s1"), Verdict::Affected);
        assert_eq!(verdict(&a, &semver, "1.30.4+k3s2"), Verdict::NotAffected);
    }

    #[test]
    fn github_ranges_read_as_constraints() {
        let s = Scheme::Semver;
        for (range, v, want) in [
            (">= 3.0.0, < 3.3.5", "3.3.4", Verdict::Affected),
            (">= 3.0.0, < 3.3.5", "3.3.5", Verdict::NotAffected),
            (">=3.0.0,<3.3.5", "2.11.0", Verdict::NotAffected),
            ("< 3.3.5", "1.0.0", Verdict::Affected),
            ("<= 3.3.4", "3.3.4", Verdict::Affected),
            ("= 3.3.4", "3.3.4", Verdict::Affected),
            ("= 3.3.4", "3.3.3", Verdict::NotAffected),
            ("not a range", "3.3.4", Verdict::Unknown),
        ] {
            assert_eq!(verdict(&gh(range), &s, v), want, "{range} {v}");
        }
    }

    #[test]
    fn dates() {
        assert!(is_date("2026-12-31"));
        for bad in [
            "2026-13-01",
            "2026-1-01",
            "20261231",
            "2026-12-32",
            "yyyy-mm-dd",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
        assert_eq!(today().len(), 10);
    }
}
