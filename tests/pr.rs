//! End-to-end tests of `vendor update --pr` and `vendor bump --pr`: a
//! work tree cloned from a local bare remote (real `git`), pull requests
//! on the fake GitHub. One branch and one commit per bump, pushed with
//! git's own credentials; the pull request opened once and updated on
//! re-runs, superseded by a newer version; nothing pushed when the bump
//! fails; `--dry-run` changes nothing; the token reaches the API only.
#![allow(clippy::unwrap_used)]

#[path = "support/fake_github.rs"]
mod fake_github;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use fake_github::{FakeGithub, FakePull, FakeRelease, Fault};
use serde_json::{Value, json};
use support::{MANIFEST, Output, Tree};

const TOKEN: &str = "ghp_prtoken0123456789abcdefghijklmnopqr";
const REPO: &str = "acme/infra";

const MANIFEST_TEXT: &str = r#"version: 1
items:
  traefik:
    version: 3.3.4
    source: {type: github-release, repo: traefik/traefik, tag: "v{version}"}
    versioning: semver
    advisories: {github: true}
    policy:
      sign_off: "@alice and @acme/platform (release engineering)"
    pins:
      - file: Makefile
        make: TRAEFIK_VERSION
        value: v{version}
"#;

struct World {
    tree: Tree,
    gh: FakeGithub,
    home: tempfile::TempDir,
    remote: PathBuf,
}

/// Runs real git with the test's identity and no system or user config.
fn git_in(home: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .envs(git_env(home))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn git_env(home: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", home.display().to_string()),
        ("GIT_CONFIG_NOSYSTEM", "1".into()),
        ("GIT_AUTHOR_NAME", "Test".into()),
        ("GIT_AUTHOR_EMAIL", "test@example.invalid".into()),
        ("GIT_COMMITTER_NAME", "Test".into()),
        ("GIT_COMMITTER_EMAIL", "test@example.invalid".into()),
    ]
}

impl World {
    fn new() -> World {
        let gh = FakeGithub::start();
        gh.release("traefik/traefik", FakeRelease::new("v3.3.4"));
        gh.tag("traefik/traefik", "v3.3.4", &"a".repeat(40));
        gh.release("traefik/traefik", FakeRelease::new("v3.3.5"));
        gh.tag("traefik/traefik", "v3.3.5", &"b".repeat(40));
        let home = tempfile::tempdir().unwrap();
        let remote = home.path().join("remote.git");
        let tree = Tree::new();
        let world = World {
            tree,
            gh,
            remote,
            home,
        };
        world.git(
            world.home.path(),
            &["init", "-q", "--bare", "-b", "main", "remote.git"],
        );
        let root = world.tree.root().to_path_buf();
        world.git(&root, &["init", "-q", "-b", "main"]);
        world.tree.write(MANIFEST, MANIFEST_TEXT);
        world.tree.write("Makefile", "TRAEFIK_VERSION ?= v3.3.4\n");
        world.run(&["apply"]).code(0);
        world.git(&root, &["add", "-A"]);
        world.git(&root, &["commit", "-q", "-m", "initial"]);
        let remote = world.remote.display().to_string();
        world.git(&root, &["remote", "add", "origin", &remote]);
        world.git(&root, &["push", "-q", "origin", "main"]);
        world
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        git_in(self.home.path(), dir, args)
    }

    /// git in the bare remote.
    fn remote_git(&self, args: &[&str]) -> String {
        self.git(&self.remote, args)
    }

    fn local_git(&self, args: &[&str]) -> String {
        self.git(self.tree.root(), args)
    }

