//! Manifest diagnostics, end to end through the library.
//!
//! Every malformed manifest under `tests/fixtures/invalid/` yields exactly
//! the expected problems at the expected `line:col`, and renders as the user
//! sees it (snapshots under `tests/snapshots/`). Valid manifests load and
//! validate with no problem, and no input makes loading panic.
//!
//! To add a case: write the fixture, add a row to `CASES`, then run
//! `INSTA_UPDATE=always cargo test --test manifest_diagnostics` and review
//! the new `.snap` file before committing it.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use vendor::diag::{Problems, SourceFile, codes};
use vendor::manifest::load::parse;
use vendor::manifest::{ValidateOptions, load_and_validate, validate};

/// Fixture name, then `(code, line, col)` of each problem in order.
type Case = (&'static str, &'static [(&'static str, usize, usize)]);

const CASES: &[Case] = &[
    ("syntax-error", &[(codes::YAML_SYNTAX, 9, 9)]),
    ("empty", &[(codes::EMPTY, 1, 1)]),
    (
        "anchors-and-documents",
        &[(codes::ALIAS, 7, 6), (codes::MULTIPLE_DOCUMENTS, 9, 1)],
    ),
    (
        "wrong-type",
        &[
            (codes::WRONG_TYPE, 4, 14),
            (codes::WRONG_TYPE, 8, 16),
            (codes::WRONG_TYPE, 9, 18),
            (codes::WRONG_TYPE, 13, 15),
        ],
    ),
    (
        "unknown-key-typo",
        &[
            (codes::UNKNOWN_KEY, 4, 5),
            (codes::MISSING_KEY, 13, 9),
            (codes::UNKNOWN_KEY, 14, 11),
        ],
    ),
    ("duplicate-item", &[(codes::DUPLICATE_KEY, 14, 3)]),
    (
        "unknown-placeholder",
        &[
            (codes::UNKNOWN_PLACEHOLDER, 11, 35),
            (codes::PLACEHOLDER_NOT_ALLOWED, 20, 27),
        ],
    ),
    (
        "regex-without-version",
        &[(codes::REGEX_WITHOUT_VERSION, 10, 16)],
    ),
    ("invalid-regex", &[(codes::INVALID_REGEX, 9, 16)]),
    ("missing-pin-file", &[(codes::MISSING_FILE, 10, 15)]),
    ("two-locators", &[(codes::PIN_LOCATOR, 10, 9)]),
    (
        "bad-checksum",
        &[
            (codes::INVALID_SHA256, 10, 19),
            (codes::INVALID_SHA256, 16, 19),
        ],
    ),
    (
        "checksum-not-nested",
        &[
            (codes::INVALID_VALUE, 9, 19),
            (codes::INVALID_VALUE, 12, 19),
        ],
    ),
    (
        "bad-apt-timestamp",
        &[
            (codes::INVALID_SNAPSHOT, 4, 14),
            (codes::INVALID_SNAPSHOT, 9, 14),
        ],
    ),
    (
        "several-problems",
        &[
            (codes::UNSUPPORTED_VERSION, 2, 10),
            (codes::INVALID_ITEM_ID, 4, 3),
            (codes::UNKNOWN_SOURCE_TYPE, 7, 13),
            (codes::UNKNOWN_KEY, 18, 9),
            (codes::MISSING_KEY, 20, 9),
        ],
    ),
    (
        "semantic-problems",
        &[
            (codes::UNKNOWN_PLATFORM, 15, 34),
            (codes::EXTRACT_FORMAT_UNKNOWN, 16, 9),
            (codes::INSTALL_COLLISION, 18, 18),
            (codes::UNSAFE_PATH, 20, 18),
            (codes::INSTALL_COLLISION, 20, 18),
            (codes::UNSAFE_PATH, 22, 15),
            (codes::INVALID_KEY_PATH, 23, 15),
            (codes::ASSETS_WITHOUT_DOWNLOAD, 28, 5),
            (codes::UNKNOWN_PLACEHOLDER, 34, 46),
        ],
    ),
];

const INVALID: &str = "tests/fixtures/invalid";

fn problems_of(path: &Path) -> Problems {
    match load_and_validate(path, ValidateOptions::default()) {
        Ok(_) => panic!("{} is accepted, but should be rejected", path.display()),
        Err(problems) => problems,
    }
}

/// The graphical rendering without colours, at a fixed width.
fn render(problems: &Problems) -> String {
    let mut out = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .with_links(false);
    if let Err(err) = handler.render_report(&mut out, problems) {
        panic!("rendering failed: {err}");
    }
    out
}

fn summary(problems: &Problems) -> Vec<(&'static str, usize, usize)> {
    problems
        .iter()
        .map(|p| {
            let (line, col) = p.line_col().unwrap_or((0, 0));
            (p.code(), line, col)
        })
        .collect()
}

#[test]
fn each_invalid_fixture_reports_its_problems_where_they_are() {
    for (name, expected) in CASES {
        let path = PathBuf::from(format!("{INVALID}/{name}.yaml"));
        let problems = problems_of(&path);
        assert_eq!(summary(&problems), *expected, "{}", path.display());
        for p in &problems {
            assert!(p.help_text().is_some(), "{name}: `{p}` has no help");
            let loc = p.location().map(|l| l.to_string()).unwrap_or_default();
            assert!(
                loc.starts_with(&path.display().to_string()),
                "{name}: `{p}` is located at `{loc}`"
            );
        }
        insta::assert_snapshot!(*name, render(&problems));
    }
}

#[test]
fn every_fixture_is_a_case() {
    let Ok(entries) = std::fs::read_dir(INVALID) else {
        panic!("{INVALID} is missing");
    };
    let mut listed: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    listed.sort();
    let mut cases: Vec<String> = CASES.iter().map(|(n, _)| (*n).to_owned()).collect();
    cases.sort();
    assert_eq!(listed, cases);
}

#[test]
fn an_unreadable_manifest_names_its_path() {
    let problems = problems_of(Path::new("tests/fixtures/no-such-dir/vendor.yaml"));
    assert_eq!(problems.codes(), [codes::UNREADABLE]);
    let brief = problems.as_slice()[0].brief();
    assert!(
        brief.starts_with("tests/fixtures/no-such-dir/vendor.yaml: cannot read"),
        "{brief}"
    );
}

#[test]
fn the_valid_fixture_has_no_problems() {
    let path = Path::new("tests/fixtures/valid-manifest/vendor.yaml");
    if let Err(problems) = load_and_validate(path, ValidateOptions::default()) {
        panic!("{}", render(&problems));
    }
}

/// The repository's own manifest, written for the example tree.
#[test]
fn the_repository_manifest_has_no_problems() {
    let path = Path::new("vendor.yaml");
    if !path.exists() {
        return;
    }
    if let Err(problems) = load_and_validate(path, ValidateOptions::default()) {
        panic!("{}", render(&problems));
    }
}

fn valid_text() -> String {
    std::fs::read_to_string("tests/fixtures/valid-manifest/vendor.yaml").unwrap_or_default()
}

/// Loads and validates `text` the way `vendor validate` does, minus the
/// file checks; only a panic fails.
fn load_quietly(text: String) {
    let source = SourceFile::new("vendor.yaml", text);
    if let Ok(loaded) = parse(source, PathBuf::from(".")) {
        let _ = validate(&loaded, ValidateOptions::without_files());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Damaged manifests (bytes cut out, text spliced in) never panic.
    #[test]
    fn damaged_manifests_never_panic(
        cut in 0usize..4000,
        len in 0usize..40,
        insert in "[ -~\n\t{}:\\[\\]\"'&*é]{0,12}",
    ) {
        let text = valid_text();
        let mut start = cut.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + len).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let damaged = format!("{}{insert}{}", &text[..start], &text[end..]);
        load_quietly(damaged);
    }

    /// Arbitrary short documents never panic.
    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\n\t{}:\\[\\]\"'&*é-]{0,200}") {
        load_quietly(text);
    }
}
