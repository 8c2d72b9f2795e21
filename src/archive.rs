//! Safe extraction of downloaded archives into a staging directory.
//!
//! The download has been verified before it gets here, but its *contents*
//! are still untrusted (DESIGN §6): extraction never writes outside its
//! target. The whole archive is refused, and everything already written is
//! removed, when any entry (selected or not)
//!
//! - has an absolute path, a `..` component, a Windows drive prefix or a NUL
//!   byte (a backslash counts as a separator, so `..\x` is `../x`);
//! - is a symbolic or hard link whose target resolves outside the archive
//!   root (resolved through the archive's other symlinks, in any order);
//! - declares more than [`Limits::max_size`], alone or with the entries
//!   before it;
//! - is one too many ([`Limits::max_entries`]);
//! - shares its bytes with another entry (overlapping zip entries, the
//!   trick zip bombs multiply their output with);
//! - is a GNU sparse file in pax format (`GNU.sparse.*` records): the tar
//!   reader would hand over its packed form, so it is refused rather than
//!   installed wrong. Old GNU sparse entries (type `S`) are expanded.
//!
//! Selected members must be regular files and must not collide on output;
//! an encrypted zip entry, or one compressed other than stored or deflate,
//! is refused when selected (as [`ArchiveError::Unsupported`], not as
//! corruption).
//!
//! Bytes are counted as they are decompressed and written, so a member that
//! lies about its size is stopped at [`Limits::max_size`]: disk use is
//! bounded by the limit, not by the archive. Past [`Limits::ratio_floor`]
//! decompressed bytes, a stream that expands more than [`Limits::max_ratio`]
//! times the compressed bytes read so far is stopped at once. Tar metadata
//! (long names, pax headers) is capped at [`META_ALLOWANCE`] per entry,
//! because the tar reader buffers it in memory.
//!
//! A gzip file may end in zero padding (as `gzip -t` and GNU tar accept);
//! anything else after the compressed stream is reported as trailing data.
//!
//! Nothing is ever read whole into memory: members stream through a fixed
//! buffer into their file while sha256 is computed. Links are never created
//! on disk; files get the archive's permission bits minus group and world
//! write ([`Extracted::mode`]), and are staged owner-readable and writable.

use std::cell::Cell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use globset::{GlobBuilder, GlobMatcher};
use sha2::{Digest, Sha256};

use crate::direct::DirectFile;
use crate::hash;
use crate::manifest::model::ArchiveFormat;

/// Tar metadata (headers, GNU long names, pax records) allowed between two
/// entries' data. Real archives use a few KiB; the cap keeps a hostile
/// "long name" of gigabytes from being buffered by the tar reader.
pub const META_ALLOWANCE: u64 = 1 << 20;

/// Memory the xz decoder may use (a `xz -9` stream needs about 65 MiB).
const XZ_MEMLIMIT: u64 = 256 << 20;

/// Longest symlink target read from a zip (they are stored as content).
const MAX_LINK_TARGET: u64 = 4096;

/// How many member names a "member missing" error lists.
const LISTED_MEMBERS: usize = 20;

/// Symlink hops followed while resolving a link target, as the kernel does.
const MAX_LINK_HOPS: u32 = 40;

/// Copy buffer size.
const BUF_SIZE: usize = 256 << 10;

/// An extracted file written through the page cache (where the file
/// system refuses direct writes, [`crate::direct`]) is flushed to disk
/// each time this much more was written: the commit must flush every
/// installed file before it is renamed into the tree, and flushing as the
/// bytes arrive overlaps that disk work with the download instead of
/// adding it after the last byte.
const FLUSH_EVERY: u64 = 8 << 20;

/// Flushes a file being written on a thread of its own, so the writer
/// never waits on the disk: [`Flusher::request`] asks for a flush of what
/// was written so far (coalesced while one is running). Errors are left
/// to the commit's own flush, which is what makes a file durable.
struct Flusher {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    fn new(file: &File) -> Flusher {
        let Ok(file) = file.try_clone() else {
            return Flusher {
                wake: None,
                thread: None,
            };
        };
        let (wake, asked) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("flush".into())
            .spawn(move || {
                while asked.recv().is_ok() {
                    let _ = file.sync_data();
                }
            })
            .ok();
        Flusher {
            wake: thread.as_ref().map(|_| wake),
            thread,
        }
    }

    fn request(&self) {
        if let Some(wake) = &self.wake {
            // Full: a flush is already asked for, and will cover this.
            let _ = wake.try_send(());
        }
    }
}

