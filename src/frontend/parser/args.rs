//! One logical line → one [`Node`]: the keyword and flags from `split`, then
//! the arguments the way each instruction reads them (JSON array or shell
//! form, whitespace lists, ENV/LABEL pairs, ARG words, HEALTHCHECK, the
//! instruction ONBUILD wraps). Unknown keywords are kept with one empty
//! argument; rejecting them is left to `instructions`.

use serde_json::Value;

use crate::frontend::Span;

use super::Node;
use super::split::{is_separator, split_command};
use super::words::split_words;

/// The one hard error of the JSON form.
const NOT_STRINGS: &str = "when using JSON array syntax, arrays must be comprised of strings only";

/// A mistake in an instruction's arguments, at a byte range of its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ArgsError {
    pub(super) message: String,
    pub(super) hint: Option<String>,
    pub(super) offset: usize,
    pub(super) len: usize,
}

/// The arguments of one instruction, as parsed.
#[derive(Debug, Default)]
struct Parsed {
    args: Vec<String>,
    json: bool,
    nested: Option<Box<Node>>,
}

impl Parsed {
    fn list(args: Vec<String>) -> Self {
        Self {
            args,
            ..Self::default()
        }
    }
}

/// Parses `line`, which starts at byte `base` of the logical line (error
/// offsets are relative to that), into a node. Span, comments and heredocs
/// are left for the caller to fill.
pub(super) fn node_from_line(line: &str, base: usize, escape: char) -> Result<Node, ArgsError> {
    let split = split_command(line, escape);
    let rest = split.rest;
    let offset = base + split.rest_offset;
    let args = match split.keyword.to_lowercase().as_str() {
        "add" | "copy" | "volume" => json_or_list(rest, offset)?,
        "run" | "cmd" | "entrypoint" | "shell" => json_or_string(rest, offset)?,
        "from" | "expose" => whitespace_list(rest),
        "healthcheck" => healthcheck(rest, offset)?,
        "env" => pairs(rest, offset, "ENV", escape)?,
        "label" => pairs(rest, offset, "LABEL", escape)?,
        "arg" => Parsed::list(
            split_words(rest, escape)
                .into_iter()
                .map(|word| word.text)
                .collect(),
        ),
        "maintainer" | "user" | "workdir" | "stopsignal" => whole(rest),
        "onbuild" if rest.is_empty() => Parsed::default(),
        "onbuild" => Parsed {
            nested: Some(Box::new(node_from_line(rest, offset, escape)?)),
            ..Parsed::default()
        },
        _ => Parsed::list(vec![String::new()]),
    };
    Ok(Node {
        keyword: split.keyword.to_owned(),
        flags: split.flags,
        args: args.args,
        nested: args.nested,
        json: args.json,
        heredocs: Vec::new(),
        original: line.to_owned(),
        span: Span::default(),
        comments: Vec::new(),
    })
}

