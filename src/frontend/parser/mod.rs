//! Dockerfile text → syntax tree ([`Document`]). Owns directives, the escape
//! token, comments, line continuation, JSON versus shell form, leading flags,
//! ONBUILD nesting, heredocs and line ranges. It gives instructions no meaning:
//! that is `instructions`' job (which also rejects unknown keywords).
//!
//! The rules are BuildKit's (`frontend/dockerfile/parser`), and the
//! conformance test checks them against BuildKit's own corpus through
//! [`dump()`]. The work is split by noun:
//!
//! - `directives`: the leading `# key=value` block;
//! - `lines`: physical lines, comments, continuation, positions;
//! - `split`: keyword and leading flags;
//! - `args` and `words`: each instruction's arguments;
//! - `heredoc`: `<<NAME` words and their bodies;
//! - `dump`: BuildKit's `Node.Dump` text.
//!
//! For `ONBUILD RUN <<EOF`, the heredocs are stored on the ONBUILD node (as
//! BuildKit does) and on its nested node, so that either can be used alone.

mod args;
#[cfg(test)]
mod conformance;
mod directives;
mod dump;
mod heredoc;
mod lines;
mod node;
mod split;
mod words;

pub use dump::dump;
pub use heredoc::{HeredocError, chomp_heredoc_content, parse_heredoc_word};
pub use node::{Directive, Directives, Document, Heredoc, Node, ParseWarning};

use crate::frontend::{ParseError, Position, Source, Span};

use self::directives::DirectiveReader;
use self::heredoc::FoundHeredoc;
use self::lines::{Lines, LogicalLine, comment_text};

/// Parses a whole Dockerfile.
pub fn parse(source: &Source) -> Result<Document, ParseError> {
    let mut lines = Lines::split(source)?;
    let mut directives = DirectiveReader::new();
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    let mut comments = Vec::new();
    while let Some(line) = lines.next_line() {
        let text = line.text.trim_start();
        let indent = line.text[..line.text.len() - text.len()].chars().count();
        if directives.read(source, line.number, indent, text)? {
            continue;
        }
        if text.is_empty() {
            comments.clear();
            continue;
        }
        if text.starts_with('#') {
            comments.push(comment_text(text));
            continue;
        }
        let escape = directives.escape_token();
        let logical = LogicalLine::read(line, &mut lines, escape, &mut warnings);
        let mut node = args::node_from_line(&logical.text, 0, escape).map_err(|error| {
            let located =
                ParseError::new(source, logical.span(error.offset, error.len), error.message);
            match error.hint {
                Some(hint) => located.with_hint(hint),
                None => located,
            }
        })?;
        let mut end = Position::new(logical.last_line, logical.last_line_width.max(1));
        if can_contain_heredoc(&node) && logical.text.contains("<<") {
            node.heredocs = read_heredocs(source, &logical, &mut lines)?;
            if let Some(last) = lines.last_line().filter(|_| !node.heredocs.is_empty()) {
                end = Position::new(last.number, last.text.chars().count().max(1));
            }
        }
        node.span = Span::new(logical.position(0), end);
        node.comments = std::mem::take(&mut comments);
        if let Some(nested) = &mut node.nested {
            nested.span = node.span;
            nested.heredocs.clone_from(&node.heredocs);
        }
        nodes.push(node);
    }
    let (Some(first), Some(last)) = (nodes.first(), nodes.last()) else {
        return Err(
            ParseError::new(source, Span::default(), "file with no instructions")
                .with_hint("a Dockerfile needs at least a FROM instruction"),
        );
    };
    let span = Span::new(first.span.start, last.span.end);
    Ok(Document {
        directives: directives.finish(),
        nodes,
        warnings,
        span,
    })
}

/// RUN, COPY and ADD in shell form may open heredocs, also under ONBUILD.
fn can_contain_heredoc(node: &Node) -> bool {
    let node = match &node.nested {
        Some(nested) if node.keyword.eq_ignore_ascii_case("onbuild") => nested,
        _ => node,
    };
    let keyword = node.keyword.to_lowercase();
    matches!(keyword.as_str(), "run" | "copy" | "add") && !node.json
}

/// Finds the heredocs `logical` opens and reads their bodies, in order.
fn read_heredocs(
    source: &Source,
    logical: &LogicalLine,
    lines: &mut Lines<'_>,
) -> Result<Vec<Heredoc>, ParseError> {
    let found = heredoc::find_heredocs(&logical.text).map_err(|(at, error)| {
        ParseError::new(source, logical.span(at.offset, at.len), error.to_string())
    })?;
    let mut heredocs = Vec::with_capacity(found.len());
    for FoundHeredoc {
        offset,
        len,
        mut heredoc,
    } in found
    {
        if !heredoc::read_body(&mut heredoc, lines) {
            let tabs = if heredoc.chomp {
                " (after any tabs)"
            } else {
                ""
            };
            return Err(
                ParseError::new(source, logical.span(offset, len), "unterminated heredoc")
                    .with_hint(format!(
                        "end it with a line holding only {}{tabs}",
                        heredoc.name
                    )),
            );
        }
        heredocs.push(heredoc);
    }
    Ok(heredocs)
}
