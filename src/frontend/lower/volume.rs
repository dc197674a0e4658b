//! `VOLUME`: each path expanded and recorded in the image config.

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::ParseError;
use crate::frontend::instructions::{Command, Volume};

impl StageLowering<'_, '_> {
    pub(super) fn lower_volume(
        &mut self,
        command: &Command,
        volume: &Volume,
    ) -> Result<StepKind, ParseError> {
        let mut paths = Vec::new();
        for path in &volume.paths {
            let path = self.expand(command, path)?;
            if path.is_empty() {
                return Err(self
                    .located(command)
                    .error("VOLUME specified can not be an empty string"));
            }
            self.state.config.volumes.insert(path.clone());
            paths.push(path);
        }
        Ok(StepKind::Volume(paths))
    }
}
