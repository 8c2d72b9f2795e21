//! The network at scale, judged from the fake GitHub's request log: the
//! HTTP cache revalidates with conditional requests and reuses bodies on
//! 304, `--refresh` bypasses it, a re-tag or a replaced asset is still
//! caught with the cache warm, items are resolved concurrently, output
//! does not depend on which answer came first, and one failing item among
//! many is named and leaves the tree alone.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

use std::time::Duration;

use build::{sha256sums, tar_gz};
use fake_github::{FakeAsset, FakeGithub, FakeRelease, Fault, Logged, Validators};
use serde_json::Value as Json;
use support::Tree;
use support::tree::{Output, Run};

/// A newer release carrying every asset the items name (its bytes do not
/// matter: `outdated` reads only the list), so it counts as complete.
fn complete_release(tag: &str) -> FakeRelease {
    ["linux_amd64.tar.gz", "linux_arm64.tar.gz", "checksums.txt"]
        .into_iter()
        .fold(FakeRelease::new(tag), |r, suffix| {
            r.with_asset(FakeAsset::new(
                &format!("tool_{tag}_{suffix}"),
                b"x".to_vec(),
            ))
        })
}

fn repo(n: usize) -> String {
    format!("acme/tool-{n:02}")
}

fn commit(n: usize, build: u8) -> String {
    format!("{:02x}{build:02x}", n).repeat(10)
}

/// Release v1.0.0 of tool `n`: linux/amd64 and linux/arm64 tarballs and a
/// `sha256sum` file over both; `build` changes the bytes (a replaced
/// asset).
fn release(n: usize, build: u8) -> FakeRelease {
    let archives: Vec<(String, Vec<u8>)> = ["amd64", "arm64"]
        .iter()
        .map(|arch| {
            let script = format!("#!/bin/sh\necho tool-{n:02} 1.0.0 {arch} build {build}\n");
            (
                format!("tool_v1.0.0_linux_{arch}.tar.gz"),
                tar_gz(&[("tool", script.as_bytes(), 0o755)]),
            )
        })
        .collect();
    let listed: Vec<(&str, &[u8])> = archives
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .collect();
    let sums = sha256sums(&listed);
    archives
        .iter()
        .fold(FakeRelease::new("v1.0.0"), |r, (name, bytes)| {
            r.with_asset(FakeAsset::new(name, bytes.clone()))
        })
        .with_asset(FakeAsset::new("tool_v1.0.0_checksums.txt", sums))
}

/// `n` GitHub-release items against one fake GitHub.
struct Setup {
    fake: FakeGithub,
    tree: Tree,
    items: usize,
}

impl Setup {
    fn new(items: usize) -> Setup {
        let fake = FakeGithub::start();
        let mut manifest = String::from("version: 1\nitems:\n");
        for n in 0..items {
            fake.release(&repo(n), release(n, 0));
            fake.tag(&repo(n), "v1.0.0", &commit(n, 0));
            manifest.push_str(&format!(
                "  tool-{n:02}:\n    version: 1.0.0\n    source:\n      type: github-release\n      \
                 repo: {}\n      tag: v{{version}}\n    constraint: \">=1, <2\"\n    \
                 platforms: [linux/amd64, linux/arm64]\n    assets:\n      \
                 - name: tool_{{tag}}_{{os}}_{{arch}}.tar.gz\n        checksum:\n          \
                 file: tool_{{tag}}_checksums.txt\n        extract:\n          member: tool\n        \
                 install: bin/tool-{n:02}-{{arch}}\n        mode: \"0755\"\n",
                repo(n)
            ));
        }
        let tree = Tree::new();
        tree.write("vendor.yaml", manifest);
        Setup { fake, tree, items }
    }

    /// [`Setup::new`], applied.
    fn applied(items: usize) -> Setup {
        let s = Setup::new(items);
        s.vendor(&["apply"]).output().code(0);
        s
    }

    fn vendor(&self, args: &[&str]) -> Run<'_> {
        self.tree
            .vendor(args)
            .env("GITHUB_API_URL", self.fake.api_url())
            .env("GITHUB_TOKEN", "ghp_networkTestToken0123456789")
    }

    /// Runs `args` with the request log cleared first; the output and the
    /// API requests the run made.
    fn logged(&self, args: &[&str], code: i32) -> (Output, Vec<Logged>) {
        self.fake.clear_requests();
        let out = self.vendor(args).output();
        out.code(code);
        let api = self
            .fake
            .requests()
            .into_iter()
            .filter(Logged::api)
            .collect();
        (out, api)
    }
}

