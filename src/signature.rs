//! Detached signatures over downloaded files, verified offline with a public
//! key committed in the repository.
//!
//! Three kinds:
//!
//! - **minisign**: the key file `minisign -G` writes (comment line and base64
//!   line, or the base64 line alone) and a `.minisig` file, prehashed (the
//!   default since minisign 0.10) or legacy. Key fingerprint: the key id as
//!   minisign prints it, as 16 uppercase hex digits (minisign itself drops
//!   leading zeros).
//! - **cosign** (key-based blobs, `cosign sign-blob --key`): a PEM ECDSA P-256
//!   public key and the base64 of a DER ECDSA signature over the file's
//!   sha256 (raw DER is accepted too). Fingerprint: `sha256:` and the
//!   lowercase hex sha256 of the key's SPKI DER.
//! - **pgp**: a keyring (armored or binary, one or more certificates, as
//!   `gpg --export [--armor]` writes) and a detached signature (`.asc` or
//!   `.sig`). Primary keys and validly bound signing subkeys may sign;
//!   revoked keys and subkeys may not. Fingerprint: the primary key's, as
//!   uppercase hex.
//!
//! OpenPGP validity in time, checked once a signature verifies (its dates
//! are signed, so not before):
//!
//! - A signature made at or after the expiry of the key that made it is
//!   refused: the primary key's expiry, and for a subkey its own expiry and
//!   its primary key's. Expiry is the key's creation time plus the key
//!   expiration time of its newest valid self-signature (direct-key or user
//!   id certification) or, for a subkey, of its newest valid binding
//!   signature, which also decides whether the subkey may sign; no key
//!   expiration time, or 0, means never. So a refreshed keyring whose
//!   expiry the publisher extended admits what the old one refused.
//! - A signature made while its key was valid stays valid after the key
//!   expires (gpg, too, reports a good signature from an expired key):
//!   releases signed in the past stay verifiable, for rollbacks.
//! - A signature whose own expiration time has passed is refused.
//! - A signature dated more than [`CLOCK_SKEW_SECS`] (5 minutes) after this
//!   machine's clock is refused, and so is one dated before its key was
//!   created.
//! - Revocation wins: a revoked key or subkey is refused whatever the dates
//!   (and whatever the revocation's reason).
//!
//! Files are streamed, except under a legacy minisign signature, which signs
//! the whole file and so needs it in memory (up to [`LEGACY_MINISIGN_LIMIT`]).
//! Nothing here panics on malformed input.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use p256::pkcs8::DecodePublicKey as _;
use p256::pkcs8::der::Decode as _;
use pgp::composed::{Deserializable as _, DetachedSignature, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{CERTIFICATION_SIGNATURE_TYPES, SignatureType};
use pgp::types::{KeyDetails as _, Tag, Timestamp};
use sha2::{Digest as _, Sha256};

use crate::fetch::utc;
use crate::hash::hex;
use crate::manifest::model::SignatureKind;

/// Files larger than this are refused under a legacy (non-prehashed)
/// minisign signature, which can only be checked over the whole file in
/// memory.
pub const LEGACY_MINISIGN_LIMIT: u64 = 1 << 30;

/// Read size when streaming a file through a hash.
const BLOCK: usize = 64 << 10;

/// Base64 as found in key and signature files: standard alphabet, padding
/// optional.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a key or signature was refused.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SignatureError {
    /// The key file is not a usable public key of this kind.
    #[error("not a {} public key: found {found}", kind_name(*kind))]
    #[diagnostic(code("vendor::signature::not-a-key"), help("{}", key_help(*kind)))]
    NotAKey { kind: SignatureKind, found: String },

    /// The signature file is not a signature of this kind.
    #[error("the signature is not a {} signature (found: {found})", kind_name(*kind))]
    #[diagnostic(
        code("vendor::signature::not-a-signature"),
        help("{}", signature_help(*kind))
    )]
    NotASignature { kind: SignatureKind, found: String },

    /// The key file is of the right kind but damaged (cut short, altered).
    #[error("damaged {}: {detail}", key_noun(*kind))]
    #[diagnostic(
        code("vendor::signature::damaged-key"),
        help(
            "the committed key file is not what the publisher published: fetch it again \
             from the publisher and compare its fingerprint before committing it"
        )
    )]
    DamagedKey { kind: SignatureKind, detail: String },

    /// The signature file is of the right kind but damaged.
    #[error("damaged {} signature: {detail}", kind_name(*kind))]
    #[diagnostic(
        code("vendor::signature::damaged-signature"),
        help(
            "the signature file was cut short or altered (an interrupted download, a proxy, \
             or tampering): download it again; if it stays damaged, ask the publisher"
        )
    )]
    DamagedSignature { kind: SignatureKind, detail: String },

    /// The minisign trusted comment (or signature line) was changed after
    /// signing: the global signature does not verify.
    #[error(
        "the trusted comment (or the signature line) was altered: \
         the signature's global signature does not verify"
    )]
    #[diagnostic(
        code("vendor::signature::trusted-comment-altered"),
        help(
            "minisign signs the trusted comment (timestamp, file name) and the signature line \
             with a global signature; one of them changed after signing: do not use the file; \
             download the signature again, and ask the publisher if it stays so"
        )
    )]
    TrustedCommentAltered,

    /// The signature names another key than the pinned one (minisign).
    #[error("signed by {} key {signed_by}, but the pinned key is {pinned}", kind_name(*kind))]
    #[diagnostic(code("vendor::signature::wrong-key"), help("{ROTATION_HELP}"))]
    WrongKey {
        kind: SignatureKind,
        signed_by: String,
        pinned: String,
    },

    /// No key of the keyring issued the signature (pgp).
    #[error(
        "no key in the keyring ({}) made this signature (issuer {issuer})",
        keys.join(", ")
    )]
    #[diagnostic(code("vendor::signature::not-in-keyring"), help("{ROTATION_HELP}"))]
    NotInKeyring { keys: Vec<String>, issuer: String },

    /// The signature does not match the data.
    #[error("bad signature: the file does not match (tampered, or signed by another key)")]
    #[diagnostic(
        code("vendor::signature::bad"),
        help(
            "the file is not what the publisher signed: do not use it; check that the \
             signature belongs to this file and download both again"
        )
    )]
    BadSignature,

    /// The key that made the signature must not be used (pgp: revoked, or a
    /// subkey without a valid binding).
    #[error("{detail}")]
    #[diagnostic(
        code("vendor::signature::key-unusable"),
        help("the committed keyring says this key is not to be trusted for signatures")
    )]
    KeyUnusable { detail: String },

    /// The key (or, for a subkey, it or its primary key) had expired when
    /// the signature was made (pgp).
    #[error(
        "the signature was made on {signed_at} by {signer}, {which} had expired on {expired_at}"
    )]
    #[diagnostic(
        code("vendor::signature::key-expired"),
        help(
            "a signature made after its key expired is not valid. Ask the publisher for a \
             signature by a current key; if they extended the key's validity, commit their \
             refreshed keyring (e.g. `gpg --export --armor KEYID > keys.asc`)"
        )
    )]
    KeyExpired {
        /// `pgp key FPR` or `subkey SUB of pgp key FPR`.
        signer: String,
        /// `which` (the signer itself) or `whose primary key`.
        which: String,
        signed_at: String,
        expired_at: String,
    },

    /// The signature's own validity period is over (pgp).
    #[error("the pgp signature expired on {expired_at} (it was made on {signed_at})")]
    #[diagnostic(
        code("vendor::signature::signature-expired"),
        help(
            "the publisher gave this signature a limited lifetime, and it is over: ask for a \
             fresh signature, or pin a release whose signature is still valid"
        )
    )]
    SignatureExpired {
        signed_at: String,
        expired_at: String,
    },

    /// The signature is dated later than now, beyond the tolerated clock
    /// skew (pgp).
    #[error(
        "the pgp signature is dated {signed_at}, later than this machine's clock ({now}) \
         allows, even with {} minutes of clock skew",
        CLOCK_SKEW_SECS / 60
    )]
    #[diagnostic(
        code("vendor::signature::signature-in-future"),
        help(
            "check this machine's clock (`date -u`); if it is right, the signature's date is \
             wrong: ask the publisher to sign again"
        )
    )]
    SignatureInFuture { signed_at: String, now: String },

    /// The signature is dated before the key that made it existed (pgp).
    #[error("the signature is dated {signed_at}, before {signer} was created ({created_at})")]
    #[diagnostic(
        code("vendor::signature::key-newer-than-signature"),
        help(
            "a key cannot sign before it exists: the signer's clock was wrong, or the \
             signature was not made by this key; ask the publisher to sign again"
        )
    )]
    KeyNewerThanSignature {
        signer: String,
        signed_at: String,
        created_at: String,
    },

    /// A well-formed signature this implementation refuses.
    #[error("unsupported {} signature: {detail}", kind_name(*kind))]
    #[diagnostic(
        code("vendor::signature::unsupported"),
        help(
            "this signature cannot be checked here; ask the publisher for a signature with \
             current algorithms, or verify the file another way (a pinned sha256)"
        )
    )]
    Unsupported { kind: SignatureKind, detail: String },

    /// The caller's sha256 is not 64 hex digits.
    #[error("`{value}` is not a sha256 (64 hex digits)")]
    #[diagnostic(
        code("vendor::signature::bad-digest"),
        help("a sha256 is written as 64 hexadecimal digits")
    )]
    BadDigest { value: String },

    /// Reading the signed file failed.
    #[error("cannot read `{}`", path.display())]
    #[diagnostic(
        code("vendor::signature::io"),
        help("check that the file exists and is readable")
    )]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl SignatureError {
    /// The diagnostic's help, for callers that wrap this error in their own.
    pub fn help_text(&self) -> String {
        miette::Diagnostic::help(self)
            .map(|h| h.to_string())
            .unwrap_or_default()
    }
}

