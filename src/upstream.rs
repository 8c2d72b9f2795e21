//! `check --upstream`: asks upstream again about what the lock recorded
//! and reports what moved under a version that should never move: a tag
//! pointing to another commit, an asset replaced under the same tag (new
//! digest or size), an asset or a whole release that disappeared, a
//! release that was locked immutable and no longer is, and, for items
//! verified with `verify.attestation`, an attestation that is no longer
//! published (its bundle asset or file gone, or the attestations API
//! answering none for the locked sha256).
//!
//! Metadata is enough for GitHub releases that publish digests and for
//! files at a locked commit (a commit's content cannot change). Only
//! artifacts with nothing else to compare (plain URLs, release assets
//! without a digest) are downloaded, into a scratch file, and hashed.

use std::path::Path;

use miette::{IntoDiagnostic, Result};

use crate::fetch::{Client, FetchError};
use crate::lock::{Artifact, LockedItem};
use crate::manifest::model::{Item, Source};
use crate::plan::{Drift, UpstreamChange};
use crate::source::github::{self, GithubError};
use crate::trust::Upstream;

fn drift(change: UpstreamChange, subject: &str, found: String, expected: String) -> Drift {
    Drift::UpstreamChanged {
        change,
        subject: subject.to_owned(),
        found,
        expected,
    }
}

/// Re-reads upstream for the locked entry of `item`. `scratch` is a
/// directory for the downloads that cannot be avoided.
pub async fn recheck(
    client: &Client,
    id: &str,
    item: &Item,
    locked: &LockedItem,
    scratch: &Path,
) -> Result<Vec<Drift>> {
    let tag = locked
        .resolved
        .as_ref()
        .and_then(|r| r.tag.clone())
        .unwrap_or_else(|| locked.version.clone());
    let commit = locked.resolved.as_ref().and_then(|r| r.commit.as_deref());
    let mut out = Vec::new();
    match &item.source {
        Source::GithubRelease { repo, .. } => {
            // Independent questions: both at once (one round trip).
            let (release, now) = tokio::join!(
                github::release_by_tag(client, repo, &tag),
                github::tag_commit(client, repo, &tag)
            );
            let release = match release {
                Ok(r) => r,
                Err(GithubError::ReleaseNotFound { .. }) => {
                    out.push(drift(
                        UpstreamChange::ReleaseMissing,
                        &format!("release {tag} of {repo}"),
                        "no such release".into(),
                        "the locked release".into(),
                    ));
                    return Ok(out);
                }
                Err(e) => return Err(e.into()),
            };
            out.extend(ref_moved(now, repo, "tag", &tag, commit)?);
            let was_immutable = locked.resolved.as_ref().and_then(|r| r.immutable);
            if was_immutable == Some(true) && release.immutable != Some(true) {
                out.push(drift(
                    UpstreamChange::ImmutabilityLost,
                    &format!("release {tag} of {repo}"),
                    match release.immutable {
                        Some(_) => "immutable: false".into(),
                        None => "no immutable flag".into(),
                    },
                    "immutable: true".into(),
                ));
            }
            let upstream = Upstream::Release {
                repo,
                tag: &tag,
                release: &release,
            };
            out.extend(attestations_gone(client, &upstream, id, item, locked).await?);
            for a in &locked.artifacts {
                let Some(asset) = release.asset(&a.name) else {
                    out.push(drift(
                        UpstreamChange::AssetMissing,
                        &a.name,
                        format!("release {tag} no longer has it"),
                        format!("sha256 {}", a.sha256),
                    ));
                    continue;
                };
                let subject = format!("{} (tag {tag})", a.name);
                match asset.sha256() {
                    Some(digest) if digest != a.sha256 => out.push(drift(
                        UpstreamChange::AssetChanged,
                        &subject,
                        format!("sha256 {digest}"),
                        format!("sha256 {}", a.sha256),
                    )),
                    _ if asset.size != a.size => out.push(drift(
                        UpstreamChange::AssetChanged,
                        &subject,
                        format!("{} bytes", asset.size),
                        format!("{} bytes", a.size),
                    )),
                    Some(_) => {}
                    // No digest and the same size: only the bytes can tell.
                    None => {
                        out.extend(download_and_compare(client, a, &tag, scratch, false).await?)
                    }
                }
            }
        }
        Source::GithubFiles { repo, .. } => {
            // Files are locked at a commit, whose content cannot change;
            // only the ref can move.
            let now = github::commit_for_ref(client, repo, &tag).await;
            out.extend(ref_moved(now, repo, "ref", &tag, commit)?);
            if let Some(commit) = commit {
                let upstream = Upstream::Files { repo, commit };
                out.extend(attestations_gone(client, &upstream, id, item, locked).await?);
            }
        }
        Source::Url { allow_http } => {
            for a in &locked.artifacts {
                out.extend(download_and_compare(client, a, &tag, scratch, *allow_http).await?);
            }
            let upstream = Upstream::Urls {
                allow_http: *allow_http,
            };
            out.extend(attestations_gone(client, &upstream, id, item, locked).await?);
        }
        Source::AptSnapshot {
            url: Some(base), ..
        } => {
            let url = format!("{}/{}/", base.trim_end_matches('/'), locked.version);
            match client.get_small(&url, 16 << 20, false).await {
                Ok(_) => {}
                Err(FetchError::NotFound { .. }) => out.push(drift(
                    UpstreamChange::ReleaseMissing,
                    &format!("snapshot {}", locked.version),
                    format!("{url} is not found"),
                    "the locked snapshot".into(),
                )),
                Err(e) => return Err(e.into()),
            }
        }
        Source::AptSnapshot { url: None, .. } | Source::AptPackage { .. } | Source::Manual => {}
    }
    Ok(out)
}

