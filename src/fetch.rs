//! The one HTTP client: every byte `vendor` takes from the network comes
//! through [`Client`].
//!
//! It owns the network rules of DESIGN §6–7 so no caller has to remember
//! them:
//!
//! - every URL is rewritten by `VENDOR_MIRRORS` first (longest prefix wins);
//! - `--offline` refuses before any I/O;
//! - plain `http://` is refused unless the host is loopback or the caller
//!   says the item opted in (`allow_http`);
//! - the GitHub token is sent only by the API calls, and only when both the
//!   requested and the (mirror-)rewritten URL are on the API's origin —
//!   never to a download, a mirror or a redirect target on another host;
//! - every hop of a redirect is held to the rules of a URL given directly
//!   (plain `http://` only to a loopback host or an opted-in item, never
//!   down from `https://`, nothing but http(s)), before it is connected
//!   to: a refused hop is [`FetchError::RedirectRefused`], naming where it
//!   led;
//! - timeouts: connect, idle time between body chunks, an overall deadline
//!   for the response headers and for the whole of every API answer and
//!   small file ([`Config::deadline`]), and a minimum transfer rate for
//!   streamed downloads ([`Config::min_rate`] over [`Config::rate_window`])
//!   so a body that trickles in is cut off while a slow but steady link
//!   still finishes;
//! - bounded retries with jittered exponential backoff on 5xx, resets,
//!   timeouts, truncated bodies and 429, honouring a `Retry-After` of at
//!   most [`MAX_RETRY_AFTER`] (a longer one is an error saying how long
//!   the server asked for);
//! - GitHub rate limits end in [`FetchError::RateLimited`], which says when
//!   the limit resets and that a token raises it;
//! - downloads stream to disk while hashing; bodies are never held whole;
//! - API answers are kept in the HTTP cache ([`crate::http_cache`], when
//!   [`Config::http_cache`] names one) with their `ETag`/`Last-Modified`
//!   and asked for again conditionally: a `304 Not Modified` hands back the
//!   stored body. Only what the caller declares an unchangeable fact is
//!   reused without asking ([`Client::api_get_fact`]); releases and tags
//!   are always revalidated. [`Config::refresh`] bypasses the cache;
//! - every request, 304 and reuse is counted, with the rate limit the
//!   latest API answer reported ([`traffic`], shown by `-v`).
//!
//! - the token never leaves in a URL: a URL that carries it (raw or
//!   encoded, anywhere: path, query, userinfo, host) is refused before any
//!   request, a redirect to one is refused, and an API answer that holds
//!   it (a server reflecting it into `browser_download_url` or an error
//!   message) is refused whole, so nothing of it is planned, locked or
//!   cached ([`crate::secret`]).
//!
//! Errors show URLs without userinfo or token-like query parameters and
//! never include request headers; the token is redacted from every
//! message. The module is async throughout and never
//! builds a runtime: callers own it.

use std::fmt;
use std::future::Future;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::header::{
    ACCEPT, ETAG, HeaderMap, HeaderName, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LINK,
    LOCATION, RETRY_AFTER,
};
use reqwest::{StatusCode, Url, redirect};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::feed::{Chunk, Feed};
use crate::hash::hex;
pub use crate::http_cache::Reuse;
use crate::http_cache::{Entry, HttpCache, Key};

/// The public GitHub API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The REST API version every API request asks for.
pub const API_VERSION: &str = "2022-11-28";
/// `Accept` for GitHub's JSON API.
pub const ACCEPT_JSON: &str = "application/vnd.github+json";
/// `Accept` for a file's raw bytes from the contents API.
pub const ACCEPT_RAW: &str = "application/vnd.github.raw";
/// `Accept` for just a commit's sha from the commits API.
pub const ACCEPT_SHA: &str = "application/vnd.github.sha";

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Headers, API answers and small files: generous for a few MB of JSON
/// or a checksum file on a slow link, short enough that a server dripping
/// bytes cannot hold a run for long.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);
/// 1 KiB/s averaged over 30 s: far below any working link (a mobile
/// edge connection still does tens of KiB/s), far above a trickle.
const DEFAULT_MIN_RATE: u64 = 1024;
const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: u32 = 3;
/// The longest `Retry-After` worth waiting for; beyond it the request fails
/// with an error saying how long the server asked for, instead of hanging
/// the run.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// GitHub's primary rate limits reset within the hour; a reset time
/// further out than this is not believed.
const MAX_PLAUSIBLE_RESET: u64 = 86_400;
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(5);
/// Largest JSON document the API may answer with (a page of 100 releases
/// with long notes and many assets stays far below).
const MAX_JSON: u64 = 64 << 20;
const MAX_REDIRECTS: usize = 10;
const WRITE_BUFFER: usize = 256 << 10;
/// Body chunks (up to a few hundred KiB each) queued per download for the
/// writer thread.
const SINK_DEPTH: usize = 4;
/// Query parameters whose values are credentials.
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "token",
    "client_secret",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
];

/// How the client behaves; [`Config::from_env`] reads it from the
/// environment (DESIGN §4).
#[derive(Clone)]
pub struct Config {
    /// `GITHUB_API_URL`, default `https://api.github.com`, no trailing slash.
    pub api_url: String,
    /// `GITHUB_TOKEN` or `GH_TOKEN`.
    pub token: Option<String>,
    /// `VENDOR_MIRRORS`: `FROM=TO` URL-prefix rewrites.
    pub mirrors: Vec<(String, String)>,
    /// Refuse every request (`--offline`, `VENDOR_OFFLINE=1`).
    pub offline: bool,
    pub connect_timeout: Duration,
    /// Longest wait for the response headers or the next body chunk.
    pub read_timeout: Duration,
    /// Longest time for the response headers of any request, and for the
    /// whole of an API answer or small file (`VENDOR_HTTP_DEADLINE`).
    pub deadline: Duration,
    /// Streamed downloads must bring at least this many bytes per second,
    /// averaged over [`Config::rate_window`]; `0` turns the check off
    /// (`VENDOR_HTTP_MIN_RATE`).
    pub min_rate: u64,
    /// The window [`Config::min_rate`] is averaged over
    /// (`VENDOR_HTTP_RATE_WINDOW`).
    pub rate_window: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// Where API answers are cached (`http/` under `VENDOR_CACHE_DIR`);
    /// `None`: no HTTP cache.
    pub http_cache: Option<PathBuf>,
    /// Ask afresh (`--refresh`): no conditional requests, no reuse; every
    /// answer overwrites its cache entry.
    pub refresh: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_url: DEFAULT_API_URL.to_owned(),
            token: None,
            mirrors: Vec::new(),
            offline: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            min_rate: DEFAULT_MIN_RATE,
            rate_window: DEFAULT_RATE_WINDOW,
            retries: DEFAULT_RETRIES,
            progress: false,
            http_cache: None,
            refresh: false,
        }
    }
}

/// Never prints the token.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("mirrors", &self.mirrors)
            .field("offline", &self.offline)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("deadline", &self.deadline)
            .field("min_rate", &self.min_rate)
            .field("rate_window", &self.rate_window)
            .field("retries", &self.retries)
            .field("progress", &self.progress)
            .field("http_cache", &self.http_cache)
            .field("refresh", &self.refresh)
            .finish()
    }
}

impl FetchError {
    /// No connection to the upstream could be made at all (refused, no
    /// such host, no route, no answer to the connection attempt): planning
    /// can go on with what is known offline. A server that was reached and
    /// then answered wrongly, too slowly or not at all is not unreachable.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, FetchError::Connect { .. })
    }
}

impl Config {
    /// Reads `GITHUB_API_URL`, `GITHUB_TOKEN`/`GH_TOKEN`, `VENDOR_MIRRORS`,
    /// `VENDOR_OFFLINE`, `VENDOR_HTTP_TIMEOUT` (seconds, connect and read),
    /// `VENDOR_HTTP_DEADLINE` (seconds), `VENDOR_HTTP_MIN_RATE` (bytes per
    /// second, `0` for none), `VENDOR_HTTP_RATE_WINDOW` (seconds) and
    /// `VENDOR_HTTP_RETRIES`. `offline` is or-ed with `VENDOR_OFFLINE`.
    pub fn from_env(offline: bool, progress: bool) -> Result<Config, FetchError> {
        Config::from_vars(|name| std::env::var(name).ok(), offline, progress)
    }

    /// [`Config::from_env`] over any variable lookup (tests).
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        offline: bool,
        progress: bool,
    ) -> Result<Config, FetchError> {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut config = Config {
            progress,
            ..Config::default()
        };
        if let Some(api) = set("GITHUB_API_URL") {
            config.api_url = parse_api_url(&api)?;
        }
        config.token = set("GITHUB_TOKEN").or_else(|| set("GH_TOKEN"));
        if let Some(mirrors) = set("VENDOR_MIRRORS") {
            config.mirrors = parse_mirrors(&mirrors)?;
        }
        config.offline = offline || set("VENDOR_OFFLINE").is_some_and(|v| truthy(&v));
        if let Some(timeout) = set("VENDOR_HTTP_TIMEOUT") {
            let timeout = parse_seconds("VENDOR_HTTP_TIMEOUT", &timeout)?;
            config.connect_timeout = timeout;
            config.read_timeout = timeout;
        }
        if let Some(deadline) = set("VENDOR_HTTP_DEADLINE") {
            config.deadline = parse_seconds("VENDOR_HTTP_DEADLINE", &deadline)?;
        }
        if let Some(rate) = set("VENDOR_HTTP_MIN_RATE") {
            config.min_rate = rate.parse().map_err(|_| FetchError::Env {
                var: "VENDOR_HTTP_MIN_RATE".into(),
                message: format!(
                    "`{rate}` is not a whole number of bytes per second (0 turns the check off)"
                ),
            })?;
        }
        if let Some(window) = set("VENDOR_HTTP_RATE_WINDOW") {
            config.rate_window = parse_seconds("VENDOR_HTTP_RATE_WINDOW", &window)?;
        }
        if let Some(retries) = set("VENDOR_HTTP_RETRIES") {
            config.retries = retries.parse().map_err(|_| FetchError::Env {
                var: "VENDOR_HTTP_RETRIES".into(),
                message: format!("`{retries}` is not a whole number of retries"),
            })?;
        }
        Ok(config)
    }

    /// Whether the API is public GitHub (raw files then come from
    /// `raw.githubusercontent.com`).
    pub fn is_default_github(&self) -> bool {
        self.api_url
            .trim_end_matches('/')
            .eq_ignore_ascii_case(DEFAULT_API_URL)
    }
}

fn truthy(value: &str) -> bool {
    !matches!(
        value.to_ascii_lowercase().as_str(),
        "0" | "false" | "no" | "off"
    )
}

fn parse_api_url(text: &str) -> Result<String, FetchError> {
    let trimmed = text.trim_end_matches('/');
    match Url::parse(trimmed) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(trimmed.to_owned())
        }
        _ => Err(FetchError::Env {
            var: "GITHUB_API_URL".into(),
            message: format!("`{}` is not an http(s) URL", redact_str(text)),
        }),
    }
}

fn parse_seconds(var: &str, text: &str) -> Result<Duration, FetchError> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| FetchError::Env {
            var: var.into(),
            message: format!("`{text}` is not a positive number of seconds"),
        })
}

/// Parses `VENDOR_MIRRORS`: whitespace-separated `FROM=TO` URL prefixes.
pub fn parse_mirrors(text: &str) -> Result<Vec<(String, String)>, FetchError> {
    text.split_whitespace().map(parse_mirror).collect()
}

