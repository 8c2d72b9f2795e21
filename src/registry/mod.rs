//! The remote cache: a repository on an OCI registry (GHCR, Harbor, ECR,
//! Artifactory, Zot, CNCF distribution) as the second tier of the
//! download cache ([`crate::cache`]), shared by every machine that names
//! it, and the transport of air-gapped installs.
//!
//! Configured by `VENDOR_CACHE_REMOTE=oci://host[:port]/name` or by
//! `cache: {remote: oci://…}` in `vendor.yaml`; the environment wins, and
//! `VENDOR_CACHE_REMOTE=off` turns a configured remote off. The registry
//! is spoken to over https, or plain http when the host is loopback (the
//! rule of every request, [`crate::fetch`]).
//!
//! How it is used, all through [`crate::cache::Cache`] so that every path
//! that downloads (apply, `--locked`/`--frozen`, repairs, `fetch`, `mirror
//! push`) behaves alike:
//!
//! - a download whose sha256 is known (from the lock, a checksum file,
//!   GitHub's digest, the manifest) and that is not in the local cache is
//!   first asked of the registry by that digest ([`Remote::fetch`]); a hit
//!   is streamed from there into the local cache, a miss goes upstream;
//! - after the verification gate ([`crate::gate::admit`]) admitted an
//!   item's artifacts, those the registry does not hold yet are uploaded,
//!   with a manifest for the item version ([`layout`]) ([`Remote::push`]).
//!
//! Trust never comes from the registry: it is a byte source like a
//! mirror. What it serves is checked against the sha256 the plan or the
//! lock expects (bytes that differ are refused, naming the registry, and
//! never kept) and then passes the same gate as an upstream download,
//! signatures included. Annotations are informational only.
//!
//! Failures: a registry that cannot be reached, times out or answers
//! errors is reported once ([`Remote::notes`]) and the run goes on from
//! upstream (offline: the missing artifact is an error that names the
//! registry's failure). Uploads that fail are warnings, never the
//! failure of an apply. Credentials: [`auth`].

pub mod auth;
pub mod client;
pub mod layout;

use std::collections::HashSet;
use std::sync::Mutex;

use futures_util::StreamExt;
use miette::{IntoDiagnostic, Result, WrapErr, miette};
use reqwest::Url;

use crate::cache::Cache;
use crate::gate::{Download, Verified};
use crate::resolve::Pending;

/// The environment variable naming the remote cache.
pub const ENV: &str = "VENDOR_CACHE_REMOTE";

/// Uploads at once.
const PUSHES: usize = 4;
/// Largest evidence blob read (signatures and a signed checksum file).
const MAX_EVIDENCE: u64 = 16 << 20;

/// A configured remote cache.
pub struct Remote {
    repo: client::Repository,
    /// The run may not reach upstream: notes say so.
    offline: bool,
    state: Mutex<State>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.repo.shown)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// sha256 digests the registry is known to hold.
    known: HashSet<String>,
    /// Why the registry is not used any more in this run.
    down: Option<String>,
    /// Uploads stopped after the first failure.
    push_failed: bool,
    notes: Vec<String>,
    stats: Stats,
}

/// What a run did with the registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Artifacts downloaded from the registry.
    pub served: usize,
    /// Blobs uploaded.
    pub pushed: usize,
    /// Blobs that were already there.
    pub present: usize,
    /// Manifests written.
    pub manifests: usize,
    /// Uploads (blobs or manifests) that failed.
    pub failures: usize,
}

/// A parsed `oci://host[:port]/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `http(s)://host[:port]`.
    pub base: Url,
    /// `host[:port]`, as credentials are keyed.
    pub host: String,
    pub name: String,
}

impl Reference {
    pub fn shown(&self) -> String {
        format!("oci://{}/{}", self.host, self.name)
    }
}