/// The locked artifacts whose attestation is no longer published.
async fn attestations_gone(
    client: &Client,
    upstream: &Upstream<'_>,
    id: &str,
    item: &Item,
    locked: &LockedItem,
) -> Result<Vec<Drift>> {
    let mut out = Vec::new();
    for a in &locked.artifacts {
        if let Some(missing) = crate::attest::gone_upstream(client, upstream, id, item, a).await? {
            out.push(drift(
                UpstreamChange::AttestationMissing,
                &a.name,
                missing,
                "an attestation".into(),
            ));
        }
    }
    Ok(out)
}

/// The drift, if any, of a tag or ref (`what`) whose commit upstream is
/// `now`: it points to another commit than `locked`, or no longer exists.
fn ref_moved(
    now: Result<String, GithubError>,
    repo: &str,
    what: &str,
    name: &str,
    locked: Option<&str>,
) -> Result<Option<Drift>> {
    let expected = locked.map_or_else(|| format!("the locked {what}"), |c| format!("commit {c}"));
    match now {
        Ok(now) if locked.is_some_and(|l| l != now) => Ok(Some(drift(
            UpstreamChange::Retagged,
            &format!("{name} of {repo}"),
            format!("commit {now}"),
            expected,
        ))),
        Ok(_) => Ok(None),
        Err(GithubError::RefNotFound { .. }) => Ok(Some(drift(
            UpstreamChange::ReleaseMissing,
            &format!("{what} {name} of {repo}"),
            format!("no such {what}"),
            expected,
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Downloads a locked artifact into `scratch` and compares its hash and
/// size with the lock's.
async fn download_and_compare(
    client: &Client,
    a: &Artifact,
    tag: &str,
    scratch: &Path,
    allow_http: bool,
) -> Result<Option<Drift>> {
    let tmp = tempfile::NamedTempFile::new_in(scratch).into_diagnostic()?;
    let got = match client
        .download_file(&a.url, tmp.path(), None, allow_http, &a.name)
        .await
    {
        Ok(got) => got,
        Err(FetchError::NotFound { .. }) => {
            return Ok(Some(drift(
                UpstreamChange::AssetMissing,
                &a.name,
                format!("{} is not found", a.url),
                format!("sha256 {}", a.sha256),
            )));
        }
        Err(e) => return Err(e.into()),
    };
    Ok((got.sha256 != a.sha256 || got.size != a.size).then(|| {
        drift(
            UpstreamChange::AssetChanged,
            &format!("{} (tag {tag})", a.name),
            format!("sha256 {}, {} bytes", got.sha256, got.size),
            format!("sha256 {}, {} bytes", a.sha256, a.size),
        )
    }))
}