impl Drop for Flusher {
    /// Waits for a flush in progress, so no thread outlives the file.
    fn drop(&mut self) {
        self.wake = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Default [`Limits::max_size`]: single tools ship in archives of tens to
/// a few hundred MiB; an asset that expands further must say so in
/// `extract.max_size`.
pub const DEFAULT_MAX_SIZE: u64 = 512 << 20;

/// Default [`Limits::max_ratio`]: executables compress 2–5 times, text
/// and debug data up to 20 or so; gzip of zeros reaches 1000, xz and zstd
/// far more.
pub const DEFAULT_MAX_RATIO: u64 = 200;

/// Default [`Limits::ratio_floor`]: small, very compressible members
/// (padding, empty tables) never trip the ratio guard.
pub const DEFAULT_RATIO_FLOOR: u64 = 32 << 20;

/// Size limits that stop decompression bombs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes one archive may expand to: the sizes its entries declare,
    /// all together, and the bytes actually decompressed and written.
    pub max_size: u64,
    /// Most entries (files, directories, links) in one archive.
    pub max_entries: u64,
    /// Largest expansion, decompressed bytes per compressed byte read,
    /// checked once more than [`Limits::ratio_floor`] bytes came out.
    pub max_ratio: u64,
    /// Decompressed bytes below which any ratio is allowed.
    pub ratio_floor: u64,
}

impl Limits {
    /// The defaults with another [`Limits::max_size`].
    pub fn with_max_size(max_size: u64) -> Self {
        Self {
            max_size,
            ..Self::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_size: DEFAULT_MAX_SIZE,
            max_entries: 100_000,
            max_ratio: DEFAULT_MAX_RATIO,
            ratio_floor: DEFAULT_RATIO_FLOOR,
        }
    }
}

/// One file written by [`extract`] or [`decompress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Path inside the archive, `/`-separated, without a leading `./`.
    pub member: String,
    /// The file written.
    pub path: PathBuf,
    /// Permission bits from the archive minus group and world write
    /// (`mode & 0o755`), 0o644 if none: the mode to install it with unless
    /// the manifest says otherwise.
    pub mode: u32,
    /// sha256 of the contents, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// Why an archive could not be extracted.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ArchiveError {
    /// No regular file matches `extract.member`.
    #[error("`{pattern}` matches no file in {archive}")]
    #[diagnostic(
        code("vendor::archive::member-missing"),
        help("fix `extract.member`; {}", listing(available, *total))
    )]
    MemberMissing {
        pattern: String,
        archive: String,
        /// The first regular files of the archive.
        available: Vec<String>,
        /// How many regular files the archive holds.
        total: usize,
    },

    /// An entry path could leave the extraction root.
    #[error("{archive}: entry `{member}` {reason}")]
    #[diagnostic(
        code("vendor::archive::unsafe-path"),
        help(
            "the whole archive is refused: every entry must stay inside the archive \
             (no `..`, absolute path or drive prefix); the asset may be hostile or broken"
        )
    )]
    UnsafePath {
        archive: String,
        member: String,
        reason: &'static str,
    },

    /// A symbolic or hard link resolves outside the archive.
    #[error("{archive}: link `{member}` -> `{target}` points outside the archive")]
    #[diagnostic(
        code("vendor::archive::link-escapes"),
        help(
            "the whole archive is refused: symbolic and hard links must resolve inside \
             the archive; the asset may be hostile"
        )
    )]
    LinkEscapes {
        archive: String,
        member: String,
        target: String,
    },

    /// A selected entry is a directory, link or special file.
    #[error("{archive}: `{member}` is a {kind}, not a regular file")]
    #[diagnostic(
        code("vendor::archive::not-regular"),
        help(
            "only regular files are extracted; point `extract.member` at the file itself \
             (for a link, at the file it links to)"
        )
    )]
    NotRegular {
        archive: String,
        member: String,
        kind: &'static str,
    },

    /// A size limit was exceeded (declared or while decompressing), or the
    /// data expands like a decompression bomb.
    #[error("{archive} is too large to extract: {detail}")]
    #[diagnostic(
        code("vendor::archive::too-large"),
        help(
            "size limits stop decompression bombs; check that the asset is the one \
             you meant, and if it really expands this far, raise `extract.max_size` \
             for it in vendor.yaml (default 512MiB)"
        )
    )]
    TooLarge { archive: String, detail: String },

    /// Two zip entries share bytes.
    #[error("{archive}: zip entries overlap (several entries share the same data)")]
    #[diagnostic(
        code("vendor::archive::overlapping-entries"),
        help(
            "the whole archive is refused: overlapping entries are how zip bombs \
             multiply their output; the asset may be hostile or broken"
        )
    )]
    Overlapping { archive: String },

    /// An entry uses a feature that is not read (encryption, a compression
    /// method, sparse storage): refused rather than installed wrong.
    #[error("{archive}: entry `{member}` {reason}")]
    #[diagnostic(code("vendor::archive::unsupported"), help("{help}"))]
    Unsupported {
        archive: String,
        member: String,
        reason: String,
        help: &'static str,
    },

    /// More entries than [`Limits::max_entries`].
    #[error("{archive} has more than {limit} entries")]
    #[diagnostic(
        code("vendor::archive::too-many-entries"),
        help("the entry limit stops archive bombs; check that the asset is the one you meant")
    )]
    TooManyEntries { archive: String, limit: u64 },

    /// Two selected entries would land on one output path (or a zip names
    /// one entry twice).
    #[error("{archive}: more than one selected entry is written to `{path}`")]
    #[diagnostic(
        code("vendor::archive::duplicate"),
        help(
            "the archive is ambiguous; narrow `extract.member` or adjust \
             `extract.strip_components` so each file lands on its own path"
        )
    )]
    Duplicate { archive: String, path: String },

    /// `extract.member` is empty, unsafe, an invalid glob, or a glob for a
    /// single-file format.
    #[error("`{pattern}` is not a usable member pattern: {reason}")]
    #[diagnostic(
        code("vendor::archive::bad-pattern"),
        help(
            "`extract.member` is a path inside the archive (`dir/tool`) or a glob \
             (`*/bin/*`); a .gz or .xz file holds a single file, so name it without wildcards"
        )
    )]
    BadPattern { pattern: String, reason: String },

    /// [`decompress`] was given a tar or zip archive.
    #[error("{archive}: {format} is not a single-file format")]
    #[diagnostic(
        code("vendor::archive::wrong-format"),
        help("only gz and xz files are decompressed whole; tar and zip archives are extracted")
    )]
    WrongFormat {
        archive: String,
        format: &'static str,
    },

    /// Truncated, damaged, or not of the stated format.
    #[error("{archive} is not a valid {format} archive: {detail}")]
    #[diagnostic(
        code("vendor::archive::corrupt"),
        help(
            "the file is truncated, damaged or of another format; check `extract.format` \
             and the download"
        )
    )]
    Corrupt {
        archive: String,
        format: &'static str,
        detail: String,
    },

    /// Reading the archive file or writing the staging directory failed.
    #[error("cannot {action} `{}`", path.display())]
    #[diagnostic(
        code("vendor::archive::io"),
        help("check that the path exists, its permissions and the free disk space")
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The help line of [`ArchiveError::MemberMissing`].
fn listing(available: &[String], total: usize) -> String {
    if available.is_empty() {
        return "the archive holds no regular files".to_owned();
    }
    let mut out = format!("the archive holds: {}", available.join(", "));
    if total > available.len() {
        out.push_str(&format!(" … ({} more)", total - available.len()));
    }
    out
}

/// Extracts the members matching `pattern` from `archive` into `dest`.
///
/// `pattern` is an exact member path or a glob (it contains `*`, `?` or
/// `[`; `*` does not cross `/`, `**` does); a leading `./` is ignored in
/// patterns and member names. An exact path selects one regular file,
/// written to `dest/<file name>`. A glob selects every matching regular
/// file (directories are skipped, links refused), written under `dest` at
/// its member path minus `strip_components` leading components; a match
/// with nothing left after stripping is skipped. `dest` must exist.
///
/// For `gz` and `xz` the single file is decompressed to
/// `dest/<file name of pattern>`. On error nothing written is left behind.
pub fn extract(
    archive: &Path,
    format: ArchiveFormat,
    pattern: &str,
    strip_components: u32,
    dest: &Path,
    limits: &Limits,
) -> Result<Vec<Extracted>, ArchiveError> {
    let name = display_name(archive);
    if format == ArchiveFormat::Deb {
        let mut file = BufReader::with_capacity(BUF_SIZE, open(archive)?);
        return extract_from(
            &mut file,
            &name,
            format,
            pattern,
            strip_components,
            dest,
            limits,
        );
    }
    let target = match Request::new(pattern, strip_components, dest, &name, format)? {
        Request::Single { member, file } => {
            let mut done = decompress(archive, format, &file, limits)?;
            done.member = member;
            return Ok(vec![done]);
        }
        Request::Members(target) => target,
    };
    let mut session = Session::new(name, format, limits, Some(target), LISTED_MEMBERS);
    let result = scan(&mut session, archive, format).and_then(|()| session.finish());
    if result.is_err() {
        session.remove_written();
    }
    result
}

/// What an extraction asks for: the one file of a `gz`/`xz` (where it is
/// written), or members of a multi-file archive.
enum Request {
    Single { member: String, file: PathBuf },
    Members(Target),
}

impl Request {
    fn new(
        pattern: &str,
        strip: u32,
        dest: &Path,
        name: &str,
        format: ArchiveFormat,
    ) -> Result<Request, ArchiveError> {
        let selector = Selector::new(pattern)?;
        if !is_single_file(format) {
            return Ok(Request::Members(Target {
                selector,
                pattern: pattern.to_owned(),
                strip,
                dest: dest.to_path_buf(),
            }));
        }
        let Selector::Exact(member) = selector else {
            return Err(ArchiveError::BadPattern {
                pattern: pattern.to_owned(),
                reason: format!("{name} holds a single file"),
            });
        };
        let file = dest.join(member.rsplit('/').next().unwrap_or(&member));
        Ok(Request::Single { member, file })
    }
}