fn parse_mirror(entry: &str) -> Result<(String, String), FetchError> {
    let fail = |reason: &str| FetchError::MirrorConfig {
        entry: redact_str(entry),
        reason: reason.to_owned(),
    };
    let (from, to) = entry
        .split_once('=')
        .ok_or_else(|| fail("expected FROM=TO"))?;
    for side in [from, to] {
        if side.is_empty() {
            return Err(fail("both FROM and TO must be given"));
        }
        if !(side.starts_with("http://") || side.starts_with("https://")) {
            return Err(fail("FROM and TO must start with http:// or https://"));
        }
        if Url::parse(side).is_err() {
            return Err(fail("not a valid URL prefix"));
        }
    }
    Ok((from.to_owned(), to.to_owned()))
}

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Lowercase hex sha256 of the bytes written.
    pub sha256: String,
    pub size: u64,
}

/// Why a request failed. Messages name the URL (without credentials) and
/// every variant has a stable code and a help line.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FetchError {
    #[error("offline: not fetching {url}")]
    #[diagnostic(
        code("vendor::fetch::offline"),
        help(
            "run without --offline (and unset VENDOR_OFFLINE) to fetch it, or run `vendor fetch` while online to fill the cache"
        )
    )]
    Offline { url: String },

    #[error("not found (HTTP 404): {url}")]
    #[diagnostic(
        code("vendor::fetch::not-found"),
        help(
            "check the version, tag and asset name; a private repository also needs GITHUB_TOKEN"
        )
    )]
    NotFound { url: String },

    #[error(
        "HTTP {status} from {url}{}{}",
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default(),
        retry_after.map(|s| format!("; {}", asked_to_wait(s))).unwrap_or_default()
    )]
    #[diagnostic(
        code("vendor::fetch::status"),
        help("{}", status_help(*status, *retry_after))
    )]
    Status {
        url: String,
        status: u16,
        /// The `message` of GitHub's error JSON, when the server sent one
        /// (shortened, secrets redacted).
        message: Option<String>,
        /// The server's `Retry-After` (seconds), when it asked for a
        /// longer wait than [`MAX_RETRY_AFTER`].
        retry_after: Option<u64>,
    },

    #[error("{}", rate_limit_message(url, *reset_at, *retry_after))]
    #[diagnostic(
        code("vendor::fetch::rate-limited"),
        help("{}", rate_limit_help(*authenticated, *retry_after))
    )]
    RateLimited {
        url: String,
        /// When the limit resets, in seconds since the Unix epoch, as the
        /// server said.
        reset_at: Option<u64>,
        /// The server's `Retry-After` (seconds), when it asked for a
        /// longer wait than [`MAX_RETRY_AFTER`].
        retry_after: Option<u64>,
        /// Whether the request carried a token.
        authenticated: bool,
    },

    #[error("timed out after {} waiting for {url}", show_duration(*after))]
    #[diagnostic(
        code("vendor::fetch::timeout"),
        help(
            "the server accepted the connection, then stopped answering (retried); try again later, or raise VENDOR_HTTP_TIMEOUT (seconds)"
        )
    )]
    Timeout { url: String, after: Duration },

    #[error("{url} did not arrive within the {} deadline", show_duration(*after))]
    #[diagnostic(
        code("vendor::fetch::deadline"),
        help(
            "the server sent its answer too slowly (retried). Response headers, API answers and small files (checksum files, commit shas) must arrive whole within VENDOR_HTTP_DEADLINE seconds (default 120); raise it on a very slow link"
        )
    )]
    Deadline { url: String, after: Duration },

    #[error(
        "{url}: the transfer fell below {min_rate} bytes/s (less than {} bytes in {}, {received} bytes in all)",
        rate_quota(*min_rate, *window),
        show_duration(*window)
    )]
    #[diagnostic(
        code("vendor::fetch::too-slow"),
        help(
            "the server sent the file too slowly (retried). Downloads must average at least VENDOR_HTTP_MIN_RATE bytes per second (default 1024; 0 turns the check off) over every VENDOR_HTTP_RATE_WINDOW seconds (default 30); lower the rate or widen the window on a very slow link"
        )
    )]
    TooSlow {
        url: String,
        min_rate: u64,
        window: Duration,
        received: u64,
    },

    #[error("{url} did not answer as an HTTP server: {message}")]
    #[diagnostic(
        code("vendor::fetch::protocol"),
        help(
            "a connection was made, but what came back is not a valid HTTP(S) answer, or the connection was dropped mid-answer (retried). Check GITHUB_API_URL, VENDOR_MIRRORS and any proxy in between"
        )
    )]
    Protocol { url: String, message: String },

    #[error("{url} redirected to {to}; refused: {reason}")]
    #[diagnostic(
        code("vendor::fetch::redirect-refused"),
        help(
            "nothing was requested from the redirect target. Every hop of a redirect is held to the rules of a URL given directly: https://, or plain http:// only to a loopback host (127.0.0.0/8, ::1, localhost) or for an item with `allow_http: true`; use a URL (or a VENDOR_MIRRORS entry) that does not redirect there"
        )
    )]
    RedirectRefused {
        url: String,
        /// Where the refused hop led (without credentials).
        to: String,
        reason: String,
    },

    #[error("refusing plain http:// to a non-loopback host: {url}")]
    #[diagnostic(
        code("vendor::fetch::insecure"),
        help(
            "use https://; if the item really is only served over plain HTTP, set `allow_http: true` on its `url` source"
        )
    )]
    Insecure { url: String },

    #[error("invalid URL {url}: {reason}")]
    #[diagnostic(
        code("vendor::fetch::invalid-url"),
        help("check the URL template in vendor.yaml and VENDOR_MIRRORS")
    )]
    InvalidUrl { url: String, reason: String },

    #[error("{url} is {actual} bytes, expected {expected}")]
    #[diagnostic(
        code("vendor::fetch::size-mismatch"),
        help(
            "the upstream file is not the one that was resolved; it may have been replaced: re-run `vendor plan` and review the change"
        )
    )]
    SizeMismatch {
        url: String,
        expected: u64,
        actual: u64,
    },

    #[error("{url}: the transfer broke off after {}", progress(*received, *expected))]
    #[diagnostic(
        code("vendor::fetch::truncated"),
        help("the transfer was cut short (retried); try again, or check proxies and mirrors")
    )]
    Truncated {
        url: String,
        received: u64,
        expected: Option<u64>,
    },

    #[error("{url} is larger than the {limit} bytes allowed")]
    #[diagnostic(
        code("vendor::fetch::too-large"),
        help("the server answered with far more data than such a file holds; check the URL")
    )]
    TooLarge { url: String, limit: u64 },

    #[error("cannot write {path}: {source}")]
    #[diagnostic(
        code("vendor::fetch::io"),
        help("check that the directory is writable and the disk has space")
    )]
    Io {
        path: String,
        source: std::io::Error,
    },

    #[error("VENDOR_MIRRORS entry `{entry}`: {reason}")]
    #[diagnostic(
        code("vendor::fetch::mirror-config"),
        help(
            "VENDOR_MIRRORS takes space-separated FROM=TO URL prefixes, e.g. `https://github.com/=https://mirror.example/github/`"
        )
    )]
    MirrorConfig { entry: String, reason: String },

    #[error("{var}: {message}")]
    #[diagnostic(
        code("vendor::fetch::env"),
        help("fix or unset the environment variable")
    )]
    Env { var: String, message: String },

    #[error("cannot reach {url}: {message}")]
    #[diagnostic(
        code("vendor::fetch::connect"),
        help(
            "check the network, proxy settings and VENDOR_MIRRORS; --offline works from the cache"
        )
    )]
    Connect { url: String, message: String },

    #[error("unexpected response from {url}: {message}")]
    #[diagnostic(
        code("vendor::fetch::invalid-response"),
        help(
            "GITHUB_API_URL must point at a GitHub REST API (GitHub Enterprise: https://HOST/api/v3)"
        )
    )]
    InvalidResponse { url: String, message: String },

    #[error("cannot set up the HTTP client: {message}")]
    #[diagnostic(code("vendor::fetch::setup"))]
    Setup { message: String },

    #[error("refusing to request a URL that carries the GitHub token: {url}")]
    #[diagnostic(
        code("vendor::fetch::token-in-url"),
        help(
            "nothing was sent. The token must only travel in the Authorization header to the API host; a server that hands out URLs holding it is misconfigured or hostile: check GITHUB_API_URL, VENDOR_MIRRORS and any proxy in between"
        )
    )]
    TokenInUrl { url: String },

    #[error("{url} answered with the GitHub token in its response; refusing it")]
    #[diagnostic(
        code("vendor::fetch::token-reflected"),
        help(
            "a server that echoes the token back (into download URLs, messages or any other field) is misconfigured or hostile; nothing of its answer was used or written: check GITHUB_API_URL, VENDOR_MIRRORS and any proxy in between"
        )
    )]
    TokenReflected { url: String },
}

impl FetchError {
    /// Every code this type can carry, for uniqueness tests and docs.
    pub const CODES: &'static [&'static str] = &[
        "vendor::fetch::offline",
        "vendor::fetch::not-found",
        "vendor::fetch::status",
        "vendor::fetch::rate-limited",
        "vendor::fetch::timeout",
        "vendor::fetch::deadline",
        "vendor::fetch::too-slow",
        "vendor::fetch::protocol",
        "vendor::fetch::redirect-refused",
        "vendor::fetch::insecure",
        "vendor::fetch::invalid-url",
        "vendor::fetch::size-mismatch",
        "vendor::fetch::truncated",
        "vendor::fetch::too-large",
        "vendor::fetch::io",
        "vendor::fetch::mirror-config",
        "vendor::fetch::env",
        "vendor::fetch::connect",
        "vendor::fetch::invalid-response",
        "vendor::fetch::setup",
        "vendor::fetch::token-in-url",
        "vendor::fetch::token-reflected",
    ];
}

/// "50 of 100 bytes" / "50 bytes".
fn progress(received: u64, expected: Option<u64>) -> String {
    match expected {
        Some(total) => format!("{received} of {total} bytes"),
        None => format!("{received} bytes"),
    }
}

fn status_help(status: u16, retry_after: Option<u64>) -> String {
    if retry_after.is_some() {
        return format!(
            "vendor waits at most {} for a Retry-After; try again later",
            show_duration(MAX_RETRY_AFTER)
        );
    }
    match status {
        401 => "the token was rejected: check GITHUB_TOKEN / GH_TOKEN",
        403 => "access denied: a private repository needs GITHUB_TOKEN with read access",
        500..=599 => "the server failed (retried); try again later",
        _ => "check the URL and the item's source in vendor.yaml",
    }
    .to_owned()
}

/// "the server asked to wait 5 minutes before retrying, longer than …".
fn asked_to_wait(secs: u64) -> String {
    format!(
        "the server asked to wait {} before retrying, longer than vendor waits",
        wait_phrase(secs)
    )
}

/// A `Retry-After` in words: "45 s", "60 minutes", "about 3 hours",
/// "12 days", or the bare number of seconds beyond a year.
fn wait_phrase(secs: u64) -> String {
    let minutes = secs.div_ceil(60);
    match secs {
        0..120 => format!("{secs} s"),
        120..5_400 => format!("{minutes} minutes"),
        5_400..172_800 => format!("about {} hours", (minutes + 30) / 60),
        172_800..31_622_400 => format!("{} days", secs / 86_400),
        _ => format!("{secs} s (more than a year)"),
    }
}

fn rate_limit_message(url: &str, reset_at: Option<u64>, retry_after: Option<u64>) -> String {
    let head = format!("GitHub rate limit exceeded ({url})");
    if let Some(secs) = retry_after {
        return format!("{head}; {}", asked_to_wait(secs));
    }
    let Some(reset) = reset_at else {
        return head;
    };
    let now = now_epoch();
    if reset <= now {
        format!(
            "{head}; the limit has already reset ({}), so trying again should work",
            utc(reset)
        )
    } else if reset - now > MAX_PLAUSIBLE_RESET {
        format!(
            "{head}; the server's reset time (x-ratelimit-reset: {reset}) is implausible, so vendor does not wait for it"
        )
    } else {
        format!(
            "{head}; it resets at {} ({})",
            utc(reset),
            from_now(reset, now)
        )
    }
}

