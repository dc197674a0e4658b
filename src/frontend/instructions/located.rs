//! Placing an error on the right line and column of one instruction: the
//! keyword, a flag or an argument word, found by searching the physical lines
//! the instruction covers.

use crate::frontend::parser::Node;
use crate::frontend::{ParseError, Source, Span};

/// One instruction's node with its source, to build located errors from.
#[derive(Clone, Copy)]
pub struct Located<'a> {
    pub source: &'a Source,
    pub node: &'a Node,
}

impl<'a> Located<'a> {
    pub fn new(source: &'a Source, node: &'a Node) -> Self {
        Self { source, node }
    }

    fn first_line(&self) -> usize {
        self.node.span.start.line
    }

    fn last_line(&self) -> usize {
        self.node.span.end.line.max(self.node.span.start.line)
    }

    /// The span of the keyword as written.
    pub fn keyword_span(&self) -> Span {
        let line = self.first_line();
        let column = self
            .source
            .column_of(line, &self.node.keyword)
            .unwrap_or(self.node.span.start.column.max(1));
        Span::on_line(line, column, self.node.keyword.chars().count())
    }

    /// The span of the `nth` (0-based) occurrence of `needle` within the
    /// instruction, or the keyword's span when it cannot be found (for
    /// instance when the text was written with escapes or quotes).
    pub fn span_of_nth(&self, needle: &str, nth: usize) -> Span {
        if needle.is_empty() {
            return self.keyword_span();
        }
        let mut seen = 0;
        for line in self.first_line()..=self.last_line() {
            let Some(text) = self.source.line(line) else {
                break;
            };
            let mut offset = 0;
            // The keyword itself is never what we look for.
            if line == self.first_line() {
                if let Some(at) = text.find(self.node.keyword.as_str()) {
                    offset = at + self.node.keyword.len();
                }
            }
            while let Some(found) = text.get(offset..).and_then(|rest| rest.find(needle)) {
                let byte = offset + found;
                if seen == nth {
                    let column = text[..byte].chars().count() + 1;
                    return Span::on_line(line, column, needle.chars().count());
                }
                seen += 1;
                offset = byte + needle.len();
            }
        }
        self.keyword_span()
    }

    pub fn span_of(&self, needle: &str) -> Span {
        self.span_of_nth(needle, 0)
    }

    /// An error about the instruction as a whole, pointing at its keyword.
    pub fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.source, self.keyword_span(), message)
    }

    /// An error pointing at `needle` within the instruction.
    pub fn error_at(&self, needle: &str, message: impl Into<String>) -> ParseError {
        ParseError::new(self.source, self.span_of(needle), message)
    }

    /// An error pointing at the flag `--name` (its `nth` use).
    pub fn flag_error(&self, name: &str, nth: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(
            self.source,
            self.span_of_nth(&format!("--{name}"), nth),
            message,
        )
    }
}
