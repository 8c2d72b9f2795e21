//! A real APT archive built at test time with Debian's own tools:
//! packages made by `dpkg-deb --build`, `Packages` and `Release` by
//! `apt-ftparchive` (Debian package `apt-utils`), `InRelease` by `gpg
//! --clearsign` and `Release.gpg` by `gpg --detach-sign`, with a key the
//! test makes. The archive is laid out as a snapshot service lays out its
//! snapshots (`{root}/ubuntu/{timestamp}/dists/…`, `…/pool/…`) and served
//! from `127.0.0.1:0` by [`Server`]: a timestamp URL serves the newest
//! snapshot at or before that time, `latest` the newest of all, as the
//! snapshot services do.
//!
//! Include it with `#[path = "support/apt_repo.rs"] mod apt_repo;` beside
//! `#[path = "support/keys.rs"] mod keys;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::keys::Keys;

/// Runs a tool in `dir`; panics with its output if it fails.
fn run(dir: &Path, program: &str, args: &[&str], package: &str) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); install the Debian package {package}")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A binary package to build: name, version, architecture, and files
/// (path inside the package, contents).
#[derive(Clone)]
pub struct Pkg {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub files: Vec<(String, Vec<u8>)>,
    /// `dpkg-deb -Z` compressor of the data member: xz, zstd or gzip.
    pub compression: &'static str,
}

impl Pkg {
    pub fn new(name: &str, version: &str, arch: &str) -> Pkg {
        Pkg {
            name: name.to_owned(),
            version: version.to_owned(),
            arch: arch.to_owned(),
            files: Vec::new(),
            compression: "xz",
        }
    }

    /// This package with its data member compressed by `compression`.
    pub fn compressed(mut self, compression: &'static str) -> Pkg {
        self.compression = compression;
        self
    }

    /// A `linux-image-ABI` package holding `boot/vmlinuz-ABI`.
    pub fn kernel(abi: &str, version: &str) -> Pkg {
        let mut p = Pkg::new(&format!("linux-image-{abi}"), version, "amd64");
        p.files.push((
            format!("boot/vmlinuz-{abi}"),
            format!("kernel image {abi} {version}\n").into_bytes(),
        ));
        p
    }
}

/// The archive on disk and the key that signs it.
pub struct AptRepo {
    pub dir: tempfile::TempDir,
    pub keys: Keys,
    /// The signing key's fingerprint, as gpg prints it.
    pub fpr: String,
    /// Packages built so far, by file name: a pool file is the same
    /// bytes in every snapshot that has it, as in a real archive.
    built: std::cell::RefCell<std::collections::HashMap<String, Vec<u8>>>,
}

impl AptRepo {
    /// An empty archive and a fresh signing key; its armored public key is
    /// at [`AptRepo::keyring`].
    pub fn new() -> AptRepo {
        let keys = Keys::new();
        let fpr = keys.pgp_key("archive");
        AptRepo {
            dir: tempfile::tempdir().expect("archive dir"),
            keys,
            fpr,
            built: Default::default(),
        }
    }

    /// The archive's public keyring (armored).
    pub fn keyring(&self) -> Vec<u8> {
        self.keys.read("archive.asc")
    }

    /// `{dir}/ubuntu`.
    pub fn base(&self) -> PathBuf {
        self.dir.path().join("ubuntu")
    }

    /// A snapshot directory.
    pub fn snapshot_dir(&self, ts: &str) -> PathBuf {
        self.base().join(ts)
    }

    /// Builds snapshot `ts` holding `suites` (name, packages), component
    /// `main`, architecture `amd64`: each suite's Packages (plain, .gz, and
    /// .xz as two concatenated xz streams), Release (by-hash), InRelease
    /// and Release.gpg. Cross-checks InRelease with `gpgv`.
    pub fn snapshot(&self, ts: &str, suites: &[(&str, Vec<Pkg>)]) {
        let root = self.snapshot_dir(ts);
        for (suite, pkgs) in suites {
            let pool = root.join("pool").join(suite);
            std::fs::create_dir_all(&pool).unwrap();
            for p in pkgs {
                self.build_deb(p, &pool);
            }
            let dir = root.join("dists").join(suite).join("main/binary-amd64");
            std::fs::create_dir_all(&dir).unwrap();
            let packages = run(
                &root,
                "apt-ftparchive",
                &["packages", &format!("pool/{suite}")],
                "apt-utils",
            );
            std::fs::write(dir.join("Packages"), &packages).unwrap();
            run(&dir, "gzip", &["-9", "-k", "-n", "Packages"], "gzip");
            // Two xz streams, as some archives publish.
            let half = packages.len() / 2;
            let mut xz = Vec::new();
            for part in [&packages[..half], &packages[half..]] {
                std::fs::write(dir.join("part"), part).unwrap();
                xz.extend(run(&dir, "xz", &["-c", "part"], "xz-utils"));
            }
            std::fs::remove_file(dir.join("part")).unwrap();
            std::fs::write(dir.join("Packages.xz"), xz).unwrap();
            let dists = root.join("dists").join(suite);
            let release = run(
                &root,
                "apt-ftparchive",
                &[
                    "-o",
                    "APT::FTPArchive::DoByHash=1",
                    "-o",
                    &format!("APT::FTPArchive::Release::Suite={suite}"),
                    "-o",
                    &format!("APT::FTPArchive::Release::Codename={suite}"),
                    "-o",
                    "APT::FTPArchive::Release::Origin=Test",
                    "-o",
                    "APT::FTPArchive::Release::Architectures=amd64",
                    "-o",
                    "APT::FTPArchive::Release::Components=main",
                    "release",
                    &format!("dists/{suite}"),
                ],
                "apt-utils",
            );
            std::fs::write(dists.join("Release"), &release).unwrap();
            self.sign(&dists);
        }
    }

