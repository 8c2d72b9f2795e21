//! Signatures end to end: `vendor apply` against the fake GitHub, with
//! keys and signatures made at test time by the independent tools
//! (`minisign`, `openssl` in cosign's blob format, `gpg`), never by this
//! project's code. A good signature installs and locks the trust as
//! `<kind>:<key fingerprint>`; a tampered file, a tampered checksum file,
//! the wrong key or a missing signature fail with exit 1, the tree
//! unchanged byte for byte and no lock written.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

#[path = "support/keys.rs"]
mod keys;

use build::{sha256_hex, sha256sums, tar_gz};
use fake_github::{FakeAsset, FakeGithub, FakeRelease};
use keys::Keys;
use serde_yaml::Value as Yaml;
use support::Tree;
use support::tree::Output;

const REPO: &str = "acme/tool";
const TAG: &str = "v1.2.3";
const ARCHIVE: &str = "tool_v1.2.3_linux_amd64.tar.gz";
const SUMS: &str = "checksums.txt";

fn archive(build: &str) -> Vec<u8> {
    let script = format!("#!/bin/sh\necho tool 1.2.3 build {build}\n");
    tar_gz(&[("tool", script.as_bytes(), 0o755)])
}

/// A tree with one item whose `verify` block is `verify`, and whose asset
/// checksum is `checksum`; the key file `key` is committed at `keys/`.
fn tree(checksum: &str, verify: &str, key: (&str, &[u8])) -> Tree {
    let tree = Tree::new();
    tree.write(&format!("keys/{}", key.0), key.1);
    tree.write(
        "vendor.yaml",
        format!(
            "version: 1\nitems:\n  tool:\n    version: 1.2.3\n    source:\n      type: github-release\n      \
             repo: {REPO}\n      tag: v{{version}}\n    platforms: [linux/amd64]\n    assets:\n      \
             - name: tool_{{tag}}_{{os}}_{{arch}}.tar.gz\n{checksum}        extract:\n          member: tool\n        \
             install: bin/tool\n        mode: \"0755\"\n    verify:\n      signatures:\n{verify}"
        ),
    );
    tree
}

fn apply(tree: &Tree, fake: &FakeGithub) -> Output {
    tree.vendor(["apply"])
        .env("GITHUB_API_URL", fake.api_url())
        .output()
}

/// The lock's trust of the tool's artifact.
fn trust(tree: &Tree) -> (String, String) {
    let lock: Yaml = serde_yaml::from_str(&tree.read("vendor.lock.yaml")).unwrap();
    let t = &lock["items"]["tool"]["artifacts"][0]["trust"];
    (
        t["kind"].as_str().unwrap().to_owned(),
        t["by"].as_str().unwrap_or_default().to_owned(),
    )
}

/// `apply` fails with `needle` in its diagnostics and leaves nothing.
fn refused(tree: &Tree, fake: &FakeGithub, needle: &str) {
    let before = tree.hashes();
    let out = apply(tree, fake);
    out.code(1).stderr_mentions(needle);
    tree.assert_unchanged(&before);
    assert!(!tree.exists("vendor.lock.yaml"));
    assert!(!tree.exists("bin/tool"));
}

fn publish(fake: &FakeGithub, assets: Vec<(&str, Vec<u8>)>) {
    let release = assets
        .into_iter()
        .fold(FakeRelease::new(TAG), |r, (name, bytes)| {
            r.with_asset(FakeAsset::new(name, bytes).without_digest())
        });
    fake.release(REPO, release);
    fake.tag(REPO, TAG, &"1".repeat(40));
}

const OVER_ASSET_MINISIGN: &str = "        - kind: minisign\n          key: keys/tool.pub\n          signature: '{asset}.minisig'\n";

// ---------------------------------------------------------------------------
// minisign over each asset
// ---------------------------------------------------------------------------

#[test]
fn minisign_over_the_asset_installs_and_locks_the_key_id() {
    let keys = Keys::new();
    let id = keys.minisign_key("tool");
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sig = keys.minisign("tool", &bytes);
    publish(
        &fake,
        vec![
            (ARCHIVE, bytes.clone()),
            (&format!("{ARCHIVE}.minisig"), sig),
        ],
    );
    // No checksum at all: the signature is the trust.
    let tree = tree(
        "",
        OVER_ASSET_MINISIGN,
        ("tool.pub", &keys.read("tool.pub")),
    );
    apply(&tree, &fake).code(0);
    assert_eq!(trust(&tree), ("signature".into(), format!("minisign:{id}")));
    assert!(tree.exists("bin/tool"));
    tree.vendor(["check"]).output().code(0);
}

