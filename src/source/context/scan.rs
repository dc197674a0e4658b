//! Walking a context directory into a [`ContextTree`]: every entry the
//! `.dockerignore` rules keep, with the metadata a checksum and a copy need,
//! in one sorted list.
//!
//! Directories are read in parallel on rayon. Symlinks are never followed:
//! a symlink is an entry whose content is its target text. An excluded
//! directory is skipped whole unless an exception may re-include something
//! below it; then it is walked, and kept only as the parent of what is kept
//! (as BuildKit does). Sockets, FIFOs and device nodes are left out and
//! reported in [`ContextTree::skipped`] (Docker's archiver skips sockets;
//! a rootless build cannot recreate device nodes). Names that are not UTF-8
//! cannot be named by a Dockerfile pattern and are reported the same way.
//!
//! Hashing contents is left to [`super::checksum`]; resolving COPY sources
//! to [`super::select`].

use std::cmp::Ordering;
use std::ffi::OsString;
use std::ops::Range;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::ContextError;
use crate::frontend::ignore::IgnoreRules;

/// What kind of entry a context path is. Other kinds are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
}

/// One file, directory or symlink of the context, as `lstat` saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Slash-separated and relative to the context root; `""` is the root.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits with setuid, setgid and sticky (`st_mode & 0o7777`).
    pub mode: u32,
    /// Size in bytes (for a symlink, the length of its target).
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Status change time in nanoseconds since the Unix epoch (any write
    /// or chmod moves it, and it cannot be set back).
    pub ctime_ns: i64,
    pub inode: u64,
    pub dev: u64,
    /// Hard link count, for copies that keep hard links together.
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    /// A symlink's target text, as stored (never resolved).
    pub link_target: Option<PathBuf>,
}

impl Entry {
    /// The last component of the path (`""` for the root).
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }

    /// How many components the path has (0 for the root).
    pub fn depth(&self) -> usize {
        if self.path.is_empty() {
            0
        } else {
            self.path.bytes().filter(|&b| b == b'/').count() + 1
        }
    }

    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Directory
    }
}

/// Why a context entry was left out of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    Socket,
    Fifo,
    CharDevice,
    BlockDevice,
    /// The name is not UTF-8; the path is shown lossily.
    NonUtf8Name,
}

/// A context entry the scan left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Relative to the context root; lossy for [`SkipReason::NonUtf8Name`].
    pub path: String,
    pub reason: SkipReason,
}

/// The kept entries of a context, sorted by path component by component
/// (so a directory's descendants follow it contiguously), root first.
#[derive(Debug, Clone)]
pub struct ContextTree {
    root: PathBuf,
    entries: Vec<Entry>,
    skipped: Vec<Skipped>,
}

/// Orders paths component by component: `/` sorts before any other byte,
/// so `a/x` comes before `a-b` and right after `a`.
pub fn compare_paths(left: &str, right: &str) -> Ordering {
    let key = |b: u8| if b == b'/' { 0 } else { b };
    left.bytes().map(key).cmp(right.bytes().map(key))
}

/// Whether `path` lies strictly below directory `dir` (`""` is the root).
pub(super) fn is_below(path: &str, dir: &str) -> bool {
    if dir.is_empty() {
        return !path.is_empty();
    }
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

impl ContextTree {
    /// A tree from entries already gathered (sorted here). For tests and
    /// for contexts that do not come from a directory walk.
    pub fn from_entries(root: PathBuf, mut entries: Vec<Entry>, skipped: Vec<Skipped>) -> Self {
        entries.sort_by(|a, b| compare_paths(&a.path, &b.path));
        Self {
            root,
            entries,
            skipped,
        }
    }

    /// The context directory, canonicalized.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every kept entry, root first, sorted by [`compare_paths`].
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Entries left out because of their kind or name, sorted by path.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// The index of the entry at `path` (slash-separated, relative, `""`
    /// for the root).
    pub fn find(&self, path: &str) -> Option<usize> {
        self.entries
            .binary_search_by(|entry| compare_paths(&entry.path, path))
            .ok()
    }

    /// The indices of the entries strictly below entry `index` (empty for
    /// anything but a directory).
    pub fn descendants(&self, index: usize) -> Range<usize> {
        let dir = &self.entries[index].path;
        let after = &self.entries[index + 1..];
        let count = after.partition_point(|entry| is_below(&entry.path, dir));
        index + 1..index + 1 + count
    }
}

/// Walks the context directory `root` into a [`ContextTree`], leaving out
/// what `rules` exclude.
pub fn scan_context(root: &Path, rules: &IgnoreRules) -> Result<ContextTree, ContextError> {
    let root = fs_err::canonicalize(root).map_err(|source| ContextError::OpenContextRoot {
        path: root.to_owned(),
        source,
    })?;
    let metadata =
        fs_err::symlink_metadata(&root).map_err(|source| ContextError::OpenContextRoot {
            path: root.clone(),
            source,
        })?;
    let mut root_entry = entry_from(String::new(), &metadata, None);
    root_entry.kind = EntryKind::Directory;
    let walker = Walker { rules };
    let mut found = walker.walk_dir("", &root)?;
    found.entries.push(root_entry);
    found
        .skipped
        .sort_by(|a, b| compare_paths(&a.path, &b.path));
    for skipped in &found.skipped {
        tracing::warn!(path = %skipped.path, reason = ?skipped.reason, "skipping context entry");
    }
    Ok(ContextTree::from_entries(
        root,
        found.entries,
        found.skipped,
    ))
}

/// What one directory walk found.
#[derive(Default)]
struct Found {
    entries: Vec<Entry>,
    skipped: Vec<Skipped>,
}

struct Walker<'a> {
    rules: &'a IgnoreRules,
}

