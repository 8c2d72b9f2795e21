//! The verification gate, end to end: every bad signature setup is refused
//! on every path that installs (online apply, `fetch` then an offline
//! apply, a saved plan, a `--frozen` or `--locked` repair from the lock),
//! with exit 1, nothing installed, the tree unchanged byte for byte and no
//! lock entry claiming a verification that did not happen. Good setups with
//! two and three signatures per file install on every path and lock every
//! signer. Keys and signatures are made by `minisign`, `openssl` and `gpg`.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

#[path = "support/keys.rs"]
mod keys;

use build::{sha256sums, tar_gz};
use fake_github::{FakeAsset, FakeGithub, FakeRelease};
use keys::Keys;
use serde_yaml::Value as Yaml;
use support::Tree;
use support::tree::Output;

const REPO: &str = "acme/tool";
const TAG: &str = "v1.2.3";
const ARCHIVE: &str = "tool_v1.2.3_linux_amd64.tar.gz";
const SUMS: &str = "checksums.txt";
const SUMS_CHECKSUM: &str = "        checksum:\n          file: checksums.txt\n";

fn archive(build: &str) -> Vec<u8> {
    let script = format!("#!/bin/sh\necho tool 1.2.3 build {build}\n");
    tar_gz(&[("tool", script.as_bytes(), 0o755)])
}

fn sig_entry(kind: &str, key: &str, name: &str, over: &str) -> String {
    format!(
        "        - kind: {kind}\n          key: keys/{key}\n          signature: '{name}'\n          \
         over: {over}\n"
    )
}

fn minisign_over_asset() -> String {
    sig_entry("minisign", "tool.pub", "{asset}.minisig", "asset")
}

fn pgp_over(over: &str) -> String {
    sig_entry("pgp", "release.asc", "{asset}.asc", over)
}

fn cosign_over(over: &str) -> String {
    sig_entry("cosign", "cosign.pub.pem", "{asset}.sig", over)
}

/// One item, its upstream and the keys committed in the tree.
struct Setup {
    checksum: String,
    verify: String,
    keys: Vec<(String, Vec<u8>)>,
    assets: Vec<(String, Vec<u8>)>,
    /// What the refusal must say.
    needle: String,
    /// Keeps the key material alive (gpg's agent).
    _keys: Keys,
}

impl Setup {
    fn tree(&self) -> Tree {
        let tree = Tree::new();
        for (name, bytes) in &self.keys {
            tree.write(&format!("keys/{name}"), bytes);
        }
        tree.write(
            "vendor.yaml",
            format!(
                "version: 1\nitems:\n  tool:\n    version: 1.2.3\n    source:\n      type: \
                 github-release\n      repo: {REPO}\n      tag: v{{version}}\n    platforms: \
                 [linux/amd64]\n    assets:\n      - name: tool_{{tag}}_{{os}}_{{arch}}.tar.gz\n{}        \
                 extract:\n          member: tool\n        install: bin/tool\n        mode: \
                 \"0755\"\n    verify:\n      signatures:\n{}",
                self.checksum, self.verify
            ),
        );
        tree
    }

    fn publish(&self, fake: &FakeGithub) {
        let release = self
            .assets
            .iter()
            .fold(FakeRelease::new(TAG), |r, (name, bytes)| {
                r.with_asset(FakeAsset::new(name, bytes.clone()).without_digest())
            });
        fake.release(REPO, release);
        fake.tag(REPO, TAG, &"1".repeat(40));
    }
}

fn run(tree: &Tree, fake: &FakeGithub, args: &[&str]) -> Output {
    tree.vendor(args)
        .env("GITHUB_API_URL", fake.api_url())
        .output()
}

// ---------------------------------------------------------------------------
// Setups
// ---------------------------------------------------------------------------

fn minisign_setup(keys: Keys, published: Vec<u8>, sig: Option<Vec<u8>>, needle: &str) -> Setup {
    let mut assets = vec![(ARCHIVE.to_owned(), published)];
    if let Some(sig) = sig {
        assets.push((format!("{ARCHIVE}.minisig"), sig));
    }
    Setup {
        checksum: String::new(),
        verify: minisign_over_asset(),
        keys: vec![("tool.pub".into(), keys.read("tool.pub"))],
        assets,
        needle: needle.into(),
        _keys: keys,
    }
}

