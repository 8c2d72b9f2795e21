//! Local files that are not what they claim to be: nesting deep enough to
//! overflow a recursive parser, inputs that make diagnostics grow with the
//! square of their size, FIFOs and devices in place of the manifest, the
//! lock or a pin file, text that is not UTF-8, and locks that parse but
//! hold values no generated lock can.
//!
//! Every case must end in a clear diagnostic and exit 1: never an abort,
//! never a hang (the harness kills a run after its timeout, which then
//! fails the exit-code assertion), never output that grows without bound.
//! The inputs are generated here, in temporary trees.

mod support;

use support::{LOCK, MAKEFILE, MANIFEST, Output, Tree, WORKFLOW};

/// Enough `- ` to overflow the stack of any recursive walk over the tree.
const DEEP: usize = 131_000;

/// Stderr of a refused input stays short, whatever the input's size.
const SHORT: usize = 200_000;

/// Runs `args` and checks it ended by itself with exit 1 and a short
/// diagnostic; returns the output for further checks.
#[track_caller]
fn refused(tree: &Tree, args: &[&str]) -> Output {
    let out = tree.run(args);
    let head: String = out.stderr.chars().take(3000).collect();
    assert!(
        out.stderr.len() < SHORT,
        "`{}` wrote {} bytes to stderr; it starts:\n{head}",
        out.command,
        out.stderr.len()
    );
    assert_eq!(
        out.code, 1,
        "`{}` exited {} (-1: killed by a signal or the timeout)\n{}",
        out.command, out.code, head
    );
    out
}

/// The example's manifest with the traefik item's pins replaced by `line`.
fn with_traefik_pins(tree: &Tree, line: &str) {
    tree.edit(MANIFEST, |text| {
        let start = text
            .find("    pins:\n      # agent/Makefile")
            .expect("traefik pins");
        let end = start + text[start..].find("    smoke:").expect("traefik smoke");
        format!("{}{line}\n{}", &text[..start], &text[end..])
    });
}

