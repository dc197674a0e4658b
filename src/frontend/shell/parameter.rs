//! Parameter expansion, from a `$` on: `$NAME`, `${NAME}`, the conditional
//! forms `${NAME-w}`, `${NAME+w}`, `${NAME?w}` (each also with `:`), prefix
//! and suffix removal (`#`, `##`, `%`, `%%`) and replacement (`/`, `//`).
//! It reads names, looks them up and applies the modifier; glob matching is
//! `pattern`'s job, and the scan of the nested words is `lexer`'s.
//!
//! A name is one special parameter (`@ * # ? - $ !`), a run of digits (a
//! positional parameter) or a run of letters, digits and `_`. Nothing sets
//! positional or special parameters in a Dockerfile, but they are looked up
//! like any other name. Every other form BuildKit rejects (`:=`, `=`,
//! substrings, `${}`) is an error here too.

use super::ShellError;
use super::lexer::Scan;
use super::pattern::Pattern;

const MISSING_BRACE: &str = "syntax error: missing '}'";
const BAD_SUBSTITUTION: &str = "syntax error: bad substitution";

/// Which conditional form a `${NAME<op>word}` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    /// `-`: the word when the variable is unset.
    Default,
    /// `+`: the word when the variable is set.
    Alternative,
    /// `?`: an error (the word is its message) when the variable is unset.
    Required,
}

impl Scan<'_> {
    /// Expands the parameter at the `$` under the cursor. A `$` that starts no
    /// name stays a literal `$`.
    pub(super) fn expand_parameter(&mut self) -> Result<String, ShellError> {
        let start = self.position();
        self.bump();
        if self.peek() != Some('{') {
            let name = self.read_name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(self.resolve(start, &name));
        }
        self.bump();
        match self.peek() {
            None => return Err(ShellError::new(MISSING_BRACE)),
            Some('{' | '}' | ':') => return Err(ShellError::new(BAD_SUBSTITUTION)),
            Some(_) => {}
        }
        let name = self.read_name();
        if name.is_empty() {
            return Err(ShellError::new(BAD_SUBSTITUTION));
        }
        let Some(operator) = self.bump() else {
            return Err(ShellError::new(MISSING_BRACE));
        };
        match operator {
            '}' => Ok(self.resolve(start, &name)),
            '-' => self.expand_conditional(start, &name, Condition::Default, false),
            '+' => self.expand_conditional(start, &name, Condition::Alternative, false),
            '?' => self.expand_conditional(start, &name, Condition::Required, false),
            '#' | '%' => self.expand_trim(start, &name, operator),
            '/' => self.expand_replace(start, &name),
            ':' => match self.bump() {
                None => Err(ShellError::new(MISSING_BRACE)),
                Some('-') => self.expand_conditional(start, &name, Condition::Default, true),
                Some('+') => self.expand_conditional(start, &name, Condition::Alternative, true),
                Some('?') => self.expand_conditional(start, &name, Condition::Required, true),
                Some('}') => Err(ShellError::new(BAD_SUBSTITUTION)),
                Some(second @ ('#' | '%')) => Err(unsupported(&format!(":{second}"))),
                Some(second) => self.reject_modifier(start, &name, &format!(":{second}")),
            },
            other => self.reject_modifier(start, &name, &other.to_string()),
        }
    }

    /// Reads a name: a special parameter, a digit run or an identifier.
    fn read_name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                while let Some(digit) = self.peek().filter(char::is_ascii_digit) {
                    self.bump();
                    name.push(digit);
                }
            }
            Some(c @ ('@' | '*' | '#' | '?' | '-' | '$' | '!')) => {
                self.bump();
                name.push(c);
            }
            _ => {
                while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                    self.bump();
                    name.push(c);
                }
            }
        }
        name
    }

    /// `$NAME` or `${NAME}`: the value, "" when unset, or the text as written
    /// when unset under `skip_unset_env`.
    fn resolve(&mut self, start: usize, name: &str) -> String {
        match self.lookup(name) {
            Some(value) => value,
            None if self.lexer.skip_unset_env => self.written_since(start).to_owned(),
            None => String::new(),
        }
    }

    /// `${NAME-w}`, `${NAME+w}`, `${NAME?w}`; with `colon`, an empty value
    /// counts as unset. The word is expanded whether or not it is used.
    fn expand_conditional(
        &mut self,
        start: usize,
        name: &str,
        condition: Condition,
        colon: bool,
    ) -> Result<String, ShellError> {
        let Some(word) = self.scan_until('}', false)? else {
            return Err(ShellError::new(MISSING_BRACE));
        };
        let value = self.lookup(name);
        if value.is_none() && self.lexer.skip_unset_env {
            return Ok(self.written_since(start).to_owned());
        }
        let set = value.is_some();
        let usable = value.filter(|value| !(colon && value.is_empty()));
        match (condition, usable) {
            (Condition::Default | Condition::Required, Some(value)) => Ok(value),
            (Condition::Default, None) | (Condition::Alternative, Some(_)) => Ok(word),
            (Condition::Alternative, None) => Ok(String::new()),
            (Condition::Required, None) => {
                let message = match word.as_str() {
                    "" if set => "is not allowed to be empty",
                    "" => "is not allowed to be unset",
                    message => message,
                };
                Err(ShellError::new(format!("{name}: {message}")))
            }
        }
    }

    /// `${NAME#p}`, `${NAME##p}`, `${NAME%p}`, `${NAME%%p}`.
    fn expand_trim(
        &mut self,
        start: usize,
        name: &str,
        operator: char,
    ) -> Result<String, ShellError> {
        let Some(word) = self.scan_until('}', true)? else {
            return Err(ShellError::new(MISSING_BRACE));
        };
        let value = self.lookup(name);
        if value.is_none() && self.lexer.skip_unset_env {
            return Ok(self.written_since(start).to_owned());
        }
        // As in BuildKit, the doubled operator is looked for after expansion.
        let (longest, text) = match word.strip_prefix(operator) {
            Some(rest) => (true, rest),
            None => (false, word.as_str()),
        };
        let pattern = parse_pattern(text)?;
        let value = value.unwrap_or_default();
        let trimmed = if operator == '#' {
            pattern.strip_prefix(&value, longest)
        } else {
            pattern.strip_suffix(&value, longest)
        };
        Ok(trimmed.to_owned())
    }

    /// `${NAME/p/r}` and `${NAME//p/r}`. The replacement is used as written,
    /// escape tokens included.
    fn expand_replace(&mut self, start: usize, name: &str) -> Result<String, ShellError> {
        let all = self.peek() == Some('/');
        if all {
            self.bump();
        }
        let Some(text) = self.scan_until('/', true)? else {
            return Err(ShellError::new(format!(
                "syntax error: missing '/' in ${{{name}/pattern/replacement}}"
            )));
        };
        let Some(replacement) = self.scan_until('}', true)? else {
            return Err(ShellError::new(MISSING_BRACE));
        };
        let value = self.lookup(name);
        if value.is_none() && self.lexer.skip_unset_env {
            return Ok(self.written_since(start).to_owned());
        }
        let pattern = parse_pattern(&text)?;
        Ok(pattern.replace(&value.unwrap_or_default(), &replacement, all))
    }

    /// A modifier BuildKit does not support (`=`, `:=`, `:offset`, …). Under
    /// `skip_unset_env` an unset variable keeps the whole expression as
    /// written, for a later shell to deal with.
    fn reject_modifier(
        &mut self,
        start: usize,
        name: &str,
        modifier: &str,
    ) -> Result<String, ShellError> {
        if !self.lexer.skip_unset_env {
            return Err(unsupported(modifier));
        }
        if self.scan_until('}', false)?.is_none() {
            return Err(ShellError::new(MISSING_BRACE));
        }
        match self.lookup(name) {
            None => Ok(self.written_since(start).to_owned()),
            Some(_) => Err(unsupported(modifier)),
        }
    }
}

