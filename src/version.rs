//! Upstream versions: parsing them in an item's scheme, ordering them,
//! matching constraints (`~3.3`, `>=3, <4`), mapping release tags to
//! versions through a tag template (`v{version}`), and picking the newest
//! candidate. Pure: no I/O, no async.
//!
//! # Schemes
//!
//! - [`Scheme::Semver`]: `MAJOR.MINOR.PATCH[-PRE][+BUILD]` with an optional
//!   leading `v`. Precedence follows semver 2.0 (`3.4.0-rc.1 < 3.4.0`).
//!   Semver ignores build metadata for precedence; here, versions equal in
//!   precedence are then ordered by build metadata (none first, then digit
//!   runs compared numerically and words lexically), so k3s's
//!   `1.30.4+k3s1 < 1.30.4+k3s2 < 1.30.4+k3s10`. A pre-release part makes
//!   a pre-release.
//! - [`Scheme::Date`]: the digit runs of the text, compared numerically in
//!   order (`1.20240306`, `20240301T000000Z`); never a pre-release.
//! - [`Scheme::Loose`]: digit runs and words (separated by `.`, `-`, `+`,
//!   `_`, `~`, … which are ignored; a leading `v` before a digit is
//!   dropped). Numbers compare numerically, words lexically; at one
//!   position a pre-release word sorts lowest, then "nothing more", then
//!   other words, then numbers. So `6.8.0-45-generic < 6.8.0-47-generic <
//!   6.11.0-13-generic` and `6.9.0-rc2 < 6.9.0 < 6.9.0-1`. The words `rc`,
//!   `alpha`, `beta` and `pre` (whole words, any case: `-rc3` is one,
//!   `-preempt` is not) mark a pre-release.
//! - [`Scheme::Regex`]: a pattern whose numeric capture groups (`major`,
//!   `minor`, `patch`, `build` if any is named so, otherwise every group
//!   but `prerelease`) are compared in order; a non-empty `prerelease`
//!   group makes a pre-release, which sorts before the same numbers
//!   without one.
//!
//! Versions that compare equal by all of that (`v1.2.3` and `1.2.3`) are
//! ordered by their text, so the order is total and agrees with `==`.
//!
//! # Constraints
//!
//! Comma-separated clauses, all of which must hold: `*`, `=V`, `V` (the
//! same as `=V`, not Cargo's `^V`), `>V`, `>=V`, `<V`, `<=V`, `~V`, `^V`,
//! `V.*` (`x` works as `*`). A clause compares a version with its operand
//! over the operand's components only, so a partial operand stands for
//! every version it prefixes:
//! `3.3` and `=3.3` mean any `3.3.x` (pre-releases included), `<4` excludes
//! `4.0.0-rc.1` while `<4.0.0` includes it, `>3.3` means `>=3.4`.
//! `~V` allows the last given component to grow (at least MAJOR.MINOR stay
//! fixed: `~3.3` and `~3.3.4` stay within 3.3); `^V` keeps everything up
//! to the first non-zero component (`^1.30` is `>=1.30, <2`, `^0.2.3` is
//! `>=0.2.3, <0.3`). With semver, an exact operand without build metadata
//! matches every build (`=1.30.4` matches `1.30.4+k3s2`). Date and loose
//! operands are digit runs / tokens like their versions, so
//! `>=20240101T000000Z` and `~6.8.0` work. Whether pre-releases are wanted
//! at all is not the constraint's business: see [`newest`].

use std::borrow::Cow;
use std::cmp::{Ordering, Reverse};
use std::fmt;
use std::hash::{Hash, Hasher};

use regex::{Captures, Regex};

use crate::manifest::model::{Item, Source, Versioning};
use crate::template::{self, Vars};

/// Why a version, pattern or constraint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("`{text}` is not a semantic version (expected MAJOR.MINOR.PATCH): {reason}")]
    NotSemver { text: String, reason: String },
    #[error("`{text}` has no digits to compare as a date version")]
    NotDate { text: String },
    #[error("`{text}` has no number to compare as a version")]
    NotLoose { text: String },
    #[error("`{text}` does not match the version pattern `{pattern}`")]
    NoMatch { text: String, pattern: String },
    #[error("`{text}`: group `{group}` captured `{captured}`, which is not a number")]
    NotNumber {
        text: String,
        group: String,
        captured: String,
    },
    #[error("version pattern `{pattern}`: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("constraint `{constraint}`: {reason}")]
    BadConstraint { constraint: String, reason: String },
}

/// How the versions of an item are parsed and compared.
#[derive(Debug, Clone)]
pub enum Scheme {
    Semver,
    Date,
    Loose,
    /// Build with [`Scheme::regex`], which anchors the pattern and checks
    /// its groups.
    Regex(Regex),
}

/// Group names a regex scheme reads as numbers, in comparison order.
const NAMED_PARTS: [&str; 4] = ["major", "minor", "patch", "build"];
const PRERELEASE_GROUP: &str = "prerelease";

impl Scheme {
    /// The scheme a manifest `versioning` value names.
    pub fn from_versioning(versioning: &Versioning) -> Result<Scheme, VersionError> {
        Ok(match versioning {
            Versioning::Semver => Scheme::Semver,
            Versioning::Date => Scheme::Date,
            Versioning::Loose => Scheme::Loose,
            Versioning::Regex(pattern) => Scheme::regex(pattern)?,
        })
    }

    /// The item's scheme: its `versioning`, else inferred: `date` for APT
    /// snapshots, `semver` when the wanted version is a semantic version
    /// without a pre-release part (`6.8.0-45-generic` parses as one but is
    /// not meant as one), `loose` otherwise.
    pub fn default_for(item: &Item) -> Scheme {
        // A bad regex is reported by `validate`; here it falls back to the
        // inferred scheme.
        if let Some(scheme) = item
            .versioning
            .as_ref()
            .and_then(|v| Scheme::from_versioning(v).ok())
        {
            return scheme;
        }
        if matches!(item.source, Source::AptSnapshot { .. }) {
            return Scheme::Date;
        }
        match parse_semver(&item.version) {
            Ok(Key::Semver(v)) if v.pre.is_empty() => Scheme::Semver,
            _ => Scheme::Loose,
        }
    }

