//! APT snapshots and packages as verified upstreams, against a real
//! archive the test builds with Debian's tools (`dpkg-deb`,
//! `apt-ftparchive`, `gpg --clearsign`; cross-checked with `gpgv`) and
//! serves from 127.0.0.1 at two snapshot timestamps.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/build.rs"]
mod build;

#[path = "support/keys.rs"]
mod keys;

#[path = "support/apt_repo.rs"]
mod apt_repo;

use apt_repo::{AptRepo, Pkg, Server};
use build::sha256_hex;
use support::Tree;

const A: &str = "20240301T000000Z";
const B: &str = "20240315T000000Z";

/// The archive: at A, `noble` has dracut 059-4 and the 6.8.0-45 kernel and
/// `noble-updates` is empty; at B, `noble-updates` adds dracut
/// 060+5-1ubuntu3, the GA kernel 6.8.0-51, the HWE kernel 6.11.0-19, and
/// a lowlatency flavour.
struct Fixture {
    repo: AptRepo,
    server: Server,
    tree: Tree,
}

fn noble() -> Vec<Pkg> {
    vec![
        Pkg::new("dracut", "059-4", "all"),
        Pkg::kernel("6.8.0-45-generic", "6.8.0-45.45"),
    ]
}

fn fixture() -> Fixture {
    let repo = AptRepo::new();
    repo.snapshot(A, &[("noble", noble()), ("noble-updates", Vec::new())]);
    repo.snapshot(
        B,
        &[
            ("noble", noble()),
            (
                "noble-updates",
                vec![
                    Pkg::new("dracut", "060+5-1ubuntu3", "all"),
                    Pkg::kernel("6.8.0-51-generic", "6.8.0-51.52").compressed("zstd"),
                    Pkg::kernel("6.11.0-19-generic", "6.11.0-19.19~24.04.1").compressed("gzip"),
                    Pkg::kernel("6.8.0-52-lowlatency", "6.8.0-52.53"),
                ],
            ),
        ],
    );
    let server = Server::start(repo.base());
    let tree = Tree::new();
    tree.write("keys/archive.asc", repo.keyring());
    tree.write(
        "vendor.yaml",
        manifest(
            &server.base_url(),
            A,
            "6.8.0-45-generic",
            "noble, noble-updates",
        ),
    );
    tree.write(
        "build.yaml",
        format!("env:\n  APT_SNAPSHOT: '{A}'\n  KERNEL_VERSION: 6.8.0-45-generic\n"),
    );
    Fixture { repo, server, tree }
}

fn manifest(base: &str, snapshot: &str, kernel: &str, suites: &str) -> String {
    format!(
        "version: 1
items:
  dracut-apt-snapshot:
    version: {snapshot}
    source:
      type: apt-snapshot
      url: {base}
      suites: [{suites}]
      architectures: [amd64]
      keyring: keys/archive.asc
      packages: [dracut]
      latest: {base}/latest
    pins:
      - file: build.yaml
        yaml: env.APT_SNAPSHOT
  kernel:
    version: {kernel}
    source:
      type: apt-package
      snapshot: dracut-apt-snapshot
      package: linux-image-{{version}}
    versioning: loose
    constraint: '~6.8'
    pins:
      - file: build.yaml
        yaml: env.KERNEL_VERSION
    policy:
      sign_off: release-engineering
"
    )
}

impl Fixture {
    fn file(&self, ts: &str, rel: &str) -> Vec<u8> {
        std::fs::read(self.repo.snapshot_dir(ts).join(rel)).unwrap()
    }

    fn deb_sha(&self, ts: &str, suite: &str, name: &str, version: &str, arch: &str) -> String {
        sha256_hex(&self.file(ts, &format!("pool/{suite}/{name}_{version}_{arch}.deb")))
    }
}

#[test]
fn apply_locks_the_signed_chain() {
    let f = fixture();
    let out = f.tree.run(&["apply"]);
    out.code(0);
    let lock = f.tree.read("vendor.lock.yaml");
    // Each suite's InRelease, by its real bytes, its signer and Date.
    for suite in ["noble", "noble-updates"] {
        let inrelease = f.file(A, &format!("dists/{suite}/InRelease"));
        assert!(lock.contains(&sha256_hex(&inrelease)), "{suite}:\n{lock}");
    }
    assert!(
        lock.contains(&format!("signer: pgp:{}", f.repo.fpr)),
        "{lock}"
    );
    assert!(lock.contains("date: "), "{lock}");
    // The tracked package and the kernel, with their .deb hashes.
    let dracut = f.deb_sha(A, "noble", "dracut", "059-4", "all");
    assert!(lock.contains(&dracut), "{lock}");
    assert!(lock.contains("version: 059-4"), "{lock}");
    let kernel = f.deb_sha(
        A,
        "noble",
        "linux-image-6.8.0-45-generic",
        "6.8.0-45.45",
        "amd64",
    );
    assert!(lock.contains(&kernel), "{lock}");
    assert!(lock.contains(&format!("snapshot: {A}")), "{lock}");
    // In sync afterwards, offline too.
    f.tree.run(&["--offline", "check"]).code(0);
    f.tree.run(&["check", "--upstream"]).code(0);
}

