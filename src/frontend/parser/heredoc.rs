//! Heredocs: finding `<<NAME` words on a RUN, COPY or ADD line, reading the
//! name (quotes, `<<-`, a file descriptor), and collecting the body lines up
//! to the terminator. Bodies are stored raw; stripping tabs for `<<-`
//! ([`chomp_heredoc_content`]) and expanding variables are left to the
//! stages that use them. The heredoc lexer always escapes with `\`, whatever
//! the `escape` directive says.

use super::Heredoc;
use super::lines::Lines;

/// A `<<word` that looks like a heredoc but cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeredocError {
    /// A quote in the name is never closed, as in `<<'EOF`.
    #[error("unterminated quote in heredoc {word:?}")]
    UnterminatedQuote { word: String },
    /// Reading the name with and without its quotes gives a different
    /// number of words, as in `<<'' EOF`.
    #[error("ambiguous heredoc name in {word:?}")]
    AmbiguousName { word: String },
}

/// Reads one word as a heredoc opener: `<<NAME`, `<<-NAME`, `<<"NAME"`,
/// `<< NAME`, `3<<NAME`. Returns `None` for a word that is not one (also when
/// the name would be several words); the body is left empty.
pub fn parse_heredoc_word(word: &str) -> Result<Option<Heredoc>, HeredocError> {
    let digits = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let Some(after) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, after) = match after.strip_prefix('-') {
        Some(after) => (true, after),
        None => (false, after),
    };
    let rest = after.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let unterminated = |_| HeredocError::UnterminatedQuote {
        word: word.to_owned(),
    };
    let mut words = lex_words(rest, Lexing::NAME).map_err(unterminated)?;
    if words.len() != 1 {
        return Ok(None);
    }
    let raw = lex_words(rest, Lexing::NAME_WITH_QUOTES).map_err(unterminated)?;
    let [(_, raw)] = raw.as_slice() else {
        return Err(HeredocError::AmbiguousName {
            word: word.to_owned(),
        });
    };
    let (_, name) = words.swap_remove(0);
    let quotes = |text: &str| text.chars().filter(|&c| c == '\'' || c == '"').count();
    let digits = &word[..digits];
    Ok(Some(Heredoc {
        expand: quotes(&name) == quotes(raw),
        name,
        content: String::new(),
        chomp,
        file_descriptor: match digits.parse() {
            Ok(fd) => fd,
            Err(_) if digits.is_empty() => 0,
            Err(_) => u32::MAX,
        },
    }))
}

/// Removes the leading tabs of every line of a `<<-` heredoc body.
pub fn chomp_heredoc_content(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

/// A heredoc opened on a line, with where its `<<word` is (bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FoundHeredoc {
    pub(super) offset: usize,
    pub(super) len: usize,
    pub(super) heredoc: Heredoc,
}

/// The heredocs a logical line opens, in order. The line is split into
/// words keeping quotes and escapes, so `"<<EOF"` is no heredoc; a line with
/// an unclosed quote opens none.
pub(super) fn find_heredocs(line: &str) -> Result<Vec<FoundHeredoc>, (FoundError, HeredocError)> {
    let Ok(words) = lex_words(line, Lexing::LINE) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for (offset, word) in words {
        let located = FoundError {
            offset,
            len: word.len(),
        };
        match parse_heredoc_word(&word) {
            Ok(Some(heredoc)) => found.push(FoundHeredoc {
                offset,
                len: word.len(),
                heredoc,
            }),
            Ok(None) => {}
            Err(error) => return Err((located, error)),
        }
    }
    Ok(found)
}

/// Where a bad `<<word` is on its line (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FoundError {
    pub(super) offset: usize,
    pub(super) len: usize,
}

/// Reads `heredoc`'s body: the lines up to one equal to its name (leading
/// tabs ignored for `<<-`). Returns false when the file ends first.
pub(super) fn read_body(heredoc: &mut Heredoc, lines: &mut Lines<'_>) -> bool {
    while let Some(line) = lines.next_line() {
        let candidate = if heredoc.chomp {
            line.text.trim_start_matches('\t')
        } else {
            line.text
        };
        if candidate == heredoc.name {
            return true;
        }
        heredoc.content.push_str(line.raw);
    }
    false
}

/// How [`lex_words`] treats quotes and escapes.
#[derive(Debug, Clone, Copy)]
struct Lexing {
    keep_quotes: bool,
    keep_escapes: bool,
}

impl Lexing {
    /// Finding heredoc words on a line: everything kept as written.
    const LINE: Self = Self {
        keep_quotes: true,
        keep_escapes: true,
    };
    /// A heredoc name as used: quotes and escapes removed.
    const NAME: Self = Self {
        keep_quotes: false,
        keep_escapes: false,
    };
    /// A heredoc name with its quotes kept, to see whether any were used.
    const NAME_WITH_QUOTES: Self = Self {
        keep_quotes: true,
        keep_escapes: false,
    };
}

/// A quote or `${` that is never closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unclosed;