#[cfg(unix)]
fn mkfifo(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[cfg(unix)]
fn symlink(target: &str, path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    std::os::unix::fs::symlink(target, path).expect("create a symlink");
}

// ---------------------------------------------------------------------------
// 9. Deep nesting
// ---------------------------------------------------------------------------

#[test]
fn deep_nesting_in_the_manifest_is_refused_not_aborted() {
    let tree = Tree::example();
    for text in ["- ".repeat(DEEP), "[".repeat(DEEP), "{a: ".repeat(DEEP)] {
        tree.write(MANIFEST, &text);
        for args in [&["validate"][..], &["check"], &["list"]] {
            refused(&tree, args)
                .stderr_has("vendor::manifest::too-deep")
                .stderr_mentions("vendor.yaml");
        }
    }
}

#[test]
fn deep_nesting_in_a_yaml_pin_file_is_refused_not_aborted() {
    let tree = Tree::example();
    tree.write(WORKFLOW, "- ".repeat(DEEP));
    for args in [&["check"][..], &["plan"], &["apply", "kernel"]] {
        refused(&tree, args)
            .stderr_mentions(WORKFLOW)
            .stderr_has("deeper than");
    }
}

#[test]
fn deep_nesting_in_the_lock_is_refused() {
    let tree = Tree::example();
    for deep in [
        "- ".repeat(DEEP),
        format!("version: 1\nitems: {}", "[".repeat(DEEP)),
    ] {
        tree.write(LOCK, &deep);
        for args in [&["check"][..], &["plan"]] {
            refused(&tree, args)
                .stderr_mentions("vendor.lock.yaml")
                .stderr_has("deeper than");
        }
    }
}

// ---------------------------------------------------------------------------
// 10. Output that grows with the square of the input
// ---------------------------------------------------------------------------

#[test]
fn thousands_of_problems_show_the_first_and_count_the_rest() {
    for n in [3_000, 10_000] {
        let tree = Tree::example();
        with_traefik_pins(&tree, &format!("    pins: [{}]", vec!["a"; n].join(", ")));
        let out = refused(&tree, &["validate"]);
        out.stderr_has(&format!("vendor.yaml has {n} problems"))
            .stderr_has(&format!("and {} more problems", n - 50));
        let shown = out
            .stderr
            .matches("must be a mapping, not a string")
            .count();
        assert_eq!(shown, 50, "{}", out.stderr);
    }
}

#[test]
fn twenty_thousand_aliases_on_one_line_end_quickly() {
    let tree = Tree::example();
    let aliases = vec!["*x"; 20_000].join(", ");
    with_traefik_pins(
        &tree,
        &format!("    pins: [&x {{file: {MAKEFILE}, make: TRAEFIK_VERSION}}, {aliases}]"),
    );
    for args in [&["validate"][..], &["check"], &["list"]] {
        refused(&tree, args).stderr_has("vendor::manifest::alias");
    }
}

#[test]
fn a_long_source_line_is_cut_around_the_problem() {
    let tree = Tree::example();
    let long = "x".repeat(100_000);
    tree.replace_once(
        MANIFEST,
        "    description: Ubuntu kernel ABI bundled into the initramfs artifact\n",
        &format!("    smoke: {{run: [{{args: [\"{long}\"], expectt: x}}]}}\n"),
    );
    let text = tree.read(MANIFEST);
    let line = support::line_of(&text, "expectt: x");
    let line_text = text.lines().nth(line - 1).expect("the line");
    let col = line_text.find("expectt").expect("the key") + 1;
    let out = refused(&tree, &["validate"]);
    out.stderr_has(&format!("vendor.yaml:{line}:{col}]"))
        .stderr_has("…")
        .stderr_has("expectt");
    assert!(
        out.stderr.len() < 5_000,
        "the snippet quotes too much of the line:\n{}",
        out.stderr
    );
}

#[test]
fn aliases_in_the_lock_are_refused_before_they_expand() {
    let tree = Tree::example();
    let mut lock = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        lock.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    lock.push_str("version: 1\nitems: {}\n");
    tree.write(LOCK, lock);
    refused(&tree, &["check"])
        .stderr_mentions("vendor.lock.yaml")
        .stderr_has("alias");
}

// ---------------------------------------------------------------------------
// 11. FIFOs, devices, huge files
// ---------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_a_file_is_refused_not_waited_on() {
    for (rel, commands) in [
        (
            MANIFEST,
            &[&["validate"][..], &["check"], &["plan"], &["list"]][..],
        ),
        (LOCK, &[&["check"][..], &["plan"], &["apply", "kernel"]]),
        (MAKEFILE, &[&["check"][..], &["plan"], &["validate"]]),
    ] {
        let tree = Tree::example();
        mkfifo(&tree.path(rel));
        for args in commands {
            refused(&tree, args)
                .stderr_mentions(rel)
                .stderr_mentions("not a regular file");
        }
        // `list` shows what it can; it must still end.
        if rel == MAKEFILE {
            let out = tree.run(&["list"]);
            assert_ne!(out.code, -1, "{}", out.streams());
        }
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_to_dev_zero_is_refused_not_read_forever() {
    for (rel, args) in [
        (MANIFEST, &["validate"][..]),
        (LOCK, &["check"]),
        (MAKEFILE, &["check"]),
    ] {
        let tree = Tree::example();
        symlink("/dev/zero", &tree.path(rel));
        refused(&tree, args)
            .stderr_mentions(rel)
            .stderr_mentions("not a regular file");
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_to_a_regular_file_is_followed() {
    let tree = Tree::example();
    std::fs::rename(tree.path(MANIFEST), tree.path("real.yaml")).expect("rename");
    symlink("real.yaml", &tree.path(MANIFEST));
    let out = tree.run(&["validate"]);
    out.code(0);
}

#[test]
fn a_manifest_larger_than_the_limit_is_refused() {
    let tree = Tree::example();
    let mut text = tree.read(MANIFEST);
    let comment = format!("# {}\n", "x".repeat(1021));
    while text.len() <= 16 * 1024 * 1024 {
        text.push_str(&comment);
    }
    tree.write(MANIFEST, &text);
    refused(&tree, &["validate"])
        .stderr_mentions("vendor.yaml")
        .stderr_has("larger than 16 MiB");
}

// ---------------------------------------------------------------------------
// 12. Encodings, and locks that parse but cannot be right
// ---------------------------------------------------------------------------

#[test]
fn invalid_utf8_in_a_pin_file_is_located_not_called_missing() {
    let tree = Tree::example();
    let mut bytes = tree.read_bytes(WORKFLOW);
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    let line = support::line_of(&text, "KERNEL_VERSION:");
    let at = text.find("KERNEL_VERSION:").expect("the pin");
    bytes.insert(at, 0xff);
    tree.write(WORKFLOW, bytes);
    for args in [&["check"][..], &["plan"], &["apply", "kernel"]] {
        let out = refused(&tree, args);
        out.stderr_mentions(WORKFLOW)
            .stderr_has("not valid UTF-8")
            .stderr_has(&format!("line {line}"));
        assert!(!out.stderr.contains("file-missing"), "{}", out.stderr);
    }
}

#[test]
fn invalid_utf8_in_the_manifest_says_where() {
    let tree = Tree::example();
    let mut bytes = tree.read_bytes(MANIFEST);
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    let line = support::line_of(&text, "# vendor.yaml for the example");
    let at = text
        .find("vendor.yaml for the example")
        .expect("the comment");
    bytes[at + 1] = 0xe9;
    tree.write(MANIFEST, bytes);
    refused(&tree, &["validate"])
        .stderr_has("not valid UTF-8")
        .stderr_has(&format!("vendor.yaml:{line}:4"))
        .stderr_has("save it as UTF-8");
}

#[test]
fn utf16_manifest_and_lock_are_told_to_be_saved_as_utf8() {
    for (rel, args) in [(MANIFEST, &["validate"][..]), (LOCK, &["check"])] {
        let tree = Tree::example();
        let text = tree.read(rel);
        let mut utf16 = vec![0xff, 0xfe];
        for unit in text.encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        tree.write(rel, utf16);
        refused(&tree, args)
            .stderr_mentions(rel)
            .stderr_mentions("UTF-16")
            .stderr_mentions("save it as UTF-8");
    }
}

#[test]
fn invalid_utf8_in_the_lock_says_where() {
    let tree = Tree::example();
    let mut bytes = tree.read_bytes(LOCK);
    bytes.extend_from_slice(b"# \xc3(\n");
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    tree.write(LOCK, bytes);
    refused(&tree, &["check"])
        .stderr_has("not valid UTF-8")
        .stderr_has(&format!("vendor.lock.yaml:{lines}:3"));
}

/// The example's lock with the kernel entry given `extra` (indented as a
/// key of the entry).
fn lock_with_kernel(tree: &Tree, extra: &str) {
    tree.edit(LOCK, |text| {
        let at = text.find("  kernel:\n").expect("kernel entry") + "  kernel:\n".len();
        format!("{}{extra}{}", &text[..at], &text[at..])
    });
}

#[test]
fn a_lock_with_impossible_values_is_refused_everywhere() {
    let file = |path: &str, sha: &str, mode: &str| {
        format!(
            "    files:\n    - path: {path}\n      sha256: {sha}\n      mode: '{mode}'\n      from: k.tar.gz\n"
        )
    };
    let good = "a".repeat(64);
    let cases = [
        (
            "    artifacts:\n    - name: k.tar.gz\n      url: https://example.invalid/k.tar.gz\n      size: 1\n      sha256: ~\n      trust:\n        kind: manifest\n"
                .to_owned(),
            "sha256",
        ),
        (file("/etc/passwd", &good, "0755"), "/etc/passwd"),
        (file("../outside", &good, "0755"), "../outside"),
        (file("'bin\\tool'", &good, "0755"), "bin\\tool"),
        (file("''", &good, "0755"), "path"),
        (file("bin/tool", &"A".repeat(64), "0755"), "sha256"),
        (file("bin/tool", &good, "9999"), "9999"),
        (
            format!(
                "    artifacts:\n    - name: k.tar.gz\n      url: https://example.invalid/k.tar.gz\n      size: 1\n      sha256: {good}\n      trust:\n        kind: hearsay\n"
            ),
            "hearsay",
        ),
    ];
    for (extra, needle) in cases {
        let tree = Tree::example();
        lock_with_kernel(&tree, &extra);
        for args in [&["check"][..], &["plan"], &["apply", "kernel"]] {
            refused(&tree, args)
                .stderr_has("vendor::lock::invalid")
                .stderr_mentions("vendor.lock.yaml")
                .stderr_mentions(needle)
                .stderr_mentions("vendor apply");
        }
    }
}
