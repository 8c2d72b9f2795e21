//! `Tree`: a temporary directory to run the built `vendor` binary in, and
//! `Run`/`Output` to run it and check what it did.
//!
//! Nothing here knows about `vendor.yaml`: a tree is files on disk plus a
//! way to run the binary against them, so download tests can add a fake
//! upstream beside it and pass its URL with `Run::env`.
//!
//! Every run is hermetic: colours off, no GitHub token, a private cache
//! directory, and GitHub pointed at a closed loopback port so that no test
//! can reach the internet even by mistake.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// Where the tool's own working directory lives inside a tree (the tree
/// lock, staging); it is not part of the user's files.
pub const WORK_DIR: &str = ".vendor";

/// A URL nothing listens on (the discard port on loopback): connections
/// fail at once instead of reaching the real GitHub.
pub const NOWHERE: &str = "http://127.0.0.1:9";

/// Runs that hang (a deadlock, a read from a closed server) fail after this
/// long instead of blocking the suite. Not a timing assertion: generous.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A temporary tree of files and a private download cache.
pub struct Tree {
    root: TempDir,
    cache: TempDir,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree {
            root: tempfile::Builder::new()
                .prefix("vendor-tree-")
                .tempdir()
                .expect("create a temporary tree"),
            cache: tempfile::Builder::new()
                .prefix("vendor-cache-")
                .tempdir()
                .expect("create a temporary cache"),
        }
    }

    /// A tree holding copies of `entries` (files or directories, relative
    /// to this crate's root).
    pub fn copy_of(entries: &[&str]) -> Tree {
        let tree = Tree::new();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        for entry in entries {
            copy_recursively(&repo.join(entry), &tree.path(entry));
        }
        tree
    }

    /// The tree's root directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The download cache the binary is given (`VENDOR_CACHE_DIR`).
    pub fn cache(&self) -> &Path {
        self.cache.path()
    }

    /// Absolute path of `rel` (`/`-separated) in the tree.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    pub fn read(&self, rel: &str) -> String {
        let path = self.path(rel);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    pub fn read_bytes(&self, rel: &str) -> Vec<u8> {
        let path = self.path(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// Writes `contents` to `rel`, creating parent directories.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    pub fn remove(&self, rel: &str) {
        let path = self.path(rel);
        std::fs::remove_file(&path)
            .unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
    }

    /// Rewrites the text of `rel` through `f`; the edit must change it.
    #[track_caller]
    pub fn edit(&self, rel: &str, f: impl FnOnce(&str) -> String) {
        let old = self.read(rel);
        let new = f(&old);
        assert_ne!(old, new, "the edit of {rel} changed nothing");
        self.write(rel, new);
    }

    /// Replaces the one occurrence of `from` in `rel` with `to`.
    #[track_caller]
    pub fn replace_once(&self, rel: &str, from: &str, to: &str) {
        self.edit(rel, |text| {
            let n = text.matches(from).count();
            assert_eq!(n, 1, "{from:?} occurs {n} times in {rel}, expected once");
            text.replacen(from, to, 1)
        });
    }

    /// Permission bits of `rel`.
    #[cfg(unix)]
    pub fn mode(&self, rel: &str) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path(rel);
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o7777
    }

    #[cfg(unix)]
    pub fn set_mode(&self, rel: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path(rel);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
    }

    /// Identity of the file at `rel`: a rewrite (even an atomic one with
    /// the same bytes) gives a new identity.
    pub fn file_id(&self, rel: &str) -> FileId {
        let path = self.path(rel);
        let meta = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()));
        FileId {
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(&meta),
            modified: meta.modified().ok(),
        }
    }

    /// sha256 of every file in the tree by `/`-separated relative path,
    /// leaving out the tool's work directory. Symlinks are recorded by
    /// their target, not followed.
    pub fn hashes(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        hash_dir(self.root(), self.root(), &mut out);
        out
    }

    /// Asserts that no file was added, removed or changed since `before`
    /// was taken with [`Tree::hashes`].
    #[track_caller]
    pub fn assert_unchanged(&self, before: &BTreeMap<String, String>) {
        let changed = changed_paths(before, &self.hashes());
        assert!(
            changed.is_empty(),
            "the tree changed: {}",
            changed.join(", ")
        );
    }

    /// The paths that differ between two [`Tree::hashes`] snapshots.
    pub fn changed_since(&self, before: &BTreeMap<String, String>) -> Vec<String> {
        changed_paths(before, &self.hashes())
    }

    /// A run of the binary in this tree: `vendor -C <root> ARGS`, started
    /// in the tree's root.
    pub fn vendor<I, S>(&self, args: I) -> Run<'_>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run {
            tree: self,
            args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
            env: Vec::new(),
            cwd: None,
            dir_flag: true,
        }
    }

    /// Runs `vendor -C <root> ARGS` and returns what it did.
    pub fn run(&self, args: &[&str]) -> Output {
        self.vendor(args).output()
    }

    /// Replaces this tree's and its cache's paths in `text` with `[TREE]`
    /// and `[CACHE]`, so output can be compared and snapshotted.
    pub fn normalize(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (dir, name) in [(self.root(), "[TREE]"), (self.cache(), "[CACHE]")] {
            let mut spellings = vec![dir.to_string_lossy().into_owned()];
            if let Ok(canonical) = dir.canonicalize() {
                spellings.push(canonical.to_string_lossy().into_owned());
            }
            // The longest first, so a canonical path that extends the
            // given one is replaced whole.
            spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
            for s in spellings {
                out = out.replace(&s, name);
            }
        }
        out
    }
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

