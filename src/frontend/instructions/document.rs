//! A whole Dockerfile typed: the global ARGs before the first FROM, then one
//! [`StageDecl`] per FROM holding the instructions up to the next FROM.

use super::{Arg, Command, From, Instruction, type_command};
use crate::frontend::lint::Linter;
use crate::frontend::parser::Document;
use crate::frontend::{ParseError, Source, Span};

/// One `FROM` and the instructions under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDecl {
    pub from: From,
    /// The FROM instruction itself (span, comments, keyword casing).
    pub command: Command,
    pub commands: Vec<Command>,
}

impl StageDecl {
    /// The description from a `# <name> <description>` comment above FROM.
    pub fn description(&self) -> Option<String> {
        let name = self.from.name.as_deref()?;
        super::key_value::doc_comment(&self.command.comments, name)
    }
}

/// A typed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// ARG instructions before the first FROM.
    pub meta_args: Vec<(Arg, Command)>,
    pub stages: Vec<StageDecl>,
    /// The escape token in effect.
    pub escape: char,
}

/// Types every node of `document` in order. Lints found along the way stay in
/// `linter` even when a later instruction fails.
pub fn type_dockerfile(
    source: &Source,
    document: &Document,
    linter: &mut Linter,
) -> Result<Dockerfile, ParseError> {
    let mut dockerfile = Dockerfile {
        meta_args: Vec::new(),
        stages: Vec::new(),
        escape: document.directives.escape_token,
    };
    for node in &document.nodes {
        let command = type_command(source, node, linter)?;
        match (&command.instruction, dockerfile.stages.last_mut()) {
            (Instruction::From(from), _) => dockerfile.stages.push(StageDecl {
                from: from.clone(),
                command,
                commands: Vec::new(),
            }),
            (Instruction::Arg(arg), None) => dockerfile.meta_args.push((arg.clone(), command)),
            (_, Some(stage)) => stage.commands.push(command),
            (_, None) => {
                let span = Span::on_line(
                    command.span.start.line,
                    source
                        .column_of(command.span.start.line, &command.written)
                        .unwrap_or(1),
                    command.written.chars().count(),
                );
                return Err(
                    ParseError::new(source, span, "no build stage in current context").with_hint(
                        format!(
                            "{} must come after a FROM; only ARG may come before the first FROM",
                            command.keyword
                        ),
                    ),
                );
            }
        }
    }
    Ok(dockerfile)
}