/// [`extract`] reading the archive from `reader`, which may still be
/// arriving (a download in progress, [`crate::stream::Follow`]); `name`
/// is what errors call the archive. Every check and limit of [`extract`]
/// applies. Zip is not a stream format (its directory is at the end) and
/// is refused as [`ArchiveError::WrongFormat`].
pub fn extract_from(
    reader: &mut dyn Read,
    name: &str,
    format: ArchiveFormat,
    pattern: &str,
    strip_components: u32,
    dest: &Path,
    limits: &Limits,
) -> Result<Vec<Extracted>, ArchiveError> {
    if format == ArchiveFormat::Zip {
        return Err(ArchiveError::WrongFormat {
            archive: name.to_owned(),
            format: format_name(format),
        });
    }
    if format == ArchiveFormat::Deb {
        let (inner, size) = deb_data(reader, name)?;
        let mut data = reader.take(size);
        return extract_from(
            &mut data,
            name,
            inner,
            pattern,
            strip_components,
            dest,
            limits,
        );
    }
    let target = match Request::new(pattern, strip_components, dest, name, format)? {
        Request::Single { member, file } => {
            let mut done = decompress_from(reader, name, format, &file, limits)?;
            done.member = member;
            return Ok(vec![done]);
        }
        Request::Members(target) => target,
    };
    let mut session = Session::new(
        name.to_owned(),
        format,
        limits,
        Some(target),
        LISTED_MEMBERS,
    );
    let meter = Meter::new(limits);
    let result = decoder(reader, format, &meter)
        .map_err(|e| session.read_failure(e))
        .and_then(|stream| scan_tar(&mut session, stream))
        .and_then(|()| session.finish());
    if result.is_err() {
        session.remove_written();
    }
    result
}

/// Decompresses a single-file `gz` or `xz` `archive` to `dest_file` (which
/// must not exist), hashing it and enforcing the size limits. On error the
/// file is removed.
pub fn decompress(
    archive: &Path,
    format: ArchiveFormat,
    dest_file: &Path,
    limits: &Limits,
) -> Result<Extracted, ArchiveError> {
    let name = display_name(archive);
    if !is_single_file(format) {
        return Err(ArchiveError::WrongFormat {
            archive: name,
            format: format_name(format),
        });
    }
    let member = single_member_name(&name);
    let mut session = Session::new(name, format, limits, None, 0);
    let out = Output {
        member,
        rel: String::new(),
        path: dest_file.to_path_buf(),
        mode: 0o644,
    };
    let result =
        open(archive).and_then(|mut file| decompress_with(&mut session, &mut file, format, out));
    if result.is_err() {
        session.remove_written();
    }
    result
}

/// [`decompress`] reading the compressed file from `reader`, which may
/// still be arriving; `name` is what errors call it (and, minus its
/// suffix, the member name).
pub fn decompress_from(
    reader: &mut dyn Read,
    name: &str,
    format: ArchiveFormat,
    dest_file: &Path,
    limits: &Limits,
) -> Result<Extracted, ArchiveError> {
    if !is_single_file(format) {
        return Err(ArchiveError::WrongFormat {
            archive: name.to_owned(),
            format: format_name(format),
        });
    }
    let mut session = Session::new(name.to_owned(), format, limits, None, 0);
    let out = Output {
        member: single_member_name(name),
        rel: String::new(),
        path: dest_file.to_path_buf(),
        mode: 0o644,
    };
    let result = decompress_with(&mut session, reader, format, out);
    if result.is_err() {
        session.remove_written();
    }
    result
}

fn decompress_with(
    session: &mut Session,
    compressed: &mut dyn Read,
    format: ArchiveFormat,
    out: Output,
) -> Result<Extracted, ArchiveError> {
    let meter = Meter::new(session.limits);
    let mut reader = decoder(compressed, format, &meter).map_err(|e| session.read_failure(e))?;
    session.write(out, &mut *reader)
}

/// Names of the regular files in `archive`, in archive order, with a
/// leading `./` removed. The archive is checked as [`extract`] checks it.
/// A `gz` or `xz` file holds one member: its own name minus the suffix.
pub fn members(
    archive: &Path,
    format: ArchiveFormat,
    limits: &Limits,
) -> Result<Vec<String>, ArchiveError> {
    let name = display_name(archive);
    if is_single_file(format) {
        return Ok(vec![single_member_name(&name)]);
    }
    let mut session = Session::new(name, format, limits, None, usize::MAX);
    scan(&mut session, archive, format)?;
    session.check_links()?;
    Ok(session.names)
}

