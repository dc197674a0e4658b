//! The output of one scan: the joined value (`expand_word`) and, built at the
//! same time, the split words (`expand_words`). It decides only where words
//! break; what counts as quoted or escaped is the lexer's call, which says so
//! by choosing between the `splitting` and `kept` pushes.

/// Collects a word's expansion both as one string and as split words.
#[derive(Debug, Default)]
pub(super) struct WordBuffer {
    value: String,
    words: Vec<String>,
    current: String,
}

impl WordBuffer {
    /// A character from unquoted, unescaped text or an unquoted expansion:
    /// whitespace ends the current word and is dropped from the split words.
    pub(super) fn push_splitting(&mut self, c: char) {
        self.value.push(c);
        if c.is_whitespace() {
            self.end_word();
        } else {
            self.current.push(c);
        }
    }

    /// [`push_splitting`](Self::push_splitting) for each character.
    pub(super) fn push_splitting_str(&mut self, text: &str) {
        for c in text.chars() {
            self.push_splitting(c);
        }
    }

    /// A quoted or escaped character: it never splits.
    pub(super) fn push_kept(&mut self, c: char) {
        self.value.push(c);
        self.current.push(c);
    }

    /// A quoted string: it never splits.
    pub(super) fn push_kept_str(&mut self, text: &str) {
        self.value.push_str(text);
        self.current.push_str(text);
    }

    /// The joined value and the split words; empty words are dropped.
    pub(super) fn finish(mut self) -> (String, Vec<String>) {
        self.end_word();
        (self.value, self.words)
    }

    /// The joined value alone, for the nested words of `${V…}`.
    pub(super) fn into_value(self) -> String {
        self.value
    }

    fn end_word(&mut self) {
        if !self.current.is_empty() {
            self.words.push(std::mem::take(&mut self.current));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_splits_only_on_splitting_whitespace() {
        let mut buffer = WordBuffer::default();
        buffer.push_splitting_str("  a b");
        buffer.push_kept(' ');
        buffer.push_kept_str("c  ");
        buffer.push_splitting_str(" \t\nd ");
        let (value, words) = buffer.finish();
        assert_eq!(value, "  a b c   \t\nd ");
        assert_eq!(words, ["a", "b c  ", "d"]);
    }

    #[test]
    fn buffer_drops_empty_words() {
        let mut buffer = WordBuffer::default();
        buffer.push_kept_str("");
        buffer.push_splitting(' ');
        let (value, words) = buffer.finish();
        assert_eq!(value, " ");
        assert!(words.is_empty());
    }
}
