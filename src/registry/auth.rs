//! Registry credentials and the registry's auth handshake.
//!
//! Where credentials come from, first match wins:
//!
//! 1. `VENDOR_CACHE_REMOTE_TOKEN`: a registry token, sent as
//!    `Authorization: Bearer` to the registry host;
//! 2. the Docker/OCI config file, `$DOCKER_CONFIG/config.json` or
//!    `~/.docker/config.json`: the `auths` entry for the registry's
//!    `host[:port]` (also written `https://host[:port]` or with a path), its
//!    `auth` (base64 of `user:password`), `username`/`password`, or
//!    `identitytoken` (an OAuth2 refresh token). Credential helpers
//!    (`credsStore`, `credHelpers`) are not run.
//!
//! The handshake (distribution's token authentication): a request answered
//! `401` with `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` is
//! repeated with a token from the realm, asked with `GET
//! realm?service=…&scope=repository:<name>:pull,push` and Basic auth (or
//! `POST` with the refresh token, for an identity token), the answer's
//! `token` or `access_token`; `WWW-Authenticate: Basic` is answered with
//! the user and password directly.
//!
//! Every credential and token is registered as a secret
//! ([`crate::secret`]): redacted from all output and refused in any URL.
//! They go only to the registry's own origin and to the token realm it
//! names; the upstream client never holds them.

use std::path::PathBuf;

use base64::Engine as _;
use serde::Deserialize;

/// What the user configured.
#[derive(Clone)]
pub enum Credentials {
    Basic {
        user: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`).
    Identity(String),
    /// A registry token used as is.
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Credentials::Basic { .. } => "Basic",
            Credentials::Identity(_) => "Identity",
            Credentials::Bearer(_) => "Bearer",
        };
        write!(f, "Credentials::{kind}(<redacted>)")
    }
}

impl Credentials {
    /// The `Authorization` value for Basic auth, when these are a user
    /// and password.
    pub fn basic(&self) -> Option<String> {
        match self {
            Credentials::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            _ => None,
        }
    }

    fn register(&self) {
        match self {
            Credentials::Basic { password, .. } => {
                crate::secret::register(password);
                if let Some(b) = self.basic() {
                    crate::secret::register(b.trim_start_matches("Basic "));
                }
            }
            Credentials::Identity(t) | Credentials::Bearer(t) => crate::secret::register(t),
        }
    }
}

/// Credentials for `host` (`host` or `host:port`, as in the remote's URL).
pub fn lookup(host: &str) -> Result<Option<Credentials>, String> {
    if let Some(token) = std::env::var("VENDOR_CACHE_REMOTE_TOKEN")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
    {
        let creds = Credentials::Bearer(token);
        creds.register();
        return Ok(Some(creds));
    }
    let Some(path) = config_path() else {
        return Ok(None);
    };
    let text = match crate::fsx::read_text(&path, 1 << 20) {
        Ok(t) => t,
        Err(crate::fsx::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let creds = from_config(&text, host).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(c) = &creds {
        c.register();
    }
    Ok(creds)
}

fn config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".docker/config.json"))
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// The `host[:port]` an `auths` key names: `host:port`,
/// `https://host:port`, `https://host/v1/`.
fn key_host(key: &str) -> String {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or("").to_ascii_lowercase()
}

/// The credentials a config file's text holds for `host`.
pub fn from_config(text: &str, host: &str) -> Result<Option<Credentials>, String> {
    let config: ConfigFile =
        serde_json::from_str(text).map_err(|e| format!("not a Docker config file: {e}"))?;
    let host = host.to_ascii_lowercase();
    let Some(entry) = config
        .auths
        .iter()
        .find(|(k, _)| key_host(k) == host)
        .map(|(_, v)| v)
    else {
        return Ok(None);
    };
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials::Identity(token.to_owned())));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| format!("the `auth` of `{host}` is not base64 of user:password"))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| format!("the `auth` of `{host}` is not base64 of user:password"))?;
        return Ok(Some(Credentials::Basic {
            user: user.to_owned(),
            password: password.to_owned(),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(user), Some(password)) => Ok(Some(Credentials::Basic {
            user: user.clone(),
            password: password.clone(),
        })),
        _ => Ok(None),
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `bearer` or `basic`, lowercase.
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `Scheme k="v", k2=v2` (one challenge; quoted values may hold
/// commas and `\"`).
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() || chars.next() != Some('=') {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

/// A token server's answer.
#[derive(Deserialize)]
pub struct TokenAnswer {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
}

impl TokenAnswer {
    pub fn value(self) -> Option<String> {
        self.token
            .or(self.access_token)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_quotes_and_commas() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap_or_else(|| unreachable!("parses"));
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.example/token"));
        assert_eq!(c.param("service"), Some("registry.example"));
        assert_eq!(c.param("scope"), Some("repository:a/b:pull,push"));
        let b = parse_challenge(r#"Basic realm="x \"y\"""#).unwrap_or_else(|| unreachable!());
        assert_eq!(b.scheme, "basic");
        assert_eq!(b.param("realm"), Some(r#"x "y""#));
        assert_eq!(parse_challenge(""), None);
    }

    #[test]
    fn docker_config_entries_are_found_by_host() {
        let text = r#"{"auths": {
            "https://other.example/v1/": {"auth": "eDp5"},
            "127.0.0.1:5000": {"auth": "dXNlcjpwYTpzcw=="},
            "https://tok.example": {"identitytoken": "refresh-abc"}
        }}"#;
        match from_config(text, "127.0.0.1:5000") {
            Ok(Some(Credentials::Basic { user, password })) => {
                assert_eq!((user.as_str(), password.as_str()), ("user", "pa:ss"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            from_config(text, "tok.example"),
            Ok(Some(Credentials::Identity(_)))
        ));
        assert!(matches!(from_config(text, "none.example"), Ok(None)));
        assert!(from_config("\"text\"", "x").is_err());
        assert!(from_config(r#"{"auths":{"h":{"auth":"!!"}}}"#, "h").is_err());
    }
}