#[test]
fn snapshot_bump_shows_what_moved_and_rechecks_the_kernel() {
    let f = fixture();
    f.tree.run(&["apply"]).code(0);
    let old = f.tree.read("vendor.lock.yaml");
    f.tree.write("old.lock.yaml", &old);
    f.tree.run(&["bump", "dracut-apt-snapshot", B]).code(0);
    assert!(
        f.tree
            .read("vendor.yaml")
            .contains(&format!("version: {B}"))
    );
    let plan = f.tree.run(&["plan"]);
    plan.code(0)
        .stdout_has(&format!("snapshot of dracut-apt-snapshot {A} → {B}"));
    f.tree.run(&["apply"]).code(0);
    assert!(f.tree.read("build.yaml").contains(B));
    let diff = f.tree.run(&["diff", "old.lock.yaml", "vendor.lock.yaml"]);
    diff.code(0)
        .stdout_has("package dracut (all) 059-4 → 060+5-1ubuntu3")
        .stdout_has("suite noble-updates")
        // The kernel's package is the same file in both snapshots.
        .stdout_lacks("re-tag")
        .stdout_lacks("package linux-image");
    let commit = f.tree.run(&[
        "diff",
        "old.lock.yaml",
        "vendor.lock.yaml",
        "--format",
        "commit",
    ]);
    commit
        .code(0)
        .stdout_has(&format!(
            "chore(dracut-apt-snapshot): bump dracut-apt-snapshot {A} → {B}"
        ))
        .stdout_has("dracut (all) 059-4 → 060+5-1ubuntu3")
        .stdout_has("kernel 6.8.0-45-generic was checked again at the new snapshot");
    // The kernel was checked again at the new snapshot, not bumped: one
    // bump in this change.
    let lock = f.tree.read("vendor.lock.yaml");
    assert!(lock.contains(&format!("snapshot: {B}")), "{lock}");
    assert!(lock.contains("version: 6.8.0-45-generic"), "{lock}");
}

#[test]
fn kernel_bump_checks_the_package_exists_at_the_snapshot() {
    let f = fixture();
    f.tree.run(&["apply"]).code(0);
    let before = f.tree.hashes();
    // 6.8.0-51 is only in the newer snapshot.
    let out = f.tree.run(&["bump", "kernel", "6.8.0-51-generic"]);
    out.code(1)
        .stderr_mentions("has no package `linux-image-6.8.0-51-generic`")
        .stderr_mentions("vendor.yaml is unchanged");
    f.tree.assert_unchanged(&before);
    // At the newer snapshot it exists.
    f.tree
        .run(&["bump", "dracut-apt-snapshot", B, "--apply"])
        .code(0);
    let out = f.tree.run(&["bump", "kernel", "6.8.0-51-generic"]);
    out.code(0)
        .stderr_mentions("requires sign-off by release-engineering");
    f.tree.run(&["apply"]).code(0);
    assert!(
        f.tree
            .read("build.yaml")
            .contains("KERNEL_VERSION: 6.8.0-51-generic")
    );
}

#[test]
fn typo_in_the_abi_suggests_the_nearest() {
    let f = fixture();
    f.tree
        .run(&["bump", "dracut-apt-snapshot", B, "--apply"])
        .code(0);
    let before = f.tree.hashes();
    let out = f.tree.run(&["bump", "kernel", "6.8.0-54-generic"]);
    out.code(1)
        .stderr_mentions("linux-image-6.8.0-54-generic")
        .stderr_mentions("did you mean `6.8.0-51-generic`?");
    f.tree.assert_unchanged(&before);
}

#[test]
fn a_snapshot_that_drops_the_pinned_kernel_fails_before_anything_is_written() {
    let f = fixture();
    f.tree
        .run(&["bump", "dracut-apt-snapshot", B, "--apply"])
        .code(0);
    f.tree
        .run(&["bump", "kernel", "6.8.0-51-generic", "--apply"])
        .code(0);
    // Back to the older snapshot, which cannot install that kernel: the
    // bump refuses before writing anything.
    let before = f.tree.hashes();
    f.tree
        .run(&["bump", "dracut-apt-snapshot", A])
        .code(1)
        .stderr_mentions("kernel 6.8.0-51-generic is not in dracut-apt-snapshot 20240301T000000Z")
        .stderr_mentions("vendor.yaml is unchanged");
    f.tree.assert_unchanged(&before);
    // Edited by hand instead: plan and apply fail, nothing is written.
    f.tree.replace_once(
        "vendor.yaml",
        &format!("version: {B}"),
        &format!("version: {A}"),
    );
    let before = f.tree.hashes();
    f.tree
        .run(&["plan"])
        .code(1)
        .stderr_mentions("has no package `linux-image-6.8.0-51-generic`");
    f.tree
        .run(&["apply"])
        .code(1)
        .stderr_mentions("linux-image-6.8.0-51-generic");
    f.tree.assert_unchanged(&before);
}

