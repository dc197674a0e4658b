//! Dockerfile text → per-stage [`Plan`]. Owns stages (names, bases, the
//! target and what it needs), variable scoping exactly as BuildKit does it
//! (global ARGs, `--build-arg`, ARG/ENV in a stage, predefined platform and
//! proxy args) and expansion of the instructions that take it. Lints that need
//! this knowledge (`UndefinedVar`, `UndefinedArgInFrom`, ...) are found here and
//! returned in the plan. Running anything is the solver's job.
//!
//! ```no_run
//! use xb::frontend::Source;
//! use xb::frontend::lower::{LowerOptions, lower};
//! use xb::graph::Platform;
//!
//! let source = Source::new("Dockerfile", "FROM alpine\nRUN echo hi\n");
//! let options = LowerOptions {
//!     target: None,
//!     build_args: vec![],
//!     target_platform: Platform::host(),
//!     build_platform: Platform::host(),
//! };
//! let plan = lower(&source, &options)?;
//! assert_eq!(plan.target, 0);
//! # Ok::<(), xb::frontend::ParseError>(())
//! ```

mod add;
mod arg;
mod args;
mod cmd;
mod copy;
mod dispatch;
mod env;
mod expose;
mod healthcheck;
mod label;
pub mod location;
mod maintainer;
mod onbuild;
pub mod outline;
pub mod plan;
mod run;
pub mod scope;
mod shell;
mod stage;
mod stop_signal;
pub mod target;
mod user;
mod volume;
mod workdir;

use std::collections::{BTreeMap, BTreeSet};

pub use location::Location;
pub use outline::{Outline, outline};
pub use plan::{
    Base, Chmod, CopyStep, FileSource, ImageConfig, ImageReference, Plan, RunMount, RunStep,
    Setting, Stage, StageId, Step, StepKind,
};
pub use target::{Target, Targets, list_targets};

use crate::frontend::instructions::{Dockerfile, type_dockerfile};
use crate::frontend::lint::{LintConfig, Linter, rules};
use crate::frontend::parser;
use crate::frontend::shell::Lexer;
use crate::frontend::{ParseError, Source, Span};
use crate::graph::Platform;

/// What the command line asks of the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerOptions {
    /// `--target`; `None` builds the last stage.
    pub target: Option<String>,
    /// `--build-arg NAME=value`, in order (a later one wins).
    pub build_args: Vec<(String, String)>,
    /// `--platform` (the platform of the image being built).
    pub target_platform: Platform,
    /// The platform the build runs on.
    pub build_platform: Platform,
}

/// The parts of a base image's config that lowering needs: variables to
/// expand with, and where RUN starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BaseConfig {
    /// `Config.Env` as `(name, value)`.
    pub env: Vec<(String, String)>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub shell: Option<Vec<String>>,
    /// `Config.OnBuild`: triggers a stage built on the image runs first.
    pub onbuild: Vec<String>,
}

/// Looks up base images' configs (a solver that has pulled them can answer).
pub trait BaseImages {
    /// The config of `reference` for `platform`, if known.
    fn config(&self, reference: &ImageReference, platform: &Platform) -> Option<BaseConfig>;
}

/// Knows no image: every image base starts with an empty config and the
/// default `PATH`, as BuildKit gives an image that sets none.
pub struct NoBaseImages;

impl BaseImages for NoBaseImages {
    fn config(&self, _: &ImageReference, _: &Platform) -> Option<BaseConfig> {
        None
    }
}

/// Parses, types and lowers `source` for `options.target`.
pub fn lower(source: &Source, options: &LowerOptions) -> Result<Plan, ParseError> {
    lower_with(source, options, &NoBaseImages)
}

/// [`lower`] with base image configs from `images` (for expanding `$PATH`
/// and friends exactly as the base image sets them).
pub fn lower_with(
    source: &Source,
    options: &LowerOptions,
    images: &dyn BaseImages,
) -> Result<Plan, ParseError> {
    let mut linter = Linter::default();
    let plan = lower_into(source, options, images, Mode::Build, &mut linter)?;
    if let Some((message, span)) = linter.violation() {
        return Err(ParseError::new(source, span, message).with_hint(
            "the Dockerfile's `# check=...;error=true` directive turns lint warnings into errors",
        ));
    }
    Ok(plan)
}

/// Whether every stage is lowered (`--call=check`) or only what the target needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Build,
    Check,
}

