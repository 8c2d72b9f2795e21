//! Carrying out a plan: resolve what is unresolved, stage every artifact,
//! then commit pins, files and the lock.
//!
//! Order matters for crash safety. Nothing in the tree changes until every
//! download is verified and every archive extracted into staging. Then pin
//! files are replaced, then installed files, each by an atomic rename, and
//! the lock last. A run killed in between leaves every file old or new; the
//! next plan sees what is already in place and a re-run converges.

use std::path::Path;

use futures_util::StreamExt as _;
use miette::{IntoDiagnostic, Result, WrapErr};

use crate::cache::{Cache, CachedResolution};
use crate::fetch::{Client, FetchError};
use crate::gate::{self, Verified};
use crate::hash::sha256_file;
use crate::install::{self, StagedFile};
use crate::lock::{Lock, LockedItem};
use crate::manifest::model::Manifest;
use crate::plan::{ItemPlan, Planned};
use crate::resolve::{self, Pending};
use crate::source::github::GithubError;

/// Resolves every item of the plan that needs it. With no client
/// (offline), or when the upstream cannot be reached, the resolution is
/// marked unknown with the reason; any other failure (a missing release,
/// a missing asset, a bad checksum file) is an error. Returns warnings
/// saying why items stay unresolved.
pub async fn resolve_plan(
    client: Option<&Client>,
    root: &Path,
    cache: &Cache,
    manifest: &Manifest,
    lock: &Lock,
    planned: &mut Planned,
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let Some(client) = client else {
        for item_plan in &mut planned.plan.items {
            let (Some(resolution), Some(item)) =
                (&mut item_plan.resolve, manifest.items.get(&item_plan.id))
            else {
                continue;
            };
            // Offline: a resolution this cache saw before (a rollback)
            // needs no network.
            match cache.resolution(&crate::apt::fingerprint(manifest, item)) {
                Some(entry) => {
                    resolution.resolved = entry.resolved;
                    resolution.artifacts = entry.artifacts;
                }
                None => {
                    resolution.unknown = Some("offline: not resolved before on this machine".into())
                }
            }
        }
        return Ok(warnings);
    };
    // Every item at once (crate::jobs); results in plan order.
    let wanted: Vec<(usize, &crate::manifest::model::Item)> = planned
        .plan
        .items
        .iter()
        .enumerate()
        .filter(|(_, p)| p.resolve.is_some())
        .filter_map(|(n, p)| Some((n, manifest.items.get(&p.id)?)))
        .collect();
    let results = crate::jobs::ordered(wanted, |(n, item)| {
        let id = planned.plan.items[n].id.clone();
        async move {
            let r =
                resolve::resolve_in(client, root, Some(manifest), &id, item, lock.items.get(&id))
                    .await;
            (n, r)
        }
    })
    .await;
    for (n, result) in results {
        let item_plan = &mut planned.plan.items[n];
        let Some(resolution) = &mut item_plan.resolve else {
            continue;
        };
        match result {
            Ok(r) => {
                resolution.resolved = r.resolved;
                resolution.artifacts = r.artifacts;
            }
            Err(e) if unreachable(&e) => {
                warnings.push(format!("{}: upstream unreachable: {e}", item_plan.id));
                resolution.unknown = Some("upstream unreachable".into());
            }
            Err(e) => return Err(e.wrap_err(format!("cannot resolve {}", item_plan.id))),
        }
    }
    Ok(warnings)
}

/// Whether a resolution failed only because the upstream was unreachable.
fn unreachable(e: &miette::Report) -> bool {
    match (
        e.downcast_ref::<FetchError>(),
        e.downcast_ref::<GithubError>(),
    ) {
        (Some(f), _) | (None, Some(GithubError::Fetch(f))) => f.is_unreachable(),
        _ => false,
    }
}

/// Everything staged for one item.
#[derive(Debug)]
pub struct StagedItem {
    pub id: String,
    pub entry: LockedItem,
    /// What was resolved (for the cache), when the item was resolved.
    pub resolution: Option<CachedResolution>,
    pub files: Vec<StagedFile>,
}

