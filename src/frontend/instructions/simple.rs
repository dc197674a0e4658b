//! The instructions that take a word or a list and no flags: `EXPOSE`,
//! `MAINTAINER`, `ONBUILD`, `SHELL`, `STOPSIGNAL`, `USER`, `VOLUME`, `WORKDIR`.

use super::flags::Flags;
use super::located::Located;
use crate::frontend::ParseError;
use crate::frontend::parser::Node;

/// `ONBUILD <instruction>`: kept as text, typed only when a child stage runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onbuild {
    /// The trigger as it will be stored in the image config (`RUN echo hi`),
    /// heredoc bodies included.
    pub expression: String,
    /// The trigger as the parser read it.
    pub trigger: Box<Node>,
}

/// `STOPSIGNAL <signal>`, unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopSignal {
    pub signal: String,
}

/// `USER <user>[:<group>]`, unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user: String,
}

/// `VOLUME <path>...`, unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub paths: Vec<String>,
}

/// `WORKDIR <path>`, unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workdir {
    pub path: String,
}

fn exactly_one(located: &Located<'_>, name: &str) -> Result<String, ParseError> {
    match located.node.args.as_slice() {
        [one] => {
            Flags::parse(located, name, &[])?;
            Ok(one.clone())
        }
        [] => Err(located.error(format!("{name} requires exactly one argument"))),
        [_, second, ..] => {
            Err(located.error_at(second, format!("{name} requires exactly one argument")))
        }
    }
}

fn at_least_one(located: &Located<'_>, name: &str) -> Result<Vec<String>, ParseError> {
    if located.node.args.is_empty() {
        return Err(located.error(format!("{name} requires at least one argument")));
    }
    Flags::parse(located, name, &[])?;
    Ok(located.node.args.clone())
}

pub(super) fn type_expose(located: &Located<'_>) -> Result<Vec<String>, ParseError> {
    let mut ports = at_least_one(located, "EXPOSE")?;
    ports.sort();
    Ok(ports)
}

pub(super) fn type_maintainer(located: &Located<'_>) -> Result<String, ParseError> {
    exactly_one(located, "MAINTAINER")
}

pub(super) fn type_user(located: &Located<'_>) -> Result<User, ParseError> {
    exactly_one(located, "USER").map(|user| User { user })
}

pub(super) fn type_workdir(located: &Located<'_>) -> Result<Workdir, ParseError> {
    exactly_one(located, "WORKDIR").map(|path| Workdir { path })
}

pub(super) fn type_stop_signal(located: &Located<'_>) -> Result<StopSignal, ParseError> {
    exactly_one(located, "STOPSIGNAL").map(|signal| StopSignal { signal })
}

pub(super) fn type_volume(located: &Located<'_>) -> Result<Volume, ParseError> {
    let paths = at_least_one(located, "VOLUME")?
        .iter()
        .map(|path| {
            let path = path.trim();
            if path.is_empty() {
                Err(located.error("VOLUME specified can not be an empty string"))
            } else {
                Ok(path.to_owned())
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Volume { paths })
}

pub(super) fn type_shell(located: &Located<'_>) -> Result<Vec<String>, ParseError> {
    let node = located.node;
    Flags::parse(located, "SHELL", &[])?;
    if node.json && node.args.is_empty() || !node.json && node.args.iter().all(String::is_empty) {
        return Err(located
            .error("SHELL requires at least one argument")
            .with_hint(r#"write the shell as a JSON array, e.g. SHELL ["/bin/bash", "-c"]"#));
    }
    if !node.json {
        let first = node.args.first().map_or("", String::as_str);
        let error = ParseError::new(
            located.source,
            located.span_of(first),
            "SHELL requires the arguments to be in JSON form",
        );
        return Err(error.with_hint(format!(
            "bad JSON in a place where JSON is required; write SHELL [{}]",
            node.args
                .join(" ")
                .split_whitespace()
                .map(|word| format!("{word:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(node.args.clone())
}

pub(super) fn type_onbuild(located: &Located<'_>) -> Result<Onbuild, ParseError> {
    let node = located.node;
    let Some(trigger) = node.nested.as_ref() else {
        return Err(located.error("ONBUILD requires at least one argument"));
    };
    Flags::parse(located, "ONBUILD", &[])?;
    let keyword = trigger.keyword.trim().to_uppercase();
    match keyword.as_str() {
        "ONBUILD" => {
            return Err(located.error_at_nth_keyword(
                &trigger.keyword,
                "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
            ));
        }
        "MAINTAINER" | "FROM" => {
            return Err(located.error_at_nth_keyword(
                &trigger.keyword,
                format!("{keyword} isn't allowed as an ONBUILD trigger"),
            ));
        }
        _ => {}
    }
    let original = node.original.trim_start();
    let mut expression = match original.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("onbuild") => original[7..].trim_start().to_owned(),
        _ => original.to_owned(),
    };
    let heredocs = if node.heredocs.is_empty() {
        &trigger.heredocs
    } else {
        &node.heredocs
    };
    for heredoc in heredocs {
        expression.push('\n');
        expression.push_str(&heredoc.content);
        expression.push_str(&heredoc.name);
    }
    Ok(Onbuild {
        expression,
        trigger: trigger.clone(),
    })
}

impl Located<'_> {
    /// An error at the trigger keyword of `ONBUILD <keyword>` (the second
    /// keyword on the line, not ONBUILD itself).
    fn error_at_nth_keyword(&self, keyword: &str, message: impl Into<String>) -> ParseError {
        ParseError::new(self.source, self.span_of(keyword), message)
    }
}