/// How far in the future a pgp signature's date may be (the signer's clock
/// ahead of ours) before it is refused.
pub const CLOCK_SKEW_SECS: u32 = 5 * 60;

const ROTATION_HELP: &str = "the publisher may have changed keys, or the file was signed by \
    someone else; confirm a new key through a trusted channel before committing it";

/// The kind's name as written in manifests and trust labels.
pub fn kind_name(kind: SignatureKind) -> &'static str {
    match kind {
        SignatureKind::Minisign => "minisign",
        SignatureKind::Cosign => "cosign",
        SignatureKind::Pgp => "pgp",
    }
}

/// What a key file of `kind` is called in messages.
fn key_noun(kind: SignatureKind) -> &'static str {
    match kind {
        SignatureKind::Minisign => "minisign public key",
        SignatureKind::Cosign => "cosign public key",
        SignatureKind::Pgp => "pgp keyring",
    }
}

fn key_help(kind: SignatureKind) -> &'static str {
    match kind {
        SignatureKind::Minisign => {
            "use the public key file `minisign -G` writes (`minisign.pub`), or its base64 line"
        }
        SignatureKind::Cosign => {
            "use the PEM public key (`cosign.pub`, `-----BEGIN PUBLIC KEY-----`, ECDSA P-256)"
        }
        SignatureKind::Pgp => "use a public keyring, e.g. `gpg --export --armor KEYID > keys.asc`",
    }
}

fn signature_help(kind: SignatureKind) -> &'static str {
    match kind {
        SignatureKind::Minisign => "the signature must be the `.minisig` file minisign writes",
        SignatureKind::Cosign => {
            "the signature must be the file `cosign sign-blob --output-signature` writes \
             (base64 of a DER ECDSA signature)"
        }
        SignatureKind::Pgp => {
            "the signature must be a detached OpenPGP signature (`.asc` or `.sig`)"
        }
    }
}

/// A parsed public key (pgp: keyring), pinned by its fingerprint.
#[derive(Debug, Clone)]
pub struct PublicKey {
    fingerprint: String,
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    /// The key, and its raw Ed25519 bytes (to check a global signature
    /// alone).
    Minisign(minisign_verify::PublicKey, [u8; 32]),
    Cosign(p256::ecdsa::VerifyingKey),
    Pgp(Vec<Cert>),
}

/// One certificate of a pgp keyring, with what may sign and until when.
#[derive(Debug, Clone)]
struct Cert {
    key: SignedPublicKey,
    /// Primary fingerprint, uppercase hex.
    fingerprint: String,
    /// A valid key revocation signature is present.
    revoked: bool,
    /// When the primary key expires (seconds since the epoch), from its
    /// newest valid self-signature; `None`: never.
    expires: Option<u64>,
    /// Per subkey, in order.
    subkeys: Vec<Subkey>,
}

/// What a subkey's newest valid binding signature says.
#[derive(Debug, Clone)]
struct Subkey {
    /// That binding has the signing flag and a valid back-signature, and
    /// the subkey is not revoked.
    usable: bool,
    /// When the subkey expires (seconds since the epoch); `None`: never.
    expires: Option<u64>,
}

impl PublicKey {
    /// Parses a key file's bytes.
    pub fn parse(kind: SignatureKind, bytes: &[u8]) -> Result<PublicKey, SignatureError> {
        match kind {
            SignatureKind::Minisign => parse_minisign_key(bytes),
            SignatureKind::Cosign => parse_cosign_key(bytes),
            SignatureKind::Pgp => parse_pgp_keyring(bytes),
        }
    }

    /// The kind of signature this key checks.
    pub fn kind(&self) -> SignatureKind {
        match self.inner {
            Inner::Minisign(..) => SignatureKind::Minisign,
            Inner::Cosign(_) => SignatureKind::Cosign,
            Inner::Pgp(_) => SignatureKind::Pgp,
        }
    }

    /// Fingerprint as recorded in the lock. For a pgp keyring with several
    /// certificates, the first one's; [`Verified::key`] names the one that
    /// actually signed.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Every primary fingerprint (one, except for pgp keyrings).
    pub fn fingerprints(&self) -> Vec<&str> {
        match &self.inner {
            Inner::Pgp(certs) => certs.iter().map(|c| c.fingerprint.as_str()).collect(),
            _ => vec![self.fingerprint.as_str()],
        }
    }
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub kind: SignatureKind,
    /// Fingerprint of the key that signed (pgp: of its primary key).
    pub key: String,
}

impl Verified {
    /// `minisign:KEYID`, `cosign:sha256:HEX`, `pgp:FPR`: the form stored in
    /// the lock.
    pub fn trust_label(&self) -> String {
        format!("{}:{}", kind_name(self.kind), self.key)
    }
}

/// Verifies `signature` (the signature file's bytes) over the file at
/// `data`, streamed. `sha256`: the file's sha256 when the caller already
/// knows it (hex); cosign then skips hashing the file.
pub fn verify_file(
    key: &PublicKey,
    data: &Path,
    sha256: Option<&str>,
    signature: &[u8],
) -> Result<Verified, SignatureError> {
    let digest = sha256.map(parse_sha256).transpose()?;
    verify(key, Data::File(data), digest, signature)
}

/// Verifies `signature` over the bytes `data` gives, read once as they
/// come (a download still arriving, [`crate::feed`]). `None` when the
/// stream cannot answer for the file: it failed to read, or the check
/// needed the bytes a second time (an OpenPGP signature file with several
/// candidate keys); then check the file with [`verify_file`].
pub fn verify_stream(
    key: &PublicKey,
    data: &mut dyn Read,
    signature: &[u8],
) -> Option<Result<Verified, SignatureError>> {
    let stream = Stream {
        reader: std::cell::RefCell::new(data),
        read: std::cell::Cell::new(false),
        failed: std::cell::Cell::new(false),
    };
    let outcome = verify(key, Data::Stream(&stream), None, signature);
    (!stream.failed.get()).then_some(outcome)
}

/// Verifies `signature` over bytes in memory (checksum files are small).
pub fn verify_bytes(
    key: &PublicKey,
    data: &[u8],
    signature: &[u8],
) -> Result<Verified, SignatureError> {
    verify(key, Data::Bytes(data), None, signature)
}

fn verify(
    key: &PublicKey,
    data: Data<'_>,
    sha256: Option<[u8; 32]>,
    signature: &[u8],
) -> Result<Verified, SignatureError> {
    let signer = match &key.inner {
        Inner::Minisign(pk, raw) => verify_minisign(pk, raw, &key.fingerprint, data, signature)?,
        Inner::Cosign(vk) => verify_cosign(vk, &key.fingerprint, data, sha256, signature)?,
        Inner::Pgp(certs) => verify_pgp(certs, data, signature)?,
    };
    Ok(Verified {
        kind: key.kind(),
        key: signer,
    })
}

/// The signed data: a file (streamed), bytes, or a stream read once.
#[derive(Clone, Copy)]
enum Data<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
    Stream(&'a Stream<'a>),
}

/// Bytes that can be read only once ([`verify_stream`]): a second read,
/// or a failed one, marks the stream as unable to answer.
struct Stream<'a> {
    reader: std::cell::RefCell<&'a mut dyn Read>,
    read: std::cell::Cell<bool>,
    failed: std::cell::Cell<bool>,
}

impl Data<'_> {
    fn io_error(&self, source: io::Error) -> SignatureError {
        let path = match self {
            Data::File(path) => path.to_path_buf(),
            Data::Bytes(_) => PathBuf::from("<memory>"),
            Data::Stream(_) => PathBuf::from("<download>"),
        };
        SignatureError::Io { path, source }
    }

    /// Runs `f` over a reader of the file or the stream (not bytes).
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut dyn Read) -> Result<T, SignatureError>,
    ) -> Result<T, SignatureError> {
        match self {
            Data::Bytes(bytes) => f(&mut &bytes[..]),
            Data::File(path) => {
                let mut file = File::open(path).map_err(|e| self.io_error(e))?;
                f(&mut file)
            }
            Data::Stream(stream) => {
                if stream.read.replace(true) {
                    stream.failed.set(true);
                    return Err(self.io_error(io::Error::other("the bytes were already read")));
                }
                let mut reader = stream.reader.borrow_mut();
                let outcome = f(&mut **reader);
                if matches!(outcome, Err(SignatureError::Io { .. })) {
                    stream.failed.set(true);
                }
                outcome
            }
        }
    }

    /// Feeds the data to `f` in blocks.
    fn for_each_block(&self, mut f: impl FnMut(&[u8])) -> Result<(), SignatureError> {
        if let Data::Bytes(bytes) = self {
            f(bytes);
            return Ok(());
        }
        self.with_reader(|reader| {
            let mut buf = vec![0u8; BLOCK];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => f(buf.get(..n).unwrap_or_default()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(self.io_error(e)),
                }
            }
        })
    }

    fn sha256(&self) -> Result<[u8; 32], SignatureError> {
        let mut hasher = Sha256::new();
        self.for_each_block(|block| hasher.update(block))?;
        Ok(hasher.finalize().into())
    }
}

// ---------------------------------------------------------------- minisign

/// minisign's key id display: the 8 id bytes as a little-endian u64,
/// uppercase hex, zero-padded to 16 digits.
fn minisign_key_id(id: [u8; 8]) -> String {
    format!("{:016X}", u64::from_le_bytes(id))
}

