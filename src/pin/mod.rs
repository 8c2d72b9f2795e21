//! Pin locators: find the places in a file that hold an item's version and
//! rewrite exactly those bytes.
//!
//! Every locator reduces to the same thing: a list of [`Match`]es, each the
//! byte range of the value's text in the file. A rewrite replaces those
//! ranges and nothing else, so quotes, comments, blank lines, CRLF line
//! endings and other YAML documents stay as they were.

use std::ops::Range;

use crate::manifest::model::Pin;

/// A compiled locator of one pin.
#[derive(Debug, Clone)]
pub enum Locator {
    /// `NAME = value` in a Makefile (`=`, `:=`, `?=`, `::=`).
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
            ([], _) => {
                Err("a pin needs a locator: one of `make`, `yaml`, `json`, `toml`, `regex`".into())
            }
            (keys, _) => Err(format!(
                "a pin takes one locator (or `yaml` with `regex`), found {}",
                keys.join(", ")
            )),
        }
    }

    /// A short description for reports and the lock, e.g. `make TRAEFIK_VERSION`.
    pub fn describe(&self) -> String {
        match self {
            Locator::Make(name) => format!("make {name}"),
            Locator::Yaml { path, regex: None } => format!("yaml {}", path.join(".")),
            Locator::Yaml {
                path,
                regex: Some(re),
            } => {
                format!("yaml {} regex {}", path.join("."), re.as_str())
            }
            Locator::Json(path) => format!("json {}", path.join(".")),
            Locator::Toml(path) => format!("toml {}", path.join(".")),
            Locator::Regex(re) => format!("regex {}", re.as_str()),
        }
    }
}

/// Compiles a pin regex and checks it has a `version` group.
pub fn compile_version_regex(pattern: &str) -> Result<regex::Regex, String> {
    let re = regex::Regex::new(pattern).map_err(|e| format!("invalid regex: {e}"))?;
    if !re.capture_names().flatten().any(|n| n == "version") {
        return Err("the regex has no named group `version`; write `(?P<version>...)`".into());
    }
    Ok(re)
}

/// Splits a dot-separated key path; empty segments are errors.
pub fn split_path(path: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
    if parts.iter().any(String::is_empty) {
        return Err(format!(
            "`{path}` is not a key path: segments are separated by single dots"
        ));
    }
    Ok(parts)
}
