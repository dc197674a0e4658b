//! What a COPY/ADD reads from the context: its sources, as the Dockerfile
//! wrote them, resolved against a [`ContextTree`] with BuildKit's rules, and
//! the checksum of exactly that selection for the step's cache key.
//!
//! - A source is cleaned as a path below the context root: `../x` and `/x`
//!   both mean `x`, and `.` is the root.
//! - Without a wildcard it must exist: else `"/x": not found`. Symlinks on
//!   the way are followed while they stay in the context, and so is a
//!   source that is itself a symlink (BuildKit's `FollowSymlinks`), unless
//!   [`Selector::follow_symlinks`] turns that off.
//! - With a wildcard (`*`, `?`, `[...]`, Go's `filepath.Match`), the
//!   components before the first wildcard name a directory, and every path
//!   below it that the rest matches is a match; a directory that matches is
//!   not searched further. Matching nothing is fine.
//! - `--exclude` patterns (`.dockerignore` syntax) drop entries by their
//!   path below what is copied; a wildcard match is also dropped when its
//!   path below the wildcard's directory is excluded.
//! - `--parents`: the source splits at `/./` into a pivot and a pattern
//!   (`.dockerignore` syntax, `**` allowed), and matches keep their path
//!   below the pivot (the root when there is no `/./`).
//!
//! Copying the matches is left to the solver; symlink resolution to
//! `resolve`.

use super::checksum::{Checksums, Hasher, fold_subtree};
use super::error::ContextError;
use super::resolve::resolve;
use super::safety::clean_relative;
use super::scan::ContextTree;
use super::wildcard::{Wildcard, has_wildcard};
use crate::frontend::ignore::IgnoreRules;
use crate::graph::Digest;

/// COPY/ADD sources and their options, ready to resolve against a tree.
#[derive(Debug, Clone)]
pub struct Selector {
    sources: Vec<Source>,
    excludes: Option<IgnoreRules>,
    parents: bool,
    follow_symlinks: bool,
}

#[derive(Debug, Clone)]
struct Source {
    written: String,
    /// Cleaned, relative, `""` for the root.
    cleaned: String,
}

/// One thing a source names, to be copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Which source (by position in [`Selector::new`]) produced it.
    pub source: usize,
    /// The context path that matched, before a final symlink was followed.
    pub path: String,
    /// The entry to copy: the one at `path`, or the target it resolves to.
    pub root: usize,
    /// Where it lands below the destination: its name (`""` for the context
    /// root), or with `--parents` its path below the pivot.
    pub dest: String,
    /// With `--parents`: the directories between the pivot and the match,
    /// outermost first, to create with their modes.
    pub parents: Vec<usize>,
    /// For a directory: the entries below `root` to copy, in tree order
    /// (with `--exclude`, kept directories that only hold kept entries too).
    pub contents: Vec<usize>,
}

impl Match {
    /// The path of entry `index` (one of [`Self::contents`]) relative to
    /// [`Self::root`].
    pub fn relative<'t>(&self, tree: &'t ContextTree, index: usize) -> &'t str {
        relative(&tree.entries()[self.root].path, &tree.entries()[index].path)
    }
}

/// The resolved sources of one COPY/ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub matches: Vec<Match>,
}

impl Selection {
    /// The digest of everything selected: each match's destination name,
    /// its parents' headers, and the checksum of its root and contents. It
    /// changes when a selected entry's content, mode, kind, link target or
    /// name does, and not when anything unselected changes.
    pub fn checksum(&self, tree: &ContextTree, checksums: &Checksums) -> Digest {
        let headers = checksums.headers();
        let mut hasher = Hasher::new("xb.context.selection.v1");
        for found in &self.matches {
            hasher.bytes(found.dest.as_bytes());
            for &parent in &found.parents {
                hasher.digest(&headers[parent]);
            }
            let full = tree.descendants(found.root).len() == found.contents.len();
            let digest = if full {
                checksums.get(found.root)
            } else {
                // Contents are in tree order, so ascending.
                let kept = |index| found.contents.binary_search(&index).is_ok();
                fold_subtree(tree, headers, found.root, kept, |_, _| {})
            };
            hasher.digest(&digest);
        }
        hasher.finish()
    }
}

