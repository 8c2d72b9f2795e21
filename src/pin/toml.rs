//! TOML key paths, resolved with `toml_edit`, which keeps every value's
//! byte span.
//!
//! Path segments go through tables, inline tables and dotted keys alike
//! (`a.b.c` finds `[a] b.c = …`, `[a.b] c = …` and `a = { b = { c = … } }`);
//! an all-digit segment indexes an array or an array of tables. TOML keys
//! are unique, so a path matches at most once.
//!
//! The value must be a single-line string, an integer, a float or a date-time.
//! For a basic (`"…"`) or literal (`'…'`) string the match is the text inside
//! the quotes and the value is decoded; a new value is escaped in a basic
//! string and refused in a literal string if it holds a `'`. Multi-line
//! strings, booleans, arrays and tables are not editable. Integers, floats
//! and date-times are matched as their token and may only be replaced by a
//! token of the same type (`3` by `4`, not by `4.1` or `4.1.0`).

use toml_edit::{Item, Table, Value};

use super::{Found, Lines, Match, PinError};

/// How a matched TOML value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enc {
    /// `"…"`.
    Basic,
    /// `'…'`.
    Literal,
    Integer,
    Float,
    Datetime,
}

impl Enc {
    fn name(self) -> &'static str {
        match self {
            Enc::Basic => "a basic string",
            Enc::Literal => "a literal string",
            Enc::Integer => "an integer",
            Enc::Float => "a float",
            Enc::Datetime => "a date-time",
        }
    }
}

/// A position in the document tree.
#[derive(Clone, Copy)]
enum Cursor<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

/// Parses `text` once for any number of lookups.
pub(super) fn parse_doc<'t>(
    text: &'t str,
    index: &Lines,
) -> Result<toml_edit::Document<&'t str>, PinError> {
    toml_edit::Document::parse(text).map_err(|e| {
        let line = e.span().map_or(1, |s| index.line(s.start));
        PinError::Parse(format!(
            "invalid TOML at line {line}: {}",
            e.message().trim_end()
        ))
    })
}

/// The value at `path` in a parsed document, if the path resolves.
pub(super) fn find_in(
    doc: &toml_edit::Document<&str>,
    path: &[String],
    text: &str,
    index: &Lines,
) -> Result<Vec<Found>, PinError> {
    let mut cursor = Cursor::Item(doc.as_item());
    for segment in path {
        match step(cursor, segment) {
            Some(next) => cursor = next,
            None => return Ok(Vec::new()),
        }
    }
    Ok(vec![to_found(cursor, text, index)?])
}

/// Where `path` stops matching.
pub(super) fn miss(doc: &toml_edit::Document<&str>, path: &[String]) -> Option<super::Miss> {
    super::deepest_miss(
        &[Cursor::Item(doc.as_item())],
        path,
        &|cursor, segment| step(cursor, segment).into_iter().collect(),
        &|cursor| match cursor {
            Cursor::Item(Item::Table(t)) | Cursor::Table(t) => {
                t.iter().map(|(k, _)| k.to_owned()).collect()
            }
            Cursor::Item(Item::Value(Value::InlineTable(t)))
            | Cursor::Value(Value::InlineTable(t)) => t.iter().map(|(k, _)| k.to_owned()).collect(),
            Cursor::Item(Item::ArrayOfTables(a)) => (0..a.len()).map(|i| i.to_string()).collect(),
            Cursor::Item(Item::Value(Value::Array(a))) | Cursor::Value(Value::Array(a)) => {
                (0..a.len()).map(|i| i.to_string()).collect()
            }
            _ => Vec::new(),
        },
    )
}

/// The child of `cursor` named by `segment`.
fn step<'a>(cursor: Cursor<'a>, segment: &str) -> Option<Cursor<'a>> {
    match cursor {
        Cursor::Item(Item::Table(t)) | Cursor::Table(t) => t.get(segment).map(Cursor::Item),
        Cursor::Item(Item::ArrayOfTables(a)) => array_index(segment)
            .and_then(|i| a.get(i))
            .map(Cursor::Table),
        Cursor::Item(Item::Value(v)) | Cursor::Value(v) => match v {
            Value::InlineTable(t) => t.get(segment).map(Cursor::Value),
            Value::Array(a) => array_index(segment)
                .and_then(|i| a.get(i))
                .map(Cursor::Value),
            _ => None,
        },
        Cursor::Item(Item::None) => None,
    }
}

