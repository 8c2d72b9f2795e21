//! Located problems: the diagnostic type every module uses to say what is
//! wrong, where, and what to do about it.
//!
//! A [`Problem`] has a stable code (see [`codes`]), a message, an optional
//! help line and, when it points into a file, the file's text and labelled
//! byte spans. It renders through miette (snippet with underlines) and also
//! knows its 1-based `file:line:col` for plain renderings (`--format github`,
//! JSON). [`Problems`] is a non-empty batch of them about one subject, so a
//! check can report everything it found at once.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, NamedSource, SourceCode, SourceSpan,
    SpanContents,
};

/// At most this many problems of one batch are shown; the rest are
/// counted. Past a few dozen, more of the same only buries the first.
pub const MAX_SHOWN: usize = 50;

/// Snippets quote at most this many characters of a source line: a long
/// line is cut around the spans on it, the cuts marked with `…`.
pub const MAX_SNIPPET_WIDTH: usize = 200;

/// Characters kept before a span's start when its line is cut.
const LEAD: usize = 60;

/// Stable diagnostic codes. Scripts and docs may rely on them: never reuse
/// or rename one; add new ones instead.
pub mod codes {
    /// The manifest file could not be read.
    pub const UNREADABLE: &str = "vendor::manifest::unreadable";
    /// The manifest is not UTF-8 text.
    pub const NOT_UTF8: &str = "vendor::manifest::not-utf8";
    /// The lock cannot be read, does not parse, or holds values no
    /// generated lock can.
    pub const LOCK_INVALID: &str = "vendor::lock::invalid";
    /// The manifest is not well-formed YAML.
    pub const YAML_SYNTAX: &str = "vendor::manifest::yaml-syntax";
    /// The manifest holds no YAML document.
    pub const EMPTY: &str = "vendor::manifest::empty";
    /// The manifest holds more than one YAML document.
    pub const MULTIPLE_DOCUMENTS: &str = "vendor::manifest::multiple-documents";
    /// A mapping defines the same key twice.
    pub const DUPLICATE_KEY: &str = "vendor::manifest::duplicate-key";
    /// YAML anchors and aliases (`&a`, `*a`) are not supported.
    pub const ALIAS: &str = "vendor::manifest::alias";
    /// The manifest nests deeper than any valid manifest can.
    pub const TOO_DEEP: &str = "vendor::manifest::too-deep";
    /// A key the schema does not know.
    pub const UNKNOWN_KEY: &str = "vendor::manifest::unknown-key";
    /// A required key is absent.
    pub const MISSING_KEY: &str = "vendor::manifest::missing-key";
    /// A value of the wrong type (string, number, list, mapping…).
    pub const WRONG_TYPE: &str = "vendor::manifest::wrong-type";
    /// A value outside the allowed set, pattern or range.
    pub const INVALID_VALUE: &str = "vendor::manifest::invalid-value";
    /// `source.type` names no known kind of source.
    pub const UNKNOWN_SOURCE_TYPE: &str = "vendor::manifest::unknown-source-type";
    /// An item id that is not lowercase letters, digits, `-`, `_`.
    pub const INVALID_ITEM_ID: &str = "vendor::manifest::invalid-item-id";
    /// `version:` at the top is not a format version this tool reads.
    pub const UNSUPPORTED_VERSION: &str = "vendor::manifest::unsupported-version";
    /// The manifest passed the schema but still does not fit the model.
    pub const DESERIALIZE: &str = "vendor::manifest::deserialize";
    /// The tool's own schema could not be compiled (a bug).
    pub const INTERNAL: &str = "vendor::internal";
    /// A `{placeholder}` no template knows.
    pub const UNKNOWN_PLACEHOLDER: &str = "vendor::manifest::unknown-placeholder";
    /// A known placeholder used where it has no value.
    pub const PLACEHOLDER_NOT_ALLOWED: &str = "vendor::manifest::placeholder-not-allowed";
    /// An unclosed `{` or stray `}` in a template.
    pub const MALFORMED_TEMPLATE: &str = "vendor::manifest::malformed-template";
    /// A pin value template without `{version}` or `{tag}`.
    pub const VALUE_WITHOUT_VERSION: &str = "vendor::manifest::value-without-version";
    /// A pin with no locator, or more than one.
    pub const PIN_LOCATOR: &str = "vendor::manifest::pin-locator";
    /// A regular expression that does not compile.
    pub const INVALID_REGEX: &str = "vendor::manifest::invalid-regex";
    /// A pin regex without a named group `version`.
    pub const REGEX_WITHOUT_VERSION: &str = "vendor::manifest::regex-without-version";
    /// A dot-separated key path with an empty segment.
    pub const INVALID_KEY_PATH: &str = "vendor::manifest::invalid-key-path";
    /// A file the manifest names does not exist.
    pub const MISSING_FILE: &str = "vendor::manifest::missing-file";
    /// An absolute path, or one that leaves the tree through `..`.
    pub const UNSAFE_PATH: &str = "vendor::manifest::unsafe-path";
    /// A required string is empty.
    pub const EMPTY_VALUE: &str = "vendor::manifest::empty-value";
    /// An asset of a GitHub source without `name`.
    pub const ASSET_NEEDS_NAME: &str = "vendor::manifest::asset-needs-name";
    /// An asset of a `url` source without `url`.
    pub const ASSET_NEEDS_URL: &str = "vendor::manifest::asset-needs-url";
    /// Assets on a source that downloads nothing.
    pub const ASSETS_WITHOUT_DOWNLOAD: &str = "vendor::manifest::assets-without-download";
    /// A URL that is not `https://` or `http://`.
    pub const INVALID_URL: &str = "vendor::manifest::invalid-url";
    /// Plain `http://` to a host that is not loopback, without `allow_http`.
    pub const INSECURE_URL: &str = "vendor::manifest::insecure-url";
    /// `sha256:` that is not 64 lowercase hex digits.
    pub const INVALID_SHA256: &str = "vendor::manifest::invalid-sha256";
    /// A platform that is not `os/arch`.
    pub const INVALID_PLATFORM: &str = "vendor::manifest::invalid-platform";
    /// An asset platform the item does not list.
    pub const UNKNOWN_PLATFORM: &str = "vendor::manifest::unknown-platform";
    /// `{os}`/`{arch}` in an asset of an item without platforms.
    pub const PLATFORMS_MISSING: &str = "vendor::manifest::platforms-missing";
    /// An `apt-snapshot` version that is not `YYYYMMDDTHHMMSSZ`.
    pub const INVALID_SNAPSHOT: &str = "vendor::manifest::invalid-snapshot";
    /// `extract` on an asset whose archive format cannot be told.
    pub const EXTRACT_FORMAT_UNKNOWN: &str = "vendor::manifest::extract-format-unknown";
    /// Two assets install to the same path.
    pub const INSTALL_COLLISION: &str = "vendor::manifest::install-collision";
    /// A signature over the checksum file, but an asset has none.
    pub const SIGNED_WITHOUT_CHECKSUM_FILE: &str = "vendor::manifest::signed-without-checksum-file";
    /// A verified `apt-snapshot` or an `apt-package` source that lacks
    /// what it needs (url, keyring, architectures, a snapshot item).
    pub const APT_SOURCE: &str = "vendor::manifest::apt-source";

