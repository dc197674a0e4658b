//! Splitting a logical line into keyword, leading `--flags` and the rest.
//! Owns the flag word rules (quotes removed, the escape token escapes the
//! next character, a bare `--` ends the flags). What the rest means per
//! instruction is left to `args`.

/// A logical line cut into its parts. Offsets are bytes into that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SplitLine<'a> {
    /// The keyword as written.
    pub(super) keyword: &'a str,
    /// Leading flags as full strings, e.g. `--chown=a:b`.
    pub(super) flags: Vec<String>,
    /// What follows the flags, trimmed.
    pub(super) rest: &'a str,
    pub(super) rest_offset: usize,
}

/// Blanks that separate the keyword from the rest: `[\t\v\f\r ]`.
pub(super) fn is_separator(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Splits `line` at the first run of blanks after the keyword and pulls the
/// leading flags out of what follows.
pub(super) fn split_command(line: &str, escape: char) -> SplitLine<'_> {
    let trimmed = line.trim();
    let keyword_offset = line.len() - line.trim_start().len();
    let Some(keyword_len) = trimmed.find(is_separator) else {
        return SplitLine {
            keyword: trimmed,
            flags: Vec::new(),
            rest: "",
            rest_offset: keyword_offset + trimmed.len(),
        };
    };
    let after = trimmed[keyword_len..].trim_start_matches(is_separator);
    let after_offset = keyword_offset + trimmed.len() - after.len();
    let (flags, consumed) = extract_flags(after, escape);
    let unflagged = &after[consumed..];
    let rest = unflagged.trim();
    let rest_offset = after_offset + consumed + (unflagged.len() - unflagged.trim_start().len());
    SplitLine {
        keyword: &trimmed[..keyword_len],
        flags,
        rest,
        rest_offset,
    }
}

/// Reads leading `--flag` words off `text`. Returns the flags and the byte
/// offset where the rest starts.
fn extract_flags(text: &str, escape: char) -> (Vec<String>, usize) {
    let mut flags = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            return (flags, text.len());
        };
        if !text[start..].starts_with("--") {
            return (flags, start);
        }
        let mut word = String::new();
        let mut quote = None;
        let mut end = None;
        while let Some((index, c)) = chars.next() {
            match quote {
                None if c.is_whitespace() => {
                    end = Some(index);
                    break;
                }
                None if c == '\'' || c == '"' => quote = Some(c),
                Some(open) if c == open => quote = None,
                _ if c == escape => match chars.next() {
                    Some((_, escaped)) => word.push(escaped),
                    // A trailing escape token is dropped.
                    None => quote = None,
                },
                _ => word.push(c),
            }
        }
        match end {
            Some(index) if word == "--" => return (flags, index),
            Some(_) => flags.push(word),
            None => {
                if word != "--" {
                    flags.push(word);
                }
                return (flags, text.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(line: &str) -> (&str, Vec<String>, &str) {
        let split = split_command(line, '\\');
        assert_eq!(&line[split.rest_offset..][..split.rest.len()], split.rest);
        (split.keyword, split.flags, split.rest)
    }

    #[test]
    fn split_command_separates_keyword_flags_and_rest() {
        assert_eq!(parts("RUN  echo hi "), ("RUN", vec![], "echo hi"));
        assert_eq!(parts("  CMD"), ("CMD", vec![], ""));
        assert_eq!(parts("CMD\t[ \"a\" ]"), ("CMD", vec![], "[ \"a\" ]"));
        assert_eq!(
            parts("COPY --chown=a:b --link src dst"),
            (
                "COPY",
                vec!["--chown=a:b".to_owned(), "--link".to_owned()],
                "src dst"
            )
        );
        assert_eq!(parts("COPY -- --x y"), ("COPY", vec![], "--x y"));
        assert_eq!(
            parts("CMD --doit -- [ ]"),
            ("CMD", vec!["--doit".to_owned()], "[ ]")
        );
        assert_eq!(parts("COPY --a --"), ("COPY", vec!["--a".to_owned()], ""));
        assert_eq!(parts("COPY -x y"), ("COPY", vec![], "-x y"));
    }

    #[test]
    fn flags_drop_quotes_and_escapes() {
        assert_eq!(
            parts(r#"RUN --mount="type=cache,target=/a b" --x='1 2' --y=a\ b cmd"#).1,
            ["--mount=type=cache,target=/a b", "--x=1 2", "--y=a b"]
        );
        assert_eq!(parts(r#"RUN --a="b\"c" x"#).1, ["--a=b\"c"]);
        assert_eq!(parts("RUN --a=\"unterminated").1, ["--a=unterminated"]);
        assert_eq!(parts("RUN --a=b\\").1, ["--a=b"]);
        assert_eq!(parts("RUN --☃=é x").1, ["--☃=é"]);
    }

    #[test]
    fn flags_use_the_escape_token() {
        let split = split_command(r"COPY --from=C:\src --a=`` C:\dst", '`');
        assert_eq!(split.flags, [r"--from=C:\src", "--a=`"]);
        assert_eq!(split.rest, r"C:\dst");
    }
}
