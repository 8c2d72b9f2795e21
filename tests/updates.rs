//! End-to-end tests of finding and taking new upstream versions:
//! `vendor outdated`, `vendor bump` and `vendor update` (DESIGN §4), the
//! built binary on temporary copies of the repository's example tree,
//! against the fake GitHub of `support/fake_github.rs` on 127.0.0.1.
//!
//! Releases are built at test time from tiny real assets (traefik
//! tarballs with an upstream-style checksum file, k3s bare binaries with
//! `sha256sum-<arch>.txt`, raspberrypi/firmware raw files at a tag), so a
//! bump's upstream verification and `--apply` run for real.
//!
//! What is checked: which versions count (drafts never, pre-releases only
//! when the item asks, constraints, build metadata, date-like tags,
//! pagination), the exit codes (2 when updates exist), the output formats,
//! that a bump changes exactly the version's bytes in `vendor.yaml` and
//! nothing when a check fails, offline rollbacks from the cache, and that
//! `update` takes one item per change unless `--all`.
//!
//! Snapshots live under `tests/snapshots/updates__*.snap` (the fake
//! server's port is replaced by `[GITHUB]`).
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use build::{sha256sums, tar_gz};
use fake_github::{FakeAsset, FakeGithub, FakeRelease, sha256_hex};
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use support::tree::Run;
use support::{LOCK, MAKEFILE, MANIFEST, Output, Tree, WORKFLOW};

const TRAEFIK_REPO: &str = "traefik/traefik";
const K3S_REPO: &str = "k3s-io/k3s";
const FIRMWARE_REPO: &str = "raspberrypi/firmware";

const ARCHES: [&str; 2] = ["amd64", "arm64"];
const TRAEFIK_DIST: &str = "examples/powernode/agent/dist";
const K3S_PIN_FILE: &str = "examples/powernode/modules/powernode-k3s-binary/manifest.yaml";
const FIRMWARE_PIN_FILE: &str =
    "examples/powernode/templates/example-modules/rpi4-firmware/manifest.yaml";
const FIRMWARE_FILES: [&str; 4] = [
    "boot/start4.elf",
    "boot/fixup4.dat",
    "boot/bcm2711-rpi-4-b.dtb",
    "boot/overlays/vc4-kms-v3d-pi4.dtbo",
];

fn traefik_install(arch: &str) -> String {
    format!("{TRAEFIK_DIST}/reverse-proxy-traefik-linux-{arch}")
}

/// The commit a tag of the fake upstream points to.
fn commit_of(tag: &str) -> String {
    sha256_hex(format!("commit for {tag}").as_bytes())[..40].to_owned()
}

/// One traefik release: a tarball per arch holding `traefik` (a static
/// binary, the `say` fixture, answering `version`), and the release's checksum file.
struct Traefik {
    version: String,
    binaries: BTreeMap<&'static str, Vec<u8>>,
    archives: BTreeMap<&'static str, Vec<u8>>,
}

impl Traefik {
    fn new(version: &str) -> Traefik {
        let mut binaries = BTreeMap::new();
        let mut archives = BTreeMap::new();
        for arch in ARCHES {
            let binary = build::say(arch, &format!("Version:      {version}\n"));
            let archive = tar_gz(&[
                ("traefik", &binary, 0o755),
                ("LICENSE.md", b"The MIT License (MIT)\n", 0o644),
            ]);
            binaries.insert(arch, binary);
            archives.insert(arch, archive);
        }
        Traefik {
            version: version.to_owned(),
            binaries,
            archives,
        }
    }

    fn tag(&self) -> String {
        format!("v{}", self.version)
    }

    fn archive_name(&self, arch: &str) -> String {
        format!("traefik_v{}_linux_{arch}.tar.gz", self.version)
    }

    fn checksums_name(&self) -> String {
        format!("traefik_v{}_checksums.txt", self.version)
    }

    /// The archives of `arches` and the checksum file covering them.
    fn assets_for(&self, arches: &[&str]) -> Vec<FakeAsset> {
        let names: Vec<String> = arches.iter().map(|a| self.archive_name(a)).collect();
        let listed: Vec<(&str, &[u8])> = names
            .iter()
            .zip(arches)
            .map(|(n, a)| (n.as_str(), self.archives[a].as_slice()))
            .collect();
        let mut assets: Vec<FakeAsset> = listed
            .iter()
            .map(|(n, bytes)| FakeAsset::new(n, bytes.to_vec()))
            .collect();
        assets.push(FakeAsset::new(&self.checksums_name(), sha256sums(&listed)));
        assets
    }

    fn release(&self) -> FakeRelease {
        self.release_with(self.assets_for(&ARCHES))
    }

    fn release_with(&self, assets: Vec<FakeAsset>) -> FakeRelease {
        assets
            .into_iter()
            .fold(FakeRelease::new(&self.tag()), FakeRelease::with_asset)
    }
}

/// One k3s release: bare binaries `k3s` and `k3s-arm64`, and one
/// `sha256sum-<arch>.txt` per arch.
fn k3s_release(version: &str) -> FakeRelease {
    let mut release = FakeRelease::new(&format!("v{version}"));
    for arch in ARCHES {
        let name = if arch == "amd64" { "k3s" } else { "k3s-arm64" };
        let bin = build::say(arch, &format!("k3s version v{version} (a1b2c3d4)\n"));
        let sums = sha256sums(&[(name, &bin)]);
        release = release
            .asset(name, bin)
            .asset(&format!("sha256sum-{arch}.txt"), sums);
    }
    release
}

/// The fake GitHub and what it serves.
struct Upstream {
    fake: FakeGithub,
}

impl Upstream {
    /// An empty fake GitHub.
    fn new() -> Upstream {
        Upstream {
            fake: FakeGithub::start(),
        }
    }

    /// The example's versions: traefik 3.3.4, k3s 1.30.4+k3s1, firmware
    /// 1.20240306.
    fn current() -> Upstream {
        let up = Upstream::new();
        up.traefik("3.3.4");
        up.k3s("1.30.4+k3s1");
        up.firmware("1.20240306");
        up
    }

    /// [`Upstream::current`] plus traefik 3.3.5 and k3s 1.30.5+k3s1.
    fn with_next() -> Upstream {
        let up = Upstream::current();
        up.traefik("3.3.5");
        up.k3s("1.30.5+k3s1");
        up
    }

    /// Publishes traefik `version` with every asset.
    fn traefik(&self, version: &str) {
        let t = Traefik::new(version);
        self.traefik_release(&t.tag(), t.release());
    }

    /// Publishes `release` (and its tag) in traefik's repository.
    fn traefik_release(&self, tag: &str, release: FakeRelease) {
        self.fake.release(TRAEFIK_REPO, release);
        self.fake.tag(TRAEFIK_REPO, tag, &commit_of(tag));
    }

