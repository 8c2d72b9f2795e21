//! A YAML tree that remembers where every node came from.
//!
//! `serde_yaml` gives values but no positions; diagnostics and
//! format-preserving rewrites need byte ranges. This module builds a small
//! node tree from the `saphyr-parser` event stream, with each node's byte
//! span in the original text, so callers can point at a key in an error or
//! replace exactly the bytes of one scalar.

use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// How a scalar was written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// One node of a parsed YAML document.
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// Byte range of the node in the source text. For quoted scalars it
    /// includes the quotes; see [`Node::value_span`] for the content only.
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Scalar {
        value: String,
        style: Style,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// An alias (`*name`); never followed, only reported.
    Alias,
}

/// No file vendor reads nests deeper than this. The tree is built without
/// recursion, but walking and dropping it recurse, so deeper input is
/// refused while parsing, before any deep tree exists.
pub const MAX_DEPTH: usize = 256;

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    /// Byte offset of the error in the source.
    pub offset: usize,
    /// The text nests deeper than [`MAX_DEPTH`] (it may be well-formed).
    pub too_deep: bool,
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    pub fn style(&self) -> Option<Style> {
        match &self.kind {
            Kind::Scalar { style, .. } => Some(*style),
            _ => None,
        }
    }

    /// Looks up `key` in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Looks up `key` in a mapping node and returns both key and value nodes.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The byte range of a scalar's content: inside the quotes for quoted
    /// scalars, the text itself for plain ones. `None` for block scalars and
    /// collections, whose bytes are not a single editable value.
    pub fn value_span(&self) -> Option<Range<usize>> {
        match self.style()? {
            Style::Plain => Some(self.span.clone()),
            Style::SingleQuoted | Style::DoubleQuoted => {
                Some(self.span.start + 1..self.span.end.saturating_sub(1))
            }
            Style::Literal | Style::Folded => None,
        }
    }
}

/// Parses every document in `text`. An empty document yields no node.
pub fn parse(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let offsets = CharOffsets::new(text);
    let mut builder = Builder {
        text,
        offsets: &offsets,
        stack: Vec::new(),
        docs: Vec::new(),
    };
    for event in Parser::new_from_str(text) {
        // The parser keeps yielding errors after the first one; stop there.
        let (event, span) = event.map_err(|e| {
            // The parser bounds flow nesting itself.
            let too_deep = e.info() == "recursion limit exceeded";
            SyntaxError {
                message: if too_deep {
                    format!("the YAML nests deeper than {MAX_DEPTH} levels")
                } else {
                    e.info().to_string()
                },
                offset: offsets.byte(e.marker().index()),
                too_deep,
            }
        })?;
        if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..))
            && builder.stack.len() >= MAX_DEPTH
        {
            return Err(SyntaxError {
                message: format!("the YAML nests deeper than {MAX_DEPTH} levels"),
                offset: offsets.byte(span.start.index()),
                too_deep: true,
            });
        }
        builder.event(event, span);
    }
    Ok(builder.docs)
}

/// Maps the parser's character indices to byte offsets.
struct CharOffsets {
    /// Empty when the text is ASCII (index == offset).
    table: Vec<usize>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let table = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i).collect()
        };
        CharOffsets {
            table,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.table.is_empty() {
            char_index.min(self.len)
        } else {
            self.table.get(char_index).copied().unwrap_or(self.len)
        }
    }
}

enum Open {
    Seq(usize, Vec<Node>),
    Map(usize, Vec<(Node, Node)>, Option<Node>),
}

