//! One wildcard pattern as a token list, and the automaton that runs it over a
//! path. This is the "regexp" kind of Docker's pattern: `*`, `?`, `[...]`,
//! `\` escapes and `**`. The syntax rules are Go's `filepath.Match` (which
//! Docker calls to check a pattern); the matching rules are those of the
//! regular expression Docker translates the pattern into.
//!
//! Deciding which of Docker's four match kinds a pattern has, and cleaning it,
//! is left to [`super::pattern`].

use std::iter::Peekable;
use std::str::Chars;

use super::error::PatternFault;

/// One piece of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    /// A character that must appear as is (also an escaped one, `\*`).
    Literal(char),
    /// `?`: one character other than `/`.
    AnyChar,
    /// `*`: any run of characters other than `/`, the empty one included.
    AnyRun,
    /// `[...]`: one character in (or, with `^`, not in) the class. It may be `/`.
    Class(Class),
    /// `**` (with the `/` after it, if any) followed by more pattern: nothing,
    /// or any text that ends in `/` (Docker's `(.*/)?`).
    AnyDirs,
    /// `**` at the end: any text (Docker's `.*`).
    AnyTail,
}

/// A bracket expression: its ranges, and whether `^` negated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Class {
    negated: bool,
    /// Inclusive ranges; a single character is a range of one.
    ranges: Vec<(char, char)>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        let listed = self.ranges.iter().any(|&(low, high)| low <= c && c <= high);
        listed != self.negated
    }

    /// Reads a class whose `[` has been consumed, through its closing `]`.
    ///
    /// Follows `filepath.Match`: `^` right after `[` negates (`!` does not),
    /// `\` escapes the next character, a member cannot begin with an
    /// unescaped `-` or (first) `]`, and a range needs both ends. A reversed
    /// range such as `z-a` passes Go's check, but Docker's regexp fails to
    /// compile it when matching starts, so it is refused here.
    pub(super) fn parse(chars: &mut Peekable<Chars<'_>>) -> Result<Self, PatternFault> {
        let negated = chars.next_if_eq(&'^').is_some();
        let mut ranges = Vec::new();
        loop {
            if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
                return Ok(Self { negated, ranges });
            }
            let low = match Self::member(chars)? {
                Member::Char(c) => c,
                Member::Dash => return Err(PatternFault::UnescapedDash),
                Member::Close => return Err(PatternFault::EmptyClass),
            };
            let high = if chars.next_if_eq(&'-').is_some() {
                match Self::member(chars)? {
                    Member::Char(c) => c,
                    Member::Dash => return Err(PatternFault::UnescapedDash),
                    Member::Close => return Err(PatternFault::OpenRange),
                }
            } else {
                low
            };
            if low > high {
                return Err(PatternFault::ReversedRange { low, high });
            }
            ranges.push((low, high));
        }
    }

    /// One character of a class, unescaped, as Go's `getEsc` reads it.
    fn member(chars: &mut Peekable<Chars<'_>>) -> Result<Member, PatternFault> {
        match chars.next() {
            None => Err(PatternFault::UnterminatedClass),
            Some('-') => Ok(Member::Dash),
            Some(']') => Ok(Member::Close),
            Some('\\') => chars
                .next()
                .map(Member::Char)
                .ok_or(PatternFault::UnterminatedClass),
            Some(c) => Ok(Member::Char(c)),
        }
    }
}

/// What [`Class::member`] found.
enum Member {
    Char(char),
    Dash,
    Close,
}

/// A compiled wildcard pattern, matched against a whole slash-separated path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    pub(super) fn new(tokens: Vec<Token>) -> Self {
        Self { tokens }
    }

    /// Whether the pattern matches all of `path`.
    pub(super) fn matches(&self, path: &str) -> bool {
        let states = self.run(path.chars());
        states.at[self.tokens.len()]
    }

    /// Whether the pattern could match some path that starts with `dir/` and
    /// goes on below it: after reading `dir/`, a token is still waiting for
    /// input. (A class that no character satisfies counts as satisfiable;
    /// erring towards "could" only costs a walk into a directory.)
    pub(super) fn may_match_below(&self, dir: &str) -> bool {
        let states = self.run(dir.chars().chain(['/']));
        let waiting = self.tokens.len();
        states.at[..waiting].iter().any(|&at| at) || states.inside.iter().any(|&inside| inside)
    }

    /// Runs the automaton over `input` and returns where it stands after.
    fn run(&self, input: impl Iterator<Item = char>) -> States {
        let mut states = States::start(self.tokens.len());
        self.close(&mut states);
        for c in input {
            states = self.step(&states, c);
            self.close(&mut states);
            if states.is_dead() {
                break;
            }
        }
        states
    }

    /// Adds the states reachable without reading: past `*`, `**` and `**/`,
    /// which may all match nothing.
    fn close(&self, states: &mut States) {
        for (index, token) in self.tokens.iter().enumerate() {
            if states.at[index] && matches!(token, Token::AnyRun | Token::AnyDirs | Token::AnyTail)
            {
                states.at[index + 1] = true;
            }
        }
    }

    /// The states after reading `c` from `states`.
    fn step(&self, states: &States, c: char) -> States {
        let mut next = States::empty(self.tokens.len());
        for (index, token) in self.tokens.iter().enumerate() {
            let at = states.at[index];
            match token {
                Token::Literal(literal) if at && c == *literal => next.at[index + 1] = true,
                Token::AnyChar if at && c != '/' => next.at[index + 1] = true,
                Token::Class(class) if at && class.contains(c) => next.at[index + 1] = true,
                Token::AnyRun if at && c != '/' => next.at[index] = true,
                // Go's `.` does not match a newline.
                Token::AnyTail if at && c != '\n' => next.at[index] = true,
                Token::AnyDirs if (at || states.inside[index]) && c != '\n' => {
                    next.inside[index] = true;
                    if c == '/' {
                        next.at[index + 1] = true;
                    }
                }
                _ => {}
            }
        }
        next
    }
}

