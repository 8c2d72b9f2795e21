//! SPDX 2.3 JSON.
//!
//! One package per item (version, purl as a `PACKAGE-MANAGER` external
//! reference, the commit or download URL as its download location), one
//! package per download (its URL, its SHA256, `primaryPackagePurpose`
//! `ARCHIVE` or `FILE`, and how it was trusted in its comment), and one
//! package per installed file (purpose `FILE`, its SHA256). Installed
//! files are packages rather than SPDX files because an SPDX 2.3 file
//! must carry a SHA1, which the lock (rightly) does not record.
//! Relationships: the document `DESCRIBES` each item, an item `CONTAINS`
//! its downloads and files, a file is `GENERATED_FROM` the download it
//! was extracted from.
//!
//! SPDX requires a creation time and a unique namespace. Without
//! `--timestamp` the time is the Unix epoch, so the bytes depend on the
//! lock alone; the namespace is derived from the lock's sha256.

use serde_json::{Value, json};

use super::{Entry, Inventory, trust_word};

/// The creation time written when none is asked for.
pub const EPOCH: &str = "1970-01-01T00:00:00Z";

/// Renders the inventory; `timestamp` (RFC 3339) is the creation time.
pub fn render(inventory: &Inventory, tool_version: &str, timestamp: Option<&str>) -> String {
    let mut ids = Ids::default();
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    for entry in &inventory.items {
        item_packages(entry, &mut ids, &mut packages, &mut relationships);
    }
    let doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "vendored binaries",
        "documentNamespace": format!("https://vendor.invalid/spdx/lock-{}", inventory.lock_sha256),
        "creationInfo": {
            "created": timestamp.unwrap_or(EPOCH),
            "creators": [format!("Tool: vendor-{tool_version}")],
        },
        "packages": packages,
        "relationships": relationships,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Hands out `SPDXRef-` ids: the allowed characters (letters, digits,
/// `.`, `-`) of a readable name, made unique with a counter.
#[derive(Default)]
struct Ids {
    n: usize,
}

impl Ids {
    fn next(&mut self, kind: &str, name: &str) -> String {
        self.n += 1;
        let clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("SPDXRef-{kind}-{}-{clean}", self.n)
    }
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({"spdxElementId": from, "relationshipType": kind, "relatedSpdxElement": to})
}

fn sha256(hex: &str) -> Value {
    json!([{"algorithm": "SHA256", "checksumValue": hex}])
}

fn no_assertion(package: &mut serde_json::Map<String, Value>) {
    for key in ["licenseConcluded", "licenseDeclared", "copyrightText"] {
        package.insert(key.into(), json!("NOASSERTION"));
    }
}

fn item_packages(
    entry: &Entry,
    ids: &mut Ids,
    packages: &mut Vec<Value>,
    relationships: &mut Vec<Value>,
) {
    let item_id = ids.next("Item", &entry.id);
    let mut p = serde_json::Map::new();
    p.insert("SPDXID".into(), json!(item_id));
    p.insert("name".into(), json!(entry.id));
    p.insert("versionInfo".into(), json!(entry.version));
    let location = match (&entry.repo, &entry.commit) {
        (Some(repo), Some(commit)) => format!("git+https://github.com/{repo}@{commit}"),
        _ => "NOASSERTION".to_owned(),
    };
    p.insert("downloadLocation".into(), json!(location));
    p.insert("filesAnalyzed".into(), json!(false));
    p.insert("primaryPackagePurpose".into(), json!("APPLICATION"));
    if let Some(d) = &entry.description {
        p.insert("description".into(), json!(d));
    }
    let mut comment = format!("vendor item; source: {}", entry.source);
    if let Some(tag) = &entry.tag {
        comment.push_str(&format!("; tag: {tag}"));
    }
    p.insert("comment".into(), json!(comment));
    no_assertion(&mut p);
    p.insert(
        "externalRefs".into(),
        json!([{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": entry.purl,
        }]),
    );
    packages.push(Value::Object(p));
    relationships.push(relationship("SPDXRef-DOCUMENT", "DESCRIBES", &item_id));

    let mut download_ids = Vec::new();
    for a in &entry.artifacts {
        let id = ids.next("Download", &a.name);
        let mut trust = format!("trust: {}", trust_word(a.trust.kind));
        if let Some(by) = &a.trust.by {
            trust.push_str(&format!(" ({by})"));
        }
        let platform = a
            .platform
            .as_deref()
            .map(|p| format!("; platform: {p}"))
            .unwrap_or_default();
        let purpose = if crate::manifest::validate::archive_format_of(&a.name).is_some() {
            "ARCHIVE"
        } else {
            "FILE"
        };
        let mut p = serde_json::Map::new();
        p.insert("SPDXID".into(), json!(id));
        p.insert("name".into(), json!(a.name));
        p.insert("versionInfo".into(), json!(entry.version));
        p.insert("downloadLocation".into(), json!(a.url));
        p.insert("filesAnalyzed".into(), json!(false));
        p.insert("primaryPackagePurpose".into(), json!(purpose));
        p.insert("checksums".into(), sha256(&a.sha256));
        p.insert(
            "comment".into(),
            json!(format!(
                "download of {}; {} bytes{platform}; {trust}",
                entry.id, a.size
            )),
        );
        no_assertion(&mut p);
        packages.push(Value::Object(p));
        relationships.push(relationship(&item_id, "CONTAINS", &id));
        download_ids.push((a, id));
    }
    for f in &entry.files {
        let id = ids.next("File", &f.path);
        let mut p = serde_json::Map::new();
        p.insert("SPDXID".into(), json!(id));
        p.insert("name".into(), json!(f.path));
        p.insert("versionInfo".into(), json!(entry.version));
        p.insert("downloadLocation".into(), json!("NOASSERTION"));
        p.insert("filesAnalyzed".into(), json!(false));
        p.insert("primaryPackagePurpose".into(), json!("FILE"));
        p.insert("checksums".into(), sha256(&f.sha256));
        p.insert(
            "comment".into(),
            json!(format!(
                "installed file of {}; mode {}; from {}",
                entry.id, f.mode, f.from
            )),
        );
        no_assertion(&mut p);
        packages.push(Value::Object(p));
        relationships.push(relationship(&item_id, "CONTAINS", &id));
        if let Some((_, source)) = download_ids
            .iter()
            .find(|(a, _)| origin_is(&f.from, &a.name))
        {
            relationships.push(relationship(&id, "GENERATED_FROM", source));
        }
    }
}

/// Whether an installed file's `from` (`ASSET` or `ASSET!MEMBER`) names
/// the download `name`.
fn origin_is(from: &str, name: &str) -> bool {
    from.split('!').next() == Some(name)
}