    /// Every code above, for uniqueness checks and documentation.
    pub const ALL: &[&str] = &[
        UNREADABLE,
        NOT_UTF8,
        LOCK_INVALID,
        YAML_SYNTAX,
        EMPTY,
        MULTIPLE_DOCUMENTS,
        DUPLICATE_KEY,
        ALIAS,
        TOO_DEEP,
        UNKNOWN_KEY,
        MISSING_KEY,
        WRONG_TYPE,
        INVALID_VALUE,
        UNKNOWN_SOURCE_TYPE,
        INVALID_ITEM_ID,
        UNSUPPORTED_VERSION,
        DESERIALIZE,
        INTERNAL,
        UNKNOWN_PLACEHOLDER,
        PLACEHOLDER_NOT_ALLOWED,
        MALFORMED_TEMPLATE,
        VALUE_WITHOUT_VERSION,
        PIN_LOCATOR,
        INVALID_REGEX,
        REGEX_WITHOUT_VERSION,
        INVALID_KEY_PATH,
        MISSING_FILE,
        UNSAFE_PATH,
        EMPTY_VALUE,
        ASSET_NEEDS_NAME,
        ASSET_NEEDS_URL,
        ASSETS_WITHOUT_DOWNLOAD,
        INVALID_URL,
        INSECURE_URL,
        INVALID_SHA256,
        INVALID_PLATFORM,
        UNKNOWN_PLATFORM,
        PLATFORMS_MISSING,
        INVALID_SNAPSHOT,
        EXTRACT_FORMAT_UNKNOWN,
        INSTALL_COLLISION,
        SIGNED_WITHOUT_CHECKSUM_FILE,
        APT_SOURCE,
    ];
}