fn rate_limit_help(authenticated: bool, retry_after: Option<u64>) -> String {
    let wait = if retry_after.is_some() {
        format!(
            "vendor waits at most {} for a Retry-After; try again later. ",
            show_duration(MAX_RETRY_AFTER)
        )
    } else {
        String::new()
    };
    let token = if authenticated {
        "wait for the reset, or use a token with a higher limit"
    } else {
        "set GITHUB_TOKEN (or GH_TOKEN) to a token: authenticated requests get 5,000 requests an hour instead of 60"
    };
    format!("{wait}{token}")
}

fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// "in 17 minutes", "in about 3 hours", "in 12 days", "now".
fn from_now(epoch: u64, now: u64) -> String {
    let minutes = epoch.saturating_sub(now).div_ceil(60);
    match minutes {
        0 => "now".to_owned(),
        1 => "in 1 minute".to_owned(),
        2..=90 => format!("in {minutes} minutes"),
        91..=2879 => format!("in about {} hours", (minutes + 30) / 60),
        _ => format!("in {} days", minutes / 1440),
    }
}

/// `2024-03-06 12:00:00 UTC` for seconds since the Unix epoch.
pub fn utc(epoch: u64) -> String {
    let (days, secs) = (epoch / 86_400, epoch % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// The URL for messages: no userinfo, no credential query parameters.
pub fn redact(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url.to_string()
}

/// [`redact`] for text that may not parse as a URL.
pub fn redact_str(text: &str) -> String {
    if let Ok(url) = Url::parse(text) {
        return redact(&url);
    }
    // Drop a `user:pass@` between the scheme and the first `/`.
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return text.to_owned();
    };
    let end = text[start..].find('/').map_or(text.len(), |i| start + i);
    match text[start..end].rfind('@') {
        Some(at) => format!("{}{}", &text[..start], &text[start + at + 1..]),
        None => text.to_owned(),
    }
}

/// Applies the longest matching `FROM` prefix of `mirrors` to `url`.
pub fn rewrite(mirrors: &[(String, String)], url: &str) -> String {
    mirrors
        .iter()
        .filter(|(from, _)| url.starts_with(from.as_str()))
        .max_by_key(|(from, _)| from.len())
        .map_or_else(
            || url.to_owned(),
            |(from, to)| format!("{to}{}", &url[from.len()..]),
        )
}

/// Whether `url`'s host is loopback: 127.0.0.0/8, `::1` or `localhost`,
/// and nothing else. `0.0.0.0` (which some systems connect to the local
/// host), IPv4-mapped IPv6 such as `::ffff:127.0.0.1` and names that merely
/// resolve to a loopback address are not: a URL is judged by what it
/// says, before any connection, and there is one way to spell "this
/// machine".
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // `Url` has already normalised the host: `127.1` and `0x7f.0.0.1` read
    // `127.0.0.1`, `[::ffff:127.0.0.1]` reads `[::ffff:7f00:1]`.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why a URL may not be requested (directly or as a redirect hop), or
/// `None` when it may: https, or plain http to a loopback host or for an
/// item that opted in (`allow_http`), never anything else.
fn scheme_refusal(url: &Url, allow_http: bool) -> Option<String> {
    match url.scheme() {
        "https" => None,
        "http" if allow_http || is_loopback(url) => None,
        "http" => Some(
            "plain http:// is allowed only to a loopback host (127.0.0.0/8, ::1, localhost)"
                .to_owned(),
        ),
        other => Some(format!("`{other}:` is not http(s)")),
    }
}

/// Why the redirect hop to `next` (after the URLs in `previous`) is
/// refused: [`scheme_refusal`], a downgrade from https to plain http off
/// loopback even where the item allows http, a URL carrying the token, or
/// too many hops.
fn hop_refusal(next: &Url, previous: &[Url], allow_http: bool) -> Option<String> {
    if previous.len() >= MAX_REDIRECTS {
        return Some(format!("more than {MAX_REDIRECTS} redirects"));
    }
    if crate::secret::carries(next.as_str()) {
        return Some("the URL carries the GitHub token".to_owned());
    }
    if let Some(reason) = scheme_refusal(next, allow_http) {
        return Some(reason);
    }
    let downgrade = next.scheme() == "http"
        && !is_loopback(next)
        && previous.iter().any(|u| u.scheme() == "https");
    downgrade.then(|| "a redirect from https:// down to plain http://".to_owned())
}

/// A redirect hop [`hop_refusal`] refused; travels through reqwest's
/// error to [`transport_failure`].
#[derive(Debug)]
struct RefusedHop {
    /// The target, redacted.
    to: String,
    reason: String,
}

impl fmt::Display for RefusedHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused a redirect to {}: {}", self.to, self.reason)
    }
}

impl std::error::Error for RefusedHop {}

/// A redirect target for messages: no credentials, no token.
fn shown_hop(url: &Url) -> String {
    crate::secret::redact(&redact(url)).into_owned()
}

/// Scheme, host and port: what "the same host" means for the token.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    fn of(url: &Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_owned(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default(),
        })
    }
}

/// A URL ready to request: rewritten, checked, with its display form.
#[derive(Debug, Clone)]
struct Target {
    url: Url,
    /// Origin of the URL before mirror rewriting.
    requested: Option<Origin>,
    shown: String,
    /// The item opted in to plain http (also on redirect hops).
    allow_http: bool,
    /// An `Authorization` value of a service with credentials of its own
    /// ([`Client::download_authorized`]); reqwest drops it on a redirect
    /// to another host.
    authorization: Option<String>,
}

/// One failed attempt and whether it is worth another.
struct Failure {
    error: FetchError,
    retry: Retry,
}

enum Retry {
    No,
    Backoff,
    After(Duration),
}

impl Failure {
    fn fatal(error: FetchError) -> Failure {
        Failure {
            error,
            retry: Retry::No,
        }
    }

    fn transient(error: FetchError) -> Failure {
        Failure {
            error,
            retry: Retry::Backoff,
        }
    }
}

/// The HTTP client. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// The same for items that allow plain http: only the redirect rule
    /// differs.
    http_lax: reqwest::Client,
    config: Config,
    api: Option<Origin>,
    bars: Option<MultiProgress>,
    cache: Option<HttpCache>,
    /// API requests in flight at once, whatever the number of items
    /// resolved together ([`MAX_IN_FLIGHT`]).
    in_flight: tokio::sync::Semaphore,
    /// Small files (checksum files, signatures) and queries to other
    /// services in flight at once ([`MAX_FILES_IN_FLIGHT`]): a bound of
    /// their own, so they never wait behind API requests.
    files_in_flight: tokio::sync::Semaphore,
    /// Origins an optional request ([`Client::post_optional`]) could not
    /// reach in this run; later optional requests to them are not sent.
    unreachable: Mutex<std::collections::HashSet<String>>,
}

/// Most API requests open at once: GitHub asks clients to stay well below
/// 100 concurrent requests to its API.
pub const MAX_IN_FLIGHT: usize = 64;

/// How long an optional request ([`Client::post_optional`]) may take,
/// connecting included.
const OPTIONAL_TIMEOUT: Duration = Duration::from_secs(3);

