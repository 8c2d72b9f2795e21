//! End-to-end tests of `vendor sbom`: the built binary on a tree whose
//! lock hashes real bytes, its output checked by the ecosystems' own
//! validators — the CycloneDX JSON schema shipped with the CycloneDX
//! Python library, and the SPDX tools' `pyspdxtools` — and read back.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use support::tree::hex;
use support::{LOCK, MANIFEST, Tree};

const MANIFEST_TEXT: &str = r#"version: 1
items:
  traefik:
    description: Traefik reverse proxy
    version: 3.3.4
    source: {type: github-release, repo: traefik/traefik, tag: "v{version}"}
    platforms: [linux/amd64]
    assets:
      - name: traefik_{tag}_{os}_{arch}.tar.gz
        checksum:
          file: traefik_{tag}_checksums.txt
        extract: {member: traefik}
        install: dist/traefik-{arch}
        mode: "0755"
  k3s:
    version: 1.30.4+k3s1
    source: {type: github-release, repo: k3s-io/k3s, tag: "v{version}"}
    assets:
      - name: k3s
        checksum: github-digest
        install: bin/k3s
        mode: "0755"
  rpi4-firmware:
    version: "1.20240306"
    source: {type: github-files, repo: raspberrypi/firmware}
    assets:
      - name: boot/start4.elf
        checksum: first-use
        install: boot/start4.elf
  kernel:
    version: 6.8.0-45-generic
    source: {type: manual}
    purl: "pkg:deb/ubuntu/linux-image-{version}@{version}?arch=amd64"
"#;

const TRAEFIK_ARCHIVE: &[u8] = b"traefik v3.3.4 linux amd64 archive bytes";
const TRAEFIK_BINARY: &[u8] = b"\x7fELF traefik v3.3.4";
const K3S: &[u8] = b"\x7fELF k3s v1.30.4+k3s1";
const START4: &[u8] = b"start4.elf firmware blob";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn lock_text() -> String {
    let dl = "https://github.com/traefik/traefik/releases/download/v3.3.4";
    format!(
        r#"# generated
version: 1
items:
  k3s:
    version: 1.30.4+k3s1
    fingerprint: sha256:{fp}
    source: github-release
    resolved:
      tag: v1.30.4+k3s1
    artifacts:
    - name: k3s
      url: https://github.com/k3s-io/k3s/releases/download/v1.30.4%2Bk3s1/k3s
      size: {k3s_size}
      sha256: {k3s}
      trust:
        kind: github-digest
    files:
    - path: bin/k3s
      sha256: {k3s}
      mode: '0755'
      from: k3s
  kernel:
    version: 6.8.0-45-generic
    fingerprint: sha256:{fp}
    source: manual
  rpi4-firmware:
    version: '1.20240306'
    fingerprint: sha256:{fp}
    source: github-files
    resolved:
      tag: '1.20240306'
      commit: {COMMIT}
    artifacts:
    - name: boot/start4.elf
      url: https://raw.githubusercontent.com/raspberrypi/firmware/{COMMIT}/boot/start4.elf
      size: {start4_size}
      sha256: {start4}
      trust:
        kind: first-use
    files:
    - path: boot/start4.elf
      sha256: {start4}
      mode: '0644'
      from: boot/start4.elf
  traefik:
    version: 3.3.4
    fingerprint: sha256:{fp}
    source: github-release
    resolved:
      tag: v3.3.4
    artifacts:
    - platform: linux/amd64
      name: traefik_v3.3.4_linux_amd64.tar.gz
      url: {dl}/traefik_v3.3.4_linux_amd64.tar.gz
      size: {archive_size}
      sha256: {archive}
      trust:
        kind: checksum-file
        by: {dl}/traefik_v3.3.4_checksums.txt
    files:
    - path: dist/traefik-amd64
      sha256: {binary}
      mode: '0755'
      from: traefik_v3.3.4_linux_amd64.tar.gz!traefik
"#,
        fp = sha(b"fingerprint"),
        k3s = sha(K3S),
        k3s_size = K3S.len(),
        start4 = sha(START4),
        start4_size = START4.len(),
        archive = sha(TRAEFIK_ARCHIVE),
        archive_size = TRAEFIK_ARCHIVE.len(),
        binary = sha(TRAEFIK_BINARY),
    )
}

fn tree() -> Tree {
    let tree = Tree::new();
    tree.write(MANIFEST, MANIFEST_TEXT);
    tree.write(LOCK, lock_text());
    tree
}

/// Runs `python3 -c SCRIPT FILE`; `Ok(())` when it exits 0, else what it said.
fn python(script: &str, file: &std::path::Path) -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(file)
        .output()
        .expect("run python3 (the CI installs it)");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The CycloneDX library's strict JSON validator (its bundled schemas).
const CYCLONEDX_VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
if errors:
    print(errors)
    sys.exit(1)
"#;