/// A file's text together with the path it is shown under.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as it should be displayed (usually as the user gave it).
    pub path: PathBuf,
    pub text: Arc<String>,
    /// Byte offsets of line starts, made on first use.
    lines: Arc<OnceLock<Vec<usize>>>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        SourceFile {
            path: path.into(),
            text: Arc::new(text.into()),
            lines: Arc::default(),
        }
    }

    /// Byte offsets of the starts of lines.
    fn line_starts(&self) -> &[usize] {
        self.lines.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// The 0-based line holding byte `offset`, and that line's byte range
    /// (without its line break).
    fn line_at(&self, offset: usize) -> (usize, Range<usize>) {
        let starts = self.line_starts();
        let line = starts.partition_point(|&s| s <= offset).saturating_sub(1);
        (line, self.line_range(line))
    }

    fn line_range(&self, line: usize) -> Range<usize> {
        let starts = self.line_starts();
        let start = starts.get(line).copied().unwrap_or(self.text.len());
        let end = starts
            .get(line + 1)
            .map_or(self.text.len(), |&next| next.saturating_sub(1));
        let end = end.max(start);
        let bytes = self.text.as_bytes();
        let end = if end > start && bytes.get(end - 1) == Some(&b'\r') {
            end - 1
        } else {
            end
        };
        start..end
    }

    /// The path as displayed in diagnostics.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }

    /// The text, named by the path, for miette snippets.
    pub fn named_source(&self) -> NamedSource<Arc<String>> {
        NamedSource::new(self.name(), Arc::clone(&self.text)).with_language("yaml")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.text.as_str();
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let (line, range) = self.line_at(offset);
        let start = range.start.min(offset);
        (line + 1, text[start..offset].chars().count() + 1)
    }
}

/// 1-based line and column (in characters) of a byte offset in `text`.
/// Offsets past the end or inside a character are clamped.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Where a problem is: a file and, when known, a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line_col: Option<(usize, usize)>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((line, col)) => write!(f, "{}:{line}:{col}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

#[derive(Debug, Clone)]
struct Label {
    span: Range<usize>,
    text: Option<String>,
}