/// Most small-file requests (and requests to services other than the
/// API) open at once. GitHub's concurrency guidance is for its API;
/// release assets are served from elsewhere.
pub const MAX_FILES_IN_FLIGHT: usize = 64;

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client. Installs rustls' `ring` provider as the process
    /// default if none is installed yet.
    pub fn new(config: Config) -> Result<Client, FetchError> {
        // Fails only when a provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if let Some(token) = &config.token {
            crate::secret::register(token);
        }
        let http = http_client(&config, false)?;
        let http_lax = http_client(&config, true)?;
        let api = Url::parse(&config.api_url)
            .ok()
            .as_ref()
            .and_then(Origin::of);
        let bars = config
            .progress
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let cache = config.http_cache.as_ref().map(HttpCache::at);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                http_lax,
                config,
                api,
                bars,
                cache,
                in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
                files_in_flight: tokio::sync::Semaphore::new(MAX_FILES_IN_FLIGHT),
                unreachable: Mutex::default(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// GETs a GitHub API URL as JSON; returns the value and the `next` page
    /// URL from the `Link` header. Revalidated through the HTTP cache.
    pub async fn api_json<T: DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<(T, Option<String>), FetchError> {
        let (body, next) = self
            .api_cached(url, ACCEPT_JSON, MAX_JSON, Reuse::Revalidate)
            .await?;
        let value = serde_json::from_slice(&body).map_err(|e| FetchError::InvalidResponse {
            url: self.shown(url),
            message: format!("not the JSON expected: {e}"),
        })?;
        Ok((value, next))
    }

    /// GETs a file's raw bytes from the contents API (at most `limit`).
    pub async fn api_raw(&self, url: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        self.api_get(url, ACCEPT_RAW, limit).await
    }

    /// GETs an API URL with a custom `Accept` (at most `limit` bytes).
    /// Revalidated through the HTTP cache.
    pub async fn api_get(
        &self,
        url: &str,
        accept: &str,
        limit: u64,
    ) -> Result<Vec<u8>, FetchError> {
        let (body, _) = self
            .api_cached(url, accept, limit, Reuse::Revalidate)
            .await?;
        Ok(body)
    }

    /// [`Client::api_get`] for an answer that is a fact which cannot
    /// change (the commit a full commit sha names): a cached answer for
    /// which `still_true` holds is used without asking. The caller
    /// answers for the soundness of that; anything mutable must use
    /// [`Client::api_get`].
    pub async fn api_get_fact(
        &self,
        url: &str,
        accept: &str,
        limit: u64,
        still_true: &(dyn Fn(&[u8]) -> bool + Send + Sync),
    ) -> Result<Vec<u8>, FetchError> {
        let (body, _) = self
            .api_cached(url, accept, limit, Reuse::Fact(still_true))
            .await?;
        Ok(body)
    }

    /// The display form of `url` for messages.
    fn shown(&self, url: &str) -> String {
        let rewritten = rewrite(&self.inner.config.mirrors, url);
        match Url::parse(&rewritten) {
            Ok(parsed) => crate::secret::redact(&shown(&parsed, url, &rewritten)).into_owned(),
            Err(_) => crate::secret::redact(&redact_str(&rewritten)).into_owned(),
        }
    }

    /// One API GET through the HTTP cache (see the module doc): a fact
    /// still true is reused; otherwise the request carries the stored
    /// validators and a 304 returns the stored body; a fresh answer
    /// replaces the entry. `--refresh` skips the lookup, not the store.
    async fn api_cached(
        &self,
        url: &str,
        accept: &str,
        limit: u64,
        reuse: Reuse<'_>,
    ) -> Result<(Vec<u8>, Option<String>), FetchError> {
        let target = self.target(url, false)?;
        let store = self.inner.cache.as_ref().map(|cache| {
            let key = Key {
                url: target.url.to_string(),
                accept: accept.to_owned(),
                api_version: API_VERSION.to_owned(),
                authenticated: self.token_for(&target).is_some(),
            };
            (cache, key)
        });
        let cached = match &store {
            Some((cache, key)) if !self.inner.config.refresh => {
                cache_io(cache, key, move |c, k| {
                    c.get(k).filter(|e| e.body.len() as u64 <= limit)
                })
                .await
                .flatten()
            }
            _ => None,
        };
        if let (Some(entry), Reuse::Fact(still_true)) = (&cached, reuse)
            && still_true(&entry.body)
        {
            record(|t| t.reused += 1);
            self.touch(store.as_ref()).await;
            return Ok((entry.body.clone(), entry.next.clone()));
        }
        let conditional = cached.as_ref().filter(|e| e.has_validator());
        let answer = self
            .retrying(|| self.api_once(&target, accept, limit, conditional))
            .await?;
        match (answer, conditional) {
            (Answer::NotModified, Some(entry)) => {
                record(|t| t.not_modified += 1);
                self.touch(store.as_ref()).await;
                Ok((entry.body.clone(), entry.next.clone()))
            }
            (Answer::NotModified, None) => Err(FetchError::InvalidResponse {
                url: target.shown.clone(),
                message: "304 Not Modified to a request that was not conditional".to_owned(),
            }),
            (Answer::Fresh(entry), _) => {
                if let Some((cache, key)) = &store
                    && (entry.has_validator() || matches!(reuse, Reuse::Fact(_)))
                {
                    // Best effort: a cache that cannot be written costs
                    // requests, never correctness.
                    let stored = entry.clone();
                    let _ = cache_io(cache, key, move |c, k| c.put(k, &stored)).await;
                }
                Ok((entry.body, entry.next))
            }
        }
    }

    /// Marks a reused HTTP-cache entry as used (best effort: an entry
    /// evicted too early costs a request, never correctness).
    async fn touch(&self, store: Option<&(&HttpCache, Key)>) {
        if let Some((cache, key)) = store {
            let _ = cache_io(cache, key, |c, k| c.touch(k)).await;
        }
    }

    /// POSTs a JSON body to a JSON API that is not GitHub's (e.g. an
    /// advisory database) and returns the answer (at most `limit` bytes).
    /// Never sends the token; not cached (the caller keeps what it needs);
    /// retried like every request (a query is safe to repeat).
    pub async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        limit: u64,
    ) -> Result<Vec<u8>, FetchError> {
        let body = PostBody {
            content_type: "application/json",
            accept: "application/json",
            headers: &[],
            payload: serde_json::to_vec(body).unwrap_or_default(),
            limit,
        };
        self.post(url, &body).await
    }

    /// POSTs `body` to a server that is no API, and returns the answer
    /// (at most `body.limit` bytes): a query, safe to repeat, so retried like every request.
    /// Never sends the token, is not cached, and takes a slot of the
    /// small-file bound, not the API's.
    pub async fn post(&self, url: &str, body: &PostBody<'_>) -> Result<Vec<u8>, FetchError> {
        let target = self.target(url, false)?;
        self.retrying(|| async {
            let _slot = self.inner.files_in_flight.acquire().await.ok();
            self.within_deadline(&target, self.post_attempt(&target, body))
                .await
        })
        .await
    }

    /// [`Client::post`] for a request the caller can do without (it has
    /// another way to the answer): one attempt of at most
    /// [`OPTIONAL_TIMEOUT`], not retried. When the server cannot be
    /// reached at all (no connection, no answer in time), its origin is
    /// remembered and later optional requests to it fail at once, so a
    /// network that blocks it costs one timeout per run, not one per
    /// request.
    pub async fn post_optional(
        &self,
        url: &str,
        body: &PostBody<'_>,
    ) -> Result<Vec<u8>, FetchError> {
        let target = self.target(url, false)?;
        let origin = target.url.origin().ascii_serialization();
        let known_down = |inner: &Inner| {
            inner
                .unreachable
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&origin)
        };
        let unreached = || FetchError::Connect {
            url: target.shown.clone(),
            message: "not reached earlier in this run".to_owned(),
        };
        if known_down(&self.inner) {
            return Err(unreached());
        }
        let _slot = self.inner.files_in_flight.acquire().await.ok();
        if known_down(&self.inner) {
            return Err(unreached());
        }
        let attempt = self.post_attempt(&target, body);
        let (result, reached) = match tokio::time::timeout(OPTIONAL_TIMEOUT, attempt).await {
            Ok(Ok(body)) => (Ok(body), true),
            Ok(Err(failure)) => {
                // No connection, no answer in time, or no HTTP.
                let answered = !matches!(
                    failure.error,
                    FetchError::Connect { .. }
                        | FetchError::Timeout { .. }
                        | FetchError::Protocol { .. }
                );
                (Err(failure.error), answered)
            }
            Err(_) => (
                Err(FetchError::Timeout {
                    url: target.shown.clone(),
                    after: OPTIONAL_TIMEOUT,
                }),
                false,
            ),
        };
        if !reached {
            self.inner
                .unreachable
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(origin);
        }
        result
    }

    /// One attempt of a POST.
    async fn post_attempt(&self, target: &Target, post: &PostBody<'_>) -> Result<Vec<u8>, Failure> {
        record(|t| t.requests += 1);
        let mut request = self
            .inner
            .http
            .post(target.url.clone())
            .header(ACCEPT, post.accept)
            .header(reqwest::header::CONTENT_TYPE, post.content_type);
        for (name, value) in post.headers {
            request = request.header(*name, *value);
        }
        let response = request
            .body(post.payload.clone())
            .send()
            .await
            .map_err(|e| transport_failure(e, target, &self.inner.config))?;
        if !response.status().is_success() {
            return Err(self.refusal(response, target, false).await);
        }
        let body = read_limited(response, target, post.limit, &self.inner.config).await?;
        refuse_reflected(target, &body)?;
        Ok(body)
    }

    /// Sends one GitHub API request that changes or must not be cached
    /// (`GET` of live state, `POST`, `PATCH`): the token rules of every
    /// API call (sent only when the URL is on the API origin, before and
    /// after mirroring), not cached, and not retried (a write is not safe
    /// to repeat). Returns the answer's body (at most `limit` bytes).
    pub async fn api_request(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
        limit: u64,
    ) -> Result<Vec<u8>, FetchError> {
        let target = self.target(url, false)?;
        let _slot = self.inner.in_flight.acquire().await.ok();
        let attempt = self.within_deadline(&target, async {
            let mut request = self
                .inner
                .http
                .request(method, target.url.clone())
                .header(ACCEPT, ACCEPT_JSON)
                .header("X-GitHub-Api-Version", API_VERSION);
            let token = self.token_for(&target);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(serde_json::to_vec(body).unwrap_or_default());
            }
            record(|t| {
                t.requests += 1;
                t.api_requests += 1;
            });
            let response = request
                .send()
                .await
                .map_err(|e| transport_failure(e, &target, &self.inner.config))?;
            record(|t| t.saw_rate_limit(response.headers()));
            if !response.status().is_success() {
                return Err(self.refusal(response, &target, token.is_some()).await);
            }
            let body = read_limited(response, &target, limit, &self.inner.config).await?;
            refuse_reflected(&target, &body)?;
            Ok(body)
        });
        attempt.await.map_err(|failure| failure.error)
    }

    /// GETs a small body such as a checksum file, at most `limit` bytes.
    /// Never sends the token. Held to [`MAX_FILES_IN_FLIGHT`], or to
    /// [`MAX_IN_FLIGHT`] when the file is on the API (as
    /// [`Client::download_file`] tells them apart).
    pub async fn get_small(
        &self,
        url: &str,
        limit: u64,
        allow_http: bool,
    ) -> Result<Vec<u8>, FetchError> {
        let target = self.target(url, allow_http)?;
        let slots = if url.starts_with(&self.inner.config.api_url) {
            &self.inner.in_flight
        } else {
            &self.inner.files_in_flight
        };
        self.retrying(|| async {
            let _slot = slots.acquire().await.ok();
            self.within_deadline(&target, async {
                let response = self.send(&target, "*/*", false, None).await?;
                let body = read_limited(response, &target, limit, &self.inner.config).await?;
                refuse_reflected(&target, &body)?;
                Ok(body)
            })
            .await
        })
        .await
    }

    /// Streams `url` into `dest` (created or truncated), hashing while
    /// writing. `expected_size`, when known, must match the body. Never
    /// sends the token. A retry starts the file over.
    pub async fn download(
        &self,
        url: &str,
        dest: &Path,
        expected_size: Option<u64>,
        allow_http: bool,
        label: &str,
    ) -> Result<Downloaded, FetchError> {
        let target = self.target(url, allow_http)?;
        let request = FileRequest {
            target: &target,
            accept: "*/*",
            api: false,
            dest,
            expected_size,
            feed: None,
        };
        self.stream_to_file(&request, label).await
    }

    /// [`Client::download`], or [`Client::download_api`] with the raw media
    /// type for a file on the API host (raw contents through the GitHub
    /// API).
    pub async fn download_file(
        &self,
        url: &str,
        dest: &Path,
        expected_size: Option<u64>,
        allow_http: bool,
        label: &str,
    ) -> Result<Downloaded, FetchError> {
        if url.starts_with(&self.inner.config.api_url) {
            self.download_api(url, ACCEPT_RAW, dest, expected_size, label)
                .await
        } else {
            self.download(url, dest, expected_size, allow_http, label)
                .await
        }
    }

    /// [`Client::download`] from the API (token rules of the API, custom
    /// `Accept`): contents API raw files ([`ACCEPT_RAW`]), release assets
    /// of private repositories (`application/octet-stream`).
    pub async fn download_api(
        &self,
        url: &str,
        accept: &str,
        dest: &Path,
        expected_size: Option<u64>,
        label: &str,
    ) -> Result<Downloaded, FetchError> {
        let target = self.target(url, false)?;
        let request = FileRequest {
            target: &target,
            accept,
            api: true,
            dest,
            expected_size,
            feed: None,
        };
        self.stream_to_file(&request, label).await
    }

    /// [`Client::download_file`] of a file that is not on the API host,
    /// handing the bytes of its first attempt to `feed` as they are
    /// written. The feed ends only when that attempt is complete; a retry
    /// goes on without it.
    pub async fn download_fed(
        &self,
        url: &str,
        dest: &Path,
        expected_size: Option<u64>,
        allow_http: bool,
        label: &str,
        feed: Feed,
    ) -> Result<Downloaded, FetchError> {
        if url.starts_with(&self.inner.config.api_url) {
            return self
                .download_file(url, dest, expected_size, allow_http, label)
                .await;
        }
        let target = self.target(url, allow_http)?;
        let feed = Mutex::new(Some(feed));
        let request = FileRequest {
            target: &target,
            accept: "*/*",
            api: false,
            dest,
            expected_size,
            feed: Some(&feed),
        };
        self.stream_to_file(&request, label).await
    }

    async fn stream_to_file(
        &self,
        request: &FileRequest<'_>,
        label: &str,
    ) -> Result<Downloaded, FetchError> {
        let bar = self.bar(label);
        let result = self.retrying(|| self.download_once(request, &bar)).await;
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        result
    }

    /// Mirror rewriting, the offline rule and the scheme rules.
    fn target(&self, url: &str, allow_http: bool) -> Result<Target, FetchError> {
        let config = &self.inner.config;
        let rewritten = rewrite(&config.mirrors, url);
        if crate::secret::carries(url) || crate::secret::carries(&rewritten) {
            return Err(FetchError::TokenInUrl {
                url: crate::secret::redact(&redact_str(&rewritten)).into_owned(),
            });
        }
        if config.offline {
            return Err(FetchError::Offline {
                url: redact_str(&rewritten),
            });
        }
        let parsed = Url::parse(&rewritten).map_err(|e| FetchError::InvalidUrl {
            url: redact_str(&rewritten),
            reason: e.to_string(),
        })?;
        let shown = crate::secret::redact(&shown(&parsed, url, &rewritten)).into_owned();
        if scheme_refusal(&parsed, allow_http).is_some() {
            return Err(match parsed.scheme() {
                "http" => FetchError::Insecure { url: shown },
                other => FetchError::InvalidUrl {
                    url: shown,
                    reason: format!("unsupported scheme `{other}`"),
                },
            });
        }
        let requested = Url::parse(url).ok().as_ref().and_then(Origin::of);
        Ok(Target {
            url: parsed,
            requested,
            shown,
            allow_http,
            authorization: None,
        })
    }

    /// A request to a service with credentials of its own (the remote
    /// cache, [`crate::registry`]): the URL rules of every request (the
    /// scheme and loopback rule, no URL carrying a secret, redirect hops
    /// checked before they are followed) and the client's timeouts. Never
    /// carries the GitHub token. The caller bounds the answer's size and
    /// time ([`Config::deadline`]).
    pub fn service_request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, FetchError> {
        let target = self.target(url, false)?;
        Ok(self.inner.http.request(method, target.url))
    }

    /// What a failed [`Client::service_request`] means, as for any
    /// request: unreachable, timed out, a refused redirect, a broken
    /// exchange.
    pub fn service_error(&self, error: reqwest::Error, url: &str) -> FetchError {
        match self.target(url, false) {
            Ok(target) => transport_failure(error, &target, &self.inner.config).error,
            Err(e) => e,
        }
    }

    /// [`Client::download`] with `authorization` sent to the URL's own
    /// host (a registry's credentials; never the GitHub token).
    pub async fn download_authorized(
        &self,
        url: &str,
        dest: &Path,
        expected_size: Option<u64>,
        authorization: Option<&str>,
        label: &str,
    ) -> Result<Downloaded, FetchError> {
        let mut target = self.target(url, false)?;
        target.authorization = authorization.map(str::to_owned);
        let request = FileRequest {
            target: &target,
            accept: "*/*",
            api: false,
            dest,
            expected_size,
            feed: None,
        };
        self.stream_to_file(&request, label).await
    }

    /// The token, when `target` (before and after mirroring) is on the API
    /// origin.
    fn token_for(&self, target: &Target) -> Option<&str> {
        let api = self.inner.api.as_ref()?;
        let token = self.inner.config.token.as_deref()?;
        let same =
            target.requested.as_ref() == Some(api) && Origin::of(&target.url).as_ref() == Some(api);
        same.then_some(token)
    }

    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, FetchError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut tries = 0;
        loop {
            let failure = match attempt().await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            let delay = match failure.retry {
                Retry::No => return Err(failure.error),
                Retry::Backoff => backoff(tries),
                Retry::After(delay) => delay,
            };
            if tries >= self.inner.config.retries {
                return Err(failure.error);
            }
            tries += 1;
            tokio::time::sleep(delay).await;
        }
    }

    /// Runs one attempt under [`Config::deadline`].
    async fn within_deadline<T>(
        &self,
        target: &Target,
        attempt: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        let after = self.inner.config.deadline;
        tokio::time::timeout(after, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(Failure::transient(FetchError::Deadline {
                    url: target.shown.clone(),
                    after,
                }))
            })
    }

    /// Sends one GET; a non-2xx status becomes a classified failure, but
    /// for a 304 to a request made `conditional` on a cached entry's
    /// validators.
    async fn send(
        &self,
        target: &Target,
        accept: &str,
        api: bool,
        conditional: Option<&Entry>,
    ) -> Result<reqwest::Response, Failure> {
        let http = if target.allow_http {
            &self.inner.http_lax
        } else {
            &self.inner.http
        };
        let mut request = http.get(target.url.clone()).header(ACCEPT, accept);
        let token = if api { self.token_for(target) } else { None };
        if api {
            request = request.header("X-GitHub-Api-Version", API_VERSION);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        } else if let Some(authorization) = &target.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        if let Some(entry) = conditional {
            if let Some(etag) = &entry.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = &entry.last_modified {
                request = request.header(IF_MODIFIED_SINCE, date);
            }
        }
        record(|t| {
            t.requests += 1;
            t.api_requests += u64::from(api);
        });
        let response = request
            .send()
            .await
            .map_err(|e| transport_failure(e, target, &self.inner.config))?;
        if api {
            record(|t| t.saw_rate_limit(response.headers()));
        }
        let status = response.status();
        if status.is_success() || (status == StatusCode::NOT_MODIFIED && conditional.is_some()) {
            return Ok(response);
        }
        Err(self.refusal(response, target, token.is_some()).await)
    }

    /// What an unsuccessful answer means: a redirect that was not
    /// followed (its hop refused), else the status with the server's
    /// error message. `token_sent` tells a 401/403 apart.
    async fn refusal(
        &self,
        response: reqwest::Response,
        target: &Target,
        token_sent: bool,
    ) -> Failure {
        if let Some(refused) = unfollowed_redirect(&response, target) {
            return Failure::fatal(refused);
        }
        let mut failure = status_failure(
            &target.shown,
            response.status(),
            response.headers(),
            token_sent,
        );
        if let FetchError::Status { message, .. } = &mut failure.error {
            *message = error_message(response, self.inner.config.read_timeout).await;
        }
        failure
    }

    async fn api_once(
        &self,
        target: &Target,
        accept: &str,
        limit: u64,
        conditional: Option<&Entry>,
    ) -> Result<Answer, Failure> {
        let _slot = self.inner.in_flight.acquire().await.ok();
        self.within_deadline(target, async {
            let response = self.send(target, accept, true, conditional).await?;
            if response.status() == StatusCode::NOT_MODIFIED {
                return Ok(Answer::NotModified);
            }
            let headers = response.headers();
            let next = next_link(headers, &target.url);
            let etag = header_text(headers, &ETAG);
            let last_modified = header_text(headers, &LAST_MODIFIED);
            let body = read_limited(response, target, limit, &self.inner.config).await?;
            refuse_reflected(target, &body)?;
            Ok(Answer::Fresh(Entry {
                etag,
                last_modified,
                next,
                body,
            }))
        })
        .await
    }

    async fn download_once(
        &self,
        request: &FileRequest<'_>,
        bar: &Option<ProgressBar>,
    ) -> Result<Downloaded, Failure> {
        let target = request.target;
        // A download from the API holds one of its slots while it talks
        // to the API host: through the redirect to where the bytes are,
        // and for the body too when the API serves it.
        let slot = match request.api {
            true => self.inner.in_flight.acquire().await.ok(),
            false => None,
        };
        // The headers are held to the deadline; the body, however large,
        // to the minimum rate (see `receive`).
        let response = self
            .within_deadline(target, self.send(target, request.accept, request.api, None))
            .await?;
        let _slot = slot.filter(|_| {
            Origin::of(response.url()).is_some_and(|o| Origin::of(&target.url) == Some(o))
        });
        let length = response.content_length();
        if let (Some(length), Some(expected)) = (length, request.expected_size)
            && length != expected
        {
            return Err(Failure::fatal(FetchError::SizeMismatch {
                url: target.shown.clone(),
                expected,
                actual: length,
            }));
        }
        let io = |source| {
            Failure::fatal(FetchError::Io {
                path: request.dest.display().to_string(),
                source,
            })
        };
        // Opened without truncating: ext4 writes back all the data of a
        // file truncated to nothing as soon as it is closed (its
        // `auto_da_alloc` rule), so each download's cache copy, which
        // needs no flush, would take the disk from the installed files
        // whose flush the commit waits for. Only a retry finds an earlier
        // attempt's bytes to cut.
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(request.dest)
            .await
            .map_err(io)?;
        if file.metadata().await.map_err(io)?.len() > 0 {
            file.set_len(0).await.map_err(io)?;
        }
        let feed = request
            .feed
            .and_then(|f| f.lock().ok().and_then(|mut f| f.take()));
        let sink = Sink::start(file.into_std().await, feed);
        if let Some(bar) = bar {
            bar.reset();
            match length.or(request.expected_size) {
                Some(total) => bar.set_length(total),
                None => bar.unset_length(),
            }
        }
        let received = self.receive(response, &sink, request, length, bar).await;
        // Always wait for the writer, so a retry never races a previous
        // attempt's writes to the same file.
        let written = sink.finish().await;
        let size = received?;
        let (sha256, feed) = written.map_err(io)?;
        check_complete(target, size, length, request.expected_size)?;
        if let Some(feed) = feed {
            feed.end(sha256.clone(), size);
        }
        Ok(Downloaded { sha256, size })
    }

    /// Feeds the body to `sink`; returns the bytes received. Stops early
    /// when the body exceeds the expected size or the writer failed (its
    /// error comes from [`Sink::finish`]), and fails when it arrives slower
    /// than [`Config::min_rate`].
    async fn receive(
        &self,
        response: reqwest::Response,
        sink: &Sink,
        request: &FileRequest<'_>,
        length: Option<u64>,
        bar: &Option<ProgressBar>,
    ) -> Result<u64, Failure> {
        let target = request.target;
        let config = &self.inner.config;
        let mut size = 0u64;
        let mut body = response.bytes_stream();
        let mut pace = Pace::new(config.min_rate, config.rate_window);
        let too_slow = tokio::time::sleep_until(pace.due);
        tokio::pin!(too_slow);
        loop {
            let next = tokio::select! {
                next = body.next() => next,
                () = &mut too_slow, if pace.enabled() => {
                    return Err(Failure::transient(FetchError::TooSlow {
                        url: target.shown.clone(),
                        min_rate: config.min_rate,
                        window: config.rate_window,
                        received: size,
                    }));
                }
            };
            let Some(chunk) = next else {
                break;
            };
            let chunk = chunk.map_err(|e| body_failure(e, target, size, length, config))?;
            let n = chunk.len() as u64;
            size += n;
            if pace.add(n) {
                too_slow.as_mut().reset(pace.due);
            }
            if let Some(expected) = request.expected_size
                && size > expected
            {
                return Err(Failure::fatal(FetchError::SizeMismatch {
                    url: target.shown.clone(),
                    expected,
                    actual: size,
                }));
            }
            if !sink.write(Arc::new(chunk)).await {
                break;
            }
            if let Some(bar) = bar {
                bar.inc(n);
            }
        }
        Ok(size)
    }

    fn bar(&self, label: &str) -> Option<ProgressBar> {
        let multi = self.inner.bars.as_ref()?;
        let style = ProgressStyle::with_template(
            "{prefix:.bold} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        // Progress bars draw on stderr directly: the label (a file or
        // asset name) gets the same treatment as everything printed.
        let label = crate::term::escape(&crate::secret::redact(label)).into_owned();
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
            .with_style(style)
            .with_prefix(label);
        Some(multi.add(bar))
    }
}

