//! `.dockerignore`: which context paths a build leaves out, with Docker's
//! semantics (`moby/patternmatcher`, its `ignorefile` reader, and the way
//! BuildKit's `dockerui` picks the file).
//!
//! This module owns reading the file, compiling its patterns and answering
//! two questions about a slash-separated path relative to the context root:
//! is it excluded ([`IgnoreRules::is_excluded`]), and, for a directory, might
//! an exception re-include something below it ([`IgnoreRules::may_include_below`]).
//! Walking the context, and keeping the parent directories of included paths
//! (as BuildKit does), is left to the caller.
//!
//! The rules, in brief:
//! - Each non-blank line is a pattern; `#` starts a comment only as the very
//!   first character. Lines are trimmed, cleaned like paths (`a//b/../c` is
//!   `a/c`, `a/` is `a`) and a leading `/` or `./` dropped. `!` makes an
//!   exception; a lone `!` is an error, as is a malformed `[...]`.
//! - `*` is any run of characters but `/`, `?` one character but `/`,
//!   `[a-z]`, `[^a-z]` a class (which may match `/`; `!` does not negate, as
//!   in Go), `\` escapes, `**` any number of directories including none.
//! - A pattern matches a path when it matches the path or any parent
//!   directory of it, so `foo` excludes `foo/bar`. The last pattern that
//!   matches decides, so a later `!` exception re-includes.
//!
//! Where xb parts from Docker, it is where Docker's translation to a Go
//! regexp leaks regexp syntax: `\d` or `\w` (xb: the letter), `*` or `?`
//! inside a class and `^` outside one in a wildcard pattern (xb: the
//! character), `[[:alpha:]]` (xb: a class of `[:alph` then `]`). Also,
//! Docker's context walkers (BuildKit's fsutil, the classic tar) reuse
//! per-pattern results from parent directories and skip patterns that cannot
//! change the verdict so far, so they miss an exception that matches only a
//! parent of a path: with `**/*.md` then `!docs` they leave out `docs/a.md`,
//! which the rule above (`MatchesOrParentMatches`, which BuildKit uses when it
//! opens a single file) keeps. xb follows the rule.
//!
//! ```no_run
//! use xb::frontend::ignore::IgnoreRules;
//!
//! let rules = IgnoreRules::parse("target\n*.log\n!keep.log\n", ".dockerignore")?;
//! assert!(rules.is_excluded("target/debug/xb"));
//! assert!(rules.is_excluded("build.log"));
//! assert!(!rules.is_excluded("keep.log"));
//! assert!(!rules.may_include_below("target"));
//! # Ok::<(), xb::frontend::ignore::IgnoreError>(())
//! ```

mod error;
mod file;
mod glob;
mod pattern;

use std::path::{Path, PathBuf};

pub use error::{IgnoreError, PatternFault};
pub use pattern::IgnorePattern;

/// The compiled patterns of one ignore file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    patterns: Vec<IgnorePattern>,
}

impl IgnoreRules {
    /// Parses the text of an ignore file. `file_name` is how errors name it.
    ///
    /// Fails on the first line that is not a valid pattern, naming
    /// `file_name` and the line.
    pub fn parse(text: &str, file_name: &str) -> Result<Self, IgnoreError> {
        let mut patterns = Vec::new();
        for line in file::read_lines(text) {
            let compiled =
                IgnorePattern::compile(line.number, &line.prepared).map_err(|fault| {
                    IgnoreError::ParsePattern {
                        file: file_name.to_owned(),
                        line: line.number,
                        pattern: line.written.clone(),
                        fault,
                    }
                })?;
            patterns.extend(compiled);
        }
        Ok(Self { patterns })
    }

    /// Finds and parses the ignore file for a build: `<dockerfile>.dockerignore`
    /// (e.g. `build/app.Dockerfile.dockerignore`) if it exists, even empty,
    /// else `<context_dir>/.dockerignore`. Returns the file used with its rules,
    /// or `None` when neither exists, in which case nothing is excluded.
    ///
    /// `dockerfile` is the Dockerfile's path as the build reads it (relative
    /// paths are relative to the working directory); `-` means stdin, which
    /// has no ignore file of its own.
    pub fn load(
        context_dir: &Path,
        dockerfile: &Path,
    ) -> Result<Option<(PathBuf, IgnoreRules)>, IgnoreError> {
        for path in file::candidates(context_dir, dockerfile) {
            if let Some(text) = file::read_if_present(&path)? {
                let rules = Self::parse(&text, &path.display().to_string())?;
                return Ok(Some((path, rules)));
            }
        }
        Ok(None)
    }

