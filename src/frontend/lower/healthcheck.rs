//! `HEALTHCHECK`: recorded in the image config as written (not expanded);
//! a second one in the stage is reported by `MultipleInstructionsDisallowed`.

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::instructions::{Command, Healthcheck};

impl StageLowering<'_, '_> {
    pub(super) fn lower_healthcheck(&mut self, command: &Command, check: &Healthcheck) -> StepKind {
        self.mark_used_once(command, self.last_healthcheck);
        self.last_healthcheck = Some(command.span);
        self.state.config.healthcheck = Some(check.clone());
        StepKind::Healthcheck(check.clone())
    }
}
