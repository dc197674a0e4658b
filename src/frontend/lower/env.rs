//! `ENV`: every key and value is expanded first, against the scope as it was
//! before this instruction (so `ENV a=1 b=$a` sees the old `a`), then set in
//! the scope and the image config. Reports `LegacyKeyValueFormat` and
//! `SecretsUsedInArgOrEnv`.

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::ParseError;
use crate::frontend::instructions::{Command, KeyValue};
use crate::frontend::lint::{looks_secret, rules};

impl StageLowering<'_, '_> {
    /// Expands ENV or LABEL pairs, reporting the legacy `key value` form.
    pub(super) fn expand_pairs(
        &mut self,
        command: &Command,
        pairs: &[KeyValue],
    ) -> Result<Vec<(String, String)>, ParseError> {
        let mut expanded = Vec::new();
        for pair in pairs {
            if pair.legacy {
                self.session.linter.report(
                    &rules::LEGACY_KEY_VALUE_FORMAT,
                    command.span,
                    rules::legacy_key_value_format(command.keyword.name()),
                    &command.comments,
                );
            }
            let key = self.expand(command, &pair.key)?;
            let value = self.expand(command, &pair.value)?;
            expanded.push((key, value));
        }
        Ok(expanded)
    }

    pub(super) fn lower_env(
        &mut self,
        command: &Command,
        pairs: &[KeyValue],
    ) -> Result<StepKind, ParseError> {
        let expanded = self.expand_pairs(command, pairs)?;
        for (key, value) in &expanded {
            if looks_secret(key) {
                self.session.linter.report(
                    &rules::SECRETS_USED_IN_ARG_OR_ENV,
                    command.span,
                    rules::secrets_used_in_arg_or_env("ENV", key),
                    &command.comments,
                );
            }
            self.state.scope.set(key, value);
            let env = &mut self.state.config.env;
            match env.iter_mut().find(|(name, _)| name == key) {
                Some(entry) => entry.1.clone_from(value),
                None => env.push((key.clone(), value.clone())),
            }
        }
        Ok(StepKind::Env(expanded))
    }
}
