//! Keyless attestations (Sigstore bundles), verified against a test PKI
//! made here (tests/support/sigstore.rs): each verification step refuses
//! the bundle that breaks it, naming the step; end to end, an attested
//! asset installs on every path and a bad bundle is refused on every path
//! with nothing installed.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/sigstore.rs"]
mod sigstore;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

use sigstore::{Identity, Pki, SLSA, Spec, T0};
use vendor::attest::{self, Policy, Step};

const REPO: &str = "acme/tool";
const ASSET: &[u8] = b"the tool, as built\n";

fn identity() -> Identity {
    Identity::new(REPO, "release.yml", "refs/tags/v1.2.3")
}

fn policy() -> Policy {
    Policy {
        kind: attest::Kind::Artifact,
        repository: REPO.into(),
        workflow: format!("{REPO}/.github/workflows/release.yml"),
        git_ref: Some("refs/tags/v1.2.3".into()),
        predicate_type: SLSA.into(),
        issuer: sigstore::ISSUER.into(),
    }
}

fn spec() -> Spec {
    Spec::new(identity(), "tool.tar.gz", ASSET)
}

fn check(pki: &Pki, spec: &Spec, policy: &Policy) -> Result<attest::Attested, attest::AttestError> {
    let root = attest::root::parse(pki.trusted_root().as_bytes()).unwrap();
    attest::verify(
        &pki.bundle(spec),
        &root,
        policy,
        &sigstore::hex(&sigstore::sha256(ASSET)),
    )
}

#[track_caller]
fn refused(spec: Spec, policy: Policy, step: Step, needle: &str) {
    let pki = Pki::new();
    let e = check(&pki, &spec, &policy).expect_err("the bundle must be refused");
    assert_eq!(e.step, step, "{e}");
    assert!(e.to_string().contains(needle), "{e}");
}

#[test]
fn a_valid_artifact_attestation_verifies() {
    let pki = Pki::new();
    let ok = check(&pki, &spec(), &policy()).unwrap();
    assert_eq!(ok.signer_uri, identity().signer_uri());
    assert_eq!(ok.signed_at, (T0 + 60) as i64);
    // Any ref when the policy names none; owner and name without case.
    let mut p = policy();
    p.git_ref = None;
    p.repository = "Acme/Tool".into();
    p.workflow = "ACME/tool/.github/workflows/release.yml".into();
    check(&pki, &spec(), &p).unwrap();
}

#[test]
fn wrong_repository_workflow_ref_or_issuer_is_refused() {
    let mut p = policy();
    p.repository = "acme/other".into();
    refused(
        spec(),
        p,
        Step::Identity,
        "made for repository https://github.com/acme/tool",
    );
    let mut p = policy();
    p.workflow = format!("{REPO}/.github/workflows/nightly.yml");
    refused(spec(), p, Step::Identity, "signed by workflow");
    let mut p = policy();
    p.git_ref = Some("refs/tags/v1.2.4".into());
    refused(spec(), p, Step::Identity, "at ref refs/tags/v1.2.3");
    let mut s = spec();
    s.identity.issuer = "https://accounts.example".into();
    refused(s, policy(), Step::Identity, "issued for tokens of");
    // A fork's workflow with the same file name.
    let mut s = spec();
    s.identity.workflow = "mallory/tool/.github/workflows/release.yml".into();
    refused(s, policy(), Step::Identity, "signed by workflow");
}

#[test]
fn subject_digest_mismatch_is_refused() {
    let mut s = spec();
    s.subject_sha256 = sigstore::hex(&sigstore::sha256(b"another build"));
    refused(s, policy(), Step::Subject, "does not attest sha256");
}

#[test]
fn another_predicate_type_is_refused() {
    let mut s = spec();
    s.predicate_type = "https://spdx.dev/Document".into();
    refused(s, policy(), Step::PredicateType, "spdx");
}

#[test]
fn certificate_expired_at_signing_time_is_refused() {
    let mut s = spec();
    s.integrated_time = T0 + 1200;
    refused(
        s,
        policy(),
        Step::CertificateValidity,
        "but the log integrated the signature at",
    );
    let mut s = spec();
    s.integrated_time = T0 - 10;
    refused(s, policy(), Step::CertificateValidity, "valid from");
}

#[test]
fn signature_over_another_payload_is_refused() {
    let mut s = spec();
    s.sign_other_payload = true;
    refused(s, policy(), Step::Envelope, "does not verify");
}

