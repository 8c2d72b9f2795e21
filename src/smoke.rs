//! Smoke checks: what the playbook does by hand after every bump, done on
//! the files themselves. Each executable of an item is inspected (format,
//! architecture, static or dynamic) and each `smoke.run` command is run
//! against it, its output matched against the expectation.
//!
//! A binary for the host's platform runs natively; a binary for another
//! architecture runs through `qemu-<arch>` when one is on `PATH`, and is
//! otherwise reported as skipped, with the reason, never as passed.
//! Scripts (`#!`) run natively whatever platform they were installed for.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::inspect::{self, Binary};
use crate::lock::LockedItem;
use crate::manifest::model::{Item, SmokeRun};
use crate::plan::item_vars;
use crate::template::Vars;

/// Version of the JSON shape of smoke records.
pub const FORMAT_VERSION: u32 = 1;

/// Where smoke records live, relative to the manifest's directory.
pub const RECORD_DIR: &str = ".vendor/smoke";

/// How long one smoke command may run before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Output kept per stream of a smoke command.
const OUTPUT_LIMIT: usize = 64 << 10;

/// Output lines quoted in a record.
const QUOTED_LINES: usize = 12;

/// An executable file to check.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where it is installed, relative to the manifest (shown in reports).
    pub file: String,
    /// Where its bytes are now: the installed file, or a staged copy.
    pub path: PathBuf,
    /// The platform it was installed for; `None` for platform-independent
    /// items.
    pub platform: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// One check of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `inspect` or `run`.
    pub check: String,
    pub status: Status,
    /// What was found, or why it failed or was skipped.
    pub detail: String,
    /// The command, as run (with the installed path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `native` or the emulator (`qemu-aarch64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// The first lines of the command's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// The smoke checks of one item at one version: what `vendor smoke`
/// prints and saves, and what `vendor diff --format commit` quotes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub format_version: u32,
    pub item: String,
    pub version: String,
    /// The platform the checks ran on.
    pub host: String,
    pub passed: bool,
    pub checks: Vec<Check>,
}

impl Record {
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }
}

/// The executables of a locked item as installed under `root`.
pub fn installed_targets(root: &Path, entry: &LockedItem) -> Vec<Target> {
    entry
        .files
        .iter()
        .filter(|f| f.is_executable())
        .map(|f| Target {
            file: f.path.clone(),
            path: root.join(&f.path),
            platform: platform_of(entry, &f.from),
        })
        .collect()
}

/// The platform of the artifact an installed file came from (`from` is
/// `asset` or `asset!member`).
pub fn platform_of(entry: &LockedItem, from: &str) -> Option<String> {
    let asset = from.split_once('!').map_or(from, |(a, _)| a);
    entry
        .artifacts
        .iter()
        .find(|a| a.name == asset)
        .and_then(|a| a.platform.clone())
}

/// Runs `item`'s smoke checks at `version` against `targets`.
pub fn run_item(id: &str, item: &Item, version: &str, targets: &[Target]) -> Record {
    let host = inspect::host_platform();
    let mut checks = Vec::new();
    if let Some(smoke) = &item.smoke {
        if targets.is_empty() && (smoke.inspect.is_some() || !smoke.run.is_empty()) {
            checks.push(Check {
                file: "-".into(),
                platform: None,
                check: "inspect".into(),
                status: Status::Failed,
                detail: "no executable file is installed for this item (is it applied?)".into(),
                command: None,
                runner: None,
                output: None,
            });
        }
        for t in targets {
            if !t.path.exists() {
                checks.push(check(
                    t,
                    "inspect",
                    Status::Failed,
                    "not installed (run `vendor apply`)".into(),
                ));
                continue;
            }
            let binary = inspect::inspect(&t.path);
            if let Some(want) = &smoke.inspect {
                checks.push(inspect_check(t, &binary, want));
            }
            for run in &smoke.run {
                checks.push(run_check(id, item, version, t, &binary, &host, run));
            }
        }
    }
    Record {
        format_version: FORMAT_VERSION,
        item: id.to_owned(),
        version: version.to_owned(),
        passed: !checks.iter().any(|c| c.status == Status::Failed),
        host,
        checks,
    }
}

fn check(t: &Target, kind: &str, status: Status, detail: String) -> Check {
    Check {
        file: t.file.clone(),
        platform: t.platform.clone(),
        check: kind.to_owned(),
        status,
        detail,
        command: None,
        runner: None,
        output: None,
    }
}

fn inspect_check(
    t: &Target,
    binary: &Result<Binary, inspect::InspectError>,
    want: &crate::manifest::model::Inspect,
) -> Check {
    match binary {
        Err(e) => check(t, "inspect", Status::Failed, e.to_string()),
        Ok(b) => {
            let problems = inspect::problems(b, want, t.platform.as_deref());
            if problems.is_empty() {
                check(t, "inspect", Status::Passed, b.describe())
            } else {
                check(
                    t,
                    "inspect",
                    Status::Failed,
                    format!("{}: {}", b.describe(), problems.join("; ")),
                )
            }
        }
    }
}