/// Tag lookups over git's protocol since the log was last cleared.
fn git_lookups(fake: &FakeGithub) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(".git/git-upload-pack"))
        .count()
}

/// `(conditional, answered 304, answered 200)` among `requests`.
fn counts(requests: &[Logged]) -> (usize, usize, usize) {
    (
        requests.iter().filter(|r| r.conditional()).count(),
        requests.iter().filter(|r| r.status == 304).count(),
        requests.iter().filter(|r| r.status == 200).count(),
    )
}

#[test]
fn repeated_outdated_and_check_upstream_revalidate_and_cost_nothing() {
    let s = Setup::applied(3);
    s.fake.release(&repo(1), complete_release("v1.1.0"));

    let (first, cold) = s.logged(&["outdated", "-v"], 2);
    assert!(!cold.is_empty());
    let (second, warm) = s.logged(&["outdated", "-v"], 2);
    assert_eq!(first.stdout, second.stdout);
    // Every request of the repeat asks with the stored ETag, and every
    // one is answered 304: nothing counts against the rate limit.
    assert_eq!(warm.len(), cold.len(), "{warm:#?}");
    assert!(warm.iter().all(|r| r.if_none_match.is_some()), "{warm:#?}");
    assert_eq!(counts(&warm), (warm.len(), warm.len(), 0));
    second.stderr_has(&format!(
        "{} to the API: {} answered 304 Not Modified",
        warm.len(),
        warm.len()
    ));
    let remaining = |out: &Output| {
        let at = out.stderr.find("rate limit: ").expect("rate limit shown") + 12;
        out.stderr[at..].split(' ').next().unwrap().to_owned()
    };
    assert_eq!(remaining(&first), remaining(&second));
    assert!(second.stdout.lines().count() > 0 && !second.stdout.contains("network:"));

    // `check --upstream`: apply already asked for every release and tag,
    // so even the first check is answered by 304s; so is the next.
    for _ in 0..2 {
        let (out, api) = s.logged(&["check", "--upstream", "-v"], 0);
        // Per item: the release by tag. The tag's commit is asked of git
        // (no API request), afresh each time.
        assert_eq!(api.len(), s.items, "{api:#?}");
        assert_eq!(git_lookups(&s.fake), s.items);
        assert_eq!(counts(&api), (api.len(), api.len(), 0));
        out.stderr_has(&format!("{} answered 304 Not Modified", api.len()));
    }
}

#[test]
fn http_cache_entries_in_use_stay_and_unused_ones_go() {
    let s = Setup::applied(2);
    let http = s.tree.cache().join("http");
    let entries = || -> Vec<std::path::PathBuf> {
        let mut all: Vec<_> = std::fs::read_dir(&http)
            .unwrap()
            .flat_map(|shard| std::fs::read_dir(shard.unwrap().path()).unwrap())
            .map(|e| e.unwrap().path())
            .collect();
        all.sort();
        all
    };
    let in_use = entries();
    assert_eq!(in_use.len(), s.items, "{in_use:?}");
    // The entries in use were last used 20 days ago; one more, which no
    // item asks for any longer (a release bumped away from), 40 days ago.
    let days_ago = |days: u64| std::time::SystemTime::now() - Duration::from_secs(days * 86_400);
    let set = |path: &std::path::Path, when| {
        std::fs::File::open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    };
    let unused = in_use[0].parent().unwrap().join("f".repeat(64));
    std::fs::copy(&in_use[0], &unused).unwrap();
    set(&unused, days_ago(40));
    for path in &in_use {
        set(path, days_ago(20));
    }
    // The run tidies the cache, then revalidates: 304s, which touch the
    // entries they reuse.
    let (_, api) = s.logged(&["check", "--upstream"], 0);
    assert_eq!(counts(&api), (s.items, s.items, 0));
    assert!(!unused.exists());
    assert_eq!(entries(), in_use);
    for path in &in_use {
        let used = std::fs::metadata(path).unwrap().modified().unwrap();
        assert!(used > days_ago(1), "{path:?} was not touched");
    }
}

