//! Package URLs (`pkg:type/namespace/name@version?qualifiers#subpath`):
//! building them with the purl spec's percent-encoding, and checking the
//! ones a manifest writes by hand.
//!
//! Every component is percent-encoded except ASCII letters, digits and
//! `.-_~`; a namespace keeps its `/` separators between encoded segments.
//! The `github` type is case-insensitive, so its namespace and name are
//! lowercased, as the spec asks.

use std::fmt::Write as _;

/// A package URL's parts before encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    pub kind: String,
    pub namespace: Vec<String>,
    pub name: String,
    pub version: Option<String>,
}

impl Purl {
    /// `pkg:github/owner/repo@tag` for a GitHub repository `owner/repo`.
    pub fn github(repo: &str, tag: &str) -> Option<Purl> {
        let (owner, name) = repo.split_once('/')?;
        if owner.is_empty() || name.is_empty() || name.contains('/') {
            return None;
        }
        Some(Purl {
            kind: "github".to_owned(),
            namespace: vec![owner.to_ascii_lowercase()],
            name: name.to_ascii_lowercase(),
            version: Some(tag.to_owned()),
        })
    }

    /// `pkg:generic/name@version`.
    pub fn generic(name: &str, version: &str) -> Purl {
        Purl {
            kind: "generic".to_owned(),
            namespace: Vec::new(),
            name: name.to_owned(),
            version: Some(version.to_owned()),
        }
    }
}

impl std::fmt::Display for Purl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pkg:{}/", self.kind)?;
        for segment in &self.namespace {
            write!(f, "{}/", encode(segment))?;
        }
        f.write_str(&encode(&self.name))?;
        if let Some(version) = &self.version {
            write!(f, "@{}", encode(version))?;
        }
        Ok(())
    }
}

/// Percent-encodes everything but ASCII letters, digits and `.-_~`.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Checks a package URL written by hand: `pkg:`, a type of ASCII letters,
/// digits, `.+-` starting with a letter, a non-empty name, no whitespace
/// or control characters, and well-formed percent escapes. `Err` says what
/// is wrong.
pub fn check(text: &str) -> Result<(), String> {
    let Some(rest) = text.strip_prefix("pkg:") else {
        return Err("a package URL starts with `pkg:`".to_owned());
    };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a package URL has no spaces or control characters".to_owned());
    }
    let rest = rest.trim_start_matches('/');
    let (kind, path) = rest
        .split_once('/')
        .ok_or_else(|| "expected `pkg:TYPE/NAME`".to_owned())?;
    let mut chars = kind.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_with_letter
        || !kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c))
    {
        return Err(format!("`{kind}` is not a package URL type"));
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = path.split('@').next().unwrap_or("");
    if path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .is_none_or(str::is_empty)
    {
        return Err("the package URL has no name".to_owned());
    }
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err("`%` must start a percent escape such as `%2B`".to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn github_purls_are_lowercased_and_encoded() {
        let p = Purl::github("Traefik/Traefik", "v3.3.4").unwrap();
        assert_eq!(p.to_string(), "pkg:github/traefik/traefik@v3.3.4");
        let p = Purl::github("k3s-io/k3s", "v1.30.4+k3s1").unwrap();
        assert_eq!(p.to_string(), "pkg:github/k3s-io/k3s@v1.30.4%2Bk3s1");
        assert!(Purl::github("nope", "v1").is_none());
        assert!(Purl::github("a/b/c", "v1").is_none());
    }

    #[test]
    fn generic_purls_encode_every_reserved_character() {
        let p = Purl::generic("dracut apt", "2024/03 #1?");
        assert_eq!(
            p.to_string(),
            "pkg:generic/dracut%20apt@2024%2F03%20%231%3F"
        );
    }

    #[test]
    fn hand_written_purls_are_checked() {
        assert!(check("pkg:deb/ubuntu/dracut@059-1ubuntu1?arch=amd64").is_ok());
        assert!(check("pkg:generic/kernel@6.8.0-45-generic").is_ok());
        for bad in [
            "deb/ubuntu/dracut",
            "pkg:deb",
            "pkg:1deb/x",
            "pkg:deb/",
            "pkg:deb/a b",
            "pkg:deb/x%2",
            "pkg:deb/x%zz",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
