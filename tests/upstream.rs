//! `vendor check --upstream` against the fake GitHub: a tree is applied,
//! then upstream changes under it (a moved tag, a replaced or deleted
//! asset, a deleted release, a changed plain-URL file) and the check must
//! report each as `upstream-changed` with exit 2, and nothing else.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

use build::{sha256_hex, tar_gz};
use fake_github::{FakeAsset, FakeGithub, FakeRelease};
use serde_json::Value as Json;
use support::Tree;
use support::tree::Run;

const TOOL: &str = "acme/tool";
const FIRMWARE: &str = "acme/firmware";

fn commit(n: u8) -> String {
    format!("{n:02x}").repeat(20)
}

fn tool_archive(arch: &str, build: &str) -> Vec<u8> {
    let script = format!("#!/bin/sh\necho tool 1.2.3 {arch} {build}\n");
    tar_gz(&[("tool", script.as_bytes(), 0o755)])
}

fn tool_release(build: &str, digests: bool) -> FakeRelease {
    ["amd64", "arm64"]
        .iter()
        .fold(FakeRelease::new("v1.2.3"), |r, arch| {
            let asset = FakeAsset::new(
                &format!("tool_v1.2.3_linux_{arch}.tar.gz"),
                tool_archive(arch, build),
            );
            r.with_asset(if digests {
                asset
            } else {
                asset.without_digest()
            })
        })
}

/// A tree with three items (a GitHub release, files at a tag, a plain
/// URL), applied against a fresh fake upstream.
struct Setup {
    fake: FakeGithub,
    tree: Tree,
}

impl Setup {
    fn new(digests: bool) -> Setup {
        let fake = FakeGithub::start();
        fake.release(TOOL, tool_release("a", digests));
        fake.tag(TOOL, "v1.2.3", &commit(1));
        fake.tag(FIRMWARE, "1.0", &commit(2));
        fake.raw_file(FIRMWARE, &commit(2), "boot/blob.bin", &b"blob at 1.0\n"[..]);
        let data = fake.file("/files/data-7.bin", &b"data v7\n"[..]);
        let checksum = if digests {
            "github-digest"
        } else {
            "first-use"
        };
        let tree = Tree::new();
        tree.write(
            "vendor.yaml",
            format!(
                "version: 1\nitems:\n  tool:\n    version: 1.2.3\n    source:\n      type: github-release\n      \
                 repo: {TOOL}\n      tag: v{{version}}\n    platforms: [linux/amd64, linux/arm64]\n    assets:\n      \
                 - name: tool_{{tag}}_{{os}}_{{arch}}.tar.gz\n        checksum: {checksum}\n        \
                 extract:\n          member: tool\n        install: bin/tool-{{arch}}\n        mode: \"0755\"\n  \
                 firmware:\n    version: \"1.0\"\n    source:\n      type: github-files\n      repo: {FIRMWARE}\n    \
                 assets:\n      - name: boot/blob.bin\n        checksum: first-use\n        install: fw/blob.bin\n  \
                 data:\n    version: \"7\"\n    source:\n      type: url\n    assets:\n      \
                 - url: {}/files/data-{{version}}.bin\n        checksum: first-use\n        install: data/data.bin\n",
                fake.url()
            ),
        );
        assert!(data.ends_with("/files/data-7.bin"));
        let setup = Setup { fake, tree };
        setup.vendor(&["apply"]).output().code(0);
        setup
    }

    fn vendor(&self, args: &[&str]) -> Run<'_> {
        self.tree
            .vendor(args)
            .env("GITHUB_API_URL", self.fake.api_url())
    }

    /// `check --upstream --format json`, expecting `code`; the findings.
    fn findings(&self, code: i32) -> Vec<Json> {
        let out = self
            .vendor(&["check", "--upstream", "--format", "json"])
            .output();
        out.code(code);
        let doc: Json = serde_json::from_str(&out.stdout).unwrap();
        doc["findings"].as_array().unwrap().clone()
    }
}

