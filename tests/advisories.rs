//! End-to-end tests of security advisories: `vendor check --advisories`
//! (the CI gate, with its allow-list), `vendor outdated --security` and
//! `vendor diff`, against the fake GitHub's repository security advisories
//! and a fake OSV API, both answering in their documented JSON shapes.
#![allow(clippy::unwrap_used)]

#[path = "support/fake_github.rs"]
mod fake_github;
#[path = "support/fake_osv.rs"]
mod fake_osv;
mod support;

use fake_github::{FakeGithub, FakeRelease};
use fake_osv::FakeOsv;
use serde_json::{Value, json};
use support::{MANIFEST, Output, Tree, line_of};

const MANIFEST_TEXT: &str = r#"version: 1
items:
  traefik:
    version: 3.3.4
    source: {type: github-release, repo: traefik/traefik, tag: "v{version}"}
    versioning: semver
    pins:
      - file: Makefile
        make: TRAEFIK_VERSION
        value: v{version}
  kernel:
    version: 6.8.0-45-generic
    source: {type: manual}
    versioning: loose
    pins:
      - file: Makefile
        make: KERNEL_VERSION
    advisories:
      osv: {ecosystem: "Ubuntu:24.04:LTS", package: linux}
"#;

struct World {
    tree: Tree,
    gh: FakeGithub,
    osv: FakeOsv,
}

impl World {
    fn new() -> World {
        let gh = FakeGithub::start();
        gh.release("traefik/traefik", FakeRelease::new("v3.3.4"));
        gh.tag("traefik/traefik", "v3.3.4", &"a".repeat(40));
        gh.release("traefik/traefik", FakeRelease::new("v3.3.5"));
        gh.tag("traefik/traefik", "v3.3.5", &"b".repeat(40));
        let osv = FakeOsv::start();
        let tree = Tree::new();
        tree.write(MANIFEST, MANIFEST_TEXT);
        tree.write(
            "Makefile",
            "TRAEFIK_VERSION ?= v3.3.4\nKERNEL_VERSION ?= 6.8.0-45-generic\n",
        );
        let world = World { tree, gh, osv };
        world.run(&["apply"]).code(0);
        world.run(&["check"]).code(0);
        world
    }

    fn run(&self, args: &[&str]) -> Output {
        self.tree
            .vendor(args)
            .env("GITHUB_API_URL", self.gh.api_url())
            .env("VENDOR_OSV_URL", self.osv.url())
            .output()
    }

    fn ghsa(&self, id: &str, range: &str, patched: Option<&str>) -> &Self {
        self.gh
            .security_advisory("traefik/traefik", ghsa(id, range, patched));
        self
    }
}

/// A repository security advisory as GitHub's REST API returns it.
fn ghsa(id: &str, range: &str, patched: Option<&str>) -> Value {
    json!({
        "ghsa_id": id,
        "cve_id": format!("CVE-2025-{}", &id[5..9]),
        "url": format!("https://api.github.com/repos/traefik/traefik/security-advisories/{id}"),
        "html_url": format!("https://github.com/traefik/traefik/security/advisories/{id}"),
        "summary": format!("{id} summary"),
        "description": "details",
        "severity": "high",
        "state": "published",
        "published_at": "2025-03-01T00:00:00Z",
        "updated_at": "2025-03-01T00:00:00Z",
        "withdrawn_at": null,
        "vulnerabilities": [{
            "package": {"ecosystem": "go", "name": "github.com/traefik/traefik/v3"},
            "vulnerable_version_range": range,
            "patched_versions": patched,
            "vulnerable_functions": []
        }]
    })
}

/// An OSV record for the kernel with one range.
fn osv_vuln(id: &str, events: Value, versions: Value) -> Value {
    json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2025-03-01T00:00:00Z",
        "published": "2025-03-01T00:00:00Z",
        "aliases": [format!("CVE-{id}")],
        "summary": format!("{id} in linux"),
        "affected": [{
            "package": {"ecosystem": "Ubuntu:24.04:LTS", "name": "linux"},
            "ranges": [{"type": "ECOSYSTEM", "events": events}],
            "versions": versions
        }],
        "database_specific": {"severity": "MEDIUM"},
        "references": [{"type": "ADVISORY", "url": format!("https://ubuntu.com/security/{id}")}]
    })
}

