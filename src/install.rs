//! Getting verified bytes into the tree, in two phases.
//!
//! *Stage*: download every artifact into the cache (streamed, hashed,
//! verified before it is kept), then extract or copy each install into a
//! staging directory beside the tree. Any failure here leaves the tree
//! untouched: the staging directory is simply dropped.
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
use crate::fetch::Client;
use crate::gate::{Download, Verified};
use crate::lock::{self, InstalledFile};
use crate::manifest::model::{Extract, Item, Source, parse_size};
use crate::manifest::validate::archive_format_of;
use crate::plan::{AssetInstance, asset_instances, item_vars};
use crate::resolve::Pending;

/// Downloads running at once.
const CONCURRENCY: usize = 8;

/// Brings every pending artifact into the cache and returns the bytes in
/// the same order, not yet trusted: [`crate::gate::admit`] decides.
/// Cached artifacts are used without a download; with no client (offline)
/// a cache miss is an error.
pub async fn fetch_all(
    client: Option<&Client>,
    cache: &Cache,
    pending: &[Pending],
) -> Result<Vec<Download>> {
    let results: Vec<(usize, Result<Download>)> =
        futures_util::stream::iter(pending.iter().enumerate())
            .map(|(i, p)| async move { (i, fetch_one(client, cache, p).await) })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
    let mut ordered: Vec<Option<Download>> = (0..results.len()).map(|_| None).collect();
    for (i, r) in results {
        ordered[i] = Some(r?);
    }
    Ok(ordered.into_iter().flatten().collect())
}

async fn fetch_one(client: Option<&Client>, cache: &Cache, p: &Pending) -> Result<Download> {
    if let Some(expected) = &p.sha256
        && let Some(path) = cache.get(expected)
    {
        let size = std::fs::metadata(&path)
            .map(|m| m.len())
            .unwrap_or_default();
        return Ok(Download {
            path,
            sha256: expected.clone(),
            size,
        });
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
    let tmp = cache
        .temp_file()
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create a download file in {}", cache.dir().display()))?;
    let got = client
        .download_file(&p.url, &tmp, p.size, p.allow_http, &p.name)
        .await?;
    // Bytes that fail the hash never enter the cache.
    crate::gate::check_digest(p, &got.sha256, got.size)?;
    let path = cache
        .insert(tmp, &got.sha256)
        .into_diagnostic()
        .wrap_err("cannot store the download in the cache")?;
    Ok(Download {
        path,
        sha256: got.sha256,
        size: got.size,
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

/// Extracts or copies each asset instance of `item` into `stage` (a
/// directory of its own). `fetched` holds the item's artifacts, each
/// through the verification gate.
pub fn stage_item(
    id: &str,
    item: &Item,
    fetched: &[Verified],
    stage: &Path,
) -> Result<Vec<StagedFile>> {
    let vars = item_vars(id, item);
    let instances = asset_instances(&vars, item);
    let mut jobs = Vec::new();
    for (n, inst) in instances.iter().enumerate() {
        let name = instance_name(item, inst).unwrap_or_default();
        let platform = inst.platform.map(str::to_owned);
        let Some(f) = fetched
            .iter()
            .find(|f| f.artifact().name == name && f.artifact().platform == platform)
        else {
            return Err(miette!(
                code = "vendor::install::artifact-missing",
                help = "run `vendor apply` without --locked to resolve the item again",
                "{id}: no locked artifact `{name}`{} to install",
                platform.map(|p| format!(" for {p}")).unwrap_or_default()
            ));
        };
        jobs.push((n, inst, f));
    }
    // Extraction is CPU-bound (decompression and hashing): spread the
    // assets over the cores, keeping their order in the result.
    let stage_one =
        |&(n, inst, f): &(usize, &AssetInstance<'_>, &Verified)| -> Result<Vec<StagedFile>> {
            let dir = stage.join(format!("{n}"));
            std::fs::create_dir_all(&dir)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot create {}", dir.display()))?;
            let source = named_source(f, &stage.join(format!("{n}.src")))?;
            stage_instance(inst, f, &source, &dir)
                .wrap_err_with(|| format!("{id}: cannot install {}", f.artifact().name))
        };
    let results = crate::par::map(&jobs, stage_one);
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
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

fn stage_instance(
    inst: &AssetInstance<'_>,
    f: &Verified,
    source: &Path,
    dir: &Path,
) -> Result<Vec<StagedFile>> {
    let install = inst
        .vars
        .expand(&inst.asset.install)
        .map_err(|n| miette!("unknown placeholder `{{{n}}}` in `install`"))?;
    let mode_override = inst.asset.mode.as_deref().and_then(lock::parse_mode);
    let Some(extract) = &inst.asset.extract else {
        let staged = dir.join("file");
        std::fs::copy(f.path(), &staged)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot stage {}", f.artifact().name))?;
        let mode = mode_override.unwrap_or(0o644);
        return Ok(vec![finish(
            staged,
            install,
            mode,
            f.artifact().sha256.clone(),
            f.artifact().name.clone(),
        )?]);
    };
    let format = extract
        .format
        .or_else(|| archive_format_of(&f.artifact().name))
        .ok_or_else(|| {
            miette!(
                "cannot tell the archive format of {}; set `extract.format`",
                f.artifact().name
            )
        })?;
    let limits = extraction_limits(extract)?;
    let member = inst
        .vars
        .expand(&extract.member)
        .map_err(|n| miette!("unknown placeholder `{{{n}}}` in `extract.member`"))?;
    if matches!(
        format,
        crate::manifest::model::ArchiveFormat::Gz | crate::manifest::model::ArchiveFormat::Xz
    ) {
        let staged = dir.join("file");
        let e = archive::decompress(source, format, &staged, &limits)?;
        let mode = mode_override.unwrap_or(0o644);
        return Ok(vec![finish(
            staged,
            install,
            mode,
            e.sha256,
            f.artifact().name.clone(),
        )?]);
    }
    let is_glob = archive::is_glob(&member);
    let extracted = archive::extract(
        source,
        format,
        &member,
        extract.strip_components,
        dir,
        &limits,
    )?;
    extracted
        .into_iter()
        .map(|e| {
            let dest = if is_glob {
                let rel = e.path.strip_prefix(dir).unwrap_or(&e.path);
                format!(
                    "{}/{}",
                    install.trim_end_matches('/'),
                    rel.to_string_lossy()
                )
            } else {
                install.clone()
            };
            // The archive's bits minus group and world write, unless the
            // manifest sets `mode`.
            let mode = mode_override.unwrap_or(e.mode);
            finish(
                e.path,
                dest,
                mode,
                e.sha256,
                format!("{}!{}", f.artifact().name, e.member),
            )
        })
        .collect()
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

/// Moves a staged file to its destination under `root` by rename (a copy
/// then rename when staging is on another file system). The data is on
/// disk before the rename; the caller syncs the directories
/// ([`crate::fsx::sync_dir`]) before it writes the lock.
pub fn commit_file(root: &Path, file: &StagedFile) -> Result<()> {
    let dest = root.join(&file.record.path);
    let parent = dest.parent().unwrap_or(root);
    std::fs::create_dir_all(parent)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create {}", parent.display()))?;
    crate::fsx::sync_file(&file.staged)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot flush {}", file.staged.display()))?;
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
