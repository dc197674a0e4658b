//! One compiled ignore pattern, as `moby/patternmatcher` builds it from a
//! line the file reader has prepared: trimmed again, cleaned again, its `!`
//! taken off, checked, and given one of Docker's four match kinds.
//!
//! The kinds matter because Docker's shortcuts do not always agree with its
//! own regexp: a pattern that starts with `**` and has only literal text after
//! it is matched as a plain suffix, so `**foo` matches `barfoo`, while
//! `a**foo` (a regexp) does not match `abarfoo`. Reading the file is left to
//! [`super::file`]; the wildcard automaton to [`super::glob`].

use std::fmt;

use super::error::PatternFault;
use super::glob::{Class, Glob, Token};
use crate::frontend::path::clean;

/// One line of an ignore file, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnorePattern {
    /// The cleaned pattern without its `!`, e.g. `docs/*.md`.
    text: String,
    exception: bool,
    line: usize,
    matcher: Matcher,
}

/// Docker's match kinds (`exactMatch`, `prefixMatch`, `suffixMatch`,
/// `regexpMatch`), each holding what it compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    /// No wildcard at all: the path equals the pattern.
    Exact(String),
    /// Literal text, then `**` at the end: the path starts with the text.
    Prefix(String),
    /// `**` first, then only literal text: the path ends with the text, or
    /// equals it without its leading `/`.
    Suffix(String),
    /// Anything else.
    Glob(Glob),
}

impl IgnorePattern {
    /// Compiles one prepared line (as `patternmatcher.New` does), where
    /// `line` is its 1-based number in the file. Returns `None` for a line
    /// that trims to nothing.
    pub(super) fn compile(line: usize, prepared: &str) -> Result<Option<Self>, PatternFault> {
        let trimmed = prepared.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        // Docker cleans with the `!` still on, so `!/` becomes a lone `!`.
        let cleaned = clean(trimmed);
        let (exception, text) = match cleaned.strip_prefix('!') {
            Some("") => return Err(PatternFault::EmptyException),
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        Ok(Some(Self {
            text: text.to_owned(),
            exception,
            line,
            matcher: Matcher::compile(text)?,
        }))
    }

    /// The cleaned pattern without its `!`.
    pub fn pattern(&self) -> &str {
        &self.text
    }

    /// Whether this is a `!` exception, which re-includes what it matches.
    pub fn is_exception(&self) -> bool {
        self.exception
    }

    /// The 1-based line of the ignore file it came from.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Whether the pattern matches `path` itself or one of its parent
    /// directories (Docker's `MatchesOrParentMatches` for one pattern).
    pub(super) fn matches_path_or_parent(&self, path: &str) -> bool {
        self.matcher.matches(path)
            || path
                .match_indices('/')
                .any(|(end, _)| self.matcher.matches(&path[..end]))
    }

    /// Whether the pattern could match some path below directory `dir`.
    pub(super) fn may_match_below(&self, dir: &str) -> bool {
        self.matcher.may_match_below(dir)
    }
}

impl fmt::Display for IgnorePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exception {
            f.write_str("!")?;
        }
        f.write_str(&self.text)
    }
}