/// Whether an `extract.member` pattern is a glob (the manifest validator
/// uses the same rule to decide that `install` is a directory).
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The name errors show for an archive: its file name.
fn display_name(archive: &Path) -> String {
    archive.file_name().map_or_else(
        || archive.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn is_single_file(format: ArchiveFormat) -> bool {
    matches!(format, ArchiveFormat::Gz | ArchiveFormat::Xz)
}

/// `tool.gz` → `tool`.
fn single_member_name(archive_name: &str) -> String {
    let lower = archive_name.to_ascii_lowercase();
    [".gz", ".xz"]
        .iter()
        .find(|s| lower.ends_with(*s) && lower.len() > s.len())
        .map_or(archive_name, |s| {
            &archive_name[..archive_name.len() - s.len()]
        })
        .to_owned()
}

fn format_name(format: ArchiveFormat) -> &'static str {
    match format {
        ArchiveFormat::Tar => "tar",
        ArchiveFormat::TarGz => "tar.gz",
        ArchiveFormat::TarXz => "tar.xz",
        ArchiveFormat::TarZst => "tar.zst",
        ArchiveFormat::Zip => "zip",
        ArchiveFormat::Gz => "gz",
        ArchiveFormat::Xz => "xz",
        ArchiveFormat::Deb => "deb",
    }
}

// ---------------------------------------------------------------------------
// Paths

/// A member path made canonical: `\` read as `/`, empty and `.` components
/// dropped. Refuses what could leave the extraction root.
fn normalize(raw: &str) -> Result<String, &'static str> {
    if raw.contains('\0') {
        return Err("contains a NUL byte");
    }
    let unified = raw.replace('\\', "/");
    if unified.starts_with('/') {
        return Err("is an absolute path");
    }
    if has_drive_prefix(&unified) {
        return Err("starts with a Windows drive prefix");
    }
    let mut parts = Vec::new();
    for part in unified.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("has a `..` component"),
            _ if cfg!(windows) && part.contains(':') => return Err("contains `:`"),
            _ => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

/// `C:` or `c:/…`: relative-looking but rooted on Windows.
fn has_drive_prefix(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Resolves a link `target` starting at directory `base` (components from
/// the archive root), following the archive's `symlinks`. `Err` when it
/// climbs above the root or jumps to an absolute path.
fn resolve<'a>(
    symlinks: &HashMap<&str, &'a str>,
    base: Vec<&'a str>,
    target: &'a str,
) -> Result<(), ()> {
    if target.starts_with(['/', '\\']) || has_drive_prefix(target) {
        return Err(());
    }
    let mut stack = base;
    let mut pending: VecDeque<&str> = target.split(['/', '\\']).collect();
    let mut hops = 0;
    while let Some(part) = pending.pop_front() {
        match part {
            "" | "." => {}
            ".." => {
                stack.pop().ok_or(())?;
            }
            _ => {
                stack.push(part);
                let Some(next) = symlinks.get(stack.join("/").as_str()) else {
                    continue;
                };
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    // A loop: the OS stops here too, having gone nowhere.
                    return Ok(());
                }
                if next.starts_with(['/', '\\']) || has_drive_prefix(next) {
                    return Err(());
                }
                stack.pop();
                for p in next.split(['/', '\\']).rev() {
                    pending.push_front(p);
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Selection

/// What `extract.member` selects.
enum Selector {
    /// A normalised member path.
    Exact(String),
    Glob(GlobMatcher),
}

impl Selector {
    fn new(pattern: &str) -> Result<Self, ArchiveError> {
        let bad = |reason: String| ArchiveError::BadPattern {
            pattern: pattern.to_owned(),
            reason,
        };
        let trimmed = strip_dot_slash(pattern);
        if is_glob(trimmed) {
            let glob = GlobBuilder::new(trimmed)
                .literal_separator(true)
                .build()
                .map_err(|e| bad(e.kind().to_string()))?;
            return Ok(Self::Glob(glob.compile_matcher()));
        }
        match normalize(trimmed) {
            Ok(path) if path.is_empty() => Err(bad("it names no file".to_owned())),
            Ok(path) => Ok(Self::Exact(path)),
            Err(reason) => Err(bad(format!("it {reason}"))),
        }
    }
}

fn strip_dot_slash(mut s: &str) -> &str {
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s
}

/// Where and what [`extract`] writes.
struct Target {
    selector: Selector,
    pattern: String,
    strip: u32,
    dest: PathBuf,
}

impl Target {
    /// The output path (relative to `dest`) of entry `name`, if selected.
    fn output_of(&self, name: &str, kind: Kind) -> Result<Option<String>, &'static str> {
        let rel = match &self.selector {
            Selector::Exact(path) if path == name => name.rsplit('/').next().map(str::to_owned),
            Selector::Exact(_) => return Ok(None),
            Selector::Glob(_) if kind == Kind::Dir => return Ok(None),
            Selector::Glob(glob) if glob.is_match(name) => self.stripped(name),
            Selector::Glob(_) => return Ok(None),
        };
        match (rel, kind) {
            (None, _) => Ok(None),
            (Some(rel), Kind::File) => Ok(Some(rel)),
            (Some(_), other) => Err(other.describe()),
        }
    }

    fn stripped(&self, name: &str) -> Option<String> {
        let parts: Vec<&str> = name
            .split('/')
            .skip(usize::try_from(self.strip).unwrap_or(usize::MAX))
            .collect();
        (!parts.is_empty()).then(|| parts.join("/"))
    }
}

// ---------------------------------------------------------------------------
// Entries

/// What an archive entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    /// A device, FIFO or unknown type.
    Special,
    /// Archive metadata that names nothing (pax global header, volume label).
    Meta,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Self::File => "regular file",
            Self::Dir => "directory",
            Self::Symlink => "symbolic link",
            Self::Hardlink => "hard link",
            Self::Special => "device, FIFO or special entry",
            Self::Meta => "metadata entry",
        }
    }
}

/// An entry's header, format-independent.
struct Member {
    name: String,
    kind: Kind,
    /// Declared size of the data.
    size: u64,
    mode: u32,
    /// Link target, for links.
    link: Option<String>,
}

/// A selected member on its way to disk.
struct Output {
    member: String,
    /// Path relative to `dest`, `/`-separated (empty for [`decompress`]).
    rel: String,
    path: PathBuf,
    mode: u32,
}

/// A link seen in the archive, checked once every entry is known.
struct Link {
    member: String,
    target: String,
    hard: bool,
}

/// State of one pass over an archive: checks, counters, what was written.
struct Session<'l> {
    archive: String,
    format: &'static str,
    limits: &'l Limits,
    target: Option<Target>,
    entries: u64,
    declared: u64,
    written_bytes: u64,
    /// Regular file names, up to `name_cap`; `files` counts them all.
    names: Vec<String>,
    name_cap: usize,
    files: usize,
    links: Vec<Link>,
    /// Output paths taken by files, and the directories above them.
    out_files: HashSet<String>,
    out_dirs: HashSet<String>,
    /// Everything created on disk, in order, for removal on failure.
    created: Vec<(PathBuf, bool)>,
    written: Vec<Extracted>,
    buf: Vec<u8>,
}

impl<'l> Session<'l> {
    fn new(
        archive: String,
        format: ArchiveFormat,
        limits: &'l Limits,
        target: Option<Target>,
        name_cap: usize,
    ) -> Self {
        Self {
            archive,
            format: format_name(format),
            limits,
            target,
            entries: 0,
            declared: 0,
            written_bytes: 0,
            names: Vec::new(),
            name_cap,
            files: 0,
            links: Vec::new(),
            out_files: HashSet::new(),
            out_dirs: HashSet::new(),
            created: Vec::new(),
            written: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Checks one entry and decides whether it is written, and where.
    fn admit(&mut self, m: &Member) -> Result<Option<Output>, ArchiveError> {
        self.count_entry()?;
        if m.kind == Kind::Meta {
            return Ok(None);
        }
        let name = normalize(&m.name).map_err(|reason| self.unsafe_path(&m.name, reason))?;
        if name.is_empty() && m.kind != Kind::Dir {
            return Err(self.unsafe_path(&m.name, "has an empty path"));
        }
        self.check_declared(&name, m.size)?;
        if let Some(target) = &m.link {
            self.links.push(Link {
                member: name.clone(),
                target: target.clone(),
                hard: m.kind == Kind::Hardlink,
            });
        }
        if m.kind == Kind::File {
            self.note_file(&name);
        }
        let Some(target) = &self.target else {
            return Ok(None);
        };
        let rel = match target.output_of(&name, m.kind) {
            Ok(Some(rel)) => rel,
            Ok(None) => return Ok(None),
            Err(kind) => return Err(self.refuse_selected(name, kind)),
        };
        let path = target.dest.join(&rel);
        self.claim(&rel)?;
        Ok(Some(Output {
            path,
            member: name,
            rel,
            mode: m.mode & 0o755,
        }))
    }

    /// A selected entry that is not a regular file. A link that escapes
    /// is reported as such: that is the more important news.
    fn refuse_selected(&self, name: String, kind: &'static str) -> ArchiveError {
        match self.links.last() {
            Some(link) if link.member == name => self.check_link(link, &self.symlinks()).err(),
            _ => None,
        }
        .unwrap_or_else(|| self.not_regular(name, kind))
    }

    fn count_entry(&mut self) -> Result<(), ArchiveError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                archive: self.archive.clone(),
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    fn check_declared(&mut self, name: &str, size: u64) -> Result<(), ArchiveError> {
        if size > self.limits.max_size {
            return Err(self.too_large(format!(
                "`{name}` declares {size} bytes, over the {} byte limit",
                self.limits.max_size
            )));
        }
        self.declared = self.declared.saturating_add(size);
        if self.declared > self.limits.max_size {
            return Err(self.too_large(format!(
                "its entries declare more than the {} byte limit in total",
                self.limits.max_size
            )));
        }
        Ok(())
    }

    fn note_file(&mut self, name: &str) {
        self.files += 1;
        if self.names.len() < self.name_cap {
            self.names.push(name.to_owned());
        }
    }

    /// Reserves output path `rel`: no two files, and no file where a
    /// directory is needed or the other way round.
    fn claim(&mut self, rel: &str) -> Result<(), ArchiveError> {
        let ancestors: Vec<&str> = rel.match_indices('/').map(|(i, _)| &rel[..i]).collect();
        let clash = self.out_files.contains(rel)
            || self.out_dirs.contains(rel)
            || ancestors.iter().any(|a| self.out_files.contains(*a));
        if clash {
            return Err(self.duplicate(rel));
        }
        self.out_files.insert(rel.to_owned());
        self.out_dirs
            .extend(ancestors.into_iter().map(str::to_owned));
        Ok(())
    }

    /// Streams `src` to `out.path`, hashing and counting bytes. The bytes
    /// are read straight into the block [`DirectFile`] writes, hashed
    /// there, and written past the page cache where the file system
    /// allows; otherwise [`Flusher`] flushes them as they come.
    fn write(&mut self, out: Output, src: &mut dyn Read) -> Result<Extracted, ArchiveError> {
        self.make_parents(&out)?;
        let file = self.create_file(&out)?;
        let mut file = DirectFile::new(file, std::mem::take(&mut self.buf));
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut unflushed: u64 = 0;
        let mut flusher: Option<Flusher> = None;
        loop {
            // Read in steps of BUF_SIZE, not the whole block: the
            // expansion guard looks between reads.
            let spare = file.spare();
            let step = spare.len().min(BUF_SIZE);
            let spare = &mut spare[..step];
            let n = match src.read(spare) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_failure(e)),
            };
            hasher.update(&spare[..n]);
            size += n as u64;
            self.written_bytes += n as u64;
            self.check_written(&out.member, size)?;
            file.filled(n)
                .map_err(|e| io_error("write", &out.path, e))?;
            if !file.is_direct() {
                unflushed += n as u64;
                if unflushed >= FLUSH_EVERY {
                    flusher
                        .get_or_insert_with(|| Flusher::new(file.file()))
                        .request();
                    unflushed = 0;
                }
            }
        }
        drop(flusher);
        let (file, buf) = file.finish().map_err(|e| io_error("write", &out.path, e))?;
        self.buf = buf;
        set_staged_mode(&file, out.mode).map_err(|e| io_error("set the mode of", &out.path, e))?;
        Ok(Extracted {
            member: out.member,
            path: out.path,
            mode: out.mode,
            sha256: hash::hex(&hasher.finalize()),
            size,
        })
    }

    fn check_written(&self, member: &str, size: u64) -> Result<(), ArchiveError> {
        if size > self.limits.max_size {
            return Err(self.too_large(format!(
                "`{member}` decompresses to more than the {} byte limit",
                self.limits.max_size
            )));
        }
        if self.written_bytes > self.limits.max_size {
            return Err(self.too_large(format!(
                "the selected members decompress to more than the {} byte limit in total",
                self.limits.max_size
            )));
        }
        Ok(())
    }

    /// Creates the directories between `dest` and the file, one by one, so
    /// each can be removed again and none is a pre-existing symlink.
    fn make_parents(&mut self, out: &Output) -> Result<(), ArchiveError> {
        let Some(target) = &self.target else {
            return Ok(());
        };
        let mut dir = target.dest.clone();
        let parents: Vec<&str> = out.rel.split('/').collect();
        for part in &parents[..parents.len().saturating_sub(1)] {
            dir.push(part);
            match fs::create_dir(&dir) {
                Ok(()) => self.created.push((dir.clone(), true)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let is_dir = fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir());
                    if !is_dir {
                        return Err(self.duplicate(&out.rel));
                    }
                }
                Err(e) => return Err(io_error("create directory", &dir, e)),
            }
        }
        Ok(())
    }

    /// Creates the file; never follows or replaces an existing one.
    fn create_file(&mut self, out: &Output) -> Result<File, ArchiveError> {
        match File::options().write(true).create_new(true).open(&out.path) {
            Ok(file) => {
                self.created.push((out.path.clone(), false));
                Ok(file)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !out.rel.is_empty() => {
                Err(self.duplicate(&out.rel))
            }
            Err(e) => Err(io_error("create", &out.path, e)),
        }
    }

    /// Refuses the archive if any link resolves outside it.
    fn check_links(&self) -> Result<(), ArchiveError> {
        let symlinks = self.symlinks();
        self.links
            .iter()
            .try_for_each(|link| self.check_link(link, &symlinks))
    }

    /// The symlinks seen so far: member → target.
    fn symlinks(&self) -> HashMap<&str, &str> {
        self.links
            .iter()
            .filter(|l| !l.hard)
            .map(|l| (l.member.as_str(), l.target.as_str()))
            .collect()
    }

    /// A symlink resolves from its directory, a hard link from the root.
    fn check_link(&self, link: &Link, symlinks: &HashMap<&str, &str>) -> Result<(), ArchiveError> {
        let mut base: Vec<&str> = link.member.split('/').collect();
        base.pop();
        if link.hard {
            base.clear();
        }
        resolve(symlinks, base, &link.target).map_err(|()| ArchiveError::LinkEscapes {
            archive: self.archive.clone(),
            member: link.member.clone(),
            target: link.target.clone(),
        })
    }

    /// After the last entry: links, and that something was selected.
    fn finish(&mut self) -> Result<Vec<Extracted>, ArchiveError> {
        self.check_links()?;
        if self.written.is_empty() {
            return Err(ArchiveError::MemberMissing {
                pattern: self
                    .target
                    .as_ref()
                    .map(|t| t.pattern.clone())
                    .unwrap_or_default(),
                archive: self.archive.clone(),
                available: std::mem::take(&mut self.names),
                total: self.files,
            });
        }
        Ok(std::mem::take(&mut self.written))
    }

    /// Removes everything this session created, newest first.
    fn remove_written(&mut self) {
        for (path, is_dir) in self.created.drain(..).rev() {
            // Best effort: the error being reported matters more.
            let _ = if is_dir {
                fs::remove_dir(&path)
            } else {
                fs::remove_file(&path)
            };
        }
        self.written.clear();
    }

    /// An error while reading the archive: over budget, or corrupt.
    fn read_failure(&self, e: io::Error) -> ArchiveError {
        let inner = e.get_ref();
        if inner.is_some_and(|inner| inner.is::<OverBudget>()) {
            return self.too_large(format!(
                "an entry's metadata (long name or pax header) exceeds {META_ALLOWANCE} bytes"
            ));
        }
        if let Some(x) = inner.and_then(|inner| inner.downcast_ref::<Expanded>()) {
            return self.too_large(format!(
                "it expands more than {}:1 ({} bytes came out of the first {} compressed \
                 bytes), as decompression bombs do",
                x.max_ratio, x.expanded, x.compressed
            ));
        }
        self.corrupt(e)
    }

    fn corrupt(&self, detail: impl fmt::Display) -> ArchiveError {
        ArchiveError::Corrupt {
            archive: self.archive.clone(),
            format: self.format,
            detail: detail.to_string(),
        }
    }

    fn too_large(&self, detail: String) -> ArchiveError {
        ArchiveError::TooLarge {
            archive: self.archive.clone(),
            detail,
        }
    }

    fn unsafe_path(&self, member: &str, reason: &'static str) -> ArchiveError {
        ArchiveError::UnsafePath {
            archive: self.archive.clone(),
            member: member.to_owned(),
            reason,
        }
    }

    fn not_regular(&self, member: String, kind: &'static str) -> ArchiveError {
        ArchiveError::NotRegular {
            archive: self.archive.clone(),
            member,
            kind,
        }
    }

    fn unsupported(&self, member: &str, reason: String, help: &'static str) -> ArchiveError {
        ArchiveError::Unsupported {
            archive: self.archive.clone(),
            member: member.to_owned(),
            reason,
            help,
        }
    }

    fn duplicate(&self, path: &str) -> ArchiveError {
        ArchiveError::Duplicate {
            archive: self.archive.clone(),
            path: path.to_owned(),
        }
    }
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> ArchiveError {
    ArchiveError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Staged files keep their bits ([`Extracted::mode`]), always readable
/// and writable by their owner (so they can be hashed, moved and removed).
#[cfg(unix)]
fn set_staged_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode | 0o600))
}

