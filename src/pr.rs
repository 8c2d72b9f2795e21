//! Pull requests for bumps (`vendor update --pr`, `vendor bump --pr`):
//! the pieces that do not print. Branch names (`vendor/<item>-<version>`),
//! which repository the pull requests go to (`--repo`, or the remote's
//! URL), who reviews (the `@user` and `@org/team` names in the item's
//! `policy.sign_off`), the `git` commands (real `git`, with the
//! credentials git is configured with: the GitHub token is removed from
//! its environment and never given to it), and the GitHub pulls API
//! (through [`crate::fetch::Client::api_request`], so the token goes to
//! the API host only).
//!
//! The flow itself (one branch, commit, push and pull request per bump)
//! is `src/cmd/pr.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fetch::{Client, FetchError};

/// The default branch prefix; `--branch-prefix` or
/// `VENDOR_PR_BRANCH_PREFIX` change it.
pub const DEFAULT_PREFIX: &str = "vendor/";

/// Largest API answer read (a page of pull requests).
const MAX_ANSWER: u64 = 8 << 20;

/// A GitHub repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl std::fmt::Display for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Repo {
    /// `owner/name`, as typed with `--repo`.
    pub fn parse(text: &str) -> Option<Repo> {
        let (owner, name) = text.split_once('/')?;
        let name = name.strip_suffix(".git").unwrap_or(name);
        (valid_part(owner) && valid_part(name)).then(|| Repo {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The repository a remote URL names: `https://host/owner/name(.git)`,
    /// `ssh://git@host/owner/name.git` or `git@host:owner/name.git`.
    /// A local path names none.
    pub fn from_remote_url(url: &str) -> Option<Repo> {
        let url = url.trim();
        let path = if let Some((_, rest)) = url.split_once("://") {
            let (_, path) = rest.split_once('/')?;
            path
        } else {
            // scp-like `user@host:path`; a local path has no `:` before a `/`.
            let (host, path) = url.split_once(':')?;
            if host.contains('/') || host.is_empty() {
                return None;
            }
            path
        };
        Repo::parse(path.trim_matches('/'))
    }
}

/// The branch of one bump: `<prefix><item>-<version>`.
pub fn branch_name(prefix: &str, item: &str, version: &str) -> String {
    format!("{prefix}{item}-{version}")
}

/// Whether `head` is the branch of another version of `item` (one that
/// the bump on `branch` supersedes). `items` are all the manifest's ids:
/// a branch that belongs to a longer id (`tool-extra` for `tool`) is not
/// `item`'s.
pub fn supersedes(prefix: &str, item: &str, branch: &str, head: &str, items: &[&str]) -> bool {
    let own = format!("{prefix}{item}-");
    if head == branch || !head.starts_with(&own) || head.len() == own.len() {
        return false;
    }
    !items
        .iter()
        .any(|other| other.len() > item.len() && head.starts_with(&format!("{prefix}{other}-")))
}

/// Reviewers named in a `sign_off` text: `@user` are users, `@org/team`
/// teams (the team's slug). Other words (a plain `release-engineering`)
/// name no GitHub account and are left to the pull request's text.
pub fn reviewers(sign_off: &str) -> (Vec<String>, Vec<String>) {
    let mut users = Vec::new();
    let mut teams = Vec::new();
    for word in sign_off.split(|c: char| c.is_whitespace() || c == ',') {
        let Some(name) = word.strip_prefix('@') else {
            continue;
        };
        let name = name.trim_end_matches(['.', ';', ')']);
        match name.split_once('/') {
            Some((org, team)) if valid_part(org) && valid_part(team) => teams.push(team.to_owned()),
            None if valid_part(name) => users.push(name.to_owned()),
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    users.retain(|u| seen.insert(format!("u:{u}")));
    teams.retain(|t| seen.insert(format!("t:{t}")));
    (users, teams)
}

// ---------------------------------------------------------------------------
// git
// ---------------------------------------------------------------------------

/// Real `git` in one work tree.
pub struct Git {
    dir: PathBuf,
}

impl Git {
    pub fn new(dir: &Path) -> Git {
        Git {
            dir: dir.to_path_buf(),
        }
    }

    /// Runs `git ARGS` (with `stdin` when given): its stdout, or git's
    /// message. The GitHub token variables are removed from git's
    /// environment: git pushes with the credentials it is configured with.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.dir)
            .args(args)
            .env_remove("GITHUB_TOKEN")
            .env_remove("GH_TOKEN")
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("cannot run git: {e}"))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write as _;
            pipe.write_all(text.as_bytes())
                .map_err(|e| format!("cannot write to git: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(match stderr.trim() {
                "" => format!("git {} failed", args.join(" ")),
                message => message.to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

// ---------------------------------------------------------------------------
// GitHub pulls API
// ---------------------------------------------------------------------------

/// An open pull request, as much of it as is used.
#[derive(Debug, Clone, Deserialize)]
pub struct Pull {
    pub number: u64,
    #[serde(default)]
    pub html_url: Option<String>,
    pub head: Head,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Head {
    #[serde(rename = "ref")]
    pub branch: String,
}

/// The pulls API of one repository.
pub struct Pulls<'a> {
    pub client: &'a Client,
    pub repo: &'a Repo,
}

impl Pulls<'_> {
    fn url(&self, rest: &str) -> String {
        format!(
            "{}/repos/{}/{}/{rest}",
            self.client.config().api_url.trim_end_matches('/'),
            self.repo.owner,
            self.repo.name
        )
    }

    async fn call(
        &self,
        method: Method,
        rest: &str,
        body: Option<Value>,
    ) -> Result<Value, FetchError> {
        let url = self.url(rest);
        let bytes = self
            .client
            .api_request(method, &url, body.as_ref(), MAX_ANSWER)
            .await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| FetchError::InvalidResponse {
            url: crate::fetch::redact_str(&url),
            message: format!("not the JSON expected: {e}"),
        })
    }

    fn pulls_of(&self, value: Value, rest: &str) -> Result<Vec<Pull>, FetchError> {
        serde_json::from_value(value).map_err(|e| FetchError::InvalidResponse {
            url: crate::fetch::redact_str(&self.url(rest)),
            message: format!("not a list of pull requests: {e}"),
        })
    }

    /// The open pull requests (first 100 pages of 100, newest first).
    pub async fn open(&self) -> Result<Vec<Pull>, FetchError> {
        let mut all = Vec::new();
        for page in 1..=100 {
            let rest = format!("pulls?state=open&per_page=100&page={page}");
            let value = self.call(Method::GET, &rest, None).await?;
            let pulls = self.pulls_of(value, &rest)?;
            let last = pulls.len() < 100;
            all.extend(pulls);
            if last {
                break;
            }
        }
        Ok(all)
    }

    /// The open pull request whose head is `branch` (of the repository's
    /// owner), if any.
    pub async fn find(&self, branch: &str) -> Result<Option<Pull>, FetchError> {
        let head = query_escape(&format!("{}:{branch}", self.repo.owner));
        let rest = format!("pulls?head={head}&state=open");
        let value = self.call(Method::GET, &rest, None).await?;
        Ok(self
            .pulls_of(value, &rest)?
            .into_iter()
            .find(|p| p.head.branch == branch))
    }

    pub async fn create(
        &self,
        title: &str,
        branch: &str,
        base: &str,
        body: &str,
    ) -> Result<Pull, FetchError> {
        let value = self
            .call(
                Method::POST,
                "pulls",
                Some(json!({"title": title, "head": branch, "base": base, "body": body})),
            )
            .await?;
        serde_json::from_value(value).map_err(|e| FetchError::InvalidResponse {
            url: crate::fetch::redact_str(&self.url("pulls")),
            message: format!("not a pull request: {e}"),
        })
    }

    pub async fn edit(&self, number: u64, fields: Value) -> Result<(), FetchError> {
        self.call(Method::PATCH, &format!("pulls/{number}"), Some(fields))
            .await
            .map(drop)
    }

    pub async fn label(&self, number: u64, labels: &[&str]) -> Result<(), FetchError> {
        self.call(
            Method::POST,
            &format!("issues/{number}/labels"),
            Some(json!({ "labels": labels })),
        )
        .await
        .map(drop)
    }

    pub async fn request_reviewers(
        &self,
        number: u64,
        users: &[String],
        teams: &[String],
    ) -> Result<(), FetchError> {
        self.call(
            Method::POST,
            &format!("pulls/{number}/requested_reviewers"),
            Some(json!({ "reviewers": users, "team_reviewers": teams })),
        )
        .await
        .map(drop)
    }

    pub async fn comment(&self, number: u64, body: &str) -> Result<(), FetchError> {
        self.call(
            Method::POST,
            &format!("issues/{number}/comments"),
            Some(json!({ "body": body })),
        )
        .await
        .map(drop)
    }
}

/// `text` percent-encoded for a query value.
fn query_escape(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_name_their_repository() {
        let want = Some(Repo {
            owner: "acme".into(),
            name: "infra".into(),
        });
        assert_eq!(
            Repo::from_remote_url("https://github.com/acme/infra.git"),
            want
        );
        assert_eq!(Repo::from_remote_url("git@github.com:acme/infra.git"), want);
        assert_eq!(
            Repo::from_remote_url("ssh://git@ghe.example:22/acme/infra"),
            want
        );
        assert_eq!(Repo::from_remote_url("/srv/git/infra.git"), None);
        assert_eq!(Repo::from_remote_url("https://h.example/a/b/c"), None);
        assert_eq!(Repo::parse("../x"), None);
    }

    #[test]
    fn sign_off_names_users_and_teams() {
        let (users, teams) = reviewers("@alice, @acme/platform and release-engineering @alice");
        assert_eq!(users, vec!["alice"]);
        assert_eq!(teams, vec!["platform"]);
        assert_eq!(reviewers("release-engineering"), (vec![], vec![]));
    }

    #[test]
    fn a_newer_version_supersedes_only_the_same_item() {
        let items = ["tool", "tool-extra"];
        let s = |head| supersedes("vendor/", "tool", "vendor/tool-1.3", head, &items);
        assert!(s("vendor/tool-1.2"));
        assert!(!s("vendor/tool-1.3"));
        assert!(!s("vendor/tool-extra-1.0"));
        assert!(!s("vendor/other-1.0"));
        assert!(!s("vendor/tool-"));
    }
}