fn parse_minisign_key(bytes: &[u8]) -> Result<PublicKey, SignatureError> {
    let kind = SignatureKind::Minisign;
    let not_a_key = |found: String| SignatureError::NotAKey { kind, found };
    let damaged = |detail: &str| SignatureError::DamagedKey {
        kind,
        detail: detail.to_owned(),
    };
    let text = text_of(bytes).ok_or_else(|| not_a_key(describe(bytes)))?;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = match lines.as_slice() {
        [comment, line] if comment.starts_with("untrusted comment:") => *line,
        [comment] if comment.starts_with("untrusted comment:") => {
            return Err(damaged(
                "the key line after the comment is missing (the file is cut short)",
            ));
        }
        [line] => *line,
        _ => return Err(not_a_key(describe(bytes))),
    };
    let commented = lines.len() == 2;
    let Ok(raw) = BASE64.decode(line) else {
        return Err(if commented {
            damaged("the key line is not base64")
        } else {
            not_a_key(describe(bytes))
        });
    };
    if raw.len() != 42 || raw.get(..2) != Some(b"Ed".as_slice()) {
        // A signature or secret key file says so; anything else under a
        // comment line is a damaged key.
        let found = describe(bytes);
        return Err(if commented && found == "a damaged minisign file" {
            SignatureError::DamagedKey {
                kind,
                detail: if raw.len() == 42 {
                    "the key line does not start with the Ed25519 algorithm marker".to_owned()
                } else {
                    format!("the key line holds {} bytes, not 42", raw.len())
                },
            }
        } else {
            not_a_key(found)
        });
    }
    let (Some(id), Some(ed25519)) = (
        key_id_at(&raw),
        raw.get(10..42).and_then(|k| <[u8; 32]>::try_from(k).ok()),
    ) else {
        return Err(damaged("the key line is too short"));
    };
    let pk = minisign_verify::PublicKey::from_base64(line)
        .map_err(|_| damaged("the key line cannot be read"))?;
    Ok(PublicKey {
        fingerprint: minisign_key_id(id),
        inner: Inner::Minisign(pk, ed25519),
    })
}

/// Bytes 2..10 of a decoded minisign key or signature line.
fn key_id_at(raw: &[u8]) -> Option<[u8; 8]> {
    raw.get(2..10)?.try_into().ok()
}

/// The four lines of a `.minisig` file, or what is wrong with them.
struct MinisignLines<'a> {
    untrusted: &'a str,
    /// The decoded signature line: algorithm, key id, signature.
    raw: Vec<u8>,
    trusted: &'a str,
    global: [u8; 64],
}

fn minisign_lines(signature: &[u8]) -> Result<MinisignLines<'_>, SignatureError> {
    let kind = SignatureKind::Minisign;
    let not_a_sig = || SignatureError::NotASignature {
        kind,
        found: describe(signature),
    };
    let damaged = |detail: String| SignatureError::DamagedSignature { kind, detail };
    let text = text_of(signature).ok_or_else(not_a_sig)?;
    let mut lines: Vec<&str> = text.lines().collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let first = lines.first().copied().unwrap_or_default();
    if !first.starts_with("untrusted comment:") {
        return Err(not_a_sig());
    }
    // A key file starts the same way: say what it is.
    if lines.len() == 2
        && matches!(
            describe(signature).as_str(),
            "a minisign public key" | "a minisign secret key"
        )
    {
        return Err(not_a_sig());
    }
    let [untrusted, sig_line, trusted, global] = lines.as_slice() else {
        return Err(damaged(if lines.len() < 4 {
            format!(
                "it ends after line {} of 4 (the file is cut short)",
                lines.len()
            )
        } else {
            format!("it has {} lines; minisign writes 4", lines.len())
        }));
    };
    let decode = |line: &str, what: &str, len: usize| match BASE64.decode(line.trim()) {
        Ok(raw) if raw.len() == len => Ok(raw),
        Ok(raw) => Err(damaged(format!(
            "the {what} line holds {} bytes, not {len}",
            raw.len()
        ))),
        Err(_) => Err(damaged(format!("the {what} line is not base64"))),
    };
    let raw = decode(sig_line, "signature", 74)?;
    if !trusted.starts_with("trusted comment: ") {
        return Err(damaged(
            "the third line is not a `trusted comment: ` line".to_owned(),
        ));
    }
    let global = decode(global, "global signature", 64)?;
    Ok(MinisignLines {
        untrusted,
        raw,
        trusted,
        global: global.try_into().unwrap_or([0; 64]),
    })
}

fn verify_minisign(
    pk: &minisign_verify::PublicKey,
    ed25519: &[u8; 32],
    pinned: &str,
    data: Data<'_>,
    signature: &[u8],
) -> Result<String, SignatureError> {
    let kind = SignatureKind::Minisign;
    let lines = minisign_lines(signature)?;
    let (Some(algorithm), Some(id), Some(sig_bytes)) = (
        lines.raw.get(..2),
        key_id_at(&lines.raw),
        lines.raw.get(10..),
    ) else {
        return Err(SignatureError::DamagedSignature {
            kind,
            detail: "the signature line is too short".to_owned(),
        });
    };
    let prehashed = match algorithm {
        b"ED" => true,
        b"Ed" => false,
        other => {
            return Err(SignatureError::Unsupported {
                kind,
                detail: format!(
                    "algorithm `{}`",
                    String::from_utf8_lossy(other).escape_debug()
                ),
            });
        }
    };
    let signed_by = minisign_key_id(id);
    if signed_by != pinned {
        return Err(SignatureError::WrongKey {
            kind,
            signed_by,
            pinned: pinned.to_owned(),
        });
    }
    // The global signature covers the signature and the trusted comment:
    // checked alone first, so that an altered comment is named as such.
    let comment = lines
        .trusted
        .strip_prefix("trusted comment: ")
        .unwrap_or_default();
    if !global_signature_ok(ed25519, sig_bytes, comment, &lines.global) {
        return Err(SignatureError::TrustedCommentAltered);
    }
    // Normalized: base64 lines re-encoded; the trusted comment is signed,
    // so it is kept as written (line ends aside).
    let standard = base64::engine::general_purpose::STANDARD;
    let normalized = format!(
        "{}\n{}\n{}\n{}\n",
        lines.untrusted,
        standard.encode(&lines.raw),
        lines.trusted,
        standard.encode(lines.global)
    );
    let sig = minisign_verify::Signature::decode(&normalized).map_err(minisign_error)?;
    let result = if prehashed {
        let mut verifier = pk.verify_stream(&sig).map_err(minisign_error)?;
        data.for_each_block(|block| verifier.update(block))?;
        verifier.finalize()
    } else {
        let whole = read_legacy(data)?;
        pk.verify(&whole, &sig, true)
    };
    result.map_err(minisign_error)?;
    Ok(signed_by)
}

/// Whether `global` is the Ed25519 signature of `signature` followed by the
/// trusted `comment`, by `key` (minisign's global signature).
fn global_signature_ok(key: &[u8; 32], signature: &[u8], comment: &str, global: &[u8; 64]) -> bool {
    use pgp::crypto::public_key::PublicKeyAlgorithm;
    use pgp::packet::PubKeyInner;
    use pgp::types::VerifyingKey as _;
    use pgp::types::{Ed25519PublicParams, KeyVersion, PublicParams, SignatureBytes};
    // The pgp crate's Ed25519 verifies a signature over the bytes it is
    // given (RFC 9580 Ed25519 signs the hash itself): wrap the raw key.
    let Ok(params) = Ed25519PublicParams::try_from_reader(key.as_slice()) else {
        return false;
    };
    let Ok(inner) = PubKeyInner::new(
        KeyVersion::V4,
        PublicKeyAlgorithm::Ed25519,
        Timestamp::from_secs(0),
        None,
        PublicParams::Ed25519(params),
    ) else {
        return false;
    };
    let Ok(wrapped) = pgp::packet::PublicKey::from_inner(inner) else {
        return false;
    };
    let mut message = signature.to_vec();
    message.extend_from_slice(comment.as_bytes());
    let bytes = SignatureBytes::Native(pgp::bytes::Bytes::copy_from_slice(global));
    wrapped
        .verify(HashAlgorithm::Sha512, &message, &bytes)
        .is_ok()
}

