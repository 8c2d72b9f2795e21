//! The OCI distribution API, as much of it as the remote cache uses:
//! `GET /v2/` (the auth probe), blobs (`HEAD`/`GET
//! /v2/<name>/blobs/<digest>`, monolithic upload `POST
//! /v2/<name>/blobs/uploads/` then `PUT <location>?digest=<digest>`),
//! manifests (`HEAD`/`GET`/`PUT /v2/<name>/manifests/<tag>`) and tags
//! (`GET /v2/<name>/tags/list`, following `Link: <…>; rel="next"`).
//!
//! Every request goes through the one HTTP client ([`crate::fetch`]) and
//! its URL rules (https, or plain http to loopback only; redirect hops
//! checked), with the client's timeouts and a deadline per request; every
//! answer read whole is bounded in size. Blob downloads stream to disk
//! while hashing, like any download. Credentials ([`super::auth`]) go only
//! to the registry's own origin and its token realm.

use std::path::Path;
use std::time::Duration;

use miette::{Result, miette};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LINK, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode, Url};

use super::auth::{self, Credentials};
use super::layout;
use crate::fetch::{self, Downloaded, FetchError};

/// Largest JSON answer read whole: manifests, tag lists, tokens, errors.
const MAX_JSON: u64 = 4 << 20;
/// Bytes read from a file per upload chunk.
const UPLOAD_CHUNK: usize = 1 << 20;
/// Pages of a tag list followed at most.
const MAX_PAGES: usize = 100;

/// One repository on one registry.
pub struct Repository {
    http: fetch::Client,
    /// `http(s)://host[:port]`.
    base: Url,
    /// The repository name (`org/vendor-cache`).
    name: String,
    /// `oci://host[:port]/name`, for messages.
    pub shown: String,
    creds: Option<Credentials>,
    /// The `Authorization` value in use, once known.
    authorization: tokio::sync::Mutex<Option<String>>,
    deadline: Duration,
    ready: tokio::sync::OnceCell<Result<(), String>>,
}

/// A blob download that failed.
pub enum BlobFailure {
    /// The registry answered with another size than expected: wrong bytes.
    WrongSize {
        expected: u64,
        actual: u64,
    },
    Other(miette::Report),
}

impl Repository {
    pub fn new(
        http: fetch::Client,
        base: Url,
        name: String,
        shown: String,
        creds: Option<Credentials>,
    ) -> Repository {
        let deadline = http.config().deadline;
        let authorization = match &creds {
            Some(Credentials::Bearer(t)) => Some(format!("Bearer {t}")),
            _ => None,
        };
        Repository {
            http,
            base,
            name,
            shown,
            creds,
            authorization: tokio::sync::Mutex::new(authorization),
            deadline,
            ready: tokio::sync::OnceCell::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/v2/{}/{path}",
            self.base.as_str().trim_end_matches('/'),
            self.name
        )
    }

