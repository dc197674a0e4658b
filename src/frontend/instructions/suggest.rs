//! "Did you mean ...?" suggestions by edit distance, as BuildKit's
//! `util/suggest` picks them: the closest option under distance 3, and none
//! when the value matches an option exactly.

/// The closest of `options` to `value`, if any is within distance 2.
///
/// With `case_sensitive` false the comparison ignores case and the answer is
/// given in the case `value` was written in (all lower, all upper, or as the
/// option is spelled).
pub fn closest<'a, I>(value: &str, options: I, case_sensitive: bool) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let fold = |text: &str| {
        if case_sensitive {
            text.to_owned()
        } else {
            text.to_lowercase()
        }
    };
    let wanted = fold(value);
    let mut best: Option<(usize, String)> = None;
    for option in options {
        let candidate = fold(option);
        if candidate == wanted {
            return None;
        }
        let distance = levenshtein(&wanted, &candidate);
        if distance < best.as_ref().map_or(3, |(d, _)| *d) {
            let shown = if case_sensitive {
                option.to_owned()
            } else {
                match_case(option, value)
            };
            best = Some((distance, shown));
        }
    }
    best.map(|(_, option)| option)
}

fn match_case(option: &str, written: &str) -> String {
    if written == written.to_lowercase() {
        option.to_lowercase()
    } else if written == written.to_uppercase() {
        option.to_uppercase()
    } else {
        option.to_owned()
    }
}

/// Edit distance in characters (insert, delete, substitute).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos() {
        let options = ["ENTRYPOINT", "EXPOSE", "ENV"];
        assert_eq!(
            closest("FNTRYPOINT", options, false).as_deref(),
            Some("ENTRYPOINT")
        );
        assert_eq!(
            closest("fntrypoint", options, false).as_deref(),
            Some("entrypoint")
        );
        assert_eq!(
            closest("bulid", ["build", "test"], true).as_deref(),
            Some("build")
        );
        assert_eq!(closest("completely", ["build"], true), None);
        assert_eq!(closest("build", ["build", "bulid"], true), None);
    }

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("bulid", "build"), 2);
    }
}
