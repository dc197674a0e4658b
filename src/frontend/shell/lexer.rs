//! The scan over one word: literal text, the escape token, single and double
//! quotes, and the nested words inside `${…}`. A `$` is handed to
//! `parameter`, glob matching lives in `pattern`, and `words` decides where
//! the split words break. The scan also records which variable names it looked
//! up, for the `UndefinedVar` lint.

use std::collections::BTreeSet;

use super::words::WordBuffer;
use super::{Lexer, ShellError, Vars};

/// One pass over one word, with the state every part of the expansion shares.
pub(super) struct Scan<'a> {
    pub(super) lexer: &'a Lexer,
    vars: &'a dyn Vars,
    source: &'a str,
    /// Byte offset of the next character of `source`.
    position: usize,
    /// Whether escape tokens are kept in the current (possibly nested) word.
    raw_escapes: bool,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
}

/// What a whole word expanded to.
pub(super) struct Scanned {
    pub(super) value: String,
    pub(super) words: Vec<String>,
    pub(super) matched: BTreeSet<String>,
    pub(super) unmatched: BTreeSet<String>,
}

impl<'a> Scan<'a> {
    pub(super) fn new(lexer: &'a Lexer, vars: &'a dyn Vars, source: &'a str) -> Self {
        Self {
            lexer,
            vars,
            source,
            position: 0,
            raw_escapes: lexer.raw_escapes,
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
        }
    }

    /// Expands the whole word. Errors name the word they came from.
    pub(super) fn run(mut self) -> Result<Scanned, ShellError> {
        let mut buffer = WordBuffer::default();
        match self.scan(None, &mut buffer) {
            Ok(_) => {
                let (value, words) = buffer.finish();
                Ok(Scanned {
                    value,
                    words,
                    matched: self.matched,
                    unmatched: self.unmatched,
                })
            }
            Err(error) => Err(ShellError::new(format!(
                "failed to process \"{}\": {}",
                shorten(self.source),
                error.message
            ))),
        }
    }

    /// Scans a nested word up to an unescaped, unquoted `stop` and consumes
    /// it. `None` means the word ended first. Escape tokens are kept when
    /// `raw_escapes` is set (the patterns of `#`, `%` and `/` need them).
    pub(super) fn scan_until(
        &mut self,
        stop: char,
        raw_escapes: bool,
    ) -> Result<Option<String>, ShellError> {
        let outer = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let mut buffer = WordBuffer::default();
        let found = self.scan(Some(stop), &mut buffer);
        self.raw_escapes = outer;
        Ok(found?.then(|| buffer.into_value()))
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.source[self.position..].chars().next()
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.position += c.len_utf8();
        Some(c)
    }

    pub(super) fn position(&self) -> usize {
        self.position
    }

    /// The source text from byte `start` up to the current position.
    pub(super) fn written_since(&self, start: usize) -> &'a str {
        &self.source[start..self.position]
    }

    /// Looks `name` up and records whether it was set.
    pub(super) fn lookup(&mut self, name: &str) -> Option<String> {
        if let Some(value) = self.vars.lookup(name) {
            self.matched.insert(name.to_owned());
            Some(value.to_owned())
        } else {
            self.unmatched.insert(name.to_owned());
            None
        }
    }

    /// Scans into `buffer` until `stop` (consumed) or the end of the word.
    /// Returns whether `stop` was found; with no `stop`, always `true`.
    fn scan(&mut self, stop: Option<char>, buffer: &mut WordBuffer) -> Result<bool, ShellError> {
        let quotes = !self.lexer.skip_process_quotes;
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.bump();
                return Ok(true);
            }
            match c {
                '$' => {
                    let value = self.expand_parameter()?;
                    buffer.push_splitting_str(&value);
                }
                '\'' if quotes => {
                    let value = self.single_quoted()?;
                    buffer.push_kept_str(&value);
                }
                '"' if quotes => {
                    let value = self.double_quoted()?;
                    buffer.push_kept_str(&value);
                }
                _ => {
                    self.bump();
                    if c != self.lexer.escape {
                        buffer.push_splitting(c);
                        continue;
                    }
                    if self.raw_escapes {
                        buffer.push_kept(c);
                    }
                    // A lone escape at the very end is dropped.
                    let Some(escaped) = self.bump() else { break };
                    buffer.push_kept(escaped);
                }
            }
        }
        Ok(stop.is_none())
    }

    /// `'…'`: everything literal up to the next `'`; nothing escapes.
    fn single_quoted(&mut self) -> Result<String, ShellError> {
        self.bump();
        let mut out = String::new();
        if self.lexer.raw_quotes {
            out.push('\'');
        }
        loop {
            match self.bump() {
                None => {
                    return Err(ShellError::new(
                        "unexpected end of statement while looking for matching single-quote",
                    ));
                }
                Some('\'') => break,
                Some(c) => out.push(c),
            }
        }
        if self.lexer.raw_quotes {
            out.push('\'');
        }
        Ok(out)
    }

    /// `"…"`: `$` expands, and the escape token escapes only `"`, `$` and
    /// itself; before anything else it stays as written.
    fn double_quoted(&mut self) -> Result<String, ShellError> {
        self.bump();
        let mut out = String::new();
        if self.lexer.raw_quotes {
            out.push('"');
        }
        loop {
            match self.peek() {
                None => {
                    return Err(ShellError::new(
                        "unexpected end of statement while looking for matching double-quote",
                    ));
                }
                Some('"') => {
                    self.bump();
                    break;
                }
                Some('$') => out.push_str(&self.expand_parameter()?),
                Some(c) => {
                    self.bump();
                    let escape = self.lexer.escape;
                    match self.peek() {
                        Some(next)
                            if c == escape && (matches!(next, '"' | '$') || next == escape) =>
                        {
                            self.bump();
                            if self.raw_escapes {
                                out.push(c);
                            }
                            out.push(next);
                        }
                        _ => out.push(c),
                    }
                }
            }
        }
        if self.lexer.raw_quotes {
            out.push('"');
        }
        Ok(out)
    }
}

