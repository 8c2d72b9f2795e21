//! YAML key paths, optionally narrowed by a regex inside the value.
//!
//! Path segments are mapping keys; an all-digit segment indexes a sequence
//! when the node there is a sequence (and is a key otherwise). Every
//! document of a multi-document file is searched, and each one where the
//! path resolves yields a match (a mapping with the same key twice yields
//! both).
//!
//! The node at the path must be a single-line plain, single-quoted or
//! double-quoted scalar. The match is its content (inside the quotes), the
//! value its decoded text. With a regex, each non-empty `version` group of
//! the regex in the scalar's source text is a match, valued as the raw text.
//!
//! New values keep the scalar's style: escaped in double quotes, quotes
//! doubled in single quotes. A plain scalar is only rewritten when the new
//! text reads back as the same plain scalar of the same type (a string stays
//! a string, `1.2` stays a float), so a value like `a: b`, `x #y`, `*ref` or
//! `true` is refused rather than changing the document.

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, Lines, Match, PinError};
use crate::yaml::{self as tree, Kind, Node, Style};

/// How a matched YAML value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Enc {
    style: Quoting,
    /// The match is the whole scalar (a path pin), not a regex group in it.
    whole: bool,
    /// The match starts where the scalar's content starts.
    at_start: bool,
    /// For plain scalars, the type the whole scalar resolves to.
    plain_type: Option<PlainType>,
    /// The scalar is inside a flow collection (`[...]`, `{...}`), where
    /// `,[]{}` end a plain scalar.
    flow: bool,
}

/// The scalar styles that can be rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    Plain,
    Single,
    Double,
}

/// What a plain scalar resolves to under the YAML 1.1 or 1.2 core schema;
/// the first non-string reading of either wins, because consumers use both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlainType {
    Str,
    Null,
    Bool,
    Int,
    Float,
    Timestamp,
}

impl PlainType {
    fn name(self) -> &'static str {
        match self {
            PlainType::Str => "a string",
            PlainType::Null => "null",
            PlainType::Bool => "a boolean",
            PlainType::Int => "an integer",
            PlainType::Float => "a float",
            PlainType::Timestamp => "a timestamp",
        }
    }
}

/// Parses every document of `text` once for any number of lookups.
pub(super) fn parse_docs(text: &str, index: &Lines) -> Result<Vec<Node>, PinError> {
    tree::parse(text).map_err(|e| {
        PinError::Parse(format!(
            "invalid YAML at line {}: {}",
            index.line(e.offset),
            e.message
        ))
    })
}

/// Every match of the path (and regex) in parsed documents.
pub(super) fn find_in(
    docs: &[Node],
    path: &[String],
    regex: Option<&Regex>,
    text: &str,
    index: &Lines,
) -> Result<Vec<Found>, PinError> {
    let mut nodes = Vec::new();
    for doc in docs {
        resolve(doc, path, text, false, index, &mut nodes)?;
    }
    let mut found = Vec::new();
    for (node, flow) in nodes {
        let mut scalar = Scalar::new(node, text, index)?;
        scalar.flow = flow;
        match regex {
            None => found.push(scalar.whole(index)?),
            Some(re) => found.extend(scalar.groups(re, index)),
        }
    }
    Ok(found)
}

/// Collects the nodes at `path` below `node`, each with whether it is
/// inside a flow collection (`in_flow`: `node` is).
fn resolve<'a>(
    node: &'a Node,
    path: &[String],
    text: &str,
    in_flow: bool,
    index: &Lines,
    out: &mut Vec<(&'a Node, bool)>,
) -> Result<(), PinError> {
    let Some((segment, rest)) = path.split_first() else {
        out.push((node, in_flow));
        return Ok(());
    };
    let flow = in_flow || is_flow_collection(node, text);
    match &node.kind {
        Kind::Map(entries) => {
            for (_, value) in entries.iter().filter(|(k, _)| k.as_str() == Some(segment)) {
                resolve(value, rest, text, flow, index, out)?;
            }
        }
        Kind::Seq(items) => {
            if let Some(item) = sequence_index(segment).and_then(|i| items.get(i)) {
                resolve(item, rest, text, flow, index, out)?;
            }
        }
        Kind::Alias => return Err(not_editable(node, index, "an alias, which is not followed")),
        Kind::Scalar { .. } => {}
    }
    Ok(())
}

