//! The published JSON Schema of `vendor.yaml`, and how its violations are
//! explained.
//!
//! The schema is generated from the model ([`super::model`]). `vendor
//! schema` prints [`schema_text`]; `schema/vendor.schema.json` in the
//! repository is exactly that text, and `tests/schema.rs` keeps them equal.
//! Loading validates every manifest against [`schema`] before serde sees
//! it, so editors and the tool agree on what is valid.
//!
//! jsonschema's own messages are written for JSON documents and are poor
//! for `oneOf` (every branch's failure at once). [`check`] turns each
//! violation into a [`Problem`] that points at the offending key or value
//! and says what would be accepted, reading allowed keys, values and
//! descriptions from the schema itself.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationError, ValidationErrorKind};
use jsonschema::{JsonType, Validator};
use serde_json::Value;

use super::load::{Doc, NodePath, Part, plain_scalar};
use super::model::{Manifest, SIZE_HELP};
use crate::diag::{Problem, codes, one_of, suggest};
use crate::yaml::{Kind, Style};

/// The JSON Schema of `vendor.yaml` as a JSON value.
pub fn schema() -> Value {
    Value::from(schemars::schema_for!(Manifest))
}

/// The JSON Schema as pretty-printed JSON with a trailing newline: the
/// exact content of `schema/vendor.schema.json`.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema and its compiled validator, built once per process.
struct Compiled {
    schema: Value,
    validator: Result<Validator, String>,
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let schema = schema();
        let validator = jsonschema::validator_for(&schema).map_err(|e| e.to_string());
        Compiled { schema, validator }
    })
}

/// Validates `value` (the JSON form of `doc`) against the schema; one
/// problem per violation, each pointing into `doc`.
pub(crate) fn check(doc: &Doc<'_>, value: &Value) -> Vec<Problem> {
    let compiled = compiled();
    let validator = match &compiled.validator {
        Ok(v) => v,
        Err(e) => {
            return vec![Problem::new(
                codes::INTERNAL,
                format!("the built-in schema does not compile: {e}"),
            )];
        }
    };
    let mut explainer = Explainer {
        doc: *doc,
        schema: &compiled.schema,
        out: Vec::new(),
    };
    for error in validator.iter_errors(value) {
        explainer.explain(&error);
    }
    explainer.out
}

struct Explainer<'a> {
    doc: Doc<'a>,
    schema: &'a Value,
    out: Vec<Problem>,
}

