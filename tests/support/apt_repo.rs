//! A real APT archive built at test time with Debian's own tools:
//! packages made by `dpkg-deb --build`, `Packages` and `Release` by
//! `apt-ftparchive` (Debian package `apt-utils`), `InRelease` by `gpg
//! --clearsign` and `Release.gpg` by `gpg --detach-sign`, with a key the
//! test makes. The archive is laid out as a snapshot service lays out its
//! snapshots (`{root}/ubuntu/{timestamp}/dists/…`, `…/pool/…`) and served
//! from `127.0.0.1:0` by [`Server`].
//!
//! Include it with `#[path = "support/apt_repo.rs"] mod apt_repo;` beside
//! `#[path = "support/keys.rs"] mod keys;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::keys::Keys;
pub use super::support::snapshot_server::Server;

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

    /// This package built for `arch` instead.
    pub fn on(mut self, arch: &str) -> Pkg {
        self.arch = arch.to_owned();
        self
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
    /// The architectures every suite has an index for.
    archs: Vec<String>,
    /// Whether releases are dated and signed at their snapshot's time
    /// (else: now).
    dated: bool,
    /// The releases' `Origin`.
    origin: String,
    /// Whether `Packages.xz` is two concatenated xz streams, as some
    /// archives publish (APT itself reads only the first).
    split_xz: bool,
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
            archs: vec!["amd64".to_owned()],
            dated: false,
            origin: "Test".to_owned(),
            split_xz: true,
        }
    }

    /// This archive with indexes for `archs` instead.
    pub fn for_archs(mut self, archs: &[&str]) -> AptRepo {
        self.archs = archs.iter().map(|a| (*a).to_owned()).collect();
        self
    }

    /// An empty archive of `origin` for `archs` whose key `uid` was made
    /// at `key_time` (`YYYYMMDDTHHMMSS`), and whose releases carry their
    /// snapshot's timestamp as `Date` and are signed at that time, as a
    /// snapshot service's are.
    pub fn dated(origin: &str, uid: &str, key_time: &str, archs: &[&str]) -> AptRepo {
        let keys = Keys::new();
        keys.gpg_at(
            key_time,
            &["--quick-gen-key", uid, "ed25519", "sign", "never"],
        );
        let fpr = keys.fingerprints(uid).remove(0);
        let public = keys.gpg(&["--armor", "--export", &fpr]);
        keys.write("archive.asc", &public);
        AptRepo {
            dir: tempfile::tempdir().expect("archive dir"),
            keys,
            fpr,
            built: Default::default(),
            archs: archs.iter().map(|a| (*a).to_owned()).collect(),
            dated: true,
            origin: origin.to_owned(),
            split_xz: false,
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
    /// `main`, for the archive's architectures: each suite's Packages per
    /// architecture (plain, .gz, and .xz as two concatenated xz streams),
    /// Release (by-hash), InRelease and Release.gpg. Cross-checks
    /// InRelease with `gpgv`.
    pub fn snapshot(&self, ts: &str, suites: &[(&str, Vec<Pkg>)]) {
        let root = self.snapshot_dir(ts);
        for (suite, pkgs) in suites {
            let pool = root.join("pool").join(suite);
            std::fs::create_dir_all(&pool).unwrap();
            for p in pkgs {
                self.build_deb(p, &pool);
            }
            for arch in &self.archs {
                let dir = root
                    .join("dists")
                    .join(suite)
                    .join(format!("main/binary-{arch}"));
                std::fs::create_dir_all(&dir).unwrap();
                let packages = run(
                    &root,
                    "apt-ftparchive",
                    &["--arch", arch, "packages", &format!("pool/{suite}")],
                    "apt-utils",
                );
                std::fs::write(dir.join("Packages"), &packages).unwrap();
                run(&dir, "gzip", &["-9", "-k", "-n", "Packages"], "gzip");
                // Two xz streams, as some archives publish.
                let half = packages.len() / 2;
                let parts: Vec<&[u8]> = if self.split_xz {
                    vec![&packages[..half], &packages[half..]]
                } else {
                    vec![&packages[..]]
                };
                let mut xz = Vec::new();
                for part in parts {
                    std::fs::write(dir.join("part"), part).unwrap();
                    xz.extend(run(&dir, "xz", &["-c", "part"], "xz-utils"));
                }
                std::fs::remove_file(dir.join("part")).unwrap();
                std::fs::write(dir.join("Packages.xz"), xz).unwrap();
            }
            let dists = root.join("dists").join(suite);
            let archs = format!(
                "APT::FTPArchive::Release::Architectures={}",
                self.archs.join(" ")
            );
            let mut args = vec![
                "-o".to_owned(),
                "APT::FTPArchive::DoByHash=1".to_owned(),
                "-o".to_owned(),
                format!("APT::FTPArchive::Release::Suite={suite}"),
                "-o".to_owned(),
                format!("APT::FTPArchive::Release::Codename={suite}"),
                "-o".to_owned(),
                format!("APT::FTPArchive::Release::Origin={}", self.origin),
                "-o".to_owned(),
                archs,
                "-o".to_owned(),
                "APT::FTPArchive::Release::Components=main".to_owned(),
            ];
            if self.dated {
                args.push("-o".to_owned());
                args.push(format!(
                    "APT::FTPArchive::Release::Date={}",
                    release_date(ts)
                ));
            }
            args.push("release".to_owned());
            args.push(format!("dists/{suite}"));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let release = run(&root, "apt-ftparchive", &args, "apt-utils");
            std::fs::write(dists.join("Release"), &release).unwrap();
            if self.dated {
                self.sign_at(&dists, Some(ts.trim_end_matches('Z')));
            } else {
                self.sign(&dists);
            }
        }
    }

    /// (Re)signs `dists/SUITE/Release` into InRelease and Release.gpg with
    /// the archive key, and checks InRelease with gpgv.
    pub fn sign(&self, dists: &Path) {
        self.sign_at(dists, None);
    }

    /// [`AptRepo::sign`] with gpg's clock at `time` (`YYYYMMDDTHHMMSS`).
    fn sign_at(&self, dists: &Path, time: Option<&str>) {
        let gpg = |args: &[&str]| match time {
            Some(t) => self.keys.gpg_at(t, args),
            None => self.keys.gpg(args),
        };
        let release = dists.join("Release");
        let r = release.to_string_lossy().into_owned();
        let inrelease = dists.join("InRelease").to_string_lossy().into_owned();
        let detached = dists.join("Release.gpg").to_string_lossy().into_owned();
        let exact = format!("{}!", self.fpr);
        gpg(&[
            "--local-user",
            &exact,
            "--clearsign",
            "--output",
            &inrelease,
            &r,
        ]);
        gpg(&[
            "--local-user",
            &exact,
            "--armor",
            "--detach-sign",
            "--output",
            &detached,
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

/// A snapshot timestamp (`YYYYMMDDTHHMMSSZ`) as a release's `Date`
/// (`Fri, 01 Mar 2024 00:00:00 UTC`), by GNU `date`.
fn release_date(ts: &str) -> String {
    let t = ts.trim_end_matches('Z');
    let when = format!(
        "{}-{}-{} {}:{}:{}",
        &t[0..4],
        &t[4..6],
        &t[6..8],
        &t[9..11],
        &t[11..13],
        &t[13..15]
    );
    let out = run(
        Path::new("/"),
        "date",
        &["-u", "-d", &when, "+%a, %d %b %Y %H:%M:%S UTC"],
        "coreutils",
    );
    String::from_utf8(out).unwrap().trim().to_owned()
}