/// Resolves `sources` with `excludes` against `tree` and returns the
/// checksum of the selection (see [`Selection::checksum`]).
pub fn selection_checksum(
    tree: &ContextTree,
    checksums: &Checksums,
    sources: &[&str],
    excludes: &[&str],
) -> Result<Digest, ContextError> {
    let selection = Selector::new(sources)?.exclude(excludes)?.select(tree)?;
    Ok(selection.checksum(tree, checksums))
}

impl Selector {
    /// Sources as the Dockerfile wrote them. Each is checked here: a
    /// malformed wildcard is an error before anything is resolved.
    pub fn new<S: AsRef<str>>(sources: impl IntoIterator<Item = S>) -> Result<Self, ContextError> {
        let sources = sources
            .into_iter()
            .map(|written| {
                let written = written.as_ref().to_owned();
                let cleaned = clean_relative(&written);
                for component in cleaned.split('/').filter(|c| has_wildcard(c)) {
                    Wildcard::compile(component).map_err(|fault| {
                        ContextError::ParseSourcePattern {
                            pattern: written.clone(),
                            fault,
                        }
                    })?;
                }
                Ok(Source { written, cleaned })
            })
            .collect::<Result<_, ContextError>>()?;
        Ok(Self {
            sources,
            excludes: None,
            parents: false,
            follow_symlinks: true,
        })
    }

    /// Adds `--exclude` patterns.
    pub fn exclude<S: AsRef<str>>(
        mut self,
        patterns: impl IntoIterator<Item = S>,
    ) -> Result<Self, ContextError> {
        let text: Vec<String> = patterns
            .into_iter()
            .map(|pattern| pattern.as_ref().to_owned())
            .collect();
        if !text.is_empty() {
            let rules = IgnoreRules::parse(&text.join("\n"), "--exclude")
                .map_err(ContextError::ParseExcludePattern)?;
            self.excludes = Some(rules);
        }
        Ok(self)
    }

    /// `--parents`: keep each match's path below the `/./` pivot.
    #[must_use]
    pub fn parents(mut self, parents: bool) -> Self {
        self.parents = parents;
        self
    }

    /// Whether a source that is itself a symlink is followed (BuildKit's
    /// COPY does, the default) or copied as the link.
    #[must_use]
    pub fn follow_symlinks(mut self, follow: bool) -> Self {
        self.follow_symlinks = follow;
        self
    }

    /// Resolves every source against `tree`, in source order.
    pub fn select(&self, tree: &ContextTree) -> Result<Selection, ContextError> {
        let mut matches = Vec::new();
        for (position, source) in self.sources.iter().enumerate() {
            if self.parents {
                self.select_parents(tree, position, source, &mut matches)?;
            } else {
                self.select_source(tree, position, source, &mut matches)?;
            }
        }
        Ok(Selection { matches })
    }

    fn select_source(
        &self,
        tree: &ContextTree,
        position: usize,
        source: &Source,
        matches: &mut Vec<Match>,
    ) -> Result<(), ContextError> {
        let components: Vec<&str> = if source.cleaned.is_empty() {
            Vec::new()
        } else {
            source.cleaned.split('/').collect()
        };
        let Some(first_wild) = components.iter().position(|c| has_wildcard(c)) else {
            let root = resolve(tree, &source.written, &source.cleaned, self.follow_symlinks)?
                .ok_or_else(|| not_found(source, &source.cleaned))?;
            let name = source.cleaned.rsplit('/').next().unwrap_or("");
            matches.push(self.make_match(tree, position, &source.cleaned, root, name, None));
            return Ok(());
        };
        let base = components[..first_wild].join("/");
        let pattern = Wildcard::compile(&components[first_wild..].join("/"))
            .expect("checked when the selector was made");
        let Some(base_index) = resolve(tree, &source.written, &base, true)? else {
            return Ok(());
        };
        if !tree.entries()[base_index].is_dir() {
            return Ok(());
        }
        let base_path = &tree.entries()[base_index].path;
        let range = tree.descendants(base_index);
        let mut index = range.start;
        while index < range.end {
            let entry = &tree.entries()[index];
            let below = relative(base_path, &entry.path);
            if !pattern.matches(below) {
                index += 1;
                continue;
            }
            index = tree.descendants(index).end;
            if self
                .excludes
                .as_ref()
                .is_some_and(|rules| rules.is_excluded(below))
            {
                continue;
            }
            // The name as the source would write it: through the base as
            // written, not as resolved.
            let path = if base.is_empty() {
                below.to_owned()
            } else {
                format!("{base}/{below}")
            };
            let root = resolve(tree, &source.written, &path, self.follow_symlinks)?
                .ok_or_else(|| not_found(source, &path))?;
            let name = entry.name().to_owned();
            matches.push(self.make_match(tree, position, &path, root, &name, None));
        }
        Ok(())
    }