    fn run_with(&self, args: &[&str], path: Option<&Path>) -> Output {
        let mut run = self
            .tree
            .vendor(args)
            .env("GITHUB_API_URL", self.gh.api_url())
            .env("GITHUB_TOKEN", TOKEN);
        for (key, value) in git_env(self.home.path()) {
            run = run.env(key, value);
        }
        if let Some(dir) = path {
            let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap());
            run = run.env("PATH", path);
        }
        run.output()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, None)
    }

    /// The remote's branches.
    fn remote_branches(&self) -> Vec<String> {
        self.remote_git(&["for-each-ref", "--format=%(refname:short)", "refs/heads"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn pulls(&self) -> Vec<FakePull> {
        self.gh.pulls(REPO)
    }

    /// The work tree is back on main, with nothing left over.
    #[track_caller]
    fn assert_back_on_main(&self) {
        assert_eq!(self.local_git(&["symbolic-ref", "--short", "HEAD"]), "main");
        assert_eq!(self.local_git(&["status", "--porcelain"]), "");
        assert!(self.tree.read(MANIFEST).contains("version: 3.3.4"));
    }

    /// A GitHub repository advisory on traefik: versions below `fixed`.
    fn advisory(&self, id: &str, fixed: &str) {
        self.gh.security_advisory(
            "traefik/traefik",
            json!({
                "ghsa_id": id,
                "cve_id": "CVE-2025-0001",
                "html_url": format!("https://github.com/traefik/traefik/security/advisories/{id}"),
                "summary": "header smuggling",
                "description": "details",
                "severity": "high",
                "state": "published",
                "published_at": "2025-03-01T00:00:00Z",
                "updated_at": "2025-03-01T00:00:00Z",
                "withdrawn_at": null,
                "vulnerabilities": [{
                    "package": {"ecosystem": "go", "name": "github.com/traefik/traefik/v3"},
                    "vulnerable_version_range": format!("< {fixed}"),
                    "patched_versions": fixed,
                    "vulnerable_functions": []
                }]
            }),
        );
    }
}

#[test]
fn update_pr_pushes_one_commit_and_opens_a_labelled_pull_request() {
    let w = World::new();
    w.advisory("GHSA-aaaa-bbbb-cccc", "3.3.5");
    w.run(&["update", "--pr", "--repo", REPO])
        .code(0)
        .stderr_has("opened pull request #1 (vendor/traefik-3.3.5)");
    w.assert_back_on_main();

    // The branch is on the remote, one commit over main.
    assert!(
        w.remote_branches()
            .contains(&"vendor/traefik-3.3.5".to_owned())
    );
    assert_eq!(
        w.remote_git(&["rev-list", "--count", "main..vendor/traefik-3.3.5"]),
        "1"
    );
    let message = w.remote_git(&["log", "-1", "--format=%B", "vendor/traefik-3.3.5"]);

    // The commit message and the body are `vendor diff`'s, for that change.
    w.local_git(&["checkout", "-q", "vendor/traefik-3.3.5"]);
    assert!(w.tree.read("Makefile").contains("v3.3.5"));
    let commit = w.run(&["diff", "--base", "main", "--format", "commit"]);
    commit.code(0);
    assert_eq!(message.trim(), commit.stdout.trim());
    assert!(message.contains("GHSA-aaaa-bbbb-cccc"), "{message}");
    let markdown = w.run(&["diff", "--base", "HEAD~1", "--format", "markdown"]);
    markdown.code(0);
    w.local_git(&["checkout", "-q", "main"]);

    let pulls = w.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let pull = &pulls[0];
    assert_eq!(pull.head, "vendor/traefik-3.3.5");
    assert_eq!(pull.base, "main");
    assert_eq!(pull.state, "open");
    assert_eq!(pull.title, message.lines().next().unwrap());
    assert_eq!(
        pull.body
            .replace("`HEAD`", "`HEAD~1`")
            .replace("HEAD ", "HEAD~1 "),
        markdown.stdout,
        "the body is the markdown diff"
    );
    assert!(pull.body.contains("GHSA-aaaa-bbbb-cccc"));
    assert_eq!(pull.labels, vec!["security"]);
    assert_eq!(pull.reviewers, vec!["alice"]);
    assert_eq!(pull.team_reviewers, vec!["platform"]);
}

#[test]
fn a_bump_without_an_advisory_gets_no_security_label() {
    let w = World::new();
    w.run(&["bump", "traefik", "3.3.5", "--pr", "--repo", REPO])
        .code(0);
    let pulls = w.pulls();
    assert_eq!(pulls.len(), 1);
    assert!(pulls[0].labels.is_empty(), "{:?}", pulls[0].labels);
    assert!(!w.gh.writes().iter().any(|wr| wr.path.ends_with("/labels")));
    w.assert_back_on_main();
}

#[test]
fn a_re_run_updates_the_same_pull_request() {
    let w = World::new();
    w.run(&["update", "--pr", "--repo", REPO]).code(0);
    w.run(&["update", "--pr", "--repo", REPO])
        .code(0)
        .stderr_has("updated pull request #1");
    let pulls = w.pulls();
    assert_eq!(pulls.len(), 1, "no second pull request: {pulls:?}");
    assert_eq!(pulls[0].state, "open");
    // Force-pushed: still one commit over main.
    assert_eq!(
        w.remote_git(&["rev-list", "--count", "main..vendor/traefik-3.3.5"]),
        "1"
    );
    let patches: Vec<Value> =
        w.gh.writes()
            .into_iter()
            .filter(|wr| wr.method == "PATCH" && wr.path.ends_with("/pulls/1"))
            .map(|wr| wr.body)
            .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0]["title"], json!(pulls[0].title));
    assert_eq!(patches[0]["body"], json!(pulls[0].body));
    w.assert_back_on_main();
}