fn missing_signature() -> Setup {
    let keys = Keys::new();
    keys.minisign_key("tool");
    minisign_setup(
        keys,
        archive("a"),
        None,
        &format!("expected the minisign signature `{ARCHIVE}.minisig`"),
    )
}

fn another_key() -> Setup {
    let keys = Keys::new();
    keys.minisign_key("tool");
    let other = keys.minisign_key("mallory");
    let bytes = archive("a");
    let sig = keys.minisign("mallory", &bytes);
    minisign_setup(
        keys,
        bytes,
        Some(sig),
        &format!("signed by minisign key {other}"),
    )
}

/// The tarball rebuilt after signing, its checksum file regenerated: only
/// the signature can catch it.
fn tampered_asset() -> Setup {
    let keys = Keys::new();
    keys.minisign_key("tool");
    let sig = keys.minisign("tool", &archive("a"));
    let tampered = archive("evil");
    let sums = sha256sums(&[(ARCHIVE, &tampered)]);
    let mut s = minisign_setup(keys, tampered, Some(sig), "fails its minisign signature");
    s.checksum = SUMS_CHECKSUM.into();
    s.assets.push((SUMS.into(), sums));
    s
}

/// The checksum file changed after it was signed (to list a rebuilt
/// tarball): only its signature can catch it.
fn tampered_checksum_file() -> Setup {
    let keys = Keys::new();
    let fpr = keys.pgp_key("release");
    let sig = keys.pgp(&fpr, &sha256sums(&[(ARCHIVE, &archive("a"))]), true);
    let tampered = archive("evil");
    Setup {
        checksum: SUMS_CHECKSUM.into(),
        verify: pgp_over("checksum-file"),
        keys: vec![("release.asc".into(), keys.read("release.asc"))],
        assets: vec![
            (ARCHIVE.into(), tampered.clone()),
            (SUMS.into(), sha256sums(&[(ARCHIVE, &tampered)])),
            (format!("{SUMS}.asc"), sig),
        ],
        needle: "fails its pgp signature".into(),
        _keys: keys,
    }
}

fn garbage_signature() -> Setup {
    let keys = Keys::new();
    keys.minisign_key("tool");
    minisign_setup(
        keys,
        archive("a"),
        Some(b"not a signature at all\n".to_vec()),
        "fails its minisign signature",
    )
}

fn truncated_signature() -> Setup {
    let keys = Keys::new();
    keys.minisign_key("tool");
    let bytes = archive("a");
    let mut sig = keys.minisign("tool", &bytes);
    sig.truncate(sig.len() / 2);
    minisign_setup(keys, bytes, Some(sig), "fails its minisign signature")
}

/// A valid signature by the pinned key, but of another file.
fn swapped_signature() -> Setup {
    let keys = Keys::new();
    keys.minisign_key("tool");
    let sig = keys.minisign("tool", &archive("arm64 build"));
    minisign_setup(
        keys,
        archive("a"),
        Some(sig),
        "fails its minisign signature",
    )
}

fn revoked_key() -> Setup {
    let keys = Keys::new();
    let fpr = keys.pgp_key("release");
    let bytes = archive("a");
    let sig = keys.pgp(&fpr, &bytes, true);
    let rev = keys
        .path("gnupg/openpgp-revocs.d")
        .join(format!("{fpr}.rev"));
    let text = std::fs::read_to_string(rev)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    let rev = keys.write("rev.asc", text.as_bytes());
    keys.gpg(&["--import", &rev.to_string_lossy()]);
    let keyring = keys.gpg(&["--armor", "--export", &fpr]);
    Setup {
        checksum: String::new(),
        verify: pgp_over("asset"),
        keys: vec![("release.asc".into(), keyring)],
        assets: vec![(ARCHIVE.into(), bytes), (format!("{ARCHIVE}.asc"), sig)],
        needle: format!("the pgp key {fpr} is revoked"),
        _keys: keys,
    }
}

