//! What `vendor` keeps in a registry repository, besides the blobs
//! themselves: one OCI image manifest per item version, built here, and
//! read back by `vendor mirror list`.
//!
//! ```text
//! blobs/sha256:<d>        every artifact, under the sha256 the lock records
//! blobs/sha256:44136f…    the empty config `{}` (application/vnd.oci.empty.v1+json)
//! manifests/<tag>         per item version: an image manifest
//!   mediaType             application/vnd.oci.image.manifest.v1+json
//!   artifactType          application/vnd.vendor.item.v1
//!   config                the empty descriptor
//!   layers                one per artifact, sorted by platform and name:
//!                         mediaType application/octet-stream, digest, size,
//!                         annotations org.opencontainers.image.title (the
//!                         asset name), vendor.platform, vendor.url (the
//!                         upstream URL), vendor.trust (how the lock trusts it)
//!                         and per artifact with signatures, its evidence:
//!                         mediaType application/vnd.vendor.evidence.v1+json
//!                         (the signature files and signed checksum file the
//!                         gate checked), annotation vendor.evidence-for
//!                         (`sha256:<artifact digest>`)
//!   annotations           vendor.item, vendor.version
//! ```
//!
//! The tag is `<item>-<version>-<12 hex digits>`, the hex digits a hash of
//! the layer digests, so two trees that vendor the same item name and
//! version with other assets never take each other's tag, the same
//! artifacts always give the same manifest bytes (pushing is idempotent,
//! from any number of machines at once), and the registry's garbage
//! collection keeps every blob a tag references. A machine that holds the
//! lock computes the tag from it alone, which is how an offline reinstall
//! finds an artifact's evidence. The annotations are for people and
//! `mirror list`, and evidence is checked by the gate like any other:
//! nothing read from a registry is trusted.

use serde_json::{Value, json};

use crate::hash::sha256_hex;
use crate::lock::{Artifact, Trust, TrustKind};

pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const ARTIFACT_TYPE: &str = "application/vnd.vendor.item.v1";
pub const LAYER_TYPE: &str = "application/octet-stream";
pub const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const EVIDENCE_TYPE: &str = "application/vnd.vendor.evidence.v1+json";
pub const EVIDENCE_FOR: &str = "vendor.evidence-for";
/// The empty config blob, `{}`.
pub const EMPTY: &[u8] = b"{}";

pub const TITLE: &str = "org.opencontainers.image.title";
pub const ITEM: &str = "vendor.item";
pub const VERSION: &str = "vendor.version";
pub const PLATFORM: &str = "vendor.platform";
pub const URL: &str = "vendor.url";
pub const TRUST: &str = "vendor.trust";

/// `sha256:` and the hex digest of the empty config.
pub fn empty_digest() -> String {
    format!("sha256:{}", sha256_hex(EMPTY))
}

/// An item version as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listed {
    pub tag: String,
    pub item: String,
    pub version: String,
    pub artifacts: Vec<ListedArtifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListedArtifact {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `sha256:<hex>`.
    pub digest: String,
    pub size: u64,
    pub url: String,
    pub trust: String,
}

/// The tag of an item version holding `artifacts`: OCI's tag grammar
/// (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`), any other character of the item
/// or version written as `_`.
pub fn tag(item: &str, version: &str, artifacts: &[Artifact]) -> String {
    let mut digests: Vec<&str> = artifacts.iter().map(|a| a.sha256.as_str()).collect();
    digests.sort_unstable();
    let hash = sha256_hex(digests.join("\n").as_bytes());
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let mut head = format!("{}-{}", clean(item), clean(version));
    // Room for `-` and 12 hex digits within 128 characters.
    head.truncate(115);
    let head = head.trim_start_matches(['.', '-']);
    format!("{head}-{}", &hash[..12])
}

fn trust_text(trust: &Trust) -> String {
    let kind = match trust.kind {
        TrustKind::Signature => "signature",
        TrustKind::ChecksumFile => "checksum-file",
        TrustKind::GithubDigest => "github-digest",
        TrustKind::Manifest => "manifest",
        TrustKind::FirstUse => "first-use",
    };
    match &trust.by {
        Some(by) => format!("{kind} {by}"),
        None => kind.to_owned(),
    }
}

/// An evidence blob in a manifest: for the artifact with sha256 `of`, the
/// blob with sha256 `digest` and `size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceBlob {
    pub of: String,
    pub digest: String,
    pub size: u64,
}

