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
