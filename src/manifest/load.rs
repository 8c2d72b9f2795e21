//! Loading `vendor.yaml` with positions.
//!
//! The pipeline collects every problem it can before giving up:
//!
//! 1. read the file;
//! 2. parse YAML into the span-aware tree of [`crate::yaml`] (a syntax
//!    error stops here: nothing after it can be trusted);
//! 3. expect exactly one document; reject duplicate keys (serde would keep
//!    one silently) and aliases; convert the tree to JSON, resolving plain
//!    scalars by the YAML 1.2 core schema;
//! 4. validate the JSON against the published schema ([`super::schema`]),
//!    mapping each violation back to the key or value it is about;
//! 5. only then deserialize into [`Manifest`].
//!
//! The tree is kept in [`Loaded`] so later checks ([`super::validate`],
//! pins, plans) can point at any key or value through a [`NodePath`].

use std::fmt;
use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};

use serde_json::{Map, Number, Value};

use super::model::Manifest;
use super::schema;
use crate::diag::{Problem, Problems, SourceFile, codes};
use crate::fsx::{NotUtf8, ReadError};
use crate::yaml::{self, Kind, Node, Style};

/// No valid manifest nests deeper than this; deeper input is refused
/// before any recursion could exhaust the stack.
const MAX_DEPTH: usize = 64;

/// A manifest that parsed and passed the schema, with everything needed to
/// point at its parts.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub manifest: Manifest,
    pub source: SourceFile,
    /// The YAML tree of the (single) document.
    pub root: Node,
    /// The manifest's directory: the base of every relative path in it.
    pub dir: PathBuf,
}

/// One step of a [`NodePath`]: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

impl From<&str> for PathSeg {
    fn from(key: &str) -> Self {
        PathSeg::Key(key.to_owned())
    }
}

impl From<String> for PathSeg {
    fn from(key: String) -> Self {
        PathSeg::Key(key)
    }
}

impl From<usize> for PathSeg {
    fn from(index: usize) -> Self {
        PathSeg::Index(index)
    }
}

/// A path from the document root to a node, e.g.
/// `items.traefik.pins[0].file`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NodePath(Vec<PathSeg>);

impl NodePath {
    /// The document root.
    pub fn root() -> Self {
        NodePath(Vec::new())
    }

    /// This path extended by a mapping key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segs = self.0.clone();
        segs.push(PathSeg::Key(key.into()));
        NodePath(segs)
    }

    /// This path extended by a sequence index.
    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(PathSeg::Index(index));
        NodePath(segs)
    }

    /// The path one step up; the root has none.
    pub fn parent(&self) -> Option<NodePath> {
        let (_, rest) = self.0.split_last()?;
        Some(NodePath(rest.to_vec()))
    }

    /// The last mapping key on the path (`file` for `pins[0].file`,
    /// `platforms` for `platforms[1]`).
    pub fn last_key(&self) -> Option<&str> {
        self.0.iter().rev().find_map(|seg| match seg {
            PathSeg::Key(k) => Some(k.as_str()),
            PathSeg::Index(_) => None,
        })
    }

    /// The path in backquotes for messages, or "the manifest" for the root.
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            "the manifest".to_owned()
        } else {
            format!("`{self}`")
        }
    }
}

impl Deref for NodePath {
    type Target = [PathSeg];

    fn deref(&self) -> &[PathSeg] {
        &self.0
    }
}

impl FromIterator<PathSeg> for NodePath {
    fn from_iter<I: IntoIterator<Item = PathSeg>>(iter: I) -> Self {
        NodePath(iter.into_iter().collect())
    }
}

impl fmt::Display for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSeg::Key(k) if i == 0 => f.write_str(k)?,
                PathSeg::Key(k) => write!(f, ".{k}")?,
                PathSeg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Which part of a mapping entry a span is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The key (`file` in `file: Makefile`); for sequence items and the
    /// root, the first line of the node.
    Key,
    /// The value; for collections and multi-line scalars its first line.
    Value,
}

