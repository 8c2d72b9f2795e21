//! Shared harness for end-to-end tests of the `vendor` binary.
//!
//! `tree` is generic (a temporary tree, a hermetic run of the binary, file
//! hashes); this module adds what is specific to this repository: the
//! example tree and the places it pins. A test file uses it with
//! `mod support;` and adds its own pieces (e.g. a fake upstream) beside.
#![allow(dead_code)] // each test binary uses a different part

pub mod tree;

#[allow(unused_imports)] // each test binary uses a different part
pub use tree::{Output, Tree};

/// The repository's own example, as `Tree::example()` copies it.
pub const EXAMPLE: &[&str] = &["vendor.yaml", "vendor.lock.yaml", "schema", "examples"];

pub const MANIFEST: &str = "vendor.yaml";
pub const LOCK: &str = "vendor.lock.yaml";
/// Holds the `kernel` pin and the `dracut-apt-snapshot` pin.
pub const WORKFLOW: &str = "examples/powernode/initramfs/.gitea/workflows/build.yaml";
/// Holds the `traefik` pin.
pub const MAKEFILE: &str = "examples/powernode/agent/Makefile";

impl Tree {
    /// A copy of the repository's example: `vendor.yaml`, its lock, the
    /// schema and `examples/`.
    pub fn example() -> Tree {
        Tree::copy_of(EXAMPLE)
    }
}

/// The 1-based line of the one line of `text` containing `needle`.
#[track_caller]
pub fn line_of(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    match lines[..] {
        [line] => line,
        _ => panic!("{needle:?} is on lines {lines:?}, expected exactly one"),
    }
}
