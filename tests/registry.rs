//! The remote cache against a real OCI registry (the CNCF distribution
//! registry of Debian's `docker-registry`, `support/registry.rs`) and the
//! fake upstream of `support/fake_github.rs`, both on 127.0.0.1: misses go
//! upstream and are pushed, a fresh tree then installs with no upstream
//! request at all; a tampered blob is refused; a registry that is down is
//! a warning and upstream takes over (offline: a clear error); the
//! air-gap flow (`mirror push`, then `--frozen`/`--offline` apply from the
//! registry alone); concurrent pushes; htpasswd and token auth with
//! credentials that never leak. What was pushed is read back with
//! `skopeo` and with plain HTTP requests following the distribution spec.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/registry.rs"]
mod registry;

#[path = "support/build.rs"]
mod build;

#[path = "support/keys.rs"]
mod keys;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use fake_github::{FakeGithub, sha256_hex};
use registry::{Auth, PASSWORD, Registry, USER};
use support::{Output, Tree};

const ARCHIVES: [&str; 2] = ["tool-a", "tool-b"];

/// The upstream: two tar.gz archives and their SHA256SUMS.
struct Upstream {
    fake: FakeGithub,
    /// (archive name, archive bytes, member content)
    archives: Vec<(String, Vec<u8>, Vec<u8>)>,
}

fn tar_gz(member: &str, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o755);
    h.set_mtime(1_709_726_400);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, member, data).unwrap();
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn upstream() -> Upstream {
    let fake = FakeGithub::start();
    let mut sums = String::new();
    let mut archives = Vec::new();
    for name in ARCHIVES {
        let content = format!("#!/bin/sh\necho {name} 1.2.3\n")
            .repeat(50)
            .into_bytes();
        let bytes = tar_gz(name, &content);
        let file = format!("{name}.tar.gz");
        sums.push_str(&format!("{}  {file}\n", sha256_hex(&bytes)));
        fake.file(&format!("/files/{file}"), bytes.clone());
        archives.push((file, bytes, content));
    }
    fake.file("/files/SHA256SUMS", sums.into_bytes());
    Upstream { fake, archives }
}

fn manifest(up: &Upstream, extra: &str) -> String {
    let mut text = format!(
        "version: 1\n{extra}items:\n  tool:\n    version: \"1.2.3\"\n    source: {{type: url}}\n    assets:\n"
    );
    for name in ARCHIVES {
        text.push_str(&format!(
            "      - url: {}/files/{name}.tar.gz\n        checksum: {{file: SHA256SUMS}}\n        extract: {{member: {name}}}\n        install: bin/{name}\n        mode: \"0755\"\n",
            up.fake.url()
        ));
    }
    text
}

fn tree(up: &Upstream) -> Tree {
    let tree = Tree::new();
    tree.write("vendor.yaml", manifest(up, ""));
    tree
}

/// A tree with the lock of `from` and an empty cache of its own.
fn clone_of(from: &Tree) -> Tree {
    let tree = Tree::new();
    tree.write("vendor.yaml", from.read("vendor.yaml"));
    tree.write("vendor.lock.yaml", from.read("vendor.lock.yaml"));
    tree
}

/// A run with the remote cache set and an empty Docker config.
fn vendor(tree: &Tree, remote: &str, args: &[&str]) -> Output {
    tree.vendor(args)
        .env("VENDOR_CACHE_REMOTE", remote)
        .env("DOCKER_CONFIG", tree.cache().join("no-docker-config"))
        .env("VENDOR_HTTP_RETRIES", "0")
        .output()
}

fn assert_installed(tree: &Tree, up: &Upstream) {
    for (name, (_, _, content)) in ARCHIVES.iter().zip(&up.archives) {
        let rel = format!("bin/{name}");
        assert!(tree.exists(&rel), "{rel} is installed");
        assert_eq!(tree.read_bytes(&rel), *content, "{rel}");
        assert_eq!(tree.mode(&rel) & 0o777, 0o755);
    }
}

fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

fn archive_shas(up: &Upstream) -> Vec<String> {
    up.archives.iter().map(|(_, b, _)| sha256_hex(b)).collect()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// No file under `dir` holds any of `secrets`.
fn assert_nowhere(dir: &Path, secrets: &[&str]) {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        for s in secrets {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{} holds a secret",
                f.display()
            );
        }
    }
}