#[test]
fn outdated_kernel_lists_ga_and_hwe_abis_of_the_same_flavour() {
    let f = fixture();
    f.tree
        .run(&["bump", "dracut-apt-snapshot", B, "--apply"])
        .code(0);
    let out = f.tree.run(&["outdated", "kernel", "--format", "json"]);
    out.code(2);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let row = &json["items"][0];
    // The GA line (~6.8) allows 6.8.0-51; the HWE 6.11 is newest overall;
    // the lowlatency flavour is not this kernel's.
    assert_eq!(row["newest_allowed"], "6.8.0-51-generic", "{json}");
    assert_eq!(row["newest"], "6.11.0-19-generic", "{json}");
    assert!(!out.stdout.contains("lowlatency"), "{}", out.stdout);
    // Without the constraint, the HWE kernel is the update.
    f.tree
        .edit("vendor.yaml", |t| t.replace("    constraint: '~6.8'\n", ""));
    let out = f.tree.run(&["outdated", "kernel", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out.code(2).stdout).unwrap();
    assert_eq!(json["items"][0]["newest_allowed"], "6.11.0-19-generic");
}

#[test]
fn outdated_snapshot_says_which_tracked_packages_move() {
    let f = fixture();
    f.tree.run(&["apply"]).code(0);
    let out = f.tree.run(&["outdated", "dracut-apt-snapshot"]);
    out.code(2)
        .stdout_has("dracut (all) 059-4 → 060+5-1ubuntu3")
        .stdout_has("update");
}

#[test]
fn bump_to_latest_takes_the_archive_timestamp() {
    let f = fixture();
    let out = f.tree.run(&["bump", "dracut-apt-snapshot", "latest"]);
    out.code(0)
        .stderr_mentions("the newest snapshot of dracut-apt-snapshot is ");
    // The archive's own time: the newest `Date` of the suites at `latest`.
    let release = String::from_utf8(f.file(B, "dists/noble-updates/Release")).unwrap();
    let date = release
        .lines()
        .find_map(|l| l.strip_prefix("Date: "))
        .unwrap();
    let manifest = f.tree.read("vendor.yaml");
    let version = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("version: 20"))
        .map(|v| format!("20{v}"))
        .unwrap();
    assert_eq!(version.len(), 16, "{manifest}");
    // `Tue, 01 Dec 2026 11:39:20 +0000` → the year, day and time digits.
    let parts: Vec<&str> = date.split_whitespace().collect();
    assert!(version.starts_with(parts[3]), "{version} vs {date}");
    assert!(
        version.ends_with(&format!("{}Z", parts[4].replace(':', ""))),
        "{version} vs {date}"
    );
    f.tree.run(&["apply"]).code(0);
    assert!(f.tree.read("vendor.lock.yaml").contains("060+5-1ubuntu3"));
}

