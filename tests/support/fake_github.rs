//! A fake GitHub for tests: an HTTP server on `127.0.0.1:0`, on its own
//! thread and tokio runtime, so async tests and blocking tests (running the
//! `vendor` binary with `assert_cmd`) can both use it.
//!
//! It serves, following GitHub's documented JSON shapes:
//!
//! - the REST API under [`FakeGithub::api_url`] (`{url}/api/v3`, like
//!   GitHub Enterprise): repository, releases (list with `per_page`/`page`
//!   and a `Link` header, by tag, latest, by id), release assets (JSON, or
//!   bytes with `Accept: application/octet-stream`), tags, commits (JSON,
//!   or the bare sha with `Accept: application/vnd.github.sha`), contents
//!   (JSON with base64, or bytes with `Accept: application/vnd.github.raw`);
//! - asset downloads at `/dl/{owner}/{repo}/releases/download/{tag}/{name}`
//!   (github.com's layout under `/dl`);
//! - git's `ls-refs` (protocol v2 over smart HTTP) for a repository's tags,
//!   at `/{owner}/{repo}.git/git-upload-pack` and under `/dl/`;
//! - raw files at `/raw/{owner}/{repo}/{ref}/{path}`
//!   (raw.githubusercontent.com's layout under `/raw`);
//! - any other file registered with [`FakeGithub::file`];
//! - pull requests, for any repository (registered or not): list
//!   (`GET pulls?head=owner:branch&state=open`, paged), open (`POST
//!   pulls`, 422 when an open one has that head already), edit (`PATCH
//!   pulls/{n}`: title, body, state), labels (`POST issues/{n}/labels`),
//!   reviewers (`POST pulls/{n}/requested_reviewers`) and comments
//!   (`POST issues/{n}/comments`). Their state is kept
//!   ([`FakeGithub::pulls`]) and every write recorded with its JSON body
//!   ([`FakeGithub::writes`]).
//!
//! [`FakeGithub::mirrors`] gives a `VENDOR_MIRRORS` value that sends
//! `https://github.com/` and `https://raw.githubusercontent.com/` here.
//! Faults are injected per request path ([`FakeGithub::fail`]); every
//! request is logged ([`FakeGithub::requests`]) with whether it carried
//! an `Authorization` header. [`FakeGithub::reflect`] turns it into a
//! hostile server that copies the `Authorization` value of API requests
//! back into what it answers. [`FakeGithub::raw_endpoint`] adds a loopback
//! port that is no HTTP server at all (garbage, or a closed connection).
//!
//! Conditional requests work as on GitHub: every `200` API answer carries
//! an `ETag` (a hash of its body, so it changes exactly when the answer
//! does) and a `Last-Modified` (the time of the last change to the fake's
//! data), and `If-None-Match` / `If-Modified-Since` that still hold are
//! answered `304 Not Modified` without a body ([`FakeGithub::validators`]
//! turns either off). The `x-ratelimit-*` headers count down for every API
//! answer but 304s. [`FakeGithub::latency`] delays every answer;
//! [`FakeGithub::max_in_flight`] tells how many requests were open at once.
//!
//! Include it from a test file with
//! `#[path = "support/fake_github.rs"] mod fake_github;`.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The running server; stops when dropped.
pub struct FakeGithub {
    url: String,
    state: Shared,
    /// The server's runtime, for [`FakeGithub::raw_endpoint`].
    runtime: tokio::runtime::Handle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Shared = Arc<Mutex<ServerState>>;

/// A release to publish.
#[derive(Debug, Clone)]
pub struct FakeRelease {
    pub tag: String,
    pub name: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    pub body: Option<String>,
    pub target_commitish: String,
    /// The `immutable` flag; absent from the JSON when `None`.
    pub immutable: Option<bool>,
    pub assets: Vec<FakeAsset>,
}

/// A release asset and the bytes it serves.
#[derive(Debug, Clone)]
pub struct FakeAsset {
    pub name: String,
    pub bytes: Bytes,
    pub digest: DigestMode,
}

/// What the asset's `digest` field says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestMode {
    /// `sha256:` of the bytes.
    Correct,
    /// `null`, like assets uploaded before GitHub computed digests.
    Omitted,
    /// A well-formed sha256 of other bytes.
    Wrong,
    /// This exact text.
    Custom(String),
}

/// A failure to inject for one request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 404 with GitHub's error JSON.
    NotFound,
    /// This status (e.g. 500, 502) with an error JSON body.
    Status(u16),
    /// 429 with `Retry-After: {retry_after}`.
    TooManyRequests { retry_after: u64 },
    /// 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset: {reset}`
    /// (seconds since the Unix epoch), as GitHub's primary rate limit.
    RateLimited { reset: u64 },
    /// The normal response, but only the first half of the body is sent
    /// under the full `Content-Length`, then the connection is dropped.
    Truncated,
    /// Waits this long before answering.
    Slow(Duration),
    /// Sends half the body, waits this long, then the rest.
    Stall(Duration),
    /// The normal status and headers with these bytes as the body.
    WrongBytes(Vec<u8>),
    /// This status with GitHub's error JSON carrying this `message`.
    Message(u16, String),
    /// The normal status and headers (with `Content-Length`), then the
    /// body `chunk` bytes at a time, one chunk every `every`: a server that
    /// trickles.
    Trickle { chunk: usize, every: Duration },
    /// `302 Found` to this `Location`, verbatim.
    Redirect(String),
    /// This status with a `Retry-After` header of exactly this text.
    RetryAfter { status: u16, value: String },
}

/// Where a hostile server copies the `Authorization` value of an API
/// request to ([`FakeGithub::reflect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reflect {
    /// Into every asset's `browser_download_url`, percent-encoded in the
    /// query (`?auth=Bearer%20…`).
    DownloadQuery,
    /// The token alone, raw, as a path segment of every asset's
    /// `browser_download_url`.
    DownloadPath,
    /// Every authorized API request fails (403) with GitHub's error JSON
    /// whose `message` quotes it.
    ErrorMessage,
}

/// One request the server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    /// Percent-decoded path.
    pub path: String,
    pub query: Option<String>,
    /// The `Authorization` header, verbatim.
    pub authorization: Option<String>,
    pub accept: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    /// The status answered (before injected faults).
    pub status: u16,
}

impl Logged {
    pub fn authorized(&self) -> bool {
        self.authorization.is_some()
    }

    /// Whether the request carried a validator.
    pub fn conditional(&self) -> bool {
        self.if_none_match.is_some() || self.if_modified_since.is_some()
    }