    /// Whether `path` (slash-separated, relative to the context root, without
    /// `./` or a trailing `/`) is left out of the context: the last pattern
    /// that matches it or one of its parent directories is not an exception.
    /// The context root itself (`""` or `.`) is never excluded.
    pub fn is_excluded(&self, path: &str) -> bool {
        if path.is_empty() || path == "." {
            return false;
        }
        let mut excluded = false;
        for pattern in &self.patterns {
            // Only an exclusion can change an included path, and only an
            // exception an excluded one.
            if pattern.is_exception() != excluded {
                continue;
            }
            if pattern.matches_path_or_parent(path) {
                excluded = !pattern.is_exception();
            }
        }
        excluded
    }

    /// Whether an exception could re-include some path below directory `dir`
    /// (same form as for [`Self::is_excluded`]; `""` is the root): whether
    /// some `!` pattern matches, or could match, a path below `dir` or one of
    /// that path's parents. When `dir` is excluded and this is false, a walk
    /// may skip `dir`: every path below it is excluded too. It errs towards
    /// true, which only costs a walk.
    pub fn may_include_below(&self, dir: &str) -> bool {
        let mut exceptions = self
            .patterns
            .iter()
            .filter(|pattern| pattern.is_exception());
        if dir.is_empty() || dir == "." {
            return exceptions.next().is_some();
        }
        exceptions
            .any(|pattern| pattern.matches_path_or_parent(dir) || pattern.may_match_below(dir))
    }

    /// The patterns in file order, for display (`Display` writes `!` back).
    pub fn patterns(&self) -> &[IgnorePattern] {
        &self.patterns
    }

    /// Whether the rules exclude nothing because they hold no pattern.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/dockerignore");

    /// One line of a case table.
    struct Case {
        origin: String,
        patterns: String,
        path: String,
        expect: String,
    }

    fn read_cases() -> Vec<Case> {
        let mut cases = Vec::new();
        let mut files: Vec<_> = fs_err::read_dir(CASES)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no case tables in {CASES}");
        for table in files {
            let text = fs_err::read_to_string(&table).unwrap();
            let name = table.file_name().unwrap().to_string_lossy().into_owned();
            for (index, line) in text.lines().enumerate() {
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                let origin = format!("{name}:{}", index + 1);
                let mut fields = line.rsplitn(3, " | ");
                let (Some(expect), Some(path), Some(patterns)) =
                    (fields.next(), fields.next(), fields.next())
                else {
                    panic!("{origin}: want `patterns | path | expect`, got {line:?}");
                };
                cases.push(Case {
                    origin,
                    patterns: patterns.split(" ; ").collect::<Vec<_>>().join("\n"),
                    path: path.trim().to_owned(),
                    expect: expect.trim().to_owned(),
                });
            }
        }
        cases
    }

    /// What the rules say about a case, in the table's words.
    fn verdict(case: &Case) -> String {
        let Ok(rules) = IgnoreRules::parse(&case.patterns, "cases") else {
            return "error".to_owned();
        };
        let answer = match case.expect.as_str() {
            "descend" | "prune" if rules.may_include_below(&case.path) => "descend",
            "descend" | "prune" => "prune",
            _ if rules.is_excluded(&case.path) => "excluded",
            _ => "included",
        };
        answer.to_owned()
    }

