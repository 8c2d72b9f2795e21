//! File-system primitives every writer goes through: atomic replacement
//! that keeps the file's mode, and the advisory lock that serialises
//! concurrent runs on one tree; and the bounded reader every text file the
//! user controls (manifest, lock, pin files) is read through.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically: a temporary file in the same
/// directory is written, flushed to disk, given the old file's mode (or
/// `mode` when given, or 0644 for a new file) and renamed over `path`.
/// Readers see the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, contents: &[u8], mode: Option<u32>) -> io::Result<()> {
    replace(path, contents, mode, true)
}

/// [`write_atomic`] without flushing to disk: for cache entries, which are
/// checked when read. A crash may leave such an entry empty or cut short
/// (it then reads as absent or fails its check), never one file's bytes
/// under another's name; a flush per entry would cost a disk round trip
/// per item for nothing.
pub fn write_atomic_unsynced(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace(path, contents, None, false)
}

fn replace(path: &Path, contents: &[u8], mode: Option<u32>, durable: bool) -> io::Result<()> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    if durable {
        tmp.as_file().sync_all()?;
    }
    set_mode(
        tmp.path(),
        mode.or_else(|| existing_mode(path)).unwrap_or(0o644),
    )?;
    tmp.persist(path).map_err(|e| e.error)?;
    if durable { sync_dir(dir) } else { Ok(()) }
}

/// Flushes a directory's entries (a rename or a new file in it) to disk.
/// Where directories cannot be opened (not Unix), a no-op.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Flushes a file's data to disk.
pub fn sync_file(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Whether `entry` is a regular file last modified at least `age` ago.
pub fn untouched_for(entry: &fs::DirEntry, age: std::time::Duration) -> bool {
    entry
        .metadata()
        .ok()
        .filter(fs::Metadata::is_file)
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|elapsed| elapsed >= age)
}

/// Removes `.vendor-tmp-*` files that a killed run left in `dir`: the
/// temporary files of [`write_atomic`] and [`copy_atomic`]. Call with the
/// tree lock held. Returns how many were removed.
pub fn remove_leftovers(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let leftover = entry.file_name().to_string_lossy().starts_with(TMP_PREFIX)
            && entry.file_type().is_ok_and(|t| t.is_file());
        if leftover && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The name prefix of temporary files beside the files they replace.
pub const TMP_PREFIX: &str = ".vendor-tmp-";

/// Copies `src` over `dest` atomically (streamed, never read whole): a
/// temporary file beside `dest` is filled, synced, given `mode` and renamed.
pub fn copy_atomic(src: &Path, dest: &Path, mode: u32) -> io::Result<()> {
    let dir = parent_dir(dest);
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)?;
    io::copy(&mut File::open(src)?, tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    set_mode(tmp.path(), mode)?;
    tmp.persist(dest).map_err(|e| e.error)?;
    sync_dir(dir)?;
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The permission bits of an existing file.
pub fn existing_mode(path: &Path) -> Option<u32> {
    fs::metadata(path).ok().map(|m| file_mode(&m))
}

#[cfg(unix)]
pub fn file_mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
pub fn file_mode(meta: &fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// The tool's working directory beside the manifest (`.vendor/`): the
/// tree lock and staging areas live there, on the same file system as the
/// files they replace. It ignores itself for git.
pub fn work_dir(manifest_dir: &Path) -> io::Result<PathBuf> {
    let dir = manifest_dir.join(".vendor");
    fs::create_dir_all(&dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        fs::write(&ignore, "*\n")?;
    }
    Ok(dir)
}

/// An exclusive advisory lock on a tree, held until dropped.
#[derive(Debug)]
pub struct TreeLock {
    _file: File,
}

impl TreeLock {
    /// Takes the tree's lock, waiting for another holder if `wait`;
    /// otherwise fails at once with `WouldBlock`.
    pub fn acquire(manifest_dir: &Path, wait: bool) -> io::Result<TreeLock> {
        let path = work_dir(manifest_dir)?.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        if wait {
            file.lock()?;
        } else {
            file.try_lock().map_err(|e| match e {
                fs::TryLockError::WouldBlock => io::Error::from(io::ErrorKind::WouldBlock),
                fs::TryLockError::Error(e) => e,
            })?;
        }
        Ok(TreeLock { _file: file })
    }
}

/// The largest manifest, lock or pin file read into memory: 16 MiB. The
/// biggest real ones are a few hundred KiB; anything past this is a
/// mistake (a log, a binary, a device) and would only cost memory and time.
pub const MAX_TEXT_FILE: u64 = 16 * 1024 * 1024;

/// Why [`read_text`] refused a file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading failed (not found, permission denied, …).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A FIFO, device, socket or directory (after following symlinks).
    #[error("it is not a regular file but {0}")]
    NotRegular(&'static str),
    /// More bytes than the limit.
    #[error("it is larger than {}", size_name(*.limit))]
    TooLarge { limit: u64 },
    /// Not UTF-8 text.
    #[error("{}", .0.describe())]
    NotUtf8(NotUtf8),
}

impl ReadError {
    /// What to do about it, for diagnostics.
    pub fn help(&self) -> &'static str {
        match self {
            ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound => {
                "check the path; it is relative to the manifest's directory"
            }
            ReadError::Io(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                "check the file's permissions"
            }
            ReadError::Io(_) => "check that the path names a readable file",
            ReadError::NotRegular(_) => {
                "name a regular file (a symlink to one is fine); FIFOs and devices are not read"
            }
            ReadError::TooLarge { .. } => {
                "this is not a file vendor reads; check that the path names the right file"
            }
            ReadError::NotUtf8(e) if e.utf16 => "save it as UTF-8",
            ReadError::NotUtf8(_) => "save it as UTF-8, or fix the byte at that position",
        }
    }
}

/// Where a file stops being UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    /// Byte offset of the first byte that is not UTF-8.
    pub offset: usize,
    /// 1-based line and column (in characters) of that byte.
    pub line: usize,
    pub column: usize,
    /// The byte itself, when there is one (a truncated sequence at the end
    /// has none).
    pub byte: Option<u8>,
    /// The file looks like UTF-16 (a byte-order mark, or ASCII interleaved
    /// with zero bytes).
    pub utf16: bool,
    /// The file as text, each bad sequence replaced by U+FFFD: the same
    /// bytes as the file up to `offset`, for a snippet.
    pub lossy: String,
}

impl NotUtf8 {
    fn describe(&self) -> String {
        if self.utf16 {
            let why = if self.byte == Some(0) {
                "ASCII interleaved with zero bytes"
            } else {
                "it starts with a UTF-16 byte-order mark"
            };
            return format!("it is UTF-16 text ({why}), not UTF-8");
        }
        let byte = self.byte.map_or_else(
            || "a truncated character".to_owned(),
            |b| format!("byte 0x{b:02x}"),
        );
        format!(
            "it is not valid UTF-8: {byte} at line {}, column {} (byte offset {})",
            self.line, self.column, self.offset
        )
    }
}

/// "16 MiB" for messages.
pub fn size_name(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads the UTF-8 text file at `path`, at most `limit` bytes.
///
/// Symlinks are followed; what they lead to must be a regular file. A FIFO
/// is never opened for a blocking read: the path is checked first, opened
/// non-blocking, and checked again on the open handle (it may have been
/// replaced in between). The size is bounded while reading, so a file that
/// grows, or lies about its size, cannot make the read unbounded.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_bounded(path, limit)?;
    let text = String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8(not_utf8(e)))?;
    // ASCII in UTF-16 without a byte-order mark is valid UTF-8, full of
    // NUL characters no YAML, JSON or TOML parser would explain.
    if looks_like_utf16(text.as_bytes()) {
        let offset = text.find('\0').unwrap_or(0);
        return Err(ReadError::NotUtf8(NotUtf8 {
            offset,
            line: 1,
            column: offset + 1,
            byte: Some(0),
            utf16: true,
            lossy: text,
        }));
    }
    Ok(text)
}