    fn select_parents(
        &self,
        tree: &ContextTree,
        position: usize,
        source: &Source,
        matches: &mut Vec<Match>,
    ) -> Result<(), ContextError> {
        let (pivot, pattern) = match source.written.split_once("/./") {
            Some((pivot, pattern)) => (clean_relative(pivot), clean_relative(pattern)),
            None => (String::new(), source.cleaned.clone()),
        };
        let literal = !has_wildcard(&pattern);
        let Some(pivot_index) = resolve(tree, &source.written, &pivot, true)? else {
            return Err(not_found(source, &pivot));
        };
        if pattern.is_empty() {
            matches.push(self.make_match(tree, position, &pivot, pivot_index, "", None));
            return Ok(());
        }
        let include = IgnoreRules::parse(&pattern, "--parents").map_err(|_| {
            ContextError::ParseSourcePattern {
                pattern: source.written.clone(),
                fault: "not a valid pattern",
            }
        })?;
        let pivot_path = tree.entries()[pivot_index].path.clone();
        let range = tree.descendants(pivot_index);
        let before = matches.len();
        let mut index = range.start;
        while index < range.end {
            let entry = &tree.entries()[index];
            let below = relative(&pivot_path, &entry.path);
            if !include.is_excluded(below) {
                index += 1;
                continue;
            }
            index = tree.descendants(index).end;
            if self
                .excludes
                .as_ref()
                .is_some_and(|rules| rules.is_excluded(below))
            {
                continue;
            }
            let parents = ancestors_below(tree, &pivot_path, &entry.path);
            let root = tree.find(&entry.path).expect("the entry is in the tree");
            let path = entry.path.clone();
            let dest = below.to_owned();
            matches.push(self.make_match(
                tree,
                position,
                &path,
                root,
                &dest,
                Some((parents, &pivot_path)),
            ));
        }
        if literal && matches.len() == before {
            return Err(not_found(source, &source.cleaned));
        }
        Ok(())
    }

    /// A match for `root`, with its contents filtered by the excludes.
    /// `parents` holds the `--parents` ancestors and the pivot excludes are
    /// relative to; without it they are relative to `root`.
    fn make_match(
        &self,
        tree: &ContextTree,
        source: usize,
        path: &str,
        root: usize,
        dest: &str,
        parents: Option<(Vec<usize>, &str)>,
    ) -> Match {
        let root_path = &tree.entries()[root].path;
        let (parents, base) = match parents {
            Some((parents, pivot)) => (parents, pivot.to_owned()),
            None => (Vec::new(), root_path.clone()),
        };
        Match {
            source,
            path: path.to_owned(),
            root,
            dest: dest.to_owned(),
            parents,
            contents: contents(tree, root, &base, self.excludes.as_ref()),
        }
    }
}

fn not_found(source: &Source, path: &str) -> ContextError {
    ContextError::SourceNotFound {
        written: source.written.clone(),
        path: format!("/{path}"),
    }
}

/// `path` relative to directory `dir` (`""` is the root), which holds it.
fn relative<'p>(dir: &str, path: &'p str) -> &'p str {
    if dir.is_empty() {
        path
    } else {
        path.get(dir.len() + 1..).unwrap_or("")
    }
}

