//! The `vendor` binary: parse arguments, run, map the outcome to an exit
//! code. Everything else lives in the library.
//!
//! It owns the terminal: command output and logs reach it through
//! [`Io`], diagnostics through [`render`]; both redact secrets and escape
//! control characters ([`vendor::secret`], [`vendor::term`]).

use std::fmt;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use miette::{Diagnostic, MietteHandler, ReportHandler};
use vendor::cli::Cli;
use vendor::cmd::{self, Exit, Io, UsageError, use_color};
use vendor::report::Paint;
use vendor::{secret, term};

fn main() -> ExitCode {
    secret::register_env();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                // clap exits 2 on usage errors; 2 means "changes" here.
                _ => Exit::Usage as u8,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    vendor::interrupt::install();
    let out_color = use_color(cli.color, std::io::stdout().is_terminal());
    let err_color = use_color(cli.color, std::io::stderr().is_terminal());
    install_report_handler(err_color);

    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    let mut io = Io::new(
        &mut stdout,
        &mut stderr,
        Paint { enabled: out_color },
        Paint { enabled: err_color },
        std::io::stderr().is_terminal(),
    );
    match cmd::run(&cli, &mut io) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(report) => {
            let usage = report.downcast_ref::<UsageError>().is_some();
            let interrupted = report
                .downcast_ref::<vendor::interrupt::Interrupted>()
                .map(|i| i.exit_code());
            let text = render(&report, err_color);
            #[allow(clippy::print_stderr)]
            {
                eprintln!("{text}");
            }
            ExitCode::from(match (usage, interrupted) {
                (true, _) => Exit::Usage as u8,
                (false, Some(code)) => code,
                (false, None) => 1,
            })
        }
    }
}

/// miette renders diagnostics with or without colours, never with a
/// backtrace or terminal links, so output stays stable in logs.
fn handler(color: bool) -> MietteHandler {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    miette::MietteHandlerOpts::new()
        .graphical_theme(theme)
        .terminal_links(false)
        .width(100)
        .build()
}

fn install_report_handler(color: bool) {
    let _ = miette::set_hook(Box::new(move |_| Box::new(handler(color))));
}

/// A diagnostic as one handler renders it.
struct Rendered<'a>(&'a MietteHandler, &'a dyn Diagnostic);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug(self.1, f)
    }
}

/// The text of a diagnostic for stderr, secrets redacted. Messages quote
/// names, tags and bodies from upstream and archives, so the report is
/// first rendered without colours: when that holds any control character
/// it is shown escaped, colourless. Otherwise every escape sequence of the
/// coloured rendering is miette's own (checked: without them it is the
/// plain rendering) and it is shown as is.
fn render(report: &miette::Report, color: bool) -> String {
    let diagnostic: &dyn Diagnostic = report.as_ref();
    let plain = Rendered(&handler(false), diagnostic).to_string();
    let plain = secret::redact(&plain).into_owned();
    if !color || term::has_controls(&plain) {
        return term::escape(&plain).into_owned();
    }
    let colored = Rendered(&handler(true), diagnostic).to_string();
    let colored = secret::redact(&colored).into_owned();
    if term::strip_sgr(&colored) == plain {
        colored
    } else {
        term::escape(&plain).into_owned()
    }
}