fn expired(subkey: bool) -> Setup {
    let keys = Keys::new();
    let bytes = archive("a");
    let (fpr, keyring, sig) = keys.pgp_signed_after_expiry("release", &bytes, subkey);
    Setup {
        checksum: String::new(),
        verify: pgp_over("asset"),
        keys: vec![("release.asc".into(), keyring)],
        assets: vec![(ARCHIVE.into(), bytes), (format!("{ARCHIVE}.asc"), sig)],
        needle: if subkey {
            "which had expired on 2020-01-11".into()
        } else {
            format!("by pgp key {fpr}, which had expired on 2020-01-11")
        },
        _keys: keys,
    }
}

fn expired_key() -> Setup {
    expired(false)
}

fn expired_subkey() -> Setup {
    expired(true)
}

fn cosign_tampered() -> Setup {
    let keys = Keys::new();
    keys.cosign_key("cosign");
    let sig = keys.cosign("cosign", &archive("a"));
    Setup {
        checksum: String::new(),
        verify: cosign_over("asset"),
        keys: vec![("cosign.pub.pem".into(), keys.read("cosign.pub.pem"))],
        assets: vec![
            (ARCHIVE.into(), archive("evil")),
            (format!("{ARCHIVE}.sig"), sig),
        ],
        needle: "fails its cosign signature".into(),
        _keys: keys,
    }
}

/// A named way to build a setup.
type MakeSetup = (&'static str, fn() -> Setup);

fn bad_setups() -> Vec<MakeSetup> {
    vec![
        ("missing signature", missing_signature),
        ("another key", another_key),
        ("tampered asset", tampered_asset),
        ("tampered checksum file", tampered_checksum_file),
        ("garbage signature", garbage_signature),
        ("truncated signature", truncated_signature),
        ("swapped signature", swapped_signature),
        ("revoked key", revoked_key),
        ("expired key", expired_key),
        ("expired subkey", expired_subkey),
        ("cosign, tampered asset", cosign_tampered),
    ]
}

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// Runs `steps` in order until one fails; the last run's output. The
/// `{plan}` argument is a plan file outside the tree.
fn path_runs(tree: &Tree, fake: &FakeGithub, steps: &[&[&str]]) -> Output {
    let plan_dir = tempfile::tempdir().unwrap();
    let plan = plan_dir.path().join("plan.json");
    let plan = plan.to_string_lossy().into_owned();
    let mut last = None;
    for step in steps {
        let args: Vec<&str> = step
            .iter()
            .map(|a| if *a == "{plan}" { plan.as_str() } else { a })
            .collect();
        let out = run(tree, fake, &args);
        let failed = out.code != 0;
        last = Some(out);
        if failed {
            break;
        }
    }
    last.unwrap()
}

const PATHS: &[(&str, &[&[&str]])] = &[
    ("online apply", &[&["apply"]]),
    (
        "fetch, then offline apply",
        &[&["fetch"], &["--offline", "apply"]],
    ),
    (
        "saved plan",
        &[&["plan", "--out", "{plan}"], &["apply", "{plan}"]],
    ),
];

#[test]
fn every_bad_setup_is_refused_on_every_path() {
    for (setup_name, make) in bad_setups() {
        for (path_name, steps) in PATHS {
            let setup = make();
            let fake = FakeGithub::start();
            setup.publish(&fake);
            let tree = setup.tree();
            let before = tree.hashes();
            let out = path_runs(&tree, &fake, steps);
            assert_eq!(
                out.code, 1,
                "{setup_name} × {path_name}: `{}` exited {}\n{}\n{}",
                out.command, out.code, out.stdout, out.stderr
            );
            let squeezed: String = out
                .stderr
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '│')
                .collect();
            let needle: String = setup.needle.split_whitespace().collect();
            assert!(
                squeezed.contains(&needle),
                "{setup_name} × {path_name}: stderr lacks {:?}\n{}",
                setup.needle,
                out.stderr
            );
            tree.assert_unchanged(&before);
            assert!(!tree.exists("bin/tool"), "{setup_name} × {path_name}");
            assert!(
                !tree.exists("vendor.lock.yaml"),
                "{setup_name} × {path_name}: a lock was written"
            );
            // Nothing claims a verification in the cache either: no
            // cached resolution to apply offline later.
            let offline = run(&tree, &fake, &["--offline", "apply"]);
            offline.code(1);
            assert!(!tree.exists("bin/tool"), "{setup_name} × {path_name}");
        }
    }
}

