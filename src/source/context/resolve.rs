//! Resolving a path in a scanned context the way a COPY source is resolved:
//! symlinks in directory components are followed, and the last one too when
//! asked (Docker follows a source that is itself a symlink), but only while
//! they stay inside the context. A symlink whose target is absolute (other
//! than a path under the context root) or climbs above the root is an error
//! naming it, never a path outside.
//!
//! Resolution reads the [`ContextTree`], not the disk, so it sees exactly
//! what the scan kept. Matching patterns is left to [`super::select`].

use std::collections::VecDeque;
use std::path::Path;

use super::error::ContextError;
use super::scan::{ContextTree, EntryKind};

/// How many symlinks one resolution may follow (Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// One path component still to walk, and the symlink it came from.
struct Pending {
    component: String,
    via: Option<String>,
}

/// Resolves `path` (cleaned, relative, `""` for the root) to an entry index,
/// or `None` when nothing is there. `written` is the source as the
/// Dockerfile wrote it, for errors.
pub(super) fn resolve(
    tree: &ContextTree,
    written: &str,
    path: &str,
    follow_last: bool,
) -> Result<Option<usize>, ContextError> {
    let mut pending: VecDeque<Pending> = components(path, None).collect();
    let mut current = String::new();
    let mut followed = 0;
    while let Some(Pending { component, via }) = pending.pop_front() {
        if component == ".." {
            if current.is_empty() {
                let entry = via.unwrap_or_default();
                return Err(ContextError::SymlinkEscapes {
                    written: written.to_owned(),
                    entry,
                });
            }
            current.truncate(current.rfind('/').unwrap_or(0));
            continue;
        }
        let candidate = if current.is_empty() {
            component
        } else {
            format!("{current}/{component}")
        };
        let Some(index) = tree.find(&candidate) else {
            return Ok(None);
        };
        let entry = &tree.entries()[index];
        let last = pending.is_empty();
        match entry.kind {
            EntryKind::Symlink if !last || follow_last => {
                followed += 1;
                if followed > MAX_SYMLINKS {
                    return Err(ContextError::SymlinkLoop {
                        written: written.to_owned(),
                        entry: candidate,
                    });
                }
                let target = entry.link_target.as_deref().unwrap_or(Path::new(""));
                let escapes = || ContextError::SymlinkEscapes {
                    written: written.to_owned(),
                    entry: candidate.clone(),
                };
                let target = if target.is_absolute() {
                    current.clear();
                    target.strip_prefix(tree.root()).map_err(|_| escapes())?
                } else {
                    target
                };
                let target = target.to_str().ok_or_else(escapes)?;
                let mut expanded: Vec<Pending> = components(target, Some(&candidate)).collect();
                expanded.extend(pending);
                pending = expanded.into();
            }
            EntryKind::File | EntryKind::Symlink if !last => {
                return Err(ContextError::NotADirectory {
                    written: written.to_owned(),
                    path: format!("/{candidate}"),
                });
            }
            _ => current = candidate,
        }
    }
    Ok(tree.find(&current))
}

fn components<'a>(path: &'a str, via: Option<&'a str>) -> impl Iterator<Item = Pending> + 'a {
    path.split('/')
        .filter(|component| !component.is_empty() && *component != ".")
        .map(move |component| Pending {
            component: component.to_owned(),
            via: via.map(str::to_owned),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::ignore::IgnoreRules;
    use crate::source::context::scan::scan_context;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, ContextTree) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs_err::create_dir_all(root.join("a/b")).unwrap();
        fs_err::write(root.join("a/b/file"), "x").unwrap();
        symlink("a/b", root.join("to_b")).unwrap();
        symlink("..", root.join("a/b/up")).unwrap();
        symlink("../..", root.join("a/b/root")).unwrap();
        symlink("../../..", root.join("a/b/above")).unwrap();
        symlink("/etc", root.join("etc")).unwrap();
        symlink("file", root.join("a/b/link")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        let canonical = fs_err::canonicalize(root).unwrap();
        symlink(canonical.join("a"), root.join("abs_inside")).unwrap();
        let tree = scan_context(root, &IgnoreRules::default()).unwrap();
        (dir, tree)
    }

    fn path_of(tree: &ContextTree, found: Option<usize>) -> Option<&str> {
        found.map(|index| tree.entries()[index].path.as_str())
    }

    #[test]
    fn resolve_follows_links_inside_the_context() {
        let (_dir, tree) = tree();
        for (path, follow_last, want) in [
            ("to_b/file", false, Some("a/b/file")),
            ("to_b/up/b/root/a", false, Some("a")),
            ("abs_inside/b", false, Some("a/b")),
            ("a/b/link", false, Some("a/b/link")),
            ("a/b/link", true, Some("a/b/file")),
            ("to_b", false, Some("to_b")),
            ("to_b", true, Some("a/b")),
            ("to_b/missing", false, None),
            ("", false, Some("")),
        ] {
            let found = resolve(&tree, path, path, follow_last).unwrap();
            assert_eq!(path_of(&tree, found), want, "{path}");
        }
    }

    #[test]
    fn resolve_refuses_links_leading_outside() {
        let (_dir, tree) = tree();
        for (path, entry) in [
            ("etc/passwd", "etc"),
            ("a/b/above/x", "a/b/above"),
            ("to_b/above", "a/b/above"),
        ] {
            let error = resolve(&tree, path, path, true).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("source path escapes the build context via symlink {entry:?}")
            );
        }
        // Not followed, a link is only a name.
        assert!(resolve(&tree, "etc", "etc", false).unwrap().is_some());
    }

    #[test]
    fn resolve_stops_loops_and_files_used_as_dirs() {
        let (_dir, tree) = tree();
        let error = resolve(&tree, "loop/x", "loop/x", false).unwrap_err();
        assert!(
            matches!(error, ContextError::SymlinkLoop { .. }),
            "{error:?}"
        );
        let error = resolve(&tree, "a/b/file/x", "a/b/file/x", false).unwrap_err();
        assert_eq!(error.to_string(), "\"/a/b/file\": not a directory");
    }
}