    /// A regex scheme; the pattern must match a whole version and have at
    /// least one capture group besides `prerelease`.
    pub fn regex(pattern: &str) -> Result<Scheme, VersionError> {
        let bad = |reason: String| VersionError::BadPattern {
            pattern: pattern.to_owned(),
            reason,
        };
        let re = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| bad(e.to_string()))?;
        if numeric_groups(&re).is_empty() {
            return Err(bad(
                "needs a capture group for the numbers, e.g. `(?<major>\\d+)`".to_owned(),
            ));
        }
        Ok(Scheme::Regex(re))
    }

    /// Parses `text` as a version of this scheme.
    pub fn parse(&self, text: &str) -> Result<Version, VersionError> {
        let key = match self {
            Scheme::Semver => parse_semver(text)?,
            Scheme::Date => parse_date(text)?,
            Scheme::Loose => parse_loose(text)?,
            Scheme::Regex(re) => parse_regex(re, text)?,
        };
        Ok(Version {
            text: text.to_owned(),
            key,
        })
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scheme::Semver => f.write_str("semver"),
            Scheme::Date => f.write_str("date"),
            Scheme::Loose => f.write_str("loose"),
            Scheme::Regex(re) => write!(f, "regex `{}`", re.as_str()),
        }
    }
}

/// A parsed version: comparable with versions of the same scheme, and
/// keeping its original text.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    key: Key,
}

impl Version {
    /// The text the version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Compares by the scheme's precedence alone, without the text
    /// tie-break of `Ord` (`v1.2.3` and `1.2.3` are equal here).
    pub fn cmp_precedence(&self, other: &Version) -> Ordering {
        self.key.compare(&other.key)
    }

    /// Whether this is a pre-release (`3.4.0-rc.1`, `6.9.0-rc3`).
    pub fn is_prerelease(&self) -> bool {
        self.key.is_prerelease()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .compare(&other.key)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

/// A run of ASCII digits without its leading zeros: a number of any size.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Number(String);

impl Number {
    fn new(digits: &str) -> Number {
        Number(digits.trim_start_matches('0').to_owned())
    }

    fn from_u64(n: u64) -> Number {
        Number::new(&n.to_string())
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// The value, saturating at `u128::MAX`.
    fn value(&self) -> u128 {
        if self.is_zero() {
            0
        } else {
            self.0.parse().unwrap_or(u128::MAX)
        }
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A component of a loose version, or of a date version (numbers only).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Num(Number),
    Word(String),
}

/// What sits at one position of a token list, in comparison order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Slot<'a> {
    PreWord(&'a str),
    End,
    Word(&'a str),
    Num(&'a Number),
}

fn slot(token: Option<&Token>) -> Slot<'_> {
    match token {
        None => Slot::End,
        Some(Token::Num(n)) => Slot::Num(n),
        Some(Token::Word(w)) if is_pre_word(w) => Slot::PreWord(w),
        Some(Token::Word(w)) => Slot::Word(w),
    }
}

fn is_pre_word(word: &str) -> bool {
    ["rc", "alpha", "beta", "pre"]
        .iter()
        .any(|p| word.eq_ignore_ascii_case(p))
}

/// Compares token lists position by position, the shorter one padded
/// with "nothing more".
fn cmp_tokens(a: &[Token], b: &[Token]) -> Ordering {
    (0..a.len().max(b.len()))
        .map(|i| slot(a.get(i)).cmp(&slot(b.get(i))))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum CharClass {
    Digit,
    Separator,
    Word,
}

fn char_class(c: char) -> CharClass {
    if c.is_ascii_digit() {
        CharClass::Digit
    } else if c.is_ascii_punctuation() || c.is_whitespace() {
        CharClass::Separator
    } else {
        CharClass::Word
    }
}

/// Splits text into digit runs and words, dropping separators and a
/// leading `v` before a digit.
fn tokenize(text: &str) -> Vec<Token> {
    let mut rest = strip_v(text);
    let mut tokens = Vec::new();
    while let Some(first) = rest.chars().next() {
        let class = char_class(first);
        let end = rest.find(|c| char_class(c) != class).unwrap_or(rest.len());
        let run = &rest[..end];
        match class {
            CharClass::Digit => tokens.push(Token::Num(Number::new(run))),
            CharClass::Word => tokens.push(Token::Word(run.to_owned())),
            CharClass::Separator => {}
        }
        rest = &rest[end..];
    }
    tokens
}

fn strip_v(text: &str) -> &str {
    match text.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => text,
    }
}

/// The comparable part of a version.
#[derive(Debug, Clone)]
enum Key {
    Semver(semver::Version),
    /// Date (numbers only) and loose versions.
    Tokens(Vec<Token>),
    Regex {
        numbers: Vec<Token>,
        pre: Option<Vec<Token>>,
    },
}

impl Key {
    fn compare(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Semver(a), Key::Semver(b)) => a.cmp_precedence(b).then_with(|| cmp_build(a, b)),
            (Key::Tokens(a), Key::Tokens(b)) => cmp_tokens(a, b),
            (
                Key::Regex { numbers, pre },
                Key::Regex {
                    numbers: other_numbers,
                    pre: other_pre,
                },
            ) => cmp_tokens(numbers, other_numbers).then_with(|| cmp_pre(pre, other_pre)),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    /// Orders keys of different schemes (which should not meet) apart.
    fn rank(&self) -> u8 {
        match self {
            Key::Semver(_) => 0,
            Key::Tokens(_) => 1,
            Key::Regex { .. } => 2,
        }
    }

    /// Compares with a constraint's exact operand: like `compare`, except that
    /// an operand without build metadata stands for every build.
    fn cmp_bound(&self, bound: &Key) -> Ordering {
        match (self, bound) {
            (Key::Semver(a), Key::Semver(b)) if b.build.is_empty() => a.cmp_precedence(b),
            _ => self.compare(bound),
        }
    }

    /// The components a partial constraint operand is compared with.
    fn leading(&self) -> Cow<'_, [Token]> {
        match self {
            Key::Semver(v) => Cow::Owned(
                [v.major, v.minor, v.patch]
                    .into_iter()
                    .map(|n| Token::Num(Number::from_u64(n)))
                    .collect(),
            ),
            Key::Tokens(tokens) => Cow::Borrowed(tokens),
            Key::Regex { numbers, .. } => Cow::Borrowed(numbers),
        }
    }

    fn is_prerelease(&self) -> bool {
        match self {
            Key::Semver(v) => !v.pre.is_empty(),
            Key::Tokens(tokens) => tokens
                .iter()
                .any(|t| matches!(t, Token::Word(w) if is_pre_word(w))),
            Key::Regex { pre, .. } => pre.is_some(),
        }
    }
}

/// Build metadata as a tiebreak: none first, then by tokens.
fn cmp_build(a: &semver::Version, b: &semver::Version) -> Ordering {
    let (a, b) = (a.build.as_str(), b.build.as_str());
    (!a.is_empty())
        .cmp(&!b.is_empty())
        .then_with(|| cmp_tokens(&tokenize(a), &tokenize(b)))
}

/// A pre-release sorts before the release it precedes.
fn cmp_pre(a: &Option<Vec<Token>>, b: &Option<Vec<Token>>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => cmp_tokens(a, b),
    }
}

fn parse_semver(text: &str) -> Result<Key, VersionError> {
    let bare = text.strip_prefix('v').unwrap_or(text);
    semver::Version::parse(bare)
        .map(Key::Semver)
        .map_err(|e| VersionError::NotSemver {
            text: text.to_owned(),
            reason: e.to_string(),
        })
}

fn parse_date(text: &str) -> Result<Key, VersionError> {
    let numbers = digit_runs(text);
    if numbers.is_empty() {
        return Err(VersionError::NotDate {
            text: text.to_owned(),
        });
    }
    Ok(Key::Tokens(numbers))
}

fn digit_runs(text: &str) -> Vec<Token> {
    tokenize(text)
        .into_iter()
        .filter(|t| matches!(t, Token::Num(_)))
        .collect()
}

fn parse_loose(text: &str) -> Result<Key, VersionError> {
    let tokens = tokenize(text);
    if !tokens.iter().any(|t| matches!(t, Token::Num(_))) {
        return Err(VersionError::NotLoose {
            text: text.to_owned(),
        });
    }
    Ok(Key::Tokens(tokens))
}

fn parse_regex(re: &Regex, text: &str) -> Result<Key, VersionError> {
    let caps = re
        .captures(text)
        .filter(|c| c.get(0).is_some_and(|m| m.range() == (0..text.len())))
        .ok_or_else(|| VersionError::NoMatch {
            text: text.to_owned(),
            pattern: re.as_str().to_owned(),
        })?;
    let numbers = numeric_groups(re)
        .into_iter()
        .map(|(index, name)| group_number(&caps, index, name, text))
        .collect::<Result<Vec<_>, _>>()?;
    let pre = caps
        .name(PRERELEASE_GROUP)
        .map(|m| m.as_str())
        .filter(|s| !s.is_empty())
        .map(tokenize);
    Ok(Key::Regex { numbers, pre })
}

/// The groups read as numbers: the named parts if any, else every group
/// but `prerelease`; as (index, name for messages).
fn numeric_groups(re: &Regex) -> Vec<(usize, String)> {
    let names: Vec<Option<&str>> = re.capture_names().collect();
    let named: Vec<_> = NAMED_PARTS
        .iter()
        .filter_map(|want| {
            let index = names.iter().position(|n| *n == Some(want))?;
            Some((index, (*want).to_owned()))
        })
        .collect();
    if !named.is_empty() {
        return named;
    }
    names
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, name)| **name != Some(PRERELEASE_GROUP))
        .map(|(index, name)| (index, name.map_or_else(|| index.to_string(), str::to_owned)))
        .collect()
}

/// A numeric group's value; a group that took no part (or matched
/// nothing) counts as 0.
fn group_number(
    caps: &Captures<'_>,
    index: usize,
    name: String,
    text: &str,
) -> Result<Token, VersionError> {
    let captured = caps.get(index).map_or("", |m| m.as_str());
    if !captured.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VersionError::NotNumber {
            text: text.to_owned(),
            group: name,
            captured: captured.to_owned(),
        });
    }
    Ok(Token::Num(Number::new(captured)))
}

