//! GitHub as an upstream: releases and their assets, tags, commits and raw
//! files, through the REST API (`GITHUB_API_URL`, GitHub Enterprise
//! included).
//!
//! Every request goes through [`crate::fetch::Client`], which owns the
//! token, mirror, retry and rate-limit rules and the HTTP cache. Releases,
//! release lists, tags and refs are mutable upstream (a re-tag, a replaced
//! asset), so their answers are always revalidated; only a commit named
//! by its full sha is reused without asking ([`commit_for_ref`]). A release
//! tag's commit is asked of git's own protocol first ([`tag_commit`],
//! [`super::git`]), which costs no API request. This module turns GitHub's
//! JSON into small types and GitHub's 404s into errors that say what
//! exists instead ("did you mean `v3.3.5`?").

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::diag::{levenshtein, one_of, suggest};
use crate::fetch::{ACCEPT_RAW, ACCEPT_SHA, Client, Downloaded, FetchError};

/// Pages followed at most when listing (100 entries each).
pub const MAX_PAGES: usize = 50;
const PER_PAGE: u32 = 100;
/// Suggestions offered for a missing tag or ref.
const NEAREST: usize = 3;

/// A release, as `GET /repos/{owner}/{repo}/releases/tags/{tag}` returns
/// it (the fields `vendor` uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: u64,
    pub tag_name: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
    #[serde(default)]
    pub published_at: Option<String>,
    /// Whether the release is immutable (its assets and tag locked by
    /// GitHub); `None` where the API does not say (older GitHub
    /// Enterprise Server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// A release asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub id: u64,
    pub name: String,
    pub size: u64,
    /// `sha256:<hex>`; absent on assets uploaded before GitHub computed
    /// digests.
    #[serde(default)]
    pub digest: Option<String>,
    pub browser_download_url: String,
    /// The API URL of the asset (`Accept: application/octet-stream`
    /// downloads it, also for private repositories).
    pub url: String,
}

impl Release {
    /// The asset named exactly `name`.
    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.name == name)
    }
}

impl Asset {
    /// The lowercase sha256 of GitHub's `digest`, when it is a sha256.
    pub fn sha256(&self) -> Option<String> {
        self.checked_sha256().ok().flatten()
    }

    /// GitHub's `digest`, checked: the lowercase sha256 when it is one,
    /// `None` when there is none or it uses another algorithm
    /// (`sha512:…`), and the text itself as the error when it is not a
    /// digest at all (`sha256:zz`, `sha256:` with a short value, no
    /// `algorithm:` prefix), so a broken answer is named as such instead
    /// of being compared with other sources.
    pub fn checked_sha256(&self) -> Result<Option<String>, String> {
        let Some(digest) = self.digest.as_deref() else {
            return Ok(None);
        };
        let malformed = || Err(digest.to_owned());
        let Some((algorithm, hex)) = digest.split_once(':') else {
            return malformed();
        };
        let named = !algorithm.is_empty()
            && algorithm
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !named || hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return malformed();
        }
        if !algorithm.eq_ignore_ascii_case("sha256") {
            return Ok(None);
        }
        if hex.len() != 64 {
            return malformed();
        }
        Ok(Some(hex.to_ascii_lowercase()))
    }
}

/// A tag and the commit it points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    pub commit_sha: String,
}

/// GitHub's tag shape: `{"name": …, "commit": {"sha": …}}`.
#[derive(Deserialize)]
struct RawTag {
    name: String,
    commit: RawCommit,
}

#[derive(Deserialize)]
struct RawCommit {
    sha: String,
}

/// Where a raw file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawUrl {
    /// `raw.githubusercontent.com`: a plain download, no token
    /// ([`Client::download`]).
    Download(String),
    /// The contents API: fetched with `Accept: application/vnd.github.raw`
    /// and the API's token rules ([`Client::api_raw`],
    /// [`Client::download_api`]).
    Api(String),
}

impl RawUrl {
    pub fn url(&self) -> &str {
        match self {
            RawUrl::Download(url) | RawUrl::Api(url) => url,
        }
    }

