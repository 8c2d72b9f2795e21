//! `--pr` for `vendor bump` and `vendor update`: one branch, one commit,
//! one push and one pull request per bump, one bump at a time.
//!
//! For each bump: the branch `<prefix><item>-<version>` is (re)made from
//! the base, the bump applied there with `vendor bump` and `vendor apply`
//! (smoke checks included), committed with the `vendor diff --format
//! commit` message, force-pushed to the remote with `git` and the
//! credentials it is configured with, and its pull request opened, or
//! updated when one is open for that branch already (title and body =
//! `vendor diff --format markdown`; label `security` when the bump fixes
//! an advisory; reviewers from `policy.sign_off`). Open pull requests of
//! other versions of the item are closed with a comment naming the one
//! that supersedes them. When the bump, apply or smoke fails nothing is
//! pushed, the failure names the item, and the work tree is put back.
//! Afterwards the work tree is on the branch it started on.

use miette::{Result, miette};
use serde_json::json;

use crate::cli::{ApplyArgs, Cli, PrArgs};
use crate::pr::{Git, Pulls, Repo};

use super::{Exit, Io, Workspace};

/// One bump to carry out: item and target version (as typed).
pub struct Bump {
    pub id: String,
    pub version: String,
}

/// What is fixed for a run: where the work happens and where it goes.
struct Setup {
    git: Git,
    /// The branch (or commit) to return to.
    start: String,
    base: String,
    repo: Repo,
}

pub fn run(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    args: &PrArgs,
    bumps: &[Bump],
    dry_run: bool,
) -> Result<Exit> {
    let setup = setup(ws, args)?;
    let loaded = super::load_manifest(ws, false)?;
    let ids: Vec<String> = bumps.iter().map(|b| b.id.clone()).collect();
    super::known_items(&loaded.manifest, &ids)?;
    let mut planned = Vec::new();
    for bump in bumps {
        let item = &loaded.manifest.items[&bump.id];
        let version = super::bump::version_named(&bump.id, item, &bump.version)
            .unwrap_or_else(|| bump.version.clone());
        if item.version == version {
            io.note(&format!("{} is already at {version}", bump.id));
            continue;
        }
        let branch = crate::pr::branch_name(&args.branch_prefix, &bump.id, &version);
        setup
            .git
            .run(&["check-ref-format", "--branch", &branch], None)
            .map_err(|_| {
                miette!(
                    code = "vendor::pr::bad-branch",
                    help = "choose another --branch-prefix (VENDOR_PR_BRANCH_PREFIX)",
                    "`{branch}` is not a valid branch name for {} {version}",
                    bump.id
                )
            })?;
        planned.push((bump.id.clone(), item.version.clone(), version, branch));
    }
    if dry_run {
        for (id, old, new, branch) in &planned {
            io.print(&format!(
                "would push {branch} ({id} {old} → {new}, from {}) to {} and open or update its pull request on {}\n",
                setup.base, args.remote, setup.repo
            ))?;
        }
        return Ok(if planned.is_empty() {
            Exit::Ok
        } else {
            Exit::Changes
        });
    }
    if planned.is_empty() {
        return Ok(Exit::Ok);
    }
    let Some(client) = super::client(cli, io)? else {
        return Err(miette!(
            code = "vendor::pr::offline",
            "--pr opens pull requests on GitHub and cannot run offline"
        ));
    };
    let runtime = super::runtime()?;
    let items: Vec<&str> = loaded.manifest.items.keys().map(String::as_str).collect();
    let mut failed = Vec::new();
    for (id, _, version, branch) in &planned {
        let pushed = push_one(cli, ws, io, &setup, args, id, version, branch);
        back_to_start(&setup);
        let message = match pushed {
            Ok(message) => message,
            Err(e) => {
                let why: Vec<String> = e.chain().map(ToString::to_string).collect();
                io.note(&format!(
                    "error: {id} {version}: nothing was pushed: {}",
                    why.join(": ")
                ));
                failed.push(id.clone());
                continue;
            }
        };
        let pulls = Pulls {
            client: &client,
            repo: &setup.repo,
        };
        let item = &loaded.manifest.items[id];
        let opened = runtime.block_on(open_or_update(
            &pulls,
            io,
            args,
            &setup,
            (id, version, branch),
            &message,
            item.policy.sign_off.as_deref(),
            &items,
        ));
        if let Err(e) = opened {
            io.note(&format!(
                "error: {id} {version}: {branch} was pushed, but {e}"
            ));
            failed.push(id.clone());
        }
    }
    if failed.is_empty() {
        Ok(Exit::Ok)
    } else {
        Err(miette!(
            code = "vendor::pr::failed",
            "no pull request for {}",
            failed.join(", ")
        ))
    }
}