#[test]
fn a_packages_index_that_is_not_the_signed_one_is_refused() {
    let f = fixture();
    // Every copy the server has of B's noble-updates index, altered after
    // the release was signed.
    let dir = f
        .repo
        .snapshot_dir(B)
        .join("dists/noble-updates/main/binary-amd64");
    let mut files = vec![
        dir.join("Packages.xz"),
        dir.join("Packages.gz"),
        dir.join("Packages"),
    ];
    for entry in std::fs::read_dir(dir.join("by-hash/SHA256")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files {
        // Same size, one byte changed.
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x20;
        std::fs::write(&file, bytes).unwrap();
    }
    f.tree.replace_once(
        "vendor.yaml",
        &format!("version: {A}"),
        &format!("version: {B}"),
    );
    let before = f.tree.hashes();
    f.tree
        .run(&["apply"])
        .code(1)
        .stderr_mentions("checksum mismatch")
        .stderr_mentions("the signed release of suite noble-updates lists sha256");
    f.tree.assert_unchanged(&before);
}

#[test]
fn unsigned_or_wrongly_signed_releases_are_refused() {
    let f = fixture();
    let dists = f.repo.snapshot_dir(A).join("dists/noble");
    let before = f.tree.hashes();
    // Unsigned: InRelease holds the bare Release text.
    let release = std::fs::read(dists.join("Release")).unwrap();
    let signed = std::fs::read(dists.join("InRelease")).unwrap();
    std::fs::write(dists.join("InRelease"), &release).unwrap();
    f.tree
        .run(&["apply"])
        .code(1)
        .stderr_mentions("InRelease of suite noble")
        .stderr_mentions("not cleartext-signed");
    f.tree.assert_unchanged(&before);
    // Altered after signing.
    let text = String::from_utf8(signed.clone()).unwrap();
    std::fs::write(
        dists.join("InRelease"),
        text.replacen("Origin: Test", "Origin: Evil", 1),
    )
    .unwrap();
    f.tree
        .run(&["apply"])
        .code(1)
        .stderr_mentions("fails verification");
    f.tree.assert_unchanged(&before);
    // Signed by a key that is not the archive's.
    let other = keys::Keys::new();
    let fpr = other.pgp_key("intruder");
    let rel = dists.join("Release").to_string_lossy().into_owned();
    let out = other.path("InRelease").to_string_lossy().into_owned();
    other.gpg(&["--local-user", &fpr, "--clearsign", "--output", &out, &rel]);
    std::fs::write(dists.join("InRelease"), other.read("InRelease")).unwrap();
    f.tree
        .run(&["apply"])
        .code(1)
        .stderr_mentions("fails verification")
        .stderr_mentions(&fpr);
    f.tree.assert_unchanged(&before);
    // Detached signatures: no InRelease, Release + Release.gpg verify.
    std::fs::remove_file(dists.join("InRelease")).unwrap();
    f.tree.run(&["apply"]).code(0);
    // And without Release.gpg, the suite is unsigned.
    std::fs::remove_file(dists.join("Release.gpg")).unwrap();
    f.tree.replace_once(
        "vendor.yaml",
        "packages: [dracut]",
        "packages: [dracut, linux-image-6.8.0-45-generic]",
    );
    let before = f.tree.hashes();
    f.tree
        .run(&["apply"])
        .code(1)
        .stderr_mentions("is not signed");
    f.tree.assert_unchanged(&before);
}

#[test]
fn a_missing_suite_or_snapshot_is_an_error() {
    let f = fixture();
    f.tree.write(
        "vendor.yaml",
        manifest(
            &f.server.base_url(),
            A,
            "6.8.0-45-generic",
            "noble, noble-backports",
        ),
    );
    let before = f.tree.hashes();
    f.tree
        .run(&["apply"])
        .code(1)
        .stderr_mentions("has no suite noble-backports");
    f.tree.assert_unchanged(&before);
    // A snapshot older than the archive.
    f.tree.write(
        "vendor.yaml",
        manifest(
            &f.server.base_url(),
            "20200101T000000Z",
            "6.8.0-45-generic",
            "noble",
        ),
    );
    let before = f.tree.hashes();
    f.tree
        .run(&["apply"])
        .code(1)
        .stderr_mentions("snapshot 20200101T000000Z has no suite noble");
    f.tree.assert_unchanged(&before);
    // A tracked package the snapshot does not have, with the nearest name.
    f.tree.write(
        "vendor.yaml",
        manifest(&f.server.base_url(), A, "6.8.0-45-generic", "noble")
            .replace("[dracut]", "[dracutt]"),
    );
    let before = f.tree.hashes();
    f.tree
        .run(&["apply"])
        .code(1)
        .stderr_mentions("has no package `dracutt`")
        .stderr_mentions("did you mean `dracut`?");
    f.tree.assert_unchanged(&before);
}

#[test]
fn offline_from_the_cache_afterwards() {
    let f = fixture();
    f.tree.run(&["apply"]).code(0);
    f.tree
        .run(&["bump", "dracut-apt-snapshot", B, "--apply"])
        .code(0);
    let at_b = f.tree.read("vendor.lock.yaml");
    // Roll back and forth with the archive gone.
    drop(f.server);
    f.tree
        .run(&["--offline", "bump", "dracut-apt-snapshot", A, "--apply"])
        .code(0);
    let lock = f.tree.read("vendor.lock.yaml");
    assert!(
        lock.contains("version: 059-4") && lock.contains(&format!("snapshot: {A}")),
        "{lock}"
    );
    f.tree.run(&["--offline", "check"]).code(0);
    f.tree
        .run(&["--offline", "bump", "dracut-apt-snapshot", B, "--apply"])
        .code(0);
    assert_eq!(f.tree.read("vendor.lock.yaml"), at_b);
    f.tree.run(&["--frozen", "check"]).code(0);
}

/// The kernel item's assets: `boot/vmlinuz-{version}` out of the `.deb`.
const KERNEL_ASSET: &str = "    assets:
      - extract: {member: 'boot/vmlinuz-{version}'}
        install: dist/vmlinuz-{version}
        mode: '0644'
    policy:";

#[test]
fn deb_assets_extract_the_kernel_image() {
    let f = fixture();
    f.tree.edit("vendor.yaml", |t| {
        t.replacen("    policy:", KERNEL_ASSET, 1)
    });
    f.tree.run(&["apply"]).code(0);
    assert_eq!(
        f.tree.read("dist/vmlinuz-6.8.0-45-generic"),
        "kernel image 6.8.0-45-generic 6.8.0-45.45\n"
    );
    // The .deb's sha256 is the one the signed index lists.
    let deb = f.deb_sha(
        A,
        "noble",
        "linux-image-6.8.0-45-generic",
        "6.8.0-45.45",
        "amd64",
    );
    let lock = f.tree.read("vendor.lock.yaml");
    assert!(lock.contains(&format!("sha256: {deb}")), "{lock}");
    assert!(lock.contains("kind: checksum-file"), "{lock}");
    assert!(lock.contains("main/binary-amd64/Packages.xz"), "{lock}");
    // data.tar.zst and data.tar.gz members too.
    f.tree
        .run(&["bump", "dracut-apt-snapshot", B, "--apply"])
        .code(0);
    for abi in ["6.8.0-51-generic", "6.11.0-19-generic"] {
        f.tree.run(&["bump", "kernel", abi, "--apply"]).code(0);
        let image = f.tree.read(&format!("dist/vmlinuz-{abi}"));
        assert!(
            image.starts_with(&format!("kernel image {abi} ")),
            "{image}"
        );
    }
    // Reinstalled offline from the cache.
    f.tree.remove("dist/vmlinuz-6.11.0-19-generic");
    drop(f.server);
    f.tree.run(&["--offline", "apply"]).code(0);
    f.tree.run(&["--frozen", "check", "--installed"]).code(0);
}

#[test]
fn a_deb_that_is_not_the_listed_one_is_refused() {
    let f = fixture();
    f.tree.edit("vendor.yaml", |t| {
        t.replacen("    policy:", KERNEL_ASSET, 1)
    });
    // Same size, other bytes: the .deb in the pool is not the one the
    // signed index lists.
    let deb = f
        .repo
        .snapshot_dir(A)
        .join("pool/noble/linux-image-6.8.0-45-generic_6.8.0-45.45_amd64.deb");
    let mut bytes = std::fs::read(&deb).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&deb, bytes).unwrap();
    let before = f.tree.hashes();
    f.tree
        .run(&["apply"])
        .code(1)
        .stderr_mentions("checksum mismatch");
    f.tree.assert_unchanged(&before);
}

