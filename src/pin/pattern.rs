//! Regex pins: every match of a regex anywhere in the file; the text of
//! its `version` group is the pin.
//!
//! The value is the raw text and a new value is written verbatim. A match
//! whose `version` group is empty or does not take part is skipped, so a
//! pattern like `v(?P<version>[0-9.]*)` does not pin every empty position.

use super::{Enc, Found, Lines, Match};

/// Every non-empty `version` group of `re` in `text`, in file order.
pub(super) fn find(re: &regex::Regex, text: &str, index: &Lines) -> Vec<Found> {
    version_groups(re, text, 0)
        .into_iter()
        .map(|(range, value)| Found {
            m: Match {
                line: index.line(range.start),
                range,
                value,
            },
            enc: Enc::Raw,
        })
        .collect()
}

/// The non-empty `version` groups of `re` in `haystack`, as byte ranges
/// shifted by `offset` and their text.
pub(super) fn version_groups(
    re: &regex::Regex,
    haystack: &str,
    offset: usize,
) -> Vec<(std::ops::Range<usize>, String)> {
    re.captures_iter(haystack)
        .filter_map(|caps| caps.name("version"))
        .filter(|g| !g.is_empty())
        .map(|g| (offset + g.start()..offset + g.end(), g.as_str().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::pin::{Locator, Match, PinError, compile_version_regex, find, rewrite};

    fn loc(re: &str) -> Locator {
        Locator::Regex(compile_version_regex(re).expect("valid regex"))
    }

    #[test]
    fn finds_every_match_in_file_order() {
        let text = "é image: traefik:v3.3.4\r\nother: traefik:v3.3.4 # again\r\n";
        let l = loc(r"traefik:v(?P<version>[0-9.]+)");
        let got = find(&l, text).expect("finds");
        assert_eq!(
            got,
            vec![
                Match {
                    range: 19..24,
                    line: 1,
                    value: "3.3.4".into()
                },
                Match {
                    range: 42..47,
                    line: 2,
                    value: "3.3.4".into()
                },
            ]
        );
        let out = rewrite(&l, text, &got, "3.4.0").expect("rewrites");
        assert_eq!(
            out,
            "é image: traefik:v3.4.0\r\nother: traefik:v3.4.0 # again\r\n"
        );
    }

    #[test]
    fn zero_and_empty_matches() {
        assert_eq!(find(&loc(r"x(?P<version>\d+)"), "nothing"), Ok(vec![]));
        assert_eq!(find(&loc(r"(?P<version>\d*)"), "abc"), Ok(vec![]));
        assert_eq!(
            find(&loc(r"a(?P<version>\d+)?b"), "ab a1b")
                .expect("finds")
                .len(),
            1
        );
    }

    #[test]
    fn refuses_a_value_the_regex_would_not_read_back() {
        let l = loc(r"v(?P<version>[0-9.]+)");
        let text = "v1.2 end\n";
        let ms = find(&l, text).expect("finds");
        let err = rewrite(&l, text, &ms, "1.3-rc1").expect_err("not read back");
        assert!(matches!(err, PinError::Unwritable { .. }), "{err}");
        let err = rewrite(&l, text, &ms, "1\n2").expect_err("line break");
        assert!(matches!(err, PinError::Unwritable { .. }), "{err}");
    }

    proptest! {
        #[test]
        fn rewrite_changes_only_the_value(
            before in "[ -~\n]{0,80}",
            after in "[ -~\r\n]{0,80}",
            new in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}(-[a-z0-9]{1,6})?",
        ) {
            let l = loc(r"PIN@(?P<version>[0-9a-z.-]+)");
            let before = before.replace('@', "");
            let after = after.replace('@', "");
            let text = format!("{before}PIN@1.2.3 {after}");
            let ms = find(&l, &text).expect("finds");
            prop_assert_eq!(ms.len(), 1);
            let r = ms[0].range.clone();
            let out = rewrite(&l, &text, &ms, &new).expect("rewrites");
            prop_assert_eq!(&out[..r.start], &text[..r.start]);
            prop_assert_eq!(&out[r.start + new.len()..], &text[r.end..]);
            prop_assert_eq!(&find(&l, &out).expect("finds")[0].value, &new);
        }
    }
}