/// The array index an all-digit segment names.
fn array_index(segment: &str) -> Option<usize> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

fn to_found(cursor: Cursor<'_>, text: &str, index: &Lines) -> Result<Found, PinError> {
    let value = match cursor {
        Cursor::Item(Item::Value(v)) | Cursor::Value(v) => v,
        Cursor::Item(Item::Table(t)) | Cursor::Table(t) => {
            return Err(not_editable(t.span(), index, "a table"));
        }
        Cursor::Item(Item::ArrayOfTables(a)) => {
            return Err(not_editable(a.span(), index, "an array of tables"));
        }
        Cursor::Item(Item::None) => return Err(not_editable(None, index, "an empty item")),
    };
    let position = value.span();
    let not_editable = |what: &str| not_editable(position.clone(), index, what);
    let span = position
        .clone()
        .ok_or_else(|| not_editable("a value without a position"))?;
    let raw = text
        .get(span.clone())
        .ok_or_else(|| not_editable("a value without a position"))?;
    let (range, decoded, enc) = match value {
        Value::String(s) => {
            if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
                return Err(not_editable("a multi-line string"));
            }
            let enc = if raw.starts_with('\'') {
                Enc::Literal
            } else {
                Enc::Basic
            };
            let inner = span.start + 1..span.end.saturating_sub(1);
            (inner, s.value().clone(), enc)
        }
        Value::Integer(_) => (span, raw.to_owned(), Enc::Integer),
        Value::Float(_) => (span, raw.to_owned(), Enc::Float),
        Value::Datetime(_) => (span, raw.to_owned(), Enc::Datetime),
        Value::Boolean(_) => return Err(not_editable("a boolean")),
        Value::Array(_) => return Err(not_editable("an array")),
        Value::InlineTable(_) => return Err(not_editable("an inline table")),
    };
    Ok(Found {
        m: Match {
            line: index.line(range.start),
            range,
            value: decoded,
        },
        enc: super::Enc::Toml(enc),
    })
}

fn not_editable(span: Option<std::ops::Range<usize>>, index: &Lines, what: &str) -> PinError {
    PinError::NotEditable {
        line: span.map_or(1, |s| index.line(s.start)),
        what: what.into(),
        place: String::new(),
    }
}

/// `value` written at a place encoded as `enc`.
pub(super) fn encode(enc: Enc, value: &str) -> Result<String, String> {
    match enc {
        Enc::Basic => Ok(escape_basic(value)),
        Enc::Literal if value.contains('\'') => {
            Err("a TOML literal string cannot hold `'`; use a basic string in the file".into())
        }
        Enc::Literal => Ok(value.to_owned()),
        Enc::Integer | Enc::Float | Enc::Datetime => {
            let got = token_type(value);
            if got == Some(enc) {
                Ok(value.to_owned())
            } else {
                Err(format!(
                    "the file holds {} here and this is {}; quote the value in the file to pin \
                     it as a string",
                    enc.name(),
                    got.map_or("not a TOML value", Enc::name)
                ))
            }
        }
    }
}