#[test]
fn a_github_advisory_affecting_the_locked_version_fails_the_gate() {
    let w = World::new();
    w.ghsa("GHSA-aaaa-bbbb-cccc", ">= 3.0.0, < 3.3.5", Some("3.3.5"));
    let out = w.run(&["check", "--advisories"]);
    out.code(2)
        .stdout_has("GHSA-aaaa-bbbb-cccc")
        .stdout_has("CVE-2025-aaaa")
        .stdout_has("traefik 3.3.4")
        .stdout_has("fixed in 3.3.5")
        .stdout_has("affects the locked version");
    // Only published advisories were asked for.
    let asked =
        w.gh.requests_to("/api/v3/repos/traefik/traefik/security-advisories");
    assert!(!asked.is_empty());
    assert!(
        asked.iter().all(|r| r
            .query
            .as_deref()
            .is_some_and(|q| q.contains("state=published"))),
        "{asked:?}"
    );

    // GitHub annotations point at the item's line in the manifest.
    let out = w.run(&["check", "--advisories", "--format", "github"]);
    out.code(2);
    let line = line_of(MANIFEST_TEXT, "  traefik:");
    assert!(
        out.stdout.contains(&format!(
            "vendor.yaml,line={line},title=vendor advisory::traefik 3.3.4: GHSA-aaaa-bbbb-cccc"
        )),
        "{}",
        out.stdout
    );

    let out = w.run(&["check", "--advisories", "--format", "json"]);
    out.code(2);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["in_sync"], false);
    assert_eq!(doc["advisories"][0]["id"], "GHSA-aaaa-bbbb-cccc");
    assert_eq!(doc["advisories"][0]["fixed_in"][0], "3.3.5");

    // Without --advisories the gate is what it was.
    w.run(&["check"]).code(0);
}

#[test]
fn advisories_for_other_versions_withdrawn_or_unpublished_ones_pass() {
    let w = World::new();
    w.ghsa("GHSA-1111-1111-1111", "< 3.3.0", Some("3.3.0"));
    w.ghsa("GHSA-2222-2222-2222", ">= 3.3.5, <= 3.3.9", None);
    w.ghsa("GHSA-3333-3333-3333", "= 3.3.3", None);
    let mut withdrawn = ghsa("GHSA-4444-4444-4444", "< 3.4.0", Some("3.4.0"));
    withdrawn["withdrawn_at"] = json!("2025-04-01T00:00:00Z");
    w.gh.security_advisory("traefik/traefik", withdrawn);
    let mut draft = ghsa("GHSA-5555-5555-5555", "< 3.4.0", Some("3.4.0"));
    draft["state"] = json!("draft");
    w.gh.security_advisory("traefik/traefik", draft);
    let out = w.run(&["check", "--advisories"]);
    out.code(0)
        .stdout_lacks("GHSA-")
        .stdout_has("advisories: 0 affecting locked versions");
}

