//! File-system primitives every writer goes through: atomic replacement
//! that keeps the file's mode, and the advisory lock that serialises
//! concurrent runs on one tree.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically: a temporary file in the same
/// directory is written, flushed to disk, given the old file's mode (or
/// `mode` when given, or 0644 for a new file) and renamed over `path`.
/// Readers see the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, contents: &[u8], mode: Option<u32>) -> io::Result<()> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    set_mode(
        tmp.path(),
        mode.or_else(|| existing_mode(path)).unwrap_or(0o644),
    )?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
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
    fn second_lock_is_refused() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let _held = TreeLock::acquire(dir.path(), false)?;
        let err = TreeLock::acquire(dir.path(), false).expect_err("already held");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        Ok(())
    }
}
