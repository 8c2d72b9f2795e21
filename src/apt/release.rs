//! The fields of a suite's `Release` file (the signed text of `InRelease`,
//! or `Release` beside `Release.gpg`) that resolution uses: which suite it
//! is, its `Date`, the components and architectures it announces,
//! `Acquire-By-Hash`, and the `SHA256` list of index files.
//!
//! `Valid-Until` is not checked: a snapshot is old by design, and its
//! signature (checked with the signing key's own time rules) is what
//! vouches for it.

use super::packages::{self, is_archive_path, is_sha256, shorten};

/// An index file the release lists with its sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// Path under `dists/SUITE/`, e.g. `main/binary-amd64/Packages.xz`.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// A parsed `Release`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    pub suite: Option<String>,
    pub codename: Option<String>,
    /// The `Date` field as written.
    pub date: Option<String>,
    pub components: Vec<String>,
    pub architectures: Vec<String>,
    pub acquire_by_hash: bool,
    pub sha256: Vec<IndexFile>,
}

impl Release {
    /// Whether this release names itself `suite` (by `Suite` or
    /// `Codename`; a release naming neither is taken as it comes).
    pub fn is_suite(&self, suite: &str) -> bool {
        match (&self.suite, &self.codename) {
            (None, None) => true,
            (s, c) => s.as_deref() == Some(suite) || c.as_deref() == Some(suite),
        }
    }

    /// The index file at `path`.
    pub fn file(&self, path: &str) -> Option<&IndexFile> {
        self.sha256.iter().find(|f| f.path == path)
    }
}

/// Parses the release text. `Err` says what is wrong, with the line.
pub fn parse(text: &str) -> Result<Release, String> {
    let paragraphs = packages::paragraphs(text)?;
    let Some(p) = paragraphs.first() else {
        return Err("it holds no fields".into());
    };
    if paragraphs.len() > 1 {
        return Err(format!(
            "line {}: a Release file is one paragraph, this one has {}",
            paragraphs.get(1).map_or(0, |p| p.line),
            paragraphs.len()
        ));
    }
    let words = |name: &str| -> Vec<String> {
        p.get(name)
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let mut release = Release {
        suite: p.get("Suite").map(str::to_owned),
        codename: p.get("Codename").map(str::to_owned),
        date: p.get("Date").map(str::to_owned),
        components: words("Components"),
        architectures: words("Architectures"),
        acquire_by_hash: p
            .get("Acquire-By-Hash")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
        sha256: Vec::new(),
    };
    if let Some(field) = p.field("SHA256") {
        for (n, line) in field.more.iter().enumerate() {
            let at = field.line + n + 1;
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [hash, size, path] = parts.as_slice() else {
                return Err(format!(
                    "line {at}: `{}` is not `SHA256 SIZE PATH`",
                    shorten(line)
                ));
            };
            if !is_sha256(hash) {
                return Err(format!("line {at}: `{}` is not a sha256", shorten(hash)));
            }
            let size: u64 = size
                .parse()
                .map_err(|_| format!("line {at}: `{}` is not a size", shorten(size)))?;
            if !is_archive_path(path) {
                return Err(format!(
                    "line {at}: `{}` is not a path inside the suite",
                    shorten(path)
                ));
            }
            release.sha256.push(IndexFile {
                path: (*path).to_owned(),
                size,
                sha256: hash.to_ascii_lowercase(),
            });
        }
    }
    Ok(release)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A `Date` field (`Thu, 29 Feb 2024 23:05:12 UTC`, RFC 2822 in UTC) as a
/// snapshot timestamp `YYYYMMDDTHHMMSSZ`; `None` when it is not one.
pub fn timestamp(date: &str) -> Option<String> {
    let rest = date.split_once(',').map_or(date, |(_, r)| r);
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, zone] = parts.as_slice() else {
        return None;
    };
    if !matches!(*zone, "UTC" | "GMT" | "Z" | "+0000" | "-0000") {
        return None;
    }
    let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let month = MONTHS.iter().position(|m| m == month)? + 1;
    let year: u32 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let hms: Vec<u32> = time
        .split(':')
        .map(|t| t.parse().ok().filter(|_| t.len() == 2))
        .collect::<Option<Vec<u32>>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    Some(format!("{year:04}{month:02}{day:02}T{h:02}{m:02}{s:02}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn release_fields() {
        let text = format!(
            "Origin: Ubuntu\nSuite: noble\nCodename: noble\nDate: Thu, 29 Feb 2024 23:05:12 UTC\n\
             Architectures: amd64 arm64\nComponents: main universe\nAcquire-By-Hash: yes\n\
             MD5Sum:\n d41d8cd98f00b204e9800998ecf8427e 0 main/binary-amd64/Packages\n\
             SHA256:\n {SHA}                0 main/binary-amd64/Packages\n {SHA} 20 main/binary-amd64/Packages.gz\n"
        );
        let r = parse(&text).expect("parses");
        assert!(r.is_suite("noble") && !r.is_suite("jammy"));
        assert!(r.acquire_by_hash);
        assert_eq!(r.components, ["main", "universe"]);
        assert_eq!(r.sha256.len(), 2);
        assert_eq!(
            r.file("main/binary-amd64/Packages.gz").map(|f| f.size),
            Some(20)
        );
        assert_eq!(
            timestamp(r.date.as_deref().unwrap_or_default()).as_deref(),
            Some("20240229T230512Z")
        );
    }

    #[test]
    fn hostile_release() {
        for text in [
            format!("SHA256:\n {SHA} 0 ../escape\n"),
            "SHA256:\n nothex 0 main/x\n".to_owned(),
            format!("SHA256:\n {SHA} many main/x\n"),
            "a: b\n\nc: d\n".to_owned(),
            "no colon\n".to_owned(),
        ] {
            assert!(parse(&text).is_err(), "{text}");
        }
        assert_eq!(timestamp("Thu, 29 Feb 2024 23:05:12 +0200"), None);
        assert_eq!(timestamp("yesterday"), None);
    }
}
