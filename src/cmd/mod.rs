//! Subcommands: arguments → workspace → core → report. Each command
//! writes its result to the given streams and returns the exit status.

mod advisories;
mod apply;
mod bump;
mod check;
mod diff;
mod fetch;
mod list;
mod mirror;
mod outdated;
mod plan;
mod pr;
mod sbom;
mod smoke;
mod update;
mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};

use miette::{IntoDiagnostic, Result, WrapErr};

use std::collections::BTreeMap;

use crate::cli::{Cli, ColorChoice, Command, Format};
use crate::diag::{Problem, Problems, SourceFile};
use crate::lock::{self, Lock};
use crate::manifest::{Loaded, ValidateOptions, load_and_validate};
use crate::plan::PlanError;
use crate::report::Paint;

/// Process exit statuses (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, in sync, nothing to do.
    Ok = 0,
    /// Changes pending or drift found.
    Changes = 2,
    /// Usage error.
    Usage = 64,
}

/// Output streams and how to style them.
///
/// The streams are private: every byte for stdout and stderr goes through
/// [`Io::print`] or [`Io::note`], which redact secrets
/// ([`crate::secret::redact`]) and escape control characters
/// ([`crate::term::for_stream`], passing only `Paint`'s own colour codes
/// and only when that stream's colours are on).
pub struct Io<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    /// Styling for stdout.
    pub paint: Paint,
    /// Styling for stderr.
    pub paint_err: Paint,
    /// Show progress bars (stderr is a terminal and not `--quiet`).
    pub progress: bool,
}

impl<'a> Io<'a> {
    pub fn new(
        out: &'a mut dyn Write,
        err: &'a mut dyn Write,
        paint: Paint,
        paint_err: Paint,
        progress: bool,
    ) -> Io<'a> {
        Io {
            out,
            err,
            paint,
            paint_err,
            progress,
        }
    }

    /// Writes a command's result to stdout.
    pub fn print(&mut self, text: &str) -> Result<()> {
        let text = shown(text, self.paint);
        self.out
            .write_all(text.as_bytes())
            .into_diagnostic()
            .wrap_err("cannot write to standard output")
    }

    /// Writes a log line to stderr (ignored when stderr is gone).
    pub fn note(&mut self, text: &str) {
        let text = shown(text, self.paint_err);
        let _ = writeln!(self.err, "{text}");
    }
}

/// What a stream styled by `paint` may show of `text`: secrets redacted,
/// control characters escaped.
pub fn shown(text: &str, paint: Paint) -> String {
    let text = crate::secret::redact(text);
    crate::term::for_stream(&text, paint.enabled).into_owned()
}

/// Decides whether a stream gets colours.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Where the manifest, the lock and the tree are.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub manifest: PathBuf,
    pub lock: PathBuf,
    /// The manifest's directory: every path in it is relative to this.
    pub root: PathBuf,
}

impl Workspace {
    pub fn from_cli(cli: &Cli) -> Workspace {
        let manifest = match (&cli.dir, &cli.file) {
            (_, Some(f)) if f.is_absolute() => f.clone(),
            (Some(dir), Some(f)) => dir.join(f),
            (Some(dir), None) => dir.join("vendor.yaml"),
            (None, Some(f)) => f.clone(),
            (None, None) => PathBuf::from("vendor.yaml"),
        };
        let root = match manifest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Workspace {
            lock: root.join(lock::FILE_NAME),
            manifest,
            root,
        }
    }

    /// Reads the lock: `(lock, sha256 of its bytes)`; an absent lock is
    /// empty with no hash.
    pub fn read_lock(&self) -> Result<(Lock, Option<String>)> {
        match Lock::read(&self.lock) {
            Ok(Some((lock, text))) => Ok((lock, Some(crate::hash::sha256_hex(text.as_bytes())))),
            Ok(None) => Ok((Lock::default(), None)),
            Err(e) => Err(e.0.into()),
        }
    }

    /// A path the user gave on the command line, relative to `-C DIR`
    /// when relative ("run as if started in DIR").
    pub fn user_path(&self, cli: &Cli, path: &Path) -> PathBuf {
        match &cli.dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// The manifest's directory as written for annotations (`.` when the
    /// manifest is in the current directory).
    pub fn display_root(&self) -> String {
        let s = self.root.to_string_lossy();
        s.strip_prefix("./").unwrap_or(&s).to_owned()
    }
}

/// Loads the manifest and runs every validation; `check_files` also
/// requires the files pins and keys name to exist (planning reports those
/// itself, with the pin's context).
pub fn load_manifest(ws: &Workspace, check_files: bool) -> Result<Loaded> {
    let opts = ValidateOptions { check_files };
    Ok(load_and_validate(&ws.manifest, opts)?)
}

/// Turns planning errors into one report, each problem pointing into the
/// file it is about.
pub fn plan_errors(ws: &Workspace, errors: Vec<PlanError>) -> miette::Report {
    let mut sources: BTreeMap<String, Option<SourceFile>> = BTreeMap::new();
    let problems = errors
        .into_iter()
        .map(|e| {
            let mut p = Problem::new(e.code, e.message);
            if let Some(file) = &e.file {
                let source = sources.entry(file.clone()).or_insert_with(|| {
                    crate::pin::read_file(&ws.root.join(file))
                        .ok()
                        .map(|text| SourceFile::new(ws.root.join(file), text))
                });
                match (source, e.spans.split_first()) {
                    (Some(source), Some(((span, label), rest))) => {
                        p = p.at(source, span.clone()).label(label.clone());
                        for (span, label) in rest {
                            p = p.also(span.clone(), label.clone());
                        }
                    }
                    _ => p = p.in_file(&ws.root.join(file)),
                }
            }
            if let Some(help) = e.help {
                p = p.help(help);
            }
            p
        })
        .collect();
    match Problems::new("the plan", problems) {
        Some(problems) => problems.into(),
        None => miette::miette!("planning failed"),
    }
}

/// The tokio runtime for commands that use the network; built once.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .into_diagnostic()
        .wrap_err("cannot start the async runtime")
}