// ---------------------------------------------------------------------------
// Good setups: several signatures per file
// ---------------------------------------------------------------------------

/// The lock's trust of the tool's artifact: `(kind, by)`.
fn trust(tree: &Tree) -> (String, String) {
    let lock: Yaml = serde_yaml::from_str(&tree.read("vendor.lock.yaml")).unwrap();
    let t = &lock["items"]["tool"]["artifacts"][0]["trust"];
    (
        t["kind"].as_str().unwrap().to_owned(),
        t["by"].as_str().unwrap_or_default().to_owned(),
    )
}

/// cosign and OpenPGP, both over the checksum file.
fn two_over_the_checksum_file() -> (Setup, String) {
    let keys = Keys::new();
    let cosign = keys.cosign_key("cosign");
    let fpr = keys.pgp_key("release");
    let bytes = archive("a");
    let sums = sha256sums(&[(ARCHIVE, &bytes)]);
    let cosign_sig = keys.cosign("cosign", &sums);
    let pgp_sig = keys.pgp(&fpr, &sums, true);
    let setup = Setup {
        checksum: SUMS_CHECKSUM.into(),
        verify: cosign_over("checksum-file") + &pgp_over("checksum-file"),
        keys: vec![
            ("cosign.pub.pem".into(), keys.read("cosign.pub.pem")),
            ("release.asc".into(), keys.read("release.asc")),
        ],
        assets: vec![
            (ARCHIVE.into(), bytes),
            (SUMS.into(), sums),
            (format!("{SUMS}.sig"), cosign_sig),
            (format!("{SUMS}.asc"), pgp_sig),
        ],
        needle: String::new(),
        _keys: keys,
    };
    (setup, format!("cosign:{cosign}, pgp:{fpr}"))
}

/// minisign, cosign and OpenPGP, all over the asset, and no checksum.
fn three_over_the_asset() -> (Setup, String) {
    let keys = Keys::new();
    let id = keys.minisign_key("tool");
    let cosign = keys.cosign_key("cosign");
    let fpr = keys.pgp_key("release");
    let bytes = archive("a");
    let setup = Setup {
        checksum: String::new(),
        verify: minisign_over_asset() + &cosign_over("asset") + &pgp_over("asset"),
        keys: vec![
            ("tool.pub".into(), keys.read("tool.pub")),
            ("cosign.pub.pem".into(), keys.read("cosign.pub.pem")),
            ("release.asc".into(), keys.read("release.asc")),
        ],
        assets: vec![
            (format!("{ARCHIVE}.minisig"), keys.minisign("tool", &bytes)),
            (format!("{ARCHIVE}.sig"), keys.cosign("cosign", &bytes)),
            (format!("{ARCHIVE}.asc"), keys.pgp(&fpr, &bytes, true)),
            (ARCHIVE.into(), bytes),
        ],
        needle: String::new(),
        _keys: keys,
    };
    (setup, format!("cosign:{cosign}, minisign:{id}, pgp:{fpr}"))
}

#[test]
fn several_signatures_per_file_install_on_every_path_and_lock_every_signer() {
    for make in [two_over_the_checksum_file, three_over_the_asset] {
        for (path_name, steps) in PATHS {
            let (setup, signers) = make();
            let fake = FakeGithub::start();
            setup.publish(&fake);
            let tree = setup.tree();
            path_runs(&tree, &fake, steps).code(0);
            assert!(tree.exists("bin/tool"), "{path_name}");
            assert_eq!(
                trust(&tree),
                ("signature".into(), signers.clone()),
                "{path_name}"
            );
            run(&tree, &fake, &["check", "--installed"]).code(0);
        }
    }
}

