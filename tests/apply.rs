//! End-to-end tests of downloads and installs: the built `vendor` binary
//! on temporary copies of the repository's example tree, against the fake
//! GitHub of `support/fake_github.rs` on 127.0.0.1.
//!
//! Every release is built at test time from real archives: traefik
//! tarballs holding a `traefik` executable and an upstream-style
//! `traefik_<tag>_checksums.txt`, k3s bare binaries with
//! `sha256sum-<arch>.txt`, and raspberrypi/firmware raw files at a tag.
//! Installed files are checked against the served bytes with the system
//! `sha256sum`.
//!
//! Each failure test asserts exit 1, the words a user needs (the URL or
//! asset, expected and actual), a tree unchanged byte for byte and no
//! staging left behind (DESIGN §6–7). Crash tests kill `vendor apply`
//! during its commit phase (`VENDOR_TEST_COMMIT_DELAY_MS` spaces the
//! writes) and check that every tracked file is old or new and that a
//! re-run converges.
//!
//! Rendered plans are snapshotted under `tests/snapshots/apply__*.snap`
//! (the fake server's port is replaced by `[GITHUB]`).
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_github::{FakeAsset, FakeGithub, FakeRelease, Fault, sha256_hex};
use serde_yaml::Value as Yaml;
use support::tree::{Run, WORK_DIR};
use support::{LOCK, MAKEFILE, MANIFEST, Output, Tree, line_of};

const TRAEFIK_REPO: &str = "traefik/traefik";
const K3S_REPO: &str = "k3s-io/k3s";
const FIRMWARE_REPO: &str = "raspberrypi/firmware";

const ARCHES: [&str; 2] = ["amd64", "arm64"];
const TRAEFIK_DIST: &str = "examples/powernode/agent/dist";
const K3S_BIN: &str = "examples/powernode/modules/powernode-k3s-binary/bin";
const K3S_PIN_FILE: &str = "examples/powernode/modules/powernode-k3s-binary/manifest.yaml";
const FIRMWARE_DIR: &str = "examples/powernode/templates/example-modules/rpi4-firmware";
const FIRMWARE_TAG: &str = "1.20240306";
const FIRMWARE_FILES: [&str; 4] = [
    "boot/start4.elf",
    "boot/fixup4.dat",
    "boot/bcm2711-rpi-4-b.dtb",
    "boot/overlays/vc4-kms-v3d-pi4.dtbo",
];
const TOKEN: &str = "ghp_secret_token_123";

fn traefik_install(arch: &str) -> String {
    format!("{TRAEFIK_DIST}/reverse-proxy-traefik-linux-{arch}")
}

fn k3s_install(arch: &str) -> String {
    format!("{K3S_BIN}/k3s-{arch}")
}

fn firmware_install(path: &str) -> String {
    format!("{FIRMWARE_DIR}/{path}")
}

/// The commit a tag of the fake upstream points to.
fn commit_of(tag: &str) -> String {
    sha256_hex(format!("commit for {tag}").as_bytes())[..40].to_owned()
}

// ---------------------------------------------------------------------------
// Archives built at test time
// ---------------------------------------------------------------------------

/// A tar member.
enum Member<'a> {
    File(&'a str, &'a [u8], u32),
    /// A header written byte for byte, past the tar writer's own path
    /// checks; `declared` overrides the size in the header.
    Raw {
        name: &'a str,
        kind: tar::EntryType,
        data: &'a [u8],
        link: Option<&'a str>,
        declared: Option<u64>,
    },
}