/// Where `path` stops matching in every document.
pub(super) fn miss(docs: &[Node], path: &[String]) -> Option<super::Miss> {
    let roots: Vec<&Node> = docs.iter().collect();
    super::deepest_miss(
        &roots,
        path,
        &|node: &Node, segment| match &node.kind {
            Kind::Map(entries) => entries
                .iter()
                .filter(|(k, _)| k.as_str() == Some(segment))
                .map(|(_, v)| v)
                .collect(),
            Kind::Seq(items) => sequence_index(segment)
                .and_then(|i| items.get(i))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        },
        &|node: &Node| match &node.kind {
            Kind::Map(entries) => entries
                .iter()
                .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                .collect(),
            Kind::Seq(items) => (0..items.len()).map(|i| i.to_string()).collect(),
            _ => Vec::new(),
        },
    )
}

/// Whether a collection is written in flow style: its text (after any
/// anchor or tag) opens with `[` or `{`.
fn is_flow_collection(node: &Node, text: &str) -> bool {
    let start = properties_end(text, node.span.start).map_or(node.span.start, |(s, _)| s);
    matches!(text.as_bytes().get(start), Some(b'[' | b'{'))
}

/// The sequence index an all-digit segment names.
fn sequence_index(segment: &str) -> Option<usize> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

fn not_editable(node: &Node, index: &Lines, what: &str) -> PinError {
    PinError::NotEditable {
        line: index.line(node.span.start),
        what: what.into(),
        place: String::new(),
    }
}

/// A rewritable scalar node.
struct Scalar<'a> {
    /// Byte range of the content (inside quotes).
    range: std::ops::Range<usize>,
    /// The source text of the content.
    raw: &'a str,
    /// The decoded value.
    value: &'a str,
    style: Quoting,
    line: usize,
    /// Inside a flow collection.
    flow: bool,
}

impl<'a> Scalar<'a> {
    /// Checks that `node` is a scalar whose content can be rewritten.
    fn new(node: &'a Node, text: &'a str, index: &Lines) -> Result<Self, PinError> {
        let (value, style) = match &node.kind {
            Kind::Scalar { value, style } => (value.as_str(), *style),
            Kind::Map(_) => return Err(not_editable(node, index, "a mapping")),
            Kind::Seq(_) => return Err(not_editable(node, index, "a sequence")),
            Kind::Alias => return Err(not_editable(node, index, "an alias")),
        };
        let style = match style {
            Style::Plain => Quoting::Plain,
            Style::SingleQuoted => Quoting::Single,
            Style::DoubleQuoted => Quoting::Double,
            Style::Literal | Style::Folded => {
                return Err(not_editable(node, index, "a block scalar (`|` or `>`)"));
            }
        };
        let located = match properties_end(text, node.span.start) {
            None => node
                .value_span()
                .filter(|_| Self::delimited(text, &node.span, style)),
            Some((_, true)) if style == Quoting::Plain => {
                return Err(not_editable(
                    node,
                    index,
                    "a tagged plain scalar, whose type the tag decides",
                ));
            }
            Some((start, _)) => Self::content_after_properties(text, start, node.span.end, style),
        };
        let (range, raw) = located
            .and_then(|r| Some((r.clone(), text.get(r)?)))
            .ok_or_else(|| {
                not_editable(node, index, "a scalar whose source could not be located")
            })?;
        if style == Quoting::Plain && raw.is_empty() {
            return Err(not_editable(node, index, "an empty value"));
        }
        Ok(Scalar {
            line: index.line(range.start),
            range,
            raw,
            value,
            style,
            flow: false,
        })
    }

    /// Whether the node's span is delimited as its style says: quotes
    /// around quoted scalars.
    fn delimited(text: &str, span: &std::ops::Range<usize>, style: Quoting) -> bool {
        let quote = match style {
            Quoting::Plain => return true,
            Quoting::Single => b'\'',
            Quoting::Double => b'"',
        };
        let bytes = text.as_bytes();
        span.len() >= 2
            && bytes.get(span.start) == Some(&quote)
            && bytes.get(span.end - 1) == Some(&quote)
    }