/// How a file can be run here: natively, through an emulator, or not.
enum Runner {
    Native,
    Emulator(PathBuf, &'static str),
    Skip(String),
}

fn runner(binary: &Result<Binary, inspect::InspectError>, host: &str) -> Runner {
    // Not a binary (a script, say): the host runs it, or the run fails
    // and says why.
    let Ok(b) = binary else {
        return Runner::Native;
    };
    let (host_os, host_arch) = host.split_once('/').unwrap_or((host, ""));
    if let Some(os) = &b.os
        && os != host_os
    {
        return Runner::Skip(format!("a {os} binary cannot run on this {host_os} host"));
    }
    if b.arch == host_arch {
        return Runner::Native;
    }
    let Some(qemu) = inspect::qemu_for(&b.arch) else {
        return Runner::Skip(format!(
            "{} binary on a {host} host, and no emulator is known for {}",
            b.arch, b.arch
        ));
    };
    match find_on_path(qemu) {
        Some(path) => Runner::Emulator(path, qemu),
        None => Runner::Skip(format!(
            "{} binary on a {host} host, and `{qemu}` is not on PATH (Debian package qemu-user)",
            b.arch
        )),
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The template variables of a smoke command for `t`.
fn vars<'a>(id: &'a str, item: &Item, t: &Target, host: &str) -> Vars<'a> {
    let mut vars = item_vars(id, item);
    let platform = t.platform.as_deref().unwrap_or(host);
    let (os, arch) = platform.split_once('/').unwrap_or((platform, ""));
    vars.set("os", os);
    vars.set("arch", arch);
    vars.set("path", t.path.to_string_lossy().into_owned());
    vars
}

fn run_check(
    id: &str,
    item: &Item,
    version: &str,
    t: &Target,
    binary: &Result<Binary, inspect::InspectError>,
    host: &str,
    run: &SmokeRun,
) -> Check {
    let mut vars = vars(id, item, t, host);
    vars.set("version", version);
    let args: Result<Vec<String>, String> = run.args.iter().map(|a| vars.expand(a)).collect();
    let shown = |args: &[String]| {
        let real = t.path.to_string_lossy();
        args.iter()
            .map(|a| a.replace(real.as_ref(), &t.file))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut c = check(t, "run", Status::Failed, String::new());
    let args = match args {
        Ok(args) if !args.is_empty() => args,
        Ok(_) => {
            c.detail = "the command is empty".into();
            return c;
        }
        Err(name) => {
            c.detail = format!("unknown placeholder `{{{name}}}` in the command");
            return c;
        }
    };
    c.command = Some(shown(&args));
    let expect = match run.expect.as_deref().map(|e| expectation(&vars, e)) {
        None => None,
        Some(Ok(re)) => Some(re),
        Some(Err(e)) => {
            c.detail = e;
            return c;
        }
    };
    let mut command = match runner(binary, host) {
        Runner::Skip(why) => {
            c.status = Status::Skipped;
            c.detail = why;
            return c;
        }
        Runner::Native => {
            c.runner = Some("native".into());
            let mut cmd = Command::new(&args[0]);
            cmd.args(&args[1..]);
            cmd
        }
        Runner::Emulator(path, name) => {
            if Path::new(&args[0]) != t.path {
                c.status = Status::Skipped;
                c.detail =
                    format!("needs {name}, which runs only commands that start with {{path}}");
                return c;
            }
            c.runner = Some(name.to_owned());
            let mut cmd = Command::new(path);
            cmd.args(&args);
            cmd
        }
    };
    let outcome = match execute(&mut command, TIMEOUT) {
        Ok(outcome) => outcome,
        Err(e) => {
            c.detail = format!("cannot run {}: {e}", args[0]);
            return c;
        }
    };
    let text = outcome
        .text()
        .replace(t.path.to_string_lossy().as_ref(), &t.file);
    c.output = Some(quote(&text));
    c.detail = match (outcome.status, &expect) {
        (None, _) => format!(
            "did not finish within {} s and was killed",
            TIMEOUT.as_secs()
        ),
        (Some(code), _) if code != 0 => format!("exited with status {code}"),
        (Some(_), Some(re)) if !re.is_match(&text) => {
            format!("the output does not match `{}`", re.as_str())
        }
        (Some(_), Some(re)) => {
            c.status = Status::Passed;
            format!("exit 0, output matches `{}`", re.as_str())
        }
        (Some(_), None) => {
            c.status = Status::Passed;
            "exit 0".to_owned()
        }
    };
    c
}

/// The expectation with its placeholders filled in as literal text.
fn expectation(vars: &Vars<'_>, template: &str) -> Result<regex::Regex, String> {
    let mut escaped = Vars::new();
    for name in crate::template::allowed::SMOKE {
        if let Some(v) = vars.get(name) {
            escaped.set(name, regex::escape(v));
        }
    }
    let pattern = escaped
        .expand(template)
        .map_err(|name| format!("unknown placeholder `{{{name}}}` in the expectation"))?;
    regex::RegexBuilder::new(&pattern)
        .multi_line(true)
        .build()
        .map_err(|e| format!("invalid expectation `{pattern}`: {e}"))
}

/// The first lines of `text`, trimmed.
fn quote(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let mut out = lines[..lines.len().min(QUOTED_LINES)].join("\n");
    if lines.len() > QUOTED_LINES {
        out.push_str(&format!("\n… ({} more lines)", lines.len() - QUOTED_LINES));
    }
    out
}

struct Outcome {
    /// Exit code; `None` when killed (timeout or signal).
    status: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Outcome {
    /// Standard output, then standard error.
    fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.stdout).into_owned();
        if !self.stderr.is_empty() {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&String::from_utf8_lossy(&self.stderr));
        }
        text
    }
}

