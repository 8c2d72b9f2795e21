//! Pin locators: find the places in a file that hold an item's version and
//! rewrite exactly those bytes.
//!
//! Every locator reduces to the same thing: a list of [`Match`]es, each the
//! byte range of the value's text in the file. A rewrite replaces those
//! ranges and nothing else, so quotes, comments, blank lines, CRLF line
//! endings and other YAML documents stay as they were.
//!
//! Each format has its own module (`make`, `yaml`, `json`, `toml`, and
//! `pattern` for plain regexes; APT source lists are read by
//! [`crate::apt::sources`]). They report every match with the encoding
//! of its place (plain, quoted, number token, ...); [`rewrite`] encodes the
//! new value for that place, refuses values that would read back
//! differently, and checks the result by running the locator again.

use std::cell::OnceCell;
use std::ops::Range;

use crate::manifest::model::Pin;

/// A compiled locator of one pin.
#[derive(Debug, Clone)]
pub enum Locator {
    /// `NAME = value` in a Makefile (`=`, `:=`, `?=`, `::=`, `:::=`).
    Make(String),
    /// A YAML key path; with a regex, only its `version` group inside the
    /// scalar value is the pin.
    Yaml {
        path: Vec<String>,
        regex: Option<regex::Regex>,
    },
    /// A JSON key path.
    Json(Vec<String>),
    /// A TOML key path.
    Toml(Vec<String>),
    /// A regex with a named group `version`, anywhere in the file.
    Regex(regex::Regex),
    /// The snapshot timestamp in the URIs under a base URL of an APT
    /// source list ([`crate::apt::sources`]).
    AptSources(String),
}

/// One place a locator found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Byte range of the value's text in the file.
    pub range: Range<usize>,
    /// 1-based line of the value's start.
    pub line: usize,
    /// The value as the file holds it (decoded for quoted YAML/JSON/TOML
    /// strings).
    pub value: String,
}

/// Why a locator could not be used on a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("{0}")]
    Parse(String),
    /// The place exists but its value is not one that can be rewritten in
    /// place; `place` is the locator (its key path), `what` says what the
    /// value is.
    #[error("the value of `{place}` at line {line} cannot be rewritten: it is {what}")]
    NotEditable {
        line: usize,
        what: String,
        place: String,
    },
    #[error("`{value}` cannot be written here: {why}")]
    Unwritable { value: String, why: String },
}

impl Locator {
    /// Compiles the locator of `pin`. Errors are short sentences for
    /// diagnostics; `validate` reports them with the pin's position.
    pub fn from_pin(pin: &Pin) -> Result<Locator, String> {
        let regex = pin
            .regex
            .as_deref()
            .map(compile_version_regex)
            .transpose()?;
        let keys = pin.locator_keys();
        match (keys.as_slice(), regex) {
            (["make"], None) => Ok(Locator::Make(pin.make.clone().unwrap_or_default())),
            (["yaml"], None) => Ok(Locator::Yaml {
                path: split_path(pin.yaml.as_deref().unwrap_or_default())?,
                regex: None,
            }),
            (["yaml", "regex"], Some(re)) => Ok(Locator::Yaml {
                path: split_path(pin.yaml.as_deref().unwrap_or_default())?,
                regex: Some(re),
            }),
            (["json"], None) => Ok(Locator::Json(split_path(
                pin.json.as_deref().unwrap_or_default(),
            )?)),
            (["toml"], None) => Ok(Locator::Toml(split_path(
                pin.toml.as_deref().unwrap_or_default(),
            )?)),
            (["regex"], Some(re)) => Ok(Locator::Regex(re)),
            (["apt_sources"], None) => {
                let base = pin.apt_sources.as_deref().unwrap_or_default();
                let base = base.trim_end_matches('/');
                if !(base.starts_with("https://") || base.starts_with("http://")) {
                    return Err(format!(
                        "`apt_sources` is the snapshot base URL the list's URIs start with, \
                         not `{base}`"
                    ));
                }
                Ok(Locator::AptSources(base.to_owned()))
            }
            ([], _) => Err(
                "a pin needs a locator: one of `make`, `yaml`, `json`, `toml`, `regex`, \
                 `apt_sources`"
                    .into(),
            ),
            (keys, _) => Err(format!(
                "a pin takes one locator (or `yaml` with `regex`), found {}",
                keys.join(", ")
            )),
        }
    }

