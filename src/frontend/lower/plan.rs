//! The lowered form of a Dockerfile that the solver builds from: one
//! [`Stage`] per FROM with its base, platform, expanded steps and the image
//! config it ends with, plus the target, the stages it needs and the build
//! arguments nobody used.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::frontend::Span;
use crate::frontend::instructions::{
    CommandLine, Device, Healthcheck, InlineFile, Keyword, Mount, Network, Security,
};
use crate::frontend::lint::Warning;
use crate::frontend::parser::Heredoc;
use crate::graph::reference::ReferenceError;
use crate::graph::{Platform, Reference};

/// A Dockerfile lowered for one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Every stage, in Dockerfile order; `stages[i].index == i`.
    pub stages: Vec<Stage>,
    /// The index of the stage to build.
    pub target: usize,
    /// The stages the target needs (itself included), in ascending order.
    pub needed: Vec<usize>,
    /// The stages nothing needs; they were not lowered.
    pub skipped: Vec<StageId>,
    /// `--build-arg` names no ARG declared (buildx reports them as unused).
    pub unused_build_args: Vec<String>,
    /// The global scope FROM lines saw: predefined platform args and global ARGs.
    pub global_args: Vec<(String, String)>,
    /// Proxy settings from `--build-arg`: given to every RUN, never recorded.
    pub proxy: Vec<(String, String)>,
    /// Lint warnings found while lowering (after `# check=` filtering).
    pub warnings: Vec<Warning>,
    /// The escape token of the Dockerfile.
    pub escape: char,
    #[serde(skip)]
    pub(crate) outline: super::outline::OutlineData,
}

impl Plan {
    pub fn target_stage(&self) -> &Stage {
        &self.stages[self.target]
    }

    /// The environment proxy settings add to a RUN: each as `NAME` and `name`.
    pub fn proxy_env(&self) -> Vec<(String, String)> {
        self.proxy
            .iter()
            .flat_map(|(name, value)| {
                [
                    (name.to_uppercase(), value.clone()),
                    (name.to_lowercase(), value.clone()),
                ]
            })
            .collect()
    }
}

/// A stage's index and name, for lists of stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageId {
    pub index: usize,
    pub name: Option<String>,
}

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Base {
    /// `FROM scratch`.
    Scratch,
    /// An image to pull.
    Image(ImageReference),
    /// `FROM <earlier stage>`.
    Stage(usize),
}

/// An image reference after expansion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageReference {
    /// As the Dockerfile spelled it after expansion (`alpine:3.20`).
    pub written: String,
    /// Fully qualified (`docker.io/library/alpine:3.20`).
    pub normalized: String,
}

impl ImageReference {
    /// Checks `text` as an image reference and records its fully qualified form.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let reference: Reference = text.parse()?;
        Ok(Self {
            written: text.to_owned(),
            normalized: reference.canonical(),
        })
    }
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub index: usize,
    /// `AS name`, lowercased.
    pub name: Option<String>,
    /// The description from the comment above FROM.
    pub description: Option<String>,
    pub base: Base,
    /// `FROM --platform=...`, expanded (for a stage built on a stage, that
    /// stage's); `None` means the target platform.
    pub platform: Option<Platform>,
    /// The FROM line.
    pub span: Span,
    /// The instructions after FROM, expanded, ONBUILD triggers of a stage
    /// base first. Empty for a skipped stage.
    pub steps: Vec<Step>,
    /// What the Dockerfile sets in the image config, on top of the base
    /// image's config (including what a base stage set).
    pub config: ImageConfig,
    /// False for stages the target does not need (they were not lowered).
    pub lowered: bool,
}

impl Stage {
    /// `name`, or `stage-<index>` as BuildKit calls unnamed stages.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("stage-{}", self.index))
    }
}

/// One lowered instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub keyword: Keyword,
    /// The instruction's lines.
    pub span: Span,
    /// The logical line as written (for progress names and history).
    pub original: String,
    /// The step came from an ONBUILD trigger of the base stage.
    pub on_build: bool,
    pub kind: StepKind,
}

