//! A test Sigstore PKI made here, from fixed seeds: a root and an
//! intermediate CA (ECDSA P-256), leaf certificates carrying the Fulcio
//! extensions of a GitHub Actions identity and an embedded SCT signed by a
//! test CT log key, a transparency log (Rekor v1 `dsse` entries in an
//! RFC 6962 Merkle tree, with signed entry timestamps, inclusion proofs and
//! signed checkpoints), and the `trusted_root.json` that names them.
//! [`Spec`] builds valid bundles, and each of its fields breaks one step.
#![allow(dead_code, clippy::unwrap_used)]

use std::str::FromStr as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey as _;
use sha2::{Digest as _, Sha256};
use x509_cert::der::asn1::{
    BitString, Ia5String, ObjectIdentifier, OctetString, UtcTime, Utf8StringRef,
};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

pub const ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const SLSA: &str = "https://slsa.dev/provenance/v1";
pub const RELEASE: &str = "https://in-toto.io/attestation/release/v0.1";
/// When the test certificates are issued (2025-06-15).
pub const T0: u64 = 1_750_000_000;

/// Now, in seconds: what an RFC 3161 timestamp made now says.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

pub fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// A deterministic P-256 key.
pub fn key(seed: &str) -> SigningKey {
    SigningKey::from_bytes(&sha256(seed.as_bytes()).into()).unwrap()
}

fn spki_der(k: &SigningKey) -> Vec<u8> {
    k.verifying_key()
        .to_public_key_der()
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn sign(k: &SigningKey, msg: &[u8]) -> Vec<u8> {
    let sig: Signature = k.sign(msg);
    sig.to_der().as_bytes().to_vec()
}

fn time(t: u64) -> Time {
    Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(t)).unwrap())
}

fn ext(id: &str, value: Vec<u8>) -> Extension {
    Extension {
        extn_id: oid(id),
        critical: false,
        extn_value: OctetString::new(value).unwrap(),
    }
}

fn utf8(s: &str) -> Vec<u8> {
    Utf8StringRef::new(s).unwrap().to_der().unwrap()
}

fn tbs(
    serial: u8,
    issuer: &str,
    subject: &str,
    key: &SigningKey,
    (from, to): (u64, u64),
    extensions: Vec<Extension>,
) -> TbsCertificate {
    TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: SerialNumber::new(&[serial]).unwrap(),
        signature: AlgorithmIdentifierOwned {
            oid: ECDSA_SHA256,
            parameters: None,
        },
        issuer: Name::from_str(issuer).unwrap(),
        validity: Validity {
            not_before: time(from),
            not_after: time(to),
        },
        subject: Name::from_str(subject).unwrap(),
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(&spki_der(key)).unwrap(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    }
}

fn finish(tbs: TbsCertificate, issuer_key: &SigningKey) -> Vec<u8> {
    let sig = sign(issuer_key, &tbs.to_der().unwrap());
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: ECDSA_SHA256,
            parameters: None,
        },
        signature: BitString::from_bytes(&sig).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn ca_ext() -> Vec<Extension> {
    let bc = BasicConstraints {
        ca: true,
        path_len_constraint: None,
    };
    vec![Extension {
        extn_id: oid("2.5.29.19"),
        critical: true,
        extn_value: OctetString::new(bc.to_der().unwrap()).unwrap(),
    }]
}

/// A CA: a root and an intermediate under it.
pub struct Ca {
    pub root_key: SigningKey,
    pub inter_key: SigningKey,
    pub root: Vec<u8>,
    pub inter: Vec<u8>,
    pub inter_name: String,
}

impl Ca {
    pub fn new(seed: &str) -> Ca {
        let root_key = key(&format!("{seed} root"));
        let inter_key = key(&format!("{seed} intermediate"));
        let root_name = format!("CN={seed} root,O=test");
        let inter_name = format!("CN={seed} intermediate,O=test");
        let years = (T0 - 5 * 365 * 86_400, T0 + 10 * 365 * 86_400);
        let root = finish(
            tbs(1, &root_name, &root_name, &root_key, years, ca_ext()),
            &root_key,
        );
        let inter = finish(
            tbs(2, &root_name, &inter_name, &inter_key, years, ca_ext()),
            &root_key,
        );
        Ca {
            root_key,
            inter_key,
            root,
            inter,
            inter_name,
        }
    }
}

