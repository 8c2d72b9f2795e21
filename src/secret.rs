//! Secret hygiene: the GitHub token never appears in anything `vendor`
//! prints, logs or writes, even when a server reflects it back
//! (DESIGN §6).
//!
//! The process registers its secrets once ([`register_env`] at start-up
//! for `GITHUB_TOKEN` and `GH_TOKEN`; [`crate::fetch::Client::new`] for the
//! token it is given). Then:
//!
//! - [`redact`] replaces every occurrence of a secret in a string with
//!   [`REDACTED`]. The output layer ([`crate::cmd::Io`] and the diagnostics
//!   in `main.rs`) applies it to every byte for stdout and stderr in every
//!   format; file writers (plan files, the lock, the cache) call it on what
//!   they write.
//! - [`carries`] says whether a string holds a secret: the HTTP client
//!   refuses such a URL before any request, and an API answer that holds
//!   one (a server echoing the token into `browser_download_url`, an error
//!   message, anything) is refused whole, so nothing of it is planned,
//!   locked or cached.
//!
//! An occurrence is the secret's bytes in order, each byte either raw,
//! percent-encoded (`%67`, either case) or JSON-escaped (`\u0067`), in any
//! mix: what URL encoders and JSON serializers produce. A server that
//! already holds the token can of course encode it beyond recognition;
//! the point is that `vendor` itself never hands it on.
//!
//! Values shorter than [`MIN_LEN`] bytes are not registered: redacting a
//! two-letter "token" would mangle unrelated text, and no real GitHub token
//! is that short (they are 40 characters and more).

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Shorter values are not treated as secrets (see the module doc).
pub const MIN_LEN: usize = 8;

/// The environment variables holding a token (DESIGN §4).
pub const ENV_VARS: &[&str] = &["GITHUB_TOKEN", "GH_TOKEN"];

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers `value` as a secret of this process (trimmed; ignored when
/// shorter than [`MIN_LEN`]).
pub fn register(value: &str) {
    let value = value.trim();
    if value.len() < MIN_LEN {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_owned());
        // The longest first, so a secret containing another is replaced
        // whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Registers the tokens of [`ENV_VARS`] that are set.
pub fn register_env() {
    for var in ENV_VARS {
        if let Ok(value) = std::env::var(var) {
            register(&value);
        }
    }
}

fn with_secrets<T>(f: impl FnOnce(&[String]) -> T) -> T {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    f(&secrets)
}

/// `text` with every registered secret replaced by [`REDACTED`];
/// borrowed when there is none.
pub fn redact(text: &str) -> Cow<'_, str> {
    with_secrets(|secrets| redact_with(text, secrets))
}

/// Whether `text` holds a registered secret.
pub fn carries(text: &str) -> bool {
    carries_bytes(text.as_bytes())
}

/// [`carries`] for bytes (a response body).
pub fn carries_bytes(bytes: &[u8]) -> bool {
    with_secrets(|secrets| {
        secrets
            .iter()
            .any(|s| find(bytes, s.as_bytes(), 0).is_some())
    })
}

/// [`redact`] with explicit secrets (those shorter than [`MIN_LEN`] are
/// skipped).
pub fn redact_with<'a, S: AsRef<str>>(text: &'a str, secrets: &[S]) -> Cow<'a, str> {
    let mut out: Cow<'a, str> = Cow::Borrowed(text);
    for secret in secrets {
        let secret = secret.as_ref().as_bytes();
        if secret.len() < MIN_LEN {
            continue;
        }
        let bytes = out.as_bytes();
        let Some(first) = find(bytes, secret, 0) else {
            continue;
        };
        let mut replaced = Vec::with_capacity(bytes.len());
        let mut at = 0;
        let mut next = Some(first);
        while let Some((start, end)) = next {
            replaced.extend_from_slice(&bytes[at..start]);
            replaced.extend_from_slice(REDACTED.as_bytes());
            at = end;
            next = find(bytes, secret, end);
        }
        replaced.extend_from_slice(&bytes[at..]);
        // A match starts and ends on ASCII bytes (the secret's own, `%`
        // or `\`), so the rest stays valid UTF-8; lossy only as a guard.
        out = Cow::Owned(match String::from_utf8(replaced) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        });
    }
    out
}