/// The tag `mirror list --format json` shows for `tool`.
fn listed_tag(tree: &Tree, remote: &str) -> String {
    let out = vendor(tree, remote, &["--format", "json", "mirror", "list"]);
    out.code(0);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["format_version"], 1);
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", out.stdout);
    assert_eq!(items[0]["item"], "tool");
    assert_eq!(items[0]["version"], "1.2.3");
    items[0]["tag"].as_str().unwrap().to_owned()
}

/// Reads what was pushed with an independent client, skopeo, and with
/// plain HTTP requests: the manifest lists exactly the upstream archives,
/// and every blob holds their bytes.
fn cross_check(reg: &Registry, tag: &str, up: &Upstream, creds: Option<&str>) {
    let reference = format!("docker://{}/{}:{tag}", reg.host(), registry::NAME);
    let mut inspect = Command::new("skopeo");
    inspect.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some(c) = creds {
        inspect.args(["--creds", c]);
    }
    let out = inspect
        .arg(&reference)
        .output()
        .expect("run skopeo (see .ci/run)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        doc["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(doc["annotations"]["vendor.item"], "tool");
    assert_eq!(doc["annotations"]["vendor.version"], "1.2.3");
    let mut digests: Vec<String> = doc["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:")
                .to_owned()
        })
        .collect();
    digests.sort();
    let mut expected = archive_shas(up);
    expected.sort();
    assert_eq!(digests, expected);
    for layer in doc["layers"].as_array().unwrap() {
        let title = layer["annotations"]["org.opencontainers.image.title"]
            .as_str()
            .unwrap();
        let (_, bytes, _) = up.archives.iter().find(|(n, _, _)| n == title).unwrap();
        assert_eq!(layer["size"], bytes.len());
        assert!(
            layer["annotations"]["vendor.url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/files/{title}"))
        );
        assert!(
            layer["annotations"]["vendor.trust"]
                .as_str()
                .unwrap()
                .starts_with("checksum-file ")
        );
    }
    // The blobs themselves, copied out by skopeo, hashed by sha256sum.
    let out_dir = tempfile::tempdir().unwrap();
    let mut copy = Command::new("skopeo");
    copy.args(["copy", "--src-tls-verify=false"]);
    if let Some(c) = creds {
        copy.args(["--src-creds", c]);
    }
    let copied = copy
        .arg(&reference)
        .arg(format!("dir:{}", out_dir.path().display()))
        .output()
        .unwrap();
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    for sha in &expected {
        assert_eq!(&sha256sum(&out_dir.path().join(sha)), sha);
    }
    // And by hand, per the spec: the tag is listed, blobs answer HEAD.
    let auth = creds.map(|c| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(c)
        )
    });
    if reg.token.is_none() {
        let (status, _, body) = reg
            .request(
                "GET",
                &format!("/v2/{}/tags/list", registry::NAME),
                auth.as_deref(),
            )
            .unwrap();
        assert_eq!(status, 200);
        let tags: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(tags["tags"].as_array().unwrap().iter().any(|t| t == tag));
        for sha in &expected {
            let (status, head, _) = reg
                .request(
                    "HEAD",
                    &format!("/v2/{}/blobs/sha256:{sha}", registry::NAME),
                    auth.as_deref(),
                )
                .unwrap();
            assert_eq!(status, 200, "{head}");
        }
    }
}

#[test]
fn a_miss_goes_upstream_and_is_pushed_then_a_fresh_tree_needs_no_upstream() {
    let reg = Registry::start(Auth::None);
    let up = upstream();
    let first = tree(&up);
    vendor(&first, &reg.url(), &["-v", "apply"])
        .code(0)
        .stderr_has("2 uploaded")
        .stderr_has("1 manifest written");
    assert_installed(&first, &up);
    assert!(!up.fake.requests_to("/files/").is_empty());
    for sha in archive_shas(&up) {
        assert_eq!(sha256sum(&reg.blob_file(&sha)), sha, "pushed intact");
    }
    let tag = listed_tag(&first, &reg.url());
    assert!(tag.starts_with("tool-1.2.3-"), "{tag}");
    vendor(&first, &reg.url(), &["mirror", "list"])
        .code(0)
        .stdout_has("tool")
        .stdout_has("1.2.3")
        .stdout_has(&tag);
    cross_check(&reg, &tag, &up, None);

    // A fresh runner: empty cache, the committed lock. Not one request
    // upstream, online or not.
    up.fake.clear_requests();
    let second = clone_of(&first);
    vendor(&second, &reg.url(), &["-v", "apply"])
        .code(0)
        .stderr_has("2 artifacts downloaded from it");
    assert_installed(&second, &up);
    let third = clone_of(&first);
    vendor(&third, &reg.url(), &["--frozen", "apply"]).code(0);
    assert_installed(&third, &up);
    assert_eq!(up.fake.requests(), vec![], "no upstream request");
}

