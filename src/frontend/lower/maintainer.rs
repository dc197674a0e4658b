//! `MAINTAINER` (deprecated): sets the image author. Not expanded.

use super::dispatch::StageLowering;
use super::plan::StepKind;

impl StageLowering<'_, '_> {
    pub(super) fn lower_maintainer(&mut self, name: &str) -> StepKind {
        self.state.config.author = Some(name.to_owned());
        StepKind::Maintainer(name.to_owned())
    }
}