/// A word as error messages quote it: a multi-line word (a heredoc body) is
/// shown by its first line.
fn shorten(word: &str) -> String {
    match word.split_once('\n') {
        Some((first, _)) => format!("{first}..."),
        None => word.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use crate::frontend::shell::{Lexer, vars_from_entries};

    fn vars() -> Vec<(String, String)> {
        vars_from_entries(&["HOME=/root", "LIST=a b  c", "EMPTY="])
    }

    fn word(lexer: Lexer, text: &str) -> String {
        lexer.expand_word(text, &vars()).unwrap().value
    }

    fn words(lexer: Lexer, text: &str) -> Vec<String> {
        lexer.expand_words(text, &vars()).unwrap().words
    }

    fn error(lexer: Lexer, text: &str) -> String {
        lexer.expand_word(text, &vars()).unwrap_err().message
    }

    #[test]
    fn backtick_escape_leaves_backslashes_alone() {
        let lexer = Lexer::new('`');
        assert_eq!(word(lexer, r"C:\path\to"), r"C:\path\to");
        assert_eq!(word(lexer, r#""C:\dir\$HOME""#), r"C:\dir\/root");
        assert_eq!(word(lexer, r"'C:\'"), r"C:\");
    }

    #[test]
    fn backtick_escapes_dollar_quote_and_itself() {
        let lexer = Lexer::new('`');
        assert_eq!(word(lexer, "`$HOME"), "$HOME");
        assert_eq!(word(lexer, "\"`$HOME `\" ``\""), "$HOME \" `");
        assert_eq!(word(lexer, "\"a`tb\""), "a`tb");
        assert_eq!(word(lexer, "a`tb"), "atb");
        assert_eq!(word(lexer, "end`"), "end");
        assert_eq!(words(lexer, "a` b c"), ["a b", "c"]);
    }

    #[test]
    fn backtick_does_not_change_pattern_escapes() {
        let lexer = Lexer::new('`');
        let vars = vars_from_entries(&["V=*x"]);
        let expand = |text: &str| lexer.expand_word(text, &vars).unwrap().value;
        assert_eq!(expand(r"${V#\*}"), "x");
        assert_eq!(expand("${V#`*}"), "*x");
    }

    #[test]
    fn unquoted_expansions_split_and_quoted_ones_do_not() {
        let lexer = Lexer::default();
        assert_eq!(words(lexer, "x$LIST"), ["xa", "b", "c"]);
        assert_eq!(words(lexer, "x\"$LIST\""), ["xa b  c"]);
        assert_eq!(words(lexer, "${NOPE:-1 2}"), ["1", "2"]);
        assert_eq!(words(lexer, "'' a\"\" $EMPTY"), ["a"]);
        assert_eq!(word(lexer, "x$LIST"), "xa b  c");
    }

    #[test]
    fn raw_quotes_keep_the_quote_characters() {
        let lexer = Lexer {
            raw_quotes: true,
            ..Lexer::default()
        };
        assert_eq!(word(lexer, r#"a"b $HOME"'$HOME'"#), r#"a"b /root"'$HOME'"#);
        assert_eq!(words(lexer, r#""a b" c"#), [r#""a b""#, "c"]);
    }

    #[test]
    fn raw_escapes_keep_the_escape_token_once() {
        let lexer = Lexer {
            raw_escapes: true,
            ..Lexer::default()
        };
        assert_eq!(word(lexer, r"a\ b\$HOME"), r"a\ b\$HOME");
        assert_eq!(word(lexer, r#""a\"b\tc""#), r#"a\"b\tc"#);
        assert_eq!(words(lexer, r"a\ b c"), [r"a\ b", "c"]);
    }

    #[test]
    fn heredoc_bodies_keep_quotes_and_expand_variables() {
        let lexer = Lexer::for_heredoc();
        let body = "echo \"$HOME\" '$HOME' it's\nprintf \\$HOME\n";
        assert_eq!(
            word(lexer, body),
            "echo \"/root\" '/root' it's\nprintf $HOME\n"
        );
    }

    #[test]
    fn heredoc_errors_quote_the_first_line() {
        let message = error(Lexer::for_heredoc(), "first ${\nsecond\n");
        assert_eq!(
            message,
            "failed to process \"first ${...\": syntax error: bad substitution"
        );
    }

    #[test]
    fn unterminated_quotes_are_errors() {
        let lexer = Lexer::default();
        assert_eq!(
            error(lexer, "'abc"),
            "failed to process \"'abc\": \
             unexpected end of statement while looking for matching single-quote"
        );
        assert!(error(lexer, r#""abc\""#).ends_with("matching double-quote"));
    }

    #[test]
    fn lookups_are_recorded_once_each() {
        let lexer = Lexer::default();
        let expanded = lexer
            .expand_words("$HOME $HOME $EMPTY $NOPE \"$NOPE\"", &vars())
            .unwrap();
        assert_eq!(expanded.words, ["/root", "/root"]);
        assert_eq!(
            expanded.matched.into_iter().collect::<Vec<_>>(),
            ["EMPTY", "HOME"]
        );
        assert_eq!(expanded.unmatched.into_iter().collect::<Vec<_>>(), ["NOPE"]);
    }
}