#[test]
fn a_tampered_blob_is_refused_naming_the_registry_and_nothing_is_installed() {
    let reg = Registry::start(Auth::None);
    let up = upstream();
    let first = tree(&up);
    vendor(&first, &reg.url(), &["apply"]).code(0);
    let shas = archive_shas(&up);

    // Same length, other bytes: caught by the sha256.
    let blob = reg.blob_file(&shas[0]);
    let original = std::fs::read(&blob).unwrap();
    let mut bad = original.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    std::fs::write(&blob, &bad).unwrap();
    let second = clone_of(&first);
    let before = second.hashes();
    let out = vendor(&second, &reg.url(), &["apply"]);
    out.code(1)
        .stderr_mentions(&reg.url())
        .stderr_mentions("wrong bytes")
        .stderr_mentions("tool-a.tar.gz")
        .stderr_mentions(&shas[0]);
    second.assert_unchanged(&before);
    assert!(!second.exists("bin"));
    let mut cached = Vec::new();
    files_under(&second.cache().join("sha256"), &mut cached);
    assert!(
        cached.iter().all(|p| !p.ends_with(&shas[0])),
        "wrong bytes never enter the cache"
    );

    // Longer: caught by the size, before a byte is kept.
    std::fs::write(&blob, &original).unwrap();
    let blob_b = reg.blob_file(&shas[1]);
    let mut longer = std::fs::read(&blob_b).unwrap();
    longer.extend_from_slice(b"trailing garbage");
    std::fs::write(&blob_b, &longer).unwrap();
    let third = clone_of(&first);
    let before = third.hashes();
    vendor(&third, &reg.url(), &["--frozen", "apply"])
        .code(1)
        .stderr_mentions(&reg.url())
        .stderr_mentions("wrong bytes")
        .stderr_mentions("tool-b.tar.gz");
    third.assert_unchanged(&before);
}

#[test]
fn a_registry_that_is_down_is_one_warning_and_upstream_takes_over() {
    let up = upstream();
    let mut reg = Registry::start(Auth::None);
    let remote = reg.url();
    reg.stop();
    let first = tree(&up);
    let out = vendor(&first, &remote, &["apply"]);
    out.code(0);
    assert_eq!(
        out.stderr.matches("is not usable").count(),
        1,
        "warned once: {}",
        out.stderr
    );
    out.stderr_has(&remote)
        .stderr_has("downloading from upstream instead");
    assert_installed(&first, &up);

    // Offline, nothing cached and the registry down: a clear error naming
    // both what is missing and why the registry could not give it.
    let second = clone_of(&first);
    let before = second.hashes();
    vendor(&second, &remote, &["--frozen", "apply"])
        .code(1)
        .stderr_mentions("is not in the download cache")
        .stderr_mentions("tool-")
        .stderr_mentions(&format!("the remote cache {remote} is not usable"));
    second.assert_unchanged(&before);

    // Offline with the registry up but empty: the error says it was asked.
    let empty = Registry::start(Auth::None);
    vendor(&second, &empty.url(), &["--frozen", "apply"])
        .code(1)
        .stderr_mentions(&format!("nor in the remote cache {}", empty.url()));
    second.assert_unchanged(&before);
}

