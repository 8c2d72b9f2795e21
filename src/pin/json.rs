//! JSON key paths, with a small scanner that keeps the byte span of every
//! value.
//!
//! Path segments are object keys; an all-digit segment indexes an array
//! when the value there is an array (and is a key otherwise). An object
//! with the same key twice yields both matches.
//!
//! The value at the path must be a string or a number. For a string the
//! match is the text inside the quotes and the value is decoded; a new value
//! is JSON-escaped. For a number the match is the token, and a new value
//! must itself be a JSON number (a version like `1.2.3` is not one, and is
//! refused rather than quoted). Objects, arrays, `true`, `false` and `null`
//! are not editable.
//!
//! The scanner accepts strict JSON (RFC 8259), with an optional UTF-8 byte
//! order mark; nesting is limited to [`MAX_DEPTH`] levels.

use std::ops::Range;

use super::{Found, Lines, Match, PinError};

/// Deepest nesting of arrays and objects the scanner accepts.
pub(crate) const MAX_DEPTH: usize = 256;

/// How a matched JSON value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enc {
    String,
    Number,
}

/// A JSON value with its byte span.
#[derive(Debug)]
pub(super) struct Value {
    kind: ValueKind,
    span: Range<usize>,
}

#[derive(Debug)]
enum ValueKind {
    Object(Vec<(String, Value)>),
    Array(Vec<Value>),
    /// A string and its decoded text.
    String(String),
    Number,
    /// `true`, `false` or `null`.
    Literal(&'static str),
}

/// Parses `text` once for any number of lookups.
pub(super) fn parse_doc(text: &str, index: &Lines) -> Result<Value, PinError> {
    parse(text).map_err(|(offset, msg)| {
        PinError::Parse(format!(
            "invalid JSON at line {}: {msg}",
            index.line(offset)
        ))
    })
}

/// Every value at `path` in a parsed document.
pub(super) fn find_in(
    root: &Value,
    path: &[String],
    text: &str,
    index: &Lines,
) -> Result<Vec<Found>, PinError> {
    let mut values = Vec::new();
    resolve(root, path, &mut values);
    values
        .into_iter()
        .map(|v| to_found(v, text, index))
        .collect()
}

/// Where `path` stops matching.
pub(super) fn miss(root: &Value, path: &[String]) -> Option<super::Miss> {
    super::deepest_miss(
        &[root],
        path,
        &|value: &Value, segment| {
            let mut out = Vec::new();
            resolve(value, std::slice::from_ref(&segment.to_owned()), &mut out);
            out
        },
        &|value: &Value| match &value.kind {
            ValueKind::Object(members) => members.iter().map(|(k, _)| k.clone()).collect(),
            ValueKind::Array(items) => (0..items.len()).map(|i| i.to_string()).collect(),
            _ => Vec::new(),
        },
    )
}

/// Collects the values at `path` below `value`.
fn resolve<'a>(value: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    let Some((segment, rest)) = path.split_first() else {
        out.push(value);
        return;
    };
    match &value.kind {
        ValueKind::Object(members) => {
            for (_, v) in members.iter().filter(|(k, _)| k == segment) {
                resolve(v, rest, out);
            }
        }
        ValueKind::Array(items) => {
            let index = segment
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| segment.parse::<usize>().ok())
                .flatten();
            if let Some(item) = index.and_then(|i| items.get(i)) {
                resolve(item, rest, out);
            }
        }
        _ => {}
    }
}

fn to_found(value: &Value, text: &str, index: &Lines) -> Result<Found, PinError> {
    let (range, decoded, enc) = match &value.kind {
        ValueKind::String(s) => (
            value.span.start + 1..value.span.end.saturating_sub(1),
            s.clone(),
            Enc::String,
        ),
        ValueKind::Number => (
            value.span.clone(),
            text.get(value.span.clone()).unwrap_or_default().to_owned(),
            Enc::Number,
        ),
        ValueKind::Object(_) => return Err(not_editable(value, index, "an object")),
        ValueKind::Array(_) => return Err(not_editable(value, index, "an array")),
        ValueKind::Literal(lit) => {
            return Err(not_editable(value, index, &format!("`{lit}`")));
        }
    };
    Ok(Found {
        m: Match {
            line: index.line(range.start),
            range,
            value: decoded,
        },
        enc: super::Enc::Json(enc),
    })
}