/// Which upstream versions an item may take: comma-separated clauses that
/// must all hold (see the module docs).
#[derive(Debug, Clone)]
pub struct Constraint {
    text: String,
    bounds: Vec<Bound>,
}

#[derive(Debug, Clone)]
struct Bound {
    op: Op,
    operand: Operand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A clause's operator as written; `~` and `^` become two bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClauseOp {
    Bare,
    Cmp(Op),
    Tilde,
    Caret,
}

/// Operators, longest first so `>=` is not read as `>`.
const OPERATORS: [(&str, ClauseOp); 7] = [
    (">=", ClauseOp::Cmp(Op::Ge)),
    ("<=", ClauseOp::Cmp(Op::Le)),
    (">", ClauseOp::Cmp(Op::Gt)),
    ("<", ClauseOp::Cmp(Op::Lt)),
    ("=", ClauseOp::Cmp(Op::Eq)),
    ("~", ClauseOp::Tilde),
    ("^", ClauseOp::Caret),
];

#[derive(Debug, Clone)]
enum Operand {
    /// Leading components: matches every version they prefix.
    Prefix(Vec<Token>),
    /// A whole version of the scheme.
    Exact(Version),
}

impl Operand {
    /// Where `v` lies relative to this operand.
    fn position(&self, v: &Version) -> Ordering {
        match self {
            Operand::Prefix(prefix) => {
                let leading = v.key.leading();
                let head = &leading[..leading.len().min(prefix.len())];
                cmp_tokens(head, prefix)
            }
            Operand::Exact(bound) => v.key.cmp_bound(&bound.key),
        }
    }

    fn leading(&self) -> Vec<Token> {
        match self {
            Operand::Prefix(prefix) => prefix.clone(),
            Operand::Exact(v) => v.key.leading().into_owned(),
        }
    }
}

impl Bound {
    fn matches(&self, v: &Version) -> bool {
        let position = self.operand.position(v);
        match self.op {
            Op::Eq => position.is_eq(),
            Op::Lt => position.is_lt(),
            Op::Le => position.is_le(),
            Op::Gt => position.is_gt(),
            Op::Ge => position.is_ge(),
        }
    }
}

impl Constraint {
    /// Parses a constraint for versions of `scheme`.
    pub fn parse(text: &str, scheme: &Scheme) -> Result<Constraint, VersionError> {
        let bad = |reason: String| VersionError::BadConstraint {
            constraint: text.trim().to_owned(),
            reason,
        };
        if text.trim().is_empty() {
            return Err(bad("empty; write `*` to allow any version".to_owned()));
        }
        let mut bounds = Vec::new();
        for clause in text.split(',') {
            bounds.extend(parse_clause(clause.trim(), scheme).map_err(bad)?);
        }
        Ok(Constraint {
            text: text.trim().to_owned(),
            bounds,
        })
    }

    /// Whether `v` (a version of the constraint's scheme) satisfies every
    /// clause.
    pub fn matches(&self, v: &Version) -> bool {
        self.bounds.iter().all(|b| b.matches(v))
    }

