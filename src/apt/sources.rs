//! APT source lists as the tree commits them: the one-line format
//! (`sources.list`: `deb [options] URI SUITE [COMPONENT…]`, one suite per
//! entry) and the deb822 format (`*.sources`: stanzas whose `URIs`,
//! `Suites`, `Components` and `Architectures` fields each name several).
//!
//! Two things use it: the `apt-sources` pin locator, which finds the
//! snapshot timestamp in every URI under a snapshot base (so a bump
//! rewrites exactly those bytes), and [`uncovered`], which makes sure a
//! list installs only from suites, components and architectures that the
//! snapshot item verifies.

use std::ops::Range;

/// One source entry (a one-line entry, or a deb822 stanza).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line where the entry starts.
    pub line: usize,
    /// Whether it is for binary packages (`deb`), not sources only.
    pub binary: bool,
    pub enabled: bool,
    pub uris: Vec<Uri>,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    /// Empty when the entry leaves them to APT's default.
    pub architectures: Vec<String>,
}

/// A URI of an entry and where its text is in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    pub text: String,
    pub range: Range<usize>,
    pub line: usize,
}

/// Parses a source list, in the format its first entry is written in.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let first = lines(text).find(|(_, _, l)| !significant(l).is_empty());
    match first {
        Some((_, _, l)) if is_one_line(significant(l)) => parse_one_line(text),
        _ => parse_deb822(text),
    }
}

/// `(1-based line, byte offset, text without the line ending)`.
fn lines(text: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n').enumerate().map(move |(i, raw)| {
        let start = offset;
        offset += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        (i + 1, start, line.strip_suffix('\r').unwrap_or(line))
    })
}