/// The strings of a JSON array, or `None` when `rest` is not one (it is then
/// read in shell form). An array holding anything but strings is an error.
fn json_array(rest: &str, offset: usize) -> Result<Option<Vec<String>>, ArgsError> {
    let trimmed = rest.trim_start();
    if !trimmed.starts_with('[') {
        return Ok(None);
    }
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(trimmed) else {
        return Ok(None);
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(text) => Ok(text),
            _ => Err(ArgsError {
                message: NOT_STRINGS.to_owned(),
                hint: Some("quote every element, e.g. [\"echo\", \"1\"]".to_owned()),
                offset: offset + rest.len() - trimmed.len(),
                len: trimmed.len(),
            }),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// RUN, CMD, ENTRYPOINT, SHELL: a JSON array, else the whole rest as one string.
fn json_or_string(rest: &str, offset: usize) -> Result<Parsed, ArgsError> {
    if rest.is_empty() {
        return Ok(Parsed::default());
    }
    Ok(match json_array(rest, offset)? {
        Some(args) => Parsed {
            args,
            json: true,
            nested: None,
        },
        None => whole(rest),
    })
}

/// ADD, COPY, VOLUME: a JSON array, else a whitespace list.
fn json_or_list(rest: &str, offset: usize) -> Result<Parsed, ArgsError> {
    Ok(match json_array(rest, offset)? {
        Some(args) => Parsed {
            args,
            json: true,
            nested: None,
        },
        None => whitespace_list(rest),
    })
}

/// Split at blanks, with no regard for quotes.
fn whitespace_list(rest: &str) -> Parsed {
    Parsed::list(
        rest.split(is_separator)
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// The whole rest as one argument, if there is any.
fn whole(rest: &str) -> Parsed {
    if rest.is_empty() {
        Parsed::default()
    } else {
        Parsed::list(vec![rest.to_owned()])
    }
}

/// HEALTHCHECK: the first word (`CMD`, `NONE`, …), then the rest as RUN reads it.
fn healthcheck(rest: &str, offset: usize) -> Result<Parsed, ArgsError> {
    if rest.is_empty() {
        return Ok(Parsed::default());
    }
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let command = rest[end..].trim_start();
    let mut parsed = json_or_string(command, offset + rest.len() - command.len())?;
    parsed.args.insert(0, rest[..end].to_owned());
    Ok(parsed)
}

/// ENV and LABEL: `key value` (old form, when the first word has no `=`),
/// giving `key, value, ""`, or `k=v` words giving `k, v, "="` each.
fn pairs(rest: &str, offset: usize, name: &str, escape: char) -> Result<Parsed, ArgsError> {
    let words = split_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Parsed::default());
    };
    if !first.text.contains('=') {
        let Some(at) = rest.find(is_separator) else {
            return Err(ArgsError {
                message: format!("{name} must have two arguments"),
                hint: Some(format!("give it a value: {name} {}=value", first.text)),
                offset,
                len: rest.len(),
            });
        };
        let value = rest[at..].trim_start_matches(is_separator);
        return Ok(Parsed::list(vec![
            rest[..at].to_owned(),
            value.to_owned(),
            String::new(),
        ]));
    }
    let mut args = Vec::with_capacity(words.len() * 3);
    for word in words {
        let Some((key, value)) = word.text.split_once('=') else {
            return Err(ArgsError {
                message: format!(
                    "syntax error: can't find = in {:?}, must be of the form name=value",
                    word.text
                ),
                hint: None,
                offset: offset + word.offset,
                len: word.text.len(),
            });
        };
        args.extend([key.to_owned(), value.to_owned(), "=".to_owned()]);
    }
    Ok(Parsed::list(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(line: &str) -> Node {
        node_from_line(line, 0, '\\').unwrap()
    }

    fn args(line: &str) -> Vec<String> {
        node(line).args
    }

    #[test]
    fn json_form_and_fallbacks() {
        let json = node(r#"CMD [ "a", "b c" ]"#);
        assert_eq!(
            (json.args, json.json),
            (vec!["a".to_owned(), "b c".to_owned()], true)
        );
        let empty = node("CMD []");
        assert!(empty.args.is_empty() && empty.json);
        let shell = node("CMD ['a']");
        assert_eq!((shell.args, shell.json), (vec!["['a']".to_owned()], false));
        assert_eq!(args(r#"RUN ["a" junk"#), [r#"["a" junk"#]);
        assert_eq!(args(r#"COPY "a b" c"#), ["\"a", "b\"", "c"]);
        assert_eq!(args("COPY [\"a b\", \"c\"]"), ["a b", "c"]);
        assert!(args("CMD").is_empty());
    }

    #[test]
    fn json_non_string_is_an_error_at_the_bracket() {
        let error = node_from_line(r#"CMD  [ "echo", [ "nested" ] ]"#, 10, '\\').unwrap_err();
        assert_eq!(error.message, NOT_STRINGS);
        assert_eq!((error.offset, error.len), (15, 24));
        assert!(node_from_line("RUN [1]", 0, '\\').is_err());
        assert!(node_from_line("VOLUME [null]", 0, '\\').is_err());
    }

    #[test]
    fn env_and_label_pairs() {
        assert_eq!(args("ENV SCUBA 1 DUBA 3"), ["SCUBA", "1 DUBA 3", ""]);
        assert_eq!(
            args("LABEL a=b c=\"d e\""),
            ["a", "b", "=", "c", "\"d e\"", "="]
        );
        assert!(args("ENV").is_empty());
        let error = node_from_line("ENV PATH", 0, '\\').unwrap_err();
        assert_eq!(error.message, "ENV must have two arguments");
        assert_eq!((error.offset, error.len), (4, 4));
        let error = node_from_line("label a=b c", 0, '\\').unwrap_err();
        assert!(
            error.message.contains(r#"can't find = in "c""#),
            "{}",
            error.message
        );
        assert_eq!(error.offset, 10);
    }

    #[test]
    fn other_instructions() {
        assert_eq!(args("ARG abc=\"123 456\" def"), ["abc=\"123 456\"", "def"]);
        assert_eq!(args("FROM\ta  AS b"), ["a", "AS", "b"]);
        assert_eq!(args("USER  a b "), ["a b"]);
        assert_eq!(args("HEALTHCHECK NONE"), ["NONE"]);
        assert_eq!(
            args("HEALTHCHECK CONNECT TCP 7000"),
            ["CONNECT", "TCP 7000"]
        );
        let health = node("HEALTHCHECK --timeout=3s CMD [\"foo\"]");
        assert_eq!(health.flags, ["--timeout=3s"]);
        assert_eq!(
            (health.args, health.json),
            (vec!["CMD".to_owned(), "foo".to_owned()], true)
        );
        assert_eq!(args("FOO bar baz"), [""]);
        let unknown = node("Frobnicate x");
        assert_eq!(unknown.keyword, "Frobnicate");
    }

    #[test]
    fn onbuild_nests_the_instruction() {
        let onbuild = node("ONBUILD --x RUN [\"echo\", \"test\"]");
        assert_eq!(onbuild.flags, ["--x"]);
        assert!(onbuild.args.is_empty() && !onbuild.json);
        let nested = onbuild.nested.unwrap();
        assert_eq!(nested.keyword, "RUN");
        assert_eq!(nested.original, "RUN [\"echo\", \"test\"]");
        assert!(nested.json);
        assert!(node("ONBUILD").nested.is_none());
        let error = node_from_line("ONBUILD ENV A", 0, '\\').unwrap_err();
        assert_eq!((error.offset, error.len), (12, 1));
    }
}