    pub fn api(&self) -> bool {
        self.path.starts_with("/api/")
    }
}

/// Which validators API answers carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validators {
    /// `ETag` and `Last-Modified`, as GitHub.
    #[default]
    Both,
    EtagOnly,
    LastModifiedOnly,
    /// Neither: no conditional request can succeed.
    None,
}

impl FakeRelease {
    pub fn new(tag: &str) -> Self {
        FakeRelease {
            tag: tag.to_owned(),
            name: Some(tag.to_owned()),
            draft: false,
            prerelease: false,
            body: Some(format!("Release {tag}")),
            target_commitish: "main".to_owned(),
            immutable: None,
            assets: Vec::new(),
        }
    }

    /// Sets the release's `immutable` flag.
    pub fn immutable(mut self, immutable: bool) -> Self {
        self.immutable = Some(immutable);
        self
    }

    pub fn draft(mut self) -> Self {
        self.draft = true;
        self
    }

    pub fn prerelease(mut self) -> Self {
        self.prerelease = true;
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self
    }

    /// Adds an asset with a correct digest.
    pub fn asset(self, name: &str, bytes: impl Into<Bytes>) -> Self {
        self.with_asset(FakeAsset::new(name, bytes))
    }

    pub fn with_asset(mut self, asset: FakeAsset) -> Self {
        self.assets.push(asset);
        self
    }
}

impl FakeAsset {
    pub fn new(name: &str, bytes: impl Into<Bytes>) -> Self {
        FakeAsset {
            name: name.to_owned(),
            bytes: bytes.into(),
            digest: DigestMode::Correct,
        }
    }

    pub fn without_digest(mut self) -> Self {
        self.digest = DigestMode::Omitted;
        self
    }

    pub fn wrong_digest(mut self) -> Self {
        self.digest = DigestMode::Wrong;
        self
    }

    pub fn digest(mut self, text: &str) -> Self {
        self.digest = DigestMode::Custom(text.to_owned());
        self
    }

    fn digest_json(&self) -> Value {
        match &self.digest {
            DigestMode::Correct => json!(format!("sha256:{}", sha256_hex(&self.bytes))),
            DigestMode::Omitted => Value::Null,
            DigestMode::Wrong => {
                let mut other = self.bytes.to_vec();
                other.extend_from_slice(b"tampered");
                json!(format!("sha256:{}", sha256_hex(&other)))
            }
            DigestMode::Custom(text) => json!(text),
        }
    }
}

