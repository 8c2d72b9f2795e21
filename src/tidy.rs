//! Leftovers of killed runs: removed by the next run, under the tree lock.
//!
//! A run killed by SIGKILL or a power cut cannot clean up after itself.
//! What it may leave, and who removes it:
//!
//! - `.vendor-tmp-*` beside the lock, the manifest, pin files and installed
//!   files (the temporary half of an atomic write): removed by every run
//!   that holds the tree lock, in every directory the manifest and the
//!   lock name;
//! - `.vendor/staging-*` (an apply's staging area): likewise;
//! - in the shared cache, HTTP-cache entries unused for
//!   [`crate::http_cache::UNUSED_AGE`] (not leftovers, but nothing else
//!   removes them);
//! - in the shared cache, `tmp/download-<pid>-*`: removed once process
//!   `<pid>` is gone; those and `.vendor-tmp-*` under `resolved/`,
//!   `evidence/` and `http/` also once untouched for [`CACHE_TMP_AGE`],
//!   since the cache is shared by every tree on the machine and a download
//!   in flight elsewhere keeps writing to its file.
//!
//! `apply` tidies with the lock it holds; `plan`, `check` and `fetch`
//! tidy only when the lock is free at once, and never create `.vendor/`
//! to do so.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cache::Cache;
use crate::fsx;
use crate::lock::Lock;
use crate::manifest::model::Manifest;

/// How long a cache temporary file must sit untouched before it counts as
/// a leftover. Downloads in flight write continuously, and stalled ones are
/// cut off by the HTTP deadlines long before this.
pub const CACHE_TMP_AGE: Duration = Duration::from_secs(600);

/// Removes every leftover this tree and the cache may hold. The caller
/// holds the tree lock.
pub fn tidy(root: &Path, manifest: &Manifest, lock: &Lock, cache: &Cache) {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    dirs.insert(root.to_path_buf());
    let parent = |rel: &str| root.join(rel).parent().map(Path::to_path_buf);
    for item in manifest.items.values() {
        dirs.extend(item.pins.iter().filter_map(|p| parent(&p.file)));
    }
    for item in lock.items.values() {
        dirs.extend(item.files.iter().filter_map(|f| parent(&f.path)));
        dirs.extend(item.pins.iter().filter_map(|p| parent(&p.file)));
    }
    for dir in dirs.iter().filter(|d| d.starts_with(root)) {
        fsx::remove_leftovers(dir);
    }
    crate::apply::clean_stale_staging(&root.join(".vendor"));
    tidy_cache(cache);
}

/// [`tidy`], when no other run holds the tree lock and a run has used the
/// tree before (`.vendor/` exists); otherwise nothing.
pub fn tidy_if_idle(root: &Path, manifest: &Manifest, lock: &Lock, cache: &Cache) {
    if !root.join(".vendor").is_dir() {
        return;
    }
    if let Ok(_guard) = fsx::TreeLock::acquire(root, false) {
        tidy(root, manifest, lock, cache);
    }
}

fn tidy_cache(cache: &Cache) {
    let dir = cache.dir();
    remove_orphaned_downloads(&dir.join("tmp"));
    remove_old(&dir.join("tmp"), "download-");
    remove_old(&dir.join("resolved"), fsx::TMP_PREFIX);
    // Both keep their entries one level down, by hash prefix.
    for sharded in ["evidence", "http"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(sharded)) {
            for entry in entries.flatten() {
                remove_old(&entry.path(), fsx::TMP_PREFIX);
            }
        }
    }
    crate::http_cache::HttpCache::at(dir.join("http")).evict_unused(crate::http_cache::UNUSED_AGE);
}

/// Removes downloads whose process is gone: their names carry the id of
/// the process that made them (`download-<pid>-…`, see
/// [`Cache::temp_file`]). A live process with that id, perhaps a reused
/// one, leaves the file to the age rule.
fn remove_orphaned_downloads(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("download-")
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok());
        if let Some(pid) = pid
            && !process_alive(pid)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn process_alive(pid: i32) -> bool {
    match rustix::process::Pid::from_raw(pid) {
        // EPERM means it exists but is another user's.
        Some(pid) => !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        ),
        None => true,
    }
}

#[cfg(not(unix))]
fn process_alive(_pid: i32) -> bool {
    true
}

/// Removes files in `dir` named `prefix*` untouched for [`CACHE_TMP_AGE`].
fn remove_old(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        if fsx::untouched_for(&entry, CACHE_TMP_AGE) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