/// The `(item, change)` pairs of `findings`, all of kind upstream-changed.
fn changes(findings: &[Json]) -> Vec<(String, String)> {
    findings
        .iter()
        .map(|f| {
            assert_eq!(f["kind"], "upstream-changed", "{f}");
            (
                f["item"].as_str().unwrap().to_owned(),
                f["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(item: &str, change: &str) -> (String, String) {
    (item.to_owned(), change.to_owned())
}

#[test]
fn unchanged_upstream_passes_without_downloading_digested_assets() {
    let s = Setup::new(true);
    s.fake.clear_requests();
    let out = s.vendor(&["check", "--upstream"]).output();
    out.code(0).stdout_has("check: 3 items in sync");
    let downloads: Vec<String> = s
        .fake
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.contains("/releases/download/"))
        .collect();
    assert!(downloads.is_empty(), "downloaded {downloads:?}");
    // The URL item has no metadata: its file is downloaded and hashed.
    assert!(
        s.fake
            .requests()
            .iter()
            .any(|r| r.path == "/files/data-7.bin")
    );
}

#[test]
fn offline_check_does_not_ask_upstream() {
    let s = Setup::new(true);
    s.fake.move_tag(TOOL, "v1.2.3", &commit(9));
    s.vendor(&["check"]).output().code(0);
    s.vendor(&["--offline", "check", "--upstream"])
        .output()
        .code(64)
        .stderr_has("--offline");
}

#[test]
fn moved_tag_is_a_retag() {
    let s = Setup::new(true);
    s.fake.move_tag(TOOL, "v1.2.3", &commit(9));
    let findings = s.findings(2);
    assert_eq!(changes(&findings), [pair("tool", "retagged")]);
    assert_eq!(findings[0]["found"], format!("commit {}", commit(9)));
    assert_eq!(findings[0]["expected"], format!("commit {}", commit(1)));
    s.vendor(&["check", "--upstream"])
        .output()
        .code(2)
        .stdout_has("upstream-changed tool: v1.2.3 of acme/tool was re-tagged");
}

#[test]
fn moved_ref_of_repository_files_is_a_retag() {
    let s = Setup::new(true);
    s.fake.move_tag(FIRMWARE, "1.0", &commit(8));
    assert_eq!(changes(&s.findings(2)), [pair("firmware", "retagged")]);
}

#[test]
fn replaced_asset_is_caught_by_its_digest() {
    let s = Setup::new(true);
    s.fake.release(TOOL, tool_release("b", true));
    let findings = s.findings(2);
    assert_eq!(
        changes(&findings),
        [pair("tool", "asset-changed"), pair("tool", "asset-changed")]
    );
    let new = sha256_hex(&tool_archive("amd64", "b"));
    assert_eq!(findings[0]["found"], format!("sha256 {new}"));
    // GitHub annotations point at the item in vendor.yaml.
    let out = s
        .vendor(&["check", "--upstream", "--format", "github"])
        .output();
    out.code(2)
        .stdout_has("/vendor.yaml,line=3,title=vendor upstream-changed::tool: tool_v1.2.3_linux_amd64.tar.gz (tag v1.2.3) changed under the same tag");
}

#[test]
fn replaced_asset_without_digest_is_downloaded_and_hashed() {
    let s = Setup::new(false);
    // Same sizes (the build letter is one byte either way), other bytes.
    s.fake.release(TOOL, tool_release("b", false));
    assert_eq!(
        tool_archive("amd64", "a").len(),
        tool_archive("amd64", "b").len()
    );
    let findings = s.findings(2);
    assert_eq!(
        changes(&findings),
        [pair("tool", "asset-changed"), pair("tool", "asset-changed")]
    );
    assert!(findings[0]["found"].as_str().unwrap().starts_with(&format!(
        "sha256 {}",
        sha256_hex(&tool_archive("amd64", "b"))
    )));
}

#[test]
fn removed_asset_and_removed_release_are_reported() {
    let s = Setup::new(true);
    let amd64 = tool_release("a", true).assets.remove(0);
    s.fake
        .release(TOOL, FakeRelease::new("v1.2.3").with_asset(amd64));
    let findings = s.findings(2);
    assert_eq!(changes(&findings), [pair("tool", "asset-missing")]);
    assert_eq!(findings[0]["subject"], "tool_v1.2.3_linux_arm64.tar.gz");

    s.fake.delete_release(TOOL, "v1.2.3");
    let findings = s.findings(2);
    assert_eq!(changes(&findings), [pair("tool", "release-missing")]);
}

#[test]
fn changed_and_missing_plain_url_files_are_reported() {
    let s = Setup::new(true);
    s.fake.file("/files/data-7.bin", &b"data v7, rebuilt\n"[..]);
    assert_eq!(changes(&s.findings(2)), [pair("data", "asset-changed")]);
    s.fake.delete_file("/files/data-7.bin");
    assert_eq!(changes(&s.findings(2)), [pair("data", "asset-missing")]);
}

#[test]
fn only_the_named_items_are_rechecked() {
    let s = Setup::new(true);
    s.fake.move_tag(TOOL, "v1.2.3", &commit(9));
    s.vendor(&["check", "--upstream", "firmware", "data"])
        .output()
        .code(0);
    s.vendor(&["check", "--upstream", "tool"]).output().code(2);
}