/// A line without its comment and surrounding blanks.
fn significant(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

fn is_one_line(line: &str) -> bool {
    let word = line
        .split(|c: char| c.is_whitespace() || c == '[')
        .next()
        .unwrap_or("");
    matches!(word, "deb" | "deb-src")
}

fn parse_one_line(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (n, start, line) in lines(text) {
        let body = significant(line);
        if body.is_empty() {
            continue;
        }
        let bad = |why: &str| format!("line {n}: {why}");
        let (kind, mut rest) = body.split_at(
            body.find(|c: char| c.is_whitespace() || c == '[')
                .unwrap_or(body.len()),
        );
        let binary = match kind {
            "deb" => true,
            "deb-src" => false,
            other => return Err(bad(&format!("`{other}` is not `deb` or `deb-src`"))),
        };
        let mut architectures = Vec::new();
        rest = rest.trim_start();
        if let Some(options) = rest.strip_prefix('[') {
            let Some((options, after)) = options.split_once(']') else {
                return Err(bad("the options' `[` is not closed"));
            };
            for option in options.split_whitespace() {
                if let Some(archs) = option
                    .strip_prefix("arch=")
                    .or_else(|| option.strip_prefix("arch+="))
                {
                    architectures.extend(archs.split(',').map(str::to_owned));
                }
            }
            rest = after.trim_start();
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            return Err(bad("an entry needs a URI and a suite"));
        };
        // `uri` is a slice of `line`, which starts at `start`.
        let at = start + (uri.as_ptr() as usize - line.as_ptr() as usize);
        out.push(Entry {
            line: n,
            binary,
            enabled: true,
            uris: vec![Uri {
                text: uri.to_owned(),
                range: at..at + uri.len(),
                line: n,
            }],
            suites: vec![suite.to_owned()],
            components: words.map(str::to_owned).collect(),
            architectures,
        });
    }
    Ok(out)
}

/// A deb822 stanza being read: its fields' values, and for `URIs` where
/// each word is.
#[derive(Default)]
struct Stanza {
    line: usize,
    fields: Vec<(String, String)>,
    uris: Vec<Uri>,
    /// The field whose continuation lines follow.
    current: Option<String>,
}

fn parse_deb822(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut stanza: Option<Stanza> = None;
    for (n, start, line) in lines(text) {
        if line.trim().is_empty() {
            if let Some(s) = stanza.take() {
                out.push(finish(s)?);
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let s = stanza.get_or_insert_with(|| Stanza {
            line: n,
            ..Stanza::default()
        });
        let (name, value) = if line.starts_with([' ', '\t']) {
            let Some(name) = s.current.clone() else {
                return Err(format!("line {n}: a continuation line before any field"));
            };
            (name, line)
        } else {
            let Some((name, value)) = line.split_once(':') else {
                return Err(format!(
                    "line {n}: `{}` is not a `Field: value` line",
                    line.trim()
                ));
            };
            let name = name.trim().to_ascii_lowercase();
            s.current = Some(name.clone());
            (name, value)
        };
        if name == "uris" {
            for word in value.split_whitespace() {
                // `word` is a slice of `line`, which starts at `start`.
                let at = start + (word.as_ptr() as usize - line.as_ptr() as usize);
                s.uris.push(Uri {
                    text: word.to_owned(),
                    range: at..at + word.len(),
                    line: n,
                });
            }
        }
        match s.fields.iter_mut().find(|(f, _)| *f == name) {
            Some((_, v)) => {
                v.push(' ');
                v.push_str(value.trim());
            }
            None => s.fields.push((name, value.trim().to_owned())),
        }
    }
    if let Some(s) = stanza {
        out.push(finish(s)?);
    }
    Ok(out)
}

fn finish(s: Stanza) -> Result<Entry, String> {
    let field = |name: &str| -> Vec<String> {
        s.fields
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, v)| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let types = field("types");
    let suites = field("suites");
    if types.is_empty() || s.uris.is_empty() || suites.is_empty() {
        return Err(format!(
            "line {}: a deb822 stanza needs `Types`, `URIs` and `Suites`",
            s.line
        ));
    }
    let enabled = !field("enabled")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("no"));
    Ok(Entry {
        line: s.line,
        binary: types.iter().any(|t| t == "deb"),
        enabled,
        uris: s.uris,
        suites,
        components: field("components"),
        architectures: field("architectures"),
    })
}

/// Every place a snapshot timestamp is written in a URI under `base`
/// (`{base}/{timestamp}` or `{base}/{timestamp}/…`) in the enabled
/// entries, `deb-src` ones too (they follow the same snapshot): the byte
/// range of the timestamp, its line, and its text.
pub fn snapshot_places(entries: &[Entry], base: &str) -> Vec<(Range<usize>, usize, String)> {
    let base = base.trim_end_matches('/');
    let mut out = Vec::new();
    for entry in entries.iter().filter(|e| e.enabled) {
        for uri in &entry.uris {
            let Some(rest) = uri
                .text
                .strip_prefix(base)
                .and_then(|r| r.strip_prefix('/'))
            else {
                continue;
            };
            let segment = rest.split('/').next().unwrap_or("");
            if segment.is_empty() {
                continue;
            }
            let at = uri.range.start + base.len() + 1;
            out.push((at..at + segment.len(), uri.line, segment.to_owned()));
        }
    }
    out
}

/// What the snapshot item verifies, against which a list is checked.
pub struct Verified<'a> {
    pub suites: &'a [String],
    pub components: &'a [String],
    pub architectures: &'a [String],
}

/// Why the entries under `base` install from something the snapshot item
/// does not verify (a suite, component or architecture it does not
/// list), if they do.
pub fn uncovered(entries: &[Entry], base: &str, verified: &Verified<'_>) -> Option<String> {
    let base = base.trim_end_matches('/');
    let under = |e: &&Entry| {
        e.uris.iter().any(|u| {
            u.text
                .strip_prefix(base)
                .is_some_and(|r| r.starts_with('/'))
        })
    };
    for entry in entries
        .iter()
        .filter(|e| e.binary && e.enabled)
        .filter(under)
    {
        let missing = |what: &str, listed: &[String], wanted: &[String]| {
            listed
                .iter()
                .find(|x| !wanted.contains(x))
                .map(|x| format!("line {}: the entry installs from {what} {x}", entry.line))
        };
        let problem = missing("suite", &entry.suites, verified.suites)
            .or_else(|| missing("component", &entry.components, verified.components))
            .or_else(|| missing("architecture", &entry.architectures, verified.architectures));
        if problem.is_some() {
            return problem;
        }
    }
    None
}

/// For an `apt_sources` pin of a verified snapshot item: the list's
/// entries under `base` install only what the item verifies.
pub fn check_item(
    item: &crate::manifest::model::Item,
    base: &str,
    entries: &[Entry],
) -> Result<(), String> {
    let Some(source) = super::SnapshotSource::of(item) else {
        return Ok(());
    };
    let spec = source.at("", &item.version);
    let verified = Verified {
        suites: spec.suites,
        components: &spec.components,
        architectures: spec.architectures,
    };
    match uncovered(entries, base, &verified) {
        None => Ok(()),
        Some(why) => Err(format!(
            "{why}, which the item does not verify (it verifies suites {}, components {}, \
             architectures {}); add it to the item's source or drop it from the list",
            spec.suites.join(" "),
            spec.components.join(" "),
            spec.architectures.join(" ")
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const BASE: &str = "https://snap.example/ubuntu";

    #[test]
    fn one_line_entries_name_one_suite_each() {
        let text = "# the build host\n\
                    deb [arch=amd64,arm64 signed-by=/k.gpg] https://snap.example/ubuntu/20240301T000000Z noble main universe\n\
                    deb https://snap.example/ubuntu/20240301T000000Z/ noble-updates main # fixes\n\
                    deb-src https://snap.example/ubuntu/20240301T000000Z noble main\n";
        let entries = parse(text).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].suites, ["noble"]);
        assert_eq!(entries[0].components, ["main", "universe"]);
        assert_eq!(entries[0].architectures, ["amd64", "arm64"]);
        assert_eq!(entries[1].suites, ["noble-updates"]);
        assert!(!entries[2].binary);
        let places = snapshot_places(&entries, BASE);
        // The deb-src entry follows the same snapshot.
        assert_eq!(places.len(), 3);
        for (range, _, value) in &places {
            assert_eq!(&text[range.clone()], "20240301T000000Z");
            assert_eq!(value, "20240301T000000Z");
        }
        assert_eq!(places[1].1, 3);
    }

    #[test]
    fn deb822_stanzas_name_several() {
        let text = "Types: deb\n\
                    URIs: https://snap.example/ubuntu/20240301T000000Z\n\
                    \x20 https://other.example/ubuntu\n\
                    Suites: noble noble-updates\n\
                    \x20 noble-security\n\
                    Components: main\n\
                    Signed-By: /etc/apt/keyrings/mirror.asc\n\
                    \n\
                    # off for now\n\
                    Types: deb\n\
                    URIs: https://snap.example/ubuntu/20240301T000000Z\n\
                    Suites: noble-backports\n\
                    Components: main\n\
                    Enabled: no\n";
        let entries = parse(text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].suites,
            ["noble", "noble-updates", "noble-security"]
        );
        assert_eq!(entries[0].uris.len(), 2);
        assert_eq!(entries[0].uris[1].line, 3);
        assert!(!entries[1].enabled);
        let places = snapshot_places(&entries, BASE);
        assert_eq!(places.len(), 1, "the disabled stanza is not a place");
        assert_eq!(&text[places[0].0.clone()], "20240301T000000Z");
        // The disabled stanza's suite is not installed from.
        let suites = ["noble", "noble-updates", "noble-security"].map(String::from);
        let verified = Verified {
            suites: &suites,
            components: &["main".to_owned()],
            architectures: &[],
        };
        assert_eq!(uncovered(&entries, BASE, &verified), None);
        let fewer = Verified {
            suites: &suites[..2],
            ..verified
        };
        assert_eq!(
            uncovered(&entries, BASE, &fewer).as_deref(),
            Some("line 1: the entry installs from suite noble-security")
        );
    }

    #[test]
    fn crlf_and_field_case() {
        let text =
            "types: deb\r\nuris: https://snap.example/ubuntu/20240301T000000Z\r\nsuites: noble\r\n";
        let entries = parse(text).unwrap();
        let places = snapshot_places(&entries, BASE);
        assert_eq!(&text[places[0].0.clone()], "20240301T000000Z");
    }

    #[test]
    fn malformed_lists_are_named_by_line() {
        assert_eq!(
            parse("deb https://snap.example/ubuntu\n").unwrap_err(),
            "line 1: an entry needs a URI and a suite"
        );
        assert_eq!(
            parse("deb [arch=amd64 https://x noble\n").unwrap_err(),
            "line 1: the options' `[` is not closed"
        );
        assert_eq!(
            parse("Types: deb\nSuites: noble\n").unwrap_err(),
            "line 1: a deb822 stanza needs `Types`, `URIs` and `Suites`"
        );
        assert_eq!(
            parse("Types: deb\nnonsense\n").unwrap_err(),
            "line 2: `nonsense` is not a `Field: value` line"
        );
    }
}