fn tar_bytes(members: &[Member<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_709_726_400);
        match m {
            Member::File(name, data, mode) => {
                h.set_size(data.len() as u64);
                h.set_mode(*mode);
                h.set_entry_type(tar::EntryType::Regular);
                b.append_data(&mut h, name, *data).unwrap();
            }
            Member::Raw {
                name,
                kind,
                data,
                link,
                declared,
            } => {
                h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
                h.set_size(declared.unwrap_or(data.len() as u64));
                h.set_mode(if *kind == tar::EntryType::Symlink {
                    0o777
                } else {
                    0o644
                });
                h.set_entry_type(*kind);
                if let Some(link) = link {
                    h.set_link_name_literal(link.as_bytes()).unwrap();
                }
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// gzip without compression: the size of the result depends only on the
/// size of the input, so two archives of same-sized members are the same
/// size (an upstream swapping an asset for one of the same length).
fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn tar_gz(members: &[Member<'_>]) -> Vec<u8> {
    gz(&tar_bytes(members))
}

/// `sha256sum` output for `files`.
fn sha256sums(files: &[(&str, &[u8])]) -> Vec<u8> {
    files
        .iter()
        .map(|(name, bytes)| format!("{}  {name}\n", sha256_hex(bytes)))
        .collect::<String>()
        .into_bytes()
}

// ---------------------------------------------------------------------------
// The upstream releases
// ---------------------------------------------------------------------------

/// One traefik release: a tarball per arch holding `traefik` (a small
/// static binary, the `say` fixture, that answers `version` like the real one), LICENSE.md
/// and CHANGELOG.md, and the release's checksum file.
#[derive(Clone)]
struct Traefik {
    version: String,
    binaries: BTreeMap<&'static str, Vec<u8>>,
    archives: BTreeMap<&'static str, Vec<u8>>,
}

impl Traefik {
    fn new(version: &str) -> Traefik {
        Traefik::build(version, 'a')
    }

    /// Another build of the same version: same sizes, other bytes.
    fn build(version: &str, build: char) -> Traefik {
        let mut binaries = BTreeMap::new();
        let mut archives = BTreeMap::new();
        for arch in ARCHES {
            let binary = build::say(
                arch,
                &format!(
                    "Version:      {version}\nCodename:     saintnectaire\nBuild:        {build}\n"
                ),
            );
            let archive = tar_gz(&[
                Member::File("traefik", &binary, 0o755),
                Member::File("LICENSE.md", b"The MIT License (MIT)\n", 0o644),
                Member::File(
                    "CHANGELOG.md",
                    format!("## v{version}\n- fixes\n").as_bytes(),
                    0o644,
                ),
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

    /// The checksum file, listing `arches` (and a Windows zip, as the
    /// real one lists every platform).
    fn checksums_for(&self, arches: &[&str]) -> Vec<u8> {
        let zip = format!("traefik_v{}_windows_amd64.zip", self.version);
        let names: Vec<String> = arches.iter().map(|a| self.archive_name(a)).collect();
        let mut files: Vec<(&str, &[u8])> = names
            .iter()
            .zip(arches)
            .map(|(n, a)| (n.as_str(), self.archives[a].as_slice()))
            .collect();
        files.push((&zip, b"not shipped here"));
        sha256sums(&files)
    }

    fn assets(&self) -> Vec<FakeAsset> {
        let mut assets: Vec<FakeAsset> = ARCHES
            .iter()
            .map(|a| FakeAsset::new(&self.archive_name(a), self.archives[a].clone()))
            .collect();
        assets.push(FakeAsset::new(
            &self.checksums_name(),
            self.checksums_for(&ARCHES),
        ));
        assets
    }

    fn release_with(&self, assets: Vec<FakeAsset>) -> FakeRelease {
        assets
            .into_iter()
            .fold(FakeRelease::new(&self.tag()), FakeRelease::with_asset)
    }
}

/// One k3s release: bare binaries `k3s` and `k3s-arm64`, and one
/// `sha256sum-<arch>.txt` per arch.
#[derive(Clone)]
struct K3s {
    version: String,
    binaries: BTreeMap<&'static str, Vec<u8>>,
}

impl K3s {
    fn new(version: &str) -> K3s {
        let binaries = ARCHES
            .iter()
            .map(|a| {
                let bin = build::say(
                    a,
                    &format!("k3s version v{version} (a1b2c3d4)\ngo version go1.22.5\n"),
                );
                (*a, bin)
            })
            .collect();
        K3s {
            version: version.to_owned(),
            binaries,
        }
    }

    fn tag(&self) -> String {
        format!("v{}", self.version)
    }

    fn asset_name(arch: &str) -> &'static str {
        if arch == "amd64" { "k3s" } else { "k3s-arm64" }
    }

    fn release(&self) -> FakeRelease {
        let mut release = FakeRelease::new(&self.tag());
        for arch in ARCHES {
            let name = K3s::asset_name(arch);
            let images = format!("k3s-airgap-images-{arch}.tar.zst");
            let sums = sha256sums(&[
                (name, &self.binaries[arch]),
                (&images, b"images not shipped here"),
            ]);
            release = release
                .asset(name, self.binaries[arch].clone())
                .asset(&format!("sha256sum-{arch}.txt"), sums);
        }
        release
    }
}

/// raspberrypi/firmware's boot files at a tag.
#[derive(Clone)]
struct Firmware {
    tag: String,
    files: BTreeMap<&'static str, Vec<u8>>,
}

impl Firmware {
    fn new(tag: &str) -> Firmware {
        let files = FIRMWARE_FILES
            .iter()
            .map(|p| {
                let mut bytes = format!("{p} at {tag}\n").into_bytes();
                bytes.extend_from_slice(&[0x7f, b'E', b'L', b'F', 0, 0xff, 0xfe, 0x80]);
                (*p, bytes)
            })
            .collect();
        Firmware {
            tag: tag.to_owned(),
            files,
        }
    }

    fn commit(&self) -> String {
        commit_of(&self.tag)
    }
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

    /// The example's versions (traefik 3.3.4, k3s 1.30.4+k3s1, firmware
    /// 1.20240306).
    fn current() -> Upstream {
        let up = Upstream::new();
        up.traefik(&Traefik::new("3.3.4"));
        up.k3s(&K3s::new("1.30.4+k3s1"));
        up.firmware(&Firmware::new(FIRMWARE_TAG));
        up
    }

    /// [`Upstream::current`] plus traefik 3.3.5 and k3s 1.30.5+k3s1.
    fn with_next() -> Upstream {
        let up = Upstream::current();
        up.traefik(&Traefik::new("3.3.5"));
        up.k3s(&K3s::new("1.30.5+k3s1"));
        up
    }

    fn traefik(&self, t: &Traefik) {
        self.traefik_release(t, t.release_with(t.assets()));
    }

    /// Publishes `release` as traefik `t`'s (a later release with the same
    /// tag replaces an earlier one).
    fn traefik_release(&self, t: &Traefik, release: FakeRelease) {
        self.fake.release(TRAEFIK_REPO, release);
        self.fake.tag(TRAEFIK_REPO, &t.tag(), &commit_of(&t.tag()));
    }

    fn k3s(&self, k: &K3s) {
        self.fake.release(K3S_REPO, k.release());
        self.fake.tag(K3S_REPO, &k.tag(), &commit_of(&k.tag()));
    }

    fn firmware(&self, f: &Firmware) {
        self.fake.tag(FIRMWARE_REPO, &f.tag, &f.commit());
        for (path, bytes) in &f.files {
            self.fake
                .raw_file(FIRMWARE_REPO, &f.commit(), path, bytes.clone());
        }
    }

    fn download_url(&self, repo: &str, tag: &str, name: &str) -> String {
        self.fake.download_url(repo, tag, name)
    }

    /// The request path of a URL on the fake (what faults are keyed by).
    fn path_of(&self, url: &str) -> String {
        url.strip_prefix(&self.fake.url())
            .unwrap_or_else(|| panic!("{url} is not on the fake server"))
            .to_owned()
    }

    fn contents_url(&self, commit: &str, path: &str) -> String {
        format!(
            "{}/repos/{FIRMWARE_REPO}/contents/{path}?ref={commit}",
            self.fake.api_url()
        )
    }

    /// `text` with the fake server's address replaced by `[GITHUB]`.
    fn normalize(&self, tree: &Tree, text: &str) -> String {
        tree.normalize(text).replace(&self.fake.url(), "[GITHUB]")
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

/// A copy of the example with every item applied at its current version.
fn applied(up: &Upstream) -> Tree {
    let tree = Tree::example();
    run(&tree, up, &["apply"]).code(0);
    tree
}

/// Changes the one `version: FROM` line of the manifest to `TO`.
fn want_version(tree: &Tree, from: &str, to: &str) {
    tree.replace_once(
        MANIFEST,
        &format!("version: {from}\n"),
        &format!("version: {to}\n"),
    );
}

fn lock_yaml(tree: &Tree) -> Yaml {
    serde_yaml::from_str(&tree.read(LOCK)).expect("the lock parses as YAML")
}

/// The entry of `list` (a YAML sequence) whose `key` is `value`.
#[track_caller]
fn find<'a>(list: &'a Yaml, key: &str, value: &str) -> &'a Yaml {
    list.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {list:?}"))
        .iter()
        .find(|e| e[key].as_str() == Some(value))
        .unwrap_or_else(|| panic!("no entry with {key} = {value} in {list:?}"))
}

fn str_of(v: &Yaml) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// sha256 of a file by the system's `sha256sum`.
fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success(), "sha256sum {} failed", path.display());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// Asserts `rel` holds exactly `bytes` (by `sha256sum`) with `mode`.
#[track_caller]
fn assert_installed(tree: &Tree, rel: &str, bytes: &[u8], mode: u32) {
    assert!(tree.exists(rel), "{rel} is not installed");
    assert_eq!(
        sha256sum(&tree.path(rel)),
        sha256_hex(bytes),
        "{rel} differs from the served bytes"
    );
    assert!(tree.read_bytes(rel) == bytes, "{rel}: bytes differ");
    assert_eq!(tree.mode(rel), mode, "mode of {rel}");
}

/// Nothing but the lock, the smoke records and the ignore file in the
/// tree's work directory.
#[track_caller]
fn assert_no_staging(tree: &Tree) {
    let work = tree.path(WORK_DIR);
    if work.exists() {
        let names: BTreeSet<String> = std::fs::read_dir(&work)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut inside = Vec::new();
        let mut stack = vec![work.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path.clone());
                }
                inside.push(path.strip_prefix(&work).unwrap().display().to_string());
            }
        }
        inside.sort();
        assert!(
            names
                .iter()
                .all(|n| n == ".gitignore" || n == "lock" || n == "smoke"),
            "leftovers in {WORK_DIR}/: {names:?}: {inside:?}"
        );
    }
}

/// The tool's work directory holds nothing but its lock file and its
/// `.gitignore`, and the cache no download in flight.
#[track_caller]
fn assert_no_leftovers(tree: &Tree) {
    assert_no_staging(tree);
    let tmp = tree.cache().join("tmp");
    if tmp.exists() {
        let left: Vec<String> = std::fs::read_dir(&tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            left.is_empty(),
            "downloads left in the cache's tmp/: {left:?}"
        );
    }
}

/// `text` without whitespace and miette's gutter, for matching wrapped
/// diagnostics.
fn squeeze(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect()
}

/// Whether the cache holds a blob with this sha256.
fn cached(tree: &Tree, sha256: &str) -> bool {
    tree.cache()
        .join("sha256")
        .join(&sha256[..2])
        .join(sha256)
        .exists()
}

/// Runs `vendor apply ARGS…` expecting it to fail without touching the
/// tree or leaving staging behind.
#[track_caller]
fn apply_fails_cleanly(tree: &Tree, up: &Upstream, args: &[&str], env: &[(&str, &str)]) -> Output {
    let before = tree.hashes();
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    let mut cmd = vendor(tree, up, &all);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let out = cmd.output();
    out.code(1);
    tree.assert_unchanged(&before);
    assert_no_leftovers(tree);
    out
}

/// Every file under `dir` (recursively), for content searches.
fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            all_files(&path, out);
        } else if meta.is_file() {
            out.push(path);
        }
    }
}

// ---------------------------------------------------------------------------
// 1. The example end to end
// ---------------------------------------------------------------------------