    fn same_origin(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|u| {
            u.scheme() == self.base.scheme()
                && u.host_str() == self.base.host_str()
                && u.port_or_known_default() == self.base.port_or_known_default()
        })
    }

    fn fail(&self, what: &str, reason: impl std::fmt::Display) -> miette::Report {
        miette!("the remote cache {}: {what}: {reason}", self.shown)
    }

    /// `GET /v2/` once per run, authenticating when asked to: whether the
    /// registry can be used at all.
    pub async fn ready(&self) -> Result<(), String> {
        self.ready
            .get_or_init(|| async {
                let url = format!("{}/v2/", self.base.as_str().trim_end_matches('/'));
                match self.send(Method::GET, &url, Ok).await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(self.status_message(r).await),
                    Err(e) => Err(format!("{e}")),
                }
            })
            .await
            .clone()
    }

    /// Sends a request with the current credentials (to the registry's
    /// origin only); a `401` is answered with the challenge's handshake
    /// and the request sent once more. `build` adds headers and the body
    /// (called again for the second attempt).
    async fn send(
        &self,
        method: Method,
        url: &str,
        build: impl Fn(reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder>,
    ) -> Result<reqwest::Response> {
        self.send_within(method, url, self.deadline, build).await
    }

    async fn send_within(
        &self,
        method: Method,
        url: &str,
        deadline: Duration,
        build: impl Fn(reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder>,
    ) -> Result<reqwest::Response> {
        for attempt in 0..2 {
            let mut request = self.http.service_request(method.clone(), url)?;
            if self.same_origin(url)
                && let Some(a) = self.authorization.lock().await.clone()
            {
                request = request.header(AUTHORIZATION, a);
            }
            let request = build(request)?;
            let response = match tokio::time::timeout(deadline, request.send()).await {
                Err(_) => {
                    return Err(self.fail(
                        "no answer",
                        format!("nothing within {} s", deadline.as_secs()),
                    ));
                }
                Ok(Err(e)) => return Err(self.http.service_error(e, url).into()),
                Ok(Ok(r)) => r,
            };
            if response.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                let challenge = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                self.authenticate(challenge.as_deref()).await?;
                continue;
            }
            return Ok(response);
        }
        Err(self.fail("authentication", "refused"))
    }

    /// Answers a `WWW-Authenticate` challenge: Basic with the configured
    /// user, or a token from the realm.
    async fn authenticate(&self, challenge: Option<&str>) -> Result<()> {
        let Some(challenge) = challenge.and_then(auth::parse_challenge) else {
            return Err(self.fail(
                "authentication",
                "HTTP 401 without a usable WWW-Authenticate challenge",
            ));
        };
        let need_creds = || {
            miette!(
                code = "vendor::registry::credentials",
                help = "log in with `docker login` (the Docker config file, DOCKER_CONFIG), or set \
                        VENDOR_CACHE_REMOTE_TOKEN",
                "the remote cache {} asks for credentials and none are configured for it",
                self.shown
            )
        };
        let value = match challenge.scheme.as_str() {
            "basic" => self
                .creds
                .as_ref()
                .and_then(Credentials::basic)
                .ok_or_else(need_creds)?,
            "bearer" => {
                if let Some(Credentials::Bearer(_)) = &self.creds {
                    return Err(miette!(
                        code = "vendor::registry::credentials",
                        help = "VENDOR_CACHE_REMOTE_TOKEN is sent as is; give a current token, \
                                or unset it to use the Docker config file",
                        "the remote cache {} refused the token in VENDOR_CACHE_REMOTE_TOKEN",
                        self.shown
                    ));
                }
                let realm = challenge.param("realm").ok_or_else(|| {
                    self.fail("authentication", "a Bearer challenge without realm")
                })?;
                let scope = format!("repository:{}:pull,push", self.name);
                let token = self
                    .token(realm, challenge.param("service"), &scope)
                    .await?;
                crate::secret::register(&token);
                format!("Bearer {token}")
            }
            other => {
                return Err(self.fail("authentication", format!("unsupported scheme `{other}`")));
            }
        };
        *self.authorization.lock().await = Some(value);
        Ok(())
    }

    /// A token from the realm for `scope`.
    async fn token(&self, realm: &str, service: Option<&str>, scope: &str) -> Result<String> {
        let mut url = Url::parse(realm)
            .map_err(|e| self.fail("the token realm", format!("`{realm}` is no URL: {e}")))?;
        let mut form = Url::parse("x:").map_err(|e| self.fail("form", e))?;
        {
            let mut q = form.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            q.append_pair("scope", scope);
            if let Some(Credentials::Identity(t)) = &self.creds {
                q.append_pair("grant_type", "refresh_token")
                    .append_pair("client_id", "vendor")
                    .append_pair("refresh_token", t);
            }
        }
        let form = form.query().unwrap_or("").to_owned();
        let identity = matches!(&self.creds, Some(Credentials::Identity(_)));
        let basic = self.creds.as_ref().and_then(Credentials::basic);
        let request = if identity {
            self.http
                .service_request(Method::POST, url.as_str())?
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form)
        } else {
            url.set_query(Some(&form));
            let r = self.http.service_request(Method::GET, url.as_str())?;
            match &basic {
                Some(b) => r.header(AUTHORIZATION, b),
                None => r,
            }
        };
        let response = tokio::time::timeout(self.deadline, request.send())
            .await
            .map_err(|_| self.fail("the token realm", "no answer in time"))?
            .map_err(|e| self.http.service_error(e, url.as_str()))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let hint = if status == 401 || status == 403 {
                "; check the credentials for it (Docker config file, DOCKER_CONFIG)"
            } else {
                ""
            };
            return Err(miette!(
                code = "vendor::registry::token",
                "the remote cache {}: its token service answered HTTP {status}{hint}",
                self.shown
            ));
        }
        let body = self.read(response, MAX_JSON).await?;
        serde_json::from_slice::<auth::TokenAnswer>(&body)
            .ok()
            .and_then(auth::TokenAnswer::value)
            .ok_or_else(|| self.fail("the token service", "its answer holds no token"))
    }

    /// Reads a body of at most `limit` bytes within the deadline.
    async fn read(&self, response: reqwest::Response, limit: u64) -> Result<Vec<u8>> {
        use futures_util::StreamExt;
        if response.content_length().is_some_and(|l| l > limit) {
            return Err(self.fail("answer", format!("larger than {limit} bytes")));
        }
        let read = async {
            let mut body = Vec::new();
            let mut stream = response.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.fail("answer", e))?;
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(self.fail("answer", format!("larger than {limit} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        tokio::time::timeout(self.deadline, read)
            .await
            .map_err(|_| self.fail("answer", "not complete in time"))?
    }

    /// `HTTP <status>` and the first error of the registry's error JSON
    /// (`{"errors":[{"code","message"}]}`), shortened.
    async fn status_message(&self, response: reqwest::Response) -> String {
        let status = response.status().as_u16();
        let body = self.read(response, 64 << 10).await.unwrap_or_default();
        let detail = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                let e = v.get("errors")?.get(0)?;
                let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                let message = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
                Some(format!(": {code} {message}"))
            })
            .unwrap_or_default();
        let mut text = format!("HTTP {status}{}", detail.trim_end());
        if text.len() > 200 {
            let mut cut = 200;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        text
    }

    async fn status_error(&self, what: &str, response: reqwest::Response) -> miette::Report {
        let message = self.status_message(response).await;
        self.fail(what, message)
    }

    /// Whether the blob with this sha256 is there.
    pub async fn has_blob(&self, hex: &str) -> Result<bool> {
        let url = self.url(&format!("blobs/sha256:{hex}"));
        let response = self.send(Method::HEAD, &url, Ok).await?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error("HEAD blob", response).await),
        }
    }

    /// Streams the blob with this sha256 into `dest`; `None` when the
    /// registry does not have it.
    pub async fn get_blob(
        &self,
        hex: &str,
        dest: &Path,
        size: Option<u64>,
        label: &str,
    ) -> Result<Option<Downloaded>, BlobFailure> {
        let url = self.url(&format!("blobs/sha256:{hex}"));
        for attempt in 0..2 {
            let authorization = self.authorization.lock().await.clone();
            match self
                .http
                .download_authorized(&url, dest, size, authorization.as_deref(), label)
                .await
            {
                Ok(d) => return Ok(Some(d)),
                Err(FetchError::NotFound { .. }) => return Ok(None),
                Err(FetchError::SizeMismatch {
                    expected, actual, ..
                }) => return Err(BlobFailure::WrongSize { expected, actual }),
                Err(FetchError::Status { status: 401, .. }) if attempt == 0 => {
                    // The token expired: a HEAD goes through the handshake.
                    self.has_blob(hex).await.map_err(BlobFailure::Other)?;
                }
                Err(e) => return Err(BlobFailure::Other(self.fail("GET blob", e))),
            }
        }
        Err(BlobFailure::Other(self.fail("GET blob", "HTTP 401")))
    }

    /// Uploads `path` as the blob with this sha256 (monolithic: `POST`
    /// then `PUT ?digest=`), unless the registry has it. Returns whether it
    /// was uploaded. Content addressed: any number of uploads of the same
    /// blob at once end with the same blob.
    pub async fn push_blob(&self, path: &Path, hex: &str, size: u64) -> Result<bool> {
        if self.has_blob(hex).await? {
            return Ok(false);
        }
        let start = self
            .send(Method::POST, &self.url("blobs/uploads/"), |r| {
                Ok(r.header(CONTENT_LENGTH, 0))
            })
            .await?;
        if start.status() != StatusCode::ACCEPTED {
            return Err(self.status_error("starting an upload", start).await);
        }
        let location = start
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| self.base.join(l).ok())
            .ok_or_else(|| self.fail("starting an upload", "no usable Location"))?;
        let mut put = location;
        put.query_pairs_mut()
            .append_pair("digest", &format!("sha256:{hex}"));
        // The body may take long on a slow link: a quarter MiB per second
        // at least, on top of the deadline for the answer.
        let within = self.deadline + Duration::from_secs(size / (256 << 10));
        let response = self
            .send_within(Method::PUT, put.as_str(), within, |r| {
                let file = std::fs::File::open(path)
                    .map_err(|e| self.fail("upload", format!("{}: {e}", path.display())))?;
                Ok(r.header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, size)
                    .body(file_body(tokio::fs::File::from_std(file))))
            })
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.status_error("uploading a blob", response).await);
        }
        Ok(true)
    }

    /// Uploads a small blob held in memory (the empty config, evidence),
    /// unless the registry has it.
    pub async fn push_bytes(&self, bytes: Vec<u8>) -> Result<()> {
        let hex = crate::hash::sha256_hex(&bytes);
        if self.has_blob(&hex).await? {
            return Ok(());
        }
        let mut url =
            Url::parse(&self.url("blobs/uploads/")).map_err(|e| self.fail("upload", e))?;
        url.query_pairs_mut()
            .append_pair("digest", &format!("sha256:{hex}"));
        let body = |r: reqwest::RequestBuilder| {
            Ok(r.header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, bytes.len())
                .body(bytes.clone()))
        };
        // The spec's single-request monolithic upload; a registry that
        // only starts a session (202) gets the PUT.
        let response = self.send(Method::POST, url.as_str(), body).await?;
        match response.status() {
            StatusCode::CREATED => Ok(()),
            StatusCode::ACCEPTED => {
                let mut put = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| self.base.join(l).ok())
                    .ok_or_else(|| self.fail("starting an upload", "no usable Location"))?;
                put.query_pairs_mut()
                    .append_pair("digest", &format!("sha256:{hex}"));
                let done = self.send(Method::PUT, put.as_str(), body).await?;
                if done.status() == StatusCode::CREATED {
                    Ok(())
                } else {
                    Err(self.status_error("uploading a blob", done).await)
                }
            }
            _ => Err(self.status_error("uploading a blob", response).await),
        }
    }

    /// A small blob (at most `limit` bytes), `None` when it is not there.
    /// The caller checks its digest.
    pub async fn get_small(&self, hex: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        let url = self.url(&format!("blobs/sha256:{hex}"));
        let response = self.send(Method::GET, &url, Ok).await?;
        match response.status() {
            s if s.is_success() => self.read(response, limit).await.map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.status_error("GET blob", response).await),
        }
    }

    /// The manifest tagged `tag`, `None` when there is none.
    pub async fn find_manifest(&self, tag: &str) -> Result<Option<Vec<u8>>> {
        let url = self.url(&format!("manifests/{tag}"));
        let response = self
            .send(Method::GET, &url, |r| {
                Ok(r.header(ACCEPT, layout::MANIFEST_TYPE))
            })
            .await?;
        match response.status() {
            s if s.is_success() => self.read(response, MAX_JSON).await.map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.status_error("GET manifest", response).await),
        }
    }

    /// Whether a manifest is tagged `tag`.
    pub async fn has_manifest(&self, tag: &str) -> Result<bool> {
        let url = self.url(&format!("manifests/{tag}"));
        let response = self
            .send(Method::HEAD, &url, |r| {
                Ok(r.header(ACCEPT, layout::MANIFEST_TYPE))
            })
            .await?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error("HEAD manifest", response).await),
        }
    }

    pub async fn put_manifest(&self, tag: &str, bytes: Vec<u8>) -> Result<()> {
        let url = self.url(&format!("manifests/{tag}"));
        let response = self
            .send(Method::PUT, &url, |r| {
                Ok(r.header(CONTENT_TYPE, layout::MANIFEST_TYPE)
                    .body(bytes.clone()))
            })
            .await?;
        if response.status() == StatusCode::CREATED || response.status().is_success() {
            Ok(())
        } else {
            Err(self.status_error("pushing a manifest", response).await)
        }
    }

    pub async fn get_manifest(&self, tag: &str) -> Result<Vec<u8>> {
        let url = self.url(&format!("manifests/{tag}"));
        let response = self
            .send(Method::GET, &url, |r| {
                Ok(r.header(ACCEPT, layout::MANIFEST_TYPE))
            })
            .await?;
        if !response.status().is_success() {
            return Err(self.status_error("GET manifest", response).await);
        }
        self.read(response, MAX_JSON).await
    }

    /// Every tag of the repository (none when it does not exist yet).
    pub async fn tags(&self) -> Result<Vec<String>> {
        let mut tags = Vec::new();
        let mut next = Some(self.url("tags/list?n=1000"));
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(self.fail("tags", format!("more than {MAX_PAGES} pages")));
            }
            let response = self.send(Method::GET, &url, Ok).await?;
            if response.status() == StatusCode::NOT_FOUND {
                break;
            }
            if !response.status().is_success() {
                return Err(self.status_error("listing tags", response).await);
            }
            next = response
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
                .and_then(|l| self.base.join(&l).ok())
                .filter(|u| self.same_origin(u.as_str()))
                .map(String::from);
            let body = self.read(response, MAX_JSON).await?;
            let doc: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| self.fail("tags", format!("not JSON: {e}")))?;
            for t in doc
                .get("tags")
                .and_then(|t| t.as_array())
                .into_iter()
                .flatten()
            {
                // A tag goes into a URL path: only the spec's grammar.
                if let Some(t) = t.as_str().filter(|t| is_tag(t)) {
                    tags.push(t.to_owned());
                }
            }
        }
        Ok(tags)
    }
}

