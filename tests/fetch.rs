//! The HTTP client and the GitHub source against the fake GitHub server:
//! JSON shapes, pagination, streamed downloads checked with `sha256sum`,
//! retries, rate limits, timeouts, the http:// and offline rules, mirrors,
//! and where the token goes (and where it never appears).
#![allow(clippy::unwrap_used)]

#[path = "support/fake_github.rs"]
mod fake_github;
mod support;

use std::future::Future;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fake_github::{FakeAsset, FakeGithub, FakeRelease, Fault, sha256_hex};
use miette::Diagnostic;
use vendor::fetch::{Client, Config, FetchError};
use vendor::source::github::{self, GithubError, RawUrl};

use support::Tree;

const TOKEN: &str = "ghp_secret123";
const REPO: &str = "traefik/traefik";

fn config(fake: &FakeGithub) -> Config {
    Config {
        api_url: fake.api_url(),
        // Short but not flaky: tests that want a timeout set their own.
        read_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        ..Config::default()
    }
}

fn client_with(fake: &FakeGithub, change: impl FnOnce(&mut Config)) -> Client {
    let mut config = config(fake);
    change(&mut config);
    Client::new(config).unwrap()
}

fn client(fake: &FakeGithub) -> Client {
    client_with(fake, |_| {})
}

fn code(diagnostic: &dyn Diagnostic) -> String {
    diagnostic.code().map(|c| c.to_string()).unwrap_or_default()
}

fn help(diagnostic: &dyn Diagnostic) -> String {
    diagnostic.help().map(|c| c.to_string()).unwrap_or_default()
}