#[cfg(not(unix))]
fn set_staged_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

// ---------------------------------------------------------------------------
// Formats

fn open(archive: &Path) -> Result<File, ArchiveError> {
    File::open(archive).map_err(|e| io_error("open", archive, e))
}

/// The decompressed byte stream of a tar-based or single-file archive,
/// watched by `meter`.
fn decoder<'r, R: Read + 'r>(
    file: R,
    format: ArchiveFormat,
    meter: &Rc<Meter>,
) -> io::Result<Box<dyn Read + 'r>> {
    let compressed = Counting {
        inner: file,
        meter: Rc::clone(meter),
    };
    let stream: Box<dyn Read + 'r> = match format {
        ArchiveFormat::Tar => return Ok(Box::new(BufReader::with_capacity(BUF_SIZE, compressed))),
        ArchiveFormat::TarGz | ArchiveFormat::Gz => Box::new(GzStream::new(
            BufReader::with_capacity(BUF_SIZE, compressed),
        )),
        ArchiveFormat::TarXz | ArchiveFormat::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMLIMIT,
                liblzma::stream::CONCATENATED,
            )
            .map_err(io::Error::other)?;
            Box::new(liblzma::read::XzDecoder::new_stream(compressed, stream))
        }
        ArchiveFormat::TarZst => Box::new(zstd::Decoder::new(compressed)?),
        ArchiveFormat::Zip => {
            return Err(io::Error::other("zip is not a stream format"));
        }
        ArchiveFormat::Deb => {
            return Err(io::Error::other("a deb is opened by its ar container"));
        }
    };
    Ok(Box::new(Expanding {
        inner: stream,
        meter: Rc::clone(meter),
    }))
}

