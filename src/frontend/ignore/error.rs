//! What can go wrong with an ignore file: it cannot be read, or one of its
//! lines is not a pattern Docker accepts. Finding the fault is left to
//! [`super::pattern`] and [`super::glob`]; this file only names it.

use std::path::PathBuf;

/// An ignore file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IgnoreError {
    /// A line is not a valid pattern; Docker fails the build on it too.
    #[error("{file}:{line}: invalid pattern `{pattern}`: {fault}")]
    ParsePattern {
        /// The ignore file's display name.
        file: String,
        /// The 1-based line number.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
        fault: PatternFault,
    },
    /// The ignore file exists but could not be read.
    #[error("cannot read ignore file {}", path.display())]
    ReadIgnoreFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why a pattern is refused, in Docker's terms (Go's `filepath.Match`
/// syntax plus the lone `!`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternFault {
    #[error("`!` must be followed by a pattern")]
    EmptyException,
    #[error("trailing `\\` escapes nothing; write `\\\\` for a backslash")]
    TrailingBackslash,
    #[error("unterminated character class: `[` has no closing `]`")]
    UnterminatedClass,
    #[error("character class is empty; write `\\]` for a literal `]`")]
    EmptyClass,
    #[error("`-` in a character class must form a range or be escaped as `\\-`")]
    UnescapedDash,
    #[error("character range has no upper end; write `\\-` for a literal `-`")]
    OpenRange,
    #[error("character range `{low}-{high}` is reversed")]
    ReversedRange { low: char, high: char },
}