    /// The same locator at another key path (a key-path locator only).
    pub fn with_path(&self, keys: Vec<String>) -> Option<Locator> {
        match self {
            Locator::Yaml { regex, .. } => Some(Locator::Yaml {
                path: keys,
                regex: regex.clone(),
            }),
            Locator::Json(_) => Some(Locator::Json(keys)),
            Locator::Toml(_) => Some(Locator::Toml(keys)),
            Locator::Make(_) | Locator::Regex(_) | Locator::AptSources(_) => None,
        }
    }

    /// A short description for reports and the lock, e.g. `make TRAEFIK_VERSION`.
    pub fn describe(&self) -> String {
        match self {
            Locator::Make(name) => format!("make {name}"),
            Locator::Yaml { path, regex: None } => format!("yaml {}", join_path(path)),
            Locator::Yaml {
                path,
                regex: Some(re),
            } => {
                format!("yaml {} regex {}", join_path(path), re.as_str())
            }
            Locator::Json(path) => format!("json {}", join_path(path)),
            Locator::Toml(path) => format!("toml {}", join_path(path)),
            Locator::Regex(re) => format!("regex {}", re.as_str()),
            Locator::AptSources(base) => format!("apt_sources {base}"),
        }
    }
}

/// Reads a pin file: a regular file (or a symlink to one) of at most
/// [`crate::fsx::MAX_TEXT_FILE`] bytes of UTF-8. FIFOs and devices are
/// refused without being waited on; text that is not UTF-8 is reported
/// with the line and column of the first bad byte.
pub fn read_file(path: &std::path::Path) -> Result<String, crate::fsx::ReadError> {
    crate::fsx::read_text(path, crate::fsx::MAX_TEXT_FILE)
}

/// Compiles a pin regex and checks it has a `version` group.
pub fn compile_version_regex(pattern: &str) -> Result<regex::Regex, String> {
    // Validation and planning compile every pin's regex, and large trees
    // repeat the same few patterns thousands of times: compile each once.
    static COMPILED: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, regex::Regex>>,
    > = std::sync::LazyLock::new(Default::default);
    if let Ok(cache) = COMPILED.lock()
        && let Some(re) = cache.get(pattern)
    {
        return Ok(re.clone());
    }
    let re = regex::Regex::new(pattern).map_err(|e| format!("invalid regex: {e}"))?;
    if let Ok(mut cache) = COMPILED.lock() {
        cache.insert(pattern.to_owned(), re.clone());
    }
    if !re.capture_names().flatten().any(|n| n == "version") {
        return Err("the regex has no named group `version`; write `(?P<version>...)`".into());
    }
    Ok(re)
}

/// Splits a key path into its keys.
///
/// Keys are separated by single dots. A key that itself contains a dot
/// (`app.kubernetes.io/version`), a double quote, or is empty is written in
/// double quotes, inside which `\"` stands for `"` and `\\` for `\`:
/// `metadata.labels."app.kubernetes.io/version"`. Outside quotes a key is
/// taken literally and cannot contain `"`. An all-digit key also indexes a
/// sequence or array, quoted or not.
pub fn split_path(path: &str) -> Result<Vec<String>, String> {
    let bad = |why: &str| format!("`{path}` is not a key path: {why}");
    let mut keys = Vec::new();
    let mut chars = path.chars().peekable();
    loop {
        let mut key = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(bad("a quoted key is not closed with `\"`")),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c @ ('"' | '\\')) => key.push(c),
                        _ => {
                            return Err(bad(
                                "inside a quoted key, `\\` is only allowed before `\"` or `\\`",
                            ));
                        }
                    },
                    Some(c) => key.push(c),
                }
            }
            match chars.peek() {
                None | Some('.') => {}
                Some(_) => return Err(bad("a quoted key must be followed by `.` or the end")),
            }
        } else {
            while let Some(&c) = chars.peek() {
                match c {
                    '.' => break,
                    '"' => {
                        return Err(bad(
                            "`\"` inside a key; quote the whole key, e.g. `a.\"b.c\"`",
                        ));
                    }
                    _ => key.push(c),
                }
                chars.next();
            }
            if key.is_empty() {
                return Err(bad("segments are separated by single dots"));
            }
        }
        keys.push(key);
        // Past the dot, or at the end.
        if chars.next().is_none() {
            return Ok(keys);
        }
    }
}

