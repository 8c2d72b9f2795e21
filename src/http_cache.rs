//! The HTTP cache of API answers: `http/` under the cache directory
//! (`VENDOR_CACHE_DIR`), one file per request.
//!
//! It exists for GitHub's rate limit: an answer stored with its
//! validators (`ETag`, `Last-Modified`) is asked for again with
//! `If-None-Match` / `If-Modified-Since`, and a `304 Not Modified` — which
//! GitHub does not count against the primary rate limit when the request
//! was authorized — hands back the stored body. [`crate::fetch::Client`]
//! is the only user; this module only stores and finds entries.
//!
//! What is reused, and why that is safe:
//!
//! - **Revalidated, never served without asking**: everything by default,
//!   and always releases (by tag, lists), tags and commits named by a tag
//!   or branch. Tags move and release assets are replaced under the same
//!   tag; a 304 is the server saying "what you hold is what I would send
//!   now", so a re-tag or a replaced asset changes the answer (and its
//!   `ETag`), arrives as a `200` and is seen exactly as without a cache.
//! - **Reused without asking**: only answers the caller declares facts
//!   that cannot change ([`Reuse::Fact`]) and that still check out: today
//!   the commit a full commit sha names, which is that sha (a sha names
//!   its content; the check that the stored answer *is* the sha asked for
//!   rules out a branch that merely looks like one).
//!
//! Rules of the store:
//!
//! - the key is the sha256 of the request's URL (after mirror
//!   rewriting), its `Accept`, the API version and whether a token was
//!   sent — never the token: an answer seen with a token is not offered
//!   to a run without one, nor the other way round. Entries record the
//!   same fields and a lookup checks them, so a misplaced or colliding
//!   file is a miss;
//! - a body holding the token is never written: the client refuses such
//!   answers before they reach the cache, and [`HttpCache::put`] and
//!   [`HttpCache::get`] refuse bodies and validators that carry a
//!   registered secret again ([`crate::secret`]);
//! - entries are bounded ([`MAX_BODY`]): a larger answer is simply not
//!   stored, and a file larger than an entry can be is not read;
//! - writes are atomic (a temporary file renamed into place); they are not
//!   synced to disk: an entry lost or torn by a crash is caught by the
//!   body's sha256 and counts as absent;
//! - a corrupt, truncated or foreign entry is ignored, and the fresh
//!   answer overwrites it;
//! - `--refresh` bypasses it: no conditional headers, no reuse, and every
//!   answer overwrites its entry;
//! - offline runs never reach it: the client refuses before any lookup;
//! - an entry is touched whenever it is reused (a 304, or a fact), so its
//!   modification time says when it last served; entries unused for
//!   [`UNUSED_AGE`] are removed by the next run that tidies the cache
//!   ([`HttpCache::evict_unused`]). Eviction costs a full request, never
//!   correctness.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::hash::sha256_hex;

/// Largest body stored (a page of 100 releases with long notes stays
/// below; a larger answer is fetched every time).
pub const MAX_BODY: u64 = 16 << 20;
/// How long an entry may go unused before it is removed: a release no
/// item pins any more stops being revalidated, and goes after this.
pub const UNUSED_AGE: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);
/// Largest metadata line read.
const MAX_META: u64 = 64 << 10;
const MAGIC: &[u8] = b"vendor-http-cache 1\n";
/// Prefix of the temporary half of an atomic write.
pub const TMP_PREFIX: &str = ".vendor-tmp-";

/// What identifies a request to the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The URL requested (mirror-rewritten); API URLs carry no secrets
    /// (the client refuses ones that carry the token).
    pub url: String,
    pub accept: String,
    pub api_version: String,
    /// Whether the request carried the token (never the token itself).
    pub authenticated: bool,
}

impl Key {
    fn digest(&self) -> String {
        sha256_hex(
            format!(
                "GET {}\naccept: {}\nx-github-api-version: {}\nauthenticated: {}\n",
                self.url, self.accept, self.api_version, self.authenticated
            )
            .as_bytes(),
        )
    }
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The `rel="next"` page the answer linked to.
    pub next: Option<String>,
    pub body: Vec<u8>,
}

impl Entry {
    /// Whether the entry can be revalidated (it has a validator).
    pub fn has_validator(&self) -> bool {
        self.etag.is_some() || self.last_modified.is_some()
    }
}

/// May a stored answer be used without asking the server?
#[derive(Clone, Copy)]
pub enum Reuse<'a> {
    /// No: ask with the validators, use the body only on a 304.
    Revalidate,
    /// Yes, if this says the stored body is still the fact asked for.
    Fact(&'a (dyn Fn(&[u8]) -> bool + Send + Sync)),
}

impl std::fmt::Debug for Reuse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reuse::Revalidate => "Revalidate",
            Reuse::Fact(_) => "Fact",
        })
    }
}

