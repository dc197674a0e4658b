//! `ENV`, `LABEL` (key/value pairs, `k=v` or the legacy `k v`) and `ARG`
//! (`name` or `name=default`, with the description taken from the comment
//! above, as BuildKit's outline reports it).

use super::Keyword;
use super::flags::Flags;
use super::located::Located;
use crate::frontend::ParseError;

/// One `key=value` of ENV or LABEL, unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// Written in the legacy `ENV key value` form.
    pub legacy: bool,
}

/// One name declared by ARG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDef {
    pub key: String,
    /// The default, unexpanded; `None` for a bare `ARG NAME`.
    pub default: Option<String>,
    /// From a comment line `# NAME description` just above.
    pub description: Option<String>,
}

/// A typed ARG instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub args: Vec<ArgDef>,
}

pub(super) fn type_pairs(
    located: &Located<'_>,
    keyword: Keyword,
) -> Result<Vec<KeyValue>, ParseError> {
    let args = &located.node.args;
    let name = keyword.name();
    Flags::parse(located, name, &[])?;
    if args.is_empty() {
        return Err(located.error(format!("{name} requires at least one argument")));
    }
    if !args.len().is_multiple_of(3) {
        return Err(located.error(format!("Bad input to {name}, too many arguments")));
    }
    args.chunks(3)
        .map(|triple| {
            if triple[0].is_empty() {
                return Err(located.error(format!("{name} names can not be blank")));
            }
            Ok(KeyValue {
                key: triple[0].clone(),
                value: triple[1].clone(),
                legacy: triple[2].is_empty(),
            })
        })
        .collect()
}

pub(super) fn type_arg(located: &Located<'_>) -> Result<Arg, ParseError> {
    let node = located.node;
    Flags::parse(located, "ARG", &[])?;
    if node.args.is_empty() {
        return Err(located
            .error("ARG requires at least one argument")
            .with_hint("write ARG NAME or ARG NAME=default"));
    }
    let args = node
        .args
        .iter()
        .map(|word| {
            let (key, default) = match word.split_once('=') {
                Some((key, value)) => (key, Some(value.to_owned())),
                None => (word.as_str(), None),
            };
            if key.is_empty() {
                return Err(located.error_at(word, "ARG names can not be blank"));
            }
            Ok(ArgDef {
                key: key.to_owned(),
                default,
                description: doc_comment(&node.comments, key),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Arg { args })
}

/// The description of `name` among `comments`: the rest of the first comment
/// line that starts with `name ` (BuildKit `getDocComment`).
pub(super) fn doc_comment(comments: &[String], name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let prefix = format!("{name} ");
    comments
        .iter()
        .find_map(|line| line.trim_start().strip_prefix(&prefix).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_comment_needs_the_name_first() {
        let comments = vec![
            "this is not assigned to anything".to_owned(),
            "BAR is a number".to_owned(),
        ];
        assert_eq!(
            doc_comment(&comments, "BAR").as_deref(),
            Some("is a number")
        );
        assert_eq!(doc_comment(&comments, "FOO"), None);
    }
}
