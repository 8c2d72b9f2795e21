//! A real OCI registry for tests: the CNCF distribution registry from
//! Debian's `docker-registry` package (`/usr/bin/docker-registry`, see
//! `.ci/run`), started on `127.0.0.1:<free port>` with its storage in a
//! temporary directory, and stopped when dropped.
//!
//! Three ways in: no auth; htpasswd (bcrypt, made with `htpasswd -B` from
//! `apache2-utils`); and distribution's token auth, with the realm served
//! by [`TokenServer`], which checks Basic credentials and signs ES256 JWTs
//! with a test key made by `openssl` (the registry trusts its certificate
//! through `rootcertbundle`).
//!
//! Include it from a test file with
//! `#[path = "support/registry.rs"] mod registry;`.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// The repository tests use.
pub const NAME: &str = "vendor-cache";
pub const USER: &str = "ci-runner";
pub const PASSWORD: &str = "s3cret-registry-pass";

pub enum Auth {
    None,
    Htpasswd,
    Token,
}

pub struct Registry {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    pub token: Option<TokenServer>,
}

/// A free port on 127.0.0.1 (bound, then released for the registry).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        let binary = Path::new("/usr/bin/docker-registry");
        assert!(
            binary.exists(),
            "the registry tests need Debian's docker-registry package (see .ci/run)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut auth_yaml = String::new();
        let mut token = None;
        match auth {
            Auth::None => {}
            Auth::Htpasswd => {
                let file = dir.path().join("htpasswd");
                let line = run(Command::new("htpasswd").args(["-Bbn", USER, PASSWORD]));
                std::fs::write(&file, line).expect("write htpasswd");
                auth_yaml = format!(
                    "auth:\n  htpasswd:\n    realm: vendor-test\n    path: {}\n",
                    file.display()
                );
            }
            Auth::Token => {
                let server = TokenServer::start(dir.path());
                auth_yaml = format!(
                    "auth:\n  token:\n    realm: {}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
                    server.url,
                    server.cert.display()
                );
                token = Some(server);
            }
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut registry = Registry {
            port,
            dir,
            child: Some(child),
            token,
        };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.get_status("/v2/") {
                assert!(status == 200 || status == 401, "GET /v2/: {status}");
                return;
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("docker-registry exited ({status}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not start: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The status of a plain `GET` without credentials, `None` when nothing
    /// answers.
    pub fn get_status(&self, path: &str) -> Option<u16> {
        let (status, _, _) = self.request("GET", path, None)?;
        Some(status)
    }

    /// One HTTP/1.1 request by hand (the spec's wire format, independent of
    /// the client under test): status, headers, body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
    ) -> Option<(u16, String, Vec<u8>)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n{auth}Connection: close\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).ok()?;
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        let mut body = raw[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        Some((status, head, body))
    }

    /// `oci://127.0.0.1:PORT/vendor-cache`.
    pub fn url(&self) -> String {
        format!("oci://127.0.0.1:{}/{NAME}", self.port)
    }

    /// `127.0.0.1:PORT`, as Docker config files key it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where the registry keeps the bytes of a blob.
    pub fn blob_file(&self, sha256: &str) -> PathBuf {
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&sha256[..2])
            .join(sha256)
            .join("data")
    }

    /// The registry's storage directory.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Stops the registry (it no longer answers).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&body[..end]).trim(), 16).unwrap_or(0);
        if size == 0 || body.len() < end + 2 + size {
            return out;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[(end + 4 + size).min(body.len())..];
    }
}

/// A Docker config directory (for `DOCKER_CONFIG`) holding `auth` for
/// `host`.
pub fn docker_config(dir: &Path, host: &str, user: &str, password: &str) -> PathBuf {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let config = serde_json::json!({ "auths": { host: { "auth": auth } } });
    std::fs::create_dir_all(dir).expect("docker config dir");
    std::fs::write(dir.join("config.json"), config.to_string()).expect("config.json");
    dir.to_path_buf()
}

