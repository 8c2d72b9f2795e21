//! Getting verified bytes into the tree, in two phases.
//!
//! *Stage*: download every artifact into the cache (streamed, hashed,
//! verified before it is kept), then extract or copy each install into a
//! staging directory beside the tree. Any failure here leaves the tree
//! untouched: the staging directory is simply dropped.
//!
//! An archive read front to back is extracted *while* it downloads: the
//! download writer hands each chunk it hashes to an extraction thread
//! ([`crate::feed`]), so the bytes are received, hashed and unpacked in one
//! pass. What that produces is [`Provisional`] until the gate has admitted
//! the artifact and the bytes the extraction read (their sha256 and size,
//! as the writer hashed them) are the verified ones; anything else (a
//! retry, a mismatch, an extraction error) removes it and stages from the
//! verified file instead, which reports what is wrong.
//!
//! *Commit*: rename staged files over their destinations, one atomic
//! rename each. The caller rewrites pins before and writes the lock after,
//! so a run killed at any point leaves each file old or new and a re-run
//! converges.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use miette::{IntoDiagnostic, Result, WrapErr, miette};

use crate::archive::{self, Limits};
use crate::cache::Cache;
use crate::feed::{Feed, FeedReader};
use crate::fetch::Client;
use crate::gate::{Download, Verified};
use crate::lock::{self, InstalledFile};
use crate::manifest::model::{ArchiveFormat, Extract, Item, Source, parse_size};
use crate::manifest::validate::archive_format_of;
use crate::plan::{AssetInstance, asset_instances, item_vars};
use crate::resolve::Pending;

/// Brings every pending artifact into the cache and returns the bytes in
/// the same order, not yet trusted: [`crate::gate::admit`] decides.
/// Cached artifacts are used without a download; with no client (offline)
/// a cache miss is an error.
///
/// Up to [`crate::jobs::limit`] artifacts are in flight at once: at many
/// items over a slow network the round trips, not the bytes, set the pace.
/// File-system work (hashing a cache hit, naming a blob) runs on blocking
/// threads so it never holds up the downloads sharing the runtime.
///
/// `feeds[i]`, when given, receives the bytes of `pending[i]` as they
/// arrive ([`start_streams`]); a cache hit or an offline run drops it.
pub async fn fetch_all(
    client: Option<&Client>,
    cache: &Cache,
    pending: &[Pending],
    feeds: Vec<Option<Feed>>,
) -> Result<Vec<Download>> {
    let slots = tokio::sync::Semaphore::new(crate::jobs::limit());
    fetch_all_in(client, cache, pending, feeds, &slots).await
}

/// [`fetch_all`], each artifact holding one of `slots` while it is
/// fetched: several calls sharing `slots` (one per item, as items are
/// resolved) stay within one bound together.
pub async fn fetch_all_in(
    client: Option<&Client>,
    cache: &Cache,
    pending: &[Pending],
    feeds: Vec<Option<Feed>>,
    slots: &tokio::sync::Semaphore,
) -> Result<Vec<Download>> {
    let mut feeds = feeds.into_iter();
    let work: Vec<(usize, &Pending, Option<Feed>)> = pending
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p, feeds.next().flatten()))
        .collect();
    let results: Vec<(usize, Result<Download>)> = futures_util::stream::iter(work)
        .map(|(i, p, feed)| async move {
            let _slot = slots.acquire().await.ok();
            (i, fetch_one(client, cache, p, feed).await)
        })
        .buffer_unordered(crate::jobs::limit())
        .collect()
        .await;
    // The first failure in input order, whichever finished first: the
    // same error every run.
    let mut results = results;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Runs file-system work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| miette!("a download worker stopped: {e}"))
}