#[test]
fn apply_after_plan_resolves_with_304s() {
    let s = Setup::new(4);
    let (_, plan) = s.logged(&["plan"], 0);
    assert_eq!(counts(&plan), (0, 0, s.items), "{plan:#?}");
    let (out, apply) = s.logged(&["apply", "-v"], 0);
    assert_eq!(apply.len(), s.items, "{apply:#?}");
    assert_eq!(counts(&apply), (apply.len(), apply.len(), 0));
    out.stderr_has("4 answered 304 Not Modified");
    for n in 0..s.items {
        assert!(s.tree.exists(&format!("bin/tool-{n:02}-arm64")));
    }
}

#[test]
fn refresh_sends_no_conditional_headers_and_rewrites_the_cache() {
    let s = Setup::applied(2);
    for args in [
        &["--refresh", "outdated"][..],
        &["check", "--upstream", "--refresh"],
    ] {
        let (_, api) = s.logged(args, 0);
        assert!(!api.is_empty(), "{args:?}");
        assert_eq!(counts(&api), (0, 0, api.len()), "{args:?}: {api:#?}");
    }
    // The entries it overwrote revalidate the next run.
    let (_, api) = s.logged(&["check", "--upstream"], 0);
    assert_eq!(counts(&api), (api.len(), api.len(), 0));
}

#[test]
fn a_retag_or_a_replaced_asset_is_caught_with_the_cache_warm() {
    for validators in [
        Validators::Both,
        Validators::EtagOnly,
        Validators::LastModifiedOnly,
    ] {
        let s = Setup::applied(2);
        s.fake.validators(validators);
        // Warm: every answer revalidated.
        s.vendor(&["check", "--upstream"]).output().code(0);
        let (_, api) = s.logged(&["check", "--upstream"], 0);
        assert_eq!(counts(&api), (api.len(), api.len(), 0), "{validators:?}");
        if validators == Validators::LastModifiedOnly {
            assert!(api.iter().all(|r| r.if_modified_since.is_some()));
        }

        // tool-00 re-tagged, tool-01's assets replaced under the same tag.
        s.fake.move_tag(&repo(0), "v1.0.0", &commit(0, 9));
        s.fake.release(&repo(1), release(1, 9));
        let (out, api) = s.logged(&["check", "--upstream", "--format", "json"], 2);
        let doc: Json = serde_json::from_str(&out.stdout).unwrap();
        let mut found: Vec<(String, String)> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["item"].as_str().unwrap().to_owned(),
                    f["change"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        found.dedup();
        assert_eq!(
            found,
            [
                ("tool-00".to_owned(), "retagged".to_owned()),
                ("tool-01".to_owned(), "asset-changed".to_owned())
            ],
            "{validators:?}: {}",
            out.stdout
        );
        // The changed answers came whole (200), as without a cache.
        let fresh: Vec<&str> = api
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| r.path.as_str())
            .collect();
        // The moved tag was seen through git, which nothing caches.
        assert!(
            !fresh.iter().any(|p| p.contains("/commits/")),
            "{validators:?}: {fresh:?}"
        );
        assert_eq!(git_lookups(&s.fake), s.items, "{validators:?}");
        assert!(
            fresh.contains(&"/api/v3/repos/acme/tool-01/releases/tags/v1.0.0"),
            "{validators:?}: {fresh:?}"
        );
    }
}

#[test]
fn a_tags_commit_is_asked_of_git_not_the_api() {
    let s = Setup::new(3);
    let (_, api) = s.logged(&["apply"], 0);
    // One API request per item, the release; the tag's commit comes from
    // git's `ls-refs`, without the token.
    assert_eq!(api.len(), s.items, "{api:#?}");
    assert!(
        api.iter()
            .all(|r| r.path.ends_with("/releases/tags/v1.0.0"))
    );
    let git: Vec<Logged> = s
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".git/git-upload-pack"))
        .collect();
    assert_eq!(git.len(), s.items, "{git:#?}");
    assert!(git.iter().all(|r| !r.authorized()), "{git:#?}");
    let lock = s.tree.read("vendor.lock.yaml");
    for n in 0..s.items {
        assert!(lock.contains(&commit(n, 0)), "{lock}");
    }
}

