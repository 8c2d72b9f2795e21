//! Untrusted text never reaches a terminal raw, and a token a hostile
//! server reflects never leaks (DESIGN §6).
//!
//! Control characters come from upstream in archive member names,
//! release notes, asset names and server error messages; every test
//! checks the exact bytes the binary wrote to stdout and stderr. The token
//! tests run against a fake GitHub that copies the `Authorization` value
//! into download URLs or error messages, and check that nothing carrying
//! it was requested from the download host and that it appears in no
//! output and no file of the tree or the cache.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

use std::path::Path;
use std::process::Command;

use fake_github::{FakeAsset, FakeGithub, FakeRelease, Fault, Reflect};
use support::Tree;
use support::tree::Run;

const REPO: &str = "acme/tool";
const TOKEN: &str = "ghp_SafetyTestToken0123456789abcdefABCDEF";
/// An archive member that clears the screen, sets the terminal title and
/// returns the cursor when printed raw.
const HOSTILE_MEMBER: &str = "../\x1b[2J\x1b]0;owned\x07\rpwned";
/// What it reads as once escaped.
const HOSTILE_MEMBER_SHOWN: &str = "../\\x1b[2J\\x1b]0;owned\\x07\\rpwned";

fn manifest(asset: &str) -> String {
    format!(
        "version: 1\nitems:\n  tool:\n    version: 1.2.3\n    source:\n      type: github-release\n      \
         repo: {REPO}\n      tag: v{{version}}\n    platforms: [linux/amd64]\n    assets:\n      \
         - name: {asset}\n        checksum: github-digest\n        \
         extract:\n          member: tool\n        install: bin/tool\n        mode: \"0755\"\n"
    )
}

const ASSET: &str = "tool_v1.2.3_linux_amd64.tar.gz";

fn tool_archive() -> Vec<u8> {
    build::tar_gz(&[("tool", b"#!/bin/sh\necho tool 1.2.3\n", 0o755)])
}

/// A tree asking for `acme/tool` 1.2.3 and a fake GitHub serving
/// `release` as it.
fn setup(release: FakeRelease) -> (FakeGithub, Tree) {
    let fake = FakeGithub::start();
    fake.tag(REPO, &release.tag, &"a1".repeat(20));
    fake.release(REPO, release);
    let tree = Tree::new();
    tree.write("vendor.yaml", manifest(ASSET));
    (fake, tree)
}

fn vendor<'t>(tree: &'t Tree, fake: &FakeGithub, args: &[&str]) -> Run<'t> {
    tree.vendor(args).env("GITHUB_API_URL", fake.api_url())
}

/// The exact bytes a run wrote.
struct Bytes {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Bytes {
    fn of(run: &Run<'_>) -> Bytes {
        let out = run.command().output().expect("run the vendor binary");
        Bytes {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }

    fn show(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        )
    }

    fn stderr_text(&self) -> String {
        String::from_utf8(self.stderr.clone()).expect("stderr is UTF-8")
    }

    fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }
}

/// The control characters a terminal acts on (C0 but LF and TAB, DEL,
/// C1, bidi and invisible marks), with where they are.
fn controls(bytes: &[u8]) -> Vec<(usize, char)> {
    String::from_utf8_lossy(bytes)
        .char_indices()
        .filter(|(_, c)| match c {
            '\n' | '\t' => false,
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
            '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => true,
            _ => false,
        })
        .collect()
}

#[track_caller]
fn assert_no_controls(out: &Bytes) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let found = controls(bytes);
        assert!(
            found.is_empty(),
            "{stream} holds raw control characters {found:?}\n{}",
            out.show()
        );
    }
}