/// [`read_text`] without the UTF-8 check.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    use io::Read;
    regular(&fs::metadata(path)?)?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading blocks until a writer comes; with
        // O_NONBLOCK it returns at once, and the fstat below refuses it.
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    regular(&meta)?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Refuses anything but a regular file, naming what it is.
fn regular(meta: &fs::Metadata) -> Result<(), ReadError> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(ReadError::NotRegular("a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Err(ReadError::NotRegular("a FIFO (named pipe)"));
        }
        if kind.is_char_device() {
            return Err(ReadError::NotRegular("a character device"));
        }
        if kind.is_block_device() {
            return Err(ReadError::NotRegular("a block device"));
        }
        if kind.is_socket() {
            return Err(ReadError::NotRegular("a socket"));
        }
    }
    Err(ReadError::NotRegular("a special file"))
}

fn not_utf8(err: std::string::FromUtf8Error) -> NotUtf8 {
    let offset = err.utf8_error().valid_up_to();
    let bytes = err.as_bytes();
    let utf16 = looks_like_utf16(bytes);
    let lossy = String::from_utf8_lossy(bytes).into_owned();
    // The text before `offset` is valid, and the same in `lossy`.
    let before = lossy.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let byte = err
        .utf8_error()
        .error_len()
        .and_then(|_| bytes.get(offset).copied());
    NotUtf8 {
        offset,
        line,
        column,
        byte,
        utf16,
        lossy,
    }
}

/// A UTF-16 byte-order mark, or ASCII text in UTF-16 without one.
fn looks_like_utf16(bytes: &[u8]) -> bool {
    match bytes {
        [0xff, 0xfe, ..] | [0xfe, 0xff, ..] => true,
        [a, 0, b, 0, ..] | [0, a, 0, b, ..] => *a != 0 && *b != 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_mode() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f");
        fs::write(&path, "old")?;
        set_mode(&path, 0o755)?;
        write_atomic(&path, b"new", None)?;
        assert_eq!(fs::read_to_string(&path)?, "new");
        #[cfg(unix)]
        assert_eq!(existing_mode(&path), Some(0o755));
        Ok(())
    }

    #[test]
    fn bounded_reads() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f");
        fs::write(&path, "héllo\n")?;
        assert_eq!(read_text(&path, 100).ok().as_deref(), Some("héllo\n"));
        assert!(matches!(
            read_text(&path, 3),
            Err(ReadError::TooLarge { limit: 3 })
        ));
        assert!(matches!(
            read_text(dir.path(), 100),
            Err(ReadError::NotRegular("a directory"))
        ));
        fs::write(&path, b"ab\ncd\xffe")?;
        match read_text(&path, 100) {
            Err(ReadError::NotUtf8(e)) => {
                assert_eq!((e.offset, e.line, e.column, e.byte), (5, 2, 3, Some(0xff)));
                assert!(!e.utf16);
            }
            other => panic!("{other:?}"),
        }
        fs::write(&path, b"\xff\xfea\x00")?;
        assert!(matches!(read_text(&path, 100), Err(ReadError::NotUtf8(e)) if e.utf16));
        Ok(())
    }

    #[test]
    fn second_lock_is_refused() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let _held = TreeLock::acquire(dir.path(), false)?;
        let err = TreeLock::acquire(dir.path(), false).expect_err("already held");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        Ok(())
    }
}
