//! Debian package versions compared by Debian policy (§5.6.12), never by
//! semver: `[epoch:]upstream[-revision]`; the epoch compares as a number,
//! then the upstream version, then the revision, each by alternating
//! non-digit and digit runs. Letters sort before other characters, and
//! `~` before everything, even the end (`1.0~rc1 < 1.0`).

use std::cmp::Ordering;

/// A parsed Debian version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebVersion<'a> {
    pub epoch: u64,
    pub upstream: &'a str,
    pub revision: &'a str,
}

/// Parses `text`; `None` when it is no Debian version (empty upstream
/// part, a non-numeric epoch, characters policy does not allow).
pub fn parse(text: &str) -> Option<DebVersion<'_>> {
    let (epoch, rest) = match text.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().ok()?, rest)
        }
        Some(_) => return None,
        None => (0, text),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, r),
        None => (rest, ""),
    };
    let allowed = |s: &str, extra: &[u8]| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+.~".contains(&b) || extra.contains(&b))
    };
    if !upstream.bytes().next().is_some_and(|b| b.is_ascii_digit())
        || !allowed(upstream, b"-:")
        || !allowed(revision, b"")
    {
        return None;
    }
    Some(DebVersion {
        epoch,
        upstream,
        revision,
    })
}

/// Compares two version strings. Unparseable versions sort before
/// parseable ones, and among themselves by text, so the order is total.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x
            .epoch
            .cmp(&y.epoch)
            .then_with(|| part(x.upstream, y.upstream))
            .then_with(|| part(x.revision, y.revision)),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// The weight of one non-digit character: `~` lowest, then the end of
/// the part, letters, then everything else.
fn weight(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn part(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        // Non-digit run.
        loop {
            let ca = a.first().copied().filter(|c| !c.is_ascii_digit());
            let cb = b.first().copied().filter(|c| !c.is_ascii_digit());
            if ca.is_none() && cb.is_none() {
                break;
            }
            let order = weight(ca).cmp(&weight(cb));
            if order != Ordering::Equal {
                return order;
            }
            a = a.get(1..).unwrap_or_default();
            b = b.get(1..).unwrap_or_default();
        }
        // Digit run, as a number (leading zeros ignored, any length).
        let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let na = trim_zeros(a.get(..da).unwrap_or_default());
        let nb = trim_zeros(b.get(..db).unwrap_or_default());
        let order = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
        if order != Ordering::Equal {
            return order;
        }
        a = a.get(da..).unwrap_or_default();
        b = b.get(db..).unwrap_or_default();
    }
    Ordering::Equal
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|c| **c == b'0').count();
    digits.get(zeros..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_order() {
        // Each is less than the next.
        let ordered = [
            "0.9",
            "1.0~~",
            "1.0~~a",
            "1.0~",
            "1.0~rc1",
            "1.0",
            "1.0-1",
            "1.0-1ubuntu1",
            "1.0-2",
            "1.0a",
            "1.0+b1",
            "1.00001",
            "1.2",
            "1.10",
            "059-4",
            "060+5-1ubuntu3",
            "1:0.1",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(compare(pair[1], pair[0]), Ordering::Greater, "{pair:?}");
        }
        assert_eq!(compare("1.0", "1.0"), Ordering::Equal);
        assert_eq!(compare("1.01", "1.1"), Ordering::Equal);
        assert_eq!(compare("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(
            compare("6.8.0-45.45", "6.8.0-51.52"),
            Ordering::Less,
            "kernel package versions"
        );
    }

    #[test]
    fn parses_parts() {
        let v = parse("1:2.3-4-5ubuntu1").expect("a version");
        assert_eq!((v.epoch, v.upstream, v.revision), (1, "2.3-4", "5ubuntu1"));
        for bad in ["", "a1.0", "x:1.0", ":1", "1.0 beta", "1.0-r/1"] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
