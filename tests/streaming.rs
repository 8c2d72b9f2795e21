//! Extraction while downloading, end to end: an archive in a stream format
//! is extracted into staging as its bytes arrive, and what that produced
//! reaches the tree only after the gate verified the whole download.
//!
//! Each test serves one github-release item whose tar.gz holds a 4 MiB
//! member, half of it sent at once and the rest after a pause
//! (`Fault::Stall`), and looks into the staging area during the pause: a
//! partly extracted member there is extraction running ahead of the
//! download. Then a checksum that fails, a signature that fails or a
//! download cut off and retried must leave the tree as it was (or install
//! exactly the verified bytes) and no staging behind.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

#[path = "support/keys.rs"]
mod keys;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use build::{sha256sums, tar_gz};
use fake_github::{FakeAsset, FakeGithub, FakeRelease, Fault};
use keys::Keys;
use support::Tree;
use support::tree::{Output, WORK_DIR};

const REPO: &str = "acme/tool";
const TAG: &str = "v1.2.3";
const ARCHIVE: &str = "tool_v1.2.3_linux_amd64.tar.gz";
const SUMS: &str = "checksums.txt";
const INSTALL: &str = "bin/tool";
/// How long the server pauses half-way through the archive.
const STALL: Duration = Duration::from_secs(3);

/// `len` bytes gzip cannot shrink (xorshift), different for each `seed`.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The member `tool` of build `seed`: large enough that half the archive
/// is well past the download's write buffer.
fn tool(seed: u64) -> Vec<u8> {
    noise(4 << 20, seed)
}

fn archive(tool: &[u8]) -> Vec<u8> {
    tar_gz(&[
        ("tool", tool, 0o755),
        ("LICENSE", b"MIT\n".as_slice(), 0o644),
    ])
}

fn manifest(verify: &str) -> String {
    format!(
        "version: 1\nitems:\n  tool:\n    version: 1.2.3\n    source:\n      type: \
         github-release\n      repo: {REPO}\n      tag: v{{version}}\n    platforms: \
         [linux/amd64]\n    assets:\n      - name: tool_{{tag}}_{{os}}_{{arch}}.tar.gz\n        \
         checksum:\n          file: {SUMS}\n        extract:\n          member: tool\n        \
         install: {INSTALL}\n        mode: \"0755\"\n{verify}"
    )
}

/// Publishes `served` as the archive, with a checksum file that lists
/// `listed` for it (the same bytes, unless a test wants a mismatch).
fn publish(fake: &FakeGithub, served: &[u8], listed: &[u8], extra: Vec<(String, Vec<u8>)>) {
    let mut release = FakeRelease::new(TAG)
        .with_asset(FakeAsset::new(ARCHIVE, served.to_vec()).without_digest())
        .with_asset(FakeAsset::new(SUMS, sha256sums(&[(ARCHIVE, listed)])).without_digest());
    for (name, bytes) in extra {
        release = release.with_asset(FakeAsset::new(&name, bytes).without_digest());
    }
    fake.release(REPO, release);
    fake.tag(REPO, TAG, &"1".repeat(40));
}

/// The request path of the archive on the fake server.
fn archive_path(fake: &FakeGithub) -> String {
    fake.download_url(REPO, TAG, ARCHIVE)
        .strip_prefix(&fake.url())
        .unwrap()
        .to_owned()
}