    /// A release whose assets are listed by name but hold nothing:
    /// enough for `outdated`, which only lists (and checks every
    /// platform's asset is there).
    fn bare_release(&self, repo: &str, release: FakeRelease) {
        let tag = release.tag.clone();
        let names: Vec<String> = match repo {
            TRAEFIK_REPO => ARCHES
                .iter()
                .map(|a| format!("traefik_{tag}_linux_{a}.tar.gz"))
                .chain([format!("traefik_{tag}_checksums.txt")])
                .collect(),
            K3S_REPO => [
                "k3s",
                "k3s-arm64",
                "sha256sum-amd64.txt",
                "sha256sum-arm64.txt",
            ]
            .map(String::from)
            .to_vec(),
            _ => Vec::new(),
        };
        let names = if release.assets.is_empty() {
            names
        } else {
            Vec::new()
        };
        let release = names
            .iter()
            .fold(release, |r, n| r.asset(n, b"listed only".to_vec()));
        self.fake.release(repo, release);
        self.fake.tag(repo, &tag, &commit_of(&tag));
    }

    fn k3s(&self, version: &str) {
        let release = k3s_release(version);
        let tag = release.tag.clone();
        self.fake.release(K3S_REPO, release);
        self.fake.tag(K3S_REPO, &tag, &commit_of(&tag));
    }

    /// The firmware's boot files at `tag` (a tag, no release).
    fn firmware(&self, tag: &str) {
        let commit = commit_of(tag);
        self.fake.tag(FIRMWARE_REPO, tag, &commit);
        for path in FIRMWARE_FILES {
            self.fake
                .raw_file(FIRMWARE_REPO, &commit, path, format!("{path} at {tag}\n"));
        }
    }

    /// `text` with the fake server's address replaced by `[GITHUB]`.
    fn normalize(&self, tree: &Tree, text: &str) -> String {
        tree.normalize(text).replace(&self.fake.url(), "[GITHUB]")
    }

    /// Request paths (with query) so far, for failure messages.
    fn paths(&self) -> Vec<String> {
        self.fake
            .requests()
            .into_iter()
            .map(|r| match r.query {
                Some(q) => format!("{}?{q}", r.path),
                None => r.path,
            })
            .collect()
    }
}

/// `vendor -C TREE ARGS` against the fake GitHub.
fn vendor<'t>(tree: &'t Tree, up: &Upstream, args: &[&str]) -> Run<'t> {
    tree.vendor(args).env("GITHUB_API_URL", up.fake.api_url())
}

fn run(tree: &Tree, up: &Upstream, args: &[&str]) -> Output {
    vendor(tree, up, args).output()
}

// ---------------------------------------------------------------------------
// Tree helpers
// ---------------------------------------------------------------------------

/// The newest GA kernel of the example's newest snapshot.
const NEWEST_GA_KERNEL: &str = "6.8.0-51-generic";

/// A copy of the example with its APT items at the newest its snapshot
/// mirror has (the latest snapshot and its newest GA kernel), so that only
/// the GitHub items can be outdated.
fn example_current() -> Tree {
    let tree = Tree::example();
    tree.run(&["bump", "dracut-apt-snapshot", "latest"]).code(0);
    tree.run(&["bump", "kernel", NEWEST_GA_KERNEL]).code(0);
    tree.run(&["apply", "dracut-apt-snapshot", "kernel"])
        .code(0);
    tree
}

/// [`example_current`] with every item applied at its current version.
fn applied(up: &Upstream) -> Tree {
    let tree = example_current();
    run(&tree, up, &["apply"]).code(0);
    tree
}

/// A tree whose items have no upstream to ask: a `manual` kernel pin, and
/// an APT snapshot given by its URL alone (not verified).
fn manual_tree() -> Tree {
    let tree = Tree::new();
    tree.write(
        MANIFEST,
        format!(
            "version: 1
items:
  dracut-apt-snapshot:
    version: 20240301T000000Z
    source:
      type: apt-snapshot
      url: https://apt-snapshot.powernode.internal/ubuntu
    versioning: date
    pins:
      - {{file: {WORKFLOW}, yaml: env.APT_SNAPSHOT}}
  kernel:
    version: 6.8.0-45-generic
    source: {{type: manual}}
    versioning: loose
    pins:
      - {{file: {WORKFLOW}, yaml: env.KERNEL_VERSION}}
    policy: {{sign_off: release-engineering}}
"
        ),
    );
    tree.write(
        WORKFLOW,
        "env:\n  APT_SNAPSHOT: '20240301T000000Z'\n  KERNEL_VERSION: \"6.8.0-45-generic\"\n",
    );
    tree
}

fn lock_yaml(tree: &Tree) -> Yaml {
    serde_yaml::from_str(&tree.read(LOCK)).expect("the lock parses as YAML")
}

fn manifest_yaml(tree: &Tree) -> Yaml {
    serde_yaml::from_str(&tree.read(MANIFEST)).expect("the manifest parses as YAML")
}

/// The wanted version of `item` in the tree's manifest.
fn wanted(tree: &Tree, item: &str) -> String {
    manifest_yaml(tree)["items"][item]["version"]
        .as_str()
        .unwrap_or_else(|| panic!("items.{item}.version is not a string"))
        .to_owned()
}

/// sha256 of a file by the system's `sha256sum`.
fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success(), "sha256sum {} failed", path.display());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// The lines of `new` that differ from `old` (same line count), as
/// `-N old` / `+N new` pairs: the changed region of a format-preserving
/// rewrite.
fn changed_lines(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    assert_eq!(a.len(), b.len(), "the rewrite added or removed lines");
    let mut out = String::new();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            out.push_str(&format!("-{} {x}\n+{} {y}\n", i + 1, i + 1));
        }
    }
    out
}

/// The example's manifest with the one `from` replaced by `to`.
#[track_caller]
fn manifest_with(original: &str, from: &str, to: &str) -> String {
    assert_eq!(original.matches(from).count(), 1, "{from:?} is not unique");
    original.replacen(from, to, 1)
}

/// Parses JSON output.
#[track_caller]
fn json(out: &Output) -> Json {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", out.streams()))
}

/// The row of `item` in `vendor outdated --format json` output.
#[track_caller]
fn row<'a>(doc: &'a Json, item: &str) -> &'a Json {
    doc["items"]
        .as_array()
        .expect("an `items` array")
        .iter()
        .find(|r| r["id"] == item)
        .unwrap_or_else(|| panic!("no row for {item} in {doc:#}"))
}

// ---------------------------------------------------------------------------
// 1. outdated
// ---------------------------------------------------------------------------

/// traefik's upstream as the brief describes it: releases 3.3.4, 3.3.5,
/// a pre-release 3.4.0-rc.1, 4.0.0 (outside `>=3.3, <4`) and a draft
/// 3.3.9 (never a candidate).
fn traefik_upstream() -> Upstream {
    let up = Upstream::new();
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v3.3.4"));
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v3.3.5"));
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v3.4.0-rc.1").prerelease());
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v4.0.0"));
    up.fake
        .release(TRAEFIK_REPO, FakeRelease::new("v3.3.9").draft());
    up
}

