//! Terminal safety: how text that `vendor` did not write itself (names,
//! tags, notes and messages from upstream servers, archive member names,
//! output of smoke commands, file contents quoted in diagnostics) is shown
//! to a person (DESIGN §6: no control sequence passes through).
//!
//! [`escape`] replaces every character a terminal may act on instead of
//! printing with a visible, unambiguous spelling:
//!
//! | characters | written as |
//! |---|---|
//! | CR | `\r` |
//! | other C0 controls (NUL, BEL, BS, ESC, …) except LF and TAB | `\x00` … `\x1f` |
//! | DEL, C1 controls (U+0080–U+009F) | `\u007f`, `\u0080` … `\u009f` |
//! | bidi and invisible marks: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069 | `\u202e` … |
//!
//! LF and TAB stay (text has lines); a backslash stays as it is, so an
//! escape is idempotent and a string that already reads `\x1b` is shown
//! as it reads.
//!
//! The characters written as `\uXXXX` are exactly the ones `serde_json`
//! leaves raw inside strings (it escapes C0 itself), and `\uXXXX` is also
//! JSON's own escape: applied to a JSON document the pass keeps it valid
//! and every decoded value exact. That is why [`for_stream`], the
//! chokepoint every byte for stdout and stderr goes through
//! ([`crate::cmd::Io`], the diagnostics in `main.rs`), needs no knowledge
//! of the output format.
//!
//! With colours on, [`for_stream`] lets through the SGR sequences
//! [`crate::report::Paint`] emits ([`PAINT_SGR`]) and nothing else: no
//! cursor movement, no screen clearing, no title, no hidden text.
//! Renderers also escape untrusted strings themselves where they format
//! them ([`Shown`]), so an injected colour code shows as text too.

use std::borrow::Cow;
use std::fmt;

/// The SGR parameters [`crate::report::Paint`] uses: reset, bold, dim,
/// red, green, yellow, cyan.
pub const PAINT_SGR: &[&str] = &["0", "1", "2", "31", "32", "33", "36"];

/// Whether `c` is acted on by terminals rather than shown (see the
/// module's table).
pub fn is_control(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// Whether `text` holds any character [`escape`] would replace.
pub fn has_controls(text: &str) -> bool {
    text.chars().any(is_control)
}

/// `text` with every control character spelled out (see the module doc);
/// borrowed when there is nothing to replace.
pub fn escape(text: &str) -> Cow<'_, str> {
    filter(text, false)
}

/// The chokepoint for a stream: [`escape`], except that with `color` the
/// SGR sequences of [`PAINT_SGR`] pass unchanged.
pub fn for_stream(text: &str, color: bool) -> Cow<'_, str> {
    filter(text, color)
}

fn filter(text: &str, color: bool) -> Cow<'_, str> {
    let Some(first) = text.find(is_control) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    let mut rest = &text[first..];
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && color
            && let Some(len) = paint_sgr_len(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        push_escaped(&mut out, c);
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    use fmt::Write as _;
    if !is_control(c) {
        out.push(c);
    } else if c == '\r' {
        out.push_str("\\r");
    } else if c < '\u{20}' {
        let _ = write!(out, "\\x{:02x}", u32::from(c));
    } else {
        let _ = write!(out, "\\u{:04x}", u32::from(c));
    }
}

/// The length of the `ESC [ params m` at the start of `text` when its
/// parameters are one of [`PAINT_SGR`].
fn paint_sgr_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\u{1b}[")?;
    let end = body.find('m')?;
    PAINT_SGR.contains(&&body[..end]).then_some(2 + end + 1)
}

