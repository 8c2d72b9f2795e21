//! The trusted root (Sigstore's `trusted_root.json`, committed in the tree
//! and never fetched): the certificate authorities that issue signing
//! certificates, the transparency logs and CT logs with their keys, and the
//! timestamp authorities, each with the period it is valid for.

use serde::Deserialize;

use super::bundle::{RawBytes, RawKeyId, b64};
use super::crypto::Key;
use super::{AttestError, Step};

/// Largest trusted root read.
pub const ROOT_LIMIT: u64 = 1 << 20;

/// Seconds since the epoch, both ends inclusive; an open end is unbounded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

impl Period {
    pub fn contains(&self, t: i64) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t <= e)
    }
}

#[derive(Debug)]
pub struct Log {
    pub key_id: Vec<u8>,
    pub key: Key,
    /// DER of the key.
    pub spki: Vec<u8>,
    pub valid: Period,
    pub base_url: String,
}

#[derive(Debug)]
pub struct Authority {
    /// DER certificates, the issuing one first and the root last.
    pub chain: Vec<Vec<u8>>,
    pub valid: Period,
    pub uri: String,
}

#[derive(Debug)]
pub struct TrustedRoot {
    pub tlogs: Vec<Log>,
    pub ctlogs: Vec<Log>,
    pub cas: Vec<Authority>,
    pub tsas: Vec<Authority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawAuthority>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    public_key: RawKey,
    log_id: RawKeyId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    raw_bytes: String,
    valid_for: Option<RawPeriod>,
}

#[derive(Deserialize)]
struct RawPeriod {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthority {
    #[serde(default)]
    uri: String,
    cert_chain: RawChain,
    valid_for: Option<RawPeriod>,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawBytes>,
}

fn bad(msg: String) -> AttestError {
    AttestError::new(Step::TrustedRoot, msg)
}

/// Parses a trusted root.
pub fn parse(bytes: &[u8]) -> Result<TrustedRoot, AttestError> {
    if bytes.len() as u64 > ROOT_LIMIT {
        return Err(bad(format!("more than {ROOT_LIMIT} bytes")));
    }
    let raw: RawRoot = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not a Sigstore trusted root (JSON): {e}")))?;
    if !raw
        .media_type
        .starts_with("application/vnd.dev.sigstore.trustedroot")
    {
        return Err(bad(format!(
            "unknown media type {:?}",
            crate::term::escape(&raw.media_type)
        )));
    }
    let logs = |raw: Vec<RawLog>, what: &str| -> Result<Vec<Log>, AttestError> {
        raw.into_iter()
            .map(|l| {
                let spki = b64(what, &l.public_key.raw_bytes).map_err(retag)?;
                let key = Key::from_spki(&spki).map_err(|e| bad(format!("{what} key: {e}")))?;
                Ok(Log {
                    key_id: b64(what, &l.log_id.key_id).map_err(retag)?,
                    key,
                    spki,
                    valid: period(l.public_key.valid_for.as_ref())?,
                    base_url: l.base_url,
                })
            })
            .collect()
    };
    let authorities = |raw: Vec<RawAuthority>, what: &str| -> Result<Vec<Authority>, AttestError> {
        raw.into_iter()
            .map(|a| {
                if a.cert_chain.certificates.is_empty() {
                    return Err(bad(format!("a {what} has an empty certificate chain")));
                }
                Ok(Authority {
                    chain: a
                        .cert_chain
                        .certificates
                        .iter()
                        .map(|c| b64(what, &c.raw_bytes).map_err(retag))
                        .collect::<Result<_, _>>()?,
                    valid: period(a.valid_for.as_ref())?,
                    uri: a.uri,
                })
            })
            .collect()
    };
    Ok(TrustedRoot {
        tlogs: logs(raw.tlogs, "transparency log")?,
        ctlogs: logs(raw.ctlogs, "CT log")?,
        cas: authorities(raw.certificate_authorities, "certificate authority")?,
        tsas: authorities(raw.timestamp_authorities, "timestamp authority")?,
    })
}

fn retag(e: AttestError) -> AttestError {
    AttestError::new(Step::TrustedRoot, e.message)
}

fn period(p: Option<&RawPeriod>) -> Result<Period, AttestError> {
    let Some(p) = p else {
        return Ok(Period::default());
    };
    let at = |s: &Option<String>| {
        s.as_deref()
            .map(|s| parse_rfc3339(s).ok_or_else(|| bad(format!("bad time {s:?} in validFor"))))
            .transpose()
    };
    Ok(Period {
        start: at(&p.start)?,
        end: at(&p.end)?,
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (what protobuf JSON writes) to
/// seconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let frac = &s[19..s.len() - 1];
    if !(frac.is_empty()
        || (frac.len() > 1
            && frac.starts_with('.')
            && frac[1..].bytes().all(|c| c.is_ascii_digit())))
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2021-01-12T11:53:27.000Z"),
            Some(1_610_452_407)
        );
        assert_eq!(parse_rfc3339("2021-01-12T11:53:27"), None);
        assert_eq!(parse_rfc3339("2021-13-12T11:53:27Z"), None);
        assert_eq!(parse_rfc3339("2021-01-12T11:53:27.Z"), None);
    }
}
