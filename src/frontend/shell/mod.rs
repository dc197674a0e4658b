//! Shell-word processing as BuildKit's Dockerfile lexer does it: `$V`, `${V}`,
//! the `${V:-w}` family, pattern removal and replacement, quotes, escapes and
//! word splitting. It reads variables through [`Vars`] and records which names
//! it looked up, for the `UndefinedVar` lint.
//!
//! This file is the API: [`Lexer`] and its switches, [`Vars`], and what an
//! expansion returns. `lexer` scans a word (quotes, escapes, nested words),
//! `parameter` expands `$V` and `${V…}`, `pattern` matches the globs of `#`,
//! `%` and `/`, and `words` splits. Which words of which instruction get
//! expanded, and with which variables, is `lower`'s business.
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use xb::frontend::shell::Lexer;
//!
//! let vars = BTreeMap::from([("VERSION".to_owned(), "1.2".to_owned())]);
//! let lexer = Lexer::new('\\');
//! let expanded = lexer.expand_word("app-${VERSION}${SUFFIX:-.tar.gz}", &vars)?;
//! assert_eq!(expanded.value, "app-1.2.tar.gz");
//! assert!(expanded.unmatched.contains("SUFFIX"));
//! # Ok::<(), xb::frontend::shell::ShellError>(())
//! ```

mod lexer;
mod parameter;
mod pattern;
mod words;

#[cfg(test)]
mod conformance;

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

/// A borrowed slice of pairs, so that it can be passed as `&dyn Vars`.
impl Vars for &[(String, String)] {
    fn lookup(&self, name: &str) -> Option<&str> {
        (**self).lookup(name)
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
    /// Keep escape tokens in the result. As in BuildKit, the words of
    /// `${V-w}`, `${V+w}` and `${V?w}` still lose theirs.
    pub raw_escapes: bool,
    /// Leave `$UNSET` and every `${UNSET…}` form exactly as written instead of
    /// expanding them (`${UNSET:?}` does not fail, `${UNSET:0:2}` is kept).
    pub skip_unset_env: bool,
    /// Treat quotes as ordinary characters (COPY/ADD heredoc bodies).
    pub skip_process_quotes: bool,
}

/// A word after expansion, with the variable names that were looked up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expanded {
    /// The word with quotes removed and variables expanded.
    pub value: String,
    /// Names looked up and set (possibly to "").
    pub matched: BTreeSet<String>,
    /// Names looked up and unset.
    pub unmatched: BTreeSet<String>,
}

/// A word after expansion and splitting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpandedWords {
    /// The words, split on unquoted whitespace; never an empty word.
    pub words: Vec<String>,
    /// Names looked up and set (possibly to "").
    pub matched: BTreeSet<String>,
    /// Names looked up and unset.
    pub unmatched: BTreeSet<String>,
}

/// A word that cannot be expanded: bad syntax or a `${V:?message}` that fired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ShellError {
    /// What went wrong, quoting the word, e.g.
    /// `failed to process "${FOO:?}": FOO: is not allowed to be unset`.
    pub message: String,
}

impl ShellError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Turns `KEY=value` entries (a process environment, BuildKit
/// `EnvsFromSlice`) into [`Vars`]. An entry without `=` sets the key to "",
/// and of duplicate keys the last one wins.
pub fn vars_from_entries<S: AsRef<str>>(entries: &[S]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.as_ref();
            let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

impl Default for Lexer {
    /// BuildKit's defaults with the `\` escape token.
    fn default() -> Self {
        Self::new('\\')
    }
}

impl Lexer {
    /// A lexer with the escape token `escape` and BuildKit's defaults: quotes
    /// and escape tokens are removed and unset variables expand to "".
    pub fn new(escape: char) -> Self {
        Self {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset_env: false,
            skip_process_quotes: false,
        }
    }

    /// The lexer for the body of a COPY or ADD heredoc whose delimiter is not
    /// quoted: `\` escapes whatever the Dockerfile's escape token, and quotes
    /// are ordinary text. Use it with [`expand_word`](Self::expand_word).
    pub fn for_heredoc() -> Self {
        Self {
            skip_process_quotes: true,
            ..Self::new('\\')
        }
    }

    /// Removes quotes and expands variables; never splits (BuildKit `ProcessWord`).
    pub fn expand_word(&self, word: &str, vars: &dyn Vars) -> Result<Expanded, ShellError> {
        let scanned = lexer::Scan::new(self, vars, word).run()?;
        Ok(Expanded {
            value: scanned.value,
            matched: scanned.matched,
            unmatched: scanned.unmatched,
        })
    }

    /// Expands and splits on unquoted whitespace (BuildKit `ProcessWords`).
    /// Whitespace splits when it is written unquoted or comes from an unquoted
    /// expansion; quoted or escaped whitespace does not, and empty words are
    /// dropped.
    pub fn expand_words(&self, word: &str, vars: &dyn Vars) -> Result<ExpandedWords, ShellError> {
        let scanned = lexer::Scan::new(self, vars, word).run()?;
        Ok(ExpandedWords {
            words: scanned.words,
            matched: scanned.matched,
            unmatched: scanned.unmatched,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_from_entries_sets_bare_keys_and_keeps_the_last_duplicate() {
        let vars = vars_from_entries(&["bare", "empty=", "a=1=2", "dup=x", "dup=y"]);
        assert_eq!(vars.lookup("bare"), Some(""));
        assert_eq!(vars.lookup("empty"), Some(""));
        assert_eq!(vars.lookup("a"), Some("1=2"));
        assert_eq!(vars.lookup("dup"), Some("y"));
        assert_eq!(vars.lookup("missing"), None);
    }

    #[test]
    fn lexer_reads_every_vars_impl() {
        let lexer = Lexer::default();
        let pairs = vec![("A".to_owned(), "1".to_owned())];
        let tree: BTreeMap<_, _> = pairs.iter().cloned().collect();
        let hash: HashMap<_, _> = pairs.iter().cloned().collect();
        for vars in [&pairs as &dyn Vars, &pairs.as_slice(), &tree, &hash] {
            assert_eq!(lexer.expand_word("$A$B", vars).unwrap().value, "1");
        }
    }

    #[test]
    fn expand_words_and_expand_word_agree_on_lookups() {
        let lexer = Lexer::default();
        let vars = vars_from_entries(&["A=x y"]);
        let word = lexer.expand_word("$A ${B:-z}", &vars).unwrap();
        let words = lexer.expand_words("$A ${B:-z}", &vars).unwrap();
        assert_eq!(word.value, "x y z");
        assert_eq!(words.words, ["x", "y", "z"]);
        assert_eq!(word.matched, words.matched);
        assert_eq!(word.unmatched, words.unmatched);
    }

    #[test]
    fn shell_error_displays_its_message() {
        let error = Lexer::default()
            .expand_word("${A:?}", &Vec::new())
            .unwrap_err();
        assert_eq!(error.to_string(), error.message);
    }
}