/// Deterministic, incompressible-looking bytes.
fn payload(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

fn traefik(fake: &FakeGithub) {
    for tag in ["v3.3.3", "v3.3.4", "v3.3.5"] {
        fake.release(
            REPO,
            FakeRelease::new(tag)
                .asset(&format!("traefik_{tag}_linux_amd64.tar.gz"), payload(1000))
                .asset(&format!("traefik_{tag}_checksums.txt"), b"x".to_vec()),
        );
    }
}

#[tokio::test]
async fn release_by_tag_follows_githubs_shape() {
    let fake = FakeGithub::start();
    let bytes = payload(4096);
    fake.release(
        REPO,
        FakeRelease::new("v3.3.4")
            .body("## Changelog\n- fixes")
            .asset("traefik_v3.3.4_linux_amd64.tar.gz", bytes.clone())
            .with_asset(FakeAsset::new("old.tar.gz", b"old".to_vec()).without_digest()),
    );
    let release = github::release_by_tag(&client(&fake), REPO, "v3.3.4")
        .await
        .unwrap();
    assert_eq!(release.tag_name, "v3.3.4");
    assert!(!release.draft && !release.prerelease);
    assert_eq!(release.body.as_deref(), Some("## Changelog\n- fixes"));
    assert!(release.published_at.is_some());
    let asset = release.asset("traefik_v3.3.4_linux_amd64.tar.gz").unwrap();
    assert_eq!(asset.size, 4096);
    assert_eq!(asset.sha256(), Some(sha256_hex(&bytes)));
    assert_eq!(
        asset.browser_download_url,
        fake.download_url(REPO, "v3.3.4", "traefik_v3.3.4_linux_amd64.tar.gz")
    );
    assert!(
        asset
            .url
            .contains("/api/v3/repos/traefik/traefik/releases/assets/")
    );
    assert_eq!(release.asset("old.tar.gz").unwrap().sha256(), None);
}

#[tokio::test]
async fn tags_with_plus_are_encoded() {
    let fake = FakeGithub::start();
    fake.release(
        "k3s-io/k3s",
        FakeRelease::new("v1.30.4+k3s1").asset("k3s", b"elf".to_vec()),
    );
    let release = github::release_by_tag(&client(&fake), "k3s-io/k3s", "v1.30.4+k3s1")
        .await
        .unwrap();
    assert_eq!(release.assets[0].name, "k3s");
    let paths: Vec<_> = fake.requests().into_iter().map(|r| r.path).collect();
    assert!(paths.contains(&"/api/v3/repos/k3s-io/k3s/releases/tags/v1.30.4+k3s1".to_owned()));
}

#[tokio::test]
async fn missing_release_suggests_the_nearest_tags() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let err = github::release_by_tag(&client(&fake), REPO, "v3.3.6")
        .await
        .unwrap_err();
    match &err {
        GithubError::ReleaseNotFound { nearest, tag, .. } => {
            assert_eq!(tag, "v3.3.6");
            assert_eq!(nearest, &["v3.3.5", "v3.3.4", "v3.3.3"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(code(&err), "vendor::github::release-not-found");
    assert!(
        help(&err).starts_with("did you mean `v3.3.5`?"),
        "{}",
        help(&err)
    );
    assert_eq!(
        err.to_string(),
        "traefik/traefik has no release tagged `v3.3.6`"
    );
}

#[tokio::test]
async fn draft_releases_are_not_found_by_tag() {
    let fake = FakeGithub::start();
    fake.release(REPO, FakeRelease::new("v4.0.0").draft());
    let err = github::release_by_tag(&client(&fake), REPO, "v4.0.0")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GithubError::ReleaseNotFound { .. }),
        "{err:?}"
    );
    // Listing shows drafts (as to a token with push access).
    let all = github::releases(&client(&fake), REPO).await.unwrap();
    assert!(all[0].draft && all[0].published_at.is_none());
}

#[tokio::test]
async fn unknown_repository_is_a_plain_not_found() {
    let fake = FakeGithub::start();
    let err = github::release_by_tag(&client(&fake), "nobody/nothing", "v1")
        .await
        .unwrap_err();
    match &err {
        GithubError::ReleaseNotFound { nearest, .. } => assert!(nearest.is_empty()),
        other => panic!("{other:?}"),
    }
    assert!(help(&err).contains("repository exists"), "{}", help(&err));
}

#[tokio::test]
async fn releases_and_tags_follow_pagination() {
    let fake = FakeGithub::start();
    for i in 0..150 {
        fake.release(REPO, FakeRelease::new(&format!("v1.0.{i}")));
        fake.tag(REPO, &format!("v1.0.{i}"), &format!("{i:040x}"));
    }
    let c = client(&fake);
    let releases = github::releases(&c, REPO).await.unwrap();
    assert_eq!(releases.len(), 150);
    assert_eq!(releases[0].tag_name, "v1.0.149", "newest first");
    assert_eq!(releases[149].tag_name, "v1.0.0");
    let tags = github::tags(&c, REPO).await.unwrap();
    assert_eq!(tags.len(), 150);
    assert_eq!(tags[0].name, "v1.0.149");
    assert_eq!(tags[0].commit_sha, format!("{:040x}", 149));
    let queries: Vec<String> = fake
        .requests_to("/api/v3/repos/traefik/traefik/releases")
        .into_iter()
        .filter_map(|r| r.query)
        .collect();
    assert_eq!(queries, ["per_page=100", "per_page=100&page=2"]);
    assert_eq!(
        fake.requests_to("/api/v3/repos/traefik/traefik/tags").len(),
        2
    );
}

#[tokio::test]
async fn commits_resolve_and_missing_refs_suggest_tags() {
    let fake = FakeGithub::start();
    let sha = "3f1c2a9d0b8e7f6a5c4d3e2f1a0b9c8d7e6f5a4b";
    fake.tag("raspberrypi/firmware", "1.20240306", sha)
        .tag("raspberrypi/firmware", "1.20240424", &"b".repeat(40))
        .branch("raspberrypi/firmware", "stable", &"c".repeat(40));
    let c = client(&fake);
    let got = github::commit_for_ref(&c, "raspberrypi/firmware", "1.20240306")
        .await
        .unwrap();
    assert_eq!(got, sha);
    let branch = github::commit_for_ref(&c, "raspberrypi/firmware", "stable")
        .await
        .unwrap();
    assert_eq!(branch, "c".repeat(40));
    let requests = fake.requests_to("/api/v3/repos/raspberrypi/firmware/commits/");
    assert_eq!(
        requests[0].accept.as_deref(),
        Some("application/vnd.github.sha")
    );

    let err = github::commit_for_ref(&c, "raspberrypi/firmware", "1.20240307")
        .await
        .unwrap_err();
    match &err {
        GithubError::RefNotFound { nearest, .. } => {
            assert_eq!(nearest.first().map(String::as_str), Some("1.20240306"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(code(&err), "vendor::github::ref-not-found");
}

#[tokio::test]
async fn raw_files_come_through_the_contents_api() {
    let fake = FakeGithub::start();
    let sha = "a".repeat(40);
    let bytes = payload(3000);
    fake.raw_file(
        "raspberrypi/firmware",
        &sha,
        "boot/start4.elf",
        bytes.clone(),
    );
    let c = client(&fake);
    let raw = github::raw_file_url(&c, "raspberrypi/firmware", &sha, "boot/start4.elf");
    assert!(matches!(raw, RawUrl::Api(_)), "{raw:?}");
    assert_eq!(c.api_raw(raw.url(), 1 << 20).await.unwrap(), bytes);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("start4.elf");
    let done = raw.download(&c, &dest, "start4.elf").await.unwrap();
    assert_eq!(done.sha256, sha256sum(&dest));
    assert_eq!(done.size, 3000);
    let log = fake.requests_to("/api/v3/repos/raspberrypi/firmware/contents/boot/start4.elf");
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|r| r.accept.as_deref() == Some("application/vnd.github.raw"))
    );
}

#[tokio::test]
async fn downloads_from_the_api_stay_within_the_api_cap() {
    // More raw files through the contents API than the API may have open
    // at once, all asked together: each download holds an API slot.
    let fake = FakeGithub::start();
    let sha = "b".repeat(40);
    let n = vendor::fetch::MAX_IN_FLIGHT + 16;
    for i in 0..n {
        fake.raw_file("acme/files", &sha, &format!("f{i}"), payload(100));
    }
    fake.latency(Duration::from_millis(100));
    let c = client(&fake);
    let dir = tempfile::tempdir().unwrap();
    let downloads = (0..n).map(|i| {
        let (c, dir, sha) = (&c, dir.path(), &sha);
        async move {
            let raw = github::raw_file_url(c, "acme/files", sha, &format!("f{i}"));
            raw.download(c, &dir.join(format!("f{i}")), "f").await
        }
    });
    fake.reset_max_in_flight();
    for done in futures_util::future::join_all(downloads).await {
        assert_eq!(done.unwrap().size, 100);
    }
    let most = fake.max_in_flight();
    assert!(
        most <= vendor::fetch::MAX_IN_FLIGHT,
        "{most} API requests in flight at once"
    );
}

#[tokio::test]
async fn public_github_raw_files_go_to_raw_githubusercontent_com() {
    let fake = FakeGithub::start();
    let sha = "d".repeat(40);
    fake.raw_file(
        "raspberrypi/firmware",
        &sha,
        "boot/fixup4.dat",
        b"fixup".to_vec(),
    );
    // Public GitHub, with raw.githubusercontent.com mirrored to the fake.
    let c = client_with(&fake, |c| {
        c.api_url = "https://api.github.com".into();
        c.mirrors = vec![("https://raw.githubusercontent.com/".into(), fake.raw_url())];
        c.token = Some(TOKEN.into());
    });
    let raw = github::raw_file_url(&c, "raspberrypi/firmware", &sha, "boot/fixup4.dat");
    assert_eq!(
        raw,
        RawUrl::Download(format!(
            "https://raw.githubusercontent.com/raspberrypi/firmware/{sha}/boot/fixup4.dat"
        ))
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("fixup4.dat");
    raw.download(&c, &dest, "fixup4.dat").await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"fixup");
    let log = fake.requests_to("/raw/");
    assert_eq!(log.len(), 1);
    assert!(!log[0].authorized(), "raw downloads never carry the token");
}

#[tokio::test]
async fn download_streams_to_disk_with_the_sha256_of_sha256sum() {
    let fake = FakeGithub::start();
    let bytes = payload(5 << 20);
    fake.release(
        REPO,
        FakeRelease::new("v3.3.4").asset("big.tar.gz", bytes.clone()),
    );
    // Progress bars on: they draw on stderr (hidden when it is no terminal).
    let c = client_with(&fake, |c| c.progress = true);
    let release = github::release_by_tag(&c, REPO, "v3.3.4").await.unwrap();
    let asset = &release.assets[0];
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("big.tar.gz");
    std::fs::write(&dest, b"stale content that must go").unwrap();
    let done = c
        .download(
            &asset.browser_download_url,
            &dest,
            Some(asset.size),
            false,
            "big",
        )
        .await
        .unwrap();
    assert_eq!(done.size, bytes.len() as u64);
    assert_eq!(done.sha256, sha256sum(&dest));
    assert_eq!(Some(done.sha256), asset.sha256());
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let path = "/api/v3/repos/traefik/traefik/releases/tags/v3.3.4";
    fake.fail_times(path, Fault::Status(500), 1)
        .fail_times(path, Fault::Status(502), 1);
    let release = github::release_by_tag(&client(&fake), REPO, "v3.3.4")
        .await
        .unwrap();
    assert_eq!(release.tag_name, "v3.3.4");
    assert_eq!(fake.requests_to(path).len(), 3);
}

#[tokio::test]
async fn server_errors_give_up_after_the_retries() {
    let fake = FakeGithub::start();
    let url = fake.file("/files/a.bin", b"a".to_vec());
    fake.fail("/files/a.bin", Fault::Status(503));
    let c = client_with(&fake, |c| c.retries = 2);
    let err = c.get_small(&url, 100, false).await.unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(code(&err), "vendor::fetch::status");
    assert_eq!(fake.requests_to("/files/a.bin").len(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let fake = FakeGithub::start();
    let url = fake.file("/files/sums.txt", b"sums".to_vec());
    fake.fail_times(
        "/files/sums.txt",
        Fault::TooManyRequests { retry_after: 1 },
        1,
    );
    let started = Instant::now();
    let body = client(&fake).get_small(&url, 100, false).await.unwrap();
    assert_eq!(body, b"sums");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.requests_to("/files/sums.txt").len(), 2);
}

#[tokio::test]
async fn rate_limits_say_when_they_reset_and_that_a_token_helps() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30 * 60;
    let path = "/api/v3/repos/traefik/traefik/releases/tags/v3.3.4";
    fake.fail(path, Fault::RateLimited { reset });
    let err = github::release_by_tag(&client(&fake), REPO, "v3.3.4")
        .await
        .unwrap_err();
    let GithubError::Fetch(FetchError::RateLimited {
        reset_at,
        authenticated,
        ..
    }) = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*reset_at, Some(reset));
    assert!(!authenticated);
    assert_eq!(code(&err), "vendor::fetch::rate-limited");
    let message = err.to_string();
    assert!(message.contains(&vendor::fetch::utc(reset)), "{message}");
    assert!(message.contains(" UTC (in 30 minutes)"), "{message}");
    assert!(help(&err).contains("GITHUB_TOKEN"), "{}", help(&err));
    assert_eq!(
        fake.requests_to(path).len(),
        1,
        "a rate limit is not retried"
    );

    // With a token, the help no longer asks for one.
    let err = github::release_by_tag(
        &client_with(&fake, |c| c.token = Some(TOKEN.into())),
        REPO,
        "v3.3.4",
    )
    .await
    .unwrap_err();
    assert!(!help(&err).contains("set GITHUB_TOKEN"), "{}", help(&err));
}

#[tokio::test]
async fn truncated_bodies_are_retried_then_reported_with_the_url() {
    let fake = FakeGithub::start();
    let bytes = payload(64 << 10);
    fake.release(
        REPO,
        FakeRelease::new("v3.3.4").asset("t.tar.gz", bytes.clone()),
    );
    let url = fake.download_url(REPO, "v3.3.4", "t.tar.gz");
    let path = "/dl/traefik/traefik/releases/download/v3.3.4/t.tar.gz";
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("t.tar.gz");
    let c = client_with(&fake, |c| c.retries = 2);

    // Once: the retry starts the file over and succeeds. The file held
    // more bytes than the body before; none of them is left.
    std::fs::write(&dest, payload(96 << 10)).unwrap();
    fake.fail_times(path, Fault::Truncated, 1);
    let done = c.download(&url, &dest, None, false, "t").await.unwrap();
    assert_eq!(done.sha256, sha256_hex(&bytes));
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);

    // Always: fails after the retries, naming the URL.
    fake.clear_requests();
    fake.fail(path, Fault::Truncated);
    let err = c.download(&url, &dest, None, false, "t").await.unwrap_err();
    assert!(matches!(err, FetchError::Truncated { .. }), "{err:?}");
    assert_eq!(code(&err), "vendor::fetch::truncated");
    assert!(err.to_string().contains(&url), "{err}");
    assert_eq!(fake.requests_to(path).len(), 3);
}

#[tokio::test]
async fn slow_servers_time_out() {
    let fake = FakeGithub::start();
    let url = fake.file("/files/slow.bin", payload(1000));
    let c = client_with(&fake, |c| {
        c.read_timeout = Duration::from_millis(300);
        c.retries = 1;
    });
    fake.fail("/files/slow.bin", Fault::Slow(Duration::from_secs(3)));
    let started = Instant::now();
    let err = c.get_small(&url, 10_000, false).await.unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
    assert_eq!(code(&err), "vendor::fetch::timeout");
    assert!(err.to_string().contains("0.3 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.requests_to("/files/slow.bin").len(), 2, "retried once");

    // A body that stalls half-way is an idle timeout too.
    let url = fake.file("/files/stall.bin", payload(1000));
    fake.fail("/files/stall.bin", Fault::Stall(Duration::from_secs(3)));
    let dir = tempfile::tempdir().unwrap();
    let err = c
        .download(&url, &dir.path().join("stall.bin"), None, false, "stall")
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn vendor_http_timeout_configures_both_timeouts() {
    let config = Config::from_vars(
        |k| (k == "VENDOR_HTTP_TIMEOUT").then(|| "0.25".to_owned()),
        false,
        false,
    )
    .unwrap();
    assert_eq!(config.read_timeout, Duration::from_millis(250));
    assert_eq!(config.connect_timeout, Duration::from_millis(250));
}

#[tokio::test]
async fn sizes_must_match() {
    let fake = FakeGithub::start();
    fake.release(REPO, FakeRelease::new("v1").asset("a.bin", payload(1000)));
    let url = fake.download_url(REPO, "v1", "a.bin");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.bin");
    let c = client(&fake);
    let err = c
        .download(&url, &dest, Some(999), false, "a")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::SizeMismatch {
                expected: 999,
                actual: 1000,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(code(&err), "vendor::fetch::size-mismatch");
    assert_eq!(fake.requests_to("/dl/").len(), 1, "not retried");

    // Wrong bytes of another length than the release said.
    fake.fail(
        "/dl/traefik/traefik/releases/download/v1/a.bin",
        Fault::WrongBytes(payload(10)),
    );
    let err = c
        .download(&url, &dest, Some(1000), false, "a")
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::SizeMismatch { actual: 10, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_bytes_of_the_right_size_hash_differently() {
    let fake = FakeGithub::start();
    let bytes = payload(100);
    fake.release(REPO, FakeRelease::new("v1").asset("a.bin", bytes.clone()));
    fake.fail(
        "/dl/traefik/traefik/releases/download/v1/a.bin",
        Fault::WrongBytes(payload(200)[100..].to_vec()),
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.bin");
    let done = client(&fake)
        .download(
            &fake.download_url(REPO, "v1", "a.bin"),
            &dest,
            Some(100),
            false,
            "a",
        )
        .await
        .unwrap();
    assert_ne!(
        done.sha256,
        sha256_hex(&bytes),
        "the caller's hash check catches it"
    );
    assert_eq!(done.sha256, sha256sum(&dest));
}

#[tokio::test]
async fn small_bodies_have_a_limit() {
    let fake = FakeGithub::start();
    let url = fake.file("/files/huge.txt", payload(5000));
    let err = client(&fake)
        .get_small(&url, 4096, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 4096, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn plain_http_to_other_hosts_is_refused_before_any_request() {
    let fake = FakeGithub::start();
    let c = client(&fake);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x");
    let err = c
        .download(
            "http://example.invalid/tool.tar.gz",
            &dest,
            None,
            false,
            "x",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Insecure { .. }), "{err:?}");
    assert_eq!(code(&err), "vendor::fetch::insecure");
    assert!(help(&err).contains("allow_http"), "{}", help(&err));
    assert!(!dest.exists());
    let err = c
        .get_small("http://10.1.2.3/sums.txt", 10, false)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Insecure { .. }), "{err:?}");
    let err = c
        .get_small("ftp://example.invalid/x", 10, true)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::InvalidUrl { .. }), "{err:?}");
    // Loopback over http is fine (every other test relies on it), and so is
    // an item that opted in.
    let url = fake.file("/files/ok", b"ok".to_vec());
    assert_eq!(c.get_small(&url, 10, false).await.unwrap(), b"ok");
    let localhost = url.replace("127.0.0.1", "localhost");
    assert_eq!(c.get_small(&localhost, 10, true).await.unwrap(), b"ok");
}

#[tokio::test]
async fn offline_refuses_before_any_io() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let c = client_with(&fake, |c| c.offline = true);
    let err = github::release_by_tag(&c, REPO, "v3.3.4")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GithubError::Fetch(FetchError::Offline { .. })),
        "{err:?}"
    );
    assert_eq!(code(&err), "vendor::fetch::offline");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x");
    let err = c
        .download(
            &fake.download_url(REPO, "v3.3.4", "x"),
            &dest,
            None,
            false,
            "x",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Offline { .. }), "{err:?}");
    assert!(!dest.exists());
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn mirrors_rewrite_urls_onto_the_mirror() {
    let fake = FakeGithub::start();
    fake.release(
        REPO,
        FakeRelease::new("v3.3.4").asset("a.tar.gz", b"mirrored".to_vec()),
    );
    let c = client_with(&fake, |c| {
        c.mirrors = vendor::fetch::parse_mirrors(&fake.mirrors()).unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.tar.gz");
    let upstream = "https://github.com/traefik/traefik/releases/download/v3.3.4/a.tar.gz";
    c.download(upstream, &dest, Some(8), false, "a")
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"mirrored");
    assert_eq!(
        fake.requests_to("/dl/traefik/traefik/releases/download/v3.3.4/a.tar.gz")
            .len(),
        1
    );
    // Errors show where the request went and what it stood for.
    let missing = "https://github.com/traefik/traefik/releases/download/v3.3.4/nope";
    let err = c
        .download(missing, &dest, None, false, "a")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&fake.url()) && text.contains(&format!("mirror of {missing}")),
        "{text}"
    );
}

#[tokio::test]
async fn the_token_goes_to_the_api_only() {
    let fake = FakeGithub::start();
    let bytes = payload(2000);
    fake.release(
        REPO,
        FakeRelease::new("v3.3.4").asset("a.tar.gz", bytes.clone()),
    );
    let sums = fake.file("/files/sums.txt", b"sums".to_vec());
    let c = client_with(&fake, |c| c.token = Some(TOKEN.into()));
    let release = github::release_by_tag(&c, REPO, "v3.3.4").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    c.download(
        &release.assets[0].browser_download_url,
        &dir.path().join("a"),
        None,
        false,
        "a",
    )
    .await
    .unwrap();
    c.get_small(&sums, 100, false).await.unwrap();
    let log = fake.requests();
    assert_eq!(log.len(), 3);
    for request in &log {
        let api = request.path.starts_with("/api/v3/");
        let expected = api.then(|| format!("Bearer {TOKEN}"));
        assert_eq!(request.authorization, expected, "{request:?}");
    }
    assert!(log[0].accept.as_deref() == Some("application/vnd.github+json"));
}

#[tokio::test]
async fn the_token_never_goes_to_a_mirror_of_the_api() {
    let fake = FakeGithub::start();
    traefik(&fake);
    // The API is public GitHub, mirrored to the fake: the mirror's host is
    // not the API host, so the token stays home.
    let c = client_with(&fake, |c| {
        c.api_url = "https://api.github.com".into();
        c.mirrors = vec![(
            "https://api.github.com/".into(),
            format!("{}/", fake.api_url()),
        )];
        c.token = Some(TOKEN.into());
    });
    github::release_by_tag(&c, REPO, "v3.3.4").await.unwrap();
    let log = fake.requests();
    assert_eq!(log.len(), 1);
    assert!(!log[0].authorized(), "{:?}", log[0]);
}

#[tokio::test]
async fn the_token_never_appears_in_errors() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let reset = 4_102_444_799;
    fake.fail(
        "/api/v3/repos/o/limited/releases/tags/v1",
        Fault::RateLimited { reset },
    )
    .fail("/files/truncated", Fault::Truncated)
    .fail("/files/slow", Fault::Slow(Duration::from_secs(3)))
    .fail("/files/broken", Fault::Status(500));
    fake.file("/files/truncated", payload(100));
    fake.file("/files/slow", payload(100));
    fake.repo("o/limited");
    let c = client_with(&fake, |c| {
        c.token = Some(TOKEN.into());
        c.retries = 0;
        c.read_timeout = Duration::from_millis(200);
    });
    let offline = client_with(&fake, |c| {
        c.token = Some(TOKEN.into());
        c.offline = true;
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x");
    let url = |p: &str| format!("{}{p}", fake.url());
    let mut errors: Vec<Box<dyn Diagnostic + Send + Sync>> = vec![
        Box::new(github::release_by_tag(&c, REPO, "v9").await.unwrap_err()),
        Box::new(
            github::release_by_tag(&c, "o/limited", "v1")
                .await
                .unwrap_err(),
        ),
        Box::new(github::commit_for_ref(&c, REPO, "nope").await.unwrap_err()),
        Box::new(
            github::release_by_tag(&offline, REPO, "v3.3.4")
                .await
                .unwrap_err(),
        ),
        Box::new(
            c.download(&url("/files/truncated"), &dest, None, false, "x")
                .await
                .unwrap_err(),
        ),
        Box::new(
            c.get_small(&url("/files/slow"), 1000, false)
                .await
                .unwrap_err(),
        ),
        Box::new(
            c.get_small(&url("/files/broken"), 1000, false)
                .await
                .unwrap_err(),
        ),
        Box::new(
            c.get_small(&url("/files/missing"), 1000, false)
                .await
                .unwrap_err(),
        ),
        Box::new(
            c.get_small("http://example.invalid/x", 1000, false)
                .await
                .unwrap_err(),
        ),
        Box::new(
            c.get_small("http://127.0.0.1:1/x", 1000, false)
                .await
                .unwrap_err(),
        ),
        Box::new(
            c.api_json::<serde_json::Value>(&url("/files/truncated"))
                .await
                .unwrap_err(),
        ),
    ];
    errors.push(Box::new(github::asset_missing(REPO, "v3.3.4", "x", &[])));
    let codes: Vec<String> = errors.iter().map(|e| code(e.as_ref())).collect();
    for expected in [
        "vendor::github::release-not-found",
        "vendor::fetch::rate-limited",
        "vendor::github::ref-not-found",
        "vendor::fetch::offline",
        "vendor::fetch::truncated",
        "vendor::fetch::timeout",
        "vendor::fetch::status",
        "vendor::fetch::not-found",
        "vendor::fetch::insecure",
        "vendor::fetch::connect",
    ] {
        assert!(
            codes.iter().any(|c| c == expected),
            "{expected} not in {codes:?}"
        );
    }
    for error in &errors {
        let mut graphical = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut graphical, error.as_ref())
            .unwrap();
        let rendered = format!("{error}\n{error:?}\n{graphical}");
        assert!(!rendered.contains(TOKEN), "token leaked: {rendered}");
        assert!(!rendered.contains("Bearer"), "header leaked: {rendered}");
    }
    assert!(!format!("{:?} {c:?}", c.config()).contains(TOKEN));
}

#[tokio::test]
async fn missing_assets_list_what_upstream_has() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let release = github::release_by_tag(&client(&fake), REPO, "v3.3.4")
        .await
        .unwrap();
    let err = github::asset_missing(
        REPO,
        "v3.3.4",
        "traefik_v3.3.4_linux_amd46.tar.gz",
        &release.assets,
    );
    assert_eq!(code(&err), "vendor::github::asset-missing");
    let help = help(&err);
    assert!(
        help.contains("produced `traefik_v3.3.4_linux_amd46.tar.gz`; upstream has: traefik_v3.3.4_linux_amd64.tar.gz, traefik_v3.3.4_checksums.txt"),
        "{help}"
    );
    assert!(
        help.contains("did you mean `traefik_v3.3.4_linux_amd64.tar.gz`?"),
        "{help}"
    );
}

#[tokio::test]
async fn release_assets_download_through_the_api_too() {
    let fake = FakeGithub::start();
    let bytes = payload(777);
    fake.release(REPO, FakeRelease::new("v1").asset("a.bin", bytes.clone()));
    let c = client_with(&fake, |c| c.token = Some(TOKEN.into()));
    let release = github::release_by_tag(&c, REPO, "v1").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.bin");
    let done = c
        .download_api(
            &release.assets[0].url,
            "application/octet-stream",
            &dest,
            Some(777),
            "a",
        )
        .await
        .unwrap();
    assert_eq!(done.sha256, sha256_hex(&bytes));
    let log = fake.requests_to("/api/v3/repos/traefik/traefik/releases/assets/");
    assert!(log[0].authorized());
}

#[test]
fn the_fake_server_works_from_blocking_code() {
    let fake = FakeGithub::start();
    fake.release(REPO, FakeRelease::new("v1").asset("a", b"x".to_vec()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let release = runtime
        .block_on(github::release_by_tag(&client(&fake), REPO, "v1"))
        .unwrap();
    assert_eq!(release.assets.len(), 1);
}

// ---------------------------------------------------------------------------
// Servers that answer too slowly, redirect badly or answer wrongly
// ---------------------------------------------------------------------------

/// A client configured from these environment variables (and the fake's
/// API URL), as `vendor` itself reads them.
fn env_client(fake: &FakeGithub, vars: &[(&str, &str)]) -> Client {
    let api = fake.api_url();
    let config = Config::from_vars(
        |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
                .or_else(|| (name == "GITHUB_API_URL").then(|| api.clone()))
        },
        false,
        false,
    )
    .unwrap();
    Client::new(config).unwrap()
}

/// Guards a request that must be cut off: without the cut-off it would
/// run for minutes. Not a timing assertion, only a generous bound so a
/// regression fails instead of hanging the suite.
async fn cut_off<T>(what: &str, request: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), request)
        .await
        .unwrap_or_else(|_| panic!("{what}: a trickling body was never cut off"))
}

