//! Syntax tree → typed instructions. Owns the eighteen Dockerfile instructions,
//! their flags (every flag BuildKit's `instructions/parse.go` accepts), their
//! argument counts and the errors for getting them wrong, each pointing at the
//! keyword, flag or word at fault. Values stay as written: variable expansion,
//! stages and scoping are `lower`'s job.

mod copy;
mod document;
mod flags;
mod from;
mod healthcheck;
mod key_value;
mod located;
pub mod mount;
mod run;
mod simple;
pub mod suggest;

use std::fmt;

pub use copy::{Add, Copy, Files, InlineFile};
pub use document::{Dockerfile, StageDecl, type_dockerfile};
pub use from::From;
pub use healthcheck::{Healthcheck, HealthcheckCheck};
pub use key_value::{Arg, ArgDef, KeyValue};
pub use located::Located;
pub use mount::{Mount, MountError, MountFlag, MountType, Sharing, parse_mount};
pub use run::{Device, Network, Run, Security, parse_device};
pub use simple::{Onbuild, StopSignal, User, Volume, Workdir};

use crate::frontend::lint::{Linter, rules};
use crate::frontend::parser::{Heredoc, Node};
use crate::frontend::{ParseError, Source, Span};

/// The instruction keywords, in BuildKit's `command` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    StopSignal,
    User,
    Volume,
    Workdir,
}

impl Keyword {
    pub const ALL: [Keyword; 18] = [
        Keyword::Add,
        Keyword::Arg,
        Keyword::Cmd,
        Keyword::Copy,
        Keyword::Entrypoint,
        Keyword::Env,
        Keyword::Expose,
        Keyword::From,
        Keyword::Healthcheck,
        Keyword::Label,
        Keyword::Maintainer,
        Keyword::Onbuild,
        Keyword::Run,
        Keyword::Shell,
        Keyword::StopSignal,
        Keyword::User,
        Keyword::Volume,
        Keyword::Workdir,
    ];

    /// The keyword in upper case, as documentation writes it.
    pub fn name(self) -> &'static str {
        match self {
            Keyword::Add => "ADD",
            Keyword::Arg => "ARG",
            Keyword::Cmd => "CMD",
            Keyword::Copy => "COPY",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Env => "ENV",
            Keyword::Expose => "EXPOSE",
            Keyword::From => "FROM",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Label => "LABEL",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::Onbuild => "ONBUILD",
            Keyword::Run => "RUN",
            Keyword::Shell => "SHELL",
            Keyword::StopSignal => "STOPSIGNAL",
            Keyword::User => "USER",
            Keyword::Volume => "VOLUME",
            Keyword::Workdir => "WORKDIR",
        }
    }

    /// Case-insensitive lookup.
    pub fn parse(written: &str) -> Option<Keyword> {
        Keyword::ALL
            .into_iter()
            .find(|keyword| keyword.name().eq_ignore_ascii_case(written))
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A command line: shell form (run through the shell) or exec form (JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum CommandLine {
    /// `RUN echo hi`: the text after the flags, joined as BuildKit does.
    Shell(String),
    /// `RUN ["echo", "hi"]`.
    Exec(Vec<String>),
}

impl CommandLine {
    fn from_node(node: &Node, args: &[String]) -> Self {
        if node.json {
            CommandLine::Exec(args.to_vec())
        } else {
            CommandLine::Shell(args.join(" "))
        }
    }

    pub fn is_shell(&self) -> bool {
        matches!(self, CommandLine::Shell(_))
    }
}

/// One typed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    Add(Add),
    Arg(Arg),
    /// `CMD`: `Exec(vec![])` for `CMD []`.
    Cmd(CommandLine),
    Copy(Copy),
    /// `ENTRYPOINT`: `None` for `ENTRYPOINT []`.
    Entrypoint(Option<CommandLine>),
    Env(Vec<KeyValue>),
    /// `EXPOSE`: port words as written (sorted, as BuildKit does).
    Expose(Vec<String>),
    From(From),
    Healthcheck(Healthcheck),
    Label(Vec<KeyValue>),
    Maintainer(String),
    Onbuild(Onbuild),
    Run(Run),
    /// `SHELL ["/bin/bash", "-c"]`.
    Shell(Vec<String>),
    StopSignal(StopSignal),
    User(User),
    Volume(Volume),
    Workdir(Workdir),
}

/// A typed instruction with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub keyword: Keyword,
    /// The keyword as written (`run`, `Run`), for casing lints.
    pub written: String,
    /// The whole instruction, from its keyword to its last line.
    pub span: Span,
    /// The logical line as written.
    pub original: String,
    /// Comment lines directly above (descriptions, `# check=` overrides).
    pub comments: Vec<String>,
    /// The node the instruction came from (heredocs, flags as written).
    pub node: Node,
    pub instruction: Instruction,
}

