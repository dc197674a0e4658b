//! Shell-word processing as BuildKit's Dockerfile lexer does it: `$V`, `${V}`,
//! the `${V:-w}` family, pattern removal and replacement, quotes, escapes and
//! word splitting. It reads variables through [`Vars`] and records which names
//! it looked up, for the `UndefinedVar` lint.
//!
//! (Placeholder: the shell helper replaces this body.)

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where variable values come from.
pub trait Vars {
    /// The value of `name`, or `None` when it is unset (set-but-empty is `Some("")`).
    fn lookup(&self, name: &str) -> Option<&str>;
}

impl Vars for BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Vars for HashMap<String, String> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// `KEY=value` pairs in order; a later pair wins over an earlier one.
impl Vars for [(String, String)] {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl Vars for Vec<(String, String)> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.as_slice().lookup(name)
    }
}

/// How words are processed. [`Lexer::new`] gives BuildKit's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "the four switches of BuildKit's lexer"
)]
pub struct Lexer {
    /// The escape token: `\`, or `` ` `` under `# escape=` + backtick.
    pub escape: char,
    /// Keep quote characters in the result.
    pub raw_quotes: bool,
    /// Keep escape tokens in the result.
    pub raw_escapes: bool,
    /// Leave `$UNSET` as written instead of expanding it to "".
    pub skip_unset_env: bool,
    /// Treat quotes as ordinary characters (COPY/ADD heredoc bodies).
    pub skip_process_quotes: bool,
}

/// A word after expansion, with the variable names that were looked up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expanded {
    pub value: String,
    /// Names looked up and set (possibly to "").
    pub matched: BTreeSet<String>,
    /// Names looked up and unset.
    pub unmatched: BTreeSet<String>,
}

/// A word after expansion and splitting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpandedWords {
    pub words: Vec<String>,
    pub matched: BTreeSet<String>,
    pub unmatched: BTreeSet<String>,
}

/// A word that cannot be expanded: bad syntax or a `${V:?message}` that fired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ShellError {
    pub message: String,
}

impl Lexer {
    pub fn new(escape: char) -> Self {
        Self {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset_env: false,
            skip_process_quotes: false,
        }
    }

    /// Removes quotes and expands variables; never splits (BuildKit `ProcessWord`).
    pub fn expand_word(&self, word: &str, vars: &dyn Vars) -> Result<Expanded, ShellError> {
        let _ = (word, vars);
        todo!("shell")
    }

    /// Expands and splits on unquoted whitespace (BuildKit `ProcessWords`).
    pub fn expand_words(&self, word: &str, vars: &dyn Vars) -> Result<ExpandedWords, ShellError> {
        let _ = (word, vars);
        todo!("shell")
    }
}
