//! Release notes in `vendor diff`: the bodies of the releases a bump takes
//! in, summarised, in the PR comment and the commit message.

#[path = "support/fake_github.rs"]
mod fake_github;
mod support;

use std::process::Command;

use fake_github::{FakeGithub, FakeRelease};
use support::{LOCK, MANIFEST, Tree};

const MANIFEST_TEXT: &str = "version: 1
items:
  traefik:
    version: 3.3.6
    source: {type: github-release, repo: traefik/traefik, tag: \"v{version}\"}
";

fn lock(version: &str) -> String {
    format!(
        "version: 1\nitems:\n  traefik:\n    version: {version}\n    fingerprint: sha256:{version}\n    \
         source: github-release\n    resolved:\n      tag: v{version}\n"
    )
}

fn git(tree: &Tree, args: &[&str]) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(tree.root())
        .args(["-c", "user.email=t@t", "-c", "user.name=t"])
        .args(args)
        .env(
            "GIT_CEILING_DIRECTORIES",
            tree.root().parent().expect("a parent"),
        )
        .status()
        .expect("git runs")
        .success();
    assert!(ok, "git {args:?}");
}

/// A repository whose committed lock has traefik 3.3.4 and whose working
/// lock has 3.3.6, with releases 3.3.4, 3.3.5 and 3.3.6 upstream.
fn setup() -> (FakeGithub, Tree) {
    let fake = FakeGithub::start();
    fake.repo("traefik/traefik");
    fake.release(
        "traefik/traefik",
        FakeRelease::new("v3.3.4").body("## Old\n* not taken in"),
    );
    fake.release(
        "traefik/traefik",
        FakeRelease::new("v3.3.5").body("## Bug fixes\n* Fix a router leak\n\n## Security\n* Fix CVE-2025-0001 in the ACME client"),
    );
    fake.release(
        "traefik/traefik",
        FakeRelease::new("v3.3.6").body("## Bug fixes\n* Fix TLS store reload"),
    );
    let tree = Tree::new();
    tree.write(MANIFEST, MANIFEST_TEXT);
    tree.write(LOCK, lock("3.3.4"));
    git(&tree, &["init", "-q"]);
    git(&tree, &["add", "-A"]);
    git(&tree, &["commit", "-qm", "base"]);
    tree.write(LOCK, lock("3.3.6"));
    (fake, tree)
}

#[test]
fn markdown_diff_carries_the_notes_of_every_release_taken_in() {
    let (fake, tree) = setup();
    let out = tree
        .vendor(["diff", "--format", "markdown"])
        .env("GITHUB_API_URL", fake.api_url())
        .output();
    out.code(0)
        .stdout_has("Release notes of <code>traefik</code> (2)")
        .stdout_has("> ## Security")
        .stdout_has("> * Fix CVE-2025-0001 in the ACME client")
        .stdout_has("> * Fix TLS store reload")
        .stdout_lacks("not taken in");
    // Security lines come before the rest of a release's notes.
    let security = out.stdout.find("CVE-2025-0001").expect("security line");
    let fix = out.stdout.find("Fix a router leak").expect("bug fix line");
    assert!(security < fix, "{}", out.stdout);
}

#[test]
fn commit_message_summarises_the_notes() {
    let (fake, tree) = setup();
    tree.vendor(["diff", "--format", "commit"])
        .env("GITHUB_API_URL", fake.api_url())
        .output()
        .code(0)
        .stdout_has("chore(traefik): bump traefik 3.3.4 → 3.3.6")
        .stdout_has("v3.3.5 (")
        .stdout_has("    * Fix CVE-2025-0001 in the ACME client");
}

#[test]
fn offline_the_diff_stands_without_notes() {
    let (_fake, tree) = setup();
    tree.run(&["--offline", "diff", "--format", "markdown"])
        .code(0)
        .stdout_lacks("Release notes");
}
