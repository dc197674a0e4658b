//! Parser directives: the `# key=value` lines at the very top of a
//! Dockerfile (`syntax`, `escape`, `check`). Owns recognising them, ending the
//! directive block at the first other line, rejecting repeats and bad escape
//! tokens. What a `syntax` or `check` value means is left to later stages.

use crate::frontend::{ParseError, Source, Span};

use super::{Directive, Directives};

/// The escape token when no `# escape=` directive is given.
pub(super) const DEFAULT_ESCAPE: char = '\\';

/// Reads directives from the leading lines until the first line that is not
/// one.
#[derive(Debug)]
pub(super) struct DirectiveReader {
    done: bool,
    directives: Directives,
}

impl DirectiveReader {
    pub(super) fn new() -> Self {
        Self {
            done: false,
            directives: Directives {
                syntax: None,
                escape: None,
                check: None,
                escape_token: DEFAULT_ESCAPE,
            },
        }
    }

    /// The escape token in effect.
    pub(super) fn escape_token(&self) -> char {
        self.directives.escape_token
    }

    /// Looks at line `number`, whose leading whitespace (`indent` characters)
    /// is already removed in `text`. Returns whether it was a directive; the
    /// first line that is not one ends the block for good.
    pub(super) fn read(
        &mut self,
        source: &Source,
        number: usize,
        indent: usize,
        text: &str,
    ) -> Result<bool, ParseError> {
        if self.done {
            return Ok(false);
        }
        let Some((key, value)) = match_directive(text) else {
            self.done = true;
            return Ok(false);
        };
        let key = key.to_ascii_lowercase();
        let span = Span::on_line(number, indent + 1, text.chars().count());
        let slot = match key.as_str() {
            "syntax" => &mut self.directives.syntax,
            "escape" => &mut self.directives.escape,
            "check" => &mut self.directives.check,
            _ => {
                self.done = true;
                return Ok(false);
            }
        };
        if let Some(first) = slot {
            return Err(ParseError::new(
                source,
                span,
                format!("only one {key} parser directive can be used"),
            )
            .with_hint(format!(
                "the first one is on line {}; remove one of them",
                first.span.start.line
            )));
        }
        *slot = Some(Directive {
            value: value.to_owned(),
            span,
        });
        if key == "escape" {
            self.directives.escape_token = match value {
                "`" => '`',
                "\\" => '\\',
                _ => {
                    return Err(ParseError::new(
                        source,
                        span,
                        format!("invalid escape token {value:?}: must be ` or \\"),
                    ));
                }
            };
        }
        Ok(true)
    }

    pub(super) fn finish(self) -> Directives {
        self.directives
    }
}

/// Whitespace as a directive line knows it: `[\t\n\f\r ]`.
fn is_directive_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// Matches `#\s*key\s*=\s*value\s*` where the key is a letter followed by
/// letters and digits and the value is not empty. Returns key and value.
fn match_directive(text: &str) -> Option<(&str, &str)> {
    let rest = text
        .strip_prefix('#')?
        .trim_start_matches(is_directive_space);
    let key_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let key = &rest[..key_len];
    if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let rest = rest[key_len..].trim_start_matches(is_directive_space);
    let raw_value = rest.strip_prefix('=')?;
    let value = raw_value.trim_matches(is_directive_space);
    if !value.is_empty() {
        return Some((key, value));
    }
    // The value is all blanks: the lazy `(.+?)` then takes the last blank.
    let last = raw_value.char_indices().next_back()?.0;
    Some((key, &raw_value[last..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_lines(lines: &[&str]) -> Result<(Directives, Vec<bool>), ParseError> {
        let source = Source::new("Dockerfile", lines.join("\n"));
        let mut reader = DirectiveReader::new();
        let mut seen = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let text = line.trim_start();
            let indent = line.len() - text.len();
            seen.push(reader.read(&source, index + 1, indent, text)?);
        }
        Ok((reader.finish(), seen))
    }

    #[test]
    fn match_directive_accepts_the_forms() {
        assert_eq!(match_directive("#escape=`"), Some(("escape", "`")));
        assert_eq!(match_directive("# escape = ` "), Some(("escape", "`")));
        assert_eq!(
            match_directive("#\tSYNTAX=a/b:1"),
            Some(("SYNTAX", "a/b:1"))
        );
        assert_eq!(
            match_directive("# check=skip=A;error=true"),
            Some(("check", "skip=A;error=true"))
        );
        assert_eq!(match_directive("# escape=  "), Some(("escape", " ")));
        assert_eq!(match_directive("# escape="), None);
        assert_eq!(match_directive("# 1abc=x"), None);
        assert_eq!(match_directive("# a-b=x"), None);
        assert_eq!(match_directive("# just a comment"), None);
        assert_eq!(match_directive("FROM a"), None);
    }

    #[test]
    fn reader_stops_at_first_other_line() {
        let (directives, seen) = read_lines(&[
            "# syntax=docker/dockerfile:1",
            "# Escape=`",
            "# note",
            "# check=x",
        ])
        .unwrap();
        assert_eq!(seen, [true, true, false, false]);
        assert_eq!(directives.escape_token, '`');
        assert_eq!(directives.syntax.unwrap().value, "docker/dockerfile:1");
        assert!(directives.check.is_none());
        assert_eq!(directives.escape.unwrap().span, Span::on_line(2, 1, 10));
    }

    #[test]
    fn reader_unknown_key_ends_the_block() {
        let (directives, seen) = read_lines(&["# foo=bar", "# escape=`"]).unwrap();
        assert_eq!(seen, [false, false]);
        assert_eq!(directives.escape_token, '\\');
    }

    #[test]
    fn reader_rejects_repeats() {
        let error = read_lines(&["# syntax=a", "  # SYNTAX=b"]).unwrap_err();
        assert_eq!(
            error.message,
            "only one syntax parser directive can be used"
        );
        assert_eq!((error.span.start.line, error.span.start.column), (2, 3));
    }

    #[test]
    fn reader_rejects_bad_escape() {
        let error = read_lines(&["# escape=x"]).unwrap_err();
        assert_eq!(error.message, "invalid escape token \"x\": must be ` or \\");
        assert_eq!(error.span.start.line, 1);
    }
}
