//! Shell glob patterns as `${V#p}`, `${V%p}` and `${V/p/r}` use them: `*`
//! (any run), `?` (any one character) and `\` escapes. There are no `[…]`
//! classes, as in BuildKit. This file owns parsing and matching; the lexer
//! decides which text is a pattern and hands it over with its escapes kept.
//!
//! The escape here is always `\`, whatever the Dockerfile's escape token: a
//! pattern may escape only `*`, `?` and `\`, and a `\` before `}` or `/` (which
//! had to be escaped to sit inside `${…}`) is dropped. Any other escape is an
//! error, as in BuildKit.
//!
//! Matching runs a small set-of-states automaton over characters, so every
//! length at which the pattern matches is known in one pass. Suffixes are
//! matched by running the reversed pattern over the reversed text.

/// One element of a parsed pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
    /// This character, exactly.
    Literal(char),
    /// `?`: any one character.
    AnyChar,
    /// `*`: any run of characters, possibly empty.
    AnyRun,
}

/// A parsed shell glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    tokens: Vec<Token>,
}

/// Why a pattern could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum PatternError {
    #[error("invalid escape '\\{0}': only '\\*', '\\?' and '\\\\' are allowed")]
    InvalidEscape(char),
    #[error("the pattern ends with a lone '\\'")]
    TrailingEscape,
}

impl Pattern {
    /// Parses `text`, whose `\` escapes are still in place.
    pub(super) fn parse(text: &str) -> Result<Self, PatternError> {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' => Token::AnyRun,
                '?' => Token::AnyChar,
                '\\' => match chars.peek().copied() {
                    // The escape only got the character past `${…}`'s own syntax.
                    Some('}' | '/') => continue,
                    Some(escaped @ ('*' | '?' | '\\')) => {
                        chars.next();
                        Token::Literal(escaped)
                    }
                    Some(other) => return Err(PatternError::InvalidEscape(other)),
                    None => return Err(PatternError::TrailingEscape),
                },
                other => Token::Literal(other),
            };
            tokens.push(token);
        }
        Ok(Self { tokens })
    }

    #[cfg(test)]
    pub(super) fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// `${V#p}` (shortest) or `${V##p}` (longest): `value` without the prefix
    /// the pattern matches, or all of `value` when none does.
    pub(super) fn strip_prefix<'v>(&self, value: &'v str, longest: bool) -> &'v str {
        let lengths = match_lengths(&self.tokens, value.chars());
        match pick(&lengths, longest) {
            Some(length) => &value[length..],
            None => value,
        }
    }

    /// `${V%p}` (shortest) or `${V%%p}` (longest): `value` without the suffix
    /// the pattern matches, or all of `value` when none does.
    pub(super) fn strip_suffix<'v>(&self, value: &'v str, longest: bool) -> &'v str {
        let reversed: Vec<Token> = self.tokens.iter().rev().copied().collect();
        let lengths = match_lengths(&reversed, value.chars().rev());
        match pick(&lengths, longest) {
            Some(length) => &value[..value.len() - length],
            None => value,
        }
    }

    /// `${V/p/r}` (first match) or `${V//p/r}` (every match). A match is the
    /// leftmost, and the longest there. As in BuildKit, a pattern that can
    /// match the empty string matches between characters too, but not right
    /// after another match.
    pub(super) fn replace(&self, value: &str, replacement: &str, all: bool) -> String {
        if !all {
            return match self.find(value, 0) {
                Some((start, end)) => [&value[..start], replacement, &value[end..]].concat(),
                None => value.to_owned(),
            };
        }
        let mut out = String::with_capacity(value.len());
        let mut copied = 0;
        let mut search = 0;
        while search <= value.len() {
            let Some((start, end)) = self.find(value, search) else {
                break;
            };
            out.push_str(&value[copied..start]);
            if end > copied || start == 0 {
                out.push_str(replacement);
            }
            copied = end;
            search = if end == search {
                // An empty match: step over one character.
                search + value[search..].chars().next().map_or(1, char::len_utf8)
            } else {
                end
            };
        }
        out.push_str(&value[copied..]);
        out
    }

    /// The leftmost match starting at or after byte `from`, as byte offsets.
    fn find(&self, value: &str, from: usize) -> Option<(usize, usize)> {
        let starts = value[from..]
            .char_indices()
            .map(|(offset, _)| from + offset)
            .chain(std::iter::once(value.len()));
        for start in starts {
            let lengths = match_lengths(&self.tokens, value[start..].chars());
            if let Some(&length) = lengths.last() {
                return Some((start, start + length));
            }
        }
        None
    }
}

