//! Writing a file that must reach the disk, straight to the device.
//!
//! Every installed file is flushed before the commit renames it into the
//! tree (DESIGN §7). Written through the page cache, each byte is first
//! copied into a cached page and marked dirty, and the flush then waits
//! for those pages in the device's queue behind whatever else is being
//! written back. [`DirectFile`] writes a large file with `O_DIRECT`
//! instead, in aligned blocks from its own buffer: no copy into the page
//! cache, nothing left dirty, and each block is on the device when its
//! write returns, so the commit's flush has only the metadata and the
//! device's own cache left to do. Waiting on the device is the extraction
//! thread's; the download and the other extractions go on meanwhile.
//!
//! A file starts through the page cache and asks for `O_DIRECT` once it
//! has a whole block to write, so small files never use it. Where the file
//! system refuses it (tmpfs on older kernels, some FUSE file systems), or
//! refuses a write's alignment, the file goes on through the page cache;
//! the commit's flush makes it durable either way. The end of a file,
//! shorter than the alignment, always goes through the page cache. Off
//! Linux, everything does.

use std::fs::File;
use std::io::{self, Write as _};

/// Alignment of direct writes: buffer address, length and file offset. A
/// device with larger logical blocks refuses it, and the file falls back.
const ALIGN: usize = 4096;

/// Bytes collected before one write: large enough that the device sees
/// few, long requests; small enough for many files at once.
const BLOCK: usize = 1 << 20;

/// A new file written in [`BLOCK`]s, with `O_DIRECT` where the file system
/// takes it. Fill it through [`DirectFile::spare`] and
/// [`DirectFile::filled`], which read straight into the block; end with
/// [`DirectFile::finish`], which writes what is left. Dropped unfinished,
/// the bytes still in the block are not written.
pub struct DirectFile {
    file: File,
    buf: Vec<u8>,
    /// Where the aligned block starts in `buf`.
    start: usize,
    /// Bytes of the block filled so far.
    len: usize,
    mode: Mode,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing written yet: `O_DIRECT` is asked for with the first block.
    Undecided,
    Direct,
    Buffered,
}

impl DirectFile {
    /// Writes to `file`, new and empty, through `buffer`: the one an
    /// earlier [`DirectFile::finish`] gave back, or an empty one.
    pub fn new(file: File, mut buffer: Vec<u8>) -> DirectFile {
        if buffer.len() != BLOCK + ALIGN {
            buffer = vec![0; BLOCK + ALIGN];
        }
        let start = buffer.as_ptr().align_offset(ALIGN);
        // `align_offset` may give up; then no write would be aligned.
        let (start, mode) = if start < ALIGN {
            (start, Mode::Undecided)
        } else {
            (0, Mode::Buffered)
        };
        DirectFile {
            file,
            buf: buffer,
            start,
            len: 0,
            mode,
        }
    }

    /// Whether blocks go straight to the device. False until the first
    /// block is written, and for good once the file system refused.
    pub fn is_direct(&self) -> bool {
        self.mode == Mode::Direct
    }

    /// The file, to flush it from another thread.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The unfilled rest of the current block: read into it, then say how
    /// much with [`DirectFile::filled`].
    pub fn spare(&mut self) -> &mut [u8] {
        let from = self.start + self.len;
        &mut self.buf[from..self.start + BLOCK]
    }

    /// Takes `n` more bytes of [`DirectFile::spare`] as written, writing
    /// the block out once it is full.
    pub fn filled(&mut self, n: usize) -> io::Result<()> {
        self.len = (self.len + n).min(BLOCK);
        if self.len == BLOCK {
            if self.mode == Mode::Undecided {
                self.mode = if set_direct(&self.file, true) {
                    Mode::Direct
                } else {
                    Mode::Buffered
                };
            }
            self.write_out(BLOCK)?;
            self.len = 0;
        }
        Ok(())
    }