/// `value` as the content of a basic string.
fn escape_basic(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The type of the bare token `value`, if it is one TOML integer, float or
/// date-time.
fn token_type(value: &str) -> Option<Enc> {
    if value.contains(['\n', '\r', '#', '=', '"', '\'', '[', '{']) {
        return None;
    }
    let doc = toml_edit::Document::parse(format!("v = {value}")).ok()?;
    let v = doc.get("v")?.as_value()?;
    if v.span() != Some(4..4 + value.len()) {
        return None;
    }
    match v {
        Value::Integer(_) => Some(Enc::Integer),
        Value::Float(_) => Some(Enc::Float),
        Value::Datetime(_) => Some(Enc::Datetime),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Enc, token_type};
    use crate::pin::{Locator, Match, PinError, find, rewrite, split_path};

    fn loc(path: &str) -> Locator {
        Locator::Toml(split_path(path).expect("path"))
    }

    /// (file, path, expected [(line, value, source text of the range)])
    type Case = (
        &'static str,
        &'static str,
        &'static [(usize, &'static str, &'static str)],
    );

    const CASES: &[Case] = &[
        ("v = \"1.2\"\n", "v", &[(1, "1.2", "1.2")]),
        ("v = '1.2' # c\n", "v", &[(1, "1.2", "1.2")]),
        (
            "v = \"a\\\"b\\u00e9\"\n",
            "v",
            &[(1, "a\"bé", "a\\\"b\\u00e9")],
        ),
        ("v = 'C:\\x'\n", "v", &[(1, "C:\\x", "C:\\x")]),
        ("v = 12\n", "v", &[(1, "12", "12")]),
        ("v = 1.5\n", "v", &[(1, "1.5", "1.5")]),
        ("v = 2024-03-01\n", "v", &[(1, "2024-03-01", "2024-03-01")]),
        (
            "[package]\r\nname = \"x\"\r\n\r\n[package.metadata.tool]\r\nversion = \"3.3.4\" # pinned\r\n",
            "package.metadata.tool.version",
            &[(5, "3.3.4", "3.3.4")],
        ),
        ("[a]\nb.c = \"1\"\n", "a.b.c", &[(2, "1", "1")]),
        ("a = { b = { c = \"1\" } }\n", "a.b.c", &[(1, "1", "1")]),
        ("a.b = { c = '1' }\n", "a.b.c", &[(1, "1", "1")]),
        ("# é\n\"ü\" = 1\n[t]\nv = \"ö\"\n", "t.v", &[(4, "ö", "ö")]),
        (
            "[[tools]]\nv = \"1\"\n[[tools]]\nv = \"2\"\n",
            "tools.1.v",
            &[(4, "2", "2")],
        ),
        ("a = [\"x\", { v = \"3\" }]\n", "a.1.v", &[(1, "3", "3")]),
        ("[a]\n0 = \"k\"\n", "a.0", &[(2, "k", "k")]),
        ("v = \"1\"\n", "w", &[]),
        ("v = \"1\"\n", "v.w", &[]),
        ("a = [1]\n", "a.3", &[]),
        ("", "v", &[]),
    ];

    #[test]
    fn dotted_keys_are_quoted_in_the_path_and_misses_name_the_keys() {
        let text = "[tool]\n\"x.y\" = \"1.2\"\nname = \"t\"\n";
        let l = loc(r#"tool."x.y""#);
        let ms = find(&l, text).expect("finds");
        assert_eq!(ms.len(), 1);
        assert_eq!(
            rewrite(&l, text, &ms, "1.3").expect("rewrites"),
            text.replace("1.2", "1.3")
        );
        let wanted = split_path("tool.x.y").expect("path");
        let parsed = crate::pin::Parsed::new(text);
        let m = crate::pin::miss(&parsed, &loc("tool.x.y")).expect("a miss");
        assert_eq!(m.keys, ["x.y", "name"]);
        assert_eq!(m.nearest(&wanted).as_deref(), Some(r#"tool."x.y""#));
    }

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
    fn ranges_and_lines() {
        let text = "# x\n[t]\nv = \"1.2\"\n";
        assert_eq!(
            find(&loc("t.v"), text),
            Ok(vec![Match {
                range: 13..16,
                line: 3,
                value: "1.2".into()
            }])
        );
    }

    #[test]
    fn not_editable_values() {
        for (text, path) in [
            ("v = \"\"\"1\"\"\"\n", "v"),
            ("v = '''1'''\n", "v"),
            ("v = true\n", "v"),
            ("v = [1]\n", "v"),
            ("v = {a = 1}\n", "v"),
            ("[v]\n", "v"),
            ("[[v]]\n", "v"),
        ] {
            let err = find(&loc(path), text).expect_err(text);
            assert!(
                matches!(err, PinError::NotEditable { .. }),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn invalid_toml_is_a_parse_error() {
        for text in ["v = ", "v = \"1", "[a\n", "v = 1\nv = 2\n"] {
            let err = find(&loc("v"), text).expect_err(text);
            assert!(matches!(err, PinError::Parse(_)), "{text:?}: {err}");
        }
    }

    #[test]
    fn rewrites_keep_the_string_style() {
        let text = "a = \"1\" # c\r\nb = '1'\r\nn = 3\r\n";
        let rw = |path: &str, value: &str| {
            let l = loc(path);
            let ms = find(&l, text).expect("finds");
            rewrite(&l, text, &ms, value)
        };
        assert_eq!(
            rw("a", "x\"\\é").expect("basic"),
            "a = \"x\\\"\\\\é\" # c\r\nb = '1'\r\nn = 3\r\n"
        );
        assert_eq!(
            rw("b", "x\"\\").expect("literal"),
            "a = \"1\" # c\r\nb = 'x\"\\'\r\nn = 3\r\n"
        );
        assert!(matches!(rw("b", "it's"), Err(PinError::Unwritable { .. })));
        assert_eq!(
            rw("n", "4").expect("integer"),
            "a = \"1\" # c\r\nb = '1'\r\nn = 4\r\n"
        );
        for bad in ["4.1", "4.1.0", "v4", "4 # x", "true"] {
            assert!(
                matches!(rw("n", bad), Err(PinError::Unwritable { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn token_types() {
        assert_eq!(token_type("3"), Some(Enc::Integer));
        assert_eq!(token_type("1_000"), Some(Enc::Integer));
        assert_eq!(token_type("3.5"), Some(Enc::Float));
        assert_eq!(token_type("2024-03-01"), Some(Enc::Datetime));
        assert_eq!(token_type("1.2.3"), None);
        assert_eq!(token_type("3\nx = 1"), None);
        assert_eq!(token_type("3 # c"), None);
    }

    fn filler() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "# [ -~]{0,30}",
            "KEY = \"[a-z0-9 .]{0,12}\"",
            "KEY = [1-9][0-9]{0,3}",
            "KEY = \\{ k = 'x' \\}",
        ]
    }

    proptest! {
        #[test]
        fn rewrite_changes_only_the_value(
            before in prop::collection::vec(filler(), 0..6),
            inside in prop::collection::vec(filler(), 0..6),
            crlf in any::<bool>(),
            style in 0..4usize,
            comment in prop::option::of(" +# [ -~]{0,10}"),
            new in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}(-[a-z0-9]{1,6})?",
            new_int in "[1-9][0-9]{0,5}",
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let (old, new) = match style {
                0 => ("\"v1\"", new),
                1 => ("'v1'", new),
                _ => ("7", new_int),
            };
            let pin = if style == 3 {
                format!("tool = {{ version = {old} }}")
            } else {
                format!("tool.version = {old}")
            };
            let mut text = String::new();
            for (i, l) in before.iter().enumerate() {
                let l = l.replace("KEY", "key");
                text.push_str(&format!("[before{i}]{nl}{l}{nl}"));
            }
            text.push_str(&format!("[z]{nl}"));
            for (i, l) in inside.iter().enumerate() {
                text.push_str(&l.replace("KEY", &format!("key{i}")));
                text.push_str(nl);
            }
            text.push_str(&format!("{pin}{}{nl}", comment.unwrap_or_default()));

            let l = loc("z.tool.version");
            let ms = find(&l, &text).expect("parses");
            prop_assert_eq!(ms.len(), 1);
            let r = ms[0].range.clone();
            let out = rewrite(&l, &text, &ms, &new).expect("rewrites");
            prop_assert_eq!(&out[..r.start], &text[..r.start]);
            prop_assert_eq!(&out[r.start + new.len()..], &text[r.end..]);
            prop_assert_eq!(&find(&l, &out).expect("parses")[0].value, &new);
        }
    }
}
