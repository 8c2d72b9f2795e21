//! deb822 paragraphs (`Name: value` fields, continuation lines indented,
//! paragraphs separated by blank lines), as `Release` and `Packages` files
//! use them, and the package stanzas of a `Packages` index.
//!
//! Every field is read as text from a file whose hash the signed
//! `InRelease` vouches for; still, nothing in it is trusted to be well
//! formed: a stanza without a required field, a bad sha256 or a pool path
//! that leaves the archive is an error naming the line.

/// One field: its name, the text on its first line, and its continuation
/// lines (leading blank removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub more: Vec<&'a str>,
    /// 1-based line of the field name.
    pub line: usize,
}

/// A paragraph: its fields in order, and the line it starts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paragraph<'a> {
    pub fields: Vec<Field<'a>>,
    pub line: usize,
}

impl<'a> Paragraph<'a> {
    /// The first field named `name` (field names are case-insensitive).
    pub fn field(&self, name: &str) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The single-line value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.field(name).map(|f| f.value.trim())
    }
}

/// Splits deb822 text into paragraphs. `Err` names the line that is no
/// field.
pub fn paragraphs(text: &str) -> Result<Vec<Paragraph<'_>>, String> {
    let mut out = Vec::new();
    let mut current = Paragraph::default();
    for (n, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let number = n + 1;
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let Some(field) = current.fields.last_mut() else {
                return Err(format!(
                    "line {number}: a continuation line outside any field"
                ));
            };
            field.more.push(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "line {number}: `{}` is not a `Name: value` field",
                shorten(line)
            ));
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!(
                "line {number}: `{}` is not a field name",
                shorten(name)
            ));
        }
        if current.fields.is_empty() {
            current.line = number;
        }
        current.fields.push(Field {
            name,
            value: value.trim(),
            more: Vec::new(),
            line: number,
        });
    }
    if !current.fields.is_empty() {
        out.push(current);
    }
    Ok(out)
}

/// At most 80 characters of `text`, for messages.
pub fn shorten(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// A binary package as a `Packages` index lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// The `.deb`'s path under the archive root (`pool/…`).
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    /// URL of the index that listed it (set by the reader of the index).
    #[serde(skip)]
    pub index: String,
}

/// Whether `text` is 64 hex digits.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `path` is a relative path that stays inside the archive.
pub fn is_archive_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// The package stanzas of a `Packages` index. `Err` names the line.
pub fn parse(text: &str) -> Result<Vec<Package>, String> {
    let mut out = Vec::new();
    for p in paragraphs(text)? {
        let need = |name: &str| {
            p.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                format!(
                    "line {}: the stanza of {} has no `{name}` field",
                    p.line,
                    p.get("Package")
                        .map_or("a package".to_owned(), |n| format!("`{}`", shorten(n)))
                )
            })
        };
        let name = need("Package")?;
        let version = need("Version")?;
        let architecture = need("Architecture")?;
        let filename = need("Filename")?;
        let size = need("Size")?;
        let sha256 = need("SHA256")?;
        let at = |what: String| format!("line {}: package `{}`: {what}", p.line, shorten(name));
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
        {
            return Err(at("the name is not a Debian package name".into()));
        }
        if super::debver::parse(version).is_none() {
            return Err(at(format!(
                "`{}` is not a Debian version",
                shorten(version)
            )));
        }
        if !is_archive_path(filename) {
            return Err(at(format!(
                "the file name `{}` is not a path inside the archive",
                shorten(filename)
            )));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| at(format!("the size `{}` is not a number", shorten(size))))?;
        if !is_sha256(sha256) {
            return Err(at(format!("`{}` is not a sha256", shorten(sha256))));
        }
        out.push(Package {
            name: name.to_owned(),
            version: version.to_owned(),
            architecture: architecture.to_owned(),
            filename: filename.to_owned(),
            size,
            sha256: sha256.to_ascii_lowercase(),
            index: String::new(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn stanzas() {
        let text = format!(
            "Package: dracut\nVersion: 059-4\nArchitecture: all\nDescription: x\n more\n .\n\
             Filename: pool/main/d/dracut/dracut_059-4_all.deb\nSize: 12\nSHA256: {SHA}\n\n\n\
             Package: linux-image-6.8.0-45-generic\r\nVersion: 6.8.0-45.45\r\nArchitecture: amd64\r\n\
             Filename: pool/main/l/linux/k.deb\r\nSize: 1\r\nSHA256: {}\r\n",
            SHA.to_uppercase()
        );
        let got = parse(&text).expect("parses");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, "dracut");
        assert_eq!(got[1].version, "6.8.0-45.45");
        assert_eq!(got[1].sha256, SHA);
        assert!(parse("").expect("empty").is_empty());
    }

    #[test]
    fn hostile_stanzas() {
        let base = |extra: &str| {
            format!("Package: a\nVersion: 1\nArchitecture: all\nSize: 1\nSHA256: {SHA}\n{extra}")
        };
        for (text, want) in [
            (base(""), "no `Filename`"),
            (base("Filename: ../../etc/passwd\n"), "not a path inside"),
            (base("Filename: /abs\n"), "not a path inside"),
            ("garbage line\n".to_owned(), "line 1"),
            (" continuation\n".to_owned(), "continuation"),
        ] {
            let err = parse(&text).expect_err(&text);
            assert!(err.contains(want), "{err}");
        }
    }
}