/// One byte every 50 ms: each chunk resets an idle timeout, and 2,000
/// bytes would take 100 s.
const TRICKLE: Fault = Fault::Trickle {
    chunk: 1,
    every: Duration::from_millis(50),
};

#[tokio::test]
async fn trickling_api_answers_and_small_files_hit_the_deadline() {
    let fake = FakeGithub::start();
    fake.release(
        REPO,
        FakeRelease::new("v3.3.4")
            .body(&"notes ".repeat(300))
            .asset("a.tar.gz", payload(100)),
    );
    let release = "/api/v3/repos/traefik/traefik/releases/tags/v3.3.4";
    fake.fail(release, TRICKLE);
    let sums = fake.file("/files/sums.txt", vec![b'0'; 2000]);
    fake.fail("/files/sums.txt", TRICKLE);
    let c = env_client(
        &fake,
        &[("VENDOR_HTTP_DEADLINE", "1"), ("VENDOR_HTTP_RETRIES", "0")],
    );

    let err = cut_off("release JSON", github::release_by_tag(&c, REPO, "v3.3.4"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "vendor::fetch::deadline", "{err:?}");
    let text = err.to_string();
    assert!(text.contains(release) && text.contains("1 s"), "{text}");
    assert!(
        help(&err).contains("VENDOR_HTTP_DEADLINE"),
        "{}",
        help(&err)
    );

    let err = cut_off("checksum file", c.get_small(&sums, 1 << 20, false))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "vendor::fetch::deadline", "{err:?}");
    assert!(err.to_string().contains(&sums), "{err}");
    assert_eq!(fake.requests_to(release).len(), 1, "retries were off");
}