    /// The content range of a scalar whose text starts at `start`, after
    /// its anchor or tag; `end` is the parser's end of a plain scalar.
    fn content_after_properties(
        text: &str,
        start: usize,
        end: usize,
        style: Quoting,
    ) -> Option<std::ops::Range<usize>> {
        let bytes = text.as_bytes();
        let quote = match style {
            Quoting::Plain => return (start <= end).then_some(start..end),
            Quoting::Single => b'\'',
            Quoting::Double => b'"',
        };
        if bytes.get(start) != Some(&quote) {
            return None;
        }
        let mut i = start + 1;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' if style == Quoting::Double => i += 2,
                b'\'' if style == Quoting::Single && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                b if b == quote => return Some(start + 1..i),
                _ => i += 1,
            }
        }
        None
    }

    /// The whole scalar as a match. A plain one on one line must be
    /// exactly its value (no tag or other decoration); one written over
    /// several lines (folded plain, or quoted and continued) is matched as
    /// all its lines, which a new value replaces with one.
    fn whole(&self, index: &Lines) -> Result<Found, PinError> {
        let not_editable = |what: &str| PinError::NotEditable {
            line: self.line,
            what: what.into(),
            place: String::new(),
        };
        let several_lines = self.raw.contains(['\n', '\r']);
        if self.style == Quoting::Plain && !several_lines && self.raw != self.value {
            return Err(not_editable("a plain scalar whose text is not its value"));
        }
        Ok(Found {
            m: Match {
                range: self.range.clone(),
                line: index.line(self.range.start),
                value: self.value.to_owned(),
            },
            enc: super::Enc::Yaml(Enc {
                style: self.style,
                whole: true,
                at_start: true,
                plain_type: self.plain_type(),
                flow: self.flow,
            }),
        })
    }

    /// Each `version` group of `re` in the scalar's source text.
    fn groups(&self, re: &Regex, index: &Lines) -> Vec<Found> {
        super::pattern::version_groups(re, self.raw, self.range.start)
            .into_iter()
            .map(|(range, value)| Found {
                enc: super::Enc::Yaml(Enc {
                    style: self.style,
                    whole: false,
                    at_start: range.start == self.range.start,
                    plain_type: self.plain_type(),
                    flow: self.flow,
                }),
                m: Match {
                    line: index.line(range.start),
                    range,
                    value,
                },
            })
            .collect()
    }

    fn plain_type(&self) -> Option<PlainType> {
        (self.style == Quoting::Plain).then(|| plain_type(self.value))
    }
}

/// If a node starts with properties (`&anchor`, `!tag`), where its text
/// starts after them and the blanks that follow, and whether there is a tag.
fn properties_end(text: &str, start: usize) -> Option<(usize, bool)> {
    let bytes = text.as_bytes();
    let mut i = start;
    let mut tagged = false;
    while let Some(&b @ (b'&' | b'!')) = bytes.get(i) {
        tagged |= b == b'!';
        while bytes.get(i).is_some_and(|b| !b" \t\r\n,[]{}".contains(b)) {
            i += 1;
        }
        while bytes.get(i).is_some_and(|b| b" \t\r\n".contains(b)) {
            i += 1;
        }
    }
    (i > start).then_some((i, tagged))
}

/// `value` written at a place encoded as `enc`.
pub(super) fn encode(enc: Enc, value: &str) -> Result<String, String> {
    match (enc.style, enc.whole) {
        (Quoting::Double, true) => Ok(escape_double(value)),
        (Quoting::Single, true) => Ok(value.replace('\'', "''")),
        (Quoting::Double, false) => verbatim_in(value, &['"', '\\'], "a double-quoted"),
        (Quoting::Single, false) => verbatim_in(value, &['\''], "a single-quoted"),
        (Quoting::Plain, whole) => {
            check_plain(value, enc.at_start, enc.flow)?;
            if whole {
                check_plain_type(value, enc.plain_type)?;
            }
            Ok(value.to_owned())
        }
    }
}

/// `value` inside double quotes.
fn escape_double(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `value` as part of a quoted scalar's source, where the match is raw text
/// and so cannot be escaped.
fn verbatim_in(value: &str, forbidden: &[char], style: &str) -> Result<String, String> {
    match value.chars().find(|c| forbidden.contains(c)) {
        Some(c) => Err(format!(
            "`{c}` would need escaping inside {style} scalar, and the regex match is raw text"
        )),
        None => Ok(value.to_owned()),
    }
}

/// Checks that `value` reads back as the same plain scalar text, by the
/// YAML 1.2 rules for plain scalars (§7.3.3) in the scalar's context:
/// `,[]{}` are indicators only inside a flow collection (`flow`), `#`
/// starts a comment only after a blank, `:` ends a key only before a blank
/// (or, in flow, a flow indicator), and the first character must not be an
/// indicator (`at_start`: the value begins the scalar).
fn check_plain(value: &str, at_start: bool, flow: bool) -> Result<(), String> {
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        return Err(
            "a plain YAML scalar drops surrounding blanks; quote the value in the file".into(),
        );
    }
    if value.contains(": ") || value.contains(":\t") || value.ends_with(':') {
        return Err(
            "`: ` would start a mapping in a plain YAML scalar; quote the value in the file".into(),
        );
    }
    if value.contains(" #") || value.contains("\t#") {
        return Err(
            "` #` would start a comment in a plain YAML scalar; quote the value in the file".into(),
        );
    }
    if flow
        && let Some(c) = value
            .chars()
            .find(|c| matches!(c, ',' | '[' | ']' | '{' | '}'))
    {
        return Err(format!(
            "`{c}` would end a plain scalar inside a flow collection (`[...]` or `{{...}}`); quote the value in the file"
        ));
    }
    if at_start {
        check_plain_start(value)?;
    }
    Ok(())
}