/// Checks the work tree and fixes base, remote repository and start.
fn setup(ws: &Workspace, args: &PrArgs) -> Result<Setup> {
    let git = Git::new(&ws.root);
    git.run(&["rev-parse", "--show-toplevel"], None)
        .map_err(|e| {
            miette!(
                code = "vendor::pr::not-a-repository",
                "--pr needs a git work tree at {} ({e})",
                ws.root.display()
            )
        })?;
    let status = git
        .run(&["status", "--porcelain"], None)
        .map_err(|e| miette!("cannot read the work tree's status: {e}"))?;
    if !status.is_empty() {
        return Err(miette!(
            code = "vendor::pr::dirty",
            help = "commit or stash them first: each bump's branch is made from the base branch as committed",
            "the work tree has uncommitted changes"
        ));
    }
    let branch = git
        .run(&["symbolic-ref", "--quiet", "--short", "HEAD"], None)
        .ok();
    let start = match &branch {
        Some(b) => b.clone(),
        None => git
            .run(&["rev-parse", "HEAD"], None)
            .map_err(|e| miette!("the repository has no commit yet ({e})"))?,
    };
    let base = match (&args.base, branch) {
        (Some(base), _) => base.clone(),
        (None, Some(b)) => b,
        (None, None) => {
            return Err(miette!(
                code = "vendor::pr::no-base",
                help = "name the branch pull requests merge into with --base",
                "HEAD is detached: there is no current branch to base the pull requests on"
            ));
        }
    };
    git.run(
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{base}"),
        ],
        None,
    )
    .map_err(|_| {
        miette!(
            code = "vendor::pr::unknown-base",
            "there is no local branch `{base}` to base the pull requests on"
        )
    })?;
    let repo = match &args.repo {
        Some(text) => Repo::parse(text).ok_or_else(|| {
            miette!(
                code = "vendor::pr::bad-repo",
                "--repo `{text}` is not OWNER/NAME"
            )
        })?,
        None => {
            let url = git
                .run(&["remote", "get-url", &args.remote], None)
                .map_err(|e| {
                    miette!(
                        code = "vendor::pr::no-remote",
                        "no remote `{}`: {e}",
                        args.remote
                    )
                })?;
            Repo::from_remote_url(&url).ok_or_else(|| {
                miette!(
                    code = "vendor::pr::no-repo",
                    help = "name it with --repo OWNER/NAME",
                    "the URL of remote `{}` names no GitHub repository",
                    args.remote
                )
            })?
        }
    };
    Ok(Setup {
        git,
        start,
        base,
        repo,
    })
}

/// Makes the branch, bumps, applies, commits and pushes; returns the
/// rendered change. On failure the work tree is reset (the caller
/// switches back) and the branch is restored to what it was.
#[allow(clippy::too_many_arguments)]
fn push_one(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    setup: &Setup,
    args: &PrArgs,
    id: &str,
    version: &str,
    branch: &str,
) -> Result<super::diff::Rendered> {
    let git = &setup.git;
    let before = git
        .run(
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ],
            None,
        )
        .ok();
    git.run(&["checkout", "-q", "-B", branch, &setup.base], None)
        .map_err(|e| miette!("cannot make the branch {branch}: {e}"))?;
    let made = commit_bump(cli, ws, io, git, id, version, branch);
    let result = made.and_then(|rendered| {
        git.run(
            &[
                "push",
                "-q",
                "--force",
                &args.remote,
                &format!("refs/heads/{branch}:refs/heads/{branch}"),
            ],
            None,
        )
        .map_err(|e| miette!("cannot push {branch} to {}: {e}", args.remote))?;
        Ok(rendered)
    });
    if result.is_err() {
        let _ = git.run(&["reset", "-q", "--hard"], None);
        let _ = git.run(&["clean", "-q", "-fd"], None);
        let _ = git.run(&["checkout", "-q", &setup.start], None);
        let _ = match &before {
            Some(sha) => git.run(&["branch", "-f", branch, sha], None),
            None => git.run(&["branch", "-D", branch], None),
        };
    }
    result
}

