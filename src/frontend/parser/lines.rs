//! Physical lines and how they join into logical lines. Owns line splitting
//! (`\n`, with `\r` removed and a BOM dropped from line 1), the line-length
//! limit, comment lines, the continuation rule for the escape token and the
//! map from a logical line back to file positions. Directives, keywords and
//! heredoc bodies are left to the other parser files.

use crate::frontend::{ParseError, Position, Source, Span};

use super::ParseWarning;

/// The longest physical line accepted, in bytes without its `\n`. BuildKit's
/// line scanner holds 64 KiB, newline included.
pub(super) const MAX_LINE_BYTES: usize = 64 * 1024 - 1;

/// One physical line of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PhysicalLine<'a> {
    /// 1-based line number.
    pub(super) number: usize,
    /// The line as written, line ending included (heredoc bodies keep it).
    pub(super) raw: &'a str,
    /// The line without its trailing `\r`s and `\n`.
    pub(super) text: &'a str,
}

/// The physical lines of a file, read front to back.
#[derive(Debug)]
pub(super) struct Lines<'a> {
    lines: Vec<PhysicalLine<'a>>,
    next: usize,
}

impl<'a> Lines<'a> {
    /// Splits `source` into lines. A file ending in `\n` has no empty last line.
    pub(super) fn split(source: &'a Source) -> Result<Self, ParseError> {
        let mut lines = Vec::new();
        for (index, raw) in source.text().split_inclusive('\n').enumerate() {
            let raw = if index == 0 {
                raw.strip_prefix('\u{feff}').unwrap_or(raw)
            } else {
                raw
            };
            let content = raw.strip_suffix('\n').unwrap_or(raw);
            let text = content.trim_end_matches('\r');
            let number = index + 1;
            if content.len() > MAX_LINE_BYTES {
                return Err(ParseError::new(
                    source,
                    Span::lines(number, number),
                    format!(
                        "line is too long: {} bytes, the limit is {MAX_LINE_BYTES}",
                        content.len()
                    ),
                )
                .with_hint("split the line with line continuations or move the data to a file"));
            }
            lines.push(PhysicalLine { number, raw, text });
        }
        Ok(Self { lines, next: 0 })
    }

    /// The next unread line, if any.
    pub(super) fn next_line(&mut self) -> Option<PhysicalLine<'a>> {
        let line = self.lines.get(self.next).copied()?;
        self.next += 1;
        Some(line)
    }

    /// The last line read, if any.
    pub(super) fn last_line(&self) -> Option<PhysicalLine<'a>> {
        self.lines.get(self.next.checked_sub(1)?).copied()
    }
}

/// Whether a physical line is a comment: `#` after any leading whitespace.
pub(super) fn is_comment(text: &str) -> bool {
    text.trim_start().starts_with('#')
}

/// The text of a comment line: what follows `#`, minus one leading space.
pub(super) fn comment_text(text: &str) -> String {
    let body = text.trim_start().strip_prefix('#').unwrap_or(text);
    body.strip_prefix(' ').unwrap_or(body).to_owned()
}

/// Removes a line-continuation escape token from the end of `text`.
///
/// A line continues when `escape` is its last non-blank character and is not
/// itself escaped (`\\` at the end does not continue), or when the line is
/// only the token. The token and the blanks after it are removed; everything
/// before it, spaces included, is kept. Returns the kept text and whether the
/// line continues.
pub(super) fn strip_continuation(text: &str, escape: char) -> (&str, bool) {
    let trimmed = text.trim_end_matches([' ', '\t']);
    let Some(before) = trimmed.strip_suffix(escape) else {
        return (text, false);
    };
    if before.ends_with(escape) {
        return (text, false);
    }
    (before, true)
}

/// Where a stretch of a logical line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    /// Byte offset in the logical line where this stretch starts.
    offset: usize,
    /// The physical line it was read from.
    line: usize,
    /// The 1-based column on that line of its first character.
    column: usize,
}

/// An instruction's text with continuations joined, and where each part of
/// it sits in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LogicalLine {
    /// The joined text: the first line without leading whitespace, then each
    /// continuation line as written, escape tokens removed.
    pub(super) text: String,
    segments: Vec<Segment>,
    /// The last physical line that belongs to it.
    pub(super) last_line: usize,
    /// The column of the last character of `last_line` (0 when it is empty).
    pub(super) last_line_width: usize,
}

impl LogicalLine {
    /// Reads one instruction's lines, starting with `first`, which holds
    /// something other than blanks or a comment. Comment lines inside the
    /// continuation are skipped; blank ones are skipped with a warning each.
    /// The end of the file simply ends the instruction.
    pub(super) fn read(
        first: PhysicalLine<'_>,
        lines: &mut Lines<'_>,
        escape: char,
        warnings: &mut Vec<ParseWarning>,
    ) -> Self {
        let stripped = first.text.trim_start();
        let indent = first.text[..first.text.len() - stripped.len()]
            .chars()
            .count();
        let (kept, mut continues) = strip_continuation(stripped, escape);
        let mut logical = Self {
            text: kept.to_owned(),
            segments: vec![Segment {
                offset: 0,
                line: first.number,
                column: indent + 1,
            }],
            last_line: first.number,
            last_line_width: first.text.chars().count(),
        };
        while continues {
            let Some(line) = lines.next_line() else {
                break;
            };
            logical.last_line = line.number;
            logical.last_line_width = line.text.chars().count();
            if is_comment(line.text) {
                continue;
            }
            if line.text.trim_start().is_empty() {
                warnings.push(ParseWarning {
                    rule: "NoEmptyContinuation",
                    message: "empty continuation line".to_owned(),
                    span: Span::lines(line.number, line.number),
                });
                continue;
            }
            let (kept, more) = strip_continuation(line.text, escape);
            continues = more;
            logical.segments.push(Segment {
                offset: logical.text.len(),
                line: line.number,
                column: 1,
            });
            logical.text.push_str(kept);
        }
        logical
    }

