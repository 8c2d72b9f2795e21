//! Smoke checks end to end: real static binaries (the `say` fixture, x86-64
//! and aarch64) shipped in a fake GitHub release, inspected and run by
//! `vendor apply` before install and by `vendor smoke` afterwards. The
//! aarch64 binary runs through `qemu-aarch64` when it is on `PATH` and is
//! reported as skipped otherwise; a wrong version, a wrong architecture or
//! an unexpectedly dynamic binary aborts the apply with the tree unchanged.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

use std::path::Path;
use std::process::Command;

use build::{say, tar_gz};
use fake_github::{FakeGithub, FakeRelease};
use serde_json::Value as Json;
use support::Tree;
use support::tree::{Output, Run};

const REPO: &str = "acme/tool";

fn tool_archive(binary: &[u8]) -> Vec<u8> {
    tar_gz(&[("tool", binary, 0o755), ("README", b"read me\n", 0o644)])
}

/// Publishes tool 1.2.3 with `binaries` as the amd64 and arm64 builds.
fn publish(fake: &FakeGithub, amd64: &[u8], arm64: &[u8]) {
    fake.release(
        REPO,
        FakeRelease::new("v1.2.3")
            .asset("tool_v1.2.3_linux_amd64.tar.gz", tool_archive(amd64))
            .asset("tool_v1.2.3_linux_arm64.tar.gz", tool_archive(arm64)),
    );
    fake.tag(REPO, "v1.2.3", &"a".repeat(40));
}

fn good(fake: &FakeGithub) {
    publish(
        fake,
        &say("amd64", "tool version 1.2.3\n"),
        &say("arm64", "tool version 1.2.3\n"),
    );
}

const MANIFEST: &str = r#"version: 1
items:
  tool:
    version: 1.2.3
    source:
      type: github-release
      repo: acme/tool
      tag: v{version}
    platforms: [linux/amd64, linux/arm64]
    assets:
      - name: tool_{tag}_{os}_{arch}.tar.gz
        checksum: github-digest
        extract:
          member: tool
        install: bin/tool-{arch}
        mode: "0755"
    smoke:
      inspect:
        format: elf
        static: true
      run:
        - args: ["{path}", "--version"]
          expect: '^tool version {version}$'
"#;

fn tree() -> Tree {
    let tree = Tree::new();
    tree.write("vendor.yaml", MANIFEST);
    tree
}

/// `vendor ARGS` with a `PATH` of `path` (where `qemu-aarch64` is looked
/// for).
fn vendor<'t>(tree: &'t Tree, fake: &FakeGithub, path: &Path, args: &[&str]) -> Run<'t> {
    tree.vendor(args)
        .env("GITHUB_API_URL", fake.api_url())
        .env("PATH", path)
}