fn spawn_apply(tree: &Tree, fake: &FakeGithub) -> Child {
    tree.vendor(["apply"])
        .env("GITHUB_API_URL", fake.api_url())
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run(tree: &Tree, fake: &FakeGithub, args: &[&str]) -> Output {
    tree.vendor(args)
        .env("GITHUB_API_URL", fake.api_url())
        .output()
}

/// Bytes of the largest file extracted ahead of the download so far:
/// files under `.vendor/staging-*/<item>/<instance>/` (the ordinary path
/// writes there only once every download is complete and verified).
fn streamed(tree: &Tree) -> u64 {
    fn walk(dir: &Path, depth: usize, inside: bool, best: &mut u64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            if meta.is_dir() {
                let stream_dir = depth == 2 && name.bytes().all(|b| b.is_ascii_digit());
                if depth < 2 || inside || stream_dir {
                    walk(&path, depth + 1, inside || stream_dir, best);
                }
            } else if inside {
                *best = (*best).max(meta.len());
            }
        }
    }
    let mut best = 0;
    let Ok(entries) = std::fs::read_dir(tree.path(WORK_DIR)) else {
        return 0;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with("staging-") {
            walk(&entry.path(), 1, false, &mut best);
        }
    }
    best
}

/// Runs `vendor apply` while the archive stalls half-way, and returns the
/// most of the member that the staging area held during the pause
/// (extracted ahead of the download), with the finished run.
fn apply_watching(tree: &Tree, fake: &FakeGithub) -> (u64, Output) {
    let path = archive_path(fake);
    fake.fail_times(&path, Fault::Stall(STALL), 1);
    let mut child = spawn_apply(tree, fake);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut paused: Option<Instant> = None;
    let mut seen = 0;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("vendor apply did not finish");
        }
        if paused.is_none() && !fake.requests_to(&path).is_empty() {
            paused = Some(Instant::now());
        }
        // Well inside the pause: the second half has not been sent.
        if paused.is_some_and(|p| p.elapsed() < STALL - Duration::from_millis(500)) {
            seen = seen.max(streamed(tree));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = Output::from_process(&["apply".into()], &child.wait_with_output().unwrap());
    (seen, out)
}

/// The run extracted part of the member while the rest was not sent yet.
#[track_caller]
fn assert_streamed(seen: u64) {
    assert!(
        seen > 0,
        "nothing was extracted into staging while the download was paused"
    );
}

/// The tool's work directory holds nothing but its lock and .gitignore,
/// and the cache no download in flight.
#[track_caller]
fn assert_no_leftovers(tree: &Tree) {
    if let Ok(entries) = std::fs::read_dir(tree.path(WORK_DIR)) {
        let names: Vec<String> = entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".gitignore" && n != "lock")
            .collect();
        assert!(names.is_empty(), "leftovers in {WORK_DIR}/: {names:?}");
    }
    if let Ok(left) = std::fs::read_dir(tree.cache().join("tmp")) {
        assert_eq!(left.count(), 0, "downloads left in the cache's tmp/");
    }
}

fn cached(tree: &Tree, sha256: &str) -> bool {
    tree.cache()
        .join("sha256")
        .join(&sha256[..2])
        .join(sha256)
        .exists()
}

#[test]
fn an_archive_is_extracted_while_it_downloads_and_installs_the_same_bytes() {
    let fake = FakeGithub::start();
    let member = tool(1);
    let served = archive(&member);
    publish(&fake, &served, &served, Vec::new());
    let tree = Tree::new();
    tree.write("vendor.yaml", manifest(""));
    let (seen, out) = apply_watching(&tree, &fake);
    out.code(0);
    assert_streamed(seen);
    assert!(
        seen < member.len() as u64,
        "the whole member was staged before the download was complete"
    );
    assert!(tree.read_bytes(INSTALL) == member, "installed bytes differ");
    assert_eq!(tree.mode(INSTALL), 0o755);
    assert_no_leftovers(&tree);

    // The ordinary path (the archive found in the cache) installs the
    // same file and writes the same lock.
    let again = Tree::new();
    again.write("vendor.yaml", manifest(""));
    again
        .vendor(["apply"])
        .env("GITHUB_API_URL", fake.api_url())
        .env("VENDOR_CACHE_DIR", tree.cache())
        .output()
        .code(0);
    assert!(again.read_bytes(INSTALL) == tree.read_bytes(INSTALL));
    assert_eq!(
        again.read("vendor.lock.yaml"),
        tree.read("vendor.lock.yaml")
    );
    run(&tree, &fake, &["check", "--installed"]).code(0);
}