/// The whole file, for a legacy minisign signature.
fn read_legacy(data: Data<'_>) -> Result<std::borrow::Cow<'_, [u8]>, SignatureError> {
    if let Data::Bytes(bytes) = data {
        return Ok(bytes.into());
    }
    let whole = data.with_reader(|reader| {
        let mut whole = Vec::new();
        reader
            .take(LEGACY_MINISIGN_LIMIT + 1)
            .read_to_end(&mut whole)
            .map_err(|e| data.io_error(e))?;
        Ok(whole)
    })?;
    if whole.len() as u64 > LEGACY_MINISIGN_LIMIT {
        return Err(SignatureError::Unsupported {
            kind: SignatureKind::Minisign,
            detail: format!(
                "a legacy (non-prehashed) signature over a file larger than {} MiB; such \
                 signatures are checked in memory (minisign 0.10 and later sign prehashed by \
                 default)",
                LEGACY_MINISIGN_LIMIT >> 20
            ),
        });
    }
    Ok(whole.into())
}

fn minisign_error(e: minisign_verify::Error) -> SignatureError {
    use minisign_verify::Error as E;
    let kind = SignatureKind::Minisign;
    match e {
        E::InvalidSignature => SignatureError::BadSignature,
        E::IoError(source) => SignatureError::Io {
            path: PathBuf::from("<data>"),
            source,
        },
        E::UnsupportedAlgorithm | E::UnexpectedAlgorithm | E::UnsupportedLegacyMode => {
            SignatureError::Unsupported {
                kind,
                detail: e.to_string(),
            }
        }
        E::UnexpectedKeyId | E::InvalidEncoding => SignatureError::DamagedSignature {
            kind,
            detail: "its lines cannot be read".to_owned(),
        },
    }
}

// ------------------------------------------------------------------ cosign

fn parse_cosign_key(bytes: &[u8]) -> Result<PublicKey, SignatureError> {
    let not_a_key = |found: String| SignatureError::NotAKey {
        kind: SignatureKind::Cosign,
        found,
    };
    let text = text_of(bytes).ok_or_else(|| not_a_key(describe(bytes)))?;
    let blocks = armor_blocks(text);
    let Some(block) = blocks.iter().find(|b| b.label == "PUBLIC KEY") else {
        return Err(not_a_key(match blocks.first() {
            Some(b) if b.label.contains("PRIVATE KEY") => format!(
                "a private key ({}); commit the public key (`cosign.pub`) instead",
                b.label
            ),
            _ => describe(bytes),
        }));
    };
    let damaged = |detail: &str| SignatureError::DamagedKey {
        kind: SignatureKind::Cosign,
        detail: detail.to_owned(),
    };
    let der = BASE64
        .decode(strip_whitespace(block.body))
        .map_err(|_| damaged("the PEM body is not base64"))?;
    let spki = p256::pkcs8::spki::SubjectPublicKeyInfoRef::from_der(&der).map_err(|e| {
        damaged(match e.kind() {
            p256::pkcs8::der::ErrorKind::Incomplete { .. } => {
                "the key data is cut short (the file is truncated)"
            }
            _ => "the key data is not a public key structure (the file was altered)",
        })
    })?;
    let algorithm = spki.algorithm.oid.to_string();
    let curve = spki
        .algorithm
        .parameters_oid()
        .map(|o| o.to_string())
        .unwrap_or_default();
    let unsupported = match (algorithm.as_str(), curve.as_str()) {
        ("1.2.840.10045.2.1", "1.2.840.10045.3.1.7") => None,
        ("1.2.840.10045.2.1", "1.3.132.0.34") => Some("an ECDSA P-384 key"),
        ("1.2.840.10045.2.1", "1.3.132.0.35") => Some("an ECDSA P-521 key"),
        ("1.2.840.10045.2.1", _) => Some("an ECDSA key on another curve"),
        ("1.2.840.113549.1.1.1", _) => Some("an RSA key"),
        ("1.3.101.112", _) => Some("an Ed25519 key"),
        _ => Some("a key of another algorithm"),
    };
    if let Some(found) = unsupported {
        return Err(not_a_key(format!(
            "{found}; only ECDSA P-256 keys (as `cosign generate-key-pair` makes) are supported"
        )));
    }
    let vk = p256::ecdsa::VerifyingKey::from_public_key_der(&der).map_err(|_| {
        damaged("the key is not a valid ECDSA P-256 public key (the file was altered)")
    })?;
    Ok(PublicKey {
        fingerprint: format!("sha256:{}", hex(&Sha256::digest(&der))),
        inner: Inner::Cosign(vk),
    })
}

fn parse_cosign_signature(bytes: &[u8]) -> Result<p256::ecdsa::Signature, SignatureError> {
    let not_a_sig = |found: String| SignatureError::NotASignature {
        kind: SignatureKind::Cosign,
        found,
    };
    let trimmed = bytes.trim_ascii();
    if let Some(text) = text_of(trimmed) {
        if trimmed.is_empty() || text.starts_with('{') {
            return Err(not_a_sig(describe(bytes)));
        }
        let der = BASE64
            .decode(strip_whitespace(text))
            .map_err(|_| not_a_sig(describe(bytes)))?;
        return p256::ecdsa::Signature::from_der(&der).map_err(|_| {
            not_a_sig(format!(
                "base64 of {} bytes that are not a DER ECDSA signature",
                der.len()
            ))
        });
    }
    p256::ecdsa::Signature::from_der(bytes).map_err(|_| not_a_sig(describe(bytes)))
}

fn verify_cosign(
    vk: &p256::ecdsa::VerifyingKey,
    fingerprint: &str,
    data: Data<'_>,
    sha256: Option<[u8; 32]>,
    signature: &[u8],
) -> Result<String, SignatureError> {
    let sig = parse_cosign_signature(signature)?;
    let digest = match sha256 {
        Some(digest) => digest,
        None => data.sha256()?,
    };
    vk.verify_prehash(&digest, &sig)
        .map_err(|_| SignatureError::BadSignature)?;
    Ok(fingerprint.to_owned())
}

fn parse_sha256(value: &str) -> Result<[u8; 32], SignatureError> {
    let bad = || SignatureError::BadDigest {
        value: value.to_owned(),
    };
    let digits = value.as_bytes();
    if digits.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let hi = hex_digit(pair.first().copied()).ok_or_else(bad)?;
        let lo = hex_digit(pair.get(1).copied()).ok_or_else(bad)?;
        *byte = (hi << 4) | lo;
    }
    Ok(out)
}

fn hex_digit(c: Option<u8>) -> Option<u8> {
    char::from(c?)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

// --------------------------------------------------------------------- pgp

fn parse_pgp_keyring(bytes: &[u8]) -> Result<PublicKey, SignatureError> {
    let kind = SignatureKind::Pgp;
    let not_a_key = |found: String| SignatureError::NotAKey { kind, found };
    let damaged = |detail: String| SignatureError::DamagedKey { kind, detail };
    let trimmed = bytes.trim_ascii_start();
    let mut keys = Vec::new();
    match trimmed.first() {
        Some(b) if b & 0x80 != 0 => {
            let found = describe(bytes);
            if found != "a binary OpenPGP public key" {
                return Err(not_a_key(found));
            }
            keys = parse_pgp_packets(trimmed, SignedPublicKey::from_bytes_many).map_err(damaged)?;
        }
        Some(_) => {
            let text = text_of(trimmed).ok_or_else(|| not_a_key(describe(bytes)))?;
            let blocks = armor_blocks(text);
            for block in blocks.iter().filter(|b| b.label == "PGP PUBLIC KEY BLOCK") {
                let binary = dearmor(block).map_err(damaged)?;
                let parsed = parse_pgp_packets(&binary, SignedPublicKey::from_bytes_many)
                    .map_err(damaged)?;
                if parsed.is_empty() {
                    return Err(damaged("the armor holds no public key".to_owned()));
                }
                keys.extend(parsed);
            }
            if keys.is_empty() {
                return Err(not_a_key(match blocks.first() {
                    Some(b) if b.label == "PGP PRIVATE KEY BLOCK" => {
                        "an OpenPGP private key; commit the public keyring \
                         (`gpg --export --armor KEYID`) instead"
                            .to_owned()
                    }
                    _ => describe(bytes),
                }));
            }
        }
        None => return Err(not_a_key(describe(bytes))),
    }
    if keys.is_empty() {
        return Err(damaged("it holds no public key".to_owned()));
    }
    let certs: Vec<Cert> = keys.into_iter().map(Cert::new).collect();
    let fingerprint = certs
        .first()
        .map(|c| c.fingerprint.clone())
        .unwrap_or_default();
    Ok(PublicKey {
        fingerprint,
        inner: Inner::Pgp(certs),
    })
}

/// The binary packets of an armored block, or what is wrong with its armor.
fn dearmor(block: &Block<'_>) -> Result<Vec<u8>, String> {
    let mut reader = pgp::armor::Dearmor::new(block.whole.as_bytes());
    let mut binary = Vec::new();
    match reader.read_to_end(&mut binary) {
        Ok(_) => Ok(binary),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            Err("the armor's base64 text is damaged".to_owned())
        }
        Err(_) => Err("the armor is cut short or altered".to_owned()),
    }
}

/// Every item `parse` reads from binary packets, or, in plain words, what
/// is wrong with them.
fn parse_pgp_packets<'a, T, I>(
    binary: &'a [u8],
    parse: impl FnOnce(&'a [u8]) -> pgp::errors::Result<I>,
) -> Result<Vec<T>, String>
where
    I: Iterator<Item = pgp::errors::Result<T>>,
{
    let damage = |e: pgp::errors::Error| {
        if packets_cut_short(binary) {
            "a packet is cut short (the file is truncated)".to_owned()
        } else {
            pgp_damage(&e)
        }
    };
    let mut items = Vec::new();
    for item in parse(binary).map_err(damage)? {
        items.push(item.map_err(damage)?);
    }
    Ok(items)
}