/// Runs `command` with no input, collecting at most [`OUTPUT_LIMIT`] bytes
/// of each output stream, and kills it after `timeout`.
fn execute(command: &mut Command, timeout: Duration) -> std::io::Result<Outcome> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(command, 0);
    let mut child = command.spawn()?;
    // Ctrl-C or SIGTERM kills the command's whole group at once.
    let _group = crate::interrupt::kill_on_signal(i32::try_from(child.id()).unwrap_or(0));
    let collect = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            // Keep the head; drain the rest so the command never blocks
            // on a full pipe.
            let mut kept = Vec::new();
            if let Some(mut pipe) = pipe {
                let mut chunk = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                }
            }
            kept
        })
    };
    let out = collect(child.stdout.take().map(|p| Box::new(p) as _));
    let err = collect(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Whatever the command left running in the background would hold the
    // output pipes open: it goes too.
    kill_group(&mut child);
    Ok(Outcome {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Kills the command and every process it started (its process group).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let group = rustix::process::Pid::from_child(child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
}

/// Saves `record` as `<root>/.vendor/smoke/<item>.json`.
pub fn save(root: &Path, record: &Record) -> std::io::Result<PathBuf> {
    let dir = root.join(RECORD_DIR);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.json", record.item));
    let mut text = serde_json::to_string_pretty(record).map_err(std::io::Error::other)?;
    text.push('\n');
    crate::fsx::write_atomic(&path, text.as_bytes(), None)?;
    Ok(path)
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[test]
    fn collects_both_streams_and_the_status() {
        let out = execute(&mut sh("echo out; echo err >&2; exit 3"), TIMEOUT).unwrap();
        assert_eq!(out.status, Some(3));
        assert_eq!(out.text(), "out\nerr\n");
    }

    #[test]
    fn a_command_past_its_time_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("marker");
        let script = format!("(sleep 1; touch '{}') & sleep 30", marker.display());
        let out = execute(&mut sh(&script), Duration::from_millis(200)).unwrap();
        assert_eq!(out.status, None);
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "the background child outlived the kill");
    }

    #[test]
    fn background_leftovers_are_killed_when_the_command_exits() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("marker");
        let script = format!("(sleep 1; touch '{}') & echo started", marker.display());
        let out = execute(&mut sh(&script), TIMEOUT).unwrap();
        assert_eq!((out.status, out.text().as_str()), (Some(0), "started\n"));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            !marker.exists(),
            "the background child outlived the command"
        );
    }

    #[test]
    fn long_output_is_cut_but_drained() {
        let out = execute(&mut sh("head -c 1000000 /dev/zero | tr '\\0' x"), TIMEOUT).unwrap();
        assert_eq!(out.status, Some(0));
        assert_eq!(out.stdout.len(), OUTPUT_LIMIT);
    }

    #[test]
    fn placeholders_in_expectations_match_literally() {
        let vars = Vars::new().with("version", "1.30.4+k3s1");
        let re = expectation(&vars, "^k3s version v{version} ").unwrap();
        assert!(re.is_match("k3s version v1.30.4+k3s1 (abc)"));
        assert!(!re.is_match("k3s version v1.30.4k3s1 (abc)"));
        assert!(expectation(&vars, "{nope}").is_err());
        assert!(expectation(&vars, "(").is_err());
    }

    #[test]
    fn quotes_the_first_lines() {
        let text: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let q = quote(&text);
        assert!(q.starts_with("line 1\n"));
        assert!(q.ends_with("… (8 more lines)"));
    }
}
