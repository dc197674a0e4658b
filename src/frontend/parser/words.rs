//! The quote-aware word split that ENV, LABEL and ARG arguments go through.
//! Words break on whitespace outside quotes; quotes and escape tokens stay in
//! the word as written (removing them is left to variable expansion in
//! `shell`).

/// One word and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    pub(super) offset: usize,
    pub(super) text: String,
}

/// Splits `text` into words. Inside `'…'` the escape token has no effect;
/// elsewhere it keeps the next character (a quote or a blank) in the word,
/// and is dropped when it ends the text.
pub(super) fn split_words(text: &str, escape: char) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut quote = None;
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            words.extend(current.take().filter(|word| !word.text.is_empty()));
            continue;
        }
        let word = current.get_or_insert_with(|| Word {
            offset: index,
            text: String::new(),
        });
        match quote {
            None if c == '\'' || c == '"' => quote = Some(c),
            Some(open) if c == open => quote = None,
            _ => {}
        }
        if c == escape && quote != Some('\'') {
            match chars.next() {
                Some((_, escaped)) => {
                    word.text.push(c);
                    word.text.push(escaped);
                }
                // A trailing escape token is dropped (and ends any quote).
                None => quote = None,
            }
            continue;
        }
        word.text.push(c);
    }
    words.extend(current.filter(|word| !word.text.is_empty()));
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str, escape: char) -> Vec<String> {
        split_words(text, escape)
            .into_iter()
            .map(|word| word.text)
            .collect()
    }

    #[test]
    fn split_words_keeps_quotes_and_escapes() {
        assert_eq!(
            texts(r#"abc="123 456" def"#, '\\'),
            [r#"abc="123 456""#, "def"]
        );
        assert_eq!(texts(r"a=b\ c d", '\\'), [r"a=b\ c", "d"]);
        assert_eq!(texts(r#"name="a\"b""#, '\\'), [r#"name="a\"b""#]);
        assert_eq!(texts(r"name='a\'b''", '\\'), [r"name='a\'b''"]);
        assert_eq!(texts("  a\u{a0}b  ", '\\'), ["a", "b"]);
        assert_eq!(texts(r"a\", '\\'), ["a"]);
        assert!(texts(r"\", '\\').is_empty());
        assert_eq!(texts(r#"a="b\"#, '\\'), [r#"a="b"#]);
        assert!(texts("   ", '\\').is_empty());
    }

    #[test]
    fn split_words_uses_the_escape_token() {
        assert_eq!(texts(r"a=C:\x` y", '`'), [r"a=C:\x` y"]);
        assert_eq!(texts(r"a=C:\ y", '`'), [r"a=C:\", "y"]);
    }

    #[test]
    fn split_words_records_offsets() {
        let words = split_words(" ☃=1  b=2", '\\');
        assert_eq!(words[0].offset, 1);
        assert_eq!(words[1].offset, 8);
    }
}