#[test]
fn example_applies_end_to_end_and_a_second_apply_does_nothing() {
    let up = Upstream::current();
    let traefik = Traefik::new("3.3.4");
    let k3s = K3s::new("1.30.4+k3s1");
    let firmware = Firmware::new(FIRMWARE_TAG);
    let tree = Tree::example();
    let pins_before: Vec<Vec<u8>> = [MAKEFILE, K3S_PIN_FILE, &firmware_install("manifest.yaml")]
        .iter()
        .map(|f| tree.read_bytes(f))
        .collect();

    run(&tree, &up, &["check"])
        .code(2)
        .stdout_has("lock-outdated traefik: not locked yet");
    run(&tree, &up, &["apply"])
        .code(0)
        .stdout_has("Applied: 0 pin rewrites in 0 files, 8 files installed, 3 lock changes.");

    // Installed: the extracted traefik binaries, the raw firmware files,
    // the bare k3s binaries, byte for byte and with their modes.
    for arch in ARCHES {
        assert_installed(
            &tree,
            &traefik_install(arch),
            &traefik.binaries[arch],
            0o755,
        );
        assert_installed(&tree, &k3s_install(arch), &k3s.binaries[arch], 0o755);
    }
    for (path, bytes) in &firmware.files {
        assert_installed(&tree, &firmware_install(path), bytes, 0o644);
    }
    // The pins already held these versions: untouched.
    for (file, before) in [MAKEFILE, K3S_PIN_FILE, &firmware_install("manifest.yaml")]
        .iter()
        .zip(&pins_before)
    {
        assert!(tree.read_bytes(file) == *before, "{file} was rewritten");
    }
    // Nothing but the lock and the installed files appeared.
    let names: BTreeSet<String> = tree.hashes().into_keys().collect();
    let example = Tree::example().hashes();
    let added: BTreeSet<&String> = names.iter().filter(|n| !example.contains_key(*n)).collect();
    assert_eq!(added.len(), 8, "added: {added:?}");

    // The lock: url, size, sha256 and trust of every artifact, the tag and
    // the commit it resolved to, every installed file.
    let lock = lock_yaml(&tree);
    let t = &lock["items"]["traefik"];
    assert_eq!(str_of(&t["version"]), "3.3.4");
    assert_eq!(str_of(&t["source"]), "github-release");
    assert_eq!(str_of(&t["resolved"]["tag"]), "v3.3.4");
    assert_eq!(str_of(&t["resolved"]["commit"]), commit_of("v3.3.4"));
    let sums_url = up.download_url(TRAEFIK_REPO, "v3.3.4", &traefik.checksums_name());
    for arch in ARCHES {
        let name = traefik.archive_name(arch);
        let a = find(&t["artifacts"], "name", &name);
        assert_eq!(str_of(&a["platform"]), format!("linux/{arch}"));
        assert_eq!(
            str_of(&a["url"]),
            up.download_url(TRAEFIK_REPO, "v3.3.4", &name)
        );
        assert_eq!(
            a["size"].as_u64(),
            Some(traefik.archives[arch].len() as u64)
        );
        assert_eq!(str_of(&a["sha256"]), sha256_hex(&traefik.archives[arch]));
        assert_eq!(str_of(&a["trust"]["kind"]), "checksum-file");
        assert_eq!(str_of(&a["trust"]["by"]), sums_url);
        let f = find(&t["files"], "path", &traefik_install(arch));
        assert_eq!(
            str_of(&f["sha256"]),
            sha256sum(&tree.path(&traefik_install(arch)))
        );
        assert_eq!(str_of(&f["mode"]), "0755");
        assert_eq!(str_of(&f["from"]), format!("{name}!traefik"));
    }

    let k = &lock["items"]["k3s"];
    assert_eq!(str_of(&k["resolved"]["tag"]), "v1.30.4+k3s1");
    assert_eq!(str_of(&k["resolved"]["commit"]), commit_of("v1.30.4+k3s1"));
    for arch in ARCHES {
        let name = K3s::asset_name(arch);
        let a = find(&k["artifacts"], "name", name);
        assert_eq!(str_of(&a["platform"]), format!("linux/{arch}"));
        assert_eq!(
            str_of(&a["url"]),
            up.download_url(K3S_REPO, "v1.30.4+k3s1", name)
        );
        assert_eq!(a["size"].as_u64(), Some(k3s.binaries[arch].len() as u64));
        assert_eq!(str_of(&a["sha256"]), sha256_hex(&k3s.binaries[arch]));
        assert_eq!(str_of(&a["trust"]["kind"]), "checksum-file");
        assert_eq!(
            str_of(&a["trust"]["by"]),
            up.download_url(K3S_REPO, "v1.30.4+k3s1", &format!("sha256sum-{arch}.txt"))
        );
        let f = find(&k["files"], "path", &k3s_install(arch));
        assert_eq!(
            str_of(&f["sha256"]),
            sha256sum(&tree.path(&k3s_install(arch)))
        );
        assert_eq!(str_of(&f["mode"]), "0755");
    }

    let r = &lock["items"]["rpi4-firmware"];
    assert_eq!(str_of(&r["version"]), FIRMWARE_TAG);
    assert_eq!(str_of(&r["source"]), "github-files");
    assert_eq!(str_of(&r["resolved"]["tag"]), FIRMWARE_TAG);
    assert_eq!(str_of(&r["resolved"]["commit"]), firmware.commit());
    for (path, bytes) in &firmware.files {
        let a = find(&r["artifacts"], "name", path);
        assert_eq!(str_of(&a["url"]), up.contents_url(&firmware.commit(), path));
        assert_eq!(a["size"].as_u64(), Some(bytes.len() as u64));
        assert_eq!(str_of(&a["sha256"]), sha256_hex(bytes));
        assert_eq!(str_of(&a["trust"]["kind"]), "first-use");
        assert!(a.get("platform").is_none(), "{a:?}");
        let f = find(&r["files"], "path", &firmware_install(path));
        assert_eq!(
            str_of(&f["sha256"]),
            sha256sum(&tree.path(&firmware_install(path)))
        );
        assert_eq!(str_of(&f["mode"]), "0644");
    }
    // Raw files came through the contents API with the raw media type.
    let contents = up
        .fake
        .requests_to(&format!("/api/v3/repos/{FIRMWARE_REPO}/contents/"));
    assert_eq!(contents.len(), 4, "{contents:?}");
    assert!(
        contents
            .iter()
            .all(|r| r.accept.as_deref() == Some("application/vnd.github.raw")),
        "{contents:?}"
    );

    run(&tree, &up, &["check", "--installed"])
        .code(0)
        .stdout_has("check: 5 items in sync");

    // Again: nothing to do, nothing downloaded, the lock not even rewritten.
    let lock_bytes = tree.read_bytes(LOCK);
    let lock_id = tree.file_id(LOCK);
    let hashes = tree.hashes();
    up.fake.clear_requests();
    run(&tree, &up, &["apply"])
        .code(0)
        .stdout_has("Nothing to apply: 5 items in sync.");
    assert!(tree.read_bytes(LOCK) == lock_bytes);
    assert_eq!(tree.file_id(LOCK), lock_id, "the lock was rewritten");
    tree.assert_unchanged(&hashes);
    assert_eq!(up.fake.requests(), [], "an apply in sync went online");
    assert_no_leftovers(&tree);
}

// ---------------------------------------------------------------------------
// 2. A version bump, and a rollback from the cache
// ---------------------------------------------------------------------------

#[test]
fn bump_is_planned_applied_and_rolled_back_offline() {
    let up = Upstream::with_next();
    let old = Traefik::new("3.3.4");
    let new = Traefik::new("3.3.5");
    let tree = applied(&up);
    let applied_state = tree.hashes();
    let makefile = tree.read(MAKEFILE);
    assert_eq!(
        line_of(&makefile, "TRAEFIK_VERSION ?="),
        64,
        "the playbook names agent/Makefile line 64"
    );

    want_version(&tree, "3.3.4", "3.3.5");
    let before = tree.hashes();
    let plan = run(&tree, &up, &["plan"]);
    plan.code(0)
        .stdout_has("traefik 3.3.4 → 3.3.5 (github-release)")
        .stdout_has("  lock-outdated: version 3.3.4 → 3.3.5\n")
        .stdout_has(&format!(
            "  ~ rewrite {MAKEFILE}:64  make TRAEFIK_VERSION  \"v3.3.4\" → \"v3.3.5\""
        ))
        .stdout_has(&format!(
            "  ✓ resolved release v3.3.5 of traefik/traefik at {}",
            &commit_of("v3.3.5")[..12]
        ))
        .stdout_has("@@ -61,7 +61,7 @@")
        .stdout_has("\n-TRAEFIK_VERSION ?= v3.3.4\n+TRAEFIK_VERSION ?= v3.3.5\n")
        .stdout_has("Plan: 1 of 5 items to change: 1 pin rewrite in 1 file, 1 lock change, 1 to resolve upstream.");
    let sums_url = up.download_url(TRAEFIK_REPO, "v3.3.5", &new.checksums_name());
    for arch in ARCHES {
        let size = new.archives[arch].len();
        assert!((1024..1024 * 1024).contains(&size));
        plan.stdout_has(&format!(
            "    ↓ {} (linux/{arch})  {:.1} KiB, sha256 {}…, trusted by the checksum file {sums_url}",
            new.archive_name(arch),
            size as f64 / 1024.0,
            &sha256_hex(&new.archives[arch])[..16]
        ));
    }
    insta::assert_snapshot!("plan_traefik_bump", up.normalize(&tree, &plan.stdout));
    tree.assert_unchanged(&before);

    run(&tree, &up, &["apply"])
        .code(0)
        .stdout_has("Applied: 1 pin rewrite in 1 file, 2 files installed, 1 lock change.");
    assert_eq!(
        tree.read(MAKEFILE),
        makefile.replacen("TRAEFIK_VERSION ?= v3.3.4", "TRAEFIK_VERSION ?= v3.3.5", 1),
        "only the pinned value may change"
    );
    for arch in ARCHES {
        assert_installed(&tree, &traefik_install(arch), &new.binaries[arch], 0o755);
    }
    let lock = lock_yaml(&tree);
    assert_eq!(str_of(&lock["items"]["traefik"]["version"]), "3.3.5");
    assert_eq!(
        str_of(&lock["items"]["traefik"]["resolved"]["commit"]),
        commit_of("v3.3.5")
    );
    let mut changed = tree.changed_since(&before);
    changed.sort();
    assert_eq!(
        changed,
        [
            format!("{MAKEFILE} (modified)"),
            format!("{} (modified)", traefik_install("amd64")),
            format!("{} (modified)", traefik_install("arm64")),
            format!("{LOCK} (modified)"),
        ]
    );
    run(&tree, &up, &["check", "--installed"]).code(0);

    // Rollback: bump back, offline. The cache remembers what 3.3.4
    // resolved to and holds its archives: not one request.
    want_version(&tree, "3.3.5", "3.3.4");
    up.fake.clear_requests();
    run(&tree, &up, &["--offline", "apply"])
        .code(0)
        .stdout_has("Applied: 1 pin rewrite in 1 file, 2 files installed, 1 lock change.");
    assert_eq!(up.fake.requests(), [], "the rollback went online");
    for arch in ARCHES {
        assert_installed(&tree, &traefik_install(arch), &old.binaries[arch], 0o755);
    }
    let rolled_back = tree.changed_since(&applied_state);
    assert!(
        rolled_back.is_empty(),
        "the rollback is not the state before the bump: {rolled_back:?}"
    );
    run(&tree, &up, &["check", "--installed"]).code(0);
}

// ---------------------------------------------------------------------------
// 3. Failure matrix: exit 1, a clear message, the tree untouched
// ---------------------------------------------------------------------------

/// The example applied at 3.3.4, then traefik bumped to `next` in the
/// manifest; `publish` sets up the upstream for it first.
fn bumped(next: &str, publish: impl FnOnce(&Upstream)) -> (Upstream, Tree) {
    let up = Upstream::current();
    let tree = applied(&up);
    publish(&up);
    want_version(&tree, "3.3.4", next);
    (up, tree)
}

/// The request path of traefik 3.3.5's `arch` archive.
fn archive_path(up: &Upstream, t: &Traefik, arch: &str) -> String {
    up.path_of(&up.download_url(TRAEFIK_REPO, &t.tag(), &t.archive_name(arch)))
}

#[test]
fn missing_release_suggests_the_nearest_tag() {
    let (up, tree) = bumped("3.3.9", |up| up.traefik(&Traefik::new("3.3.5")));
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    out.stderr_has("cannot resolve traefik")
        .stderr_mentions("traefik/traefik has no release tagged `v3.3.9`")
        .stderr_mentions("did you mean `v3.3.5`?");
    // Nothing was downloaded for the missing release.
    assert_eq!(
        up.fake
            .requests_to("/dl/traefik/traefik/releases/download/v3.3.9"),
        []
    );
}