/// Whether the packet framing of `binary` (RFC 9580 section 4.2) ends
/// inside a packet: a header or body longer than what is left.
fn packets_cut_short(binary: &[u8]) -> bool {
    let mut rest = binary;
    while let Some((&tag, after)) = rest.split_first() {
        if tag & 0x80 == 0 {
            return false;
        }
        rest = after;
        if tag & 0x40 != 0 {
            // New format; partial lengths chain chunks until a final length.
            loop {
                let Some((&first, after)) = rest.split_first() else {
                    return true;
                };
                let (len, header, partial) = match first {
                    0..=191 => (usize::from(first), 1, false),
                    192..=223 => match after.first() {
                        Some(&second) => (
                            ((usize::from(first) - 192) << 8) + usize::from(second) + 192,
                            2,
                            false,
                        ),
                        None => return true,
                    },
                    224..=254 => (1usize << (first & 0x1f), 1, true),
                    255 => match after.get(..4) {
                        Some(b) => (
                            b.iter().fold(0usize, |n, &x| (n << 8) | usize::from(x)),
                            5,
                            false,
                        ),
                        None => return true,
                    },
                };
                let Some(after_chunk) = rest.get(header..).and_then(|r| r.get(len..)) else {
                    return true;
                };
                rest = after_chunk;
                if !partial {
                    break;
                }
            }
        } else {
            let octets = match tag & 0x03 {
                0 => 1,
                1 => 2,
                2 => 4,
                _ => return false,
            };
            let Some(header) = rest.get(..octets) else {
                return true;
            };
            let len = header
                .iter()
                .fold(0usize, |n, &x| (n << 8) | usize::from(x));
            match rest.get(octets..).and_then(|r| r.get(len..)) {
                Some(after_body) => rest = after_body,
                None => return true,
            }
        }
    }
    false
}

/// What a parse error of the pgp crate means, without its internals.
fn pgp_damage(e: &pgp::errors::Error) -> String {
    use pgp::errors::Error as E;
    let cut_short = match e {
        E::PacketIncomplete { .. } | E::RequestedSizeTooLarge => true,
        E::PacketParsing { source } => source.is_incomplete(),
        E::IO { source, .. } => source.kind() == io::ErrorKind::UnexpectedEof,
        E::InvalidPacketContent { source } => return pgp_damage(source),
        E::Unsupported { .. } | E::Unimplemented { .. } => {
            return "it uses an OpenPGP packet version or algorithm that cannot be read here \
                    (or it was altered)"
                .to_owned();
        }
        _ => false,
    };
    if cut_short {
        "a packet is cut short (the file is truncated)".to_owned()
    } else {
        "a packet is malformed (the file was altered, or is not OpenPGP)".to_owned()
    }
}

/// When a key expires: its creation time plus the key expiration time of
/// `binding` (its newest valid self-signature or binding signature), in
/// seconds since the epoch; `None`: never (no subpacket, or 0).
fn expiry(created: Timestamp, binding: Option<&pgp::packet::Signature>) -> Option<u64> {
    let secs = binding?.key_expiration_time()?.as_secs();
    (secs != 0).then(|| u64::from(created.as_secs()) + u64::from(secs))
}

/// The most recently created of `sigs`.
fn newest<'a>(
    sigs: impl Iterator<Item = &'a pgp::packet::Signature>,
) -> Option<&'a pgp::packet::Signature> {
    sigs.max_by_key(|s| s.created().map(Timestamp::as_secs).unwrap_or_default())
}

impl Cert {
    fn new(key: SignedPublicKey) -> Cert {
        let primary = &key.primary_key;
        let revoked = key.details.revocation_signatures.iter().any(|sig| {
            sig.typ() == Some(SignatureType::KeyRevocation) && sig.verify_key(primary).is_ok()
        });
        let direct =
            key.details.direct_signatures.iter().filter(|sig| {
                sig.typ() == Some(SignatureType::Key) && sig.verify_key(primary).is_ok()
            });
        let certifications = key.details.users.iter().flat_map(|user| {
            user.signatures.iter().filter(|sig| {
                sig.typ()
                    .is_some_and(|t| CERTIFICATION_SIGNATURE_TYPES.contains(&t))
                    && sig
                        .verify_certification(primary, Tag::UserId, &user.id)
                        .is_ok()
            })
        });
        let expires = expiry(primary.created_at(), newest(direct.chain(certifications)));
        let subkeys = key
            .public_subkeys
            .iter()
            .map(|sub| {
                let revoked = sub.signatures.iter().any(|sig| {
                    sig.typ() == Some(SignatureType::SubkeyRevocation)
                        && sig.verify_subkey_binding(primary, &sub.key).is_ok()
                });
                let binding = newest(sub.signatures.iter().filter(|sig| {
                    sig.typ() == Some(SignatureType::SubkeyBinding)
                        && sig.verify_subkey_binding(primary, &sub.key).is_ok()
                }));
                let signs = binding.is_some_and(|sig| {
                    sig.key_flags().sign()
                        && sig.embedded_signature().is_some_and(|back| {
                            back.verify_primary_key_binding(&sub.key, primary).is_ok()
                        })
                });
                Subkey {
                    usable: signs && !revoked,
                    expires: expiry(sub.key.created_at(), binding),
                }
            })
            .collect();
        Cert {
            fingerprint: format!("{:X}", primary.fingerprint()),
            key,
            revoked,
            expires,
            subkeys,
        }
    }
}

/// A key of a keyring that may have made a signature.
enum Component<'a> {
    Primary(&'a pgp::packet::PublicKey),
    Subkey(&'a pgp::packet::PublicSubkey, &'a Subkey),
}

impl Component<'_> {
    /// `pgp key FPR` or `subkey SUB of pgp key FPR`, for messages.
    fn name(&self, cert: &Cert) -> String {
        match self {
            Component::Primary(_) => format!("pgp key {}", cert.fingerprint),
            Component::Subkey(k, _) => {
                format!(
                    "subkey {:X} of pgp key {}",
                    k.fingerprint(),
                    cert.fingerprint
                )
            }
        }
    }

    fn created_at(&self) -> Timestamp {
        match self {
            Component::Primary(k) => k.created_at(),
            Component::Subkey(k, _) => k.created_at(),
        }
    }
}

/// How close an attempt came; the closest failure is reported.
fn rank(e: &SignatureError) -> u8 {
    match e {
        SignatureError::KeyExpired { .. }
        | SignatureError::SignatureExpired { .. }
        | SignatureError::SignatureInFuture { .. }
        | SignatureError::KeyNewerThanSignature { .. } => 5,
        SignatureError::BadSignature => 4,
        SignatureError::KeyUnusable { .. } => 3,
        SignatureError::Unsupported { .. } => 2,
        SignatureError::NotInKeyring { .. } => 1,
        _ => 0,
    }
}

/// Seconds since the epoch, now.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn verify_pgp(certs: &[Cert], data: Data<'_>, signature: &[u8]) -> Result<String, SignatureError> {
    let sigs = parse_pgp_signatures(signature)?;
    let sigs: Vec<&pgp::packet::Signature> = sigs.iter().map(|s| &s.signature).collect();
    verify_pgp_signatures(certs, data, &sigs)
}

/// Verifies an OpenPGP cleartext-signed message (`gpg --clearsign`, as an
/// APT `InRelease` is) with the keyring `key`, by the same rules as a
/// detached signature (revocation, expiry, dates). Returns the signer and
/// the signed text only (dash escapes removed, `\n` line ends): nothing
/// outside the signed part is ever returned.
pub fn verify_cleartext(
    key: &PublicKey,
    message: &[u8],
) -> Result<(Verified, String), SignatureError> {
    let kind = SignatureKind::Pgp;
    let Inner::Pgp(certs) = &key.inner else {
        return Err(SignatureError::NotAKey {
            kind,
            found: format!("a {} key", kind_name(key.kind())),
        });
    };
    let not_signed = |found: &str| SignatureError::NotASignature {
        kind,
        found: found.to_owned(),
    };
    let text = std::str::from_utf8(message).map_err(|_| not_signed("binary data"))?;
    if !text
        .trim_start()
        .starts_with("-----BEGIN PGP SIGNED MESSAGE-----")
    {
        return Err(not_signed(
            "text that is not cleartext-signed (no `-----BEGIN PGP SIGNED MESSAGE-----`)",
        ));
    }
    let (msg, _) =
        pgp::composed::CleartextSignedMessage::from_string(text.trim_start()).map_err(|_| {
            SignatureError::DamagedSignature {
                kind,
                detail: "the cleartext-signed message cannot be read (altered framing or armor)"
                    .to_owned(),
            }
        })?;
    let sigs: Vec<&pgp::packet::Signature> = msg.signatures().iter().collect();
    if sigs.is_empty() {
        return Err(not_signed("a cleartext message without signatures"));
    }
    if let Some(other) = sigs
        .iter()
        .find_map(|s| s.typ().filter(|t| *t != SignatureType::Text))
    {
        let found = non_file_signature(other).unwrap_or_else(|| "a binary signature".to_owned());
        return Err(not_signed(&found));
    }
    let signed = msg.signed_text();
    let signer = verify_pgp_signatures(certs, Data::Bytes(signed.as_bytes()), &sigs)?;
    Ok((Verified { kind, key: signer }, signed.replace("\r\n", "\n")))
}