#[tokio::test]
async fn trickling_downloads_fall_below_the_minimum_rate() {
    let fake = FakeGithub::start();
    fake.release(REPO, FakeRelease::new("v1").asset("a.bin", payload(2000)));
    let path = "/dl/traefik/traefik/releases/download/v1/a.bin";
    fake.fail(path, TRICKLE);
    let c = env_client(
        &fake,
        &[
            ("VENDOR_HTTP_MIN_RATE", "1000"),
            ("VENDOR_HTTP_RATE_WINDOW", "1"),
            ("VENDOR_HTTP_RETRIES", "1"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let url = fake.download_url(REPO, "v1", "a.bin");
    let dest = dir.path().join("a.bin");
    let err = cut_off("asset", c.download(&url, &dest, Some(2000), false, "a"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "vendor::fetch::too-slow", "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&url) && text.contains("1000 bytes/s"),
        "{text}"
    );
    assert!(
        help(&err).contains("VENDOR_HTTP_MIN_RATE"),
        "{}",
        help(&err)
    );
    assert_eq!(fake.requests_to(path).len(), 2, "retried once");

    // The same through the API (private release assets).
    let release = github::release_by_tag(&c, REPO, "v1").await.unwrap();
    let api_path = release.assets[0].url.replace(&fake.url(), "");
    fake.fail(&api_path, TRICKLE);
    let err = cut_off(
        "API asset",
        c.download_api(
            &release.assets[0].url,
            "application/octet-stream",
            &dest,
            Some(2000),
            "a",
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), "vendor::fetch::too-slow", "{err:?}");
}

#[tokio::test]
async fn slow_but_steady_downloads_are_not_cut_off() {
    // ~3 s at ~2,000 bytes/s: longer than the deadline for small answers,
    // far above the minimum rate.
    let fake = FakeGithub::start();
    let bytes = payload(6000);
    fake.release(REPO, FakeRelease::new("v1").asset("a.bin", bytes.clone()));
    let path = "/dl/traefik/traefik/releases/download/v1/a.bin";
    fake.fail(
        path,
        Fault::Trickle {
            chunk: 200,
            every: Duration::from_millis(100),
        },
    );
    let c = env_client(
        &fake,
        &[
            ("VENDOR_HTTP_DEADLINE", "1"),
            ("VENDOR_HTTP_MIN_RATE", "100"),
            ("VENDOR_HTTP_RATE_WINDOW", "1"),
            ("VENDOR_HTTP_RETRIES", "0"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.bin");
    let done = c
        .download(
            &fake.download_url(REPO, "v1", "a.bin"),
            &dest,
            Some(6000),
            false,
            "a",
        )
        .await
        .unwrap();
    assert_eq!(done.sha256, sha256_hex(&bytes));
    assert_eq!(fake.requests_to(path).len(), 1);
}

#[tokio::test]
async fn deadline_and_rate_settings_come_from_the_environment() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let c = Config::from_vars(
        vars(&[
            ("VENDOR_HTTP_DEADLINE", "2.5"),
            ("VENDOR_HTTP_MIN_RATE", "4096"),
            ("VENDOR_HTTP_RATE_WINDOW", "10"),
        ]),
        false,
        false,
    )
    .unwrap();
    let shown = format!("{c:?}");
    assert!(shown.contains("2.5s") && shown.contains("4096"), "{shown}");
    // A minimum rate of 0 turns the check off; nonsense is an error.
    assert!(Config::from_vars(vars(&[("VENDOR_HTTP_MIN_RATE", "0")]), false, false).is_ok());
    for (var, value) in [
        ("VENDOR_HTTP_DEADLINE", "0"),
        ("VENDOR_HTTP_DEADLINE", "soon"),
        ("VENDOR_HTTP_MIN_RATE", "fast"),
        ("VENDOR_HTTP_MIN_RATE", "-1"),
        ("VENDOR_HTTP_RATE_WINDOW", "0"),
    ] {
        let pairs: &'static [(&'static str, &'static str)] =
            Box::leak(vec![(var, value)].into_boxed_slice());
        let err = Config::from_vars(vars(pairs), false, false).unwrap_err();
        assert_eq!(code(&err), "vendor::fetch::env", "{var}={value}");
        assert!(err.to_string().contains(var), "{err}");
    }
}

/// Redirect targets that must be refused, in an order that puts the ones
/// a regression would send to the local host first, so a regression fails
/// there before anything is tried against `10.255.255.1`.
fn refused_redirects(port: u16) -> Vec<(String, &'static str)> {
    vec![
        (format!("http://0.0.0.0:{port}/files/ok"), "plain http://"),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/files/ok"),
            "plain http://",
        ),
        ("file:///etc/passwd".to_owned(), "file:"),
        (format!("ftp://127.0.0.1:{port}/files/ok"), "ftp:"),
        ("http://10.255.255.1/files/ok".to_owned(), "plain http://"),
    ]
}

#[tokio::test]
async fn redirects_off_loopback_http_and_other_schemes_are_refused_before_connecting() {
    let fake = FakeGithub::start();
    let start = fake.file("/files/start", b"start".to_vec());
    fake.file("/files/ok", b"followed".to_vec());
    let port: u16 = fake.url().rsplit(':').next().unwrap().parse().unwrap();
    let c = client_with(&fake, |c| c.retries = 2);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x");
    for (target, why) in refused_redirects(port) {
        for streamed in [false, true] {
            fake.clear_faults().clear_requests();
            fake.fail("/files/start", Fault::Redirect(target.clone()));
            let result = if streamed {
                c.download(&start, &dest, None, false, "x").await.map(drop)
            } else {
                c.get_small(&start, 100, false).await.map(drop)
            };
            let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
            assert_eq!(paths, ["/files/start"], "{target}: followed, or retried");
            let err = result.expect_err(&target);
            assert_eq!(
                code(&err),
                "vendor::fetch::redirect-refused",
                "{target}: {err:?}"
            );
            let text = err.to_string();
            let shown = target.replace("[::ffff:127.0.0.1]", "[::ffff:7f00:1]");
            assert!(
                text.contains("redirect")
                    && text.contains(&start)
                    && text.contains(&shown)
                    && text.contains(why),
                "{target}: {text}"
            );
        }
    }
    // Loopback http is followed.
    fake.clear_faults();
    fake.fail(
        "/files/start",
        Fault::Redirect(format!("http://localhost:{port}/files/ok")),
    );
    assert_eq!(c.get_small(&start, 100, false).await.unwrap(), b"followed");
}

#[tokio::test]
async fn absurd_retry_after_is_an_error_saying_how_long_was_asked() {
    let fake = FakeGithub::start();
    let url = fake.file("/files/sums.txt", b"sums".to_vec());
    let c = client(&fake);
    fake.fail(
        "/files/sums.txt",
        Fault::TooManyRequests {
            retry_after: u64::MAX,
        },
    );
    let err = c.get_small(&url, 100, false).await.unwrap_err();
    assert_eq!(code(&err), "vendor::fetch::rate-limited", "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("asked to wait 18446744073709551615 s") && !text.contains("resets at"),
        "{text}"
    );
    assert_eq!(
        fake.requests_to("/files/sums.txt").len(),
        1,
        "not waited for"
    );

    // More than a u64, and on a 503: the same refusal.
    for value in ["18446744073709551616", "99999999999999999999999"] {
        fake.clear_faults().clear_requests();
        fake.fail(
            "/files/sums.txt",
            Fault::RetryAfter {
                status: 503,
                value: value.to_owned(),
            },
        );
        let err = c.get_small(&url, 100, false).await.unwrap_err();
        assert_eq!(code(&err), "vendor::fetch::status", "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("HTTP 503") && text.contains("asked to wait"),
            "{text}"
        );
        assert_eq!(fake.requests_to("/files/sums.txt").len(), 1, "{value}");
    }

    // An hour: clearly worded, not waited for.
    fake.clear_faults().clear_requests();
    fake.fail(
        "/files/sums.txt",
        Fault::TooManyRequests { retry_after: 3600 },
    );
    let err = c.get_small(&url, 100, false).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("asked to wait 60 minutes"), "{text}");
    assert!(help(&err).contains("60 s"), "{}", help(&err));
}

#[tokio::test]
async fn rate_limit_resets_in_the_past_or_far_future_are_worded_sensibly() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let path = "/api/v3/repos/traefik/traefik/releases/tags/v3.3.4";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    fake.fail(path, Fault::RateLimited { reset: now - 600 });
    let err = github::release_by_tag(&client(&fake), REPO, "v3.3.4")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("already reset") && !text.contains("(now)"),
        "{text}"
    );

    for reset in [u64::MAX, now + 400 * 86_400] {
        fake.clear_faults();
        fake.fail(path, Fault::RateLimited { reset });
        let err = github::release_by_tag(&client(&fake), REPO, "v3.3.4")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert_eq!(code(&err), "vendor::fetch::rate-limited");
        assert!(
            text.contains("implausible") && !text.contains(" UTC"),
            "{reset}: {text}"
        );
    }
}

// --- `vendor plan` against servers that fail in different ways ----------

const TOOL_MANIFEST: &str = r#"version: 1
items:
  tool:
    version: 1.0.0
    source:
      type: github-release
      repo: acme/tool
      tag: v{version}
    assets:
      - name: tool-{version}.bin
        checksum: CHECKSUM
        install: bin/tool
"#;

fn tool_tree(checksum: &str) -> Tree {
    let tree = Tree::new();
    tree.write("vendor.yaml", TOOL_MANIFEST.replace("CHECKSUM", checksum));
    tree
}

fn plan(tree: &Tree, api_url: &str, env: &[(&str, &str)]) -> support::Output {
    let mut run = tree
        .vendor(["plan"])
        .env("GITHUB_API_URL", api_url)
        .env("VENDOR_HTTP_RETRIES", "0");
    for (k, v) in env {
        run = run.env(k, v);
    }
    run.output()
}

#[test]
fn plan_goes_on_without_an_upstream_it_cannot_connect_to() {
    // Refused: the one kind of failure that leaves the item unresolved.
    let tree = tool_tree("github-digest");
    let out = plan(&tree, support::tree::NOWHERE, &[]);
    out.code(0)
        .stdout_has("upstream unreachable")
        .stderr_has("Connection refused");
}

#[test]
fn plan_fails_when_the_server_answers_wrongly() {
    let fake = FakeGithub::start();
    fake.release(
        "acme/tool",
        FakeRelease::new("v1.0.0").asset("tool-1.0.0.bin", b"tool".to_vec()),
    );
    fake.tag("acme/tool", "v1.0.0", &"a".repeat(40));
    let tree = tool_tree("github-digest");

    // Not HTTP at all.
    let garbage = fake.raw_endpoint(b"SSH-2.0-OpenSSH_9.6\r\n");
    let out = plan(&tree, &format!("{garbage}/api/v3"), &[]);
    out.code(1)
        .stderr_has("cannot resolve tool")
        .stderr_has("vendor::fetch::protocol")
        .stderr_mentions(&garbage);
    assert!(!out.stderr.contains("unreachable"), "{}", out.streams());

    // Accepted, then closed without an answer.
    let closed = fake.raw_endpoint(b"");
    let out = plan(&tree, &format!("{closed}/api/v3"), &[]);
    out.code(1).stderr_has("vendor::fetch::protocol");
    assert!(!out.stderr.contains("unreachable"), "{}", out.streams());

    // Connected, then no answer in time.
    let release = "/api/v3/repos/acme/tool/releases/tags/v1.0.0";
    fake.fail(release, Fault::Slow(Duration::from_secs(5)));
    let out = plan(&tree, &fake.api_url(), &[("VENDOR_HTTP_TIMEOUT", "0.3")]);
    out.code(1)
        .stderr_has("cannot resolve tool")
        .stderr_has("vendor::fetch::timeout")
        .stderr_mentions(release);
    assert!(!out.stderr.contains("unreachable"), "{}", out.streams());

    // A body that trickles past the deadline.
    fake.clear_faults();
    fake.fail(release, TRICKLE);
    let out = plan(&tree, &fake.api_url(), &[("VENDOR_HTTP_DEADLINE", "1")]);
    out.code(1).stderr_has("vendor::fetch::deadline");
}

#[test]
fn a_malformed_digest_is_called_malformed() {
    let fake = FakeGithub::start();
    let bytes = b"tool".to_vec();
    fake.release(
        "acme/tool",
        FakeRelease::new("v1.0.0")
            .with_asset(FakeAsset::new("tool-1.0.0.bin", bytes.clone()).digest("sha256:zz"))
            .asset(
                "SHA256SUMS",
                format!("{}  tool-1.0.0.bin\n", sha256_hex(&bytes)).into_bytes(),
            ),
    );
    fake.tag("acme/tool", "v1.0.0", &"a".repeat(40));
    for checksum in ["github-digest", "{file: SHA256SUMS}", "first-use"] {
        let tree = tool_tree(checksum);
        let out = plan(&tree, &fake.api_url(), &[]);
        out.code(1)
            .stderr_has("vendor::resolve::malformed-digest")
            .stderr_mentions("`sha256:zz`");
        assert!(
            !out.stderr.contains("disagree"),
            "{checksum}: {}",
            out.streams()
        );
    }
}

/// A client with the HTTP cache in `dir`.
fn cached_client(fake: &FakeGithub, dir: &Path, token: Option<&str>, refresh: bool) -> Client {
    client_with(fake, |c| {
        c.http_cache = Some(dir.to_path_buf());
        c.token = token.map(str::to_owned);
        c.refresh = refresh;
    })
}

#[tokio::test]
async fn http_cache_revalidates_releases_and_reuses_only_commit_facts() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let sha = "ab".repeat(20);
    fake.tag(REPO, "v3.3.4", &sha);
    let dir = tempfile::tempdir().unwrap();
    let client = cached_client(&fake, dir.path(), Some(TOKEN), false);
    for _ in 0..3 {
        github::release_by_tag(&client, REPO, "v3.3.4")
            .await
            .unwrap();
        github::commit_for_ref(&client, REPO, "v3.3.4")
            .await
            .unwrap();
        assert_eq!(
            github::commit_for_ref(&client, REPO, &sha).await.unwrap(),
            sha
        );
    }
    let log = fake.requests();
    let to = |path: &str| -> Vec<_> { log.iter().filter(|r| r.path.ends_with(path)).collect() };
    // A release and a tag: asked every time, conditionally after the first.
    for path in ["/releases/tags/v3.3.4", "/commits/v3.3.4"] {
        let seen = to(path);
        assert_eq!(seen.len(), 3, "{path}");
        assert!(!seen[0].conditional() && seen[0].status == 200, "{path}");
        assert!(
            seen[1..].iter().all(|r| r.conditional() && r.status == 304),
            "{path}"
        );
    }
    // A full commit sha names itself forever: asked once.
    assert_eq!(to(&format!("/commits/{sha}")).len(), 1);
    let traffic = vendor::fetch::traffic();
    assert!(
        traffic.not_modified >= 4 && traffic.reused >= 2,
        "{traffic:?}"
    );
    // No entry holds the token.
    let mut stored = Vec::new();
    for shard in std::fs::read_dir(dir.path()).unwrap() {
        for file in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            stored.extend(std::fs::read(file.unwrap().path()).unwrap());
        }
    }
    assert!(!stored.is_empty());
    assert!(!String::from_utf8_lossy(&stored).contains(TOKEN));
}

