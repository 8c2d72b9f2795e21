//! `vendor check --base REV`: the change policy of the bump playbook (one
//! item per bump, named approvers) against a git revision.

mod support;

use std::process::Command;

use support::{MANIFEST, Output, Tree};

const PIN_ONLY: &[&str] = &["kernel", "dracut-apt-snapshot"];

/// The example tree as a git repository with one commit.
fn repo() -> Tree {
    let tree = Tree::example();
    git(&tree, &["init", "-q"]);
    git(&tree, &["add", "-A"]);
    git(
        &tree,
        &[
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "base",
        ],
    );
    tree
}

fn git(tree: &Tree, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(tree.root())
        .args(args)
        .env(
            "GIT_CEILING_DIRECTORIES",
            tree.root().parent().expect("a parent"),
        )
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

fn bump(tree: &Tree, from: &str, to: &str, item: &str) {
    tree.replace_once(
        MANIFEST,
        &format!("version: {from}"),
        &format!("version: {to}"),
    );
    // Against the example's snapshot mirror (on loopback).
    tree.run(&["apply", item]).code(0);
}

fn check(tree: &Tree, extra: &[&str]) -> Output {
    let mut args = vec!["check", "--base", "HEAD"];
    args.extend_from_slice(extra);
    args.extend_from_slice(PIN_ONLY);
    tree.run(&args)
}

#[test]
fn one_bump_passes_and_names_the_approver() {
    let tree = repo();
    bump(&tree, "6.8.0-45-generic", "6.8.0-47-generic", "kernel");
    check(&tree, &[])
        .code(0)
        .stdout_has(
            "kernel 6.8.0-45-generic → 6.8.0-47-generic needs sign-off by release-engineering",
        )
        .stdout_lacks("policy");
    check(&tree, &["--format", "github"])
        .code(0)
        .stdout_has("::notice title=vendor sign-off::kernel");
}

#[test]
fn two_bumps_in_one_change_fail_the_gate() {
    let tree = repo();
    bump(&tree, "6.8.0-45-generic", "6.8.0-47-generic", "kernel");
    bump(
        &tree,
        "20240301T000000Z",
        "20240315T000000Z",
        "dracut-apt-snapshot",
    );
    check(&tree, &[])
        .code(2)
        .stdout_has("this change bumps 2 items (dracut-apt-snapshot, kernel)");
    check(&tree, &["--format", "github"])
        .code(2)
        .stdout_has("::error title=vendor policy::this change bumps 2 items");
    let out = check(&tree, &["--format", "json"]);
    out.code(2);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(doc["policy"]["one_bump_per_change"], false);
    assert_eq!(doc["policy"]["sign_off"][0]["by"], "release-engineering");
    assert_eq!(doc["in_sync"], false);
}

#[test]
fn no_change_since_the_base_is_clean() {
    let tree = repo();
    check(&tree, &[])
        .code(0)
        .stdout_lacks("sign-off")
        .stdout_lacks("policy");
}

#[test]
fn an_unknown_base_is_an_error() {
    let tree = repo();
    tree.run(&["check", "--base", "no-such-rev", "kernel"])
        .code(1)
        .stderr_has("does not name a commit");
}