/// What an API request brought.
enum Answer {
    /// A `200` with its validators.
    Fresh(Entry),
    /// `304 Not Modified`: the cached entry still holds.
    NotModified,
}

/// A header's value as text, when it is visible ASCII.
fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let text = headers.get(name)?.to_str().ok()?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// What this process asked upstream, for `-v`: requests sent, answers
/// from the HTTP cache, and the rate limit the API last reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// HTTP requests sent (every attempt, downloads included).
    pub requests: u64,
    /// Of those, to the API.
    pub api_requests: u64,
    /// API requests answered `304 Not Modified` (the cached body used).
    pub not_modified: u64,
    /// API answers taken from the cache without a request (facts).
    pub reused: u64,
    /// The rate limit of the latest window an API answer reported.
    pub rate_limit: Option<RateLimit>,
}

/// GitHub's `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub remaining: u64,
    pub limit: Option<u64>,
    /// Seconds since the Unix epoch.
    pub reset: Option<u64>,
}

static TRAFFIC: Mutex<Traffic> = Mutex::new(Traffic {
    requests: 0,
    api_requests: 0,
    not_modified: 0,
    reused: 0,
    rate_limit: None,
});

fn record(change: impl FnOnce(&mut Traffic)) {
    change(&mut TRAFFIC.lock().unwrap_or_else(|e| e.into_inner()));
}

/// The traffic of this process so far.
pub fn traffic() -> Traffic {
    *TRAFFIC.lock().unwrap_or_else(|e| e.into_inner())
}

impl Traffic {
    /// Takes in an answer's rate-limit headers. Answers arrive in any
    /// order when requests run at once: within one window (same reset)
    /// the lowest count is the latest; a later reset starts a new window.
    fn saw_rate_limit(&mut self, headers: &HeaderMap) {
        let Some(remaining) =
            header_u64(headers, &HeaderName::from_static("x-ratelimit-remaining"))
        else {
            return;
        };
        let seen = RateLimit {
            remaining,
            limit: header_u64(headers, &HeaderName::from_static("x-ratelimit-limit")),
            reset: header_u64(headers, &HeaderName::from_static("x-ratelimit-reset")),
        };
        self.rate_limit = Some(match self.rate_limit {
            Some(old) if old.reset > seen.reset => old,
            Some(old) if old.reset == seen.reset && old.remaining <= seen.remaining => old,
            _ => seen,
        });
    }

