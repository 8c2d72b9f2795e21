//! RFC 3161 timestamps (`timestampVerificationData.rfc3161Timestamps`):
//! a timestamp authority of the trusted root signed, at its `genTime`, a
//! hash of the bundle's signature. The token is CMS `SignedData` over a
//! `TSTInfo`, with signed attributes (RFC 5652 §5.4).

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use x509_cert::der::asn1::{ObjectIdentifier, OctetStringRef};
use x509_cert::der::{Decode as _, Encode as _};
use x509_tsp::{TimeStampResp, TstInfo};

use super::cert::Cert;
use super::crypto::{Hash, Key};
use super::root::TrustedRoot;
use super::{AttestError, Step};

const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

fn fail(m: impl Into<String>) -> AttestError {
    AttestError::new(Step::Timestamp, m.into())
}

fn digest_of(oid: &ObjectIdentifier) -> Option<Hash> {
    match *oid {
        SHA256 => Some(Hash::Sha256),
        SHA384 => Some(Hash::Sha384),
        _ => None,
    }
}

/// Step: the timestamp `der` (a `TimeStampResp` or a bare token) is over
/// `signature` and signed by a timestamp authority of the trusted root
/// valid at its time. Returns that time (seconds since the epoch).
pub fn verify(der: &[u8], signature: &[u8], root: &TrustedRoot) -> Result<i64, AttestError> {
    let token = match TimeStampResp::from_der(der) {
        Ok(resp) => resp
            .time_stamp_token
            .ok_or_else(|| fail("the timestamp response holds no token"))?,
        Err(_) => ContentInfo::from_der(der).map_err(|_| fail("not an RFC 3161 timestamp"))?,
    };
    if token.content_type != SIGNED_DATA {
        return Err(fail("the timestamp token is not CMS SignedData"));
    }
    let sd: SignedData = token
        .content
        .decode_as()
        .map_err(|_| fail("the timestamp's SignedData is malformed"))?;
    if sd.encap_content_info.econtent_type != TST_INFO {
        return Err(fail("the timestamp token does not hold a TSTInfo"));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| fail("the timestamp token has no content"))?;
    let tst_der = econtent
        .decode_as::<OctetStringRef<'_>>()
        .map_err(|_| fail("the TSTInfo is not in an OCTET STRING"))?
        .as_bytes()
        .to_vec();
    let tst = TstInfo::from_der(&tst_der).map_err(|_| fail("the TSTInfo is malformed"))?;
    // The imprint: a hash of the bundle's signature.
    let imprint_hash = digest_of(&tst.message_imprint.hash_algorithm.oid)
        .ok_or_else(|| fail("the timestamp's message imprint uses an unsupported hash"))?;
    if tst.message_imprint.hashed_message.as_bytes() != imprint_hash.digest(signature) {
        return Err(fail(
            "the timestamp is not over this bundle's signature (message imprint differs)",
        ));
    }
    let gen_time = i64::try_from(tst.gen_time.to_unix_duration().as_secs())
        .map_err(|_| fail("the timestamp's time is out of range"))?;
    let [signer] = sd.signer_infos.0.as_slice() else {
        return Err(fail("the timestamp token must have exactly one signer"));
    };
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| fail("the timestamp token has no signed attributes"))?;
    let attr = |oid: ObjectIdentifier| attrs.iter().find(|a| a.oid == oid);
    let ct_ok = attr(CONTENT_TYPE)
        .and_then(|a| a.values.get(0))
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        == Some(TST_INFO);
    if !ct_ok {
        return Err(fail("the timestamp's signed content type is not TSTInfo"));
    }
    let hash = digest_of(&signer.digest_alg.oid)
        .ok_or_else(|| fail("the timestamp's signer uses an unsupported digest"))?;
    let md_ok = attr(MESSAGE_DIGEST)
        .and_then(|a| a.values.get(0))
        .and_then(|v| v.decode_as::<OctetStringRef<'_>>().ok())
        .is_some_and(|d| d.as_bytes() == hash.digest(&tst_der));
    if !md_ok {
        return Err(fail(
            "the timestamp's signed message digest is not the TSTInfo's",
        ));
    }
    let signed = attrs
        .to_der()
        .map_err(|_| fail("cannot encode the signed attributes"))?;
    let sig = signer.signature.as_bytes();
    let mut why = Vec::new();
    for tsa in &root.tsas {
        if !tsa.valid.contains(gen_time) {
            why.push(format!("{} is not valid at that time", tsa.uri));
            continue;
        }
        let chain: Vec<Cert> = tsa
            .chain
            .iter()
            .map(|d| Cert::parse(d, Step::TrustedRoot, "a TSA certificate"))
            .collect::<Result<_, _>>()?;
        let leaf = &chain[0];
        let Ok(key) = leaf.key() else {
            why.push(format!("{}: unsupported key", tsa.uri));
            continue;
        };
        if !verifies(&key, hash, &signed, sig) {
            why.push(format!("not signed by {}", tsa.uri));
            continue;
        }
        let eku = leaf
            .extension(EKU)
            .and_then(|v| x509_cert::ext::pkix::ExtendedKeyUsage::from_der(v).ok());
        if !eku.is_some_and(|e| e.0.contains(&TIME_STAMPING)) {
            return Err(fail(format!(
                "the certificate of {} is not for time stamping",
                tsa.uri
            )));
        }
        for (i, c) in chain.iter().enumerate() {
            if !c.valid_at(gen_time) {
                return Err(fail(format!(
                    "certificate {i} of {} was not valid at the timestamp's time",
                    tsa.uri
                )));
            }
            if let Some(parent) = chain.get(i + 1)
                && !c.signed_by(parent)
            {
                return Err(fail(format!("the chain of {} is broken at {i}", tsa.uri)));
            }
        }
        return Ok(gen_time);
    }
    Err(fail(format!(
        "the timestamp is not signed by a timestamp authority of the trusted root ({})",
        if why.is_empty() {
            "it lists none".to_owned()
        } else {
            why.join("; ")
        }
    )))
}

fn verifies(key: &Key, hash: Hash, msg: &[u8], sig: &[u8]) -> bool {
    key.verify(hash, msg, sig)
}