#[test]
fn missing_log_evidence_is_refused() {
    let mut s = spec();
    s.with_tlog = false;
    refused(s, policy(), Step::TlogEntry, "no transparency-log entry");
    let mut s = spec();
    s.with_set = false;
    refused(s, policy(), Step::Set, "no signed entry timestamp");
    let mut s = spec();
    s.with_proof = false;
    refused(s, policy(), Step::InclusionProof, "no inclusion proof");
}

#[test]
fn forged_log_evidence_is_refused() {
    let mut s = spec();
    s.set_key = Some("mallory".into());
    refused(s, policy(), Step::Set, "does not verify");
    let mut s = spec();
    s.bad_proof = true;
    refused(s, policy(), Step::InclusionProof, "not in the tree");
    let mut s = spec();
    s.checkpoint_key = Some("mallory".into());
    refused(s, policy(), Step::Checkpoint, "not signed by the key");
}

/// A bundle timestamped now by a TSA, with or without a log entry.
fn timestamped(with_tlog: bool) -> Spec {
    let mut s = spec();
    let now = sigstore::now();
    s.leaf_validity = (now - 120, now + 480);
    s.integrated_time = now - 60;
    s.with_tlog = with_tlog;
    s.tsa = Some("test tsa".into());
    s
}

#[test]
fn an_rfc3161_timestamp_proves_the_signing_time() {
    let pki = Pki::new();
    for with_tlog in [false, true] {
        let ok = check(&pki, &timestamped(with_tlog), &policy()).unwrap();
        let now = sigstore::now() as i64;
        assert!(
            (now - 600..=now + 5).contains(&ok.signed_at),
            "{}",
            ok.signed_at
        );
    }
    // A log entry with neither SET nor timestamp proves no time.
    let mut s = timestamped(true);
    s.tsa = None;
    s.with_set = false;
    refused(s, policy(), Step::Set, "nothing proves when");
}

#[test]
fn a_bad_timestamp_is_refused() {
    let mut s = timestamped(false);
    s.tsa = Some("rogue tsa".into());
    refused(
        s,
        policy(),
        Step::Timestamp,
        "not signed by a timestamp authority",
    );
    let mut s = timestamped(false);
    s.timestamp_other_bytes = true;
    refused(
        s,
        policy(),
        Step::Timestamp,
        "not over this bundle's signature",
    );
    // The certificate expired before the timestamp's time.
    let mut s = timestamped(false);
    s.leaf_validity = (T0, T0 + 600);
    refused(s, policy(), Step::CertificateValidity, "valid from");
}

/// A release attestation as GitHub makes them: signed by its releases
/// signer, timestamped by a TSA, no log entry.
fn release_spec(tag: &str) -> Spec {
    let mut s = timestamped(false);
    s.release = Some((REPO.into(), tag.into()));
    s.predicate_type = sigstore::RELEASE.into();
    s
}

fn release_policy(tag: &str) -> Policy {
    Policy {
        kind: attest::Kind::Release { tag: tag.into() },
        predicate_type: sigstore::RELEASE.into(),
        git_ref: None,
        ..policy()
    }
}

#[test]
fn a_valid_release_attestation_verifies() {
    let pki = Pki::new();
    let ok = check(&pki, &release_spec("v1.2.3"), &release_policy("v1.2.3")).unwrap();
    assert_eq!(ok.signer_uri, "https://dotcom.releases.github.com");
}

#[test]
fn a_release_attestation_for_another_tag_repository_or_signer_is_refused() {
    refused(
        release_spec("v1.2.2"),
        release_policy("v1.2.3"),
        Step::Identity,
        "for tag v1.2.2",
    );
    let mut p = release_policy("v1.2.3");
    p.repository = "acme/other".into();
    refused(
        release_spec("v1.2.3"),
        p,
        Step::Identity,
        "for repository acme/tool",
    );
    // A workflow's certificate over a release statement is not GitHub's.
    let mut s = release_spec("v1.2.3");
    s.release = None;
    s.predicate_type = sigstore::RELEASE.into();
    refused(
        s,
        release_policy("v1.2.3"),
        Step::Identity,
        "not GitHub's release signer",
    );
    // An artifact attestation is not a release attestation.
    let mut s = timestamped(false);
    s.tsa = Some("test tsa".into());
    refused(s, release_policy("v1.2.3"), Step::PredicateType, "not");
    // Without its timestamp nothing proves the time.
    let mut s = release_spec("v1.2.3");
    s.tsa = None;
    refused(
        s,
        release_policy("v1.2.3"),
        Step::TlogEntry,
        "no RFC 3161 timestamp",
    );
}