#[test]
fn air_gap_mirror_push_then_apply_offline_from_the_registry_alone() {
    let reg = Registry::start(Auth::None);
    let up = upstream();
    // The connected side: applied without any remote (the local cache
    // holds everything), then pushed; the remote comes from vendor.yaml.
    let connected = tree(&up);
    connected.run(&["apply"]).code(0);
    connected.write(
        "vendor.yaml",
        manifest(&up, &format!("cache:\n  remote: {}\n", reg.url())),
    );
    let requests = up.fake.requests().len();
    connected
        .vendor(["mirror", "push"])
        .env("DOCKER_CONFIG", connected.cache().join("none"))
        .output()
        .code(0)
        .stdout_has(&format!(
            "Pushed to {}: 2 artifacts of 1 item (2 uploaded, 0 already there), 1 manifest written.",
            reg.url()
        ));
    assert_eq!(
        up.fake.requests().len(),
        requests,
        "pushed from the local cache"
    );
    connected
        .vendor(["mirror", "push", "tool"])
        .env("DOCKER_CONFIG", connected.cache().join("none"))
        .output()
        .code(0)
        .stdout_has("(0 uploaded, 2 already there), 0 manifests written.");
    let tag = listed_tag(&connected, &reg.url());
    cross_check(&reg, &tag, &up, None);

    // The disconnected side: no upstream at all.
    let manifest_text = connected.read("vendor.yaml");
    let lock_text = connected.read("vendor.lock.yaml");
    drop(up);
    for args in [&["--frozen", "apply"][..], &["--offline", "apply"][..]] {
        let site = Tree::new();
        site.write("vendor.yaml", &manifest_text);
        site.write("vendor.lock.yaml", &lock_text);
        site.vendor(args)
            .env("DOCKER_CONFIG", site.cache().join("none"))
            .output()
            .code(0)
            .stdout_has("2 files installed");
        site.run(&["check", "--installed"]).code(0);
    }

    // `VENDOR_CACHE_REMOTE=off` turns the manifest's remote off.
    let site = Tree::new();
    site.write("vendor.yaml", &manifest_text);
    site.write("vendor.lock.yaml", &lock_text);
    site.vendor(["--frozen", "apply"])
        .env("VENDOR_CACHE_REMOTE", "off")
        .output()
        .code(1)
        .stderr_mentions("is not in the download cache");
}

#[test]
fn mirror_push_needs_a_lock_and_a_remote() {
    let reg = Registry::start(Auth::None);
    let up = upstream();
    let t = tree(&up);
    vendor(&t, &reg.url(), &["mirror", "push"])
        .code(1)
        .stderr_mentions("not locked")
        .stderr_mentions("tool");
    t.run(&["mirror", "list"])
        .code(1)
        .stderr_mentions("no remote cache is configured");
    vendor(&t, "https://registry.example/cache", &["apply"])
        .code(1)
        .stderr_mentions("VENDOR_CACHE_REMOTE")
        .stderr_mentions("oci://");
    assert!(!t.exists("vendor.lock.yaml"));
}

#[test]
fn two_concurrent_applies_push_the_same_blobs() {
    let reg = Registry::start(Auth::None);
    let up = upstream();
    let a = tree(&up);
    let b = tree(&up);
    let spawn = |t: &Tree| {
        t.vendor(["apply"])
            .env("VENDOR_CACHE_REMOTE", reg.url())
            .env("DOCKER_CONFIG", t.cache().join("none"))
            .command()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(&a), spawn(&b));
    for p in [pa, pb] {
        let out = p.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("warning"), "{stderr}");
    }
    assert_installed(&a, &up);
    assert_installed(&b, &up);
    for sha in archive_shas(&up) {
        assert_eq!(sha256sum(&reg.blob_file(&sha)), sha);
    }
    let tag = listed_tag(&a, &reg.url());
    cross_check(&reg, &tag, &up, None);
    up.fake.clear_requests();
    let c = clone_of(&a);
    vendor(&c, &reg.url(), &["apply"]).code(0);
    assert_installed(&c, &up);
    assert_eq!(up.fake.requests(), vec![]);
}

