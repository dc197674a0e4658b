//! Go's `filepath.Match` for one path component, as COPY and ADD sources use
//! it: `*` (no `/`), `?`, `[a-z]`/`[^a-z]` classes and `\` escapes.

/// Whether `pattern` has wildcard characters.
pub fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Matches one component `name` against one component `pattern`; a
/// malformed class matches nothing.
pub fn match_component(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_from(&pattern, &name)
}

fn match_from(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| match_from(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && match_from(&pattern[1..], &name[1..]),
        Some('[') => {
            let Some(&c) = name.first() else { return false };
            match match_class(&pattern[1..], c) {
                Some((true, rest)) => match_from(rest, &name[1..]),
                _ => false,
            }
        }
        Some('\\') if pattern.len() > 1 => {
            name.first() == Some(&pattern[1]) && match_from(&pattern[2..], &name[1..])
        }
        Some(&literal) => name.first() == Some(&literal) && match_from(&pattern[1..], &name[1..]),
    }
}

/// Matches `c` against a class body (after `[`); returns whether it matched
/// and the pattern after `]`, or `None` for a malformed class.
fn match_class(mut body: &[char], c: char) -> Option<(bool, &[char])> {
    let negated = matches!(body.first(), Some('^'));
    if negated {
        body = &body[1..];
    }
    let mut matched = false;
    let mut first = true;
    loop {
        match body.first()? {
            ']' if !first => return Some((matched != negated, &body[1..])),
            _ => {}
        }
        first = false;
        let (low, rest) = class_char(body)?;
        body = rest;
        let high = if body.first() == Some(&'-') && body.get(1).is_some_and(|&next| next != ']') {
            let (high, rest) = class_char(&body[1..])?;
            body = rest;
            high
        } else {
            low
        };
        if low <= c && c <= high {
            matched = true;
        }
    }
}

fn class_char(body: &[char]) -> Option<(char, &[char])> {
    match body {
        ['\\', escaped, rest @ ..] => Some((*escaped, rest)),
        [c, rest @ ..] => Some((*c, rest)),
        [] => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_matching_like_go() {
        for (pattern, name, expected) in [
            ("*", "abc", true),
            ("*.go", "main.go", true),
            ("*.go", "main.rs", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[a-c]x", "bx", true),
            ("[^a-c]x", "bx", false),
            ("[^a-c]x", "dx", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("[]a]", "]", true),
            ("[a-", "a", false),
            ("", "", true),
        ] {
            assert_eq!(
                match_component(pattern, name),
                expected,
                "{pattern:?} vs {name:?}"
            );
        }
    }
}
