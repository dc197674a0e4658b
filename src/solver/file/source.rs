//! The places a copy reads from, as [`SourceTree`]s: a committed snapshot
//! (another stage or an image, owners kept) and a directory on disk (the
//! build context, owners become 0:0, symlinks never followed out of it).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use xb_snapshotter::{ActiveSnapshot, EntryKind, EntryStat, View};

use crate::frontend::ignore::IgnoreRules;
use crate::graph::Digest;
use crate::source::context::{ScannedContext, open_in_context};

use super::copy::{CopyError, SourceKind, SourceStat, SourceTree, clean_absolute};
use super::owner::Ids;

/// A snapshot's merged view as a copy source.
pub struct SnapshotTree(pub View);

fn kind_of(kind: EntryKind) -> SourceKind {
    match kind {
        EntryKind::File => SourceKind::File,
        EntryKind::Dir => SourceKind::Dir,
        EntryKind::Symlink => SourceKind::Symlink,
        _ => SourceKind::Other,
    }
}

fn from_entry(stat: EntryStat) -> SourceStat {
    SourceStat {
        kind: kind_of(stat.kind),
        uid: stat.uid,
        gid: stat.gid,
        mode: stat.mode,
        mtime: stat.mtime,
        link_target: stat.link_target,
    }
}

impl SourceTree for SnapshotTree {
    fn stat(&self, path: &Path) -> Result<Option<SourceStat>, CopyError> {
        Ok(self.0.metadata(path)?.map(from_entry))
    }

    fn list(&self, path: &Path) -> Result<Vec<String>, CopyError> {
        Ok(self
            .0
            .read_dir(path)?
            .into_iter()
            .map(|name| name.to_string_lossy().into_owned())
            .collect())
    }

    fn open(&self, path: &Path) -> Result<Box<dyn Read + '_>, CopyError> {
        Ok(Box::new(self.0.open(path)?))
    }

    fn resolve(&self, path: &Path) -> Result<PathBuf, CopyError> {
        Ok(self.0.resolve(path, true)?)
    }

    fn keeps_owners(&self) -> bool {
        true
    }

    fn link_into(
        &self,
        active: &mut ActiveSnapshot,
        path: &Path,
        target: &Path,
        (ids, mode, mtime): (Ids, u32, i64),
    ) -> Result<bool, CopyError> {
        Ok(active.link_from(target, &self.0, path, (ids.uid, ids.gid), mode, mtime)?)
    }
}

/// A directory on disk (the build context) as a copy source. Symlinks are
/// followed only while they stay inside the directory.
pub struct DirectoryTree {
    root: PathBuf,
    ignore: Option<IgnoreRules>,
    scanned: Option<Arc<ScannedContext>>,
    /// Directories already resolved: path asked → path inside the context.
    resolved_dirs: RefCell<HashMap<PathBuf, PathBuf>>,
}

impl DirectoryTree {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            ignore: None,
            scanned: None,
            resolved_dirs: RefCell::default(),
        }
    }

    /// The scan of this directory made for the build's cache keys, which
    /// lets [`SourceTree::fingerprint`] answer.
    #[must_use]
    pub fn with_scan(mut self, scanned: Arc<ScannedContext>) -> Self {
        self.scanned = Some(scanned);
        self
    }

    /// Files `.dockerignore` excludes are invisible to the copy.
    #[must_use]
    pub fn with_ignore(mut self, rules: IgnoreRules) -> Self {
        self.ignore = Some(rules);
        self
    }

    fn excluded(&self, path: &Path) -> bool {
        let relative = path.strip_prefix("/").unwrap_or(path).to_string_lossy();
        !relative.is_empty()
            && self
                .ignore
                .as_ref()
                .is_some_and(|rules| rules.is_excluded(&relative))
    }

    fn disk(&self, path: &Path) -> PathBuf {
        self.root.join(path.strip_prefix("/").unwrap_or(path))
    }

    fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> CopyError + '_ {
        move |source| CopyError::ReadSource {
            path: path.display().to_string(),
            source,
        }
    }
}