/// Writes keys as a key path that [`split_path`] reads back: keys holding
/// a dot or a quote (or empty) are quoted, the rest written as they are.
pub fn join_path(keys: &[String]) -> String {
    let mut out = String::new();
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if key.is_empty() || key.contains(['.', '"']) {
            out.push('"');
            for c in key.chars() {
                if matches!(c, '"' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(key);
        }
    }
    out
}

mod json;
mod make;
mod pattern;
mod toml;
mod yaml;

/// A match together with how its bytes are written in the file, which
/// decides how a new value must be encoded there.
#[derive(Debug, Clone)]
struct Found {
    m: Match,
    enc: Enc,
}

/// The encoding of a match's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enc {
    /// A Makefile variable value, written verbatim.
    Make,
    /// A regex match anywhere in a file, written verbatim.
    Raw,
    Yaml(yaml::Enc),
    Json(json::Enc),
    Toml(toml::Enc),
}

/// All places `locator` matches in `text`, in file order.
///
/// Zero matches is not an error. Errors: the file does not parse as the
/// locator's format ([`PinError::Parse`]), or a place the locator reaches
/// holds something other than a single-line scalar
/// ([`PinError::NotEditable`]).
pub fn find(locator: &Locator, text: &str) -> Result<Vec<Match>, PinError> {
    find_in(&Parsed::new(text), locator)
}

/// [`find`] on a file parsed once for all the locators that read it: a
/// file with thousands of pins is parsed once, not once per pin.
pub fn find_in(parsed: &Parsed<'_>, locator: &Locator) -> Result<Vec<Match>, PinError> {
    Ok(found_in(parsed, locator)?
        .into_iter()
        .map(|f| f.m)
        .collect())
}

/// A file's text and its parses, each made on first use.
pub struct Parsed<'t> {
    text: &'t str,
    lines: OnceCell<Lines>,
    yaml: OnceCell<Result<Vec<crate::yaml::Node>, PinError>>,
    json: OnceCell<Result<json::Value, PinError>>,
    toml: OnceCell<Result<toml_edit::Document<&'t str>, PinError>>,
    apt_sources: OnceCell<Result<Vec<crate::apt::sources::Entry>, PinError>>,
}

impl<'t> Parsed<'t> {
    pub fn new(text: &'t str) -> Self {
        Parsed {
            text,
            lines: OnceCell::new(),
            yaml: OnceCell::new(),
            json: OnceCell::new(),
            toml: OnceCell::new(),
            apt_sources: OnceCell::new(),
        }
    }

    pub fn text(&self) -> &'t str {
        self.text
    }

    fn lines(&self) -> &Lines {
        self.lines.get_or_init(|| Lines::new(self.text))
    }

    /// The text read as an APT source list.
    pub fn apt_sources(&self) -> Result<&[crate::apt::sources::Entry], PinError> {
        self.apt_sources
            .get_or_init(|| crate::apt::sources::parse(self.text).map_err(PinError::Parse))
            .as_deref()
            .map_err(Clone::clone)
    }
}

fn found_in(parsed: &Parsed<'_>, locator: &Locator) -> Result<Vec<Found>, PinError> {
    found_at(parsed, locator).map_err(|e| match e {
        PinError::NotEditable { line, what, .. } => PinError::NotEditable {
            line,
            what,
            place: locator.describe(),
        },
        other => other,
    })
}