#[test]
fn osv_ranges_are_evaluated_in_the_items_scheme() {
    let w = World::new();
    // Affected: introduced at the start, fixed in a later ABI.
    w.osv.vuln(
        "Ubuntu:24.04:LTS",
        "linux",
        osv_vuln(
            "USN-1",
            json!([{"introduced": "0"}, {"fixed": "6.8.0-47-generic"}]),
            json!([]),
        ),
    );
    // Not affected: a range that ended before (last_affected is inclusive).
    w.osv.vuln(
        "Ubuntu:24.04:LTS",
        "linux",
        osv_vuln(
            "USN-2",
            json!([{"introduced": "6.8.0-10-generic"}, {"last_affected": "6.8.0-44-generic"}]),
            json!([]),
        ),
    );
    // Withdrawn: affects nothing.
    let mut withdrawn = osv_vuln("USN-3", json!([{"introduced": "0"}]), json!([]));
    withdrawn["withdrawn"] = json!("2025-04-01T00:00:00Z");
    w.osv.vuln("Ubuntu:24.04:LTS", "linux", withdrawn);
    // Listed outright (a GIT range's enumeration), on the third page.
    let mut listed = osv_vuln("USN-4", json!([]), json!(["6.8.0-45-generic"]));
    listed["affected"][0]["ranges"] = json!([{
        "type": "GIT",
        "repo": "https://git.launchpad.net/linux",
        "events": [{"introduced": "0"}, {"fixed": "0123456789abcdef0123456789abcdef01234567"}]
    }]);
    w.osv.vuln("Ubuntu:24.04:LTS", "linux", listed);
    // Another package's record in the same answer is not the kernel's.
    let mut other = osv_vuln("USN-5", json!([{"introduced": "0"}]), json!([]));
    other["affected"][0]["package"]["name"] = json!("linux-aws");
    w.osv.vuln("Ubuntu:24.04:LTS", "linux", other);
    // A limit below the locked version.
    w.osv.vuln(
        "Ubuntu:24.04:LTS",
        "linux",
        osv_vuln(
            "USN-6",
            json!([{"introduced": "0"}, {"limit": "6.8.0-40-generic"}]),
            json!([]),
        ),
    );

    let out = w.run(&["check", "--advisories", "kernel", "--format", "json"]);
    out.code(2);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let ids: Vec<&str> = doc["advisories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["USN-1", "USN-4"], "{}", out.stdout);
    assert_eq!(doc["advisories"][0]["severity"], "medium");
    assert_eq!(doc["advisories"][0]["fixed_in"][0], "6.8.0-47-generic");
    // OSV was asked for the mapped package, page by page.
    let queries = w.osv.queries();
    assert!(queries.len() >= 3, "{queries:?}");
    assert_eq!(queries[0]["package"]["ecosystem"], "Ubuntu:24.04:LTS");
    assert_eq!(queries[0]["package"]["name"], "linux");
    assert_eq!(queries[1]["page_token"], "page-2");
}

#[test]
fn the_allow_list_accepts_a_risk_until_it_expires() {
    let w = World::new();
    w.ghsa("GHSA-aaaa-bbbb-cccc", ">= 3.0.0, < 3.3.5", Some("3.3.5"));
    let accept = |expires: &str| {
        w.tree.edit(MANIFEST, |t| {
            let base = t.split("    advisories:\n      allow:").next().unwrap().to_owned();
            base.replace(
                "        value: v{version}\n",
                &format!(
                    "        value: v{{version}}\n    advisories:\n      allow:\n        - id: CVE-2025-aaaa\n          reason: the affected middleware is not enabled\n          expires: {expires}\n"
                ),
            )
        });
    };
    accept("2999-12-31");
    let out = w.run(&["check", "--advisories", "--format", "github"]);
    out.code(0);
    assert!(out.stdout.contains("::notice file="), "{}", out.stdout);
    assert!(!out.stdout.contains("::error"), "{}", out.stdout);
    assert!(
        out.stdout.contains("accepted until 2999-12-31"),
        "{}",
        out.stdout
    );

    accept("2000-01-01");
    let out = w.run(&["check", "--advisories"]);
    out.code(2).stdout_has("expired on 2000-01-01");

    // A malformed acceptance is a manifest error.
    accept("next year");
    w.run(&["validate"]).code(1).stderr_has("expires");
    accept("2026-13-45");
    w.run(&["validate"]).code(1).stderr_has("not a date");
}

#[test]
fn offline_runs_use_the_last_answer_and_say_how_old_it_is() {
    let w = World::new();
    // Never asked yet: offline has nothing to go on.
    let out = w.run(&["check", "--advisories", "--offline"]);
    out.code(1).stderr_has("no advisory answer is cached");

    w.ghsa("GHSA-aaaa-bbbb-cccc", ">= 3.0.0, < 3.3.5", Some("3.3.5"));
    w.run(&["check", "--advisories"]).code(2);
    w.gh.clear_requests();
    let out = w.run(&["check", "--advisories", "--offline"]);
    out.code(2)
        .stdout_has("GHSA-aaaa-bbbb-cccc")
        .stderr_has("as of")
        .stderr_has("offline: the last answer");
    assert!(w.gh.requests().is_empty());
}

#[test]
fn a_bad_osv_answer_is_a_clear_error() {
    let w = World::new();
    w.osv.reply_raw(200, "<html>not json</html>");
    let out = w.run(&["check", "--advisories", "kernel"]);
    out.code(1).stderr_has("kernel").stderr_has("OSV");
    assert_eq!(out.stdout, "");
    w.osv
        .reply_raw(400, "{\"code\":3,\"message\":\"Invalid query.\"}");
    w.run(&["check", "--advisories", "kernel"])
        .code(1)
        .stderr_has("OSV");
}

#[test]
fn a_github_ghsa_also_in_osv_is_listed_once() {
    let w = World::new();
    w.tree.replace_once(
        MANIFEST,
        "        value: v{version}\n",
        "        value: v{version}\n    advisories:\n      osv: {ecosystem: Go, package: github.com/traefik/traefik/v3}\n",
    );
    w.run(&["apply"]).code(0);
    w.ghsa("GHSA-aaaa-bbbb-cccc", ">= 3.0.0, < 3.3.5", Some("3.3.5"));
    let mut same = osv_vuln(
        "GO-2025-0001",
        json!([{"introduced": "3.0.0"}, {"fixed": "3.3.5"}]),
        json!([]),
    );
    same["aliases"] = json!(["GHSA-aaaa-bbbb-cccc", "CVE-2025-aaaa"]);
    same["affected"][0]["package"] =
        json!({"ecosystem": "Go", "name": "github.com/traefik/traefik/v3"});
    w.osv.vuln("Go", "github.com/traefik/traefik/v3", same);
    let out = w.run(&["check", "--advisories", "traefik", "--format", "json"]);
    out.code(2);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        doc["advisories"].as_array().unwrap().len(),
        1,
        "{}",
        out.stdout
    );
}