/// One located problem with a stable code.
///
/// Build it with [`Problem::new`], then place it with [`Problem::at`] (a
/// span in a source file) or [`Problem::in_file`] (a file without a
/// position), and add [`Problem::label`], [`Problem::also`] and
/// [`Problem::help`]:
///
/// ```
/// use vendor::diag::{codes, Problem, SourceFile};
/// let src = SourceFile::new("vendor.yaml", "version: 2\n");
/// let p = Problem::new(codes::UNSUPPORTED_VERSION, "unsupported manifest version 2")
///     .at(&src, 9..10)
///     .label("this tool reads version 1")
///     .help("set `version: 1`");
/// assert_eq!(p.location().map(|l| l.to_string()).as_deref(), Some("vendor.yaml:1:10"));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    code: &'static str,
    message: String,
    help: Option<String>,
    file: Option<String>,
    snippet: Option<NamedSource<Arc<String>>>,
    origin: Option<SourceFile>,
    /// Primary label first.
    labels: Vec<Label>,
    line_col: Option<(usize, usize)>,
    /// The snippet as shown: made on first use, cut when a line it quotes
    /// is too long.
    view: OnceLock<Option<Excerpt>>,
}

impl Problem {
    /// A problem with a code (one of [`codes`]) and a one-sentence message
    /// saying what is wrong.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            help: None,
            file: None,
            snippet: None,
            origin: None,
            labels: Vec::new(),
            line_col: None,
            view: OnceLock::new(),
        }
    }

    /// Points the problem at `span` (bytes) in `source`. The span is clamped
    /// to the text.
    pub fn at(mut self, source: &SourceFile, span: Range<usize>) -> Self {
        let span = clamp(&source.text, span);
        self.line_col = Some(source.line_col(span.start));
        self.file = Some(source.name());
        self.snippet = Some(source.named_source());
        self.origin = Some(source.clone());
        self.labels.insert(0, Label { span, text: None });
        self.view = OnceLock::new();
        self
    }

    /// Places the problem at a 1-based line and column of `path` without a
    /// snippet (for files whose text cannot be shown).
    pub fn at_line_col(mut self, path: &Path, line_col: (usize, usize)) -> Self {
        self.file = Some(path.display().to_string());
        self.line_col = Some(line_col);
        self
    }

    /// Names the file the problem is about, without a position.
    pub fn in_file(mut self, path: &Path) -> Self {
        self.file = Some(path.display().to_string());
        self
    }

    /// Sets the text of the primary label (the underline of [`Problem::at`]).
    pub fn label(mut self, text: impl Into<String>) -> Self {
        if let Some(first) = self.labels.first_mut() {
            first.text = Some(text.into());
        }
        self
    }

    /// Adds a secondary label in the same source, e.g. "first defined here".
    /// Ignored when the problem has no source.
    pub fn also(mut self, span: Range<usize>, text: impl Into<String>) -> Self {
        if let Some(source) = &self.snippet {
            let span = clamp(source.inner(), span);
            self.labels.push(Label {
                span,
                text: Some(text.into()),
            });
            self.view = OnceLock::new();
        }
        self
    }

    /// Says what to do about it.
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The primary span, in bytes.
    pub fn span(&self) -> Option<Range<usize>> {
        self.labels.first().map(|l| l.span.clone())
    }

    /// 1-based line and column of the primary span's start.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        self.line_col
    }

    /// The file and position, for `file:line:col` renderings.
    pub fn location(&self) -> Option<Location> {
        self.file.as_ref().map(|file| Location {
            file: file.clone(),
            line_col: self.line_col,
        })
    }

    /// One line: `file:line:col: message [code]`, for plain output.
    pub fn brief(&self) -> String {
        match self.location() {
            Some(loc) => format!("{loc}: {} [{}]", self.message, self.code),
            None => format!("{} [{}]", self.message, self.code),
        }
    }
}

impl Problem {
    /// The cut snippet, when a line the snippet quotes is wider than
    /// [`MAX_SNIPPET_WIDTH`]; `None` to show the source as it is.
    fn excerpt(&self) -> Option<&Excerpt> {
        self.view
            .get_or_init(|| {
                let source = self.origin.as_ref()?;
                let spans: Vec<Range<usize>> = self.labels.iter().map(|l| l.span.clone()).collect();
                Excerpt::new(source, &spans)
            })
            .as_ref()
    }
}