/// `vendor outdated --format json`, checking the exit code.
#[track_caller]
fn outdated_json(tree: &Tree, up: &Upstream, args: &[&str], code: i32) -> Json {
    let mut all = vec!["outdated", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(tree, up, &all);
    out.code(code);
    json(&out)
}

#[test]
fn outdated_finds_the_newest_allowed_release_and_exits_2() {
    let up = traefik_upstream();
    let tree = Tree::example();
    let before = tree.hashes();

    let out = run(&tree, &up, &["outdated", "traefik"]);
    out.code(2);
    assert_eq!(
        out.stdout,
        "ITEM     WANTED  ALLOWED  NEWEST  CONSTRAINT  STATUS\n\
         traefik  3.3.4   3.3.5    4.0.0   >=3.3, <4   update\n",
        "{}",
        out.streams()
    );

    let doc = outdated_json(&tree, &up, &["traefik"], 2);
    assert_eq!(doc["format_version"], 1, "{doc:#}");
    assert_eq!(doc["items"].as_array().unwrap().len(), 1, "{doc:#}");
    let t = row(&doc, "traefik");
    assert_eq!(t["wanted"], "3.3.4");
    assert_eq!(
        t["locked"],
        Json::Null,
        "the example's lock has no traefik yet"
    );
    assert_eq!(t["constraint"], ">=3.3, <4");
    // The draft 3.3.9 would be newer; the pre-release is not wanted.
    assert_eq!(t["newest_allowed"], "3.3.5");
    assert_eq!(t["newest"], "4.0.0");
    assert_eq!(t["status"], "update");

    // Listing releases is all it does: nothing written, nothing resolved.
    tree.assert_unchanged(&before);
    assert!(
        up.paths()
            .iter()
            .all(|p| p.starts_with("/api/v3/repos/traefik/traefik/releases?")),
        "{:?}",
        up.paths()
    );
}

#[test]
fn outdated_reports_the_locked_version() {
    let up = Upstream::with_next();
    let tree = applied(&up);
    let doc = outdated_json(&tree, &up, &["traefik", "k3s"], 2);
    assert_eq!(row(&doc, "traefik")["locked"], "3.3.4", "{doc:#}");
    assert_eq!(row(&doc, "k3s")["locked"], "1.30.4+k3s1", "{doc:#}");
}

#[test]
fn prereleases_are_candidates_only_when_the_item_asks() {
    let up = traefik_upstream();
    let tree = Tree::example();
    let newest = |tree: &Tree| {
        let doc = outdated_json(tree, &up, &["traefik"], 2);
        let t = row(&doc, "traefik");
        (
            t["newest_allowed"].as_str().unwrap().to_owned(),
            t["newest"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(newest(&tree), ("3.3.5".into(), "4.0.0".into()));

    tree.replace_once(
        MANIFEST,
        "    constraint: \">=3.3, <4\"\n",
        "    constraint: \">=3.3, <4\"\n    prereleases: true\n",
    );
    // The rc is a candidate now, and inside `>=3.3, <4`.
    assert_eq!(newest(&tree), ("3.4.0-rc.1".into(), "4.0.0".into()));

    // `<4` excludes every 4.x, its pre-releases too (a partial operand
    // stands for every version it prefixes), though 4.0.0-rc.1 < 4.0.0.
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v4.0.0-rc.1").prerelease());
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v4.1.0-rc.1").prerelease());
    assert_eq!(newest(&tree), ("3.4.0-rc.1".into(), "4.1.0-rc.1".into()));

    // A pre-release version GitHub does not flag, and a flagged release
    // whose version looks final: candidates now...
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v3.4.0-rc.2"));
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v3.3.7").prerelease());
    assert_eq!(newest(&tree), ("3.4.0-rc.2".into(), "4.1.0-rc.1".into()));
    // ...and with a constraint ending below the 3.4 pre-releases, the
    // flagged 3.3.7 is the newest allowed.
    tree.replace_once(
        MANIFEST,
        "constraint: \">=3.3, <4\"",
        "constraint: \"~3.3\"",
    );
    assert_eq!(newest(&tree), ("3.3.7".into(), "4.1.0-rc.1".into()));

    // Without `prereleases`, each marker alone keeps a release out.
    tree.replace_once(MANIFEST, "    prereleases: true\n", "");
    assert_eq!(newest(&tree), ("3.3.5".into(), "4.0.0".into()));
}

#[test]
fn held_by_constraint_and_up_to_date_exit_0() {
    let up = traefik_upstream();
    let tree = Tree::example();
    // At 3.3.5 only 4.0.0 is newer, and the constraint holds it back.
    tree.replace_once(MANIFEST, "version: 3.3.4\n", "version: 3.3.5\n");
    let out = run(&tree, &up, &["outdated", "traefik"]);
    out.code(0).stdout_has("held by constraint");
    let doc = outdated_json(&tree, &up, &["traefik"], 0);
    let t = row(&doc, "traefik");
    assert_eq!(t["status"], "held");
    assert_eq!(t["newest_allowed"], "3.3.5");
    assert_eq!(t["newest"], "4.0.0");

    // At 4.0.0 (wanted outside its own constraint) nothing is newer.
    tree.replace_once(MANIFEST, "version: 3.3.5\n", "version: 4.0.0\n");
    let doc = outdated_json(&tree, &up, &["traefik"], 0);
    assert_eq!(row(&doc, "traefik")["status"], "up-to-date", "{doc:#}");
}

#[test]
fn everything_up_to_date_exits_0() {
    let up = Upstream::current();
    // Other tags that are not versions of the template are ignored.
    up.fake.tag(FIRMWARE_REPO, "stable", &commit_of("stable"));
    up.fake.tag(TRAEFIK_REPO, "latest", &commit_of("latest"));
    let tree = example_current();
    let out = run(&tree, &up, &["outdated"]);
    out.code(0);
    insta::assert_snapshot!("outdated_up_to_date", out.stdout);
    let doc = outdated_json(&tree, &up, &[], 0);
    let ids: Vec<&str> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "traefik",
            "rpi4-firmware",
            "dracut-apt-snapshot",
            "kernel",
            "k3s"
        ],
        "rows in manifest order"
    );
    for id in ["traefik", "rpi4-firmware", "dracut-apt-snapshot", "k3s"] {
        assert_eq!(row(&doc, id)["status"], "up-to-date", "{doc:#}");
    }
    // The HWE line is newer, but outside the kernel's constraint.
    assert_eq!(row(&doc, "kernel")["status"], "held", "{doc:#}");
}

#[test]
fn outdated_follows_release_pagination() {
    let up = Upstream::new();
    // Published first, so it lists last: on page 2 of 100.
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v3.3.5"));
    for n in 0..120 {
        up.bare_release(TRAEFIK_REPO, FakeRelease::new(&format!("v2.11.{n}")));
    }
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v3.3.4"));
    let tree = Tree::example();
    let doc = outdated_json(&tree, &up, &["traefik"], 2);
    let t = row(&doc, "traefik");
    assert_eq!(t["newest_allowed"], "3.3.5", "{t:#}");
    assert_eq!(t["status"], "update");
    let pages: Vec<String> = up
        .paths()
        .into_iter()
        .filter(|p| p.starts_with("/api/v3/repos/traefik/traefik/releases"))
        .collect();
    assert_eq!(pages.len(), 2, "one request per page: {pages:?}");
    assert!(pages[1].contains("page=2"), "{pages:?}");
}

#[test]
fn k3s_build_metadata_orders_releases_within_the_minor() {
    let up = Upstream::new();
    for tag in [
        "v1.30.4+k3s1",
        "v1.30.4+k3s2",
        "v1.30.5+k3s1",
        "v1.31.0+k3s1",
        "v1.29.9+k3s3",
    ] {
        up.bare_release(K3S_REPO, FakeRelease::new(tag));
    }
    let tree = Tree::example();
    let doc = outdated_json(&tree, &up, &["k3s"], 2);
    let k = row(&doc, "k3s");
    assert_eq!(k["constraint"], "~1.30");
    assert_eq!(k["newest_allowed"], "1.30.5+k3s1", "{k:#}");
    assert_eq!(k["newest"], "1.31.0+k3s1", "{k:#}");
    assert_eq!(k["status"], "update");
}

#[test]
fn k3s_rebuild_of_the_same_version_is_an_update() {
    let up = Upstream::new();
    for tag in ["v1.30.4+k3s1", "v1.30.4+k3s2", "v1.30.4+k3s10"] {
        up.bare_release(K3S_REPO, FakeRelease::new(tag));
    }
    let tree = Tree::example();
    let doc = outdated_json(&tree, &up, &["k3s"], 2);
    // Numerically: k3s10 after k3s2.
    assert_eq!(
        row(&doc, "k3s")["newest_allowed"],
        "1.30.4+k3s10",
        "{doc:#}"
    );
}

#[test]
fn firmware_date_like_tags_come_from_the_tags_api() {
    let up = Upstream::new();
    for tag in ["1.20240306", "1.20240424", "stable", "next"] {
        up.fake.tag(FIRMWARE_REPO, tag, &commit_of(tag));
    }
    // Not in the tags list: must not be looked at as releases.
    up.fake
        .release(FIRMWARE_REPO, FakeRelease::new("1.20991231"));
    up.fake.clear_requests();
    let tree = Tree::example();
    let doc = outdated_json(&tree, &up, &["rpi4-firmware"], 2);
    let r = row(&doc, "rpi4-firmware");
    assert_eq!(r["wanted"], "1.20240306");
    assert_eq!(r["newest_allowed"], "1.20240424", "{r:#}");
    assert_eq!(r["newest"], "1.20240424", "{r:#}");
    assert_eq!(r["constraint"], Json::Null);
    assert_eq!(r["status"], "update");
    assert_eq!(
        up.paths(),
        ["/api/v3/repos/raspberrypi/firmware/tags?per_page=100"],
        "the firmware is listed by its tags"
    );
}

#[test]
fn manual_and_apt_snapshot_items_are_reported_as_manual_without_requests() {
    let up = Upstream::new();
    let tree = manual_tree();
    run(&tree, &up, &["apply", "kernel"]).code(0);
    let out = run(&tree, &up, &["outdated", "kernel", "dracut-apt-snapshot"]);
    out.code(0);
    assert_eq!(
        out.stdout,
        "ITEM                 WANTED            ALLOWED  NEWEST  CONSTRAINT  STATUS\n\
         dracut-apt-snapshot  20240301T000000Z  -        -       -           manual\n\
         kernel               6.8.0-45-generic  -        -       -           manual\n",
        "{}",
        out.streams()
    );
    let doc = outdated_json(&tree, &up, &["kernel", "dracut-apt-snapshot"], 0);
    for id in ["kernel", "dracut-apt-snapshot"] {
        let r = row(&doc, id);
        assert_eq!(r["status"], "manual", "{doc:#}");
        assert_eq!(r["newest"], Json::Null, "{doc:#}");
        assert_eq!(r["newest_allowed"], Json::Null, "{doc:#}");
    }
    assert_eq!(row(&doc, "kernel")["locked"], "6.8.0-45-generic");
    assert_eq!(
        up.paths(),
        [] as [String; 0],
        "manual items need no upstream"
    );
}

#[test]
fn outdated_markdown_renders_a_table() {
    let up = traefik_upstream();
    up.bare_release(K3S_REPO, FakeRelease::new("v1.30.4+k3s1"));
    let tree = Tree::example();
    let out = run(
        &tree,
        &up,
        &[
            "outdated", "--format", "markdown", "traefik", "k3s", "kernel",
        ],
    );
    out.code(2);
    insta::assert_snapshot!("outdated_markdown", out.stdout);
    assert!(
        out.stdout
            .starts_with("| item | wanted | allowed | newest | constraint | status |\n|---|")
    );
    out.stdout_has("| `traefik` | 3.3.4 | 3.3.5 | 4.0.0 | >=3.3, <4 | update |\n");
}

#[test]
fn outdated_offline_fails_clearly_without_a_request() {
    let up = traefik_upstream();
    let tree = Tree::example();
    for args in [
        &["--offline", "outdated"][..],
        &["--frozen", "outdated", "traefik"],
    ] {
        let out = run(&tree, &up, args);
        out.code(1)
            .stderr_has("finding newer versions needs the network")
            .stderr_has("--offline");
        assert_eq!(out.stdout, "");
    }
    let out = vendor(&tree, &up, &["outdated"])
        .env("VENDOR_OFFLINE", "1")
        .output();
    out.code(1)
        .stderr_has("finding newer versions needs the network");
    assert_eq!(up.paths(), [] as [String; 0]);
}

#[test]
fn outdated_unknown_item_suggests_the_nearest() {
    let up = traefik_upstream();
    let tree = Tree::example();
    run(&tree, &up, &["outdated", "trafik"])
        .code(1)
        .stderr_has("no item `trafik` in the manifest")
        .stderr_has("did you mean `traefik`?");
    assert_eq!(up.paths(), [] as [String; 0]);
}

// ---------------------------------------------------------------------------
// 2. bump
// ---------------------------------------------------------------------------

/// Runs `vendor ARGS` expecting exit 1 and a tree (and manifest) unchanged
/// byte for byte.
#[track_caller]
fn fails_unchanged(tree: &Tree, up: &Upstream, args: &[&str]) -> Output {
    let manifest = tree.read_bytes(MANIFEST);
    let before = tree.hashes();
    let out = run(tree, up, args);
    out.code(1);
    assert!(
        tree.read_bytes(MANIFEST) == manifest,
        "vendor.yaml changed:\n{}",
        changed_lines(&String::from_utf8_lossy(&manifest), &tree.read(MANIFEST))
    );
    tree.assert_unchanged(&before);
    assert_eq!(out.stdout, "", "a failed bump printed a plan");
    out
}

#[test]
fn bump_rewrites_only_the_version_and_prints_the_plan() {
    let up = Upstream::with_next();
    let tree = Tree::example();
    let original = tree.read(MANIFEST);
    let before = tree.hashes();

    let out = run(&tree, &up, &["bump", "traefik", "3.3.5"]);
    out.code(0)
        .stderr_has("traefik: 3.3.4 → 3.3.5 in ")
        .stderr_has("vendor.yaml");
    let bumped = tree.read(MANIFEST);
    // Byte for byte the original with only those bytes changed: the
    // comments, the quoted constraint, the other items stay.
    assert_eq!(
        bumped,
        manifest_with(&original, "    version: 3.3.4\n", "    version: 3.3.5\n")
    );
    insta::assert_snapshot!("bump_traefik_manifest", changed_lines(&original, &bumped));
    let y = manifest_yaml(&tree);
    assert_eq!(y["items"]["traefik"]["version"].as_str(), Some("3.3.5"));
    assert_eq!(y["items"]["k3s"]["version"].as_str(), Some("1.30.4+k3s1"));

    // The plan for the bumped item: the Makefile's diff, the downloads.
    out.stdout_has(&format!(
        "  ~ rewrite {MAKEFILE}:64  make TRAEFIK_VERSION  \"v3.3.4\" → \"v3.3.5\""
    ))
    .stdout_has("\n-TRAEFIK_VERSION ?= v3.3.4\n+TRAEFIK_VERSION ?= v3.3.5\n")
    .stdout_has(&format!(
        "  ✓ resolved release v3.3.5 of traefik/traefik at {}",
        &commit_of("v3.3.5")[..12]
    ))
    .stdout_has("traefik_v3.3.5_linux_amd64.tar.gz (linux/amd64)")
    .stdout_has("traefik_v3.3.5_linux_arm64.tar.gz (linux/arm64)")
    .stdout_lacks("k3s");
    insta::assert_snapshot!("bump_traefik_plan", up.normalize(&tree, &out.stdout));

    // Only vendor.yaml changed: the plan is not applied.
    assert_eq!(
        tree.changed_since(&before),
        [format!("{MANIFEST} (modified)")]
    );
    // Verified before writing: the release and its checksum file, never
    // the archives themselves.
    let paths = up.paths();
    assert!(
        paths.contains(&"/api/v3/repos/traefik/traefik/releases/tags/v3.3.5".to_owned()),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.ends_with(".tar.gz")),
        "bump downloaded an archive: {paths:?}"
    );
}

#[test]
fn bump_to_a_missing_release_suggests_the_nearest_and_writes_nothing() {
    let up = Upstream::with_next();
    // A draft 3.3.9 is not a release anyone can bump to.
    let draft = Traefik::new("3.3.9");
    up.fake.release(TRAEFIK_REPO, draft.release().draft());
    let tree = Tree::example();
    let out = fails_unchanged(&tree, &up, &["bump", "traefik", "3.3.9"]);
    out.stderr_mentions("traefik 3.3.9 cannot be bumped to; vendor.yaml is unchanged")
        .stderr_mentions("traefik/traefik has no release tagged `v3.3.9`")
        // In the form the user types: a version, as given.
        .stderr_mentions("did you mean `3.3.5`?");
    assert!(
        !up.paths().iter().any(|p| p.starts_with("/dl/")),
        "{:?}",
        up.paths()
    );
}

#[test]
fn bump_to_a_release_missing_a_platform_asset_lists_what_upstream_has() {
    let up = Upstream::current();
    let t = Traefik::new("3.3.5");
    up.traefik_release(&t.tag(), t.release_with(t.assets_for(&["amd64"])));
    let tree = applied(&up);
    up.fake.clear_requests();
    let out = fails_unchanged(&tree, &up, &["bump", "traefik", "3.3.5"]);
    out.stderr_mentions("traefik 3.3.5 cannot be bumped to; vendor.yaml is unchanged")
        .stderr_mentions(
            "release `v3.3.5` of traefik/traefik has no asset `traefik_v3.3.5_linux_arm64.tar.gz`",
        )
        .stderr_mentions(
            "upstream has: traefik_v3.3.5_linux_amd64.tar.gz, traefik_v3.3.5_checksums.txt",
        );
    assert!(
        !up.paths().iter().any(|p| p.ends_with(".tar.gz")),
        "{:?}",
        up.paths()
    );
}

#[test]
fn bump_when_upstream_is_unreachable_writes_nothing() {
    let tree = Tree::example();
    let manifest = tree.read_bytes(MANIFEST);
    let before = tree.hashes();
    // The harness's default: GitHub at a closed loopback port.
    let out = tree.run(&["bump", "traefik", "3.3.5"]);
    out.code(1).stderr_has("vendor.yaml is unchanged");
    assert!(tree.read_bytes(MANIFEST) == manifest);
    tree.assert_unchanged(&before);
}

#[test]
fn bump_apply_installs_and_an_offline_bump_back_rolls_back_from_the_cache() {
    let up = Upstream::with_next();
    let old = Traefik::new("3.3.4");
    let new = Traefik::new("3.3.5");
    let tree = applied(&up);
    let applied_state = tree.hashes();
    let original = tree.read(MANIFEST);
    let makefile = tree.read(MAKEFILE);

    let out = run(&tree, &up, &["bump", "traefik", "3.3.5", "--apply"]);
    out.code(0)
        .stdout_has("Applied: 1 pin rewrite in 1 file, 2 files installed, 1 lock change.");
    assert_eq!(
        tree.read(MANIFEST),
        manifest_with(&original, "    version: 3.3.4\n", "    version: 3.3.5\n")
    );
    assert_eq!(
        tree.read(MAKEFILE),
        makefile.replacen("TRAEFIK_VERSION ?= v3.3.4", "TRAEFIK_VERSION ?= v3.3.5", 1),
        "only the pinned value may change"
    );
    let lock = lock_yaml(&tree);
    let t = &lock["items"]["traefik"];
    assert_eq!(t["version"].as_str(), Some("3.3.5"));
    assert_eq!(t["resolved"]["tag"].as_str(), Some("v3.3.5"));
    assert_eq!(
        t["resolved"]["commit"].as_str(),
        Some(commit_of("v3.3.5").as_str())
    );
    for arch in ARCHES {
        let path = tree.path(&traefik_install(arch));
        assert_eq!(sha256sum(&path), sha256_hex(&new.binaries[arch]), "{arch}");
    }
    let mut changed = tree.changed_since(&applied_state);
    changed.sort();
    assert_eq!(
        changed,
        [
            format!("{MAKEFILE} (modified)"),
            format!("{} (modified)", traefik_install("amd64")),
            format!("{} (modified)", traefik_install("arm64")),
            format!("{LOCK} (modified)"),
            format!("{MANIFEST} (modified)"),
        ]
    );
    run(&tree, &up, &["check", "--installed"]).code(0);

    // Rollback, offline: 3.3.4 was resolved and downloaded on this machine.
    up.fake.clear_requests();
    let out = run(&tree, &up, &["--offline", "bump", "traefik", "3.3.4"]);
    out.code(0)
        .stderr_has("traefik: 3.3.5 → 3.3.4")
        .stdout_has("\n-TRAEFIK_VERSION ?= v3.3.5\n+TRAEFIK_VERSION ?= v3.3.4\n");
    assert_eq!(tree.read(MANIFEST), original);
    run(&tree, &up, &["--offline", "apply"])
        .code(0)
        .stdout_has("Applied: 1 pin rewrite in 1 file, 2 files installed, 1 lock change.");
    assert_eq!(up.paths(), [] as [String; 0], "the rollback went online");
    for arch in ARCHES {
        let path = tree.path(&traefik_install(arch));
        assert_eq!(sha256sum(&path), sha256_hex(&old.binaries[arch]), "{arch}");
    }
    let rolled_back = tree.changed_since(&applied_state);
    assert!(
        rolled_back.is_empty(),
        "the rollback is not the state before the bump: {rolled_back:?}"
    );

    // And forward again in one step, still offline (3.3.5 is cached too).
    run(
        &tree,
        &up,
        &["--offline", "bump", "traefik", "3.3.5", "--apply"],
    )
    .code(0);
    assert_eq!(
        lock_yaml(&tree)["items"]["traefik"]["version"].as_str(),
        Some("3.3.5")
    );
    assert_eq!(
        up.paths(),
        [] as [String; 0],
        "the offline bump went online"
    );

    // A version never resolved here cannot be checked offline.
    let out = fails_unchanged(&tree, &up, &["--offline", "bump", "traefik", "3.3.6"]);
    out.stderr_mentions(
        "traefik 3.3.6 was never resolved on this machine, and --offline forbids checking upstream",
    );
    assert_eq!(up.paths(), [] as [String; 0]);
}

#[test]
fn offline_bump_in_a_fresh_cache_fails_clearly() {
    let up = Upstream::with_next();
    let tree = Tree::example();
    let out = fails_unchanged(&tree, &up, &["--offline", "bump", "traefik", "3.3.5"]);
    out.stderr_has("vendor::bump::offline")
        .stderr_mentions("traefik 3.3.5 was never resolved on this machine");
    let out = vendor(&tree, &up, &["bump", "rpi4-firmware", "1.20240424"])
        .env("VENDOR_OFFLINE", "1")
        .output();
    out.code(1)
        .stderr_mentions("rpi4-firmware 1.20240424 was never resolved on this machine");
    assert_eq!(up.paths(), [] as [String; 0]);
}

#[test]
fn bump_of_a_quoted_version_keeps_the_quotes_and_the_comment() {
    let up = Upstream::current();
    up.firmware("1.20240424");
    let tree = Tree::example();
    let original = tree.read(MANIFEST);
    let out = run(&tree, &up, &["bump", "rpi4-firmware", "1.20240424"]);
    out.code(0)
        .stderr_has("rpi4-firmware: 1.20240306 → 1.20240424")
        // The pin in the module manifest is quoted too, and stays so.
        .stdout_has("-  firmware_ref: \"1.20240306\"   # raspberrypi/firmware tag")
        .stdout_has("+  firmware_ref: \"1.20240424\"   # raspberrypi/firmware tag");
    let bumped = tree.read(MANIFEST);
    assert_eq!(
        bumped,
        manifest_with(
            &original,
            "    version: \"1.20240306\"        # quoted: keep it a string, not a number\n",
            "    version: \"1.20240424\"        # quoted: keep it a string, not a number\n",
        )
    );
    insta::assert_snapshot!("bump_firmware_manifest", changed_lines(&original, &bumped));
    assert_eq!(wanted(&tree, "rpi4-firmware"), "1.20240424");
    // The bump checked the tag and left the module manifest to apply.
    assert!(
        up.paths()
            .contains(&"/api/v3/repos/raspberrypi/firmware/commits/1.20240424".to_owned()),
        "{:?}",
        up.paths()
    );
    assert!(
        tree.read(FIRMWARE_PIN_FILE)
            .contains("firmware_ref: \"1.20240306\"")
    );
}

#[test]
fn bump_of_the_kernel_checks_its_snapshot_and_notes_the_sign_off() {
    let up = Upstream::new();
    let tree = Tree::example();
    let original = tree.read(MANIFEST);
    // The package is looked up in the pinned snapshot: never offline
    // unless it was before on this machine.
    let before = tree.hashes();
    run(
        &tree,
        &up,
        &["--offline", "bump", "kernel", "6.8.0-47-generic"],
    )
    .code(1)
    .stderr_has("kernel 6.8.0-47-generic was never resolved on this machine");
    tree.assert_unchanged(&before);
    let out = run(&tree, &up, &["bump", "kernel", "6.8.0-47-generic"]);
    out.code(0)
        .stderr_has("kernel: 6.8.0-45-generic → 6.8.0-47-generic")
        .stderr_has(
            "kernel requires sign-off by release-engineering; keep this bump in a change of its own",
        )
        .stdout_has("\n-      KERNEL_VERSION: \"6.8.0-45-generic\"\n+      KERNEL_VERSION: \"6.8.0-47-generic\"\n")
        .stdout_lacks("sign-off");
    assert_eq!(
        tree.read(MANIFEST),
        manifest_with(
            &original,
            "    version: 6.8.0-45-generic\n",
            "    version: 6.8.0-47-generic\n"
        )
    );
    assert!(
        tree.read(WORKFLOW)
            .contains("KERNEL_VERSION: \"6.8.0-45-generic\"")
    );
    assert_eq!(up.paths(), [] as [String; 0]);
}

#[test]
fn bump_of_an_unverified_apt_snapshot_checks_the_snapshot_service() {
    let up = Upstream::new();
    up.fake
        .file("/snapshot/ubuntu/20240401T000000Z/", "<html>index</html>");
    let mirrors = format!(
        "https://apt-snapshot.powernode.internal/={}/snapshot/",
        up.fake.url()
    );
    let tree = manual_tree();
    let original = tree.read(MANIFEST);
    let bump = |version: &str| {
        vendor(&tree, &up, &["bump", "dracut-apt-snapshot", version])
            .env("VENDOR_MIRRORS", &mirrors)
            .output()
    };
    let before = tree.hashes();
    bump("20240402T000000Z")
        .code(1)
        .stderr_mentions("the APT snapshot 20240402T000000Z does not exist");
    tree.assert_unchanged(&before);
    bump("20240401T000000Z").code(0);
    assert_eq!(
        tree.read(MANIFEST),
        manifest_with(
            &original,
            "    version: 20240301T000000Z\n",
            "    version: 20240401T000000Z\n"
        )
    );
}

#[test]
fn bump_to_the_wanted_version_changes_nothing() {
    let up = Upstream::current();
    let tree = Tree::example();
    let manifest = tree.read_bytes(MANIFEST);
    let id = tree.file_id(MANIFEST);
    let out = run(&tree, &up, &["bump", "traefik", "3.3.4"]);
    out.code(0).stderr_has("traefik is already at 3.3.4");
    assert!(tree.read_bytes(MANIFEST) == manifest);
    assert_eq!(tree.file_id(MANIFEST), id, "vendor.yaml was rewritten");
}

#[test]
fn bump_of_an_unknown_item_suggests_the_nearest() {
    let up = Upstream::with_next();
    let tree = Tree::example();
    let out = fails_unchanged(&tree, &up, &["bump", "treafik", "3.3.5"]);
    out.stderr_has("no item `treafik` in the manifest")
        .stderr_has("did you mean `traefik`?");
    assert_eq!(up.paths(), [] as [String; 0]);
}

#[test]
fn bump_refuses_a_version_that_would_change_its_yaml_type() {
    let up = Upstream::new();
    let tree = Tree::example();
    // `version: 6.9` would read as a float: refused, nothing written.
    let out = fails_unchanged(&tree, &up, &["bump", "kernel", "6.9"]);
    out.stderr_has("vendor::bump::unwritable")
        .stderr_mentions("quote the version in vendor.yaml");
    fails_unchanged(&tree, &up, &["bump", "kernel", "6.8.0-47-generic # evil"])
        .stderr_has("vendor::bump::unwritable");
}

#[test]
fn bump_usage_errors_exit_64() {
    let tree = Tree::example();
    let before = tree.hashes();
    tree.run(&["bump", "traefik"])
        .code(64)
        .stderr_has("<VERSION>");
    tree.assert_unchanged(&before);
}

// ---------------------------------------------------------------------------
// 3. update
// ---------------------------------------------------------------------------

/// The example applied at its versions; upstream then has traefik 3.3.5
/// and 4.0.0 (outside the constraint) and k3s 1.30.5+k3s1 and 1.31.0+k3s1
/// (outside `~1.30`): two items outdated.
fn two_outdated() -> (Upstream, Tree) {
    let up = Upstream::current();
    let tree = applied(&up);
    up.traefik("3.3.5");
    up.traefik("4.0.0");
    up.k3s("1.30.5+k3s1");
    up.k3s("1.31.0+k3s1");
    up.fake.clear_requests();
    (up, tree)
}

#[test]
fn update_bumps_only_the_first_outdated_item_and_names_the_others() {
    let (up, tree) = two_outdated();
    let original = tree.read(MANIFEST);
    let before = tree.hashes();
    let out = run(&tree, &up, &["update"]);
    out.code(0)
        .stderr_has("traefik: 3.3.4 → 3.3.5 in ")
        .stderr_has(
            "also outdated: k3s (one bump per change: run `vendor update ITEM` for each, or --all)",
        )
        .stdout_has("traefik 3.3.4 → 3.3.5 (github-release)")
        .stdout_has("\n-TRAEFIK_VERSION ?= v3.3.4\n+TRAEFIK_VERSION ?= v3.3.5\n")
        .stdout_has("Plan: 1 of 1 item to change")
        .stdout_lacks("k3s");
    // The newest *allowed* (3.3.5, not 4.0.0), written format-preservingly;
    // k3s untouched.
    assert_eq!(
        tree.read(MANIFEST),
        manifest_with(&original, "    version: 3.3.4\n", "    version: 3.3.5\n")
    );
    assert_eq!(
        tree.changed_since(&before),
        [format!("{MANIFEST} (modified)")]
    );

    // The next run takes the next one.
    let out = run(&tree, &up, &["update"]);
    out.code(0).stderr_has("k3s: 1.30.4+k3s1 → 1.30.5+k3s1");
    assert!(!out.stderr.contains("also outdated"), "{}", out.streams());
    assert_eq!(wanted(&tree, "k3s"), "1.30.5+k3s1");
    assert_eq!(wanted(&tree, "traefik"), "3.3.5");
}

#[test]
fn update_of_named_items_looks_only_at_those() {
    let (up, tree) = two_outdated();
    let out = run(&tree, &up, &["update", "k3s"]);
    out.code(0)
        .stderr_has("k3s: 1.30.4+k3s1 → 1.30.5+k3s1")
        .stdout_has("-  k3s_version: v1.30.4+k3s1\n+  k3s_version: v1.30.5+k3s1\n");
    assert!(!out.stderr.contains("also outdated"), "{}", out.streams());
    assert_eq!(wanted(&tree, "traefik"), "3.3.4");
    assert!(
        up.paths().iter().all(|p| !p.contains("traefik")),
        "{:?}",
        up.paths()
    );
}

#[test]
fn update_all_bumps_every_outdated_item() {
    let (up, tree) = two_outdated();
    let original = tree.read(MANIFEST);
    let before = tree.hashes();
    let out = run(&tree, &up, &["update", "--all"]);
    out.code(0)
        .stderr_has("traefik: 3.3.4 → 3.3.5")
        .stderr_has("k3s: 1.30.4+k3s1 → 1.30.5+k3s1")
        .stdout_has("\n-TRAEFIK_VERSION ?= v3.3.4\n+TRAEFIK_VERSION ?= v3.3.5\n")
        .stdout_has("-  k3s_version: v1.30.4+k3s1\n+  k3s_version: v1.30.5+k3s1\n")
        .stdout_has("Plan: 2 of 2 items to change");
    assert!(!out.stderr.contains("also outdated"), "{}", out.streams());
    let expected = manifest_with(&original, "    version: 3.3.4\n", "    version: 3.3.5\n");
    let expected = manifest_with(
        &expected,
        "    version: 1.30.4+k3s1\n",
        "    version: 1.30.5+k3s1\n",
    );
    assert_eq!(tree.read(MANIFEST), expected);
    assert_eq!(
        tree.changed_since(&before),
        [format!("{MANIFEST} (modified)")]
    );
}

#[test]
fn update_dry_run_writes_nothing_and_exits_2() {
    let (up, tree) = two_outdated();
    let before = tree.hashes();
    let out = run(&tree, &up, &["update", "--dry-run"]);
    out.code(2);
    assert_eq!(
        out.stdout,
        "would bump traefik 3.3.4 → 3.3.5\n",
        "{}",
        out.streams()
    );
    out.stderr_has("also outdated: k3s");
    tree.assert_unchanged(&before);

    let out = run(&tree, &up, &["update", "--dry-run", "--all"]);
    out.code(2);
    assert_eq!(
        out.stdout,
        "would bump traefik 3.3.4 → 3.3.5\nwould bump k3s 1.30.4+k3s1 → 1.30.5+k3s1\n",
        "{}",
        out.streams()
    );
    tree.assert_unchanged(&before);
    // Listing only: no release was resolved, nothing downloaded.
    assert!(
        up.paths()
            .iter()
            .all(|p| p.ends_with("/releases?per_page=100") || p.ends_with("/tags?per_page=100")),
        "{:?}",
        up.paths()
    );
}

#[test]
fn outdated_json_is_stable() {
    let (up, tree) = two_outdated();
    let out = run(&tree, &up, &["outdated", "--format", "json"]);
    out.code(2);
    insta::assert_snapshot!("outdated_json", out.stdout);
    assert_eq!(out.stderr, "", "JSON runs keep stderr quiet");
}

#[test]
fn update_with_nothing_outdated_says_so_and_exits_0() {
    let up = Upstream::current();
    // Newer, but outside the constraints: not for `update`.
    up.bare_release(TRAEFIK_REPO, FakeRelease::new("v4.0.0"));
    up.bare_release(K3S_REPO, FakeRelease::new("v1.31.0+k3s1"));
    let tree = applied(&up);
    let before = tree.hashes();
    for args in [
        &["update"][..],
        &["update", "--dry-run"],
        &["update", "--all"],
    ] {
        let out = run(&tree, &up, args);
        out.code(0);
        // The example's kernel and APT snapshot are checked against its
        // snapshot mirror too: nothing is left unchecked.
        assert_eq!(
            out.stdout,
            "Everything is up to date.\n",
            "{}",
            out.streams()
        );
    }
    tree.assert_unchanged(&before);
}

#[test]
fn update_apply_installs_the_one_bump() {
    let (up, tree) = two_outdated();
    let new = Traefik::new("3.3.5");
    let out = run(&tree, &up, &["update", "--apply"]);
    out.code(0)
        .stdout_has("Applied: 1 pin rewrite in 1 file, 2 files installed, 1 lock change.")
        .stderr_has("also outdated: k3s");
    let lock = lock_yaml(&tree);
    assert_eq!(lock["items"]["traefik"]["version"].as_str(), Some("3.3.5"));
    assert_eq!(
        lock["items"]["k3s"]["version"].as_str(),
        Some("1.30.4+k3s1")
    );
    assert!(tree.read(MAKEFILE).contains("TRAEFIK_VERSION ?= v3.3.5\n"));
    for arch in ARCHES {
        let path = tree.path(&traefik_install(arch));
        assert_eq!(sha256sum(&path), sha256_hex(&new.binaries[arch]), "{arch}");
    }
    run(&tree, &up, &["check", "--installed"]).code(0);
}

#[test]
fn update_all_apply_installs_every_bump() {
    let (up, tree) = two_outdated();
    let out = run(&tree, &up, &["update", "--all", "--apply"]);
    out.code(0)
        .stdout_has("Applied: 2 pin rewrites in 2 files, 4 files installed, 2 lock changes.");
    let lock = lock_yaml(&tree);
    assert_eq!(lock["items"]["traefik"]["version"].as_str(), Some("3.3.5"));
    assert_eq!(
        lock["items"]["k3s"]["version"].as_str(),
        Some("1.30.5+k3s1")
    );
    assert!(tree.read(MAKEFILE).contains("TRAEFIK_VERSION ?= v3.3.5\n"));
    assert!(
        tree.read(K3S_PIN_FILE)
            .contains("k3s_version: v1.30.5+k3s1")
    );
    run(&tree, &up, &["check", "--installed"]).code(0);
}

#[test]
fn update_all_writes_nothing_when_one_bump_cannot_be_verified() {
    let up = Upstream::current();
    let tree = applied(&up);
    up.traefik("3.3.5");
    // k3s 1.30.5+k3s1 lists every asset, but its arm64 checksum file
    // does not cover the binary: only verification finds out.
    let mut release = k3s_release("1.30.5+k3s1");
    release.assets.retain(|a| a.name != "sha256sum-arm64.txt");
    let release = release.asset(
        "sha256sum-arm64.txt",
        sha256sums(&[("k3s-other", b"other".as_slice())]),
    );
    up.bare_release(K3S_REPO, release);
    let out = fails_unchanged(&tree, &up, &["update", "--all"]);
    out.stderr_mentions("k3s 1.30.5+k3s1 cannot be bumped to; vendor.yaml is unchanged")
        .stderr_mentions("k3s-arm64");
}

// ---------------------------------------------------------------------------
// Bump forms, incomplete releases, one resolution per bump
// ---------------------------------------------------------------------------

#[test]
fn bump_takes_the_tag_form_and_writes_the_version() {
    let up = Upstream::with_next();
    let tree = Tree::example();
    let original = tree.read(MANIFEST);
    // The playbook's own form: NEW=v3.3.5.
    let out = run(&tree, &up, &["bump", "traefik", "v3.3.5"]);
    out.code(0)
        .stderr_has("`v3.3.5` is traefik's tag for version 3.3.5")
        .stderr_has("traefik: 3.3.4 → 3.3.5 in ");
    assert_eq!(
        tree.read(MANIFEST),
        manifest_with(&original, "    version: 3.3.4\n", "    version: 3.3.5\n")
    );
    assert!(
        !up.paths().iter().any(|p| p.contains("vv3.3.5")),
        "{:?}",
        up.paths()
    );
}

#[test]
fn bump_to_a_missing_tag_suggests_tags() {
    let up = Upstream::with_next();
    let tree = Tree::example();
    let out = fails_unchanged(&tree, &up, &["bump", "traefik", "v3.3.9"]);
    out.stderr_mentions("traefik/traefik has no release tagged `v3.3.9`")
        .stderr_mentions("did you mean `v3.3.5`?");
}

#[test]
fn bump_resolves_upstream_once() {
    let up = Upstream::with_next();
    let tree = Tree::example();
    up.fake.clear_requests();
    run(&tree, &up, &["bump", "traefik", "3.3.5"]).code(0);
    let paths = up.paths();
    let count = |suffix: &str| paths.iter().filter(|p| p.ends_with(suffix)).count();
    assert_eq!(
        count("/repos/traefik/traefik/releases/tags/v3.3.5"),
        1,
        "{paths:#?}"
    );
    assert_eq!(count("traefik_v3.3.5_checksums.txt"), 1, "{paths:#?}");
}

/// traefik 3.3.5 complete, 3.3.6 without its arm64 archive.
fn with_incomplete() -> (Upstream, Tree) {
    let up = Upstream::current();
    let tree = applied(&up);
    up.traefik("3.3.5");
    let t = Traefik::new("3.3.6");
    up.traefik_release(&t.tag(), t.release_with(t.assets_for(&["amd64"])));
    up.k3s("1.30.5+k3s1");
    up.fake.clear_requests();
    (up, tree)
}

#[test]
fn outdated_shows_an_incomplete_release_and_the_newest_complete_one() {
    let (up, tree) = with_incomplete();
    let doc = outdated_json(&tree, &up, &["traefik"], 2);
    let r = row(&doc, "traefik");
    assert_eq!(r["newest_allowed"], "3.3.5", "{doc:#}");
    assert_eq!(r["status"], "update", "{doc:#}");
    assert_eq!(
        r["incomplete"],
        serde_json::json!([{
            "version": "3.3.6",
            "tag": "v3.3.6",
            "missing": [{"platform": "linux/arm64", "asset": "traefik_v3.3.6_linux_arm64.tar.gz"}],
        }]),
        "{doc:#}"
    );
    let out = run(&tree, &up, &["outdated", "traefik"]);
    out.code(2).stdout_has(
        "traefik 3.3.6 is incomplete upstream: no asset for linux/arm64 (traefik_v3.3.6_linux_arm64.tar.gz)",
    );
    // Only the release list: completeness needs no other request.
    assert!(
        up.paths()
            .iter()
            .all(|p| p.contains("/releases?") || p.ends_with("/releases")),
        "{:?}",
        up.paths()
    );
}

#[test]
fn update_takes_the_newest_complete_release_and_says_what_it_skipped() {
    let (up, tree) = with_incomplete();
    let original = tree.read(MANIFEST);
    let out = run(&tree, &up, &["update", "traefik"]);
    out.code(0)
        .stderr_has(
            "traefik: skipped 3.3.6: no asset for linux/arm64 (traefik_v3.3.6_linux_arm64.tar.gz)",
        )
        .stderr_has("traefik: 3.3.4 → 3.3.5 in ");
    assert_eq!(
        tree.read(MANIFEST),
        manifest_with(&original, "    version: 3.3.4\n", "    version: 3.3.5\n")
    );
}

#[test]
fn update_all_skips_incomplete_releases_too() {
    let (up, tree) = with_incomplete();
    let out = run(&tree, &up, &["update", "--all"]);
    out.code(0)
        .stderr_has("traefik: skipped 3.3.6")
        .stderr_has("traefik: 3.3.4 → 3.3.5")
        .stderr_has("k3s: 1.30.4+k3s1 → 1.30.5+k3s1");
    assert_eq!(wanted(&tree, "traefik"), "3.3.5");
}

#[test]
fn only_an_incomplete_release_is_not_an_update() {
    let up = Upstream::current();
    let tree = applied(&up);
    let t = Traefik::new("3.3.5");
    up.traefik_release(&t.tag(), t.release_with(t.assets_for(&["amd64"])));
    let doc = outdated_json(&tree, &up, &["traefik"], 0);
    assert_eq!(row(&doc, "traefik")["status"], "incomplete", "{doc:#}");
    let before = tree.hashes();
    let out = run(&tree, &up, &["update", "traefik"]);
    out.code(0)
        .stderr_has("traefik: skipped 3.3.5: no asset for linux/arm64")
        .stdout_has("No updates found");
    tree.assert_unchanged(&before);
}