/// sha256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    for b in Sha256::digest(bytes) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl FakeGithub {
    /// Starts the server on a fresh port.
    pub fn start() -> FakeGithub {
        let state: Shared = Arc::default();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(state.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("fake github runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1:0");
                addr_tx
                    .send((
                        listener.local_addr().expect("local addr"),
                        tokio::runtime::Handle::current(),
                    ))
                    .expect("report address");
                // Dropping `serve` on shutdown stops accepting; the runtime's
                // drop then cancels open connections (stalled ones too).
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = shutdown_rx => {}
                }
            });
        });
        let (addr, runtime) = addr_rx.recv().expect("fake github started");
        let url = format!("http://{addr}");
        state.lock().expect("state").base = url.clone();
        FakeGithub {
            url,
            state,
            runtime,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// A second endpoint on `127.0.0.1:0` that is no HTTP server: it
    /// reads (the start of) each request, writes exactly `reply` (nothing
    /// at all: the connection is accepted and closed) and closes. Returns
    /// `http://127.0.0.1:PORT`. It stops with the server.
    pub fn raw_endpoint(&self, reply: &[u8]) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let reply = Bytes::copy_from_slice(reply);
        self.runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((mut socket, _)) = listener.accept().await {
                let reply = reply.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let _ = socket.write_all(&reply).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        format!("http://{addr}")
    }

    /// The REST API base, for `GITHUB_API_URL`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v3", self.url)
    }

    /// Where `https://raw.githubusercontent.com/` maps to.
    pub fn raw_url(&self) -> String {
        format!("{}/raw/", self.url)
    }

    /// Where `https://github.com/` maps to.
    pub fn web_url(&self) -> String {
        format!("{}/dl/", self.url)
    }

    /// A `VENDOR_MIRRORS` value sending github.com and
    /// raw.githubusercontent.com to this server.
    pub fn mirrors(&self) -> String {
        format!(
            "https://github.com/={} https://raw.githubusercontent.com/={}",
            self.web_url(),
            self.raw_url()
        )
    }

    /// The `browser_download_url` of an asset.
    pub fn download_url(&self, repo: &str, tag: &str, name: &str) -> String {
        download_url(&self.url, repo, tag, name)
    }

    /// Registers a repository (releases, tags and files register theirs).
    pub fn repo(&self, repo: &str) -> &Self {
        self.state().repo_mut(repo);
        self
    }

    /// Publishes a release; later releases list first, as on GitHub.
    pub fn release(&self, repo: &str, release: FakeRelease) -> &Self {
        let mut state = self.state();
        let id = state.next_id();
        let asset_ids = release.assets.iter().map(|_| state.next_id()).collect();
        state.repo_mut(repo).releases.push(StoredRelease {
            id,
            asset_ids,
            release,
        });
        self
    }

    /// Adds a repository security advisory (GitHub's JSON shape: `ghsa_id`,
    /// `state`, `vulnerabilities[].vulnerable_version_range`, …), served
    /// at `/repos/{repo}/security-advisories`, filtered by `?state=`.
    pub fn security_advisory(&self, repo: &str, advisory: Value) -> &Self {
        self.state().repo_mut(repo).advisories.push(advisory);
        self
    }

    /// Adds a tag pointing at `sha`; later tags list first.
    pub fn tag(&self, repo: &str, name: &str, sha: &str) -> &Self {
        self.state()
            .repo_mut(repo)
            .tags
            .push((name.to_owned(), sha.to_owned()));
        self
    }

    /// Points an existing tag (or branch) at another commit: a re-tag.
    pub fn move_tag(&self, repo: &str, name: &str, sha: &str) -> &Self {
        let mut state = self.state();
        let repo = state.repo_mut(repo);
        for (tag, target) in repo.tags.iter_mut().chain(repo.branches.iter_mut()) {
            if tag == name {
                *target = sha.to_owned();
            }
        }
        self
    }

    /// Deletes every release tagged `tag` (the tag itself stays).
    pub fn delete_release(&self, repo: &str, tag: &str) -> &Self {
        self.state()
            .repo_mut(repo)
            .releases
            .retain(|r| r.release.tag != tag);
        self
    }

    /// Sets (or, with `None`, removes) the `immutable` flag of every
    /// release tagged `tag`.
    pub fn set_immutable(&self, repo: &str, tag: &str, immutable: Option<bool>) -> &Self {
        for r in &mut self.state().repo_mut(repo).releases {
            if r.release.tag == tag {
                r.release.immutable = immutable;
            }
        }
        self
    }

    /// Removes the asset `name` from every release tagged `tag`.
    pub fn delete_asset(&self, repo: &str, tag: &str, name: &str) -> &Self {
        for r in &mut self.state().repo_mut(repo).releases {
            if r.release.tag == tag {
                while let Some(i) = r.release.assets.iter().position(|a| a.name == name) {
                    r.release.assets.remove(i);
                    r.asset_ids.remove(i);
                }
            }
        }
        self
    }

    /// Adds a branch pointing at `sha` (resolvable, not listed as a tag).
    pub fn branch(&self, repo: &str, name: &str, sha: &str) -> &Self {
        self.state()
            .repo_mut(repo)
            .branches
            .push((name.to_owned(), sha.to_owned()));
        self
    }

    /// Adds a file at `path` as of `commit`.
    pub fn raw_file(&self, repo: &str, commit: &str, path: &str, bytes: impl Into<Bytes>) -> &Self {
        self.state().repo_mut(repo).files.insert(
            (commit.to_owned(), path.trim_start_matches('/').to_owned()),
            bytes.into(),
        );
        self
    }

    /// Publishes an attestation (a Sigstore bundle, JSON) for the subject
    /// with this sha256 (hex), for the attestations API.
    pub fn attestation(&self, repo: &str, sha256: &str, bundle: &[u8]) -> &Self {
        let bundle: Value = serde_json::from_slice(bundle).expect("a JSON bundle");
        self.state()
            .repo_mut(repo)
            .attestations
            .push((format!("sha256:{sha256}"), bundle));
        self
    }

    /// Withdraws every attestation of the subject with this sha256 (hex).
    pub fn delete_attestations(&self, repo: &str, sha256: &str) -> &Self {
        let subject = format!("sha256:{sha256}");
        self.state()
            .repo_mut(repo)
            .attestations
            .retain(|(d, _)| *d != subject);
        self
    }

    /// Serves `bytes` at `path` (e.g. `/files/tool.tar.gz`); returns its URL.
    pub fn file(&self, path: &str, bytes: impl Into<Bytes>) -> String {
        self.state()
            .static_files
            .insert(path.to_owned(), bytes.into());
        format!("{}{path}", self.url)
    }

    /// Stops serving the file at `path` (404 from now on).
    pub fn delete_file(&self, path: &str) -> &Self {
        self.state().static_files.remove(path);
        self
    }

    /// Injects `fault` into every request for `path` (decoded, no query).
    pub fn fail(&self, path: &str, fault: Fault) -> &Self {
        self.fail_times(path, fault, u32::MAX)
    }

    /// Injects `fault` into the next `times` requests for `path`; later
    /// requests are answered normally (or by the next rule).
    pub fn fail_times(&self, path: &str, fault: Fault, times: u32) -> &Self {
        self.state().faults.push(FaultRule {
            path: path.to_owned(),
            fault,
            remaining: times,
            skip: 0,
        });
        self
    }

    /// Answers the first `skip` requests for `path` normally, then injects
    /// `fault` into every later one.
    pub fn fail_after(&self, path: &str, fault: Fault, skip: u32) -> &Self {
        self.state().faults.push(FaultRule {
            path: path.to_owned(),
            fault,
            remaining: u32::MAX,
            skip,
        });
        self
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) -> &Self {
        self.state().faults.clear();
        self
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Logged> {
        self.state().requests.clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }

    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// Which validators API answers carry from now on.
    pub fn validators(&self, which: Validators) -> &Self {
        self.state().validators = which;
        self
    }

    /// Delays every answer by `delay` (a network round trip).
    pub fn latency(&self, delay: Duration) -> &Self {
        self.state().latency = delay;
        self
    }

    /// The most requests that were being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.state().max_in_flight
    }

    /// Starts counting [`FakeGithub::max_in_flight`] afresh.
    pub fn reset_max_in_flight(&self) {
        let mut state = self.state();
        state.max_in_flight = state.in_flight;
    }

    /// API requests answered `304 Not Modified`.
    pub fn not_modified(&self) -> usize {
        self.requests().iter().filter(|r| r.status == 304).count()
    }

    /// Makes the server hostile: it reflects each API request's
    /// `Authorization` value as `mode` says.
    pub fn reflect(&self, mode: Reflect) -> &Self {
        self.state().reflect = Some(mode);
        self
    }

    /// The pull requests of `repo` (`owner/name`), in the order opened.
    pub fn pulls(&self, repo: &str) -> Vec<FakePull> {
        self.state()
            .pulls
            .iter()
            .filter(|p| p.repo.eq_ignore_ascii_case(repo))
            .cloned()
            .collect()
    }

    /// Every write (non-GET) request, in order.
    pub fn writes(&self) -> Vec<Written> {
        self.state().writes.clone()
    }

    fn state(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Default)]
struct ServerState {
    base: String,
    repos: BTreeMap<String, FakeRepo>,
    static_files: HashMap<String, Bytes>,
    faults: Vec<FaultRule>,
    requests: Vec<Logged>,
    ids: u64,
    reflect: Option<Reflect>,
    validators: Validators,
    latency: Duration,
    in_flight: usize,
    max_in_flight: usize,
    /// API answers that counted against the rate limit.
    rate_used: u64,
    /// Bumped by every change to the data: `Last-Modified`.
    changes: u64,
    /// Pull requests of every repository, in the order opened.
    pulls: Vec<FakePull>,
    /// Every non-GET request with its body.
    writes: Vec<Written>,
}

/// A pull request the fake keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePull {
    /// `owner/name`, as requested.
    pub repo: String,
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub comments: Vec<String>,
}

/// A write request the fake saw: method, percent-decoded path, whether it
/// carried an `Authorization` header, and its JSON body (`Null` if none).
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct FakeRepo {
    id: u64,
    name: String,
    releases: Vec<StoredRelease>,
    tags: Vec<(String, String)>,
    branches: Vec<(String, String)>,
    /// (commit, path) → bytes.
    files: HashMap<(String, String), Bytes>,
    /// Repository security advisories, as GitHub's JSON.
    advisories: Vec<Value>,
    /// Attestations: (subject digest `sha256:HEX`, Sigstore bundle).
    attestations: Vec<(String, Value)>,
}