fn not_editable(value: &Value, index: &Lines, what: &str) -> PinError {
    PinError::NotEditable {
        line: index.line(value.span.start),
        what: what.into(),
        place: String::new(),
    }
}

/// `value` written at a place encoded as `enc`.
pub(super) fn encode(enc: Enc, value: &str) -> Result<String, String> {
    match enc {
        Enc::String => Ok(escape(value)),
        Enc::Number if is_number(value) => Ok(value.to_owned()),
        Enc::Number => Err(
            "the file holds a JSON number here and this is not one; quote the value in the file \
             to pin it as a string"
                .into(),
        ),
    }
}

/// `value` as the content of a JSON string.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Whether `s` is exactly one JSON number token.
fn is_number(s: &str) -> bool {
    let mut scanner = Scanner::new(s);
    scanner.number().is_ok() && scanner.pos == s.len()
}

/// A parse error: byte offset and message.
type ParseError = (usize, String);

/// Parses a whole JSON text.
fn parse(text: &str) -> Result<Value, ParseError> {
    let mut scanner = Scanner::new(text);
    if text.starts_with('\u{feff}') {
        scanner.pos = '\u{feff}'.len_utf8();
    }
    scanner.skip_ws();
    let value = scanner.value(0)?;
    scanner.skip_ws();
    if scanner.pos < text.len() {
        return Err(scanner.error("unexpected text after the JSON value"));
    }
    Ok(value)
}