/// The lines a snippet shows, long ones cut around the spans on them, in
/// a coordinate space of their own (the groups' texts one after another).
/// Line numbers and the header's column stay those of the file.
#[derive(Debug, Clone)]
struct Excerpt {
    name: String,
    groups: Vec<Group>,
}

/// Consecutive lines of the file, as shown.
#[derive(Debug, Clone)]
struct Group {
    /// Where the group's text starts in the excerpt's coordinates.
    start: usize,
    text: String,
    /// 0-based file line of its first line.
    first_line: usize,
    lines: Vec<CutLine>,
}

/// One shown line: the pieces of the file's line it keeps.
#[derive(Debug, Clone)]
struct CutLine {
    /// The line's byte range in the file (without the line break).
    orig: Range<usize>,
    /// Where it starts and ends in the excerpt's coordinates.
    start: usize,
    end: usize,
    /// Kept pieces: file range and where it starts in the excerpt.
    pieces: Vec<(Range<usize>, usize)>,
}

const ELLIPSIS: &str = "…";

impl Excerpt {
    /// The excerpt for labels at `spans`, or `None` when every line the
    /// snippet would show is narrow enough to show whole.
    fn new(source: &SourceFile, spans: &[Range<usize>]) -> Option<Excerpt> {
        let text = source.text.as_str();
        let last_line = source.line_starts().len().saturating_sub(1);
        // Lines shown: each span's lines and one of context either side.
        let mut ranges: Vec<(usize, usize)> = spans
            .iter()
            .map(|s| {
                let (a, _) = source.line_at(s.start);
                let (b, _) = source.line_at(s.end.max(s.start));
                (a.saturating_sub(1), (b + 1).min(last_line))
            })
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let wide = merged.iter().any(|&(a, b)| {
            (a..=b).any(|l| {
                let r = source.line_range(l);
                r.len() > MAX_SNIPPET_WIDTH && text[r].chars().count() > MAX_SNIPPET_WIDTH
            })
        });
        if !wide {
            return None;
        }
        let mut groups = Vec::with_capacity(merged.len());
        let mut at = 0;
        for (a, b) in merged {
            let mut group = Group {
                start: at,
                text: String::new(),
                first_line: a,
                lines: Vec::new(),
            };
            for l in a..=b {
                let orig = source.line_range(l);
                let windows = windows(text, &orig, spans);
                let start = at + group.text.len();
                let mut pieces = Vec::with_capacity(windows.len());
                let mut pos = orig.start;
                for w in windows {
                    if w.start > pos {
                        group.text.push_str(ELLIPSIS);
                    }
                    pieces.push((w.clone(), at + group.text.len()));
                    group.text.push_str(&text[w.clone()]);
                    pos = w.end;
                }
                if pos < orig.end {
                    group.text.push_str(ELLIPSIS);
                }
                let end = at + group.text.len();
                group.text.push('\n');
                group.lines.push(CutLine {
                    orig,
                    start,
                    end,
                    pieces,
                });
            }
            at += group.text.len();
            groups.push(group);
        }
        Some(Excerpt {
            name: source.name(),
            groups,
        })
    }

    /// A file span in the excerpt's coordinates.
    fn map_span(&self, span: &Range<usize>) -> Range<usize> {
        let start = self.map(span.start);
        start..self.map(span.end).max(start)
    }

    /// A file offset in the excerpt's coordinates: inside a kept piece as
    /// is, in a cut at the cut's `…`.
    fn map(&self, offset: usize) -> usize {
        let lines = self.groups.iter().flat_map(|g| &g.lines);
        let mut fallback = 0;
        for line in lines {
            if offset > line.orig.end {
                fallback = line.end;
                continue;
            }
            if offset < line.orig.start {
                return line.start;
            }
            for (piece, at) in &line.pieces {
                if offset < piece.start {
                    return at.saturating_sub(ELLIPSIS.len()).max(line.start);
                }
                if offset <= piece.end {
                    return at + (offset - piece.start);
                }
            }
            return line.end;
        }
        fallback
    }