fn found_at(parsed: &Parsed<'_>, locator: &Locator) -> Result<Vec<Found>, PinError> {
    let (text, index) = (parsed.text, parsed.lines());
    let mut found = match locator {
        Locator::Make(name) => make::find(name, text, index)?,
        Locator::Yaml { path, regex } => {
            let docs = parsed
                .yaml
                .get_or_init(|| yaml::parse_docs(text, index))
                .as_ref()
                .map_err(Clone::clone)?;
            yaml::find_in(docs, path, regex.as_ref(), text, index)?
        }
        Locator::Json(path) => {
            let root = parsed
                .json
                .get_or_init(|| json::parse_doc(text, index))
                .as_ref()
                .map_err(Clone::clone)?;
            json::find_in(root, path, text, index)?
        }
        Locator::Toml(path) => {
            let doc = parsed
                .toml
                .get_or_init(|| toml::parse_doc(text, index))
                .as_ref()
                .map_err(Clone::clone)?;
            toml::find_in(doc, path, text, index)?
        }
        Locator::Regex(re) => pattern::find(re, text, index),
        Locator::AptSources(base) => {
            crate::apt::sources::snapshot_places(parsed.apt_sources()?, base)
                .into_iter()
                .map(|(range, line, value)| Found {
                    m: Match { range, line, value },
                    enc: Enc::Raw,
                })
                .collect()
        }
    };
    found.sort_by_key(|f| f.m.range.start);
    Ok(found)
}

/// Where a key path stops matching: the keys that resolve (`found`), the
/// first key that does not (`missing`), and the keys that exist there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    pub found: Vec<String>,
    pub missing: String,
    pub keys: Vec<String>,
}

impl Miss {
    /// The existing key path nearest to the one asked for: the key at the
    /// miss most like the missing one, or the one that starts the rest of
    /// the path when the path split a key holding dots
    /// (`app.kubernetes.io/version` asked for as `app` then `kubernetes`...).
    pub fn nearest(&self, wanted: &[String]) -> Option<String> {
        let rest = wanted.get(self.found.len()..).unwrap_or_default();
        let joined = rest.join(".");
        // The longest existing key made of the next keys joined by dots.
        let dotted = self
            .keys
            .iter()
            .filter(|k| k.contains('.'))
            .filter(|k| joined == **k || joined.starts_with(&format!("{k}.")))
            .max_by_key(|k| k.len());
        let mut path = self.found.clone();
        if let Some(key) = dotted {
            path.push(key.clone());
            let used = key.split('.').count();
            path.extend(rest.iter().skip(used).cloned());
            return Some(join_path(&path));
        }
        let near = crate::diag::suggest(&self.missing, &self.keys)?;
        path.push(near.to_owned());
        path.extend(rest.iter().skip(1).cloned());
        Some(join_path(&path))
    }
}

/// For a key-path locator that finds nothing in `parsed`, where the path
/// stops matching (`None` for other locators, files that do not parse, or
/// paths that resolve).
pub fn miss(parsed: &Parsed<'_>, locator: &Locator) -> Option<Miss> {
    let (text, index) = (parsed.text, parsed.lines());
    match locator {
        Locator::Yaml { path, .. } => {
            let docs = parsed
                .yaml
                .get_or_init(|| yaml::parse_docs(text, index))
                .as_ref()
                .ok()?;
            yaml::miss(docs, path)
        }
        Locator::Json(path) => {
            let root = parsed
                .json
                .get_or_init(|| json::parse_doc(text, index))
                .as_ref()
                .ok()?;
            json::miss(root, path)
        }
        Locator::Toml(path) => {
            let doc = parsed
                .toml
                .get_or_init(|| toml::parse_doc(text, index))
                .as_ref()
                .ok()?;
            toml::miss(doc, path)
        }
        Locator::Make(_) | Locator::Regex(_) | Locator::AptSources(_) => None,
    }
}