/// A cursor over JSON text.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner { text, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error(&self, msg: &str) -> ParseError {
        (self.pos, msg.to_owned())
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes `b` or fails with `msg`.
    fn expect_byte(&mut self, b: u8, msg: &str) -> Result<(), ParseError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(msg))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => self.object(depth + 1)?,
            Some(b'[') => self.array(depth + 1)?,
            Some(b'"') => ValueKind::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                ValueKind::Number
            }
            Some(b't') => self.literal("true")?,
            Some(b'f') => self.literal("false")?,
            Some(b'n') => self.literal("null")?,
            Some(_) => return Err(self.error("expected a JSON value")),
            None => return Err(self.error("unexpected end of the file")),
        };
        Ok(Value {
            kind,
            span: start..self.pos,
        })
    }

    fn literal(&mut self, word: &'static str) -> Result<ValueKind, ParseError> {
        if self
            .text
            .get(self.pos..)
            .is_some_and(|s| s.starts_with(word))
        {
            self.pos += word.len();
            Ok(ValueKind::Literal(word))
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error("arrays and objects are nested too deeply"));
        }
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<ValueKind, ParseError> {
        self.check_depth(depth)?;
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(ValueKind::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            self.expect_byte(b':', "expected `:` after the key")?;
            self.skip_ws();
            let value = self.value(depth)?;
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(ValueKind::Object(members));
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<ValueKind, ParseError> {
        self.check_depth(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(ValueKind::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(ValueKind::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    /// Scans a string starting at its opening quote; returns its decoded text.
    fn string(&mut self) -> Result<String, ParseError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = self.text.get(self.pos..).unwrap_or_default();
            let plain = rest
                .find(|c: char| c == '"' || c == '\\' || u32::from(c) < 0x20)
                .unwrap_or(rest.len());
            out.push_str(rest.get(..plain).unwrap_or_default());
            self.pos += plain;
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// Decodes the escape after a backslash.
    fn escape(&mut self) -> Result<char, ParseError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                return self.unicode_escape();
            }
            _ => return Err(self.error("invalid escape in a string")),
        };
        self.pos += 1;
        Ok(c)
    }

    /// Decodes `XXXX` after `\u`, joining a surrogate pair; a lone
    /// surrogate decodes as U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let high = self.hex4()?;
        if (0xD800..0xDC00).contains(&high) {
            let rest = self.text.get(self.pos..).unwrap_or_default();
            if rest.starts_with("\\u") {
                let save = self.pos;
                self.pos += 2;
                let low = self.hex4()?;
                if (0xDC00..0xE000).contains(&low) {
                    let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
                }
                self.pos = save;
            }
        }
        Ok(char::from_u32(high).unwrap_or('\u{fffd}'))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("invalid `\\u` escape"))?;
        let n = u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid `\\u` escape"))?;
        self.pos += 4;
        Ok(n)
    }

    /// Scans `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
    fn number(&mut self) -> Result<(), ParseError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.required_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'-' | b'+')) {
                self.pos += 1;
            }
            self.required_digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), ParseError> {
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.error("invalid number"));
        }
        self.digits();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{MAX_DEPTH, is_number, parse};
    use crate::pin::{Locator, Match, PinError, find, rewrite, split_path};

    fn loc(path: &str) -> Locator {
        Locator::Json(split_path(path).expect("path"))
    }

    /// (file, path, expected [(line, value, source text of the range)])
    type Case = (
        &'static str,
        &'static str,
        &'static [(usize, &'static str, &'static str)],
    );

    const CASES: &[Case] = &[
        ("{\"v\": \"1.2\"}", "v", &[(1, "1.2", "1.2")]),
        ("{\"v\": 1.5}", "v", &[(1, "1.5", "1.5")]),
        ("{\"v\": -0.5e+3}", "v", &[(1, "-0.5e+3", "-0.5e+3")]),
        (
            "{\"v\": \"a\\\"b\\u00e9\\n\"}",
            "v",
            &[(1, "a\"bé\n", "a\\\"b\\u00e9\\n")],
        ),
        (
            "{\"v\": \"\\ud83d\\ude00\"}",
            "v",
            &[(1, "😀", "\\ud83d\\ude00")],
        ),
        (
            "{\r\n  \"é\": \"ü\",\r\n  \"a\": {\"b\": [\"x\", {\"c\": \"2\"}]}\r\n}\r\n",
            "a.b.1.c",
            &[(3, "2", "2")],
        ),
        ("{\"a\": {\"0\": \"k\"}}", "a.0", &[(1, "k", "k")]),
        ("[\"x\", \"y\"]", "1", &[(1, "y", "y")]),
        (
            "{\"v\": \"1\", \"v\": \"2\"}",
            "v",
            &[(1, "1", "1"), (1, "2", "2")],
        ),
        ("\u{feff}{\"v\": \"1\"}", "v", &[(1, "1", "1")]),
        ("{\"v\": \"1\"}", "w", &[]),
        ("{\"v\": \"1\"}", "v.w", &[]),
        ("[1]", "3", &[]),
        ("[1]", "a", &[]),
    ];

    #[test]
    fn dotted_keys_are_quoted_in_the_path_and_misses_name_the_keys() {
        let text = "{\"metadata\": {\"annotations\": {\"image.tag\": \"1.2\"}}}\n";
        let l = loc(r#"metadata.annotations."image.tag""#);
        let ms = find(&l, text).expect("finds");
        assert_eq!(
            rewrite(&l, text, &ms, "1.3").expect("rewrites"),
            text.replace("1.2", "1.3")
        );
        let wanted = split_path("metadata.annotations.image.tag").expect("path");
        let parsed = crate::pin::Parsed::new(text);
        let m = crate::pin::miss(&parsed, &loc("metadata.annotations.image.tag")).expect("a miss");
        assert_eq!(m.found, ["metadata", "annotations"]);
        assert_eq!(
            m.nearest(&wanted).as_deref(),
            Some(r#"metadata.annotations."image.tag""#)
        );
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
        let text = "{\n  \"a\": {\n    \"v\": \"1.2\"\n  }\n}\n";
        assert_eq!(
            find(&loc("a.v"), text),
            Ok(vec![Match {
                range: 21..24,
                line: 3,
                value: "1.2".into()
            }])
        );
    }

    #[test]
    fn not_editable_values() {
        for text in [
            "{\"v\": {}}",
            "{\"v\": []}",
            "{\"v\": null}",
            "{\"v\": true}",
        ] {
            let err = find(&loc("v"), text).expect_err(text);
            assert!(
                matches!(err, PinError::NotEditable { line: 1, .. }),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn invalid_json_is_a_parse_error() {
        let deep = "[".repeat(MAX_DEPTH + 5);
        for text in [
            "",
            "{",
            "{\"a\" 1}",
            "{\"a\": 1,}",
            "[1 2]",
            "{\"a\": 01}",
            "{\"a\": 1.}",
            "{\"a\": \"\\x\"}",
            "{\"a\": \"\n\"}",
            "{\"a\": tru}",
            "{} x",
            "{\"a\": \"\\u12\"}",
            "{a: 1}",
            &deep,
        ] {
            let err = find(&loc("a"), text).expect_err(text);
            assert!(matches!(err, PinError::Parse(_)), "{text:?}: {err}");
        }
    }

    #[test]
    fn numbers() {
        for good in ["0", "-1", "1.5", "1e9", "1E-2", "-0.0e+1"] {
            assert!(is_number(good), "{good}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1.2.3", "v1", "1e", "+1", "1 "] {
            assert!(!is_number(bad), "{bad}");
        }
    }

    #[test]
    fn strings_are_escaped_and_numbers_stay_numbers() {
        let l = loc("v");
        let text = "{\"v\": \"1\", \"n\": 2}\r\n";
        let ms = find(&l, text).expect("finds");
        assert_eq!(
            rewrite(&l, text, &ms, "a\"\\é").expect("rewrites"),
            "{\"v\": \"a\\\"\\\\é\", \"n\": 2}\r\n"
        );
        let l = loc("n");
        let ms = find(&l, text).expect("finds");
        assert_eq!(
            rewrite(&l, text, &ms, "3.5").expect("rewrites"),
            "{\"v\": \"1\", \"n\": 3.5}\r\n"
        );
        let err = rewrite(&l, text, &ms, "3.5.1").expect_err("not a number");
        assert!(matches!(err, PinError::Unwritable { .. }), "{err}");
    }

    #[test]
    fn parse_never_panics_on_truncations() {
        let text = "{\"a\": [1, -2.5e3, \"\\ud83d\\ude00é\", {\"b\": null}], \"c\": true}";
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let _ = parse(&text[..end]);
        }
    }

    fn json_scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            "-?[1-9][0-9]{0,3}",
            "\"[ -~&&[^\"\\\\]]{0,10}\"",
            Just("null".to_owned()),
            Just("[1, {\"k\": []}]".to_owned()),
        ]
    }

    fn members() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec(("[a-y]{1,6}", json_scalar()), 0..5)
    }

    proptest! {
        #[test]
        fn rewrite_changes_only_the_value(
            before in members(),
            after in members(),
            ws in prop::sample::select(vec!["", " ", "\n  ", "\r\n\t"]),
            number in any::<bool>(),
            new in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}(-[a-z0-9]{1,6})?",
            new_number in "[1-9][0-9]{0,2}(\\.[0-9]{1,3})?",
        ) {
            let member = |(k, v): &(String, String)| format!("{ws}\"{k}\":{ws}{v}");
            let mut parts: Vec<String> = before.iter().map(member).collect();
            let (old, new) = if number {
                ("1.5".to_owned(), new_number)
            } else {
                ("\"v1.2\"".to_owned(), new)
            };
            parts.push(format!("{ws}\"z\":{ws}{{{ws}\"pin\":{ws}{old}{ws}}}"));
            parts.extend(after.iter().map(member));
            let text = format!("{{{}{ws}}}{ws}", parts.join(","));

            let l = loc("z.pin");
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
