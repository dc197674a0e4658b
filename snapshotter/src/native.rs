//! Turning the native backend's RUN directory (a full copy of the chain,
//! see `copy`) back into a layer: keep what the RUN changed, drop the rest.
//!
//! Each entry is compared with the copy's [`Manifest`] by identity (inode
//! number and birth time, so a file re-created under a reused inode number
//! is new where the filesystem records birth times) and by its whole
//! `lstat` (content or attribute changes move `ctime`, which nothing can set
//! back):
//!
//! - not in the manifest, or a different inode or type there: created or
//!   replaced by the RUN, kept with everything below it. A directory that
//!   replaced a directory (deleted and re-created) is marked **opaque**, so
//!   nothing of the lower one shows through;
//! - same inode, `lstat` changed: modified, kept (owner and mode the RUN left
//!   as copied keep the image's value, see `record`);
//! - same inode, unchanged: removed from the directory, except a directory
//!   that still holds kept entries or whiteouts, which stays as a parent-only
//!   (`implicit`) directory;
//! - in the manifest but gone, below a directory that is still the copied
//!   one: a **whiteout** (one for a deleted directory, none for its content).
//!
//! A directory emptied and re-created where the filesystem has no birth
//! times and the inode number came back is taken as the same directory
//! with its old entries whited out one by one: the same image either way.
//!
//! The directory is pruned in place and then committed as the layer's
//! files. The comparison is the whole contract with the RUN: how the RUN ran
//! is the runtime's business.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStringExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use crate::attrs::{self, disk_path};
use crate::copy::{DiskState, Manifest};
use crate::entries::LayerEntries;
use crate::error::{Error, Result};
use crate::idmap::IdMap;
use crate::path::LayerPath;
use crate::record::{Before, record_of};
use crate::xattrs;

/// Prunes `root` (the RUN directory copied as `manifest`) down to what the
/// RUN changed and returns the layer's metadata.
pub(crate) fn commit_copy(
    root: &Path,
    manifest: &Manifest,
    id_map: &IdMap,
    privileged: bool,
) -> Result<LayerEntries> {
    let mut entries = LayerEntries::default();
    find_deletions(root, manifest, &mut entries)?;
    let mut keep_dirs: BTreeSet<LayerPath> = BTreeSet::new();
    for path in &entries.whiteouts {
        keep_dirs.extend(path.ancestors());
    }
    let mut pruner = Pruner {
        root,
        manifest,
        id_map,
        privileged,
        keep_dirs,
        entries,
    };
    pruner.visit(&LayerPath::root())?;
    Ok(pruner.entries)
}

/// Records a whiteout for each copied path that is gone while its parent is
/// still the copied directory.
fn find_deletions(root: &Path, manifest: &Manifest, entries: &mut LayerEntries) -> Result<()> {
    // Directories that are still the copied ones; nothing else is walked
    // through, so no symlink the RUN made is ever followed.
    let mut same_dirs: BTreeSet<LayerPath> = BTreeSet::from([LayerPath::root()]);
    for (path, written) in manifest {
        if !same_dirs.contains(&path.parent()) {
            continue;
        }
        match attrs::lstat(&disk_path(root, path))? {
            None => {
                entries.whiteouts.insert(path.clone());
            }
            Some(metadata)
                if metadata.is_dir()
                    && written.image.kind == crate::EntryKind::Dir
                    && written.disk.same_file(&DiskState::of(&metadata)) =>
            {
                same_dirs.insert(path.clone());
            }
            Some(_) => {}
        }
    }
    Ok(())
}

struct Pruner<'a> {
    root: &'a Path,
    manifest: &'a Manifest,
    id_map: &'a IdMap,
    privileged: bool,
    /// Directories that hold whiteouts, with their parents.
    keep_dirs: BTreeSet<LayerPath>,
    entries: LayerEntries,
}

impl Pruner<'_> {
    /// Prunes the copied directory `dir`; returns whether anything in it is
    /// kept.
    fn visit(&mut self, dir: &LayerPath) -> Result<bool> {
        let disk = disk_path(self.root, dir);
        let metadata = attrs::lstat_existing(&disk)?;
        let mode = attrs::permission_bits(&metadata);
        // Removing entries needs write and search permission.
        let unlocked = !self.privileged && mode & 0o700 != 0o700;
        if unlocked {
            attrs::chmod(&disk, mode | 0o700)?;
        }
        let mut kept = false;
        for name in names(&disk)? {
            let path = dir.join(&name);
            kept |= self.visit_entry(&path)?;
        }
        if unlocked {
            attrs::chmod(&disk, mode)?;
        }
        Ok(kept)
    }

    /// Decides about one entry (see the module docs); returns whether it is
    /// kept.
    fn visit_entry(&mut self, path: &LayerPath) -> Result<bool> {
        let disk = disk_path(self.root, path);
        let metadata = attrs::lstat_existing(&disk)?;
        let now = DiskState::of(&metadata);
        let written = self
            .manifest
            .get(path)
            .filter(|written| written.disk.same_file(&now));
        let Some(written) = written else {
            if metadata.is_dir()
                && self
                    .manifest
                    .get(path)
                    .is_some_and(|written| written.image.kind == crate::EntryKind::Dir)
            {
                self.entries.opaque.insert(path.clone());
            }
            self.record_new(path)?;
            return Ok(true);
        };
        let changed = now != written.disk;
        let before = Before {
            uid: written.disk.uid,
            gid: written.disk.gid,
            mode: written.disk.mode & 0o7777,
            image: &written.image,
            special: written.special,
            hidden_xattrs: &written.unwritten_xattrs,
        };
        if metadata.is_dir() {
            let kept_inside = self.visit(path)?;
            if changed {
                let record = record_of(
                    &metadata,
                    xattrs::read_all(&disk)?,
                    Some(&before),
                    self.id_map,
                );
                *self.entries.record_mut(path) = record;
            } else if kept_inside || self.keep_dirs.contains(path) {
                self.entries.record_mut(path).implicit = true;
            } else {
                attrs::remove_any(&disk, &metadata)?;
                return Ok(false);
            }
            // Pruning touched the directory; the RUN's time stays.
            attrs::set_mtime(&disk, metadata.mtime())?;
            return Ok(true);
        }
        if changed {
            let record = record_of(
                &metadata,
                xattrs::read_all(&disk)?,
                Some(&before),
                self.id_map,
            );
            *self.entries.record_mut(path) = record;
            Ok(true)
        } else {
            attrs::remove_any(&disk, &metadata)?;
            Ok(false)
        }
    }

    /// Records an entry the RUN created, and everything below it.
    fn record_new(&mut self, path: &LayerPath) -> Result<()> {
        let disk = disk_path(self.root, path);
        let metadata = attrs::lstat_existing(&disk)?;
        let record = record_of(&metadata, xattrs::read_all(&disk)?, None, self.id_map);
        *self.entries.record_mut(path) = record;
        if metadata.is_dir() {
            for name in names(&disk)? {
                self.record_new(&path.join(&name))?;
            }
        }
        Ok(())
    }
}

/// The names in directory `disk`, sorted.
fn names(disk: &Path) -> Result<Vec<Vec<u8>>> {
    let read_dir_error = |source| Error::ReadDir {
        path: disk.to_owned(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs_err::read_dir(disk).map_err(read_dir_error)? {
        names.push(entry.map_err(read_dir_error)?.file_name().into_vec());
    }
    names.sort();
    Ok(names)
}
