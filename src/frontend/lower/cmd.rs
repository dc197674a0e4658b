//! `CMD` and `ENTRYPOINT`: shell form is wrapped in the shell in effect (and
//! reported by `JSONArgsRecommended` unless SHELL was set); a second one in the
//! same stage is reported by `MultipleInstructionsDisallowed` at the first. An
//! ENTRYPOINT clears an inherited CMD unless this stage set one.

use super::dispatch::StageLowering;
use super::plan::{Setting, StepKind};
use crate::frontend::Span;
use crate::frontend::instructions::{Command, CommandLine};
use crate::frontend::lint::rules;

impl StageLowering<'_, '_> {
    /// Reports `MultipleInstructionsDisallowed` at the previous use.
    pub(super) fn mark_used_once(&mut self, command: &Command, previous: Option<Span>) {
        if let Some(previous) = previous {
            self.session.linter.report(
                &rules::MULTIPLE_INSTRUCTIONS_DISALLOWED,
                previous,
                rules::multiple_instructions_disallowed(command.keyword.name()),
                &command.comments,
            );
        }
    }

    fn wrap_in_shell(&mut self, command: &Command, line: &CommandLine) -> Vec<String> {
        match line {
            CommandLine::Exec(args) => args.clone(),
            CommandLine::Shell(text) => {
                if self.state.shell.is_none() {
                    self.session.linter.report(
                        &rules::JSON_ARGS_RECOMMENDED,
                        command.span,
                        rules::json_args_recommended(command.keyword.name()),
                        &command.comments,
                    );
                }
                let mut args = self.state.shell_or_default();
                args.push(text.clone());
                args
            }
        }
    }

    pub(super) fn lower_cmd(&mut self, command: &Command, line: &CommandLine) -> StepKind {
        self.mark_used_once(command, self.last_cmd);
        self.last_cmd = Some(command.span);
        let args = self.wrap_in_shell(command, line);
        self.state.config.cmd = Setting::Set(args.clone());
        StepKind::Cmd(args)
    }

    pub(super) fn lower_entrypoint(
        &mut self,
        command: &Command,
        line: Option<&CommandLine>,
    ) -> StepKind {
        self.mark_used_once(command, self.last_entrypoint);
        self.last_entrypoint = Some(command.span);
        let args = line.map(|line| self.wrap_in_shell(command, line));
        self.state.config.entrypoint = match &args {
            Some(args) => Setting::Set(args.clone()),
            None => Setting::Cleared,
        };
        if self.last_cmd.is_none() {
            self.state.config.cmd = Setting::Cleared;
        }
        StepKind::Entrypoint(args)
    }
}
