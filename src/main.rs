//! `xb`: command-line arguments → commands → exit code.
//!
//! Exit codes: 0 success, 1 the build (or check) failed, 2 usage error. A
//! broken pipe on stdout exits 0, as ripgrep does.
#![forbid(unsafe_code)]

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

use xb::cli::Cli;
use xb::commands::{self, ExitStatus};
use xb::frontend::ParseError;
use xb::hint::{Hint, Hinted};

fn main() -> ExitCode {
    // A re-run of xb as the runtime's helper (the sandbox of one RUN, or the
    // build's user namespace) starts here, before any thread exists.
    xb_runtime::on_start();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitStatus::Usage.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    commands::init_logging();
    match commands::run(cli) {
        Ok(status) => status.into(),
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitStatus::Success.into();
            }
            report(&error);
            ExitStatus::Failure.into()
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `error: …` with the cause chain, the Dockerfile excerpt for a
/// located error, and `hint: …` where one is known.
fn report(error: &anyhow::Error) {
    let mut stderr = io::stderr().lock();
    let parse_error = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ParseError>());
    let _ = match parse_error {
        // A located error prints its own excerpt; the outer context comes first.
        Some(parse) => {
            let mut prefix = String::new();
            for cause in error
                .chain()
                .take_while(|cause| cause.downcast_ref::<ParseError>().is_none())
            {
                prefix.push_str(&cause.to_string());
                prefix.push_str(": ");
            }
            writeln!(stderr, "error: {prefix}{}", parse.render())
        }
        None => writeln!(stderr, "error: {error:#}"),
    };
    let hint = error.chain().find_map(|cause| {
        cause
            .downcast_ref::<Hinted>()
            .and_then(Hint::hint)
            .or_else(|| cause.downcast_ref::<ParseError>().and_then(Hint::hint))
    });
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "\nhint: {hint}");
    }
}