/// Span lookups in a parsed document: the text plus its YAML tree.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a> {
    pub source: &'a SourceFile,
    pub root: &'a Node,
}

impl<'a> Doc<'a> {
    /// The key node (for a mapping entry) and value node at `path`.
    pub fn entry(&self, path: &[PathSeg]) -> Option<(Option<&'a Node>, &'a Node)> {
        let mut key = None;
        let mut node = self.root;
        for seg in path {
            let (k, v) = step(node, seg)?;
            key = k;
            node = v;
        }
        Some((key, node))
    }

    /// The node at `path`.
    pub fn node(&self, path: &[PathSeg]) -> Option<&'a Node> {
        self.entry(path).map(|(_, v)| v)
    }

    /// The key's span; for sequence items and the root, the node's first line.
    pub fn key_span(&self, path: &[PathSeg]) -> Option<Range<usize>> {
        let (key, value) = self.entry(path)?;
        Some(match key {
            Some(k) => k.span.clone(),
            None => self.head(value.span.clone()),
        })
    }

    /// The value's span (first line only for multi-line values); the key's
    /// span when the value is empty (`key:` with nothing after it).
    pub fn value_span(&self, path: &[PathSeg]) -> Option<Range<usize>> {
        let (key, value) = self.entry(path)?;
        if value.span.is_empty()
            && let Some(k) = key
        {
            return Some(k.span.clone());
        }
        Some(self.head(value.span.clone()))
    }

    /// The span of `part` at `path`, or of the key of the deepest ancestor
    /// that exists: always somewhere sensible to point.
    pub fn span(&self, path: &[PathSeg], part: Part) -> Range<usize> {
        let found = match part {
            Part::Key => self.key_span(path),
            Part::Value => self.value_span(path),
        };
        if let Some(span) = found {
            return span;
        }
        (0..path.len())
            .rev()
            .find_map(|n| self.key_span(&path[..n]))
            .unwrap_or(0..0)
    }

    /// A problem pointing at `part` of `path`.
    pub fn problem(
        &self,
        code: &'static str,
        message: impl Into<String>,
        path: &[PathSeg],
        part: Part,
    ) -> Problem {
        Problem::new(code, message).at(self.source, self.span(path, part))
    }

    /// A JSON pointer (`/items/traefik/pins/0`) as a path, with indices
    /// where the tree has sequences.
    pub fn path_of_pointer(&self, pointer: &str) -> NodePath {
        let mut node = Some(self.root);
        let mut segs = Vec::new();
        for raw in pointer.split('/').skip(1) {
            let key = raw.replace("~1", "/").replace("~0", "~");
            let seg = match (node.map(|n| &n.kind), key.parse::<usize>()) {
                (Some(Kind::Seq(_)), Ok(i)) => PathSeg::Index(i),
                _ => PathSeg::Key(key),
            };
            node = node.and_then(|n| step(n, &seg)).map(|(_, v)| v);
            segs.push(seg);
        }
        NodePath(segs)
    }

    /// `span` cut at the end of its first line.
    fn head(&self, span: Range<usize>) -> Range<usize> {
        let text = self.source.text.as_str();
        let end = text
            .get(span.clone())
            .and_then(|s| s.find('\n'))
            .map_or(span.end, |i| span.start + i);
        let trimmed = text
            .get(span.start..end)
            .map_or(end, |s| span.start + s.trim_end().len());
        span.start..trimmed
    }
}

/// One step down the tree: the key node (for mappings) and the value node.
fn step<'a>(node: &'a Node, seg: &PathSeg) -> Option<(Option<&'a Node>, &'a Node)> {
    match (&node.kind, seg) {
        (Kind::Map(_), PathSeg::Key(k)) => node.entry(k).map(|(k, v)| (Some(k), v)),
        (Kind::Seq(items), PathSeg::Index(i)) => items.get(*i).map(|v| (None, v)),
        (Kind::Seq(items), PathSeg::Key(k)) => {
            let i: usize = k.parse().ok()?;
            items.get(i).map(|v| (None, v))
        }
        _ => None,
    }
}