#[test]
fn htpasswd_credentials_come_from_the_docker_config_and_never_leak() {
    let reg = Registry::start(Auth::Htpasswd);
    let up = upstream();

    // No credentials: the registry is not usable, upstream serves.
    let first = tree(&up);
    vendor(&first, &reg.url(), &["apply"])
        .code(0)
        .stderr_has("asks for credentials");
    assert_installed(&first, &up);

    // Wrong ones: the same, and the wrong password is not shown either.
    let wrong = clone_of(&first);
    let config = registry::docker_config(
        &wrong.cache().join("docker"),
        &reg.host(),
        USER,
        "wrong-password-123",
    );
    let out = wrong
        .vendor(["apply"])
        .env("VENDOR_CACHE_REMOTE", reg.url())
        .env("DOCKER_CONFIG", &config)
        .output();
    out.code(0).stderr_has("is not usable");
    assert!(!out.streams().contains("wrong-password-123"));

    // The right ones, from DOCKER_CONFIG.
    let run = |t: &Tree, args: &[&str]| {
        let config =
            registry::docker_config(&t.cache().join("docker"), &reg.host(), USER, PASSWORD);
        t.vendor(args)
            .env("VENDOR_CACHE_REMOTE", reg.url())
            .env("DOCKER_CONFIG", &config)
            .output()
    };
    let pushed = clone_of(&first);
    let out = run(&pushed, &["-v", "mirror", "push"]);
    out.code(0).stdout_has("(2 uploaded, 0 already there)");
    let listed = run(&pushed, &["mirror", "list"]);
    listed.code(0).stdout_has("tool");
    let tag = listed
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("tool-1.2.3-"))
        .unwrap()
        .to_owned();
    cross_check(&reg, &tag, &up, Some(&format!("{USER}:{PASSWORD}")));

    up.fake.clear_requests();
    let fresh = clone_of(&first);
    let out = run(&fresh, &["-v", "apply"]);
    out.code(0).stderr_has("2 artifacts downloaded from it");
    assert_installed(&fresh, &up);
    assert_eq!(
        up.fake.requests(),
        vec![],
        "nothing upstream, so no credential"
    );

    // An online apply that resolves upstream: no credential goes there.
    let resolving = tree(&up);
    run(&resolving, &["apply"]).code(0);
    assert!(!up.fake.requests().is_empty());
    assert!(up.fake.requests().iter().all(|r| r.authorization.is_none()));

    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    for out in [&out, &listed] {
        assert!(!out.streams().contains(PASSWORD));
        assert!(!out.streams().contains(&basic));
    }
    for t in [&fresh, &pushed, &resolving] {
        // The tree and the cache, but the Docker config the test wrote.
        assert_nowhere(t.root(), &[PASSWORD, &basic]);
        for sub in ["sha256", "resolved", "evidence", "http", "tmp"] {
            assert_nowhere(&t.cache().join(sub), &[PASSWORD, &basic]);
        }
    }
}

#[test]
fn token_auth_takes_a_bearer_token_from_the_realm() {
    let reg = Registry::start(Auth::Token);
    let up = upstream();
    let run = |t: &Tree, args: &[&str]| {
        let config =
            registry::docker_config(&t.cache().join("docker"), &reg.host(), USER, PASSWORD);
        t.vendor(args)
            .env("VENDOR_CACHE_REMOTE", reg.url())
            .env("DOCKER_CONFIG", &config)
            .output()
    };
    let first = tree(&up);
    let out = run(&first, &["-v", "apply"]);
    out.code(0)
        .stderr_has("2 uploaded")
        .stderr_has("1 manifest written");
    let token = reg.token.as_ref().unwrap();
    let asked = token.requests();
    assert!(!asked.is_empty(), "the realm was asked");
    assert!(asked.iter().all(|(uri, auth)| {
        uri.contains("scope=repository%3Avendor-cache%3Apull%2Cpush")
            && auth.as_deref().is_some_and(|a| a.starts_with("Basic "))
    }));
    let listed = run(&first, &["mirror", "list"]);
    listed.code(0).stdout_has("tool");
    let tag = listed
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("tool-1.2.3-"))
        .unwrap()
        .to_owned();
    cross_check(&reg, &tag, &up, Some(&format!("{USER}:{PASSWORD}")));

    up.fake.clear_requests();
    let fresh = clone_of(&first);
    let out = run(&fresh, &["--frozen", "-v", "apply"]);
    out.code(0).stderr_has("2 artifacts downloaded from it");
    assert_installed(&fresh, &up);
    assert_eq!(up.fake.requests(), vec![]);
    assert!(!out.streams().contains(PASSWORD));
    assert!(!out.streams().contains("eyJ"), "no JWT in the output");
    for sub in ["sha256", "resolved", "evidence", "http", "tmp"] {
        assert_nowhere(&fresh.cache().join(sub), &[PASSWORD, "eyJ0eXAiOiJKV1Qi"]);
    }
    assert_nowhere(fresh.root(), &[PASSWORD, "eyJ0eXAiOiJKV1Qi"]);

    // Without credentials the token service refuses: a warning, upstream.
    let anonymous = clone_of(&first);
    vendor(&anonymous, &reg.url(), &["apply"])
        .code(0)
        .stderr_has("token service answered HTTP 401");
    assert_installed(&anonymous, &up);
}