/// A file as a request body in chunks of [`UPLOAD_CHUNK`] (reqwest's own
/// file body reads a few KiB at a time).
fn file_body(file: tokio::fs::File) -> reqwest::Body {
    use tokio::io::AsyncReadExt as _;
    let chunks = futures_util::stream::try_unfold(file, |mut file| async move {
        let mut buf = vec![0u8; UPLOAD_CHUNK];
        let mut filled = 0;
        while filled < buf.len() {
            let n = file.read(&mut buf[filled..]).await?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok::<_, std::io::Error>(None);
        }
        buf.truncate(filled);
        Ok(Some((buf, file)))
    });
    reqwest::Body::wrap_stream(chunks)
}

/// Whether `text` is a tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_tag(text: &str) -> bool {
    let b = text.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// The target of `rel="next"` in a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_links_are_read() {
        assert_eq!(
            super::next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(super::next_link("garbage"), None);
    }

    #[test]
    fn only_tags_in_the_grammar_are_requested() {
        assert!(super::is_tag("tool-1.2.3-abcdef012345"));
        assert!(super::is_tag("_x"));
        for bad in ["", "../x", "a/b", ".x", "-x", "a b", "a?b"] {
            assert!(!super::is_tag(bad), "{bad}");
        }
        assert!(!super::is_tag(&"a".repeat(129)));
    }
}
