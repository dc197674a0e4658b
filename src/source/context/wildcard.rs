//! Go's `filepath.Match`, which BuildKit uses to expand wildcards in
//! COPY/ADD sources: `*` is any run of characters but `/`, `?` one
//! character but `/`, `[...]` one character in a class (`^` negates; it may
//! match `/`, as in Go), and `\` escapes. There is no `**`: two stars are two
//! runs. A pattern is checked whole when compiled, so a malformed one is an
//! error even where Go would report a plain mismatch.
//!
//! Splitting a source into its literal directory and its wildcard tail is
//! left to [`super::select`]; `.dockerignore` patterns, which differ, live
//! in [`crate::frontend::ignore`].

use std::iter::Peekable;
use std::str::Chars;

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`
    AnyChar,
    /// `*`
    AnyRun,
    /// `[...]`: whether `^` negated it, and its inclusive ranges.
    Class(bool, Vec<(char, char)>),
}

/// A compiled `filepath.Match` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    tokens: Vec<Token>,
}

/// Whether a path component has a wildcard character that is not escaped
/// (BuildKit's `containsWildcards`).
pub fn has_wildcard(text: &str) -> bool {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

impl Wildcard {
    /// Compiles `pattern`, or says what is wrong with it.
    pub fn compile(pattern: &str) -> Result<Self, &'static str> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '*' => Token::AnyRun,
                '?' => Token::AnyChar,
                '\\' => Token::Literal(chars.next().ok_or("trailing `\\` escapes nothing")?),
                '[' => parse_class(&mut chars)?,
                other => Token::Literal(other),
            });
        }
        Ok(Self { tokens })
    }

    /// Whether the pattern matches all of `name`.
    pub fn matches(&self, name: &str) -> bool {
        let count = self.tokens.len();
        let mut states = vec![false; count + 1];
        states[0] = true;
        self.close(&mut states);
        for c in name.chars() {
            let mut next = vec![false; count + 1];
            for (index, token) in self.tokens.iter().enumerate() {
                if !states[index] {
                    continue;
                }
                match token {
                    Token::Literal(literal) if *literal == c => next[index + 1] = true,
                    Token::AnyChar if c != '/' => next[index + 1] = true,
                    Token::AnyRun if c != '/' => next[index] = true,
                    Token::Class(negated, ranges)
                        if ranges.iter().any(|&(low, high)| low <= c && c <= high) != *negated =>
                    {
                        next[index + 1] = true;
                    }
                    _ => {}
                }
            }
            self.close(&mut next);
            if !next.contains(&true) {
                return false;
            }
            states = next;
        }
        states[count]
    }

    /// Adds the states reachable by letting a `*` match nothing.
    fn close(&self, states: &mut [bool]) {
        for (index, token) in self.tokens.iter().enumerate() {
            if states[index] && *token == Token::AnyRun {
                states[index + 1] = true;
            }
        }
    }
}

/// Reads a class after its `[`, through its `]`, as Go's `matchChunk` does.
fn parse_class(chars: &mut Peekable<Chars<'_>>) -> Result<Token, &'static str> {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    loop {
        if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
            return Ok(Token::Class(negated, ranges));
        }
        let low = class_char(chars)?;
        let high = if chars.next_if_eq(&'-').is_some() {
            class_char(chars)?
        } else {
            low
        };
        ranges.push((low, high));
    }
}

/// One character of a class (Go's `getEsc`).
fn class_char(chars: &mut Peekable<Chars<'_>>) -> Result<char, &'static str> {
    match chars.next() {
        None => Err("unterminated character class"),
        Some('-' | ']') => Err("`-` or `]` in a character class must be escaped"),
        Some('\\') => chars.next().ok_or("unterminated character class"),
        Some(c) => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        Wildcard::compile(pattern).unwrap().matches(name)
    }

    /// Cases from Go's `filepath` match tests.
    #[test]
    fn wildcard_matches_like_go() {
        for (pattern, name, want) in [
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("*x", "xxx", true),
            ("*.go", ".go", true),
        ] {
            assert_eq!(matches(pattern, name), want, "{pattern:?} vs {name:?}");
        }
    }

    #[test]
    fn wildcard_refuses_bad_patterns() {
        for bad in [
            "[]a]", "[-]", "[x-]", "[", "[^", "[^bc", "a[", "\\", "[a-b-c]",
        ] {
            assert!(Wildcard::compile(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn has_wildcard_skips_escapes() {
        assert!(has_wildcard("*.go"));
        assert!(has_wildcard("a[b]"));
        assert!(!has_wildcard("a\\*b"));
        assert!(!has_wildcard("plain"));
    }
}
