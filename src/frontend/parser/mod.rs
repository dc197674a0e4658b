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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Document {
        parse(&Source::new("Dockerfile", text)).unwrap()
    }

    fn parse_error(text: &str) -> ParseError {
        parse(&Source::new("Dockerfile", text)).unwrap_err()
    }

    fn heredoc(name: &str, content: &str, expand: bool, chomp: bool) -> Heredoc {
        Heredoc {
            name: name.to_owned(),
            content: content.to_owned(),
            expand,
            chomp,
            file_descriptor: 0,
        }
    }

    fn lines(span: Span) -> (usize, usize) {
        (span.start.line, span.end.line)
    }

    #[test]
    fn parse_backtick_escape_keeps_windows_paths() {
        let document = parse_text(concat!(
            "# escape=`\n",
            "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n",
            "COPY --chown=app C:\\src\\app\\ C:\\app\\\n",
            "RUN powershell -Command `\n",
            "    Write-Host C:\\temp\\ ; `\n",
            "    exit 0\n",
            "ENV DIR=C:\\tools\\ `\n",
            "    BIN=C:\\bin\n",
            "WORKDIR C:\\app\\\n",
        ));
        assert_eq!(document.directives.escape_token, '`');
        insta::assert_snapshot!(dump(&document), @r#"
        (from "mcr.microsoft.com/windows/servercore:ltsc2022")
        (copy ["--chown=app"] "C:\\src\\app\\" "C:\\app\\")
        (run "powershell -Command     Write-Host C:\\temp\\ ;     exit 0")
        (env "DIR" "C:\\tools\\" "=" "BIN" "C:\\bin" "=")
        (workdir "C:\\app\\")
        "#);
        assert_eq!(lines(document.nodes[2].span), (4, 6));
    }

    #[test]
    fn parse_accepts_crlf() {
        let document = parse_text(
            "FROM a\r\nRUN echo one \\\r\n  two\r\n\r\nCOPY <<EOF /x\r\nbody\r\nEOF\r\nCMD [\"b\"]\r\n",
        );
        insta::assert_snapshot!(dump(&document), @r#"
        (from "a")
        (run "echo one   two")
        (copy "<<EOF" "/x")
        (cmd "b")
        "#);
        // Heredoc bodies are kept raw, line endings included (as BuildKit does).
        assert_eq!(document.nodes[2].heredocs[0].content, "body\r\n");
        assert_eq!(lines(document.nodes[1].span), (2, 3));
        assert_eq!(lines(document.nodes[2].span), (5, 7));
        assert_eq!(document.nodes[3].span.end.column, 9);
    }

    #[test]
    fn parse_drops_a_bom_before_a_directive() {
        let document = parse_text("\u{feff}# escape=`\nFROM a\nRUN b `\n  c\n");
        assert_eq!(document.directives.escape_token, '`');
        let escape = document.directives.escape.unwrap();
        assert_eq!(escape.span.start, Position::new(1, 1));
        assert_eq!(document.nodes[1].original, "RUN b   c");
        assert_eq!(document.nodes[0].span.start, Position::new(2, 1));
    }

    #[test]
    fn parse_reads_heredoc_variants() {
        let document = parse_text(concat!(
            "FROM a\n",
            "RUN <<-'EOT' bash\n",
            "\techo $HOME\n",
            "\tEOT\n",
            "COPY <<one 3<<\"two\" /dest/\n",
            "first\n",
            "one\n",
            "second\n",
            "two\n",
            "RUN [\"cat\", \"<<EOF\"]\n",
            "USER <<NOPE\n",
        ));
        assert_eq!(
            document.nodes[1].heredocs,
            [heredoc("EOT", "\techo $HOME\n", false, true)]
        );
        let mut two = heredoc("two", "second\n", false, false);
        two.file_descriptor = 3;
        assert_eq!(
            document.nodes[2].heredocs,
            [heredoc("one", "first\n", true, false), two]
        );
        assert!(document.nodes[3].heredocs.is_empty() && document.nodes[3].json);
        assert!(document.nodes[4].heredocs.is_empty());
        assert_eq!(lines(document.nodes[1].span), (2, 4));
        assert_eq!(lines(document.nodes[2].span), (5, 9));
        assert_eq!(lines(document.span), (1, 11));
        insta::assert_snapshot!(dump(&document), @r#"
        (from "a")
        (run "<<-'EOT' bash")
        (copy "<<one" "3<<\"two\"" "/dest/")
        (run "cat" "<<EOF")
        (user "<<NOPE")
        "#);
    }

    #[test]
    fn parse_heredoc_under_onbuild() {
        let document = parse_text("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\nCMD x\n");
        let onbuild = &document.nodes[1];
        let want = [heredoc("EOF", "echo hi\n", true, false)];
        assert_eq!(onbuild.heredocs, want);
        let nested = onbuild.nested.as_deref().unwrap();
        assert_eq!(nested.heredocs, want);
        assert_eq!(nested.span, onbuild.span);
        assert_eq!(lines(onbuild.span), (2, 4));
        assert_eq!(document.nodes[2].keyword, "CMD");
    }

    #[test]
    fn parse_unterminated_heredoc_points_at_its_word() {
        let error = parse_error(concat!(
            "FROM a\n",
            "\n",
            "# build\n",
            "RUN <<EOF\n",
            "echo a\n",
            "EOF\n",
            "COPY --link  <<FIRST \\\n",
            "   <<-SECOND /x\n",
            "one\n",
            "FIRST\n",
            "two\n",
        ));
        assert_eq!(error.message, "unterminated heredoc");
        assert_eq!(error.span.start, Position::new(8, 4));
        insta::assert_snapshot!(error.render(), @r"
        Dockerfile:8:4: unterminated heredoc
          |
        8 |    <<-SECOND /x
          |    ^^^^^^^^^
        ");
        assert_eq!(
            error.hint.as_deref(),
            Some("end it with a line holding only SECOND (after any tabs)")
        );
    }

    #[test]
    fn parse_collects_comments_above_instructions() {
        let document = parse_text(concat!(
            "# syntax=docker/dockerfile:1\n",
            "# The build stage.\n",
            "#   indented\n",
            "FROM a AS build\n",
            "# dropped by the blank line\n",
            "\n",
            "  # Runs the tests.\n",
            "RUN make \\\n",
            "# inside a continuation\n",
            "  test\n",
            "CMD x\n",
        ));
        assert_eq!(
            document.nodes[0].comments,
            ["The build stage.", "  indented"]
        );
        assert_eq!(document.nodes[1].comments, ["Runs the tests."]);
        assert!(document.nodes[2].comments.is_empty());
        assert_eq!(document.nodes[1].original, "RUN make   test");
        assert_eq!(
            document.directives.syntax.unwrap().value,
            "docker/dockerfile:1"
        );
    }

    #[test]
    fn parse_warns_on_empty_continuation_lines() {
        let document = parse_text("FROM a\nRUN a \\\n\n   \n  b\n");
        assert_eq!(dump(&document), "(from \"a\")\n(run \"a   b\")\n");
        let spans: Vec<_> = document
            .warnings
            .iter()
            .map(|warning| lines(warning.span))
            .collect();
        assert_eq!(spans, [(3, 3), (4, 4)]);
        assert!(
            document
                .warnings
                .iter()
                .all(|warning| warning.rule == "NoEmptyContinuation")
        );
        assert_eq!(lines(document.nodes[1].span), (2, 5));
    }

    #[test]
    fn parse_keeps_unknown_instructions() {
        let document = parse_text("FROM a\nFRUN echo hi\n");
        let node = &document.nodes[1];
        assert_eq!(
            (node.keyword.as_str(), node.args.as_slice()),
            ("FRUN", [String::new()].as_slice())
        );
        assert_eq!(dump(&document), "(from \"a\")\n(frun \"\")\n");
    }

    #[test]
    fn parse_rejects_empty_files() {
        for text in ["", "\n\n", "# just a comment\n", "# syntax=x\n\n  # more\n"] {
            let error = parse_error(text);
            assert_eq!(error.message, "file with no instructions", "{text:?}");
            assert_eq!(error.span.start.line, 0);
        }
    }

    #[test]
    fn parse_locates_argument_errors() {
        let error = parse_error("FROM a\n\nENV PATH\n");
        insta::assert_snapshot!(error.render(), @r"
        Dockerfile:3:5: ENV must have two arguments
          |
        3 | ENV PATH
          |     ^^^^
        ");
        assert_eq!(
            error.hint.as_deref(),
            Some("give it a value: ENV PATH=value")
        );

        let error = parse_error("FROM a\nCMD [ \"echo\", [ \"nested json\" ] ]\n");
        assert_eq!(
            error.message,
            "when using JSON array syntax, arrays must be comprised of strings only"
        );
        assert_eq!(error.span.start, Position::new(2, 5));

        let error = parse_error("FROM a\nONBUILD RUN \\\n  [1]\n");
        assert_eq!(error.span.start, Position::new(3, 3));
    }

    #[test]
    fn parse_rejects_bad_directives() {
        let error = parse_error("# escape=`\n# ESCAPE=\\\nFROM a\n");
        assert_eq!(
            error.message,
            "only one escape parser directive can be used"
        );
        assert_eq!(error.span.start, Position::new(2, 1));
        let error = parse_error("# escape=x\nFROM a\n");
        assert_eq!(error.span.start.line, 1);
        // After the first instruction a directive is just a comment.
        let document = parse_text("FROM a\n# escape=x\n# escape=`\nRUN b\n");
        assert_eq!(document.directives.escape_token, '\\');
    }

    /// Random mixes of the tokens the parser cares about never panic, and
    /// every result is well formed.
    #[test]
    fn parse_survives_token_soup() {
        let pieces = [
            "RUN",
            "COPY",
            "ONBUILD",
            "ENV",
            "ARG",
            "HEALTHCHECK",
            "CMD",
            " ",
            "\t",
            "\n",
            "\r\n",
            "\\",
            "`",
            "#",
            "# escape=`",
            "<<",
            "<<-",
            "EOF",
            "'",
            "\"",
            "[",
            "]",
            "\"a\"",
            ",",
            "1",
            "=",
            "--",
            "--x=",
            "☃",
            "\u{feff}",
            "${",
            "}",
            "\u{a0}",
        ];
        let mut state: u64 = 0x1234_5678;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(state >> 33).unwrap()
        };
        for _ in 0..20_000 {
            let text: String = (0..next() % 30)
                .map(|_| pieces[next() % pieces.len()])
                .collect();
            match parse(&Source::new("Dockerfile", text.clone())) {
                Ok(document) => {
                    assert!(dump(&document).ends_with('\n'));
                    for node in &document.nodes {
                        assert!(node.span.start.line >= 1, "{text:?}");
                        assert!(node.span.end.line >= node.span.start.line, "{text:?}");
                    }
                }
                Err(error) => {
                    assert!(!error.message.ends_with('.'), "{text:?}");
                    let _ = error.render();
                }
            }
        }
    }

    #[test]
    fn parse_records_json_and_spans() {
        let document = parse_text("FROM a\n  CMD [\"x\"]  \nENTRYPOINT x\n");
        let cmd = &document.nodes[1];
        assert!(cmd.json);
        assert_eq!(cmd.original, "CMD [\"x\"]  ");
        assert_eq!(
            cmd.span,
            Span::new(Position::new(2, 3), Position::new(2, 13))
        );
        assert!(!document.nodes[2].json);
        assert_eq!(
            document.span,
            Span::new(Position::new(1, 1), Position::new(3, 12))
        );
    }
}