/// The metadata line of an entry file.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    key: Key,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    size: u64,
    sha256: String,
}

/// The store under one directory.
#[derive(Debug, Clone)]
pub struct HttpCache {
    dir: PathBuf,
}

impl HttpCache {
    /// The store in `dir` (created on the first write).
    pub fn at(dir: impl Into<PathBuf>) -> HttpCache {
        HttpCache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &Key) -> PathBuf {
        let digest = key.digest();
        self.dir.join(&digest[..2]).join(&digest)
    }

    /// The entry for `key`, if a sound one is stored. Anything wrong with
    /// the file (unreadable, too large, torn, another key's, holding a
    /// secret) reads as absent.
    pub fn get(&self, key: &Key) -> Option<Entry> {
        let file = fs::File::open(self.path(key)).ok()?;
        let limit = MAGIC.len() as u64 + MAX_META + MAX_BODY + 1;
        let mut bytes = Vec::new();
        file.take(limit).read_to_end(&mut bytes).ok()?;
        decode(&bytes, key)
    }

    /// Marks the entry for `key` as just used (its modification time), so
    /// [`HttpCache::evict_unused`] keeps it.
    pub fn touch(&self, key: &Key) -> io::Result<()> {
        fs::File::open(self.path(key))?.set_modified(std::time::SystemTime::now())
    }