#[test]
fn missing_platform_asset_lists_what_upstream_has() {
    let t = Traefik::new("3.3.5");
    let (up, tree) = bumped("3.3.5", |up| {
        let assets = t
            .assets()
            .into_iter()
            .filter(|a| !a.name.contains("arm64"))
            .collect();
        up.traefik_release(&t, t.release_with(assets));
    });
    up.fake.clear_requests();
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    out.stderr_mentions(
        "release `v3.3.5` of traefik/traefik has no asset `traefik_v3.3.5_linux_arm64.tar.gz`",
    )
    .stderr_mentions(
        "upstream has: traefik_v3.3.5_linux_amd64.tar.gz, traefik_v3.3.5_checksums.txt",
    );
    let archives: Vec<String> = up
        .fake
        .requests_to("/dl/")
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.ends_with(".tar.gz"))
        .collect();
    assert_eq!(
        archives,
        [] as [String; 0],
        "downloaded before resolving every platform"
    );
}

#[test]
fn missing_checksum_file_is_named() {
    let t = Traefik::new("3.3.5");
    let (up, tree) = bumped("3.3.5", |up| {
        let assets = t
            .assets()
            .into_iter()
            .filter(|a| !a.name.ends_with("checksums.txt"))
            .collect();
        up.traefik_release(&t, t.release_with(assets));
    });
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    out.stderr_mentions(
        "release v3.3.5 of traefik/traefik has no checksum file `traefik_v3.3.5_checksums.txt`",
    )
    .stderr_mentions(
        "upstream has: traefik_v3.3.5_linux_amd64.tar.gz, traefik_v3.3.5_linux_arm64.tar.gz",
    );
}

#[test]
fn checksum_file_without_the_asset_is_refused() {
    let t = Traefik::new("3.3.5");
    let (up, tree) = bumped("3.3.5", |up| {
        let mut assets = t.assets();
        let sums = assets
            .iter_mut()
            .find(|a| a.name == t.checksums_name())
            .unwrap();
        *sums = FakeAsset::new(&t.checksums_name(), t.checksums_for(&["amd64"]));
        up.traefik_release(&t, t.release_with(assets));
    });
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    out.stderr_mentions("the checksum file does not list `traefik_v3.3.5_linux_arm64.tar.gz`")
        .stderr_mentions(&up.download_url(TRAEFIK_REPO, "v3.3.5", &t.checksums_name()))
        .stderr_mentions("traefik_v3.3.5_linux_amd64.tar.gz");
}

#[test]
fn server_errors_are_retried_and_the_apply_succeeds() {
    let t = Traefik::new("3.3.5");
    let (up, tree) = bumped("3.3.5", |up| up.traefik(&t));
    let release = "/api/v3/repos/traefik/traefik/releases/tags/v3.3.5";
    let archive = archive_path(&up, &t, "amd64");
    up.fake
        .fail_times(release, Fault::Status(500), 1)
        .fail_times(&archive, Fault::Status(502), 1);
    run(&tree, &up, &["apply"]).code(0);
    assert_eq!(
        up.fake.requests_to(release).len(),
        2,
        "the 500 was not retried"
    );
    assert_eq!(
        up.fake.requests_to(&archive).len(),
        2,
        "the 502 was not retried"
    );
    for arch in ARCHES {
        assert_installed(&tree, &traefik_install(arch), &t.binaries[arch], 0o755);
    }
    run(&tree, &up, &["check", "--installed"]).code(0);
    assert_no_leftovers(&tree);
}

#[test]
fn too_many_requests_waits_for_retry_after_and_succeeds() {
    let t = Traefik::new("3.3.5");
    let (up, tree) = bumped("3.3.5", |up| up.traefik(&t));
    let archive = archive_path(&up, &t, "arm64");
    up.fake
        .fail_times(&archive, Fault::TooManyRequests { retry_after: 1 }, 1);
    run(&tree, &up, &["apply"]).code(0);
    assert_eq!(up.fake.requests_to(&archive).len(), 2);
    assert_installed(
        &tree,
        &traefik_install("arm64"),
        &t.binaries["arm64"],
        0o755,
    );
    run(&tree, &up, &["check", "--installed"]).code(0);
    assert_no_leftovers(&tree);
}

#[test]
fn rate_limit_says_when_it_resets_and_that_a_token_helps() {
    let (up, tree) = bumped("3.3.5", |up| up.traefik(&Traefik::new("3.3.5")));
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1800;
    let release = "/api/v3/repos/traefik/traefik/releases/tags/v3.3.5";
    up.fake.fail(release, Fault::RateLimited { reset });
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    out.stderr_has("cannot resolve traefik")
        .stderr_mentions("GitHub rate limit exceeded")
        .stderr_mentions("it resets at")
        .stderr_mentions("in 30 minutes")
        .stderr_mentions("set GITHUB_TOKEN (or GH_TOKEN)");
    assert_eq!(
        up.fake.requests_to(release).len(),
        1,
        "a primary rate limit is not retried"
    );
}

#[test]
fn truncated_body_fails_after_retries() {
    let t = Traefik::new("3.3.5");
    let (up, tree) = bumped("3.3.5", |up| up.traefik(&t));
    let archive = archive_path(&up, &t, "amd64");
    up.fake.fail(&archive, Fault::Truncated);
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    let url = up.download_url(TRAEFIK_REPO, "v3.3.5", &t.archive_name("amd64"));
    let size = t.archives["amd64"].len();
    out.stderr_mentions(&format!(
        "{url}: the transfer broke off after {} of {size} bytes",
        size / 2
    ));
    assert!(
        up.fake.requests_to(&archive).len() > 1,
        "a truncated download was not retried"
    );
}

#[test]
fn wrong_bytes_are_a_checksum_mismatch_naming_the_checksum_file() {
    let t = Traefik::new("3.3.5");
    let (up, tree) = bumped("3.3.5", |up| up.traefik(&t));
    let archive = archive_path(&up, &t, "amd64");
    // Same length, other bytes: only the hash can tell.
    let wrong = Traefik::build("3.3.5", 'b').archives["amd64"].clone();
    assert_eq!(wrong.len(), t.archives["amd64"].len());
    up.fake.fail(&archive, Fault::WrongBytes(wrong.clone()));
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    let url = up.download_url(TRAEFIK_REPO, "v3.3.5", &t.archive_name("amd64"));
    let sums = up.download_url(TRAEFIK_REPO, "v3.3.5", &t.checksums_name());
    out.stderr_mentions(&format!("checksum mismatch for {url}"))
        .stderr_mentions(&format!(
            "expected sha256 {}, got {}",
            sha256_hex(&t.archives["amd64"]),
            sha256_hex(&wrong)
        ))
        .stderr_mentions(&format!("the checksum file {sums}"));
    assert!(
        !cached(&tree, &sha256_hex(&wrong)),
        "unverified bytes were cached"
    );
}

#[test]
fn wrong_size_is_refused() {
    let t = Traefik::new("3.3.5");
    let (up, tree) = bumped("3.3.5", |up| up.traefik(&t));
    let archive = archive_path(&up, &t, "arm64");
    let mut longer = t.archives["arm64"].clone();
    longer.extend_from_slice(b"appended by a hostile mirror");
    up.fake.fail(&archive, Fault::WrongBytes(longer.clone()));
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    let url = up.download_url(TRAEFIK_REPO, "v3.3.5", &t.archive_name("arm64"));
    out.stderr_mentions(&format!(
        "{url} is {} bytes, expected {}",
        longer.len(),
        t.archives["arm64"].len()
    ));
}

#[test]
fn slow_download_times_out() {
    let t = Traefik::new("3.3.5");
    let (up, tree) = bumped("3.3.5", |up| up.traefik(&t));
    let archive = archive_path(&up, &t, "amd64");
    up.fake.fail(&archive, Fault::Slow(Duration::from_secs(6)));
    let out = apply_fails_cleanly(
        &tree,
        &up,
        &[],
        &[("VENDOR_HTTP_TIMEOUT", "1"), ("VENDOR_HTTP_RETRIES", "1")],
    );
    let url = up.download_url(TRAEFIK_REPO, "v3.3.5", &t.archive_name("amd64"));
    out.stderr_mentions(&format!("timed out after 1 s waiting for {url}"));
}

/// Traefik 3.3.5 whose amd64 archive holds `extra` beside `traefik`,
/// with a checksum file that vouches for it: only extraction can refuse.
fn hostile_release(up: &Upstream, extra: Member<'_>) -> Traefik {
    let mut t = Traefik::new("3.3.5");
    let archive = tar_gz(&[Member::File("traefik", &t.binaries["amd64"], 0o755), extra]);
    t.archives.insert("amd64", archive);
    up.traefik(&t);
    t
}

#[test]
fn archive_with_parent_path_is_refused() {
    let (up, tree) = bumped("3.3.5", |_| {});
    hostile_release(
        &up,
        Member::Raw {
            name: "../evil",
            kind: tar::EntryType::Regular,
            data: b"pwned\n",
            link: None,
            declared: None,
        },
    );
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    out.stderr_mentions("entry `../evil` has a `..` component")
        .stderr_has("vendor::archive::unsafe-path");
    let mut files = Vec::new();
    all_files(tree.root(), &mut files);
    assert!(
        files
            .iter()
            .all(|f| f.file_name().is_none_or(|n| n != "evil")),
        "{files:?}"
    );
}