/// The SPDX tools' validator: `pyspdxtools -i FILE` parses and validates.
const SPDX_VALIDATE: &str = r#"
import subprocess, sys
r = subprocess.run(["pyspdxtools", "-i", sys.argv[1]], capture_output=True, text=True)
out = r.stdout + r.stderr
print(out)
sys.exit(1 if r.returncode != 0 or "ERROR" in out or "invalid" in out.lower() else 0)
"#;

fn cyclonedx_valid(tree: &Tree, text: &str) -> Result<(), String> {
    let path = tree.path("out.cdx.json");
    std::fs::write(&path, text).unwrap();
    python(CYCLONEDX_VALIDATE, &path)
}

fn spdx_valid(tree: &Tree, text: &str) -> Result<(), String> {
    let path = tree.path("out.spdx.json");
    std::fs::write(&path, text).unwrap();
    python(SPDX_VALIDATE, &path)
}

fn component<'a>(doc: &'a Json, name: &str) -> &'a Json {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

fn property<'a>(c: &'a Json, name: &str) -> &'a str {
    c["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_str())
        .unwrap_or_else(|| panic!("no property {name} in {c}"))
}

#[test]
fn cyclonedx_lists_every_item_download_and_file_and_passes_the_schema() {
    let tree = tree();
    let out = tree.run(&["sbom", "--format", "cyclonedx"]);
    out.code(0);
    cyclonedx_valid(&tree, &out.stdout).expect("CycloneDX 1.6 schema");
    let doc: Json = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["specVersion"], "1.6");
    assert!(doc["metadata"].get("timestamp").is_none());

    let traefik = component(&doc, "traefik");
    assert_eq!(traefik["version"], "3.3.4");
    assert_eq!(traefik["purl"], "pkg:github/traefik/traefik@v3.3.4");
    let dl = &traefik["externalReferences"][0];
    assert_eq!(dl["type"], "distribution");
    assert!(
        dl["url"]
            .as_str()
            .unwrap()
            .ends_with("traefik_v3.3.4_linux_amd64.tar.gz")
    );
    assert_eq!(dl["hashes"][0]["alg"], "SHA-256");
    assert_eq!(dl["hashes"][0]["content"], sha(TRAEFIK_ARCHIVE));
    let prefix = "vendor:download:traefik_v3.3.4_linux_amd64.tar.gz";
    assert_eq!(
        property(traefik, &format!("{prefix}:trust")),
        "checksum-file"
    );
    assert!(property(traefik, &format!("{prefix}:trust-by")).ends_with("checksums.txt"));
    assert_eq!(
        property(traefik, &format!("{prefix}:platform")),
        "linux/amd64"
    );
    let file = &traefik["components"][0];
    assert_eq!(file["type"], "file");
    assert_eq!(file["name"], "dist/traefik-amd64");
    assert_eq!(file["hashes"][0]["content"], sha(TRAEFIK_BINARY));
    assert_eq!(property(file, "vendor:mode"), "0755");

    // `+` is percent-encoded in a purl; the kernel's own template is used.
    assert_eq!(
        component(&doc, "k3s")["purl"],
        "pkg:github/k3s-io/k3s@v1.30.4%2Bk3s1"
    );
    assert_eq!(
        component(&doc, "kernel")["purl"],
        "pkg:deb/ubuntu/linux-image-6.8.0-45-generic@6.8.0-45-generic?arch=amd64"
    );
    let fw = component(&doc, "rpi4-firmware");
    assert_eq!(fw["purl"], "pkg:github/raspberrypi/firmware@1.20240306");
    assert_eq!(property(fw, "vendor:commit"), COMMIT);
    assert_eq!(
        property(fw, "vendor:download:boot/start4.elf:trust"),
        "first-use"
    );
}

#[test]
fn spdx_lists_every_item_download_and_file_and_passes_pyspdxtools() {
    let tree = tree();
    let out = tree.run(&["sbom", "--format", "spdx"]);
    out.code(0);
    spdx_valid(&tree, &out.stdout).expect("SPDX 2.3 validation");
    let doc: Json = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let packages = doc["packages"].as_array().unwrap();
    let by_name = |n: &str| {
        packages
            .iter()
            .find(|p| p["name"] == n)
            .unwrap_or_else(|| panic!("no package {n}"))
    };
    let traefik = by_name("traefik");
    assert_eq!(
        traefik["externalRefs"][0]["referenceLocator"],
        "pkg:github/traefik/traefik@v3.3.4"
    );
    let archive = by_name("traefik_v3.3.4_linux_amd64.tar.gz");
    assert_eq!(archive["checksums"][0]["algorithm"], "SHA256");
    assert_eq!(
        archive["checksums"][0]["checksumValue"],
        sha(TRAEFIK_ARCHIVE)
    );
    assert_eq!(archive["primaryPackagePurpose"], "ARCHIVE");
    assert!(
        archive["comment"]
            .as_str()
            .unwrap()
            .contains("trust: checksum-file"),
        "{archive}"
    );
    let binary = by_name("dist/traefik-amd64");
    assert_eq!(binary["primaryPackagePurpose"], "FILE");
    assert_eq!(binary["checksums"][0]["checksumValue"], sha(TRAEFIK_BINARY));
    let rels = doc["relationships"].as_array().unwrap();
    let has = |from: &Json, kind: &str, to: &Json| {
        rels.iter().any(|r| {
            r["spdxElementId"] == from["SPDXID"]
                && r["relationshipType"] == kind
                && r["relatedSpdxElement"] == to["SPDXID"]
        })
    };
    assert!(has(traefik, "CONTAINS", archive));
    assert!(has(binary, "GENERATED_FROM", archive));
    assert!(rels.iter().any(|r| r["spdxElementId"] == "SPDXRef-DOCUMENT"
        && r["relationshipType"] == "DESCRIBES"
        && r["relatedSpdxElement"] == traefik["SPDXID"]));
    assert_eq!(
        by_name("rpi4-firmware")["downloadLocation"],
        format!("git+https://github.com/raspberrypi/firmware@{COMMIT}")
    );
}