/// Downloads and stages every item that installs files: re-resolved items
/// from their resolution, reinstalls from the lock. `stage_dir` is a
/// directory beside the tree that the caller drops afterwards.
///
/// With `resolve`, the plan's items are resolved here too, with no barrier
/// between resolution and downloads: each item's downloads, and the
/// extractions reading them, start as soon as that item is resolved, while
/// other items still wait for their answers. Nothing else changes: every
/// download passes the gate once all are in, before anything is staged
/// from it, and nothing enters the tree here. The resolutions are filled
/// into `planned` as [`resolve_plan`] does, and its warnings returned,
/// whatever the outcome of staging. Without `resolve` (a saved plan), the
/// plan's resolutions are used as they are.
#[allow(clippy::too_many_arguments)]
pub async fn stage(
    client: Option<&Client>,
    root: &Path,
    cache: &Cache,
    manifest: &Manifest,
    planned: &mut Planned,
    old_lock: &Lock,
    stage_dir: &Path,
    resolve: bool,
) -> (Vec<String>, Result<Vec<StagedItem>>) {
    let mut warnings = Vec::new();
    if resolve && client.is_none() {
        // Offline: resolutions come from the cache, with no waiting.
        match resolve_plan(None, root, cache, manifest, old_lock, planned).await {
            Ok(w) => warnings = w,
            Err(e) => return (warnings, Err(e)),
        }
    }
    let cx = StageCx {
        client,
        root,
        cache,
        manifest,
        planned,
        old_lock,
        stage_dir,
        resolve: resolve && client.is_some(),
    };
    let (fresh, staged) = cx.run().await;
    for (n, resolution, warning) in fresh {
        planned.plan.items[n].resolve = Some(resolution);
        warnings.extend(warning);
    }
    (warnings, staged)
}

/// What staging works with; `resolve` says whether items with a
/// resolution are resolved now (else their resolution is the plan's).
struct StageCx<'a> {
    client: Option<&'a Client>,
    root: &'a Path,
    cache: &'a Cache,
    manifest: &'a Manifest,
    planned: &'a Planned,
    old_lock: &'a Lock,
    stage_dir: &'a Path,
    resolve: bool,
}

/// One item's share of staging, up to its downloads (not yet admitted).
struct Fetched<'a> {
    n: usize,
    item_plan: &'a ItemPlan,
    entry: LockedItem,
    resolution: Option<crate::plan::Resolution>,
    pending: Vec<Pending>,
    downloads: Vec<crate::gate::Download>,
    streams: install::Streams,
    /// Per download, the signature checks reading it as it arrived.
    signatures: Vec<crate::gate::SignatureStreams>,
}

/// Why an item stopped. A failed resolution is reported before any other
/// failure, as when every item was resolved before staging began.
enum Stop {
    Resolve(miette::Report),
    Stage(miette::Report),
}

/// A resolution made during staging, for the plan: the item's index, its
/// resolution, and the warning if it stays unresolved.
type Fresh = (usize, crate::plan::Resolution, Option<String>);

/// What [`StageCx::fetch_item`] gives for item `n`.
type ItemOutcome<'a> = (usize, Option<Fresh>, Result<Option<Fetched<'a>>, Stop>);