#[test]
fn when_git_gives_no_answer_the_api_does() {
    let other_ref = {
        let line = format!("{} refs/tags/v1.0.0-rc1\n", commit(0, 7));
        format!("{:04x}{line}0000", line.len() + 4).into_bytes()
    };
    for fault in [
        Fault::NotFound,
        Fault::WrongBytes(b"<html>not git</html>".to_vec()),
        // Well formed, but not the tag asked for: no answer.
        Fault::WrongBytes(other_ref),
    ] {
        let s = Setup::new(2);
        s.fake
            .fail("/acme/tool-00.git/git-upload-pack", fault.clone());
        let (_, api) = s.logged(&["apply"], 0);
        let asked: Vec<&str> = api.iter().map(|r| r.path.as_str()).collect();
        assert!(
            asked.contains(&"/api/v3/repos/acme/tool-00/commits/v1.0.0"),
            "{fault:?}: {asked:?}"
        );
        assert!(
            !asked.contains(&"/api/v3/repos/acme/tool-01/commits/v1.0.0"),
            "{fault:?}: {asked:?}"
        );
        let lock = s.tree.read("vendor.lock.yaml");
        assert!(lock.contains(&commit(0, 0)), "{fault:?}: {lock}");
        assert!(!lock.contains(&commit(0, 7)), "{fault:?}: {lock}");
    }
}

#[test]
fn an_unreachable_git_host_is_tried_once_then_the_api_is_asked() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The git endpoint is mirrored to a port that is no git host: it
    // accepts connections and closes them unanswered, or holds them open
    // and never answers (the lookup gives up after a few seconds).
    for hold in [false, true] {
        let s = Setup::new(3);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                counter.fetch_add(1, Ordering::SeqCst);
                if hold {
                    held.push(stream);
                }
            }
        });
        s.fake.clear_requests();
        s.vendor(&["apply"])
            .env("VENDOR_JOBS", "1")
            .env(
                "VENDOR_MIRRORS",
                format!("{}/acme/=http://{addr}/acme/", s.fake.url()),
            )
            .output()
            .code(0);
        // One item at a time: the first tries git, once; the others go
        // straight to the API.
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "hold: {hold}");
        let commits = s.fake.requests_to("/api/v3/repos/").into_iter();
        assert_eq!(
            commits
                .filter(|r| r.path.ends_with("/commits/v1.0.0"))
                .count(),
            s.items,
            "hold: {hold}"
        );
        let lock = s.tree.read("vendor.lock.yaml");
        for n in 0..s.items {
            assert!(lock.contains(&commit(n, 0)), "hold: {hold}: {lock}");
        }
    }
}

#[test]
fn items_are_resolved_concurrently() {
    let s = Setup::new(6);
    s.fake.latency(Duration::from_millis(100));
    s.fake.reset_max_in_flight();
    s.vendor(&["plan"]).output().code(0);
    // One item alone has two requests open (its release and its tag's
    // commit): more means several items at once.
    let planned = s.fake.max_in_flight();
    assert!(planned > 2, "max in flight during plan: {planned}");
    s.fake.reset_max_in_flight();
    s.vendor(&["outdated"]).output().code(0);
    assert!(s.fake.max_in_flight() > 1);
    // VENDOR_JOBS=1 is one item at a time (release and commit together).
    s.fake.reset_max_in_flight();
    s.vendor(&["plan", "--refresh"])
        .env("VENDOR_JOBS", "1")
        .output()
        .code(0);
    assert!(s.fake.max_in_flight() <= 2, "{}", s.fake.max_in_flight());
}

#[test]
fn downloads_run_concurrently_beyond_the_old_cap_of_eight() {
    // 8 items, 16 archives. Applying a saved plan makes no API request,
    // so what the server sees at once are downloads only.
    let s = Setup::new(8);
    s.vendor(&["plan", "--out", "plan.json"]).output().code(0);
    s.fake.latency(Duration::from_millis(300));
    s.fake.clear_requests();
    s.fake.reset_max_in_flight();
    s.vendor(&["apply", "plan.json"]).output().code(0);
    assert!(
        s.fake.requests().iter().all(|r| !r.api()),
        "a saved plan is applied without asking the API"
    );
    let downloads = s.fake.max_in_flight();
    assert!(downloads > 8, "downloads in flight at most: {downloads}");
    // VENDOR_JOBS bounds them too.
    let t = Setup::new(8);
    t.vendor(&["plan", "--out", "plan.json"]).output().code(0);
    t.fake.latency(Duration::from_millis(100));
    t.fake.reset_max_in_flight();
    t.vendor(&["apply", "plan.json"])
        .env("VENDOR_JOBS", "3")
        .output()
        .code(0);
    assert!(t.fake.max_in_flight() <= 3, "{}", t.fake.max_in_flight());
}

