//! `schema/vendor.schema.json` is exactly what `vendor schema` prints.
//!
//! After changing the manifest model, regenerate the file with
//! `cargo run -- schema > schema/vendor.schema.json` (or
//! `UPDATE_SCHEMA=1 cargo test --test schema`) and commit it.

use std::path::Path;

const COMMITTED: &str = "schema/vendor.schema.json";

#[test]
fn committed_schema_matches_the_model() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    let generated = vendor::manifest::schema::schema_text();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &generated));
        if let Err(err) = written {
            panic!("cannot write {}: {err}", path.display());
        }
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{COMMITTED} is out of date with the manifest model; regenerate it with \
         `cargo run -- schema > {COMMITTED}` (or `UPDATE_SCHEMA=1 cargo test --test schema`) \
         and commit it"
    );
}

#[test]
fn generated_schema_is_valid_json_schema() {
    let schema = vendor::manifest::schema::schema();
    assert!(jsonschema::meta::is_valid(&schema));
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}
