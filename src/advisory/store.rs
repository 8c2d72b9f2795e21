//! Snapshots of advisory answers, for offline runs: the normalised
//! advisories of an item's sources and when they were fetched, kept in the
//! HTTP cache's store ([`crate::http_cache`], with its atomic writes, size
//! bound, integrity check and refusal of anything carrying a secret)
//! under a key no HTTP request can have.

use serde::{Deserialize, Serialize};

use super::{Advisory, Sources};
use crate::http_cache::{Entry, HttpCache, Key};

/// The answer kept for one item's sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Seconds since the Unix epoch when it was fetched.
    pub fetched_at: u64,
    pub advisories: Vec<Advisory>,
}

fn key(sources: &Sources) -> Key {
    Key {
        url: format!("vendor-advisories:{}", sources.key()),
        accept: "application/json".to_owned(),
        api_version: "advisory-snapshot-1".to_owned(),
        authenticated: false,
    }
}

/// The store under the cache directory (`VENDOR_CACHE_DIR`).
pub fn open() -> HttpCache {
    HttpCache::at(crate::cache::Cache::from_env().dir().join("http"))
}

/// The last snapshot for `sources`, if a sound one is stored.
pub fn load(cache: &HttpCache, sources: &Sources) -> Option<Snapshot> {
    let entry = cache.get(&key(sources))?;
    serde_json::from_slice(&entry.body).ok()
}

/// Keeps `snapshot` (best effort: a cache that cannot be written costs
/// offline answers, never correctness).
pub fn save(cache: &HttpCache, sources: &Sources, snapshot: &Snapshot) {
    let Ok(body) = serde_json::to_vec(snapshot) else {
        return;
    };
    let entry = Entry {
        etag: None,
        last_modified: None,
        next: None,
        body,
    };
    let _ = cache.put(&key(sources), &entry);
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `3 hours`, `2 days`, … for an age in seconds.
pub fn age(seconds: u64) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match seconds {
        0..=119 => plural(seconds, "second"),
        120..=7199 => plural(seconds / 60, "minute"),
        7200..=172_799 => plural(seconds / 3600, "hour"),
        _ => plural(seconds / 86_400, "day"),
    }
}