    /// The file position of the character at byte `offset` of [`Self::text`]
    /// (or just after the end when `offset` is the length).
    pub(super) fn position(&self, offset: usize) -> Position {
        let segment = self
            .segments
            .iter()
            .rev()
            .find(|segment| segment.offset <= offset)
            .or(self.segments.first())
            .copied()
            .unwrap_or(Segment {
                offset: 0,
                line: 0,
                column: 1,
            });
        let end = offset.min(self.text.len());
        let start = segment.offset.min(end);
        let chars = self
            .text
            .get(start..end)
            .map_or(0, |part| part.chars().count());
        Position::new(segment.line, segment.column + chars)
    }

    /// The span of `len` bytes starting at byte `offset` of [`Self::text`].
    pub(super) fn span(&self, offset: usize, len: usize) -> Span {
        let start = self.position(offset);
        if len == 0 {
            return Span::new(start, start);
        }
        // The last character's start, so the span ends on the line holding it.
        let last = self
            .text
            .get(..(offset + len).min(self.text.len()))
            .and_then(|head| head.char_indices().next_back())
            .map_or(offset, |(index, _)| index.max(offset));
        Span::new(start, self.position(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str, escape: char) -> (Vec<LogicalLine>, Vec<ParseWarning>) {
        let source = Source::new("Dockerfile", text);
        let mut lines = Lines::split(&source).unwrap();
        let mut warnings = Vec::new();
        let mut logical = Vec::new();
        while let Some(line) = lines.next_line() {
            if line.text.trim().is_empty() || is_comment(line.text) {
                continue;
            }
            logical.push(LogicalLine::read(line, &mut lines, escape, &mut warnings));
        }
        (logical, warnings)
    }

    #[test]
    fn strip_continuation_follows_the_rule() {
        assert_eq!(strip_continuation("a \\", '\\'), ("a ", true));
        assert_eq!(strip_continuation("a\\  \t", '\\'), ("a", true));
        assert_eq!(strip_continuation("\\", '\\'), ("", true));
        assert_eq!(strip_continuation(" \\ ", '\\'), (" ", true));
        assert_eq!(strip_continuation("a\\\\", '\\'), ("a\\\\", false));
        assert_eq!(strip_continuation("a\\\\\\", '\\'), ("a\\\\\\", false));
        assert_eq!(strip_continuation("a `", '`'), ("a ", true));
        assert_eq!(strip_continuation("a \\", '`'), ("a \\", false));
        assert_eq!(strip_continuation("", '\\'), ("", false));
    }

    #[test]
    fn split_drops_bom_and_line_endings() {
        let source = Source::new("Dockerfile", "\u{feff}FROM a\r\nRUN b\r\r\n\nCMD c");
        let mut lines = Lines::split(&source).unwrap();
        let first = lines.next_line().unwrap();
        assert_eq!(
            (first.number, first.text, first.raw),
            (1, "FROM a", "FROM a\r\n")
        );
        assert_eq!(lines.next_line().unwrap().text, "RUN b");
        assert_eq!(lines.next_line().unwrap().text, "");
        assert_eq!(lines.next_line().unwrap().text, "CMD c");
        assert_eq!(lines.next_line(), None);
        assert_eq!(lines.last_line().unwrap().number, 4);
    }

    #[test]
    fn split_rejects_long_lines() {
        let long = format!("RUN {}\n", "x".repeat(MAX_LINE_BYTES));
        let source = Source::new("Dockerfile", format!("FROM a\n{long}"));
        let error = Lines::split(&source).unwrap_err();
        assert_eq!(error.span.start.line, 2);
        assert!(
            error.message.starts_with("line is too long"),
            "{}",
            error.message
        );

        let fits = format!("RUN {}\n", "x".repeat(MAX_LINE_BYTES - 4));
        assert!(Lines::split(&Source::new("Dockerfile", fits)).is_ok());
    }

    #[test]
    fn read_joins_continuations_and_maps_positions() {
        let (logical, warnings) = read_all("  RUN a \\\n# skipped\n\n   b\\\n  c\n", '\\');
        assert_eq!(logical.len(), 1);
        let line = &logical[0];
        assert_eq!(line.text, "RUN a    b  c");
        assert_eq!((line.position(0).line, line.last_line), (1, 5));
        assert_eq!(line.position(0), Position::new(1, 3));
        assert_eq!(line.position(4), Position::new(1, 7));
        assert_eq!(line.position(6), Position::new(4, 1));
        assert_eq!(line.position(9), Position::new(4, 4));
        assert_eq!(line.position(10), Position::new(5, 1));
        assert_eq!(
            line.span(9, 3),
            Span::new(Position::new(4, 4), Position::new(5, 2))
        );
        assert_eq!(
            line.span(4, 1),
            Span::new(Position::new(1, 7), Position::new(1, 7))
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].span, Span::lines(3, 3));
        assert_eq!(warnings[0].rule, "NoEmptyContinuation");
    }

    #[test]
    fn read_stops_at_end_of_file() {
        let (logical, warnings) = read_all("RUN a \\\n", '\\');
        assert_eq!(logical[0].text, "RUN a ");
        assert_eq!(logical[0].last_line, 1);
        assert!(warnings.is_empty());
    }

    #[test]
    fn comment_text_strips_one_space() {
        assert_eq!(comment_text("# hello"), "hello");
        assert_eq!(comment_text("  #  two"), " two");
        assert_eq!(comment_text("#"), "");
        assert!(is_comment("\t# x"));
        assert!(!is_comment("RUN # x"));
    }
}