#[test]
fn outdated_marks_updates_that_fix_an_advisory_and_can_show_only_those() {
    let w = World::new();
    w.ghsa("GHSA-aaaa-bbbb-cccc", ">= 3.0.0, < 3.3.5", Some("3.3.5"));
    // Without an `advisories` block or --security, nothing is looked up.
    let out = w.run(&["outdated"]);
    out.code(2).stdout_lacks("security");
    assert!(
        w.gh.requests_to("/api/v3/repos/traefik/traefik/security-advisories")
            .is_empty()
    );

    let out = w.run(&["outdated", "--security"]);
    out.code(2)
        .stdout_has("security update")
        .stdout_has("security: traefik 3.3.5 fixes GHSA-aaaa-bbbb-cccc")
        .stdout_has("affecting 3.3.4");
    let out = w.run(&["outdated", "--security", "--format", "json"]);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", out.stdout);
    assert_eq!(items[0]["id"], "traefik");
    assert_eq!(items[0]["fixes"][0]["id"], "GHSA-aaaa-bbbb-cccc");

    // An advisory the update does not fix is not a security update.
    let w = World::new();
    w.ghsa("GHSA-dddd-eeee-ffff", ">= 3.0.0, < 3.4.0", Some("3.4.0"));
    let out = w.run(&["outdated", "--security"]);
    out.code(0).stdout_lacks("traefik");
    w.run(&["outdated"]).code(2).stdout_lacks("security");
}

