//! Source locations in the JSON BuildKit's subrequests emit:
//! `{"ranges": [{"start": {"line": 3, "character": 0}, "end": {...}}]}`, with
//! 1-based lines and 0-based characters.

use serde::Serialize;

use crate::frontend::{Position, Span};

/// Where something is in the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub ranges: Vec<Range>,
}

/// One range of lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Range {
    pub start: Point,
    pub end: Point,
}

/// A line and a 0-based character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Point {
    pub line: usize,
    pub character: usize,
}

impl From<Position> for Point {
    fn from(position: Position) -> Self {
        Self {
            line: position.line,
            character: position.column.saturating_sub(1),
        }
    }
}

impl From<Span> for Location {
    fn from(span: Span) -> Self {
        Self {
            ranges: vec![Range {
                start: span.start.into(),
                end: span.end.into(),
            }],
        }
    }
}