#[test]
fn signatures_over_the_asset_are_checked_on_the_download_as_it_arrives() {
    // minisign and OpenPGP read the bytes while they download; cosign is
    // over the sha256 the download computes anyway, so it reads nothing.
    let (setup, signers) = three_over_the_asset();
    let fake = FakeGithub::start();
    setup.publish(&fake);
    let tree = setup.tree();
    run(&tree, &fake, &["-v", "apply"]).code(0).stderr_mentions(
        "minisign and OpenPGP signatures over artifacts: 2 checked on the download as it \
         arrived, 0 read again from the cached file",
    );
    assert_eq!(trust(&tree), ("signature".into(), signers));

    // A repair from the cache has no download: every signature is read
    // from the cached file, and all still verify.
    tree.remove("bin/tool");
    run(&tree, &fake, &["-v", "--frozen", "apply"])
        .code(0)
        .stderr_mentions("0 checked on the download as it arrived, 2 read again");
    assert!(tree.exists("bin/tool"));
}

#[test]
fn an_asset_that_fails_its_signature_on_the_stream_is_refused_as_from_the_file() {
    let keys = Keys::new();
    keys.minisign_key("tool");
    let signed = archive("a");
    let sig = keys.minisign("tool", &signed);
    let setup = minisign_setup(keys, archive("b"), Some(sig), "");
    let fake = FakeGithub::start();
    setup.publish(&fake);
    let tree = setup.tree();
    let before = tree.hashes();
    run(&tree, &fake, &["-v", "apply"])
        .code(1)
        .stderr_mentions("fails its minisign signature")
        .stderr_mentions("0 checked on the download as it arrived, 1 read again");
    tree.assert_unchanged(&before);
}

#[test]
fn a_second_signature_by_an_unrelated_key_is_refused_for_that_reason() {
    // Two signatures over the checksum file; the second was made by a key
    // the committed keyring does not hold.
    let (mut setup, _) = two_over_the_checksum_file();
    let other = setup._keys.pgp_key("mallory");
    let sums = setup.assets[1].1.clone();
    let sig = setup._keys.pgp(&other, &sums, true);
    setup.assets[3].1 = sig;
    let fake = FakeGithub::start();
    setup.publish(&fake);
    let tree = setup.tree();
    let before = tree.hashes();
    run(&tree, &fake, &["apply"])
        .code(1)
        .stderr_mentions("fails its pgp signature")
        .stderr_mentions(&format!("issuer {other}"));
    tree.assert_unchanged(&before);
}

// ---------------------------------------------------------------------------
// Paths from the lock: --frozen and --locked repairs
// ---------------------------------------------------------------------------

/// A tree applied with a good minisign-over-asset setup, then its
/// installed file removed: the next apply is a repair from the lock.
fn locked_tree() -> (Setup, FakeGithub, Tree) {
    let keys = Keys::new();
    keys.minisign_key("tool");
    let bytes = archive("a");
    let sig = keys.minisign("tool", &bytes);
    let setup = minisign_setup(keys, bytes, Some(sig), "");
    let fake = FakeGithub::start();
    setup.publish(&fake);
    let tree = setup.tree();
    run(&tree, &fake, &["apply"]).code(0);
    tree.remove("bin/tool");
    (setup, fake, tree)
}