    /// Streams the file into `dest`.
    pub async fn download(
        &self,
        client: &Client,
        dest: &Path,
        label: &str,
    ) -> Result<Downloaded, FetchError> {
        match self {
            RawUrl::Download(url) => client.download(url, dest, None, false, label).await,
            RawUrl::Api(url) => {
                client
                    .download_api(url, ACCEPT_RAW, dest, None, label)
                    .await
            }
        }
    }
}

/// What went wrong talking to GitHub.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GithubError {
    #[error("{repo} has no release tagged `{tag}`")]
    #[diagnostic(
        code("vendor::github::release-not-found"),
        help("{}", missing_help("release", nearest))
    )]
    ReleaseNotFound {
        repo: String,
        tag: String,
        /// The closest existing release tags, best first.
        nearest: Vec<String>,
    },

    #[error("{repo} has no tag, branch or commit `{git_ref}`")]
    #[diagnostic(
        code("vendor::github::ref-not-found"),
        help("{}", missing_help("ref", nearest))
    )]
    RefNotFound {
        repo: String,
        git_ref: String,
        /// The closest existing tags, best first.
        nearest: Vec<String>,
    },

    #[error("release `{tag}` of {repo} has no asset `{expected}`")]
    #[diagnostic(
        code("vendor::github::asset-missing"),
        help("{}", asset_help(expected, available))
    )]
    AssetMissing {
        repo: String,
        tag: String,
        expected: String,
        available: Vec<String>,
    },

    #[error("unexpected answer from {url}: {message}")]
    #[diagnostic(
        code("vendor::github::invalid-response"),
        help(
            "GITHUB_API_URL must point at a GitHub REST API (GitHub Enterprise: https://HOST/api/v3)"
        )
    )]
    InvalidResponse { url: String, message: String },

    #[error("`{repo}` is not a GitHub repository (expected owner/name)")]
    #[diagnostic(code("vendor::github::invalid-repo"))]
    InvalidRepo { repo: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Fetch(#[from] FetchError),
}

impl GithubError {
    /// The codes of this module's own variants.
    pub const CODES: &'static [&'static str] = &[
        "vendor::github::release-not-found",
        "vendor::github::ref-not-found",
        "vendor::github::asset-missing",
        "vendor::github::invalid-response",
        "vendor::github::invalid-repo",
    ];
}

fn missing_help(what: &str, nearest: &[String]) -> String {
    match nearest.split_first() {
        Some((best, [])) => format!("did you mean `{best}`?"),
        Some((best, rest)) => format!(
            "did you mean `{best}`? Also close: {}",
            one_of(rest).replace(" or ", ", ")
        ),
        None if what == "release" => "no release has a similar tag: check the version and the item's `source.tag` template, and that the repository exists (a private one needs GITHUB_TOKEN)".to_owned(),
        None => "no tag is similar: check the version and the item's `source.ref` template, and that the repository exists (a private one needs GITHUB_TOKEN)".to_owned(),
    }
}

fn asset_help(expected: &str, available: &[String]) -> String {
    if available.is_empty() {
        return format!(
            "the asset template produced `{expected}`, but the release has no assets (yet: uploads may still be running)"
        );
    }
    let mut help = format!(
        "the asset template produced `{expected}`; upstream has: {}",
        available.join(", ")
    );
    if let Some(best) = suggest(expected, available) {
        let _ = write!(help, " (did you mean `{best}`?)");
    }
    help
}

/// The error for an asset a release lacks.
pub fn asset_missing(repo: &str, tag: &str, expected: &str, available: &[Asset]) -> GithubError {
    GithubError::AssetMissing {
        repo: repo.to_owned(),
        tag: tag.to_owned(),
        expected: expected.to_owned(),
        available: available.iter().map(|a| a.name.clone()).collect(),
    }
}

