//! GitHub Actions workflow commands (`::error file=…,title=…::message`)
//! escaped by GitHub's own rules, so no text (an item id, a path, a
//! version from upstream) can end a command early or start another.
//!
//! The message ("data") escapes `%`, CR and LF as `%25`, `%0D`, `%0A`;
//! property values (`file=`, `title=`) also `:` and `,` as `%3A`, `%2C`.
//! Any other control character is spelled out by [`crate::term::escape`],
//! as everywhere else on a terminal or in a log.

use std::fmt::Write as _;

/// One workflow command line: `::{level} {props}::{message}\n`, every
/// property value and the message escaped.
pub fn command(level: &str, props: &[(&str, &str)], message: &str) -> String {
    let mut out = format!("::{level}");
    for (i, (name, value)) in props.iter().enumerate() {
        let sep = if i == 0 { ' ' } else { ',' };
        let _ = write!(out, "{sep}{name}={}", escape_property(value));
    }
    let _ = writeln!(out, "::{}", escape_data(message));
    out
}

/// A workflow command's message.
pub fn escape_data(s: &str) -> String {
    let s = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    crate::term::escape(&s).into_owned()
}

/// A workflow command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_rules() {
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(escape_data("x\ny"), "x%0Ay");
        assert_eq!(escape_data("a:b,c"), "a:b,c");
        assert_eq!(escape_data("100%\r\n"), "100%25%0D%0A");
    }

    #[test]
    fn control_characters_are_spelled_out() {
        let hostile = "v1\u{1b}[2J\u{7}\0\u{9b}\u{202e}";
        assert_eq!(escape_data(hostile), "v1\\x1b[2J\\x07\\x00\\u009b\\u202e");
        assert_eq!(
            escape_property(&format!("f,{hostile}")),
            "f%2Cv1\\x1b[2J\\x07\\x00\\u009b\\u202e"
        );
    }

    #[test]
    fn a_message_cannot_start_another_command() {
        let line = command(
            "error",
            &[("file", "a,b:c"), ("title", "t")],
            "x\n::warning::injected\r",
        );
        assert_eq!(
            line,
            "::error file=a%2Cb%3Ac,title=t::x%0A::warning::injected%0D\n"
        );
        assert_eq!(line.lines().count(), 1);
    }
}
