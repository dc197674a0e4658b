//! `--call=targets`: every stage a user can pass to `--target`, with its
//! description, base and platform as written, and which one builds by default
//! (the last). Also the `--target` lookup used by lowering, with its
//! "did you mean" error.

use serde::Serialize;

use super::location::Location;
use crate::frontend::instructions::{Dockerfile, suggest, type_dockerfile};
use crate::frontend::lint::Linter;
use crate::frontend::parser;
use crate::frontend::{ParseError, Source, Span};

/// The `--call=targets` result, with BuildKit's JSON field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Targets {
    pub targets: Vec<Target>,
}

/// One stage as a build target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub base: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub location: Location,
}

/// Lists the stages of `source`.
pub fn list_targets(source: &Source) -> Result<Targets, ParseError> {
    let document = parser::parse(source)?;
    let dockerfile = type_dockerfile(source, &document, &mut Linter::default())?;
    let last = dockerfile.stages.len().saturating_sub(1);
    let targets = dockerfile
        .stages
        .iter()
        .enumerate()
        .map(|(index, stage)| Target {
            name: stage.from.name.clone(),
            default: index == last,
            description: stage.description(),
            base: stage.from.base.clone(),
            platform: stage.from.platform.clone(),
            location: Location::from(stage.command.span),
        })
        .collect();
    Ok(Targets { targets })
}

/// The index of the stage `--target` names (case-insensitive), or an error
/// that suggests the closest stage name and shows its FROM line.
pub fn find_target(
    source: &Source,
    dockerfile: &Dockerfile,
    target: &str,
) -> Result<usize, ParseError> {
    let wanted = target.to_lowercase();
    // A later stage of the same name wins, as in BuildKit.
    if let Some(index) = dockerfile
        .stages
        .iter()
        .rposition(|stage| stage.from.name.as_deref() == Some(wanted.as_str()))
    {
        return Ok(index);
    }
    let names = dockerfile
        .stages
        .iter()
        .filter_map(|stage| stage.from.name.as_deref());
    let message = format!("target stage {target:?} could not be found");
    let Some(closest) = suggest::closest(target, names, true) else {
        let mut error = ParseError::new(source, Span::default(), message);
        let all: Vec<&str> = dockerfile
            .stages
            .iter()
            .filter_map(|stage| stage.from.name.as_deref())
            .collect();
        if !all.is_empty() {
            error = error.with_hint(format!("the stages are: {}", all.join(", ")));
        }
        return Err(error);
    };
    let stage = dockerfile
        .stages
        .iter()
        .rfind(|stage| stage.from.name.as_deref() == Some(closest.as_str()))
        .expect("the suggestion is one of the stage names");
    let line = stage.command.span.start.line;
    let written = stage.from.name_written.as_deref().unwrap_or(&closest);
    let last = stage.command.span.end.line.max(line);
    // The name is the last word of the FROM line: search from the end so an
    // image called like the stage does not catch it.
    let span = (line..=last)
        .rev()
        .find_map(|number| {
            let text = source.line(number)?;
            let byte = text.rfind(written)?;
            let column = text[..byte].chars().count() + 1;
            Some(Span::on_line(number, column, written.chars().count()))
        })
        .unwrap_or(Span::lines(line, line));
    Err(ParseError::new(source, span, message).with_hint(format!("did you mean {closest}?")))
}
