//! Upstream files built at test time: tarballs and `sha256sum` listings.
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