/// A subdirectory still to walk.
struct Subdir {
    entry: Entry,
    path: PathBuf,
    excluded: bool,
}

impl Walker<'_> {
    fn walk_dir(&self, relative: &str, path: &Path) -> Result<Found, ContextError> {
        let read_error = |source| ContextError::ReadDir {
            path: path.to_owned(),
            source,
        };
        let mut found = Found::default();
        let mut subdirs = Vec::new();
        for item in fs_err::read_dir(path).map_err(read_error)? {
            let item = item.map_err(read_error)?;
            let full = item.path();
            let name = match item.file_name().into_string() {
                Ok(name) => name,
                Err(name) => {
                    found.skipped.push(Skipped {
                        path: join(relative, &lossy(&name)),
                        reason: SkipReason::NonUtf8Name,
                    });
                    continue;
                }
            };
            let child = join(relative, &name);
            let metadata = item.metadata().map_err(|source| ContextError::StatEntry {
                path: full.clone(),
                source,
            })?;
            let excluded = self.rules.is_excluded(&child);
            let file_type = metadata.file_type();
            if file_type.is_dir() {
                if excluded && !self.rules.may_include_below(&child) {
                    continue;
                }
                subdirs.push(Subdir {
                    entry: entry_from(child, &metadata, None),
                    path: full,
                    excluded,
                });
                continue;
            }
            if excluded {
                continue;
            }
            if file_type.is_symlink() {
                let target = fs_err::read_link(&full).map_err(|source| ContextError::ReadLink {
                    path: full.clone(),
                    source,
                })?;
                found
                    .entries
                    .push(entry_from(child, &metadata, Some(target)));
            } else if file_type.is_file() {
                found.entries.push(entry_from(child, &metadata, None));
            } else {
                let reason = if file_type.is_socket() {
                    SkipReason::Socket
                } else if file_type.is_fifo() {
                    SkipReason::Fifo
                } else if file_type.is_char_device() {
                    SkipReason::CharDevice
                } else {
                    SkipReason::BlockDevice
                };
                found.skipped.push(Skipped {
                    path: child,
                    reason,
                });
            }
        }
        let below: Vec<Result<(Subdir, Found), ContextError>> = subdirs
            .into_par_iter()
            .map(|subdir| {
                let inner = self.walk_dir(&subdir.entry.path, &subdir.path)?;
                Ok((subdir, inner))
            })
            .collect();
        for result in below {
            let (subdir, inner) = result?;
            found.skipped.extend(inner.skipped);
            // An excluded directory stays only as the parent of kept paths.
            if subdir.excluded && inner.entries.is_empty() {
                continue;
            }
            found.entries.push(subdir.entry);
            found.entries.extend(inner.entries);
        }
        Ok(found)
    }
}

