//! Upstream checksum files: find the sha256 a file lists for an asset.
//!
//! Three shapes occur in the wild and all are read:
//!
//! - GNU `sha256sum` output: `<hex>  name` (text mode) or `<hex> *name`
//!   (binary mode); names may carry `./` or a directory
//!   (`dist/traefik_v3.3.4_linux_amd64.tar.gz`) and are matched by their
//!   file name too; a leading `\` marks an escaped name;
//! - BSD / `shasum --tag`: `SHA256 (name) = <hex>`;
//! - single-hash files (`foo.tar.gz.sha256`): one hex digest, optionally
//!   followed by a name.
//!
//! Blank lines, `#` comments, CRLF line ends and lines for other digest
//! algorithms are ignored. Only sha256 (64 hex digits) counts; results are
//! lowercase.

/// One `name → sha256` line. `name` is empty for a bare hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub sha256: String,
}

/// Why a checksum file gives no single hash for an asset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ChecksumError {
    #[error("the checksum file does not list `{asset}`")]
    #[diagnostic(code("vendor::checksum::not-listed"), help("{}", listed_help(listed)))]
    NotListed { asset: String, listed: Vec<String> },

    #[error("the checksum file lists `{asset}` with different hashes: {}", hashes.join(", "))]
    #[diagnostic(
        code("vendor::checksum::conflicting"),
        help("the file is ambiguous for this asset; name a checksum file that lists it once")
    )]
    Conflicting { asset: String, hashes: Vec<String> },
}

fn listed_help(listed: &[String]) -> String {
    const SHOWN: usize = 12;
    if listed.is_empty() {
        return "it holds no sha256 lines (another digest algorithm, or not a checksum file?)"
            .to_owned();
    }
    let mut names: Vec<&str> = listed.iter().take(SHOWN).map(String::as_str).collect();
    let more = listed.len().saturating_sub(SHOWN);
    if more > 0 {
        names.push("…");
    }
    let text = crate::diag::one_of(&names);
    format!("it lists {text}; check the asset name and the checksum file")
}

/// Every sha256 entry of a checksum file, in file order.
pub fn parse(text: &str) -> Vec<Entry> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    parse_bsd(line).or_else(|| parse_gnu(line))
}

/// `SHA256 (name) = hex`.
fn parse_bsd(line: &str) -> Option<Entry> {
    let rest = line
        .strip_prefix("SHA256")
        .or_else(|| line.strip_prefix("SHA2-256"))?;
    let rest = rest.trim_start().strip_prefix('(')?;
    let (name, hash) = rest.rsplit_once(')')?;
    let hash = hash.trim_start().strip_prefix('=')?.trim();
    is_sha256(hash).then(|| Entry {
        name: name.to_owned(),
        sha256: hash.to_ascii_lowercase(),
    })
}

/// `hex  name`, `hex *name`, `\hex  escaped-name`, or a bare `hex`.
fn parse_gnu(line: &str) -> Option<Entry> {
    let (escaped, line) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (hash, rest) = line
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((line, ""));
    if !is_sha256(hash) {
        return None;
    }
    let rest = rest.trim_start();
    let name = rest.strip_prefix('*').unwrap_or(rest);
    let name = if escaped {
        unescape(name)
    } else {
        name.to_owned()
    };
    Some(Entry {
        name,
        sha256: hash.to_ascii_lowercase(),
    })
}

/// GNU coreutils escapes `\` and newline in names of `\`-prefixed lines.
fn unescape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('\\')) => {
                out.push('\\');
                chars.next();
            }
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The name without `./` and without directories.
fn file_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn strip_dot_slash(name: &str) -> &str {
    let mut name = name;
    while let Some(rest) = name.strip_prefix("./") {
        name = rest;
    }
    name
}