/// The manifest of an item version, as bytes (deterministic: the same
/// artifacts and evidence give the same bytes).
pub fn manifest(
    item: &str,
    version: &str,
    artifacts: &[Artifact],
    evidence: &[EvidenceBlob],
) -> Vec<u8> {
    let mut sorted: Vec<&Artifact> = artifacts.iter().collect();
    sorted.sort_by(|a, b| (&a.platform, &a.name).cmp(&(&b.platform, &b.name)));
    let mut layers: Vec<Value> = sorted
        .iter()
        .map(|a| {
            let mut annotations = serde_json::Map::new();
            annotations.insert(TITLE.into(), a.name.clone().into());
            if let Some(p) = &a.platform {
                annotations.insert(PLATFORM.into(), p.clone().into());
            }
            annotations.insert(
                URL.into(),
                crate::secret::redact(&a.url).into_owned().into(),
            );
            annotations.insert(TRUST.into(), trust_text(&a.trust).into());
            json!({
                "mediaType": LAYER_TYPE,
                "digest": format!("sha256:{}", a.sha256),
                "size": a.size,
                "annotations": annotations,
            })
        })
        .collect();
    let mut evidence: Vec<&EvidenceBlob> = evidence.iter().collect();
    evidence.sort_by(|a, b| a.of.cmp(&b.of));
    for e in evidence {
        layers.push(json!({
            "mediaType": EVIDENCE_TYPE,
            "digest": format!("sha256:{}", e.digest),
            "size": e.size,
            "annotations": { EVIDENCE_FOR: format!("sha256:{}", e.of) },
        }));
    }
    let doc = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {
            "mediaType": EMPTY_TYPE,
            "digest": empty_digest(),
            "size": EMPTY.len(),
            "data": "e30=",
        },
        "layers": layers,
        "annotations": { ITEM: item, VERSION: version },
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// The evidence blob a manifest this module wrote lists for the artifact
/// with sha256 `of`: its digest (hex) and size.
pub fn evidence_of(bytes: &[u8], of: &str) -> Option<(String, u64)> {
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    let want = format!("sha256:{of}");
    doc.get("layers")?.as_array()?.iter().find_map(|l| {
        if l.get("mediaType")?.as_str()? != EVIDENCE_TYPE
            || l.get("annotations")?.get(EVIDENCE_FOR)?.as_str()? != want
        {
            return None;
        }
        let digest = l.get("digest")?.as_str()?.strip_prefix("sha256:")?;
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some((digest.to_ascii_lowercase(), l.get("size")?.as_u64()?))
    })
}

/// Reads back a manifest this module wrote; `None` for anything else
/// (another tool's image, a damaged document).
pub fn parse(tag: &str, bytes: &[u8]) -> Option<Listed> {
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    if doc.get("artifactType")?.as_str()? != ARTIFACT_TYPE {
        return None;
    }
    let ann = doc.get("annotations")?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut artifacts = Vec::new();
    for layer in doc.get("layers")?.as_array()? {
        if layer.get("mediaType").and_then(Value::as_str) == Some(EVIDENCE_TYPE) {
            continue;
        }
        let a = layer.get("annotations");
        let get = |key: &str| a.and_then(|a| text(a, key));
        artifacts.push(ListedArtifact {
            name: get(TITLE).unwrap_or_default(),
            platform: get(PLATFORM),
            digest: text(layer, "digest")?,
            size: layer.get("size")?.as_u64()?,
            url: get(URL).unwrap_or_default(),
            trust: get(TRUST).unwrap_or_default(),
        });
    }
    Some(Listed {
        tag: tag.to_owned(),
        item: text(ann, ITEM)?,
        version: text(ann, VERSION)?,
        artifacts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(name: &str, platform: Option<&str>, bytes: &[u8]) -> Artifact {
        Artifact {
            platform: platform.map(str::to_owned),
            name: name.to_owned(),
            url: format!("https://example.invalid/{name}"),
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            trust: Trust {
                kind: TrustKind::ChecksumFile,
                by: Some("https://example.invalid/SHA256SUMS".into()),
            },
        }
    }

    #[test]
    fn tags_follow_the_oci_grammar_and_name_the_artifacts() {
        let a = [artifact("a.tar.gz", Some("linux/amd64"), b"a")];
        let b = [artifact("a.tar.gz", Some("linux/amd64"), b"b")];
        let t = tag("k3s", "v1.30.4+k3s1", &a);
        assert!(t.starts_with("k3s-v1.30.4_k3s1-"), "{t}");
        assert_ne!(t, tag("k3s", "v1.30.4+k3s1", &b));
        let long = tag(&"x".repeat(300), "1", &a);
        assert!(long.len() <= 128);
        let re = regex::Regex::new("^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$").unwrap_or_else(|_| {
            unreachable!("valid regex");
        });
        assert!(re.is_match(&t) && re.is_match(&long));
    }

    #[test]
    fn manifests_are_deterministic_and_read_back() {
        let one = [
            artifact("b", Some("linux/arm64"), b"2"),
            artifact("a", Some("linux/amd64"), b"1"),
        ];
        let mut two = one.clone();
        two.reverse();
        let ev = [EvidenceBlob {
            of: one[0].sha256.clone(),
            digest: sha256_hex(b"{}"),
            size: 2,
        }];
        let m = manifest("traefik", "3.3.4", &one, &ev);
        assert_eq!(m, manifest("traefik", "3.3.4", &two, &ev));
        assert_eq!(
            evidence_of(&m, &one[0].sha256),
            Some((sha256_hex(b"{}"), 2))
        );
        assert_eq!(evidence_of(&m, &one[1].sha256), None);
        let listed = parse("t", &m).unwrap_or_else(|| unreachable!("parses"));
        assert_eq!(listed.item, "traefik");
        assert_eq!(listed.version, "3.3.4");
        assert_eq!(listed.artifacts.len(), 2);
        assert_eq!(listed.artifacts[0].name, "a");
        assert_eq!(
            listed.artifacts[0].trust,
            "checksum-file https://example.invalid/SHA256SUMS"
        );
        assert_eq!(parse("t", b"{\"schemaVersion\":2}"), None);
        assert_eq!(parse("t", b"garbage"), None);
    }
}
