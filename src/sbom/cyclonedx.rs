//! CycloneDX 1.6 JSON.
//!
//! One `application` component per item (purl, version, description), its
//! downloads as `distribution` external references carrying their sha256,
//! and its installed files as nested `file` components with their sha256.
//! How each download was trusted, its platform and size, and each file's
//! mode and origin are `vendor:*` properties. The document has no serial
//! number and no timestamp unless one is given, so it is a pure function
//! of the lock.

use serde_json::{Value, json};

use super::{Entry, Inventory, trust_word};

/// The specification version written.
pub const SPEC_VERSION: &str = "1.6";

/// Renders the inventory; `timestamp` (RFC 3339) goes into the metadata.
pub fn render(inventory: &Inventory, tool_version: &str, timestamp: Option<&str>) -> String {
    let mut metadata = serde_json::Map::new();
    if let Some(ts) = timestamp {
        metadata.insert("timestamp".into(), json!(ts));
    }
    metadata.insert(
        "tools".into(),
        json!({"components": [{"type": "application", "name": "vendor", "version": tool_version}]}),
    );
    metadata.insert(
        "properties".into(),
        json!([{"name": "vendor:lock:sha256", "value": inventory.lock_sha256}]),
    );
    let components: Vec<Value> = inventory.items.iter().map(component).collect();
    let doc = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "version": 1,
        "metadata": Value::Object(metadata),
        "components": components,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn property(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

fn sha256(hex: &str) -> Value {
    json!([{"alg": "SHA-256", "content": hex}])
}

fn component(entry: &Entry) -> Value {
    let mut c = serde_json::Map::new();
    c.insert("type".into(), json!("application"));
    c.insert("bom-ref".into(), json!(format!("item:{}", entry.id)));
    c.insert("name".into(), json!(entry.id));
    c.insert("version".into(), json!(entry.version));
    if let Some(d) = &entry.description {
        c.insert("description".into(), json!(d));
    }
    c.insert("purl".into(), json!(entry.purl));
    let mut props = vec![property("vendor:source", &entry.source)];
    if let Some(repo) = &entry.repo {
        props.push(property("vendor:repository", repo));
    }
    if let Some(tag) = &entry.tag {
        props.push(property("vendor:tag", tag));
    }
    if let Some(commit) = &entry.commit {
        props.push(property("vendor:commit", commit));
    }
    let mut refs = Vec::new();
    for a in &entry.artifacts {
        let prefix = format!("vendor:download:{}", a.name);
        if let Some(p) = &a.platform {
            props.push(property(&format!("{prefix}:platform"), p));
        }
        props.push(property(&format!("{prefix}:size"), &a.size.to_string()));
        props.push(property(
            &format!("{prefix}:trust"),
            trust_word(a.trust.kind),
        ));
        if let Some(by) = &a.trust.by {
            props.push(property(&format!("{prefix}:trust-by"), by));
        }
        refs.push(json!({
            "type": "distribution",
            "url": a.url,
            "comment": a.name,
            "hashes": sha256(&a.sha256),
        }));
    }
    if !refs.is_empty() {
        c.insert("externalReferences".into(), Value::Array(refs));
    }
    c.insert("properties".into(), Value::Array(props));
    let files: Vec<Value> = entry
        .files
        .iter()
        .map(|f| {
            json!({
                "type": "file",
                "bom-ref": format!("file:{}:{}", entry.id, f.path),
                "name": f.path,
                "hashes": sha256(&f.sha256),
                "properties": [
                    property("vendor:mode", &f.mode),
                    property("vendor:from", &f.from),
                ],
            })
        })
        .collect();
    if !files.is_empty() {
        c.insert("components".into(), Value::Array(files));
    }
    Value::Object(c)
}
