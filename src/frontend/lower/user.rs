//! `USER`: expanded; becomes the user of later RUN, COPY ownership defaults
//! and the image config.

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::ParseError;
use crate::frontend::instructions::{Command, User};

impl StageLowering<'_, '_> {
    pub(super) fn lower_user(
        &mut self,
        command: &Command,
        user: &User,
    ) -> Result<StepKind, ParseError> {
        let user = self.expand(command, &user.user)?;
        self.state.user = Some(user.clone());
        self.state.config.user = Some(user.clone());
        Ok(StepKind::User(user))
    }
}
