//! Upstream files built at test time: tarballs, zips written byte for byte
//! and `sha256sum` listings.
#![allow(dead_code)] // each test binary uses a different part

use std::io::Write as _;

use sha2::{Digest, Sha256};

/// A gzipped tarball of `(name, bytes, mode)` members.
pub fn tar_gz(members: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data, mode) in members {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_709_726_400);
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data)
            .expect("append a tar member");
    }
    let tar = b.into_inner().expect("finish the tarball");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&tar).expect("gzip");
    e.finish().expect("gzip")
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `sha256sum` output for `files`.
pub fn sha256sums(files: &[(&str, &[u8])]) -> Vec<u8> {
    files
        .iter()
        .map(|(name, bytes)| format!("{}  {name}\n", sha256_hex(bytes)))
        .collect::<String>()
        .into_bytes()
}

/// A real static Linux executable for `arch` (`amd64` or `arm64`) that
/// prints `text` and exits 0: the `say` fixture with its message slot
/// overwritten (see `tests/fixtures/say/README.md`).
pub fn say(arch: &str, text: &str) -> Vec<u8> {
    const MARKER: &[u8] = b"@@VENDOR-SAY@@";
    const SLOT: usize = 256;
    let path = format!(
        "{}/tests/fixtures/say/say-linux-{arch}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let at = bytes
        .windows(MARKER.len())
        .position(|w| w == MARKER)
        .unwrap_or_else(|| panic!("{path} has no message slot"));
    assert!(text.len() < SLOT, "message longer than the slot");
    let slot = &mut bytes[at..at + SLOT];
    slot.fill(0);
    slot[..text.len()].copy_from_slice(text.as_bytes());
    bytes
}

/// A zip entry as [`raw_zip`] writes it: `data` goes into the archive as
/// given (already compressed with `method`), headers carry `flags`.
#[derive(Clone, Copy)]
pub struct ZipRecord<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
    /// 0 stored, 8 deflate, 12 bzip2, …
    pub method: u16,
    /// General-purpose flags (bit 0: encrypted).
    pub flags: u16,
    /// Uncompressed size and its crc32.
    pub size: u32,
    pub crc: u32,
    /// Unix permission and type bits.
    pub mode: u32,
}

impl<'a> ZipRecord<'a> {
    /// A stored (uncompressed) regular file.
    pub fn stored(name: &'a str, data: &'a [u8], mode: u32) -> Self {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        Self {
            name,
            data,
            method: 0,
            flags: 0,
            size: u32::try_from(data.len()).expect("a small file"),
            crc: crc.sum(),
            mode: 0o100_000 | mode,
        }
    }

    /// A deflated regular file holding `contents`, whose raw deflate
    /// stream ([`deflate_raw`]) is `compressed`.
    pub fn deflated(name: &'a str, compressed: &'a [u8], contents: &[u8], mode: u32) -> Self {
        let mut crc = flate2::Crc::new();
        crc.update(contents);
        Self {
            name,
            data: compressed,
            method: 8,
            flags: 0,
            size: u32::try_from(contents.len()).expect("a small file"),
            crc: crc.sum(),
            mode: 0o100_000 | mode,
        }
    }
}

/// Raw deflate (no zlib or gzip framing), as zip stores it.
pub fn deflate_raw(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).expect("deflate");
    e.finish().expect("deflate")
}

/// A zip written byte for byte, past the zip writer's checks: one local
/// record per entry of `locals`, and a central directory of `central`
/// entries, each `(name, i)` describing `locals[i]` under `name`. Several
/// central entries naming one local record make overlapping entries.
pub fn raw_zip(locals: &[ZipRecord<'_>], central: &[(&str, usize)]) -> Vec<u8> {
    fn u16le(out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn u32le(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn len16(s: &str) -> u16 {
        u16::try_from(s.len()).expect("a short name")
    }
    fn len32(b: &[u8]) -> u32 {
        u32::try_from(b.len()).expect("a small zip")
    }
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for r in locals {
        offsets.push(len32(&out));
        u32le(&mut out, 0x0403_4b50);
        u16le(&mut out, 20);
        u16le(&mut out, r.flags);
        u16le(&mut out, r.method);
        u16le(&mut out, 0); // time
        u16le(&mut out, 0x5821); // 2024-01-01
        u32le(&mut out, r.crc);
        u32le(&mut out, len32(r.data));
        u32le(&mut out, r.size);
        u16le(&mut out, len16(r.name));
        u16le(&mut out, 0);
        out.extend_from_slice(r.name.as_bytes());
        out.extend_from_slice(r.data);
    }
    let dir_start = len32(&out);
    for (name, i) in central {
        let r = &locals[*i];
        u32le(&mut out, 0x0201_4b50);
        u16le(&mut out, 3 << 8 | 20); // made by Unix: the mode is meaningful
        u16le(&mut out, 20);
        u16le(&mut out, r.flags);
        u16le(&mut out, r.method);
        u16le(&mut out, 0);
        u16le(&mut out, 0x5821);
        u32le(&mut out, r.crc);
        u32le(&mut out, len32(r.data));
        u32le(&mut out, r.size);
        u16le(&mut out, len16(name));
        u16le(&mut out, 0); // extra
        u16le(&mut out, 0); // comment
        u16le(&mut out, 0); // disk
        u16le(&mut out, 0); // internal attributes
        u32le(&mut out, r.mode << 16);
        u32le(&mut out, offsets[*i]);
        out.extend_from_slice(name.as_bytes());
    }
    let dir_size = len32(&out) - dir_start;
    let count = u16::try_from(central.len()).expect("a few entries");
    u32le(&mut out, 0x0605_4b50);
    u16le(&mut out, 0);
    u16le(&mut out, 0);
    u16le(&mut out, count);
    u16le(&mut out, count);
    u32le(&mut out, dir_size);
    u32le(&mut out, dir_start);
    u16le(&mut out, 0);
    out
}