    /// The constraint as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_clause(clause: &str, scheme: &Scheme) -> Result<Vec<Bound>, String> {
    if clause.is_empty() {
        return Err("an empty clause between commas".to_owned());
    }
    let (op, rest) = split_operator(clause);
    let (operand, wildcard) = strip_wildcards(rest.trim());
    if operand.is_empty() {
        return match (wildcard, op) {
            (true, ClauseOp::Bare | ClauseOp::Cmp(Op::Eq)) => Ok(Vec::new()),
            (true, _) => Err(format!("`{clause}`: `*` cannot follow an operator")),
            (false, _) => Err(format!("`{clause}` has no version")),
        };
    }
    if operand.contains(char::is_whitespace) {
        return Err(format!(
            "`{clause}`: separate clauses with `,` (e.g. `>=3, <4`)"
        ));
    }
    if operand.contains('*') {
        return Err(format!("`{clause}`: `*` may only end a version (`3.3.*`)"));
    }
    let operand = parse_operand(operand, wildcard, scheme)?;
    bounds_for(op, operand, clause)
}

fn split_operator(clause: &str) -> (ClauseOp, &str) {
    OPERATORS
        .iter()
        .find_map(|(symbol, op)| clause.strip_prefix(symbol).map(|rest| (*op, rest)))
        .unwrap_or((ClauseOp::Bare, clause))
}

/// Drops trailing `.*` / `.x` components (or a lone `*`); says whether
/// there were any.
fn strip_wildcards(operand: &str) -> (&str, bool) {
    let mut rest = operand;
    let mut found = false;
    loop {
        if matches!(rest, "*" | "x" | "X") {
            return ("", true);
        }
        match [".*", ".x", ".X"].iter().find_map(|w| rest.strip_suffix(w)) {
            Some(shorter) => {
                rest = shorter;
                found = true;
            }
            None => return (rest, found),
        }
    }
}

fn parse_operand(operand: &str, wildcard: bool, scheme: &Scheme) -> Result<Operand, String> {
    match scheme {
        Scheme::Semver => semver_operand(operand, wildcard),
        Scheme::Date => non_empty_prefix(digit_runs(operand), operand, "has no digits"),
        Scheme::Loose => {
            let tokens = tokenize(operand);
            if !tokens.iter().any(|t| matches!(t, Token::Num(_))) {
                return Err(format!("`{operand}` has no number"));
            }
            Ok(Operand::Prefix(tokens))
        }
        Scheme::Regex(_) => match scheme.parse(operand) {
            Ok(v) if !wildcard => Ok(Operand::Exact(v)),
            _ => dotted_numbers(strip_v(operand))
                .map(Operand::Prefix)
                .ok_or_else(|| {
                    format!("`{operand}` matches neither the version pattern nor NUMBER[.NUMBER…]")
                }),
        },
    }
}

fn non_empty_prefix(tokens: Vec<Token>, operand: &str, what: &str) -> Result<Operand, String> {
    if tokens.is_empty() {
        Err(format!("`{operand}` {what}"))
    } else {
        Ok(Operand::Prefix(tokens))
    }
}

/// `1`, `1.2` (or `1.2.3` before a wildcard) are prefixes; anything else
/// must be a whole semantic version.
fn semver_operand(operand: &str, wildcard: bool) -> Result<Operand, String> {
    let bare = strip_v(operand);
    if let Some(numbers) = dotted_numbers(bare)
        && (numbers.len() < 3 || (wildcard && numbers.len() == 3))
    {
        return Ok(Operand::Prefix(numbers));
    }
    if wildcard {
        return Err(format!(
            "`{operand}.*`: a wildcard may only follow MAJOR or MAJOR.MINOR"
        ));
    }
    Scheme::Semver
        .parse(operand)
        .map(Operand::Exact)
        .map_err(|e| e.to_string())
}

/// `1.2.3` as numbers; `None` unless every dotted part is digits.
fn dotted_numbers(text: &str) -> Option<Vec<Token>> {
    text.split('.')
        .map(|part| {
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| Token::Num(Number::new(part)))
        })
        .collect()
}

/// The bounds a clause stands for: `~V` and `^V` are `>=V` plus a prefix.
fn bounds_for(op: ClauseOp, operand: Operand, clause: &str) -> Result<Vec<Bound>, String> {
    let bound = |op, operand| Bound { op, operand };
    let fixed = match op {
        ClauseOp::Bare => return Ok(vec![bound(Op::Eq, operand)]),
        ClauseOp::Cmp(op) => return Ok(vec![bound(op, operand)]),
        ClauseOp::Tilde => tilde_prefix(operand.leading(), clause)?,
        ClauseOp::Caret => caret_prefix(operand.leading()),
    };
    Ok(vec![
        bound(Op::Ge, operand),
        bound(Op::Eq, Operand::Prefix(fixed)),
    ])
}

/// `~` keeps all given components but the last, and at least two.
fn tilde_prefix(mut leading: Vec<Token>, clause: &str) -> Result<Vec<Token>, String> {
    if leading.len() < 2 {
        let v = clause.trim_start_matches('~').trim();
        return Err(format!(
            "`~` needs at least two components (`~{v}.0` allows {v}.0.x); \
             write `^{v}` or `{v}.*` to allow any {v}.x"
        ));
    }
    let keep = (leading.len() - 1).max(2);
    leading.truncate(keep);
    Ok(leading)
}

/// `^` keeps the components up to and including the first non-zero one.
fn caret_prefix(mut leading: Vec<Token>) -> Vec<Token> {
    let first_non_zero = leading
        .iter()
        .position(|t| !matches!(t, Token::Num(n) if n.is_zero()));
    if let Some(i) = first_non_zero {
        leading.truncate(i + 1);
    }
    leading
}

/// The version in `tag` according to the tag template (`v{version}`,
/// `{item}-{version}`), its other placeholders taken from `vars`; `None`
/// if the tag does not fit the template. A template may name `{version}`
/// more than once; all occurrences must agree.
pub fn version_from_tag(template: &str, vars: &Vars<'_>, tag: &str) -> Option<String> {
    let placeholders = template::placeholders(template).ok()?;
    let first = placeholders.iter().find(|p| p.name == "version")?;
    let count = placeholders.iter().filter(|p| p.name == "version").count();
    let fixed_len = tag_for_version(template, vars, "")?.len();
    let variable = tag.len().checked_sub(fixed_len)?;
    if variable == 0 || variable % count != 0 {
        return None;
    }
    let start = vars.expand(template.get(..first.range.start)?).ok()?.len();
    let version = tag.get(start..start + variable / count)?;
    (tag_for_version(template, vars, version)? == tag).then(|| version.to_owned())
}