/// The lowercase sha256 the checksum file `text` gives for `asset`.
///
/// Exact name matches (ignoring a leading `./`) win; otherwise entries
/// whose file name is `asset` count; otherwise a file holding a single
/// bare hash gives that hash. Several different hashes for the asset are
/// an error, not a guess.
pub fn lookup(text: &str, asset: &str) -> Result<String, ChecksumError> {
    let entries = parse(text);
    let wanted = strip_dot_slash(asset);
    let exact: Vec<&Entry> = entries
        .iter()
        .filter(|e| strip_dot_slash(&e.name) == wanted)
        .collect();
    let matches = if exact.is_empty() {
        entries
            .iter()
            .filter(|e| !e.name.is_empty() && file_name(&e.name) == file_name(wanted))
            .collect()
    } else {
        exact
    };
    if matches.is_empty() {
        return bare_hash(&entries).ok_or_else(|| ChecksumError::NotListed {
            asset: asset.to_owned(),
            listed: entries
                .iter()
                .filter(|e| !e.name.is_empty())
                .map(|e| e.name.clone())
                .collect(),
        });
    }
    let mut hashes: Vec<String> = matches.iter().map(|e| e.sha256.clone()).collect();
    hashes.sort();
    hashes.dedup();
    match <[String; 1]>::try_from(hashes) {
        Ok([hash]) => Ok(hash),
        Err(hashes) => Err(ChecksumError::Conflicting {
            asset: asset.to_owned(),
            hashes,
        }),
    }
}

