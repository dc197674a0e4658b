//! The commands `xb` runs. This is the only module that wires the others
//! together: it turns `cli` arguments into `settings`, reads `source`s, runs
//! the `frontend` and prints results. Nothing imports `commands`.

mod build;
mod call;
mod completion;
mod du;
mod export;
mod namespace;
mod prune;
mod table;
mod version;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// How `xb` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0.
    Success,
    /// 1: the build or check failed.
    Failure,
    /// 2: the command line was wrong.
    Usage,
    /// What `xb`, re-run inside the build's user namespace, exited with.
    Code(u8),
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Usage => ExitCode::from(2),
            ExitStatus::Code(code) => ExitCode::from(code),
        }
    }
}

/// Logs go to stderr through `tracing`; `XB_LOG` sets the filter (e.g. `debug`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("XB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let ansi = std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Runs one command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    if matches!(
        cli.command,
        Command::Build(_) | Command::Du(_) | Command::Prune(_) | Command::Unshare { .. }
    ) {
        if let namespace::Entered::Done(status) = namespace::enter() {
            return Ok(status);
        }
    }
    match cli.command {
        Command::Build(args) => build::build(&args),
        Command::Version => version::version(),
        Command::Completion { shell } => completion::completion(shell),
        Command::Du(args) => du::du(&args),
        Command::Prune(args) => prune::prune(&args),
        Command::Unshare { command } => namespace::unshare(&command),
    }
}