    /// The file's byte column (0-based) of an excerpt offset.
    fn column(&self, offset: usize) -> usize {
        for line in self.groups.iter().flat_map(|g| &g.lines) {
            if offset > line.end {
                continue;
            }
            for (piece, at) in &line.pieces {
                if offset <= at + piece.len() {
                    let into = offset.saturating_sub(*at).min(piece.len());
                    return piece.start + into - line.orig.start;
                }
            }
            return line.orig.len();
        }
        0
    }
}

/// The byte ranges of `line` to keep: all of it when narrow; else a window
/// around each span start or end on it (merged where they overlap), or
/// its beginning when no span touches it.
fn windows(text: &str, line: &Range<usize>, spans: &[Range<usize>]) -> Vec<Range<usize>> {
    let body = &text[line.clone()];
    if body.len() <= MAX_SNIPPET_WIDTH || body.chars().count() <= MAX_SNIPPET_WIDTH {
        return std::iter::once(line.clone()).collect();
    }
    // Moves `from` by `n` characters within the line.
    let back = |from: usize, n: usize| {
        text[line.start..from]
            .char_indices()
            .rev()
            .nth(n.saturating_sub(1))
            .map_or(line.start, |(i, _)| line.start + i)
    };
    let forward = |from: usize, n: usize| {
        text[from..line.end]
            .char_indices()
            .nth(n)
            .map_or(line.end, |(i, _)| from + i)
    };
    let mut found: Vec<Range<usize>> = Vec::new();
    for span in spans {
        let on = |o: usize| line.start <= o && o <= line.end;
        if on(span.start) {
            let a = back(span.start, LEAD);
            found.push(a..forward(a, MAX_SNIPPET_WIDTH));
        } else if on(span.end) {
            let a = back(span.end, LEAD);
            found.push(a..forward(span.end, LEAD));
        }
    }
    if found.is_empty() {
        return std::iter::once(line.start..forward(line.start, MAX_SNIPPET_WIDTH)).collect();
    }
    found.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in found {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let offset = span.offset();
        let group = self
            .groups
            .iter()
            .find(|g| g.start <= offset && offset < g.start + g.text.len().max(1))
            .ok_or(MietteError::OutOfBounds)?;
        let local = offset - group.start;
        if local + span.len() > group.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let inner = group.text.as_str().read_span(
            &SourceSpan::new(local.into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        let column = if context_lines_before == 0 {
            self.column(offset)
        } else {
            0
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + group.start).into(),
                inner.span().len(),
            ),
            inner.line() + group.first_line,
            column,
            inner.line_count() + group.first_line,
        )))
    }
}

/// Keeps a span inside the text and on character boundaries.
fn clamp(text: &str, span: Range<usize>) -> Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start);
    start..floor(span.end).max(start)
}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        if let Some(excerpt) = self.excerpt() {
            return Some(excerpt as &dyn SourceCode);
        }
        self.snippet.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.snippet.as_ref()?;
        let excerpt = self.excerpt();
        let labels = self.labels.iter().enumerate().map(move |(i, l)| {
            let span = match excerpt {
                Some(e) => e.map_span(&l.span),
                None => l.span.clone(),
            };
            let span = (span.start, span.len());
            if i == 0 {
                LabeledSpan::new_primary_with_span(l.text.clone(), span)
            } else {
                LabeledSpan::new_with_span(l.text.clone(), span)
            }
        });
        Some(Box::new(labels))
    }
}