/// The deepest miss of `path` over several candidate nodes: `step` gives a
/// node's children under a key (several for repeated keys or documents)
/// and `keys` its key names.
fn deepest_miss<N: Copy>(
    roots: &[N],
    path: &[String],
    step: &dyn Fn(N, &str) -> Vec<N>,
    keys: &dyn Fn(N) -> Vec<String>,
) -> Option<Miss> {
    let mut level = roots.to_vec();
    for (depth, segment) in path.iter().enumerate() {
        let next: Vec<N> = level.iter().flat_map(|n| step(*n, segment)).collect();
        if next.is_empty() {
            let mut names: Vec<String> = Vec::new();
            for name in level.iter().flat_map(|n| keys(*n)) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            return Some(Miss {
                found: path[..depth].to_vec(),
                missing: segment.clone(),
                keys: names,
            });
        }
        level = next;
    }
    None
}

fn find_all(locator: &Locator, text: &str) -> Result<Vec<Found>, PinError> {
    found_in(&Parsed::new(text), locator)
}

/// Replaces the bytes of every match in `matches` with `new_value`, encoded
/// for its place (escaped inside double quotes, quotes doubled inside single
/// quotes, and so on), and returns the new text. Bytes outside the matches
/// never change.
///
/// `matches` must come from [`find`] on the same `text`. A value that cannot
/// be written at a place without changing the file's meaning (a plain YAML
/// scalar that would read as another type or a comment, a JSON number that
/// would no longer be a number, a `'` inside a TOML literal string, a `#` in
/// a Makefile value, ...) is refused with [`PinError::Unwritable`]. As a
/// last check, the locator is run on the new text: it must find the same
/// places, on the same lines, now holding `new_value`.
pub fn rewrite(
    locator: &Locator,
    text: &str,
    matches: &[Match],
    new_value: &str,
) -> Result<String, PinError> {
    let unwritable = |why: String| PinError::Unwritable {
        value: new_value.to_owned(),
        why,
    };
    check_value(new_value).map_err(unwritable)?;
    let found = find_all(locator, text)?;
    let targets = select(&found, matches).map_err(unwritable)?;
    let mut edits = Vec::with_capacity(targets.len());
    for f in &targets {
        let encoded = encode(f, new_value).map_err(unwritable)?;
        edits.push((f.m.range.clone(), encoded));
    }
    let out = splice(text, &edits).map_err(unwritable)?;
    verify(locator, text, &found, &edits, &out, new_value).map_err(unwritable)?;
    Ok(out)
}

/// Rules for every new value: a version is one non-empty line of text.
fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("a pinned value cannot be empty".into());
    }
    if value.chars().any(char::is_control) {
        return Err(
            "a pinned value cannot contain line breaks, tabs or other control characters".into(),
        );
    }
    Ok(())
}

/// The found places named by `matches`, in file order, each once.
fn select(found: &[Found], matches: &[Match]) -> Result<Vec<Found>, String> {
    let mut targets: Vec<Found> = Vec::with_capacity(matches.len());
    for m in matches {
        let f = found.iter().find(|f| f.m == *m).ok_or_else(|| {
            format!(
                "the locator no longer finds `{}` at line {}; the file changed since it was read",
                m.value, m.line
            )
        })?;
        targets.push(f.clone());
    }
    targets.sort_by_key(|f| f.m.range.start);
    targets.dedup_by(|a, b| a.m.range == b.m.range);
    if targets
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.m.range.end > b.m.range.start))
    {
        return Err("the matches overlap".into());
    }
    Ok(targets)
}

/// `value` encoded for the place `f`.
fn encode(f: &Found, value: &str) -> Result<String, String> {
    match f.enc {
        Enc::Make => make::encode(value),
        Enc::Raw => Ok(value.to_owned()),
        Enc::Yaml(enc) => yaml::encode(enc, value),
        Enc::Json(enc) => json::encode(enc, value),
        Enc::Toml(enc) => toml::encode(enc, value),
    }
}

