//! The frontend's one error type. It names the file, line and column, quotes
//! the offending lines and may carry a hint the user can act on.

use std::fmt::{self, Write as _};

use super::{Source, Span};

/// A mistake in a Dockerfile (or in what the command line asked of it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}", line = span.start.line, column = span.start.column)]
pub struct ParseError {
    /// The Dockerfile's display name.
    pub file: String,
    /// Where the mistake is. Line 0 means "the file as a whole".
    pub span: Span,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// The physical lines of `span`, numbered, for display.
    pub excerpt: Vec<(usize, String)>,
    /// What the user can do about it.
    pub hint: Option<String>,
}

impl ParseError {
    /// An error at `span` of `source`, quoting the lines it covers.
    pub fn new(source: &Source, span: Span, message: impl Into<String>) -> Self {
        let last = span.end.line.max(span.start.line);
        let excerpt = (span.start.line..=last)
            .filter_map(|number| Some((number, source.line(number)?.to_owned())))
            .collect();
        Self {
            file: source.name().to_owned(),
            span,
            message: message.into(),
            excerpt,
            hint: None,
        }
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The error with its excerpt, the way `xb` prints it:
    ///
    /// ```text
    /// Dockerfile:7:1: unknown instruction: FNTRYPOINT
    ///   |
    /// 7 | FNTRYPOINT ["/bin/sh"]
    ///   | ^^^^^^^^^^
    /// ```
    pub fn render(&self) -> String {
        let mut out = self.to_string();
        if self.excerpt.is_empty() {
            return out;
        }
        let width = self
            .excerpt
            .iter()
            .map(|(number, _)| number.to_string().len())
            .max()
            .unwrap_or(1);
        let _ = write!(out, "\n{:width$} |", "");
        for (number, text) in &self.excerpt {
            let _ = write!(out, "\n{number:>width$} | {text}");
            if *number == self.span.start.line && self.excerpt.len() == 1 {
                let column = self.span.start.column.max(1);
                let end = if self.span.end.line == *number
                    && self.span.end.column >= column
                    && self.span.end.column != 0
                {
                    self.span.end.column
                } else {
                    text.chars().count().max(column)
                };
                let _ = write!(
                    out,
                    "\n{:width$} | {}{}",
                    "",
                    " ".repeat(column - 1),
                    "^".repeat(end - column + 1)
                );
            }
        }
        out
    }
}

/// Prints the rendered form; `{}` gives the one-line form.
pub struct Rendered<'a>(pub &'a ParseError);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::Position;

    #[test]
    fn render_points_at_the_column() {
        let source = Source::new("Dockerfile", "FROM a\nFNTRYPOINT [\"x\"]\n");
        let error = ParseError::new(
            &source,
            Span::on_line(2, 1, "FNTRYPOINT".len()),
            "unknown instruction: FNTRYPOINT",
        );
        insta::assert_snapshot!(error.render(), @r#"
        Dockerfile:2:1: unknown instruction: FNTRYPOINT
          |
        2 | FNTRYPOINT ["x"]
          | ^^^^^^^^^^
        "#);
    }

    #[test]
    fn render_quotes_every_line_of_a_range() {
        let source = Source::new("Dockerfile", "RUN a \\\n  b\n");
        let span = Span::new(Position::new(1, 1), Position::new(2, 3));
        let error = ParseError::new(&source, span, "bad");
        assert_eq!(error.excerpt.len(), 2);
        assert!(error.render().contains("2 |   b"));
    }
}