    #[test]
    fn dockerignore_cases() {
        let cases = read_cases();
        let mut failures = Vec::new();
        for case in &cases {
            assert!(
                ["excluded", "included", "descend", "prune", "error"]
                    .contains(&case.expect.as_str()),
                "{}: unknown expectation {:?}",
                case.origin,
                case.expect
            );
            let got = verdict(case);
            if got != case.expect {
                failures.push(format!(
                    "{}: patterns {:?}, path {:?}: want {}, got {got}",
                    case.origin, case.patterns, case.path, case.expect
                ));
            }
        }
        eprintln!(
            "dockerignore cases: {}/{} passed",
            cases.len() - failures.len(),
            cases.len()
        );
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    /// Pruning never changes the result: under an excluded directory that
    /// `may_include_below` rules out, every path is excluded. Checked for
    /// every pattern list of the tables over a small tree of likely names.
    #[test]
    fn may_include_below_never_prunes_an_included_path() {
        let names = [
            "a",
            "b",
            "docs",
            "src",
            "x.go",
            "README.md",
            "keep",
            "build",
        ];
        let mut paths: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        for depth in 0..2 {
            let shorter: Vec<String> = paths
                .iter()
                .filter(|path| path.matches('/').count() == depth)
                .cloned()
                .collect();
            for parent in shorter {
                paths.extend(names.iter().map(|name| format!("{parent}/{name}")));
            }
        }
        for case in read_cases() {
            let Ok(rules) = IgnoreRules::parse(&case.patterns, "cases") else {
                continue;
            };
            for dir in &paths {
                if !rules.is_excluded(dir) || rules.may_include_below(dir) {
                    continue;
                }
                let prefix = format!("{dir}/");
                for path in paths.iter().filter(|path| path.starts_with(&prefix)) {
                    assert!(
                        rules.is_excluded(path),
                        "{}: pruned {dir} but {path} is included",
                        case.origin
                    );
                }
            }
        }
    }

    #[test]
    fn parse_error_names_file_and_line() {
        let error = IgnoreRules::parse("# ok\nfoo\n\n  src/[abc  \n", ".dockerignore").unwrap_err();
        insta::assert_snapshot!(
            error.to_string(),
            @".dockerignore:4: invalid pattern `src/[abc`: unterminated character class: `[` has no closing `]`"
        );
    }

    #[test]
    fn parse_errors_explain_the_fault() {
        let messages: Vec<String> = ["!", "a\\", "[ab", "[]", "[-a]", "[a-]", "[z-a]"]
            .iter()
            .map(|line| IgnoreRules::parse(line, "f").unwrap_err().to_string())
            .collect();
        insta::assert_snapshot!(messages.join("\n"), @r"
        f:1: invalid pattern `!`: `!` must be followed by a pattern
        f:1: invalid pattern `a\`: trailing `\` escapes nothing; write `\\` for a backslash
        f:1: invalid pattern `[ab`: unterminated character class: `[` has no closing `]`
        f:1: invalid pattern `[]`: character class is empty; write `\]` for a literal `]`
        f:1: invalid pattern `[-a]`: `-` in a character class must form a range or be escaped as `\-`
        f:1: invalid pattern `[a-]`: character range has no upper end; write `\-` for a literal `-`
        f:1: invalid pattern `[z-a]`: character range `z-a` is reversed
        ");
    }

    #[test]
    fn parse_error_for_lone_bang() {
        let error = IgnoreRules::parse("a\n!\n", "app.Dockerfile.dockerignore").unwrap_err();
        assert!(matches!(
            error,
            IgnoreError::ParsePattern {
                line: 2,
                fault: PatternFault::EmptyException,
                ..
            }
        ));
        assert_eq!(
            error.to_string(),
            "app.Dockerfile.dockerignore:2: invalid pattern `!`: `!` must be followed by a pattern"
        );
    }

    #[test]
    fn parse_keeps_file_order_and_lines() {
        let rules = IgnoreRules::parse("# c\n*.md\n\n! README.md\n/tmp/\n", "x").unwrap();
        let shown: Vec<_> = rules
            .patterns()
            .iter()
            .map(|pattern| (pattern.line(), pattern.to_string()))
            .collect();
        assert_eq!(
            shown,
            [
                (2, "*.md".to_owned()),
                (4, "!README.md".to_owned()),
                (5, "tmp".to_owned())
            ]
        );
        assert!(rules.patterns()[1].is_exception());
        assert_eq!(rules.patterns()[1].pattern(), "README.md");
    }

    #[test]
    fn parse_of_comments_only_is_empty() {
        let rules = IgnoreRules::parse("# nothing\n\n   \n", "x").unwrap();
        assert!(rules.is_empty());
        assert!(!rules.is_excluded("anything"));
    }

    #[test]
    fn root_is_never_excluded() {
        let rules = IgnoreRules::parse("*\n**\n.\n", "x").unwrap();
        assert!(!rules.is_excluded(""));
        assert!(!rules.is_excluded("."));
        assert!(rules.is_excluded("a"));
    }

    #[test]
    fn may_include_below_root_needs_an_exception() {
        assert!(!IgnoreRules::parse("*", "x").unwrap().may_include_below(""));
        assert!(
            IgnoreRules::parse("*\n!a", "x")
                .unwrap()
                .may_include_below("")
        );
    }

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).unwrap();
        }
        fs_err::write(path, text).unwrap();
    }

    #[test]
    fn load_prefers_dockerfile_ignore() {
        let dir = tempfile::tempdir().unwrap();
        let context = dir.path();
        write(&context.join(".dockerignore"), "from-context\n");
        let dockerfile = context.join("build/app.Dockerfile");
        write(&dockerfile, "FROM scratch\n");
        write(
            &context.join("build/app.Dockerfile.dockerignore"),
            "from-dockerfile\n",
        );

        let (path, rules) = IgnoreRules::load(context, &dockerfile).unwrap().unwrap();
        assert_eq!(path, context.join("build/app.Dockerfile.dockerignore"));
        assert!(rules.is_excluded("from-dockerfile"));
        assert!(!rules.is_excluded("from-context"));

        // Another Dockerfile in the same place falls back to the context's.
        let other = context.join("build/Dockerfile");
        let (path, rules) = IgnoreRules::load(context, &other).unwrap().unwrap();
        assert_eq!(path, context.join(".dockerignore"));
        assert!(rules.is_excluded("from-context"));
    }

    #[test]
    fn load_takes_an_empty_dockerfile_ignore() {
        let dir = tempfile::tempdir().unwrap();
        let context = dir.path();
        write(&context.join(".dockerignore"), "*\n");
        write(&context.join("Dockerfile.dockerignore"), "");
        let (path, rules) = IgnoreRules::load(context, &context.join("Dockerfile"))
            .unwrap()
            .unwrap();
        assert_eq!(path, context.join("Dockerfile.dockerignore"));
        assert!(rules.is_empty());
    }

    #[test]
    fn load_without_files_excludes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let found = IgnoreRules::load(dir.path(), &dir.path().join("Dockerfile")).unwrap();
        assert!(found.is_none());
        let from_stdin = IgnoreRules::load(dir.path(), Path::new("-")).unwrap();
        assert!(from_stdin.is_none());
    }

    #[test]
    fn load_reports_the_file_path_on_bad_pattern() {
        let dir = tempfile::tempdir().unwrap();
        let context = dir.path();
        write(&context.join(".dockerignore"), "ok\n\nbad\\\n");
        let error = IgnoreRules::load(context, &context.join("Dockerfile")).unwrap_err();
        let IgnoreError::ParsePattern { file, line, .. } = &error else {
            panic!("want a pattern error, got {error:?}");
        };
        assert_eq!(file, &context.join(".dockerignore").display().to_string());
        assert_eq!(*line, 3);
        assert!(error.to_string().ends_with(
            ":3: invalid pattern `bad\\`: trailing `\\` escapes nothing; write `\\\\` for a backslash"
        ));
    }

    #[test]
    fn load_does_not_fall_back_past_a_broken_dockerfile_ignore() {
        let dir = tempfile::tempdir().unwrap();
        let context = dir.path();
        write(&context.join(".dockerignore"), "fine\n");
        write(&context.join("Dockerfile.dockerignore"), "[\n");
        let error = IgnoreRules::load(context, &context.join("Dockerfile")).unwrap_err();
        assert!(error.to_string().contains("Dockerfile.dockerignore:1:"));
    }

    #[test]
    fn load_lists_itself_and_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let context = dir.path();
        write(
            &context.join(".dockerignore"),
            ".dockerignore\nDockerfile\n",
        );
        let (_, rules) = IgnoreRules::load(context, &context.join("Dockerfile"))
            .unwrap()
            .unwrap();
        assert!(rules.is_excluded(".dockerignore"));
        assert!(rules.is_excluded("Dockerfile"));
    }
}