/// Types one node, reporting instruction-level lints to `linter`.
pub fn type_command(
    source: &Source,
    node: &Node,
    linter: &mut Linter,
) -> Result<Command, ParseError> {
    let located = Located::new(source, node);
    let Some(keyword) = Keyword::parse(&node.keyword) else {
        let error = located.error(format!("unknown instruction: {}", node.keyword));
        let names = Keyword::ALL.map(Keyword::name);
        return Err(match suggest::closest(&node.keyword, names, false) {
            Some(closest) => error.with_hint(format!("did you mean {closest}?")),
            None => error,
        });
    };
    let args = &node.args;
    let instruction = match keyword {
        Keyword::Add => Instruction::Add(copy::type_add(&located)?),
        Keyword::Arg => Instruction::Arg(key_value::type_arg(&located)?),
        Keyword::Cmd => {
            no_flags(&located, keyword)?;
            Instruction::Cmd(CommandLine::from_node(node, args))
        }
        Keyword::Copy => Instruction::Copy(copy::type_copy(&located)?),
        Keyword::Entrypoint => {
            no_flags(&located, keyword)?;
            let line = CommandLine::from_node(node, args);
            let empty = args.is_empty();
            Instruction::Entrypoint((!empty).then_some(line))
        }
        Keyword::Env => Instruction::Env(key_value::type_pairs(&located, keyword)?),
        Keyword::Expose => Instruction::Expose(simple::type_expose(&located)?),
        Keyword::From => {
            let from = from::type_from(&located, linter)?;
            Instruction::From(from)
        }
        Keyword::Healthcheck => Instruction::Healthcheck(healthcheck::type_healthcheck(&located)?),
        Keyword::Label => Instruction::Label(key_value::type_pairs(&located, keyword)?),
        Keyword::Maintainer => {
            let maintainer = simple::type_maintainer(&located)?;
            linter.report(
                &rules::MAINTAINER_DEPRECATED,
                node.span,
                rules::maintainer_deprecated(),
                &node.comments,
            );
            Instruction::Maintainer(maintainer)
        }
        Keyword::Onbuild => Instruction::Onbuild(simple::type_onbuild(&located)?),
        Keyword::Run => Instruction::Run(run::type_run(&located)?),
        Keyword::Shell => Instruction::Shell(simple::type_shell(&located)?),
        Keyword::StopSignal => Instruction::StopSignal(simple::type_stop_signal(&located)?),
        Keyword::User => Instruction::User(simple::type_user(&located)?),
        Keyword::Volume => Instruction::Volume(simple::type_volume(&located)?),
        Keyword::Workdir => Instruction::Workdir(simple::type_workdir(&located)?),
    };
    Ok(Command {
        keyword,
        written: node.keyword.clone(),
        span: node.span,
        original: node.original.clone(),
        comments: node.comments.clone(),
        node: node.clone(),
        instruction,
    })
}

/// Instructions without flags still reject any flag given (BuildKit parses an
/// empty flag set for them).
fn no_flags(located: &Located<'_>, keyword: Keyword) -> Result<(), ParseError> {
    flags::Flags::parse(located, keyword.name(), &[]).map(|_| ())
}

/// The heredoc `word` opens, if it is a heredoc marker (`<<EOF`, `<<-"EOF"`).
fn heredoc_word(word: &str) -> Option<Heredoc> {
    crate::frontend::parser::parse_heredoc_word(word)
        .ok()
        .flatten()
}

/// The heredoc opened on this node named `name`.
fn heredoc_named<'a>(node: &'a Node, name: &str) -> Option<&'a Heredoc> {
    node.heredocs.iter().find(|heredoc| heredoc.name == name)
}

#[cfg(test)]
mod tests;