#[test]
fn an_unverified_snapshot_is_never_locked_offline() {
    let f = fixture();
    f.tree.run(&["apply"]).code(0);
    // A timestamp this machine never verified, set by hand.
    f.tree.replace_once(
        "vendor.yaml",
        &format!("version: {A}"),
        "version: 20240310T000000Z",
    );
    let before = f.tree.hashes();
    f.tree
        .run(&["--offline", "apply"])
        .code(1)
        .stderr_mentions("dracut-apt-snapshot cannot be applied: offline");
    f.tree.assert_unchanged(&before);
    f.tree.run(&["--offline", "check"]).code(2);
}

#[test]
fn check_upstream_reports_a_snapshot_changed_under_its_timestamp() {
    let f = fixture();
    f.tree.run(&["apply"]).code(0);
    // The archive republishes noble-updates at the same timestamp: a new
    // package, a new (validly signed) release.
    let root = f.repo.snapshot_dir(A);
    std::fs::remove_dir_all(root.join("dists/noble-updates")).unwrap();
    f.repo.snapshot(
        A,
        &[("noble-updates", vec![Pkg::new("dracut", "059-5", "all")])],
    );
    let out = f.tree.run(&["check", "--upstream"]);
    out.code(2)
        .stdout_has("release of suite noble-updates (snapshot 20240301T000000Z)")
        .stdout_has("dracut (all)");
}

#[test]
fn apt_source_lists_are_pinned_and_must_install_only_what_is_verified() {
    let f = fixture();
    let base = f.server.base_url();
    f.tree.edit("vendor.yaml", |m| {
        m.replacen(
            "        yaml: env.APT_SNAPSHOT\n",
            &format!(
                "        yaml: env.APT_SNAPSHOT\n      \
                 - file: apt/build.list\n        apt_sources: {base}\n        count: 3\n      \
                 - file: apt/build.sources\n        apt_sources: {base}/\n"
            ),
            1,
        )
    });
    // One suite per one-line entry; several in a deb822 stanza. Source
    // entries follow the snapshot too; the other mirror is not a pin.
    let list = format!(
        "# build host\n\
         deb [arch=amd64 signed-by=/etc/apt/keyrings/archive.asc] {base}/{A} noble main\n\
         deb {base}/{A}/ noble-updates main\n\
         deb-src {base}/{A} noble main\n\
         deb http://other.example/debian bookworm main\n"
    );
    let stanza = format!(
        "Types: deb\nURIs: {base}/{A}\nSuites: noble\n  noble-updates\nComponents: main\n\
         Architectures: amd64\nSigned-By: /etc/apt/keyrings/archive.asc\n"
    );
    f.tree.write("apt/build.list", &list);
    f.tree.write("apt/build.sources", &stanza);
    f.tree.run(&["apply"]).code(0);
    f.tree.run(&["check"]).code(0);
    // A bump rewrites the timestamp in every URI, and nothing else.
    f.tree
        .run(&["bump", "dracut-apt-snapshot", B, "--apply"])
        .code(0);
    assert_eq!(f.tree.read("apt/build.list"), list.replace(A, B));
    assert_eq!(f.tree.read("apt/build.sources"), stanza.replace(A, B));
    f.tree.run(&["check"]).code(0);
    // A list that drifted from the lock.
    f.tree.replace_once(
        "apt/build.list",
        &format!("{B}/ noble-updates"),
        &format!("{A}/ noble-updates"),
    );
    f.tree
        .run(&["check"])
        .code(2)
        .stdout_has(&format!("apt/build.list:3 apt_sources {base}"));
    f.tree.run(&["apply"]).code(0);
    assert_eq!(f.tree.read("apt/build.list"), list.replace(A, B));
    // A suite the item does not verify: an error, and nothing is written.
    f.tree.replace_once(
        "apt/build.sources",
        "  noble-updates\n",
        "  noble-updates noble-backports\n",
    );
    let before = f.tree.hashes();
    for args in [&["check"][..], &["plan"], &["apply"]] {
        f.tree
            .run(args)
            .code(1)
            .stderr_mentions("apt/build.sources: line 1: the entry installs from suite noble-backports, which the item does not verify");
    }
    f.tree.assert_unchanged(&before);
}