fn verify_pgp_signatures(
    certs: &[Cert],
    data: Data<'_>,
    sigs: &[&pgp::packet::Signature],
) -> Result<String, SignatureError> {
    let kind = SignatureKind::Pgp;
    let now = now_secs();
    let mut failure: Option<SignatureError> = None;
    let mut fail = |e: SignatureError| {
        if failure.as_ref().is_none_or(|f| rank(&e) > rank(f)) {
            failure = Some(e);
        }
    };
    for sig in sigs {
        match sig.hash_alg() {
            Some(HashAlgorithm::Md5 | HashAlgorithm::Sha1 | HashAlgorithm::Ripemd160) => {
                fail(SignatureError::Unsupported {
                    kind,
                    detail: format!(
                        "made with the broken hash {}",
                        sig.hash_alg().map(|h| h.to_string()).unwrap_or_default()
                    ),
                });
                continue;
            }
            Some(_) => {}
            None => {
                fail(SignatureError::Unsupported {
                    kind,
                    detail: format!(
                        "an OpenPGP version {} signature, which cannot be read here",
                        u8::from(sig.version())
                    ),
                });
                continue;
            }
        }
        let fingerprints = sig.issuer_fingerprint();
        let key_ids = sig.issuer_key_id();
        let anonymous = fingerprints.is_empty() && key_ids.is_empty();
        let issued = |k: &dyn pgp::types::KeyDetails| {
            anonymous
                || fingerprints.iter().any(|f| **f == k.fingerprint())
                || key_ids.iter().any(|id| **id == k.legacy_key_id())
        };
        let mut tried = false;
        for cert in certs {
            let key = &cert.key;
            let components = std::iter::once(Component::Primary(&key.primary_key)).chain(
                key.public_subkeys
                    .iter()
                    .zip(&cert.subkeys)
                    .map(|(s, state)| Component::Subkey(&s.key, state)),
            );
            for component in components {
                let (matches, usable) = match &component {
                    Component::Primary(k) => (issued(*k), !cert.revoked),
                    Component::Subkey(k, state) => (issued(*k), state.usable && !cert.revoked),
                };
                if !matches {
                    continue;
                }
                tried = true;
                if !usable {
                    if !anonymous {
                        fail(unusable(cert, &component));
                    }
                    continue;
                }
                let outcome = match component {
                    Component::Primary(k) => check_pgp(sig, k, data)?,
                    Component::Subkey(k, _) => check_pgp(sig, k, data)?,
                };
                if !outcome {
                    fail(SignatureError::BadSignature);
                    continue;
                }
                // Dates are only read once the signature verified: before
                // that, they are anyone's words.
                match check_pgp_time(sig, cert, &component, now) {
                    Ok(()) => return Ok(cert.fingerprint.clone()),
                    Err(e) => fail(e),
                }
            }
        }
        if !tried {
            fail(SignatureError::NotInKeyring {
                keys: certs.iter().map(|c| c.fingerprint.clone()).collect(),
                issuer: match (fingerprints.first(), key_ids.first()) {
                    (Some(f), _) => format!("{f:X}"),
                    (None, Some(id)) => format!("key id {}", id.to_string().to_uppercase()),
                    (None, None) => "unknown".to_owned(),
                },
            });
        }
    }
    Err(failure.unwrap_or(SignatureError::BadSignature))
}

/// A verified signature's dates against the key that made it and `now`.
fn check_pgp_time(
    sig: &pgp::packet::Signature,
    cert: &Cert,
    component: &Component<'_>,
    now: u64,
) -> Result<(), SignatureError> {
    let Some(created) = sig.created() else {
        return Err(SignatureError::Unsupported {
            kind: SignatureKind::Pgp,
            detail: "a signature without a creation time".to_owned(),
        });
    };
    let created = u64::from(created.as_secs());
    if created > now + u64::from(CLOCK_SKEW_SECS) {
        return Err(SignatureError::SignatureInFuture {
            signed_at: utc(created),
            now: utc(now),
        });
    }
    if let Some(lifetime) = sig.signature_expiration_time().map(|d| d.as_secs())
        && lifetime != 0
    {
        let expired = created + u64::from(lifetime);
        if now >= expired {
            return Err(SignatureError::SignatureExpired {
                signed_at: utc(created),
                expired_at: utc(expired),
            });
        }
    }
    let key_created = u64::from(component.created_at().as_secs());
    if created < key_created {
        return Err(SignatureError::KeyNewerThanSignature {
            signer: component.name(cert),
            signed_at: utc(created),
            created_at: utc(key_created),
        });
    }
    let expired = |which: &str, at: u64| SignatureError::KeyExpired {
        signer: component.name(cert),
        which: which.to_owned(),
        signed_at: utc(created),
        expired_at: utc(at),
    };
    if let Some(at) = cert.expires
        && created >= at
    {
        return Err(expired(
            match component {
                Component::Primary(_) => "which",
                Component::Subkey(..) => "whose primary key",
            },
            at,
        ));
    }
    if let Component::Subkey(_, state) = component
        && let Some(at) = state.expires
        && created >= at
    {
        return Err(expired("which", at));
    }
    Ok(())
}

fn unusable(cert: &Cert, component: &Component<'_>) -> SignatureError {
    let detail = match component {
        _ if cert.revoked => format!("the pgp key {} is revoked", cert.fingerprint),
        Component::Subkey(k, _) => format!(
            "signed by subkey {:X} of pgp key {}, which is revoked or not validly bound \
             as a signing subkey",
            k.fingerprint(),
            cert.fingerprint
        ),
        Component::Primary(_) => format!("the pgp key {} cannot sign", cert.fingerprint),
    };
    SignatureError::KeyUnusable { detail }
}

/// Checks one signature with one key: `Ok(false)` when it does not verify.
fn check_pgp(
    sig: &pgp::packet::Signature,
    key: &impl pgp::types::VerifyingKey,
    data: Data<'_>,
) -> Result<bool, SignatureError> {
    if let Data::Bytes(bytes) = data {
        return Ok(sig.verify(key, bytes).is_ok());
    }
    data.with_reader(|reader| {
        let mut reader = Tracked {
            inner: io::BufReader::with_capacity(BLOCK, reader),
            error: None,
        };
        let ok = sig.verify(key, &mut reader).is_ok();
        match reader.error {
            Some(e) => Err(data.io_error(e)),
            None => Ok(ok),
        }
    })
}

/// A reader that keeps a copy of the first read error, so that an I/O
/// failure is not reported as a bad signature.
struct Tracked<R> {
    inner: R,
    error: Option<io::Error>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if self.error.is_none() && e.kind() != io::ErrorKind::Interrupted {
                self.error = Some(io::Error::new(e.kind(), e.to_string()));
            }
        })
    }
}

fn parse_pgp_signatures(bytes: &[u8]) -> Result<Vec<DetachedSignature>, SignatureError> {
    let kind = SignatureKind::Pgp;
    let not_a_sig = |found: String| SignatureError::NotASignature { kind, found };
    let damaged = |detail: String| SignatureError::DamagedSignature { kind, detail };
    let trimmed = bytes.trim_ascii_start();
    let mut sigs = Vec::new();
    match trimmed.first() {
        Some(b) if b & 0x80 != 0 => {
            let found = describe(bytes);
            if found != "a binary OpenPGP signature" {
                return Err(not_a_sig(found));
            }
            sigs =
                parse_pgp_packets(trimmed, DetachedSignature::from_bytes_many).map_err(damaged)?;
            if sigs.is_empty() {
                return Err(damaged("it holds no signature packet".to_owned()));
            }
        }
        Some(_) => {
            let text = text_of(trimmed).ok_or_else(|| not_a_sig(describe(bytes)))?;
            for block in armor_blocks(text)
                .iter()
                .filter(|b| b.label == "PGP SIGNATURE")
            {
                let binary = dearmor(block).map_err(damaged)?;
                let parsed = parse_pgp_packets(&binary, DetachedSignature::from_bytes_many)
                    .map_err(damaged)?;
                if parsed.is_empty() {
                    return Err(damaged("the armor holds no signature packet".to_owned()));
                }
                sigs.extend(parsed);
            }
        }
        None => {}
    }
    if sigs.is_empty() {
        return Err(not_a_sig(describe(bytes)));
    }
    if let Some(other) = sigs
        .iter()
        .find_map(|s| s.signature.typ().and_then(non_file_signature))
    {
        return Err(not_a_sig(format!(
            "an OpenPGP {other}, not one over a file"
        )));
    }
    Ok(sigs)
}

/// What a signature of type `t` is, unless it signs a file.
fn non_file_signature(t: SignatureType) -> Option<String> {
    let name = match t {
        SignatureType::Binary | SignatureType::Text => return None,
        SignatureType::Standalone => "standalone signature",
        SignatureType::CertGeneric
        | SignatureType::CertPersona
        | SignatureType::CertCasual
        | SignatureType::CertPositive => "certification (a signature over a key and user id)",
        SignatureType::SubkeyBinding | SignatureType::KeyBinding => "key binding signature",
        SignatureType::Key => "direct-key signature",
        SignatureType::KeyRevocation
        | SignatureType::SubkeyRevocation
        | SignatureType::CertRevocation => "revocation signature",
        SignatureType::Timestamp => "timestamp signature",
        SignatureType::ThirdParty => "third-party confirmation signature",
        SignatureType::Other(n) => return Some(format!("signature of unknown type {n}")),
    };
    Some(name.to_owned())
}

// ------------------------------------------------------------------ shared

/// One `-----BEGIN …-----` … `-----END …-----` block of a text file.
struct Block<'a> {
    label: &'a str,
    /// From the BEGIN line through the END line.
    whole: &'a str,
    /// Between the BEGIN and END lines.
    body: &'a str,
}

/// Every armor / PEM block of `text`, in order. An unterminated block runs
/// to the end of the text.
fn armor_blocks(text: &str) -> Vec<Block<'_>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        if label.contains('\n') {
            offset += start + 11;
            rest = after;
            continue;
        }
        let body_start = start + 11 + label_end + 5;
        let end_marker = format!("-----END {label}-----");
        let (body_end, block_end) = match rest[body_start..].find(&end_marker) {
            Some(i) => (body_start + i, body_start + i + end_marker.len()),
            None => (rest.len(), rest.len()),
        };
        blocks.push(Block {
            label,
            whole: &text[offset + start..offset + block_end],
            body: &rest[body_start..body_end],
        });
        offset += block_end;
        rest = &rest[block_end..];
    }
    blocks
}

fn strip_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_whitespace()).collect()
}

/// `bytes` as text: UTF-8 without control characters other than
/// whitespace; a leading BOM is dropped.
fn text_of(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.chars()
        .all(|c| !c.is_control() || c.is_ascii_whitespace())
        .then_some(text)
}