/// `text` with each range replaced by its new text; ranges are sorted and
/// disjoint.
fn splice(text: &str, edits: &[(Range<usize>, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + edits.len() * 16);
    let mut last = 0;
    for (range, new) in edits {
        let before = text
            .get(last..range.start)
            .ok_or("a match range is not inside the file")?;
        out.push_str(before);
        out.push_str(new);
        last = range.end;
    }
    out.push_str(
        text.get(last..)
            .ok_or("a match range is not inside the file")?,
    );
    Ok(out)
}

/// Runs the locator on the rewritten text: every place found before must be
/// found again at its shifted position and line, with the same encoding,
/// holding `new_value` where it was rewritten and its old value elsewhere;
/// and nothing else may be found.
fn verify(
    locator: &Locator,
    text: &str,
    before: &[Found],
    edits: &[(Range<usize>, String)],
    out: &str,
    new_value: &str,
) -> Result<(), String> {
    let after = find_all(locator, out)
        .map_err(|e| format!("the rewritten file would not be read back the same: {e}"))?;
    if after.len() != before.len() {
        return Err(format!(
            "the locator would find {} places after the rewrite instead of {}",
            after.len(),
            before.len()
        ));
    }
    for (old, new) in before.iter().zip(&after) {
        let (expected_range, expected_value, expected_line) =
            shifted(text, &old.m, edits, new_value);
        if new.m.range != expected_range
            || new.m.line != expected_line
            || new.m.value != expected_value
            || new.enc != old.enc
        {
            return Err(format!(
                "the place at line {} would read back as `{}` (line {}), not `{}`",
                expected_line, new.m.value, new.m.line, expected_value
            ));
        }
    }
    Ok(())
}

/// Where `m` lies after `edits`, the value it should hold there, and its
/// line: a value written over several lines and rewritten on one moves the
/// places after it up.
fn shifted<'a>(
    text: &str,
    m: &'a Match,
    edits: &[(Range<usize>, String)],
    new_value: &'a str,
) -> (Range<usize>, &'a str, usize) {
    let mut start = m.range.start;
    let mut line = m.line;
    let mut own = None;
    let breaks = |s: &str| s.matches('\n').count();
    for (range, new) in edits {
        if *range == m.range {
            own = Some(new.len());
        } else if range.end <= m.range.start {
            start = (start + new.len()).saturating_sub(range.len());
            let old = text.get(range.clone()).map_or(0, breaks);
            line = (line + breaks(new)).saturating_sub(old);
        }
    }
    match own {
        Some(len) => (start..start + len, new_value, line),
        None => (start..start + m.range.len(), &m.value, line),
    }
}

