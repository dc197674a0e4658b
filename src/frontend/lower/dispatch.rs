//! Lowering one stage: the state it starts from (its base stage's final state,
//! or a base image's config), then each instruction in turn through the file
//! named after it (`run.rs`, `copy.rs`, ...), with the expansion helpers they
//! share. Stages are lowered in Dockerfile order, so a base stage is always
//! done before the stages built on it.

use std::collections::BTreeSet;

use super::Session;
use super::outline::StageOutline;
use super::plan::{Base, ImageConfig, Stage, Step, StepKind};
use super::scope::Scope;
use super::stage::StageHead;
use super::{BaseConfig, args};
use crate::frontend::instructions::{Command, Dockerfile, Instruction, Located, suggest};
use crate::frontend::lint::rules;
use crate::frontend::shell::Lexer;
use crate::frontend::{ParseError, Span};
use crate::graph::Platform;

/// `PATH` as BuildKit sets it when an image has none.
pub(super) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where a stage is after some of its instructions.
#[derive(Debug, Clone)]
pub(super) struct StageState {
    /// Variables for expansion and for RUN's environment (image ENV, ARG, ENV).
    pub scope: Scope,
    /// ARGs declared in this stage or its base stages, with their values.
    pub build_args: Vec<(String, Option<String>)>,
    pub config: ImageConfig,
    /// The working directory in effect, absolute.
    pub workdir: String,
    /// A WORKDIR of this Dockerfile set it (base images' do not count).
    pub workdir_set: bool,
    pub user: Option<String>,
    /// The SHELL in effect (`None`: the platform's default).
    pub shell: Option<Vec<String>>,
    pub platform: Platform,
}

impl StageState {
    /// The default shell of the stage's platform, or SHELL's value.
    pub(super) fn shell_or_default(&self) -> Vec<String> {
        self.shell.clone().unwrap_or_else(|| {
            let words: &[&str] = if self.platform.os == "windows" {
                &["cmd", "/S", "/C"]
            } else {
                &["/bin/sh", "-c"]
            };
            words.iter().map(|word| (*word).to_owned()).collect()
        })
    }

    /// Starts from a base image's config (or from nothing).
    fn from_image(config: Option<BaseConfig>, known: bool, platform: Platform) -> Self {
        let config = config.unwrap_or_default();
        let mut state = StageState {
            scope: Scope::new(),
            build_args: Vec::new(),
            config: ImageConfig::default(),
            workdir: config
                .workdir
                .clone()
                .filter(|dir| !dir.is_empty())
                .unwrap_or_else(|| "/".to_owned()),
            workdir_set: false,
            user: config.user.clone().filter(|user| !user.is_empty()),
            shell: config.shell.clone().filter(|shell| !shell.is_empty()),
            platform,
        };
        for (name, value) in &config.env {
            state.scope.set(name, value);
        }
        if !state.scope.contains("PATH") && state.platform.os != "windows" {
            state.scope.set("PATH", DEFAULT_PATH);
            if known {
                state
                    .config
                    .env
                    .push(("PATH".to_owned(), DEFAULT_PATH.to_owned()));
            }
        }
        state
    }
}

/// The result of lowering the stages.
pub(super) struct LoweredStages {
    pub stages: Vec<Stage>,
    pub outlines: Vec<StageOutline>,
    /// ARG names each stage declared (for the unused build-arg report).
    pub declared_args: Vec<BTreeSet<String>>,
}

/// One stage being lowered.
pub(super) struct StageLowering<'s, 'a> {
    pub session: &'s mut Session<'a>,
    pub dockerfile: &'s Dockerfile,
    pub index: usize,
    pub state: StageState,
    pub outline: StageOutline,
    pub declared: BTreeSet<String>,
    /// Where this stage last set CMD, ENTRYPOINT and HEALTHCHECK.
    pub last_cmd: Option<Span>,
    pub last_entrypoint: Option<Span>,
    pub last_healthcheck: Option<Span>,
}