impl Loaded {
    /// Span lookups in this manifest.
    pub fn doc(&self) -> Doc<'_> {
        Doc {
            source: &self.source,
            root: &self.root,
        }
    }

    /// The span of `part` at `path`, if that node exists.
    pub fn span_of(&self, path: &[PathSeg], part: Part) -> Option<Range<usize>> {
        match part {
            Part::Key => self.doc().key_span(path),
            Part::Value => self.doc().value_span(path),
        }
    }

    /// The YAML node at `path`.
    pub fn node(&self, path: &[PathSeg]) -> Option<&Node> {
        self.doc().node(path)
    }

    /// A problem pointing at `part` of `path` (or the nearest ancestor).
    pub fn problem(
        &self,
        code: &'static str,
        message: impl Into<String>,
        path: &[PathSeg],
        part: Part,
    ) -> Problem {
        self.doc().problem(code, message, path, part)
    }

    /// Resolves a manifest-relative path against the manifest's directory.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }
}

/// Reads, parses and schema-checks the manifest at `path`. The path is
/// shown in diagnostics as given.
///
/// The file must be a regular file (a symlink to one is fine) of at most
/// [`crate::fsx::MAX_TEXT_FILE`] bytes of UTF-8.
pub fn load(path: &Path) -> Result<Loaded, Problems> {
    let text = crate::fsx::read_text(path, crate::fsx::MAX_TEXT_FILE).map_err(|err| {
        let name = path.display().to_string();
        Problems::one(name, unreadable(path, &err))
    })?;
    parse(SourceFile::new(path, text), dir_of(path))
}

/// Parses and schema-checks manifest text already in memory; `dir` is the
/// base for relative paths.
pub fn parse(source: SourceFile, dir: PathBuf) -> Result<Loaded, Problems> {
    let subject = source.name();
    let docs = yaml::parse(&source.text)
        .map_err(|err| Problems::one(&subject, syntax_problem(&source, &err)))?;
    let mut problems = Vec::new();
    let root = single_document(&source, docs, &mut problems)
        .ok_or_else(|| Problems::one(&subject, empty_problem(&source)))?;
    let value = Converter {
        source: &source,
        problems: &mut problems,
    }
    .convert(&root, 0);
    let doc = Doc {
        source: &source,
        root: &root,
    };
    problems.extend(schema::check(&doc, &value));
    if problems.is_empty() {
        match serde_json::from_value::<Manifest>(value) {
            Ok(manifest) => {
                return Ok(Loaded {
                    manifest,
                    source,
                    root,
                    dir,
                });
            }
            Err(err) => problems.push(deserialize_problem(&doc, &err)),
        }
    }
    sort_problems(&mut problems);
    Err(Problems::new(&subject, problems).unwrap_or_else(|| {
        Problems::one(&subject, Problem::new(codes::INTERNAL, "manifest rejected"))
    }))
}

/// Orders problems by position so a reader can fix them top to bottom.
pub(crate) fn sort_problems(problems: &mut [Problem]) {
    problems.sort_by_key(|p| p.span().map(|s| (s.start, s.end)));
}

/// The manifest's directory; `.` for a bare file name.
fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn unreadable(path: &Path, err: &ReadError) -> Problem {
    let help = match err {
        ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "create it, run from the directory holding it (`-C DIR`), or name it with `-f FILE`"
        }
        other => other.help(),
    };
    let message = format!("cannot read {}: {err}", path.display());
    match err {
        ReadError::NotUtf8(e) => not_utf8(codes::NOT_UTF8, path, e, message).help(help),
        _ => Problem::new(codes::UNREADABLE, message)
            .in_file(path)
            .help(help),
    }
}