#[test]
fn minisign_refuses_a_tampered_asset() {
    let keys = Keys::new();
    keys.minisign_key("tool");
    let fake = FakeGithub::start();
    let sig = keys.minisign("tool", &archive("a"));
    publish(
        &fake,
        vec![
            (ARCHIVE, archive("b")),
            (&format!("{ARCHIVE}.minisig"), sig),
        ],
    );
    let tree = tree(
        "",
        OVER_ASSET_MINISIGN,
        ("tool.pub", &keys.read("tool.pub")),
    );
    refused(&tree, &fake, "fails its");
}

#[test]
fn minisign_refuses_another_key_naming_both() {
    let keys = Keys::new();
    let signer = keys.minisign_key("upstream");
    let pinned = keys.minisign_key("tool");
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sig = keys.minisign("upstream", &bytes);
    publish(
        &fake,
        vec![(ARCHIVE, bytes), (&format!("{ARCHIVE}.minisig"), sig)],
    );
    let tree = tree(
        "",
        OVER_ASSET_MINISIGN,
        ("tool.pub", &keys.read("tool.pub")),
    );
    refused(&tree, &fake, &signer);
    apply(&tree, &fake).stderr_mentions(&pinned);
}

#[test]
fn a_missing_signature_is_named_with_what_the_release_has() {
    let keys = Keys::new();
    keys.minisign_key("tool");
    let fake = FakeGithub::start();
    publish(&fake, vec![(ARCHIVE, archive("a"))]);
    let tree = tree(
        "",
        OVER_ASSET_MINISIGN,
        ("tool.pub", &keys.read("tool.pub")),
    );
    refused(
        &tree,
        &fake,
        &format!("expected the minisign signature `{ARCHIVE}.minisig`"),
    );
}

#[test]
fn a_signature_with_a_checksum_file_must_agree_with_both() {
    // The checksum file and the signature are both checked: bytes the
    // signature covers but the checksum file does not are refused.
    let keys = Keys::new();
    let id = keys.minisign_key("tool");
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sig = keys.minisign("tool", &bytes);
    let sums = sha256sums(&[(ARCHIVE, &bytes)]);
    publish(
        &fake,
        vec![
            (ARCHIVE, bytes),
            (&format!("{ARCHIVE}.minisig"), sig),
            (SUMS, sums),
        ],
    );
    let checksum = format!("        checksum:\n          file: {SUMS}\n");
    let tree = tree(
        &checksum,
        OVER_ASSET_MINISIGN,
        ("tool.pub", &keys.read("tool.pub")),
    );
    apply(&tree, &fake).code(0);
    assert_eq!(trust(&tree), ("signature".into(), format!("minisign:{id}")));
}

// ---------------------------------------------------------------------------
// cosign over the checksum file
// ---------------------------------------------------------------------------

const OVER_SUMS_COSIGN: &str = "        - kind: cosign\n          key: keys/cosign.pub\n          \
     signature: '{asset}.sig'\n          over: checksum-file\n";

fn sums_checksum() -> String {
    format!("        checksum:\n          file: {SUMS}\n")
}

#[test]
fn cosign_over_the_checksum_file_extends_to_the_listed_asset() {
    let keys = Keys::new();
    let fingerprint = keys.cosign_key("cosign");
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sums = sha256sums(&[(ARCHIVE, &bytes), ("other.zip", b"not shipped")]);
    let sig = keys.cosign("cosign", &sums);
    publish(
        &fake,
        vec![
            (ARCHIVE, bytes),
            (SUMS, sums),
            (&format!("{SUMS}.sig"), sig),
        ],
    );
    let tree = tree(
        &sums_checksum(),
        OVER_SUMS_COSIGN,
        ("cosign.pub", &keys.read("cosign.pub.pem")),
    );
    apply(&tree, &fake).code(0);
    assert_eq!(
        trust(&tree),
        ("signature".into(), format!("cosign:{fingerprint}"))
    );
}

#[test]
fn cosign_refuses_a_tampered_checksum_file() {
    let keys = Keys::new();
    keys.cosign_key("cosign");
    let fake = FakeGithub::start();
    let good = archive("a");
    let evil = archive("b");
    let signed = sha256sums(&[(ARCHIVE, &good)]);
    let sig = keys.cosign("cosign", &signed);
    // The attacker swaps the archive and rewrites the checksum file to
    // match it; the signature no longer does.
    let forged = sha256sums(&[(ARCHIVE, &evil)]);
    publish(
        &fake,
        vec![
            (ARCHIVE, evil),
            (SUMS, forged),
            (&format!("{SUMS}.sig"), sig),
        ],
    );
    let tree = tree(
        &sums_checksum(),
        OVER_SUMS_COSIGN,
        ("cosign.pub", &keys.read("cosign.pub.pem")),
    );
    refused(
        &tree,
        &fake,
        "the checksum file checksums.txt fails its cosign signature",
    );
}