/// The GitHub Actions identity a leaf certificate names.
#[derive(Clone)]
pub struct Identity {
    /// `owner/name`
    pub repository: String,
    /// `owner/name/.github/workflows/FILE`
    pub workflow: String,
    pub git_ref: String,
    pub issuer: String,
}

impl Identity {
    pub fn new(repository: &str, workflow_file: &str, git_ref: &str) -> Identity {
        Identity {
            repository: repository.into(),
            workflow: format!("{repository}/.github/workflows/{workflow_file}"),
            git_ref: git_ref.into(),
            issuer: ISSUER.into(),
        }
    }

    pub fn signer_uri(&self) -> String {
        format!("https://github.com/{}@{}", self.workflow, self.git_ref)
    }
}

/// The whole PKI: the trusted CA, the log and the CT log.
pub struct Pki {
    pub ca: Ca,
    pub log_key: SigningKey,
    pub ct_key: SigningKey,
    pub tsa: Tsa,
}

/// A timestamp authority: a root, and a leaf for time stamping under it.
pub struct Tsa {
    pub key: SigningKey,
    pub leaf: Vec<u8>,
    pub root: Vec<u8>,
}

impl Tsa {
    pub fn new(seed: &str) -> Tsa {
        let root_key = key(&format!("{seed} root"));
        let leaf_key = key(&format!("{seed} leaf"));
        let root_name = format!("CN={seed} root,O=test");
        let years = (T0 - 5 * 365 * 86_400, T0 + 10 * 365 * 86_400);
        let root = finish(
            tbs(1, &root_name, &root_name, &root_key, years, ca_ext()),
            &root_key,
        );
        let eku = ExtendedKeyUsage(vec![oid("1.3.6.1.5.5.7.3.8")]);
        let exts = vec![Extension {
            extn_id: oid("2.5.29.37"),
            critical: true,
            extn_value: OctetString::new(eku.to_der().unwrap()).unwrap(),
        }];
        let leaf = finish(
            tbs(
                2,
                &root_name,
                &format!("CN={seed},O=test"),
                &leaf_key,
                years,
                exts,
            ),
            &root_key,
        );
        Tsa {
            key: leaf_key,
            leaf,
            root,
        }
    }

    /// A real RFC 3161 `TimeStampResp` over `data` (SHA-256 imprint), made
    /// by `openssl ts` with this TSA's key: its time is now.
    pub fn timestamp(&self, data: &[u8]) -> Vec<u8> {
        use p256::pkcs8::EncodePrivateKey as _;
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
        std::fs::write(p("data"), data).unwrap();
        std::fs::write(p("tsa.pem"), pem(&self.leaf)).unwrap();
        std::fs::write(
            p("tsa.key"),
            self.key
                .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        std::fs::write(p("serial"), "01\n").unwrap();
        std::fs::write(
            p("tsa.cnf"),
            format!(
                "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = {}\ncrypto_device = builtin\n\
                 signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n\
                 accuracy = secs:1\nordering = no\ntsa_name = no\ness_cert_id_chain = no\n\
                 ess_cert_id_alg = sha256\n",
                p("serial")
            ),
        )
        .unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl is installed (Debian package openssl)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "ts",
            "-query",
            "-data",
            &p("data"),
            "-sha256",
            "-cert",
            "-no_nonce",
            "-out",
            &p("req.tsq"),
        ]);
        run(&[
            "ts",
            "-reply",
            "-config",
            &p("tsa.cnf"),
            "-queryfile",
            &p("req.tsq"),
            "-signer",
            &p("tsa.pem"),
            "-inkey",
            &p("tsa.key"),
            "-out",
            &p("resp.tsr"),
        ]);
        std::fs::read(p("resp.tsr")).unwrap()
    }
}

