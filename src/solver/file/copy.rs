//! COPY and ADD of local sources into a writable snapshot, with Docker's
//! rules: wildcards per path component; a directory source copies its
//! contents; several sources need a directory destination ending in `/`; a
//! file lands at the destination, or inside it when the destination is a
//! directory; the top-level source symlink is followed, symlinks below are
//! copied as links; owners come from `--chown`, else from the source (stages
//! and images) or 0:0 (the build context); `--chmod` applies to everything
//! copied; modification times are kept.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use xb_snapshotter::{ActiveSnapshot, Snapshotter};

use super::archive::{archive_kind, tar_stream};
use super::chmod::{ChmodError, apply_mode};
use super::owner::Ids;
use super::reuse::Reuse;
use super::source::SnapshotTree;
use crate::frontend::ignore::IgnoreRules;
use crate::graph::CopyAction;
use crate::source::context::wildcard::{Wildcard, has_wildcard};

/// What a source entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    File,
    Dir,
    Symlink,
    /// Devices, fifos and sockets: skipped.
    Other,
}

/// One source entry as the copy needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStat {
    pub kind: SourceKind,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    /// Seconds since the epoch.
    pub mtime: i64,
    pub link_target: Option<PathBuf>,
}

/// Files a copy reads from: the build context or a snapshot. Paths are
/// absolute from the tree's root and never leave it.
pub trait SourceTree {
    /// The entry at `path`, not following a final symlink.
    fn stat(&self, path: &Path) -> Result<Option<SourceStat>, CopyError>;
    /// Sorted names in directory `path`.
    fn list(&self, path: &Path) -> Result<Vec<String>, CopyError>;
    /// Opens regular file `path`.
    fn open(&self, path: &Path) -> Result<Box<dyn Read + '_>, CopyError>;
    /// `path` with every symlink followed inside the tree.
    fn resolve(&self, path: &Path) -> Result<PathBuf, CopyError>;
    /// Whether copied files keep the source's owners (stages and images do;
    /// the build context gives 0:0).
    fn keeps_owners(&self) -> bool;
    /// A digest of regular file `path`'s content and permission bits, when
    /// the tree knows it without reading the file (and knows the file has
    /// not changed since); `None` otherwise.
    fn fingerprint(&self, _path: &Path) -> Option<crate::graph::Digest> {
        None
    }
    /// Puts regular file `path` at `target` in `active` as a hard link,
    /// when the tree is an immutable snapshot and the file already carries
    /// `owner`, `mode` and `mtime`; says whether it did.
    fn link_into(
        &self,
        _active: &mut ActiveSnapshot,
        _path: &Path,
        _target: &Path,
        _wanted: (Ids, u32, i64),
    ) -> Result<bool, CopyError> {
        Ok(false)
    }
}