#[test]
fn the_kernel_must_exist_for_every_build_architecture() {
    let repo = AptRepo::new().for_archs(&["amd64", "arm64"]);
    let k47 = Pkg::kernel("6.8.0-47-generic", "6.8.0-47.47");
    repo.snapshot(
        A,
        &[(
            "noble",
            vec![
                Pkg::new("dracut", "059-4", "all"),
                // 6.8.0-45 was built for amd64 only.
                Pkg::kernel("6.8.0-45-generic", "6.8.0-45.45"),
                k47.clone(),
                k47.on("arm64"),
            ],
        )],
    );
    let server = Server::start(repo.base());
    let tree = Tree::new();
    tree.write("keys/archive.asc", repo.keyring());
    tree.write(
        "vendor.yaml",
        manifest(&server.base_url(), A, "6.8.0-45-generic", "noble")
            .replace("architectures: [amd64]", "architectures: [amd64, arm64]"),
    );
    tree.write(
        "build.yaml",
        format!("env:\n  APT_SNAPSHOT: '{A}'\n  KERNEL_VERSION: 6.8.0-45-generic\n"),
    );
    let before = tree.hashes();
    tree.run(&["apply"]).code(1).stderr_mentions(
        "snapshot 20240301T000000Z has `linux-image-6.8.0-45-generic` for amd64 but not \
             for arm64",
    );
    tree.assert_unchanged(&before);
    tree.run(&["bump", "kernel", "6.8.0-45-generic"]).code(1);
    tree.assert_unchanged(&before);
    // A kernel built for both installs on both runners.
    tree.run(&["bump", "kernel", "6.8.0-47-generic", "--apply"])
        .code(0);
    tree.run(&["apply"]).code(0);
    let lock = tree.read("vendor.lock.yaml");
    assert!(
        lock.contains("architecture: amd64") && lock.contains("architecture: arm64"),
        "{lock}"
    );
    // `dracut` is `all`: one entry serves both.
    assert!(lock.contains("architecture: all"), "{lock}");
}

// ---------------------------------------------------------------------------
// The example's snapshot mirror
// ---------------------------------------------------------------------------

