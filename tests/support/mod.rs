//! Shared harness for end-to-end tests of the `vendor` binary.
//!
//! `tree` is generic (a temporary tree, a hermetic run of the binary, file
//! hashes); this module adds what is specific to this repository: the
//! example tree and the places it pins. A test file uses it with
//! `mod support;` and adds its own pieces (e.g. a fake upstream) beside.
#![allow(dead_code)] // each test binary uses a different part

pub mod snapshot_server;
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

/// The committed APT archive the example's snapshot items resolve
/// against: two snapshots of the example's snapshot mirror, made by
/// `cargo test --test apt -- --ignored regenerate_the_example_archive`.
pub const EXAMPLE_ARCHIVE: &str = "tests/fixtures/apt-snapshot";
/// Where the example's manifest says its snapshot mirror is.
pub const EXAMPLE_MIRROR: &str = "https://apt-snapshot.powernode.internal/";

/// The URL the example's snapshot mirror is played at: a server of
/// [`EXAMPLE_ARCHIVE`] on loopback, started once per test process and
/// kept until it exits.
pub fn example_archive_url() -> &'static str {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(EXAMPLE_ARCHIVE)
            .join("ubuntu");
        let server = snapshot_server::Server::start(base);
        let url = server.url().to_owned();
        std::mem::forget(server);
        url
    })
}

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