/// The hash of a single-hash file: exactly one entry, without a name.
fn bare_hash(entries: &[Entry]) -> Option<String> {
    match entries {
        [only] if only.name.is_empty() => Some(only.sha256.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0c9f2b0ed5bc4fbd5b2a2cd2e8f2b0e5b5a2a0a0f8d2d7f4f0e5c7e8f6a9b1c2";
    const B: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const C: &str = "ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCD";

    fn traefik() -> String {
        format!(
            "{A}  traefik_v3.3.4_darwin_amd64.tar.gz\n\
             {B}  traefik_v3.3.4_linux_amd64.tar.gz\n\
             {C}  traefik_v3.3.4_linux_arm64.tar.gz\n\
             {A}  traefik_v3.3.4_windows_amd64.zip\n"
        )
    }

    #[test]
    fn traefik_style_checksums_txt() {
        let text = traefik();
        assert_eq!(parse(&text).len(), 4);
        assert_eq!(
            lookup(&text, "traefik_v3.3.4_linux_amd64.tar.gz").as_deref(),
            Ok(B)
        );
        assert_eq!(
            lookup(&text, "traefik_v3.3.4_linux_arm64.tar.gz"),
            Ok(C.to_ascii_lowercase())
        );
    }

    #[test]
    fn k3s_style_binary_mode_and_paths() {
        let text = format!(
            "{A} *k3s\n{B} *k3s-airgap-images-amd64.tar.zst\n{C}  ./e2e-tests/k3s-images.txt\n"
        );
        assert_eq!(lookup(&text, "k3s").as_deref(), Ok(A));
        assert_eq!(
            lookup(&text, "k3s-images.txt"),
            Ok(C.to_ascii_lowercase()),
            "matched by file name"
        );
        assert_eq!(
            lookup(&text, "./k3s-airgap-images-amd64.tar.zst").as_deref(),
            Ok(B)
        );
    }

    #[test]
    fn dot_slash_and_directories() {
        let text = format!("{A}  ./dist/tool-linux-amd64\n{B}  ./tool.tar.gz\n");
        assert_eq!(lookup(&text, "tool-linux-amd64").as_deref(), Ok(A));
        assert_eq!(lookup(&text, "dist/tool-linux-amd64").as_deref(), Ok(A));
        assert_eq!(lookup(&text, "tool.tar.gz").as_deref(), Ok(B));
    }

    #[test]
    fn single_hash_files() {
        assert_eq!(
            lookup(&format!("{A}\n"), "anything.tar.gz").as_deref(),
            Ok(A)
        );
        assert_eq!(
            lookup(&format!("{A}  tool.tar.gz\n"), "tool.tar.gz").as_deref(),
            Ok(A)
        );
        assert_eq!(lookup(A, "x").as_deref(), Ok(A), "no newline");
        let err = lookup(&format!("{A}  other.tar.gz\n"), "tool.tar.gz");
        assert!(
            matches!(err, Err(ChecksumError::NotListed { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn bsd_format() {
        let text = format!(
            "SHA256 (tool-linux-amd64.tar.gz) = {A}\nSHA512 (tool-linux-amd64.tar.gz) = {B}{B}\nSHA256 (name (1).zip) = {B}\n"
        );
        assert_eq!(lookup(&text, "tool-linux-amd64.tar.gz").as_deref(), Ok(A));
        assert_eq!(lookup(&text, "name (1).zip").as_deref(), Ok(B));
    }

    #[test]
    fn crlf_comments_bom_and_blank_lines() {
        let text = format!("\u{feff}# checksums\r\n\r\n{A}  a.tar.gz\r\n{B}  b.tar.gz\r\n");
        assert_eq!(lookup(&text, "a.tar.gz").as_deref(), Ok(A));
        assert_eq!(lookup(&text, "b.tar.gz").as_deref(), Ok(B));
        assert_eq!(parse(&text)[1].name, "b.tar.gz");
    }

    #[test]
    fn other_algorithms_are_ignored() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let text = format!("{md5}  a.tar.gz\n{B}{B}  a.tar.gz\n");
        assert!(parse(&text).is_empty());
        let err = lookup(&text, "a.tar.gz").expect_err("no sha256");
        let help = miette::Diagnostic::help(&err).map(|h| h.to_string());
        assert!(help.is_some_and(|h| h.contains("no sha256")));
    }

    #[test]
    fn not_listed_names_what_is() {
        let err = lookup(&traefik(), "traefik_v3.3.5_linux_amd64.tar.gz").expect_err("absent");
        match &err {
            ChecksumError::NotListed { listed, .. } => assert_eq!(listed.len(), 4),
            other => panic!("{other:?}"),
        }
        let help = miette::Diagnostic::help(&err)
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(
            help.contains("`traefik_v3.3.4_linux_amd64.tar.gz`"),
            "{help}"
        );
        assert_eq!(
            miette::Diagnostic::code(&err)
                .map(|c| c.to_string())
                .as_deref(),
            Some("vendor::checksum::not-listed")
        );
    }

    #[test]
    fn conflicting_entries_are_an_error() {
        let text = format!("{A}  linux/amd64/k3s\n{B}  linux/arm64/k3s\n");
        assert!(matches!(
            lookup(&text, "k3s"),
            Err(ChecksumError::Conflicting { .. })
        ));
        // The exact path still resolves.
        assert_eq!(lookup(&text, "linux/arm64/k3s").as_deref(), Ok(B));
        // The same hash twice is fine.
        let text = format!("{A}  k3s\n{A}  ./k3s\n");
        assert_eq!(lookup(&text, "k3s").as_deref(), Ok(A));
        // An exact match beats a file-name match.
        let text = format!("{A}  k3s\n{B}  bin/k3s\n");
        assert_eq!(lookup(&text, "k3s").as_deref(), Ok(A));
    }

    #[test]
    fn escaped_names() {
        let text = format!("\\{A}  dir\\\\name\\nwith-newline\n");
        assert_eq!(parse(&text)[0].name, "dir\\name\nwith-newline");
    }

    #[test]
    fn garbage_is_not_a_hash() {
        let text = "<html><body>404</body></html>\nzz  file\n";
        assert!(parse(text).is_empty());
        let not_hex = "g".repeat(64);
        assert!(parse(&format!("{not_hex}  f")).is_empty());
    }
}