/// What a step does, with every value that takes expansion expanded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StepKind {
    Run(RunStep),
    Copy(CopyStep),
    Add(CopyStep),
    /// The new working directory, absolute and clean.
    Workdir(String),
    Env(Vec<(String, String)>),
    Label(Vec<(String, String)>),
    User(String),
    /// Ports as `80/tcp`.
    Expose(Vec<String>),
    Volume(Vec<String>),
    StopSignal(String),
    /// The final CMD array (shell form already wrapped in the shell).
    Cmd(Vec<String>),
    /// The final ENTRYPOINT array; `None` for `ENTRYPOINT []`.
    Entrypoint(Option<Vec<String>>),
    Healthcheck(Healthcheck),
    Shell(Vec<String>),
    /// Declared ARGs with the values they took (`None`: declared, unset).
    Arg(Vec<(String, Option<String>)>),
    Onbuild(String),
    Maintainer(String),
}

/// A RUN ready to execute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunStep {
    /// As written; RUN text is never expanded by the frontend (the shell does).
    pub command: CommandLine,
    /// Heredoc bodies opened on the line.
    pub heredocs: Vec<Heredoc>,
    pub mounts: Vec<RunMount>,
    pub network: Network,
    pub security: Security,
    /// `--device` requests (CDI device names).
    pub devices: Vec<Device>,
    /// The environment the command sees: the stage's ENV and ARG values, in
    /// order (proxies not included: see [`Plan::proxy_env`]).
    pub env: Vec<(String, String)>,
    /// The ARGs in scope with their values, for the history line
    /// (`RUN |2 a=1 b=2 /bin/sh -c ...`).
    pub build_args: Vec<(String, String)>,
    /// The working directory, absolute.
    pub workdir: String,
    pub user: Option<String>,
    /// The shell for shell form: SHELL's value, or `None` for the default.
    pub shell: Option<Vec<String>>,
}

/// A `--mount` of a RUN, expanded, with its `from=` resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunMount {
    pub mount: Mount,
    /// Where `from=` points; `None` for the build context (or nothing).
    pub from: Option<FileSource>,
    /// The target made absolute against the working directory.
    pub target: Option<String>,
}

/// Where files come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FileSource {
    /// An earlier stage.
    Stage(usize),
    /// An image that is no stage (`COPY --from=busybox`).
    Image(ImageReference),
    /// `--from=scratch` (when no stage has that name): nothing.
    Scratch,
}

/// `--chmod` parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Chmod {
    Octal(u32),
    /// A symbolic mode such as `u+x,go-w`.
    Symbolic(String),
}

/// A COPY or ADD, expanded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyStep {
    /// `None`: the build context.
    pub from: Option<FileSource>,
    pub sources: Vec<String>,
    /// Heredoc files, bodies expanded unless the name was quoted.
    pub inline: Vec<InlineFile>,
    /// The destination as written (expanded).
    pub dest: String,
    /// The destination resolved against the working directory; a trailing
    /// `/` means "into this directory".
    pub dest_path: String,
    pub chown: Option<String>,
    pub chmod: Option<Chmod>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<String>,
    /// ADD only.
    pub checksum: Option<String>,
    pub keep_git_dir: Option<bool>,
    pub unpack: Option<bool>,
    /// The working directory and user at this point.
    pub workdir: String,
    pub user: Option<String>,
}

/// A field of the image config a stage may leave alone, clear or set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub enum Setting<T> {
    #[default]
    Inherit,
    Cleared,
    Set(T),
}

/// The image config a stage's instructions produce, over its base image.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ImageConfig {
    /// ENV values in order (a later ENV of the same name replaces in place).
    pub env: Vec<(String, String)>,
    pub labels: BTreeMap<String, String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub cmd: Setting<Vec<String>>,
    pub entrypoint: Setting<Vec<String>>,
    pub shell: Option<Vec<String>>,
    pub exposed_ports: BTreeSet<String>,
    pub volumes: BTreeSet<String>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<Healthcheck>,
    /// ONBUILD triggers recorded for images built from this one.
    pub onbuild: Vec<String>,
    /// MAINTAINER.
    pub author: Option<String>,
}