/// A short guess at what a key or signature file holds, for messages.
fn describe(bytes: &[u8]) -> String {
    let trimmed = bytes.trim_ascii();
    if bytes.is_empty() {
        return "an empty file".to_owned();
    }
    if trimmed.is_empty() {
        return "only whitespace".to_owned();
    }
    if let Some(text) = text_of(trimmed) {
        return describe_text(text);
    }
    let first = trimmed.first().copied().unwrap_or_default();
    if first & 0x80 != 0 {
        let tag = if first & 0x40 != 0 {
            first & 0x3f
        } else {
            (first >> 2) & 0x0f
        };
        match tag {
            2 => return "a binary OpenPGP signature".to_owned(),
            5 => return "a binary OpenPGP secret key".to_owned(),
            6 => return "a binary OpenPGP public key".to_owned(),
            _ => {}
        }
    }
    if first == 0x30 {
        return format!("binary DER data ({} bytes)", bytes.len());
    }
    format!("binary data ({} bytes)", bytes.len())
}

fn describe_text(text: &str) -> String {
    if let Some(block) = armor_blocks(text).first() {
        return if block.label.starts_with("PGP ") {
            format!("an OpenPGP armored block ({})", block.label)
        } else {
            format!("a PEM block ({})", block.label)
        };
    }
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    if first.starts_with("untrusted comment:") {
        let decoded = lines.next().and_then(|l| BASE64.decode(l).ok());
        return match decoded.as_deref().map(|d| (d.len(), d.get(..2))) {
            Some((42, Some(b"Ed"))) => "a minisign public key",
            Some((74, _)) => "a minisign signature",
            Some((158, _)) => "a minisign secret key",
            _ => "a damaged minisign file",
        }
        .to_owned();
    }
    if first.starts_with('{') {
        return "JSON (a cosign bundle? the base64 signature file is needed)".to_owned();
    }
    if first.starts_with("ssh-") || first.starts_with("ecdsa-sha2-") {
        return "an SSH public key".to_owned();
    }
    if !first.contains(' ')
        && let Ok(decoded) = BASE64.decode(first)
    {
        return match decoded.len() {
            42 if decoded.starts_with(b"Ed") => "a minisign public key (base64 line)".to_owned(),
            n => format!("base64 data ({n} bytes)"),
        };
    }
    let shown: String = first.chars().take(40).collect();
    let ellipsis = if shown.len() < first.len() { "…" } else { "" };
    format!("text starting `{shown}{ellipsis}`")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A stream is read once: a check that needs the bytes again, or a
    /// failed read, leaves it unable to answer for the file.
    #[test]
    fn a_stream_read_twice_or_broken_cannot_answer() {
        let mut bytes: &[u8] = b"signed bytes";
        let stream = Stream {
            reader: std::cell::RefCell::new(&mut bytes),
            read: std::cell::Cell::new(false),
            failed: std::cell::Cell::new(false),
        };
        let data = Data::Stream(&stream);
        let mut seen = Vec::new();
        data.for_each_block(|b| seen.extend_from_slice(b)).unwrap();
        assert_eq!(seen, b"signed bytes");
        assert!(!stream.failed.get());
        assert!(data.for_each_block(|_| {}).is_err());
        assert!(stream.failed.get());

        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("the download restarted"))
            }
        }
        let mut broken = Broken;
        let stream = Stream {
            reader: std::cell::RefCell::new(&mut broken),
            read: std::cell::Cell::new(false),
            failed: std::cell::Cell::new(false),
        };
        assert!(read_legacy(Data::Stream(&stream)).is_err());
        assert!(stream.failed.get());
    }

    const KINDS: [SignatureKind; 3] = [
        SignatureKind::Minisign,
        SignatureKind::Cosign,
        SignatureKind::Pgp,
    ];

    // From minisign-verify's own tests.
    const MINISIGN_PUB: &str = "untrusted comment: minisign public key E7620F1842B4E81F
RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3
";
    // Legacy signature by that key over b"test".
    const MINISIGN_LEGACY_SIG: &str = "untrusted comment: signature from minisign secret key