    /// The `-v` summary line, or `None` when nothing was asked.
    pub fn summary(&self) -> Option<String> {
        if self.requests == 0 && self.reused == 0 {
            return None;
        }
        let mut text = format!(
            "network: {} request{} ({} to the API: {} answered 304 Not Modified from the HTTP cache",
            self.requests,
            if self.requests == 1 { "" } else { "s" },
            self.api_requests,
            self.not_modified,
        );
        if self.reused > 0 {
            text.push_str(&format!(
                "; {} more answered from the cache without asking",
                self.reused
            ));
        }
        text.push(')');
        if let Some(rate) = self.rate_limit {
            text.push_str(&format!("; rate limit: {} remaining", rate.remaining));
            if let Some(limit) = rate.limit {
                text.push_str(&format!(" of {limit}"));
            }
            if let Some(reset) = rate.reset.filter(|r| *r > 0) {
                text.push_str(&format!(", resets at {}", utc(reset)));
            }
        }
        Some(text)
    }
}

/// The minimum-rate check of a download: every window must bring
/// `min_rate × window` bytes. A window starts with the body and again each
/// time the previous one's quota is met, so a steady transfer never comes
/// near the limit and a trickle is cut off one window after it starts.
struct Pace {
    /// Bytes each window must bring (0: no check).
    quota: u64,
    window: Duration,
    /// Bytes so far in this window.
    bytes: u64,
    /// When this window ends.
    due: tokio::time::Instant,
}

impl Pace {
    fn new(min_rate: u64, window: Duration) -> Pace {
        Pace {
            quota: rate_quota(min_rate, window),
            window,
            bytes: 0,
            due: deadline_after(window),
        }
    }

    fn enabled(&self) -> bool {
        self.quota > 0
    }

    /// Counts `n` bytes; true when a new window started (`due` moved).
    fn add(&mut self, n: u64) -> bool {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes < self.quota {
            return false;
        }
        self.bytes = 0;
        self.due = deadline_after(self.window);
        true
    }
}

/// The bytes `min_rate` per second makes over `window` (at least 1 when
/// the rate is not 0).
fn rate_quota(min_rate: u64, window: Duration) -> u64 {
    u64::try_from(u128::from(min_rate).saturating_mul(window.as_millis()) / 1000)
        .unwrap_or(u64::MAX)
        .max(u64::from(min_rate > 0))
}

/// Now plus `d`, saturating far in the future.
fn deadline_after(d: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30))
}

/// Runs a file operation on the HTTP cache on a blocking thread: creating
/// and reading its files must not hold up the two async workers, which
/// meanwhile send the next requests and read the next answers. `None`
/// when the thread could not run it.
async fn cache_io<T: Send + 'static>(
    cache: &HttpCache,
    key: &Key,
    op: impl FnOnce(&HttpCache, &Key) -> T + Send + 'static,
) -> Option<T> {
    let (cache, key) = (cache.clone(), key.clone());
    tokio::task::spawn_blocking(move || op(&cache, &key))
        .await
        .ok()
}

/// What [`Client::post`] and [`Client::post_optional`] send, and how
/// much of the answer they read.
pub struct PostBody<'a> {
    pub content_type: &'a str,
    pub accept: &'a str,
    /// Headers besides `Content-Type` and `Accept`.
    pub headers: &'a [(&'a str, &'a str)],
    pub payload: Vec<u8>,
    /// Bytes of the answer read at most.
    pub limit: u64,
}

/// What one streamed download asks for.
struct FileRequest<'a> {
    target: &'a Target,
    accept: &'a str,
    api: bool,
    dest: &'a Path,
    expected_size: Option<u64>,
    /// The first attempt's bytes also go here ([`crate::feed`]).
    feed: Option<&'a Mutex<Option<Feed>>>,
}

/// Hashes and writes a body on a blocking thread, so hashing and disk
/// writes overlap with receiving the next chunks instead of stalling the
/// async worker. A bounded channel keeps at most [`SINK_DEPTH`] chunks in
/// memory per download.
struct Sink {
    chunks: tokio::sync::mpsc::Sender<Chunk>,
    writer: tokio::task::JoinHandle<std::io::Result<(String, Option<Feed>)>>,
}

impl Sink {
    /// With a `feed`, every chunk hashed and written is also handed to it;
    /// [`Sink::finish`] gives the feed back for its end.
    fn start(file: std::fs::File, mut feed: Option<Feed>) -> Sink {
        let (chunks, mut rx) = tokio::sync::mpsc::channel::<Chunk>(SINK_DEPTH);
        let writer = tokio::task::spawn_blocking(move || {
            let mut file = std::io::BufWriter::with_capacity(WRITE_BUFFER, file);
            let mut hasher = Sha256::new();
            while let Some(chunk) = rx.blocking_recv() {
                let bytes = (*chunk).as_ref();
                hasher.update(bytes);
                file.write_all(bytes)?;
                if let Some(feed) = &mut feed {
                    feed.send(&chunk);
                }
            }
            file.flush()?;
            Ok((hex(&hasher.finalize()), feed))
        });
        Sink { chunks, writer }
    }

    /// False when the writer has stopped (on an I/O error).
    async fn write(&self, chunk: Chunk) -> bool {
        self.chunks.send(chunk).await.is_ok()
    }

    /// Closes the channel and waits for the writer: the sha256 of what
    /// was written (and the feed, if any), or the write error.
    async fn finish(self) -> std::io::Result<(String, Option<Feed>)> {
        drop(self.chunks);
        self.writer.await.map_err(std::io::Error::other)?
    }
}

/// The display form: the rewritten URL, and the original when a mirror
/// changed it.
fn shown(parsed: &Url, original: &str, rewritten: &str) -> String {
    if original == rewritten {
        redact(parsed)
    } else {
        format!("{} (mirror of {})", redact(parsed), redact_str(original))
    }
}

/// The reqwest client; `allow_http` is the redirect rule's opt-in.
fn http_client(config: &Config, allow_http: bool) -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .user_agent(concat!("vendor/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.read_timeout)
        .redirect(redirect::Policy::custom(move |attempt| {
            check_redirect(attempt, allow_http)
        }))
        .build()
        .map_err(|e| FetchError::Setup {
            message: error_chain(&e.without_url()),
        })
}

/// Follows a redirect hop only if [`hop_refusal`] has nothing against it;
/// reqwest asks before it connects to the hop.
fn check_redirect(attempt: redirect::Attempt<'_>, allow_http: bool) -> redirect::Action {
    match hop_refusal(attempt.url(), attempt.previous(), allow_http) {
        None => attempt.follow(),
        Some(reason) => {
            let to = shown_hop(attempt.url());
            attempt.error(RefusedHop { to, reason })
        }
    }
}

/// A failed body (truncated or stalled), or a body that ended short.
fn check_complete(
    target: &Target,
    size: u64,
    length: Option<u64>,
    expected: Option<u64>,
) -> Result<(), Failure> {
    if let Some(length) = length
        && size < length
    {
        return Err(Failure::transient(FetchError::Truncated {
            url: target.shown.clone(),
            received: size,
            expected: Some(length),
        }));
    }
    if let Some(expected) = expected
        && size != expected
    {
        return Err(Failure::fatal(FetchError::SizeMismatch {
            url: target.shown.clone(),
            expected,
            actual: size,
        }));
    }
    Ok(())
}

/// Refuses a body that holds the token (see the module doc).
fn refuse_reflected(target: &Target, body: &[u8]) -> Result<(), Failure> {
    if crate::secret::carries_bytes(body) {
        return Err(Failure::fatal(FetchError::TokenReflected {
            url: target.shown.clone(),
        }));
    }
    Ok(())
}

/// Longest error body read for its message.
const MAX_ERROR_BODY: usize = 16 << 10;
/// Longest server message shown, in characters.
const MAX_ERROR_MESSAGE: usize = 300;

/// The `message` of GitHub's error JSON (`{"message": "Bad credentials",
/// …}`), read from at most [`MAX_ERROR_BODY`] bytes within `timeout`,
/// shortened, with secrets redacted. `None` for anything else (an HTML
/// error page says nothing useful).
async fn error_message(response: reqwest::Response, timeout: Duration) -> Option<String> {
    let read = async {
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(Ok(chunk)) = stream.next().await {
            let room = MAX_ERROR_BODY.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_ERROR_BODY {
                break;
            }
        }
        body
    };
    let body = tokio::time::timeout(timeout, read).await.ok()?;
    let value: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let message = value.get("message")?.as_str()?.trim();
    if message.is_empty() {
        return None;
    }
    let mut short: String = message.chars().take(MAX_ERROR_MESSAGE).collect();
    if short.len() < message.len() {
        short.push('…');
    }
    Some(crate::secret::redact(&short).into_owned())
}

/// Reads a whole body of at most `limit` bytes.
async fn read_limited(
    response: reqwest::Response,
    target: &Target,
    limit: u64,
    config: &Config,
) -> Result<Vec<u8>, Failure> {
    let too_large = || {
        Failure::fatal(FetchError::TooLarge {
            url: target.shown.clone(),
            limit,
        })
    };
    let length = response.content_length();
    if length.is_some_and(|l| l > limit) {
        return Err(too_large());
    }
    let capacity = usize::try_from(length.unwrap_or(0).min(1 << 20)).unwrap_or(0);
    let mut body = Vec::with_capacity(capacity);
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| body_failure(e, target, body.len() as u64, length, config))?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    check_complete(target, body.len() as u64, length, None)?;
    Ok(body)
}

/// Sending failed: no connection could be made ([`FetchError::Connect`],
/// the only "unreachable"), a refused redirect hop, a timeout after
/// connecting, or a server that broke the exchange
/// ([`FetchError::Protocol`]).
fn transport_failure(error: reqwest::Error, target: &Target, config: &Config) -> Failure {
    let url = target.shown.clone();
    if let Some(hop) = find_source::<RefusedHop>(&error) {
        return Failure::fatal(FetchError::RedirectRefused {
            url,
            to: hop.to.clone(),
            reason: hop.reason.clone(),
        });
    }
    let (timeout, connect) = (error.is_timeout(), error.is_connect());
    let (redirect, builder) = (error.is_redirect(), error.is_builder());
    let kind = if connect {
        connect_failure(&error)
    } else {
        None
    };
    let message = error_chain(&error.without_url());
    if timeout && connect {
        return Failure::transient(FetchError::Connect {
            url,
            message: format!(
                "no connection within {}",
                show_duration(config.connect_timeout)
            ),
        });
    }
    if timeout {
        return Failure::transient(FetchError::Timeout {
            url,
            after: config.read_timeout,
        });
    }
    if redirect {
        return Failure::fatal(FetchError::InvalidResponse { url, message });
    }
    if builder {
        return Failure::fatal(FetchError::InvalidUrl {
            url,
            reason: message,
        });
    }
    let dns = connect && message.contains("dns error");
    match kind {
        // No name resolution or a refused connection will not change
        // within the seconds a retry waits; a missing route might.
        _ if dns => Failure::fatal(FetchError::Connect { url, message }),
        Some(ConnectFailure::Refused) => Failure::fatal(FetchError::Connect { url, message }),
        Some(ConnectFailure::NoRoute) => Failure::transient(FetchError::Connect { url, message }),
        // Connected (a reset, a TLS failure, an answer that is not HTTP,
        // a connection closed without one): the server answered wrongly.
        None => Failure::transient(FetchError::Protocol { url, message }),
    }
}

/// The first error of type `E` in `error`'s source chain.
fn find_source<'e, E: std::error::Error + 'static>(
    error: &'e (dyn std::error::Error + 'static),
) -> Option<&'e E> {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        source = e.source();
    }
    None
}

