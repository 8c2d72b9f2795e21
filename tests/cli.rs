//! End-to-end tests of the built `vendor` binary on temporary copies of the
//! repository's example tree, for the commands that need no download:
//! `validate`, `list`, `plan`, `apply` (pin-only items), `check`. The
//! example's APT items resolve against its snapshot mirror, played on
//! loopback by the committed archive (`support::example_archive_url`).
//!
//! Each test asserts the exit code (DESIGN §4: 0 ok, 1 error, 2 changes,
//! 64 usage), the key lines of output and the resulting files, byte for
//! byte. Rendered output (`--help`, plans, diagnostics) is snapshotted with
//! insta under `tests/snapshots/cli__*.snap`; after an intended change run
//! `INSTA_UPDATE=always cargo test --test cli` and review the diff.
//!

mod support;

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use support::{LOCK, MAKEFILE, MANIFEST, Tree, WORKFLOW, line_of};

const KERNEL: &str = "6.8.0-45-generic";
const KERNEL_NEXT: &str = "6.8.0-47-generic";
const KERNEL_TAMPERED: &str = "6.8.0-99-generic";
const SNAPSHOT: &str = "20240301T000000Z";
const SNAPSHOT_TAMPERED: &str = "20250101T000000Z";

/// The items that ship nothing: `apply` reconciles their pins offline.
const PIN_ONLY: [&str; 2] = ["kernel", "dracut-apt-snapshot"];
/// The items that download.
const DOWNLOADING: [&str; 3] = ["traefik", "rpi4-firmware", "k3s"];

// ---------------------------------------------------------------------------
// Helpers for the example tree
// ---------------------------------------------------------------------------

/// Sets the kernel pin in the workflow to `value` behind the tool's back.
fn tamper_kernel(tree: &Tree, value: &str) {
    tamper_kernel_to(tree, KERNEL, value);
}

/// Like [`tamper_kernel`], from another `current` value.
fn tamper_kernel_to(tree: &Tree, current: &str, value: &str) {
    tree.replace_once(
        WORKFLOW,
        &format!("KERNEL_VERSION: \"{current}\""),
        &format!("KERNEL_VERSION: \"{value}\""),
    );
}

/// Sets the APT snapshot literal inside its workflow expression.
fn tamper_snapshot(tree: &Tree, value: &str) {
    tree.replace_once(WORKFLOW, &format!("'{SNAPSHOT}'"), &format!("'{value}'"));
}

/// Wants `version` of the kernel in the manifest.
fn want_kernel(tree: &Tree, version: &str) {
    tree.replace_once(
        MANIFEST,
        &format!("version: {KERNEL}\n"),
        &format!("version: {version}\n"),
    );
}

/// `text` with its one occurrence of `from` replaced by `to`.
#[track_caller]
fn replaced(text: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(text.to_vec()).expect("UTF-8 text");
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1).into_bytes()
}

/// The manifest text without item `id` (its key line and everything
/// indented under it; comments before the next item stay).
fn without_item(manifest: &str, id: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    let mut found = false;
    for line in manifest.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        if line.trim_end() == format!("  {id}:") {
            skipping = true;
            found = true;
            continue;
        }
        if skipping && !line.trim().is_empty() && indent <= 2 {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
        }
    }
    assert!(found, "no item {id} in the manifest");
    out
}

/// The lock as YAML.
fn lock_yaml(tree: &Tree) -> Yaml {
    serde_yaml::from_str(&tree.read(LOCK)).expect("the lock parses as YAML")
}

/// The ids of the items in the lock.
fn locked_ids(tree: &Tree) -> BTreeSet<String> {
    lock_yaml(tree)["items"]
        .as_mapping()
        .expect("lock `items` is a mapping")
        .keys()
        .map(|k| k.as_str().expect("item ids are strings").to_owned())
        .collect()
}

/// The `-`/`+` lines of the unified diff of `path` in human plan output.
fn diff_changes<'a>(stdout: &'a str, path: &str) -> (Vec<&'a str>, Vec<&'a str>) {
    let header = format!("--- a/{path}\n+++ b/{path}\n");
    let start = stdout
        .find(&header)
        .unwrap_or_else(|| panic!("no diff of {path} in:\n{stdout}"));
    let body = &stdout[start + header.len()..];
    // Every line of a hunk starts with ' ', '-', '+' or '@': an empty line
    // ends the diff.
    let lines: Vec<&str> = body.lines().take_while(|l| !l.is_empty()).collect();
    let minus = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with('-'))
        .collect();
    let plus = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with('+'))
        .collect();
    (minus, plus)
}

/// The items of a ``vendor apply ITEM…`` command suggested in a
/// diagnostic (miette may wrap it over lines).
fn suggested_apply(stderr: &str) -> Option<Vec<String>> {
    let flat = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    let re = Regex::new(r"`vendor apply ([^`]+)`").expect("valid regex");
    let caps = re.captures(&flat)?;
    Some(caps[1].split(' ').map(str::to_owned).collect())
}

/// Runs each command, expecting exit 1 and no file touched by any.
#[track_caller]
fn all_fail_leaving_tree_alone(tree: &Tree, commands: &[&[&str]]) -> Vec<support::Output> {
    let before = tree.hashes();
    commands
        .iter()
        .map(|args| {
            let out = tree.run(args);
            out.code(1);
            assert!(
                !out.stderr.trim().is_empty(),
                "`{}` failed silently",
                out.command
            );
            tree.assert_unchanged(&before);
            out
        })
        .collect()
}