/// A small xorshift generator seeded from the clock: delays differ from
/// run to run.
struct Jitter(u64);

impl Jitter {
    fn new() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Jitter(nanos | 1)
    }

    fn millis(&mut self, below: u64) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(self.0 % below)
    }
}

#[test]
fn output_is_the_same_whichever_answer_comes_first() {
    let s = Setup::new(8);
    s.fake.release(&repo(3), complete_release("v1.2.0"));
    s.fake.release(&repo(5), complete_release("v2.0.0"));
    let mut jitter = Jitter::new();
    let mut run = |args: &[&str], code: i32| {
        s.fake.clear_faults();
        for n in 0..s.items {
            for path in [
                format!("/api/v3/repos/{}/releases/tags/v1.0.0", repo(n)),
                format!("/api/v3/repos/{}/releases", repo(n)),
                format!("/api/v3/repos/{}/commits/v1.0.0", repo(n)),
            ] {
                s.fake.fail(&path, Fault::Slow(jitter.millis(120)));
            }
        }
        let out = s.vendor(args).output();
        out.code(code);
        out.stdout
    };
    for (args, code) in [
        (&["plan"][..], 0),
        (&["outdated"], 2),
        (&["plan", "--format", "json"], 0),
    ] {
        let first = run(args, code);
        let second = run(args, code);
        assert_eq!(first, second, "{args:?}");
    }
    s.vendor(&["apply"]).output().code(0);
    let first = run(&["check", "--upstream"], 0);
    assert_eq!(first, run(&["check", "--upstream"], 0));
}

#[test]
fn one_failing_item_among_many_is_named_and_nothing_is_written() {
    let s = Setup::new(12);
    s.fake.latency(Duration::from_millis(20));
    s.fake.fail(
        "/api/v3/repos/acme/tool-07/releases/tags/v1.0.0",
        Fault::Status(500),
    );
    let before = s.tree.hashes();
    let out = s
        .vendor(&["apply"])
        .env("VENDOR_HTTP_RETRIES", "0")
        .output();
    out.code(1);
    out.stderr_has("tool-07");
    for n in (0..12).filter(|n| *n != 7) {
        assert!(
            !out.stderr.contains(&format!("tool-{n:02}")),
            "only the failing item is named: {}",
            out.stderr
        );
    }
    s.tree.assert_unchanged(&before);
    assert!(!s.tree.exists("vendor.lock.yaml"));

    // The same for `plan` and `outdated`: named, exit 1.
    s.fake
        .fail("/api/v3/repos/acme/tool-07/releases", Fault::Status(500));
    for args in [&["plan"][..], &["outdated"]] {
        let out = s.vendor(args).env("VENDOR_HTTP_RETRIES", "0").output();
        out.code(1);
        out.stderr_has("tool-07");
    }
    s.tree.assert_unchanged(&before);
}

/// Where the first request whose path contains `part` is in `log`.
fn first(log: &[Logged], part: &str) -> usize {
    log.iter()
        .position(|r| r.path.contains(part))
        .unwrap_or_else(|| panic!("no request for {part}: {log:#?}"))
}