/// The release tagged `tag`. A 404 lists the closest existing tags.
pub async fn release_by_tag(
    client: &Client,
    repo: &str,
    tag: &str,
) -> Result<Release, GithubError> {
    let url = format!("{}/releases/tags/{}", repo_url(client, repo)?, encode(tag));
    match client.api_json::<Release>(&url).await {
        Ok((release, _)) if release.tag_name == tag => Ok(release),
        Ok((release, _)) => Err(GithubError::InvalidResponse {
            url,
            message: format!("asked for tag `{tag}`, got `{}`", release.tag_name),
        }),
        Err(FetchError::NotFound { .. }) => {
            let tags = releases(client, repo)
                .await
                .map(|all| all.into_iter().map(|r| r.tag_name).collect())
                .unwrap_or_default();
            Err(GithubError::ReleaseNotFound {
                repo: repo.to_owned(),
                tag: tag.to_owned(),
                nearest: nearest(tag, tags),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Every release, newest first (at most [`MAX_PAGES`] pages of 100).
pub async fn releases(client: &Client, repo: &str) -> Result<Vec<Release>, GithubError> {
    let url = format!("{}/releases?per_page={PER_PAGE}", repo_url(client, repo)?);
    paginate(client, url).await
}

/// The repository's published security advisories (at most
/// [`MAX_PAGES`] pages of 100), as the caller's type.
pub async fn security_advisories<T: serde::de::DeserializeOwned>(
    client: &Client,
    repo: &str,
) -> Result<Vec<T>, GithubError> {
    let url = format!(
        "{}/security-advisories?state=published&per_page={PER_PAGE}",
        repo_url(client, repo)?
    );
    paginate(client, url).await
}

/// Every tag with its commit (at most [`MAX_PAGES`] pages of 100).
pub async fn tags(client: &Client, repo: &str) -> Result<Vec<Tag>, GithubError> {
    let url = format!("{}/tags?per_page={PER_PAGE}", repo_url(client, repo)?);
    let raw: Vec<RawTag> = paginate(client, url).await?;
    Ok(raw
        .into_iter()
        .map(|t| Tag {
            name: t.name,
            commit_sha: t.commit.sha,
        })
        .collect())
}

/// The commit the tag `tag` points to: asked of the repository's git
/// endpoint ([`super::git`]: no API request), else of the API
/// ([`commit_for_ref`]), which also says what exists when the tag does
/// not. The git answer is taken only when it lists the tag; anything else
/// (a refusal, a private repository, a malformed answer, no such tag)
/// leaves the question to the API.
pub async fn tag_commit(client: &Client, repo: &str, tag: &str) -> Result<String, GithubError> {
    if let Some(git) = git_url(client, repo)?
        && let Some(commit) = super::git::tag_commit(client, &git, tag).await
    {
        return Ok(commit);
    }
    commit_for_ref(client, repo, tag).await
}

/// The repository's git URL (`https://github.com/OWNER/NAME.git`), from
/// the API's: GitHub's own API host, or GitHub Enterprise's `/api/v3`.
/// `None` for an API elsewhere, whose git host is unknown.
fn git_url(client: &Client, repo: &str) -> Result<Option<String>, GithubError> {
    repo_url(client, repo)?;
    let api = client.config().api_url.trim_end_matches('/');
    let web = if api == crate::fetch::DEFAULT_API_URL {
        Some("https://github.com")
    } else {
        api.strip_suffix("/api/v3")
    };
    Ok(web.map(|web| format!("{web}/{repo}.git")))
}

/// The commit sha `git_ref` (tag, branch or sha) points to. Asks for the
/// `sha` media type, so a commit touching thousands of files costs 40
/// bytes, not megabytes of JSON.
pub async fn commit_for_ref(
    client: &Client,
    repo: &str,
    git_ref: &str,
) -> Result<String, GithubError> {
    let url = format!("{}/commits/{}", repo_url(client, repo)?, encode(git_ref));
    // A full commit sha names one commit forever: the answer (that sha)
    // is reused without asking, as long as the stored answer is the sha
    // asked for. Tags and branches move: they are always revalidated.
    let asked = git_ref.to_ascii_lowercase();
    let answered_itself = move |body: &[u8]| parse_sha(body).as_deref() == Some(asked.as_str());
    let fetched = if is_full_sha(git_ref) {
        client
            .api_get_fact(&url, ACCEPT_SHA, 64 << 10, &answered_itself)
            .await
    } else {
        client.api_get(&url, ACCEPT_SHA, 64 << 10).await
    };
    let body = match fetched {
        Ok(body) => body,
        Err(FetchError::NotFound { .. } | FetchError::Status { status: 422, .. }) => {
            let tags = tags(client, repo)
                .await
                .map(|all| all.into_iter().map(|t| t.name).collect())
                .unwrap_or_default();
            return Err(GithubError::RefNotFound {
                repo: repo.to_owned(),
                git_ref: git_ref.to_owned(),
                nearest: nearest(git_ref, tags),
            });
        }
        Err(e) => return Err(e.into()),
    };
    parse_sha(&body).ok_or_else(|| GithubError::InvalidResponse {
        url,
        message: "expected a commit sha".to_owned(),
    })
}

/// Whether `git_ref` is a full commit sha (SHA-1 or SHA-256), not an
/// abbreviation, tag or branch name.
fn is_full_sha(git_ref: &str) -> bool {
    matches!(git_ref.len(), 40 | 64) && git_ref.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A sha from the `sha` media type (plain text), or from the commit JSON
/// of a server that ignores the media type.
fn parse_sha(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let sha = if text.starts_with('{') {
        serde_json::from_str::<RawCommit>(text).ok()?.sha
    } else {
        text.to_owned()
    };
    let valid = matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| sha.to_ascii_lowercase())
}

/// Where the file `path` of `repo` at `commit` is fetched from: public
/// GitHub serves raw files from `raw.githubusercontent.com` (no API quota);
/// other APIs (GitHub Enterprise, tests) through the contents API.
pub fn raw_file_url(client: &Client, repo: &str, commit: &str, path: &str) -> RawUrl {
    let repo_path = encode_path(repo);
    let file = encode_path(path.trim_start_matches('/'));
    if client.config().is_default_github() {
        RawUrl::Download(format!(
            "https://raw.githubusercontent.com/{repo_path}/{}/{file}",
            encode(commit)
        ))
    } else {
        RawUrl::Api(format!(
            "{}/repos/{repo_path}/contents/{file}?ref={}",
            client.config().api_url,
            encode(commit)
        ))
    }
}

/// `{api}/repos/{owner}/{name}` for a well-formed `owner/name`.
fn repo_url(client: &Client, repo: &str) -> Result<String, GithubError> {
    let valid_part = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    match repo.split_once('/') {
        Some((owner, name))
            if valid_part(owner) && valid_part(name) && name != "." && name != ".." =>
        {
            Ok(format!("{}/repos/{owner}/{name}", client.config().api_url))
        }
        _ => Err(GithubError::InvalidRepo {
            repo: repo.to_owned(),
        }),
    }
}

/// Follows `Link: rel="next"` from `first`, at most [`MAX_PAGES`] pages.
async fn paginate<T: serde::de::DeserializeOwned>(
    client: &Client,
    first: String,
) -> Result<Vec<T>, GithubError> {
    let mut all = Vec::new();
    let mut next = Some(first);
    for _ in 0..MAX_PAGES {
        let Some(url) = next.take() else { break };
        let (page, following): (Vec<T>, _) = client.api_json(&url).await?;
        all.extend(page);
        next = following.filter(|n| *n != url);
    }
    Ok(all)
}

/// Up to [`NEAREST`] candidates closest to `word`, best first; ties keep
/// the listing order (newest first for GitHub's lists).
fn nearest(word: &str, candidates: Vec<String>) -> Vec<String> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 2).max(2);
    let mut scored: Vec<(usize, usize, String)> = candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| (levenshtein(&lower, &c.to_lowercase()), i, c))
        .filter(|(d, _, c)| *d <= limit && c != word)
        .collect();
    scored.sort();
    let mut out: Vec<String> = Vec::new();
    for (_, _, c) in scored {
        if !out.contains(&c) {
            out.push(c);
        }
        if out.len() == NEAREST {
            break;
        }
    }
    out
}

/// Percent-encodes one path segment or query value (RFC 3986 unreserved
/// characters pass; `+` in `v1.30.4+k3s1` becomes `%2B`).
fn encode(segment: &str) -> String {
    let dots_only = segment.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        let plain = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'~')
            || (b == b'.' && !dots_only);
        if plain {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// [`encode`] per `/`-separated segment.
fn encode_path(path: &str) -> String {
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::Config;

    fn client(api: &str) -> Client {
        Client::new(Config {
            api_url: api.to_owned(),
            ..Config::default()
        })
        .expect("client")
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn futures_are_send() {
        let c = client("https://api.github.com");
        assert_send(&release_by_tag(&c, "o/r", "v1"));
        assert_send(&releases(&c, "o/r"));
        assert_send(&tags(&c, "o/r"));
        assert_send(&commit_for_ref(&c, "o/r", "main"));
        let raw = raw_file_url(&c, "o/r", "main", "f");
        assert_send(&raw.download(&c, Path::new("f"), "f"));
    }

    #[test]
    fn raw_urls() {
        let public = client("https://api.github.com");
        assert_eq!(
            raw_file_url(&public, "raspberrypi/firmware", "abc123", "boot/start4.elf"),
            RawUrl::Download(
                "https://raw.githubusercontent.com/raspberrypi/firmware/abc123/boot/start4.elf"
                    .into()
            )
        );
        let ghe = client("https://ghe.example.com/api/v3");
        assert_eq!(
            raw_file_url(&ghe, "o/r", "abc123", "/boot/a b.txt"),
            RawUrl::Api(
                "https://ghe.example.com/api/v3/repos/o/r/contents/boot/a%20b.txt?ref=abc123"
                    .into()
            )
        );
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("v1.30.4+k3s1"), "v1.30.4%2Bk3s1");
        assert_eq!(encode("release/1.0"), "release%2F1.0");
        assert_eq!(encode(".."), "%2E%2E");
        assert_eq!(encode_path("a/b c/d"), "a/b%20c/d");
    }

    #[test]
    fn repo_names() {
        let c = client("https://api.github.com");
        assert_eq!(
            repo_url(&c, "k3s-io/k3s").ok().as_deref(),
            Some("https://api.github.com/repos/k3s-io/k3s")
        );
        for bad in ["k3s", "a/b/c", "/x", "a/..", "a b/c", "a/?x"] {
            assert!(
                matches!(repo_url(&c, bad), Err(GithubError::InvalidRepo { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn nearest_tags() {
        let tags: Vec<String> = ["v3.3.6", "v3.3.5", "v3.3.4", "v2.11.0", "v3.3.5-rc1"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            nearest("v3.3.7", tags.clone()),
            ["v3.3.6", "v3.3.5", "v3.3.4"]
        );
        assert_eq!(nearest("3.3.5", tags.clone())[0], "v3.3.5");
        assert!(nearest("totally-different-name", tags).is_empty());
    }

    #[test]
    fn help_texts() {
        assert_eq!(
            missing_help("release", &["v3.3.5".into()]),
            "did you mean `v3.3.5`?"
        );
        let two = missing_help("release", &["a".into(), "b".into(), "c".into()]);
        assert_eq!(two, "did you mean `a`? Also close: `b`, `c`");
        let help = asset_help(
            "traefik_v3.3.4_linux_amd65.tar.gz",
            &[
                "traefik_v3.3.4_linux_amd64.tar.gz".into(),
                "traefik_v3.3.4_checksums.txt".into(),
            ],
        );
        assert!(help.contains(
            "upstream has: traefik_v3.3.4_linux_amd64.tar.gz, traefik_v3.3.4_checksums.txt"
        ));
        assert!(help.contains("did you mean `traefik_v3.3.4_linux_amd64.tar.gz`"));
    }

    #[test]
    fn asset_digests() {
        let mut asset = Asset {
            id: 1,
            name: "a".into(),
            size: 1,
            digest: Some(format!("sha256:{}", "AB".repeat(32))),
            browser_download_url: String::new(),
            url: String::new(),
        };
        assert_eq!(asset.sha256(), Some("ab".repeat(32)));
        asset.digest = Some(format!("sha512:{}", "ab".repeat(64)));
        assert_eq!(asset.sha256(), None);
        assert_eq!(asset.checked_sha256(), Ok(None));
        asset.digest = Some("sha256:short".into());
        assert_eq!(asset.sha256(), None);
        for malformed in [
            "sha256:zz",
            "sha256:abc",
            "sha256:",
            "zz",
            ":ab",
            "sha 256:ab",
        ] {
            asset.digest = Some(malformed.into());
            assert_eq!(
                asset.checked_sha256(),
                Err(malformed.to_owned()),
                "{malformed}"
            );
        }
        asset.digest = None;
        assert_eq!(asset.sha256(), None);
        assert_eq!(asset.checked_sha256(), Ok(None));
    }

    #[test]
    fn shas() {
        let sha = "a".repeat(40);
        assert_eq!(parse_sha(format!("{sha}\n").as_bytes()), Some(sha.clone()));
        assert_eq!(
            parse_sha(format!("{{\"sha\":\"{sha}\",\"files\":[]}}").as_bytes()),
            Some(sha)
        );
        assert_eq!(parse_sha(b"<html>"), None);
    }

    #[test]
    fn codes_match_the_variants() {
        let s = String::new;
        let samples = [
            GithubError::ReleaseNotFound {
                repo: s(),
                tag: s(),
                nearest: vec![],
            },
            GithubError::RefNotFound {
                repo: s(),
                git_ref: s(),
                nearest: vec![],
            },
            GithubError::AssetMissing {
                repo: s(),
                tag: s(),
                expected: s(),
                available: vec![],
            },
            GithubError::InvalidResponse {
                url: s(),
                message: s(),
            },
            GithubError::InvalidRepo { repo: s() },
        ];
        let codes: Vec<String> = samples
            .iter()
            .map(|e| {
                miette::Diagnostic::code(e)
                    .map(|c| c.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(codes, GithubError::CODES);
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in GithubError::CODES.iter().chain(FetchError::CODES) {
            assert!(seen.insert(code), "{code}");
        }
    }

    #[test]
    fn release_json_follows_githubs_shape() {
        // Trimmed from GitHub's documented example response.
        let json = r#"{
          "url": "https://api.github.com/repos/octocat/Hello-World/releases/1",
          "html_url": "https://github.com/octocat/Hello-World/releases/v1.0.0",
          "assets_url": "https://api.github.com/repos/octocat/Hello-World/releases/1/assets",
          "upload_url": "https://uploads.github.com/repos/octocat/Hello-World/releases/1/assets{?name,label}",
          "tarball_url": "https://api.github.com/repos/octocat/Hello-World/tarball/v1.0.0",
          "zipball_url": "https://api.github.com/repos/octocat/Hello-World/zipball/v1.0.0",
          "id": 1, "node_id": "MDc6UmVsZWFzZTE=", "tag_name": "v1.0.0",
          "target_commitish": "master", "name": "v1.0.0", "body": "Description of the release",
          "draft": false, "prerelease": false, "immutable": false,
          "created_at": "2013-02-27T19:35:32Z", "published_at": "2013-02-27T19:35:32Z",
          "author": {"login": "octocat", "id": 1},
          "assets": [{
            "url": "https://api.github.com/repos/octocat/Hello-World/releases/assets/1",
            "browser_download_url": "https://github.com/octocat/Hello-World/releases/download/v1.0.0/example.zip",
            "id": 1, "node_id": "MDEyOlJlbGVhc2VBc3NldDE=", "name": "example.zip", "label": "short description",
            "state": "uploaded", "content_type": "application/zip", "size": 1024,
            "digest": "sha256:2151b604e3429bff440b9fbc03eb3617bc2603cda96c95b9bb05277f9ddba255",
            "download_count": 42, "created_at": "2013-02-27T19:35:32Z", "updated_at": "2013-02-27T19:35:32Z",
            "uploader": {"login": "octocat"}
          }]
        }"#;
        let release: Release = serde_json::from_str(json).expect("parses");
        assert_eq!(release.tag_name, "v1.0.0");
        let asset = release.asset("example.zip").expect("asset");
        assert_eq!(asset.size, 1024);
        assert_eq!(
            asset.sha256().as_deref(),
            Some("2151b604e3429bff440b9fbc03eb3617bc2603cda96c95b9bb05277f9ddba255")
        );
    }
}