/// One bundle to make; `Spec::new` is valid, each field can break a step.
#[derive(Clone)]
pub struct Spec {
    pub identity: Identity,
    /// The sha256 (hex) the statement attests.
    pub subject_sha256: String,
    pub subject_name: String,
    pub predicate_type: String,
    /// The leaf's validity, seconds since the epoch.
    pub leaf_validity: (u64, u64),
    /// When the log integrated the entry.
    pub integrated_time: u64,
    /// Sign this statement instead of the one the envelope carries.
    pub sign_other_payload: bool,
    /// The leaf is issued by this CA instead of the trusted one.
    pub issuing_ca: Option<String>,
    /// The SCT is signed by this key instead of the trusted CT log's.
    pub ct_key: Option<String>,
    /// The SET / checkpoint are signed by this key instead of the log's.
    pub set_key: Option<String>,
    pub checkpoint_key: Option<String>,
    pub with_tlog: bool,
    pub with_set: bool,
    pub with_proof: bool,
    /// Flip a byte of the proof's first hash.
    pub bad_proof: bool,
    pub with_sct: bool,
    /// Add an RFC 3161 timestamp by this TSA (`Some("test tsa")` is the
    /// trusted one), over the signature (or over other bytes).
    pub tsa: Option<String>,
    pub timestamp_other_bytes: bool,
    /// A release attestation by GitHub for this (repository, tag) instead
    /// of an artifact attestation from a workflow.
    pub release: Option<(String, String)>,
}

impl Spec {
    pub fn new(identity: Identity, name: &str, bytes: &[u8]) -> Spec {
        Spec {
            identity,
            subject_sha256: hex(&sha256(bytes)),
            subject_name: name.into(),
            predicate_type: SLSA.into(),
            leaf_validity: (T0, T0 + 600),
            integrated_time: T0 + 60,
            sign_other_payload: false,
            issuing_ca: None,
            ct_key: None,
            set_key: None,
            checkpoint_key: None,
            with_tlog: true,
            with_set: true,
            with_proof: true,
            bad_proof: false,
            with_sct: true,
            tsa: None,
            timestamp_other_bytes: false,
            release: None,
        }
    }
}