/// The tag for `version` through the tag template; `None` if the template
/// is malformed or names a placeholder `vars` lacks.
pub fn tag_for_version(template: &str, vars: &Vars<'_>, version: &str) -> Option<String> {
    vars.clone().with("version", version).expand(template).ok()
}

/// The newest candidates: `allowed` also satisfies the constraint,
/// `overall` ignores it (to tell "3.4.0 exists, the constraint holds at
/// 3.3.5").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Newest {
    pub allowed: Option<Version>,
    pub overall: Option<Version>,
}

/// Picks the newest versions among candidate tags, skipping tags that do
/// not fit the template or do not parse in the scheme, and pre-releases
/// unless `prereleases` (a constraint never lets a pre-release in by
/// itself).
pub fn newest(
    tags: &[String],
    template: &str,
    vars: &Vars<'_>,
    scheme: &Scheme,
    constraint: Option<&Constraint>,
    prereleases: bool,
) -> Newest {
    let mut found = Newest::default();
    let candidates = tags
        .iter()
        .filter_map(|tag| version_from_tag(template, vars, tag))
        .filter_map(|text| scheme.parse(&text).ok())
        .filter(|v| prereleases || !v.is_prerelease());
    for v in candidates {
        if constraint.is_none_or(|c| c.matches(&v)) {
            keep_newer(&mut found.allowed, v.clone());
        }
        keep_newer(&mut found.overall, v);
    }
    found
}

fn keep_newer(slot: &mut Option<Version>, v: Version) {
    if slot.as_ref().is_none_or(|best| v > *best) {
        *slot = Some(v);
    }
}

/// Up to `n` candidate versions nearest to `wanted`, nearest first, for
/// "did you mean". Works on any text: versions differing only in
/// separators or a `v` come first, then those sharing the most leading
/// components, the smallest numeric gap at the first difference, and the
/// newer.
pub fn nearest<'a>(wanted: &str, candidates: &'a [String], n: usize) -> Vec<&'a str> {
    let want = tokenize(wanted);
    let want_squashed = squash(wanted);
    let mut scored: Vec<(Distance, Vec<Token>, &str)> = candidates
        .iter()
        .map(|c| {
            let tokens = tokenize(c);
            let d = distance(&want, &tokens, squash(c) == want_squashed);
            (d, tokens, c.as_str())
        })
        .collect();
    scored.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| cmp_tokens(&b.1, &a.1))
            .then_with(|| a.2.cmp(b.2))
    });
    scored.dedup_by(|a, b| a.2 == b.2);
    scored.into_iter().take(n).map(|(_, _, c)| c).collect()
}

/// Smaller is nearer.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Distance {
    different_chars: bool,
    shared: Reverse<usize>,
    gap: u128,
}

fn distance(want: &[Token], cand: &[Token], same_chars: bool) -> Distance {
    let shared = want.iter().zip(cand).take_while(|(a, b)| a == b).count();
    let gap = match (want.get(shared), cand.get(shared)) {
        (None, None) => 0,
        (Some(Token::Num(a)), Some(Token::Num(b))) => a.value().abs_diff(b.value()),
        (None, Some(Token::Num(n))) | (Some(Token::Num(n)), None) => n.value(),
        _ => u128::MAX,
    };
    Distance {
        different_chars: !same_chars,
        shared: Reverse(shared),
        gap,
    }
}