    /// (Re)signs `dists/SUITE/Release` into InRelease and Release.gpg with
    /// the archive key, and checks InRelease with gpgv.
    pub fn sign(&self, dists: &Path) {
        let release = dists.join("Release");
        let r = release.to_string_lossy().into_owned();
        let inrelease = dists.join("InRelease").to_string_lossy().into_owned();
        let gpg = dists.join("Release.gpg").to_string_lossy().into_owned();
        let exact = format!("{}!", self.fpr);
        self.keys.gpg(&[
            "--local-user",
            &exact,
            "--clearsign",
            "--output",
            &inrelease,
            &r,
        ]);
        self.keys.gpg(&[
            "--local-user",
            &exact,
            "--armor",
            "--detach-sign",
            "--output",
            &gpg,
            &r,
        ]);
        self.gpgv(&dists.join("InRelease"));
    }

    /// An independent check of a clearsigned file with `gpgv`.
    pub fn gpgv(&self, file: &Path) {
        let keyring = self.keys.path("archive.gpg");
        if !keyring.exists() {
            let binary = self.keys.gpg(&["--export", &self.fpr]);
            std::fs::write(&keyring, binary).unwrap();
        }
        run(
            self.dir.path(),
            "gpgv",
            &[
                "--keyring",
                &keyring.to_string_lossy(),
                &file.to_string_lossy(),
            ],
            "gpgv",
        );
    }

    fn build_deb(&self, p: &Pkg, pool: &Path) {
        let file = format!("{}_{}_{}.deb", p.name, p.version, p.arch);
        if let Some(bytes) = self.built.borrow().get(&file) {
            std::fs::write(pool.join(&file), bytes).unwrap();
            return;
        }
        let stage = tempfile::tempdir().unwrap();
        let debian = stage.path().join("DEBIAN");
        std::fs::create_dir_all(&debian).unwrap();
        std::fs::write(
            debian.join("control"),
            format!(
                "Package: {}\nVersion: {}\nArchitecture: {}\nMaintainer: Test <test@example.invalid>\n\
                 Description: test package {}\n",
                p.name, p.version, p.arch, p.name
            ),
        )
        .unwrap();
        for (path, bytes) in &p.files {
            let file = stage.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, bytes).unwrap();
        }
        let out = pool.join(&file);
        run(
            stage.path(),
            "dpkg-deb",
            &[
                "--root-owner-group",
                &format!("-Z{}", p.compression),
                "--build",
                &stage.path().to_string_lossy(),
                &out.to_string_lossy(),
            ],
            "dpkg",
        );
        self.built
            .borrow_mut()
            .insert(file, std::fs::read(&out).unwrap());
    }
}

/// The HTTP server of an archive; stops when dropped.
pub struct Server {
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves `base` (the directory of snapshot timestamps) at
    /// `{url}/ubuntu/`.
    pub fn start(base: PathBuf) -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .fallback(serve)
            .with_state(std::sync::Arc::new(base));
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("archive server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1:0");
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = shutdown_rx => {}
                }
            });
        });
        let addr = addr_rx.recv().expect("archive server started");
        Server {
            url: format!("http://{addr}"),
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/ubuntu`.
    pub fn base_url(&self) -> String {
        format!("{}/ubuntu", self.url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn not_found() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Body::from("not found"))
        .unwrap()
}

/// `/ubuntu/{ts|latest}/{path}`: the file of the newest snapshot at or
/// before `ts` (or of the newest).
async fn serve(State(base): State<std::sync::Arc<PathBuf>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/ubuntu/") else {
        return not_found();
    };
    let (when, file) = rest.split_once('/').unwrap_or((rest, ""));
    let mut snapshots: Vec<String> = std::fs::read_dir(&*base)
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    snapshots.sort();
    let chosen = if when == "latest" {
        snapshots.last()
    } else {
        snapshots.iter().rev().find(|s| s.as_str() <= when)
    };
    let Some(chosen) = chosen else {
        return not_found();
    };
    if file.split('/').any(|s| s == ".." || s.is_empty()) {
        return not_found();
    }
    match std::fs::read(base.join(chosen).join(file)) {
        Ok(bytes) if !bytes.is_empty() || !file.ends_with('/') => Response::builder()
            .status(StatusCode::OK)
            .body(Body::from(bytes))
            .unwrap(),
        _ => not_found(),
    }
}