impl StageCx<'_> {
    async fn run(&self) -> (Vec<Fresh>, Result<Vec<StagedItem>>) {
        // Downloads of all items share one bound, as when they ran in one
        // batch; items are handled `jobs::limit` at a time, unordered, so
        // a slow item never holds up the start of the next.
        let slots = tokio::sync::Semaphore::new(crate::jobs::limit());
        let slots = &slots;
        let mut results: Vec<ItemOutcome<'_>> =
            futures_util::stream::iter(0..self.planned.plan.items.len())
                .map(|n| async move {
                    let (fresh, result) = self.fetch_item(n, slots).await;
                    (n, fresh, result)
                })
                .buffer_unordered(crate::jobs::limit())
                .collect()
                .await;
        results.sort_by_key(|(n, ..)| *n);
        let mut fresh = Vec::new();
        let mut fetched = Vec::new();
        let mut resolve_failure = None;
        let mut stage_failure = None;
        for (_, f, result) in results {
            fresh.extend(f);
            match result {
                Ok(Some(item)) => fetched.push(item),
                Ok(None) => {}
                Err(Stop::Resolve(e)) => {
                    resolve_failure.get_or_insert(e);
                }
                Err(Stop::Stage(e)) => {
                    stage_failure.get_or_insert(e);
                }
            }
        }
        if let Some(e) = resolve_failure.or(stage_failure) {
            return (fresh, Err(e));
        }
        (fresh, self.finish(fetched).await)
    }

    /// Resolves item `n` if asked to, then starts its extractions and
    /// downloads its artifacts; `None` when it installs nothing.
    async fn fetch_item(
        &self,
        n: usize,
        slots: &tokio::sync::Semaphore,
    ) -> (Option<Fresh>, Result<Option<Fetched<'_>>, Stop>) {
        let item_plan = &self.planned.plan.items[n];
        let id = item_plan.id.as_str();
        let item = self.manifest.items.get(id);
        let mut resolution = item_plan.resolve.clone();
        let mut fresh = None;
        if self.resolve
            && let (Some(client), Some(r), Some(item)) = (self.client, &mut resolution, item)
        {
            let previous = self.old_lock.items.get(id);
            match resolve::resolve_in(client, self.root, Some(self.manifest), id, item, previous)
                .await
            {
                Ok(got) => {
                    r.resolved = got.resolved;
                    r.artifacts = got.artifacts;
                    fresh = Some((n, r.clone(), None));
                }
                Err(e) if unreachable(&e) => {
                    r.unknown = Some("upstream unreachable".into());
                    let warning = format!("{id}: upstream unreachable: {e}");
                    fresh = Some((n, r.clone(), Some(warning)));
                }
                Err(e) => {
                    return (
                        None,
                        Err(Stop::Resolve(e.wrap_err(format!("cannot resolve {id}")))),
                    );
                }
            }
        }
        let result = self.fetch_resolved(n, item_plan, resolution, slots).await;
        (fresh, result.map_err(Stop::Stage))
    }

    async fn fetch_resolved<'p>(
        &self,
        n: usize,
        item_plan: &'p ItemPlan,
        resolution: Option<crate::plan::Resolution>,
        slots: &tokio::sync::Semaphore,
    ) -> Result<Option<Fetched<'p>>> {
        let id = item_plan.id.as_str();
        let item = self.manifest.items.get(id);
        let Some(entry) = self
            .planned
            .lock
            .items
            .get(id)
            .or_else(|| self.old_lock.items.get(id))
        else {
            return Ok(None);
        };
        let mut entry = entry.clone();
        let mut pending = match &resolution {
            Some(r) => {
                // An APT item is locked only once its signed chain verified.
                if !r.is_resolved()
                    && item.is_some_and(|i| !i.assets.is_empty() || crate::apt::is_verified(i))
                {
                    return Err(miette::miette!(
                        code = "vendor::apply::unresolved",
                        help = "run online, or `vendor fetch` first while online",
                        "{} cannot be applied: {}",
                        id,
                        r.unknown.as_deref().unwrap_or("not resolved")
                    ));
                }
                entry.resolved = r.resolved.clone();
                r.artifacts.clone()
            }
            None if !item_plan.reinstall.is_empty() => {
                let allow_http = item.is_some_and(|i| i.source.allows_http());
                entry
                    .artifacts
                    .iter()
                    .map(|a| Pending::from_locked(a, allow_http))
                    .collect()
            }
            None => return Ok(None),
        };
        if resolution.is_none()
            && let Some(item) = item
        {
            complete_evidence(
                self.client,
                self.root,
                self.cache,
                id,
                item,
                self.old_lock,
                &mut pending,
            )
            .await?;
        }
        // Re-resolved items extract their archives while they download;
        // repairs from the lock take the ordinary path.
        let to_stream: Vec<install::ToStream<'_>> = item
            .filter(|_| resolution.is_some())
            .map(|item| install::ToStream {
                key: n,
                id,
                item,
                pending: &pending,
                dir: self.stage_dir.join(format!("{n}")),
            })
            .into_iter()
            .collect();
        let mut streams = install::start_streams(&to_stream);
        let mut mine = std::mem::take(&mut streams.feeds)
            .into_iter()
            .next()
            .unwrap_or_default()
            .into_iter();
        // Signatures over an artifact are checked on the same bytes.
        let mut signatures = Vec::new();
        let feeds = pending
            .iter()
            .map(|p| {
                let extraction = mine.next().flatten();
                let Some(item) = item else {
                    signatures.push(Default::default());
                    return extraction;
                };
                let (checks, running) = crate::gate::stream_signatures(self.root, id, item, p);
                signatures.push(running);
                match (extraction, checks) {
                    (Some(a), Some(b)) => Some(a.and(b)),
                    (a, b) => a.or(b),
                }
            })
            .collect();
        let downloads =
            install::fetch_all_in(self.client, self.cache, &pending, feeds, slots).await?;
        Ok(Some(Fetched {
            n,
            item_plan,
            entry,
            resolution,
            pending,
            downloads,
            streams,
            signatures,
        }))
    }

    /// Admits every download through the gate, then stages each item.
    async fn finish(&self, fetched: Vec<Fetched<'_>>) -> Result<Vec<StagedItem>> {
        let items: Vec<(&str, Vec<Pending>)> = fetched
            .iter()
            .map(|f| (f.item_plan.id.as_str(), f.pending.clone()))
            .collect();
        let mut fetched = fetched;
        for f in &mut fetched {
            let checks = std::mem::take(&mut f.signatures);
            for (download, checks) in f.downloads.iter_mut().zip(checks) {
                download.checked = checks.finish();
            }
        }
        let downloads: Vec<crate::gate::Download> = fetched
            .iter()
            .flat_map(|f| f.downloads.iter().cloned())
            .collect();
        let verified = admit_all(self.root, self.cache, self.manifest, &items, downloads).await?;
        let streamed: Vec<install::Provisional> = fetched
            .iter_mut()
            .flat_map(|f| std::mem::take(&mut f.streams).finish())
            .collect();
        let to_stage: Vec<install::ToStage<'_>> = fetched
            .iter()
            .zip(&verified)
            .filter_map(|(f, mine)| {
                Some(install::ToStage {
                    key: f.n,
                    id: &f.item_plan.id,
                    item: self.manifest.items.get(&f.item_plan.id)?,
                    fetched: mine,
                    dir: self.stage_dir.join(format!("{}", f.n)),
                })
            })
            .collect();
        let mut all_files = install::stage_items(&to_stage, streamed)?.into_iter();
        let mut staged = Vec::new();
        for (f, mine) in fetched.into_iter().zip(verified) {
            let item_plan = f.item_plan;
            let mut entry = f.entry;
            if !self.manifest.items.contains_key(&item_plan.id) {
                continue;
            }
            let mut files = all_files.next().unwrap_or_default();
            if f.resolution.is_none() {
                // A repair from the lock: the entry stays as locked, and
                // only the files that drifted or went missing are replaced.
                verify_reinstall(&item_plan.id, &entry, &files)?;
                files.retain(|f| item_plan.reinstall.contains(&f.record.path));
            } else {
                entry.artifacts = mine.iter().map(|f| f.artifact().clone()).collect();
                entry.files = files.iter().map(|f| f.record.clone()).collect();
            }
            staged.push(StagedItem {
                id: item_plan.id.clone(),
                entry,
                resolution: f
                    .resolution
                    .as_ref()
                    .map(|r| CachedResolution::verified(r.resolved.clone(), &r.artifacts, &mine)),
                files,
            });
        }
        Ok(staged)
    }
}