    /// Writes what is left: its whole aligned part as the blocks before,
    /// the last bytes through the page cache (a direct write must be a
    /// whole number of aligned units). Returns the file, not flushed, and
    /// the buffer for the next file.
    pub fn finish(mut self) -> io::Result<(File, Vec<u8>)> {
        let whole = if self.is_direct() {
            self.len / ALIGN * ALIGN
        } else {
            self.len
        };
        if whole > 0 {
            self.write_out(whole)?;
        }
        if whole < self.len {
            self.buffered()?;
            let (from, to) = (self.start + whole, self.start + self.len);
            self.file.write_all(&self.buf[from..to])?;
        }
        Ok((self.file, self.buf))
    }

    /// Writes the first `n` bytes of the block. A direct write the file
    /// system refuses for its alignment is made again through the page
    /// cache, and so is every later one.
    fn write_out(&mut self, n: usize) -> io::Result<()> {
        let mut done = 0;
        while done < n {
            let (from, to) = (self.start + done, self.start + n);
            match self.file.write(&self.buf[from..to]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => done += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.is_direct() && refused(&e) => self.buffered()?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// From now on, writes go through the page cache.
    fn buffered(&mut self) -> io::Result<()> {
        if self.is_direct() && !set_direct(&self.file, false) {
            return Err(io::Error::other("cannot turn off direct writes"));
        }
        self.mode = Mode::Buffered;
        Ok(())
    }
}

/// Turns `O_DIRECT` on or off; false if the file system refused.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_direct(file: &File, on: bool) -> bool {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let Ok(flags) = fcntl_getfl(file) else {
        return false;
    };
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    fcntl_setfl(file, flags).is_ok()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_direct(_file: &File, on: bool) -> bool {
    !on
}

/// `EINVAL`: what a file system answers a direct write it does not take
/// at this alignment.
fn refused(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &std::path::Path, data: &[u8], step: usize, buffer: Vec<u8>) -> Vec<u8> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .expect("new file");
        let mut out = DirectFile::new(file, buffer);
        let mut src = data;
        loop {
            let spare = out.spare();
            let take = spare.len().min(step);
            let n = io::Read::read(&mut src, &mut spare[..take]).expect("read");
            if n == 0 {
                break;
            }
            out.filled(n).expect("write");
        }
        out.finish().expect("finish").1
    }

    /// Every length around the block and alignment edges comes back byte
    /// for byte, read in small and in odd-sized pieces, with the buffer
    /// passed on from file to file.
    #[test]
    fn what_is_written_is_what_is_read() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let data: Vec<u8> = (0..3 * BLOCK + 3 * ALIGN + 7)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let lengths = [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            2 * BLOCK + ALIGN,
            data.len(),
        ];
        let mut buffer = Vec::new();
        for (i, &len) in lengths.iter().enumerate() {
            for step in [4099, BLOCK] {
                let path = dir.path().join(format!("{i}-{step}"));
                buffer = write(&path, &data[..len], step, buffer);
                assert_eq!(std::fs::read(&path)?, &data[..len], "{len} bytes by {step}");
            }
        }
        Ok(())
    }

    /// A file system that refuses `O_DIRECT` (or a platform without it)
    /// leaves the file on the page cache path, with the same bytes.
    #[test]
    fn a_refused_direct_write_goes_through_the_page_cache() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f");
        let file = File::options().write(true).create_new(true).open(&path)?;
        let mut out = DirectFile::new(file, Vec::new());
        out.mode = Mode::Buffered;
        let data: Vec<u8> = (0..BLOCK + 5).map(|i| (i % 253) as u8).collect();
        let mut src = &data[..];
        loop {
            let n = io::Read::read(&mut src, out.spare())?;
            if n == 0 {
                break;
            }
            out.filled(n)?;
        }
        assert!(!out.is_direct());
        out.finish()?;
        assert_eq!(std::fs::read(&path)?, data);
        Ok(())
    }
}