/// The first occurrence of `secret` in `bytes` at or after `from`, as a
/// byte range.
fn find(bytes: &[u8], secret: &[u8], from: usize) -> Option<(usize, usize)> {
    let first = *secret.first()?;
    (from..bytes.len()).find_map(|start| {
        let b = bytes[start];
        if b != first && b != b'%' && b != b'\\' {
            return None;
        }
        match_at(bytes, start, secret).map(|end| (start, end))
    })
}

/// Where a match of `secret` starting at `start` ends.
fn match_at(bytes: &[u8], start: usize, secret: &[u8]) -> Option<usize> {
    let mut i = start;
    for &want in secret {
        i += unit(&bytes[i..], want)?;
    }
    Some(i)
}

/// The length of one spelling of `want` at the start of `bytes`: the raw
/// byte, `%XX` or `\u00XX`.
fn unit(bytes: &[u8], want: u8) -> Option<usize> {
    match bytes {
        [b, ..] if *b == want => Some(1),
        [b'%', h, l, ..] if hex_pair(*h, *l) == Some(want) => Some(3),
        [b'\\', b'u', b'0', b'0', h, l, ..] if hex_pair(*h, *l) == Some(want) => Some(6),
        _ => None,
    }
}

fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    let value = digit(high)? * 16 + digit(low)?;
    u8::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "ghp_Secret123456";

    fn redacted(text: &str) -> String {
        redact_with(text, &[TOKEN]).into_owned()
    }

    #[test]
    fn spellings() {
        let cases = [
            ("plain", "plain"),
            ("Bearer ghp_Secret123456", "Bearer <redacted>"),
            (
                "x?t=ghp_Secret123456&y=ghp_Secret123456",
                "x?t=<redacted>&y=<redacted>",
            ),
            ("%67%68%70%5fSecret123456!", "<redacted>!"),
            ("%67%68%70%5FSecret123456", "<redacted>"),
            ("\\u0067hp_Secret12345\\u0036", "<redacted>"),
            ("ghp_Secret12345", "ghp_Secret12345"),
            ("ghp_secret123456", "ghp_secret123456"),
            ("ünï ghp_Secret123456 ✓", "ünï <redacted> ✓"),
            ("gghp_Secret123456", "g<redacted>"),
        ];
        for (input, expected) in cases {
            assert_eq!(redacted(input), expected, "{input}");
        }
    }

    #[test]
    fn nothing_found_borrows() {
        assert!(matches!(redact_with("abc", &[TOKEN]), Cow::Borrowed(_)));
        assert!(matches!(redact_with::<&str>("abc", &[]), Cow::Borrowed(_)));
    }

    #[test]
    fn short_values_are_not_secrets() {
        assert_eq!(redact_with("a token t here", &["t"]), "a token t here");
        assert_eq!(redact_with("abcdefg", &["abcdefg"]), "abcdefg");
    }

    #[test]
    fn the_longest_secret_wins() {
        let out = redact_with("xx ghp_Secret123456789 yy", &["ghp_Secret123456789", TOKEN]);
        assert_eq!(out, "xx <redacted> yy");
    }

    #[test]
    fn registered_secrets() {
        register("  registered-token-value\n");
        register("short");
        assert!(carries("https://h/x?a=registered-token-value"));
        assert!(carries_bytes(b"{\"u\":\"registered%2Dtoken-value\"}"));
        assert!(!carries("short"));
        assert_eq!(
            redact("see registered-token-value"),
            format!("see {REDACTED}")
        );
    }
}