#[test]
fn archive_with_absolute_path_is_refused() {
    let (up, tree) = bumped("3.3.5", |_| {});
    let target = tree.path("escaped-absolute");
    let name = target.to_str().unwrap().to_owned();
    assert!(name.len() < 100, "{name} does not fit a tar header");
    hostile_release(
        &up,
        Member::Raw {
            name: &name,
            kind: tar::EntryType::Regular,
            data: b"pwned\n",
            link: None,
            declared: None,
        },
    );
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    out.stderr_mentions(&format!("entry `{name}`"))
        .stderr_has("unsafe-path");
    assert!(!target.exists());
}

#[test]
fn archive_with_escaping_symlink_is_refused() {
    let (up, tree) = bumped("3.3.5", |_| {});
    hostile_release(
        &up,
        Member::Raw {
            name: "plugins",
            kind: tar::EntryType::Symlink,
            data: b"",
            link: Some("../../../../../../etc"),
            declared: None,
        },
    );
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    out.stderr_mentions("link `plugins` -> `../../../../../../etc` points outside the archive")
        .stderr_has("vendor::archive::link-escapes");
}

#[test]
fn archive_member_declaring_more_than_the_limit_is_refused() {
    // A 3 GiB member declared in a header of a few hundred bytes: the
    // default limit (512 MiB per archive) refuses it before reading any data.
    let (up, tree) = bumped("3.3.5", |_| {});
    hostile_release(
        &up,
        Member::Raw {
            name: "bomb",
            kind: tar::EntryType::Regular,
            data: b"",
            link: None,
            declared: Some(3 << 30),
        },
    );
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    out.stderr_mentions("`bomb` declares 3221225472 bytes, over the 536870912 byte limit")
        .stderr_has("vendor::archive::too-large");
}

#[test]
fn archive_errors_name_the_item_and_the_asset() {
    // The user must be told which download was refused: the diagnostic
    // names `traefik_v3.3.5_linux_amd64.tar.gz` (and the item), not the
    // file name of its blob in the download cache.
    let (up, tree) = bumped("3.3.5", |_| {});
    let t = hostile_release(
        &up,
        Member::Raw {
            name: "../evil",
            kind: tar::EntryType::Regular,
            data: b"pwned\n",
            link: None,
            declared: None,
        },
    );
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    let blob = sha256_hex(&t.archives["amd64"]);
    assert!(
        !out.stderr.contains(&blob),
        "the diagnostic names the cache blob {blob}\n{}",
        out.streams()
    );
    out.stderr_mentions("traefik_v3.3.5_linux_amd64.tar.gz: entry `../evil`")
        .stderr_has("traefik");
}

#[test]
fn github_digest_disagreeing_with_the_checksum_file_is_refused() {
    let t = Traefik::new("3.3.5");
    let (up, tree) = bumped("3.3.5", |up| {
        let assets = t
            .assets()
            .into_iter()
            .map(|a| {
                if a.name == t.archive_name("arm64") {
                    a.wrong_digest()
                } else {
                    a
                }
            })
            .collect();
        up.traefik_release(&t, t.release_with(assets));
    });
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    let sums = up.download_url(TRAEFIK_REPO, "v3.3.5", &t.checksums_name());
    out.stderr_has("sources-disagree")
        .stderr_mentions("traefik_v3.3.5_linux_arm64.tar.gz: GitHub's digest is")
        .stderr_mentions(&format!(
            "but the checksum file {sums} says {}",
            sha256_hex(&t.archives["arm64"])
        ));
    assert_eq!(
        up.fake
            .requests_to("/dl/traefik/traefik/releases/download/v3.3.5/traefik_v3.3.5_linux"),
        []
    );
}

#[test]
fn first_use_file_changed_upstream_is_refused() {
    // The firmware tag is moved to a commit whose start4.elf differs:
    // the hash recorded on first use holds, the new file is refused.
    let up = Upstream::current();
    let tree = applied(&up);
    let mut moved = Firmware::new(FIRMWARE_TAG);
    moved
        .files
        .insert("boot/start4.elf", b"replaced upstream\n".to_vec());
    // Same tag, same commit: only the bytes changed (a force-push the
    // fake cannot tell apart from the API's point of view).
    up.firmware(&moved);
    // Re-resolve: a manifest change of the item's resolution inputs.
    tree.replace_once(
        MANIFEST,
        "        install: examples/powernode/templates/example-modules/rpi4-firmware/boot/start4.elf\n        mode: \"0644\"",
        "        install: examples/powernode/templates/example-modules/rpi4-firmware/boot/start4.elf\n        mode: \"0640\"",
    );
    // On a machine whose cache does not hold the first download.
    let elsewhere = Tree::new();
    let cache = elsewhere.cache().to_str().unwrap();
    let out = apply_fails_cleanly(&tree, &up, &[], &[("VENDOR_CACHE_DIR", cache)]);
    let url = up.contents_url(&moved.commit(), "boot/start4.elf");
    out.stderr_mentions(&format!("checksum mismatch for {url}"))
        .stderr_mentions(&format!(
            "expected sha256 {}",
            sha256_hex(&Firmware::new(FIRMWARE_TAG).files["boot/start4.elf"])
        ))
        .stderr_mentions("the first download (recorded in the lock)");
}

#[test]
fn release_replaced_under_the_same_tag_is_refused() {
    // Upstream re-publishes v3.3.4 with other archives (and a checksum
    // file and digests to match). When the item is resolved again (here:
    // its install mode changed), the locked hash of the same URL wins.
    let up = Upstream::current();
    let tree = applied(&up);
    let locked = Traefik::new("3.3.4");
    let replaced = Traefik::build("3.3.4", 'r');
    up.traefik(&replaced);
    tree.replace_once(
        MANIFEST,
        "reverse-proxy-traefik-{os}-{arch}\n        mode: \"0755\"",
        "reverse-proxy-traefik-{os}-{arch}\n        mode: \"0750\"",
    );
    let out = apply_fails_cleanly(&tree, &up, &[], &[]);
    out.stderr_has("vendor::resolve::changed-upstream");
    let reported = ARCHES.iter().any(|arch| {
        let url = up.download_url(TRAEFIK_REPO, "v3.3.4", &locked.archive_name(arch));
        squeeze(&out.stderr).contains(&squeeze(&format!(
            "traefik: {url} changed upstream since it was locked: the lock has sha256 {}, \
             upstream now says {}",
            sha256_hex(&locked.archives[*arch]),
            sha256_hex(&replaced.archives[*arch])
        )))
    });
    assert!(reported, "{}", out.streams());
}

#[test]
fn dropping_a_platform_removes_its_installed_file() {
    let up = Upstream::current();
    let tree = applied(&up);
    let t = Traefik::new("3.3.4");
    tree.replace_once(
        MANIFEST,
        "    constraint: \">=3.3, <4\"\n    platforms: [linux/amd64, linux/arm64]",
        "    constraint: \">=3.3, <4\"\n    platforms: [linux/amd64]",
    );
    let before = tree.hashes();
    run(&tree, &up, &["apply"])
        .code(0)
        .stdout_has("Applied: 0 pin rewrites in 0 files, 1 file installed, 1 lock change.");
    let mut changed = tree.changed_since(&before);
    changed.sort();
    assert_eq!(
        changed,
        [
            format!("{} (removed)", traefik_install("arm64")),
            format!("{LOCK} (modified)"),
        ]
    );
    assert_installed(
        &tree,
        &traefik_install("amd64"),
        &t.binaries["amd64"],
        0o755,
    );
    let lock = lock_yaml(&tree);
    let artifacts = lock["items"]["traefik"]["artifacts"].as_sequence().unwrap();
    assert_eq!(artifacts.len(), 1);
    assert_eq!(str_of(&artifacts[0]["platform"]), "linux/amd64");
    run(&tree, &up, &["check", "--installed"]).code(0);
}

// ---------------------------------------------------------------------------
// 4. Crash safety: kill -9 during the commit phase
// ---------------------------------------------------------------------------

/// The example applied at its current versions, then traefik and k3s
/// bumped: applying rewrites 2 pin files, installs 4 binaries and writes
/// the lock.
fn two_bumps(up: &Upstream) -> Tree {
    let tree = applied(up);
    want_version(&tree, "3.3.4", "3.3.5");
    want_version(&tree, "1.30.4+k3s1", "1.30.5+k3s1");
    tree
}

/// Runs `vendor apply` with `delay_ms` between the writes of its commit
/// phase and kills it (SIGKILL) `kill_at` ms after the commit phase
/// started (its first write, the Makefile pin), or at once for `None`.
fn kill_apply(tree: &Tree, up: &Upstream, delay_ms: u64, kill_at: Option<u64>) {
    let makefile = tree.read_bytes(MAKEFILE);
    let mut child = vendor(tree, up, &["apply"])
        .env("VENDOR_TEST_COMMIT_DELAY_MS", delay_ms.to_string())
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    match kill_at {
        None => std::thread::sleep(Duration::from_millis(10)),
        Some(ms) => {
            let deadline = Instant::now() + Duration::from_secs(60);
            while child.try_wait().unwrap().is_none()
                && std::fs::read(tree.path(MAKEFILE)).unwrap() == makefile
            {
                assert!(Instant::now() < deadline, "apply never started committing");
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis(ms));
        }
    }
    // SIGKILL; a run that already finished is simply reaped.
    let _ = child.kill();
    child.wait().unwrap();
}