async fn fetch_one(
    client: Option<&Client>,
    cache: &Cache,
    p: &Pending,
    feed: Option<Feed>,
) -> Result<Download> {
    if let Some(expected) = p.sha256.clone() {
        let c = cache.clone();
        let hit = blocking(move || {
            c.get(&expected).map(|path| {
                let size = std::fs::metadata(&path)
                    .map(|m| m.len())
                    .unwrap_or_default();
                Download {
                    path,
                    sha256: expected,
                    size,
                    checked: Vec::new(),
                }
            })
        })
        .await?;
        if let Some(hit) = hit {
            return Ok(hit);
        }
    }
    // The remote cache, by the digest the plan or the lock expects
    // (crate::registry): checked against it, then admitted by the gate
    // like any download.
    if let (Some(remote), Some(expected)) = (cache.remote(), &p.sha256)
        && let Some(download) = remote.fetch(cache, p, expected).await?
    {
        return Ok(download);
    }
    let Some(client) = client else {
        let remote = cache.remote().map(|r| match r.unavailable() {
            Some(why) => format!("; the remote cache {} is not usable: {why}", r.shown()),
            None => format!(" nor in the remote cache {}", r.shown()),
        });
        return Err(miette!(
            code = "vendor::cache::miss",
            help = "run `vendor fetch` while online to fill the cache (VENDOR_CACHE_DIR), or \
                    `vendor mirror push` to fill the remote cache (VENDOR_CACHE_REMOTE)",
            "{} is not in the download cache{} and --offline forbids downloading it",
            p.url,
            remote.unwrap_or_default()
        ));
    };
    let c = cache.clone();
    let tmp = blocking(move || c.temp_file())
        .await?
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create a download file in {}", cache.dir().display()))?;
    let got = match feed {
        Some(feed) => {
            client
                .download_fed(&p.url, &tmp, p.size, p.allow_http, &p.name, feed)
                .await?
        }
        None => {
            client
                .download_file(&p.url, &tmp, p.size, p.allow_http, &p.name)
                .await?
        }
    };
    // Bytes that fail the hash never enter the cache.
    crate::gate::check_digest(p, &got.sha256, got.size)?;
    let c = cache.clone();
    let sha256 = got.sha256.clone();
    let path = blocking(move || c.insert(tmp, &sha256))
        .await?
        .into_diagnostic()
        .wrap_err("cannot store the download in the cache")?;
    Ok(Download {
        path,
        sha256: got.sha256,
        size: got.size,
        checked: Vec::new(),
    })
}

/// The artifact name an asset instance resolves to, as resolution names it.
pub fn instance_name(item: &Item, inst: &AssetInstance<'_>) -> Option<String> {
    match &item.source {
        Source::Url { .. } => {
            let url = inst.vars.expand(inst.asset.url.as_deref()?).ok()?;
            url.rsplit('/').next().map(str::to_owned)
        }
        _ => inst.vars.expand(inst.asset.name.as_deref()?).ok(),
    }
}

/// A file ready in staging, and where it goes.
#[derive(Debug, Clone)]
pub struct StagedFile {
    pub staged: PathBuf,
    pub record: InstalledFile,
}

/// What one item brings to [`stage_items`]: its id, its manifest entry,
/// its artifacts (each through the verification gate) and a staging
/// directory of its own. `key` is the item's [`ToStream::key`], unique
/// among the items staged together.
pub struct ToStage<'a> {
    pub key: usize,
    pub id: &'a str,
    pub item: &'a Item,
    pub fetched: &'a [Verified],
    pub dir: PathBuf,
}

