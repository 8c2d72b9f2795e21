//! Makefile variables: `NAME = value` with `=`, `:=`, `::=`, `:::=` or `?=`.
//!
//! A pin is a line that assigns the variable, optionally after `export`,
//! `override` or `private`, with any blanks around the operator. `+=` and
//! `!=` do not set a version and are not pins. The value is the text after
//! the operator and its blanks, up to an unescaped `#` or the end of the
//! line, without trailing blanks (and without the `\r` of a CRLF line).
//!
//! Recipe lines (starting with a tab), `define` … `endef` bodies and
//! continuation lines of a previous line are never assignments. An
//! assignment whose value goes on over a `\` line end cannot be rewritten
//! in place and is reported as not editable.

use super::{Enc, Found, Lines, Match, PinError};

/// Assignment operators that set a variable, longest first so `::=` is not
/// read as `:` followed by `:=`.
const SETTERS: [&str; 5] = [":::=", "::=", ":=", "?=", "="];
/// Operators that do not pin a value.
const NON_SETTERS: [&str; 2] = ["+=", "!="];
/// Keywords that may precede an assignment.
const MODIFIERS: [&str; 3] = ["export", "override", "private"];

/// One line of the file: its text without the line break, where it starts,
/// and its 1-based number.
struct Line<'a> {
    text: &'a str,
    start: usize,
    number: usize,
}

/// Splits `text` into lines; a `\r` before the `\n` is not part of a line.
fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    text.split_inclusive('\n').enumerate().map(move |(i, raw)| {
        let line = Line {
            text: raw
                .strip_suffix('\n')
                .map_or(raw, |l| l.strip_suffix('\r').unwrap_or(l)),
            start,
            number: i + 1,
        };
        start += raw.len();
        line
    })
}

/// Where the parser is between lines.
#[derive(Default)]
struct State {
    /// The previous line ended with a continuation backslash.
    continued: bool,
    /// Nesting depth of `define` blocks.
    define_depth: usize,
}

/// Every assignment of `name` in `text`.
pub(super) fn find(name: &str, text: &str, index: &Lines) -> Result<Vec<Found>, PinError> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || "=:?#".contains(c)) {
        // Not a variable name: nothing can assign it.
        return Ok(Vec::new());
    }
    let mut state = State::default();
    let mut found = Vec::new();
    for line in lines(text) {
        let was_continued = std::mem::replace(&mut state.continued, continues(line.text));
        if was_continued || line.text.starts_with('\t') {
            continue;
        }
        let words = skip_modifiers(line.text.trim_start_matches([' ', '\t']));
        if state.define_depth > 0 {
            track_define(&mut state, words);
            continue;
        }
        if starts_word(words, "define") {
            state.define_depth = 1;
            continue;
        }
        if let Some(value) = assigned_value(words, name) {
            found.push(to_found(&line, value, index, state.continued)?);
        }
    }
    Ok(found)
}

/// Updates the `define` depth from a line inside a `define` body.
fn track_define(state: &mut State, words: &str) {
    if starts_word(words, "endef") {
        state.define_depth -= 1;
    } else if starts_word(words, "define") {
        state.define_depth += 1;
    }
    // A backslash inside a define body is part of the body.
    state.continued = false;
}

/// Whether `s` starts with the word `word` (followed by a blank or the end).
fn starts_word(s: &str, word: &str) -> bool {
    s.strip_prefix(word)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// `s` without leading `export`/`override`/`private` keywords.
fn skip_modifiers(mut s: &str) -> &str {
    while let Some(rest) = MODIFIERS.iter().find_map(|kw| {
        s.strip_prefix(kw)
            .filter(|r| r.starts_with([' ', '\t']))
            .map(|r| r.trim_start_matches([' ', '\t']))
    }) {
        s = rest;
    }
    s
}

/// If `s` assigns `name` with a setting operator, the text after the
/// operator (comment and all).
fn assigned_value<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(name)?;
    let after_name = rest.trim_start_matches([' ', '\t']);
    if after_name.len() == rest.len() && !rest.starts_with([':', '?', '=', '+', '!']) {
        // A longer name: `NAME_X = …` is not `NAME`.
        return None;
    }
    if NON_SETTERS.iter().any(|op| after_name.starts_with(op)) {
        return None;
    }
    SETTERS.iter().find_map(|op| after_name.strip_prefix(op))
}