#[test]
fn the_validators_reject_what_is_wrong() {
    // The checks above can fail: a broken document does not pass.
    let tree = tree();
    let cdx = tree.run(&["sbom"]);
    cdx.code(0);
    let broken = cdx.stdout.replace("\"SHA-256\"", "\"SHA-257\"");
    assert!(cyclonedx_valid(&tree, &broken).is_err());
    let spdx = tree.run(&["sbom", "--format", "spdx"]);
    let broken = spdx
        .stdout
        .replace("\"SPDX-2.3\"", "\"SPDX-9\"")
        .replace("\"CC0-1.0\"", "\"MIT\"");
    assert!(spdx_valid(&tree, &broken).is_err());
}

#[test]
fn the_same_lock_gives_the_same_bytes_unless_a_timestamp_is_asked_for() {
    let tree = tree();
    for format in ["cyclonedx", "spdx"] {
        let a = tree.run(&["sbom", "--format", format]);
        let b = tree.run(&["sbom", "--format", format]);
        assert_eq!(a.stdout, b.stdout, "{format}");
        // The manifest's comments and order do not matter, the lock does.
        let stamped = tree
            .vendor(["sbom", "--format", format, "--timestamp"])
            .env("SOURCE_DATE_EPOCH", "1709726400")
            .output();
        stamped.code(0);
        assert!(stamped.stdout.contains("2024-03-06T12:00:00Z"), "{format}");
        assert_ne!(a.stdout, stamped.stdout);
    }
    let spdx = tree
        .vendor(["sbom", "--format", "spdx", "--timestamp"])
        .env("SOURCE_DATE_EPOCH", "1709726400")
        .output();
    spdx_valid(&tree, &spdx.stdout).expect("SPDX with a timestamp");
    let cdx = tree
        .vendor(["sbom", "--timestamp"])
        .env("SOURCE_DATE_EPOCH", "1709726400")
        .output();
    cyclonedx_valid(&tree, &cdx.stdout).expect("CycloneDX with a timestamp");

    // A changed lock is a different document.
    let before = tree.run(&["sbom"]).stdout;
    tree.edit(LOCK, |t| t.replace("mode: '0644'", "mode: '0600'"));
    assert_ne!(before, tree.run(&["sbom"]).stdout);
}

#[test]
fn the_sbom_needs_no_network() {
    let tree = tree();
    tree.vendor(["sbom", "--offline"])
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .output()
        .code(0);
}

#[test]
fn a_bad_purl_template_or_format_is_refused_with_nothing_on_stdout() {
    let tree = tree();
    tree.edit(MANIFEST, |t| {
        t.replace(
            "pkg:deb/ubuntu/linux-image-{version}",
            "deb/ubuntu/linux-{version}",
        )
    });
    let out = tree.run(&["sbom"]);
    out.code(1).stderr_has("kernel").stderr_has("package URL");
    assert_eq!(out.stdout, "");

    let tree = self::tree();
    let out = tree.run(&["sbom", "--format", "json"]);
    out.code(64).stderr_has("cyclonedx");
    let out = tree.run(&["diff", "--format", "spdx"]);
    out.code(64);
}

#[test]
fn a_bad_source_date_epoch_is_an_error() {
    let tree = tree();
    tree.vendor(["sbom", "--timestamp"])
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .output()
        .code(1)
        .stderr_has("SOURCE_DATE_EPOCH");
}

#[test]
fn validate_reports_a_bad_purl_template_at_its_line() {
    let tree = tree();
    tree.edit(MANIFEST, |t| {
        t.replace("pkg:deb/ubuntu/linux-image-{version}", "pkg:deb/{oops}")
    });
    let out = tree.run(&["validate"]);
    out.code(1).stderr_has("purl").stderr_has("vendor.yaml:");
}