#[test]
fn a_newer_version_supersedes_the_old_pull_request() {
    let w = World::new();
    w.run(&["update", "--pr", "--repo", REPO]).code(0);
    w.gh.release("traefik/traefik", FakeRelease::new("v3.3.6"));
    w.gh.tag("traefik/traefik", "v3.3.6", &"c".repeat(40));
    w.run(&["update", "--pr", "--repo", REPO])
        .code(0)
        .stderr_has("opened pull request #2 (vendor/traefik-3.3.6)")
        .stderr_has("closed pull request #1");
    let pulls = w.pulls();
    assert_eq!(pulls.len(), 2, "{pulls:?}");
    assert_eq!(pulls[0].head, "vendor/traefik-3.3.5");
    assert_eq!(pulls[0].state, "closed");
    assert_eq!(pulls[0].comments.len(), 1);
    assert!(pulls[0].comments[0].contains("Superseded by #2"));
    assert_eq!(pulls[1].state, "open");
    // The new branch starts from main, not from the old bump.
    assert_eq!(
        w.remote_git(&["rev-list", "--count", "main..vendor/traefik-3.3.6"]),
        "1"
    );
    w.assert_back_on_main();
}

/// The upstream check passes (the first request for the release), then
/// `vendor apply` on the bump's branch fails (every later one).
#[test]
fn a_failing_apply_pushes_nothing_and_names_the_item() {
    let w = World::new();
    w.gh.fail_after(
        "/api/v3/repos/traefik/traefik/releases/tags/v3.3.5",
        Fault::Status(500),
        1,
    );
    let out = w.run(&["update", "--pr", "--repo", REPO]);
    out.code(1)
        .stderr_has("traefik 3.3.5: nothing was pushed")
        .stderr_has("cannot resolve traefik")
        .stderr_has("no pull request for traefik");
    assert_eq!(w.remote_branches(), vec!["main"]);
    assert!(w.pulls().is_empty());
    assert!(w.gh.writes().is_empty(), "{:?}", w.gh.writes());
    assert_eq!(w.local_git(&["branch", "--list", "vendor/*"]), "");
    w.assert_back_on_main();
}

/// A re-run whose apply fails leaves the branch pushed before as it was.
#[test]
fn a_failing_re_run_keeps_the_pushed_branch() {
    let w = World::new();
    w.run(&["update", "--pr", "--repo", REPO]).code(0);
    let pushed = w.remote_git(&["rev-parse", "vendor/traefik-3.3.5"]);
    let local = w.local_git(&["rev-parse", "vendor/traefik-3.3.5"]);
    w.gh.fail_after(
        "/api/v3/repos/traefik/traefik/releases/tags/v3.3.5",
        Fault::Status(500),
        1,
    );
    w.run(&["update", "--pr", "--repo", REPO])
        .code(1)
        .stderr_has("traefik 3.3.5: nothing was pushed");
    assert_eq!(w.remote_git(&["rev-parse", "vendor/traefik-3.3.5"]), pushed);
    assert_eq!(w.local_git(&["rev-parse", "vendor/traefik-3.3.5"]), local);
    assert_eq!(w.pulls().len(), 1);
    w.assert_back_on_main();
}