struct StoredRelease {
    id: u64,
    asset_ids: Vec<u64>,
    release: FakeRelease,
}

struct FaultRule {
    path: String,
    fault: Fault,
    remaining: u32,
    /// Requests answered normally before the fault applies.
    skip: u32,
}

impl ServerState {
    fn next_id(&mut self) -> u64 {
        self.ids += 1;
        self.ids
    }

    /// GitHub's owner/name lookup is case-insensitive. Only changes call
    /// it: each one moves `Last-Modified` on.
    fn repo_mut(&mut self, repo: &str) -> &mut FakeRepo {
        self.changes += 1;
        let key = repo.to_ascii_lowercase();
        if !self.repos.contains_key(&key) {
            let id = self.next_id();
            self.repos.insert(
                key.clone(),
                FakeRepo {
                    id,
                    name: repo.to_owned(),
                    ..FakeRepo::default()
                },
            );
        }
        self.repos.get_mut(&key).expect("just inserted")
    }

    fn repo(&self, owner: &str, name: &str) -> Option<&FakeRepo> {
        self.repos
            .get(&format!("{owner}/{name}").to_ascii_lowercase())
    }

    fn take_fault(&mut self, raw_path: &str, decoded: &str) -> Option<Fault> {
        let rule = self
            .faults
            .iter_mut()
            .find(|r| r.remaining > 0 && (r.path == raw_path || r.path == decoded))?;
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        if rule.remaining != u32::MAX {
            rule.remaining -= 1;
        }
        Some(rule.fault.clone())
    }
}

/// A response before faults are applied.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![
                (
                    "content-type".into(),
                    "application/json; charset=utf-8".into(),
                ),
                ("x-ratelimit-limit".into(), "60".into()),
                ("x-ratelimit-remaining".into(), "59".into()),
                ("x-ratelimit-reset".into(), (now_epoch() + 3600).to_string()),
                ("x-ratelimit-resource".into(), "core".into()),
                ("x-github-api-version-selected".into(), "2022-11-28".into()),
            ],
            body: Bytes::from(value.to_string()),
        }
    }

    fn bytes(content_type: &str, body: impl Into<Bytes>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    fn not_found() -> Reply {
        Reply::json(
            404,
            &json!({
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest",
                "status": "404"
            }),
        )
    }

    fn header(mut self, name: &str, value: String) -> Reply {
        self.headers.push((name.to_owned(), value));
        self
    }
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn handle(State(state): State<Shared>, request: Request) -> Response {
    let method = request.method().to_string();
    let raw_path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let decoded = percent_decode(&raw_path);
    let latency = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        state.latency
    };
    let _leaving = InFlight(state.clone());
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (reply, fault) = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let fault = state.take_fault(&raw_path, &decoded);
        // git's `ls-refs` is POSTed, but only reads.
        let reads = decoded.ends_with(".git/git-upload-pack");
        if method != "GET" && method != "HEAD" && !reads {
            state.writes.push(Written {
                method: method.clone(),
                path: decoded.clone(),
                authorization: header_text(&headers, header::AUTHORIZATION),
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            });
        }
        // A write the fault answers changes nothing.
        let pulls = if fault.is_some() && method != "GET" && method != "HEAD" {
            Some(Reply::json(200, &Value::Null))
        } else {
            pulls_route(&mut state, &method, &decoded, query.as_deref(), &body)
        };
        let reply = if let Some(reply) = pulls {
            reply
        } else if method == "POST" && decoded.ends_with(".git/git-upload-pack") {
            git_route(&state, &decoded, &body, &headers)
        } else if method == "GET" || method == "HEAD" {
            route(&state, &raw_path, query.as_deref(), &headers)
        } else {
            Reply::json(405, &json!({"message": "Method Not Allowed"}))
        };
        let reply = if decoded.starts_with("/api/") {
            state.conditional(reply, &headers)
        } else {
            reply
        };
        state.requests.push(Logged {
            method: method.clone(),
            path: decoded.clone(),
            query: query.clone(),
            authorization: header_text(&headers, header::AUTHORIZATION),
            accept: header_text(&headers, header::ACCEPT),
            if_none_match: header_text(&headers, header::IF_NONE_MATCH),
            if_modified_since: header_text(&headers, header::IF_MODIFIED_SINCE),
            status: reply.status,
        });
        (reply, fault)
    };
    respond(reply, fault).await
}

/// Counts a request out of flight when its answer is built (or the
/// connection dropped).
struct InFlight(Shared);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        state.in_flight = state.in_flight.saturating_sub(1);
    }
}

const RATE_LIMIT: u64 = 5000;

impl ServerState {
    /// Adds validators and rate-limit counts to an API answer, and turns
    /// it into a 304 when the request's validators still hold
    /// (`If-None-Match` first; `If-Modified-Since` only without it, as
    /// RFC 9110 says).
    fn conditional(&mut self, mut reply: Reply, headers: &HeaderMap) -> Reply {
        let ok = reply.status == 200;
        let etag = format!("\"{}\"", &sha256_hex(&reply.body)[..32]);
        let modified = http_date(1_709_726_400 + self.changes);
        let (send_etag, send_date) = match self.validators {
            Validators::Both => (true, true),
            Validators::EtagOnly => (true, false),
            Validators::LastModifiedOnly => (false, true),
            Validators::None => (false, false),
        };
        let none_match = header_text(headers, header::IF_NONE_MATCH);
        let since = header_text(headers, header::IF_MODIFIED_SINCE);
        let unchanged = match (&none_match, &since) {
            (Some(tags), _) => {
                send_etag
                    && tags
                        .split(',')
                        .any(|t| t.trim().trim_start_matches("W/") == etag || t.trim() == "*")
            }
            (None, Some(date)) => send_date && *date == modified,
            (None, None) => false,
        };
        if ok && unchanged {
            let mut not_modified = Reply {
                status: 304,
                headers: Vec::new(),
                body: Bytes::new(),
            };
            if send_etag {
                not_modified = not_modified.header("etag", etag);
            }
            return self.rate_headers(not_modified);
        }
        if ok {
            self.rate_used += 1;
            if send_etag {
                reply = reply.header("etag", etag);
            }
            if send_date {
                reply = reply.header("last-modified", modified);
            }
        }
        self.rate_headers(reply)
    }

    fn rate_headers(&self, mut reply: Reply) -> Reply {
        reply.headers.retain(|(k, _)| !k.starts_with("x-ratelimit"));
        reply
            .header("x-ratelimit-limit", RATE_LIMIT.to_string())
            .header(
                "x-ratelimit-remaining",
                RATE_LIMIT.saturating_sub(self.rate_used).to_string(),
            )
            .header("x-ratelimit-used", self.rate_used.to_string())
            .header("x-ratelimit-reset", (now_epoch() + 3600).to_string())
            .header("x-ratelimit-resource", "core".into())
    }
}

