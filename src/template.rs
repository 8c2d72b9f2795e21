//! `{name}` placeholders in manifest strings (`v{version}`,
//! `traefik_{tag}_{os}_{arch}.tar.gz`). `{{` and `}}` stand for literal
//! braces.

use std::ops::Range;

/// A placeholder found in a template: its name and its byte range
/// (including the braces) in the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub name: String,
    pub range: Range<usize>,
}

/// A malformed template: an unclosed `{` or a stray `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub message: &'static str,
    pub offset: usize,
}

/// Lists the placeholders of `template` in order.
pub fn placeholders(template: &str) -> Result<Vec<Placeholder>, Malformed> {
    let mut out = Vec::new();
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => i += 2,
            b'}' if bytes.get(i + 1) == Some(&b'}') => i += 2,
            b'{' => {
                let Some(len) = template[i + 1..].find('}') else {
                    return Err(Malformed {
                        message: "unclosed `{`",
                        offset: i,
                    });
                };
                let name = &template[i + 1..i + 1 + len];
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(Malformed {
                        message: "a placeholder is `{name}` with letters, digits or `_`",
                        offset: i,
                    });
                }
                out.push(Placeholder {
                    name: name.to_owned(),
                    range: i..i + len + 2,
                });
                i += len + 2;
            }
            b'}' => {
                return Err(Malformed {
                    message: "stray `}` (write `}}` for a literal brace)",
                    offset: i,
                });
            }
            _ => i += 1,
        }
    }
    Ok(out)
}

/// Expands `template`, asking `lookup` for each placeholder's value.
/// Returns the name of the first placeholder `lookup` does not know.
pub fn expand<'a>(
    template: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if let Some(stripped) = tail.strip_prefix('{')
            && let Some(end) = stripped.find('}')
        {
            let name = &stripped[..end];
            out.push_str(lookup(name).ok_or_else(|| name.to_owned())?);
            rest = &stripped[end + 1..];
        } else {
            return Err(tail.chars().take(16).collect());
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Template variables as name/value pairs; a tiny map that keeps lookups
/// allocation-free.
#[derive(Debug, Default, Clone)]
pub struct Vars<'a>(Vec<(&'a str, String)>);

impl<'a> Vars<'a> {
    pub fn new() -> Self {
        Vars(Vec::new())
    }

    pub fn with(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    pub fn set(&mut self, name: &'a str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Expands `template` with these variables.
    pub fn expand(&self, template: &str) -> Result<String, String> {
        expand(template, |name| self.get(name))
    }
}

/// Placeholders each kind of template may use; checked by `validate`.
pub mod allowed {
    /// Pin values: the version and the tag it maps to.
    pub const PIN: &[&str] = &["version", "tag", "item"];
    /// Source tags and refs.
    pub const TAG: &[&str] = &["version", "item"];
    /// Asset names, URLs, install paths, checksum files, extract members.
    pub const ASSET: &[&str] = &["version", "tag", "item", "os", "arch"];
    /// Signature names: an asset template plus the signed file's name.
    pub const SIGNATURE: &[&str] = &["version", "tag", "item", "os", "arch", "asset"];
    /// Smoke commands and expectations.
    pub const SMOKE: &[&str] = &["version", "tag", "item", "os", "arch", "path"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_escapes() {
        let vars = Vars::new().with("version", "3.3.4").with("arch", "amd64");
        assert_eq!(vars.expand("v{version}").as_deref(), Ok("v3.3.4"));
        assert_eq!(
            vars.expand("t_{version}_{arch}.tgz").as_deref(),
            Ok("t_3.3.4_amd64.tgz")
        );
        assert_eq!(vars.expand("{{x}}").as_deref(), Ok("{x}"));
        assert_eq!(vars.expand("{nope}"), Err("nope".to_owned()));
    }

    #[test]
    fn lists_placeholders_with_ranges() {
        let found = placeholders("a{version}b{{c}}{arch}").expect("well formed");
        let names: Vec<_> = found.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["version", "arch"]);
        assert_eq!(found[0].range, 1..10);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(placeholders("a{version").map_err(|e| e.offset), Err(1));
        assert_eq!(placeholders("a}b").map_err(|e| e.offset), Err(1));
        assert!(placeholders("{a-b}").is_err());
    }
}