fn commit_bump(
    cli: &Cli,
    ws: &Workspace,
    io: &mut Io<'_>,
    git: &Git,
    id: &str,
    version: &str,
    branch: &str,
) -> Result<super::diff::Rendered> {
    super::bump::bump(cli, ws, io, id, version)?;
    let apply = ApplyArgs {
        targets: vec![id.to_owned()],
        no_smoke: false,
    };
    match super::apply::run(cli, &apply, ws, io)? {
        Exit::Ok => {}
        other => return Err(miette!("vendor apply {id} exited {}", other as i32)),
    }
    let rendered = super::diff::rendered(cli, ws, io, "HEAD")?;
    git.run(&["add", "-A"], None)
        .map_err(|e| miette!("cannot stage the bump: {e}"))?;
    git.run(&["commit", "-q", "-F", "-"], Some(&rendered.commit))
        .map_err(|e| miette!("cannot commit the bump on {branch}: {e}"))?;
    Ok(rendered)
}

/// Back to the branch the run started on (best effort: a failure here
/// leaves the tree on a bump branch, which `git status` shows).
fn back_to_start(setup: &Setup) {
    let _ = setup.git.run(&["checkout", "-q", &setup.start], None);
}

#[allow(clippy::too_many_arguments)]
async fn open_or_update(
    pulls: &Pulls<'_>,
    io: &mut Io<'_>,
    args: &PrArgs,
    setup: &Setup,
    (id, version, branch): (&str, &str, &str),
    rendered: &super::diff::Rendered,
    sign_off: Option<&str>,
    items: &[&str],
) -> Result<(), String> {
    let failed = |what: &str| {
        let what = what.to_owned();
        move |e: crate::fetch::FetchError| format!("{what}: {e}")
    };
    let title = rendered.commit.lines().next().unwrap_or(branch).trim();
    let body = pr_body(&rendered.markdown);
    let body = body.as_str();
    let found = pulls
        .find(branch)
        .await
        .map_err(failed("its pull request could not be looked up"))?;
    let number = match found {
        Some(pull) => {
            pulls
                .edit(pull.number, json!({"title": title, "body": body}))
                .await
                .map_err(failed("its pull request could not be updated"))?;
            io.note(&format!(
                "{id} {version}: updated pull request #{} ({branch})",
                pull.number
            ));
            pull.number
        }
        None => {
            let pull = pulls
                .create(title, branch, &setup.base, body)
                .await
                .map_err(failed("its pull request could not be opened"))?;
            io.note(&format!(
                "{id} {version}: opened pull request #{} ({branch}){}",
                pull.number,
                pull.html_url
                    .as_deref()
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default()
            ));
            pull.number
        }
    };
    if !rendered.fixes.is_empty() {
        pulls
            .label(number, &["security"])
            .await
            .map_err(failed("the `security` label could not be added"))?;
    }
    let (users, teams) = sign_off.map(crate::pr::reviewers).unwrap_or_default();
    if !users.is_empty() || !teams.is_empty() {
        pulls
            .request_reviewers(number, &users, &teams)
            .await
            .map_err(failed("its reviewers could not be requested"))?;
    }
    let open = pulls
        .open()
        .await
        .map_err(failed("the open pull requests could not be listed"))?;
    for old in open {
        if crate::pr::supersedes(&args.branch_prefix, id, branch, &old.head.branch, items) {
            pulls
                .comment(
                    old.number,
                    &format!("Superseded by #{number}: {id} {version} (`{branch}`)."),
                )
                .await
                .map_err(failed(
                    "the superseded pull request could not be commented on",
                ))?;
            pulls
                .edit(old.number, json!({"state": "closed"}))
                .await
                .map_err(failed("the superseded pull request could not be closed"))?;
            io.note(&format!(
                "{id}: closed pull request #{} ({}), superseded by #{number}",
                old.number, old.head.branch
            ));
        }
    }
    Ok(())
}

/// GitHub refuses pull-request bodies over 65,536 characters; long
/// release notes are cut, saying where the whole text is.
const MAX_BODY: usize = 60_000;

fn pr_body(markdown: &str) -> String {
    if markdown.chars().count() <= MAX_BODY {
        return markdown.to_owned();
    }
    let cut: String = markdown.chars().take(MAX_BODY).collect();
    format!("{cut}\n\n… (cut: the whole text is `vendor diff --format markdown` on this branch)\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_bodies_are_cut_below_githubs_limit() {
        let long = "é".repeat(70_000);
        let body = super::pr_body(&long);
        assert!(body.chars().count() < 65_536);
        assert!(body.ends_with("on this branch)\n"));
        assert_eq!(super::pr_body("short"), "short");
    }
}