/// A problem at the first byte of `path` that is not UTF-8: with a snippet
/// when the text around it can be shown, at its position otherwise.
pub(crate) fn not_utf8(code: &'static str, path: &Path, e: &NotUtf8, message: String) -> Problem {
    let problem = Problem::new(code, message);
    if e.utf16 {
        return problem.at_line_col(path, (e.line, e.column));
    }
    let source = SourceFile::new(path, e.lossy.clone());
    let span = one_char(&source.text, e.offset);
    problem.at(&source, span).label("not UTF-8")
}

fn syntax_problem(source: &SourceFile, err: &yaml::SyntaxError) -> Problem {
    if err.too_deep {
        return too_deep(source, err.offset);
    }
    Problem::new(codes::YAML_SYNTAX, format!("invalid YAML: {}", err.message))
        .at(source, one_char(&source.text, err.offset))
        .label(err.message.clone())
        .help("fix the YAML syntax here (indentation, a missing `:`, an unclosed quote or bracket)")
}

fn empty_problem(source: &SourceFile) -> Problem {
    Problem::new(
        codes::EMPTY,
        format!("{} holds no YAML document", source.name()),
    )
    .at(source, 0..0)
    .label("empty")
    .help("a manifest starts with `version: 1` and an `items:` mapping")
}

/// The first document; later documents are reported.
fn single_document(
    source: &SourceFile,
    docs: Vec<Node>,
    problems: &mut Vec<Problem>,
) -> Option<Node> {
    let count = docs.len();
    let mut docs = docs.into_iter();
    let first = docs.next()?;
    if let Some(second) = docs.next() {
        let start = second.span.start;
        problems.push(
            Problem::new(
                codes::MULTIPLE_DOCUMENTS,
                format!("{} holds {count} YAML documents; a manifest is one", source.name()),
            )
            .at(source, start..start)
            .label("a second document starts here")
            .help("remove the `---` separator and merge the documents, or move this one to its own file"),
        );
    }
    Some(first)
}

fn deserialize_problem(doc: &Doc<'_>, err: &serde_json::Error) -> Problem {
    Problem::new(
        codes::DESERIALIZE,
        format!("the manifest does not fit the model: {err}"),
    )
    .at(doc.source, doc.span(&[], Part::Key))
    .help("this should have been caught by the schema; please report it with the manifest")
}

fn too_deep(source: &SourceFile, offset: usize) -> Problem {
    Problem::new(
        codes::TOO_DEEP,
        format!("the manifest nests deeper than {MAX_DEPTH} levels"),
    )
    .at(source, offset..offset)
    .label("too deep")
    .help("a manifest is a few levels deep; check the indentation and brackets")
}

/// A span covering the character at `offset` (empty at the end or on a
/// line break), for point-like positions.
fn one_char(text: &str, offset: usize) -> Range<usize> {
    let offset = offset.min(text.len());
    match text.get(offset..).and_then(|rest| rest.chars().next()) {
        Some(c) if c != '\n' && c != '\r' => offset..offset + c.len_utf8(),
        _ => offset..offset,
    }
}

/// YAML tree → JSON, reporting duplicate keys, aliases and non-string keys
/// on the way.
struct Converter<'a> {
    source: &'a SourceFile,
    problems: &'a mut Vec<Problem>,
}