/// The shortest or the longest of `lengths` (which ascend).
fn pick(lengths: &[usize], longest: bool) -> Option<usize> {
    if longest {
        lengths.last().copied()
    } else {
        lengths.first().copied()
    }
}

/// Every byte length of a prefix of `text` that `tokens` match entirely, in
/// ascending order.
fn match_lengths(tokens: &[Token], text: impl Iterator<Item = char>) -> Vec<usize> {
    let accept = tokens.len();
    // `states[i]`: the first `i` tokens can match the text read so far.
    let mut states = vec![false; accept + 1];
    states[0] = true;
    close_over_runs(tokens, &mut states);
    let mut lengths = Vec::new();
    if states[accept] {
        lengths.push(0);
    }
    let mut consumed = 0;
    for c in text {
        let mut next = vec![false; accept + 1];
        for (index, token) in tokens.iter().enumerate() {
            if !states[index] {
                continue;
            }
            match *token {
                Token::AnyRun => next[index] = true,
                Token::AnyChar => next[index + 1] = true,
                Token::Literal(literal) if literal == c => next[index + 1] = true,
                Token::Literal(_) => {}
            }
        }
        close_over_runs(tokens, &mut next);
        if !next.contains(&true) {
            break;
        }
        consumed += c.len_utf8();
        if next[accept] {
            lengths.push(consumed);
        }
        states = next;
    }
    lengths
}

/// A `*` may match nothing, so whoever reaches it has also passed it.
fn close_over_runs(tokens: &[Token], states: &mut [bool]) {
    for (index, token) in tokens.iter().enumerate() {
        if states[index] && *token == Token::AnyRun {
            states[index + 1] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> Pattern {
        Pattern::parse(text).unwrap()
    }

    #[test]
    fn parse_keeps_escaped_wildcards_literal() {
        assert_eq!(
            pattern(r"a\*\?\\*?").tokens(),
            [
                Token::Literal('a'),
                Token::Literal('*'),
                Token::Literal('?'),
                Token::Literal('\\'),
                Token::AnyRun,
                Token::AnyChar,
            ]
        );
    }

    #[test]
    fn parse_drops_the_escape_before_brace_and_slash() {
        assert_eq!(
            pattern(r"\}\/").tokens(),
            [Token::Literal('}'), Token::Literal('/')]
        );
    }

    #[test]
    fn parse_rejects_other_escapes() {
        assert_eq!(Pattern::parse(r"\x"), Err(PatternError::InvalidEscape('x')));
        assert_eq!(Pattern::parse("ab\\"), Err(PatternError::TrailingEscape));
        assert_eq!(Pattern::parse(r"\\\"), Err(PatternError::TrailingEscape));
    }

    #[test]
    fn strip_prefix_shortest_and_longest() {
        let glob = pattern("*/");
        assert_eq!(glob.strip_prefix("a/b/c", false), "b/c");
        assert_eq!(glob.strip_prefix("a/b/c", true), "c");
        assert_eq!(glob.strip_prefix("abc", true), "abc");
    }

    #[test]
    fn strip_suffix_shortest_and_longest() {
        let glob = pattern(".*");
        assert_eq!(glob.strip_suffix("a.tar.gz", false), "a.tar");
        assert_eq!(glob.strip_suffix("a.tar.gz", true), "a");
    }

    #[test]
    fn strip_handles_multibyte_text() {
        assert_eq!(pattern("?").strip_prefix("한국어", false), "국어");
        assert_eq!(pattern("?어").strip_suffix("한국어", false), "한");
    }

    #[test]
    fn wildcards_match_newlines() {
        assert_eq!(pattern("*\n").strip_prefix("a\nb", false), "b");
    }

    #[test]
    fn replace_first_and_all() {
        let glob = pattern("o?");
        assert_eq!(glob.replace("foo boo", "0", false), "f0 boo");
        assert_eq!(glob.replace("foo boo", "0", true), "f0 b0");
    }

    #[test]
    fn replace_takes_the_longest_match_at_the_leftmost_start() {
        assert_eq!(pattern("a*b").replace("xaabab", "-", false), "x-");
    }

    #[test]
    fn replace_with_an_empty_pattern_fills_every_gap() {
        assert_eq!(pattern("").replace("ab", "-", true), "-a-b-");
        assert_eq!(pattern("").replace("ab", "-", false), "-ab");
        assert_eq!(pattern("").replace("", "-", true), "-");
    }

    #[test]
    fn replace_skips_an_empty_match_right_after_a_match() {
        assert_eq!(pattern("*").replace("ab", "-", true), "-");
        assert_eq!(pattern("b*").replace("abab", "-", true), "a-");
    }
}