/// How a connection attempt failed, when it failed before any answer.
enum ConnectFailure {
    Refused,
    /// No route, network down, no local address, or a firewall's denial.
    NoRoute,
}

fn connect_failure(error: &(dyn std::error::Error + 'static)) -> Option<ConnectFailure> {
    use std::io::ErrorKind;
    match find_source::<std::io::Error>(error)?.kind() {
        ErrorKind::ConnectionRefused => Some(ConnectFailure::Refused),
        ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::NetworkDown
        | ErrorKind::AddrNotAvailable
        | ErrorKind::PermissionDenied
        | ErrorKind::TimedOut => Some(ConnectFailure::NoRoute),
        _ => None,
    }
}

/// A 3xx answer reqwest handed back instead of following (its target is
/// not a URL it would follow, such as `file:`): refused like any hop.
fn unfollowed_redirect(response: &reqwest::Response, target: &Target) -> Option<FetchError> {
    if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    let (to, reason) = match response.url().join(location) {
        Ok(next) => (
            shown_hop(&next),
            scheme_refusal(&next, target.allow_http)
                .unwrap_or_else(|| "it could not be followed".to_owned()),
        ),
        Err(e) => (
            crate::secret::redact(&redact_str(location)).into_owned(),
            format!("not a valid URL ({e})"),
        ),
    };
    Some(FetchError::RedirectRefused {
        url: target.shown.clone(),
        to,
        reason,
    })
}

/// Reading the body failed after `received` bytes.
fn body_failure(
    error: reqwest::Error,
    target: &Target,
    received: u64,
    expected: Option<u64>,
    config: &Config,
) -> Failure {
    let url = target.shown.clone();
    if error.is_timeout() {
        return Failure::transient(FetchError::Timeout {
            url,
            after: config.read_timeout,
        });
    }
    Failure::transient(FetchError::Truncated {
        url,
        received,
        expected,
    })
}

/// Classifies a non-2xx answer (GitHub's rate-limit rules: primary limit
/// = 403/429 with `x-ratelimit-remaining: 0`; secondary = `retry-after`).
fn status_failure(
    url: &str,
    status: StatusCode,
    headers: &HeaderMap,
    authenticated: bool,
) -> Failure {
    let code = status.as_u16();
    let remaining = header_u64(headers, &HeaderName::from_static("x-ratelimit-remaining"));
    let reset = header_u64(headers, &HeaderName::from_static("x-ratelimit-reset"));
    let retry_after = retry_after_secs(headers);
    let rate_limited = |reset_at, retry_after| FetchError::RateLimited {
        url: url.to_owned(),
        reset_at,
        retry_after,
        authenticated,
    };
    let limit_status = matches!(code, 403 | 429);
    if limit_status && remaining == Some(0) {
        return Failure::fatal(rate_limited(reset, None));
    }
    if let Some(secs) = retry_after.filter(|_| limit_status || code >= 500) {
        let wait = Duration::from_secs(secs);
        // Too long to wait: an error that says how long was asked.
        let refused = wait > MAX_RETRY_AFTER;
        let error = match (limit_status, refused) {
            (true, true) => rate_limited(None, Some(secs)),
            (true, false) => rate_limited(Some(now_epoch().saturating_add(secs)), None),
            (false, refused) => FetchError::Status {
                url: url.to_owned(),
                status: code,
                message: None,
                retry_after: refused.then_some(secs),
            },
        };
        if refused {
            return Failure::fatal(error);
        }
        return Failure {
            error,
            retry: Retry::After(wait),
        };
    }
    match code {
        429 => Failure::transient(rate_limited(reset, None)),
        404 => Failure::fatal(FetchError::NotFound {
            url: url.to_owned(),
        }),
        408 | 500..=599 => Failure::transient(status_error(url, code)),
        _ => Failure::fatal(status_error(url, code)),
    }
}

fn status_error(url: &str, status: u16) -> FetchError {
    FetchError::Status {
        url: url.to_owned(),
        status,
        message: None,
        retry_after: None,
    }
}

/// `Retry-After` in seconds; a number too large for a `u64` saturates (it
/// is refused all the same). The HTTP-date form is not used by GitHub and
/// reads as absent (plain backoff).
fn retry_after_secs(headers: &HeaderMap) -> Option<u64> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

fn header_u64(headers: &HeaderMap, name: &HeaderName) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The `rel="next"` URL of a `Link` header, resolved against `base`.
fn next_link(headers: &HeaderMap, base: &Url) -> Option<String> {
    let link = headers.get(LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| base.join(target).ok().map(String::from))?
    })
}

/// Exponential backoff with jitter (0–50 %) from the clock's nanoseconds:
/// enough to spread concurrent retries without a random-number crate.
fn backoff(attempt: u32) -> Duration {
    let delay = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_CAP);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    delay + delay.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