/// The HTTP client, or `None` when offline (`--offline`, `--frozen`,
/// `VENDOR_OFFLINE=1`).
pub fn client(cli: &Cli, io: &Io<'_>) -> Result<Option<crate::fetch::Client>> {
    if cli.offline() {
        return Ok(None);
    }
    let mut config = crate::fetch::Config::from_env(false, io.progress && !cli.quiet)?;
    config.http_cache = Some(crate::cache::Cache::from_env().dir().join("http"));
    config.refresh = cli.refresh;
    Ok(Some(crate::fetch::Client::new(config)?))
}

/// The download cache, with the remote cache behind it when the
/// environment or the manifest configures one ([`crate::registry`]).
pub fn cache(cli: &Cli, manifest: &crate::manifest::Manifest) -> Result<crate::cache::Cache> {
    let setting = manifest.cache.as_ref().and_then(|c| c.remote.as_deref());
    let remote = crate::registry::Remote::configured(setting, cli.offline())?;
    Ok(crate::cache::Cache::from_env().with_remote(remote))
}

/// Prints the remote cache's warnings (each once), and with `-v` what it
/// served and took.
pub fn remote_notes(cli: &Cli, io: &mut Io<'_>, cache: &crate::cache::Cache) {
    let Some(remote) = cache.remote() else {
        return;
    };
    for note in remote.notes() {
        io.note(&note);
    }
    if cli.verbose > 0 {
        let s = remote.stats();
        io.note(&format!(
            "remote cache {}: {} artifact{} downloaded from it, {} uploaded, {} already there, {} manifest{} written",
            remote.shown(),
            s.served,
            if s.served == 1 { "" } else { "s" },
            s.pushed,
            s.present,
            s.manifests,
            if s.manifests == 1 { "" } else { "s" },
        ));
    }
}

/// Refuses item ids the manifest does not have, suggesting the nearest.
pub fn known_items(manifest: &crate::manifest::Manifest, ids: &[String]) -> Result<()> {
    for id in ids {
        if !manifest.items.contains_key(id) {
            let known: Vec<&str> = manifest.items.keys().map(String::as_str).collect();
            let help = match crate::diag::suggest(id, known.iter().copied()) {
                Some(n) => format!("did you mean `{n}`? Items: {}", known.join(", ")),
                None => format!("items: {}", known.join(", ")),
            };
            return Err(miette::miette!(
                code = "vendor::item::unknown",
                help = help,
                "no item `{id}` in the manifest"
            ));
        }
    }
    Ok(())
}

/// Runs the parsed command line; with `-v`, ends with what was asked
/// upstream (requests, 304s, the rate limit left) and how signatures over
/// artifacts were checked, on stderr.
pub fn run(cli: &Cli, io: &mut Io<'_>) -> Result<Exit> {
    let result = run_command(cli, io);
    if cli.verbose > 0 {
        let summaries = [
            crate::fetch::traffic().summary(),
            crate::gate::signature_summary(),
        ];
        for summary in summaries.into_iter().flatten() {
            io.note(&summary);
        }
    }
    result
}

fn run_command(cli: &Cli, io: &mut Io<'_>) -> Result<Exit> {
    let ws = Workspace::from_cli(cli);
    match &cli.command {
        Command::Validate => validate::run(cli, &ws, io),
        Command::Schema => {
            io.print(&crate::manifest::schema::schema_text())?;
            Ok(Exit::Ok)
        }
        Command::List => list::run(cli, &ws, io),
        Command::Plan(args) => plan::run(cli, args, &ws, io),
        Command::Apply(args) => apply::run(cli, args, &ws, io),
        Command::Check(args) => check::run(cli, args, &ws, io),
        Command::Fetch(args) => fetch::run(cli, args, &ws, io),
        Command::Outdated(args) => outdated::run(cli, args, &ws, io),
        Command::Bump(args) => bump::run(cli, args, &ws, io),
        Command::Update(args) => update::run(cli, args, &ws, io),
        Command::Diff(args) => diff::run(cli, args, &ws, io),
        Command::Smoke(args) => smoke::run(cli, args, &ws, io),
        Command::Mirror(command) => mirror::run(cli, command, &ws, io),
        Command::Sbom(args) => sbom::run(cli, args, &ws, io),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "vendor", &mut buf);
            io.print(&String::from_utf8_lossy(&buf))?;
            Ok(Exit::Ok)
        }
    }
}

/// The format a command was asked for, refusing the ones it does not
/// support with a usage error.
pub fn format(cli: &Cli, supported: &[Format]) -> Result<Format, UsageError> {
    let format = cli.format.unwrap_or(Format::Human);
    if supported.contains(&format) {
        Ok(format)
    } else {
        let names: Vec<&str> = supported.iter().map(|f| format_name(*f)).collect();
        Err(UsageError(format!(
            "--format {} is not supported by this command (supported: {})",
            format_name(format),
            names.join(", ")
        )))
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Human => "human",
        Format::Json => "json",
        Format::Markdown => "markdown",
        Format::Github => "github",
        Format::Commit => "commit",
        Format::Cyclonedx => "cyclonedx",
        Format::Spdx => "spdx",
    }
}

/// A usage error found after argument parsing; exits 64.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{0}")]
#[diagnostic(code(vendor::usage))]
pub struct UsageError(pub String);

/// Relative display of a path under the workspace root.
pub fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