#[test]
fn a_failing_upstream_check_pushes_nothing_and_names_the_item() {
    let w = World::new();
    w.gh.fail(
        "/api/v3/repos/traefik/traefik/releases/tags/v3.3.5",
        Fault::Status(500),
    );
    let out = w.run(&["bump", "traefik", "3.3.5", "--pr", "--repo", REPO]);
    out.code(1).stderr_has("traefik 3.3.5: nothing was pushed");
    assert_eq!(w.remote_branches(), vec!["main"]);
    assert!(w.pulls().is_empty());
    assert!(w.gh.writes().is_empty(), "{:?}", w.gh.writes());
    // No branch is left behind either.
    assert_eq!(
        w.local_git(&["branch", "--list", "vendor/*"]),
        "",
        "{}",
        out.streams()
    );
    w.assert_back_on_main();
}

#[test]
fn dry_run_pushes_and_opens_nothing() {
    let w = World::new();
    w.run(&["update", "--pr", "--dry-run", "--repo", REPO])
        .code(2)
        .stdout_has("would push vendor/traefik-3.3.5 (traefik 3.3.4 → 3.3.5, from main) to origin");
    assert_eq!(w.remote_branches(), vec!["main"]);
    assert!(w.gh.writes().is_empty());
    assert_eq!(w.local_git(&["branch", "--list", "vendor/*"]), "");
    w.assert_back_on_main();
}

#[test]
fn the_repository_comes_from_the_remote_url_and_the_prefix_is_configurable() {
    let w = World::new();
    // A remote URL naming a GitHub repository, pushed to the bare one.
    let remote = w.remote.display().to_string();
    w.local_git(&[
        "remote",
        "set-url",
        "origin",
        "https://github.example/acme/infra.git",
    ]);
    w.local_git(&["remote", "set-url", "--push", "origin", &remote]);
    let out = w.run_with(&["update", "--pr", "--branch-prefix", "deps/"], None);
    out.code(0).stderr_has("(deps/traefik-3.3.5)");
    assert!(
        w.remote_branches()
            .contains(&"deps/traefik-3.3.5".to_owned())
    );
    assert_eq!(w.pulls().len(), 1);
}

#[test]
fn the_token_reaches_the_api_only_and_never_git() {
    let w = World::new();
    // A `git` first on PATH that logs its arguments and environment.
    let bin = w.home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = w.home.path().join("git.log");
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let script = format!(
        "#!/bin/sh\n{{ echo \"ARGS: $*\"; env; }} >> '{}'\nexec '{}' \"$@\"\n",
        log.display(),
        real.trim()
    );
    let wrapper = bin.join("git");
    std::fs::write(&wrapper, script).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    w.advisory("GHSA-aaaa-bbbb-cccc", "3.3.5");
    w.run_with(&["update", "--pr", "--repo", REPO], Some(&bin))
        .code(0);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("ARGS: -C"), "the wrapper ran");
    assert!(logged.contains("push"), "git pushed");
    assert!(!logged.contains(TOKEN), "the token reached git");

    let writes = w.gh.writes();
    assert!(writes.len() >= 3, "{writes:?}");
    for write in &writes {
        assert!(write.path.starts_with("/api/"), "{write:?}");
        assert_eq!(
            write.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    for request in w.gh.requests() {
        if request.authorized() {
            assert!(request.api(), "token sent off the API: {request:?}");
        }
    }
}

/// The branch is pushed and the pull request open when a later API call
/// fails: the run fails, saying what is missing; a re-run completes it.
#[test]
fn an_api_failure_after_the_push_says_what_is_missing() {
    let w = World::new();
    w.gh.fail_times(
        "/api/v3/repos/acme/infra/pulls/1/requested_reviewers",
        Fault::Status(422),
        1,
    );
    w.run(&["update", "--pr", "--repo", REPO])
        .code(1)
        .stderr_has("vendor/traefik-3.3.5 was pushed, but its reviewers could not be requested");
    assert!(
        w.remote_branches()
            .contains(&"vendor/traefik-3.3.5".to_owned())
    );
    assert!(w.pulls()[0].reviewers.is_empty());
    w.assert_back_on_main();
    w.run(&["update", "--pr", "--repo", REPO])
        .code(0)
        .stderr_has("updated pull request #1");
    let pulls = w.pulls();
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].reviewers, vec!["alice"]);
}