fn json(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

// ---------------------------------------------------------------------------
// 1. Pin drift: check finds it, apply restores it byte for byte
// ---------------------------------------------------------------------------

#[test]
fn tampered_kernel_pin_is_drift_and_apply_restores_it() {
    let tree = Tree::example();
    let original = tree.read_bytes(WORKFLOW);
    let lock = tree.read_bytes(LOCK);
    let line = line_of(&tree.read(WORKFLOW), "KERNEL_VERSION:");
    assert_eq!(line, 54, "the example moved; update the playbook reference");

    tree.run(&["check", "kernel"])
        .code(0)
        .stdout_has("check: 1 item in sync");
    tamper_kernel(&tree, KERNEL_TAMPERED);

    let finding = format!(
        "pin-drift kernel: {WORKFLOW}:{line} yaml jobs.build.env.KERNEL_VERSION \
         holds \"{KERNEL_TAMPERED}\", expected \"{KERNEL}\""
    );
    tree.run(&["check"]).code(2).stdout_has(&finding);
    tree.run(&["check", "kernel"])
        .code(2)
        .stdout_has(&finding)
        .stdout_has("check: 1 finding.");

    tree.run(&["apply", "kernel"])
        .code(0)
        .stdout_has("Applied: 1 pin rewrite in 1 file, 0 lock changes.");
    assert!(
        tree.read_bytes(WORKFLOW) == original,
        "the workflow is not restored byte for byte:\n{}",
        tree.read(WORKFLOW)
    );
    assert_eq!(tree.read_bytes(LOCK), lock, "a pin repair changed the lock");
    tree.run(&["check", "kernel"])
        .code(0)
        .stdout_has("check: 1 item in sync");
}

#[test]
fn tampered_snapshot_literal_is_restored_inside_its_expression() {
    let tree = Tree::example();
    let original = tree.read_bytes(WORKFLOW);
    let line = line_of(&tree.read(WORKFLOW), "APT_SNAPSHOT:");
    tamper_snapshot(&tree, SNAPSHOT_TAMPERED);

    tree.run(&["check", "dracut-apt-snapshot"])
        .code(2)
        .stdout_has(&format!(
            "pin-drift dracut-apt-snapshot: {WORKFLOW}:{line} "
        ))
        .stdout_has(&format!(
            "holds \"{SNAPSHOT_TAMPERED}\", expected \"{SNAPSHOT}\""
        ));

    // The diff replaces the literal only: the expression around it stays.
    let plan = tree.run(&["plan", "dracut-apt-snapshot"]);
    plan.code(0);
    let (minus, plus) = diff_changes(&plan.stdout, WORKFLOW);
    assert_eq!(
        (minus, plus),
        (
            vec!["-      APT_SNAPSHOT: ${{ inputs.apt_snapshot || '20250101T000000Z' }}"],
            vec!["+      APT_SNAPSHOT: ${{ inputs.apt_snapshot || '20240301T000000Z' }}"]
        )
    );

    tree.run(&["apply", "dracut-apt-snapshot"])
        .code(0)
        .stdout_has("Applied: 1 pin rewrite in 1 file, 0 lock changes.");
    assert!(
        tree.read_bytes(WORKFLOW) == original,
        "not restored byte for byte"
    );
    tree.run(&["check", "dracut-apt-snapshot"]).code(0);
}

#[test]
fn apply_repairs_only_the_selected_items() {
    let tree = Tree::example();
    let original = tree.read_bytes(WORKFLOW);
    tamper_kernel(&tree, KERNEL_TAMPERED);
    tamper_snapshot(&tree, SNAPSHOT_TAMPERED);
    let both_tampered = tree.read_bytes(WORKFLOW);

    tree.run(&["apply", "dracut-apt-snapshot"]).code(0);
    assert_eq!(
        tree.read_bytes(WORKFLOW),
        replaced(
            &both_tampered,
            &format!("'{SNAPSHOT_TAMPERED}'"),
            &format!("'{SNAPSHOT}'")
        ),
        "only the snapshot pin may change"
    );
    tree.run(&["check", "dracut-apt-snapshot"]).code(0);
    tree.run(&["check", "kernel"])
        .code(2)
        .stdout_has(KERNEL_TAMPERED);

    tree.run(&["apply", "kernel"]).code(0);
    assert!(
        tree.read_bytes(WORKFLOW) == original,
        "not restored byte for byte"
    );
    tree.run(&["check", "kernel", "dracut-apt-snapshot"])
        .code(0)
        .stdout_has("check: 2 items in sync");
}

#[cfg(unix)]
#[test]
fn apply_keeps_the_mode_of_a_rewritten_file() {
    let tree = Tree::example();
    tree.set_mode(WORKFLOW, 0o640);
    tamper_kernel(&tree, KERNEL_TAMPERED);
    tree.run(&["apply", "kernel"]).code(0);
    assert_eq!(tree.mode(WORKFLOW), 0o640);
    tree.run(&["check", "kernel"]).code(0);
}

// ---------------------------------------------------------------------------
// 2. A version change: plan shows it, apply makes it, then all is in sync
// ---------------------------------------------------------------------------

#[test]
fn kernel_version_change_is_planned_applied_and_locked() {
    let tree = Tree::example();
    let workflow = tree.read_bytes(WORKFLOW);
    let lock_before = lock_yaml(&tree);
    want_kernel(&tree, KERNEL_NEXT);
    let before = tree.hashes();

    tree.run(&["check", "kernel"]).code(2).stdout_has(&format!(
        "lock-outdated kernel: version {KERNEL} → {KERNEL_NEXT}"
    ));
    let plan = tree.run(&["plan", "--detailed-exitcode", "kernel"]);
    plan.code(2)
        .stdout_has(&format!("kernel {KERNEL} → {KERNEL_NEXT} (apt-package)"))
        .stdout_has(&format!(
            "✓ resolved package linux-image-{KERNEL_NEXT} in the snapshot of dracut-apt-snapshot"
        ))
        .stdout_has("~ lock: update")
        .stdout_has(
            "Plan: 1 of 1 item to change: 1 pin rewrite in 1 file, 1 lock change, 1 to resolve \
             upstream.",
        );
    let (minus, plus) = diff_changes(&plan.stdout, WORKFLOW);
    assert_eq!(
        (minus, plus),
        (
            vec![r#"-      KERNEL_VERSION: "6.8.0-45-generic""#],
            vec![r#"+      KERNEL_VERSION: "6.8.0-47-generic""#]
        ),
        "{}",
        plan.stdout
    );
    // Without --detailed-exitcode a plan with changes still succeeds.
    tree.run(&["plan", "kernel"]).code(0);
    tree.assert_unchanged(&before);

    tree.run(&["apply", "kernel"])
        .code(0)
        .stdout_has("Applied: 1 pin rewrite in 1 file, 1 lock change.");
    assert!(
        tree.read_bytes(WORKFLOW)
            == replaced(
                &workflow,
                &format!("\"{KERNEL}\""),
                &format!("\"{KERNEL_NEXT}\"")
            ),
        "only the version literal may change:\n{}",
        tree.read(WORKFLOW)
    );
    assert_eq!(
        tree.changed_since(&before),
        [
            format!("{WORKFLOW} (modified)"),
            format!("{LOCK} (modified)")
        ]
    );

    let lock = lock_yaml(&tree);
    let kernel = &lock["items"]["kernel"];
    assert_eq!(kernel["version"].as_str(), Some(KERNEL_NEXT));
    assert_eq!(kernel["pins"][0]["value"].as_str(), Some(KERNEL_NEXT));
    // Found in the pinned snapshot, for both build architectures.
    let apt = &kernel["resolved"]["apt"];
    assert_eq!(apt["snapshot"].as_str(), Some(SNAPSHOT));
    let found: Vec<(&str, &str)> = apt["packages"]
        .as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|p| Some((p["architecture"].as_str()?, p["version"].as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(found, [("amd64", "6.8.0-47.47"), ("arm64", "6.8.0-47.47")]);
    assert_ne!(
        kernel["fingerprint"], lock_before["items"]["kernel"]["fingerprint"],
        "the fingerprint follows the manifest entry"
    );
    assert_eq!(
        lock["items"]["dracut-apt-snapshot"], lock_before["items"]["dracut-apt-snapshot"],
        "another item's lock entry changed"
    );
    assert!(tree.read(LOCK).starts_with("# This file is generated"));

    tree.run(&["check", "kernel"])
        .code(0)
        .stdout_has("check: 1 item in sync");
    tree.run(&["plan", "--detailed-exitcode", "kernel"])
        .code(0)
        .stdout_has("No changes: 1 item in sync.");
}

#[test]
fn a_lost_lock_is_regenerated_to_the_same_bytes() {
    let tree = Tree::example();
    let lock = tree.read_bytes(LOCK);
    tree.remove(LOCK);
    tree.run(&["check", "kernel", "dracut-apt-snapshot"])
        .code(2)
        .stdout_has("lock-outdated kernel: not locked yet");
    tree.run(&["apply", "kernel", "dracut-apt-snapshot"])
        .code(0)
        .stdout_has("2 lock changes");
    assert!(
        tree.read_bytes(LOCK) == lock,
        "the regenerated lock differs from the committed one:\n{}",
        tree.read(LOCK)
    );
}

#[test]
fn locked_and_frozen_refuse_to_change_the_lock() {
    let tree = Tree::example();
    want_kernel(&tree, KERNEL_NEXT);
    for flag in ["--locked", "--frozen"] {
        let out = &all_fail_leaving_tree_alone(&tree, &[&[flag, "apply", "kernel"]])[0];
        out.stderr_has("kernel");
    }

    // Repairing a pin leaves the lock as it is: allowed.
    let tree = Tree::example();
    let original = tree.read_bytes(WORKFLOW);
    tamper_kernel(&tree, KERNEL_TAMPERED);
    tree.run(&["--locked", "apply", "kernel"]).code(0);
    assert!(tree.read_bytes(WORKFLOW) == original);
}

// ---------------------------------------------------------------------------
// 3. Bad input: exit 1, a located diagnostic, nothing written
// ---------------------------------------------------------------------------

#[test]
fn yaml_syntax_error_is_located() {
    let tree = Tree::example();
    tree.replace_once(MANIFEST, "\n  kernel:\n", "\n  kernel: [unclosed\n");
    let line = line_of(&tree.read(MANIFEST), "kernel: [unclosed");
    let outs = all_fail_leaving_tree_alone(
        &tree,
        &[
            &["validate"],
            &["plan"],
            &["check"],
            &["list"],
            &["apply", "kernel"],
        ],
    );
    let re = Regex::new(r"vendor\.yaml:(\d+):(\d+)\]").expect("valid regex");
    for out in &outs {
        let caps = re
            .captures(&out.stderr)
            .unwrap_or_else(|| panic!("no vendor.yaml:LINE:COL in\n{}", out.stderr));
        let at: usize = caps[1].parse().expect("a line number");
        // The parser notices the error on the bracket's line or the next.
        assert!(
            at == line || at == line + 1,
            "located at line {at}, the error is on {line}:\n{}",
            out.stderr
        );
        out.stderr_has("yaml-syntax")
            .stderr_has(&format!("{line} │   kernel: [unclosed"));
    }
}

#[test]
fn unknown_key_is_located_with_a_suggestion() {
    let tree = Tree::example();
    tree.replace_once(
        MANIFEST,
        "    versioning: loose\n",
        "    versionig: loose\n",
    );
    let line = line_of(&tree.read(MANIFEST), "versionig:");
    for out in all_fail_leaving_tree_alone(&tree, &[&["validate"], &["plan"], &["apply", "kernel"]])
    {
        out.stderr_has("unknown key `versionig` in `items.kernel`")
            .stderr_has(&format!("vendor.yaml:{line}:5]"))
            .stderr_has(&format!("{line} │     versionig: loose"))
            .stderr_has("did you mean `versioning`?");
    }
}

#[test]
fn unknown_item_on_the_command_line_suggests_the_nearest() {
    let tree = Tree::example();
    tamper_kernel(&tree, KERNEL_TAMPERED);
    let outs = all_fail_leaving_tree_alone(
        &tree,
        &[
            &["plan", "traefk"],
            &["check", "traefk"],
            &["apply", "traefk"],
            // All or nothing: the valid item is not applied either.
            &["apply", "kernel", "traefk"],
        ],
    );
    for out in outs {
        out.stderr_has("no item `traefk` in the manifest")
            .stderr_has("did you mean `traefik`?");
    }
}

#[test]
fn pin_locator_matching_nothing_names_the_file() {
    let tree = Tree::example();
    tree.edit(MAKEFILE, |text| {
        text.lines()
            .filter(|l| !l.starts_with("TRAEFIK_VERSION ?="))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    tamper_kernel(&tree, KERNEL_TAMPERED);
    let outs = all_fail_leaving_tree_alone(
        &tree,
        &[
            &["plan", "traefik"],
            &["plan"],
            &["check"],
            &["apply"],
            &["apply", "kernel", "traefik"],
        ],
    );
    for out in outs {
        out.stderr_mentions(&format!(
            "`make TRAEFIK_VERSION` matches 0 places in {MAKEFILE} (expected 1)"
        ));
    }
    // Items whose pins are fine are unaffected.
    tree.run(&["apply", "kernel"]).code(0);
}

#[test]
fn pin_locator_matching_twice_names_both_lines() {
    let tree = Tree::example();
    let line = line_of(&tree.read(MAKEFILE), "TRAEFIK_VERSION ?=");
    tree.replace_once(
        MAKEFILE,
        "TRAEFIK_VERSION ?= v3.3.4\n",
        "TRAEFIK_VERSION ?= v3.3.4\nTRAEFIK_VERSION ?= v3.3.4\n",
    );
    let outs = all_fail_leaving_tree_alone(
        &tree,
        &[
            &["plan", "traefik"],
            &["check", "traefik"],
            &["apply", "traefik"],
        ],
    );
    for out in outs {
        out.stderr_mentions(&format!(
            "`make TRAEFIK_VERSION` matches 2 places in {MAKEFILE} (expected 1)"
        ))
        .stderr_has(&format!("{MAKEFILE}:{line}:"))
        .stderr_has(&format!("match at line {line}"))
        .stderr_has(&format!("match at line {}", line + 1))
        .stderr_has(&format!("{line} │ TRAEFIK_VERSION ?= v3.3.4"))
        .stderr_has(&format!("{} │ TRAEFIK_VERSION ?= v3.3.4", line + 1));
    }
}

#[test]
fn pin_file_that_does_not_exist() {
    // Named wrongly in the manifest: validate points at the manifest line.
    let tree = Tree::example();
    tree.replace_once(
        MANIFEST,
        &format!("- file: {MAKEFILE}\n"),
        "- file: examples/powernode/agent/GNUmakefile\n",
    );
    let line = line_of(&tree.read(MANIFEST), "agent/GNUmakefile");
    let outs = all_fail_leaving_tree_alone(
        &tree,
        &[&["validate"], &["plan", "traefik"], &["apply", "traefik"]],
    );
    outs[0]
        .stderr_mentions("examples/powernode/agent/GNUmakefile")
        .stderr_has(&format!("vendor.yaml:{line}:15]"));
    for out in &outs[1..] {
        out.stderr_mentions("examples/powernode/agent/GNUmakefile");
    }

    // Gone from the tree: every command says which file of which item.
    let tree = Tree::example();
    tree.remove(MAKEFILE);
    for out in all_fail_leaving_tree_alone(
        &tree,
        &[&["validate"], &["plan"], &["check"], &["apply", "traefik"]],
    ) {
        out.stderr_mentions(MAKEFILE);
    }
}

#[test]
fn invalid_lock_is_an_error_not_drift() {
    let tree = Tree::example();
    tree.write(LOCK, "version: 1\nitems: [\n");
    for out in all_fail_leaving_tree_alone(&tree, &[&["check"], &["plan"], &["apply", "kernel"]]) {
        out.stderr_mentions("vendor.lock.yaml");
    }
}

#[test]
fn missing_manifest_is_an_error_with_a_hint() {
    let tree = Tree::new();
    for args in [
        &["validate"][..],
        &["list"],
        &["plan"],
        &["check"],
        &["apply"],
        &["apply", "kernel"],
    ] {
        tree.run(args)
            .code(1)
            .stderr_mentions(&tree.path(MANIFEST).display().to_string())
            .stderr_has("-C DIR")
            .stderr_has("-f FILE");
    }
}

#[test]
fn failed_apply_without_a_manifest_leaves_no_work_dir() {
    let tree = Tree::new();
    tree.run(&["apply"]).code(1);
    let left: Vec<_> = std::fs::read_dir(tree.root())
        .expect("list the tree")
        .map(|e| e.expect("a directory entry").file_name())
        .collect();
    assert!(left.is_empty(), "a failed apply left {left:?}");
}

#[test]
fn manifest_named_with_dash_f_from_another_directory() {
    let tree = Tree::example();
    let original = tree.read_bytes(WORKFLOW);
    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    let manifest = tree.path(MANIFEST);
    let manifest = manifest.to_str().expect("a UTF-8 temporary path");
    tamper_kernel(&tree, KERNEL_TAMPERED);
    let run = |args: &[&str]| {
        let mut all = vec!["-f", manifest];
        all.extend(args);
        tree.vendor(all)
            .without_dir_flag()
            .current_dir(elsewhere.path())
            .output()
    };
    let line = line_of(&tree.read(WORKFLOW), "KERNEL_VERSION:");
    run(&["check", "kernel"])
        .code(2)
        .stdout_has(&format!("{WORKFLOW}:{line}"));
    run(&["apply", "kernel"]).code(0);
    assert!(tree.read_bytes(WORKFLOW) == original);
    run(&["check", "kernel"]).code(0);
    assert_eq!(
        std::fs::read_dir(elsewhere.path())
            .expect("list the directory")
            .count(),
        0,
        "nothing is written to the working directory"
    );
}

// ---------------------------------------------------------------------------
// 4. Exit codes of the command line itself
// ---------------------------------------------------------------------------

#[test]
fn usage_errors_exit_64() {
    let tree = Tree::example();
    let before = tree.hashes();
    let cases: &[(&[&str], &str)] = &[
        (&["--bogus"], "--bogus"),
        (&["plan", "--bogus"], "--bogus"),
        (&["frobnicate"], "frobnicate"),
        (&["plan", "--format", "github"], "--format github"),
        (&["--format", "github", "plan"], "--format github"),
        (&["list", "--format", "github"], "--format github"),
        (&["check", "--format", "markdown"], "--format markdown"),
        (&["--format", "yaml", "plan"], "yaml"),
        (&["--color", "sometimes", "plan"], "sometimes"),
        (&["-q", "-v", "plan"], "--quiet"),
        (&["completions"], "SHELL"),
        (&["completions", "tcsh"], "tcsh"),
    ];
    for (args, mentions) in cases {
        let out = tree.run(args);
        out.code(64).stderr_has(mentions);
        assert!(
            out.stdout.is_empty(),
            "usage error on stdout:\n{}",
            out.stdout
        );
    }
    tree.assert_unchanged(&before);
}

#[test]
fn help_and_version_exit_0() {
    let tree = Tree::example();
    tree.run(&["--help"]).code(0).stdout_has("Usage: vendor");
    tree.run(&["-h"]).code(0).stdout_has("Usage: vendor");
    tree.run(&["help"]).code(0).stdout_has("Usage: vendor");
    tree.run(&["help", "plan"])
        .code(0)
        .stdout_has("Usage: vendor plan");
    tree.run(&["plan", "--help"])
        .code(0)
        .stdout_has("--detailed-exitcode");
    let version = tree.run(&["--version"]);
    version.code(0);
    assert_eq!(
        version.stdout,
        format!("vendor {}\n", env!("CARGO_PKG_VERSION"))
    );
    tree.run(&["check", "--version"]).code(0);
}

#[test]
fn missing_subcommand_is_a_usage_error() {
    let tree = Tree::example();
    // With other arguments (`vendor -C DIR`) it already exits 64.
    tree.run(&[]).code(64).stderr_has("Usage: vendor");
    let bare: [&str; 0] = [];
    tree.vendor(bare)
        .without_dir_flag()
        .output()
        .code(64)
        .stderr_has("Usage: vendor");
}

// ---------------------------------------------------------------------------
// 5. Saved plans
// ---------------------------------------------------------------------------

#[test]
fn saved_plan_applies_exactly_and_only_once() {
    let tree = Tree::example();
    let workflow = tree.read_bytes(WORKFLOW);
    want_kernel(&tree, KERNEL_NEXT);
    tamper_snapshot(&tree, SNAPSHOT_TAMPERED);

    let shown = tree.run(&["plan", "kernel", "--out", "plan.json"]);
    shown
        .code(0)
        .stdout_has("kernel 6.8.0-45-generic → 6.8.0-47-generic");
    let saved = json(&tree.read("plan.json"));
    assert_eq!(saved["format_version"], 1);
    let as_json = tree.run(&["plan", "kernel", "--format", "json"]);
    assert_eq!(
        json(&as_json.stdout),
        saved,
        "--out saves the plan --format json prints"
    );

    let before = tree.hashes();
    tree.run(&["apply", "plan.json"])
        .code(0)
        .stdout_has("Applied: 1 pin rewrite in 1 file, 1 lock change.");
    // Exactly the plan: the kernel, not the drifted snapshot pin beside it.
    let expected = replaced(
        &replaced(
            &workflow,
            &format!("\"{KERNEL}\""),
            &format!("\"{KERNEL_NEXT}\""),
        ),
        &format!("'{SNAPSHOT}'"),
        &format!("'{SNAPSHOT_TAMPERED}'"),
    );
    assert!(
        tree.read_bytes(WORKFLOW) == expected,
        "{}",
        tree.read(WORKFLOW)
    );
    assert_eq!(
        tree.changed_since(&before),
        [
            format!("{WORKFLOW} (modified)"),
            format!("{LOCK} (modified)")
        ]
    );
    tree.run(&["check", "kernel"]).code(0);

    // Its inputs have changed now: a second apply is refused.
    let before = tree.hashes();
    let again = &all_fail_leaving_tree_alone(&tree, &[&["apply", "plan.json"]])[0];
    again
        .stderr_has("stale")
        .stderr_mentions("vendor.lock.yaml")
        .stderr_mentions(WORKFLOW);
    tree.assert_unchanged(&before);
}

#[test]
fn saved_plan_is_stale_after_a_manifest_edit() {
    let tree = Tree::example();
    want_kernel(&tree, KERNEL_NEXT);
    tree.run(&["plan", "kernel", "--out", "plan.json"]).code(0);
    // Not a resolution input, but the plan was made from other bytes.
    tree.replace_once(
        MANIFEST,
        "description: Ubuntu kernel ABI bundled",
        "description: The Ubuntu kernel ABI bundled",
    );
    let out = &all_fail_leaving_tree_alone(&tree, &[&["apply", "plan.json"]])[0];
    out.stderr_has("stale").stderr_has("vendor.yaml");
}

#[test]
fn saved_plan_is_stale_after_a_pinned_file_edit() {
    // The whole example's plan reads the Makefile (traefik's pin).
    let tree = Tree::example();
    tree.run(&["plan", "--out", "plan.json"]).code(0);
    let saved = json(&tree.read("plan.json"));
    assert!(
        saved["inputs"]["files"].get(MAKEFILE).is_some(),
        "the plan records the Makefile it read: {saved}"
    );
    tree.edit(MAKEFILE, |t| format!("{t}# edited after planning\n"));
    let out = &all_fail_leaving_tree_alone(&tree, &[&["apply", "plan.json"]])[0];
    out.stderr_has("stale").stderr_mentions(MAKEFILE);

    // And a kernel plan is stale when the workflow it rewrites changes.
    let tree = Tree::example();
    want_kernel(&tree, KERNEL_NEXT);
    tree.run(&["plan", "kernel", "--out", "plan.json"]).code(0);
    tamper_snapshot(&tree, SNAPSHOT_TAMPERED);
    let out = &all_fail_leaving_tree_alone(&tree, &[&["apply", "plan.json"]])[0];
    out.stderr_has("stale").stderr_mentions(WORKFLOW);
}

#[test]
fn a_file_that_is_not_a_plan_is_refused() {
    let tree = Tree::example();
    tree.write("plan.json", "{\"not\": \"a plan\"}\n");
    all_fail_leaving_tree_alone(&tree, &[&["apply", "plan.json"]])[0]
        .stderr_has("plan.json")
        .stderr_has("not a plan file");
    all_fail_leaving_tree_alone(&tree, &[&["apply", "missing-plan.json"]])[0]
        .stderr_has("missing-plan.json");
}

#[test]
fn dash_c_resolves_a_relative_plan_file_in_dir() {
    let tree = Tree::example();
    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    want_kernel(&tree, KERNEL_NEXT);
    tree.vendor(["plan", "kernel", "--out", "plan.json"])
        .current_dir(elsewhere.path())
        .output()
        .code(0);
    assert!(
        !elsewhere.path().join("plan.json").exists(),
        "the plan was written outside DIR"
    );
    assert!(tree.exists("plan.json"), "the plan is not in DIR");
    tree.vendor(["apply", "plan.json"])
        .current_dir(elsewhere.path())
        .output()
        .code(0);
}

// ---------------------------------------------------------------------------
// 6. Machine-readable formats
// ---------------------------------------------------------------------------

#[test]
fn check_github_annotates_pin_drift() {
    let tree = Tree::example();
    tamper_kernel(&tree, KERNEL_TAMPERED);
    tamper_snapshot(&tree, SNAPSHOT_TAMPERED);
    let text = tree.read(WORKFLOW);
    let kernel_line = line_of(&text, "KERNEL_VERSION:");
    let snapshot_line = line_of(&text, "APT_SNAPSHOT:");

    // Run as CI does, from the repository root.
    let out = tree
        .vendor(["check", "--format", "github"])
        .without_dir_flag()
        .output();
    out.code(2);
    let annotations: Vec<&str> = out.stdout.lines().collect();
    assert!(
        annotations.iter().all(|l| l.starts_with("::error ")),
        "stdout holds only annotations:\n{}",
        out.stdout
    );
    for (item, line, found) in [
        ("kernel", kernel_line, KERNEL_TAMPERED),
        ("dracut-apt-snapshot", snapshot_line, SNAPSHOT_TAMPERED),
    ] {
        let prefix = format!(
            "::error file={WORKFLOW},line={line},title=vendor pin-drift::{item}: {WORKFLOW}:{line} "
        );
        let annotation = annotations
            .iter()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no annotation starting {prefix:?} in\n{}", out.stdout));
        assert!(annotation.contains(found), "{annotation}");
    }

    // With -C the file is still the workflow (as a path GitHub can map).
    let out = tree.run(&["check", "--format", "github", "kernel"]);
    out.code(2);
    let re = Regex::new(&format!(
        r"^::error file=([^,]*{}),line={kernel_line},",
        regex::escape(WORKFLOW)
    ))
    .expect("valid regex");
    assert!(re.is_match(out.stdout.trim_end()), "{}", out.stdout);

    // In sync: no annotation at all.
    let tree = Tree::example();
    let out = tree.run(&["check", "--format", "github", "kernel"]);
    out.code(0);
    assert_eq!(out.stdout, "");
}

#[test]
fn check_json_is_versioned_and_structured() {
    let tree = Tree::example();
    let out = tree.run(&["check", "--format", "json", "kernel"]);
    out.code(0);
    let doc = json(&out.stdout);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["in_sync"], true);
    assert_eq!(doc["findings"], Json::Array(Vec::new()));

    tamper_kernel(&tree, KERNEL_TAMPERED);
    let out = tree.run(&["check", "--format", "json"]);
    out.code(2);
    let doc = json(&out.stdout);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["in_sync"], false);
    let findings = doc["findings"].as_array().expect("findings is a list");
    let pin = findings
        .iter()
        .find(|f| f["kind"] == "pin-drift")
        .unwrap_or_else(|| panic!("no pin-drift finding in {doc}"));
    assert_eq!(pin["item"], "kernel");
    assert_eq!(pin["file"], WORKFLOW);
    assert_eq!(pin["line"], 54);
    assert_eq!(pin["found"], KERNEL_TAMPERED);
    assert_eq!(pin["expected"], KERNEL);
    for item in DOWNLOADING {
        assert!(
            findings
                .iter()
                .any(|f| f["item"] == item && f["kind"] == "lock-outdated"),
            "{item} is not locked yet: {doc}"
        );
    }
}

#[test]
fn plan_list_validate_json_are_versioned() {
    let tree = Tree::example();
    want_kernel(&tree, KERNEL_NEXT);

    let out = tree.run(&["plan", "--format", "json"]);
    out.code(0);
    let plan = json(&out.stdout);
    assert_eq!(plan["format_version"], 1);
    let kernel = plan["items"]
        .as_array()
        .expect("items is a list")
        .iter()
        .find(|i| i["id"] == "kernel")
        .unwrap_or_else(|| panic!("no kernel in {plan}"));
    assert_eq!(kernel["wanted"], KERNEL_NEXT);
    assert_eq!(kernel["locked"], KERNEL);
    assert_eq!(kernel["pins"][0]["to"], KERNEL_NEXT);
    tree.run(&["plan", "--format", "json", "--detailed-exitcode"])
        .code(2);

    let list = json(&tree.run(&["list", "--format", "json"]).code(0).stdout);
    assert_eq!(list["format_version"], 1);
    let validate = json(&tree.run(&["validate", "--format", "json"]).code(0).stdout);
    assert_eq!(validate["format_version"], 1);
    assert_eq!(validate["valid"], true);

    let markdown = tree.run(&["plan", "--format", "markdown", "kernel"]);
    markdown
        .code(0)
        .stdout_has("### vendor plan")
        .stdout_has("```diff\n")
        .stdout_has(r#"+      KERNEL_VERSION: "6.8.0-47-generic""#);
}

// ---------------------------------------------------------------------------
// 7. Orphans
// ---------------------------------------------------------------------------

#[test]
fn orphaned_lock_entry_is_drift_and_apply_removes_it() {
    let tree = Tree::example();
    tree.edit(MANIFEST, |m| without_item(m, "kernel"));
    tree.run(&["check"])
        .code(2)
        .stdout_has("orphan kernel: lock entry without a manifest item");
    let doc = json(&tree.run(&["check", "--format", "json"]).code(2).stdout);
    assert!(
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["kind"] == "orphan" && f["item"] == "kernel"),
        "{doc}"
    );
    tree.run(&["plan"])
        .code(0)
        .stdout_has("kernel 6.8.0-45-generic → (removed)")
        .stdout_has("- lock: remove");

    // A manifest of pin-only items: `apply` (everything) can run offline.
    let tree = Tree::example();
    tree.edit(MANIFEST, |m| {
        let mut m = without_item(m, "kernel");
        for item in DOWNLOADING {
            m = without_item(&m, item);
        }
        m
    });
    tree.run(&["validate"]).code(0).stdout_has("1 item, 1 pin");
    let before = tree.hashes();
    tree.run(&["apply"])
        .code(0)
        .stdout_has("Applied: 0 pin rewrites in 0 files, 1 lock change.");
    assert_eq!(
        locked_ids(&tree),
        BTreeSet::from(["dracut-apt-snapshot".to_owned()]),
        "{}",
        tree.read(LOCK)
    );
    // The orphan's pin is left as it was: only the lock changed.
    assert_eq!(tree.changed_since(&before), [format!("{LOCK} (modified)")]);
    tree.run(&["check"])
        .code(0)
        .stdout_has("check: 1 item in sync");
    tree.run(&["apply"]).code(0).stdout_has("Nothing to apply");
}

#[test]
fn orphan_beside_download_items_is_not_removed_by_apply() {
    let tree = Tree::example();
    tree.edit(MANIFEST, |m| without_item(m, "kernel"));
    let out = &all_fail_leaving_tree_alone(&tree, &[&["apply"]])[0];
    assert!(
        DOWNLOADING.iter().any(|item| out.stderr.contains(item)),
        "{}",
        out.stderr
    );
    assert!(locked_ids(&tree).contains("kernel"));
}

// ---------------------------------------------------------------------------
// 8. `apply` of everything while download items need resolution
// ---------------------------------------------------------------------------

#[test]
fn apply_everything_is_all_or_nothing() {
    let tree = Tree::example();
    tamper_kernel(&tree, KERNEL_TAMPERED);
    for args in [&["apply"][..], &["--offline", "apply"][..]] {
        let out = &all_fail_leaving_tree_alone(&tree, &[args])[0];
        assert!(
            DOWNLOADING.iter().any(|item| out.stderr.contains(item)),
            "the error names no download item:\n{}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }

    // What it suggests instead (if anything) works and reaches sync.
    let out = tree.run(&["apply"]);
    if let Some(items) = suggested_apply(&out.stderr) {
        let mut args = vec!["apply"];
        args.extend(items.iter().map(String::as_str));
        tree.run(&args).code(0);
        tree.run(&["check", "kernel"]).code(0);
    }
}

// ---------------------------------------------------------------------------
// 9. The lock is rewritten only when its content changes
// ---------------------------------------------------------------------------

#[test]
fn apply_twice_leaves_the_lock_alone_the_second_time() {
    let tree = Tree::example();
    want_kernel(&tree, KERNEL_NEXT);
    tree.run(&["apply", "kernel"])
        .code(0)
        .stdout_has("1 lock change");
    let lock = tree.read_bytes(LOCK);
    let lock_id = tree.file_id(LOCK);
    let workflow_id = tree.file_id(WORKFLOW);
    let before = tree.hashes();

    tree.run(&["apply", "kernel"])
        .code(0)
        .stdout_has("Nothing to apply: 1 item in sync.");
    assert_eq!(tree.read_bytes(LOCK), lock);
    assert_eq!(tree.file_id(LOCK), lock_id, "the lock was rewritten");
    assert_eq!(
        tree.file_id(WORKFLOW),
        workflow_id,
        "the workflow was rewritten"
    );
    tree.assert_unchanged(&before);

    // A pin repair changes no lock content: the lock file stays as it was.
    tamper_kernel_to(&tree, KERNEL_NEXT, KERNEL_TAMPERED);
    tree.run(&["apply", "kernel"])
        .code(0)
        .stdout_has("0 lock changes");
    assert_eq!(tree.file_id(LOCK), lock_id, "the lock was rewritten");
    tree.assert_unchanged(&before);
}

// ---------------------------------------------------------------------------
// 10. Line endings
// ---------------------------------------------------------------------------

#[test]
fn crlf_file_keeps_its_line_endings() {
    let tree = Tree::example();
    tree.edit(WORKFLOW, |t| t.replace('\n', "\r\n"));
    let crlf = tree.read_bytes(WORKFLOW);
    let line = line_of(&tree.read(WORKFLOW), "KERNEL_VERSION:");
    tree.run(&["check", "kernel", "dracut-apt-snapshot"])
        .code(0);

    tamper_kernel(&tree, KERNEL_TAMPERED);
    tamper_snapshot(&tree, SNAPSHOT_TAMPERED);
    tree.run(&["check", "kernel"])
        .code(2)
        .stdout_has(&format!("{WORKFLOW}:{line} "))
        .stdout_has(&format!(
            "holds \"{KERNEL_TAMPERED}\", expected \"{KERNEL}\""
        ));
    tree.run(&["apply", "kernel", "dracut-apt-snapshot"])
        .code(0);
    assert!(
        tree.read_bytes(WORKFLOW) == crlf,
        "not restored byte for byte:\n{:?}",
        tree.read(WORKFLOW)
    );

    want_kernel(&tree, KERNEL_NEXT);
    tree.run(&["apply", "kernel"]).code(0);
    let after = tree.read_bytes(WORKFLOW);
    assert!(
        after
            == replaced(
                &crlf,
                &format!("\"{KERNEL}\""),
                &format!("\"{KERNEL_NEXT}\"")
            ),
        "{:?}",
        String::from_utf8_lossy(&after)
    );
    let text = String::from_utf8(after).expect("UTF-8");
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
    tree.run(&["check", "kernel", "dracut-apt-snapshot"])
        .code(0);
}

// ---------------------------------------------------------------------------
// 11. Snapshots of rendered output
// ---------------------------------------------------------------------------

/// The subcommands listed in the top-level help.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn help_snapshots() {
    let tree = Tree::new();
    let top = tree.run(&["--help"]);
    top.code(0);
    insta::assert_snapshot!("help", top.stdout);
    let commands = subcommands(&top.stdout);
    assert!(
        commands.len() >= 7 && commands.contains(&"plan".to_owned()),
        "{commands:?}"
    );
    // Every subcommand, so a new one gets a snapshot too.
    for command in commands.iter().filter(|c| *c != "help") {
        let out = tree.run(&[command, "--help"]);
        out.code(0);
        insta::assert_snapshot!(format!("help_{command}"), out.stdout);
    }
}

#[test]
fn plan_of_a_kernel_bump_snapshot() {
    let tree = Tree::example();
    want_kernel(&tree, KERNEL_NEXT);
    let out = tree.run(&["plan"]);
    out.code(0);
    insta::assert_snapshot!("plan_kernel_bump", tree.normalize(&out.stdout));
}

#[test]
fn check_with_drift_snapshot() {
    let tree = Tree::example();
    tamper_kernel(&tree, KERNEL_TAMPERED);
    tamper_snapshot(&tree, SNAPSHOT_TAMPERED);
    let out = tree.run(&["check"]);
    out.code(2);
    insta::assert_snapshot!("check_drift", tree.normalize(&out.stdout));
}

#[test]
fn list_snapshot() {
    let tree = Tree::example();
    let out = tree.run(&["list"]);
    out.code(0);
    insta::assert_snapshot!("list", tree.normalize(&out.stdout));
}

#[test]
fn unknown_item_error_snapshot() {
    let tree = Tree::example();
    let out = tree.run(&["plan", "traefk"]);
    out.code(1);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!("error_unknown_item", tree.normalize(&out.stderr));
}

#[test]
fn pin_matching_twice_error_snapshot() {
    let tree = Tree::example();
    tree.replace_once(
        MAKEFILE,
        "TRAEFIK_VERSION ?= v3.3.4\n",
        "TRAEFIK_VERSION ?= v3.3.4\nTRAEFIK_VERSION ?= v3.3.4\n",
    );
    let out = tree.run(&["plan", "traefik"]);
    out.code(1);
    insta::assert_snapshot!("error_pin_matches_twice", tree.normalize(&out.stderr));
}

// ---------------------------------------------------------------------------
// 12. Concurrent runs
// ---------------------------------------------------------------------------

#[test]
fn concurrent_applies_serialise() {
    let tree = Tree::example();
    let workflow = tree.read_bytes(WORKFLOW);
    want_kernel(&tree, KERNEL_NEXT);
    tamper_snapshot(&tree, SNAPSHOT_TAMPERED);

    let mut args = vec!["apply"];
    args.extend(PIN_ONLY);
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = tree.vendor(&args).command();
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().expect("spawn vendor apply")
        })
        .collect();
    let outs: Vec<support::Output> = children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("wait for vendor apply");
            let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            support::Output::from_process(&args, &out)
        })
        .collect();
    for out in &outs {
        out.code(0);
    }
    // One run did the work; the others, after waiting, found nothing left.
    let applied = outs
        .iter()
        .filter(|o| {
            o.stdout
                .contains("Applied: 2 pin rewrites in 1 file, 1 lock change.")
        })
        .count();
    let nothing = outs
        .iter()
        .filter(|o| o.stdout.contains("Nothing to apply"))
        .count();
    assert_eq!(
        (applied, nothing),
        (1, outs.len() - 1),
        "{}",
        outs.iter()
            .map(support::Output::streams)
            .collect::<Vec<_>>()
            .join("\n")
    );

    assert!(
        tree.read_bytes(WORKFLOW)
            == replaced(
                &workflow,
                &format!("\"{KERNEL}\""),
                &format!("\"{KERNEL_NEXT}\"")
            ),
        "{}",
        tree.read(WORKFLOW)
    );
    assert_eq!(lock_yaml(&tree)["items"]["kernel"]["version"], KERNEL_NEXT);
    tree.run(&["check", "kernel", "dracut-apt-snapshot"])
        .code(0);
    // No temporary file is left beside the files that were replaced.
    let leftovers: Vec<String> = tree
        .hashes()
        .into_keys()
        .filter(|p| p.contains(".vendor-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