fn unsupported(modifier: &str) -> ShellError {
    ShellError::new(format!("unsupported modifier ({modifier}) in substitution"))
}

fn parse_pattern(text: &str) -> Result<Pattern, ShellError> {
    Pattern::parse(text).map_err(|error| {
        ShellError::new(format!("invalid pattern ({text}) in substitution: {error}"))
    })
}

#[cfg(test)]
mod tests {
    use crate::frontend::shell::{Lexer, vars_from_entries};

    fn vars() -> Vec<(String, String)> {
        vars_from_entries(&["SET=value", "EMPTY=", "PATH=a/b/c", "STARS=a*b*"])
    }

    fn expand(lexer: Lexer, text: &str) -> Result<String, String> {
        lexer
            .expand_word(text, &vars())
            .map(|expanded| expanded.value)
            .map_err(|error| error.message)
    }

    fn skipping() -> Lexer {
        Lexer {
            skip_unset_env: true,
            ..Lexer::default()
        }
    }

    #[test]
    fn nested_defaults_expand_inside_out() {
        let lexer = Lexer::default();
        assert_eq!(expand(lexer, "${A:-${B:-${C:-deep}}}").unwrap(), "deep");
        assert_eq!(expand(lexer, "${A:-${EMPTY:-${SET}}}").unwrap(), "value");
        assert_eq!(expand(lexer, "${A-${EMPTY-unused}}").unwrap(), "");
        assert_eq!(expand(lexer, "${SET:+[${SET:+in}]}").unwrap(), "[in]");
        assert_eq!(expand(lexer, "${A:-\"a }\"}").unwrap(), "a }");
    }

    #[test]
    fn unused_default_words_are_still_looked_up() {
        let expanded = Lexer::default()
            .expand_word("${SET-$UNUSED}", &vars())
            .unwrap();
        assert_eq!(expanded.value, "value");
        assert!(expanded.unmatched.contains("UNUSED"));
    }

