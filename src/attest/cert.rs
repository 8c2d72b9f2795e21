//! The signing certificate: its chain to a certificate authority of the
//! trusted root, its validity at the signing time, its embedded signed
//! certificate timestamps (RFC 6962 §3.3, checked against the trusted CT
//! logs), and the Fulcio extensions that name the identity that signed
//! (OIDs under 1.3.6.1.4.1.57264.1).

use x509_cert::Certificate;
use x509_cert::der::asn1::{ObjectIdentifier, Utf8StringRef};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};

use super::crypto::{self, Hash, Key};
use super::root::{Authority, TrustedRoot};
use super::{AttestError, Step};

pub const OID_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
pub const OID_BUILD_SIGNER_URI: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.9");
pub const OID_SOURCE_REPO_URI: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.12");
pub const OID_SOURCE_REPO_REF: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.14");
/// The embedded SCT list (RFC 6962 §3.3).
pub const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
const OID_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

/// A parsed certificate.
pub struct Cert {
    pub cert: Certificate,
    pub der: Vec<u8>,
}

impl Cert {
    pub fn parse(der: &[u8], step: Step, what: &str) -> Result<Cert, AttestError> {
        let cert = Certificate::from_der(der)
            .map_err(|e| AttestError::new(step, format!("{what} is not a DER certificate: {e}")))?;
        Ok(Cert {
            cert,
            der: der.to_vec(),
        })
    }

    fn tbs(&self) -> &x509_cert::TbsCertificate {
        &self.cert.tbs_certificate
    }

    pub fn not_before(&self) -> i64 {
        secs(&self.tbs().validity.not_before)
    }

    pub fn not_after(&self) -> i64 {
        secs(&self.tbs().validity.not_after)
    }

    pub fn valid_at(&self, t: i64) -> bool {
        self.not_before() <= t && t <= self.not_after()
    }

    pub fn key(&self) -> Result<Key, String> {
        let spki = self
            .tbs()
            .subject_public_key_info
            .to_der()
            .map_err(|e| e.to_string())?;
        Key::from_spki(&spki)
    }

    fn spki_der(&self) -> Vec<u8> {
        self.tbs()
            .subject_public_key_info
            .to_der()
            .unwrap_or_default()
    }

    pub fn extension(&self, oid: ObjectIdentifier) -> Option<&[u8]> {
        self.tbs()
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    /// A Fulcio extension holding a DER UTF8String.
    pub fn fulcio_string(&self, oid: ObjectIdentifier) -> Option<String> {
        let v = self.extension(oid)?;
        Utf8StringRef::from_der(v)
            .ok()
            .map(|s| s.as_str().to_owned())
    }

    pub fn san_uris(&self) -> Vec<String> {
        let Some(v) = self.extension(OID_SAN) else {
            return Vec::new();
        };
        let Ok(san) = SubjectAltName::from_der(v) else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|n| match n {
                GeneralName::UniformResourceIdentifier(u) => Some(u.as_str().to_owned()),
                _ => None,
            })
            .collect()
    }

    fn is_ca(&self) -> bool {
        self.extension(OID_BASIC_CONSTRAINTS)
            .and_then(|v| BasicConstraints::from_der(v).ok())
            .is_some_and(|b| b.ca)
    }

    /// Whether `issuer`'s key made this certificate's signature.
    pub fn signed_by(&self, issuer: &Cert) -> bool {
        if self.tbs().issuer != issuer.tbs().subject {
            return false;
        }
        let Some(hash) = Hash::of_algorithm(&self.cert.signature_algorithm.oid) else {
            return false;
        };
        let (Ok(key), Ok(tbs)) = (issuer.key(), self.tbs().to_der()) else {
            return false;
        };
        self.cert
            .signature
            .as_bytes()
            .is_some_and(|sig| key.verify(hash, &tbs, sig))
    }
}

