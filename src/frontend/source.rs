//! A Dockerfile's text together with the name it is shown under, so that every
//! error can quote the lines it points at.

/// The text of a Dockerfile and the name errors call it by.
#[derive(Debug, Clone)]
pub struct Source {
    name: String,
    text: String,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// The name shown in errors, e.g. `Dockerfile` or `build/Dockerfile.dev`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Physical line `number` (1-based) without its line ending, if it exists.
    pub fn line(&self, number: usize) -> Option<&str> {
        let line = self.text.split('\n').nth(number.checked_sub(1)?)?;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    /// The 1-based column of the first occurrence of `needle` on line `number`.
    pub fn column_of(&self, number: usize, needle: &str) -> Option<usize> {
        let line = self.line(number)?;
        let byte = line.find(needle)?;
        Some(line[..byte].chars().count() + 1)
    }

    /// Finds the first physical line in `first..=last` containing `needle`,
    /// with the column where it starts. Used to place errors on a flag or word
    /// of an instruction that spans several lines.
    pub fn locate(&self, first: usize, last: usize, needle: &str) -> Option<(usize, usize)> {
        (first..=last).find_map(|line| Some((line, self.column_of(line, needle)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_strips_carriage_returns() {
        let source = Source::new("Dockerfile", "FROM a\r\nRUN b\n");
        assert_eq!(source.line(1), Some("FROM a"));
        assert_eq!(source.line(2), Some("RUN b"));
        assert_eq!(source.line(3), Some(""));
        assert_eq!(source.line(4), None);
        assert_eq!(source.line(0), None);
    }

    #[test]
    fn locate_counts_characters() {
        let source = Source::new("Dockerfile", "FROM a\nRUN ☃ --x\n");
        assert_eq!(source.locate(1, 2, "--x"), Some((2, 7)));
    }
}
