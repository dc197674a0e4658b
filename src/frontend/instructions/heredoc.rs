//! Recognising a heredoc marker among an instruction's words (`<<EOF`,
//! `<<-EOF`, `<<"EOF"`, `3<<EOF`), so that COPY and ADD sources and RUN
//! scripts can be matched to the bodies the parser collected.

/// A word that opens a heredoc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeredocWord {
    /// The terminator, quotes removed.
    pub name: String,
    /// `<<-`: strip leading tabs from the body.
    pub chomp: bool,
    /// False when the name was quoted: the body is used verbatim.
    pub expand: bool,
    /// `3<<EOF` gives 3; 0 when none was written.
    pub file_descriptor: u32,
}

/// The heredoc `word` opens, if it is a heredoc marker.
pub fn parse_heredoc_word(word: &str) -> Option<HeredocWord> {
    let digits = word.chars().take_while(char::is_ascii_digit).count();
    let (fd, rest) = word.split_at(digits);
    let rest = rest.strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let rest = rest.trim_start();
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let quoted = |quote: char| {
        rest.strip_prefix(quote)
            .and_then(|inner| inner.strip_suffix(quote))
    };
    let (name, expand) = match quoted('"').or_else(|| quoted('\'')) {
        Some(inner) => (inner, false),
        None => (rest, true),
    };
    if name.is_empty() {
        return None;
    }
    Some(HeredocWord {
        name: name.to_owned(),
        chomp,
        expand,
        file_descriptor: fd.parse().unwrap_or(0),
    })
}

/// `<<-` bodies lose the leading tabs of every line.
pub(super) fn chomp_heredoc(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_word_forms() {
        let plain = parse_heredoc_word("<<EOF").unwrap();
        assert_eq!(plain.name, "EOF");
        assert!(plain.expand && !plain.chomp);
        let quoted = parse_heredoc_word("<<-'EOT'").unwrap();
        assert_eq!(quoted.name, "EOT");
        assert!(!quoted.expand && quoted.chomp);
        assert_eq!(parse_heredoc_word("3<<\"X\"").unwrap().file_descriptor, 3);
        assert_eq!(parse_heredoc_word("file.txt"), None);
        assert_eq!(parse_heredoc_word("<<"), None);
        assert_eq!(parse_heredoc_word("a<<EOF"), None);
    }

    #[test]
    fn chomp_strips_leading_tabs() {
        assert_eq!(chomp_heredoc("\t\ta\n\tb\nc\n"), "a\nb\nc\n");
    }
}