/// Checks the first characters of a plain scalar (YAML 1.2
/// `ns-plain-first`): no indicator, except `-`, `?` and `:` followed by a
/// non-blank; and no document marker.
fn check_plain_start(value: &str) -> Result<(), String> {
    let mut chars = value.chars();
    let first = chars.next();
    let second = chars.next();
    let indicator = match first {
        Some('-' | '?' | ':') => second.is_none_or(|c| c == ' '),
        Some(c) => "&*!|>'\"%@`#,[]{}".contains(c),
        None => false,
    };
    if indicator || value.starts_with("---") || value.starts_with("...") {
        return Err(format!(
            "a plain YAML scalar cannot start with `{}`; quote the value in the file",
            first.unwrap_or(' ')
        ));
    }
    Ok(())
}

/// Checks that a whole plain scalar keeps its type.
fn check_plain_type(value: &str, old: Option<PlainType>) -> Result<(), String> {
    let new = plain_type(value);
    match old {
        Some(old) if old != new => Err(format!(
            "unquoted, it would read as {} where the file has {}; quote the value in the file",
            new.name(),
            old.name()
        )),
        _ => Ok(()),
    }
}

/// Anchored patterns of the non-string plain scalars of YAML 1.1 and 1.2
/// (core schema).
const TYPE_PATTERNS: [(PlainType, &str); 5] = [
    (PlainType::Null, r"^(~|null|Null|NULL|)$"),
    (
        PlainType::Bool,
        r"^(true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$",
    ),
    (
        PlainType::Int,
        r"^([-+]?[0-9][0-9_]*|0o[0-7]+|[-+]?0x[0-9a-fA-F_]+|[-+]?0b[01_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
    ),
    (
        PlainType::Float,
        r"^([-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|[-+]?\.[0-9][0-9_]*([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$",
    ),
    (
        PlainType::Timestamp,
        r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?$",
    ),
];

static TYPES: LazyLock<Vec<(PlainType, Regex)>> = LazyLock::new(|| {
    TYPE_PATTERNS
        .iter()
        .filter_map(|(ty, p)| Regex::new(p).ok().map(|re| (*ty, re)))
        .collect()
});