/// A suite of a snapshot: its name and packages.
type Suite = (&'static str, Vec<Pkg>);

/// The example's snapshot mirror: the packages the initramfs builder
/// installs (`dracut-core`, `zstd`, `jq`, the kernel), for both build
/// architectures, at two snapshots. At A: `noble` has the tools,
/// `noble-updates` the GA kernels 6.8.0-45 and -47 and the HWE kernel
/// 6.11.0-19, `noble-security` is empty. At B: `noble-updates` adds dracut
/// 060+5-1ubuntu3, the GA kernel 6.8.0-51 and the HWE kernel 6.11.0-21,
/// `noble-security` a jq fix.
fn example_snapshots() -> Vec<(&'static str, Vec<Suite>)> {
    let both = |p: Pkg| [p.clone(), p.on("arm64")];
    let tools = || -> Vec<Pkg> {
        [
            Pkg::new("dracut-core", "059-4", "amd64"),
            Pkg::new("zstd", "1.5.5+dfsg2-2build1", "amd64"),
            Pkg::new("jq", "1.7.1-3build1", "amd64"),
        ]
        .into_iter()
        .flat_map(both)
        .collect()
    };
    let kernels = |abis: &[(&str, &str)]| -> Vec<Pkg> {
        abis.iter()
            .flat_map(|(abi, v)| both(Pkg::kernel(abi, v)))
            .collect()
    };
    let ga = [
        ("6.8.0-45-generic", "6.8.0-45.45"),
        ("6.8.0-47-generic", "6.8.0-47.47"),
    ];
    let mut updates_b = kernels(&[
        ga[0],
        ga[1],
        ("6.8.0-51-generic", "6.8.0-51.52"),
        ("6.11.0-19-generic", "6.11.0-19.19~24.04.1"),
        ("6.11.0-21-generic", "6.11.0-21.21~24.04.1"),
    ]);
    updates_b.extend(both(Pkg::new("dracut-core", "060+5-1ubuntu3", "amd64")));
    vec![
        (
            A,
            vec![
                ("noble", tools()),
                (
                    "noble-updates",
                    kernels(&[ga[0], ga[1], ("6.11.0-19-generic", "6.11.0-19.19~24.04.1")]),
                ),
                ("noble-security", Vec::new()),
            ],
        ),
        (
            B,
            vec![
                ("noble", tools()),
                ("noble-updates", updates_b),
                (
                    "noble-security",
                    both(Pkg::new("jq", "1.7.1-3ubuntu0.24.04.1", "amd64")).to_vec(),
                ),
            ],
        ),
    ]
}

/// The example's two APT items, as `check` and `apply` take them.
const EXAMPLE_APT: [&str; 2] = ["dracut-apt-snapshot", "kernel"];

#[test]
fn the_example_lock_is_the_mirrors_signed_chain() {
    let tree = Tree::example();
    let lock = tree.read("vendor.lock.yaml");
    let archive = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(support::EXAMPLE_ARCHIVE);
    // Each suite's InRelease, by its committed bytes.
    for suite in ["noble", "noble-updates", "noble-security"] {
        let inrelease =
            std::fs::read(archive.join(format!("ubuntu/{A}/dists/{suite}/InRelease"))).unwrap();
        assert!(lock.contains(&sha256_hex(&inrelease)), "{suite}:\n{lock}");
    }
    // The kernel's .deb for both build architectures.
    for arch in ["amd64", "arm64"] {
        let deb = std::fs::read(archive.join(format!(
            "ubuntu/{A}/pool/noble-updates/linux-image-6.8.0-45-generic_6.8.0-45.45_{arch}.deb"
        )))
        .unwrap();
        assert!(lock.contains(&sha256_hex(&deb)), "{arch}:\n{lock}");
    }
    // The mirror still serves what the lock recorded, verified again.
    let mut args = vec!["check", "--upstream"];
    args.extend(EXAMPLE_APT);
    tree.run(&args).code(0);
    // Resolved anew, the lock is the same bytes.
    tree.remove("vendor.lock.yaml");
    let mut args = vec!["apply"];
    args.extend(EXAMPLE_APT);
    tree.run(&args).code(0);
    let mut args = vec!["--offline", "check"];
    args.extend(EXAMPLE_APT);
    tree.run(&args).code(0);
}

#[test]
fn the_example_snapshot_bump_is_verified_and_reviewable() {
    let tree = Tree::example();
    let before = tree.hashes();
    // Older than every snapshot of the mirror: refused, nothing written.
    tree.run(&["bump", "dracut-apt-snapshot", "20230101T000000Z"])
        .code(1)
        .stderr_mentions("snapshot 20230101T000000Z has no suite noble");
    tree.assert_unchanged(&before);
    // What the newest snapshot moves.
    tree.run(&["outdated", "dracut-apt-snapshot"])
        .code(2)
        .stdout_has("dracut-core (arm64) 059-4 → 060+5-1ubuntu3")
        .stdout_has("jq (amd64) 1.7.1-3build1 → 1.7.1-3ubuntu0.24.04.1");
    let old = tree.read("vendor.lock.yaml");
    tree.write("old.lock.yaml", &old);
    tree.run(&["bump", "dracut-apt-snapshot", "latest", "--apply"])
        .code(0)
        .stderr_has("the newest snapshot of dracut-apt-snapshot is 20240315T000000Z");
    // The kernel was checked against the new snapshot and stays.
    let lock = tree.read("vendor.lock.yaml");
    assert!(lock.contains("snapshot: 20240315T000000Z"), "{lock}");
    assert!(tree.read(support::WORKFLOW).contains("'20240315T000000Z'"));
    tree.run(&["diff", "old.lock.yaml", "vendor.lock.yaml"])
        .code(0)
        .stdout_has("dracut-core (amd64) 059-4 → 060+5-1ubuntu3")
        .stdout_has("jq (arm64) 1.7.1-3build1 → 1.7.1-3ubuntu0.24.04.1");
    // The kernel: newer GA ABIs of the new snapshot, the HWE line held.
    tree.run(&["outdated", "kernel"])
        .code(2)
        .stdout_has("6.8.0-51-generic")
        .stdout_has("6.11.0-21-generic");
    let before = tree.hashes();
    tree.run(&["bump", "kernel", "6.8.0-51-generik"])
        .code(1)
        .stderr_mentions("did you mean `6.8.0-51-generic`?");
    tree.assert_unchanged(&before);
    tree.run(&["bump", "kernel", "6.8.0-51-generic", "--apply"])
        .code(0)
        .stderr_has("kernel requires sign-off by release-engineering");
    let mut args = vec!["check", "--upstream"];
    args.extend(EXAMPLE_APT);
    tree.run(&args).code(0);
}

/// An independent client agrees: `apt-get update` in a scratch root
/// accepts the example's mirror with the example's keyring (signatures,
/// index hashes), and `apt-cache` picks the versions the lock records.
#[test]
fn apt_get_accepts_the_example_mirror_and_agrees_with_the_lock() {
    let crate_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = tempfile::tempdir().unwrap();
    let dir = |rel: &str| {
        let p = root.path().join(rel);
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    for rel in [
        "etc/apt/preferences.d",
        "etc/apt/apt.conf.d",
        "var/lib/apt/lists/partial",
        "var/cache/apt/archives/partial",
    ] {
        dir(rel);
    }
    let status = dir("var/lib/dpkg").join("status");
    std::fs::write(&status, "").unwrap();
    let parts = dir("etc/apt/sources.list.d");
    std::fs::write(
        parts.join("mirror.sources"),
        format!(
            "Types: deb\nURIs: {}/ubuntu/{A}\nSuites: noble noble-updates noble-security\n\
             Components: main\nArchitectures: amd64 arm64\nSigned-By: {}\n",
            support::example_archive_url(),
            crate_root.join(EXAMPLE_KEYRING).display()
        ),
    )
    .unwrap();
    let options = [
        format!("Dir={}", root.path().display()),
        format!("Dir::State::status={}", status.display()),
        "Dir::Etc::SourceList=/dev/null".to_owned(),
        format!("Dir::Etc::SourceParts={}", parts.display()),
        "APT::Architecture=amd64".to_owned(),
        "APT::Architectures::=amd64".to_owned(),
        "APT::Architectures::=arm64".to_owned(),
        "Debug::NoLocking=1".to_owned(),
        "APT::Sandbox::User=root".to_owned(),
    ];
    let apt = |program: &str, args: &[&str]| {
        let mut cmd = std::process::Command::new(program);
        for o in &options {
            cmd.arg("-o").arg(o);
        }
        let out = cmd.args(args).output().unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); install the Debian package apt")
        });
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{program} {args:?}:\n{text}");
        text
    };
    let update = apt("apt-get", &["update"]);
    assert!(
        !update
            .lines()
            .any(|l| l.starts_with("E:") || l.starts_with("W:")),
        "{update}"
    );
    let lock: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(crate_root.join("vendor.lock.yaml")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for item in EXAMPLE_APT {
        let packages = lock["items"][item]["resolved"]["apt"]["packages"]
            .as_sequence()
            .unwrap();
        for p in packages {
            let name = p["name"].as_str().unwrap();
            let arch = p["architecture"].as_str().unwrap();
            let policy = apt("apt-cache", &["policy", &format!("{name}:{arch}")]);
            let candidate = format!("Candidate: {}", p["version"].as_str().unwrap());
            assert!(policy.contains(&candidate), "{name}:{arch}:\n{policy}");
            checked += 1;
        }
    }
    assert_eq!(
        checked, 8,
        "dracut-core, zstd, jq and the kernel, on two architectures"
    );
}

