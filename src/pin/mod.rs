//! Pin locators: find the places in a file that hold an item's version and
//! rewrite exactly those bytes.
//!
//! Every locator reduces to the same thing: a list of [`Match`]es, each the
//! byte range of the value's text in the file. A rewrite replaces those
//! ranges and nothing else, so quotes, comments, blank lines, CRLF line
//! endings and other YAML documents stay as they were.

use std::ops::Range;



/// A compiled locator of one pin.
#[derive(Debug, Clone)]
pub enum Locator {
    /// `NAME = value` in a Makefile (`=`, `:=`, `?=`, `::=`).
    Make(String),
    /// A YAML key path; with a regex, only its `version` group inside the
    /// scalar value is the pin.
    Yaml { path: Vec<String>, regex: Option<regex::Regex> },
    /// A JSON key path.
    Json(Vec<String>),
    /// A TOML key path.
    Toml(Vec<String>),
    /// A regex with a named group `version`, anywhere in the file.
    Regex(regex::Regex),
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
    #[error("the value at line {line} is not a plain scalar that can be rewritten ({what})")]
    NotEditable { line: usize, what: String },
    #[error("`{value}` cannot be written here: {why}")]
    Unwritable { value: String, why: String },
}