/// Letters and digits only, lowercased, without a leading `v`.
fn squash(text: &str) -> String {
    strip_v(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(scheme: &Scheme, text: &str) -> Version {
        scheme
            .parse(text)
            .unwrap_or_else(|e| panic!("{scheme}: {e}"))
    }

    fn constraint(scheme: &Scheme, text: &str) -> Constraint {
        Constraint::parse(text, scheme).unwrap_or_else(|e| panic!("{e}"))
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn k3s_regex() -> Scheme {
        Scheme::regex(
            r"v(?<major>\d+)\.(?<minor>\d+)\.(?<patch>\d+)(?:-(?<prerelease>rc\d+))?\+k3s(?<build>\d+)",
        )
        .expect("valid pattern")
    }

    /// Each list is strictly ascending.
    #[test]
    fn orders_each_scheme() {
        let tables: [(Scheme, &[&str]); 11] = [
            (
                Scheme::Semver,
                &["v3.3.4", "v3.3.5", "v3.4.0-rc.1", "v3.4.0", "v3.10.0"],
            ),
            (
                // The semver 2.0 spec's precedence example.
                Scheme::Semver,
                &[
                    "1.0.0-alpha",
                    "1.0.0-alpha.1",
                    "1.0.0-alpha.beta",
                    "1.0.0-beta",
                    "1.0.0-beta.2",
                    "1.0.0-beta.11",
                    "1.0.0-rc.1",
                    "1.0.0",
                ],
            ),
            (
                Scheme::Semver,
                &[
                    "v1.30.4",
                    "v1.30.4+k3s1",
                    "v1.30.4+k3s2",
                    "v1.30.4+k3s10",
                    "v1.30.5-rc1+k3s1",
                    "v1.30.5+k3s1",
                    "v1.31.0+k3s1",
                ],
            ),
            (Scheme::Semver, &["1.2.3", "v1.2.3"]),
            (Scheme::Date, &["1.20240306", "1.20240424", "2.20230101"]),
            (
                Scheme::Date,
                &[
                    "20240301T000000Z",
                    "20240301T000001Z",
                    "20240315T120000Z",
                    "20250101T000000Z",
                ],
            ),
            (
                Scheme::Loose,
                &[
                    "6.8.0-45-generic",
                    "6.8.0-47-generic",
                    "6.8.0-100-generic",
                    "6.11.0-13-generic",
                ],
            ),
            (
                Scheme::Loose,
                &[
                    "1.0-alpha",
                    "1.0-beta2",
                    "1.0-rc1",
                    "1.0-rc2",
                    "1.0",
                    "1.0-generic",
                    "1.0.1",
                    "v1.1",
                ],
            ),
            (Scheme::Loose, &["6.9.0-rc3", "6.9.0", "6.9.0-1-generic"]),
            (Scheme::Loose, &["1.20240306", "1.20240424"]),
            (
                k3s_regex(),
                &[
                    "v1.30.4+k3s1",
                    "v1.30.4+k3s2",
                    "v1.30.5-rc1+k3s1",
                    "v1.30.5+k3s1",
                ],
            ),
        ];
        for (scheme, ascending) in &tables {
            let versions: Vec<Version> = ascending.iter().map(|t| parse(scheme, t)).collect();
            for (i, a) in versions.iter().enumerate() {
                assert_eq!(a.cmp(a), Ordering::Equal, "{scheme}: {a}");
                for b in &versions[i + 1..] {
                    assert!(a < b, "{scheme}: expected {a} < {b}");
                    assert!(b > a, "{scheme}: expected {b} > {a}");
                }
            }
        }
    }

    #[test]
    fn keeps_the_text() {
        let v = parse(&Scheme::Semver, "v1.30.4+k3s1");
        assert_eq!(v.as_str(), "v1.30.4+k3s1");
        assert_eq!(v.to_string(), "v1.30.4+k3s1");
    }

    #[test]
    fn tells_prereleases() {
        let table: [(Scheme, &str, bool); 14] = [
            (Scheme::Semver, "v3.4.0-rc.1", true),
            (Scheme::Semver, "1.2.0-rc.1", true),
            (Scheme::Semver, "v3.4.0", false),
            (Scheme::Semver, "v1.30.4+k3s1", false),
            (Scheme::Date, "20240301T000000Z", false),
            (Scheme::Loose, "6.8.0-45-generic", false),
            (Scheme::Loose, "6.9.0-rc3", true),
            (Scheme::Loose, "2.0.0-Beta1", true),
            (Scheme::Loose, "1.0alpha", true),
            (Scheme::Loose, "1.0~pre1", true),
            (Scheme::Loose, "6.8.0-45-preempt", false),
            (Scheme::Loose, "1.0-release", false),
            (k3s_regex(), "v1.30.5-rc1+k3s1", true),
            (k3s_regex(), "v1.30.5+k3s1", false),
        ];
        for (scheme, text, expected) in &table {
            assert_eq!(
                parse(scheme, text).is_prerelease(),
                *expected,
                "{scheme}: {text}"
            );
        }
    }

    #[test]
    fn refuses_what_does_not_parse() {
        let table: [(Scheme, &str, &str); 10] = [
            (
                Scheme::Semver,
                "3.3",
                "`3.3` is not a semantic version (expected MAJOR.MINOR.PATCH)",
            ),
            (Scheme::Semver, "1.2.03", "leading zero"),
            (
                Scheme::Semver,
                "vv1.2.3",
                "`vv1.2.3` is not a semantic version",
            ),
            (Scheme::Semver, "", "`` is not a semantic version"),
            (Scheme::Semver, "6.8.0 -45", "is not a semantic version"),
            (Scheme::Date, "latest", "`latest` has no digits"),
            (Scheme::Loose, "nightly", "`nightly` has no number"),
            (Scheme::Loose, "", "has no number"),
            (
                k3s_regex(),
                "1.30.4",
                "`1.30.4` does not match the version pattern",
            ),
            (k3s_regex(), "v1.30.4+k3s1 ", "does not match"),
        ];
        for (scheme, text, message) in &table {
            let err = scheme.parse(text).expect_err(text);
            assert!(err.to_string().contains(message), "{scheme}: {text}: {err}");
        }
    }

    #[test]
    fn regex_scheme_groups() {
        // Unnamed groups are compared in order.
        let scheme = Scheme::regex(r"release-(\d+)_(\d+)").expect("valid");
        assert!(parse(&scheme, "release-1_9") < parse(&scheme, "release-1_10"));
        // A group that can take no part counts as 0.
        let scheme = Scheme::regex(r"(?<major>\d+)(?:\.(?<minor>\d+))?").expect("valid");
        assert_eq!(
            parse(&scheme, "2").cmp(&parse(&scheme, "2.0")),
            Ordering::Less,
            "same numbers, so ordered by text",
        );
        assert!(parse(&scheme, "2") < parse(&scheme, "2.1"));
        let err = Scheme::regex(r"(?<major>\w+)")
            .expect("valid")
            .parse("abc")
            .expect_err("not a number");
        assert_eq!(
            err.to_string(),
            "`abc`: group `major` captured `abc`, which is not a number"
        );
        let err = Scheme::regex(r"\d+").expect_err("no group");
        assert!(err.to_string().contains("needs a capture group"), "{err}");
        assert!(Scheme::regex(r"(\d+").is_err());
    }

    #[test]
    fn infers_a_scheme_for_an_item() {
        let table = [
            (
                "version: 3.3.4\nsource: {type: github-release, repo: a/b}",
                "semver",
            ),
            ("version: v1.30.4+k3s1\nsource: {type: manual}", "semver"),
            (
                "version: '1.20240306'\nsource: {type: github-files, repo: a/b}",
                "loose",
            ),
            ("version: 6.8.0-45-generic\nsource: {type: manual}", "loose"),
            ("version: v3.4.0-rc.1\nsource: {type: manual}", "loose"),
            (
                "version: 20240301T000000Z\nsource: {type: apt-snapshot}",
                "date",
            ),
            (
                "version: '1.20240306'\nsource: {type: manual}\nversioning: date",
                "date",
            ),
            (
                "version: 20240301T000000Z\nsource: {type: apt-snapshot}\nversioning: loose",
                "loose",
            ),
        ];
        for (yaml, expected) in table {
            let item: Item = serde_yaml::from_str(yaml).expect(yaml);
            assert_eq!(Scheme::default_for(&item).to_string(), expected, "{yaml}");
        }
    }

    #[test]
    fn matches_constraints() {
        let s = Scheme::Semver;
        let table: [(&Scheme, &str, &str, bool); 52] = [
            (&s, "*", "0.0.1", true),
            (&s, "*", "v9.9.9-rc.1", true),
            (&s, "~3.3", "v3.3.4", true),
            (&s, "~3.3", "v3.3.99", true),
            (&s, "~3.3", "v3.4.0", false),
            (&s, "~3.3", "v3.2.9", false),
            (&s, "~3.3.4", "v3.3.3", false),
            (&s, "~3.3.4", "v3.3.4", true),
            (&s, "~3.3.4", "v3.3.5", true),
            (&s, "~3.3.4", "v3.4.0", false),
            (&s, "~3.4", "v3.4.0-rc.1", true),
            (&s, "^1.30", "v1.30.4+k3s1", true),
            (&s, "^1.30", "v1.31.0+k3s1", true),
            (&s, "^1.30", "v1.29.9", false),
            (&s, "^1.30", "v2.0.0", false),
            (&s, "^0.2.3", "0.2.9", true),
            (&s, "^0.2.3", "0.3.0", false),
            (&s, "^0.0.3", "0.0.4", false),
            (&s, ">=3, <4", "3.0.0", true),
            (&s, ">=3, <4", "v3.9.9", true),
            (&s, ">=3, <4", "4.0.0", false),
            (&s, ">=3, <4", "4.0.0-rc.1", false),
            (&s, ">=3, <4", "2.99.0", false),
            (&s, "<4.0.0", "4.0.0-rc.1", true),
            (&s, "< 2.0", "1.99.99", true),
            (&s, "< 2.0", "2.0.0", false),
            (&s, ">3.3", "3.3.9", false),
            (&s, ">3.3", "3.4.0", true),
            (&s, "<=3.3", "3.3.9", true),
            (&s, "<=3.3", "3.4.0-rc.1", false),
            (&s, "=3.3.4", "v3.3.4", true),
            (&s, "=3.3.4", "3.3.5", false),
            (&s, "3.3.4", "3.3.4", true),
            (&s, "=1.30.4", "v1.30.4+k3s2", true),
            (&s, ">=1.30.4+k3s2", "v1.30.4+k3s1", false),
            (&s, ">=1.30.4+k3s2", "v1.30.4+k3s10", true),
            (&s, ">1.30.4", "v1.30.4+k3s2", false),
            (&s, "3.3.*", "3.3.7", true),
            (&s, "3.3.x", "3.4.0", false),
            (&s, "3.*", "3.9.0", true),
            (&s, "=3.3", "3.3.1", true),
            (&s, "v3.3", "3.3.1", true),
            (
                &Scheme::Date,
                ">=20240101T000000Z",
                "20240301T000000Z",
                true,
            ),
            (
                &Scheme::Date,
                ">=20240101T000000Z",
                "20231231T235959Z",
                false,
            ),
            (&Scheme::Date, "<20240315", "20240315T120000Z", false),
            (&Scheme::Date, "^1.20240101", "1.20240306", true),
            (&Scheme::Date, "^1.20240101", "2.20240306", false),
            (&Scheme::Loose, "~6.8.0", "6.8.0-47-generic", true),
            (&Scheme::Loose, "~6.8.0", "6.11.0-13-generic", false),
            (
                &Scheme::Loose,
                ">=6.8.0-45-generic, <6.9",
                "6.8.0-47-generic",
                true,
            ),
            (&Scheme::Loose, "=6.8.0-45", "6.8.0-45-generic", true),
            (&Scheme::Loose, "<6.8", "6.8.0-rc1", false),
        ];
        for (scheme, text, version, expected) in &table {
            let c = constraint(scheme, text);
            assert_eq!(
                c.matches(&parse(scheme, version)),
                *expected,
                "{scheme}: `{text}` on {version}"
            );
        }
    }

    #[test]
    fn regex_constraints() {
        let s = k3s_regex();
        let table = [
            ("^1.30", "v1.31.0+k3s1", true),
            ("~1.30", "v1.31.0+k3s1", false),
            (">=v1.30.4+k3s2", "v1.30.4+k3s1", false),
            (">=v1.30.4+k3s2", "v1.30.4+k3s3", true),
            ("<1.30.5", "v1.30.5-rc1+k3s1", false),
            ("<v1.30.5+k3s1", "v1.30.5-rc1+k3s1", true),
        ];
        for (text, version, expected) in table {
            assert_eq!(
                constraint(&s, text).matches(&parse(&s, version)),
                expected,
                "`{text}` on {version}"
            );
        }
    }

    #[test]
    fn refuses_bad_constraints() {
        let table: [(Scheme, &str, &str); 11] = [
            (
                Scheme::Semver,
                "~3",
                "constraint `~3`: `~` needs at least two components (`~3.0` allows 3.0.x); \
                 write `^3` or `3.*` to allow any 3.x",
            ),
            (Scheme::Semver, "", "constraint ``: empty"),
            (Scheme::Semver, ">=3,", "an empty clause between commas"),
            (Scheme::Semver, ">=3 <4", "separate clauses with `,`"),
            (Scheme::Semver, ">=*", "`*` cannot follow an operator"),
            (Scheme::Semver, ">=", "`>=` has no version"),
            (Scheme::Semver, "3.*.4", "`*` may only end a version"),
            (Scheme::Semver, "1.2.3.4", "is not a semantic version"),
            (Scheme::Semver, "~>3.3", "is not a semantic version"),
            (Scheme::Date, ">=latest", "`latest` has no digits"),
            (Scheme::Loose, "~6", "`~` needs at least two components"),
        ];
        for (scheme, text, message) in &table {
            let err = Constraint::parse(text, scheme).expect_err(text);
            assert!(
                err.to_string().contains(message),
                "{scheme}: `{text}`: {err}"
            );
        }
    }

    #[test]
    fn maps_tags_and_versions() {
        let none = Vars::new();
        let item = Vars::new().with("item", "k3s");
        let table: [(&str, &Vars<'_>, &str, Option<&str>); 14] = [
            ("v{version}", &none, "v1.30.4+k3s1", Some("1.30.4+k3s1")),
            ("v{version}", &none, "v3.3.4", Some("3.3.4")),
            ("v{version}", &none, "3.3.4", None),
            ("v{version}", &none, "v", None),
            ("{version}", &none, "v3.3.4", Some("v3.3.4")),
            ("{version}", &none, "1.20240306", Some("1.20240306")),
            ("{item}-{version}", &item, "k3s-1.2.3", Some("1.2.3")),
            ("{item}-{version}", &item, "k4s-1.2.3", None),
            ("{item}-{version}", &none, "k3s-1.2.3", None),
            ("{version}/{version}", &none, "1.2/1.2", Some("1.2")),
            ("{version}/{version}", &none, "1.2/1.3", None),
            ("{{v}}{version}", &none, "{v}1.0", Some("1.0")),
            ("release", &none, "release", None),
            ("v{version", &none, "v1.0", None),
        ];
        for (template, vars, tag, expected) in &table {
            let found = version_from_tag(template, vars, tag);
            assert_eq!(found.as_deref(), *expected, "`{template}` on `{tag}`");
            if let Some(version) = found {
                assert_eq!(
                    tag_for_version(template, vars, &version).as_deref(),
                    Some(*tag)
                );
            }
        }
        assert_eq!(
            tag_for_version("v{version}", &none, "3.3.4").as_deref(),
            Some("v3.3.4")
        );
        assert_eq!(tag_for_version("{item}-{version}", &none, "1"), None);
    }

    #[test]
    fn picks_the_newest() {
        let traefik = strings(&[
            "v3.3.5",
            "v2.11.0",
            "v3.4.0-rc.1",
            "v3.3.4",
            "latest",
            "v3.4.0",
            "v3.5.0-rc.2",
            "3.9.9",
            "v3.x",
        ]);
        let s = Scheme::Semver;
        let tilde = constraint(&s, "~3.3");
        let below4 = constraint(&s, ">=3, <4");
        let none = Vars::new();
        let table = [
            (None, false, Some("3.4.0"), Some("3.4.0")),
            (None, true, Some("3.5.0-rc.2"), Some("3.5.0-rc.2")),
            (Some(&tilde), false, Some("3.3.5"), Some("3.4.0")),
            (Some(&tilde), true, Some("3.3.5"), Some("3.5.0-rc.2")),
            (Some(&below4), true, Some("3.5.0-rc.2"), Some("3.5.0-rc.2")),
        ];
        for (c, pre, allowed, overall) in table {
            let found = newest(&traefik, "v{version}", &none, &s, c, pre);
            let text = |v: &Option<Version>| v.as_ref().map(|v| v.as_str().to_owned());
            assert_eq!(text(&found.allowed).as_deref(), allowed, "{c:?} {pre}");
            assert_eq!(text(&found.overall).as_deref(), overall, "{c:?} {pre}");
        }
        let only_rc = strings(&["v3.4.0-rc.1", "v3.4.0-rc.2"]);
        let found = newest(&only_rc, "v{version}", &none, &s, None, false);
        assert_eq!(found, Newest::default());
        let found = newest(&only_rc, "v{version}", &none, &s, None, true);
        assert_eq!(
            found.overall.map(|v| v.to_string()).as_deref(),
            Some("3.4.0-rc.2")
        );
        let upper = constraint(&s, "<4");
        let next_major = strings(&["v3.9.0", "v4.0.0-rc.1"]);
        let found = newest(&next_major, "v{version}", &none, &s, Some(&upper), true);
        assert_eq!(
            found.allowed.map(|v| v.to_string()).as_deref(),
            Some("3.9.0")
        );
    }

    #[test]
    fn picks_the_newest_k3s_build_and_firmware() {
        let none = Vars::new();
        let k3s = strings(&["v1.30.4+k3s1", "v1.30.4+k3s2", "v1.29.9+k3s1"]);
        let found = newest(&k3s, "v{version}", &none, &Scheme::Semver, None, false);
        assert_eq!(
            found.overall.map(|v| v.to_string()).as_deref(),
            Some("1.30.4+k3s2")
        );
        let firmware = strings(&["1.20240306", "1.20240424", "stable", "1.20230405"]);
        let found = newest(&firmware, "{version}", &none, &Scheme::Date, None, false);
        assert_eq!(
            found.overall.map(|v| v.to_string()).as_deref(),
            Some("1.20240424")
        );
    }

    #[test]
    fn suggests_nearest_versions() {
        let known = strings(&[
            "3.3.4", "3.3.5", "3.3.6", "3.4.0", "2.11.0", "v3.3.4", "3.3.4",
        ]);
        let table: [(&str, usize, &[&str]); 5] = [
            ("3.3.9", 3, &["3.3.6", "3.3.5", "3.3.4"]),
            ("3.34", 2, &["3.3.4", "v3.3.4"]),
            ("v3.4.0", 1, &["3.4.0"]),
            ("2.11", 1, &["2.11.0"]),
            ("9", 0, &[]),
        ];
        for (wanted, n, expected) in &table {
            assert_eq!(nearest(wanted, &known, *n), *expected, "{wanted}");
        }
        let firmware = strings(&["1.20240306", "1.20240424", "1.20230405"]);
        assert_eq!(nearest("1.20240307", &firmware, 1), ["1.20240306"]);
    }

    fn all_schemes() -> Vec<Scheme> {
        vec![Scheme::Semver, Scheme::Date, Scheme::Loose, k3s_regex()]
    }

    proptest! {
        #[test]
        fn never_panics(
            text in "\\PC{0,24}",
            versionish in "[vV0-9.+*~^<>=, xa-z-]{0,24}",
        ) {
            for scheme in all_schemes() {
                for t in [&text, &versionish] {
                    let _ = scheme.parse(t);
                    if let Ok(c) = Constraint::parse(t, &scheme)
                        && let Ok(v) = scheme.parse(t)
                    {
                        let _ = c.matches(&v);
                    }
                }
            }
            let vars = Vars::new().with("item", "é");
            for template in ["v{version}", "{item}{version}é{version}", text.as_str()] {
                let _ = version_from_tag(template, &vars, &text);
                let _ = version_from_tag(template, &vars, &versionish);
            }
            let _ = nearest(&text, &[versionish.clone(), text.clone()], 2);
        }

        #[test]
        fn orders_consistently(
            texts in proptest::collection::vec("v?[0-9]{1,3}([.-]([0-9]{1,3}|rc|beta|generic)){0,4}", 2..12),
        ) {
            for scheme in [Scheme::Loose, Scheme::Date] {
                let mut versions: Vec<Version> =
                    texts.iter().filter_map(|t| scheme.parse(t).ok()).collect();
                versions.sort();
                for (i, a) in versions.iter().enumerate() {
                    for b in &versions[i..] {
                        prop_assert!(a <= b, "{} > {} after sorting", a, b);
                        prop_assert_eq!(a.cmp(b), b.cmp(a).reverse());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod manifest_tests {
    use super::*;

    #[test]
    fn a_regex_versioning_from_the_manifest_orders_versions() {
        let yaml = "version: fw-2024.03\nsource: {type: manual}\nversioning: {regex: 'fw-(?P<major>\\d+)\\.(?P<minor>\\d+)'}\n";
        let item: Item = serde_yaml::from_str(yaml).expect("an item");
        let scheme = Scheme::default_for(&item);
        assert!(matches!(scheme, Scheme::Regex(_)), "{scheme}");
        let parse = |s: &str| scheme.parse(s).expect("parses");
        assert!(parse("fw-2024.03") < parse("fw-2024.10"));
        assert!(parse("fw-2023.12") < parse("fw-2024.03"));
        let tags = ["fw-2023.12", "fw-2024.10", "fw-2024.03", "latest"].map(String::from);
        let found = newest(&tags, "{version}", &Vars::new(), &scheme, None, false);
        assert_eq!(
            found.overall.as_ref().map(Version::as_str),
            Some("fw-2024.10")
        );
    }
}