/// The match for a value text `after_op` (a suffix of `line.text`).
fn to_found(
    line: &Line<'_>,
    after_op: &str,
    index: &Lines,
    continued: bool,
) -> Result<Found, PinError> {
    let value_and_comment = after_op.trim_start_matches([' ', '\t']);
    let comment = comment_start(value_and_comment);
    if continued && comment.is_none() {
        return Err(PinError::NotEditable {
            line: line.number,
            what: "a value continued on the next line with `\\`".into(),
            place: String::new(),
        });
    }
    let value = value_and_comment
        .get(..comment.unwrap_or(value_and_comment.len()))
        .unwrap_or_default()
        .trim_end_matches([' ', '\t']);
    let start = line.start + (line.text.len() - value_and_comment.len());
    Ok(Found {
        m: Match {
            range: start..start + value.len(),
            line: index.line(start),
            value: value.to_owned(),
        },
        enc: Enc::Make,
    })
}

/// Byte offset of the first `#` not escaped by a backslash.
fn comment_start(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().find_map(|(i, &b)| {
        let backslashes = bytes
            .get(..i)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|&&c| c == b'\\')
            .count();
        (b == b'#' && backslashes % 2 == 0).then_some(i)
    })
}

/// Whether the line ends with an unescaped backslash, continuing it on the
/// next line.
fn continues(line: &str) -> bool {
    line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// `value` as a Makefile value: written verbatim, so it must not contain
/// what make would read differently.
pub(super) fn encode(value: &str) -> Result<String, String> {
    if value.contains('#') {
        return Err("`#` starts a comment in a Makefile".into());
    }
    if value.contains('$') {
        return Err("`$` starts a variable reference in a Makefile".into());
    }
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        return Err("make drops blanks around a variable value".into());
    }
    if value.ends_with('\\') {
        return Err("a trailing `\\` continues the line in a Makefile".into());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::pin::{Locator, Match, PinError, find, rewrite};

    fn loc(name: &str) -> Locator {
        Locator::Make(name.to_owned())
    }

    /// (file, name, expected [(line, value)])
    type Case = (&'static str, &'static str, &'static [(usize, &'static str)]);

    const CASES: &[Case] = &[
        (
            "TRAEFIK_VERSION ?= v3.3.4\n",
            "TRAEFIK_VERSION",
            &[(1, "v3.3.4")],
        ),
        (
            "A = 1\nB := 2\nC ::= 3\nD :::= 4\nE ?= 5\n",
            "C",
            &[(3, "3")],
        ),
        ("D :::= 4\n", "D", &[(1, "4")]),
        ("X:=1.2\n", "X", &[(1, "1.2")]),
        ("X=1.2", "X", &[(1, "1.2")]),
        ("X = 1.2   # pinned\n", "X", &[(1, "1.2")]),
        ("X = 1.2#c\n", "X", &[(1, "1.2")]),
        ("X = a\\#b # c\n", "X", &[(1, "a\\#b")]),
        ("X = 1.2\r\nY = 3\r\n", "X", &[(1, "1.2")]),
        ("X = 1.2  \r\n", "X", &[(1, "1.2")]),
        ("export X ?= 1\n", "X", &[(1, "1")]),
        ("override export X := 1\n", "X", &[(1, "1")]),
        ("  X = indented\n", "X", &[(1, "indented")]),
        ("X += 1\nX != echo 1\n", "X", &[]),
        ("XY = 1\nX_Y = 2\n", "X", &[]),
        ("x: dep\n\tX = 1\n", "X", &[]),
        ("define X =\nX = 1\nendef\nX = 2\n", "X", &[(4, "2")]),
        (
            "define F\ndefine G\nendef\nX = 1\nendef\nX = 2\n",
            "X",
            &[(6, "2")],
        ),
        ("Y = a \\\nX = 1\nX = 2\n", "X", &[(3, "2")]),
        // A backslash at the end of a comment continues the comment.
        ("# X = 1 \\\nX = 2\nX = 3\n", "X", &[(3, "3")]),
        (
            "ifeq (a,b)\nX = 1\nelse\nX = 2\nendif\n",
            "X",
            &[(2, "1"), (4, "2")],
        ),
        ("# é ü\nX = ö1\n", "X", &[(2, "ö1")]),
        ("X =\n", "X", &[(1, "")]),
        ("= 1\n", "", &[]),
        ("", "X", &[]),
    ];

    #[test]
    fn finds_values() {
        for (text, name, want) in CASES {
            let got = find(&loc(name), text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let got: Vec<(usize, &str)> = got.iter().map(|m| (m.line, m.value.as_str())).collect();
            assert_eq!(&got, want, "{text:?}");
        }
    }

    #[test]
    fn ranges_are_the_value_bytes() {
        let text = "# é\nTRAEFIK_VERSION ?= v3.3.4 # x\r\n";
        let got = find(&loc("TRAEFIK_VERSION"), text).expect("finds");
        assert_eq!(
            got,
            vec![Match {
                range: 24..30,
                line: 2,
                value: "v3.3.4".into()
            }]
        );
        assert_eq!(&text[24..30], "v3.3.4");
    }

    #[test]
    fn continued_value_is_not_editable() {
        let err = find(&loc("X"), "A = 1\nX = a \\\n  b\n").expect_err("continued");
        assert!(
            matches!(err, PinError::NotEditable { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn rewrites_the_seed_line() {
        let text = "TRAEFIK_VERSION ?= v3.3.4\r\nOTHER = 1\r\n";
        let l = loc("TRAEFIK_VERSION");
        let ms = find(&l, text).expect("finds");
        let out = rewrite(&l, text, &ms, "v3.4.0").expect("rewrites");
        assert_eq!(out, "TRAEFIK_VERSION ?= v3.4.0\r\nOTHER = 1\r\n");
    }

    #[test]
    fn rewrites_an_empty_value() {
        let l = loc("X");
        let text = "X ?=\nY = 1\n";
        let ms = find(&l, text).expect("finds");
        assert_eq!(
            rewrite(&l, text, &ms, "1.0").expect("rewrites"),
            "X ?=1.0\nY = 1\n"
        );
    }

    #[test]
    fn refuses_values_make_reads_differently() {
        let l = loc("X");
        let text = "X = 1\n";
        let ms = find(&l, text).expect("finds");
        for bad in ["1#2", "$(Y)", " 1", "1 ", "1\\", "1\n2", ""] {
            let err = rewrite(&l, text, &ms, bad).expect_err(bad);
            assert!(matches!(err, PinError::Unwritable { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn stale_matches_are_refused() {
        let l = loc("X");
        let ms = find(&l, "X = 1\n").expect("finds");
        let err = rewrite(&l, "X = 22\n", &ms, "3").expect_err("stale");
        assert!(matches!(err, PinError::Unwritable { .. }), "{err}");
    }

    fn filler_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "# [ -~&&[^\\\\]]{0,30}",
            "[A-Z_]{1,7} (=|:=|\\?=|\\+=) [ -~&&[^#$\\\\]]{0,20}",
            "[a-z]{1,8}: [a-z ]{0,10}\n\t[ -~&&[^\\\\]]{0,20}",
            "\t[ -~&&[^\\\\]]{0,20}",
        ]
    }

    fn surroundings() -> impl Strategy<Value = (Vec<String>, Vec<String>, bool)> {
        (
            prop::collection::vec(filler_line(), 0..6),
            prop::collection::vec(filler_line(), 0..6),
            any::<bool>(),
        )
    }

    proptest! {
        #[test]
        fn rewrite_changes_only_the_value(
            (before, after, crlf) in surroundings(),
            op in prop::sample::select(vec!["=", ":=", "?=", "::=", ":::="]),
            comment in prop::option::of(" +# [ -~]{0,10}"),
            old in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}",
            new in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}(-[a-z0-9]{1,6})?",
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            for l in &before { text.push_str(l); text.push_str(nl); }
            text.push_str(&format!("PINNED_V {op} {old}{}", comment.unwrap_or_default()));
            text.push_str(nl);
            for l in &after { text.push_str(l); text.push_str(nl); }

            let l = loc("PINNED_V");
            let ms = find(&l, &text).expect("parses");
            prop_assert_eq!(ms.len(), 1);
            let r = ms[0].range.clone();
            let out = rewrite(&l, &text, &ms, &new).expect("rewrites");
            prop_assert_eq!(&out[..r.start], &text[..r.start]);
            prop_assert_eq!(&out[r.start + new.len()..], &text[r.end..]);
            let back = find(&l, &out).expect("parses");
            prop_assert_eq!(back.len(), 1);
            prop_assert_eq!(&back[0].value, &new);
        }
    }
}