/// What the plain scalar `value` resolves to.
pub(crate) fn plain_type(value: &str) -> PlainType {
    TYPES
        .iter()
        .find(|(_, re)| re.is_match(value))
        .map_or(PlainType::Str, |(ty, _)| *ty)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{PlainType, TYPE_PATTERNS, TYPES, plain_type};
    use crate::pin::{Locator, Match, PinError, compile_version_regex, find, rewrite, split_path};

    fn loc(path: &str) -> Locator {
        Locator::Yaml {
            path: split_path(path).expect("path"),
            regex: None,
        }
    }

    fn loc_re(path: &str, re: &str) -> Locator {
        Locator::Yaml {
            path: split_path(path).expect("path"),
            regex: Some(compile_version_regex(re).expect("regex")),
        }
    }

    const SEED_FIRMWARE: &str =
        "build:\n  board: rpi4\n  firmware_ref: \"1.20240306\"   # pinned 2024-03\n";
    const SEED_WORKFLOW: &str = "on:\n  workflow_call:\n    inputs:\n      apt_snapshot:\n        type: string\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    env:\n      APT_SNAPSHOT: ${{ inputs.apt_snapshot || '20240301T000000Z' }}\n    steps:\n      - run: make\n";

    /// (file, path, expected [(line, value, source text of the range)])
    type Case = (
        &'static str,
        &'static str,
        &'static [(usize, &'static str, &'static str)],
    );

    const CASES: &[Case] = &[
        (
            SEED_FIRMWARE,
            "build.firmware_ref",
            &[(3, "1.20240306", "1.20240306")],
        ),
        ("a: 'it''s' # c\n", "a", &[(1, "it's", "it''s")]),
        ("a: \"x\\\"y\"\n", "a", &[(1, "x\"y", "x\\\"y")]),
        ("a: v1.2 # c\n", "a", &[(1, "v1.2", "v1.2")]),
        ("a: v1.2\r\nb: 2\r\n", "a", &[(1, "v1.2", "v1.2")]),
        ("a:\r\n  b: 'x'\r\n", "a.b", &[(2, "x", "x")]),
        ("é: ü\nk:\n  v: ö1\n", "k.v", &[(3, "ö1", "ö1")]),
        (
            "a: 1\n---\na: 2\n---\nb: 3\n",
            "a",
            &[(1, "1", "1"), (3, "2", "2")],
        ),
        ("a: 1\na: 2\n", "a", &[(1, "1", "1"), (2, "2", "2")]),
        ("s:\n  - x\n  - y: 1\n", "s.1.y", &[(3, "1", "1")]),
        ("s:\n  '0': z\n", "s.0", &[(2, "z", "z")]),
        ("s: [a, 'b', c]\n", "s.1", &[(1, "b", "b")]),
        ("m: {k: v1, j: v2}\n", "m.j", &[(1, "v2", "v2")]),
        ("v: &v v1 # c\n", "v", &[(1, "v1", "v1")]),
        ("v: &v 'v1'\n", "v", &[(1, "v1", "v1")]),
        ("v: &v \"v\\\"1\" # \"\n", "v", &[(1, "v\"1", "v\\\"1")]),
        ("v: !!str \"1.2\"\n", "v", &[(1, "1.2", "1.2")]),
        ("v: &v\n  1.2\n", "v", &[(2, "1.2", "1.2")]),
        ("v: [&a x, &b 'y']\n", "v.1", &[(1, "y", "y")]),
        ("a: 1\n", "b", &[]),
        ("a: 1\n", "a.b", &[]),
        ("s: [a]\n", "s.4", &[]),
        ("", "a", &[]),
        ("# only a comment\n", "a", &[]),
    ];

    #[test]
    fn finds_values() {
        for (text, path, want) in CASES {
            let got = find(&loc(path), text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let got: Vec<(usize, &str, &str)> = got
                .iter()
                .map(|m| (m.line, m.value.as_str(), &text[m.range.clone()]))
                .collect();
            assert_eq!(&got, want, "{text:?} {path}");
        }
    }

    #[test]
    fn not_editable_nodes() {
        let cases = [
            ("a: |\n  x\n", "a"),
            ("a: >-\n  x\n", "a"),
            ("a: {b: 1}\n", "a"),
            ("a: [1]\n", "a"),
            ("x: &r 1\na: *r\n", "a"),
            ("x: &r {b: 1}\na: *r\n", "a.b"),
            ("a:\n", "a"),
            ("a: !!str 1.2\n", "a"),
            ("a: !t &x 1.2\n", "a"),
        ];
        for (text, path) in cases {
            let err = find(&loc(path), text).expect_err(text);
            assert!(
                matches!(err, PinError::NotEditable { .. }),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn syntax_errors_are_parse_errors() {
        let err = find(&loc("a"), "a: [\n").expect_err("invalid");
        assert!(matches!(err, PinError::Parse(_)), "{err}");
    }

    #[test]
    fn seed_firmware_rewrite_keeps_quotes_and_comment() {
        let l = loc("build.firmware_ref");
        let ms = find(&l, SEED_FIRMWARE).expect("finds");
        let out = rewrite(&l, SEED_FIRMWARE, &ms, "1.20240501").expect("rewrites");
        assert_eq!(out, SEED_FIRMWARE.replace("1.20240306", "1.20240501"));
    }

    #[test]
    fn seed_workflow_regex_is_the_timestamp() {
        let l = loc_re(
            "jobs.build.env.APT_SNAPSHOT",
            r"'(?P<version>\d{8}T\d{6}Z)'",
        );
        let ms = find(&l, SEED_WORKFLOW).expect("finds");
        let start = SEED_WORKFLOW.find("20240301T000000Z").expect("present");
        assert_eq!(
            ms,
            vec![Match {
                range: start..start + 16,
                line: 10,
                value: "20240301T000000Z".into()
            }]
        );
        let out = rewrite(&l, SEED_WORKFLOW, &ms, "20240415T000000Z").expect("rewrites");
        assert_eq!(
            out,
            SEED_WORKFLOW.replace("20240301T000000Z", "20240415T000000Z")
        );
        assert!(
            rewrite(&l, SEED_WORKFLOW, &ms, "2024").is_err(),
            "the regex would no longer match"
        );
    }

    #[test]
    fn regex_in_quoted_scalars_refuses_escapes() {
        let l = loc_re("a", r"v(?P<version>\S+)");
        let text = "a: \"tool v1.2\"\nb: 'x'\n";
        let ms = find(&l, text).expect("finds");
        assert_eq!(ms.len(), 1);
        assert!(rewrite(&l, text, &ms, "1\"3").is_err());
        assert!(rewrite(&l, text, &ms, "1\\3").is_err());
        assert_eq!(
            rewrite(&l, text, &ms, "1.3").expect("rewrites"),
            "a: \"tool v1.3\"\nb: 'x'\n"
        );
    }

    #[test]
    fn quoted_values_are_escaped() {
        let l = loc("a");
        let text = "a: \"1\" # c\r\nb: 'x'\r\n";
        let ms = find(&l, text).expect("finds");
        assert_eq!(
            rewrite(&l, text, &ms, "q\"\\é").expect("rewrites"),
            "a: \"q\\\"\\\\é\" # c\r\nb: 'x'\r\n"
        );
        let l = loc("b");
        let ms = find(&l, text).expect("finds");
        assert_eq!(
            rewrite(&l, text, &ms, "it's").expect("rewrites"),
            "a: \"1\" # c\r\nb: 'it''s'\r\n"
        );
    }

    #[test]
    fn plain_values_that_change_meaning_are_refused() {
        let l = loc("a");
        let text = "a: v1.2\nb: 1\n";
        let ms = find(&l, text).expect("finds");
        for bad in [
            "x: y",
            "x #y",
            "x:",
            "*r",
            "&r",
            "!t",
            "|",
            ">",
            "'q",
            "\"q",
            "%x",
            "@x",
            "`x",
            "- x",
            "-",
            "? x",
            ": x",
            "[x]",
            "{x}",
            ",x",
            "]x",
            "#x",
            "---x",
            "...",
            "true",
            "null",
            "~",
            "1.3",
            "12",
            "2024-03-01",
            "yes",
            "0x1F",
            " x",
            "x ",
        ] {
            let err = rewrite(&l, text, &ms, bad).expect_err(bad);
            assert!(matches!(err, PinError::Unwritable { .. }), "{bad}: {err}");
        }
        for good in [
            "v1.3",
            "1.2.3",
            "1.2.3-rc.1",
            "-x",
            "a:b",
            "20240301T000000Z",
            "a,b",
            "x[1]",
            "x{y}",
            "x#y",
            ".",
        ] {
            let out = rewrite(&l, text, &ms, good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(out, format!("a: {good}\nb: 1\n"));
        }
    }

    /// YAML 1.2 §7.3.3 (example 7.10, "Plain Characters"): the same
    /// plain scalars written outside and inside a flow collection. Each
    /// row: the new value, and whether it can be written plain in block
    /// context and in flow context.
    const PLAIN_RULES: &[(&str, bool, bool)] = &[
        ("::vector", true, true),
        ("Up, up, and away!", true, false),
        ("http://example.com/foo#bar", true, true),
        ("-x", true, true),
        (": - ()", false, false),
        ("a,b", true, false),
        ("x[1]", true, false),
        ("x]", true, false),
        ("x{y}", true, false),
        ("x}", true, false),
        ("[x", false, false),
        ("{x", false, false),
        (",x", false, false),
        ("x#y", true, true),
        ("x #y", false, false),
        ("#x", false, false),
        ("a:b", true, true),
        ("a: b", false, false),
        ("a:", false, false),
        ("- x", false, false),
        ("? x", false, false),
        (".", true, true),
        ("x ", false, false),
        (" x", false, false),
    ];

    #[test]
    fn plain_scalar_rules_follow_the_context() {
        let block = "a: v1.2 # c\n";
        let flow = "a: [v1.2, x] # c\n";
        let in_map = "a: {k: v1.2}\n";
        for &(value, in_block, in_flow) in PLAIN_RULES {
            for (text, path, ok) in [
                (block, "a", in_block),
                (flow, "a.0", in_flow),
                (in_map, "a.k", in_flow),
            ] {
                let l = loc(path);
                let ms = find(&l, text).expect("finds");
                let got = rewrite(&l, text, &ms, value);
                assert_eq!(got.is_ok(), ok, "{value:?} in {text:?}: {got:?}");
                if let Ok(out) = got {
                    assert_eq!(out, text.replacen("v1.2", value, 1));
                    let again = find(&l, &out).expect("reads back");
                    assert_eq!(again[0].value, value, "{out:?}");
                }
            }
        }
    }

    #[test]
    fn a_lone_dot_is_a_string() {
        assert_eq!(plain_type("."), PlainType::Str);
        assert_eq!(plain_type(".5"), PlainType::Float);
        assert_eq!(plain_type("-.5"), PlainType::Float);
    }

    #[test]
    fn dotted_keys_are_reached_by_quoting() {
        let text = "metadata:\n  labels:\n    app.kubernetes.io/name: web\n    app.kubernetes.io/version: \"1.2.3\"\n";
        let l = loc(r#"metadata.labels."app.kubernetes.io/version""#);
        let ms = find(&l, text).expect("finds");
        assert_eq!(ms.len(), 1);
        assert_eq!(
            rewrite(&l, text, &ms, "1.2.4").expect("rewrites"),
            text.replace("1.2.3", "1.2.4")
        );
        // Unquoted, the dots separate keys that do not exist.
        let l = loc("metadata.labels.app.kubernetes.io/version");
        assert_eq!(find(&l, text).expect("parses"), vec![]);
    }

    #[test]
    fn a_path_that_matches_nothing_names_the_nearest_keys() {
        let text =
            "metadata:\n  labels:\n    app.kubernetes.io/version: \"1.2.3\"\n    tier: web\n";
        let miss = |path: &str| {
            let keys = split_path(path).expect("path");
            let parsed = crate::pin::Parsed::new(text);
            let m = crate::pin::miss(&parsed, &loc(path)).expect("a miss");
            (
                m.found.clone(),
                m.missing.clone(),
                m.keys.clone(),
                m.nearest(&keys),
            )
        };
        let (found, missing, keys, near) = miss("metadata.labels.app.kubernetes.io/version");
        assert_eq!(found, ["metadata", "labels"]);
        assert_eq!(missing, "app");
        assert_eq!(keys, ["app.kubernetes.io/version", "tier"]);
        assert_eq!(
            near.as_deref(),
            Some(r#"metadata.labels."app.kubernetes.io/version""#)
        );
        let (_, missing, _, near) = miss("metadata.lables.tier");
        assert_eq!(missing, "lables");
        assert_eq!(near.as_deref(), Some("metadata.labels.tier"));
        let parsed = crate::pin::Parsed::new(text);
        assert_eq!(
            crate::pin::miss(&parsed, &loc("metadata.labels.tier")),
            None
        );
    }

    #[test]
    fn scalars_over_several_lines_are_rewritten_on_one() {
        // (text, path, value found, new value, expected text)
        let cases = [
            (
                "a: 'one\n  two'\nb: x\n",
                "a",
                "one two",
                "v3",
                "a: 'v3'\nb: x\n",
            ),
            (
                "a: one\n  two\nb: x\n",
                "a",
                "one two",
                "v3",
                "a: v3\nb: x\n",
            ),
            (
                "a: \"one\\\n  two\" # c\r\nb: x\r\n",
                "a",
                "onetwo",
                "it\"s",
                "a: \"it\\\"s\" # c\r\nb: x\r\n",
            ),
            (
                "a: 'x\n\n  y'\n---\na: z\n",
                "a",
                "x\ny",
                "w",
                "a: 'w'\n---\na: w\n",
            ),
        ];
        for (text, path, value, new, want) in cases {
            let l = loc(path);
            let ms = find(&l, text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(ms[0].value, value, "{text:?}");
            let out = rewrite(&l, text, &ms, new).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(out, want);
        }
        // A regex inside a quoted scalar continued on the next line.
        let l = loc_re("args", r"--version=(?P<version>[0-9.]+)");
        let text = "args: \"--config=/etc/x\n  --version=1.2.3\"\n";
        let ms = find(&l, text).expect("finds");
        assert_eq!(
            rewrite(&l, text, &ms, "1.2.4").expect("rewrites"),
            text.replace("1.2.3", "1.2.4")
        );
        // What cannot be written says why.
        let l = loc("a");
        let text = "a: one\n  two\n";
        let ms = find(&l, text).expect("finds");
        let err = rewrite(&l, text, &ms, "x: y").expect_err("a mapping");
        assert!(err.to_string().contains("`: `"), "{err}");
    }

    #[test]
    fn not_editable_names_the_key_path_and_the_style() {
        let text = "spec:\n  v: |\n    1.2\n";
        let err = find(&loc("spec.v"), text).expect_err("block scalar");
        let msg = err.to_string();
        assert!(msg.contains("`yaml spec.v`"), "{msg}");
        assert!(msg.contains("at line "), "{msg}");
        assert!(msg.contains("block scalar"), "{msg}");
        assert!(!msg.contains("plain"), "{msg}");
    }

    #[test]
    fn anchored_values_are_rewritten_after_the_anchor() {
        let l = loc("x-version");
        let text = "x-version: &v \"1.2\" # c\nimage: *v\n";
        let ms = find(&l, text).expect("finds");
        assert_eq!(
            rewrite(&l, text, &ms, "1.3").expect("rewrites"),
            "x-version: &v \"1.3\" # c\nimage: *v\n"
        );
    }

    #[test]
    fn regex_in_a_plain_scalar_keeps_it_plain() {
        let l = loc_re("image", r"(?P<version>v[0-9.]+)");
        let text = "image: v1.2-alpine\n";
        let ms = find(&l, text).expect("finds");
        assert_eq!(ms.len(), 1);
        for bad in ["&v1", "v1 #x", "v1: x"] {
            assert!(rewrite(&l, text, &ms, bad).is_err(), "{bad}");
        }
        assert_eq!(
            rewrite(&l, text, &ms, "v1.3").expect("rewrites"),
            "image: v1.3-alpine\n"
        );
        // The whole scalar would become a number.
        let l = loc_re("n", r"x(?P<version>[0-9.]+)");
        let text = "n: 1x2\n";
        let ms = find(&l, text).expect("finds");
        assert!(rewrite(&l, text, &ms, "3").is_ok());
        let l = loc_re("n", r"(?P<version>[0-9]+x)");
        let ms = find(&l, text).expect("finds");
        assert!(
            rewrite(&l, text, &ms, "3.").is_err(),
            "`1x2` would become the float `3.2`"
        );
    }

    #[test]
    fn plain_numbers_stay_numbers() {
        let l = loc("a");
        let text = "a: 1.2\n";
        let ms = find(&l, text).expect("finds");
        assert_eq!(rewrite(&l, text, &ms, "1.3").expect("float"), "a: 1.3\n");
        assert!(rewrite(&l, text, &ms, "1.3.1").is_err(), "float to string");
    }

    #[test]
    fn rewrites_every_document() {
        let l = loc("a");
        let text = "a: 1\r\n---\r\na: \"1\"\r\n";
        let ms = find(&l, text).expect("finds");
        assert_eq!(ms.len(), 2);
        assert_eq!(
            rewrite(&l, text, &ms, "2").expect("rewrites"),
            "a: 2\r\n---\r\na: \"2\"\r\n"
        );
    }

    #[test]
    fn plain_types() {
        assert_eq!(TYPES.len(), TYPE_PATTERNS.len(), "every pattern compiles");
        let cases = [
            ("v1.2", PlainType::Str),
            ("1.2.3", PlainType::Str),
            ("20240301T000000Z", PlainType::Str),
            ("1.20240306", PlainType::Float),
            ("1e3", PlainType::Float),
            (".inf", PlainType::Float),
            ("12", PlainType::Int),
            ("0x1f", PlainType::Int),
            ("1:30", PlainType::Int),
            ("~", PlainType::Null),
            ("off", PlainType::Bool),
            ("2024-03-01", PlainType::Timestamp),
        ];
        for (value, ty) in cases {
            assert_eq!(plain_type(value), ty, "{value}");
        }
    }

    fn filler() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "# [ -~]{0,30}",
            "[a-y]{1,8}: [a-z0-9 .]{0,12}[a-z]",
            "[a-y]{1,8}: '[ -~&&[^']]{0,12}'",
            "[a-y]{1,8}:\n  - [a-z]{1,5}\n  - \"[a-z ]{0,5}\"",
            Just("---".to_owned()),
        ]
    }

    proptest! {
        #[test]
        fn rewrite_changes_only_the_value(
            before in prop::collection::vec(filler(), 0..6),
            after in prop::collection::vec(filler(), 0..6),
            crlf in any::<bool>(),
            quote in prop::sample::select(vec!["", "'", "\""]),
            comment in prop::option::of(" +# [ -~]{0,10}"),
            new in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}(-[a-z0-9]{1,6})?",
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            for l in &before { text.push_str(&l.replace('\n', nl)); text.push_str(nl); }
            text.push_str(&format!(
                "zpin:{nl}  value: {quote}v1.2.3{quote}{}{nl}",
                comment.unwrap_or_default()
            ));
            for l in &after { text.push_str(&l.replace('\n', nl)); text.push_str(nl); }
            // A plain `v…` string cannot become a number unquoted.
            let new = if quote.is_empty() { format!("v{new}") } else { new };

            let l = loc("zpin.value");
            let ms = find(&l, &text).expect("parses");
            prop_assert_eq!(ms.len(), 1);
            let r = ms[0].range.clone();
            let out = rewrite(&l, &text, &ms, &new).expect("rewrites");
            prop_assert_eq!(&out[..r.start], &text[..r.start]);
            prop_assert_eq!(&out[r.start + new.len()..], &text[r.end..]);
            prop_assert_eq!(&find(&l, &out).expect("parses")[0].value, &new);
        }

        #[test]
        fn regex_rewrite_changes_only_the_group(
            before in prop::collection::vec(filler(), 0..6),
            crlf in any::<bool>(),
            new in "[0-9]{8}T[0-9]{6}Z",
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            for l in &before { text.push_str(&l.replace('\n', nl)); text.push_str(nl); }
            text.push_str(&format!(
                "zjobs:{nl}  env:{nl}    APT_SNAPSHOT: ${{{{ inputs.apt_snapshot || '20240301T000000Z' }}}}{nl}"
            ));
            let l = loc_re("zjobs.env.APT_SNAPSHOT", r"'(?P<version>\d{8}T\d{6}Z)'");
            let ms = find(&l, &text).expect("parses");
            prop_assert_eq!(ms.len(), 1);
            let r = ms[0].range.clone();
            let out = rewrite(&l, &text, &ms, &new).expect("rewrites");
            prop_assert_eq!(&out[..r.start], &text[..r.start]);
            prop_assert_eq!(&out[r.end..], &text[r.end..]);
        }
    }
}