/// Asserts that every tracked file is as `before` or as `after`.
fn assert_old_or_new(
    tree: &Tree,
    tracked: &BTreeSet<&String>,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    when: &str,
) {
    let now = tree.hashes();
    for path in tracked {
        let state = now.get(*path);
        assert!(
            state == before.get(*path) || state == after.get(*path),
            "{when}: {path} is neither old nor new"
        );
    }
}

/// Asserts that a re-run left no temporary file and that every tracked
/// file is as `after`.
fn assert_converged(
    tree: &Tree,
    tracked: &BTreeSet<&String>,
    after: &BTreeMap<String, String>,
    when: &str,
) {
    let converged = tree.hashes();
    let left: Vec<&String> = converged
        .keys()
        .filter(|p| p.contains(".vendor-tmp-"))
        .collect();
    assert!(left.is_empty(), "{when}: the re-run left {left:?}");
    assert_no_leftovers(tree);
    let differ: Vec<&&String> = tracked
        .iter()
        .filter(|p| converged.get(**p) != after.get(**p))
        .collect();
    assert!(
        differ.is_empty(),
        "{when}: the re-run did not converge: {differ:?}"
    );
}

#[test]
fn killed_apply_leaves_every_file_old_or_new_and_a_rerun_converges() {
    const DELAY_MS: u64 = 200;
    let up = Upstream::with_next();

    let reference = two_bumps(&up);
    let before = reference.hashes();
    run(&reference, &up, &["apply"])
        .code(0)
        .stdout_has("Applied: 2 pin rewrites in 2 files, 4 files installed, 2 lock changes.");
    let after = reference.hashes();
    let tracked: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let changing: Vec<&String> = tracked
        .iter()
        .copied()
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    assert_eq!(changing.len(), 7, "{changing:?}");

    // Kill before the commit phase (while resolving or downloading), then
    // between every two writes of the commit phase: the pins are written
    // first (the Makefile first of all), one write every DELAY_MS.
    let kill_points: Vec<Option<u64>> = std::iter::once(None)
        .chain((0..7).map(|n| Some(DELAY_MS / 2 + n * DELAY_MS)))
        .collect();
    for kill_at in kill_points {
        let tree = two_bumps(&up);
        kill_apply(&tree, &up, DELAY_MS, kill_at);

        let when = format!("killed at {kill_at:?} ms");
        assert_old_or_new(&tree, &tracked, &before, &after, &when);
        let now = tree.hashes();
        let strays: Vec<&String> = now.keys().filter(|p| !tracked.contains(p)).collect();
        assert!(
            strays.iter().all(|p| p.contains(".vendor-tmp-")),
            "killed at {kill_at:?} ms: unexpected files {strays:?}"
        );

        run(&tree, &up, &["apply"]).code(0);
        run(&tree, &up, &["check", "--installed"]).code(0);
        assert_converged(&tree, &tracked, &after, &when);
    }
}