/// Where the automaton may stand: `at[i]` before token `i` (`at[len]` means
/// the whole pattern matched), `inside[i]` within the text of `**` token `i`.
struct States {
    at: Vec<bool>,
    inside: Vec<bool>,
}

impl States {
    fn empty(tokens: usize) -> Self {
        Self {
            at: vec![false; tokens + 1],
            inside: vec![false; tokens],
        }
    }

    fn start(tokens: usize) -> Self {
        let mut states = Self::empty(tokens);
        states.at[0] = true;
        states
    }

    fn is_dead(&self) -> bool {
        !self.at.iter().chain(&self.inside).any(|&state| state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> Result<Class, PatternFault> {
        Class::parse(&mut text.chars().peekable())
    }

    fn glob(tokens: Vec<Token>) -> Glob {
        Glob::new(tokens)
    }

    #[test]
    fn class_reads_ranges_and_escapes() {
        let parsed = class(r"a-c\]x]").unwrap();
        assert!(!parsed.negated);
        assert_eq!(parsed.ranges, vec![('a', 'c'), (']', ']'), ('x', 'x')]);
    }

    #[test]
    fn class_negates_with_caret_only() {
        assert!(class("^a]").unwrap().negated);
        let bang = class("!a]").unwrap();
        assert!(!bang.negated);
        assert!(bang.contains('!'));
    }

    #[test]
    fn class_keeps_wildcards_literal() {
        let parsed = class("*?[]").unwrap();
        assert!(parsed.contains('*') && parsed.contains('?') && parsed.contains('['));
        assert!(!parsed.contains('a'));
    }

    #[test]
    fn class_refuses_what_go_refuses() {
        assert_eq!(class("]"), Err(PatternFault::EmptyClass));
        assert_eq!(class("^]"), Err(PatternFault::EmptyClass));
        assert_eq!(class("-a]"), Err(PatternFault::UnescapedDash));
        assert_eq!(class("a-b-c]"), Err(PatternFault::UnescapedDash));
        assert_eq!(class("a-]"), Err(PatternFault::OpenRange));
        assert_eq!(class("abc"), Err(PatternFault::UnterminatedClass));
        assert_eq!(class("a\\"), Err(PatternFault::UnterminatedClass));
        assert_eq!(
            class("z-a]"),
            Err(PatternFault::ReversedRange {
                low: 'z',
                high: 'a'
            })
        );
    }

    #[test]
    fn any_dirs_needs_a_slash_or_nothing() {
        // a**b, as Docker compiles it: ^a(.*/)?b$
        let pattern = glob(vec![
            Token::Literal('a'),
            Token::AnyDirs,
            Token::Literal('b'),
        ]);
        assert!(pattern.matches("ab"));
        assert!(pattern.matches("a/b"));
        assert!(pattern.matches("ax/y/b"));
        assert!(!pattern.matches("axb"));
        assert!(!pattern.matches("ax\n/b"));
    }

    #[test]
    fn any_run_stops_at_slash() {
        let pattern = glob(vec![Token::AnyRun, Token::Literal('c')]);
        assert!(pattern.matches("abc"));
        assert!(pattern.matches("c"));
        assert!(!pattern.matches("a/c"));
    }

    #[test]
    fn any_tail_takes_slashes() {
        let pattern = glob(vec![Token::Literal('a'), Token::AnyRun, Token::AnyTail]);
        assert!(pattern.matches("a/b/c"));
        assert!(pattern.matches("a"));
    }

    #[test]
    fn backtracking_patterns_stay_linear() {
        let mut tokens = Vec::new();
        for _ in 0..30 {
            tokens.extend([Token::AnyRun, Token::Literal('a')]);
        }
        tokens.push(Token::Literal('b'));
        let pattern = glob(tokens);
        assert!(!pattern.matches(&"a".repeat(200)));
    }

    #[test]
    fn may_match_below_reads_the_dir_and_a_slash() {
        let pattern = glob(vec![
            Token::Literal('a'),
            Token::Literal('/'),
            Token::AnyRun,
        ]);
        assert!(pattern.may_match_below("a"));
        assert!(!pattern.may_match_below("b"));
        assert!(!pattern.may_match_below("a/x"));
        // a[/] matches "a/" only, which names nothing below "a".
        let slash = glob(vec![
            Token::Literal('a'),
            Token::Class(class("/]").unwrap()),
        ]);
        assert!(!slash.may_match_below("a"));
    }
}
