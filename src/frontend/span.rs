//! Positions and ranges inside a Dockerfile. Lines and columns are 1-based;
//! columns count characters, not bytes.

use serde::Serialize;

/// One place in a Dockerfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Position {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// A range of a Dockerfile, from `start` to `end` inclusive of both lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Span {
    pub start: Position,
    pub end: Position,
}

impl Position {
    pub fn new(line: usize, column: usize) -> Self {
        Self { line, column }
    }
}

impl Span {
    pub fn new(start: Position, end: Position) -> Self {
        Self { start, end }
    }

    /// The whole of lines `start..=end` (column 1 to the end of the line;
    /// an end column of 0 means "to the end of the line").
    pub fn lines(start: usize, end: usize) -> Self {
        Self {
            start: Position::new(start, 1),
            end: Position::new(end, 0),
        }
    }

    /// A span of `width` characters on one line starting at `column`.
    pub fn on_line(line: usize, column: usize, width: usize) -> Self {
        Self {
            start: Position::new(line, column),
            end: Position::new(line, column + width.max(1) - 1),
        }
    }
}