impl Converter<'_> {
    fn convert(&mut self, node: &Node, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            self.problems.push(too_deep(self.source, node.span.start));
            return Value::Null;
        }
        match &node.kind {
            Kind::Scalar { value, style } => scalar(value, *style),
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.convert(item, depth + 1))
                    .collect(),
            ),
            Kind::Map(entries) => self.map(entries, depth),
            Kind::Alias => {
                self.alias(node);
                Value::Null
            }
        }
    }

    fn map(&mut self, entries: &[(Node, Node)], depth: usize) -> Value {
        let mut map = Map::with_capacity(entries.len());
        for (i, (key, value)) in entries.iter().enumerate() {
            let Some(name) = self.key_name(key) else {
                continue;
            };
            if map.contains_key(name) {
                self.duplicate(name, key, &entries[..i]);
                continue;
            }
            let value = self.convert(value, depth + 1);
            map.insert(name.to_owned(), value);
        }
        Value::Object(map)
    }

    fn key_name<'n>(&mut self, key: &'n Node) -> Option<&'n str> {
        match &key.kind {
            Kind::Scalar { value, .. } => Some(value),
            Kind::Alias => {
                self.alias(key);
                None
            }
            Kind::Seq(_) | Kind::Map(_) => {
                let start = key.span.start;
                self.problems.push(
                    Problem::new(codes::WRONG_TYPE, "a mapping key must be a string")
                        .at(self.source, start..start)
                        .label("a list or mapping used as a key")
                        .help("write the key as plain text, e.g. `name:`"),
                );
                None
            }
        }
    }

    fn duplicate(&mut self, name: &str, key: &Node, before: &[(Node, Node)]) {
        let first = before.iter().find(|(k, _)| k.as_str() == Some(name));
        let mut problem = Problem::new(codes::DUPLICATE_KEY, format!("duplicate key `{name}`"))
            .at(self.source, key.span.clone());
        if let Some((first, _)) = first {
            let (line, _) = self.source.line_col(first.span.start);
            problem = problem
                .label(format!("`{name}` is already defined on line {line}"))
                .also(first.span.clone(), "first defined here");
        }
        self.problems.push(
            problem.help("remove or rename one of them; YAML parsers would silently keep only one"),
        );
    }

    fn alias(&mut self, node: &Node) {
        self.problems.push(
            Problem::new(codes::ALIAS, "YAML aliases are not supported in vendor.yaml")
                .at(self.source, node.span.clone())
                .label("alias")
                .help("write the value out in full instead of using an anchor (`&name`) and alias (`*name`)"),
        );
    }
}

/// A scalar as JSON: quoted and block scalars are strings; plain ones are
/// resolved by the YAML 1.2 core schema.
fn scalar(value: &str, style: Style) -> Value {
    match style {
        Style::Plain => plain_scalar(value),
        _ => Value::String(value.to_owned()),
    }
}

/// YAML 1.2 core schema resolution of a plain scalar: null, booleans,
/// integers (decimal, `0o`, `0x`), floats; anything else is a string.
pub(crate) fn plain_scalar(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = integer(s) {
        return Value::Number(n);
    }
    if is_float(s)
        && let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(s.to_owned())
}

