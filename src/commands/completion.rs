//! `xb completion bash|zsh|fish`: a completion script on stdout.

use std::io::Write as _;

use clap::CommandFactory as _;

use crate::cli::Cli;

use super::ExitStatus;

pub(super) fn completion(shell: clap_complete::Shell) -> anyhow::Result<ExitStatus> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "xb", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitStatus::Success)
}