/// `text` without its SGR sequences (`ESC [ digits;… m`), any others
/// kept: what a coloured rendering reads as without colours.
pub fn strip_sgr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\u{1b}') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let params = rest.strip_prefix("\u{1b}[").map(|body| {
            body.find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':'))
                .filter(|&end| body[end..].starts_with('m'))
        });
        match params {
            Some(Some(end)) => rest = &rest[2 + end + 1..],
            _ => {
                out.push('\u{1b}');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Displays an untrusted string escaped: `format!("{}", Shown(name))`.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases = [
            ("plain text", "plain text"),
            ("tab\tand\nnewline", "tab\tand\nnewline"),
            ("back\\slash \\x1b", "back\\slash \\x1b"),
            ("nul\0", "nul\\x00"),
            ("bell\u{7}", "bell\\x07"),
            ("cr\rover", "cr\\rover"),
            ("\u{1b}[2J\u{1b}]0;owned\u{7}", "\\x1b[2J\\x1b]0;owned\\x07"),
            ("del\u{7f}", "del\\u007f"),
            ("csi\u{9b}31m", "csi\\u009b31m"),
            ("nel\u{85}", "nel\\u0085"),
            ("rlo\u{202e}txt.exe", "rlo\\u202etxt.exe"),
            ("isolates\u{2066}\u{2069}", "isolates\\u2066\\u2069"),
            ("marks\u{200e}\u{200f}\u{61c}", "marks\\u200e\\u200f\\u061c"),
            ("ünïcödé → ok ✓", "ünïcödé → ok ✓"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape(input), expected, "{input:?}");
            assert_eq!(for_stream(input, false), expected, "{input:?}");
        }
    }

    #[test]
    fn nothing_to_do_borrows() {
        assert!(matches!(escape("v1.2.3"), Cow::Borrowed(_)));
    }

    #[test]
    fn colour_passes_only_paints_own_codes() {
        let painted = "\u{1b}[1mbold\u{1b}[0m \u{1b}[31mred\u{1b}[0m";
        assert_eq!(for_stream(painted, true), painted);
        assert_eq!(
            for_stream(painted, false),
            "\\x1b[1mbold\\x1b[0m \\x1b[31mred\\x1b[0m"
        );
        for hostile in [
            "\u{1b}[2J",
            "\u{1b}[8m",
            "\u{1b}[38;5;1m",
            "\u{1b}[1;31m",
            "\u{1b}]0;title\u{7}",
            "\u{1b}[1",
            "\u{1b}[",
            "\u{1b}",
        ] {
            let shown = for_stream(hostile, true);
            assert!(!shown.contains('\u{1b}'), "{hostile:?} → {shown:?}");
        }
    }

    #[test]
    fn json_stays_valid_and_exact() {
        let value = serde_json::json!({
            "name": "\u{1b}[2J\u{7}\r\0\u{7f}\u{9b}\u{202e}\u{2066}x",
        });
        let text = serde_json::to_string_pretty(&value).expect("json");
        let shown = for_stream(&text, false);
        assert!(!has_controls(&shown.replace('\n', "")));
        let back: serde_json::Value = serde_json::from_str(&shown).expect("still JSON");
        assert_eq!(back, value);
    }

    #[test]
    fn sgr_stripping() {
        assert_eq!(
            strip_sgr("\u{1b}[1;38;5;246mx\u{1b}[0m y \u{1b}[2J \u{1b}"),
            "x y \u{1b}[2J \u{1b}"
        );
        assert_eq!(strip_sgr("plain"), "plain");
    }

    #[test]
    fn shown_displays_escaped() {
        assert_eq!(format!("<{}>", Shown("a\u{1b}b")), "<a\\x1bb>");
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_controls(text in any::<String>()) {
            let shown = escape(&text);
            prop_assert!(!has_controls(&shown));
            prop_assert_eq!(escape(&shown), shown.clone());
        }

        #[test]
        fn with_colour_only_paint_codes_remain(text in "(\u{1b}\\[[0-9;]{0,4}m?|[\\x00-\\x7f]|\u{9b}|\u{202e}|.){0,40}") {
            let shown = for_stream(&text, true);
            let mut rest: &str = &shown;
            while let Some(at) = rest.find(is_control) {
                let len = paint_sgr_len(&rest[at..]);
                prop_assert!(len.is_some(), "{:?} in {:?}", &rest[at..], shown);
                rest = &rest[at + len.unwrap_or(1)..];
            }
        }

        #[test]
        fn without_colour_nothing_remains(text in any::<String>()) {
            prop_assert!(!has_controls(&for_stream(&text, false)));
        }
    }
}