    #[test]
    fn replace_keeps_escapes_in_the_replacement() {
        let lexer = Lexer::default();
        assert_eq!(expand(lexer, r"${PATH//\//_}").unwrap(), "a_b_c");
        assert_eq!(expand(lexer, r"${PATH/\//\/}").unwrap(), r"a\/b/c");
        assert_eq!(expand(lexer, r"${STARS//\*/-}").unwrap(), "a-b-");
        assert_eq!(expand(lexer, r"${STARS//*/-}").unwrap(), "-");
        assert_eq!(expand(lexer, r"${PATH/b\}/x}").unwrap(), "a/b/c");
    }

    #[test]
    fn trim_prefix_and_suffix() {
        let lexer = Lexer::default();
        assert_eq!(expand(lexer, "${PATH#*/}").unwrap(), "b/c");
        assert_eq!(expand(lexer, "${PATH##*/}").unwrap(), "c");
        assert_eq!(expand(lexer, "${PATH%/*}").unwrap(), "a/b");
        assert_eq!(expand(lexer, "${PATH%%/*}").unwrap(), "a");
        assert_eq!(expand(lexer, "${UNSET#*}").unwrap(), "");
    }

    #[test]
    fn bad_patterns_name_the_pattern() {
        assert_eq!(
            expand(Lexer::default(), r"${PATH#\x}").unwrap_err(),
            r#"failed to process "${PATH#\x}": invalid pattern (\x) in substitution: invalid escape '\x': only '\*', '\?' and '\\' are allowed"#
        );
    }

    #[test]
    fn skip_unset_env_leaves_unset_variables_as_written() {
        let lexer = skipping();
        assert_eq!(expand(lexer, "$X-$SET").unwrap(), "$X-value");
        assert_eq!(expand(lexer, "${X}/${EMPTY}").unwrap(), "${X}/");
        assert_eq!(expand(lexer, r#"${X:-"a b"}"#).unwrap(), r#"${X:-"a b"}"#);
        assert_eq!(
            expand(lexer, "${X:?must be set}").unwrap(),
            "${X:?must be set}"
        );
        assert_eq!(
            expand(lexer, "${X#*/}${X//a/b}").unwrap(),
            "${X#*/}${X//a/b}"
        );
        assert_eq!(
            expand(lexer, "${X:0:2} ${X:=d}").unwrap(),
            "${X:0:2} ${X:=d}"
        );
        assert_eq!(expand(lexer, "\"$X\"").unwrap(), "$X");
    }

    #[test]
    fn skip_unset_env_still_expands_set_variables_and_rejects_bad_syntax() {
        let lexer = skipping();
        assert_eq!(expand(lexer, "${SET:-x}${EMPTY:-y}").unwrap(), "valuey");
        assert!(expand(lexer, "${SET:0:2}").is_err());
        assert!(expand(lexer, "${EMPTY:?}").is_err());
        assert!(expand(lexer, "${X:#a}").is_err());
        assert!(expand(lexer, "${X").is_err());
        assert!(expand(lexer, "${}").is_err());
    }

    #[test]
    fn required_variables_say_why() {
        let lexer = Lexer::default();
        assert_eq!(
            expand(lexer, "${X:?}").unwrap_err(),
            r#"failed to process "${X:?}": X: is not allowed to be unset"#
        );
        assert!(
            expand(lexer, "${EMPTY:?}")
                .unwrap_err()
                .ends_with("EMPTY: is not allowed to be empty")
        );
        assert!(
            expand(lexer, "${X?set X to $SET}")
                .unwrap_err()
                .ends_with("X: set X to value")
        );
        assert_eq!(expand(lexer, "${EMPTY?}").unwrap(), "");
    }

    #[test]
    fn syntax_errors_say_what_is_wrong() {
        let lexer = Lexer::default();
        let reason = |text: &str| {
            let message = expand(lexer, text).unwrap_err();
            message.split_once("\": ").unwrap().1.to_owned()
        };
        assert_eq!(reason("${SET"), "syntax error: missing '}'");
        assert_eq!(reason("${SET:-x"), "syntax error: missing '}'");
        assert_eq!(reason("${:-x}"), "syntax error: bad substitution");
        assert_eq!(reason("${SET:}"), "syntax error: bad substitution");
        assert_eq!(
            reason("${SET:=x}"),
            "unsupported modifier (:=) in substitution"
        );
        assert_eq!(
            reason("${SET=x}"),
            "unsupported modifier (=) in substitution"
        );
        assert_eq!(
            reason("${SET:1}"),
            "unsupported modifier (:1) in substitution"
        );
        assert_eq!(
            reason("${SET:%x}"),
            "unsupported modifier (:%) in substitution"
        );
        assert_eq!(
            reason("${SET/x}"),
            "syntax error: missing '/' in ${SET/pattern/replacement}"
        );
    }

    #[test]
    fn names_stop_where_they_must() {
        let lexer = Lexer::default();
        assert_eq!(
            expand(lexer, "$SET.txt $SET_x $12ab $$$").unwrap(),
            "value.txt  ab $"
        );
        assert_eq!(expand(lexer, "${#:-none} ${@}x").unwrap(), "none x");
        assert_eq!(expand(lexer, "cost: 5$").unwrap(), "cost: 5$");
    }
}