    /// Removes entries not used for `max_age` (by modification time: each
    /// write and each [`HttpCache::touch`] sets it). Temporary files are
    /// left to [`crate::tidy`]. Returns how many were removed.
    pub fn evict_unused(&self, max_age: std::time::Duration) -> usize {
        let Ok(shards) = fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for shard in shards.flatten() {
            let Ok(entries) = fs::read_dir(shard.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let is_entry = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
                let unused = crate::fsx::untouched_for(&entry, max_age);
                if is_entry && unused && fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Stores `entry` for `key`, replacing what was there. An entry too
    /// large, or with anything that carries a secret, is not stored (and
    /// an older entry for the key is removed, so it cannot be revalidated
    /// into use).
    pub fn put(&self, key: &Key, entry: &Entry) -> io::Result<()> {
        let path = self.path(key);
        let Some(bytes) = encode(key, entry) else {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        };
        let dir = path.parent().unwrap_or(&self.dir);
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(dir)?;
        tmp.write_all(&bytes)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}

fn carries_secret(entry: &Entry) -> bool {
    [&entry.etag, &entry.last_modified, &entry.next]
        .into_iter()
        .flatten()
        .any(|v| crate::secret::carries(v))
        || crate::secret::carries_bytes(&entry.body)
}

fn encode(key: &Key, entry: &Entry) -> Option<Vec<u8>> {
    if entry.body.len() as u64 > MAX_BODY || carries_secret(entry) {
        return None;
    }
    let meta = Meta {
        key: key.clone(),
        etag: entry.etag.clone(),
        last_modified: entry.last_modified.clone(),
        next: entry.next.clone(),
        size: entry.body.len() as u64,
        sha256: sha256_hex(&entry.body),
    };
    let line = serde_json::to_vec(&meta).ok()?;
    if line.len() as u64 > MAX_META || line.contains(&b'\n') {
        return None;
    }
    let mut out = Vec::with_capacity(MAGIC.len() + line.len() + 1 + entry.body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&line);
    out.push(b'\n');
    out.extend_from_slice(&entry.body);
    Some(out)
}

fn decode(bytes: &[u8], key: &Key) -> Option<Entry> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let newline = rest.iter().position(|b| *b == b'\n')?;
    let meta: Meta = serde_json::from_slice(&rest[..newline]).ok()?;
    let body = &rest[newline + 1..];
    let sound = meta.key == *key
        && meta.size == body.len() as u64
        && meta.size <= MAX_BODY
        && meta.sha256 == sha256_hex(body);
    if !sound {
        return None;
    }
    let entry = Entry {
        etag: meta.etag,
        last_modified: meta.last_modified,
        next: meta.next,
        body: body.to_vec(),
    };
    (!carries_secret(&entry)).then_some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(url: &str, authenticated: bool) -> Key {
        Key {
            url: url.to_owned(),
            accept: "application/vnd.github+json".to_owned(),
            api_version: "2022-11-28".to_owned(),
            authenticated,
        }
    }

    fn entry(body: &[u8]) -> Entry {
        Entry {
            etag: Some("\"abc\"".into()),
            last_modified: Some("Wed, 06 Mar 2024 12:00:00 GMT".into()),
            next: None,
            body: body.to_vec(),
        }
    }

    #[test]
    fn entries_unused_for_the_age_are_evicted_and_a_touch_keeps_one() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let cache = HttpCache::at(dir.path());
        let month = std::time::Duration::from_secs(31 * 86_400);
        let (stale, touched, fresh) = (key("a", false), key("b", false), key("c", false));
        for k in [&stale, &touched, &fresh] {
            cache.put(k, &entry(b"x"))?;
        }
        let age = |k: &Key| -> io::Result<()> {
            let then = std::time::SystemTime::now() - month;
            fs::File::open(cache.path(k))?.set_modified(then)
        };
        age(&stale)?;
        age(&touched)?;
        cache.touch(&touched)?;
        // A leftover temporary file is not an entry: tidy's rules apply.
        let shard = cache.path(&stale).parent().map(Path::to_path_buf);
        let leftover = shard.unwrap_or_default().join(format!("{TMP_PREFIX}x"));
        fs::write(&leftover, b"partial")?;
        fs::File::open(&leftover)?.set_modified(std::time::SystemTime::now() - month)?;

        assert_eq!(cache.evict_unused(UNUSED_AGE), 1);
        assert!(cache.get(&stale).is_none());
        assert!(cache.get(&touched).is_some());
        assert!(cache.get(&fresh).is_some());
        assert!(leftover.exists());
        Ok(())
    }

    #[test]
    fn round_trip_and_keys_apart() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let cache = HttpCache::at(dir.path());
        let k = key("https://api.example/repos/o/r/releases/tags/v1", true);
        cache.put(&k, &entry(b"{\"id\":1}"))?;
        assert_eq!(cache.get(&k), Some(entry(b"{\"id\":1}")));
        // Without a token, or with another Accept: another entry.
        assert_eq!(cache.get(&key(&k.url, false)), None);
        let raw = Key {
            accept: "application/vnd.github.raw".into(),
            ..k.clone()
        };
        assert_eq!(cache.get(&raw), None);
        // Overwritten.
        cache.put(&k, &entry(b"{\"id\":2}"))?;
        assert_eq!(cache.get(&k).map(|e| e.body), Some(b"{\"id\":2}".to_vec()));
        Ok(())
    }

    #[test]
    fn corrupt_torn_or_foreign_entries_are_absent_and_rewritten() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let cache = HttpCache::at(dir.path());
        let k = key("https://api.example/a", false);
        cache.put(&k, &entry(b"0123456789"))?;
        let path = cache.path(&k);
        let good = fs::read(&path)?;
        // Torn: the body cut short.
        fs::write(&path, &good[..good.len() - 3])?;
        assert_eq!(cache.get(&k), None);
        // A flipped body byte.
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        fs::write(&path, &flipped)?;
        assert_eq!(cache.get(&k), None);
        // Garbage, and an empty file.
        fs::write(&path, b"not an entry")?;
        assert_eq!(cache.get(&k), None);
        fs::write(&path, b"")?;
        assert_eq!(cache.get(&k), None);
        // Another key's entry under this name.
        let other = key("https://api.example/b", false);
        fs::write(&path, encode(&other, &entry(b"x")).expect("encodes"))?;
        assert_eq!(cache.get(&k), None);
        // Rewritten by the next answer.
        cache.put(&k, &entry(b"fresh"))?;
        assert_eq!(cache.get(&k).map(|e| e.body), Some(b"fresh".to_vec()));
        let leftovers = fs::read_dir(path.parent().expect("dir"))?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(TMP_PREFIX))
            .count();
        assert_eq!(leftovers, 0);
        Ok(())
    }

    #[test]
    fn oversized_bodies_are_not_stored_and_drop_the_old_entry() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let cache = HttpCache::at(dir.path());
        let k = key("https://api.example/big", false);
        cache.put(&k, &entry(b"small"))?;
        let big = vec![b'x'; usize::try_from(MAX_BODY).unwrap_or(usize::MAX) + 1];
        cache.put(&k, &entry(&big))?;
        assert_eq!(cache.get(&k), None);
        assert!(!cache.path(&k).exists());
        Ok(())
    }

    #[test]
    fn secrets_are_never_written() -> io::Result<()> {
        const SECRET: &str = "ghp_httpCacheUnitTestSecret0123456789";
        crate::secret::register(SECRET);
        let dir = tempfile::tempdir()?;
        let cache = HttpCache::at(dir.path());
        let k = key("https://api.example/s", true);
        for e in [
            entry(format!("{{\"url\":\"x?t={SECRET}\"}}").as_bytes()),
            Entry {
                etag: Some(format!("\"{SECRET}\"")),
                ..entry(b"{}")
            },
            Entry {
                next: Some(format!("https://api.example/s?page=2&t={SECRET}")),
                ..entry(b"{}")
            },
        ] {
            cache.put(&k, &e)?;
            assert_eq!(cache.get(&k), None);
        }
        let mut found = Vec::new();
        for shard in fs::read_dir(dir.path())?.filter_map(Result::ok) {
            for file in fs::read_dir(shard.path())?.filter_map(Result::ok) {
                found.extend(fs::read(file.path())?);
            }
        }
        assert!(!String::from_utf8_lossy(&found).contains(SECRET));
        Ok(())
    }
}