/// Splits `text` into shell words with their byte offsets, the way the
/// heredoc scan needs: `\` escapes, `'…'` is literal, in `"…"` only `\"`,
/// `\$` and `\\` are escapes, `${…}` is one piece, `$NAME` stays as written
/// and `<<` takes the blanks after it into its word (`<<  EOF` is one word).
fn lex_words(text: &str, how: Lexing) -> Result<Vec<(usize, String)>, Unclosed> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if c.is_whitespace() {
            if !word.is_empty() {
                words.push((start, std::mem::take(&mut word)));
            }
            continue;
        }
        if word.is_empty() {
            start = index;
        }
        match c {
            '\\' => {
                if how.keep_escapes {
                    word.push('\\');
                }
                if let Some((_, escaped)) = chars.next() {
                    word.push(escaped);
                }
            }
            '\'' => {
                if how.keep_quotes {
                    word.push('\'');
                }
                loop {
                    match chars.next().ok_or(Unclosed)? {
                        (_, '\'') => break,
                        (_, inner) => word.push(inner),
                    }
                }
                if how.keep_quotes {
                    word.push('\'');
                }
            }
            '"' => {
                if how.keep_quotes {
                    word.push('"');
                }
                loop {
                    match chars.next().ok_or(Unclosed)? {
                        (_, '"') => break,
                        (_, '\\') => match chars.next_if(|&(_, c)| matches!(c, '"' | '$' | '\\')) {
                            Some((_, escaped)) => {
                                if how.keep_escapes {
                                    word.push('\\');
                                }
                                word.push(escaped);
                            }
                            None => word.push('\\'),
                        },
                        (_, inner) => word.push(inner),
                    }
                }
                if how.keep_quotes {
                    word.push('"');
                }
            }
            '<' if chars.next_if(|&(_, c)| c == '<').is_some() => {
                word.push_str("<<");
                while let Some((_, blank)) = chars.next_if(|&(_, c)| c.is_whitespace()) {
                    word.push(blank);
                }
            }
            '$' if chars.next_if(|&(_, c)| c == '{').is_some() => {
                word.push_str("${");
                loop {
                    let (_, inner) = chars.next().ok_or(Unclosed)?;
                    word.push(inner);
                    if inner == '}' {
                        break;
                    }
                }
            }
            other => word.push(other),
        }
    }
    if !word.is_empty() {
        words.push((start, word));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::Source;

    fn heredoc(word: &str) -> Heredoc {
        parse_heredoc_word(word).unwrap().unwrap()
    }

    fn names(line: &str) -> Vec<String> {
        find_heredocs(line)
            .unwrap()
            .into_iter()
            .map(|found| found.heredoc.name)
            .collect()
    }

    #[test]
    fn parse_heredoc_word_reads_names() {
        let plain = heredoc("<<EOF");
        assert_eq!(
            (plain.name.as_str(), plain.expand, plain.chomp),
            ("EOF", true, false)
        );
        let quoted = heredoc("<<-'EOF'");
        assert_eq!(
            (quoted.name.as_str(), quoted.expand, quoted.chomp),
            ("EOF", false, true)
        );
        assert!(!heredoc("<<\"EOF\"").expand);
        assert_eq!(heredoc("3<<EOF").file_descriptor, 3);
        assert_eq!(heredoc("<<eo\\'f").name, "eo'f");
        assert!(heredoc("<<eo\\'f").expand);
        assert_eq!(heredoc("<<'e'o\\'f").name, "eo'f");
        assert!(!heredoc("<<'e'o\\'f").expand);
        assert_eq!(heredoc("<<'one two'").name, "one two");
        assert_eq!(heredoc("<<  EOF").name, "EOF");
        assert_eq!(heredoc("<<$EOF").name, "$EOF");
    }

    #[test]
    fn parse_heredoc_word_rejects_others() {
        for word in [
            "", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh", "a<<EOF", "<<''",
        ] {
            assert_eq!(parse_heredoc_word(word), Ok(None), "{word}");
        }
        assert_eq!(
            parse_heredoc_word("<<'EOF"),
            Err(HeredocError::UnterminatedQuote {
                word: "<<'EOF".to_owned()
            })
        );
        assert!(parse_heredoc_word("<<EOF\"").is_err());
        assert!(matches!(
            parse_heredoc_word("<<'' EOF"),
            Err(HeredocError::AmbiguousName { .. })
        ));
    }

    #[test]
    fn find_heredocs_reads_a_line() {
        assert_eq!(names("RUN <<EOF <<-EOF2 cat"), ["EOF", "EOF2"]);
        assert_eq!(names("RUN <<  EOF  > foo"), ["EOF"]);
        assert_eq!(names("RUN << -EOF"), ["-EOF"]);
        assert!(names("RUN '<<EOF' \"<<EOF\" \\<<EOF").is_empty());
        assert!(names("RUN echo \"unclosed <<EOF").is_empty());
        assert!(names("RUN echo ${X:-a <<EOF}").is_empty());
        let found = find_heredocs("COPY  <<a ☃ 4<<b /").unwrap();
        assert_eq!((found[0].offset, found[0].len), (6, 3));
        assert_eq!((found[1].offset, found[1].len), (14, 4));
    }

    #[test]
    fn chomp_heredoc_content_strips_leading_tabs() {
        assert_eq!(chomp_heredoc_content("\t\ta\n b\n\tc\t\n"), "a\n b\nc\t\n");
        assert_eq!(chomp_heredoc_content(""), "");
    }

    #[test]
    fn read_body_stops_at_terminator() {
        let source = Source::new("Dockerfile", "one\r\n\tEOF\nEOF\nafter\n");
        let mut lines = Lines::split(&source).unwrap();
        let mut plain = heredoc("<<EOF");
        assert!(read_body(&mut plain, &mut lines));
        assert_eq!(plain.content, "one\r\n\tEOF\n");
        assert_eq!(lines.last_line().unwrap().number, 3);

        let mut lines = Lines::split(&source).unwrap();
        let mut chomped = heredoc("<<-EOF");
        assert!(read_body(&mut chomped, &mut lines));
        assert_eq!(chomped.content, "one\r\n");

        let mut missing = heredoc("<<END");
        assert!(!read_body(
            &mut missing,
            &mut Lines::split(&source).unwrap()
        ));
    }
}
