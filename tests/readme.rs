//! Every YAML example in README.md is a valid manifest, or a valid part
//! of one: `vendor validate` accepts it, so the documentation cannot drift
//! from what the tool reads.
//!
//! A block that starts at the top level (`version: 1`) is validated as it
//! is. An indented block is a fragment of an item: it is placed in a
//! minimal item (whose keys it replaces), and the files its pins and keys
//! name are created, pin files holding the path they name.
#![allow(clippy::unwrap_used)]

mod support;

use serde_yaml::Value as Yaml;
use support::Tree;

/// The YAML code blocks of the README, with the line each starts on.
fn yaml_blocks(readme: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in readme.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```yaml" => current = Some((n + 2, String::new())),
            Some(_) if line.trim_start() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed code block");
    blocks
}

/// The item a fragment is placed in; the fragment's own keys replace
/// these.
const BASE_ITEM: &[(&str, &str)] = &[
    ("version", "    version: 3.3.4\n"),
    (
        "source",
        "    source: {type: github-release, repo: traefik/traefik, tag: \"v{version}\"}\n",
    ),
    ("platforms", "    platforms: [linux/amd64, linux/arm64]\n"),
    (
        "assets",
        "    assets:\n      - name: \"traefik_{tag}_{os}_{arch}.tar.gz\"\n        checksum: {file: \"traefik_{tag}_checksums.txt\"}\n        extract: {member: traefik}\n        install: \"dist/traefik-{os}-{arch}\"\n        mode: \"0755\"\n",
    ),
];

/// A manifest holding `block`: the block itself when it is one, else
/// the block as part of an item.
fn manifest_for(block: &str) -> String {
    let first = block
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .unwrap_or_default();
    let indent = first.len() - first.trim_start().len();
    if indent == 0 {
        return block.to_owned();
    }
    // Re-indent to the keys of an item (4 spaces).
    let fragment: String = block
        .lines()
        .map(|l| match l.get(indent..) {
            Some(rest) if l[..indent].trim().is_empty() => format!("    {rest}\n"),
            _ => format!("{}\n", l.trim_start()),
        })
        .collect();
    let own: Vec<&str> = fragment
        .lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
        .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k))
        .collect();
    let mut out = String::from("version: 1\nitems:\n  traefik:\n");
    for (key, text) in BASE_ITEM {
        if !own.contains(key) {
            out.push_str(text);
        }
    }
    out.push_str(&fragment);
    out
}

/// A file that `path` (the locator's key path) resolves in.
fn nested(keys: &[String], format: &str) -> String {
    match format {
        "json" => {
            let mut v = serde_json::json!("0");
            for k in keys.iter().rev() {
                v = serde_json::json!({ k.clone(): v });
            }
            v.to_string()
        }
        "toml" => {
            let quoted: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
            format!("{} = \"0\"\n", quoted.join("."))
        }
        _ => {
            let mut out = String::new();
            for (depth, k) in keys.iter().enumerate() {
                out.push_str(&"  ".repeat(depth));
                out.push_str(&format!("{k:?}:"));
                out.push_str(if depth + 1 == keys.len() {
                    " \"0\"\n"
                } else {
                    "\n"
                });
            }
            out
        }
    }
}

/// Splits a key path the way the README documents it.
fn keys_of(path: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', _) => quoted = !quoted,
            ('\\', true) => key.extend(chars.next()),
            ('.', false) => keys.push(std::mem::take(&mut key)),
            (c, _) => key.push(c),
        }
    }
    keys.push(key);
    keys
}

/// Creates the files the manifest's pins, signature keys, keyrings and
/// trusted roots name.
fn create_named_files(tree: &Tree, manifest: &str) {
    let doc: Yaml = serde_yaml::from_str(manifest).unwrap();
    let Some(items) = doc["items"].as_mapping() else {
        return;
    };
    for item in items.values() {
        for pin in item["pins"].as_sequence().into_iter().flatten() {
            let file = pin["file"].as_str().unwrap();
            let text = ["yaml", "json", "toml"]
                .iter()
                .find_map(|f| Some(nested(&keys_of(pin[*f].as_str()?), f)))
                .or_else(|| Some(format!("{} = 0\n", pin["make"].as_str()?)))
                .unwrap_or_else(|| "0\n".to_owned());
            tree.write(file, text);
        }
        let signatures = item["verify"]["signatures"].as_sequence();
        for sig in signatures.into_iter().flatten() {
            if let Some(key) = sig["key"].as_str() {
                tree.write(key, "");
            }
        }
        // Files an APT keyring or a Sigstore trusted root names.
        for file in [
            item["source"]["keyring"].as_str(),
            item["verify"]["attestation"]["trusted_root"].as_str(),
        ]
        .into_iter()
        .flatten()
        {
            tree.write(file, "");
        }
    }
}

#[test]
fn every_yaml_example_in_the_readme_validates() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = yaml_blocks(&readme);
    assert!(blocks.len() >= 3, "found only {} YAML blocks", blocks.len());
    let mut failures = Vec::new();
    for (line, block) in &blocks {
        let manifest = manifest_for(block);
        if let Err(e) = serde_yaml::from_str::<Yaml>(&manifest) {
            failures.push(format!("README.md:{line}: not YAML: {e}\n{manifest}"));
            continue;
        }
        let tree = Tree::new();
        tree.write("vendor.yaml", &manifest);
        create_named_files(&tree, &manifest);
        let out = tree.run(&["validate"]);
        if out.code != 0 {
            failures.push(format!(
                "README.md:{line}: vendor validate failed\n{manifest}\n{}",
                out.streams()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_readme_block_parser_sees_fragments_and_manifests() {
    let text = "x\n```yaml\nversion: 1\n```\n```sh\nno\n```\n  ```yaml\n    pins: []\n  ```\n";
    let blocks = yaml_blocks(text);
    assert_eq!(
        blocks,
        [
            (3, "version: 1\n".to_owned()),
            (9, "    pins: []\n".to_owned())
        ]
    );
    let m = manifest_for("    pins:\n      - file: a\n        make: X\n");
    assert!(m.starts_with("version: 1\nitems:\n  traefik:\n    version: 3.3.4\n"));
    assert!(m.ends_with("    pins:\n      - file: a\n        make: X\n"));
    assert_eq!(
        keys_of(r#"a."b.c".d"#),
        ["a", "b.c", "d"].map(String::from).to_vec()
    );
}
