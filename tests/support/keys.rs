//! Keys and signatures made at test time by the independent tools
//! (`minisign`, `openssl` in cosign's blob format, `gpg`), never by this
//! project's code.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::build::sha256_hex;

/// Runs a tool; panics with its output if it fails or is missing.
pub fn tool(program: &str, args: &[&str], env: &[(&str, &Path)]) -> Vec<u8> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        let package = match program {
            "gpg" | "gpgconf" => "gnupg",
            other => other,
        };
        panic!("cannot run {program} ({e}); install the Debian package {package}")
    });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A scratch directory for keys and signatures (short path: gpg's agent
/// socket lives in it).
pub struct Keys {
    dir: TempDir,
}

impl Keys {
    pub fn new() -> Keys {
        Keys {
            dir: tempfile::Builder::new()
                .prefix("vk")
                .tempdir_in("/tmp")
                .unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    pub fn s(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    // ----- minisign ------------------------------------------------------

    /// A minisign key pair `<name>.pub`/`<name>.key`; returns its key id.
    pub fn minisign_key(&self, name: &str) -> String {
        tool(
            "minisign",
            &[
                "-G",
                "-W",
                "-f",
                "-p",
                &self.s(&format!("{name}.pub")),
                "-s",
                &self.s(&format!("{name}.key")),
            ],
            &[],
        );
        // "untrusted comment: minisign public key 0123ABCD…"
        let text = String::from_utf8(self.read(&format!("{name}.pub"))).unwrap();
        let first = text.lines().next().unwrap();
        // minisign prints the id without leading zeros; the lock pads it.
        format!("{:0>16}", first.rsplit(' ').next().unwrap().to_uppercase())
    }

    pub fn minisign(&self, key: &str, data: &[u8]) -> Vec<u8> {
        let file = self.write("data", data);
        tool(
            "minisign",
            &[
                "-S",
                "-s",
                &self.s(&format!("{key}.key")),
                "-m",
                &file.to_string_lossy(),
                "-x",
                &self.s("data.minisig"),
            ],
            &[],
        );
        self.read("data.minisig")
    }

    // ----- cosign (openssl) -----------------------------------------------

    /// An ECDSA P-256 key pair `<name>.pem`/`<name>.pub.pem`; returns
    /// `sha256:` of its SPKI DER, computed by openssl and sha256.
    pub fn cosign_key(&self, name: &str) -> String {
        let key = self.s(&format!("{name}.pem"));
        let public = self.s(&format!("{name}.pub.pem"));
        tool(
            "openssl",
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                &key,
            ],
            &[],
        );
        tool(
            "openssl",
            &["ec", "-in", &key, "-pubout", "-out", &public],
            &[],
        );
        let der = tool(
            "openssl",
            &["pkey", "-pubin", "-in", &public, "-outform", "DER"],
            &[],
        );
        format!("sha256:{}", sha256_hex(&der))
    }

    /// cosign's blob signature: base64 of openssl's DER ECDSA signature
    /// over the file's sha256.
    pub fn cosign(&self, key: &str, data: &[u8]) -> Vec<u8> {
        let file = self.write("data", data);
        let der = self.s("data.der");
        tool(
            "openssl",
            &[
                "dgst",
                "-sha256",
                "-sign",
                &self.s(&format!("{key}.pem")),
                "-out",
                &der,
                &file.to_string_lossy(),
            ],
            &[],
        );
        tool("openssl", &["base64", "-A", "-in", &der], &[])
    }

    // ----- OpenPGP (gpg) ---------------------------------------------------

    pub fn gpg(&self, args: &[&str]) -> Vec<u8> {
        let home = self.path("gnupg");
        std::fs::create_dir_all(&home).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut all = vec![
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ];
        all.extend_from_slice(args);
        tool("gpg", &all, &[("GNUPGHOME", &home)])
    }

    /// The fingerprints gpg lists for `key` (a user id or fingerprint):
    /// the primary key's first, then its subkeys'.
    pub fn fingerprints(&self, key: &str) -> Vec<String> {
        let listing =
            String::from_utf8(self.gpg(&["--with-colons", "--fingerprint", key])).unwrap();
        listing
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .filter_map(|l| l.split(':').nth(9))
            .map(str::to_owned)
            .collect()
    }

    /// gpg with its clock at `time` (`20200101T000000`).
    pub fn gpg_at(&self, time: &str, args: &[&str]) -> Vec<u8> {
        let faked = format!("{time}!");
        let mut all = vec!["--faked-system-time", faked.as_str()];
        all.extend_from_slice(args);
        self.gpg(&all)
    }

    /// A signing key made on 2020-01-01 that expires ten days later, and a
    /// signature over `data` made by it on 2020-02-01, after its expiry
    /// (the signer extended the key in their own keyring only; gpg refuses
    /// to sign with an expired key). With `subkey`, a signing subkey
    /// carries the expiry and makes the signature, the primary never
    /// expires. Returns `(primary fingerprint, published keyring, sig)`.
    pub fn pgp_signed_after_expiry(
        &self,
        name: &str,
        data: &[u8],
        subkey: bool,
    ) -> (String, Vec<u8>, Vec<u8>) {
        let uid = format!("{name} <{name}@example.invalid>");
        let t0 = "20200101T000000";
        let primary_expiry = if subkey { "never" } else { "10d" };
        self.gpg_at(
            t0,
            &["--quick-gen-key", &uid, "ed25519", "sign", primary_expiry],
        );
        let listing =
            String::from_utf8(self.gpg(&["--with-colons", "--fingerprint", &uid])).unwrap();
        let fpr = listing
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap()
            .to_owned();
        let signer = if subkey {
            self.gpg_at(t0, &["--quick-add-key", &fpr, "ed25519", "sign", "10d"]);
            let listing =
                String::from_utf8(self.gpg(&["--with-colons", "--fingerprint", &fpr])).unwrap();
            listing
                .lines()
                .filter(|l| l.starts_with("fpr:"))
                .filter_map(|l| l.split(':').nth(9))
                .next_back()
                .unwrap()
                .to_owned()
        } else {
            fpr.clone()
        };
        let published = self.gpg(&["--armor", "--export", &fpr]);
        let later = "20200101T000100";
        if subkey {
            self.gpg_at(later, &["--quick-set-expire", &fpr, "0", &signer]);
        } else {
            self.gpg_at(later, &["--quick-set-expire", &fpr, "0"]);
        }
        let file = self.write("data", data);
        let out = self.s("data.sig");
        let exact = format!("{signer}!");
        self.gpg_at(
            "20200201T000000",
            &[
                "--local-user",
                &exact,
                "--armor",
                "--detach-sign",
                "--output",
                &out,
                &file.to_string_lossy(),
            ],
        );
        (fpr, published, self.read("data.sig"))
    }

    /// A new ed25519 signing key; writes its armored public key to
    /// `<name>.asc` and returns its fingerprint as gpg prints it.
    pub fn pgp_key(&self, name: &str) -> String {
        let uid = format!("{name} <{name}@example.invalid>");
        self.gpg(&["--quick-gen-key", &uid, "ed25519", "sign", "never"]);
        let fpr = self.fingerprints(&uid).remove(0);
        let public = self.gpg(&["--armor", "--export", &fpr]);
        self.write(&format!("{name}.asc"), &public);
        fpr
    }

    pub fn pgp(&self, fpr: &str, data: &[u8], armor: bool) -> Vec<u8> {
        let file = self.write("data", data);
        let out = self.s("data.sig");
        let mut args = vec!["--local-user", fpr, "--detach-sign", "--output", &out];
        if armor {
            args.push("--armor");
        }
        let file = file.to_string_lossy().into_owned();
        args.push(&file);
        self.gpg(&args);
        self.read("data.sig")
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let home = self.path("gnupg");
        if home.exists() {
            let _ = Command::new("gpgconf")
                .args(["--kill", "gpg-agent"])
                .env("GNUPGHOME", &home)
                .output();
        }
    }
}