/// An error and its sources, joined by `: `, without repeats.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn config_defaults() {
        let c = Config::from_vars(vars(&[]), false, false).expect("config");
        assert_eq!(c.api_url, DEFAULT_API_URL);
        assert!(c.is_default_github());
        assert_eq!(c.token, None);
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.read_timeout, Duration::from_secs(30));
        assert!(!c.offline);
    }

    #[test]
    fn config_from_vars() {
        let c = Config::from_vars(
            vars(&[
                ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
                ("GH_TOKEN", "ghp_x"),
                (
                    "VENDOR_MIRRORS",
                    " https://github.com/=https://m.example/gh/  https://a.example/=http://127.0.0.1:1/a/ ",
                ),
                ("VENDOR_HTTP_TIMEOUT", "0.5"),
                ("VENDOR_HTTP_RETRIES", "1"),
                ("VENDOR_OFFLINE", "1"),
            ]),
            false,
            true,
        )
        .expect("config");
        assert_eq!(c.api_url, "https://ghe.example.com/api/v3");
        assert!(!c.is_default_github());
        assert_eq!(c.token.as_deref(), Some("ghp_x"));
        assert_eq!(c.mirrors.len(), 2);
        assert_eq!(c.read_timeout, Duration::from_millis(500));
        assert_eq!(c.connect_timeout, Duration::from_millis(500));
        assert_eq!(c.retries, 1);
        assert!(c.offline && c.progress);
    }

    #[test]
    fn github_token_wins_over_gh_token_and_debug_hides_it() {
        let c = Config::from_vars(
            vars(&[("GITHUB_TOKEN", "ghp_secret123"), ("GH_TOKEN", "other")]),
            false,
            false,
        )
        .expect("config");
        assert_eq!(c.token.as_deref(), Some("ghp_secret123"));
        assert!(!format!("{c:?}").contains("ghp_secret123"));
    }

    #[test]
    fn bad_env_is_an_error() {
        for (var, value) in [
            ("VENDOR_MIRRORS", "https://a.example/"),
            ("VENDOR_MIRRORS", "=https://b.example/"),
            ("VENDOR_MIRRORS", "ftp://a=https://b.example/"),
            ("VENDOR_HTTP_TIMEOUT", "soon"),
            ("VENDOR_HTTP_TIMEOUT", "-1"),
            ("VENDOR_HTTP_RETRIES", "many"),
            ("GITHUB_API_URL", "api.github.com"),
        ] {
            let err = Config::from_vars(vars(&[(var, value)]), false, false)
                .expect_err(&format!("{var}={value}"));
            let code = miette::Diagnostic::code(&err).map(|c| c.to_string());
            let expected = if var == "VENDOR_MIRRORS" {
                "vendor::fetch::mirror-config"
            } else {
                "vendor::fetch::env"
            };
            assert_eq!(code.as_deref(), Some(expected), "{var}={value}");
        }
    }

    #[test]
    fn mirror_entries_hide_credentials() {
        let err = parse_mirrors("https://u:pw@a.example/").expect_err("no =");
        assert!(!err.to_string().contains("pw"), "{err}");
    }

    #[test]
    fn longest_mirror_prefix_wins() {
        let mirrors = vec![
            (
                "https://github.com/".to_owned(),
                "https://m/all/".to_owned(),
            ),
            (
                "https://github.com/traefik/".to_owned(),
                "https://m/traefik/".to_owned(),
            ),
        ];
        assert_eq!(
            rewrite(&mirrors, "https://github.com/traefik/traefik/x"),
            "https://m/traefik/traefik/x"
        );
        assert_eq!(
            rewrite(&mirrors, "https://github.com/k3s-io/k3s/y"),
            "https://m/all/k3s-io/k3s/y"
        );
        assert_eq!(rewrite(&mirrors, "https://other/z"), "https://other/z");
    }

    #[test]
    fn loopback_hosts() {
        for (url, expected) in [
            ("http://127.0.0.1:8080/x", true),
            ("http://127.1.2.3/x", true),
            ("http://[::1]:80/", true),
            ("http://localhost/", true),
            ("http://LOCALHOST:1/", true),
            ("http://localhost.example.com/", false),
            ("http://10.0.0.1/", false),
            ("http://example.invalid/", false),
        ] {
            let url = Url::parse(url).expect("url");
            assert_eq!(is_loopback(&url), expected, "{url}");
        }
    }

    /// A URL carrying the client's token is refused before any I/O (the
    /// port is closed: reaching it would be a connect error), and the
    /// error does not show the token.
    #[tokio::test]
    async fn urls_carrying_the_token_are_refused_before_any_request() {
        const TOKEN: &str = "ghp_unitTestToken0123456789";
        let client = Client::new(Config {
            api_url: "http://127.0.0.1:9/api/v3".into(),
            token: Some(TOKEN.into()),
            retries: 0,
            ..Config::default()
        })
        .expect("client");
        let encoded: String = TOKEN.bytes().map(|b| format!("%{b:02X}")).collect();
        let dest = std::env::temp_dir().join("vendor-token-refusal-never-written");
        for url in [
            format!("http://127.0.0.1:9/dl/{TOKEN}/tool.tar.gz"),
            format!("http://127.0.0.1:9/dl/tool.tar.gz?x=Bearer%20{TOKEN}"),
            format!("http://127.0.0.1:9/dl/{encoded}"),
            format!("http://x:{TOKEN}@127.0.0.1:9/dl/tool"),
            format!("http://{TOKEN}.example.test/dl/tool"),
        ] {
            let err = client
                .download(&url, &dest, None, false, "tool")
                .await
                .expect_err("refused");
            assert!(matches!(err, FetchError::TokenInUrl { .. }), "{url}: {err}");
            let shown = err.to_string();
            assert!(
                !shown.contains(TOKEN) && !shown.contains(&encoded),
                "{shown}"
            );
            let api = client.api_json::<serde_json::Value>(&url).await;
            assert!(matches!(api, Err(FetchError::TokenInUrl { .. })), "{url}");
        }
        assert!(!dest.exists());
    }

    #[test]
    fn zero_and_mapped_addresses_are_not_loopback() {
        for url in [
            "http://0.0.0.0/",
            "http://0.0.0.0:8080/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::]/",
            "http://127.0.0.1.example/",
        ] {
            let url = Url::parse(url).expect("url");
            assert!(!is_loopback(&url), "{url}");
        }
        // The host is judged as `Url` normalises it.
        for url in [
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://[0:0:0:0:0:0:0:1]/",
        ] {
            let url = Url::parse(url).expect("url");
            assert!(is_loopback(&url), "{url}");
        }
    }

    #[test]
    fn every_redirect_hop_follows_the_rules_of_a_direct_url() {
        let u = |s: &str| Url::parse(s).expect("url");
        let http_start = [u("http://127.0.0.1:1/start")];
        let https_start = [u("https://a.example/start")];
        // Followed.
        for (next, previous, allow_http) in [
            ("https://b.example/x", &http_start, false),
            ("http://localhost:2/x", &http_start, false),
            ("http://127.0.0.2/x", &https_start, false),
            ("http://mirror.example/x", &http_start, true),
        ] {
            assert_eq!(
                hop_refusal(&u(next), previous, allow_http),
                None,
                "{next} after {previous:?}"
            );
        }
        // Refused.
        for (next, previous, allow_http, why) in [
            ("http://0.0.0.0:1/x", &http_start, false, "plain http://"),
            (
                "http://[::ffff:127.0.0.1]/x",
                &http_start,
                false,
                "plain http://",
            ),
            ("http://10.255.255.1/x", &http_start, false, "plain http://"),
            (
                "http://10.255.255.1/x",
                &https_start,
                false,
                "plain http://",
            ),
            (
                "http://mirror.example/x",
                &https_start,
                true,
                "down to plain",
            ),
            ("file:///etc/passwd", &http_start, true, "`file:`"),
            ("ftp://127.0.0.1/x", &http_start, true, "`ftp:`"),
        ] {
            let reason = hop_refusal(&u(next), previous, allow_http).expect(next);
            assert!(reason.contains(why), "{next}: {reason}");
        }
        let many: Vec<Url> = (0..MAX_REDIRECTS)
            .map(|i| u(&format!("https://a.example/{i}")))
            .collect();
        let reason = hop_refusal(&u("https://a.example/x"), &many, false).expect("limit");
        assert!(reason.contains("more than 10 redirects"), "{reason}");
    }

    #[test]
    fn retry_after_in_words() {
        assert_eq!(wait_phrase(0), "0 s");
        assert_eq!(wait_phrase(90), "90 s");
        assert_eq!(wait_phrase(3600), "60 minutes");
        assert_eq!(wait_phrase(3 * 3600), "about 3 hours");
        assert_eq!(wait_phrase(5 * 86_400), "5 days");
        assert_eq!(
            wait_phrase(u64::MAX),
            "18446744073709551615 s (more than a year)"
        );
        let mut headers = HeaderMap::new();
        for (value, secs) in [
            ("5", Some(5)),
            (" 7 ", Some(7)),
            ("18446744073709551616", Some(u64::MAX)),
            ("-1", None),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
            ("", None),
        ] {
            headers.insert(RETRY_AFTER, value.parse().expect("header"));
            assert_eq!(retry_after_secs(&headers), secs, "{value:?}");
        }
    }

    #[test]
    fn huge_retry_after_never_overflows_and_is_not_waited_for() {
        for code in [429, 403, 503] {
            let f = classify(code, &[("retry-after", "18446744073709551615")]);
            assert!(matches!(f.retry, Retry::No), "{code}");
            let text = f.error.to_string();
            assert!(
                text.contains("asked to wait 18446744073709551615 s"),
                "{code}: {text}"
            );
        }
    }

    #[test]
    fn reset_times_in_the_past_and_far_future() {
        let now = now_epoch();
        let past = rate_limit_message("u", Some(now - 5), None);
        assert!(past.contains("already reset"), "{past}");
        let soon = rate_limit_message("u", Some(now + 600), None);
        assert!(soon.contains("(in 10 minutes)"), "{soon}");
        for far in [now + 2 * 86_400, u64::MAX] {
            let text = rate_limit_message("u", Some(far), None);
            assert!(
                text.contains("implausible") && !text.contains("UTC"),
                "{text}"
            );
        }
    }

    #[test]
    fn rate_quota_per_window() {
        assert_eq!(rate_quota(1024, Duration::from_secs(30)), 30_720);
        assert_eq!(rate_quota(1000, Duration::from_millis(500)), 500);
        assert_eq!(
            rate_quota(1, Duration::from_millis(1)),
            1,
            "at least a byte"
        );
        assert_eq!(rate_quota(0, Duration::from_secs(30)), 0, "off");
        assert_eq!(rate_quota(u64::MAX, Duration::MAX), u64::MAX);
    }

    #[test]
    fn redaction() {
        let url = Url::parse("https://user:pw@h.example/p?a=1&access_token=s3&X-Amz-Signature=z")
            .expect("url");
        assert_eq!(redact(&url), "https://h.example/p?a=1");
        assert_eq!(
            redact_str("https://u:p@h/x y%zz"),
            "https://h/x%20y%zz",
            "parsable after all"
        );
        assert_eq!(redact_str("weird://u:p@h/x"), "weird://h/x");
        assert_eq!(redact_str("no scheme"), "no scheme");
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_709_726_400), "2024-03-06 12:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
        assert_eq!(from_now(100, 100), "now");
        assert_eq!(from_now(130, 100), "in 1 minute");
        assert_eq!(from_now(100 + 17 * 60, 100), "in 17 minutes");
        assert_eq!(from_now(3 * 3600 + 100, 100), "in about 3 hours");
        assert_eq!(from_now(5 * 86_400, 0), "in 5 days");
    }

    #[test]
    fn link_header_next() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            "<https://api.github.com/repositories/1/releases?page=2>; rel=\"prev\", \
             <https://api.github.com/repositories/1/releases?page=4>; rel=\"next\", \
             <https://api.github.com/repositories/1/releases?page=9>; rel=\"last\""
                .parse()
                .expect("header"),
        );
        let base = Url::parse("https://api.github.com/x").expect("url");
        assert_eq!(
            next_link(&headers, &base).as_deref(),
            Some("https://api.github.com/repositories/1/releases?page=4")
        );
        headers.insert(LINK, "</r?page=2>; rel=\"next\"".parse().expect("header"));
        assert_eq!(
            next_link(&headers, &base).as_deref(),
            Some("https://api.github.com/r?page=2")
        );
        headers.insert(
            LINK,
            "<https://a/?page=1>; rel=\"first\""
                .parse()
                .expect("header"),
        );
        assert_eq!(next_link(&headers, &base), None);
    }

    fn classify(code: u16, pairs: &[(&'static str, &str)]) -> Failure {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.insert(*k, v.parse().expect("header"));
        }
        status_failure(
            "https://x/",
            StatusCode::from_u16(code).expect("status"),
            &headers,
            false,
        )
    }

    #[test]
    fn status_classification() {
        let f = classify(
            403,
            &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "99")],
        );
        assert!(matches!(f.retry, Retry::No));
        assert!(matches!(
            f.error,
            FetchError::RateLimited {
                reset_at: Some(99),
                ..
            }
        ));
        let f = classify(429, &[("retry-after", "1")]);
        assert!(matches!(f.retry, Retry::After(d) if d == Duration::from_secs(1)));
        let f = classify(429, &[("retry-after", "3600")]);
        assert!(matches!(f.retry, Retry::No));
        assert!(matches!(f.error, FetchError::RateLimited { .. }));
        assert!(matches!(classify(429, &[]).retry, Retry::Backoff));
        assert!(matches!(classify(503, &[]).retry, Retry::Backoff));
        assert!(matches!(
            classify(503, &[("retry-after", "2")]).retry,
            Retry::After(_)
        ));
        let f = classify(404, &[]);
        assert!(matches!(f.retry, Retry::No));
        assert!(matches!(f.error, FetchError::NotFound { .. }));
        let f = classify(403, &[]);
        assert!(matches!(f.retry, Retry::No));
        assert!(matches!(f.error, FetchError::Status { status: 403, .. }));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) >= BACKOFF_BASE && backoff(0) <= BACKOFF_BASE * 3 / 2);
        assert!(backoff(2) >= BACKOFF_BASE * 4);
        assert!(backoff(30) <= BACKOFF_CAP * 3 / 2);
    }

    /// One of each variant; the exhaustive match fails to compile when a
    /// variant is added without a sample (and so without a code in CODES).
    fn samples() -> Vec<FetchError> {
        let url = || "https://x/".to_owned();
        let all = vec![
            FetchError::Offline { url: url() },
            FetchError::NotFound { url: url() },
            FetchError::Status {
                url: url(),
                status: 500,
                message: None,
                retry_after: None,
            },
            FetchError::RateLimited {
                url: url(),
                reset_at: None,
                retry_after: None,
                authenticated: false,
            },
            FetchError::Timeout {
                url: url(),
                after: Duration::from_secs(1),
            },
            FetchError::Deadline {
                url: url(),
                after: Duration::from_secs(1),
            },
            FetchError::TooSlow {
                url: url(),
                min_rate: 1,
                window: Duration::from_secs(1),
                received: 0,
            },
            FetchError::Protocol {
                url: url(),
                message: String::new(),
            },
            FetchError::RedirectRefused {
                url: url(),
                to: url(),
                reason: String::new(),
            },
            FetchError::Insecure { url: url() },
            FetchError::InvalidUrl {
                url: url(),
                reason: String::new(),
            },
            FetchError::SizeMismatch {
                url: url(),
                expected: 1,
                actual: 2,
            },
            FetchError::Truncated {
                url: url(),
                received: 1,
                expected: None,
            },
            FetchError::TooLarge {
                url: url(),
                limit: 1,
            },
            FetchError::Io {
                path: "p".into(),
                source: std::io::Error::other("x"),
            },
            FetchError::MirrorConfig {
                entry: String::new(),
                reason: String::new(),
            },
            FetchError::Env {
                var: String::new(),
                message: String::new(),
            },
            FetchError::Connect {
                url: url(),
                message: String::new(),
            },
            FetchError::InvalidResponse {
                url: url(),
                message: String::new(),
            },
            FetchError::Setup {
                message: String::new(),
            },
            FetchError::TokenInUrl { url: url() },
            FetchError::TokenReflected { url: url() },
        ];
        for e in &all {
            match e {
                FetchError::Offline { .. }
                | FetchError::NotFound { .. }
                | FetchError::Status { .. }
                | FetchError::RateLimited { .. }
                | FetchError::Timeout { .. }
                | FetchError::Deadline { .. }
                | FetchError::TooSlow { .. }
                | FetchError::Protocol { .. }
                | FetchError::RedirectRefused { .. }
                | FetchError::Insecure { .. }
                | FetchError::InvalidUrl { .. }
                | FetchError::SizeMismatch { .. }
                | FetchError::Truncated { .. }
                | FetchError::TooLarge { .. }
                | FetchError::Io { .. }
                | FetchError::MirrorConfig { .. }
                | FetchError::Env { .. }
                | FetchError::Connect { .. }
                | FetchError::InvalidResponse { .. }
                | FetchError::Setup { .. }
                | FetchError::TokenInUrl { .. }
                | FetchError::TokenReflected { .. } => {}
            }
        }
        all
    }

    fn assert_send<T: Send>(_: &T) {}

    /// Callers spawn downloads on the runtime: every future must be `Send`.
    #[test]
    fn futures_are_send() {
        let client = Client::new(Config::default()).expect("client");
        let dest = Path::new("x");
        assert_send(&client.download("https://x/", dest, None, false, "x"));
        assert_send(&client.download_api("https://x/", ACCEPT_RAW, dest, None, "x"));
        assert_send(&client.api_json::<serde_json::Value>("https://x/"));
        assert_send(&client.api_get("https://x/", ACCEPT_SHA, 1));
        assert_send(&client.get_small("https://x/", 1, false));
    }

    #[test]
    fn codes_match_the_variants() {
        let codes: Vec<String> = samples()
            .iter()
            .map(|e| {
                miette::Diagnostic::code(e)
                    .map(|c| c.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(codes, FetchError::CODES);
    }

    #[test]
    fn codes_are_unique_and_namespaced() {
        let mut seen = std::collections::HashSet::new();
        for code in FetchError::CODES {
            assert!(seen.insert(code), "{code}");
            assert!(code.starts_with("vendor::fetch::"), "{code}");
        }
    }

    #[test]
    fn rate_limit_message_says_when_and_how() {
        let reset = now_epoch() + 17 * 60;
        let err = FetchError::RateLimited {
            url: "https://api.github.com/x".into(),
            reset_at: Some(reset),
            retry_after: None,
            authenticated: false,
        };
        let text = err.to_string();
        assert!(text.contains(&utc(reset)), "{text}");
        assert!(text.contains("in 17 minutes"), "{text}");
        let help = miette::Diagnostic::help(&err).map(|h| h.to_string());
        assert!(help.is_some_and(|h| h.contains("GITHUB_TOKEN")));
    }
}