/// Byte offsets of line starts, to turn offsets into 1-based lines.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines(starts)
    }

    /// The 1-based line holding byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&s| s <= offset).max(1)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn make(name: &str) -> Locator {
        Locator::Make(name.to_owned())
    }

    #[test]
    fn rewrite_of_no_matches_changes_nothing() {
        let l = make("X");
        assert_eq!(rewrite(&l, "Y = 1\n", &[], "2"), Ok("Y = 1\n".to_owned()));
    }

    #[test]
    fn rewrite_can_take_some_of_the_matches() {
        let l = make("X");
        let text = "X = 1\nX = 1\n";
        let ms = find(&l, text).expect("finds");
        assert_eq!(ms.len(), 2);
        let out = rewrite(&l, text, &ms[1..], "22").expect("rewrites");
        assert_eq!(out, "X = 1\nX = 22\n");
        let out = rewrite(
            &l,
            text,
            &[ms[1].clone(), ms[0].clone(), ms[1].clone()],
            "3",
        )
        .expect("rewrites");
        assert_eq!(out, "X = 3\nX = 3\n");
    }

    #[test]
    fn matches_not_from_the_text_are_refused() {
        let l = make("X");
        let bogus = Match {
            range: 0..100,
            line: 1,
            value: "1".into(),
        };
        let err = rewrite(&l, "X = 1\n", &[bogus], "2").expect_err("bogus");
        assert!(matches!(err, PinError::Unwritable { .. }), "{err}");
    }

    #[test]
    fn parse_errors_pass_through() {
        let l = Locator::Json(vec!["a".into()]);
        let err = rewrite(&l, "{", &[], "1").expect_err("invalid");
        assert!(matches!(err, PinError::Parse(_)), "{err}");
    }

    #[test]
    fn key_paths_quote_keys_with_dots() {
        let ok: &[(&str, &[&str])] = &[
            ("a.b", &["a", "b"]),
            (
                r#"metadata.labels."app.kubernetes.io/version""#,
                &["metadata", "labels", "app.kubernetes.io/version"],
            ),
            (r#""a.b".c"#, &["a.b", "c"]),
            (r#"a."say \"hi\"""#, &["a", r#"say "hi""#]),
            (r#"a."back\\slash""#, &["a", r"back\slash"]),
            (r"a.back\slash", &["a", r"back\slash"]),
            (r#"a."""#, &["a", ""]),
            ("a.0", &["a", "0"]),
        ];
        for (path, keys) in ok {
            let got = split_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(got, *keys, "{path}");
            assert_eq!(split_path(&join_path(&got)).as_deref(), Ok(&got[..]));
        }
        for bad in [
            "",
            "a..b",
            "a.",
            ".a",
            r#"a."b"#,
            r#"a."b"c"#,
            r#"a.b"c"#,
            r#"a."\x""#,
        ] {
            assert!(split_path(bad).is_err(), "{bad:?}");
        }
        assert_eq!(join_path(&["a".into(), "b.c".into()]), r#"a."b.c""#);
        let l = Locator::Yaml {
            path: split_path(r#"metadata.labels."app.kubernetes.io/version""#).expect("path"),
            regex: None,
        };
        assert_eq!(
            l.describe(),
            r#"yaml metadata.labels."app.kubernetes.io/version""#
        );
    }

    #[test]
    fn lines_are_one_based() {
        let lines = Lines::new("ab\ncd\n\nx");
        let got: Vec<usize> = [0, 2, 3, 5, 6, 7, 8, 99].map(|o| lines.line(o)).to_vec();
        assert_eq!(got, vec![1, 1, 2, 2, 3, 4, 4, 4]);
    }

    fn locators() -> Vec<Locator> {
        let re = |p: &str| compile_version_regex(p).expect("valid regex");
        vec![
            make("A"),
            Locator::Yaml {
                path: vec!["a".into()],
                regex: None,
            },
            Locator::Yaml {
                path: vec!["a".into(), "0".into()],
                regex: Some(re(r"(?P<version>[0-9.]+)")),
            },
            Locator::Json(vec!["a".into()]),
            Locator::Json(vec!["a".into(), "0".into()]),
            Locator::Toml(vec!["a".into()]),
            Locator::Toml(vec!["a".into(), "0".into()]),
            Locator::Regex(re(r"A(?P<version>[0-9.]+)")),
        ]
    }

    proptest! {
        /// `find` and `rewrite` return errors, never panic, on any text; and
        /// a successful rewrite only touches the matched bytes.
        #[test]
        fn never_panics_and_keeps_other_bytes(
            text in prop_oneof![
                "\\PC{0,60}",
                "[aA0-9.:=?#'\"{}\\[\\], \\-|>&*!\\\\\r\n\t]{0,60}",
            ],
            new in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}",
        ) {
            for l in locators() {
                let Ok(ms) = find(&l, &text) else { continue };
                for m in &ms {
                    prop_assert_eq!(text.get(m.range.clone()).is_some(), true);
                }
                if let Ok(out) = rewrite(&l, &text, &ms, &new) {
                    let mut last = 0;
                    let mut shift: isize = 0;
                    for m in &ms {
                        let a = (last as isize + shift) as usize;
                        let b = (m.range.start as isize + shift) as usize;
                        prop_assert_eq!(out.get(a..b), text.get(last..m.range.start));
                        shift += new.len() as isize - m.range.len() as isize;
                        last = m.range.end;
                    }
                    let tail = (last as isize + shift) as usize;
                    prop_assert_eq!(out.get(tail..), text.get(last..));
                }
            }
        }
    }
}