#[test]
fn untrusted_ca_is_refused() {
    let mut s = spec();
    s.issuing_ca = Some("rogue fulcio".into());
    refused(s, policy(), Step::Chain, "does not chain");
}

#[test]
fn sct_must_come_from_a_trusted_ct_log() {
    let mut s = spec();
    s.ct_key = Some("rogue ctlog".into());
    refused(s, policy(), Step::Sct, "unknown log");
    let mut s = spec();
    s.with_sct = false;
    refused(s, policy(), Step::Sct, "no signed certificate timestamp");
}

#[test]
fn a_log_missing_from_the_trusted_root_is_refused() {
    let pki = Pki::new();
    let other = Pki {
        log_key: sigstore::key("another rekor"),
        ..Pki::new()
    };
    let root = attest::root::parse(other.trusted_root().as_bytes()).unwrap();
    let e = attest::verify(
        &pki.bundle(&spec()),
        &root,
        &policy(),
        &sigstore::hex(&sigstore::sha256(ASSET)),
    )
    .unwrap_err();
    assert_eq!(e.step, Step::TlogEntry, "{e}");
}

#[test]
fn damaged_bundles_are_refused_as_such() {
    let pki = Pki::new();
    let root = attest::root::parse(pki.trusted_root().as_bytes()).unwrap();
    let sha = sigstore::hex(&sigstore::sha256(ASSET));
    let good = pki.bundle(&spec());
    for bad in [
        b"".to_vec(),
        b"{}".to_vec(),
        good[..good.len() / 2].to_vec(),
        String::from_utf8(good.clone())
            .unwrap()
            .replace("bundle.v0.3", "bundle.v9")
            .into_bytes(),
        vec![b' '; 2 << 20],
    ] {
        let e = attest::verify(&bad, &root, &policy(), &sha).unwrap_err();
        assert_eq!(e.step, Step::Bundle, "{e}");
    }
}

// ---------------------------------------------------------------------------
// End to end
// ---------------------------------------------------------------------------

use build::{sha256sums, tar_gz};
use fake_github::{FakeAsset, FakeGithub, FakeRelease};
use support::Tree;
use support::tree::Output;

const TAG: &str = "v1.2.3";
const ARCHIVE: &str = "tool_v1.2.3_linux_amd64.tar.gz";
const LABEL_ID: &str = "github-attestation:acme/tool@.github/workflows/release.yml";

/// The lock's signer: the identity and the trusted root's sha256.
fn label(identity: &str) -> String {
    let root = sigstore::hex(&sigstore::sha256(Pki::new().trusted_root().as_bytes()));
    format!("{identity} (trusted root sha256:{})", &root[..16])
}

fn archive(build: &str) -> Vec<u8> {
    let script = format!("#!/bin/sh\necho tool 1.2.3 build {build}\n");
    tar_gz(&[("tool", script.as_bytes(), 0o755)])
}

/// An item, its release, and what a refusal must say.
struct Setup {
    /// `verify.attestation` keys besides `trusted_root`.
    policy: String,
    checksum: bool,
    published: Vec<u8>,
    bundle: Option<Vec<u8>>,
    needle: &'static str,
}

impl Setup {
    fn good() -> Setup {
        let bytes = archive("a");
        let spec = Spec::new(identity(), ARCHIVE, &bytes);
        Setup {
            policy: "        repository: acme/tool\n        ref: refs/tags/{tag}\n        \
                     workflow: .github/workflows/release.yml\n"
                .into(),
            checksum: false,
            bundle: Some(Pki::new().bundle(&spec)),
            published: bytes,
            needle: "",
        }
    }

    fn tree(&self) -> Tree {
        let tree = Tree::new();
        tree.write("keys/trusted_root.json", Pki::new().trusted_root());
        let checksum = if self.checksum {
            "        checksum:\n          file: checksums.txt\n"
        } else {
            ""
        };
        tree.write(
            "vendor.yaml",
            format!(
                "version: 1\nitems:\n  tool:\n    version: 1.2.3\n    source:\n      type: \
                 github-release\n      repo: {REPO}\n      tag: v{{version}}\n    platforms: \
                 [linux/amd64]\n    assets:\n      - name: tool_{{tag}}_{{os}}_{{arch}}.tar.gz\n\
                 {checksum}        extract:\n          member: tool\n        install: bin/tool\n        \
                 mode: \"0755\"\n    verify:\n      attestation:\n{}        trusted_root: \
                 keys/trusted_root.json\n",
                self.policy
            ),
        );
        tree
    }