/// Reads a `.deb`'s `ar` container up to its `data.tar*` member: returns
/// that member's tar format and size, with `reader` at its first byte.
/// Members before it (`debian-binary`, `control.tar.*`) are skipped, at
/// most [`META_ALLOWANCE`] bytes each.
fn deb_data(reader: &mut dyn Read, name: &str) -> Result<(ArchiveFormat, u64), ArchiveError> {
    let corrupt = |detail: String| ArchiveError::Corrupt {
        archive: name.to_owned(),
        format: "deb",
        detail,
    };
    let mut magic = [0u8; 8];
    reader
        .read_exact(&mut magic)
        .map_err(|_| corrupt("it is too short for an ar container".into()))?;
    if &magic != b"!<arch>\n" {
        return Err(corrupt("it is not a Debian package (no ar header)".into()));
    }
    for _ in 0..8 {
        let mut header = [0u8; 60];
        reader
            .read_exact(&mut header)
            .map_err(|_| corrupt("the ar container ends before a data.tar member".into()))?;
        if &header[58..60] != b"`\n" {
            return Err(corrupt("a damaged ar member header".into()));
        }
        let member = String::from_utf8_lossy(&header[..16])
            .trim_end()
            .trim_end_matches('/')
            .to_owned();
        let size: u64 = std::str::from_utf8(&header[48..58])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| corrupt(format!("the ar member `{member}` has no valid size")))?;
        let inner = match member.as_str() {
            "data.tar.xz" => Some(ArchiveFormat::TarXz),
            "data.tar.zst" => Some(ArchiveFormat::TarZst),
            "data.tar.gz" => Some(ArchiveFormat::TarGz),
            "data.tar" => Some(ArchiveFormat::Tar),
            m if m.starts_with("data.tar") => {
                return Err(ArchiveError::Unsupported {
                    archive: name.to_owned(),
                    member: m.to_owned(),
                    reason: "only xz, zstd and gzip data members are read".into(),
                    help: "ask the archive for a package built with a common compressor",
                });
            }
            _ => None,
        };
        if let Some(inner) = inner {
            return Ok((inner, size));
        }
        if size > META_ALLOWANCE {
            return Err(corrupt(format!("the ar member `{member}` is too large")));
        }
        // Members are padded to an even size.
        let skip = size + (size % 2);
        let skipped = io::copy(&mut reader.take(skip), &mut io::sink())
            .map_err(|e| corrupt(format!("cannot read the ar container: {e}")))?;
        if skipped != skip {
            return Err(corrupt("the ar container is cut short".into()));
        }
    }
    Err(corrupt(
        "no data.tar member among the first ar members".into(),
    ))
}

fn scan(session: &mut Session, archive: &Path, format: ArchiveFormat) -> Result<(), ArchiveError> {
    let meter = Meter::new(session.limits);
    if format == ArchiveFormat::Zip {
        return scan_zip(session, open(archive)?, &meter);
    }
    let reader = decoder(open(archive)?, format, &meter).map_err(|e| session.read_failure(e))?;
    scan_tar(session, reader)
}

/// Compressed bytes read and decompressed bytes produced, for the
/// expansion guard ([`Limits::max_ratio`]).
struct Meter {
    compressed: Cell<u64>,
    expanded: Cell<u64>,
    max_ratio: u64,
    floor: u64,
}

impl Meter {
    fn new(limits: &Limits) -> Rc<Self> {
        Rc::new(Self {
            compressed: Cell::new(0),
            expanded: Cell::new(0),
            max_ratio: limits.max_ratio,
            floor: limits.ratio_floor,
        })
    }

    /// Counts `n` more decompressed bytes; `Err` once they outgrow the
    /// compressed bytes by more than the ratio.
    fn expand(&self, n: usize) -> io::Result<()> {
        let expanded = self.expanded.get().saturating_add(n as u64);
        self.expanded.set(expanded);
        let compressed = self.compressed.get();
        if expanded > self.floor && expanded > compressed.saturating_mul(self.max_ratio) {
            return Err(io::Error::other(Expanded {
                expanded,
                compressed,
                max_ratio: self.max_ratio,
            }));
        }
        Ok(())
    }
}

/// Marks the error an [`Expanding`] reader returns.
#[derive(Debug)]
struct Expanded {
    expanded: u64,
    compressed: u64,
    max_ratio: u64,
}

impl fmt::Display for Expanded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes decompressed from {}: over {}:1",
            self.expanded, self.compressed, self.max_ratio
        )
    }
}

impl std::error::Error for Expanded {}

/// Counts the compressed bytes a decoder reads.
struct Counting<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let m = &self.meter;
        m.compressed
            .set(m.compressed.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// Counts the bytes a decoder produces, and stops it at the ratio.
struct Expanding<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R: Read> Read for Expanding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.expand(n)?;
        Ok(n)
    }
}

/// A gzip file: one or more members, then optionally zero padding.
/// Anything else after the last member is an error, named as such.
struct GzStream<R: BufRead> {
    member: Option<flate2::bufread::GzDecoder<R>>,
}

impl<R: BufRead> GzStream<R> {
    fn new(inner: R) -> Self {
        Self {
            member: Some(flate2::bufread::GzDecoder::new(inner)),
        }
    }
}

impl<R: BufRead> Read for GzStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(member) = &mut self.member {
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This member is complete (its crc and length checked).
            let Some(done) = self.member.take() else {
                break;
            };
            let mut rest = done.into_inner();
            if another_gzip_member(&mut rest)? {
                self.member = Some(flate2::bufread::GzDecoder::new(rest));
            }
        }
        Ok(0)
    }
}