RWQf6LRCGA9i59SLOFxz6NxvASXDJeRtuZykwQepbDEGt87ig1BNpWaVWuNrm73YiIiJbq71Wi+dP9eKL8OC351vwIasSSbXxwA=
trusted comment: timestamp:1555779966\tfile:test
QtKMXWyYcwdpZAlPF7tE2ENJkRd1ujvKjlj1m9RtHTBnZPa5WKU5uWRs5GoP5M/VqE81QFuMKI5k/SfNQUaOAA==
";

    /// Deterministic pseudo-random bytes (xorshift).
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn minisign_key_id_matches_minisign() {
        let key = PublicKey::parse(SignatureKind::Minisign, MINISIGN_PUB.as_bytes()).unwrap();
        assert_eq!(key.fingerprint(), "E7620F1842B4E81F");
        assert_eq!(key.kind(), SignatureKind::Minisign);
        let bare = PublicKey::parse(
            SignatureKind::Minisign,
            b"RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3\n",
        )
        .unwrap();
        assert_eq!(bare.fingerprint(), "E7620F1842B4E81F");
    }

    #[test]
    fn minisign_legacy_in_memory() {
        let key = PublicKey::parse(SignatureKind::Minisign, MINISIGN_PUB.as_bytes()).unwrap();
        let ok = verify_bytes(&key, b"test", MINISIGN_LEGACY_SIG.as_bytes()).unwrap();
        assert_eq!(ok.trust_label(), "minisign:E7620F1842B4E81F");
        let crlf = MINISIGN_LEGACY_SIG.replace('\n', "\r\n");
        verify_bytes(&key, b"test", crlf.as_bytes()).unwrap();
        let err = verify_bytes(&key, b"Test", MINISIGN_LEGACY_SIG.as_bytes()).unwrap_err();
        assert!(matches!(err, SignatureError::BadSignature), "{err}");
    }

    #[test]
    fn minisign_trusted_comment_is_signed() {
        let key = PublicKey::parse(SignatureKind::Minisign, MINISIGN_PUB.as_bytes()).unwrap();
        let forged = MINISIGN_LEGACY_SIG.replace("file:test", "file:tesT");
        let err = verify_bytes(&key, b"test", forged.as_bytes()).unwrap_err();
        assert!(
            matches!(err, SignatureError::TrustedCommentAltered),
            "{err}"
        );
        // The global signature alone: good over the original comment only.
        let raw = BASE64.decode(MINISIGN_PUB.lines().nth(1).unwrap()).unwrap();
        let ed25519: [u8; 32] = raw[10..].try_into().unwrap();
        let lines = minisign_lines(MINISIGN_LEGACY_SIG.as_bytes()).unwrap();
        let comment = "timestamp:1555779966\tfile:test";
        assert!(global_signature_ok(
            &ed25519,
            &lines.raw[10..],
            comment,
            &lines.global
        ));
        let other = "timestamp:1555779966\tfile:tesT";
        assert!(!global_signature_ok(
            &ed25519,
            &lines.raw[10..],
            other,
            &lines.global
        ));
    }

    #[test]
    fn minisign_wrong_key_names_both() {
        // Same key material, another key id.
        let mut raw = BASE64
            .decode("RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3")
            .unwrap();
        raw[2] ^= 0xff;
        let other = base64::engine::general_purpose::STANDARD.encode(&raw);
        let key = PublicKey::parse(SignatureKind::Minisign, other.as_bytes()).unwrap();
        let err = verify_bytes(&key, b"test", MINISIGN_LEGACY_SIG.as_bytes()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("E7620F1842B4E81F"), "{message}");
        assert!(message.contains(key.fingerprint()), "{message}");
        let help = miette::Diagnostic::help(&err).unwrap().to_string();
        assert!(
            help.starts_with("the publisher may have changed keys"),
            "{help}"
        );
    }

    #[test]
    fn malformed_keys_are_refused_for_every_kind() {
        let inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"   \n\n".to_vec(),
            noise(1, 64),
            noise(2, 4096),
            b"hello world\n".to_vec(),
            b"untrusted comment: minisign public key\nnot base64 !!\n".to_vec(),
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".to_vec(),
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"
                .to_vec(),
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n".to_vec(),
            vec![0x99, 0x00],
            vec![0xc6, 0xff, 0xff, 0xff],
            b"{\"payload\": 1}".to_vec(),
        ];
        for kind in KINDS {
            for input in &inputs {
                let err = PublicKey::parse(kind, input).unwrap_err();
                assert!(
                    matches!(
                        err,
                        SignatureError::NotAKey { kind: k, .. }
                            | SignatureError::DamagedKey { kind: k, .. } if k == kind
                    ),
                    "{kind:?} {input:?}: {err}"
                );
            }
        }
    }

    #[test]
    fn a_key_of_another_kind_is_named() {
        let err = PublicKey::parse(SignatureKind::Cosign, MINISIGN_PUB.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a cosign public key: found a minisign public key"
        );
        let err = PublicKey::parse(SignatureKind::Pgp, MINISIGN_PUB.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a pgp public key: found a minisign public key"
        );
        let pem = b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        let err = PublicKey::parse(SignatureKind::Minisign, pem).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a minisign public key: found a PEM block (PUBLIC KEY)"
        );
        let err = PublicKey::parse(
            SignatureKind::Cosign,
            b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("private key"), "{err}");
        let err = PublicKey::parse(SignatureKind::Minisign, b"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a minisign public key: found an empty file"
        );
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let minisign = PublicKey::parse(SignatureKind::Minisign, MINISIGN_PUB.as_bytes()).unwrap();
        let mut inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\n".to_vec(),
            noise(3, 64),
            noise(4, 100_000),
            b"untrusted comment: x\n".to_vec(),
            b"-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n".to_vec(),
            b"MEUCIQ==\n".to_vec(),
            MINISIGN_PUB.as_bytes().to_vec(),
        ];
        // Base64 padding is optional: cut the newline and the `==` too.
        for cut in 0..MINISIGN_LEGACY_SIG.len() - 3 {
            inputs.push(MINISIGN_LEGACY_SIG.as_bytes()[..cut].to_vec());
        }
        for input in &inputs {
            let err = verify_bytes(&minisign, b"test", input).unwrap_err();
            assert!(
                matches!(
                    err,
                    SignatureError::NotASignature { .. }
                        | SignatureError::DamagedSignature { .. }
                        | SignatureError::BadSignature
                ),
                "{input:?}: {err}"
            );
        }
        let err = verify_bytes(&minisign, b"test", b"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the signature is not a minisign signature (found: an empty file)"
        );
        let armored = b"-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n";
        let err = verify_bytes(&minisign, b"test", armored).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the signature is not a minisign signature \
             (found: an OpenPGP armored block (PGP SIGNATURE))"
        );
    }

    #[test]
    fn random_pgp_packets_do_not_panic() {
        for seed in 0..2000u64 {
            let mut bytes = noise(seed, (seed % 300) as usize + 1);
            // Valid-looking packet headers: signature, public key, subkey.
            bytes[0] = [0x88, 0x89, 0x98, 0x99, 0xb9, 0xc2, 0xc6, 0xce][(seed % 8) as usize];
            let _ = PublicKey::parse(SignatureKind::Pgp, &bytes);
            let _ = parse_pgp_signatures(&bytes);
            let _ = PublicKey::parse(SignatureKind::Cosign, &bytes);
            let _ = parse_cosign_signature(&bytes);
        }
    }

    #[test]
    fn sha256_argument_is_checked() {
        assert!(parse_sha256(&"ab".repeat(32)).is_ok());
        assert_eq!(parse_sha256(&"AB".repeat(32)).unwrap(), [0xab; 32]);
        for bad in ["", "abc", &"g".repeat(64), &"é".repeat(32), &"a".repeat(65)] {
            assert!(matches!(
                parse_sha256(bad),
                Err(SignatureError::BadDigest { .. })
            ));
        }
    }

    #[test]
    fn armor_blocks_are_split() {
        let text = "junk\n-----BEGIN A-----\nx\n-----END A-----\n-----BEGIN B C-----\ny\n";
        let blocks = armor_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "A");
        assert_eq!(blocks[0].body.trim(), "x");
        assert_eq!(blocks[0].whole, "-----BEGIN A-----\nx\n-----END A-----");
        assert_eq!(blocks[1].label, "B C");
        assert_eq!(blocks[1].body.trim(), "y");
        assert!(armor_blocks("-----BEGIN ").is_empty());
        assert!(armor_blocks("-----BEGIN x\n-----").is_empty());
    }

    #[test]
    fn describe_names_common_files() {
        assert_eq!(describe(b""), "an empty file");
        assert_eq!(describe(&[0x89, 0x01]), "a binary OpenPGP signature");
        assert_eq!(describe(&[0x99, 0x01]), "a binary OpenPGP public key");
        assert_eq!(describe(&[0xc2, 0x01]), "a binary OpenPGP signature");
        assert_eq!(describe(&[0x30, 0x45, 0x02]), "binary DER data (3 bytes)");
        assert_eq!(
            describe(MINISIGN_LEGACY_SIG.as_bytes()),
            "a minisign signature"
        );
        assert_eq!(describe(b"aGVsbG8="), "base64 data (5 bytes)");
        assert_eq!(describe(b"hello world"), "text starting `hello world`");
    }

    /// One of each variant; the match has no catch-all, so that a new
    /// variant cannot be forgotten here.
    fn every_variant() -> Vec<SignatureError> {
        let kind = SignatureKind::Pgp;
        let text = || "x".to_owned();
        let all = vec![
            SignatureError::NotAKey {
                kind,
                found: text(),
            },
            SignatureError::DamagedKey {
                kind,
                detail: text(),
            },
            SignatureError::NotASignature {
                kind,
                found: text(),
            },
            SignatureError::DamagedSignature {
                kind,
                detail: text(),
            },
            SignatureError::TrustedCommentAltered,
            SignatureError::WrongKey {
                kind,
                signed_by: text(),
                pinned: text(),
            },
            SignatureError::NotInKeyring {
                keys: vec![text()],
                issuer: text(),
            },
            SignatureError::BadSignature,
            SignatureError::KeyUnusable { detail: text() },
            SignatureError::KeyExpired {
                signer: text(),
                which: text(),
                signed_at: text(),
                expired_at: text(),
            },
            SignatureError::SignatureExpired {
                signed_at: text(),
                expired_at: text(),
            },
            SignatureError::SignatureInFuture {
                signed_at: text(),
                now: text(),
            },
            SignatureError::KeyNewerThanSignature {
                signer: text(),
                signed_at: text(),
                created_at: text(),
            },
            SignatureError::Unsupported {
                kind,
                detail: text(),
            },
            SignatureError::BadDigest { value: text() },
            SignatureError::Io {
                path: PathBuf::from("x"),
                source: io::Error::other("x"),
            },
        ];
        for e in &all {
            match e {
                SignatureError::NotAKey { .. }
                | SignatureError::DamagedKey { .. }
                | SignatureError::NotASignature { .. }
                | SignatureError::DamagedSignature { .. }
                | SignatureError::TrustedCommentAltered
                | SignatureError::WrongKey { .. }
                | SignatureError::NotInKeyring { .. }
                | SignatureError::BadSignature
                | SignatureError::KeyUnusable { .. }
                | SignatureError::KeyExpired { .. }
                | SignatureError::SignatureExpired { .. }
                | SignatureError::SignatureInFuture { .. }
                | SignatureError::KeyNewerThanSignature { .. }
                | SignatureError::Unsupported { .. }
                | SignatureError::BadDigest { .. }
                | SignatureError::Io { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_error_has_a_help_and_its_own_code() {
        let mut codes = Vec::new();
        for e in every_variant() {
            let help = e.help_text();
            assert!(help.len() > 20, "{e:?}: help `{help}`");
            let code = miette::Diagnostic::code(&e).unwrap().to_string();
            assert!(code.starts_with("vendor::signature::"), "{code}");
            assert!(!codes.contains(&code), "{code} twice");
            codes.push(code);
        }
        for kind in KINDS {
            for e in [
                SignatureError::NotAKey {
                    kind,
                    found: String::new(),
                },
                SignatureError::NotASignature {
                    kind,
                    found: String::new(),
                },
            ] {
                assert!(!e.help_text().is_empty(), "{e:?}");
            }
        }
    }

    #[test]
    fn existing_codes_are_stable() {
        let codes: Vec<String> = every_variant()
            .iter()
            .map(|e| miette::Diagnostic::code(e).unwrap().to_string())
            .collect();
        for code in [
            "not-a-key",
            "not-a-signature",
            "wrong-key",
            "not-in-keyring",
            "bad",
            "key-unusable",
            "unsupported",
            "bad-digest",
            "io",
        ] {
            let code = format!("vendor::signature::{code}");
            assert!(codes.contains(&code), "{code}");
        }
    }

    #[test]
    fn packet_framing_tells_a_cut_from_a_change() {
        // Old format, one-octet length 3.
        assert!(!packets_cut_short(&[0x88, 3, 1, 2, 3]));
        assert!(packets_cut_short(&[0x88, 3, 1, 2]));
        assert!(packets_cut_short(&[0x89, 0]));
        // New format: one-, two- and five-octet lengths.
        assert!(!packets_cut_short(&[0xc2, 1, 9, 0xc2, 0]));
        assert!(packets_cut_short(&[0xc2, 2, 9]));
        let mut two = vec![0xc2, 192, 0];
        two.extend([0; 192]);
        assert!(!packets_cut_short(&two));
        assert!(packets_cut_short(&two[..100]));
        assert!(packets_cut_short(&[0xc2, 255, 0, 0]));
        assert!(!packets_cut_short(&[0xc2, 255, 0, 0, 0, 1, 7]));
        // Partial lengths: a chunk of 2, then a final 1.
        assert!(!packets_cut_short(&[0xc2, 0xe1, 1, 2, 1, 3]));
        assert!(packets_cut_short(&[0xc2, 0xe1, 1, 2]));
        // Not packets at all.
        assert!(!packets_cut_short(b"hello"));
        assert!(!packets_cut_short(&[]));
    }

    #[test]
    fn signature_types_have_plain_names() {
        assert_eq!(non_file_signature(SignatureType::Binary), None);
        assert_eq!(non_file_signature(SignatureType::Text), None);
        assert_eq!(
            non_file_signature(SignatureType::KeyRevocation).unwrap(),
            "revocation signature"
        );
        assert_eq!(
            non_file_signature(SignatureType::Other(0x77)).unwrap(),
            "signature of unknown type 119"
        );
    }

    #[test]
    fn trust_labels() {
        let v = Verified {
            kind: SignatureKind::Cosign,
            key: "sha256:00".to_owned(),
        };
        assert_eq!(v.trust_label(), "cosign:sha256:00");
        let v = Verified {
            kind: SignatureKind::Pgp,
            key: "ABCD".to_owned(),
        };
        assert_eq!(v.trust_label(), "pgp:ABCD");
    }
}