#[test]
fn a_registry_that_never_answers_is_one_warning_and_upstream_takes_over() {
    let up = upstream();
    // Connections are taken (the kernel's backlog), nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let remote = format!(
        "oci://127.0.0.1:{}/{}",
        silent.local_addr().unwrap().port(),
        registry::NAME
    );
    let first = tree(&up);
    let out = first
        .vendor(["apply"])
        .env("VENDOR_CACHE_REMOTE", &remote)
        .env("DOCKER_CONFIG", first.cache().join("none"))
        .env("VENDOR_HTTP_TIMEOUT", "1")
        .env("VENDOR_HTTP_RETRIES", "0")
        .output();
    out.code(0);
    assert_eq!(
        out.stderr.matches("is not usable").count(),
        1,
        "{}",
        out.stderr
    );
    out.stderr_has(&remote);
    assert_installed(&first, &up);
    drop(silent);
}

#[test]
fn signatures_travel_with_the_artifacts_for_an_offline_reinstall() {
    let reg = Registry::start(Auth::None);
    let up = upstream();
    let k = keys::Keys::new();
    k.minisign_key("tool");
    for (name, bytes, _) in &up.archives {
        up.fake
            .file(&format!("/files/{name}.minisig"), k.minisign("tool", bytes));
    }
    let text = format!(
        "{}    verify:\n      signatures:\n        - kind: minisign\n          key: keys/tool.pub\n          signature: '{{asset}}.minisig'\n",
        manifest(&up, "")
    );
    let connected = Tree::new();
    connected.write("keys/tool.pub", k.read("tool.pub"));
    connected.write("vendor.yaml", &text);
    vendor(&connected, &reg.url(), &["apply"]).code(0);
    assert!(
        connected
            .read("vendor.lock.yaml")
            .contains("kind: signature")
    );

    // The disconnected side has the keys and the lock, no upstream and no
    // evidence of its own: the registry brings the signatures, the gate
    // checks them against the committed key.
    let site = || {
        let t = Tree::new();
        t.write("keys/tool.pub", k.read("tool.pub"));
        t.write("vendor.yaml", &text);
        t.write("vendor.lock.yaml", connected.read("vendor.lock.yaml"));
        t
    };
    drop(up);
    let ok = site();
    vendor(&ok, &reg.url(), &["--frozen", "apply"])
        .code(0)
        .stdout_has("2 files installed");

    // Another key committed: the same registry evidence is refused.
    let other = keys::Keys::new();
    other.minisign_key("tool");
    let refused = site();
    refused.write("keys/tool.pub", other.read("tool.pub"));
    let before = refused.hashes();
    vendor(&refused, &reg.url(), &["--frozen", "apply"])
        .code(1)
        .stderr_mentions("keys/tool.pub");
    refused.assert_unchanged(&before);
}

#[test]
fn a_registry_answering_garbage_is_refused_naming_it() {
    let up = upstream();
    let first = tree(&up);
    first.run(&["apply"]).code(0);
    // A hostile "registry": the fake server answering whatever it is given.
    let hostile = FakeGithub::start();
    let remote = format!(
        "{}/{}",
        hostile.url().replace("http://", "oci://"),
        registry::NAME
    );
    hostile.file("/v2/", b"{}".to_vec());
    hostile.file(
        &format!("/v2/{}/tags/list", registry::NAME),
        b"\x1b[31mnot json".to_vec(),
    );
    for (_, bytes, _) in &up.archives {
        let mut garbage = bytes.clone();
        garbage.reverse();
        hostile.file(
            &format!("/v2/{}/blobs/sha256:{}", registry::NAME, sha256_hex(bytes)),
            garbage,
        );
    }
    let out = vendor(&first, &remote, &["mirror", "list"]);
    out.code(1)
        .stderr_mentions(&remote)
        .stderr_mentions("not JSON");
    assert!(!out.stderr.contains('\x1b'), "escaped");
    let second = clone_of(&first);
    let before = second.hashes();
    vendor(&second, &remote, &["apply"])
        .code(1)
        .stderr_mentions(&remote)
        .stderr_mentions("wrong bytes");
    second.assert_unchanged(&before);
}