/// After a gzip member: `true` if another one starts, `false` at the end
/// of the file, after zero padding if any; an error for anything else.
fn another_gzip_member(rest: &mut impl BufRead) -> io::Result<bool> {
    const GZIP_MAGIC: u8 = 0x1f;
    let mut padded = false;
    loop {
        let buf = rest.fill_buf()?;
        let Some(&first) = buf.first() else {
            return Ok(false);
        };
        if first == GZIP_MAGIC && !padded {
            return Ok(true);
        }
        let zeros = buf.iter().take_while(|&&b| b == 0).count();
        if zeros == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "trailing data after the compressed stream",
            ));
        }
        padded = true;
        rest.consume(zeros);
    }
}

/// Marks the error a [`Metered`] reader returns when over budget.
#[derive(Debug)]
struct OverBudget;

impl fmt::Display for OverBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("archive metadata over budget")
    }
}

impl std::error::Error for OverBudget {}

/// How far a [`Metered`] reader may read.
#[derive(Default)]
struct Budget {
    used: std::cell::Cell<u64>,
    limit: std::cell::Cell<u64>,
}

impl Budget {
    /// Allows `data` more bytes plus the metadata allowance from here.
    fn allow(&self, data: u64) {
        self.limit.set(
            self.used
                .get()
                .saturating_add(data)
                .saturating_add(META_ALLOWANCE),
        );
    }
}

/// Counts the decompressed bytes the tar reader consumes and stops it at
/// the budget.
struct Metered<'b, R> {
    inner: R,
    budget: &'b Budget,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let used = self.budget.used.get().saturating_add(n as u64);
        self.budget.used.set(used);
        if used > self.budget.limit.get() {
            return Err(io::Error::other(OverBudget));
        }
        Ok(n)
    }
}

fn scan_tar(session: &mut Session, reader: Box<dyn Read + '_>) -> Result<(), ArchiveError> {
    let budget = Budget::default();
    budget.allow(0);
    let mut archive = tar::Archive::new(Metered {
        inner: reader,
        budget: &budget,
    });
    let entries = archive.entries().map_err(|e| session.read_failure(e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| session.read_failure(e))?;
        let header_size = entry.header().entry_size().unwrap_or(0);
        budget.allow(round_up_512(entry.size().max(header_size)));
        let member = tar_member(&entry);
        if is_pax_sparse(&mut entry).map_err(|e| session.read_failure(e))? {
            return Err(session.unsupported(
                &member.name,
                "is a sparse file in GNU tar's pax format (`GNU.sparse.*` records), \
                 which is not expanded"
                    .to_owned(),
                "the whole archive is refused so that no wrong bytes are installed; \
                 release archives are not sparse: use one made without `--sparse`",
            ));
        }
        if let Some(out) = session.admit(&member)? {
            let done = session.write(out, &mut entry)?;
            session.written.push(done);
        }
    }
    drain(session, archive.into_inner(), &budget)
}

/// Reads what follows the end-of-archive marker (padding, usually) so the
/// decompressor verifies its checksum and notices truncation.
fn drain<R: Read>(
    session: &Session,
    mut rest: Metered<'_, R>,
    budget: &Budget,
) -> Result<(), ArchiveError> {
    budget.limit.set(u64::MAX);
    io::copy(&mut (&mut rest).take(META_ALLOWANCE), &mut io::sink())
        .map_err(|e| session.read_failure(e))?;
    Ok(())
}

/// Whether the entry carries GNU sparse pax records, which the tar reader
/// does not apply: its data would be the packed form, or the sparse map.
fn is_pax_sparse<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<bool> {
    let Some(records) = entry.pax_extensions()? else {
        return Ok(false);
    };
    for record in records {
        if record?.key_bytes().starts_with(b"GNU.sparse.") {
            return Ok(true);
        }
    }
    Ok(false)
}

fn round_up_512(n: u64) -> u64 {
    n.saturating_add(511) & !511
}

fn tar_member<R: Read>(entry: &tar::Entry<'_, R>) -> Member {
    let header = entry.header();
    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    let kind = tar_kind(header.entry_type(), &name);
    let link = matches!(kind, Kind::Symlink | Kind::Hardlink).then(|| {
        entry
            .link_name_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    });
    Member {
        name,
        kind,
        size: entry.size(),
        mode: header.mode().unwrap_or(0o644),
        link,
    }
}

fn tar_kind(entry_type: tar::EntryType, name: &str) -> Kind {
    use tar::EntryType as T;
    match entry_type {
        // Old (v7) archives mark directories only by the trailing slash.
        T::Regular if name.ends_with('/') => Kind::Dir,
        T::Regular | T::Continuous | T::GNUSparse => Kind::File,
        T::Directory => Kind::Dir,
        T::Symlink => Kind::Symlink,
        T::Link => Kind::Hardlink,
        T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => Kind::Meta,
        other if other.as_byte() == b'V' => Kind::Meta,
        _ => Kind::Special,
    }
}

/// Unix file-type bits of a zip entry's mode.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

fn scan_zip(session: &mut Session, file: File, meter: &Rc<Meter>) -> Result<(), ArchiveError> {
    let mut zip = zip::ZipArchive::new(BufReader::with_capacity(BUF_SIZE, file))
        .map_err(|e| session.corrupt(e))?;
    if zip.len() as u64 > session.limits.max_entries {
        return Err(ArchiveError::TooManyEntries {
            archive: session.archive.clone(),
            limit: session.limits.max_entries,
        });
    }
    if zip.has_duplicate_names() {
        return Err(session.duplicate("(an entry name appears twice in the zip directory)"));
    }
    if zip
        .has_overlapping_entries()
        .map_err(|e| session.corrupt(e))?
    {
        return Err(ArchiveError::Overlapping {
            archive: session.archive.clone(),
        });
    }
    for index in 0..zip.len() {
        let member = zip_member(session, &mut zip, index, meter)?;
        if let Some(out) = session.admit(&member)? {
            let entry = open_zip_entry(session, &mut zip, index, meter)?;
            let mut entry = Expanding {
                inner: entry,
                meter: Rc::clone(meter),
            };
            let done = session.write(out, &mut entry)?;
            session.written.push(done);
        }
    }
    Ok(())
}

/// Entry `index` ready to read, once it is known to be readable: not
/// encrypted, and stored or deflated. Its compressed size is counted for
/// the expansion guard.
fn open_zip_entry<'z, R: Read + io::Seek>(
    session: &Session,
    zip: &'z mut zip::ZipArchive<R>,
    index: usize,
    meter: &Meter,
) -> Result<zip::read::ZipFile<'z, R>, ArchiveError> {
    let meta = zip.by_index_data(index).map_err(|e| session.corrupt(e))?;
    let name = String::from_utf8_lossy(meta.name_raw()).into_owned();
    if meta.encrypted() {
        return Err(session.unsupported(
            &name,
            "is encrypted".to_owned(),
            "encrypted zip entries are not read; use an asset that is not password-protected",
        ));
    }
    let method = meta.compression();
    if !zip::SUPPORTED_COMPRESSION_METHODS.contains(&method) {
        let shown = match method.to_string() {
            known if known != "Unknown" => known,
            _ => format!("{method:?}"),
        };
        return Err(session.unsupported(
            &name,
            format!("is compressed with {shown}, which is not supported"),
            "zip entries are read when stored or deflate-compressed; use another \
             format of the asset (e.g. .tar.gz or .tar.xz) if upstream offers one",
        ));
    }
    let size = meta.compressed_size();
    meter
        .compressed
        .set(meter.compressed.get().saturating_add(size));
    zip.by_index(index).map_err(|e| session.corrupt(e))
}