pub const SERVICE: &str = "vendor-test-registry";
pub const ISSUER: &str = "vendor-test-issuer";

/// The token realm of distribution's token auth: `GET /token?service=&scope=`
/// with Basic auth answers `{"token": JWT}` granting what the scope asks,
/// for [`USER`]/[`PASSWORD`] only. Every request is logged.
/// What the token server saw: the request URI and its `Authorization`.
pub type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

pub struct TokenServer {
    pub url: String,
    pub cert: PathBuf,
    pub requests: Log,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Signer {
    key: p256::ecdsa::SigningKey,
    kid: String,
}

impl TokenServer {
    fn start(dir: &Path) -> TokenServer {
        let key = dir.join("token-key.pem");
        let pkcs8 = dir.join("token-key.pk8.pem");
        let cert = dir.join("token-cert.pem");
        run(Command::new("openssl")
            .args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ])
            .arg(&key));
        run(Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&pkcs8));
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-new",
                "-subj",
                "/CN=vendor-test-token",
                "-days",
                "2",
                "-key",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert));
        let der = run(Command::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&key));
        use p256::pkcs8::DecodePrivateKey as _;
        use sha2::Digest as _;
        let pem = std::fs::read_to_string(&pkcs8).expect("key");
        let signer = Arc::new(Signer {
            key: p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).expect("pkcs8 key"),
            kid: libtrust_key_id(&sha2::Sha256::digest(&der)[..30]),
        });
        let requests: Log = Arc::default();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let log = requests.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("addr");
                let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
                    let signer = signer.clone();
                    let log = log.clone();
                    async move { answer(&signer, &log, request) }
                });
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = shutdown_rx => {}
                }
            });
        });
        let addr = addr_rx.recv().expect("token server started");
        TokenServer {
            url: format!("http://{addr}"),
            cert,
            requests,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.requests.lock().expect("log").clone()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// libtrust's key id, which distribution matches a JWT's `kid` against:
/// base32 of the first 240 bits of the sha256 of the DER public key, in
/// groups of four joined by `:`.
fn libtrust_key_id(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u32;
    let mut count = 0;
    let mut text = String::new();
    for &b in bytes {
        bits = (bits << 8) | u32::from(b);
        count += 8;
        while count >= 5 {
            count -= 5;
            text.push(ALPHABET[((bits >> count) & 31) as usize] as char);
        }
    }
    if count > 0 {
        text.push(ALPHABET[((bits << (5 - count)) & 31) as usize] as char);
    }
    text.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

fn answer(
    signer: &Signer,
    log: &Mutex<Vec<(String, Option<String>)>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse as _;
    let query = request.uri().query().unwrap_or("").to_owned();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    log.lock()
        .expect("log")
        .push((request.uri().to_string(), authorization.clone()));
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    if authorization.as_deref() != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, "bad credentials").into_response();
    }
    let mut scope = None;
    for pair in query.split('&') {
        if let Some(v) = pair.strip_prefix("scope=") {
            scope = Some(percent_decode(v));
        }
    }
    let access: Vec<serde_json::Value> = scope
        .iter()
        .filter_map(|s| {
            let mut parts = s.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(serde_json::json!({
                "type": kind, "name": name,
                "actions": actions.split(',').collect::<Vec<_>>(),
            }))
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": signer.kid});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": USER, "aud": SERVICE,
        "exp": now + 600, "nbf": now - 60, "iat": now - 60,
        "jti": format!("{now}-{}", log.lock().expect("log").len()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    use p256::ecdsa::signature::Signer as _;
    let signature: p256::ecdsa::Signature = signer.key.sign(signing_input.as_bytes());
    let jwt = format!("{signing_input}.{}", b64(&signature.to_bytes()));
    axum::Json(serde_json::json!({ "token": jwt, "expires_in": 600 })).into_response()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