/// An IMF-fixdate (`Wed, 06 Mar 2024 12:00:00 GMT`).
fn http_date(epoch: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, secs) = (epoch / 86_400, epoch % 86_400);
    // Days to civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Applies a fault to the normal reply.
async fn respond(reply: Reply, fault: Option<Fault>) -> Response {
    let Some(fault) = fault else {
        return build(reply);
    };
    let error = |status: u16, message: &str| {
        Reply::json(
            status,
            &json!({"message": message, "documentation_url": "https://docs.github.com/rest"}),
        )
    };
    match fault {
        Fault::NotFound => build(Reply::not_found()),
        Fault::Status(code) => build(error(code, "Server Error")),
        Fault::TooManyRequests { retry_after } => build(
            error(429, "You have exceeded a secondary rate limit.")
                .header("retry-after", retry_after.to_string()),
        ),
        Fault::RateLimited { reset } => {
            let mut reply = error(
                403,
                "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)",
            );
            reply.headers.retain(|(k, _)| !k.starts_with("x-ratelimit"));
            build(
                reply
                    .header("x-ratelimit-limit", "60".into())
                    .header("x-ratelimit-remaining", "0".into())
                    .header("x-ratelimit-used", "60".into())
                    .header("x-ratelimit-reset", reset.to_string())
                    .header("x-ratelimit-resource", "core".into()),
            )
        }
        Fault::Truncated => truncated(reply),
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            build(reply)
        }
        Fault::Stall(delay) => stalled(reply, delay),
        Fault::WrongBytes(bytes) => build(Reply {
            body: Bytes::from(bytes),
            ..reply
        }),
        Fault::Message(code, message) => build(error(code, &message)),
        Fault::Trickle { chunk, every } => trickled(reply, chunk.max(1), every),
        Fault::Redirect(location) => build(
            Reply::bytes("text/plain", &b"moved"[..])
                .status(302)
                .header("location", location),
        ),
        Fault::RetryAfter { status, value } => {
            build(error(status, "Please retry later").header("retry-after", value))
        }
    }
}

/// The whole body under its `Content-Length`, `chunk` bytes per `every`.
fn trickled(reply: Reply, chunk: usize, every: Duration) -> Response {
    let full = reply.body.len();
    let body = reply.body.clone();
    let stream = futures_util::stream::unfold(0usize, move |sent| {
        let body = body.clone();
        async move {
            if sent >= body.len() {
                return None;
            }
            if sent > 0 {
                tokio::time::sleep(every).await;
            }
            let end = (sent + chunk).min(body.len());
            Some((Ok::<Bytes, std::io::Error>(body.slice(sent..end)), end))
        }
    });
    builder(&reply)
        .header(header::CONTENT_LENGTH, full.to_string())
        .body(Body::from_stream(stream))
        .expect("response")
}

fn builder(reply: &Reply) -> axum::http::response::Builder {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in &reply.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
}

fn build(reply: Reply) -> Response {
    let builder = builder(&reply);
    builder.body(Body::from(reply.body)).expect("response")
}

/// Half the body under the full `Content-Length`, then an abort.
fn truncated(reply: Reply) -> Response {
    let full = reply.body.len();
    let half = reply.body.slice(..full / 2);
    // The pause lets the headers and the first half reach the client
    // before the connection drops, as a real mid-transfer failure.
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok(half), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((Err(std::io::Error::other("injected truncation")), 2))
                }
                _ => None,
            }
        }
    });
    builder(&reply)
        .header(header::CONTENT_LENGTH, full.to_string())
        .body(Body::from_stream(stream))
        .expect("response")
}

/// Half the body, a pause, the rest.
fn stalled(reply: Reply, delay: Duration) -> Response {
    let full = reply.body.len();
    let first = reply.body.slice(..full / 2);
    let rest = reply.body.slice(full / 2..);
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let (first, rest) = (first.clone(), rest.clone());
        async move {
            match step {
                0 => Some((Ok::<Bytes, std::io::Error>(first), 1)),
                1 => {
                    tokio::time::sleep(delay).await;
                    Some((Ok(rest), 2))
                }
                _ => None,
            }
        }
    });
    builder(&reply)
        .header(header::CONTENT_LENGTH, full.to_string())
        .body(Body::from_stream(stream))
        .expect("response")
}