/// A `PATH` without any emulator.
fn no_qemu() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The directory of the real `qemu-aarch64` (Debian package qemu-user).
fn qemu_dir() -> std::path::PathBuf {
    let out = Command::new("sh")
        .args(["-c", "command -v qemu-aarch64"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "qemu-aarch64 is not installed: install the Debian package qemu-user"
    );
    let path = String::from_utf8(out.stdout).unwrap();
    Path::new(path.trim()).parent().unwrap().to_owned()
}

fn record(tree: &Tree) -> Json {
    serde_json::from_str(&tree.read(".vendor/smoke/tool.json")).unwrap()
}

/// The checks of `record` as `(check, file, status)`.
fn statuses(record: &Json) -> Vec<(String, String, String)> {
    record["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["file"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn t(check: &str, file: &str, status: &str) -> (String, String, String) {
    (check.into(), file.into(), status.into())
}

fn json(out: &Output) -> Json {
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn apply_smoke_tests_the_host_binary_and_skips_the_foreign_one_without_qemu() {
    if std::env::consts::ARCH != "x86_64" {
        return; // the fixtures' host build is x86-64
    }
    let fake = FakeGithub::start();
    good(&fake);
    let tree = tree();
    let path = no_qemu();
    let out = vendor(&tree, &fake, path.path(), &["apply"]).output();
    out.code(0)
        .stdout_has("smoke: 1 item, 3 passed, 1 skipped, 0 failed")
        .stderr_has("`qemu-aarch64` is not on PATH");
    let r = record(&tree);
    assert_eq!(r["version"], "1.2.3");
    assert_eq!(r["passed"], true);
    assert_eq!(
        statuses(&r),
        [
            t("inspect", "bin/tool-amd64", "passed"),
            t("run", "bin/tool-amd64", "passed"),
            t("inspect", "bin/tool-arm64", "passed"),
            t("run", "bin/tool-arm64", "skipped"),
        ]
    );
    let run = &r["checks"][1];
    assert_eq!(run["runner"], "native");
    assert_eq!(run["command"], "bin/tool-amd64 --version");
    assert_eq!(run["output"], "tool version 1.2.3");
    assert!(
        r["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("statically linked")
    );
}

#[test]
fn foreign_binaries_run_through_qemu_when_it_is_installed() {
    if std::env::consts::ARCH != "x86_64" {
        return;
    }
    let fake = FakeGithub::start();
    good(&fake);
    let tree = tree();
    vendor(&tree, &fake, &qemu_dir(), &["apply"])
        .output()
        .code(0)
        .stdout_has("smoke: 1 item, 4 passed, 0 skipped, 0 failed");
    let r = record(&tree);
    assert_eq!(r["checks"][3]["runner"], "qemu-aarch64");
    assert_eq!(r["checks"][3]["output"], "tool version 1.2.3");
}

#[test]
fn a_wrong_version_aborts_the_apply_and_no_smoke_overrides() {
    let fake = FakeGithub::start();
    publish(
        &fake,
        &say("amd64", "tool version 1.2.2\n"),
        &say("arm64", "tool version 1.2.2\n"),
    );
    let tree = tree();
    let before = tree.hashes();
    let path = no_qemu();
    let out = vendor(&tree, &fake, path.path(), &["apply"]).output();
    out.code(1)
        .stderr_has("smoke checks failed for tool")
        .stderr_has("the output does not match `^tool version 1\\.2\\.3$`")
        .stderr_has("| tool version 1.2.2");
    tree.assert_unchanged(&before);
    assert!(!tree.exists("vendor.lock.yaml") && !tree.exists("bin/tool-amd64"));
    // The failed record is kept as evidence.
    assert_eq!(record(&tree)["passed"], false);

    vendor(&tree, &fake, path.path(), &["apply", "--no-smoke"])
        .output()
        .code(0)
        .stdout_lacks("smoke:");
    assert!(tree.exists("bin/tool-amd64"));
    // `vendor smoke` still says what is wrong with what is installed.
    let out = vendor(&tree, &fake, path.path(), &["smoke"]).output();
    out.code(1)
        .stdout_has("failed  run     `bin/tool-amd64 --version` (native)")
        .stderr_has("smoke checks failed for tool");
}

#[test]
fn a_binary_for_the_wrong_architecture_fails_inspection() {
    let fake = FakeGithub::start();
    // Both slots hold the aarch64 build.
    let arm = say("arm64", "tool version 1.2.3\n");
    publish(&fake, &arm, &arm);
    let tree = tree();
    let before = tree.hashes();
    let path = no_qemu();
    vendor(&tree, &fake, path.path(), &["apply"])
        .output()
        .code(1)
        .stderr_has("built for arm64 but installed for linux/amd64");
    tree.assert_unchanged(&before);
}

#[test]
fn an_unexpectedly_dynamic_binary_fails_inspection() {
    let fake = FakeGithub::start();
    let dynamic = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bin/hello-linux-arm64-dynamic"),
    )
    .unwrap();
    publish(&fake, &say("amd64", "tool version 1.2.3\n"), &dynamic);
    let tree = tree();
    let before = tree.hashes();
    let path = no_qemu();
    vendor(&tree, &fake, path.path(), &["apply"])
        .output()
        .code(1)
        .stderr_has("dynamically linked")
        .stderr_has("`static: true` is set");
    tree.assert_unchanged(&before);
}

#[test]
fn a_script_cannot_pass_for_a_static_binary() {
    let fake = FakeGithub::start();
    let script = b"#!/bin/sh\necho tool version 1.2.3\n";
    publish(&fake, script, script);
    let tree = tree();
    let path = no_qemu();
    vendor(&tree, &fake, path.path(), &["apply"])
        .output()
        .code(1)
        .stderr_has("not an executable");
}

#[test]
fn smoke_command_reports_in_every_format_and_saves_the_record() {
    if std::env::consts::ARCH != "x86_64" {
        return;
    }
    let fake = FakeGithub::start();
    good(&fake);
    let tree = tree();
    let path = no_qemu();
    vendor(&tree, &fake, path.path(), &["apply", "--no-smoke"])
        .output()
        .code(0);
    assert!(!tree.exists(".vendor/smoke/tool.json"));

    let out = vendor(&tree, &fake, path.path(), &["smoke"]).output();
    out.code(0)
        .stdout_has("tool 1.2.3 on linux/amd64")
        .stdout_has("passed  inspect bin/tool-amd64: ELF 64-bit")
        .stdout_has("skipped run     `bin/tool-arm64 --version`")
        .stdout_has("smoke: 1 item, 3 passed, 1 skipped, 0 failed");
    assert_eq!(record(&tree)["passed"], true);

    let doc = json(&vendor(&tree, &fake, path.path(), &["smoke", "--format", "json"]).output());
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["passed"], true);
    assert_eq!(doc["items"][0]["item"], "tool");

    vendor(
        &tree,
        &fake,
        path.path(),
        &["smoke", "--format", "markdown"],
    )
    .output()
    .code(0)
    .stdout_has("| passed | run | `bin/tool-amd64 --version` (native) |");
    vendor(&tree, &fake, path.path(), &["smoke", "--format", "github"])
        .output()
        .code(64);
    vendor(&tree, &fake, path.path(), &["smoke", "nosuch"])
        .output()
        .code(1)
        .stderr_has("no item `nosuch`");
}

#[test]
fn smoke_on_a_tampered_install_fails_and_on_a_missing_one_says_so() {
    if std::env::consts::ARCH != "x86_64" {
        return;
    }
    let fake = FakeGithub::start();
    good(&fake);
    let tree = tree();
    let path = no_qemu();
    vendor(&tree, &fake, path.path(), &["apply"])
        .output()
        .code(0);
    tree.write("bin/tool-amd64", say("amd64", "tool version 6.6.6\n"));
    vendor(&tree, &fake, path.path(), &["smoke"])
        .output()
        .code(1)
        .stdout_has("| tool version 6.6.6");
    tree.remove("bin/tool-amd64");
    vendor(&tree, &fake, path.path(), &["smoke", "tool"])
        .output()
        .code(1)
        .stdout_has("not installed");
}

#[test]
fn commit_message_quotes_the_smoke_evidence() {
    if std::env::consts::ARCH != "x86_64" {
        return;
    }
    let fake = FakeGithub::start();
    good(&fake);
    let tree = tree();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(tree.root())
            .args([
                "-c",
                "user.email=t@t",
                "-c",
                "user.name=t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    tree.write(".gitignore", ".vendor/\nbin/\n");
    git(&["add", "-A"]);
    git(&["commit", "-qm", "base"]);
    // git, but no emulator.
    let path = no_qemu();
    let real_git = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let real_git = String::from_utf8(real_git.stdout).unwrap();
    std::os::unix::fs::symlink(real_git.trim(), path.path().join("git")).unwrap();
    vendor(&tree, &fake, path.path(), &["apply"])
        .output()
        .code(0);
    let out = vendor(&tree, &fake, path.path(), &["diff", "--format", "commit"]).output();
    out.code(0)
        .stdout_has("Smoke evidence (.vendor/smoke/tool.json):")
        .stdout_has("tool 1.2.3 on linux/amd64:")
        .stdout_has("- passed run: `bin/tool-amd64 --version` (native): exit 0, output matches")
        .stdout_has("- skipped run: `bin/tool-arm64 --version`");
}

#[test]
fn sigterm_during_a_smoke_command_kills_it_and_installs_nothing() {
    // The smoke command hangs (a script that records its pid, then waits);
    // SIGTERM to vendor must kill it, leave the tree unchanged and exit 143.
    let fake = FakeGithub::start();
    let scratch = tempfile::tempdir().unwrap();
    let pid_file = scratch.path().join("pid");
    let sleep = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v sleep"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let script = format!(
        "#!/bin/sh\necho $$ > {}\nexec {} 120\n",
        pid_file.display(),
        sleep.trim()
    );
    fake.release(
        REPO,
        FakeRelease::new("v1.2.3").asset(
            "tool_v1.2.3_linux_amd64.tar.gz",
            tar_gz(&[("tool", script.as_bytes(), 0o755)]),
        ),
    );
    fake.tag(REPO, "v1.2.3", &"a".repeat(40));
    let tree = Tree::new();
    tree.write(
        "vendor.yaml",
        MANIFEST
            .replace("[linux/amd64, linux/arm64]", "[linux/amd64]")
            .replace(
                "      inspect:\n        format: elf\n        static: true\n",
                "",
            ),
    );
    let before = tree.hashes();
    let path = no_qemu();
    let mut child = vendor(&tree, &fake, path.path(), &["apply"])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .filter(|p| p.ends_with('\n'))
        {
            break pid.trim().to_owned();
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "vendor ended before the smoke ran"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the smoke command never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("vendor did not stop on SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = Output::from_process(&["apply".into()], &child.wait_with_output().unwrap());
    out.code(143).stderr_mentions("interrupted by SIGTERM");
    // The smoke command is gone (give the kernel a moment to reap it).
    let gone = (0..200).any(|_| {
        let alive = Command::new("kill")
            .args(["-0", &pid])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if alive {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        !alive
    });
    assert!(gone, "the smoke command {pid} outlived vendor");
    tree.assert_unchanged(&before);
    assert!(!tree.exists("bin/tool-amd64"));
}