/// Parses a remote cache URL: `oci://host[:port]/name`, the name in the
/// distribution spec's grammar (lowercase path components separated by
/// `/`), nothing else (no user, query, fragment, tag or digest).
pub fn parse(text: &str) -> Result<Reference, String> {
    let rest = text
        .strip_prefix("oci://")
        .ok_or("expected oci://host[:port]/name")?;
    let (host, name) = rest
        .split_once('/')
        .ok_or("expected oci://host[:port]/name: the repository name is missing")?;
    if host.is_empty() || host.contains(['@', '?', '#']) {
        return Err("the host is missing or holds `@`, `?` or `#`".into());
    }
    let component =
        regex::Regex::new(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$").map_err(|e| e.to_string())?;
    if name.is_empty() || name.len() > 255 || !name.split('/').all(|c| component.is_match(c)) {
        return Err(format!(
            "`{name}` is not a repository name (lowercase letters, digits and `.`, `_`, `-` \
             inside components separated by `/`)"
        ));
    }
    let probe = Url::parse(&format!("http://{host}/"))
        .map_err(|e| format!("`{host}` is not a host[:port]: {e}"))?;
    let scheme = if crate::fetch::is_loopback(&probe) {
        "http"
    } else {
        "https"
    };
    let base = Url::parse(&format!("{scheme}://{host}/"))
        .map_err(|e| format!("`{host}` is not a host[:port]: {e}"))?;
    Ok(Reference {
        base,
        host: host.to_ascii_lowercase(),
        name: name.to_owned(),
    })
}

impl Remote {
    /// The remote cache the environment (or else `setting`, from
    /// vendor.yaml) names, if any. `offline`: the run never reaches
    /// upstream.
    pub fn configured(setting: Option<&str>, offline: bool) -> Result<Option<Remote>> {
        let env = std::env::var(ENV).ok().map(|v| v.trim().to_owned());
        let (text, from) = match env.as_deref() {
            Some("off" | "none" | "0") => return Ok(None),
            Some(v) if !v.is_empty() => (v.to_owned(), ENV.to_owned()),
            _ => match setting {
                Some(s) => (s.to_owned(), "cache.remote in vendor.yaml".to_owned()),
                None => return Ok(None),
            },
        };
        let reference = parse(&text).map_err(|reason| {
            miette!(
                code = "vendor::registry::config",
                help = "e.g. VENDOR_CACHE_REMOTE=oci://registry.example/org/vendor-cache (plain \
                        http only to a loopback host)",
                "{from}: `{}` is not a remote cache: {reason}",
                crate::fetch::redact_str(&text)
            )
        })?;
        let creds = auth::lookup(&reference.host).map_err(|e| {
            miette!(
                code = "vendor::registry::credentials",
                "cannot read the credentials for {}: {e}",
                reference.shown()
            )
        })?;
        // The registry's own client: never offline (it is the offline
        // source), no mirrors, no GitHub token, no HTTP cache.
        let mut config = crate::fetch::Config::from_env(false, false)?;
        config.token = None;
        config.mirrors.clear();
        config.offline = false;
        config.http_cache = None;
        let http = crate::fetch::Client::new(config)?;
        let shown = reference.shown();
        Ok(Some(Remote {
            repo: client::Repository::new(http, reference.base, reference.name, shown, creds),
            offline,
            state: Mutex::default(),
        }))
    }

    /// `oci://host[:port]/name`.
    pub fn shown(&self) -> &str {
        &self.repo.shown
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Warnings for the user (each once), taken.
    pub fn notes(&self) -> Vec<String> {
        std::mem::take(&mut self.state().notes)
    }

    pub fn stats(&self) -> Stats {
        self.state().stats
    }

    /// Why the registry is not in use, when it is not.
    pub fn unavailable(&self) -> Option<String> {
        self.state().down.clone()
    }

    fn mark_down(&self, reason: String) {
        let mut state = self.state();
        if state.down.is_some() {
            return;
        }
        let then = if self.offline {
            ""
        } else {
            "; downloading from upstream instead"
        };
        state.notes.push(format!(
            "warning: the remote cache {} is not usable ({reason}){then}",
            self.repo.shown
        ));
        state.down = Some(reason);
    }

    async fn usable(&self) -> bool {
        if self.state().down.is_some() {
            return false;
        }
        match self.repo.ready().await {
            Ok(()) => true,
            Err(reason) => {
                self.mark_down(reason);
                false
            }
        }
    }

    /// The artifact `p` (whose sha256 is `expected`) from the registry,
    /// into the local cache: `None` on a miss, or when the registry is not
    /// usable (noted). Bytes other than expected are an error naming the
    /// registry, and are not kept.
    pub async fn fetch(
        &self,
        cache: &Cache,
        p: &Pending,
        expected: &str,
    ) -> Result<Option<Download>> {
        if !self.usable().await {
            return Ok(None);
        }
        let tmp = cache.temp_file().into_diagnostic().wrap_err_with(|| {
            format!("cannot create a download file in {}", cache.dir().display())
        })?;
        let got = match self.repo.get_blob(expected, &tmp, p.size, &p.name).await {
            Ok(Some(got)) => got,
            Ok(None) => return Ok(None),
            Err(client::BlobFailure::WrongSize {
                expected: e,
                actual,
            }) => {
                return Err(self.wrong_bytes(
                    p,
                    expected,
                    &format!("{actual} bytes instead of {e}"),
                ));
            }
            Err(client::BlobFailure::Other(e)) => {
                self.mark_down(format!("{e}"));
                return Ok(None);
            }
        };
        if got.sha256 != expected || p.size.is_some_and(|s| s != got.size) {
            return Err(self.wrong_bytes(p, expected, &format!("sha256 {}", got.sha256)));
        }
        let path = cache
            .insert(tmp, &got.sha256)
            .into_diagnostic()
            .wrap_err("cannot store the download in the cache")?;
        let mut state = self.state();
        state.known.insert(got.sha256.clone());
        state.stats.served += 1;
        Ok(Some(Download {
            path,
            sha256: got.sha256,
            size: got.size,
            checked: Vec::new(),
        }))
    }

    fn wrong_bytes(&self, p: &Pending, expected: &str, got: &str) -> miette::Report {
        miette!(
            code = "vendor::verify::remote-mismatch",
            help = format!(
                "nothing was installed. The registry holds other bytes under this digest: its \
                 storage was altered or damaged. Delete the blob from {} (or set \
                 VENDOR_CACHE_REMOTE=off) and run again",
                self.repo.shown
            ),
            "the remote cache {} served wrong bytes for {} ({}): expected sha256 {expected}, got {got}",
            self.repo.shown,
            p.name,
            p.url
        )
    }

    /// Uploads what the gate admitted and the registry lacks, then a
    /// manifest per item version whose blobs are all there. Failures are
    /// noted (the first one), never returned: the registry is a cache.
    pub async fn push(&self, items: &[(&str, &str, &[Verified])]) {
        if items.iter().all(|(_, _, v)| v.is_empty()) || !self.usable().await {
            return;
        }
        let mut seen = HashSet::new();
        let blobs: Vec<&Verified> = items
            .iter()
            .flat_map(|(_, _, v)| v.iter())
            .filter(|v| {
                let sha = &v.artifact().sha256;
                !self.state().known.contains(sha) && seen.insert(sha.clone())
            })
            .collect();
        let results: Vec<(String, Result<bool>)> = futures_util::stream::iter(blobs)
            .map(|v| async move {
                let a = v.artifact();
                let r = self.repo.push_blob(v.path(), &a.sha256, a.size).await;
                (
                    a.sha256.clone(),
                    r.wrap_err_with(|| format!("uploading {}", a.name)),
                )
            })
            .buffer_unordered(PUSHES)
            .collect()
            .await;
        for (sha, r) in results {
            match r {
                Ok(uploaded) => {
                    let mut state = self.state();
                    state.known.insert(sha);
                    if uploaded {
                        state.stats.pushed += 1;
                    } else {
                        state.stats.present += 1;
                    }
                }
                Err(e) => self.push_failed(e),
            }
        }
        let complete: Vec<&(&str, &str, &[Verified])> = items
            .iter()
            .filter(|(_, _, v)| {
                !v.is_empty() && {
                    let state = self.state();
                    v.iter().all(|v| state.known.contains(&v.artifact().sha256))
                }
            })
            .collect();
        if complete.is_empty() {
            return;
        }
        if let Err(e) = self.repo.push_bytes(layout::EMPTY.to_vec()).await {
            self.push_failed(e.wrap_err("uploading the empty config"));
            return;
        }
        for (id, version, verified) in complete {
            let artifacts: Vec<crate::lock::Artifact> =
                verified.iter().map(|v| v.artifact().clone()).collect();
            let tag = layout::tag(id, version, &artifacts);
            let result = async {
                if self.repo.has_manifest(&tag).await? {
                    return Ok(false);
                }
                // Signatures travel with the artifacts, for reinstalls on
                // machines that never saw upstream.
                let mut evidence = Vec::new();
                for v in verified.iter().filter(|v| !v.evidence().is_empty()) {
                    let bytes = serde_json::to_vec(v.evidence()).into_diagnostic()?;
                    evidence.push(layout::EvidenceBlob {
                        of: v.artifact().sha256.clone(),
                        digest: crate::hash::sha256_hex(&bytes),
                        size: bytes.len() as u64,
                    });
                    self.repo.push_bytes(bytes).await?;
                }
                let bytes = layout::manifest(id, version, &artifacts, &evidence);
                self.repo.put_manifest(&tag, bytes).await.map(|()| true)
            }
            .await;
            match result {
                Ok(written) => self.state().stats.manifests += usize::from(written),
                Err(e) => self.push_failed(e.wrap_err(format!("the manifest of {id} {version}"))),
            }
        }
    }

    /// The evidence (signatures, signed checksum file) pushed with the
    /// artifact `sha256` of item `id` at `version`, whose locked artifacts
    /// are `artifacts`: found through the tag the lock gives. `None` when
    /// the registry has none or is not usable. Checked by the gate like
    /// evidence from anywhere else.
    pub async fn evidence(
        &self,
        id: &str,
        version: &str,
        artifacts: &[crate::lock::Artifact],
        sha256: &str,
    ) -> Option<crate::gate::Evidence> {
        if !self.usable().await {
            return None;
        }
        let tag = layout::tag(id, version, artifacts);
        let manifest = match self.repo.find_manifest(&tag).await {
            Ok(m) => m?,
            Err(e) => {
                self.mark_down(chain(&e));
                return None;
            }
        };
        let (digest, size) = layout::evidence_of(&manifest, sha256)?;
        if size > MAX_EVIDENCE {
            return None;
        }
        let bytes = self.repo.get_small(&digest, MAX_EVIDENCE).await.ok()??;
        if crate::hash::sha256_hex(&bytes) != digest {
            return None;
        }
        serde_json::from_slice(&bytes).ok()
    }

    fn push_failed(&self, e: miette::Report) {
        let mut state = self.state();
        state.stats.failures += 1;
        if !state.push_failed {
            state.push_failed = true;
            state.notes.push(format!(
                "warning: could not fill the remote cache {}: {}",
                self.repo.shown,
                chain(&e)
            ));
        }
    }

    /// Every item version the registry holds, sorted by item and version.
    pub async fn list(&self) -> Result<Vec<layout::Listed>> {
        if let Err(reason) = self.repo.ready().await {
            return Err(miette!(
                code = "vendor::registry::unavailable",
                "the remote cache {} is not usable: {reason}",
                self.repo.shown
            ));
        }
        let tags = self.repo.tags().await?;
        let found: Vec<Result<Option<layout::Listed>>> = futures_util::stream::iter(tags)
            .map(|tag| async move {
                let bytes = self.repo.get_manifest(&tag).await?;
                Ok(layout::parse(&tag, &bytes))
            })
            .buffered(8)
            .collect()
            .await;
        let mut listed = Vec::new();
        for f in found {
            if let Some(l) = f? {
                listed.push(l);
            }
        }
        listed.sort_by(|a, b| (&a.item, &a.version, &a.tag).cmp(&(&b.item, &b.version, &b.tag)));
        Ok(listed)
    }
}

/// A report and its causes on one line.
fn chain(e: &miette::Report) -> String {
    e.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_parse_and_plain_http_is_only_for_loopback() {
        let r = parse("oci://127.0.0.1:5000/org/vendor-cache").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.base.as_str(), "http://127.0.0.1:5000/");
        assert_eq!(r.name, "org/vendor-cache");
        assert_eq!(r.host, "127.0.0.1:5000");
        let r = parse("oci://registry.example/cache").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.base.as_str(), "https://registry.example/");
        for bad in [
            "https://registry.example/cache",
            "oci://registry.example",
            "oci://registry.example/",
            "oci://registry.example/Upper",
            "oci://user:pw@registry.example/cache",
            "oci://registry.example/cache:tag",
            "oci://registry.example/a//b",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