/// The directories strictly between `pivot` and `path`, outermost first.
fn ancestors_below(tree: &ContextTree, pivot: &str, path: &str) -> Vec<usize> {
    let below = relative(pivot, path);
    below
        .match_indices('/')
        .filter_map(|(end, _)| {
            let ancestor = &below[..end];
            let full = if pivot.is_empty() {
                ancestor.to_owned()
            } else {
                format!("{pivot}/{ancestor}")
            };
            tree.find(&full)
        })
        .collect()
}

/// The entries below `root` that a copy takes: all of them, or with
/// `excludes` those not excluded by their path below `base`, plus the
/// directories that hold them.
fn contents(
    tree: &ContextTree,
    root: usize,
    base: &str,
    excludes: Option<&IgnoreRules>,
) -> Vec<usize> {
    let range = tree.descendants(root);
    let Some(rules) = excludes else {
        return range.collect();
    };
    let mut kept = Vec::new();
    // Excluded directories an exception may re-include below: kept only
    // once something below them is.
    let mut pending: Vec<(usize, usize)> = Vec::new();
    let mut index = range.start;
    while index < range.end {
        let entry = &tree.entries()[index];
        let depth = entry.depth();
        while pending.last().is_some_and(|&(open, _)| open >= depth) {
            pending.pop();
        }
        let below = relative(base, &entry.path);
        if rules.is_excluded(below) {
            if entry.is_dir() && rules.may_include_below(below) {
                pending.push((depth, index));
                index += 1;
            } else {
                index = tree.descendants(index).end;
            }
            continue;
        }
        kept.extend(pending.drain(..).map(|(_, dir)| dir));
        kept.push(index);
        index += 1;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::context::checksum::checksum_tree;
    use crate::source::context::scan::scan_context;
    use std::fmt::Write as _;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/context/select.txt");

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).unwrap();
        }
        fs_err::write(path, text).unwrap();
    }

    /// The context the case table describes.
    fn context() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "Dockerfile",
            "main.go",
            "util.go",
            "README.md",
            ".hidden.go",
            "[weird]",
            "src/a.txt",
            "src/lib/b.txt",
            "src/lib/c.go",
            "docs/x.md",
            "docs/sub/y.md",
            "dir with space/f",
        ] {
            write(&root.join(file), file);
        }
        for (link, target) in [
            ("link_src", "src"),
            ("link_file", "main.go"),
            ("escape", "../outside"),
            ("abs", "/etc"),
            ("dangling", "nothing"),
            ("src/lib/up", ".."),
        ] {
            symlink(target, root.join(link)).unwrap();
        }
        dir
    }

    fn scanned(dir: &Path) -> ContextTree {
        scan_context(dir, &IgnoreRules::default()).unwrap()
    }

    fn words(field: &str) -> Vec<&str> {
        field.split(' ').filter(|word| !word.is_empty()).collect()
    }

    /// A selection in the table's words.
    fn describe(tree: &ContextTree, selection: &Selection) -> String {
        if selection.matches.is_empty() {
            return "-".to_owned();
        }
        let path = |index: usize| tree.entries()[index].path.as_str();
        let mut parts = Vec::new();
        for found in &selection.matches {
            let mut part = format!("{}:{}", found.dest, path(found.root));
            if tree.entries()[found.root].is_dir() {
                write!(part, "({})", found.contents.len()).unwrap();
            }
            if !found.parents.is_empty() {
                let parents: Vec<_> = found.parents.iter().map(|&p| path(p)).collect();
                write!(part, "[{}]", parents.join(",")).unwrap();
            }
            parts.push(part);
        }
        parts.join(" ")
    }

    /// The sources of a case line that holds them with spaces (`dir with
    /// space/f`) are kept whole.
    fn sources(field: &str) -> Vec<&str> {
        if field.contains("with space") {
            vec![field.trim()]
        } else {
            words(field)
        }
    }

    #[test]
    fn select_cases() {
        let dir = context();
        let tree = scanned(dir.path());
        let text = fs_err::read_to_string(CASES).unwrap();
        let mut failures = Vec::new();
        let mut count = 0;
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            count += 1;
            let fields: Vec<&str> = line.split('|').map(str::trim).collect();
            let [sources_field, excludes, options, expect] = fields[..] else {
                panic!("select.txt:{}: want 4 fields, got {line:?}", number + 1);
            };
            let options = words(options);
            let result = Selector::new(sources(sources_field))
                .and_then(|selector| selector.exclude(words(excludes)))
                .map(|selector| {
                    selector
                        .parents(options.contains(&"parents"))
                        .follow_symlinks(!options.contains(&"nofollow"))
                })
                .and_then(|selector| selector.select(&tree));
            let got = match result {
                Ok(selection) => describe(&tree, &selection),
                Err(error) => format!("error: {error}"),
            };
            if got != expect.trim() {
                failures.push(format!("select.txt:{}: {line}\n    got: {got}", number + 1));
            }
        }
        assert!(count > 50, "the table has {count} cases");
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    fn digest(tree: &ContextTree, sums: &Checksums, sources: &[&str], excludes: &[&str]) -> Digest {
        selection_checksum(tree, sums, sources, excludes).unwrap()
    }

    #[test]
    fn selection_checksum_tracks_only_what_is_selected() {
        let dir = context();
        let checksum = |sources: &[&str], excludes: &[&str]| {
            let tree = scanned(dir.path());
            let sums = checksum_tree(&tree, None).unwrap();
            digest(&tree, &sums, sources, excludes)
        };
        let go = checksum(&["*.go"], &[]);
        let src = checksum(&["src"], &["lib/b.txt"]);
        let docs = checksum(&["docs/./**/*.md"], &[]);
        // Unselected changes leave them alone.
        write(&dir.path().join("README.md"), "changed");
        write(&dir.path().join("src/lib/b.txt"), "excluded, changed");
        write(&dir.path().join("new.txt"), "new");
        assert_eq!(checksum(&["*.go"], &[]), go);
        assert_eq!(checksum(&["src"], &["lib/b.txt"]), src);
        assert_eq!(checksum(&["docs/./**/*.md"], &[]), docs);
        // Selected ones change them.
        write(&dir.path().join("new.go"), "package main");
        assert_ne!(checksum(&["*.go"], &[]), go);
        write(&dir.path().join("src/lib/c.go"), "changed");
        assert_ne!(checksum(&["src"], &["lib/b.txt"]), src);
        fs_err::rename(
            dir.path().join("docs/sub/y.md"),
            dir.path().join("docs/sub/z.md"),
        )
        .unwrap();
        assert_ne!(checksum(&["docs/./**/*.md"], &[]), docs);
    }

    #[test]
    fn selection_checksum_names_the_source_and_destination() {
        let dir = context();
        let tree = scanned(dir.path());
        let sums = checksum_tree(&tree, None).unwrap();
        // The same file under another name is another selection.
        write(&dir.path().join("copy.go"), "main.go");
        let tree2 = scanned(dir.path());
        let sums2 = checksum_tree(&tree2, None).unwrap();
        assert_eq!(
            digest(&tree, &sums, &["main.go"], &[]),
            digest(&tree2, &sums2, &["main.go"], &[])
        );
        assert_ne!(
            digest(&tree2, &sums2, &["main.go"], &[]),
            digest(&tree2, &sums2, &["copy.go"], &[])
        );
        // A directory copied whole and one with an exclude that drops
        // nothing give the same digest.
        assert_eq!(
            digest(&tree, &sums, &["src"], &[]),
            digest(&tree, &sums, &["src"], &["nothing-here"])
        );
    }

    #[test]
    fn selector_refuses_bad_excludes() {
        let error = Selector::new(["."])
            .unwrap()
            .exclude(["ok", "!"])
            .unwrap_err();
        assert!(
            matches!(error, ContextError::ParseExcludePattern(_)),
            "{error:?}"
        );
    }

    #[test]
    fn match_relative_names_contents_below_the_root() {
        let dir = context();
        let tree = scanned(dir.path());
        let selection = Selector::new(["link_src"]).unwrap().select(&tree).unwrap();
        let found = &selection.matches[0];
        let names: Vec<_> = found
            .contents
            .iter()
            .map(|&i| found.relative(&tree, i))
            .collect();
        assert_eq!(names, ["a.txt", "lib", "lib/b.txt", "lib/c.go", "lib/up"]);
        assert_eq!(found.path, "link_src");
    }
}