/// Extracts or copies each asset instance of every item into the item's
/// staging directory: all instances of all items at once, on every core
/// (extraction is decompression and hashing). Returns each item's staged
/// files, in order; the first failing item's error.
///
/// An instance that was extracted while its artifact downloaded
/// ([`start_streams`]) takes those files if its [`Provisional`] confirms
/// against the verified artifact; otherwise it is staged from the file.
pub fn stage_items(
    items: &[ToStage<'_>],
    streamed: Vec<Provisional>,
) -> Result<Vec<Vec<StagedFile>>> {
    let mut jobs = Vec::new();
    let mut vars = Vec::new();
    for t in items {
        vars.push(item_vars(t.id, t.item));
    }
    let instances: Vec<Vec<AssetInstance<'_>>> = items
        .iter()
        .zip(&vars)
        .map(|(t, v)| asset_instances(v, t.item))
        .collect();
    for (k, (t, insts)) in items.iter().zip(&instances).enumerate() {
        let key = t.key;
        for (n, inst) in insts.iter().enumerate() {
            let name = instance_name(t.item, inst).unwrap_or_default();
            let platform = inst.platform.map(str::to_owned);
            // An apt-package asset comes from the item's one `.deb` (per
            // platform), whose file name only the archive's index knows.
            let any_name = name.is_empty() && matches!(t.item.source, Source::AptPackage { .. });
            let Some(f) = t.fetched.iter().find(|f| {
                (f.artifact().name == name || any_name) && f.artifact().platform == platform
            }) else {
                return Err(miette!(
                    code = "vendor::install::artifact-missing",
                    help = "run `vendor apply` without --locked to resolve the item again",
                    "{}: no locked artifact `{name}`{} to install",
                    t.id,
                    platform.map(|p| format!(" for {p}")).unwrap_or_default()
                ));
            };
            jobs.push((k, key, n, inst, f));
        }
    }
    let mut streamed: Vec<Option<Provisional>> = streamed.into_iter().map(Some).collect();
    let jobs: Vec<_> = jobs
        .into_iter()
        .map(|(k, key, n, inst, f)| {
            let early = streamed
                .iter_mut()
                .find(|p| p.as_ref().is_some_and(|p| p.key == (key, n)))
                .and_then(Option::take);
            (k, n, inst, f, std::sync::Mutex::new(early))
        })
        .collect();
    type Job<'a, 'b> = (
        usize,
        usize,
        &'b AssetInstance<'a>,
        &'b Verified,
        std::sync::Mutex<Option<Provisional>>,
    );
    let stage_one = |(k, n, inst, f, early): &Job<'_, '_>| {
        let (k, n) = (*k, *n);
        let early = early.lock().ok().and_then(|mut e| e.take());
        if let Some(files) = early.and_then(|p| p.confirm(f)) {
            return Ok(files);
        }
        let t = &items[k];
        let dir = t.dir.join(format!("{n}"));
        std::fs::create_dir_all(&dir)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot create {}", dir.display()))?;
        let source = named_source(f, &t.dir.join(format!("{n}.src")))?;
        Recipe::of(inst, &f.artifact().name)
            .and_then(|r| r.run_on_file(f, &source, &dir))
            .wrap_err_with(|| format!("{}: cannot install {}", t.id, f.artifact().name))
    };
    let results = crate::par::map(&jobs, stage_one);
    let mut out: Vec<Vec<StagedFile>> = items.iter().map(|_| Vec::new()).collect();
    for ((k, ..), r) in jobs.iter().zip(results) {
        out[*k].extend(r?);
    }
    Ok(out)
}

/// The cached artifact under its asset name (a link into the cache), so
/// that archive diagnostics name the asset rather than a hash.
fn named_source(f: &Verified, dir: &Path) -> Result<PathBuf> {
    let name = f
        .artifact()
        .name
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .unwrap_or("artifact");
    std::fs::create_dir_all(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    #[cfg(unix)]
    let linked = std::os::unix::fs::symlink(f.path(), &path);
    #[cfg(not(unix))]
    let linked = std::fs::copy(f.path(), &path).map(|_| ());
    linked
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot stage {}", f.artifact().name))?;
    Ok(path)
}

/// How one asset instance becomes staged files, decided before any byte
/// is read: the same recipe runs over the cached file or over the bytes
/// of a download as they arrive ([`Recipe::run_on_feed`]), so both give the
/// same files.
struct Recipe {
    install: String,
    mode: Option<u32>,
    artifact: String,
    how: How,
}

enum How {
    Copy,
    Decompress {
        format: ArchiveFormat,
        limits: Limits,
    },
    Extract {
        format: ArchiveFormat,
        member: String,
        strip: u32,
        limits: Limits,
    },
}

impl Recipe {
    fn of(inst: &AssetInstance<'_>, artifact: &str) -> Result<Recipe> {
        let install = inst
            .vars
            .expand(&inst.asset.install)
            .map_err(|n| miette!("unknown placeholder `{{{n}}}` in `install`"))?;
        let mode = inst.asset.mode.as_deref().and_then(lock::parse_mode);
        let artifact = artifact.to_owned();
        let Some(extract) = &inst.asset.extract else {
            return Ok(Recipe {
                install,
                mode,
                artifact,
                how: How::Copy,
            });
        };
        let format = extract
            .format
            .or_else(|| archive_format_of(&artifact))
            .ok_or_else(|| {
                miette!("cannot tell the archive format of {artifact}; set `extract.format`")
            })?;
        let limits = extraction_limits(extract)?;
        let how = if matches!(format, ArchiveFormat::Gz | ArchiveFormat::Xz) {
            How::Decompress { format, limits }
        } else {
            let member = inst
                .vars
                .expand(&extract.member)
                .map_err(|n| miette!("unknown placeholder `{{{n}}}` in `extract.member`"))?;
            How::Extract {
                format,
                member,
                strip: extract.strip_components,
                limits,
            }
        };
        Ok(Recipe {
            install,
            mode,
            artifact,
            how,
        })
    }

    /// Whether the recipe can run over the bytes as they arrive: archives
    /// read front to back (not zip, whose directory comes last; not a
    /// plain copy, which is the cached file itself).
    fn streams(&self) -> bool {
        match &self.how {
            How::Copy => false,
            How::Decompress { .. } => true,
            How::Extract { format, .. } => *format != ArchiveFormat::Zip,
        }
    }

    /// Runs over the verified file in the cache.
    fn run_on_file(&self, f: &Verified, source: &Path, dir: &Path) -> Result<Vec<StagedFile>> {
        match &self.how {
            How::Copy => {
                let staged = dir.join("file");
                std::fs::copy(f.path(), &staged)
                    .into_diagnostic()
                    .wrap_err_with(|| format!("cannot stage {}", self.artifact))?;
                let mode = self.mode.unwrap_or(0o644);
                Ok(vec![finish(
                    staged,
                    self.install.clone(),
                    mode,
                    f.artifact().sha256.clone(),
                    self.artifact.clone(),
                )?])
            }
            How::Decompress { format, limits } => {
                let staged = dir.join("file");
                let e = archive::decompress(source, *format, &staged, limits)?;
                self.single(staged, e.sha256)
            }
            How::Extract {
                format,
                member,
                strip,
                limits,
            } => {
                let extracted = archive::extract(source, *format, member, *strip, dir, limits)?;
                self.files(member, dir, extracted)
            }
        }
    }

    /// Runs over a download's bytes as they arrive. The files are only
    /// [`Provisional`] until the gate has verified those bytes.
    fn run_on_feed(&self, reader: &mut FeedReader, dir: &Path) -> Result<Vec<StagedFile>> {
        match &self.how {
            How::Copy => Err(miette!("{} is not an archive", self.artifact)),
            How::Decompress { format, limits } => {
                let staged = dir.join("file");
                let e = archive::decompress_from(reader, &self.artifact, *format, &staged, limits)?;
                self.single(staged, e.sha256)
            }
            How::Extract {
                format,
                member,
                strip,
                limits,
            } => {
                let extracted = archive::extract_from(
                    reader,
                    &self.artifact,
                    *format,
                    member,
                    *strip,
                    dir,
                    limits,
                )?;
                self.files(member, dir, extracted)
            }
        }
    }

    fn single(&self, staged: PathBuf, sha256: String) -> Result<Vec<StagedFile>> {
        let mode = self.mode.unwrap_or(0o644);
        Ok(vec![finish(
            staged,
            self.install.clone(),
            mode,
            sha256,
            self.artifact.clone(),
        )?])
    }

    fn files(
        &self,
        member: &str,
        dir: &Path,
        extracted: Vec<archive::Extracted>,
    ) -> Result<Vec<StagedFile>> {
        let is_glob = archive::is_glob(member);
        extracted
            .into_iter()
            .map(|e| {
                let dest = if is_glob {
                    let rel = e.path.strip_prefix(dir).unwrap_or(&e.path);
                    format!(
                        "{}/{}",
                        self.install.trim_end_matches('/'),
                        rel.to_string_lossy()
                    )
                } else {
                    self.install.clone()
                };
                // The archive's bits minus group and world write, unless
                // the manifest sets `mode`.
                let mode = self.mode.unwrap_or(e.mode);
                finish(
                    e.path,
                    dest,
                    mode,
                    e.sha256,
                    format!("{}!{}", self.artifact, e.member),
                )
            })
            .collect()
    }
}

/// Extractions started before the downloads ([`start_streams`]): a feed
/// for each artifact that streams, and the threads reading them.
#[derive(Default)]
pub struct Streams {
    /// Per item, per pending artifact.
    pub feeds: Vec<Vec<Option<Feed>>>,
    /// Dropped unfinished, each extraction is cancelled, removes what it
    /// wrote and stops, so nothing writes into staging after its removal.
    running: Vec<crate::feed::Reading<Provisional>>,
}

impl Streams {
    /// Waits for every extraction; those that read a complete download
    /// come back as [`Provisional`] files, still to be confirmed.
    pub fn finish(self) -> Vec<Provisional> {
        self.running
            .into_iter()
            .filter_map(crate::feed::Reading::finish)
            .collect()
    }
}

/// Files extracted from a download before the gate admitted it, with the
/// sha256 and size of exactly the bytes the extraction read (as the
/// download writer hashed them, [`crate::feed`]). Only
/// [`Provisional::confirm`] with the artifact's [`Verified`] makes them
/// staged files; dropped unconfirmed, they are removed.
pub struct Provisional {
    key: (usize, usize),
    files: Vec<StagedFile>,
    sha256: String,
    size: u64,
    dir: PathBuf,
    keep: bool,
}

impl Provisional {
    /// The files, if the bytes they came from are the ones `verified`
    /// vouches for; `None` (and the files removed) otherwise.
    fn confirm(mut self, verified: &Verified) -> Option<Vec<StagedFile>> {
        let artifact = verified.artifact();
        if artifact.sha256 != self.sha256 || artifact.size != self.size {
            return None;
        }
        self.keep = true;
        Some(std::mem::take(&mut self.files))
    }
}

impl Drop for Provisional {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// What [`start_streams`] needs of an item: as [`ToStage`], with the
/// artifacts still to download.
pub struct ToStream<'a> {
    /// Names the item's extractions; the same as its [`ToStage::key`].
    pub key: usize,
    pub id: &'a str,
    pub item: &'a Item,
    pub pending: &'a [Pending],
    pub dir: PathBuf,
}

/// Starts an extraction for every artifact that exactly one asset
/// instance installs from, in a format read front to back: it reads the
/// bytes while they download, into the instance's staging directory.
/// Others (zip, plain files, artifacts installed twice) get no feed and
/// are staged from the verified file as before.
pub fn start_streams(items: &[ToStream<'_>]) -> Streams {
    let mut feeds = Vec::new();
    let mut running = Vec::new();
    for t in items {
        let k = t.key;
        let vars = item_vars(t.id, t.item);
        let instances = asset_instances(&vars, t.item);
        let users = |p: &Pending| -> Vec<usize> {
            instances
                .iter()
                .enumerate()
                .filter(|(_, inst)| {
                    instance_name(t.item, inst).as_deref() == Some(p.name.as_str())
                        && inst.platform == p.platform.as_deref()
                })
                .map(|(n, _)| n)
                .collect()
        };
        let mut mine = Vec::new();
        for p in t.pending {
            let feed = match users(p)[..] {
                [n] => Recipe::of(&instances[n], &p.name)
                    .ok()
                    .filter(Recipe::streams)
                    .map(|recipe| {
                        let dir = t.dir.join(format!("{n}"));
                        let (feed, reading) = crate::feed::Reading::spawn(move |reader| {
                            extract_streaming(&recipe, reader, (k, n), dir)
                        });
                        running.push(reading);
                        feed
                    }),
                _ => None,
            };
            mine.push(feed);
        }
        feeds.push(mine);
    }
    Streams { feeds, running }
}

fn extract_streaming(
    recipe: &Recipe,
    mut reader: FeedReader,
    key: (usize, usize),
    dir: PathBuf,
) -> Option<Provisional> {
    let files = std::fs::create_dir_all(&dir)
        .into_diagnostic()
        .and_then(|()| recipe.run_on_feed(&mut reader, &dir));
    // Read to the end either way: the writer never waits on a reader
    // that stopped, and only a complete download has an end.
    let end = reader.drain().cloned();
    match (files, end) {
        (Ok(files), Some((sha256, size))) => Some(Provisional {
            key,
            files,
            sha256,
            size,
            dir,
            keep: false,
        }),
        _ => {
            let _ = std::fs::remove_dir_all(&dir);
            None
        }
    }
}

/// The archive limits an asset asks for: the defaults, with
/// `extract.max_size` if given (the manifest validator has checked it).
fn extraction_limits(extract: &Extract) -> Result<Limits> {
    let Some(text) = &extract.max_size else {
        return Ok(Limits::default());
    };
    let max_size = parse_size(text)
        .map_err(|reason| miette!("`extract.max_size: {text}` is not a usable size: {reason}"))?;
    Ok(Limits::with_max_size(max_size))
}

fn finish(
    staged: PathBuf,
    dest: String,
    mode: u32,
    sha256: String,
    from: String,
) -> Result<StagedFile> {
    crate::fsx::set_mode(&staged, mode)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot set the mode of {}", staged.display()))?;
    Ok(StagedFile {
        staged,
        record: InstalledFile {
            path: dest,
            sha256,
            mode: lock::mode_string(mode),
            from,
        },
    })
}

/// Flushes the data of every staged file to disk, many at a time: a
/// flush mostly waits on the device, which serves several at once.
pub fn flush_staged<'a>(files: impl IntoIterator<Item = &'a StagedFile>) -> Result<Flushed> {
    let files: Vec<&StagedFile> = files.into_iter().collect();
    let results = crate::par::map_on(crate::par::IO_THREADS, &files, |f| {
        crate::fsx::sync_file(&f.staged)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot flush {}", f.staged.display()))
    });
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(Flushed(()))
}

/// Proof that [`flush_staged`] ran: [`commit_file`] renames only flushed
/// files, so no file is named in the tree before its data is on disk.
pub struct Flushed(());

/// Moves a staged file to its destination under `root` by rename (a copy
/// then rename when staging is on another file system). The data is on
/// disk before the rename ([`Flushed`]); the caller syncs the directories
/// ([`crate::fsx::sync_dir`]) before it writes the lock.
pub fn commit_file(root: &Path, file: &StagedFile, _flushed: &Flushed) -> Result<()> {
    let dest = root.join(&file.record.path);
    let parent = dest.parent().unwrap_or(root);
    std::fs::create_dir_all(parent)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create {}", parent.display()))?;
    if std::fs::rename(&file.staged, &dest).is_ok() {
        return Ok(());
    }
    // Staging on another file system: copy beside the destination, then
    // rename, so the destination is still replaced atomically.
    let mode = lock::parse_mode(&file.record.mode).unwrap_or(0o644);
    crate::fsx::copy_atomic(&file.staged, &dest, mode)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot install {}", dest.display()))
}