/// What every step of lowering shares.
pub(crate) struct Session<'a> {
    pub source: &'a Source,
    pub lexer: Lexer,
    pub linter: &'a mut Linter,
    pub build_args: BTreeMap<String, String>,
    pub images: &'a dyn BaseImages,
    pub target_platform: Platform,
}

/// The lint configuration: `BUILDKIT_DOCKERFILE_CHECK` if given, else the
/// `# check=` directive.
fn lint_config(
    source: &Source,
    document: &parser::Document,
    build_args: &BTreeMap<String, String>,
) -> Result<LintConfig, ParseError> {
    let (value, span) = match (
        build_args.get("BUILDKIT_DOCKERFILE_CHECK"),
        &document.directives.check,
    ) {
        (Some(value), _) => (value.as_str(), Span::default()),
        (None, Some(directive)) => (directive.value.as_str(), directive.span),
        (None, None) => return Ok(LintConfig::default()),
    };
    LintConfig::parse(value).map_err(|error| {
        ParseError::new(
            source,
            span,
            format!("failed to parse check options: {error}"),
        )
        .with_hint("write # check=skip=<rule>[,<rule>...];error=true")
    })
}

/// Fails only when the lint configuration (`# check=` or
/// `BUILDKIT_DOCKERFILE_CHECK`) cannot be read; a Dockerfile that does not
/// parse is left for lowering to report.
pub(crate) fn check_lint_config(source: &Source, options: &LowerOptions) -> Result<(), ParseError> {
    let Ok(document) = parser::parse(source) else {
        return Ok(());
    };
    let build_args: BTreeMap<String, String> = options.build_args.iter().cloned().collect();
    lint_config(source, &document, &build_args).map(|_| ())
}

/// Everything [`lower`] does, leaving the warnings in `linter` whatever happens.
pub(crate) fn lower_into(
    source: &Source,
    options: &LowerOptions,
    images: &dyn BaseImages,
    mode: Mode,
    linter: &mut Linter,
) -> Result<Plan, ParseError> {
    let build_args: BTreeMap<String, String> = options.build_args.iter().cloned().collect();
    let document = parser::parse(source)?;
    *linter = Linter::new(lint_config(source, &document, &build_args)?);
    let mut reported = BTreeSet::new();
    for warning in &document.warnings {
        if warning.rule == rules::NO_EMPTY_CONTINUATION.name {
            // BuildKit warns once per instruction, on its last line.
            let line = warning.span.start.line;
            let span = document
                .nodes
                .iter()
                .find(|node| node.span.start.line <= line && line <= node.span.end.line)
                .filter(|node| node.heredocs.is_empty())
                .map_or(warning.span, |node| {
                    Span::lines(node.span.end.line, node.span.end.line)
                });
            if !reported.insert(span.start.line) {
                continue;
            }
            linter.report(
                &rules::NO_EMPTY_CONTINUATION,
                span,
                rules::no_empty_continuation(),
                &[],
            );
        }
    }
    let dockerfile = type_dockerfile(source, &document, linter)?;
    if dockerfile.stages.is_empty() {
        return Err(ParseError::new(
            source,
            Span::default(),
            "dockerfile contains no stages to build",
        )
        .with_hint("add a FROM line"));
    }
    lint_stage_names(&dockerfile, linter);
    lint_command_casing(&dockerfile, linter);
    let target = match &options.target {
        Some(name) => target::find_target(source, &dockerfile, name)?,
        None => dockerfile.stages.len() - 1,
    };
    // TARGETSTAGE is `--target` as typed, else the last stage's name.
    let target_name = options
        .target
        .clone()
        .or_else(|| dockerfile.stages[target].from.name.clone());
    let mut session = Session {
        source,
        lexer: Lexer::new(dockerfile.escape),
        linter,
        build_args,
        images,
        target_platform: options.target_platform.clone(),
    };
    let mut global = args::predefined_args(
        &options.build_platform,
        &options.target_platform,
        target_name.as_deref(),
        &session.build_args,
    );
    session.lint_default_bases(&dockerfile, &global);
    let global_infos = args::declare_global_args(
        source,
        session.lexer,
        &mut global,
        &dockerfile.meta_args,
        &session.build_args,
    )?;
    let heads = session.declare_stages(&dockerfile, &global, &global_infos)?;
    stage::check_cycles(&session, &dockerfile, &heads)?;
    let needed = stage::needed_stages(&heads, target);
    let lowered: BTreeSet<usize> = match mode {
        Mode::Build => needed.clone(),
        Mode::Check => (0..heads.len()).collect(),
    };
    let stages = session.lower_stages(&dockerfile, &heads, &global, &lowered)?;
    let mut declared: BTreeSet<String> = global_infos.keys().cloned().collect();
    for index in &lowered {
        declared.extend(stages.declared_args[*index].iter().cloned());
    }
    let unused_build_args = args::unused_build_args(&session.build_args, &declared);
    let proxy = args::proxy_args(&session.build_args);
    let skipped = (0..heads.len())
        .filter(|index| !needed.contains(index))
        .map(|index| StageId {
            index,
            name: dockerfile.stages[index].from.name.clone(),
        })
        .collect();
    let escape = dockerfile.escape;
    Ok(Plan {
        stages: stages.stages,
        target,
        needed: needed.into_iter().collect(),
        skipped,
        unused_build_args,
        global_args: global.entries().to_vec(),
        proxy,
        warnings: linter.clone().into_warnings(),
        escape,
        outline: outline::OutlineData {
            global: global_infos,
            stages: stages.outlines,
        },
    })
}