fn pem(der: &[u8]) -> String {
    let b = B64.encode(der);
    let lines: Vec<&str> = b
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

fn node(l: &[u8], r: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// RFC 6962 §2.1: the tree head of `leaves` (leaf hashes).
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let k = split(leaves.len());
    node(&mth(&leaves[..k]), &mth(&leaves[k..]))
}

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 §2.1.1: the audit path of leaf `m`.
fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    if leaves.len() == 1 {
        return Vec::new();
    }
    let k = split(leaves.len());
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

impl Pki {
    pub fn new() -> Pki {
        Pki {
            ca: Ca::new("test fulcio"),
            log_key: key("test rekor"),
            ct_key: key("test ctlog"),
            tsa: Tsa::new("test tsa"),
        }
    }

    pub fn log_id(&self) -> [u8; 32] {
        sha256(&spki_der(&self.log_key))
    }

    /// `trusted_root.json` naming the CA, the log and the CT log.
    pub fn trusted_root(&self) -> String {
        let start = "2020-01-01T00:00:00Z";
        let log = |k: &SigningKey, url: &str| {
            serde_json::json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(spki_der(k)),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start}
                },
                "logId": {"keyId": B64.encode(sha256(&spki_der(k)))}
            })
        };
        serde_json::to_string_pretty(&serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&self.log_key, "https://rekor.test")],
            "certificateAuthorities": [{
                "subject": {"organization": "test", "commonName": "test fulcio"},
                "uri": "https://fulcio.test",
                "certChain": {"certificates": [
                    {"rawBytes": B64.encode(&self.ca.inter)},
                    {"rawBytes": B64.encode(&self.ca.root)}
                ]},
                "validFor": {"start": start}
            }],
            "ctlogs": [log(&self.ct_key, "https://ctfe.test")],
            "timestampAuthorities": [{
                "subject": {"organization": "test", "commonName": "test tsa"},
                "uri": "https://tsa.test",
                "certChain": {"certificates": [
                    {"rawBytes": B64.encode(&self.tsa.leaf)},
                    {"rawBytes": B64.encode(&self.tsa.root)}
                ]},
                "validFor": {"start": start}
            }]
        }))
        .unwrap()
    }

    /// The leaf certificate and its key.
    fn leaf(&self, spec: &Spec) -> (Vec<u8>, SigningKey) {
        let other;
        let ca = match &spec.issuing_ca {
            Some(seed) => {
                other = Ca::new(seed);
                &other
            }
            None => &self.ca,
        };
        let leaf_key = key("test leaf");
        let id = &spec.identity;
        let san = SubjectAltName(vec![GeneralName::UniformResourceIdentifier(
            Ia5String::new(&id.signer_uri()).unwrap(),
        )]);
        let eku = ExtendedKeyUsage(vec![oid("1.3.6.1.5.5.7.3.3")]);
        let exts = if spec.release.is_some() {
            let san = SubjectAltName(vec![GeneralName::UniformResourceIdentifier(
                Ia5String::new("https://dotcom.releases.github.com").unwrap(),
            )]);
            vec![
                ext("2.5.29.37", eku.to_der().unwrap()),
                ext("2.5.29.17", san.to_der().unwrap()),
            ]
        } else {
            vec![
                ext("2.5.29.37", eku.to_der().unwrap()),
                ext("2.5.29.17", san.to_der().unwrap()),
                ext("1.3.6.1.4.1.57264.1.8", utf8(&id.issuer)),
                ext("1.3.6.1.4.1.57264.1.9", utf8(&id.signer_uri())),
                ext(
                    "1.3.6.1.4.1.57264.1.12",
                    utf8(&format!("https://github.com/{}", id.repository)),
                ),
                ext("1.3.6.1.4.1.57264.1.14", utf8(&id.git_ref)),
            ]
        };
        let pre = tbs(
            3,
            &ca.inter_name,
            "O=sigstore.dev",
            &leaf_key,
            spec.leaf_validity,
            exts,
        );
        if !spec.with_sct {
            return (finish(pre, &ca.inter_key), leaf_key);
        }
        // The SCT signs the precertificate: the TBS without the SCT list.
        let ct = spec.ct_key.as_deref().map_or(self.ct_key.clone(), key);
        let ts = (spec.leaf_validity.0 + 1) * 1000;
        let pre_der = pre.to_der().unwrap();
        let mut msg = vec![0u8, 0u8];
        msg.extend_from_slice(&ts.to_be_bytes());
        msg.extend_from_slice(&1u16.to_be_bytes());
        msg.extend_from_slice(&sha256(&spki_der(&ca.inter_key)));
        msg.extend_from_slice(&(pre_der.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&pre_der);
        msg.extend_from_slice(&0u16.to_be_bytes());
        let sig = sign(&ct, &msg);
        let mut sct = vec![0u8];
        sct.extend_from_slice(&sha256(&spki_der(&ct)));
        sct.extend_from_slice(&ts.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.extend_from_slice(&[4, 3]);
        sct.extend_from_slice(&(sig.len() as u16).to_be_bytes());
        sct.extend_from_slice(&sig);
        let mut list = ((sct.len() + 2) as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
        list.extend_from_slice(&sct);
        let mut full = pre;
        full.extensions.as_mut().unwrap().push(ext(
            "1.3.6.1.4.1.11129.2.4.2",
            OctetString::new(list).unwrap().to_der().unwrap(),
        ));
        (finish(full, &ca.inter_key), leaf_key)
    }

    fn statement(spec: &Spec, sha: &str) -> Vec<u8> {
        if let Some((repo, tag)) = &spec.release {
            let purl = format!("pkg:github/{repo}@{tag}");
            return serde_json::to_vec(&serde_json::json!({
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [
                    {"uri": purl, "digest": {"sha1": "1".repeat(40)}},
                    {"name": spec.subject_name, "digest": {"sha256": sha}}
                ],
                "predicateType": spec.predicate_type,
                "predicate": {
                    "ownerId": "1", "purl": purl, "releaseId": "7", "repository": repo,
                    "repositoryId": "2", "tag": tag
                }
            }))
            .unwrap();
        }
        serde_json::to_vec(&serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": spec.subject_name, "digest": {"sha256": sha}}],
            "predicateType": spec.predicate_type,
            "predicate": {"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"}}
        }))
        .unwrap()
    }

    /// A v0.3 bundle as `actions/attest-build-provenance` makes them.
    pub fn bundle(&self, spec: &Spec) -> Vec<u8> {
        let (leaf, leaf_key) = self.leaf(spec);
        let payload = Self::statement(spec, &spec.subject_sha256);
        let signed = if spec.sign_other_payload {
            Self::statement(spec, &"0".repeat(64))
        } else {
            payload.clone()
        };
        let ptype = "application/vnd.in-toto+json";
        let mut pae = format!("DSSEv1 {} {ptype} {} ", ptype.len(), signed.len()).into_bytes();
        pae.extend_from_slice(&signed);
        let sig = sign(&leaf_key, &pae);
        let envelope = serde_json::json!({
            "payload": B64.encode(&payload),
            "payloadType": ptype,
            "signatures": [{"sig": B64.encode(&sig), "keyid": ""}]
        });
        let body = serde_json::to_vec(&serde_json::json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hex(&sha256(&serde_json::to_vec(&envelope).unwrap()))},
                "payloadHash": {"algorithm": "sha256", "value": hex(&sha256(&payload))},
                "signatures": [{"signature": B64.encode(&sig), "verifier": B64.encode(pem(&leaf))}]
            }
        }))
        .unwrap();
        let mut tlog = Vec::new();
        if spec.with_tlog {
            tlog.push(self.entry(spec, &body));
        }
        let mut timestamps = Vec::new();
        if let Some(seed) = &spec.tsa {
            let other;
            let tsa = if seed == "test tsa" {
                &self.tsa
            } else {
                other = Tsa::new(seed);
                &other
            };
            let over = if spec.timestamp_other_bytes {
                b"other".to_vec()
            } else {
                sig.clone()
            };
            timestamps
                .push(serde_json::json!({"signedTimestamp": B64.encode(tsa.timestamp(&over))}));
        }
        serde_json::to_vec_pretty(&serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": B64.encode(&leaf)},
                "tlogEntries": tlog,
                "timestampVerificationData": {"rfc3161Timestamps": timestamps}
            },
            "dsseEnvelope": envelope
        }))
        .unwrap()
    }

    /// The log entry: our body at index 3 of a tree of 6.
    fn entry(&self, spec: &Spec, body: &[u8]) -> serde_json::Value {
        let index = 3usize;
        let mut leaves: Vec<[u8; 32]> = (0u8..6).map(|i| sha256(&[0, i, 0xaa])).collect();
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(body);
        leaves[index] = h.finalize().into();
        let root = mth(&leaves);
        let mut hashes: Vec<String> = path(index, &leaves).iter().map(|h| B64.encode(h)).collect();
        if spec.bad_proof {
            let mut first = B64.decode(&hashes[0]).unwrap();
            first[0] ^= 1;
            hashes[0] = B64.encode(first);
        }
        let body_b64 = B64.encode(body);
        let global_index = 1000 + index as u64;
        let set_key = spec.set_key.as_deref().map_or(self.log_key.clone(), key);
        let set_msg = format!(
            "{{\"body\":\"{body_b64}\",\"integratedTime\":{},\"logID\":\"{}\",\"logIndex\":{global_index}}}",
            spec.integrated_time,
            hex(&self.log_id())
        );
        let set = sign(&set_key, set_msg.as_bytes());
        let note = format!("rekor.test - 42\n{}\n{}\n", leaves.len(), B64.encode(root));
        let cp_key = spec
            .checkpoint_key
            .as_deref()
            .map_or(self.log_key.clone(), key);
        let mut sig = sha256(&spki_der(&self.log_key))[..4].to_vec();
        sig.extend_from_slice(&sign(&cp_key, note.as_bytes()));
        let envelope = format!("{note}\n\u{2014} rekor.test {}\n", B64.encode(sig));
        let mut e = serde_json::json!({
            "logIndex": global_index.to_string(),
            "logId": {"keyId": B64.encode(self.log_id())},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": spec.integrated_time.to_string(),
            "canonicalizedBody": body_b64
        });
        if spec.with_set {
            e["inclusionPromise"] = serde_json::json!({"signedEntryTimestamp": B64.encode(set)});
        }
        if spec.with_proof {
            e["inclusionProof"] = serde_json::json!({
                "logIndex": index.to_string(),
                "rootHash": B64.encode(root),
                "treeSize": leaves.len().to_string(),
                "hashes": hashes,
                "checkpoint": {"envelope": envelope}
            });
        }
        e
    }
}