#[tokio::test]
async fn http_cache_keys_on_whether_a_token_was_sent_and_refresh_bypasses_it() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let dir = tempfile::tempdir().unwrap();
    let with = cached_client(&fake, dir.path(), Some(TOKEN), false);
    let without = cached_client(&fake, dir.path(), None, false);
    github::release_by_tag(&with, REPO, "v3.3.4").await.unwrap();
    github::release_by_tag(&without, REPO, "v3.3.4")
        .await
        .unwrap();
    let log = fake.requests();
    assert!(
        !log[1].conditional(),
        "an answer seen with a token is not offered without"
    );
    github::release_by_tag(&without, REPO, "v3.3.4")
        .await
        .unwrap();
    assert!(fake.requests()[2].conditional());
    let refresh = cached_client(&fake, dir.path(), Some(TOKEN), true);
    fake.clear_requests();
    github::release_by_tag(&refresh, REPO, "v3.3.4")
        .await
        .unwrap();
    let log = fake.requests();
    assert_eq!(log.len(), 1);
    assert!(!log[0].conditional() && log[0].status == 200);
}

#[tokio::test]
async fn a_corrupt_http_cache_entry_is_ignored_and_rewritten() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let dir = tempfile::tempdir().unwrap();
    let client = cached_client(&fake, dir.path(), None, false);
    let first = github::release_by_tag(&client, REPO, "v3.3.4")
        .await
        .unwrap();
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flat_map(|shard| std::fs::read_dir(shard.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1);
    let good = std::fs::read(&entries[0]).unwrap();
    // A body byte changed: the entry is not believed, the request is
    // unconditional, and its answer replaces the entry.
    let mut bad = good.clone();
    let at = bad.len() - 10;
    bad[at] ^= 0x20;
    std::fs::write(&entries[0], &bad).unwrap();
    fake.clear_requests();
    let again = github::release_by_tag(&client, REPO, "v3.3.4")
        .await
        .unwrap();
    assert_eq!(again, first);
    let log = fake.requests();
    assert!(!log[0].conditional() && log[0].status == 200, "{log:?}");
    assert_eq!(std::fs::read(&entries[0]).unwrap(), good);
    github::release_by_tag(&client, REPO, "v3.3.4")
        .await
        .unwrap();
    assert_eq!(fake.requests()[1].status, 304);
}

#[tokio::test]
async fn offline_never_reads_the_http_cache() {
    let fake = FakeGithub::start();
    traefik(&fake);
    let dir = tempfile::tempdir().unwrap();
    let online = cached_client(&fake, dir.path(), None, false);
    github::release_by_tag(&online, REPO, "v3.3.4")
        .await
        .unwrap();
    let offline = client_with(&fake, |c| {
        c.http_cache = Some(dir.path().to_path_buf());
        c.offline = true;
    });
    let err = github::release_by_tag(&offline, REPO, "v3.3.4")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "vendor::fetch::offline");
}