#[test]
fn diff_lists_what_a_bump_fixes_and_introduces_and_recommends_a_release() {
    let w = World::new();
    w.ghsa("GHSA-aaaa-bbbb-cccc", ">= 3.0.0, < 3.3.5", Some("3.3.5"));
    w.ghsa("GHSA-dddd-eeee-ffff", "= 3.3.5", Some("3.3.6"));
    // The gate keeps the answer: the diff uses it, even offline.
    w.run(&["check", "--advisories"]).code(2);
    std::fs::copy(w.tree.path("vendor.lock.yaml"), w.tree.path("old.lock")).unwrap();
    w.tree
        .replace_once(MANIFEST, "version: 3.3.4", "version: 3.3.5");
    w.run(&["apply"]).code(0);

    let out = w.run(&["diff", "old.lock", "vendor.lock.yaml", "--format", "commit"]);
    out.code(0)
        .stdout_has("chore(traefik): bump traefik 3.3.4 → 3.3.5")
        .stdout_has("Fixes GHSA-aaaa-bbbb-cccc")
        .stdout_has("WARNING: introduces GHSA-dddd-eeee-ffff")
        .stdout_has("tag a release");
    let out = w.run(&[
        "diff",
        "old.lock",
        "vendor.lock.yaml",
        "--format",
        "markdown",
    ]);
    out.code(0)
        .stdout_has("**Security** (`traefik`)")
        .stdout_has("- fixes GHSA-aaaa-bbbb-cccc")
        .stdout_has("- **introduces** GHSA-dddd-eeee-ffff")
        .stdout_has("tag a release");
    let out = w.run(&["diff", "old.lock", "vendor.lock.yaml"]);
    out.code(0).stdout_has("fixes GHSA-aaaa-bbbb-cccc");

    let out = w.run(&[
        "--offline",
        "diff",
        "old.lock",
        "vendor.lock.yaml",
        "--format",
        "json",
    ]);
    out.code(0).stderr_has("as of");
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let item = &doc["items"][0];
    assert_eq!(
        item["security"]["fixes"][0]["id"], "GHSA-aaaa-bbbb-cccc",
        "{}",
        out.stdout
    );
    assert!(
        item["security"]["as_of"]
            .as_str()
            .unwrap()
            .contains("offline")
    );
}

#[test]
fn a_bump_that_fixes_nothing_says_nothing_about_security() {
    let w = World::new();
    w.ghsa("GHSA-1111-1111-1111", "< 3.0.0", Some("3.0.0"));
    w.run(&["check", "--advisories"]).code(0);
    std::fs::copy(w.tree.path("vendor.lock.yaml"), w.tree.path("old.lock")).unwrap();
    w.tree
        .replace_once(MANIFEST, "version: 3.3.4", "version: 3.3.5");
    w.run(&["apply"]).code(0);
    let out = w.run(&["diff", "old.lock", "vendor.lock.yaml", "--format", "commit"]);
    out.code(0)
        .stdout_lacks("Fixes")
        .stdout_lacks("tag a release");
}

#[test]
fn the_token_goes_to_the_github_api_only_and_upstream_text_is_escaped() {
    let w = World::new();
    let mut hostile = ghsa("GHSA-aaaa-bbbb-cccc", ">= 3.0.0, < 3.3.5", Some("3.3.5"));
    hostile["summary"] = json!("bad\u{1b}[2J\u{1b}]0;owned\u{7}\nsecond line");
    w.gh.security_advisory("traefik/traefik", hostile);
    w.osv.vuln(
        "Ubuntu:24.04:LTS",
        "linux",
        osv_vuln("USN-1", json!([{"introduced": "0"}]), json!([])),
    );
    let token = "ghp_advisorytesttoken0123456789";
    let out = w
        .tree
        .vendor(["check", "--advisories"])
        .env("GITHUB_API_URL", w.gh.api_url())
        .env("VENDOR_OSV_URL", w.osv.url())
        .env("GITHUB_TOKEN", token)
        .output();
    out.code(2)
        .stdout_has("GHSA-aaaa-bbbb-cccc")
        .stdout_has("USN-1");
    assert!(
        !out.stdout.contains('\u{1b}') && !out.stdout.contains('\u{7}'),
        "{:?}",
        out.stdout
    );
    let asked =
        w.gh.requests_to("/api/v3/repos/traefik/traefik/security-advisories");
    assert!(asked.iter().all(|r| r.authorized()), "{asked:?}");
    let osv = w.osv.authorizations();
    assert!(!osv.is_empty());
    assert!(osv.iter().all(Option::is_none), "{osv:?}");

    // In annotations too, nothing can end the command early.
    let out = w
        .tree
        .vendor(["check", "--advisories", "--format", "github", "traefik"])
        .env("GITHUB_API_URL", w.gh.api_url())
        .env("VENDOR_OSV_URL", w.osv.url())
        .output();
    out.code(2);
    let lines: Vec<&str> = out.stdout.lines().filter(|l| l.contains("GHSA-")).collect();
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    assert!(lines[0].contains("%0Asecond line"), "{}", lines[0]);
}