fn zip_member<R: Read + io::Seek>(
    session: &Session,
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    meter: &Rc<Meter>,
) -> Result<Member, ArchiveError> {
    let entry = zip.by_index_data(index).map_err(|e| session.corrupt(e))?;
    let name = entry.name().map_err(|e| session.corrupt(e))?.into_owned();
    let mode = entry.unix_mode();
    let kind = if name.ends_with(['/', '\\']) {
        Kind::Dir
    } else {
        match mode.map_or(S_IFREG, |m| m & S_IFMT) {
            0 | S_IFREG => Kind::File,
            S_IFDIR => Kind::Dir,
            S_IFLNK => Kind::Symlink,
            _ => Kind::Special,
        }
    };
    // Belt and braces: the zip reader's own check must agree.
    if normalize(&name).is_ok_and(|n| !n.is_empty()) && entry.enclosed_name().is_none() {
        return Err(session.unsafe_path(&name, "is refused by the zip reader's path check"));
    }
    let size = entry.size();
    let link = if kind == Kind::Symlink {
        Some(zip_link_target(session, zip, index, meter)?)
    } else {
        None
    };
    Ok(Member {
        name,
        kind,
        size,
        mode: mode.unwrap_or(0o644),
        link,
    })
}

/// A zip symlink's target, stored as the entry's content.
fn zip_link_target<R: Read + io::Seek>(
    session: &Session,
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    meter: &Meter,
) -> Result<String, ArchiveError> {
    let entry = open_zip_entry(session, zip, index, meter)?;
    let mut target = Vec::new();
    entry
        .take(MAX_LINK_TARGET + 1)
        .read_to_end(&mut target)
        .map_err(|e| session.read_failure(e))?;
    if target.len() as u64 > MAX_LINK_TARGET {
        return Err(session.corrupt("a symbolic link target is longer than 4096 bytes"));
    }
    Ok(String::from_utf8_lossy(&target).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ar_member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            100644,
            data.len()
        )
        .into_bytes();
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn deb_containers() {
        let mut deb = b"!<arch>\n".to_vec();
        deb.extend(ar_member("debian-binary", b"2.0\n"));
        deb.extend(ar_member("control.tar.xz", b"odd"));
        deb.extend(ar_member("data.tar.zst/", b"payload"));
        let (format, size) = deb_data(&mut &deb[..], "x.deb").expect("a deb");
        assert_eq!((format, size), (ArchiveFormat::TarZst, 7));
        for bad in [
            b"not an ar".to_vec(),
            b"!<arch>\n".to_vec(),
            [b"!<arch>\n".to_vec(), ar_member("debian-binary", b"2.0\n")].concat(),
            [b"!<arch>\n".to_vec(), ar_member("data.tar.lz4", b"x")].concat(),
            [b"!<arch>\n".to_vec(), vec![b' '; 60]].concat(),
        ] {
            assert!(deb_data(&mut &bad[..], "x.deb").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn normalize_table() {
        let ok = [
            ("a/b", "a/b"),
            ("./a/b", "a/b"),
            ("././a//b/", "a/b"),
            ("a\\b", "a/b"),
            ("./", ""),
            ("a/./b", "a/b"),
            ("Foo::Bar.3pm", "Foo::Bar.3pm"),
        ];
        for (raw, want) in ok {
            assert_eq!(normalize(raw).as_deref(), Ok(want), "{raw}");
        }
        let bad = [
            "../a",
            "a/../b",
            "a/..",
            "/a",
            "//server/share",
            "\\\\server\\share",
            "..\\a",
            "\\a",
            "C:/a",
            "c:a",
            "a\0b",
        ];
        for raw in bad {
            assert!(normalize(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn resolve_table() {
        let links: HashMap<&str, &str> =
            [("d", "."), ("up", ".."), ("abs", "/etc"), ("sub", "a/b")]
                .into_iter()
                .collect();
        let inside = [
            (vec![], "a"),
            (vec!["a", "b"], "../c"),
            (vec!["a"], "../d/x"),
            (vec![], "sub/.."),
            (vec![], "sub/../.."),
            (vec![], "d/d/d"),
        ];
        for (base, target) in inside {
            assert_eq!(
                resolve(&links, base.clone(), target),
                Ok(()),
                "{base:?} {target}"
            );
        }
        let outside = [
            (vec![], ".."),
            (vec!["a"], "../.."),
            (vec![], "/etc"),
            (vec![], "C:\\x"),
            (vec![], "d/.."),
            (vec![], "up"),
            (vec![], "abs/passwd"),
            (vec![], "sub/../../.."),
        ];
        for (base, target) in outside {
            assert_eq!(
                resolve(&links, base.clone(), target),
                Err(()),
                "{base:?} {target}"
            );
        }
    }

    fn gunzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzStream::new(io::Cursor::new(bytes)).read_to_end(&mut out)?;
        Ok(out)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut e, data)
            .and_then(|()| e.finish())
            .unwrap_or_default()
    }

    #[test]
    fn gzip_members_then_zero_padding_then_nothing() {
        let mut bytes = gzip(b"one ");
        bytes.extend(gzip(b"two"));
        assert_eq!(gunzip(&bytes).ok().as_deref(), Some(&b"one two"[..]));
        bytes.extend([0; 700]);
        assert_eq!(gunzip(&bytes).ok().as_deref(), Some(&b"one two"[..]));
        for tail in [&b"x"[..], b"\0\0x", b"\0\x1f\x8b"] {
            let mut bad = gzip(b"one");
            bad.extend_from_slice(tail);
            let err = gunzip(&bad).err().map(|e| e.to_string());
            assert_eq!(
                err.as_deref(),
                Some("trailing data after the compressed stream"),
                "{tail:?}"
            );
        }
    }

    #[test]
    fn meter_allows_any_ratio_below_the_floor_only() {
        let limits = Limits {
            max_ratio: 10,
            ratio_floor: 100,
            ..Limits::default()
        };
        let meter = Meter::new(&limits);
        meter.compressed.set(5);
        assert!(meter.expand(100).is_ok(), "at the floor");
        assert!(meter.expand(1).is_err(), "past it at 101:5");
        let meter = Meter::new(&limits);
        meter.compressed.set(50);
        assert!(meter.expand(500).is_ok(), "exactly 10:1");
        assert!(meter.expand(1).is_err());
    }

    #[test]
    fn single_member_names() {
        assert_eq!(single_member_name("tool.gz"), "tool");
        assert_eq!(single_member_name("Tool.XZ"), "Tool");
        assert_eq!(single_member_name(".gz"), ".gz");
        assert_eq!(single_member_name("tool"), "tool");
    }

    #[test]
    fn globs_do_not_cross_slashes_unless_double_star() {
        let Ok(Selector::Glob(g)) = Selector::new("./*/bin/*") else {
            panic!("a glob");
        };
        assert!(g.is_match("pkg/bin/tool"));
        assert!(!g.is_match("pkg/x/bin/tool"));
        assert!(!g.is_match("pkg/bin/sub/tool"));
        let Ok(Selector::Glob(g)) = Selector::new("**/tool") else {
            panic!("a glob");
        };
        assert!(g.is_match("a/b/c/tool"));
        assert!(g.is_match("tool"));
    }
}