fn secs(t: &x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// Step: the leaf is a code-signing certificate that chains to a
/// certificate authority of the trusted root, every certificate valid at
/// `t` (the proven signing time). Returns the issuing certificate.
pub fn verify_chain(leaf: &Cert, root: &TrustedRoot, t: i64) -> Result<Cert, AttestError> {
    let eku = leaf
        .extension(OID_EKU)
        .and_then(|v| ExtendedKeyUsage::from_der(v).ok());
    if !eku.is_some_and(|e| e.0.contains(&OID_CODE_SIGNING)) {
        return Err(AttestError::new(
            Step::Chain,
            "the signing certificate is not for code signing (no codeSigning extended key usage)"
                .to_owned(),
        ));
    }
    let mut why = Vec::new();
    for ca in &root.cas {
        match chain_to(leaf, ca, t) {
            Ok(issuer) => return Ok(issuer),
            Err(e) => why.push(e),
        }
    }
    why.dedup();
    let detail = if root.cas.is_empty() {
        "the trusted root lists no certificate authority".to_owned()
    } else {
        why.join("; ")
    };
    Err(AttestError::new(
        Step::Chain,
        format!(
            "the signing certificate, issued by {}, does not chain to a certificate authority \
             of the trusted root: {detail}",
            crate::term::escape(&leaf.tbs().issuer.to_string())
        ),
    ))
}

fn chain_to(leaf: &Cert, ca: &Authority, t: i64) -> Result<Cert, String> {
    if !ca.valid.contains(t) {
        return Err(format!("{} is not valid at the signing time", ca.uri));
    }
    let chain: Vec<Cert> = ca
        .chain
        .iter()
        .map(|d| Cert::parse(d, Step::TrustedRoot, "a CA certificate").map_err(|e| e.message))
        .collect::<Result<_, _>>()?;
    let issuer = &chain[0];
    if !leaf.signed_by(issuer) {
        return Err(format!("not issued by {}", ca.uri));
    }
    for (i, c) in chain.iter().enumerate() {
        if !c.is_ca() {
            return Err(format!("CA certificate {i} of {} is not a CA", ca.uri));
        }
        if !c.valid_at(t) {
            return Err(format!(
                "CA certificate {i} of {} is not valid at the signing time",
                ca.uri
            ));
        }
        if let Some(parent) = chain.get(i + 1)
            && !c.signed_by(parent)
        {
            return Err(format!(
                "the chain of {} is broken at certificate {i}",
                ca.uri
            ));
        }
    }
    let Some(issuer) = chain.into_iter().next() else {
        return Err("empty chain".to_owned());
    };
    Ok(issuer)
}

/// Step: the certificate's embedded SCTs; at least one must be signed by a
/// CT log of the trusted root, over this certificate's precertificate.
pub fn verify_sct(leaf: &Cert, issuer: &Cert, root: &TrustedRoot) -> Result<(), AttestError> {
    let fail = |m: String| AttestError::new(Step::Sct, m);
    let Some(ext) = leaf.extension(OID_SCT_LIST) else {
        return Err(fail(
            "the signing certificate carries no signed certificate timestamp".to_owned(),
        ));
    };
    let list = x509_cert::der::asn1::OctetStringRef::from_der(ext)
        .map_err(|_| fail("the SCT extension is not an OCTET STRING".to_owned()))?;
    let scts = parse_sct_list(list.as_bytes())
        .ok_or_else(|| fail("the SCT list is malformed".to_owned()))?;
    // The precertificate: the leaf's TBS without the SCT list.
    let mut tbs = leaf.cert.tbs_certificate.clone();
    if let Some(exts) = tbs.extensions.as_mut() {
        exts.retain(|e| e.extn_id != OID_SCT_LIST);
    }
    let tbs = tbs
        .to_der()
        .map_err(|e| fail(format!("cannot re-encode the certificate: {e}")))?;
    let issuer_key_hash = crypto::sha256(&issuer.spki_der());
    let mut seen = Vec::new();
    for sct in &scts {
        let Some(log) = root.ctlogs.iter().find(|l| l.key_id == sct.log_id) else {
            seen.push(format!("SCT by unknown log {}", crypto::hex(&sct.log_id)));
            continue;
        };
        let secs = i64::try_from(sct.timestamp / 1000).unwrap_or(i64::MAX);
        if !log.valid.contains(secs) {
            seen.push(format!("SCT by {} outside its validity", log.base_url));
            continue;
        }
        let mut msg = vec![0u8, 0u8];
        msg.extend_from_slice(&sct.timestamp.to_be_bytes());
        msg.extend_from_slice(&1u16.to_be_bytes());
        msg.extend_from_slice(&issuer_key_hash);
        let len = u32::try_from(tbs.len()).unwrap_or(u32::MAX);
        if len >= 1 << 24 {
            return Err(fail("the certificate is too large".to_owned()));
        }
        msg.extend_from_slice(&len.to_be_bytes()[1..]);
        msg.extend_from_slice(&tbs);
        msg.extend_from_slice(
            &u16::try_from(sct.extensions.len())
                .unwrap_or(0)
                .to_be_bytes(),
        );
        msg.extend_from_slice(&sct.extensions);
        let hash = match sct.hash_alg {
            4 => Hash::Sha256,
            5 => Hash::Sha384,
            _ => {
                seen.push("SCT with an unsupported hash".to_owned());
                continue;
            }
        };
        if sct.sig_alg == 3 && log.key.verify(hash, &msg, &sct.signature) {
            return Ok(());
        }
        seen.push(format!("SCT by {} does not verify", log.base_url));
    }
    Err(fail(format!(
        "no SCT is signed by a CT log of the trusted root ({})",
        if seen.is_empty() {
            "the list is empty".to_owned()
        } else {
            seen.join("; ")
        }
    )))
}

struct Sct {
    log_id: Vec<u8>,
    timestamp: u64,
    extensions: Vec<u8>,
    hash_alg: u8,
    sig_alg: u8,
    signature: Vec<u8>,
}

/// The TLS-encoded `SignedCertificateTimestampList`.
fn parse_sct_list(b: &[u8]) -> Option<Vec<Sct>> {
    let mut r = Reader(b);
    let mut list = Reader(r.take_u16_prefixed()?);
    if !r.0.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    while !list.0.is_empty() {
        let mut s = Reader(list.take_u16_prefixed()?);
        if s.take(1)? != [0] {
            // Only version 1 (0) exists.
            return None;
        }
        let log_id = s.take(32)?.to_vec();
        let timestamp = u64::from_be_bytes(s.take(8)?.try_into().ok()?);
        let extensions = s.take_u16_prefixed()?.to_vec();
        let hash_alg = s.take(1)?[0];
        let sig_alg = s.take(1)?[0];
        let signature = s.take_u16_prefixed()?.to_vec();
        if !s.0.is_empty() {
            return None;
        }
        out.push(Sct {
            log_id,
            timestamp,
            extensions,
            hash_alg,
            sig_alg,
            signature,
        });
    }
    Some(out)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn take_u16_prefixed(&mut self) -> Option<&'a [u8]> {
        let n = u16::from_be_bytes(self.take(2)?.try_into().ok()?);
        self.take(usize::from(n))
    }
}