#[test]
fn checksum_files_do_not_wait_behind_the_api_cap() {
    // 65 release items and one plain URL item, all at once. Every
    // release is slow to answer, so the API slots (fewer than 65) are all
    // taken and the last release to be asked for waits for one to free
    // up. The URL item's checksum file fails once and is asked for again
    // a backoff later, while the slots are all taken: it is no API
    // request, so it does not wait for one. (Which release waits depends
    // on scheduling; that one does is certain.)
    let s = Setup::new(65);
    for n in 0..s.items {
        s.fake.fail(
            &format!("/api/v3/repos/{}/releases/tags/v1.0.0", repo(n)),
            Fault::Slow(Duration::from_millis(2000)),
        );
    }
    s.fake
        .fail_times("/files/SHA256SUMS", Fault::Status(503), 1);
    let archive = tar_gz(&[("tool", b"#!/bin/sh\n", 0o755)]);
    let url = s.fake.file("/files/plain.tar.gz", archive.clone());
    s.fake.file(
        "/files/SHA256SUMS",
        sha256sums(&[("plain.tar.gz", archive.as_slice())]),
    );
    let manifest = s.tree.read("vendor.yaml");
    s.tree.write(
        "vendor.yaml",
        format!(
            "{manifest}  plain:\n    version: \"1\"\n    source: {{type: url}}\n    assets:\n      \
             - url: {url}\n        checksum: {{file: SHA256SUMS}}\n        \
             extract: {{member: tool}}\n        install: bin/plain\n"
        ),
    );
    s.fake.clear_requests();
    s.vendor(&["plan"])
        .env("VENDOR_JOBS", "100")
        .output()
        .code(0);
    // The log is in the order requests reached the server.
    let log = s.fake.requests();
    let checksums = (0..log.len())
        .rfind(|&i| log[i].path == "/files/SHA256SUMS")
        .unwrap();
    let api: Vec<usize> = (0..log.len()).filter(|&i| log[i].api()).collect();
    assert_eq!(api.len(), s.items, "{log:#?}");
    let waited = api[s.items - 1];
    assert!(
        checksums < waited,
        "the checksum file waited behind the API requests: {:#?}",
        log.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[test]
fn an_items_downloads_start_before_every_item_is_resolved() {
    // tool-01's release is slow to answer; tool-00's archives are asked
    // for meanwhile, before tool-01's checksum file (which needs its
    // release), not after every item is resolved.
    let s = Setup::new(2);
    s.fake.fail(
        "/api/v3/repos/acme/tool-01/releases/tags/v1.0.0",
        Fault::Slow(Duration::from_millis(1000)),
    );
    s.fake.clear_requests();
    s.vendor(&["apply"]).output().code(0);
    let log = s.fake.requests();
    let download = first(
        &log,
        "/dl/acme/tool-00/releases/download/v1.0.0/tool_v1.0.0_linux_",
    );
    let resolved = first(
        &log,
        "/dl/acme/tool-01/releases/download/v1.0.0/tool_v1.0.0_checksums.txt",
    );
    assert!(
        download < resolved,
        "tool-00's downloads waited for tool-01's resolution: {:#?}",
        log.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    for n in 0..s.items {
        for arch in ["amd64", "arm64"] {
            assert!(s.tree.exists(&format!("bin/tool-{n:02}-{arch}")));
        }
    }
}

/// The fake GitHub of `bench/latency.sh`, which runs this test with
/// `--ignored` and these variables: `BENCH_PORT_FILE` (where the server's
/// and the control endpoint's URLs are written, in that order, on one
/// line), `BENCH_ITEMS` (repositories `bench/tool-000` on, default 200)
/// and `BENCH_DELAY_MS` (each answer's delay, default 100). It serves
/// until it is killed. The control endpoint answers `GET /_stats` (the
/// request counts since the last `POST /_reset`) and `POST /_reset`.
///
/// The server is this crate's test fake, multi-threaded: a benchmark
/// against it measures the client, not a server that cannot keep up.
#[test]
#[ignore = "the server of bench/latency.sh, which starts it"]
fn serve_the_latency_benchmark() {
    use std::io::{BufRead, BufReader, Write};
    let Ok(port_file) = std::env::var("BENCH_PORT_FILE") else {
        return;
    };
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let items = number("BENCH_ITEMS", 200) as usize;
    let fake = FakeGithub::start();
    fake.latency(Duration::from_millis(number("BENCH_DELAY_MS", 100)));
    for n in 0..items {
        let repo = format!("bench/tool-{n:03}");
        fake.release(&repo, release(n, 0));
        fake.tag(&repo, "v1.0.0", &commit(n, 0));
    }
    let control = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let line = format!("{} http://{}\n", fake.url(), control.local_addr().unwrap());
    std::fs::write(&port_file, line).unwrap();
    for stream in control.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut request = String::new();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let _ = reader.read_line(&mut request);
        // The rest of the head; no request here has a body.
        let mut header = String::new();
        while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
            header.clear();
        }
        let body = if request.starts_with("POST /_reset") {
            fake.clear_requests();
            fake.reset_max_in_flight();
            "{}".to_owned()
        } else {
            let log = fake.requests();
            let api: Vec<&Logged> = log.iter().filter(|r| r.api()).collect();
            serde_json::json!({
                "requests": log.len(),
                "api": api.len(),
                "api_304": api.iter().filter(|r| r.status == 304).count(),
                "max_in_flight": fake.max_in_flight(),
            })
            .to_string()
        };
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}