impl Matcher {
    /// Chooses the match kind the way Docker's `Pattern.compile` does while
    /// it reads the pattern left to right, and builds the tokens.
    fn compile(text: &str) -> Result<Self, PatternFault> {
        #[derive(PartialEq)]
        enum Kind {
            Exact,
            Prefix,
            Suffix,
            Glob,
        }
        let mut kind = Kind::Exact;
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        let mut first = true;
        while let Some(c) = chars.next() {
            match c {
                '*' if chars.next_if_eq(&'*').is_some() => {
                    // `**/` is read as `**`.
                    chars.next_if_eq(&'/');
                    if chars.peek().is_none() {
                        tokens.push(Token::AnyTail);
                        kind = if kind == Kind::Exact {
                            Kind::Prefix
                        } else {
                            Kind::Glob
                        };
                    } else {
                        tokens.push(Token::AnyDirs);
                        kind = Kind::Glob;
                    }
                    if first {
                        kind = Kind::Suffix;
                    }
                }
                '*' => {
                    tokens.push(Token::AnyRun);
                    kind = Kind::Glob;
                }
                '?' => {
                    tokens.push(Token::AnyChar);
                    kind = Kind::Glob;
                }
                '\\' => {
                    let escaped = chars.next().ok_or(PatternFault::TrailingBackslash)?;
                    tokens.push(Token::Literal(escaped));
                    kind = Kind::Glob;
                }
                '[' => {
                    tokens.push(Token::Class(Class::parse(&mut chars)?));
                    kind = Kind::Glob;
                }
                ']' => {
                    tokens.push(Token::Literal(']'));
                    kind = Kind::Glob;
                }
                other => tokens.push(Token::Literal(other)),
            }
            first = false;
        }
        // Exact, Prefix and Suffix patterns hold no escapes, so Docker
        // compares with the pattern text itself.
        Ok(match kind {
            Kind::Exact => Self::Exact(text.to_owned()),
            Kind::Prefix => Self::Prefix(text.strip_suffix("**").unwrap_or(text).to_owned()),
            Kind::Suffix => Self::Suffix(text.strip_prefix("**").unwrap_or(text).to_owned()),
            Kind::Glob => Self::Glob(Glob::new(tokens)),
        })
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            Self::Exact(exact) => path == exact,
            Self::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Self::Suffix(suffix) => {
                path.ends_with(suffix.as_str()) || suffix.strip_prefix('/') == Some(path)
            }
            Self::Glob(glob) => glob.matches(path),
        }
    }

    fn may_match_below(&self, dir: &str) -> bool {
        let below = |text: &str| {
            text.strip_prefix(dir)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some()
        };
        match self {
            Self::Exact(exact) => below(exact) && exact.len() > dir.len() + 1,
            // `dir/` plus the rest of the prefix, or `dir/` already past it.
            Self::Prefix(prefix) => below(prefix) || format!("{dir}/").starts_with(prefix.as_str()),
            // `dir/x` followed by the suffix always qualifies.
            Self::Suffix(_) => true,
            Self::Glob(glob) => glob.may_match_below(dir),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(text: &str) -> IgnorePattern {
        IgnorePattern::compile(1, text).unwrap().unwrap()
    }

    #[test]
    fn compile_chooses_docker_kinds() {
        assert_eq!(compiled("a.b").matcher, Matcher::Exact("a.b".into()));
        assert_eq!(compiled("dir/**").matcher, Matcher::Prefix("dir/".into()));
        assert_eq!(compiled("abc**").matcher, Matcher::Prefix("abc".into()));
        assert_eq!(compiled("**").matcher, Matcher::Suffix(String::new()));
        assert_eq!(compiled("**/dir").matcher, Matcher::Suffix("/dir".into()));
        assert_eq!(compiled("**file").matcher, Matcher::Suffix("file".into()));
        for glob in ["**/**", "**/*.go", "a\\b", "a/**/b", "a*/**", "x]"] {
            assert!(
                matches!(compiled(glob).matcher, Matcher::Glob(_)),
                "{glob} should be a glob"
            );
        }
    }

    #[test]
    fn compile_strips_one_bang() {
        let pattern = compiled("!!x");
        assert!(pattern.is_exception());
        assert_eq!(pattern.pattern(), "!x");
        assert_eq!(pattern.to_string(), "!!x");
    }

    #[test]
    fn compile_skips_blank_and_refuses_lone_bang() {
        assert_eq!(IgnorePattern::compile(1, "  "), Ok(None));
        assert_eq!(
            IgnorePattern::compile(1, "!"),
            Err(PatternFault::EmptyException)
        );
        assert_eq!(
            IgnorePattern::compile(1, "!/"),
            Err(PatternFault::EmptyException)
        );
        assert_eq!(
            IgnorePattern::compile(1, "a\\"),
            Err(PatternFault::TrailingBackslash)
        );
    }

    #[test]
    fn matches_parents() {
        let pattern = compiled("a/b");
        assert!(pattern.matches_path_or_parent("a/b"));
        assert!(pattern.matches_path_or_parent("a/b/c/d"));
        assert!(!pattern.matches_path_or_parent("a"));
        assert!(!pattern.matches_path_or_parent("a/bc"));
    }

    #[test]
    fn suffix_kind_matches_inside_names() {
        // Docker's suffix shortcut: `**foo` is a plain "ends with".
        assert!(compiled("**foo").matches_path_or_parent("a/barfoo"));
        assert!(compiled("**/foo").matches_path_or_parent("foo"));
        assert!(!compiled("**/foo").matches_path_or_parent("barfoo"));
    }

    /// Where Docker's regexp translation leaks regexp syntax, xb keeps the
    /// `filepath.Match` meaning (see the module docs of `ignore`).
    #[test]
    fn regexp_leaks_stay_literal() {
        assert!(compiled("[*]").matches_path_or_parent("*"));
        assert!(compiled("[?]x").matches_path_or_parent("?x"));
        assert!(compiled("a^b*").matches_path_or_parent("a^bc"));
        assert!(compiled("x\\d").matches_path_or_parent("xd"));
        assert!(!compiled("x\\d").matches_path_or_parent("x1"));
    }

    #[test]
    fn may_match_below_by_kind() {
        assert!(compiled("a/b").may_match_below("a"));
        assert!(!compiled("a/b").may_match_below("a/b"));
        assert!(!compiled("ab/c").may_match_below("a"));
        assert!(compiled("a/b**").may_match_below("a"));
        assert!(compiled("a**").may_match_below("a/b"));
        assert!(!compiled("b**").may_match_below("a"));
        assert!(compiled("**c").may_match_below("a"));
        assert!(compiled("a/*/c").may_match_below("a/b"));
        assert!(!compiled("a/*/c").may_match_below("b"));
    }
}