/// A tar header written byte for byte: the tar writer refuses `..`.
fn raw_member(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(1_709_726_400);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, data).unwrap();
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// `tool` and, before it, [`HOSTILE_MEMBER`].
fn hostile_tarball() -> Vec<u8> {
    let mut tar = raw_member(HOSTILE_MEMBER, b"owned\n");
    // Drop the two zero blocks ending the first archive, then add `tool`.
    tar.truncate(tar.len() - 1024);
    tar.extend_from_slice(&build_tool_tar());
    gzip(&tar)
}

#[test]
fn a_hostile_member_name_is_refused_and_shown_escaped() {
    let (fake, tree) = setup(FakeRelease::new("v1.2.3").asset(ASSET, hostile_tarball()));
    let before = tree.hashes();

    let out = Bytes::of(&vendor(&tree, &fake, &["apply"]));
    assert_eq!(out.code, 1, "{}", out.show());
    assert_no_controls(&out);
    let stderr = out.stderr_text();
    assert!(
        stderr.contains("vendor::archive::unsafe-path"),
        "{}",
        out.show()
    );
    assert!(stderr.contains(HOSTILE_MEMBER_SHOWN), "{}", out.show());
    assert!(!tree.exists("bin/tool"));
    let added: Vec<String> = tree.changed_since(&before);
    assert!(added.is_empty(), "{added:?}");
}

#[test]
fn with_colours_on_only_colour_codes_pass() {
    let (fake, tree) = setup(FakeRelease::new("v1.2.3").asset(ASSET, hostile_tarball()));
    let out = Bytes::of(&vendor(&tree, &fake, &["--color", "always", "apply"]));
    assert_eq!(out.code, 1, "{}", out.show());
    // The report quotes the archive: it is shown escaped, without colours.
    assert_no_controls(&out);
    assert!(
        out.stderr_text().contains(HOSTILE_MEMBER_SHOWN),
        "{}",
        out.show()
    );

    // A clean report keeps miette's colours; command output keeps its own.
    let (fake, tree) = setup(FakeRelease::new("v1.2.3").asset(ASSET, tool_archive()));
    let out = Bytes::of(&vendor(&tree, &fake, &["--color", "always", "plan"]));
    assert_eq!(out.code, 0, "{}", out.show());
    assert!(holds(&out.stdout, "\x1b[1mtool\x1b[0m"), "{}", out.show());
    tree.write("vendor.yaml", manifest("missing.tar.gz"));
    let out = Bytes::of(&vendor(&tree, &fake, &["--color", "always", "plan"]));
    assert_eq!(out.code, 1, "{}", out.show());
    assert!(holds(&out.stderr, "\x1b["), "{}", out.show());
}

fn build_tool_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    let data = b"#!/bin/sh\necho tool\n";
    h.set_size(data.len() as u64);
    h.set_mode(0o755);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "tool", &data[..]).unwrap();
    b.into_inner().unwrap()
}

/// A body whose lines clear the screen, set the title, start a C1 CSI and
/// reverse the text direction.
const HOSTILE_NOTES: &str = "## Security \x1b[2J\x1b]0;owned\x07\n* Fix \u{9b}31mC1 \x1b[8mhidden\n* Ship tool\u{202e}exe.txt\r\n* NUL \0 and DEL \x7f";

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

fn lock(version: &str) -> String {
    format!(
        "version: 1\nitems:\n  tool:\n    version: {version}\n    fingerprint: sha256:{version}\n    \
         source: github-release\n    resolved:\n      tag: v{version}\n"
    )
}

/// A repository whose committed lock has tool 1.2.3 and whose working lock
/// has 1.2.4, released with hostile notes.
fn notes_setup() -> (FakeGithub, Tree) {
    let fake = FakeGithub::start();
    fake.release(REPO, FakeRelease::new("v1.2.3").body("old"));
    fake.release(REPO, FakeRelease::new("v1.2.4").body(HOSTILE_NOTES));
    let tree = Tree::new();
    tree.write(
        "vendor.yaml",
        format!(
            "version: 1\nitems:\n  tool:\n    version: 1.2.4\n    source: {{type: github-release, repo: {REPO}, tag: \"v{{version}}\"}}\n"
        ),
    );
    tree.write("vendor.lock.yaml", lock("1.2.3"));
    git(&tree, &["init", "-q"]);
    git(&tree, &["add", "-A"]);
    git(&tree, &["commit", "-qm", "base"]);
    tree.write("vendor.lock.yaml", lock("1.2.4"));
    (fake, tree)
}