/// A non-empty batch of problems about one subject (usually a file),
/// reported together: "vendor.yaml has 3 problems".
#[derive(Debug, Clone, thiserror::Error)]
#[error("{subject} has {} problem{}", .list.len(), if .list.len() == 1 { "" } else { "s" })]
pub struct Problems {
    subject: String,
    list: Vec<Problem>,
    /// How many of `list` are not shown.
    omitted: Omitted,
}

impl Problems {
    /// The batch, or `None` when `list` is empty.
    pub fn new(subject: impl Into<String>, list: Vec<Problem>) -> Option<Self> {
        (!list.is_empty()).then(|| Problems {
            subject: subject.into(),
            omitted: Omitted(list.len().saturating_sub(MAX_SHOWN)),
            list,
        })
    }

    pub fn one(subject: impl Into<String>, problem: Problem) -> Self {
        Problems {
            subject: subject.into(),
            list: vec![problem],
            omitted: Omitted(0),
        }
    }

    /// `Ok(())` when `list` is empty, else the batch.
    pub fn check(subject: impl Into<String>, list: Vec<Problem>) -> Result<(), Problems> {
        match Problems::new(subject, list) {
            None => Ok(()),
            Some(problems) => Err(problems),
        }
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Always false: a batch holds at least one problem.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.list.iter()
    }

    pub fn as_slice(&self) -> &[Problem] {
        &self.list
    }

    pub fn into_vec(self) -> Vec<Problem> {
        self.list
    }

    /// The codes in order, for tests and summaries.
    pub fn codes(&self) -> Vec<&'static str> {
        self.list.iter().map(Problem::code).collect()
    }
}

impl<'a> IntoIterator for &'a Problems {
    type Item = &'a Problem;
    type IntoIter = std::slice::Iter<'a, Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl IntoIterator for Problems {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

impl Diagnostic for Problems {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("vendor::problems"))
    }

    /// The first [`MAX_SHOWN`] problems, then a count of the rest.
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        let shown = self
            .list
            .iter()
            .take(MAX_SHOWN)
            .map(|p| p as &dyn Diagnostic);
        let more = (self.omitted.0 > 0).then_some(&self.omitted as &dyn Diagnostic);
        Some(Box::new(shown.chain(more)))
    }
}

/// "… and N more problems": the part of a batch that is not shown.
#[derive(Debug, Clone, thiserror::Error)]
#[error("… and {0} more problems, not shown (the first {MAX_SHOWN} are above)")]
struct Omitted(usize);

