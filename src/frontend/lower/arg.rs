//! `ARG` inside a stage. A `--build-arg` value wins; else the default,
//! expanded in the stage's scope; else, for a bare `ARG NAME`, the global
//! value of that name (a global ARG or a predefined platform arg). A name with
//! a value joins the stage's environment (RUN sees it) but never the image
//! config. Reports `SecretsUsedInArgOrEnv`.

use super::args::NON_ENV_ARGS;
use super::dispatch::StageLowering;
use super::outline::ArgInfo;
use super::plan::StepKind;
use super::scope::Scope;
use crate::frontend::ParseError;
use crate::frontend::instructions::{Arg, Command};
use crate::frontend::lint::{looks_secret, rules};

impl StageLowering<'_, '_> {
    pub(super) fn lower_arg(
        &mut self,
        command: &Command,
        arg: &Arg,
        global: &Scope,
    ) -> Result<StepKind, ParseError> {
        let mut declared = Vec::new();
        for def in &arg.args {
            let key = &def.key;
            if looks_secret(key) {
                self.session.linter.report(
                    &rules::SECRETS_USED_IN_ARG_OR_ENV,
                    command.span,
                    rules::secrets_used_in_arg_or_env("ARG", key),
                    &command.comments,
                );
            }
            let given = self.session.build_args.get(key).cloned();
            let mut inherited = false;
            let value = match (&given, &def.default) {
                (Some(value), _) => Some(value.clone()),
                (None, Some(default)) => Some(self.expand(command, default)?),
                (None, None) => {
                    let value = global.get(key).map(str::to_owned);
                    inherited = value.is_some();
                    value
                }
            };
            if let Some(value) = &value {
                if !NON_ENV_ARGS.contains(&key.as_str()) {
                    self.state.scope.set(key, value);
                }
            }
            if !inherited {
                self.outline.declared.retain(|info| info.name != *key);
                self.outline.declared.push(ArgInfo {
                    name: key.clone(),
                    value: value.clone().unwrap_or_default(),
                    description: def.description.clone(),
                    span: command.span,
                    deps: std::collections::BTreeSet::new(),
                });
            }
            self.outline.used.insert(key.clone());
            self.declared.insert(key.clone());
            let build_args = &mut self.state.build_args;
            match build_args.iter_mut().find(|(name, _)| name == key) {
                Some(entry) => entry.1.clone_from(&value),
                None => build_args.push((key.clone(), value.clone())),
            }
            declared.push((key.clone(), value));
        }
        Ok(StepKind::Arg(declared))
    }
}
