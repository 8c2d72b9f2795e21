//! The download cache: content-addressed by sha256, shared by every tree
//! on the machine.
//!
//! Layout under the cache directory:
//!
//! ```text
//! sha256/ab/abcdef…     verified artifacts, named by their hash
//! resolved/<fp>.json    what an item's fingerprint resolved to (for
//!                       offline rollback: bumping back needs no network):
//!                       the expected hashes and the evidence, never a
//!                       trust label; the gate derives trust again
//! evidence/ab/abcdef…   the signatures (and signed checksum files) that
//!                       verified the artifact abcdef…, so a reinstall
//!                       from the lock checks them again offline
//! tmp/                  downloads in flight, renamed into sha256/ once
//!                       verified
//! ```
//!
//! A remote cache ([`crate::registry`]), when one is configured, is the
//! second tier: asked for what this one lacks, and filled with what was
//! verified ([`Cache::with_remote`]).
//!
//! An entry is written only after its hash was verified, by rename, so a
//! reader never sees a partial file; a cached file is hashed again before
//! use, so a corrupted cache is caught rather than installed. Entries are
//! not flushed to disk ([`crate::fsx::write_atomic_unsynced`]): one a
//! crash left empty or cut short reads as absent or fails that check.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::gate::{Evidence, Verified};
use crate::hash::sha256_file;
use crate::lock::Resolved;
use crate::resolve::Pending;

/// What a fingerprint resolved to, as remembered by this machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedResolution {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolved>,
    #[serde(default)]
    pub artifacts: Vec<Pending>,
}

impl CachedResolution {
    /// A resolution whose artifacts all passed the gate.
    pub fn verified(
        resolved: Option<Resolved>,
        pending: &[Pending],
        verified: &[Verified],
    ) -> CachedResolution {
        CachedResolution {
            resolved,
            artifacts: pending
                .iter()
                .zip(verified)
                .map(|(p, v)| v.as_pending(p))
                .collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    remote: Option<std::sync::Arc<crate::registry::Remote>>,
}

impl Cache {
    /// `VENDOR_CACHE_DIR`, else the platform's cache directory.
    pub fn from_env() -> Cache {
        let dir = std::env::var_os("VENDOR_CACHE_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(default_dir);
        Cache { dir, remote: None }
    }

    pub fn at(dir: impl Into<PathBuf>) -> Cache {
        Cache {
            dir: dir.into(),
            remote: None,
        }
    }

    /// This cache with a remote cache behind it.
    pub fn with_remote(mut self, remote: Option<crate::registry::Remote>) -> Cache {
        self.remote = remote.map(std::sync::Arc::new);
        self
    }

    /// The remote cache, when one is configured.
    pub fn remote(&self) -> Option<&crate::registry::Remote> {
        self.remote.as_deref()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn blob_path(&self, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("00");
        self.dir.join("sha256").join(prefix).join(sha256)
    }

    /// A cached artifact with this sha256, verified again before it is
    /// returned. A corrupted entry is removed.
    pub fn get(&self, sha256: &str) -> Option<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let path = self.blob_path(sha256);
        match sha256_file(&path) {
            Ok(actual) if actual == sha256 => Some(path),
            Ok(_) => {
                let _ = fs::remove_file(&path);
                None
            }
            Err(_) => None,
        }
    }

    /// A fresh temporary file path for a download in flight.
    pub fn temp_file(&self) -> io::Result<tempfile::TempPath> {
        let tmp = self.dir.join("tmp");
        fs::create_dir_all(&tmp)?;
        // Named with this process's id, so a run ended by a signal before
        // it unwinds removes its own downloads and no other run's.
        let prefix = format!("download-{}-", std::process::id());
        crate::interrupt::remove_prefixed_on_abort(&tmp, &prefix);
        Ok(tempfile::Builder::new()
            .prefix(&prefix)
            .tempfile_in(&tmp)?
            .into_temp_path())
    }

    /// Moves a verified download into the cache under its hash.
    pub fn insert(&self, verified: tempfile::TempPath, sha256: &str) -> io::Result<PathBuf> {
        let path = self.blob_path(sha256);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        // Not flushed: every read ([`Cache::get`]) hashes the blob again,
        // so one torn by a crash is dropped and downloaded anew, and nothing
        // durable (the tree, the lock) depends on the cache surviving.
        // Flushing each blob cost a disk round trip per download.
        verified.persist(&path).map_err(|e| e.error)?;
        Ok(path)
    }

    /// Remembers what an item fingerprint resolved to.
    pub fn save_resolution(&self, fingerprint: &str, entry: &CachedResolution) -> io::Result<()> {
        let path = self.resolution_path(fingerprint);
        let json = serde_json::to_string_pretty(entry).map_err(io::Error::other)?;
        crate::fsx::write_atomic_unsynced(&path, crate::secret::redact(&json).as_bytes())
    }

    /// What a fingerprint resolved to before, if this cache saw it.
    pub fn resolution(&self, fingerprint: &str) -> Option<CachedResolution> {
        let text = fs::read(self.resolution_path(fingerprint)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Keeps the evidence that verified an artifact, for reinstalls.
    pub fn save_evidence(&self, verified: &Verified) -> io::Result<()> {
        let evidence = verified.evidence();
        if evidence.is_empty() {
            return Ok(());
        }
        let json = serde_json::to_vec(evidence).map_err(io::Error::other)?;
        crate::fsx::write_atomic_unsynced(&self.evidence_path(&verified.artifact().sha256), &json)
    }

    /// The evidence kept for the artifact with this sha256. It is checked
    /// by the gate like any other: a corrupted entry fails verification.
    pub fn evidence(&self, sha256: &str) -> Option<Evidence> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let text = fs::read(self.evidence_path(sha256)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn evidence_path(&self, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("00");
        self.dir.join("evidence").join(prefix).join(sha256)
    }

    fn resolution_path(&self, fingerprint: &str) -> PathBuf {
        let name = fingerprint.trim_start_matches("sha256:");
        self.dir.join("resolved").join(format!("{name}.json"))
    }
}

fn default_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if cfg!(target_os = "macos") {
        if let Some(home) = home {
            return home.join("Library/Caches/vendor");
        }
    } else if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("vendor");
    } else if let Some(home) = home {
        return home.join(".cache/vendor");
    }
    std::env::temp_dir().join("vendor-cache")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha256_hex;
    use std::io::Write;

    #[test]
    fn insert_then_get_and_corruption_is_caught() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let cache = Cache::at(dir.path());
        let tmp = cache.temp_file()?;
        fs::File::create(&tmp)?.write_all(b"artifact")?;
        let sha = sha256_hex(b"artifact");
        let path = cache.insert(tmp, &sha)?;
        assert_eq!(cache.get(&sha).as_deref(), Some(path.as_path()));
        fs::write(&path, b"tampered")?;
        assert_eq!(cache.get(&sha), None);
        assert!(!path.exists(), "corrupted entry is removed");
        assert_eq!(cache.get("../../etc/passwd"), None);
        Ok(())
    }
}
