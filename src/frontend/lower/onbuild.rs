//! `ONBUILD`: the trigger text is recorded in the image config unexpanded;
//! stages built `FROM` this one run it first (see `stage.rs`).

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::instructions::Onbuild;

impl StageLowering<'_, '_> {
    pub(super) fn lower_onbuild(&mut self, onbuild: &Onbuild) -> StepKind {
        self.state.config.onbuild.push(onbuild.expression.clone());
        StepKind::Onbuild(onbuild.expression.clone())
    }
}