    fn publish(&self, fake: &FakeGithub) {
        let mut release = FakeRelease::new(TAG)
            .with_asset(FakeAsset::new(ARCHIVE, self.published.clone()).without_digest());
        if self.checksum {
            release = release.with_asset(
                FakeAsset::new("checksums.txt", sha256sums(&[(ARCHIVE, &self.published)]))
                    .without_digest(),
            );
        }
        if let Some(b) = &self.bundle {
            release = release.with_asset(FakeAsset::new(
                &format!("{ARCHIVE}.sigstore.json"),
                b.clone(),
            ));
        }
        fake.release(REPO, release);
        fake.tag(REPO, TAG, &"1".repeat(40));
    }
}

fn run(tree: &Tree, fake: &FakeGithub, args: &[&str]) -> Output {
    tree.vendor(args)
        .env("GITHUB_API_URL", fake.api_url())
        .output()
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

/// Runs `steps` until one fails; the last output.
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

fn lock_trust(tree: &Tree) -> (String, String) {
    let lock: serde_yaml::Value = serde_yaml::from_str(&tree.read("vendor.lock.yaml")).unwrap();
    let t = &lock["items"]["tool"]["artifacts"][0]["trust"];
    (
        t["kind"].as_str().unwrap().to_owned(),
        t["by"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn an_attested_asset_installs_on_every_path_and_locks_the_signer() {
    for (path_name, steps) in PATHS {
        let setup = Setup::good();
        let fake = FakeGithub::start();
        setup.publish(&fake);
        let tree = setup.tree();
        let out = path_runs(&tree, &fake, steps);
        assert_eq!(out.code, 0, "{path_name}: {}\n{}", out.stdout, out.stderr);
        assert!(tree.exists("bin/tool"), "{path_name}");
        assert_eq!(
            lock_trust(&tree),
            ("signature".to_owned(), label(LABEL_ID)),
            "{path_name}"
        );
        // A repair from the lock, offline, verifies the cached bundle.
        tree.remove("bin/tool");
        run(&tree, &fake, &["--frozen", "apply"]).code(0);
        assert!(tree.exists("bin/tool"), "{path_name}: repaired");
        run(&tree, &fake, &["check", "--installed"]).code(0);
    }
}

fn wrong_workflow() -> Setup {
    Setup {
        policy: "        repository: acme/tool\n        workflow: .github/workflows/nightly.yml\n"
            .into(),
        needle: "step `identity` failed",
        ..Setup::good()
    }
}

fn wrong_repository() -> Setup {
    Setup {
        policy: "        repository: acme/other\n        workflow: acme/tool/.github/workflows/release.yml\n"
            .into(),
        needle: "step `identity` failed",
        ..Setup::good()
    }
}

fn wrong_ref() -> Setup {
    Setup {
        policy: "        repository: acme/tool\n        ref: refs/heads/main\n        workflow: \
                 .github/workflows/release.yml\n"
            .into(),
        needle: "step `identity` failed",
        ..Setup::good()
    }
}

/// The tarball rebuilt after it was attested, its checksum file
/// regenerated: only the attestation can catch it.
fn tampered_asset() -> Setup {
    Setup {
        checksum: true,
        published: archive("evil"),
        needle: "step `subject` failed",
        ..Setup::good()
    }
}

fn no_bundle() -> Setup {
    Setup {
        bundle: None,
        needle: "expected the attestation bundle",
        ..Setup::good()
    }
}

fn with_spec(edit: fn(&mut Spec), needle: &'static str) -> Setup {
    let bytes = archive("a");
    let mut spec = Spec::new(identity(), ARCHIVE, &bytes);
    edit(&mut spec);
    Setup {
        bundle: Some(Pki::new().bundle(&spec)),
        needle,
        ..Setup::good()
    }
}

fn expired_certificate() -> Setup {
    with_spec(
        |s| s.integrated_time = T0 + 3600,
        "step `certificate-validity` failed",
    )
}

fn untrusted_ca() -> Setup {
    with_spec(
        |s| s.issuing_ca = Some("rogue fulcio".into()),
        "step `certificate-chain` failed",
    )
}

fn no_log_entry() -> Setup {
    with_spec(|s| s.with_tlog = false, "step `tlog-entry` failed")
}

fn another_payload() -> Setup {
    with_spec(|s| s.sign_other_payload = true, "step `envelope` failed")
}

fn garbage_bundle() -> Setup {
    Setup {
        bundle: Some(b"<html>not found</html>".to_vec()),
        needle: "step `bundle` failed",
        ..Setup::good()
    }
}

/// A named way to build a setup.
type MakeSetup = (&'static str, fn() -> Setup);

#[test]
fn every_bad_attestation_is_refused_on_every_path() {
    let setups: &[MakeSetup] = &[
        ("wrong workflow", wrong_workflow),
        ("wrong repository", wrong_repository),
        ("wrong ref", wrong_ref),
        ("tampered asset", tampered_asset),
        ("no bundle", no_bundle),
        ("expired certificate", expired_certificate),
        ("untrusted CA", untrusted_ca),
        ("no log entry", no_log_entry),
        ("another payload", another_payload),
        ("garbage bundle", garbage_bundle),
    ];
    for (name, make) in setups {
        for (path_name, steps) in PATHS {
            let setup = make();
            let fake = FakeGithub::start();
            setup.publish(&fake);
            let tree = setup.tree();
            let before = tree.hashes();
            let out = path_runs(&tree, &fake, steps);
            assert_eq!(
                out.code, 1,
                "{name} × {path_name}: `{}` exited {}\n{}\n{}",
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
                "{name} × {path_name}: stderr lacks {:?}\n{}",
                setup.needle,
                out.stderr
            );
            tree.assert_unchanged(&before);
            assert!(!tree.exists("bin/tool"), "{name} × {path_name}");
            assert!(!tree.exists("vendor.lock.yaml"), "{name} × {path_name}");
            run(&tree, &fake, &["--offline", "apply"]).code(1);
            assert!(!tree.exists("bin/tool"), "{name} × {path_name}");
        }
    }
}

/// A saved plan whose bundle was swapped for another valid one (of another
/// build) is refused at apply.
#[test]
fn a_saved_plan_with_a_swapped_bundle_is_refused() {
    let setup = Setup::good();
    let fake = FakeGithub::start();
    setup.publish(&fake);
    let tree = setup.tree();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let plan_s = plan.to_string_lossy().into_owned();
    run(&tree, &fake, &["plan", "--out", &plan_s]).code(0);
    let other = Pki::new().bundle(&Spec::new(identity(), ARCHIVE, &archive("other")));
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = std::fs::read_to_string(&plan).unwrap();
    let good = b64.encode(setup.bundle.as_ref().unwrap());
    assert!(text.contains(&good), "the plan carries the bundle");
    std::fs::write(&plan, text.replace(&good, &b64.encode(other))).unwrap();
    let out = run(&tree, &fake, &["apply", &plan_s]);
    out.code(1);
    assert!(
        out.stderr.contains("step `subject` failed"),
        "{}",
        out.stderr
    );
    assert!(!tree.exists("bin/tool"));
}

/// `vendor diff` flags another signer identity, and a drop from the
/// attestation to a weaker trust.
#[test]
fn diff_flags_a_new_signer_and_a_dropped_attestation() {
    let setup = Setup::good();
    let fake = FakeGithub::start();
    setup.publish(&fake);
    let tree = setup.tree();
    run(&tree, &fake, &["apply"]).code(0);
    let old = tree.read("vendor.lock.yaml");
    let label = label(LABEL_ID);
    assert!(old.contains(&label), "{old}");
    tree.write("old.lock.yaml", &old);
    let other = label.replace("release.yml", "other.yml");
    tree.write("new.lock.yaml", old.replace(&label, &other));
    let out = run(&tree, &fake, &["diff", "old.lock.yaml", "new.lock.yaml"]);
    assert!(
        out.stdout.contains(&other),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.to_lowercase().contains("downgrade"),
        "{}",
        out.stdout
    );
    let digest = old.replace(
        &format!("kind: signature\n        by: {label}"),
        "kind: manifest\n        by: vendor.yaml",
    );
    assert_ne!(
        digest, old,
        "the lock's trust is written as expected:\n{old}"
    );
    tree.write("new.lock.yaml", digest);
    let out = run(&tree, &fake, &["diff", "old.lock.yaml", "new.lock.yaml"]);
    assert!(
        out.stdout.to_lowercase().contains("downgrade"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
}

/// openssl agrees: the test leaf chains to the test root at the signing
/// time (and not an hour later), and the DSSE signature verifies with the
/// leaf's key over the PAE.
#[test]
fn openssl_verifies_the_test_chain_and_envelope() {
    use base64::Engine as _;
    use std::process::Command;
    let b64 = base64::engine::general_purpose::STANDARD;
    let pki = Pki::new();
    let bundle: serde_json::Value = serde_json::from_slice(&pki.bundle(&spec())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_string_lossy().into_owned()
    };
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl is installed (Debian package openssl)");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let leaf = b64
        .decode(
            bundle["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let leaf = file("leaf.der", &leaf);
    let root = file("root.der", &pki.ca.root);
    let inter = file("inter.der", &pki.ca.inter);
    let mut pems = Vec::new();
    for (der, name) in [
        (&leaf, "leaf.pem"),
        (&root, "root.pem"),
        (&inter, "inter.pem"),
    ] {
        let pem = dir.path().join(name).to_string_lossy().into_owned();
        let (ok, log) = openssl(&["x509", "-inform", "DER", "-in", der, "-out", &pem]);
        assert!(ok, "{log}");
        pems.push(pem);
    }
    let at = (T0 + 60).to_string();
    let verify = |at: &str| {
        openssl(&[
            "verify",
            "-attime",
            at,
            "-CAfile",
            &pems[1],
            "-untrusted",
            &pems[2],
            &pems[0],
        ])
    };
    let (ok, log) = verify(&at);
    assert!(ok, "{log}");
    let (ok, _) = verify(&(T0 + 3600).to_string());
    assert!(!ok, "the leaf lives ten minutes");
    let (ok, text) = openssl(&["x509", "-in", &pems[0], "-noout", "-text"]);
    assert!(
        ok && text.contains("Code Signing") && text.contains("CT Precertificate SCTs"),
        "{text}"
    );
    let (ok, pubkey) = openssl(&["x509", "-in", &pems[0], "-noout", "-pubkey"]);
    assert!(ok);
    let pubkey = file("leaf.pub", pubkey.as_bytes());
    let env = &bundle["dsseEnvelope"];
    let payload = b64.decode(env["payload"].as_str().unwrap()).unwrap();
    let sig = b64
        .decode(env["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    let pae = file(
        "pae",
        &attest::pae("application/vnd.in-toto+json", &payload),
    );
    let sig = file("sig", &sig);
    let (ok, log) = openssl(&[
        "dgst",
        "-sha256",
        "-verify",
        &pubkey,
        "-signature",
        &sig,
        &pae,
    ]);
    assert!(ok, "{log}");
}

/// The bundle from GitHub's attestations API, asked by the sha256 the
/// checksum file gives: installs on every path; a bundle of another build
/// under that digest is refused; none at all is refused.
#[test]
fn a_bundle_from_the_attestations_api_installs_on_every_path() {
    for (path_name, steps) in PATHS {
        let setup = Setup {
            policy: "        repository: acme/tool\n        workflow: \
                     .github/workflows/release.yml\n        from: github-api\n"
                .into(),
            checksum: true,
            bundle: None,
            ..Setup::good()
        };
        let fake = FakeGithub::start();
        setup.publish(&fake);
        let sha = sigstore::hex(&sigstore::sha256(&setup.published));
        let bundle = Pki::new().bundle(&Spec::new(identity(), ARCHIVE, &setup.published));
        fake.attestation(REPO, &sha, &bundle);
        let tree = setup.tree();
        let out = path_runs(&tree, &fake, steps);
        assert_eq!(out.code, 0, "{path_name}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(lock_trust(&tree).1, label(LABEL_ID), "{path_name}");
        let asked = fake.requests_to(&format!("/api/v3/repos/{REPO}/attestations/sha256:{sha}"));
        assert!(!asked.is_empty(), "{path_name}: the API was asked");
    }
    // Another build's bundle filed under this digest, or none.
    for (case, bundle, needle) in [
        (
            "other build",
            Some(archive("other")),
            "step `subject` failed",
        ),
        ("none", None, "GitHub has no attestation of"),
    ] {
        let setup = Setup {
            policy: "        repository: acme/tool\n        workflow: \
                     .github/workflows/release.yml\n        from: github-api\n"
                .into(),
            checksum: true,
            bundle: None,
            ..Setup::good()
        };
        let fake = FakeGithub::start();
        setup.publish(&fake);
        let sha = sigstore::hex(&sigstore::sha256(&setup.published));
        if let Some(other) = bundle {
            let b = Pki::new().bundle(&Spec::new(identity(), ARCHIVE, &other));
            fake.attestation(REPO, &sha, &b);
        }
        let tree = setup.tree();
        let out = run(&tree, &fake, &["apply"]);
        assert_eq!(out.code, 1, "{case}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{case}: {}", out.stderr);
        assert!(!tree.exists("bin/tool"), "{case}");
    }
}

#[test]
fn the_manifest_is_validated() {
    let setup = Setup {
        policy: "        repository: acme\n        workflow: release yml\n        from: \
                 github-api\n        bundle: x.json\n"
            .into(),
        ..Setup::good()
    };
    let tree = setup.tree();
    tree.remove("keys/trusted_root.json");
    let out = tree.run(&["validate"]);
    out.code(1);
    for needle in [
        "is not `owner/name`",
        "is not a workflow path",
        "the bundle comes from the GitHub API",
        "keys/trusted_root.json",
    ] {
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
}

/// `kind: release` end to end: the bundle is GitHub's release attestation,
/// checked for this repository and the item's tag.
#[test]
fn a_release_attestation_installs_online_and_offline() {
    for (path_name, steps) in &PATHS[..2] {
        let bytes = archive("a");
        let mut spec = release_spec(TAG);
        spec.subject_sha256 = sigstore::hex(&sigstore::sha256(&bytes));
        spec.subject_name = ARCHIVE.into();
        let setup = Setup {
            policy: "        kind: release\n        repository: acme/tool\n".into(),
            bundle: Some(Pki::new().bundle(&spec)),
            published: bytes,
            ..Setup::good()
        };
        let fake = FakeGithub::start();
        setup.publish(&fake);
        let tree = setup.tree();
        let out = path_runs(&tree, &fake, steps);
        assert_eq!(out.code, 0, "{path_name}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(
            lock_trust(&tree).1,
            label("github-release-attestation:acme/tool"),
            "{path_name}"
        );
    }
    // The item's tag is checked: a release attestation of another tag.
    let bytes = archive("a");
    let mut spec = release_spec("v1.2.2");
    spec.subject_sha256 = sigstore::hex(&sigstore::sha256(&bytes));
    let setup = Setup {
        policy: "        kind: release\n        repository: acme/tool\n".into(),
        bundle: Some(Pki::new().bundle(&spec)),
        published: bytes,
        ..Setup::good()
    };
    let fake = FakeGithub::start();
    setup.publish(&fake);
    let tree = setup.tree();
    let out = run(&tree, &fake, &["apply"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("for tag v1.2.2, not v1.2.3"),
        "{}",
        out.stderr
    );
    assert!(!tree.exists("bin/tool"));
}

// ---------------------------------------------------------------------------
// Immutable releases and `check --upstream`
// ---------------------------------------------------------------------------

/// `check --upstream --format json`: the exit code and the
/// `(item, change)` of each finding.
fn upstream_findings(tree: &Tree, fake: &FakeGithub) -> (i32, Vec<(String, String)>) {
    let out = run(tree, fake, &["check", "--upstream", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    let found = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["item"].as_str().unwrap().to_owned(),
                f["change"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (out.code, found)
}

/// The release's `immutable` flag is locked where the API gives it (and
/// only there); `check --upstream` reports a locked immutable release that
/// lost it, with a GitHub annotation naming the item; `vendor diff` shows
/// true → false as a trust downgrade.
#[test]
fn an_immutable_release_is_locked_and_losing_it_is_reported() {
    // No flag from the API: nothing about it in the lock.
    let setup = Setup::good();
    let fake = FakeGithub::start();
    setup.publish(&fake);
    let tree = setup.tree();
    run(&tree, &fake, &["apply"]).code(0);
    assert!(!tree.read("vendor.lock.yaml").contains("immutable"));

    let fake = FakeGithub::start();
    setup.publish(&fake);
    fake.set_immutable(REPO, TAG, Some(true));
    let tree = setup.tree();
    run(&tree, &fake, &["apply"]).code(0);
    let old = tree.read("vendor.lock.yaml");
    assert!(old.contains("immutable: true"), "{old}");
    assert_eq!(upstream_findings(&tree, &fake), (0, vec![]));

    for now in [Some(false), None] {
        fake.set_immutable(REPO, TAG, now);
        assert_eq!(
            upstream_findings(&tree, &fake),
            (2, vec![("tool".to_owned(), "immutability-lost".to_owned())]),
            "{now:?}"
        );
        let out = run(&tree, &fake, &["check", "--upstream", "--format", "github"]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stdout.contains("::error file=")
                && out
                    .stdout
                    .contains("vendor.yaml,line=3,title=vendor upstream-changed::")
                && out
                    .stdout
                    .contains("tool: release v1.2.3 of acme/tool is no longer immutable"),
            "{}",
            out.stdout
        );
        // The human check says so too.
        let out = run(&tree, &fake, &["check", "--upstream"]);
        assert_eq!(out.code, 2);
        assert!(out.stdout.contains("no longer immutable"), "{}", out.stdout);
    }

    tree.write("old.lock.yaml", &old);
    tree.write(
        "new.lock.yaml",
        old.replace("immutable: true", "immutable: false"),
    );
    let out = run(&tree, &fake, &["diff", "old.lock.yaml", "new.lock.yaml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("immutable true → false")
            && out
                .stdout
                .contains("trust downgrade: release v1.2.3 was immutable, now it is not"),
        "{}",
        out.stdout
    );
    let out = run(
        &tree,
        &fake,
        &["diff", "old.lock.yaml", "new.lock.yaml", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["trust_downgrade"], true, "{}", out.stdout);
    assert_eq!(doc["items"][0]["immutability_lost"], true);
    assert_eq!(doc["items"][0]["immutable"]["old"], true);
    let out = run(
        &tree,
        &fake,
        &[
            "diff",
            "old.lock.yaml",
            "new.lock.yaml",
            "--format",
            "markdown",
        ],
    );
    assert!(
        out.stdout.contains("**Trust downgrade**")
            && out
                .stdout
                .contains("`tool`: release `v1.2.3` was immutable, now it is not")
            && out.stdout.contains("immutable: true → false"),
        "{}",
        out.stdout
    );
    // Becoming immutable is no downgrade.
    let out = run(
        &tree,
        &fake,
        &["diff", "new.lock.yaml", "old.lock.yaml", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["trust_downgrade"], false, "{}", out.stdout);
    assert_eq!(doc["items"][0]["immutable"]["new"], true);
}

/// `check --upstream` reports an attestation that is no longer published:
/// the bundle asset deleted from the release, or the attestations API
/// answering none for the locked sha256.
#[test]
fn check_upstream_reports_a_withdrawn_attestation() {
    let setup = Setup::good();
    let fake = FakeGithub::start();
    setup.publish(&fake);
    let tree = setup.tree();
    run(&tree, &fake, &["apply"]).code(0);
    assert_eq!(upstream_findings(&tree, &fake), (0, vec![]));
    fake.delete_asset(REPO, TAG, &format!("{ARCHIVE}.sigstore.json"));
    let missing = vec![("tool".to_owned(), "attestation-missing".to_owned())];
    assert_eq!(upstream_findings(&tree, &fake), (2, missing.clone()));
    let out = run(&tree, &fake, &["check", "--upstream", "--format", "github"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.contains("::error")
            && out.stdout.contains(&format!(
                "tool: the attestation of {ARCHIVE} disappeared: upstream now has release v1.2.3 no longer has the bundle {ARCHIVE}.sigstore.json"
            )),
        "{}",
        out.stdout
    );

    let setup = Setup {
        policy: "        repository: acme/tool\n        workflow: \
                 .github/workflows/release.yml\n        from: github-api\n"
            .into(),
        checksum: true,
        bundle: None,
        ..Setup::good()
    };
    let fake = FakeGithub::start();
    setup.publish(&fake);
    let sha = sigstore::hex(&sigstore::sha256(&setup.published));
    let bundle = Pki::new().bundle(&Spec::new(identity(), ARCHIVE, &setup.published));
    fake.attestation(REPO, &sha, &bundle);
    let tree = setup.tree();
    run(&tree, &fake, &["apply"]).code(0);
    assert_eq!(upstream_findings(&tree, &fake), (0, vec![]));
    fake.delete_attestations(REPO, &sha);
    assert_eq!(upstream_findings(&tree, &fake), (2, missing.clone()));
    // An attestation of another predicate type is no attestation.
    let mut other = Spec::new(identity(), ARCHIVE, &setup.published);
    other.predicate_type = "https://spdx.dev/Document".into();
    fake.attestation(REPO, &sha, &Pki::new().bundle(&other));
    assert_eq!(upstream_findings(&tree, &fake), (2, missing));
}