#[test]
fn cosign_refuses_another_key_and_a_malformed_signature() {
    let keys = Keys::new();
    keys.cosign_key("upstream");
    keys.cosign_key("cosign");
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sums = sha256sums(&[(ARCHIVE, &bytes)]);
    let sig = keys.cosign("upstream", &sums);
    publish(
        &fake,
        vec![
            (ARCHIVE, bytes.clone()),
            (SUMS, sums.clone()),
            (&format!("{SUMS}.sig"), sig),
        ],
    );
    let tree = tree(
        &sums_checksum(),
        OVER_SUMS_COSIGN,
        ("cosign.pub", &keys.read("cosign.pub.pem")),
    );
    refused(&tree, &fake, "fails its");

    publish(
        &fake,
        vec![
            (ARCHIVE, bytes),
            (SUMS, sums),
            (&format!("{SUMS}.sig"), b"not base64 at all!".to_vec()),
        ],
    );
    refused(&tree, &fake, "cosign");
}

#[test]
fn a_tampered_asset_under_a_signed_checksum_file_is_a_checksum_mismatch() {
    let keys = Keys::new();
    keys.cosign_key("cosign");
    let fake = FakeGithub::start();
    let good = archive("a");
    let sums = sha256sums(&[(ARCHIVE, &good)]);
    let sig = keys.cosign("cosign", &sums);
    publish(
        &fake,
        vec![
            (ARCHIVE, archive("b")),
            (SUMS, sums),
            (&format!("{SUMS}.sig"), sig),
        ],
    );
    let tree = tree(
        &sums_checksum(),
        OVER_SUMS_COSIGN,
        ("cosign.pub", &keys.read("cosign.pub.pem")),
    );
    refused(&tree, &fake, "checksum mismatch");
}

// ---------------------------------------------------------------------------
// OpenPGP
// ---------------------------------------------------------------------------

const OVER_SUMS_PGP: &str = "        - kind: pgp\n          key: keys/release.asc\n          \
     signature: '{asset}.asc'\n          over: checksum-file\n";

#[test]
fn pgp_over_the_checksum_file_locks_the_primary_fingerprint() {
    let keys = Keys::new();
    let fpr = keys.pgp_key("release");
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sums = sha256sums(&[(ARCHIVE, &bytes)]);
    let sig = keys.pgp(&fpr, &sums, true);
    publish(
        &fake,
        vec![
            (ARCHIVE, bytes),
            (SUMS, sums),
            (&format!("{SUMS}.asc"), sig),
        ],
    );
    let tree = tree(
        &sums_checksum(),
        OVER_SUMS_PGP,
        ("release.asc", &keys.read("release.asc")),
    );
    apply(&tree, &fake).code(0);
    assert_eq!(trust(&tree), ("signature".into(), format!("pgp:{fpr}")));
}

#[test]
fn pgp_refuses_a_tampered_checksum_file_and_another_key() {
    let keys = Keys::new();
    let fpr = keys.pgp_key("release");
    let other = keys.pgp_key("mallory");
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sums = sha256sums(&[(ARCHIVE, &bytes)]);
    let sig = keys.pgp(&fpr, &sums, true);
    let mut tampered = sums.clone();
    tampered.extend_from_slice(format!("{}  extra.bin\n", sha256_hex(b"x")).as_bytes());
    publish(
        &fake,
        vec![
            (ARCHIVE, bytes.clone()),
            (SUMS, tampered),
            (&format!("{SUMS}.asc"), sig),
        ],
    );
    let tree = tree(
        &sums_checksum(),
        OVER_SUMS_PGP,
        ("release.asc", &keys.read("release.asc")),
    );
    refused(&tree, &fake, "fails its");

    let forged = keys.pgp(&other, &sums, true);
    publish(
        &fake,
        vec![
            (ARCHIVE, bytes),
            (SUMS, sums),
            (&format!("{SUMS}.asc"), forged),
        ],
    );
    refused(&tree, &fake, "fails its");
}

#[test]
fn pgp_binary_signature_over_the_asset() {
    let keys = Keys::new();
    let fpr = keys.pgp_key("release");
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sig = keys.pgp(&fpr, &bytes, false);
    publish(
        &fake,
        vec![(ARCHIVE, bytes), (&format!("{ARCHIVE}.sig"), sig)],
    );
    let verify = "        - kind: pgp\n          key: keys/release.asc\n          signature: '{asset}.sig'\n";
    let tree = tree("", verify, ("release.asc", &keys.read("release.asc")));
    apply(&tree, &fake).code(0);
    assert_eq!(trust(&tree), ("signature".into(), format!("pgp:{fpr}")));

    // The lock now vouches for the bytes: a reinstall needs no signature.
    tree.remove("bin/tool");
    tree.vendor(["--offline", "apply"]).output().code(0);
    assert!(tree.exists("bin/tool"));
}