#[test]
fn release_notes_are_escaped_for_people_and_exact_in_json() {
    let (fake, tree) = notes_setup();
    for format in ["markdown", "commit"] {
        let out = Bytes::of(&vendor(&tree, &fake, &["diff", "--format", format]));
        assert_eq!(out.code, 0, "{}", out.show());
        assert_no_controls(&out);
        let text = out.stdout_text();
        for shown in [
            "## Security \\x1b[2J\\x1b]0;owned\\x07",
            "* Fix \\u009b31mC1 \\x1b[8mhidden",
            "* Ship tool\\u202eexe.txt",
            "* NUL \\x00 and DEL \\u007f",
        ] {
            assert!(
                text.contains(shown),
                "--format {format} lacks {shown:?}\n{}",
                out.show()
            );
        }
    }

    let out = Bytes::of(&vendor(&tree, &fake, &["diff", "--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.show());
    assert_no_controls(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let summary: Vec<&str> = doc["items"][0]["notes"][0]["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let expected: Vec<&str> = HOSTILE_NOTES.lines().map(str::trim).collect();
    assert_eq!(summary.len(), expected.len(), "{summary:?}");
    for line in expected {
        assert!(summary.contains(&line), "{line:?} not exact in {summary:?}");
    }
}

#[test]
fn upstream_asset_names_in_a_diagnostic_are_escaped() {
    let hostile = "tool\x1b]0;owned\x07\u{9b}2J\u{202e}zg.rat";
    let (fake, tree) = setup(FakeRelease::new("v1.2.3").asset(hostile, tool_archive()));
    for args in [&["plan"][..], &["apply"]] {
        let out = Bytes::of(&vendor(&tree, &fake, args));
        assert_eq!(out.code, 1, "{}", out.show());
        assert_no_controls(&out);
        let stderr = out.stderr_text();
        assert!(
            stderr.contains("vendor::github::asset-missing"),
            "{}",
            out.show()
        );
        assert!(
            stderr.contains("tool\\x1b]0;owned\\x07\\u009b2J\\u202ezg.rat"),
            "{}",
            out.show()
        );
    }
}

#[test]
fn a_server_error_message_is_shown_escaped() {
    let (fake, tree) = setup(FakeRelease::new("v1.2.3").asset(ASSET, tool_archive()));
    fake.fail(
        &format!("/api/v3/repos/{REPO}/releases/tags/v1.2.3"),
        Fault::Message(
            403,
            "Forbidden\x1b[2J\x1b]0;owned\x07\r\u{9b}1m \u{202e}gnp.exe".to_owned(),
        ),
    );
    let out = Bytes::of(&vendor(&tree, &fake, &["apply"]));
    assert_eq!(out.code, 1, "{}", out.show());
    assert_no_controls(&out);
    let stderr = out.stderr_text();
    assert!(stderr.contains("HTTP 403"), "{}", out.show());
    assert!(
        mentions(
            &stderr,
            "Forbidden\\x1b[2J\\x1b]0;owned\\x07\\r\\u009b1m \\u202egnp.exe"
        ),
        "{}",
        out.show()
    );
}

/// Every file under `dir` whose bytes hold `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

/// Whether `text` holds `needle`, however the diagnostic renderer wrapped
/// it (whitespace and its `│` gutter left out on both sides).
fn mentions(text: &str, needle: &str) -> bool {
    let squeeze = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '│')
            .collect()
    };
    squeeze(text).contains(&squeeze(needle))
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn a_reflected_token_is_never_followed_printed_or_written() {
    for mode in [
        Reflect::DownloadQuery,
        Reflect::DownloadPath,
        Reflect::ErrorMessage,
    ] {
        for args in [
            &["plan", "--out", "plan.json"][..],
            &["apply"],
            &["fetch"],
            &["plan", "--format", "json"],
        ] {
            let (fake, tree) = setup(FakeRelease::new("v1.2.3").asset(ASSET, tool_archive()));
            fake.reflect(mode);
            let out = Bytes::of(&vendor(&tree, &fake, args).env("GITHUB_TOKEN", TOKEN));
            let what = format!("{mode:?} `vendor {}`", args.join(" "));
            assert_eq!(out.code, 1, "{what}\n{}", out.show());
            assert!(
                !holds(&out.stdout, TOKEN) && !holds(&out.stderr, TOKEN),
                "{what} printed the token\n{}",
                out.show()
            );
            assert_no_controls(&out);
            let requests = fake.requests();
            assert!(
                requests.iter().any(|r| r.authorized()),
                "{what}: the token was never sent to the API"
            );
            for r in &requests {
                let url = format!("{}?{}", r.path, r.query.as_deref().unwrap_or(""));
                assert!(
                    !url.contains(TOKEN),
                    "{what} requested {url} (Authorization {:?})",
                    r.authorization
                );
                assert!(
                    !r.path.starts_with("/dl/"),
                    "{what} downloaded {url} from the reflected URL"
                );
            }
            for dir in [tree.root(), tree.cache()] {
                let found = files_holding(dir, TOKEN.as_bytes());
                assert!(found.is_empty(), "{what} wrote the token to {found:?}");
            }
            assert!(
                !tree.exists("plan.json") && !tree.exists("bin/tool"),
                "{what}"
            );
        }
    }
}

#[test]
fn without_reflection_the_same_runs_succeed() {
    // The control for the test above: the token itself is fine.
    let (fake, tree) = setup(FakeRelease::new("v1.2.3").asset(ASSET, tool_archive()));
    let out = Bytes::of(&vendor(&tree, &fake, &["apply"]).env("GITHUB_TOKEN", TOKEN));
    assert_eq!(out.code, 0, "{}", out.show());
    assert!(tree.exists("bin/tool"));
    assert!(!holds(&out.stderr, TOKEN));
    for dir in [tree.root(), tree.cache()] {
        assert!(files_holding(dir, TOKEN.as_bytes()).is_empty());
    }
}

#[test]
fn a_bad_token_message_from_the_server_is_redacted() {
    let (fake, tree) = setup(FakeRelease::new("v1.2.3").asset(ASSET, tool_archive()));
    fake.reflect(Reflect::ErrorMessage);
    let out = Bytes::of(&vendor(&tree, &fake, &["apply"]).env("GITHUB_TOKEN", TOKEN));
    assert_eq!(out.code, 1, "{}", out.show());
    let stderr = out.stderr_text();
    assert!(
        mentions(&stderr, "Resource not accessible with Bearer <redacted>"),
        "{}",
        out.show()
    );
    assert!(!holds(&out.stderr, TOKEN));
}

#[test]
fn non_control_unicode_from_upstream_stays_as_it_is() {
    // Unicode that is not a control stays as it is.
    let name = "tööl_v1.2.3_linux_amd64.tar.gz";
    let fake = FakeGithub::start();
    fake.tag(REPO, "v1.2.3", &"a1".repeat(20));
    fake.release(
        REPO,
        FakeRelease::new("v1.2.3").with_asset(FakeAsset::new(name, tool_archive())),
    );
    let tree = Tree::new();
    tree.write("vendor.yaml", manifest("tööl_{tag}_{os}_{arch}.tar.gz"));
    let out = Bytes::of(&vendor(&tree, &fake, &["plan"]));
    assert_eq!(out.code, 0, "{}", out.show());
    assert!(out.stdout_text().contains(name), "{}", out.show());
}