/// Downloads every item's artifacts (all at once, so downloads run
/// concurrently) and passes each through the verification gate, on all
/// cores: signatures hash whole files. Returns each item's verified
/// artifacts, in order; verified evidence is kept in the cache.
pub async fn fetch_verified(
    client: Option<&Client>,
    root: &Path,
    cache: &Cache,
    manifest: &Manifest,
    items: &[(&str, Vec<Pending>)],
) -> Result<Vec<Vec<Verified>>> {
    let all: Vec<Pending> = items.iter().flat_map(|(_, p)| p.iter().cloned()).collect();
    let downloads = install::fetch_all(client, cache, &all, Vec::new()).await?;
    admit_all(root, cache, manifest, items, downloads).await
}

/// Passes `downloads` (every item's artifacts, in order) through the
/// gate, on all cores, keeps the verified evidence in the cache and fills
/// the remote cache. Returns each item's verified artifacts, in order.
async fn admit_all(
    root: &Path,
    cache: &Cache,
    manifest: &Manifest,
    items: &[(&str, Vec<Pending>)],
    downloads: Vec<crate::gate::Download>,
) -> Result<Vec<Vec<Verified>>> {
    let mut jobs = Vec::new();
    let mut downloads = downloads.into_iter();
    for (id, pending) in items {
        let Some(item) = manifest.items.get(*id) else {
            return Err(miette::miette!("no item `{id}` in the manifest"));
        };
        for p in pending {
            if let Some(d) = downloads.next() {
                jobs.push((*id, item, p, d));
            }
        }
    }
    let admitted = crate::par::map(&jobs, |(id, item, p, d)| {
        gate::admit(root, id, item, p, d.clone())
    });
    let mut admitted = admitted.into_iter();
    let mut out = Vec::new();
    for (_, pending) in items {
        let mut mine = Vec::new();
        for _ in pending {
            if let Some(v) = admitted.next() {
                let v = v?;
                let _ = cache.save_evidence(&v);
                mine.push(v);
            }
        }
        out.push(mine);
    }
    // What passed the gate fills the remote cache (crate::registry);
    // failures there are warnings, never this run's failure.
    if let Some(remote) = cache.remote() {
        let pushes: Vec<(&str, &str, &[Verified])> = items
            .iter()
            .zip(&out)
            .filter_map(|((id, _), v)| {
                Some((*id, manifest.items.get(*id)?.version.as_str(), v.as_slice()))
            })
            .collect();
        remote.push(&pushes).await;
    }
    Ok(out)
}