impl Diagnostic for Omitted {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("vendor::problems::omitted"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            "fix the problems shown and run again to see the rest",
        ))
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough
/// to be a likely typo ("did you mean …?").
pub fn suggest<'a, I, S>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    let lower = word.to_lowercase();
    let limit = match word.chars().count() {
        0..=3 => 1,
        n => (n / 3).max(2),
    };
    candidates
        .into_iter()
        .map(AsRef::as_ref)
        .map(|c| (levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Edit distance (insertions, deletions, substitutions) between two strings,
/// counted in characters.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Joins names as "`a`, `b` or `c`" for messages.
pub fn one_of<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_namespaced() {
        let mut seen = HashSet::new();
        for code in codes::ALL {
            assert!(seen.insert(code), "duplicate diagnostic code {code}");
            assert!(
                code.starts_with("vendor::"),
                "{code} lacks the vendor:: prefix"
            );
        }
    }

    /// `codes::ALL` must list every constant of the module: count the
    /// `pub const` lines in this very file.
    #[test]
    fn all_lists_every_code() {
        let source = include_str!("diag.rs");
        let module = source
            .split("pub mod codes {")
            .nth(1)
            .and_then(|rest| rest.split("pub const ALL").next())
            .expect("codes module present");
        let declared = module.matches("pub const ").count();
        assert_eq!(declared, codes::ALL.len());
    }

    #[test]
    fn line_col_is_one_based_and_counts_chars() {
        assert_eq!(line_col("ab\ncd", 3), (2, 1));
        assert_eq!(line_col("ab\ncd", 1), (1, 2));
        assert_eq!(line_col("é: x", 4), (1, 4));
        assert_eq!(line_col("é", 1), (1, 1));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn problem_knows_its_location() {
        let src = SourceFile::new("dir/vendor.yaml", "a: 1\nbb: 2\n");
        let p = Problem::new(codes::UNKNOWN_KEY, "unknown key `bb`")
            .at(&src, 5..7)
            .label("here")
            .also(0..1, "other");
        assert_eq!(p.line_col(), Some((2, 1)));
        assert_eq!(
            p.brief(),
            "dir/vendor.yaml:2:1: unknown key `bb` [vendor::manifest::unknown-key]"
        );
        assert_eq!(p.labels().map(Iterator::count), Some(2));
        assert_eq!(p.span(), Some(5..7));
    }

    #[test]
    fn spans_are_clamped() {
        let src = SourceFile::new("f", "é");
        let p = Problem::new(codes::INTERNAL, "x").at(&src, 1..50);
        assert_eq!(p.span(), Some(0..2));
    }

    #[test]
    fn problems_count_in_message() {
        let one = Problems::one("vendor.yaml", Problem::new(codes::EMPTY, "x"));
        assert_eq!(one.to_string(), "vendor.yaml has 1 problem");
        let two = Problems::new(
            "vendor.yaml",
            vec![
                Problem::new(codes::EMPTY, "x"),
                Problem::new(codes::EMPTY, "y"),
            ],
        )
        .expect("non-empty");
        assert_eq!(two.to_string(), "vendor.yaml has 2 problems");
        assert!(Problems::new("x", Vec::new()).is_none());
    }

    #[test]
    fn suggests_near_names_only() {
        let keys = ["member", "format", "strip_components"];
        assert_eq!(suggest("membr", &keys), Some("member"));
        assert_eq!(suggest("sha265", &["sha256", "file"]), Some("sha256"));
        assert_eq!(suggest("zzzzzz", &keys), None);
        assert_eq!(suggest("Traefik", &["traefik"]), Some("traefik"));
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
    }

    fn rendered(diagnostic: &dyn Diagnostic) -> String {
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        handler
            .render_report(&mut out, diagnostic)
            .expect("renders");
        out
    }

    #[test]
    fn long_lines_are_cut_around_the_span() {
        let text = format!("a: 1\nb: [{}zz]\nc: 2\n", "x, ".repeat(10_000));
        let src = SourceFile::new("f.yaml", text.as_str());
        let at = text.find("zz").expect("zz");
        let p = Problem::new(codes::INVALID_VALUE, "bad")
            .at(&src, at..at + 2)
            .label("here");
        let out = rendered(&p);
        assert!(out.len() < 2_000, "{out}");
        assert!(out.contains(&format!("[f.yaml:2:{}]", at - 5 + 1)), "{out}");
        assert!(out.contains("…x, x"), "{out}");
        assert!(
            out.contains(" 1 │ a: 1") && out.contains(" 3 │ c: 2"),
            "{out}"
        );
        // Short lines are shown as they are.
        let short = SourceFile::new("f.yaml", "a: 1\nb: 2\n");
        let p = Problem::new(codes::INVALID_VALUE, "bad").at(&short, 8..9);
        assert!(p.excerpt().is_none());
    }

    #[test]
    fn big_batches_show_the_first_and_count_the_rest() {
        let list = (0..120)
            .map(|i| Problem::new(codes::EMPTY, format!("p{i}")))
            .collect();
        let problems = Problems::new("f", list).expect("non-empty");
        let related: Vec<String> = problems
            .related()
            .expect("related")
            .map(|d| d.to_string())
            .collect();
        assert_eq!(related.len(), MAX_SHOWN + 1);
        assert!(
            related[MAX_SHOWN].contains("70 more problems"),
            "{related:?}"
        );
    }

    #[test]
    fn one_of_joins() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
