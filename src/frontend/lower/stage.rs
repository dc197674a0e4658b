//! Stages as a graph: each FROM's base and platform expanded in the global
//! scope, the base resolved to scratch, an earlier stage or an image, the
//! stages each one copies or mounts from, cycles refused, and the set of
//! stages the target needs.

use std::collections::{BTreeMap, BTreeSet};

use super::Session;
use super::outline::ArgInfo;
use super::plan::{Base, FileSource, ImageReference};
use super::scope::Scope;
use crate::frontend::instructions::{
    Command, Dockerfile, Instruction, Located, StageDecl, parse_mount, suggest, type_command,
};
use crate::frontend::lint::rules;
use crate::frontend::{ParseError, Span};
use crate::graph::Platform;

/// A stage's FROM line, resolved.
#[derive(Debug, Clone)]
pub(super) struct StageHead {
    pub base: Base,
    pub platform: Option<Platform>,
    /// Global args the FROM line expanded (for the outline).
    pub used_args: BTreeSet<String>,
    /// ONBUILD triggers of a base stage, then the stage's own instructions.
    pub commands: Vec<(Command, bool)>,
    /// Stages this one copies or mounts from, with the instruction that does.
    pub deps: BTreeMap<usize, Span>,
}

impl Session<'_> {
    /// Expands a FROM value (base or platform) in the global scope, reporting
    /// `UndefinedArgInFrom` for names neither declared nor predefined.
    fn expand_from_word(
        &mut self,
        stage: &StageDecl,
        word: &str,
        global: &Scope,
        declared: &BTreeMap<String, ArgInfo>,
    ) -> Result<(String, BTreeSet<String>, BTreeSet<String>), ParseError> {
        let located = Located::new(self.source, &stage.command.node);
        let expanded = self.lexer.expand_word(word, global);
        let known: BTreeSet<&str> = declared
            .keys()
            .map(String::as_str)
            .chain(global.names())
            .collect();
        if let Ok(expanded) = &expanded {
            for name in &expanded.unmatched {
                if known.contains(name.as_str()) {
                    continue;
                }
                let suggestion = suggest::closest(name, known.iter().copied(), true);
                self.linter.report(
                    &rules::UNDEFINED_ARG_IN_FROM,
                    stage.command.span,
                    rules::undefined_arg_in_from(name, suggestion.as_deref()),
                    &stage.command.comments,
                );
            }
        }
        let expanded = expanded.map_err(|error| located.error_at(word, error.message))?;
        Ok((expanded.value, expanded.matched, expanded.unmatched))
    }

    /// Resolves every FROM line in order.
    pub(super) fn declare_stages(
        &mut self,
        dockerfile: &Dockerfile,
        global: &Scope,
        declared: &BTreeMap<String, ArgInfo>,
    ) -> Result<Vec<StageHead>, ParseError> {
        let mut heads: Vec<StageHead> = Vec::new();
        for (index, stage) in dockerfile.stages.iter().enumerate() {
            let located = Located::new(self.source, &stage.command.node);
            let (base_name, mut used, _) =
                self.expand_from_word(stage, &stage.from.base, global, declared)?;
            if base_name.is_empty() {
                return Err(located.error_at(
                    &stage.from.base,
                    format!("base name ({}) should not be blank", stage.from.base),
                ));
            }
            let earlier = dockerfile.stages[..index]
                .iter()
                .rposition(|earlier| earlier.from.name.as_deref() == Some(base_name.as_str()));
            let base = match earlier {
                Some(parent) => Base::Stage(parent),
                None if base_name == "scratch" => Base::Scratch,
                None => Base::Image(ImageReference::parse(&base_name).map_err(|error| {
                    located.error_at(
                        &stage.from.base,
                        format!("failed to parse stage name {base_name:?}: {error}"),
                    )
                })?),
            };
            let platform = match &stage.from.platform {
                None => None,
                Some(written) => {
                    let (value, matched, unmatched) =
                        self.expand_from_word(stage, written, global, declared)?;
                    self.lint_platform(stage, written, &value, &matched, &unmatched, global);
                    used.extend(matched);
                    Some(parse_platform(
                        &located, written, &value, &unmatched, global,
                    )?)
                }
            };
            let mut commands = Vec::new();
            match &base {
                Base::Stage(parent) => {
                    for command in &dockerfile.stages[*parent].commands {
                        if let Instruction::Onbuild(onbuild) = &command.instruction {
                            let trigger = type_command(self.source, &onbuild.trigger, self.linter)?;
                            commands.push((trigger, true));
                        }
                    }
                }
                Base::Image(reference) => {
                    let platform = platform
                        .clone()
                        .unwrap_or_else(|| self.target_platform.clone());
                    let triggers = self
                        .images
                        .config(reference, &platform)
                        .map(|config| config.onbuild)
                        .unwrap_or_default();
                    for trigger in triggers {
                        commands.push((self.type_image_trigger(stage, &trigger)?, true));
                    }
                }
                Base::Scratch => {}
            }
            commands.extend(
                stage
                    .commands
                    .iter()
                    .cloned()
                    .map(|command| (command, false)),
            );
            let deps = self.stage_deps(dockerfile, index, &commands)?;
            heads.push(StageHead {
                base,
                platform,
                used_args: used,
                commands,
                deps,
            });
        }
        Ok(heads)
    }

    /// Types an ONBUILD trigger recorded in a base image's config. Errors in
    /// it point at the FROM line that pulled it in.
    fn type_image_trigger(
        &mut self,
        stage: &StageDecl,
        trigger: &str,
    ) -> Result<Command, ParseError> {
        let located = Located::new(self.source, &stage.command.node);
        let wrap = |message: String| {
            located
                .error_at(
                    &stage.from.base,
                    format!("ONBUILD trigger of the base image: {message}"),
                )
                .with_hint(format!("the trigger is: {trigger}"))
        };
        let trigger_source = crate::frontend::Source::new(self.source.name(), trigger);
        let document =
            crate::frontend::parser::parse(&trigger_source).map_err(|error| wrap(error.message))?;
        let [node] = document.nodes.as_slice() else {
            return Err(wrap(
                "onbuild trigger should be a single expression".to_owned(),
            ));
        };
        let mut node = node.clone();
        node.span = stage.command.span;
        node.comments.clear();
        let mut scratch = crate::frontend::lint::Linter::default();
        let command = type_command(&trigger_source, &node, &mut scratch)
            .map_err(|error| wrap(error.message))?;
        if matches!(
            command.instruction,
            Instruction::From(_) | Instruction::Maintainer(_) | Instruction::Onbuild(_)
        ) {
            return Err(wrap(format!(
                "{} isn't allowed as an ONBUILD trigger",
                command.keyword
            )));
        }
        Ok(command)
    }

    fn lint_platform(
        &mut self,
        stage: &StageDecl,
        written: &str,
        value: &str,
        matched: &BTreeSet<String>,
        unmatched: &BTreeSet<String>,
        global: &Scope,
    ) {
        let (span, comments) = (stage.command.span, &stage.command.comments);
        if matched.len() == 1
            && unmatched.is_empty()
            && matched.contains("TARGETPLATFORM")
            && global.get("TARGETPLATFORM") == Some(value)
        {
            self.linter.report(
                &rules::REDUNDANT_TARGET_PLATFORM,
                span,
                rules::redundant_target_platform(written),
                comments,
            );
        }
        if matched.is_empty() && unmatched.is_empty() {
            if let Ok(platform) = value.parse::<Platform>() {
                let name = stage.from.name.as_deref().unwrap_or_default();
                if !name.contains(&platform.os) && !name.contains(&platform.architecture) {
                    self.linter.report(
                        &rules::FROM_PLATFORM_FLAG_CONST_DISALLOWED,
                        span,
                        rules::from_platform_flag_const_disallowed(value),
                        comments,
                    );
                }
            }
        }
    }

    /// The stages `commands` copy or mount from.
    fn stage_deps(
        &mut self,
        dockerfile: &Dockerfile,
        index: usize,
        commands: &[(Command, bool)],
    ) -> Result<BTreeMap<usize, Span>, ParseError> {
        let mut deps = BTreeMap::new();
        for (command, _) in commands {
            let located = Located::new(self.source, &command.node);
            let froms: Vec<(String, usize)> = match &command.instruction {
                Instruction::Copy(copy) => copy.from.iter().map(|from| (from.clone(), 0)).collect(),
                Instruction::Run(run) => run
                    .mounts
                    .iter()
                    .filter_map(|flag| {
                        let mount = parse_mount(&flag.raw, None).ok()?;
                        Some((mount.from?, flag.nth))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let flag = if matches!(command.instruction, Instruction::Copy(_)) {
                "from"
            } else {
                "mount"
            };
            for (from, nth) in froms {
                if flag == "from" {
                    let literal = self
                        .lexer
                        .expand_word(&from, &Scope::new())
                        .map(|expanded| expanded.value == from)
                        .unwrap_or(false);
                    if !literal {
                        return Err(located.flag_error(
                            flag,
                            nth,
                            "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
                        ));
                    }
                }
                if let FileSource::Stage(source) =
                    resolve_from(&located, dockerfile, index, &from, flag, nth)?
                {
                    deps.entry(source).or_insert(command.span);
                }
            }
        }
        Ok(deps)
    }
}

/// What `--from=<value>` (or a mount's `from=`) names: a stage by index or
/// name, else an image.
pub(super) fn resolve_from(
    located: &Located<'_>,
    dockerfile: &Dockerfile,
    current: usize,
    value: &str,
    flag: &str,
    nth: usize,
) -> Result<FileSource, ParseError> {
    let count = dockerfile.stages.len();
    if let Ok(number) = value.parse::<usize>() {
        if number >= count {
            return Err(located
                .flag_error(flag, nth, format!("undefined stage in --from: invalid stage index {number}"))
                .with_hint(format!(
                    "stages are numbered from 0 in order of their FROM lines; this Dockerfile has {count} (0 to {})",
                    count - 1
                )));
        }
        if number >= current {
            return Err(located
                .flag_error(
                    flag,
                    nth,
                    format!(
                        "undefined stage in --from: stage {number} is not defined before the current stage {current}"
                    ),
                )
                .with_hint("a stage can only use stages whose FROM comes before its own"));
        }
        return Ok(FileSource::Stage(number));
    }
    let wanted = value.to_lowercase();
    if let Some(index) = dockerfile
        .stages
        .iter()
        .rposition(|stage| stage.from.name.as_deref() == Some(wanted.as_str()))
    {
        return Ok(FileSource::Stage(index));
    }
    if value == "scratch" {
        return Ok(FileSource::Scratch);
    }
    match ImageReference::parse(value) {
        Ok(reference) => Ok(FileSource::Image(reference)),
        Err(error) => {
            let names = dockerfile
                .stages
                .iter()
                .filter_map(|stage| stage.from.name.as_deref());
            let message =
                format!("{value:?} is not a stage name, nor a valid image reference: {error}");
            let error = located.flag_error(flag, nth, message);
            Err(match suggest::closest(value, names, false) {
                Some(closest) => error.with_hint(format!("did you mean {closest}?")),
                None => error,
            })
        }
    }
}

fn parse_platform(
    located: &Located<'_>,
    written: &str,
    value: &str,
    unmatched: &BTreeSet<String>,
    global: &Scope,
) -> Result<Platform, ParseError> {
    let hint = || {
        unmatched
            .iter()
            .find_map(|name| suggest::closest(name, global.names(), true))
            .map(|closest| format!("did you mean {closest}?"))
    };
    let error = if value.is_empty() {
        located.flag_error(
            "platform",
            0,
            format!("empty platform value from expression {written}"),
        )
    } else {
        match value.parse::<Platform>() {
            Ok(platform) => return Ok(platform),
            Err(error) => located.flag_error(
                "platform",
                0,
                format!("failed to parse platform {written}: {error}"),
            ),
        }
    };
    Err(match hint() {
        Some(hint) => error.with_hint(hint),
        None => error,
    })
}

/// Refuses a stage that depends on itself through bases, `--from` and mounts.
pub(super) fn check_cycles(
    session: &Session<'_>,
    dockerfile: &Dockerfile,
    heads: &[StageHead],
) -> Result<(), ParseError> {
    fn edges(heads: &[StageHead], index: usize) -> Vec<(usize, Option<Span>)> {
        let head = &heads[index];
        let mut edges: Vec<(usize, Option<Span>)> = head
            .deps
            .iter()
            .map(|(dep, span)| (*dep, Some(*span)))
            .collect();
        if let Base::Stage(parent) = head.base {
            edges.push((parent, None));
        }
        edges
    }
    /// A cycle was found; `span` is the first instruction on it, if any.
    struct Cycle {
        span: Option<Span>,
    }
    // 0 = unvisited, 1 = on the current path, 2 = done.
    fn visit(heads: &[StageHead], index: usize, marks: &mut [u8]) -> Option<Cycle> {
        marks[index] = 1;
        for (next, span) in edges(heads, index) {
            match marks[next] {
                1 => return Some(Cycle { span }),
                0 => {
                    if let Some(found) = visit(heads, next, marks) {
                        return Some(Cycle {
                            span: found.span.or(span),
                        });
                    }
                }
                _ => {}
            }
        }
        marks[index] = 2;
        None
    }
    let mut marks = vec![0u8; heads.len()];
    for index in 0..heads.len() {
        if marks[index] != 0 {
            continue;
        }
        if let Some(Cycle { span }) = visit(heads, index, &mut marks) {
            let stage = &dockerfile.stages[index];
            let name = stage
                .from
                .name
                .clone()
                .unwrap_or_else(|| format!("stage-{index}"));
            let span = span.unwrap_or(stage.command.span);
            return Err(ParseError::new(
                session.source,
                span,
                format!("circular dependency detected on stage: {name}"),
            )
            .with_hint("stages must not copy or mount from a stage that builds on them"));
        }
    }
    Ok(())
}

/// The target and every stage it reaches through bases and dependencies.
pub(super) fn needed_stages(heads: &[StageHead], target: usize) -> BTreeSet<usize> {
    let mut needed = BTreeSet::new();
    let mut pending = vec![target];
    while let Some(index) = pending.pop() {
        if !needed.insert(index) {
            continue;
        }
        let head = &heads[index];
        if let Base::Stage(parent) = head.base {
            pending.push(parent);
        }
        pending.extend(head.deps.keys());
    }
    needed
}