/// Sends `signal` (`INT`, `TERM`) to a process.
fn send(signal: &str, child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

/// Waits for a child, killing it if it outlives `limit` (a hang fails the
/// test rather than stalling the suite).
fn wait_within(mut child: std::process::Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("vendor did not stop within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Output::from_process(&["apply".into()], &child.wait_with_output().unwrap())
}

fn spawn_apply(tree: &Tree, up: &Upstream, delay_ms: u64) -> std::process::Child {
    vendor(tree, up, &["apply"])
        .env("VENDOR_TEST_COMMIT_DELAY_MS", delay_ms.to_string())
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_signal_during_downloads_stops_cleanly_with_130_or_143() {
    for (signal, code, name) in [("INT", 130, "SIGINT"), ("TERM", 143, "SIGTERM")] {
        let up = Upstream::with_next();
        let tree = two_bumps(&up);
        let before = tree.hashes();
        let t = Traefik::new("3.3.5");
        let archive = archive_path(&up, &t, "amd64");
        up.fake
            .fail(&archive, Fault::Stall(Duration::from_secs(60)));
        let child = spawn_apply(&tree, &up, 0);
        let deadline = Instant::now() + Duration::from_secs(60);
        while up.fake.requests_to(&archive).is_empty() {
            assert!(Instant::now() < deadline, "the download never started");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Half the body is in a temporary file now.
        std::thread::sleep(Duration::from_millis(100));
        send(signal, &child);
        let out = wait_within(child, Duration::from_secs(20));
        out.code(code)
            .stderr_mentions(&format!("interrupted by {name}"));
        tree.assert_unchanged(&before);
        assert_no_leftovers(&tree);
    }
}

#[test]
fn sigint_during_the_commit_lets_it_finish_then_exits_130() {
    let up = Upstream::with_next();
    let reference = two_bumps(&up);
    run(&reference, &up, &["apply"]).code(0);

    let tree = two_bumps(&up);
    let makefile = tree.read_bytes(MAKEFILE);
    let child = spawn_apply(&tree, &up, 100);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read(tree.path(MAKEFILE)).unwrap() == makefile {
        assert!(Instant::now() < deadline, "apply never started committing");
        std::thread::sleep(Duration::from_millis(2));
    }
    send("INT", &child);
    let out = wait_within(child, Duration::from_secs(30));
    out.code(130)
        .stderr_mentions("the changes had been applied in full");
    let differ = reference.changed_since(&tree.hashes());
    assert!(differ.is_empty(), "the commit was cut short: {differ:?}");
    run(&tree, &up, &["check", "--installed"]).code(0);
    assert_no_leftovers(&tree);
}

#[test]
fn random_sigkill_and_sigint_across_the_whole_run_leave_old_or_new_and_converge() {
    // Kill points spread over resolving, downloading, staging and the
    // commit phase (spaced by VENDOR_TEST_COMMIT_DELAY_MS), from a fixed
    // seed so a failure can be replayed: every tracked file is old or new,
    // and the next run leaves no temporary file anywhere and converges.
    const DELAY_MS: u64 = 60;
    let up = Upstream::with_next();
    let reference = two_bumps(&up);
    let before = reference.hashes();
    let started = Instant::now();
    run(&reference, &up, &["apply"]).code(0);
    let span = started.elapsed().as_millis() as u64 + 7 * DELAY_MS;
    let after = reference.hashes();
    let tracked: BTreeSet<&String> = before.keys().chain(after.keys()).collect();

    let mut seed: u64 = 0x5eed_2026;
    for round in 0..12 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = (seed >> 33) % span.max(1);
        let signal = if round % 2 == 0 { "KILL" } else { "INT" };
        let tree = two_bumps(&up);
        let child = spawn_apply(&tree, &up, DELAY_MS);
        std::thread::sleep(Duration::from_millis(at));
        send(signal, &child);
        let out = wait_within(child, Duration::from_secs(30));
        let when = format!("SIG{signal} at {at} ms");
        assert_old_or_new(&tree, &tracked, &before, &after, &when);
        if signal == "INT" {
            // Caught: cleaned up by the run itself. On a loaded machine
            // the signal can arrive before the process has installed its
            // handler (it is then ended by the signal, -1 here, having
            // started nothing); the checks below hold either way.
            assert!(
                [0, 130, -1].contains(&out.code),
                "SIGINT at {at} ms: exit {}\n{}",
                out.code,
                out.stderr
            );
            // In the tree: nothing. (The shared cache is checked after the
            // re-run, which removes what a run ended mid-download left.)
            assert_no_staging(&tree);
            assert!(
                !tree.hashes().keys().any(|p| p.contains(".vendor-tmp-")),
                "SIGINT at {at} ms left temporary files"
            );
        }
        run(&tree, &up, &["apply"]).code(0);
        assert_converged(&tree, &tracked, &after, &when);
    }
}

#[test]
fn leftovers_of_killed_runs_are_removed_by_the_next_run() {
    // What SIGKILL or a power cut leaves: temporary halves of atomic
    // writes beside the lock, a pin file and an installed file, a staging
    // area, and an old download in the cache.
    let up = Upstream::current();
    let tree = applied(&up);
    let planted = [
        ".vendor-tmp-lock1".to_owned(),
        format!("{}/.vendor-tmp-pin2", parent_of(MAKEFILE)),
        format!("{}/.vendor-tmp-bin3", parent_of(&k3s_install("amd64"))),
        ".vendor/staging-old/0/file".to_owned(),
    ];
    for p in &planted {
        tree.write(p, "half-written\n");
    }
    let old = tree.cache().join("tmp/download-old");
    let fresh = tree.cache().join("tmp/download-in-flight");
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    std::fs::write(&old, "stale").unwrap();
    std::fs::write(&fresh, "someone else's download").unwrap();
    let status = std::process::Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(&old)
        .status()
        .unwrap();
    assert!(status.success());

    // A read-only command tidies too, when the tree lock is free.
    run(&tree, &up, &["check"]).code(0);
    for p in &planted {
        assert!(!tree.exists(p), "{p} is still there");
    }
    assert!(!tree.exists(".vendor/staging-old"));
    assert!(!old.exists(), "an old cache download is still there");
    assert!(fresh.exists(), "a recent cache file may be another run's");
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or(".", |(dir, _)| dir)
}

#[test]
fn commit_failure_midway_leaves_old_or_new_and_a_rerun_converges() {
    // A failure inside the commit phase (here: a directory where the last
    // binary goes; disk full or EIO behave alike) stops the run after
    // some files were replaced.
    let up = Upstream::with_next();
    let reference = two_bumps(&up);
    let before = reference.hashes();
    run(&reference, &up, &["apply"]).code(0);
    let after = reference.hashes();

    let tree = two_bumps(&up);
    let blocked = k3s_install("arm64");
    tree.remove(&blocked);
    tree.write(&format!("{blocked}/occupied"), "in the way\n");
    let out = run(&tree, &up, &["apply"]);
    out.code(1).stderr_mentions(&blocked);
    assert_no_leftovers(&tree);
    let now = tree.hashes();
    let mut new = 0;
    for path in before.keys().chain(after.keys()) {
        if *path == blocked {
            continue;
        }
        let state = now.get(path);
        assert!(
            state == before.get(path) || state == after.get(path),
            "{path} is neither old nor new"
        );
        new += usize::from(state != before.get(path));
    }
    assert!(new > 0, "the failure was not in the commit phase");
    assert_eq!(now.get(LOCK), before.get(LOCK), "the lock is written last");

    std::fs::remove_dir_all(tree.path(&blocked)).unwrap();
    run(&tree, &up, &["apply"]).code(0);
    run(&tree, &up, &["check", "--installed"]).code(0);
    let differ = reference.changed_since(&tree.hashes());
    assert!(differ.is_empty(), "the re-run did not converge: {differ:?}");
}

#[test]
fn rerun_after_a_kill_cleans_up_the_killed_runs_staging() {
    // Killed after its first write, the run leaves its staging directory
    // (every extracted binary) in .vendor/. The re-run holds the tree lock,
    // so no other run can be using it; it converges but never removes it,
    // and every killed run adds another copy of the artifacts.
    let up = Upstream::with_next();
    let tree = two_bumps(&up);
    kill_apply(&tree, &up, 300, Some(100));
    run(&tree, &up, &["apply"]).code(0);
    run(&tree, &up, &["check", "--installed"]).code(0);
    assert_no_leftovers(&tree);
}

// ---------------------------------------------------------------------------
// 5. Two applies at once on one tree
// ---------------------------------------------------------------------------

#[test]
fn concurrent_applies_are_serialised() {
    let up = Upstream::current();
    let reference = applied(&up);

    let tree = Tree::example();
    let spawn = || {
        vendor(&tree, &up, &["apply"])
            .env("VENDOR_TEST_COMMIT_DELAY_MS", "100")
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outputs: Vec<Output> = [first, second]
        .into_iter()
        .map(|c| Output::from_process(&["apply".into()], &c.wait_with_output().unwrap()))
        .collect();
    for out in &outputs {
        out.code(0);
    }
    let applied_by: Vec<&Output> = outputs
        .iter()
        .filter(|o| o.stdout.contains("Applied:"))
        .collect();
    let idle: Vec<&Output> = outputs
        .iter()
        .filter(|o| o.stdout.contains("Nothing to apply: 5 items in sync."))
        .collect();
    assert_eq!(
        (applied_by.len(), idle.len()),
        (1, 1),
        "expected one apply to do the work and the other to find it done:\n{}\n{}",
        outputs[0].streams(),
        outputs[1].streams()
    );
    assert!(
        outputs.iter().any(|o| o
            .stderr
            .contains("waiting for another vendor run on this tree")),
        "neither run waited for the other"
    );
    let differ = reference.changed_since(&tree.hashes());
    assert!(differ.is_empty(), "the trees differ: {differ:?}");
    run(&tree, &up, &["check", "--installed"]).code(0);
    assert_no_leftovers(&tree);
}

// ---------------------------------------------------------------------------
// 6. The token stays secret
// ---------------------------------------------------------------------------

#[test]
fn token_never_leaves_the_api_requests() {
    let up = Upstream::with_next();
    let tree = Tree::example();
    let with_token = |args: &[&str]| vendor(&tree, &up, args).env("GITHUB_TOKEN", TOKEN).output();
    let mut outputs = vec![with_token(&["-v", "apply"])];
    outputs[0].code(0);

    want_version(&tree, "3.3.4", "3.3.5");
    let plan = with_token(&["plan", "--out", "p.json"]);
    plan.code(0);
    outputs.push(plan);
    let shown = with_token(&["plan", "--format", "json"]);
    shown.code(0);
    outputs.push(shown);

    // A failing apply: the 3.3.5 archive is corrupt on the way.
    let t = Traefik::new("3.3.5");
    let archive = archive_path(&up, &t, "amd64");
    up.fake.fail(
        &archive,
        Fault::WrongBytes(Traefik::build("3.3.5", 'z').archives["amd64"].clone()),
    );
    let failed = with_token(&["-v", "apply"]);
    failed.code(1).stderr_has("checksum mismatch");
    outputs.push(failed);
    // A failing resolution: a release that does not exist.
    want_version(&tree, "3.3.5", "3.3.9");
    let missing = with_token(&["apply"]);
    missing.code(1).stderr_has("v3.3.9");
    outputs.push(missing);

    for out in &outputs {
        assert!(
            !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
            "the token is in the output of `{}`\n{}",
            out.command,
            out.streams()
        );
    }
    let mut files = Vec::new();
    all_files(tree.root(), &mut files);
    all_files(tree.cache(), &mut files);
    assert!(files.iter().any(|f| f.ends_with("p.json")));
    assert!(files.iter().any(|f| f.ends_with(LOCK)));
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
            "the token is in {}",
            file.display()
        );
    }

    // Authorization went to the API and nowhere else: not to downloads,
    // not to checksum files.
    let requests = up.fake.requests();
    assert!(requests.iter().any(|r| r.path.starts_with("/dl/")));
    for r in &requests {
        let api = r.path.starts_with("/api/v3/");
        assert_eq!(
            r.authorization.as_deref(),
            api.then(|| format!("Bearer {TOKEN}")).as_deref(),
            "{} {}",
            r.method,
            r.path
        );
    }
}

// ---------------------------------------------------------------------------
// 7. --locked, --frozen, --offline
// ---------------------------------------------------------------------------

#[test]
fn frozen_reinstalls_from_the_cache_without_the_network() {
    let up = Upstream::with_next();
    let t = Traefik::new("3.3.4");
    let tree = applied(&up);
    let state = tree.hashes();
    for arch in ARCHES {
        tree.remove(&traefik_install(arch));
    }
    run(&tree, &up, &["check", "--installed"])
        .code(2)
        .stdout_has(&format!(
            "not-installed traefik: {} is not installed",
            traefik_install("amd64")
        ));

    up.fake.clear_requests();
    run(&tree, &up, &["--frozen", "apply"])
        .code(0)
        .stdout_has("2 files installed, 0 lock changes.");
    assert_eq!(up.fake.requests(), [], "--frozen went online");
    for arch in ARCHES {
        assert_installed(&tree, &traefik_install(arch), &t.binaries[arch], 0o755);
    }
    tree.assert_unchanged(&state);
    run(&tree, &up, &["check", "--installed"]).code(0);
}

#[test]
fn locked_refuses_an_outdated_lock() {
    let up = Upstream::with_next();
    let tree = applied(&up);
    want_version(&tree, "3.3.4", "3.3.5");
    for flag in ["--locked", "--frozen"] {
        let before = tree.hashes();
        up.fake.clear_requests();
        run(&tree, &up, &[flag, "apply"]).code(1).stderr_mentions(
            "the lock is not up to date for traefik (--locked forbids changing it)",
        );
        tree.assert_unchanged(&before);
        assert_no_leftovers(&tree);
        if flag == "--frozen" {
            assert_eq!(up.fake.requests(), [], "--frozen went online");
        }
    }
}

#[test]
fn offline_with_an_empty_cache_changes_nothing() {
    let up = Upstream::current();
    // A complete lock, but this machine's cache is empty.
    let tree = applied(&up);
    let elsewhere = Tree::new();
    for arch in ARCHES {
        tree.remove(&traefik_install(arch));
    }
    up.fake.clear_requests();
    let before = tree.hashes();
    let out = vendor(&tree, &up, &["--offline", "apply"])
        .env("VENDOR_CACHE_DIR", elsewhere.cache())
        .output();
    out.code(1)
        .stderr_mentions(&format!(
            "{} is not in the download cache and --offline forbids downloading it",
            up.download_url(
                TRAEFIK_REPO,
                "v3.3.4",
                &Traefik::new("3.3.4").archive_name("amd64")
            )
        ))
        .stderr_has("vendor fetch");
    tree.assert_unchanged(&before);
    assert_eq!(up.fake.requests(), []);

    // Never resolved on this machine: offline cannot know what to fetch.
    let fresh = Tree::example();
    let before = fresh.hashes();
    let out = run(&fresh, &up, &["--offline", "apply"]);
    out.code(1)
        .stderr_mentions("cannot be applied: offline: not resolved before on this machine");
    fresh.assert_unchanged(&before);
    assert_no_leftovers(&fresh);
    assert_eq!(up.fake.requests(), []);
}

#[test]
fn fetch_then_offline_apply_works_without_the_network() {
    // `apply --offline` on an unresolved item says: "run online, or
    // `vendor fetch` first while online". Doing exactly that must work.
    let up = Upstream::current();
    let tree = Tree::example();
    let before = tree.hashes();
    run(&tree, &up, &["fetch"])
        .code(0)
        .stdout_has("Fetched 8 artifacts");
    tree.assert_unchanged(&before);

    up.fake.clear_requests();
    run(&tree, &up, &["--offline", "apply"])
        .code(0)
        .stdout_has("8 files installed");
    assert_eq!(up.fake.requests(), [], "the offline apply went online");
    run(&tree, &up, &["check", "--installed"]).code(0);
}

// ---------------------------------------------------------------------------
// 8. Saved plans with downloads
// ---------------------------------------------------------------------------

#[test]
fn saved_plan_installs_exactly_what_was_planned() {
    let up = Upstream::with_next();
    let new = Traefik::new("3.3.5");
    let tree = applied(&up);
    want_version(&tree, "3.3.4", "3.3.5");
    run(&tree, &up, &["plan", "--out", "p.json"]).code(0);
    let saved: serde_json::Value = serde_json::from_str(&tree.read("p.json")).unwrap();
    let traefik = saved["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "traefik")
        .unwrap();
    let planned: Vec<&str> = traefik["resolve"]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sha256"].as_str().unwrap())
        .collect();
    let served: Vec<String> = ARCHES
        .iter()
        .map(|a| sha256_hex(&new.archives[a]))
        .collect();
    assert_eq!(planned, served);

    up.fake.clear_requests();
    run(&tree, &up, &["apply", "p.json"])
        .code(0)
        .stdout_has("Applied: 1 pin rewrite in 1 file, 2 files installed, 1 lock change.");
    // The plan's resolution is used as is: downloads only, no API calls.
    let requests = up.fake.requests();
    assert!(
        requests.iter().all(|r| r.path.starts_with("/dl/")),
        "{requests:?}"
    );
    for arch in ARCHES {
        assert_installed(&tree, &traefik_install(arch), &new.binaries[arch], 0o755);
    }
    run(&tree, &up, &["check", "--installed"]).code(0);
}

#[test]
fn saved_plan_refuses_an_asset_swapped_after_planning() {
    let up = Upstream::with_next();
    let tree = applied(&up);
    want_version(&tree, "3.3.4", "3.3.5");
    run(&tree, &up, &["plan", "--out", "p.json"]).code(0);

    // Upstream replaces the 3.3.5 archives (and their checksum file) with
    // another build of the same size.
    let planned = Traefik::new("3.3.5");
    let swapped = Traefik::build("3.3.5", 'x');
    for arch in ARCHES {
        assert_eq!(planned.archives[arch].len(), swapped.archives[arch].len());
    }
    up.traefik(&swapped);

    let out = apply_fails_cleanly(&tree, &up, &["p.json"], &[]);
    out.stderr_has("checksum-mismatch");
    // Both downloads run at once: either may be the one reported.
    let reported = ARCHES.iter().find(|arch| {
        let url = up.download_url(TRAEFIK_REPO, "v3.3.5", &planned.archive_name(arch));
        out.stderr.contains(&planned.archive_name(arch))
            && squeeze(&out.stderr).contains(&format!(
                "checksummismatchfor{url}:expectedsha256{},got{}",
                sha256_hex(&planned.archives[*arch]),
                sha256_hex(&swapped.archives[*arch])
            ))
    });
    assert!(reported.is_some(), "{}", out.streams());
}

// ---------------------------------------------------------------------------
// 9. Artifact drift is found and repaired from the cache
// ---------------------------------------------------------------------------

#[test]
fn modified_binary_is_drift_and_offline_apply_restores_it() {
    let up = Upstream::current();
    let t = Traefik::new("3.3.4");
    let tree = applied(&up);
    let state = tree.hashes();
    let amd64 = traefik_install("amd64");
    let tampered = b"#!/bin/sh\necho backdoored\n";
    tree.write(&amd64, tampered);
    tree.set_mode(&amd64, 0o755);

    run(&tree, &up, &["check"])
        .code(2)
        .stdout_has(&format!(
            "artifact-drift traefik: {amd64}: sha256 is {}, expected {}",
            sha256_hex(tampered),
            sha256_hex(&t.binaries["amd64"])
        ))
        .stdout_has("check: 1 finding.");

    run(&tree, &up, &["--offline", "plan"])
        .code(0)
        .stdout_has(&format!("  + install {amd64} (from the lock)\n"))
        .stdout_has("1 file to reinstall.");
    up.fake.clear_requests();
    run(&tree, &up, &["--offline", "apply"]).code(0);
    assert_eq!(up.fake.requests(), []);
    assert_installed(&tree, &amd64, &t.binaries["amd64"], 0o755);
    tree.assert_unchanged(&state);
    run(&tree, &up, &["check"]).code(0);

    // A mode change is drift too.
    let arm64 = traefik_install("arm64");
    tree.set_mode(&arm64, 0o644);
    run(&tree, &up, &["check"]).code(2).stdout_has(&format!(
        "artifact-drift traefik: {arm64}: mode is 0644, expected 0755"
    ));
    run(&tree, &up, &["--offline", "apply"]).code(0);
    assert_eq!(tree.mode(&arm64), 0o755);
    run(&tree, &up, &["check", "--installed"]).code(0);
}

#[test]
fn repairing_one_file_leaves_the_others_alone() {
    // The plan says "1 file to reinstall"; apply must do that, not replace
    // the intact arm64 binary too (new inode and mtime: rebuilds, noise).
    let up = Upstream::current();
    let tree = applied(&up);
    let amd64 = traefik_install("amd64");
    let arm64 = traefik_install("arm64");
    tree.write(&amd64, b"#!/bin/sh\necho backdoored\n");
    let intact = tree.file_id(&arm64);
    run(&tree, &up, &["--offline", "plan"])
        .code(0)
        .stdout_has("1 file to reinstall.");
    run(&tree, &up, &["--offline", "apply"])
        .code(0)
        .stdout_has("Applied: 0 pin rewrites in 0 files, 1 file installed, 0 lock changes.");
    assert_eq!(tree.file_id(&arm64), intact, "the intact file was replaced");
    run(&tree, &up, &["check", "--installed"]).code(0);
}

// ---------------------------------------------------------------------------
// 10. Mirrors
// ---------------------------------------------------------------------------

#[test]
fn mirrors_serve_github_urls_and_the_lock_keeps_the_originals() {
    let up = Upstream::current();
    let t = Traefik::new("3.3.4");
    let tree = Tree::new();
    tree.write(
        MANIFEST,
        "version: 1\n\
         items:\n\
         \x20 traefik:\n\
         \x20   version: 3.3.4\n\
         \x20   source:\n\
         \x20     type: url\n\
         \x20   platforms: [linux/amd64]\n\
         \x20   assets:\n\
         \x20     - url: https://github.com/traefik/traefik/releases/download/v{version}/traefik_v{version}_{os}_{arch}.tar.gz\n\
         \x20       checksum:\n\
         \x20         file: traefik_v{version}_checksums.txt\n\
         \x20       extract:\n\
         \x20         member: traefik\n\
         \x20       install: bin/traefik\n\
         \x20       mode: \"0755\"\n",
    );
    let out = vendor(&tree, &up, &["apply"])
        .env("VENDOR_MIRRORS", up.fake.mirrors())
        .output();
    out.code(0).stdout_has("1 file installed");
    assert_installed(&tree, "bin/traefik", &t.binaries["amd64"], 0o755);

    let original = "https://github.com/traefik/traefik/releases/download/v3.3.4";
    let lock = lock_yaml(&tree);
    let a = find(
        &lock["items"]["traefik"]["artifacts"],
        "name",
        &t.archive_name("amd64"),
    );
    assert_eq!(
        str_of(&a["url"]),
        format!("{original}/{}", t.archive_name("amd64"))
    );
    assert_eq!(
        str_of(&a["trust"]["by"]),
        format!("{original}/{}", t.checksums_name())
    );
    assert!(
        !tree.read(LOCK).contains(&up.fake.url()),
        "the mirror leaked into the lock"
    );
    // Both files came from the mirror.
    let served: Vec<String> = up
        .fake
        .requests_to("/dl/traefik/traefik/releases/download/v3.3.4/")
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        served,
        [
            format!(
                "/dl/traefik/traefik/releases/download/v3.3.4/{}",
                t.checksums_name()
            ),
            format!(
                "/dl/traefik/traefik/releases/download/v3.3.4/{}",
                t.archive_name("amd64")
            ),
        ]
    );
    run(&tree, &up, &["check", "--installed"]).code(0);
}

#[test]
fn apt_snapshot_timestamps_are_checked_against_the_snapshot_service() {
    let up = Upstream::current();
    let page = up
        .fake
        .file("/snapshots/ubuntu/20240301T000000Z/", "<html>index</html>");
    let base = page
        .trim_end_matches("20240301T000000Z/")
        .trim_end_matches('/')
        .to_owned();
    let tree = Tree::new();
    tree.write("build.yaml", "env:\n  APT_SNAPSHOT: '20240301T000000Z'\n");
    let manifest = |version: &str| {
        format!(
            "version: 1\n\
             items:\n\
             \x20 apt:\n\
             \x20   version: {version}\n\
             \x20   source: {{type: apt-snapshot, url: \"{base}\"}}\n\
             \x20   pins:\n\
             \x20     - file: build.yaml\n\
             \x20       yaml: env.APT_SNAPSHOT\n"
        )
    };
    tree.write(MANIFEST, manifest("20240301T000000Z"));
    vendor(&tree, &up, &["plan"])
        .output()
        .code(0)
        .stdout_has("✓ resolved snapshot 20240301T000000Z");
    vendor(&tree, &up, &["apply"]).output().code(0);
    assert!(
        lock_yaml(&tree)["items"]["apt"]["resolved"]["tag"].as_str() == Some("20240301T000000Z")
    );

    // A timestamp the service does not have: named, and nothing changes.
    tree.write(MANIFEST, manifest("20240302T000000Z"));
    let before = tree.hashes();
    vendor(&tree, &up, &["apply"])
        .output()
        .code(1)
        .stderr_has("vendor::resolve::snapshot-missing")
        .stderr_mentions("the APT snapshot 20240302T000000Z does not exist");
    assert_eq!(tree.hashes(), before);
}