struct Builder<'a> {
    text: &'a str,
    offsets: &'a CharOffsets,
    stack: Vec<Open>,
    docs: Vec<Node>,
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, span: Span) {
        let start = self.offsets.byte(span.start.index());
        let end = self.offsets.byte(span.end.index());
        match event {
            Event::Scalar(value, style, _, _) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let span = self.scalar_span(start, end, style);
                self.push(Node {
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        style,
                    },
                    span,
                });
            }
            Event::Alias(_) => self.push(Node {
                kind: Kind::Alias,
                span: start..end,
            }),
            Event::SequenceStart(..) => self.stack.push(Open::Seq(start, Vec::new())),
            Event::MappingStart(..) => self.stack.push(Open::Map(start, Vec::new(), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Open::Seq(s, items)) => Node {
                        kind: Kind::Seq(items),
                        span: s..end.max(s),
                    },
                    Some(Open::Map(s, entries, _)) => Node {
                        kind: Kind::Map(entries),
                        span: s..end.max(s),
                    },
                    None => return,
                };
                self.push(node);
            }
            _ => {}
        }
    }

    /// The parser's spans for quoted scalars can run past the closing quote
    /// (over trailing blanks and a comment), and plain ones can include
    /// trailing blanks; recompute the exact extent from the source.
    fn scalar_span(&self, start: usize, end: usize, style: Style) -> Range<usize> {
        let bytes = self.text.as_bytes();
        // A node property (`&anchor`, `!tag`) may precede the scalar; the
        // parser's span starts there, the value at its first quote.
        let start = match style {
            Style::DoubleQuoted | Style::SingleQuoted => {
                let quote = if style == Style::DoubleQuoted {
                    '"'
                } else {
                    '\''
                };
                self.text
                    .get(start..)
                    .and_then(|s| s.find(quote))
                    .map_or(start, |i| start + i)
            }
            _ => start,
        };
        match style {
            Style::DoubleQuoted => {
                let mut i = start + 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => return start..i + 1,
                        _ => i += 1,
                    }
                }
                start..end
            }
            Style::SingleQuoted => {
                let mut i = start + 1;
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        return start..i + 1;
                    }
                    i += 1;
                }
                start..end
            }
            Style::Plain => {
                let trimmed = self.text[start..end].trim_end();
                start..start + trimmed.len()
            }
            Style::Literal | Style::Folded => start..end,
        }
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Open::Seq(_, items)) => items.push(node),
            Some(Open::Map(_, entries, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
}

/// Converts a byte offset into a 1-based (line, column) pair; the column
/// counts characters.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_text<'a>(text: &'a str, node: &Node) -> &'a str {
        &text[node.value_span().expect("scalar")]
    }

    #[test]
    fn quoted_scalar_spans_stop_at_the_closing_quote() {
        let text = "a: \"x\\\"y\"   # c\nb: 'it''s'  # d\nc: plain val  # e\n";
        let docs = parse(text).expect("parses");
        let root = &docs[0];
        assert_eq!(value_text(text, root.get("a").expect("a")), "x\\\"y");
        assert_eq!(value_text(text, root.get("b").expect("b")), "it''s");
        assert_eq!(value_text(text, root.get("c").expect("c")), "plain val");
    }

    #[test]
    fn quoted_scalar_after_anchor_or_tag() {
        let text = "a: &v \"1.2\"\nb: !!str '3'\n";
        let docs = parse(text).expect("parses");
        assert_eq!(value_text(text, docs[0].get("a").expect("a")), "1.2");
        assert_eq!(value_text(text, docs[0].get("b").expect("b")), "3");
    }

    #[test]
    fn spans_are_bytes_not_chars() {
        let text = "é: 'ü'\nk: v\n";
        let docs = parse(text).expect("parses");
        assert_eq!(value_text(text, docs[0].get("k").expect("k")), "v");
        assert_eq!(value_text(text, docs[0].get("é").expect("é")), "ü");
    }

    #[test]
    fn several_documents() {
        let text = "a: 1\n---\nb: 2\n";
        let docs = parse(text).expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].get("b").and_then(Node::as_str), Some("2"));
    }

    #[test]
    fn syntax_error_has_a_position_and_terminates() {
        let err = parse("a: [\nb").expect_err("is invalid");
        assert!(err.offset <= 6, "{err:?}");
    }

    #[test]
    fn nesting_is_bounded_while_parsing() {
        let ok = format!("{}{}", "- ".repeat(MAX_DEPTH), "x");
        assert!(parse(&ok).is_ok());
        let over = format!("{}{}", "- ".repeat(MAX_DEPTH + 1), "x");
        assert!(parse(&over).is_err_and(|e| e.too_deep));
        for deep in [
            "- ".repeat(100_000),
            "[".repeat(100_000),
            "{a: ".repeat(100_000),
        ] {
            let err = parse(&deep).expect_err("too deep");
            assert!(err.too_deep, "{err:?}");
        }
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 3), (2, 1));
        assert_eq!(line_col("ab\ncd", 1), (1, 2));
    }
}