/// What identifies one version of a file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileId {
    #[cfg(unix)]
    inode: u64,
    modified: Option<std::time::SystemTime>,
}

/// A pending run of the binary; `output()` runs it.
pub struct Run<'t> {
    tree: &'t Tree,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
    dir_flag: bool,
}

impl Run<'_> {
    /// Sets an environment variable for this run.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable for this run.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Starts the process in `dir` instead of the tree's root.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Leaves out `-C <root>`: the binary finds the tree from its working
    /// directory alone, as a user running it in the tree would.
    pub fn without_dir_flag(mut self) -> Self {
        self.dir_flag = false;
        self
    }

    /// The configured process, for callers that spawn it themselves (e.g.
    /// several at once).
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("vendor"));
        cmd.current_dir(self.cwd.as_deref().unwrap_or(self.tree.root()));
        for key in [
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "VENDOR_OFFLINE",
            "VENDOR_MIRRORS",
            "VENDOR_CACHE_REMOTE",
            "VENDOR_CACHE_REMOTE_TOKEN",
            "DOCKER_CONFIG",
            "CLICOLOR",
            "CLICOLOR_FORCE",
            "RUST_BACKTRACE",
            "RUST_LIB_BACKTRACE",
            "RUST_LOG",
        ] {
            cmd.env_remove(key);
        }
        cmd.env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env("VENDOR_CACHE_DIR", self.tree.cache())
            .env("GITHUB_API_URL", NOWHERE)
            // The example's APT snapshot mirror, played by its committed
            // archive on loopback.
            .env(
                "VENDOR_MIRRORS",
                format!(
                    "{}={}/",
                    super::EXAMPLE_MIRROR,
                    super::example_archive_url()
                ),
            );
        for (key, value) in &self.env {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        if self.dir_flag {
            cmd.arg("-C").arg(self.tree.root());
        }
        cmd.args(&self.args);
        cmd
    }

    /// Runs to completion and collects the exit code and output.
    pub fn output(self) -> Output {
        let std = self.command();
        let args: Vec<OsString> = std
            .get_args()
            .map(|a| self.tree.normalize(&a.to_string_lossy()).into())
            .collect();
        let mut cmd = assert_cmd::Command::from_std(std);
        cmd.timeout(RUN_TIMEOUT);
        let out = cmd.output().expect("run the vendor binary");
        Output::from_process(&args, &out)
    }
}

/// How a run ended: its exit code and what it printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for failure messages.
    pub command: String,
    /// The exit code (`-1` when killed by a signal or the timeout).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn from_process(args: &[OsString], out: &std::process::Output) -> Output {
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
        Output {
            command: format!("vendor {}", args.join(" ")),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert!(
            self.code == expected,
            "`{}` exited {}, expected {expected}\n{}",
            self.command,
            self.code,
            self.streams()
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout of `{}` lacks {needle:?}\n{}",
            self.command,
            self.streams()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr of `{}` lacks {needle:?}\n{}",
            self.command,
            self.streams()
        );
        self
    }

    /// Like [`Output::stderr_has`], ignoring how the diagnostic renderer
    /// wrapped the text: whitespace and miette's `│` gutter are left out
    /// on both sides (it breaks long paths after a `/`).
    #[track_caller]
    pub fn stderr_mentions(&self, needle: &str) -> &Self {
        let squeeze = |s: &str| -> String {
            s.chars()
                .filter(|c| !c.is_whitespace() && *c != '│')
                .collect()
        };
        assert!(
            squeeze(&self.stderr).contains(&squeeze(needle)),
            "stderr of `{}` lacks {needle:?} (even unwrapped)\n{}",
            self.command,
            self.streams()
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout of `{}` has {needle:?}\n{}",
            self.command,
            self.streams()
        );
        self
    }

    /// Both streams, labelled, for failure messages.
    pub fn streams(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
        s
    }
}

fn copy_recursively(from: &Path, to: &Path) {
    let meta = std::fs::symlink_metadata(from)
        .unwrap_or_else(|e| panic!("cannot stat {}: {e}", from.display()));
    if meta.is_dir() {
        std::fs::create_dir_all(to)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", to.display()));
        let entries = std::fs::read_dir(from)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", from.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", from.display()));
            copy_recursively(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::copy(from, to)
            .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
    }
}

fn hash_dir(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        let path = entry.path();
        let rel: Vec<String> = path
            .strip_prefix(root)
            .expect("a path under the root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if rel == [WORK_DIR] {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path)
            .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()));
        if meta.is_dir() {
            hash_dir(root, &path, out);
            continue;
        }
        let digest = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path)
                .unwrap_or_else(|e| panic!("cannot read link {}: {e}", path.display()));
            format!("symlink:{}", target.display())
        } else {
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            hex(&Sha256::digest(&bytes))
        };
        out.insert(rel.join("/"), digest);
    }
}

fn changed_paths(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut changed = Vec::new();
    for (path, hash) in before {
        match after.get(path) {
            None => changed.push(format!("{path} (removed)")),
            Some(h) if h != hash => changed.push(format!("{path} (modified)")),
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        changed.push(format!("{path} (added)"));
    }
    changed
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