impl Session<'_> {
    /// `InvalidDefaultArgInFrom`: with defaults only (no build args), every
    /// FROM must still name a valid image.
    fn lint_default_bases(&mut self, dockerfile: &Dockerfile, predefined: &scope::Scope) {
        let mut scope = predefined.clone();
        let Ok(_) = args::declare_global_args(
            self.source,
            self.lexer,
            &mut scope,
            &dockerfile.meta_args,
            &BTreeMap::new(),
        ) else {
            return;
        };
        for stage in &dockerfile.stages {
            let Ok(expanded) = self.lexer.expand_word(&stage.from.base, &scope) else {
                return;
            };
            let earlier_stage = dockerfile
                .stages
                .iter()
                .any(|other| other.from.name.as_deref() == Some(expanded.value.as_str()));
            if expanded.value != "scratch"
                && !earlier_stage
                && ImageReference::parse(&expanded.value).is_err()
            {
                self.linter.report(
                    &rules::INVALID_DEFAULT_ARG_IN_FROM,
                    stage.command.span,
                    rules::invalid_default_arg_in_from(&stage.from.base),
                    &stage.command.comments,
                );
            }
        }
    }
}

/// `DuplicateStageName` and `ReservedStageName`.
fn lint_stage_names(dockerfile: &Dockerfile, linter: &mut Linter) {
    let mut seen = BTreeSet::new();
    for stage in &dockerfile.stages {
        let Some(name) = stage.from.name.as_deref() else {
            continue;
        };
        let (span, comments) = (stage.command.span, &stage.command.comments);
        if matches!(name, "scratch" | "context") {
            linter.report(
                &rules::RESERVED_STAGE_NAME,
                span,
                rules::reserved_stage_name(name),
                comments,
            );
        }
        if !seen.insert(name) {
            linter.report(
                &rules::DUPLICATE_STAGE_NAME,
                span,
                rules::duplicate_stage_name(name),
                comments,
            );
        }
    }
}

/// `ConsistentInstructionCasing`: every keyword all-lower or all-upper, and as
/// the majority writes them.
fn lint_command_casing(dockerfile: &Dockerfile, linter: &mut Linter) {
    let commands = || {
        dockerfile
            .stages
            .iter()
            .flat_map(|stage| std::iter::once(&stage.command).chain(&stage.commands))
    };
    let (mut lower, mut upper) = (0, 0);
    for command in commands() {
        let written = &command.written;
        if *written == written.to_lowercase() {
            lower += 1;
        } else if *written == written.to_uppercase() {
            upper += 1;
        }
    }
    let majority_lower = lower > upper;
    for command in commands() {
        let written = &command.written;
        let casing = if majority_lower && *written != written.to_lowercase() {
            "lowercase"
        } else if !majority_lower && *written != written.to_uppercase() {
            "uppercase"
        } else {
            continue;
        };
        linter.report(
            &rules::CONSISTENT_INSTRUCTION_CASING,
            command.span,
            rules::consistent_instruction_casing(written, casing),
            &command.comments,
        );
    }
}

#[cfg(test)]
mod tests;
