//! The ignore file itself: which one applies to a build, and how its lines
//! become prepared patterns (Docker's `ignorefile.ReadAll`).
//!
//! `<Dockerfile>.dockerignore` beside the Dockerfile wins over
//! `<context>/.dockerignore`, as in BuildKit's `dockerui`; with neither,
//! nothing is excluded. Compiling a prepared line is left to
//! [`super::pattern`].

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::error::IgnoreError;
use crate::frontend::path::clean;

/// The ignore file in the context root.
pub(super) const CONTEXT_IGNORE_FILE: &str = ".dockerignore";

/// One line of an ignore file that holds a pattern, prepared as Docker's
/// reader leaves it: trimmed, cleaned, a leading `/` removed, `!` kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PreparedLine {
    /// The 1-based line number.
    pub(super) number: usize,
    /// The line as written, trimmed, for error messages.
    pub(super) written: String,
    pub(super) prepared: String,
}

/// Reads the pattern lines of an ignore file.
///
/// A UTF-8 byte-order mark is dropped from the first line. A line whose
/// first character is `#` is a comment; ` # x` is the pattern `# x`. Blank
/// lines are skipped; others are trimmed, and so is the text after a `!`.
/// The pattern is cleaned like a path and a leading `/` dropped, so `/a`,
/// `./a` and `a/` all mean `a`. A lone `!` stays, for the compiler to refuse.
pub(super) fn read_lines(text: &str) -> Vec<PreparedLine> {
    let mut lines = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let mut line = raw.strip_suffix('\r').unwrap_or(raw);
        if index == 0 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.starts_with('#') {
            continue;
        }
        let written = line.trim();
        if written.is_empty() {
            continue;
        }
        let (exception, body) = match written.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, written),
        };
        let mut prepared = String::new();
        if exception {
            prepared.push('!');
        }
        if !body.is_empty() {
            let cleaned = clean(body);
            match cleaned.strip_prefix('/') {
                Some(relative) if !relative.is_empty() => prepared.push_str(relative),
                _ => prepared.push_str(&cleaned),
            }
        }
        lines.push(PreparedLine {
            number: index + 1,
            written: written.to_owned(),
            prepared,
        });
    }
    lines
}

/// The ignore files that may apply, most specific first:
/// `<Dockerfile>.dockerignore`, then `<context>/.dockerignore`. A Dockerfile
/// read from stdin (`-`) has no file of its own.
pub(super) fn candidates(context_dir: &Path, dockerfile: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::with_capacity(2);
    if dockerfile != Path::new("-") {
        if let Some(name) = dockerfile.file_name() {
            let mut own = OsString::from(name);
            own.push(".dockerignore");
            paths.push(dockerfile.with_file_name(own));
        }
    }
    paths.push(context_dir.join(CONTEXT_IGNORE_FILE));
    paths
}

/// The text of the ignore file at `path`, or `None` when there is none
/// there. Bytes that are not UTF-8 become U+FFFD, as no path given to the
/// matcher can hold them anyway.
pub(super) fn read_if_present(path: &Path) -> Result<Option<String>, IgnoreError> {
    match fs_err::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory
            ) =>
        {
            Ok(None)
        }
        Err(source) => Err(IgnoreError::ReadIgnoreFile {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(text: &str) -> Vec<String> {
        read_lines(text)
            .into_iter()
            .map(|line| line.prepared)
            .collect()
    }

    #[test]
    fn read_lines_matches_docker_reader() {
        // The case list of moby/patternmatcher's ignorefile test.
        let text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
        assert_eq!(
            prepared(text),
            [
                "test1",
                "test2",
                "a/file/here",
                "lastfile",
                "!inverted/abs/path",
                "!",
                "!"
            ]
        );
    }

    #[test]
    fn read_lines_numbers_every_physical_line() {
        let lines = read_lines("# comment\n\na\r\n  b  \n");
        let numbers: Vec<_> = lines.iter().map(|line| line.number).collect();
        assert_eq!(numbers, [3, 4]);
        assert_eq!(lines[1].written, "b");
    }

    #[test]
    fn read_lines_comments_only_at_line_start() {
        assert_eq!(prepared("#a\n #b\n\t#c\nd#e"), ["#b", "#c", "d#e"]);
    }

    #[test]
    fn read_lines_drops_bom_on_first_line_only() {
        assert_eq!(prepared("\u{feff}a\n\u{feff}b"), ["a", "\u{feff}b"]);
        assert_eq!(prepared("\u{feff}# comment"), Vec::<String>::new());
    }

    #[test]
    fn read_lines_cleans_and_strips_root() {
        assert_eq!(
            prepared("./a\n/b/\na//b/../c\n/\n.\n!/x\n!./y/\n../z\n/../w"),
            ["a", "b", "a/c", "/", ".", "!x", "!y", "../z", "w"]
        );
    }

    #[test]
    fn candidates_put_dockerfile_ignore_first() {
        let paths = candidates(Path::new("ctx"), Path::new("build/app.Dockerfile"));
        assert_eq!(
            paths,
            [
                PathBuf::from("build/app.Dockerfile.dockerignore"),
                PathBuf::from("ctx/.dockerignore")
            ]
        );
    }

    #[test]
    fn candidates_skip_stdin_dockerfile() {
        let paths = candidates(Path::new("ctx"), Path::new("-"));
        assert_eq!(paths, [PathBuf::from("ctx/.dockerignore")]);
    }

    #[test]
    fn read_if_present_treats_missing_and_dirs_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_if_present(&dir.path().join("none")).unwrap(), None);
        assert_eq!(read_if_present(dir.path()).unwrap(), None);
        let file = dir.path().join("file");
        fs_err::write(&file, b"a\xffb").unwrap();
        assert_eq!(
            read_if_present(&file).unwrap().as_deref(),
            Some("a\u{fffd}b")
        );
        assert_eq!(read_if_present(&file.join("below")).unwrap(), None);
    }
}