impl Explainer<'_> {
    fn explain(&mut self, error: &ValidationError<'_>) {
        let path = self.doc.path_of_pointer(error.instance_path().as_str());
        // Aliases were reported (and replaced by null) during conversion.
        if matches!(self.doc.node(&path).map(|n| &n.kind), Some(Kind::Alias)) {
            return;
        }
        let schema_path = error.schema_path().as_str();
        let instance = error.instance();
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                self.unknown_keys(&path, schema_path, unexpected);
            }
            ValidationErrorKind::Required { property } => {
                self.missing(&path, schema_path, property.as_str().unwrap_or_default());
            }
            ValidationErrorKind::Type { kind } => self.wrong_type(&path, kind, instance),
            ValidationErrorKind::Enum { options } => {
                let allowed = strings(options.as_array().map(Vec::as_slice).unwrap_or(&[]));
                self.not_one_of(&path, instance, &allowed);
            }
            ValidationErrorKind::Constant { expected_value } => {
                let allowed = strings(std::slice::from_ref(&**expected_value));
                self.not_one_of(&path, instance, &allowed);
            }
            ValidationErrorKind::Pattern { pattern } => self.pattern(&path, instance, pattern),
            ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
                self.out_of_range(&path, instance, limit);
            }
            ValidationErrorKind::MinLength { .. } => self.empty(&path),
            ValidationErrorKind::MinItems { limit } => self.too_few(&path, *limit),
            ValidationErrorKind::PropertyNames { error: inner } => {
                self.bad_key(&path, inner.instance().as_str().unwrap_or_default());
            }
            ValidationErrorKind::AnyOf { context } => {
                self.any_of(&path, schema_path, instance, context, error);
            }
            ValidationErrorKind::OneOfNotValid { context } => {
                self.one_of(&path, schema_path, instance, context, error);
            }
            _ => self.generic(&path, error),
        }
    }

    fn push(&mut self, problem: Problem) {
        self.out.push(problem);
    }

    /// The schema object that owns the keyword at `schema_path`
    /// (`…/Pin/additionalProperties` → the `Pin` schema).
    fn owner(&self, schema_path: &str) -> Option<&Value> {
        let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
        self.schema.pointer(parent)
    }

    fn unknown_keys(&mut self, path: &NodePath, schema_path: &str, unexpected: &[String]) {
        let allowed = self
            .owner(schema_path)
            .map(property_names)
            .unwrap_or_default();
        for key in unexpected {
            let problem = self.unknown_key(path, key, &allowed);
            self.push(problem);
        }
    }

    fn unknown_key(&self, path: &NodePath, key: &str, allowed: &[String]) -> Problem {
        let mut help = match suggest(key, allowed) {
            Some(near) => format!("did you mean `{near}`? "),
            None => String::new(),
        };
        if allowed.is_empty() {
            help.push_str("this mapping takes no keys");
        } else {
            help.push_str(&format!("allowed here: {}", one_of(allowed)));
        }
        self.doc
            .problem(
                codes::UNKNOWN_KEY,
                format!("unknown key `{key}` in {}", path.describe()),
                &path.key(key),
                Part::Key,
            )
            .label("unknown key")
            .help(help)
    }

    fn missing(&mut self, path: &NodePath, schema_path: &str, property: &str) {
        let description = self
            .owner(schema_path)
            .and_then(|s| s.pointer(&format!("/properties/{property}/description")))
            .and_then(Value::as_str)
            .map(first_sentence);
        let help = match description {
            Some(d) => format!("add `{property}:` — {d}"),
            None => format!("add `{property}:`"),
        };
        let problem = self
            .doc
            .problem(
                codes::MISSING_KEY,
                format!("{} is missing `{property}`", path.describe()),
                path,
                Part::Key,
            )
            .label(format!("needs `{property}`"))
            .help(help);
        self.push(problem);
    }

    fn wrong_type(&mut self, path: &NodePath, kind: &TypeKind, instance: &Value) {
        let expected: Vec<JsonType> = match kind {
            TypeKind::Single(t) => vec![*t],
            TypeKind::Multiple(set) => set.iter().collect(),
        };
        let shown: Vec<JsonType> = match expected.iter().any(|t| *t != JsonType::Null) {
            true => expected
                .into_iter()
                .filter(|t| *t != JsonType::Null)
                .collect(),
            false => expected,
        };
        let names: Vec<&str> = shown.iter().map(|t| type_name(*t)).collect();
        let found = found_name(instance);
        let message = if path.is_empty() {
            format!("the manifest must be {}, not {found}", or_list(&names))
        } else {
            format!(
                "{} must be {}, not {found}",
                path.describe(),
                or_list(&names)
            )
        };
        let mut problem = self
            .doc
            .problem(codes::WRONG_TYPE, message, path, Part::Value)
            .label(found);
        if let Some(help) = self.type_help(path, &shown, instance) {
            problem = problem.help(help);
        }
        self.push(problem);
    }

    /// What to write instead, for the common YAML typing surprises.
    fn type_help(
        &self,
        path: &NodePath,
        expected: &[JsonType],
        instance: &Value,
    ) -> Option<String> {
        let node = self.doc.node(path)?;
        let text = node.as_str().unwrap_or_default();
        let quoted = matches!(
            node.style(),
            Some(Style::SingleQuoted | Style::DoubleQuoted)
        );
        if instance.is_null() {
            return Some(
                match expected {
                    [JsonType::Object] => "write its entries indented below it, or `{}` for none",
                    [JsonType::Array] => {
                        "write its entries below it as `- …` lines, or `[]` for none"
                    }
                    _ => "give it a value",
                }
                .to_owned(),
            );
        }
        if path.last_key() == Some("max_size") {
            return Some(SIZE_HELP.to_owned());
        }
        if expected.contains(&JsonType::String) {
            return matches!(instance, Value::Number(_) | Value::Bool(_)).then(|| {
                format!(
                    "YAML reads `{text}` as {}; quote it to keep it a string: \"{text}\"",
                    found_name(instance)
                )
            });
        }
        if expected.contains(&JsonType::Array) && node.as_str().is_some() {
            return Some(format!("write a list, e.g. `[{text}]`"));
        }
        if quoted && expected.iter().any(|t| accepts(*t, &plain_scalar(text))) {
            return Some("remove the quotes".to_owned());
        }
        if expected.contains(&JsonType::Boolean) {
            return Some("write `true` or `false`".to_owned());
        }
        None
    }

    /// A scalar as written in the manifest (`1e+23` stays the digits the
    /// user typed); other values as JSON.
    fn written(&self, path: &NodePath, instance: &Value) -> String {
        match self.doc.node(path).and_then(|n| n.as_str()) {
            Some(text) => text.to_owned(),
            None => show(instance),
        }
    }

    fn not_one_of(&mut self, path: &NodePath, instance: &Value, allowed: &[String]) {
        let shown = self.written(path, instance);
        let mut help = match instance.as_str().and_then(|s| suggest(s, allowed)) {
            Some(near) => format!("did you mean `{near}`? "),
            None => String::new(),
        };
        help.push_str(&format!("expected {}", one_of(allowed)));
        let what = path
            .last_key()
            .map_or_else(|| "value".to_owned(), |k| format!("`{k}`"));
        let problem = self
            .doc
            .problem(
                codes::INVALID_VALUE,
                format!("`{shown}` is not a valid {what} in {}", path.describe()),
                path,
                Part::Value,
            )
            .label("not allowed here")
            .help(help);
        self.push(problem);
    }

    fn pattern(&mut self, path: &NodePath, instance: &Value, pattern: &str) {
        let shown = self.written(path, instance);
        let (code, expected) = match path.last_key() {
            Some("platforms") => (
                codes::INVALID_PLATFORM,
                "a platform is `os/arch` in lowercase, e.g. `linux/amd64`".to_owned(),
            ),
            Some("repo") => (
                codes::INVALID_VALUE,
                "a GitHub repository is `owner/name`, e.g. `traefik/traefik`".to_owned(),
            ),
            Some("mode") => (
                codes::INVALID_VALUE,
                "a file mode is three or four octal digits in quotes, e.g. \"0755\"".to_owned(),
            ),
            Some("max_size") => (codes::INVALID_VALUE, SIZE_HELP.to_owned()),
            _ => (codes::INVALID_VALUE, format!("it must match `{pattern}`")),
        };
        let problem = self
            .doc
            .problem(
                code,
                format!("`{shown}` is not valid for {}", path.describe()),
                path,
                Part::Value,
            )
            .label("does not match the expected form")
            .help(expected);
        self.push(problem);
    }

    fn out_of_range(&mut self, path: &NodePath, instance: &Value, limit: &Value) {
        let shown = self.written(path, instance);
        let problem = if path.to_string() == "version" {
            self.doc
                .problem(
                    codes::UNSUPPORTED_VERSION,
                    format!("manifest format version {shown} is not supported"),
                    path,
                    Part::Value,
                )
                .label("unsupported")
                .help("this vendor reads `version: 1`")
        } else {
            self.doc
                .problem(
                    codes::INVALID_VALUE,
                    format!("{shown} is out of range for {}", path.describe()),
                    path,
                    Part::Value,
                )
                .label("out of range")
                .help(format!("the limit is {limit}"))
        };
        self.push(problem);
    }

    fn empty(&mut self, path: &NodePath) {
        let problem = self
            .doc
            .problem(
                codes::EMPTY_VALUE,
                format!("{} must not be empty", path.describe()),
                path,
                Part::Value,
            )
            .label("empty")
            .help("give it a value, or remove the key");
        self.push(problem);
    }

    fn too_few(&mut self, path: &NodePath, limit: u64) {
        let problem = self
            .doc
            .problem(
                codes::INVALID_VALUE,
                format!("{} needs at least {limit} entries", path.describe()),
                path,
                Part::Value,
            )
            .label("too few entries")
            .help(format!("add at least {limit} entries"));
        self.push(problem);
    }

    fn bad_key(&mut self, path: &NodePath, key: &str) {
        let is_item = path.to_string() == "items";
        let code = if is_item {
            codes::INVALID_ITEM_ID
        } else {
            codes::INVALID_VALUE
        };
        let problem = self
            .doc
            .problem(
                code,
                format!("`{key}` is not a valid item id"),
                &path.key(key),
                Part::Key,
            )
            .label("invalid id")
            .help(format!(
                "item ids are lowercase letters, digits, `-` and `_`, starting with a letter or digit, e.g. `{}`",
                id_like(key)
            ));
        self.push(problem);
    }

    /// The alternatives of the `anyOf`/`oneOf` at `schema_path`.
    fn branches(&self, schema_path: &str) -> Vec<Value> {
        self.schema
            .pointer(schema_path)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// `anyOf` as schemars writes `Option<T>`: `[T, {type: null}]`. The
    /// value is not null (or it would be valid), so explain why it is not
    /// a `T`.
    fn any_of(
        &mut self,
        path: &NodePath,
        schema_path: &str,
        instance: &Value,
        context: &[Vec<ValidationError<'static>>],
        error: &ValidationError<'_>,
    ) {
        let branches = self.branches(schema_path);
        let non_null: Vec<usize> = branches
            .iter()
            .enumerate()
            .filter(|(_, b)| b.get("type").and_then(Value::as_str) != Some("null"))
            .map(|(i, _)| i)
            .collect();
        match (non_null.as_slice(), instance) {
            ([i], v) if !v.is_null() => {
                for e in context.get(*i).map(Vec::as_slice).unwrap_or(&[]) {
                    self.explain(e);
                }
            }
            _ => self.generic(path, error),
        }
    }

    /// `oneOf` as schemars writes enums: internally tagged (`type: …`),
    /// externally tagged (`sha256: …`) or unit variants (`first-use`).
    fn one_of(
        &mut self,
        path: &NodePath,
        schema_path: &str,
        instance: &Value,
        context: &[Vec<ValidationError<'static>>],
        error: &ValidationError<'_>,
    ) {
        let branches = self.branches(schema_path);
        let forms = Forms::of(&branches);
        if let Some(tag) = tag_key(&branches) {
            self.tagged(path, instance, &tag, &forms, context);
        } else if forms.complete {
            self.external(path, instance, &forms, context);
        } else {
            self.generic(path, error);
        }
    }

    fn tagged(
        &mut self,
        path: &NodePath,
        instance: &Value,
        tag: &str,
        forms: &Forms,
        context: &[Vec<ValidationError<'static>>],
    ) {
        let kinds = &forms.tags;
        let Some(object) = instance.as_object() else {
            let problem = self
                .doc
                .problem(
                    codes::WRONG_TYPE,
                    format!("{} must be a mapping with a `{tag}` key", path.describe()),
                    path,
                    Part::Value,
                )
                .label(found_name(instance))
                .help(format!(
                    "e.g. `{tag}: {}`",
                    kinds.first().map_or("", String::as_str)
                ));
            return self.push(problem);
        };
        let Some(value) = object.get(tag) else {
            let problem = self
                .doc
                .problem(
                    codes::MISSING_KEY,
                    format!("{} is missing `{tag}`", path.describe()),
                    path,
                    Part::Key,
                )
                .label(format!("needs `{tag}`"))
                .help(format!("add `{tag}:` with one of {}", one_of(kinds)));
            return self.push(problem);
        };
        let index = value
            .as_str()
            .and_then(|v| forms.tag_branch.iter().find(|(t, _)| t == v))
            .map(|(_, i)| *i);
        match index {
            Some(i) => {
                for e in context.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                    self.explain(e);
                }
            }
            None => self.unknown_tag(path, tag, value, kinds),
        }
    }

    fn unknown_tag(&mut self, path: &NodePath, tag: &str, value: &Value, kinds: &[String]) {
        let shown = show(value);
        let code = if path.last_key() == Some("source") {
            codes::UNKNOWN_SOURCE_TYPE
        } else {
            codes::INVALID_VALUE
        };
        let mut help = match value.as_str().and_then(|v| suggest(v, kinds)) {
            Some(near) => format!("did you mean `{near}`? "),
            None => String::new(),
        };
        help.push_str(&format!("the types are {}", one_of(kinds)));
        let what = if code == codes::UNKNOWN_SOURCE_TYPE {
            "source type".to_owned()
        } else {
            format!("`{tag}`")
        };
        let problem = self
            .doc
            .problem(
                code,
                format!("unknown {what} `{shown}`"),
                &path.key(tag),
                Part::Value,
            )
            .label("unknown type")
            .help(help);
        self.push(problem);
    }

    /// Unit variants (`first-use`) and single-key mappings (`sha256: …`).
    fn external(
        &mut self,
        path: &NodePath,
        instance: &Value,
        forms: &Forms,
        context: &[Vec<ValidationError<'static>>],
    ) {
        let what = path
            .last_key()
            .map_or_else(|| "value".to_owned(), |k| format!("`{k}`"));
        match instance {
            Value::String(s) => {
                let mut help = match suggest(s, &forms.consts) {
                    Some(near) => format!("did you mean `{near}`? "),
                    None => String::new(),
                };
                let nested = forms
                    .keys
                    .iter()
                    .find(|(k, _)| s.starts_with(&format!("{k}:")));
                if let Some((key, _)) = nested {
                    let rest = s[key.len() + 1..].trim();
                    let parent = path.last_key().unwrap_or("value");
                    help = format!("write it as a mapping: `{parent}: {{{key}: {rest}}}`; ");
                }
                help.push_str(&format!("the forms are {}", forms.describe()));
                let problem = self
                    .doc
                    .problem(
                        codes::INVALID_VALUE,
                        format!("`{s}` is not a valid {what}"),
                        path,
                        Part::Value,
                    )
                    .label("not a known form")
                    .help(help);
                self.push(problem);
            }
            Value::Object(map) if map.len() == 1 => {
                let Some(key) = map.keys().next() else { return };
                match forms.keys.iter().find(|(k, _)| k == key) {
                    Some((_, i)) => {
                        for e in context.get(*i).map(Vec::as_slice).unwrap_or(&[]) {
                            self.explain(e);
                        }
                    }
                    None => {
                        let keys: Vec<String> = forms.keys.iter().map(|(k, _)| k.clone()).collect();
                        let problem = self.unknown_key(path, key, &keys);
                        self.push(problem);
                    }
                }
            }
            _ => {
                let problem = self
                    .doc
                    .problem(
                        codes::INVALID_VALUE,
                        format!("{} must be one of its forms", path.describe()),
                        path,
                        Part::Value,
                    )
                    .label(found_name(instance))
                    .help(format!("expected {}", forms.describe()));
                self.push(problem);
            }
        }
    }

    fn generic(&mut self, path: &NodePath, error: &ValidationError<'_>) {
        let problem = self
            .doc
            .problem(
                codes::INVALID_VALUE,
                format!("{} is invalid: {}", path.describe(), error.masked()),
                path,
                Part::Value,
            )
            .label("invalid")
            .help("see schema/vendor.schema.json for what this key takes");
        self.push(problem);
    }
}

/// The accepted forms of a `oneOf` enum.
#[derive(Default)]
struct Forms {
    /// Unit variants: plain strings.
    consts: Vec<String>,
    /// Single-key mapping variants and their branch index.
    keys: Vec<(String, usize)>,
    /// Internally tagged variants: tag value and branch index.
    tag_branch: Vec<(String, usize)>,
    tags: Vec<String>,
    /// Every branch was understood.
    complete: bool,
}

impl Forms {
    fn of(branches: &[Value]) -> Forms {
        let mut forms = Forms {
            complete: !branches.is_empty(),
            ..Forms::default()
        };
        for (i, b) in branches.iter().enumerate() {
            if let Some(c) = b.get("const").and_then(Value::as_str) {
                forms.consts.push(c.to_owned());
            } else if let Some([key]) = b
                .get("required")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                && let Some(key) = key.as_str()
            {
                forms.keys.push((key.to_owned(), i));
            } else {
                forms.complete = false;
            }
            if let Some(tag) = b.pointer("/properties/type/const").and_then(Value::as_str) {
                forms.tag_branch.push((tag.to_owned(), i));
                forms.tags.push(tag.to_owned());
            }
        }
        forms
    }

    /// "`github-digest`, `first-use`, `file: …` or `sha256: …`".
    fn describe(&self) -> String {
        let mut all: Vec<String> = self.consts.clone();
        all.extend(self.keys.iter().map(|(k, _)| format!("{k}: …")));
        one_of(&all)
    }
}

/// The property every branch pins with a `const` (`type` for sources).
fn tag_key(branches: &[Value]) -> Option<String> {
    let first = branches.first()?.get("properties")?.as_object()?;
    first
        .iter()
        .filter(|(_, s)| s.get("const").is_some())
        .map(|(k, _)| k)
        .find(|k| {
            branches
                .iter()
                .all(|b| b.pointer(&format!("/properties/{k}/const")).is_some())
        })
        .cloned()
}

fn property_names(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn strings(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect()
}

/// Whether a value of JSON type `t` accepts `v`.
fn accepts(t: JsonType, v: &Value) -> bool {
    match t {
        JsonType::Array => v.is_array(),
        JsonType::Boolean => v.is_boolean(),
        JsonType::Integer => v.is_i64() || v.is_u64(),
        JsonType::Null => v.is_null(),
        JsonType::Number => v.is_number(),
        JsonType::Object => v.is_object(),
        JsonType::String => v.is_string(),
    }
}

fn type_name(t: JsonType) -> &'static str {
    match t {
        JsonType::Array => "a list",
        JsonType::Boolean => "true or false",
        JsonType::Integer => "an integer",
        JsonType::Null => "empty",
        JsonType::Number => "a number",
        JsonType::Object => "a mapping",
        JsonType::String => "a string",
    }
}

fn found_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn or_list(names: &[&str]) -> String {
    match names.split_last() {
        None => "something else".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A value as the user wrote it (strings without JSON quotes).
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The first sentence of a schema description, on one line, starting in
/// lowercase to continue a help sentence.
fn first_sentence(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = match joined.find(". ") {
        Some(i) => &joined[..i],
        None => joined.trim_end_matches('.'),
    };
    let mut chars = sentence.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() && chars.clone().next().is_some_and(char::is_lowercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => sentence.to_owned(),
    }
}

/// A valid id resembling `key`, for the help text.
fn id_like(key: &str) -> String {
    let mut id: String = key
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    id = id.trim_start_matches(['-', '_']).to_owned();
    if id.is_empty() {
        "my-tool".to_owned()
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_compiles_and_text_ends_with_newline() {
        assert!(compiled().validator.is_ok());
        let text = schema_text();
        assert!(text.ends_with("}\n"));
        let back: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back, schema());
    }

    #[test]
    fn forms_of_the_checksum_enum() {
        let s = schema();
        let branches = s
            .pointer("/$defs/Checksum/oneOf")
            .and_then(Value::as_array)
            .expect("checksum is a oneOf");
        let forms = Forms::of(branches);
        assert!(forms.complete);
        assert_eq!(forms.consts, ["github-digest", "first-use"]);
        assert_eq!(
            forms.describe(),
            "`github-digest`, `first-use`, `file: …` or `sha256: …`"
        );
        assert_eq!(tag_key(branches), None);
    }

    #[test]
    fn source_is_tagged_by_type() {
        let s = schema();
        let branches = s
            .pointer("/$defs/Source/oneOf")
            .and_then(Value::as_array)
            .expect("source is a oneOf");
        assert_eq!(tag_key(branches).as_deref(), Some("type"));
        assert!(
            Forms::of(branches)
                .tags
                .contains(&"github-release".to_owned())
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(
            first_sentence("Install path. A directory\nwhen"),
            "install path"
        );
        assert_eq!(first_sentence("URL of it"), "URL of it");
        assert_eq!(first_sentence("`owner/name`."), "`owner/name`");
        assert_eq!(id_like("My Tool"), "my-tool");
        assert_eq!(or_list(&["a", "b"]), "a or b");
    }
}
