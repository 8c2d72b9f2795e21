//! The `vendor` binary: parse arguments, run, map the outcome to an exit
//! code. Everything else lives in the library.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use vendor::cli::Cli;
use vendor::cmd::{self, Exit, Io, UsageError, use_color};
use vendor::report::Paint;

fn main() -> ExitCode {
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
    let out_color = use_color(cli.color, std::io::stdout().is_terminal());
    let err_color = use_color(cli.color, std::io::stderr().is_terminal());
    install_report_handler(err_color);

    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    let mut io = Io {
        out: &mut stdout,
        err: &mut stderr,
        paint: Paint { enabled: out_color },
        paint_err: Paint { enabled: err_color },
        progress: std::io::stderr().is_terminal(),
    };
    match cmd::run(&cli, &mut io) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(report) => {
            let usage = report.downcast_ref::<UsageError>().is_some();
            #[allow(clippy::print_stderr)]
            {
                eprintln!("{report:?}");
            }
            ExitCode::from(if usage { Exit::Usage as u8 } else { 1 })
        }
    }
}

/// miette renders diagnostics with or without colours, never with a
/// backtrace or terminal links, so output stays stable in logs.
fn install_report_handler(color: bool) {
    let _ = miette::set_hook(Box::new(move |_| {
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        Box::new(
            miette::MietteHandlerOpts::new()
                .graphical_theme(theme)
                .terminal_links(false)
                .width(100)
                .build(),
        )
    }));
}