#[test]
fn bytes_that_fail_the_checksum_after_streaming_install_nothing() {
    let fake = FakeGithub::start();
    let good = archive(&tool(1));
    // Another build, announced with its own size: only the hash can tell.
    let evil = archive(&tool(2));
    publish(&fake, &evil, &good, Vec::new());
    let tree = Tree::new();
    tree.write("vendor.yaml", manifest(""));
    let before = tree.hashes();
    let (seen, out) = apply_watching(&tree, &fake);
    out.code(1)
        .stderr_mentions("checksum mismatch for")
        .stderr_mentions(&format!(
            "expected sha256 {}, got {}",
            build::sha256_hex(&good),
            build::sha256_hex(&evil)
        ));
    assert_streamed(seen);
    tree.assert_unchanged(&before);
    assert!(!tree.exists(INSTALL));
    assert_no_leftovers(&tree);
    assert!(
        !cached(&tree, &build::sha256_hex(&evil)),
        "refused bytes were cached"
    );
}

#[test]
fn a_signature_that_fails_after_streaming_installs_nothing() {
    let fake = FakeGithub::start();
    let served = archive(&tool(1));
    let keys = Keys::new();
    keys.minisign_key("tool");
    keys.minisign_key("other");
    // Signed, but by a key the tree does not trust.
    let sig = keys.minisign("other", &served);
    publish(
        &fake,
        &served,
        &served,
        vec![(format!("{ARCHIVE}.minisig"), sig)],
    );
    let tree = Tree::new();
    tree.write("keys/tool.pub", keys.read("tool.pub"));
    tree.write(
        "vendor.yaml",
        manifest(
            "    verify:\n      signatures:\n        - kind: minisign\n          key: \
             keys/tool.pub\n          signature: '{asset}.minisig'\n          over: asset\n",
        ),
    );
    let before = tree.hashes();
    let (seen, out) = apply_watching(&tree, &fake);
    out.code(1)
        .stderr_has("bad-signature")
        .stderr_mentions("nothing was installed");
    assert_streamed(seen);
    tree.assert_unchanged(&before);
    assert!(!tree.exists(INSTALL));
    assert!(!tree.exists("vendor.lock.yaml"), "a lock was written");
    assert_no_leftovers(&tree);
}

#[test]
fn a_download_cut_off_and_retried_installs_the_verified_bytes() {
    let fake = FakeGithub::start();
    let member = tool(1);
    let served = archive(&member);
    publish(&fake, &served, &served, Vec::new());
    let path = archive_path(&fake);
    // Half the body, then the connection drops; the retry starts the
    // download file again under the running extraction.
    fake.fail_times(&path, Fault::Truncated, 1);
    let tree = Tree::new();
    tree.write("vendor.yaml", manifest(""));
    run(&tree, &fake, &["apply"]).code(0);
    assert_eq!(fake.requests_to(&path).len(), 2, "the cut was not retried");
    assert!(tree.read_bytes(INSTALL) == member, "installed bytes differ");
    assert_no_leftovers(&tree);
    run(&tree, &fake, &["check", "--installed"]).code(0);
}

#[test]
fn a_download_cut_off_every_time_fails_without_leftovers() {
    let fake = FakeGithub::start();
    let served = archive(&tool(1));
    publish(&fake, &served, &served, Vec::new());
    let path = archive_path(&fake);
    fake.fail(&path, Fault::Truncated);
    let tree = Tree::new();
    tree.write("vendor.yaml", manifest(""));
    let before = tree.hashes();
    run(&tree, &fake, &["apply"])
        .code(1)
        .stderr_mentions("the transfer broke off");
    assert!(fake.requests_to(&path).len() > 1, "the cut was not retried");
    tree.assert_unchanged(&before);
    assert_no_leftovers(&tree);
}