/// Where the example's manifest finds the mirror's signing key.
const EXAMPLE_KEYRING: &str = "examples/powernode/initramfs/keys/apt-snapshot-mirror.asc";

/// Builds the example's snapshot mirror anew into the committed archive
/// (`tests/fixtures/apt-snapshot`) with a new key, written to the
/// example's keyring. Run by hand after changing [`example_snapshots`],
/// then relock the example (`tests/fixtures/apt-snapshot/README.md`).
#[test]
#[ignore = "rewrites the committed example archive and its key"]
fn regenerate_the_example_archive() {
    let repo = AptRepo::dated(
        "Powernode",
        "Powernode APT snapshot mirror <apt-snapshot@powernode.internal>",
        "20240101T000000",
        &["amd64", "arm64"],
    );
    for (ts, suites) in example_snapshots() {
        repo.snapshot(ts, &suites);
    }
    let crate_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = crate_root.join(support::EXAMPLE_ARCHIVE).join("ubuntu");
    if out.exists() {
        std::fs::remove_dir_all(&out).unwrap();
    }
    copy_dir(&repo.base(), &out);
    // `latest` for a plain static server too (the test server knows it).
    let newest = example_snapshots().last().unwrap().0;
    std::os::unix::fs::symlink(newest, out.join("latest")).unwrap();
    std::fs::write(crate_root.join(EXAMPLE_KEYRING), repo.keyring()).unwrap();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
