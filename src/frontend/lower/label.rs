//! `LABEL`: keys and values expanded, recorded in the image config.
//! Reports `LegacyKeyValueFormat`.

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::ParseError;
use crate::frontend::instructions::{Command, KeyValue};

impl StageLowering<'_, '_> {
    pub(super) fn lower_label(
        &mut self,
        command: &Command,
        pairs: &[KeyValue],
    ) -> Result<StepKind, ParseError> {
        let expanded = self.expand_pairs(command, pairs)?;
        for (key, value) in &expanded {
            self.state.config.labels.insert(key.clone(), value.clone());
        }
        Ok(StepKind::Label(expanded))
    }
}