#[test]
fn an_unreadable_key_is_an_error_naming_the_file() {
    let fake = FakeGithub::start();
    let bytes = archive("a");
    publish(
        &fake,
        vec![
            (ARCHIVE, bytes),
            (&format!("{ARCHIVE}.minisig"), b"x".to_vec()),
        ],
    );
    let tree = tree(
        "",
        OVER_ASSET_MINISIGN,
        ("tool.pub", b"this is not a key\n"),
    );
    refused(&tree, &fake, "keys/tool.pub");
}

#[test]
fn pgp_refuses_a_tampered_asset() {
    let keys = Keys::new();
    let fpr = keys.pgp_key("release");
    let fake = FakeGithub::start();
    let sig = keys.pgp(&fpr, &archive("a"), false);
    publish(
        &fake,
        vec![(ARCHIVE, archive("b")), (&format!("{ARCHIVE}.sig"), sig)],
    );
    let verify = "        - kind: pgp\n          key: keys/release.asc\n          signature: '{asset}.sig'\n";
    let tree = tree("", verify, ("release.asc", &keys.read("release.asc")));
    refused(&tree, &fake, "bad signature");
}

#[test]
fn missing_signatures_of_every_kind_are_refused() {
    let keys = Keys::new();
    keys.cosign_key("cosign");
    keys.pgp_key("release");
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sums = sha256sums(&[(ARCHIVE, &bytes)]);
    publish(&fake, vec![(ARCHIVE, bytes), (SUMS, sums)]);
    let cosign = tree(
        &sums_checksum(),
        OVER_SUMS_COSIGN,
        ("cosign.pub", &keys.read("cosign.pub.pem")),
    );
    refused(
        &cosign,
        &fake,
        "expected the cosign signature `checksums.txt.sig`",
    );
    let pgp = tree(
        &sums_checksum(),
        OVER_SUMS_PGP,
        ("release.asc", &keys.read("release.asc")),
    );
    refused(
        &pgp,
        &fake,
        "expected the pgp signature `checksums.txt.asc`",
    );
}

#[test]
fn minisign_over_the_checksum_file_refuses_a_tampered_one() {
    let keys = Keys::new();
    let id = keys.minisign_key("tool");
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sums = sha256sums(&[(ARCHIVE, &bytes)]);
    let sig = keys.minisign("tool", &sums);
    let verify = "        - kind: minisign\n          key: keys/tool.pub\n          \
                  signature: '{asset}.minisig'\n          over: checksum-file\n";
    publish(
        &fake,
        vec![
            (ARCHIVE, bytes.clone()),
            (SUMS, sums.clone()),
            (&format!("{SUMS}.minisig"), sig.clone()),
        ],
    );
    let good = tree(
        &sums_checksum(),
        verify,
        ("tool.pub", &keys.read("tool.pub")),
    );
    apply(&good, &fake).code(0);
    assert_eq!(trust(&good), ("signature".into(), format!("minisign:{id}")));

    let mut tampered = sums;
    tampered.extend_from_slice(b"# appended\n");
    publish(
        &fake,
        vec![
            (ARCHIVE, bytes),
            (SUMS, tampered),
            (&format!("{SUMS}.minisig"), sig),
        ],
    );
    let bad = tree(
        &sums_checksum(),
        verify,
        ("tool.pub", &keys.read("tool.pub")),
    );
    refused(
        &bad,
        &fake,
        "the checksum file checksums.txt fails its minisign signature",
    );
}

#[test]
fn cosign_over_the_asset_installs_and_refuses_a_tampered_one() {
    let keys = Keys::new();
    let fingerprint = keys.cosign_key("cosign");
    let verify = "        - kind: cosign\n          key: keys/cosign.pub\n          signature: '{asset}.sig'\n";
    let fake = FakeGithub::start();
    let bytes = archive("a");
    let sig = keys.cosign("cosign", &bytes);
    publish(
        &fake,
        vec![(ARCHIVE, bytes), (&format!("{ARCHIVE}.sig"), sig.clone())],
    );
    let good = tree("", verify, ("cosign.pub", &keys.read("cosign.pub.pem")));
    apply(&good, &fake).code(0);
    assert_eq!(
        trust(&good),
        ("signature".into(), format!("cosign:{fingerprint}"))
    );

    publish(
        &fake,
        vec![(ARCHIVE, archive("b")), (&format!("{ARCHIVE}.sig"), sig)],
    );
    let bad = tree("", verify, ("cosign.pub", &keys.read("cosign.pub.pem")));
    refused(&bad, &fake, "fails its cosign signature");
}