fn integer(s: &str) -> Option<Number> {
    let radix =
        |digits: &str, radix: u32| u64::from_str_radix(digits, radix).ok().map(Number::from);
    if let Some(hex) = s.strip_prefix("0x") {
        return (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| radix(hex, 16))
            .flatten();
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return (!oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            .then(|| radix(oct, 8))
            .flatten();
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let unsigned = s.strip_prefix('+').unwrap_or(s);
    unsigned
        .parse::<i64>()
        .ok()
        .map(Number::from)
        .or_else(|| unsigned.parse::<u64>().ok().map(Number::from))
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`; infinities and
/// NaN have no JSON form and stay strings.
fn is_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty()),
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Loaded, Problems> {
        parse(SourceFile::new("vendor.yaml", text), PathBuf::from("."))
    }

    fn codes_of(text: &str) -> Vec<&'static str> {
        match parse_text(text) {
            Ok(_) => Vec::new(),
            Err(p) => p.codes(),
        }
    }

    const MINIMAL: &str =
        "version: 1\nitems:\n  k:\n    version: 1.2.3\n    source:\n      type: manual\n";

    #[test]
    fn resolves_plain_scalars_by_the_core_schema() {
        assert_eq!(plain_scalar("~"), Value::Null);
        assert_eq!(plain_scalar(""), Value::Null);
        assert_eq!(plain_scalar("True"), Value::Bool(true));
        assert_eq!(plain_scalar("12"), Value::from(12));
        assert_eq!(plain_scalar("-12"), Value::from(-12));
        assert_eq!(plain_scalar("0x1f"), Value::from(31));
        assert_eq!(plain_scalar("0o17"), Value::from(15));
        assert_eq!(plain_scalar("1.5"), Value::from(1.5));
        assert_eq!(plain_scalar("1e3"), Value::from(1000.0));
        assert_eq!(plain_scalar(".5"), Value::from(0.5));
        for s in [
            "3.3.4", "1.2.", "v1", "yes", "0x", "1e", ".", "-", ".inf", "1_000",
        ] {
            assert_eq!(plain_scalar(s), Value::String(s.into()), "{s}");
        }
        assert_eq!(plain_scalar("1."), Value::from(1.0));
    }

    #[test]
    fn loads_a_minimal_manifest() {
        let loaded = parse_text(MINIMAL).expect("valid");
        assert_eq!(loaded.manifest.items["k"].version, "1.2.3");
        let path = NodePath::root().key("items").key("k").key("version");
        assert_eq!(
            loaded.span_of(&path, Part::Value).map(|s| &MINIMAL[s]),
            Some("1.2.3")
        );
        assert_eq!(
            loaded.span_of(&path, Part::Key).map(|s| &MINIMAL[s]),
            Some("version")
        );
    }

    #[test]
    fn reports_duplicate_keys_with_the_first_line() {
        let text = "version: 1\nitems:\n  a:\n    version: x\n    source: {type: manual}\n  a:\n    version: y\n    source: {type: manual}\n";
        let err = parse_text(text).expect_err("duplicate");
        assert_eq!(err.codes(), [codes::DUPLICATE_KEY]);
        let p = &err.as_slice()[0];
        assert_eq!(p.line_col(), Some((6, 3)));
        assert!(miette::Diagnostic::labels(p).is_some_and(|l| l.count() == 2));
    }

    #[test]
    fn reports_aliases_and_extra_documents() {
        let text = "version: 1\nitems:\n  a: &x\n    version: x\n    source: {type: manual}\n  b: *x\n---\nfoo: 1\n";
        assert_eq!(codes_of(text), [codes::ALIAS, codes::MULTIPLE_DOCUMENTS]);
    }

    #[test]
    fn syntax_and_empty() {
        assert_eq!(codes_of("a: [\n"), [codes::YAML_SYNTAX]);
        assert_eq!(codes_of(""), [codes::EMPTY]);
        assert_eq!(codes_of("# only a comment\n"), [codes::EMPTY]);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(codes_of(&text).contains(&codes::TOO_DEEP));
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let err = load(Path::new("/nonexistent/vendor.yaml")).expect_err("missing");
        let p = &err.as_slice()[0];
        assert_eq!(p.code(), codes::UNREADABLE);
        assert!(p.message().contains("/nonexistent/vendor.yaml"));
        assert_eq!(
            p.location().map(|l| l.to_string()).as_deref(),
            Some("/nonexistent/vendor.yaml")
        );
    }

    #[test]
    fn node_paths_display_and_resolve_pointers() {
        let loaded = parse_text(MINIMAL).expect("valid");
        let path = NodePath::root()
            .key("items")
            .key("k")
            .key("pins")
            .index(0)
            .key("file");
        assert_eq!(path.to_string(), "items.k.pins[0].file");
        assert_eq!(path.last_key(), Some("file"));
        assert_eq!(NodePath::root().describe(), "the manifest");
        let resolved = loaded.doc().path_of_pointer("/items/k/source/type");
        assert_eq!(resolved.to_string(), "items.k.source.type");
        // Missing nodes fall back to the nearest existing ancestor's key.
        let span = loaded.doc().span(&path, Part::Value);
        assert_eq!(&MINIMAL[span], "k");
    }

    #[test]
    fn dir_of_bare_name_is_dot() {
        assert_eq!(dir_of(Path::new("vendor.yaml")), PathBuf::from("."));
        assert_eq!(dir_of(Path::new("a/vendor.yaml")), PathBuf::from("a"));
    }
}