/// A copy that cannot be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    #[error("{0:?}: not found")]
    SourceNotFound(String),
    #[error(
        "when using COPY with more than one source file, the destination must be a directory and end with a /"
    )]
    DestinationNotDirectory,
    #[error("cannot copy {source_path:?} to {dest:?}: a directory is in the way")]
    DirectoryInTheWay { source_path: String, dest: String },
    #[error("reading {path:?} from the source failed")]
    ReadSource {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {path:?} into the layer failed")]
    WriteLayer {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Snapshot(#[from] xb_snapshotter::Error),
    #[error(transparent)]
    Chmod(#[from] ChmodError),
    #[error(transparent)]
    Context(#[from] crate::source::context::ContextError),
    #[error("invalid source pattern {pattern:?}: {reason}")]
    BadPattern {
        pattern: String,
        reason: &'static str,
    },
    #[error("source path escapes the build context via symlink {0:?}")]
    SymlinkEscapes(String),
    #[error("invalid --exclude pattern: {0}")]
    BadExclude(String),
    #[error("{0} is not supported yet")]
    Unsupported(&'static str),
    #[error("failed to unpack {archive}")]
    Unpack {
        archive: String,
        #[source]
        source: xb_snapshotter::Error,
    },
}

/// `path` made absolute and clean, `..` stopping at the root.
pub fn clean_absolute(path: &str) -> PathBuf {
    let mut clean = PathBuf::from("/");
    for component in Path::new(path).components() {
        match component {
            Component::Normal(name) => clean.push(name),
            Component::ParentDir => {
                clean.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    clean
}

/// The paths a source pattern names in `tree` (sorted); a literal that does
/// not exist is an error, a wildcard that matches nothing gives nothing.
pub fn expand_source(tree: &dyn SourceTree, pattern: &str) -> Result<Vec<PathBuf>, CopyError> {
    let cleaned = clean_absolute(pattern);
    if !has_wildcard(pattern) {
        return match tree.stat(&cleaned)? {
            Some(_) => Ok(vec![cleaned]),
            None => Err(CopyError::SourceNotFound(pattern.to_owned())),
        };
    }
    let mut current = vec![PathBuf::from("/")];
    for component in cleaned.components().skip(1) {
        let name = component.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        let wildcard = if has_wildcard(&name) {
            Some(
                Wildcard::compile(&name).map_err(|reason| CopyError::BadPattern {
                    pattern: pattern.to_owned(),
                    reason,
                })?,
            )
        } else {
            None
        };
        for dir in &current {
            if let Some(wildcard) = &wildcard {
                let is_dir = matches!(
                    tree.stat(dir)?,
                    Some(SourceStat {
                        kind: SourceKind::Dir,
                        ..
                    })
                );
                if is_dir {
                    for entry in tree.list(dir)? {
                        if wildcard.matches(&entry) {
                            next.push(dir.join(entry));
                        }
                    }
                }
            } else {
                let candidate = dir.join(&*name);
                if tree.stat(&candidate)?.is_some() {
                    next.push(candidate);
                }
            }
        }
        current = next;
    }
    current.sort();
    Ok(current)
}

struct Copier<'a> {
    active: &'a mut ActiveSnapshot,
    /// Where ADD unpacks archives through (none: archives are refused).
    snapshotter: Option<&'a Snapshotter>,
    tree: &'a dyn SourceTree,
    action: &'a CopyAction,
    /// `--exclude`, matched against paths relative to what is copied.
    exclude: Option<IgnoreRules>,
    owner: Option<Ids>,
    reuse: Option<&'a mut Reuse>,
}

/// Runs `action` from `tree` into `active`, with `owner` already resolved
/// from `--chown` in the destination's passwd and group files. With
/// `reuse`, unchanged files an earlier run wrote are linked, and what this
/// run writes is noted there.
pub fn copy_into(
    active: &mut ActiveSnapshot,
    snapshotter: Option<&Snapshotter>,
    tree: &dyn SourceTree,
    action: &CopyAction,
    owner: Option<Ids>,
    reuse: Option<&mut Reuse>,
) -> Result<(), CopyError> {
    let exclude = if action.exclude.is_empty() {
        None
    } else {
        Some(
            IgnoreRules::parse(&action.exclude.join("\n"), "--exclude")
                .map_err(|error| CopyError::BadExclude(error.to_string()))?,
        )
    };
    let mut sources = Vec::new();
    for written in &action.sources {
        let (pivot, pattern) = split_pivot(written, action.parents);
        let matched = expand_source(tree, &pattern)?;
        if matched.is_empty() && !action.allow_empty_wildcard && !has_wildcard(&pattern) {
            return Err(CopyError::SourceNotFound(written.clone()));
        }
        sources.extend(matched.into_iter().map(|source| (source, pivot.clone())));
    }
    let into_dir = action.dest.ends_with('/');
    if sources.len() > 1 && !into_dir {
        return Err(CopyError::DestinationNotDirectory);
    }
    let dest = active
        .lower()
        .resolve(&clean_absolute(&action.dest), true)?;
    let dest_is_dir = into_dir
        || dir_exists(active, &dest)?
        || action.sources.iter().any(|s| has_wildcard(s)) && sources.len() > 1;
    let mut copier = Copier {
        active,
        snapshotter,
        tree,
        action,
        exclude,
        owner,
        reuse,
    };
    for (source, pivot) in sources {
        // The named source itself is followed when it is a symlink.
        let resolved = tree.resolve(&source)?;
        let stat = tree
            .stat(&resolved)?
            .ok_or_else(|| CopyError::SourceNotFound(source.display().to_string()))?;
        let target = if action.parents {
            dest.join(source.strip_prefix(&pivot).unwrap_or(&source))
        } else if stat.kind == SourceKind::Dir {
            dest.clone()
        } else if dest_is_dir {
            dest.join(source.file_name().unwrap_or_default())
        } else {
            dest.clone()
        };
        let own_name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if copier.excluded(&own_name) {
            continue;
        }
        if action.unpack_archives
            && stat.kind == SourceKind::File
            && copier.unpack(&resolved, &dest)?
        {
            continue;
        }
        copier.copy_entry(&resolved, &stat, &target, "", Parent::Unknown)?;
    }
    Ok(())
}

/// `--parents`: where a written source splits into the directory whose
/// path is dropped (before `/./`; the root when there is none) and the
/// pattern to match (the whole source, without the `/./` marker).
fn split_pivot(written: &str, parents: bool) -> (PathBuf, String) {
    match written.split_once("/./").filter(|_| parents) {
        Some((pivot, below)) => (clean_absolute(pivot), format!("{pivot}/{below}")),
        None => (PathBuf::from("/"), written.to_owned()),
    }
}

fn dir_exists(active: &ActiveSnapshot, path: &Path) -> Result<bool, CopyError> {
    let upper = active
        .upper_dir()
        .join(path.strip_prefix("/").unwrap_or(path));
    if upper.is_dir() {
        return Ok(true);
    }
    Ok(active
        .lower()
        .metadata(path)?
        .is_some_and(|stat| stat.kind == xb_snapshotter::EntryKind::Dir))
}

/// What a copy knows of the directory an entry goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parent {
    /// Nothing: make it (and its parents) if missing.
    Unknown,
    /// It is in the upper directory already and may hold anything.
    Exists,
    /// This copy just made it in the upper directory: it holds only what
    /// the copy put there since.
    Fresh,
}

impl Copier<'_> {
    fn disk(&self, target: &Path) -> PathBuf {
        self.active
            .upper_dir()
            .join(target.strip_prefix("/").unwrap_or(target))
    }

    /// ADD: when `source` is a tar (plain or compressed), unpacks it into
    /// the directory `dest` and says so; otherwise leaves it to be copied.
    fn unpack(&mut self, source: &Path, dest: &Path) -> Result<bool, CopyError> {
        let name = source.display().to_string();
        let read_error = |error| CopyError::ReadSource {
            path: name.clone(),
            source: error,
        };
        let mut head = Vec::with_capacity(512);
        self.tree
            .open(source)?
            .take(512)
            .read_to_end(&mut head)
            .map_err(read_error)?;
        let Some(kind) = archive_kind(&head) else {
            return Ok(false);
        };
        let Some(snapshotter) = self.snapshotter else {
            return Err(CopyError::Unsupported("ADD of a local archive here"));
        };
        let Some(stream) = tar_stream(self.tree.open(source)?, kind, &name)? else {
            return Ok(false);
        };
        let applied = snapshotter
            .apply(stream, None)
            .map_err(|error| CopyError::Unpack {
                archive: name.clone(),
                source: error,
            })?;
        let result = (|| {
            let tree = SnapshotTree(snapshotter.view(&applied.id)?);
            let root = Path::new("/");
            let stat = tree
                .stat(root)?
                .ok_or_else(|| CopyError::SourceNotFound(name.clone()))?;
            let unpacked = CopyAction {
                mode: None,
                exclude: Vec::new(),
                unpack_archives: false,
                ..self.action.clone()
            };
            let mut inner = Copier {
                active: &mut *self.active,
                snapshotter: None,
                tree: &tree,
                action: &unpacked,
                exclude: None,
                owner: self.owner,
                reuse: None,
            };
            inner.copy_entry(root, &stat, dest, "", Parent::Unknown)
        })();
        let removed = snapshotter.remove(&applied.id);
        result?;
        removed?;
        Ok(true)
    }

    /// Whether `relative` (to what is being copied) matches `--exclude`.
    fn excluded(&self, relative: &str) -> bool {
        !relative.is_empty()
            && self
                .exclude
                .as_ref()
                .is_some_and(|rules| rules.is_excluded(relative))
    }

    fn copy_entry(
        &mut self,
        source: &Path,
        stat: &SourceStat,
        target: &Path,
        relative: &str,
        parent: Parent,
    ) -> Result<(), CopyError> {
        let write_error = |source| CopyError::WriteLayer {
            path: target.display().to_string(),
            source,
        };
        if parent == Parent::Unknown {
            if let Some(parent) = target.parent() {
                self.active.create_dir_all(parent)?;
            }
        }
        let disk = self.disk(target);
        // In a directory this copy just made, nothing is in the way yet.
        let on_disk = if parent == Parent::Fresh {
            None
        } else {
            fs_err::symlink_metadata(&disk).ok()
        };
        let disk_dir = on_disk.as_ref().is_some_and(std::fs::Metadata::is_dir);
        match stat.kind {
            SourceKind::Other => return Ok(()),
            SourceKind::Dir => {
                let existed = disk_dir || dir_exists(self.active, target)?;
                if on_disk.is_some() && !disk_dir {
                    fs_err::remove_file(&disk).map_err(write_error)?;
                }
                self.active.create_dir_all(target)?;
                let children = if disk_dir {
                    Parent::Exists
                } else {
                    Parent::Fresh
                };
                if !existed || target == Path::new("/") {
                    self.set_attributes(target, stat)?;
                }
                for name in self.tree.list(source)? {
                    let child = source.join(&name);
                    let Some(child_stat) = self.tree.stat(&child)? else {
                        continue;
                    };
                    let child_relative = if relative.is_empty() {
                        name.clone()
                    } else {
                        format!("{relative}/{name}")
                    };
                    if self.excluded(&child_relative) {
                        continue;
                    }
                    self.copy_entry(
                        &child,
                        &child_stat,
                        &target.join(&name),
                        &child_relative,
                        children,
                    )?;
                }
                if existed && target != Path::new("/") && self.action.mode.is_some() {
                    self.set_attributes(target, stat)?;
                }
                return Ok(());
            }
            SourceKind::File | SourceKind::Symlink => {
                if disk_dir {
                    return Err(CopyError::DirectoryInTheWay {
                        source_path: source.display().to_string(),
                        dest: target.display().to_string(),
                    });
                }
                if on_disk.is_some() {
                    fs_err::remove_file(&disk).map_err(write_error)?;
                }
            }
        }
        if stat.kind == SourceKind::Symlink {
            let link = stat.link_target.clone().unwrap_or_default();
            fs_err::os::unix::fs::symlink(&link, &disk).map_err(write_error)?;
            return self.set_attributes(target, stat);
        }
        let wanted = self.wanted(stat)?;
        if self.tree.link_into(self.active, source, target, wanted)?
            || self.link_unchanged(source, wanted, target)?
        {
            return Ok(());
        }
        let mut reader = self.tree.open(source)?;
        let mut file = fs_err::File::create(&disk).map_err(write_error)?;
        std::io::copy(&mut reader, &mut file).map_err(|error| CopyError::ReadSource {
            path: source.display().to_string(),
            source: error,
        })?;
        drop(file);
        let (ids, mode, mtime) = wanted;
        self.active
            .set_attributes(target, (ids.uid, ids.gid), Some(mode), mtime)?;
        if let Some(reuse) = self.reuse.as_deref_mut() {
            // Asked after the read: a file changed meanwhile is not vouched for.
            if let Some(fingerprint) = self.tree.fingerprint(source) {
                reuse.record(&target.to_string_lossy(), fingerprint);
            }
        }
        Ok(())
    }

    /// Links regular file `source` at `target` from the earlier run of this
    /// copy when that run wrote the same file there; says whether it did.
    fn link_unchanged(
        &mut self,
        source: &Path,
        (ids, mode, mtime): (Ids, u32, i64),
        target: &Path,
    ) -> Result<bool, CopyError> {
        if !self.reuse.as_ref().is_some_and(|reuse| reuse.has_earlier()) {
            return Ok(false);
        }
        let Some(fingerprint) = self.tree.fingerprint(source) else {
            return Ok(false);
        };
        let key = target.to_string_lossy();
        let reuse = self.reuse.as_deref_mut().expect("checked above");
        let Some(earlier) = reuse.candidate(&key, &fingerprint).cloned() else {
            return Ok(false);
        };
        let linked = self
            .active
            .reuse_file(target, &earlier, (ids.uid, ids.gid), mode, mtime)?;
        if linked {
            reuse.record(&key, fingerprint);
        }
        Ok(linked)
    }

    /// The owner, permission bits and mtime the copy gives an entry.
    fn wanted(&self, stat: &SourceStat) -> Result<(Ids, u32, i64), CopyError> {
        let ids = self.owner.unwrap_or(if self.tree.keeps_owners() {
            Ids {
                uid: stat.uid,
                gid: stat.gid,
            }
        } else {
            Ids { uid: 0, gid: 0 }
        });
        let mode = match &self.action.mode {
            Some(mode) => apply_mode(mode, stat.mode, stat.kind == SourceKind::Dir)?,
            None => stat.mode,
        };
        Ok((ids, mode, stat.mtime))
    }

    fn set_attributes(&mut self, target: &Path, stat: &SourceStat) -> Result<(), CopyError> {
        let (ids, mode, mtime) = self.wanted(stat)?;
        let mode = (stat.kind != SourceKind::Symlink).then_some(mode);
        self.active
            .set_attributes(target, (ids.uid, ids.gid), mode, mtime)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_absolute_stays_in_root() {
        assert_eq!(
            clean_absolute("../../etc/passwd"),
            PathBuf::from("/etc/passwd")
        );
        assert_eq!(clean_absolute("a/./b/"), PathBuf::from("/a/b"));
        assert_eq!(clean_absolute("."), PathBuf::from("/"));
    }
}