fn lossy(name: &OsString) -> String {
    name.to_string_lossy().into_owned()
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// A `stat` time (seconds and nanoseconds) in nanoseconds since the epoch.
pub(super) fn nanoseconds(seconds: i64, nanos: i64) -> i64 {
    seconds.saturating_mul(1_000_000_000).saturating_add(nanos)
}

fn entry_from(path: String, metadata: &std::fs::Metadata, link_target: Option<PathBuf>) -> Entry {
    let file_type = metadata.file_type();
    let kind = if file_type.is_dir() {
        EntryKind::Directory
    } else if file_type.is_symlink() {
        EntryKind::Symlink
    } else {
        EntryKind::File
    };
    Entry {
        path,
        kind,
        mode: metadata.mode() & 0o7777,
        size: metadata.size(),
        mtime_ns: nanoseconds(metadata.mtime(), metadata.mtime_nsec()),
        ctime_ns: nanoseconds(metadata.ctime(), metadata.ctime_nsec()),
        inode: metadata.ino(),
        dev: metadata.dev(),
        nlink: metadata.nlink(),
        uid: metadata.uid(),
        gid: metadata.gid(),
        link_target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt as _, symlink};

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).unwrap();
        }
        fs_err::write(path, text).unwrap();
    }

    fn paths(tree: &ContextTree) -> Vec<&str> {
        tree.entries()
            .iter()
            .map(|entry| entry.path.as_str())
            .collect()
    }

    fn scan(dir: &Path, ignore: &str) -> ContextTree {
        let rules = IgnoreRules::parse(ignore, ".dockerignore").unwrap();
        scan_context(dir, &rules).unwrap()
    }

    #[test]
    fn compare_paths_groups_descendants() {
        let mut paths = vec!["a-b", "a/x", "a", "", "a/x/y", "b", "a.txt"];
        paths.sort_by(|a, b| compare_paths(a, b));
        assert_eq!(paths, ["", "a", "a/x", "a/x/y", "a-b", "a.txt", "b"]);
    }

    #[test]
    fn scan_records_entries_sorted_with_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("a/x.txt"), "hello");
        write(&root.join("a-b"), "");
        symlink("../outside", root.join("a/link")).unwrap();
        fs_err::set_permissions(
            root.join("a/x.txt"),
            std::fs::Permissions::from_mode(0o4751),
        )
        .unwrap();
        let tree = scan(root, "");
        assert_eq!(paths(&tree), ["", "a", "a/link", "a/x.txt", "a-b"]);
        let file = &tree.entries()[tree.find("a/x.txt").unwrap()];
        assert_eq!(file.kind, EntryKind::File);
        assert_eq!(file.mode, 0o4751);
        assert_eq!(file.size, 5);
        assert_eq!(file.name(), "x.txt");
        assert!(file.mtime_ns > 1_000_000_000_000_000_000);
        let link = &tree.entries()[tree.find("a/link").unwrap()];
        assert_eq!(link.kind, EntryKind::Symlink);
        assert_eq!(link.link_target.as_deref(), Some(Path::new("../outside")));
        assert_eq!(tree.entries()[0].kind, EntryKind::Directory);
        assert_eq!(tree.descendants(tree.find("a").unwrap()), 2..4);
        assert_eq!(tree.descendants(0), 1..5);
    }

    #[test]
    fn scan_applies_ignore_rules_and_exceptions() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "keep.txt",
            "debug.log",
            "target/debug/xb",
            "target/release/xb",
            "node_modules/a/index.js",
            "node_modules/keep/index.js",
            "docs/a.md",
            "docs/b.txt",
        ] {
            write(&root.join(file), file);
        }
        let tree = scan(
            root,
            "*.log\ntarget\nnode_modules\n!node_modules/keep\ndocs/*.md\n",
        );
        assert_eq!(
            paths(&tree),
            [
                "",
                "docs",
                "docs/b.txt",
                "keep.txt",
                "node_modules",
                "node_modules/keep",
                "node_modules/keep/index.js",
            ]
        );
    }

    #[test]
    fn scan_drops_excluded_dir_with_nothing_reincluded() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("cache/a"), "");
        // The exception might match below `cache`, so it is walked, but
        // nothing there is re-included.
        let tree = scan(dir.path(), "cache\n!cache/keep*\n");
        assert_eq!(paths(&tree), [""]);
    }

    #[test]
    fn scan_skips_sockets_and_reports_them() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("sub/file"), "");
        let _listener =
            std::os::unix::net::UnixListener::bind(dir.path().join("sub/agent.sock")).unwrap();
        let tree = scan(dir.path(), "");
        assert_eq!(paths(&tree), ["", "sub", "sub/file"]);
        assert_eq!(
            tree.skipped(),
            [Skipped {
                path: "sub/agent.sock".into(),
                reason: SkipReason::Socket
            }]
        );
    }

    #[test]
    fn scan_does_not_follow_symlinked_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        write(&outside.path().join("secret"), "s");
        symlink(outside.path(), dir.path().join("out")).unwrap();
        let tree = scan(dir.path(), "");
        assert_eq!(paths(&tree), ["", "out"]);
        assert_eq!(tree.entries()[1].kind, EntryKind::Symlink);
    }

    #[test]
    fn scan_missing_root_names_it() {
        let error =
            scan_context(Path::new("/nonexistent/ctx"), &IgnoreRules::default()).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/ctx"), "{error}");
    }
}