impl SourceTree for DirectoryTree {
    fn stat(&self, path: &Path) -> Result<Option<SourceStat>, CopyError> {
        if self.excluded(path) {
            return Ok(None);
        }
        let resolved_parent = match path.parent() {
            Some(parent) => self.resolve(parent)?,
            None => PathBuf::from("/"),
        };
        let full = match path.file_name() {
            Some(name) => resolved_parent.join(name),
            None => resolved_parent,
        };
        let metadata = match fs_err::symlink_metadata(self.disk(&full)) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(Self::read_error(path)(error)),
        };
        let file_type = metadata.file_type();
        let kind = if file_type.is_symlink() {
            SourceKind::Symlink
        } else if file_type.is_dir() {
            SourceKind::Dir
        } else if file_type.is_file() {
            SourceKind::File
        } else {
            SourceKind::Other
        };
        let link_target = if kind == SourceKind::Symlink {
            Some(fs_err::read_link(self.disk(&full)).map_err(Self::read_error(path))?)
        } else {
            None
        };
        Ok(Some(SourceStat {
            kind,
            uid: metadata.uid(),
            gid: metadata.gid(),
            mode: metadata.mode() & 0o7777,
            mtime: metadata.mtime(),
            link_target,
        }))
    }

    fn list(&self, path: &Path) -> Result<Vec<String>, CopyError> {
        let dir = self.disk(&self.resolve(path)?);
        let mut names: Vec<String> = fs_err::read_dir(&dir)
            .map_err(Self::read_error(path))?
            .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .map_err(Self::read_error(path))?;
        names.retain(|name| !self.excluded(&path.join(name)));
        names.sort();
        Ok(names)
    }

    /// Opens with no symlink followed anywhere (`openat2` beneath the
    /// context), after resolving the links that stay inside it.
    fn open(&self, path: &Path) -> Result<Box<dyn Read + '_>, CopyError> {
        let resolved = self.resolve(path)?;
        let relative = resolved.strip_prefix("/").unwrap_or(&resolved);
        let file = open_in_context(&self.root, &relative.to_string_lossy())?;
        Ok(Box::new(file))
    }

    /// Follows symlinks component by component; a link leading out of the
    /// context is an error rather than being clamped silently. The
    /// directories above `path` are resolved once per copy (a copy asks
    /// for every file of a directory in turn).
    fn resolve(&self, path: &Path) -> Result<PathBuf, CopyError> {
        let clean = clean_absolute(&path.to_string_lossy());
        let (Some(parent), Some(name)) = (clean.parent(), clean.file_name()) else {
            return self.walk(PathBuf::from("/"), &clean, path);
        };
        let known = self.resolved_dirs.borrow().get(parent).cloned();
        let resolved_parent = if let Some(resolved) = known {
            resolved
        } else {
            let resolved = self.walk(PathBuf::from("/"), parent, path)?;
            let mut memo = self.resolved_dirs.borrow_mut();
            if memo.len() >= RESOLVED_DIRS_KEPT {
                memo.clear();
            }
            memo.insert(parent.to_path_buf(), resolved.clone());
            resolved
        };
        self.walk(resolved_parent, Path::new(name), path)
    }

    fn keeps_owners(&self) -> bool {
        false
    }

    fn fingerprint(&self, path: &Path) -> Option<Digest> {
        let scanned = self.scanned.as_ref()?;
        if self.excluded(path) {
            return None;
        }
        let now = fs_err::symlink_metadata(self.disk(path)).ok()?;
        let relative = path.strip_prefix("/").unwrap_or(path).to_str()?;
        scanned.fingerprint(relative, &now)
    }
}

/// How many resolved directories a [`DirectoryTree`] remembers.
const RESOLVED_DIRS_KEPT: usize = 4096;

impl DirectoryTree {
    /// Walks the components of relative-to-`resolved` path `rest` from the
    /// already resolved directory `resolved`, following symlinks inside
    /// the context. `asked` is the path named in errors.
    fn walk(&self, mut resolved: PathBuf, rest: &Path, asked: &Path) -> Result<PathBuf, CopyError> {
        let path = asked;
        let mut pending: Vec<PathBuf> = rest
            .components()
            .filter(|c| !matches!(c, Component::RootDir))
            .map(|c| PathBuf::from(c.as_os_str()))
            .collect();
        pending.reverse();
        let mut hops = 0;
        while let Some(component) = pending.pop() {
            if component == Path::new("..") {
                resolved.pop();
                continue;
            }
            let candidate = resolved.join(&component);
            let disk = self.disk(&candidate);
            match fs_err::symlink_metadata(&disk) {
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    hops += 1;
                    let target = fs_err::read_link(&disk).map_err(Self::read_error(path))?;
                    let escapes = target.is_absolute() || lexical_escapes(&resolved, &target);
                    if escapes || hops > 40 {
                        return Err(CopyError::SymlinkEscapes(candidate.display().to_string()));
                    }
                    for part in target.components().rev() {
                        pending.push(PathBuf::from(part.as_os_str()));
                    }
                }
                _ => resolved = candidate,
            }
        }
        Ok(resolved)
    }
}

/// Whether following relative `target` from directory `base` climbs above the root.
fn lexical_escapes(base: &Path, target: &Path) -> bool {
    let mut depth = base.components().count().saturating_sub(1);
    for component in target.components() {
        match component {
            std::path::Component::ParentDir => {
                if depth == 0 {
                    return true;
                }
                depth -= 1;
            }
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    false
}