impl Session<'_> {
    pub(super) fn lower_stages(
        &mut self,
        dockerfile: &Dockerfile,
        heads: &[StageHead],
        global: &Scope,
        lowered: &BTreeSet<usize>,
    ) -> Result<LoweredStages, ParseError> {
        let mut result = LoweredStages {
            stages: Vec::new(),
            outlines: Vec::new(),
            declared_args: Vec::new(),
        };
        let mut finals: Vec<Option<StageState>> = Vec::new();
        for (index, (decl, head)) in dockerfile.stages.iter().zip(heads).enumerate() {
            let mut stage = Stage {
                index,
                name: decl.from.name.clone(),
                description: decl.description(),
                base: head.base.clone(),
                platform: head.platform.clone(),
                span: decl.command.span,
                steps: Vec::new(),
                config: ImageConfig::default(),
                lowered: false,
            };
            let mut outline = StageOutline {
                used: head.used_args.clone(),
                base: match head.base {
                    Base::Stage(parent) => Some(parent),
                    _ => None,
                },
                deps: head.deps.keys().copied().collect(),
                ..StageOutline::default()
            };
            if !lowered.contains(&index) {
                result.stages.push(stage);
                result.outlines.push(outline);
                result.declared_args.push(BTreeSet::new());
                finals.push(None);
                continue;
            }
            let platform = head.platform.clone();
            let state = match &head.base {
                Base::Stage(parent) => {
                    let mut state = finals
                        .get(*parent)
                        .cloned()
                        .flatten()
                        .expect("a base stage comes earlier and is lowered first");
                    state.config.onbuild.clear();
                    // As in BuildKit, a stage built on a stage runs on that
                    // stage's platform; its own --platform is not used.
                    stage.platform.clone_from(&result.stages[*parent].platform);
                    state
                }
                Base::Scratch => StageState::from_image(
                    None,
                    true,
                    platform.unwrap_or_else(|| self.target_platform.clone()),
                ),
                Base::Image(reference) => {
                    let platform = platform.unwrap_or_else(|| self.target_platform.clone());
                    let config = self.images.config(reference, &platform);
                    let known = config.is_some();
                    StageState::from_image(config, known, platform)
                }
            };
            let mut lowering = StageLowering {
                session: self,
                dockerfile,
                index,
                state,
                outline: std::mem::take(&mut outline),
                declared: BTreeSet::new(),
                last_cmd: None,
                last_entrypoint: None,
                last_healthcheck: None,
            };
            for (command, on_build) in &head.commands {
                let kind = lowering.lower_command(command, global)?;
                stage.steps.push(Step {
                    keyword: command.keyword,
                    span: command.span,
                    original: command.original.clone(),
                    on_build: *on_build,
                    kind,
                });
            }
            let StageLowering {
                state,
                outline,
                declared,
                ..
            } = lowering;
            stage.config = state.config.clone();
            stage.lowered = true;
            result.stages.push(stage);
            result.outlines.push(outline);
            result.declared_args.push(declared);
            finals.push(Some(state));
        }
        Ok(result)
    }
}

impl StageLowering<'_, '_> {
    fn lower_command(&mut self, command: &Command, global: &Scope) -> Result<StepKind, ParseError> {
        match &command.instruction {
            Instruction::Add(add) => self.lower_add(command, add),
            Instruction::Arg(arg) => self.lower_arg(command, arg, global),
            Instruction::Cmd(line) => Ok(self.lower_cmd(command, line)),
            Instruction::Copy(copy) => self.lower_copy(command, copy),
            Instruction::Entrypoint(line) => Ok(self.lower_entrypoint(command, line.as_ref())),
            Instruction::Env(pairs) => self.lower_env(command, pairs),
            Instruction::Expose(ports) => self.lower_expose(command, ports),
            Instruction::Healthcheck(check) => Ok(self.lower_healthcheck(command, check)),
            Instruction::Label(pairs) => self.lower_label(command, pairs),
            Instruction::Maintainer(name) => Ok(self.lower_maintainer(name)),
            Instruction::Onbuild(onbuild) => Ok(self.lower_onbuild(onbuild)),
            Instruction::Run(run) => self.lower_run(command, run),
            Instruction::Shell(shell) => Ok(self.lower_shell(shell)),
            Instruction::StopSignal(signal) => self.lower_stop_signal(command, signal),
            Instruction::User(user) => self.lower_user(command, user),
            Instruction::Volume(volume) => self.lower_volume(command, volume),
            Instruction::Workdir(workdir) => self.lower_workdir(command, workdir),
            Instruction::From(_) => Err(ParseError::new(
                self.session.source,
                command.span,
                "FROM inside a stage",
            )),
        }
    }

    /// Expands `word` in the stage's scope, reporting `UndefinedVar`.
    pub(super) fn expand(&mut self, command: &Command, word: &str) -> Result<String, ParseError> {
        let lexer = self.session.lexer;
        self.expand_with(lexer, command, word)
    }

    /// Expands a heredoc body: backslash escapes, quotes kept as written.
    pub(super) fn expand_raw(
        &mut self,
        command: &Command,
        body: &str,
    ) -> Result<String, ParseError> {
        let lexer = Lexer {
            skip_process_quotes: true,
            ..Lexer::new('\\')
        };
        self.expand_with(lexer, command, body)
    }

    fn expand_with(
        &mut self,
        lexer: Lexer,
        command: &Command,
        word: &str,
    ) -> Result<String, ParseError> {
        match lexer.expand_word(word, &self.state.scope) {
            Ok(expanded) => {
                self.report_unmatched(command, &expanded.unmatched);
                Ok(expanded.value)
            }
            Err(error) => Err(self.located(command).error_at(word, error.message)),
        }
    }

    /// `UndefinedVar` for names that are neither set nor declared by ARG.
    pub(super) fn report_unmatched(&mut self, command: &Command, unmatched: &BTreeSet<String>) {
        for name in unmatched {
            if self.state.build_args.iter().any(|(key, _)| key == name)
                || args::NON_ENV_ARGS.contains(&name.as_str())
            {
                continue;
            }
            let suggestion = suggest::closest(name, self.state.scope.names(), true);
            self.session.linter.report(
                &rules::UNDEFINED_VAR,
                command.span,
                rules::undefined_var(name, suggestion.as_deref()),
                &command.comments,
            );
        }
    }

    pub(super) fn located<'c>(&'c self, command: &'c Command) -> Located<'c> {
        Located::new(self.session.source, &command.node)
    }

    /// Expands an optional flag value.
    pub(super) fn expand_option(
        &mut self,
        command: &Command,
        value: Option<&String>,
    ) -> Result<Option<String>, ParseError> {
        value.map(|value| self.expand(command, value)).transpose()
    }
}
