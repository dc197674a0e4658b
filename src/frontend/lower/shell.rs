//! `SHELL`: the shell later shell-form RUN, CMD and ENTRYPOINT run through.
//! Not expanded.

use super::dispatch::StageLowering;
use super::plan::StepKind;

impl StageLowering<'_, '_> {
    pub(super) fn lower_shell(&mut self, shell: &[String]) -> StepKind {
        self.state.shell = Some(shell.to_vec());
        self.state.config.shell = Some(shell.to_vec());
        StepKind::Shell(shell.to_vec())
    }
}
