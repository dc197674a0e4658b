//! Slash-separated path cleaning as Go's `path.Clean` does it, which is what
//! Dockerfile semantics are defined by: `.dockerignore` patterns, `WORKDIR`,
//! COPY destinations and mount targets all go through here.

/// Go's `path.Clean`: one `/` between elements, no `.` elements, `..` taken
/// back against the element before it (dropped at the root, kept at the
/// start of a relative path), no trailing `/`, and `.` for an empty result.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

/// `path` joined to the absolute directory `base` (unless `path` is itself
/// absolute) and cleaned; the result is always absolute.
pub fn join_clean(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        clean(path)
    } else {
        clean(&format!("/{base}/{path}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_follows_go() {
        for (input, expected) in [
            ("", "."),
            (".", "."),
            ("./", "."),
            ("a/", "a"),
            ("a//b", "a/b"),
            ("a/./b/.", "a/b"),
            ("a/../b", "b"),
            ("a/..", "."),
            ("../a", "../a"),
            ("../../a/..", "../.."),
            ("/", "/"),
            ("/..", "/"),
            ("/../a", "/a"),
            ("/root/.cache/", "/root/.cache"),
            ("!./a", "!./a"),
            ("!/", "!"),
        ] {
            assert_eq!(clean(input), expected, "clean({input:?})");
        }
    }

    #[test]
    fn join_clean_stays_absolute() {
        assert_eq!(join_clean("/", "app"), "/app");
        assert_eq!(join_clean("/app", "../src/./x/"), "/src/x");
        assert_eq!(join_clean("/app", "/abs"), "/abs");
        assert_eq!(join_clean("/", ".."), "/");
        assert_eq!(join_clean("/a", "../../.."), "/");
    }
}