/// A reinstall from the lock carries no evidence of its own: the signatures
/// come from the cache (kept when they last verified), else, online, from
/// upstream again. Offline with neither, the gate refuses.
pub async fn complete_evidence(
    client: Option<&Client>,
    root: &Path,
    cache: &Cache,
    id: &str,
    item: &crate::manifest::model::Item,
    lock: &Lock,
    pending: &mut [Pending],
) -> Result<()> {
    if item
        .verify
        .as_ref()
        .is_none_or(|v| v.signatures.is_empty() && v.attestation.is_none())
    {
        return Ok(());
    }
    let mut missing = false;
    for p in pending.iter_mut() {
        match p.sha256.as_deref().and_then(|s| cache.evidence(s)) {
            Some(e) => p.evidence = e,
            None => missing = true,
        }
    }
    // Pushed with the artifacts to the remote cache (crate::registry).
    if missing && let (Some(remote), Some(entry)) = (cache.remote(), lock.items.get(id)) {
        for p in pending.iter_mut().filter(|p| p.evidence.is_empty()) {
            if let Some(sha) = p.sha256.clone()
                && let Some(e) = remote
                    .evidence(id, &item.version, &entry.artifacts, &sha)
                    .await
            {
                p.evidence = e;
            }
        }
        missing = pending.iter().any(|p| p.evidence.is_empty());
    }
    let Some(client) = client.filter(|_| missing) else {
        return Ok(());
    };
    let fresh = resolve::resolve(client, root, id, item, lock.items.get(id))
        .await
        .map_err(|e| e.wrap_err(format!("cannot fetch the signatures of {id}")))?;
    for p in pending.iter_mut().filter(|p| p.evidence.is_empty()) {
        if let Some(f) = fresh.artifacts.iter().find(|f| f.url == p.url) {
            p.evidence = f.evidence.clone();
        }
    }
    Ok(())
}

