//! Signature verification against keys and signatures made at test time by
//! the independent tools: `minisign`, `openssl` (cosign's blob format) and
//! `gpg`. The tools are required (Debian packages minisign, openssl,
//! gnupg); a missing one fails the test with the package to install.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;
use vendor::manifest::model::SignatureKind;
use vendor::signature::{PublicKey, SignatureError, Verified, verify_bytes, verify_file};

/// Runs `cmd`; panics with its stderr if it fails. `package`: the Debian
/// package that provides the program.
fn run(package: &str, cmd: &mut Command) -> Vec<u8> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{program}` is not installed: install the Debian package `{package}`")
        }
        Err(e) => panic!("cannot run `{program}`: {e}"),
    };
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn tmp() -> TempDir {
    tempfile::tempdir().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn key(kind: SignatureKind, path: &Path) -> PublicKey {
    PublicKey::parse(kind, &fs::read(path).unwrap()).unwrap()
}

/// Verifies from the file and from memory; both must agree.
fn verify(key: &PublicKey, data: &Path, sig: &[u8]) -> Result<Verified, SignatureError> {
    let from_file = verify_file(key, data, None, sig);
    let from_bytes = verify_bytes(key, &fs::read(data).unwrap(), sig);
    assert_eq!(
        from_file.as_ref().map_err(ToString::to_string),
        from_bytes.as_ref().map_err(ToString::to_string)
    );
    from_file
}

/// A file of `mib` MiB written in 1 MiB chunks.
fn large_file(dir: &Path, mib: usize) -> PathBuf {
    let path = dir.join("large.bin");
    let mut file = fs::File::create(&path).unwrap();
    let mut chunk = vec![0u8; 1 << 20];
    for i in 0..mib {
        for (j, b) in chunk.iter_mut().enumerate() {
            *b = (i * 31 + j * 7 + j / 4093) as u8;
        }
        file.write_all(&chunk).unwrap();
    }
    path
}

fn sha256sum(path: &Path) -> String {
    let out = run("coreutils", Command::new("sha256sum").arg(path));
    String::from_utf8(out).unwrap()[..64].to_owned()
}

/// Every prefix of `bytes` (up to `limit` of them, spread over its length).
fn prefixes(bytes: &[u8], limit: usize) -> impl Iterator<Item = &[u8]> {
    let step = (bytes.len() / limit).max(1);
    (0..bytes.len()).step_by(step).map(move |n| &bytes[..n])
}

// ---------------------------------------------------------------- minisign

struct Minisign {
    dir: TempDir,
}

impl Minisign {
    /// A fresh key pair without password (`pub`, `sec`).
    fn new() -> Minisign {
        let dir = tmp();
        run(
            "minisign",
            Command::new("minisign")
                .args(["-G", "-W", "-p", "pub", "-s", "sec"])
                .current_dir(dir.path()),
        );
        Minisign { dir }
    }

    fn public(&self) -> PathBuf {
        self.dir.path().join("pub")
    }

    /// The key id from minisign's own comment line, zero-padded to 16
    /// digits (minisign prints it with `%PRIX64`, without leading zeros).
    fn key_id(&self) -> String {
        let text = fs::read_to_string(self.public()).unwrap();
        let first = text.lines().next().unwrap();
        format!("{:0>16}", first.rsplit(' ').next().unwrap())
    }

    /// Signs `file` (prehashed, or legacy with `-l`).
    fn sign(&self, file: &Path, legacy: bool) -> Vec<u8> {
        let out = self.dir.path().join("out.minisig");
        let mut cmd = Command::new("minisign");
        cmd.arg("-S");
        if legacy {
            cmd.arg("-l");
        }
        cmd.arg("-s")
            .arg(self.dir.path().join("sec"))
            .arg("-m")
            .arg(file)
            .arg("-x")
            .arg(&out);
        run("minisign", &mut cmd);
        fs::read(out).unwrap()
    }
}

#[test]
fn minisign_prehashed_and_legacy() {
    let signer = Minisign::new();
    let dir = tmp();
    let file = write(dir.path(), "tool.tar.gz", b"release contents\n");
    let key = key(SignatureKind::Minisign, &signer.public());
    assert_eq!(key.kind(), SignatureKind::Minisign);
    assert_eq!(key.fingerprint(), signer.key_id());
    assert_eq!(key.fingerprint().len(), 16);

    for legacy in [false, true] {
        let sig = signer.sign(&file, legacy);
        let ok = verify(&key, &file, &sig).unwrap();
        assert_eq!(ok.kind, SignatureKind::Minisign);
        assert_eq!(ok.key, signer.key_id());
        assert_eq!(ok.trust_label(), format!("minisign:{}", signer.key_id()));

        let tampered = write(dir.path(), "tampered", b"release contents!\n");
        let err = verify(&key, &tampered, &sig).unwrap_err();
        assert!(matches!(err, SignatureError::BadSignature), "{err}");
        assert_eq!(
            err.to_string(),
            "bad signature: the file does not match (tampered, or signed by another key)"
        );
    }
}

#[test]
fn minisign_bare_base64_key() {
    let signer = Minisign::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"x");
    let text = fs::read_to_string(signer.public()).unwrap();
    let line = text.lines().nth(1).unwrap();
    let key = PublicKey::parse(SignatureKind::Minisign, line.as_bytes()).unwrap();
    assert_eq!(key.fingerprint(), signer.key_id());
    verify(&key, &file, &signer.sign(&file, false)).unwrap();
}

#[test]
fn minisign_wrong_key_names_both_ids() {
    let signer = Minisign::new();
    let other = Minisign::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let sig = other.sign(&file, false);
    let key = key(SignatureKind::Minisign, &signer.public());
    let err = verify(&key, &file, &sig).unwrap_err();
    assert!(matches!(err, SignatureError::WrongKey { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "signed by minisign key {}, but the pinned key is {}",
            other.key_id(),
            signer.key_id()
        )
    );
}

#[test]
fn minisign_garbage_and_empty_signatures() {
    let signer = Minisign::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let key = key(SignatureKind::Minisign, &signer.public());
    let err = verify(&key, &file, b"").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the signature is not a minisign signature (found: an empty file)"
    );
    let err = verify(&key, &file, b"\x00\x01garbage\xff").unwrap_err();
    assert!(matches!(err, SignatureError::NotASignature { .. }), "{err}");
    let err = verify(&key, &file, &fs::read(signer.public()).unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the signature is not a minisign signature (found: a minisign public key)"
    );
    let sig = signer.sign(&file, false);
    // Base64 padding is optional: cut the newline and the `==` too.
    for prefix in prefixes(&sig[..sig.len() - 3], 400) {
        let err = verify(&key, &file, prefix).unwrap_err();
        assert!(
            matches!(
                err,
                SignatureError::NotASignature { .. }
                    | SignatureError::DamagedSignature { .. }
                    | SignatureError::BadSignature
            ),
            "{err}"
        );
    }
    // The secret key is refused as a public key.
    let sec = fs::read(signer.dir.path().join("sec")).unwrap();
    let err = PublicKey::parse(SignatureKind::Minisign, &sec).unwrap_err();
    assert!(matches!(err, SignatureError::NotAKey { .. }), "{err}");
}

// ------------------------------------------------------------------ cosign

struct EcKey {
    dir: TempDir,
}

impl EcKey {
    /// A P-256 key pair (`key.pem`, `pub.pem`), as cosign uses.
    fn new() -> EcKey {
        let dir = tmp();
        run(
            "openssl",
            Command::new("openssl")
                .args(["ecparam", "-name", "prime256v1", "-genkey", "-noout"])
                .args(["-out", "key.pem"])
                .current_dir(dir.path()),
        );
        run(
            "openssl",
            Command::new("openssl")
                .args(["ec", "-in", "key.pem", "-pubout", "-out", "pub.pem"])
                .current_dir(dir.path()),
        );
        EcKey { dir }
    }

    fn public(&self) -> PathBuf {
        self.dir.path().join("pub.pem")
    }

    /// `sha256:` + sha256 of the SPKI DER as openssl writes it.
    fn fingerprint(&self) -> String {
        let der = self.dir.path().join("pub.der");
        run(
            "openssl",
            Command::new("openssl")
                .args(["pkey", "-pubin", "-in"])
                .arg(self.public())
                .args(["-outform", "DER", "-out"])
                .arg(&der),
        );
        format!("sha256:{}", sha256sum(&der))
    }

    /// DER ECDSA signature over the file's sha256.
    fn sign_der(&self, file: &Path) -> Vec<u8> {
        let out = self.dir.path().join("sig.der");
        run(
            "openssl",
            Command::new("openssl")
                .args(["dgst", "-sha256", "-sign"])
                .arg(self.dir.path().join("key.pem"))
                .arg("-out")
                .arg(&out)
                .arg(file),
        );
        fs::read(out).unwrap()
    }

    /// What `cosign sign-blob` writes: base64 of the DER signature, one line.
    fn sign(&self, file: &Path) -> Vec<u8> {
        let der = self.dir.path().join("sig.der");
        self.sign_der(file);
        run(
            "openssl",
            Command::new("openssl")
                .args(["base64", "-A", "-in"])
                .arg(&der),
        )
    }
}

#[test]
fn cosign_blob_signature() {
    let signer = EcKey::new();
    let dir = tmp();
    let file = write(dir.path(), "tool", b"#!/bin/sh\necho tool\n");
    let key = key(SignatureKind::Cosign, &signer.public());
    assert_eq!(key.kind(), SignatureKind::Cosign);
    assert_eq!(key.fingerprint(), signer.fingerprint());
    assert!(key.fingerprint().starts_with("sha256:"));

    // ECDSA signatures are randomized (and about half are high-S): several.
    for _ in 0..8 {
        let sig = signer.sign(&file);
        let ok = verify(&key, &file, &sig).unwrap();
        assert_eq!(ok.key, signer.fingerprint());
        assert_eq!(ok.trust_label(), format!("cosign:{}", signer.fingerprint()));
    }

    let sig = signer.sign(&file);
    let mut with_newline = sig.clone();
    with_newline.extend_from_slice(b"\r\n");
    with_newline.insert(0, b' ');
    verify(&key, &file, &with_newline).unwrap();

    // Raw DER, and base64 wrapped at 64 columns.
    let der = signer.sign_der(&file);
    verify(&key, &file, &der).unwrap();
    let wrapped = run(
        "openssl",
        Command::new("openssl")
            .args(["base64", "-in"])
            .arg(signer.dir.path().join("sig.der")),
    );
    verify(&key, &file, &wrapped).unwrap();

    let tampered = write(dir.path(), "tampered", b"#!/bin/sh\necho pwned\n");
    let err = verify(&key, &tampered, &sig).unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature), "{err}");
}

#[test]
fn cosign_precomputed_sha256() {
    let signer = EcKey::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"payload");
    let key = key(SignatureKind::Cosign, &signer.public());
    let sig = signer.sign(&file);
    let sha = sha256sum(&file);
    verify_file(&key, &file, Some(&sha), &sig).unwrap();
    verify_file(&key, &file, Some(&sha.to_uppercase()), &sig).unwrap();
    let wrong = "0".repeat(64);
    let err = verify_file(&key, &file, Some(&wrong), &sig).unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature), "{err}");
    let err = verify_file(&key, &file, Some("abc"), &sig).unwrap_err();
    assert!(matches!(err, SignatureError::BadDigest { .. }), "{err}");
}

#[test]
fn cosign_wrong_key_and_malformed_signatures() {
    let signer = EcKey::new();
    let other = EcKey::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"payload");
    let key = key(SignatureKind::Cosign, &signer.public());
    let err = verify(&key, &file, &other.sign(&file)).unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature), "{err}");

    let err = verify(&key, &file, b"not base64 at all!\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the signature is not a cosign signature (found: text starting `not base64 at all!`)"
    );
    let err = verify(&key, &file, b"aGVsbG8gd29ybGQ=\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the signature is not a cosign signature \
         (found: base64 of 11 bytes that are not a DER ECDSA signature)"
    );
    let err = verify(&key, &file, b"").unwrap_err();
    assert!(matches!(err, SignatureError::NotASignature { .. }), "{err}");
    let err = verify(&key, &file, b"{\"base64Signature\": \"\"}").unwrap_err();
    assert!(err.to_string().contains("JSON"), "{err}");
    // Padding is optional, so cut at least three characters.
    let sig = signer.sign(&file);
    for prefix in prefixes(&sig[..sig.len() - 2], 200) {
        assert!(verify(&key, &file, prefix).is_err());
    }
    for prefix in prefixes(&signer.sign_der(&file), 200) {
        assert!(verify(&key, &file, prefix).is_err());
    }
}

#[test]
fn cosign_keys_of_other_kinds_are_refused() {
    let signer = EcKey::new();
    // The private key.
    let private = fs::read(signer.dir.path().join("key.pem")).unwrap();
    let err = PublicKey::parse(SignatureKind::Cosign, &private).unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
    // An RSA public key.
    let dir = tmp();
    run(
        "openssl",
        Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
            ])
            .args(["-out", "rsa.pem"])
            .current_dir(dir.path()),
    );
    let rsa_pub = run(
        "openssl",
        Command::new("openssl")
            .args(["pkey", "-in", "rsa.pem", "-pubout"])
            .current_dir(dir.path()),
    );
    let err = PublicKey::parse(SignatureKind::Cosign, &rsa_pub).unwrap_err();
    assert!(err.to_string().contains("an RSA key"), "{err}");
    // Every prefix of the public key: refused, never a panic.
    let public = fs::read(signer.public()).unwrap();
    for prefix in prefixes(&public[..public.len() - 30], 200) {
        assert!(PublicKey::parse(SignatureKind::Cosign, prefix).is_err());
    }
}

// --------------------------------------------------------------------- gpg

/// A throwaway GNUPGHOME (short path: the agent's socket path is limited);
/// the agent is killed on drop.
struct Gpg {
    home: TempDir,
}

impl Gpg {
    fn new() -> Gpg {
        let home = tempfile::Builder::new()
            .prefix("g")
            .tempdir_in("/tmp")
            .unwrap();
        Gpg { home }
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.home.path())
            .args(["--batch", "--yes", "--pinentry-mode", "loopback"])
            .args(["--passphrase", ""]);
        cmd
    }

    fn gpg(&self, args: &[&str]) -> Vec<u8> {
        run("gnupg", self.cmd().args(args))
    }

    /// A new key; returns its primary fingerprint as gpg prints it.
    fn generate(&self, uid: &str, algo: &str) -> String {
        self.gpg(&["--quick-gen-key", uid, algo, "sign", "never"]);
        self.fingerprints(uid)[0].clone()
    }

    /// The `fpr` lines for `uid`: primary first, then subkeys.
    fn fingerprints(&self, uid: &str) -> Vec<String> {
        let out = self.gpg(&["--with-colons", "--fingerprint", uid]);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .map(|l| l.split(':').nth(9).unwrap().to_owned())
            .collect()
    }

    fn add_signing_subkey(&self, primary: &str) -> String {
        self.gpg(&["--quick-add-key", primary, "ed25519", "sign", "never"]);
        let out = self.gpg(&["--with-colons", "--fingerprint", primary]);
        let text = String::from_utf8(out).unwrap();
        let fprs: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .map(|l| l.split(':').nth(9).unwrap())
            .collect();
        fprs.last().unwrap().to_string()
    }

    fn export(&self, who: &[&str], armor: bool) -> Vec<u8> {
        let mut args = vec!["--export"];
        if armor {
            args.push("--armor");
        }
        args.extend_from_slice(who);
        self.gpg(&args)
    }

    /// Detached signature by exactly `signer` (`!`: no subkey substitution).
    fn sign(&self, signer: &str, file: &Path, armor: bool) -> Vec<u8> {
        let exact = format!("{signer}!");
        let mut args = vec!["--local-user", exact.as_str(), "--detach-sign"];
        if armor {
            args.push("--armor");
        }
        let out = self.home.path().join("out.sig");
        let out_str = out.to_str().unwrap();
        let file_str = file.to_str().unwrap();
        args.extend_from_slice(&["--output", out_str, file_str]);
        self.gpg(&args);
        fs::read(out).unwrap()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

fn keyring(bytes: &[u8]) -> PublicKey {
    PublicKey::parse(SignatureKind::Pgp, bytes).unwrap()
}

#[test]
fn pgp_ed25519_and_rsa_armored_and_binary() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "tool.tar.gz", b"release\n");
    let tampered = write(dir.path(), "tampered", b"release.\n");
    for (uid, algo) in [
        ("Ed <ed@example.invalid>", "ed25519"),
        ("Rsa <rsa@example.invalid>", "rsa2048"),
    ] {
        let fpr = gpg.generate(uid, algo);
        assert_eq!(fpr.len(), 40);
        for key_armor in [true, false] {
            let key = keyring(&gpg.export(&[&fpr], key_armor));
            assert_eq!(key.kind(), SignatureKind::Pgp);
            assert_eq!(key.fingerprint(), fpr, "{algo}");
            for sig_armor in [true, false] {
                let sig = gpg.sign(&fpr, &file, sig_armor);
                let ok = verify(&key, &file, &sig).unwrap();
                assert_eq!(ok.key, fpr);
                assert_eq!(ok.trust_label(), format!("pgp:{fpr}"));
                let err = verify(&key, &tampered, &sig).unwrap_err();
                assert!(matches!(err, SignatureError::BadSignature), "{err}");
            }
        }
    }
}

#[test]
fn pgp_text_mode_signature() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "SHA256SUMS", b"abc  tool\n");
    let fpr = gpg.generate("T <t@example.invalid>", "ed25519");
    let key = keyring(&gpg.export(&[&fpr], true));
    let out = dir.path().join("SHA256SUMS.asc");
    gpg.gpg(&[
        "--local-user",
        &fpr,
        "--textmode",
        "--armor",
        "--detach-sign",
        "--output",
        out.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let sig = fs::read(&out).unwrap();
    verify(&key, &file, &sig).unwrap();
    // Text signatures ignore line-end style, not content.
    verify_bytes(&key, b"abc  tool\r\n", &sig).unwrap();
    assert!(verify_bytes(&key, b"abd  tool\n", &sig).is_err());
}

#[test]
fn pgp_wrong_key_names_keyring_and_issuer() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let pinned = gpg.generate("A <a@example.invalid>", "ed25519");
    let other = gpg.generate("B <b@example.invalid>", "ed25519");
    let key = keyring(&gpg.export(&[&pinned], true));
    let sig = gpg.sign(&other, &file, true);
    let err = verify(&key, &file, &sig).unwrap_err();
    assert!(matches!(err, SignatureError::NotInKeyring { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("no key in the keyring ({pinned}) made this signature (issuer {other})")
    );
}

#[test]
fn pgp_keyring_with_two_keys() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let first = gpg.generate("A <a@example.invalid>", "ed25519");
    let second = gpg.generate("B <b@example.invalid>", "rsa2048");
    let sig = gpg.sign(&second, &file, true);

    // Concatenated exports: two armored blocks, or binary packets.
    for armor in [true, false] {
        let mut ring = gpg.export(&[&first], armor);
        ring.extend(gpg.export(&[&second], armor));
        let key = keyring(&ring);
        assert_eq!(key.fingerprint(), first);
        assert_eq!(key.fingerprints(), vec![first.as_str(), second.as_str()]);
        let ok = verify(&key, &file, &sig).unwrap();
        assert_eq!(ok.key, second);
    }
    // One export of both.
    let key = keyring(&gpg.export(&[&first, &second], true));
    assert_eq!(key.fingerprints().len(), 2);
    assert_eq!(verify(&key, &file, &sig).unwrap().key, second);
}

#[test]
fn pgp_signing_subkey() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let primary = gpg.generate("S <s@example.invalid>", "ed25519");
    let subkey = gpg.add_signing_subkey(&primary);
    assert_ne!(subkey, primary);
    assert_eq!(
        gpg.fingerprints("s@example.invalid"),
        vec![primary.clone(), subkey.clone()]
    );
    let key = keyring(&gpg.export(&[&primary], true));
    assert_eq!(key.fingerprint(), primary);
    for armor in [true, false] {
        let sig = gpg.sign(&subkey, &file, armor);
        let ok = verify(&key, &file, &sig).unwrap();
        assert_eq!(ok.key, primary, "the primary key's fingerprint");
        let tampered = write(dir.path(), "t", b"Data");
        let err = verify(&key, &tampered, &sig).unwrap_err();
        assert!(matches!(err, SignatureError::BadSignature), "{err}");
    }
    // Without the subkey in the keyring, the issuer is unknown.
    let other = Gpg::new();
    let bare = other.generate("S <s@example.invalid>", "ed25519");
    let sig = gpg.sign(&subkey, &file, true);
    let err = verify(&keyring(&other.export(&[&bare], true)), &file, &sig).unwrap_err();
    assert!(err.to_string().contains(&subkey), "{err}");
}

#[test]
fn pgp_revoked_key_is_refused() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let fpr = gpg.generate("R <r@example.invalid>", "ed25519");
    let sig = gpg.sign(&fpr, &file, true);
    // gpg stores a revocation certificate at key generation, with a `:`
    // guarding its armor line against accidental import.
    let rev = gpg
        .home
        .path()
        .join("openpgp-revocs.d")
        .join(format!("{fpr}.rev"));
    let text = fs::read_to_string(&rev)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    let rev = write(dir.path(), "rev.asc", text.as_bytes());
    gpg.gpg(&["--import", rev.to_str().unwrap()]);
    let key = keyring(&gpg.export(&[&fpr], true));
    let err = verify(&key, &file, &sig).unwrap_err();
    assert!(matches!(err, SignatureError::KeyUnusable { .. }), "{err}");
    assert_eq!(err.to_string(), format!("the pgp key {fpr} is revoked"));
}

#[test]
fn pgp_malformed_inputs() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let fpr = gpg.generate("M <m@example.invalid>", "ed25519");
    let armored_key = gpg.export(&[&fpr], true);
    let binary_key = gpg.export(&[&fpr], false);
    let key = keyring(&armored_key);
    let armored_sig = gpg.sign(&fpr, &file, true);
    let binary_sig = gpg.sign(&fpr, &file, false);

    let err = verify(&key, &file, b"").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the signature is not a pgp signature (found: an empty file)"
    );
    let err = verify(&key, &file, &armored_key).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the signature is not a pgp signature \
         (found: an OpenPGP armored block (PGP PUBLIC KEY BLOCK))"
    );
    let err = verify(&key, &file, &binary_key).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the signature is not a pgp signature (found: a binary OpenPGP public key)"
    );
    let err = PublicKey::parse(SignatureKind::Pgp, &armored_sig).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a pgp public key: found an OpenPGP armored block (PGP SIGNATURE)"
    );
    let err = PublicKey::parse(SignatureKind::Pgp, &binary_sig).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a pgp public key: found a binary OpenPGP signature"
    );
    let secret = gpg.gpg(&["--export-secret-keys", "--armor", &fpr]);
    let err = PublicKey::parse(SignatureKind::Pgp, &secret).unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");

    // Truncations: refused, never a panic.
    for prefix in prefixes(&armored_sig[..armored_sig.len() - 40], 300)
        .chain(prefixes(&binary_sig[..binary_sig.len() - 1], 300))
    {
        assert!(verify(&key, &file, prefix).is_err());
    }
    for prefix in prefixes(&armored_key, 300).chain(prefixes(&binary_key, 300)) {
        if let Ok(key) = PublicKey::parse(SignatureKind::Pgp, prefix) {
            // A prefix may hold a whole certificate minus trailing packets.
            assert_eq!(key.fingerprint(), fpr);
        }
    }
    // A keyring of another kind.
    let err = PublicKey::parse(SignatureKind::Minisign, &armored_key).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a minisign public key: found an OpenPGP armored block (PGP PUBLIC KEY BLOCK)"
    );
}

// --------------------------------------------------------------- messages

#[test]
fn minisign_truncated_signature_says_damaged() {
    let signer = Minisign::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let key = key(SignatureKind::Minisign, &signer.public());
    let sig = String::from_utf8(signer.sign(&file, false)).unwrap();
    let lines: Vec<&str> = sig.lines().collect();

    let two = format!("{}\n{}\n", lines[0], lines[1]);
    let err = verify(&key, &file, two.as_bytes()).unwrap_err();
    assert!(
        matches!(err, SignatureError::DamagedSignature { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "damaged minisign signature: it ends after line 2 of 4 (the file is cut short)"
    );
    let short_global = format!(
        "{}\n{}\n{}\n{}\n",
        lines[0],
        lines[1],
        lines[2],
        &lines[3][..40]
    );
    let err = verify(&key, &file, short_global.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "damaged minisign signature: the global signature line holds 30 bytes, not 64"
    );
    let bad_line = format!("{}\n{}!\n{}\n{}\n", lines[0], lines[1], lines[2], lines[3]);
    let err = verify(&key, &file, bad_line.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "damaged minisign signature: the signature line is not base64"
    );
    // Base64 padding is optional: cut the newline and the `==` too.
    for prefix in prefixes(&sig.as_bytes()[..sig.len() - 3], 400) {
        let message = verify(&key, &file, prefix).unwrap_err().to_string();
        assert!(
            !message.contains("found: a minisign signature"),
            "{message}"
        );
    }
    // Without its padding, the signature is the same.
    verify(&key, &file, &sig.as_bytes()[..sig.len() - 2]).unwrap();
}

#[test]
fn minisign_altered_trusted_comment_is_its_own_case() {
    let signer = Minisign::new();
    let dir = tmp();
    let file = write(dir.path(), "tool.tar.gz", b"data");
    let key = key(SignatureKind::Minisign, &signer.public());
    for legacy in [false, true] {
        let sig = String::from_utf8(signer.sign(&file, legacy)).unwrap();
        let forged = sig.replace("file:tool.tar.gz", "file:other.tar.gz");
        assert_ne!(forged, sig);
        let err = verify(&key, &file, forged.as_bytes()).unwrap_err();
        assert!(
            matches!(err, SignatureError::TrustedCommentAltered),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "the trusted comment (or the signature line) was altered: \
             the signature's global signature does not verify"
        );
        assert!(
            err.help_text().contains("trusted comment"),
            "{}",
            err.help_text()
        );
        // The file itself altered: still reported as such.
        let tampered = write(dir.path(), "t", b"Data");
        let err = verify(&key, &tampered, sig.as_bytes()).unwrap_err();
        assert!(matches!(err, SignatureError::BadSignature), "{err}");
    }
}

#[test]
fn pgp_truncated_signature_and_keyring_say_damaged() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let fpr = gpg.generate("D <d@example.invalid>", "ed25519");
    let key = keyring(&gpg.export(&[&fpr], true));
    let sig = gpg.sign(&fpr, &file, true);
    let text = String::from_utf8(sig.clone()).unwrap();
    let end = text.find("-----END").unwrap();
    // Cut inside the footer line.
    let err = verify(&key, &file, &sig[..end + 12]).unwrap_err();
    assert!(
        matches!(err, SignatureError::DamagedSignature { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "damaged pgp signature: the armor is cut short or altered"
    );
    let binary = gpg.sign(&fpr, &file, false);
    let err = verify(&key, &file, &binary[..binary.len() - 5]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "damaged pgp signature: a packet is cut short (the file is truncated)"
    );

    let ring = gpg.export(&[&fpr], true);
    let text = String::from_utf8(ring.clone()).unwrap();
    let end = text.find("-----END").unwrap();
    let err = PublicKey::parse(SignatureKind::Pgp, &ring[..end + 12]).unwrap_err();
    assert!(matches!(err, SignatureError::DamagedKey { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "damaged pgp keyring: the armor is cut short or altered"
    );
}

#[test]
fn cosign_truncated_key_says_damaged() {
    let signer = EcKey::new();
    let text = fs::read_to_string(signer.public()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The BEGIN line, the first body line, the END line.
    let cut = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[lines.len() - 1]);
    let err = PublicKey::parse(SignatureKind::Cosign, cut.as_bytes()).unwrap_err();
    assert!(matches!(err, SignatureError::DamagedKey { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "damaged cosign public key: the key data is cut short (the file is truncated)"
    );
}

/// Debug output of Rust values, which must never reach a message.
const DEBUG_ARTEFACTS: [&str; 9] = [
    "Error(", "Error {", "{ ", "input:", "code:", "Some(", "None", "Kind", "Tag",
];

fn assert_plain(context: &str, err: &SignatureError) {
    let message = err.to_string();
    for artefact in DEBUG_ARTEFACTS {
        assert!(
            !message.contains(artefact),
            "{context}: `{artefact}` in: {message}"
        );
    }
    assert!(
        !err.help_text().is_empty(),
        "{context}: no help for {message}"
    );
}

/// Prefixes and one-byte changes of `bytes`.
fn damaged(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = prefixes(bytes, 120).map(<[u8]>::to_vec).collect();
    let step = (bytes.len() / 120).max(1);
    for i in (0..bytes.len()).step_by(step) {
        for flip in [0x01, 0x20, 0x80] {
            let mut changed = bytes.to_vec();
            changed[i] ^= flip;
            out.push(changed);
        }
    }
    out
}

#[test]
fn damaged_keys_and_signatures_of_every_kind_read_plainly() {
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");

    let minisign = Minisign::new();
    let ec = EcKey::new();
    let gpg = Gpg::new();
    let fpr = gpg.generate("P <p@example.invalid>", "ed25519");
    let rsa = gpg.generate("R <r@example.invalid>", "rsa2048");
    let cases: Vec<(SignatureKind, Vec<u8>, Vec<u8>)> = vec![
        (
            SignatureKind::Minisign,
            fs::read(minisign.public()).unwrap(),
            minisign.sign(&file, false),
        ),
        (
            SignatureKind::Minisign,
            fs::read(minisign.public()).unwrap(),
            minisign.sign(&file, true),
        ),
        (
            SignatureKind::Cosign,
            fs::read(ec.public()).unwrap(),
            ec.sign(&file),
        ),
        (
            SignatureKind::Cosign,
            fs::read(ec.public()).unwrap(),
            ec.sign_der(&file),
        ),
        (
            SignatureKind::Pgp,
            gpg.export(&[&fpr], true),
            gpg.sign(&fpr, &file, true),
        ),
        (
            SignatureKind::Pgp,
            gpg.export(&[&fpr], false),
            gpg.sign(&fpr, &file, false),
        ),
        (
            SignatureKind::Pgp,
            gpg.export(&[&rsa], true),
            gpg.sign(&rsa, &file, true),
        ),
        (
            SignatureKind::Pgp,
            gpg.export(&[&rsa], false),
            gpg.sign(&rsa, &file, false),
        ),
    ];
    for (kind, key_bytes, sig) in cases {
        let key = PublicKey::parse(kind, &key_bytes).unwrap();
        verify(&key, &file, &sig).unwrap();
        for bad in damaged(&key_bytes) {
            if let Err(e) = PublicKey::parse(kind, &bad) {
                assert_plain(&format!("{kind:?} key"), &e);
            }
        }
        for bad in damaged(&sig) {
            if let Err(e) = verify(&key, &file, &bad) {
                assert_plain(&format!("{kind:?} signature"), &e);
            }
        }
    }
}

// ----------------------------------------------------------- pgp: time

/// The UTC date-time of `time` (`20200101T000000`, or `@EPOCH`) as the
/// messages write it, computed by `date`.
fn utc(time: &str) -> String {
    let spec = match time.strip_prefix('@') {
        Some(epoch) => format!("@{epoch}"),
        None => format!(
            "{}-{}-{} {}:{}:{}",
            &time[0..4],
            &time[4..6],
            &time[6..8],
            &time[9..11],
            &time[11..13],
            &time[13..15]
        ),
    };
    let out = run(
        "coreutils",
        Command::new("date")
            .env("TZ", "UTC")
            .args(["-u", "-d", &spec, "+%Y-%m-%d %H:%M:%S UTC"]),
    );
    String::from_utf8(out).unwrap().trim().to_owned()
}

/// Now plus `seconds`, in gpg's `--faked-system-time` form (without `!`).
fn from_now(seconds: i64) -> String {
    let out = run(
        "coreutils",
        Command::new("date").args(["-u", "-d", &format!("{seconds} seconds"), "+%Y%m%dT%H%M%S"]),
    );
    String::from_utf8(out).unwrap().trim().to_owned()
}

impl Gpg {
    /// gpg with its clock at `time` (`20200101T000000`).
    fn at(&self, time: &str, args: &[&str]) -> Vec<u8> {
        let faked = format!("{time}!");
        run(
            "gnupg",
            self.cmd().args(["--faked-system-time", &faked]).args(args),
        )
    }

    /// A new ed25519 signing key made at `time`, valid for `expire` (`10d`,
    /// `never`).
    fn generate_at(&self, time: &str, uid: &str, expire: &str) -> String {
        self.at(time, &["--quick-gen-key", uid, "ed25519", "sign", expire]);
        self.fingerprints(uid)[0].clone()
    }

    /// A new ed25519 signing subkey made at `time`.
    fn add_signing_subkey_at(&self, time: &str, primary: &str, expire: &str) -> String {
        self.at(
            time,
            &["--quick-add-key", primary, "ed25519", "sign", expire],
        );
        self.fingerprints(primary).last().unwrap().clone()
    }

    /// Sets the expiry of `primary` (or of its `subkeys`) at `time`.
    fn set_expire_at(&self, time: &str, primary: &str, expire: &str, subkeys: &[&str]) {
        let mut args = vec!["--quick-set-expire", primary, expire];
        args.extend_from_slice(subkeys);
        self.at(time, &args);
    }

    /// An armored detached signature by exactly `signer`, made at `time`;
    /// `extra`: more options (e.g. a signature expiry).
    fn sign_at(&self, time: &str, signer: &str, file: &Path, extra: &[&str]) -> Vec<u8> {
        let exact = format!("{signer}!");
        let out = self.home.path().join("out.asc");
        let mut args = vec!["--local-user", exact.as_str(), "--armor", "--detach-sign"];
        args.extend_from_slice(extra);
        let (out_str, file_str) = (out.to_str().unwrap(), file.to_str().unwrap());
        args.extend_from_slice(&["--output", out_str, file_str]);
        self.at(time, &args);
        fs::read(out).unwrap()
    }
}

/// gpg's status lines for `sig` over `file`, with only `ring` known and
/// gpg's clock at `time` (`None`: now). Whatever the verdict.
fn gpg_status(ring: &[u8], sig: &[u8], file: &Path, time: Option<&str>) -> String {
    let gpg = Gpg::new();
    let ring = write(gpg.home.path(), "ring.asc", ring);
    let sig = write(gpg.home.path(), "sig.asc", sig);
    gpg.gpg(&["--import", ring.to_str().unwrap()]);
    let mut cmd = gpg.cmd();
    if let Some(time) = time {
        cmd.arg("--faked-system-time").arg(format!("{time}!"));
    }
    let out = cmd
        .args(["--status-fd", "1", "--verify"])
        .arg(&sig)
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// The value of gpg's `KEYEXPIRED` status, as a date-time.
fn gpg_key_expired(status: &str) -> String {
    let epoch = status
        .lines()
        .find_map(|l| l.strip_prefix("[GNUPG:] KEYEXPIRED "))
        .unwrap_or_else(|| panic!("no KEYEXPIRED in {status}"));
    utc(&format!("@{}", epoch.trim()))
}

const T0: &str = "20200101T000000";
const T0_LATER: &str = "20200101T000100";
/// 2020-01-11: expiry of a key made at [`T0`] for 10 days.
const EXPIRY: &str = "20200111T000000";
const BEFORE_EXPIRY: &str = "20200105T120000";
const AFTER_EXPIRY: &str = "20200201T000000";

#[test]
fn pgp_signature_after_the_key_expired_is_refused() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let fpr = gpg.generate_at(T0, "X <x@example.invalid>", "10d");
    // The published keyring says: expires after 10 days. The signer then
    // extends the key in their own keyring only, so gpg agrees to sign
    // after the published expiry.
    let ring = gpg.export(&[&fpr], true);
    gpg.set_expire_at(T0_LATER, &fpr, "0", &[]);
    let sig = gpg.sign_at(AFTER_EXPIRY, &fpr, &file, &[]);

    // gpg, its clock at the signature's time, calls the key expired.
    let status = gpg_status(&ring, &sig, &file, Some(AFTER_EXPIRY));
    assert!(status.contains("[GNUPG:] EXPKEYSIG "), "{status}");
    assert_eq!(gpg_key_expired(&status), utc(EXPIRY));

    let err = verify(&keyring(&ring), &file, &sig).unwrap_err();
    assert!(matches!(err, SignatureError::KeyExpired { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "the signature was made on {} by pgp key {fpr}, which had expired on {}",
            utc(AFTER_EXPIRY),
            utc(EXPIRY)
        )
    );
    let help = err.help_text();
    assert!(help.contains("gpg --export --armor"), "{help}");
    // The refreshed keyring (expiry extended) admits it.
    verify(&keyring(&gpg.export(&[&fpr], true)), &file, &sig).unwrap();
}

#[test]
fn pgp_signature_by_a_subkey_after_its_expiry_is_refused() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let fpr = gpg.generate_at(T0, "Y <y@example.invalid>", "never");
    let sub = gpg.add_signing_subkey_at(T0, &fpr, "10d");
    let ring = gpg.export(&[&fpr], true);
    gpg.set_expire_at(T0_LATER, &fpr, "0", &[&sub]);
    let key = keyring(&ring);

    let late = gpg.sign_at(AFTER_EXPIRY, &sub, &file, &[]);
    let status = gpg_status(&ring, &late, &file, Some(AFTER_EXPIRY));
    assert!(status.contains("[GNUPG:] EXPKEYSIG "), "{status}");
    assert_eq!(gpg_key_expired(&status), utc(EXPIRY));
    let err = verify(&key, &file, &late).unwrap_err();
    assert!(matches!(err, SignatureError::KeyExpired { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "the signature was made on {} by subkey {sub} of pgp key {fpr}, \
             which had expired on {}",
            utc(AFTER_EXPIRY),
            utc(EXPIRY)
        )
    );

    // The primary key, which does not expire, still signs; and the subkey
    // did sign while it was valid.
    let by_primary = gpg.sign_at(AFTER_EXPIRY, &fpr, &file, &[]);
    assert_eq!(verify(&key, &file, &by_primary).unwrap().key, fpr);
    let early = gpg.sign_at(BEFORE_EXPIRY, &sub, &file, &[]);
    assert_eq!(verify(&key, &file, &early).unwrap().key, fpr);
}

#[test]
fn pgp_subkey_signature_after_the_primary_expired_is_refused() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let fpr = gpg.generate_at(T0, "Z <z@example.invalid>", "10d");
    let sub = gpg.add_signing_subkey_at(T0, &fpr, "never");
    let ring = gpg.export(&[&fpr], true);
    gpg.set_expire_at(T0_LATER, &fpr, "0", &[]);
    let sig = gpg.sign_at(AFTER_EXPIRY, &sub, &file, &[]);

    let status = gpg_status(&ring, &sig, &file, Some(AFTER_EXPIRY));
    assert!(status.contains("[GNUPG:] EXPKEYSIG "), "{status}");
    let err = verify(&keyring(&ring), &file, &sig).unwrap_err();
    assert!(matches!(err, SignatureError::KeyExpired { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "the signature was made on {} by subkey {sub} of pgp key {fpr}, \
             whose primary key had expired on {}",
            utc(AFTER_EXPIRY),
            utc(EXPIRY)
        )
    );
}

#[test]
fn pgp_old_signature_by_a_since_expired_key_is_accepted() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let fpr = gpg.generate_at(T0, "O <o@example.invalid>", "10d");
    let sub = gpg.add_signing_subkey_at(T0, &fpr, "5d");
    let ring = gpg.export(&[&fpr], true);
    let key = keyring(&ring);
    for signer in [&fpr, &sub] {
        let sig = gpg.sign_at("20200103T000000", signer, &file, &[]);
        // gpg today: a good signature, from an expired key; at the
        // signature's time: simply good.
        let status = gpg_status(&ring, &sig, &file, None);
        assert!(status.contains("[GNUPG:] EXPKEYSIG "), "{status}");
        let then = gpg_status(&ring, &sig, &file, Some("20200103T000000"));
        assert!(then.contains("[GNUPG:] GOODSIG "), "{then}");
        assert_eq!(verify(&key, &file, &sig).unwrap().key, fpr);
    }
}

#[test]
fn pgp_expired_signature_is_refused() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let fpr = gpg.generate_at(T0, "E <e@example.invalid>", "never");
    let ring = gpg.export(&[&fpr], true);
    let sig = gpg.sign_at(T0_LATER, &fpr, &file, &["--default-sig-expire", "1d"]);
    let status = gpg_status(&ring, &sig, &file, None);
    assert!(status.contains("[GNUPG:] EXPSIG "), "{status}");
    let err = verify(&keyring(&ring), &file, &sig).unwrap_err();
    assert!(
        matches!(err, SignatureError::SignatureExpired { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the pgp signature expired on {} (it was made on {})",
            utc("20200102T000100"),
            utc(T0_LATER)
        )
    );
    // Still valid: accepted.
    let sig = gpg.sign_at(T0_LATER, &fpr, &file, &["--default-sig-expire", "0"]);
    verify(&keyring(&ring), &file, &sig).unwrap();
}

#[test]
fn pgp_signature_from_the_future_is_refused() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let made = from_now(-3600);
    let fpr = gpg.generate_at(&made, "F <f@example.invalid>", "never");
    let key = keyring(&gpg.export(&[&fpr], true));
    let future = from_now(86_400);
    let sig = gpg.sign_at(&future, &fpr, &file, &[]);
    let err = verify(&key, &file, &sig).unwrap_err();
    assert!(
        matches!(err, SignatureError::SignatureInFuture { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "the pgp signature is dated {}, later than this machine's clock (",
            utc(&future)
        )),
        "{message}"
    );
    assert!(
        message.ends_with(") allows, even with 5 minutes of clock skew"),
        "{message}"
    );
    // A clock a little behind the signer's is tolerated.
    let sig = gpg.sign_at(&from_now(120), &fpr, &file, &[]);
    verify(&key, &file, &sig).unwrap();
}

#[test]
fn pgp_signature_older_than_its_key_is_refused() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let fpr = gpg.generate_at(T0, "N <n@example.invalid>", "never");
    let ring = gpg.export(&[&fpr], true);
    let sig = gpg.sign_at("20191201T000000", &fpr, &file, &["--ignore-time-conflict"]);
    let status = gpg_status(&ring, &sig, &file, None);
    assert!(status.contains("[GNUPG:] ERRSIG "), "{status}");
    let err = verify(&keyring(&ring), &file, &sig).unwrap_err();
    assert!(
        matches!(err, SignatureError::KeyNewerThanSignature { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the signature is dated {}, before pgp key {fpr} was created ({})",
            utc("20191201T000000"),
            utc(T0)
        )
    );
}

#[test]
fn pgp_revocation_wins_over_dates() {
    let gpg = Gpg::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"data");
    let fpr = gpg.generate_at(T0, "V <v@example.invalid>", "10d");
    // Signed while valid, before the revocation and the expiry.
    let sig = gpg.sign_at(BEFORE_EXPIRY, &fpr, &file, &[]);
    let rev = gpg
        .home
        .path()
        .join("openpgp-revocs.d")
        .join(format!("{fpr}.rev"));
    let text = fs::read_to_string(&rev)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    let rev = write(dir.path(), "rev.asc", text.as_bytes());
    gpg.gpg(&["--import", rev.to_str().unwrap()]);
    let err = verify(&keyring(&gpg.export(&[&fpr], true)), &file, &sig).unwrap_err();
    assert_eq!(err.to_string(), format!("the pgp key {fpr} is revoked"));
}

// ------------------------------------------------------------------ large

#[test]
fn large_file_is_streamed() {
    let dir = tmp();
    let file = large_file(dir.path(), 64);

    let minisign = Minisign::new();
    let key = key(SignatureKind::Minisign, &minisign.public());
    let sig = minisign.sign(&file, false);
    let ok = verify_file(&key, &file, None, &sig).unwrap();
    assert_eq!(ok.key, minisign.key_id());

    let ec = EcKey::new();
    let key = self::key(SignatureKind::Cosign, &ec.public());
    let sig = ec.sign(&file);
    verify_file(&key, &file, None, &sig).unwrap();
    verify_file(&key, &file, Some(&sha256sum(&file)), &sig).unwrap();

    let gpg = Gpg::new();
    let fpr = gpg.generate("L <l@example.invalid>", "ed25519");
    let key = keyring(&gpg.export(&[&fpr], false));
    let sig = gpg.sign(&fpr, &file, false);
    assert_eq!(verify_file(&key, &file, None, &sig).unwrap().key, fpr);

    // One byte changed at the end.
    let mut f = fs::OpenOptions::new().append(true).open(&file).unwrap();
    f.write_all(b"!").unwrap();
    drop(f);
    let err = verify_file(&key, &file, None, &sig).unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature), "{err}");
}

#[test]
fn missing_file_is_an_io_error() {
    let ec = EcKey::new();
    let dir = tmp();
    let file = write(dir.path(), "f", b"x");
    let key = key(SignatureKind::Cosign, &ec.public());
    let sig = ec.sign(&file);
    let err = verify_file(&key, &dir.path().join("missing"), None, &sig).unwrap_err();
    assert!(matches!(err, SignatureError::Io { .. }), "{err}");
}