/// The pull-request endpoints (any method), or `None` for other paths.
fn pulls_route(
    state: &mut ServerState,
    method: &str,
    decoded: &str,
    query: Option<&str>,
    body: &[u8],
) -> Option<Reply> {
    let parts: Vec<&str> = decoded.trim_start_matches('/').split('/').collect();
    let ["api", "v3", "repos", owner, name, rest @ ..] = parts.as_slice() else {
        return None;
    };
    let repo = format!("{owner}/{name}");
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let list = |key: &str| -> Vec<String> {
        body.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let base = state.base.clone();
    let pull_json = |p: &FakePull| {
        json!({
            "number": p.number,
            "state": p.state,
            "title": p.title,
            "body": p.body,
            "html_url": format!("{base}/{}/pull/{}", p.repo, p.number),
            "head": {"ref": p.head, "label": format!("{owner}:{}", p.head)},
            "base": {"ref": p.base},
            "labels": p.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
        })
    };
    let find = |state: &mut ServerState, n: &str| -> Option<usize> {
        let n: u64 = n.parse().ok()?;
        state
            .pulls
            .iter()
            .position(|p| p.number == n && p.repo.eq_ignore_ascii_case(&repo))
    };
    let reply = match (method, rest) {
        ("GET", ["pulls"]) => {
            let query = parse_query(query.unwrap_or(""));
            let wanted_state = query.get("state").map_or("open", String::as_str);
            let head = query.get("head").cloned();
            let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let per_page: usize = query
                .get("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30);
            let found: Vec<Value> = state
                .pulls
                .iter()
                .rev()
                .filter(|p| p.repo.eq_ignore_ascii_case(&repo))
                .filter(|p| wanted_state == "all" || p.state == wanted_state)
                .filter(|p| {
                    head.as_ref()
                        .is_none_or(|h| *h == format!("{owner}:{}", p.head))
                })
                .skip(per_page * page.saturating_sub(1))
                .take(per_page)
                .map(pull_json)
                .collect();
            Reply::json(200, &Value::Array(found))
        }
        ("POST", ["pulls"]) => {
            let (Some(title), Some(head), Some(base_ref)) =
                (text("title"), text("head"), text("base"))
            else {
                return Some(Reply::json(422, &json!({"message": "Validation Failed"})));
            };
            if state
                .pulls
                .iter()
                .any(|p| p.repo.eq_ignore_ascii_case(&repo) && p.head == head && p.state == "open")
            {
                return Some(Reply::json(
                    422,
                    &json!({"message": "Validation Failed", "errors": [{"message": format!("A pull request already exists for {owner}:{head}.")}]}),
                ));
            }
            let number = state.pulls.len() as u64 + 1;
            let pull = FakePull {
                repo: repo.clone(),
                number,
                head,
                base: base_ref,
                title,
                body: text("body").unwrap_or_default(),
                state: "open".into(),
                labels: vec![],
                reviewers: vec![],
                team_reviewers: vec![],
                comments: vec![],
            };
            let answer = pull_json(&pull);
            state.pulls.push(pull);
            Reply::json(201, &answer)
        }
        ("PATCH", ["pulls", n]) => match find(state, n) {
            Some(i) => {
                let pull = &mut state.pulls[i];
                if let Some(title) = text("title") {
                    pull.title = title;
                }
                if let Some(body) = text("body") {
                    pull.body = body;
                }
                if let Some(s) = text("state") {
                    pull.state = s;
                }
                Reply::json(200, &pull_json(pull))
            }
            None => Reply::not_found(),
        },
        ("POST", ["issues", n, "labels"]) => match find(state, n) {
            Some(i) => {
                let pull = &mut state.pulls[i];
                for label in list("labels") {
                    if !pull.labels.contains(&label) {
                        pull.labels.push(label);
                    }
                }
                let labels: Vec<Value> = pull.labels.iter().map(|l| json!({"name": l})).collect();
                Reply::json(200, &Value::Array(labels))
            }
            None => Reply::not_found(),
        },
        ("POST", ["pulls", n, "requested_reviewers"]) => match find(state, n) {
            Some(i) => {
                let pull = &mut state.pulls[i];
                pull.reviewers.extend(list("reviewers"));
                pull.team_reviewers.extend(list("team_reviewers"));
                Reply::json(201, &pull_json(pull))
            }
            None => Reply::not_found(),
        },
        ("POST", ["issues", n, "comments"]) => match find(state, n) {
            Some(i) => {
                let pull = &mut state.pulls[i];
                pull.comments.push(text("body").unwrap_or_default());
                Reply::json(
                    201,
                    &json!({"id": pull.comments.len(), "body": text("body")}),
                )
            }
            None => Reply::not_found(),
        },
        _ => return None,
    };
    Some(reply)
}

/// Dispatches a GET on the raw (percent-encoded) path.
fn route(state: &ServerState, raw_path: &str, query: Option<&str>, headers: &HeaderMap) -> Reply {
    let segments: Vec<String> = raw_path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let accept = header_text(headers, header::ACCEPT).unwrap_or_default();
    let query = parse_query(query.unwrap_or(""));
    let authorization = header_text(headers, header::AUTHORIZATION);
    if let (Some(Reflect::ErrorMessage), Some(auth), ["api", ..]) =
        (state.reflect, &authorization, parts.as_slice())
    {
        return Reply::json(
            403,
            &json!({
                "message": format!("Resource not accessible with {auth}"),
                "documentation_url": "https://docs.github.com/rest",
                "status": "403"
            }),
        );
    }
    let api = Api {
        state,
        base: &state.base,
        accept: &accept,
        query: &query,
        path: raw_path,
        reflected: state.reflect.zip(authorization.as_deref()),
    };
    match parts.as_slice() {
        ["api", "v3", "repos", owner, name, rest @ ..] => match state.repo(owner, name) {
            Some(repo) => api.repo_route(repo, rest),
            None => Reply::not_found(),
        },
        ["dl", owner, name, "releases", "download", tag, asset] => state
            .repo(owner, name)
            .and_then(|repo| find_asset(repo, tag, asset))
            .map_or_else(Reply::not_found, |(_, a)| {
                Reply::bytes("application/octet-stream", a.bytes.clone())
            }),
        ["raw", owner, name, git_ref, path @ ..] => state
            .repo(owner, name)
            .and_then(|repo| raw_file(repo, git_ref, &path.join("/")))
            .map_or_else(
                || Reply::bytes("text/plain; charset=utf-8", &b"404: Not Found"[..]).status(404),
                |bytes| Reply::bytes("application/octet-stream", bytes),
            ),
        _ => state
            .static_files
            .get(&percent_decode(raw_path))
            .map_or_else(Reply::not_found, |bytes| {
                Reply::bytes("application/octet-stream", bytes.clone())
            }),
    }
}

impl Reply {
    fn status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }
}

/// The API routes of one repository.
struct Api<'a> {
    state: &'a ServerState,
    base: &'a str,
    accept: &'a str,
    query: &'a HashMap<String, String>,
    path: &'a str,
    /// The reflection mode and the request's `Authorization` value.
    reflected: Option<(Reflect, &'a str)>,
}

impl Api<'_> {
    fn repo_route(&self, repo: &FakeRepo, rest: &[&str]) -> Reply {
        match rest {
            [] => Reply::json(200, &self.repo_json(repo)),
            ["attestations", subject] => {
                let list: Vec<Value> = repo
                    .attestations
                    .iter()
                    .filter(|(d, _)| d == subject)
                    .map(|(_, b)| json!({"bundle": b, "repository_id": repo.id}))
                    .collect();
                if list.is_empty() {
                    Reply::not_found()
                } else {
                    Reply::json(200, &json!({"attestations": list}))
                }
            }
            ["releases"] => {
                let visible: Vec<Value> = repo
                    .releases
                    .iter()
                    .rev()
                    .map(|r| self.release_json(repo, r))
                    .collect();
                self.paged(visible)
            }
            ["releases", "latest"] => repo
                .releases
                .iter()
                .rev()
                .find(|r| !r.release.draft && !r.release.prerelease)
                .map_or_else(Reply::not_found, |r| {
                    Reply::json(200, &self.release_json(repo, r))
                }),
            ["releases", "tags", tag] => repo
                .releases
                .iter()
                .rev()
                .find(|r| !r.release.draft && r.release.tag == *tag)
                .map_or_else(Reply::not_found, |r| {
                    Reply::json(200, &self.release_json(repo, r))
                }),
            ["releases", "assets", id] => self.asset_route(repo, id),
            ["releases", id] => repo
                .releases
                .iter()
                .find(|r| r.id.to_string() == *id)
                .map_or_else(Reply::not_found, |r| {
                    Reply::json(200, &self.release_json(repo, r))
                }),
            ["tags"] => {
                let tags: Vec<Value> = repo
                    .tags
                    .iter()
                    .rev()
                    .map(|(name, sha)| self.tag_json(repo, name, sha))
                    .collect();
                self.paged(tags)
            }
            ["security-advisories"] => {
                let wanted = self.query.get("state");
                let listed: Vec<Value> = repo
                    .advisories
                    .iter()
                    .filter(|a| wanted.is_none_or(|w| a["state"].as_str() == Some(w.as_str())))
                    .cloned()
                    .collect();
                self.paged(listed)
            }
            ["commits", git_ref] => self.commit_route(repo, git_ref),
            ["contents", path @ ..] => self.contents_route(repo, &path.join("/")),
            _ => Reply::not_found(),
        }
    }

    fn asset_route(&self, repo: &FakeRepo, id: &str) -> Reply {
        let found = repo.releases.iter().find_map(|r| {
            r.asset_ids
                .iter()
                .position(|a| a.to_string() == id)
                .map(|i| (r, i))
        });
        let Some((release, index)) = found else {
            return Reply::not_found();
        };
        let asset = &release.release.assets[index];
        if self.accept.contains("application/octet-stream") {
            Reply::bytes("application/octet-stream", asset.bytes.clone())
        } else {
            Reply::json(200, &self.asset_json(repo, release, index))
        }
    }

    fn commit_route(&self, repo: &FakeRepo, git_ref: &str) -> Reply {
        let Some(sha) = resolve(repo, git_ref) else {
            return Reply::json(
                422,
                &json!({
                    "message": format!("No commit found for SHA: {git_ref}"),
                    "documentation_url": "https://docs.github.com/rest/commits/commits#get-a-commit",
                    "status": "422"
                }),
            );
        };
        if self.accept.contains("vnd.github.sha") {
            return Reply::bytes(
                "application/vnd.github.sha; charset=utf-8",
                sha.into_bytes(),
            );
        }
        let api = format!("{}/api/v3/repos/{}", self.base, repo.name);
        Reply::json(
            200,
            &json!({
                "sha": sha,
                "node_id": format!("C_{sha}"),
                "url": format!("{api}/commits/{sha}"),
                "html_url": format!("{}/{}/commit/{sha}", self.base, repo.name),
                "commit": {
                    "message": "Release",
                    "author": {"name": "Octo Cat", "email": "octocat@example.com", "date": "2024-03-06T12:00:00Z"},
                    "tree": {"sha": sha, "url": format!("{api}/git/trees/{sha}")}
                },
                "parents": [],
                "files": []
            }),
        )
    }

    fn contents_route(&self, repo: &FakeRepo, path: &str) -> Reply {
        let git_ref = self.query.get("ref").map_or("main", String::as_str);
        let Some(bytes) = raw_file(repo, git_ref, path) else {
            return Reply::not_found();
        };
        if self.accept.contains("vnd.github.raw") {
            return Reply::bytes("application/vnd.github.raw; charset=utf-8", bytes);
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        let api = format!("{}/api/v3/repos/{}", self.base, repo.name);
        let sha = &sha256_hex(&bytes)[..40];
        Reply::json(
            200,
            &json!({
                "type": "file",
                "encoding": "base64",
                "size": bytes.len(),
                "name": name,
                "path": path,
                "content": base64(&bytes),
                "sha": sha,
                "url": format!("{api}/contents/{path}?ref={git_ref}"),
                "git_url": format!("{api}/git/blobs/{sha}"),
                "html_url": format!("{}/{}/blob/{git_ref}/{path}", self.base, repo.name),
                "download_url": format!("{}/raw/{}/{git_ref}/{path}", self.base, repo.name),
                "_links": {
                    "self": format!("{api}/contents/{path}?ref={git_ref}"),
                    "git": format!("{api}/git/blobs/{sha}"),
                    "html": format!("{}/{}/blob/{git_ref}/{path}", self.base, repo.name)
                }
            }),
        )
    }

    /// One page of `items` with GitHub's `Link` header.
    fn paged(&self, items: Vec<Value>) -> Reply {
        let per_page = self
            .query
            .get("per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(30)
            .clamp(1, 100);
        let page = self
            .query
            .get("page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let last = items.len().div_ceil(per_page).max(1);
        let start = ((page - 1) * per_page).min(items.len());
        let end = (start + per_page).min(items.len());
        let reply = Reply::json(200, &Value::Array(items[start..end].to_vec()));
        let link = |n: usize, rel: &str| {
            format!(
                "<{}{}?per_page={per_page}&page={n}>; rel=\"{rel}\"",
                self.base, self.path
            )
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(link(page - 1, "prev"));
        }
        if page < last {
            links.push(link(page + 1, "next"));
            links.push(link(last, "last"));
        }
        if page > 1 {
            links.push(link(1, "first"));
        }
        if links.is_empty() {
            reply
        } else {
            reply.header("link", links.join(", "))
        }
    }

    fn repo_json(&self, repo: &FakeRepo) -> Value {
        let (owner, name) = repo.name.split_once('/').unwrap_or((&repo.name, ""));
        json!({
            "id": repo.id,
            "node_id": format!("R_{}", repo.id),
            "name": name,
            "full_name": repo.name,
            "owner": user_json(owner),
            "private": false,
            "html_url": format!("{}/{}", self.base, repo.name),
            "url": format!("{}/api/v3/repos/{}", self.base, repo.name),
            "default_branch": "main",
            "archived": false
        })
    }

    fn release_json(&self, repo: &FakeRepo, stored: &StoredRelease) -> Value {
        let r = &stored.release;
        let api = format!("{}/api/v3/repos/{}", self.base, repo.name);
        let assets: Vec<Value> = (0..r.assets.len())
            .map(|i| self.asset_json(repo, stored, i))
            .collect();
        let mut release = json!({
            "url": format!("{api}/releases/{}", stored.id),
            "html_url": format!("{}/{}/releases/tag/{}", self.base, repo.name, encode(&r.tag)),
            "assets_url": format!("{api}/releases/{}/assets", stored.id),
            "upload_url": format!("{}/uploads/repos/{}/releases/{}/assets{{?name,label}}", self.base, repo.name, stored.id),
            "tarball_url": format!("{api}/tarball/{}", encode(&r.tag)),
            "zipball_url": format!("{api}/zipball/{}", encode(&r.tag)),
            "id": stored.id,
            "node_id": format!("RE_{}", stored.id),
            "tag_name": r.tag,
            "target_commitish": r.target_commitish,
            "name": r.name,
            "body": r.body,
            "draft": r.draft,
            "prerelease": r.prerelease,
            "created_at": "2024-03-06T12:00:00Z",
            "published_at": if r.draft { Value::Null } else { json!("2024-03-06T12:00:00Z") },
            "author": user_json("octocat"),
            "assets": assets
        });
        if let (Some(flag), Some(obj)) = (r.immutable, release.as_object_mut()) {
            obj.insert("immutable".to_owned(), json!(flag));
        }
        release
    }

    fn asset_json(&self, repo: &FakeRepo, stored: &StoredRelease, index: usize) -> Value {
        let asset = &stored.release.assets[index];
        let id = stored.asset_ids[index];
        let mut browser_url = download_url(self.base, &repo.name, &stored.release.tag, &asset.name);
        match self.reflected {
            Some((Reflect::DownloadQuery, auth)) => {
                browser_url = format!("{browser_url}?auth={}", encode(auth));
            }
            Some((Reflect::DownloadPath, auth)) => {
                let token = auth.rsplit(' ').next().unwrap_or(auth);
                browser_url = format!(
                    "{}/dl/{}/releases/download/{}/{token}/{}",
                    self.base,
                    repo.name,
                    encode(&stored.release.tag),
                    encode(&asset.name)
                );
            }
            _ => {}
        }
        json!({
            "url": format!("{}/api/v3/repos/{}/releases/assets/{id}", self.base, repo.name),
            "browser_download_url": browser_url,
            "id": id,
            "node_id": format!("RA_{id}"),
            "name": asset.name,
            "label": "",
            "state": "uploaded",
            "content_type": "application/octet-stream",
            "size": asset.bytes.len(),
            "digest": asset.digest_json(),
            "download_count": 0,
            "created_at": "2024-03-06T12:00:00Z",
            "updated_at": "2024-03-06T12:00:00Z",
            "uploader": user_json("octocat")
        })
    }

    fn tag_json(&self, repo: &FakeRepo, name: &str, sha: &str) -> Value {
        let api = format!("{}/api/v3/repos/{}", self.base, repo.name);
        json!({
            "name": name,
            "zipball_url": format!("{api}/zipball/refs/tags/{}", encode(name)),
            "tarball_url": format!("{api}/tarball/refs/tags/{}", encode(name)),
            "commit": {"sha": sha, "url": format!("{api}/commits/{sha}")},
            "node_id": format!("REF_{name}")
        })
    }
}

fn user_json(login: &str) -> Value {
    json!({"login": login, "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": false})
}

fn download_url(base: &str, repo: &str, tag: &str, name: &str) -> String {
    format!(
        "{base}/dl/{repo}/releases/download/{}/{}",
        encode(tag),
        encode(name)
    )
}

fn find_asset<'a>(
    repo: &'a FakeRepo,
    tag: &str,
    name: &str,
) -> Option<(&'a StoredRelease, &'a FakeAsset)> {
    repo.releases
        .iter()
        .rev()
        .filter(|r| r.release.tag == tag)
        .find_map(|r| {
            r.release
                .assets
                .iter()
                .find(|a| a.name == name)
                .map(|a| (r, a))
        })
}

/// git's smart HTTP `git-upload-pack` at `/{owner}/{repo}.git/` (and
/// under `/dl/`, where github.com is mirrored), protocol v2 only, and of
/// its commands only `ls-refs`: one line per tag under a `ref-prefix`
/// (every tag without one), as `{sha} refs/tags/{name}`; the fake's tags
/// are lightweight, so there is no `peeled:`.
fn git_route(state: &ServerState, path: &str, body: &[u8], headers: &HeaderMap) -> Reply {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (owner, name) = match parts.as_slice() {
        ["dl", owner, name, "git-upload-pack"] | [owner, name, "git-upload-pack"] => {
            (*owner, name.trim_end_matches(".git"))
        }
        _ => return Reply::not_found(),
    };
    let Some(repo) = state.repo(owner, name) else {
        return Reply::bytes("text/plain", &b"Repository not found."[..]).status(404);
    };
    if header_text(headers, header::HeaderName::from_static("git-protocol")).as_deref()
        != Some("version=2")
    {
        return Reply::bytes("text/plain", &b"protocol v2 only"[..]).status(400);
    }
    // The request's pkt-lines, up to the flush.
    let mut lines = Vec::new();
    let mut rest = body;
    while rest.len() >= 4 {
        let len = std::str::from_utf8(&rest[..4])
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok());
        match len {
            Some(0) => break,
            Some(1) => rest = &rest[4..],
            Some(len) if len > 4 && len <= rest.len() => {
                lines.push(String::from_utf8_lossy(&rest[4..len]).trim_end().to_owned());
                rest = &rest[len..];
            }
            _ => return Reply::bytes("text/plain", &b"bad pkt-line"[..]).status(400),
        }
    }
    if lines.first().map(String::as_str) != Some("command=ls-refs") {
        return Reply::bytes("text/plain", &b"ls-refs only"[..]).status(400);
    }
    let prefixes: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("ref-prefix "))
        .collect();
    let mut out = String::new();
    for (tag, sha) in &repo.tags {
        let refname = format!("refs/tags/{tag}");
        if prefixes.is_empty() || prefixes.iter().any(|p| refname.starts_with(p)) {
            let line = format!("{sha} {refname}\n");
            let _ = write!(out, "{:04x}{line}", line.len() + 4);
        }
    }
    out.push_str("0000");
    Reply::bytes("application/x-git-upload-pack-result", out.into_bytes())
}

/// The commit a tag, branch or known sha names.
fn resolve(repo: &FakeRepo, git_ref: &str) -> Option<String> {
    let named = repo
        .tags
        .iter()
        .chain(&repo.branches)
        .find(|(name, _)| name == git_ref)
        .map(|(_, sha)| sha.clone());
    named.or_else(|| {
        let known = repo
            .tags
            .iter()
            .chain(&repo.branches)
            .any(|(_, sha)| sha == git_ref)
            || repo.files.keys().any(|(commit, _)| commit == git_ref);
        known.then(|| git_ref.to_owned())
    })
}

fn raw_file(repo: &FakeRepo, git_ref: &str, path: &str) -> Option<Bytes> {
    let commit = resolve(repo, git_ref).unwrap_or_else(|| git_ref.to_owned());
    repo.files
        .get(&(commit, path.trim_start_matches('/').to_owned()))
        .cloned()
}

fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(&v.replace('+', " ")))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a path segment.
fn encode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