/// A reinstall from the lock must reproduce exactly the locked files.
fn verify_reinstall(id: &str, entry: &LockedItem, files: &[StagedFile]) -> Result<()> {
    for f in files {
        let locked = entry.files.iter().find(|l| l.path == f.record.path);
        if locked.is_none_or(|l| l.sha256 != f.record.sha256) {
            return Err(miette::miette!(
                code = "vendor::apply::reinstall-mismatch",
                help = "the manifest's install rules changed without the lock; run `vendor apply` without --locked",
                "{id}: reinstalling {} from the lock gives a different file than the lock records",
                f.record.path
            ));
        }
    }
    Ok(())
}

/// Writes the tree: pins, then installed files, then removals, then the
/// lock.
pub fn commit(
    root: &Path,
    lock_path: &Path,
    planned: &Planned,
    old_lock: &Lock,
    staged: Vec<StagedItem>,
) -> Result<()> {
    let pause = test_pause();
    for (rel, text) in planned.tree.changed() {
        let path = root.join(rel);
        crate::fsx::write_atomic(&path, text.as_bytes(), None)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", path.display()))?;
        pause();
    }
    let mut lock = planned.lock.clone();
    let mut removals: Vec<String> = Vec::new();
    let mut dirs: std::collections::BTreeSet<std::path::PathBuf> = Default::default();
    let flushed = install::flush_staged(staged.iter().flat_map(|i| &i.files))?;
    for item in staged {
        for f in &item.files {
            install::commit_file(root, f, &flushed)?;
            if let Some(dir) = root.join(&f.record.path).parent() {
                dirs.insert(dir.to_path_buf());
            }
            pause();
        }
        // Files the previous entry installed that the new one does not.
        if let Some(old) = old_lock.items.get(&item.id) {
            for f in &old.files {
                if !item.entry.files.iter().any(|n| n.path == f.path)
                    && sha256_file(&root.join(&f.path)).ok().as_deref() == Some(f.sha256.as_str())
                {
                    removals.push(f.path.clone());
                }
            }
        }
        lock.items.insert(item.id, item.entry);
    }
    removals.extend(
        planned
            .plan
            .items
            .iter()
            .flat_map(|i| i.remove_files.iter().cloned()),
    );
    for rel in removals {
        let path = root.join(&rel);
        if let Some(dir) = path.parent() {
            dirs.insert(dir.to_path_buf());
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e)
                    .into_diagnostic()
                    .wrap_err_with(|| format!("cannot remove {}", path.display()));
            }
        }
    }
    // Durable before the lock names them: every renamed or removed entry.
    let dirs: Vec<_> = dirs.into_iter().collect();
    crate::par::map_on(crate::par::IO_THREADS, &dirs, |dir| {
        crate::fsx::sync_dir(dir)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot flush {}", dir.display()))
    })
    .into_iter()
    .collect::<Result<Vec<()>>>()?;
    write_lock(lock_path, &lock)
}

/// For crash tests only: `VENDOR_TEST_COMMIT_DELAY_MS` sleeps after each
/// file the commit phase writes, so a test can kill the process between
/// two writes and check that the tree is old-or-new and a re-run
/// converges.
fn test_pause() -> impl Fn() {
    let delay = std::env::var("VENDOR_TEST_COMMIT_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(std::time::Duration::from_millis);
    move || {
        if let Some(d) = delay {
            std::thread::sleep(d);
        }
    }
}

/// Removes staging directories that a killed run left behind. Called with
/// the tree lock held, so no other run is using them.
pub fn clean_stale_staging(work_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with("staging-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Writes the lock if its rendered content differs from the file.
pub fn write_lock(path: &Path, lock: &Lock) -> Result<()> {
    let text = lock.render();
    if std::fs::read_to_string(path).ok().as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    crate::fsx::write_atomic(path, text.as_bytes(), None)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))
}

/// Records each staged item's resolution in the cache, so bumping back
/// to it later works offline. Each record is flushed to disk, which
/// mostly waits on the device: they are written many at a time.
pub fn remember(cache: &Cache, staged: &[StagedItem]) {
    crate::par::map_on(crate::par::IO_THREADS, staged, |item| {
        if let Some(r) = &item.resolution {
            let _ = cache.save_resolution(&item.entry.fingerprint, r);
        }
    });
}