/// The cached evidence file of the locked artifact.
fn evidence_file(tree: &Tree) -> std::path::PathBuf {
    let lock: Yaml = serde_yaml::from_str(&tree.read("vendor.lock.yaml")).unwrap();
    let sha = lock["items"]["tool"]["artifacts"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    tree.cache().join("evidence").join(&sha[..2]).join(sha)
}

/// Rewrites the base64 signature in the cached evidence.
fn replace_cached_signature(tree: &Tree, sig: &[u8]) {
    use base64::Engine as _;
    let path = evidence_file(tree);
    let mut evidence: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    evidence["signatures"][0]["signature"] =
        base64::engine::general_purpose::STANDARD.encode(sig).into();
    std::fs::write(&path, serde_json::to_vec(&evidence).unwrap()).unwrap();
}

#[test]
fn a_frozen_repair_checks_the_signatures_again_from_the_cache() {
    let (_setup, fake, tree) = locked_tree();
    assert!(evidence_file(&tree).is_file(), "the evidence is cached");
    fake.clear_requests();
    run(&tree, &fake, &["--frozen", "apply"]).code(0);
    assert!(tree.exists("bin/tool"));
    assert_eq!(fake.requests(), [], "a frozen repair went online");
}

#[test]
fn a_frozen_repair_refuses_every_bad_evidence() {
    type Spoil = fn(&Setup, &Tree);
    let spoils: Vec<(&str, Spoil, &str)> = vec![
        (
            "evidence gone",
            |_, t| std::fs::remove_file(evidence_file(t)).unwrap(),
            "was not fetched on this path",
        ),
        (
            "garbage signature",
            |_, t| replace_cached_signature(t, b"garbage\n"),
            "fails its minisign signature",
        ),
        (
            "swapped signature",
            |s, t| replace_cached_signature(t, &s._keys.minisign("tool", &archive("other"))),
            "fails its minisign signature",
        ),
        (
            "another key in the tree",
            |s, t| {
                s._keys.minisign_key("rotated");
                t.write("keys/tool.pub", s._keys.read("rotated.pub"));
            },
            "fails its minisign signature",
        ),
        (
            "lock claims another signer",
            |_, t| {
                let lock = t.read("vendor.lock.yaml");
                let spoiled = lock.replace("by: minisign:", "by: minisign:00");
                assert_ne!(lock, spoiled);
                t.write("vendor.lock.yaml", spoiled);
            },
            "its signatures verify as",
        ),
    ];
    for (name, spoil, needle) in spoils {
        let (setup, fake, tree) = locked_tree();
        spoil(&setup, &tree);
        let before = tree.hashes();
        let out = run(&tree, &fake, &["--frozen", "apply"]);
        out.code(1).stderr_mentions(needle);
        tree.assert_unchanged(&before);
        assert!(!tree.exists("bin/tool"), "{name}");
    }
}

#[test]
fn a_locked_repair_without_cached_evidence_fetches_the_signatures_again() {
    // Online, a repair whose evidence is not cached asks upstream again;
    // an upstream whose signature is now bad is refused.
    let (setup, fake, tree) = locked_tree();
    std::fs::remove_dir_all(tree.cache()).unwrap();
    run(&tree, &fake, &["--locked", "apply"]).code(0);
    assert!(tree.exists("bin/tool"));

    tree.remove("bin/tool");
    std::fs::remove_dir_all(tree.cache()).unwrap();
    let mallory = setup._keys.minisign_key("mallory");
    let bad = setup._keys.minisign("mallory", &archive("a"));
    let release = FakeRelease::new(TAG)
        .with_asset(FakeAsset::new(ARCHIVE, archive("a")).without_digest())
        .with_asset(FakeAsset::new(&format!("{ARCHIVE}.minisig"), bad).without_digest());
    fake.release(REPO, release);
    let before = tree.hashes();
    run(&tree, &fake, &["--locked", "apply"])
        .code(1)
        .stderr_mentions(&format!("signed by minisign key {mallory}"));
    tree.assert_unchanged(&before);
    assert!(!tree.exists("bin/tool"));
}

#[test]
fn a_keyring_of_several_keys_locks_the_key_that_signed_on_every_path() {
    for (path_name, steps) in PATHS {
        let keys = Keys::new();
        let first = keys.pgp_key("first");
        let second = keys.pgp_key("release");
        let keyring = keys.gpg(&["--armor", "--export", &first, &second]);
        let bytes = archive("a");
        let sig = keys.pgp(&second, &bytes, true);
        let setup = Setup {
            checksum: String::new(),
            verify: pgp_over("asset"),
            keys: vec![("release.asc".into(), keyring)],
            assets: vec![(ARCHIVE.into(), bytes), (format!("{ARCHIVE}.asc"), sig)],
            needle: String::new(),
            _keys: keys,
        };
        let fake = FakeGithub::start();
        setup.publish(&fake);
        let tree = setup.tree();
        path_runs(&tree, &fake, steps).code(0);
        assert_eq!(
            trust(&tree),
            ("signature".into(), format!("pgp:{second}")),
            "{path_name}: the lock must name the key that signed, not the keyring's first"
        );
    }
}
