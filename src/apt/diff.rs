//! What a lock change does to APT items, for `vendor diff`: the tracked
//! packages whose version (or `.deb`) moved, e.g. `dracut 059-4 →
//! 060+5-1ubuntu3`, and suites whose verified release changed (a new
//! `Date`, or another signing key).

use serde::Serialize;

use crate::lock::LockedItem;
use crate::lockdiff::{ItemDiff, Status};

use super::{LockedPackage, LockedSuite};

/// A package, by name and architecture, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    pub name: String,
    pub architecture: String,
    pub status: Status,
    pub old: Option<LockedPackage>,
    pub new: Option<LockedPackage>,
}

/// A suite whose release changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuiteChange {
    pub suite: String,
    pub status: Status,
    pub old: Option<LockedSuite>,
    pub new: Option<LockedSuite>,
}

fn apt(item: Option<&LockedItem>) -> Option<&super::Locked> {
    item?.resolved.as_ref()?.apt.as_ref()
}

fn status<T>(old: Option<T>, new: Option<T>) -> Status {
    match (old, new) {
        (None, _) => Status::Added,
        (_, None) => Status::Removed,
        _ => Status::Changed,
    }
}

/// The packages that differ between two lock entries.
pub fn packages(old: Option<&LockedItem>, new: Option<&LockedItem>) -> Vec<PackageChange> {
    let empty = Vec::new();
    let old = apt(old).map_or(&empty, |a| &a.packages);
    let new = apt(new).map_or(&empty, |a| &a.packages);
    let mut keys: Vec<(&String, &String)> = old
        .iter()
        .chain(new)
        .map(|p| (&p.name, &p.architecture))
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|(name, arch)| {
            let find = |list: &Vec<LockedPackage>| {
                list.iter()
                    .find(|p| &p.name == name && &p.architecture == arch)
                    .cloned()
            };
            let (o, n) = (find(old), find(new));
            let same = matches!((&o, &n), (Some(a), Some(b)) if a.version == b.version && a.sha256 == b.sha256);
            (!same).then(|| PackageChange {
                name: name.clone(),
                architecture: arch.clone(),
                status: status(o.as_ref(), n.as_ref()),
                old: o,
                new: n,
            })
        })
        .collect()
}

/// The suites whose verified release differs between two lock entries.
pub fn suites(old: Option<&LockedItem>, new: Option<&LockedItem>) -> Vec<SuiteChange> {
    let empty = Vec::new();
    let old = apt(old).map_or(&empty, |a| &a.suites);
    let new = apt(new).map_or(&empty, |a| &a.suites);
    let mut names: Vec<&String> = old.iter().chain(new).map(|s| &s.suite).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let find = |list: &Vec<LockedSuite>| list.iter().find(|s| &s.suite == name).cloned();
            let (o, n) = (find(old), find(new));
            (o != n).then(|| SuiteChange {
                suite: name.clone(),
                status: status(o.as_ref(), n.as_ref()),
                old: o,
                new: n,
            })
        })
        .collect()
}

/// Whether a lock change of an `apt-package` item only re-verified it
/// (its snapshot moved; its version stayed).
pub fn is_recheck(item: &ItemDiff) -> bool {
    item.status == Status::Changed
        && !item.version.changed()
        && item.source.new.as_deref() == Some("apt-package")
}

/// One line per package and suite change; `show` formats a value.
pub fn lines(item: &ItemDiff, show: impl Fn(&str) -> String) -> Vec<String> {
    let mut out = Vec::new();
    for p in &item.packages {
        let v = |side: &Option<LockedPackage>| side.as_ref().map(|p| show(&p.version));
        let what = format!("package {} ({})", p.name, p.architecture);
        out.push(match (v(&p.old), v(&p.new)) {
            (Some(a), Some(b)) if a == b => format!(
                "{what} {a}: the .deb changed (sha256 {} → {})",
                p.old.as_ref().map_or("", |x| short(&x.sha256)),
                p.new.as_ref().map_or("", |x| short(&x.sha256))
            ),
            (Some(a), Some(b)) => format!("{what} {a} → {b}"),
            (None, Some(b)) => format!("{what} added: {b}"),
            (Some(a), None) => format!("{what} removed (was {a})"),
            (None, None) => what,
        });
    }
    for s in &item.suites {
        let signer = |side: &Option<LockedSuite>| side.as_ref().map(|s| s.signer.clone());
        let date = |side: &Option<LockedSuite>| {
            side.as_ref()
                .and_then(|s| s.date.clone())
                .unwrap_or_else(|| "-".to_owned())
        };
        let mut line = format!("suite {}", s.suite);
        match (&s.old, &s.new) {
            (Some(_), Some(_)) => {
                line.push_str(&format!(
                    " {} → {}",
                    show(&date(&s.old)),
                    show(&date(&s.new))
                ));
                if signer(&s.old) != signer(&s.new) {
                    line.push_str(&format!(
                        "; signed by {} (was {})",
                        show(&signer(&s.new).unwrap_or_default()),
                        show(&signer(&s.old).unwrap_or_default())
                    ));
                }
            }
            (None, Some(_)) => line.push_str(&format!(" added ({})", show(&date(&s.new)))),
            (Some(_), None) => line.push_str(" removed"),
            (None, None) => {}
        }
        out.push(line);
    }
    out
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
