//! [`ActiveSnapshot`]: a writable layer on top of a committed chain, for the
//! file operations of COPY, ADD and WORKDIR, until it is committed.
//!
//! Callers write files into [`ActiveSnapshot::upper_dir`] with ordinary file
//! operations (as the process's own user), then state what the image should
//! say where the disk cannot: owners, modes, times, deletions of lower files
//! (whiteouts) and opaque directories. How files got there (copying, id
//! resolution against `/etc/passwd`) is the caller's business; mounting the
//! upper directory over the chain is the overlay backend's.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use crate::attrs::{self, Probe, disk_path, probe};
use crate::entries::LayerEntries;
use crate::error::{Error, Result};
use crate::path::LayerPath;
use crate::store::Staging;
use crate::view::View;
use crate::{SnapshotId, Snapshotter};

/// What a linked file must carry on disk to stand for a fresh copy.
#[derive(Debug, Clone, Copy)]
struct Wanted {
    owner: (u32, u32),
    mode: u32,
    mtime: i64,
    /// Whether the source may hold extended attributes (then it must not).
    may_have_xattrs: bool,
}

/// A writable snapshot; dropped without [`commit`](Self::commit), it and its
/// files are removed.
#[derive(Debug)]
pub struct ActiveSnapshot {
    snapshotter: Snapshotter,
    staging: Staging,
    parent: Option<SnapshotId>,
    lower: View,
    entries: LayerEntries,
}

impl ActiveSnapshot {
    pub(crate) fn new(snapshotter: &Snapshotter, parent: Option<&SnapshotId>) -> Result<Self> {
        let lower = View::new(snapshotter.store().load_chain(parent)?);
        Ok(Self {
            staging: snapshotter.store().new_staging()?,
            snapshotter: snapshotter.clone(),
            parent: parent.cloned(),
            lower,
            entries: LayerEntries::default(),
        })
    }

    /// The committed snapshot this one is built on.
    pub fn parent(&self) -> Option<&SnapshotId> {
        self.parent.as_ref()
    }

    /// The merged view of the parent chain (what lies below the upper
    /// directory).
    pub fn lower(&self) -> &View {
        &self.lower
    }

    /// The directory to write this layer's files into. Paths in it are the
    /// image's paths relative to `/`.
    pub fn upper_dir(&self) -> &Path {
        self.staging.fs()
    }

    /// Creates `dir` and any missing parents in the upper directory. Parents
    /// made here, and `dir` itself if made here, carry the attributes of the
    /// same directory below (root:root 0755 if there is none) until set.
    pub fn create_dir_all(&mut self, dir: &Path) -> Result<()> {
        let path = LayerPath::from_user(dir)?;
        let mut all = path.ancestors();
        all.push(path);
        for ancestor in all.into_iter().skip(1) {
            let disk = disk_path(self.upper_dir(), &ancestor);
            match attrs::lstat(&disk)? {
                Some(metadata) if metadata.is_dir() => {}
                Some(_) => {
                    return Err(Error::NotADirectory {
                        path: ancestor.to_absolute(),
                    });
                }
                None => {
                    fs_err::create_dir(&disk).map_err(|source| Error::CreateDir {
                        path: disk.clone(),
                        source,
                    })?;
                    self.entries.record_mut(&ancestor).implicit = true;
                }
            }
        }
        Ok(())
    }

    /// Sets the owner the image gives `path` (a chown on disk where allowed,
    /// recorded in the layer's metadata otherwise). Setuid and setgid bits
    /// survive.
    pub fn set_owner(&mut self, path: &Path, uid: u32, gid: u32) -> Result<()> {
        let (path, disk, before) = self.existing(path)?;
        attrs::chown_mapped(&disk, uid, gid, self.snapshotter.id_map())?;
        let after = attrs::lstat_existing(&disk)?;
        if !after.is_symlink() && attrs::permission_bits(&after) != attrs::permission_bits(&before)
        {
            // chown clears setuid/setgid; the image keeps them.
            attrs::chmod(&disk, attrs::permission_bits(&before))?;
        }
        let id_map = self.snapshotter.id_map();
        let record = self.entries.record_mut(&path);
        record.uid = (id_map.container_uid(after.uid()) != uid).then_some(uid);
        record.gid = (id_map.container_gid(after.gid()) != gid).then_some(gid);
        Ok(())
    }

    /// Sets the permission bits (`0o7777` at most) the image gives `path`.
    pub fn set_mode(&mut self, path: &Path, mode: u32) -> Result<()> {
        let mode = mode & 0o7777;
        let (path, disk, before) = self.existing(path)?;
        if !before.is_symlink() {
            let exact = self.snapshotter.privileged();
            attrs::chmod(&disk, attrs::disk_mode(mode, before.is_dir(), exact))?;
        }
        let after = attrs::lstat_existing(&disk)?;
        self.entries.record_mut(&path).mode =
            (attrs::permission_bits(&after) != mode).then_some(mode);
        Ok(())
    }

    /// Sets the modification time (seconds since the epoch) of `path`.
    pub fn set_mtime(&mut self, path: &Path, mtime: i64) -> Result<()> {
        let (path, disk, _) = self.existing(path)?;
        let kept = attrs::set_mtime(&disk, mtime)?;
        self.entries.record_mut(&path).mtime = (!kept).then_some(mtime);
        Ok(())
    }

    /// [`set_owner`](Self::set_owner), then [`set_mode`](Self::set_mode)
    /// (unless `mode` is `None`, as for a symlink), then
    /// [`set_mtime`](Self::set_mtime), with one lookup of `path`: what a
    /// copy does for every entry it writes.
    pub fn set_attributes(
        &mut self,
        path: &Path,
        owner: (u32, u32),
        mode: Option<u32>,
        mtime: i64,
    ) -> Result<()> {
        let (path, disk, before) = self.existing(path)?;
        let id_map = self.snapshotter.id_map().clone();
        attrs::chown_mapped(&disk, owner.0, owner.1, &id_map)?;
        let mode = mode
            .filter(|_| !before.is_symlink())
            .map(|mode| mode & 0o7777);
        if let Some(mode) = mode {
            let exact = self.snapshotter.privileged();
            // Also puts back setuid and setgid bits the chown cleared.
            attrs::chmod(&disk, attrs::disk_mode(mode, before.is_dir(), exact))?;
        } else if !before.is_symlink() {
            let after_chown = attrs::lstat_existing(&disk)?;
            if attrs::permission_bits(&after_chown) != attrs::permission_bits(&before) {
                attrs::chmod(&disk, attrs::permission_bits(&before))?;
            }
        }
        let kept = attrs::set_mtime(&disk, mtime)?;
        let after = attrs::lstat_existing(&disk)?;
        let record = self.entries.record_mut(&path);
        record.uid = (id_map.container_uid(after.uid()) != owner.0).then_some(owner.0);
        record.gid = (id_map.container_gid(after.gid()) != owner.1).then_some(owner.1);
        if let Some(mode) = mode {
            record.mode = (attrs::permission_bits(&after) != mode).then_some(mode);
        }
        record.mtime = (!kept).then_some(mtime);
        Ok(())
    }

    /// Puts at `path` (whose parent exists in the upper directory, and
    /// nothing at `path` itself) the file of the same path in committed
    /// snapshot `from`, as a hard link, when that file already carries on
    /// disk what writing it anew and setting `uid`, `gid`, `mode` and
    /// `mtime` would give. Saves writing content that did not change (and,
    /// on file systems slow to hand out inodes, creating one). The caller
    /// vouches that the content is the one wanted. Says whether it linked;
    /// when it did not, nothing changed.
    ///
    /// Committed snapshots are never written to again, so sharing their
    /// files is safe: an overlay over either copies up before writing.
    pub fn reuse_file(
        &mut self,
        path: &Path,
        from: &SnapshotId,
        owner: (u32, u32),
        mode: u32,
        mtime: i64,
    ) -> Result<bool> {
        let layer_path = LayerPath::from_user(path)?;
        let from_fs = self.snapshotter.store().snapshot_dir(from).join("fs");
        let source = disk_path(&from_fs, &layer_path);
        let Some(metadata) = attrs::lstat(&source)? else {
            return Ok(false);
        };
        // What a copy wrote carries no extended attributes on disk.
        let wanted = Wanted {
            owner,
            mode,
            mtime,
            may_have_xattrs: false,
        };
        Ok(self.link_as_wanted(&layer_path, &source, &metadata, wanted))
    }

    /// Like [`reuse_file`](Self::reuse_file), for `COPY --from`: puts at
    /// `path` the regular file `from_path` of the committed snapshot `from`
    /// shows, as a hard link, when it carries on disk what the copy gives
    /// it. Never links a file of this snapshot's own chain or one already
    /// linked elsewhere (the copy backend would join two paths of one chain
    /// into one file), a device placeholder, or a file with extended
    /// attributes.
    pub fn link_from(
        &mut self,
        path: &Path,
        from: &View,
        from_path: &Path,
        owner: (u32, u32),
        mode: u32,
        mtime: i64,
    ) -> Result<bool> {
        let layer_path = LayerPath::from_user(path)?;
        let from_layer_path = LayerPath::from_user(from_path)?;
        let Some((index, metadata)) = from.lookup_from(0, &from_layer_path)? else {
            return Ok(false);
        };
        let layer = &from.layers()[index];
        // A file another layer already shares could sit in this chain
        // through that layer; only a file of one path is linked.
        let in_own_chain =
            metadata.nlink() > 1 || self.lower.layers().iter().any(|own| own.id == layer.id);
        let placeholder = layer
            .entries
            .record(&from_layer_path)
            .is_some_and(|record| record.special.is_some() || !record.xattrs.is_empty());
        if in_own_chain || placeholder {
            return Ok(false);
        }
        let source = disk_path(&layer.fs, &from_layer_path);
        let wanted = Wanted {
            owner,
            mode,
            mtime,
            may_have_xattrs: true,
        };
        Ok(self.link_as_wanted(&layer_path, &source, &metadata, wanted))
    }

    /// Links committed file `source` (whose `lstat` is `metadata`) at
    /// `path` when it is a plain regular file whose owner, permission bits
    /// and mtime (to the second, as layers keep it) on disk are those that
    /// writing it anew and setting `owner`, `mode` and `mtime` would give.
    fn link_as_wanted(
        &mut self,
        path: &LayerPath,
        source: &Path,
        metadata: &std::fs::Metadata,
        wanted: Wanted,
    ) -> bool {
        let Wanted {
            owner,
            mode,
            mtime,
            may_have_xattrs,
        } = wanted;
        let mode = mode & 0o7777;
        let id_map = self.snapshotter.id_map();
        let exact = self.snapshotter.privileged();
        let as_wanted = metadata.file_type().is_file()
            && id_map.container_uid(metadata.uid()) == owner.0
            && id_map.container_gid(metadata.gid()) == owner.1
            && attrs::permission_bits(metadata) == attrs::disk_mode(mode, false, exact)
            && metadata.mtime() == mtime;
        // Overlay's own attributes (an origin, say) must not travel along.
        let bare = || xattr::list(source).is_ok_and(|mut names| names.next().is_none());
        if !as_wanted || (may_have_xattrs && !bare()) {
            return false;
        }
        let disk = disk_path(self.upper_dir(), path);
        if fs_err::hard_link(source, &disk).is_err() {
            return false;
        }
        let record = self.entries.record_mut(path);
        record.uid = None;
        record.gid = None;
        record.mode = (attrs::permission_bits(metadata) != mode).then_some(mode);
        record.mtime = None;
        true
    }

    /// Sets an extended attribute the image gives `path` (kept in the
    /// layer's metadata, not on disk).
    pub fn set_xattr(&mut self, path: &Path, name: &str, value: &[u8]) -> Result<()> {
        let (path, _, _) = self.existing(path)?;
        self.entries
            .record_mut(&path)
            .xattrs
            .insert(name.to_owned(), value.to_vec());
        Ok(())
    }

    /// Deletes `path` from the snapshot: removes it from the upper directory
    /// and hides it in the layers below.
    pub fn whiteout(&mut self, path: &Path) -> Result<()> {
        let layer_path = LayerPath::from_user(path)?;
        if layer_path.is_root() {
            return Err(Error::InvalidPath {
                path: path.to_owned(),
                reason: "the root cannot be deleted",
            });
        }
        self.create_dir_all(&layer_path.parent().to_absolute())?;
        if let Probe::Found(metadata) = probe(self.upper_dir(), &layer_path)? {
            attrs::remove_any(&disk_path(self.upper_dir(), &layer_path), &metadata)?;
        }
        self.entries.forget_tree(&layer_path);
        self.entries.whiteouts.insert(layer_path);
        Ok(())
    }

    /// Hides everything the layers below hold inside `dir` (creating `dir`
    /// in the upper directory if needed); what this layer puts there stays.
    pub fn make_opaque(&mut self, dir: &Path) -> Result<()> {
        self.create_dir_all(dir)?;
        self.entries.opaque.insert(LayerPath::from_user(dir)?);
        Ok(())
    }

    /// Commits the upper directory and its metadata as a new immutable
    /// snapshot, atomically.
    pub fn commit(self) -> Result<SnapshotId> {
        let id_map = self.snapshotter.id_map().clone();
        self.snapshotter
            .store()
            .commit(self.staging, self.parent, &self.entries, None, id_map)
    }

    /// Resolves a caller's path to an entry that exists in the upper
    /// directory (reached without symlinks). A directory that so far only
    /// inherited attributes from below takes them over first, so changing
    /// one attribute keeps the others.
    fn existing(
        &mut self,
        path: &Path,
    ) -> Result<(LayerPath, std::path::PathBuf, std::fs::Metadata)> {
        let layer_path = LayerPath::from_user(path)?;
        let metadata = match probe(self.upper_dir(), &layer_path)? {
            Probe::Found(metadata) => metadata,
            Probe::Missing | Probe::Blocked(_) => {
                return Err(Error::NotFound {
                    path: layer_path.to_absolute(),
                });
            }
        };
        if self.entries.is_implicit(&layer_path) {
            let inherited = self.lower.dir_stat_below(0, &layer_path)?;
            let record = self.entries.record_mut(&layer_path);
            record.implicit = false;
            record.uid = Some(inherited.uid);
            record.gid = Some(inherited.gid);
            record.mode = Some(inherited.mode);
            record.mtime = Some(inherited.mtime);
            record.xattrs = inherited.xattrs;
        }
        let disk = disk_path(self.upper_dir(), &layer_path);
        Ok((layer_path, disk, metadata))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::testutil::{Attrs, LayerTar, ROOT_DIR, ROOT_FILE, is_root, store, tree};
    use crate::{DiffOptions, EntryKind};

    /// The owner a file written by this process carries in `snapshotter`'s
    /// terms, so no override is needed whoever runs the test.
    fn own_ids(snapshotter: &Snapshotter) -> (u32, u32) {
        let id_map = snapshotter.id_map();
        (
            id_map.container_uid(nix::unistd::geteuid().as_raw()),
            id_map.container_gid(nix::unistd::getegid().as_raw()),
        )
    }

    fn base(snapshotter: &Snapshotter) -> SnapshotId {
        let tar = LayerTar::new()
            .dir(
                "etc",
                Attrs {
                    mode: 0o750,
                    gid: 4,
                    ..ROOT_DIR
                },
            )
            .file("etc/motd", b"hi", ROOT_FILE)
            .dir("var", ROOT_DIR)
            .dir("var/cache", ROOT_DIR)
            .file("var/cache/old", b"old", ROOT_FILE)
            .finish();
        snapshotter.apply(&tar[..], None).unwrap().id
    }

    #[test]
    fn prepare_write_commit_shows_in_view_and_diff() {
        let (_dir, snapshotter) = store();
        let base = base(&snapshotter);
        let mut active = snapshotter.prepare(Some(&base)).unwrap();
        active.create_dir_all(Path::new("/app/bin")).unwrap();
        fs_err::write(active.upper_dir().join("app/bin/run"), "#!/bin/sh\n").unwrap();
        active.set_mode(Path::new("/app/bin/run"), 0o4755).unwrap();
        active
            .set_owner(Path::new("/app/bin/run"), 1000, 1000)
            .unwrap();
        active.set_owner(Path::new("/app"), 1000, 1000).unwrap();
        active.set_mtime(Path::new("/app/bin/run"), 1_000).unwrap();
        active.whiteout(Path::new("/etc/motd")).unwrap();
        active.make_opaque(Path::new("/var/cache")).unwrap();
        assert_eq!(active.parent(), Some(&base));
        let top = active.commit().unwrap();

        let view = snapshotter.view(&top).unwrap();
        let run = view.metadata(Path::new("/app/bin/run")).unwrap().unwrap();
        assert_eq!(
            (run.uid, run.gid, run.mode, run.mtime),
            (1000, 1000, 0o4755, 1_000)
        );
        let app = view.metadata(Path::new("/app")).unwrap().unwrap();
        assert_eq!((app.kind, app.uid), (EntryKind::Dir, 1000));
        assert_eq!(view.metadata(Path::new("/etc/motd")).unwrap(), None);
        assert!(view.read_dir(Path::new("/var/cache")).unwrap().is_empty());
        // A parent made for the whiteout keeps the lower directory's attributes.
        let etc = view.metadata(Path::new("/etc")).unwrap().unwrap();
        assert_eq!((etc.gid, etc.mode), (4, 0o750));

        let mut tar = Vec::new();
        snapshotter
            .diff(&top, &mut tar, DiffOptions::default())
            .unwrap();
        assert_eq!(
            crate::testutil::tar_listing(&tar),
            [
                "app/ 1000:1000 755",
                "app/bin/ 0:0 755",
                "app/bin/run 1000:1000 4755",
                "etc/ 0:4 750",
                "etc/.wh.motd 0:0 0",
                "var/ 0:0 755",
                "var/cache/ 0:0 755",
                "var/cache/.wh..wh..opq 0:0 0",
            ]
        );
    }

    #[test]
    fn link_from_shares_a_stage_file_only_where_that_is_safe() {
        let (_dir, snapshotter) = store();
        let base = base(&snapshotter);
        let own = own_ids(&snapshotter);
        let mut stage = snapshotter.prepare(Some(&base)).unwrap();
        for name in ["big", "tagged"] {
            fs_err::write(stage.upper_dir().join(name), "built").unwrap();
            stage
                .set_attributes(Path::new(name), own, Some(0o755), 1_000)
                .unwrap();
        }
        let tagged_xattr = xattr::set(stage.upper_dir().join("tagged"), "user.note", b"x").is_ok();
        let stage = stage.commit().unwrap();
        let view = snapshotter.view(&stage).unwrap();
        let inode = |view: &View, path: &str| {
            view.open(Path::new(path))
                .unwrap()
                .metadata()
                .unwrap()
                .ino()
        };

        let mut active = snapshotter.prepare(Some(&base)).unwrap();
        let big = Path::new("/big");
        assert!(
            !active
                .link_from(Path::new("/out"), &view, big, own, 0o755, 2_000)
                .unwrap()
        );
        assert!(
            !active
                .link_from(
                    Path::new("/out"),
                    &view,
                    Path::new("/none"),
                    own,
                    0o755,
                    1_000
                )
                .unwrap()
        );
        if tagged_xattr {
            assert!(
                !active
                    .link_from(
                        Path::new("/out"),
                        &view,
                        Path::new("/tagged"),
                        own,
                        0o755,
                        1_000
                    )
                    .unwrap()
            );
        }
        assert!(
            active
                .link_from(Path::new("/out"), &view, big, own, 0o755, 1_000)
                .unwrap()
        );
        let copied = active.commit().unwrap();
        let copied_view = snapshotter.view(&copied).unwrap();
        assert_eq!(inode(&copied_view, "/out"), inode(&view, "/big"));
        let stat = copied_view.metadata(Path::new("/out")).unwrap().unwrap();
        assert_eq!((stat.uid, stat.mode, stat.mtime), (own.0, 0o755, 1_000));

        // A file of the snapshot's own chain is copied, never shared.
        let mut above = snapshotter.prepare(Some(&stage)).unwrap();
        assert!(
            !above
                .link_from(Path::new("/again"), &view, big, own, 0o755, 1_000)
                .unwrap()
        );
        // So is one already shared: a layer above the copy could hold it too.
        let mut next = snapshotter.prepare(Some(&copied)).unwrap();
        assert!(
            !next
                .link_from(Path::new("/twice"), &view, big, own, 0o755, 1_000)
                .unwrap()
        );
    }

    #[test]
    fn set_attributes_does_what_the_three_setters_do() {
        let (_dir, snapshotter) = store();
        let mut active = snapshotter.prepare(None).unwrap();
        let cases: [(&str, (u32, u32), Option<u32>); 4] = [
            ("plain", (0, 0), Some(0o644)),
            ("setuid", (1000, 50), Some(0o4755)),
            ("readonly", (0, 0), Some(0o444)),
            ("kept-mode", (1000, 1000), None),
        ];
        for (name, owner, mode) in cases {
            let one = format!("one-{name}");
            let three = format!("three-{name}");
            for file in [&one, &three] {
                fs_err::write(active.upper_dir().join(file), "x").unwrap();
                fs_err::set_permissions(
                    active.upper_dir().join(file),
                    std::fs::Permissions::from_mode(0o2750),
                )
                .unwrap();
            }
            active
                .set_attributes(Path::new(&one), owner, mode, 1_234)
                .unwrap();
            active
                .set_owner(Path::new(&three), owner.0, owner.1)
                .unwrap();
            if let Some(mode) = mode {
                active.set_mode(Path::new(&three), mode).unwrap();
            }
            active.set_mtime(Path::new(&three), 1_234).unwrap();
            let disk = |file: &str| {
                let metadata = fs_err::symlink_metadata(active.upper_dir().join(file)).unwrap();
                (
                    metadata.uid(),
                    metadata.gid(),
                    metadata.mode(),
                    metadata.mtime(),
                )
            };
            let record = |file: &str| {
                let record = active
                    .entries
                    .record(&LayerPath::from_user(Path::new(file)).unwrap())
                    .unwrap();
                (record.uid, record.gid, record.mode, record.mtime)
            };
            assert_eq!(disk(&one), disk(&three), "{name}");
            assert_eq!(record(&one), record(&three), "{name}");
        }
    }

    #[test]
    fn reuse_file_links_only_a_file_that_already_looks_as_wanted() {
        let (_dir, snapshotter) = store();
        let base = base(&snapshotter);
        let own = own_ids(&snapshotter);
        let mut first = snapshotter.prepare(Some(&base)).unwrap();
        first.create_dir_all(Path::new("/app")).unwrap();
        fs_err::write(first.upper_dir().join("app/data"), "v1").unwrap();
        first
            .set_owner(Path::new("/app/data"), own.0, own.1)
            .unwrap();
        first.set_mode(Path::new("/app/data"), 0o644).unwrap();
        first.set_mtime(Path::new("/app/data"), 1_000).unwrap();
        let first = first.commit().unwrap();

        let mut second = snapshotter.prepare(Some(&base)).unwrap();
        second.create_dir_all(Path::new("/app")).unwrap();
        let data = Path::new("/app/data");
        // Another time, mode or owner than the earlier file has: not linked.
        assert!(!second.reuse_file(data, &first, own, 0o644, 2_000).unwrap());
        assert!(!second.reuse_file(data, &first, own, 0o600, 1_000).unwrap());
        assert!(
            !second
                .reuse_file(data, &first, (own.0 + 1, own.1), 0o644, 1_000)
                .unwrap()
        );
        assert!(!second.upper_dir().join("app/data").exists());
        // A path the earlier snapshot does not have: not linked.
        assert!(
            !second
                .reuse_file(Path::new("/app/none"), &first, own, 0o644, 1_000)
                .unwrap()
        );

        assert!(second.reuse_file(data, &first, own, 0o644, 1_000).unwrap());
        let second = second.commit().unwrap();
        let view = snapshotter.view(&second).unwrap();
        let stat = view.metadata(data).unwrap().unwrap();
        assert_eq!(
            (stat.uid, stat.gid, stat.mode, stat.mtime, stat.size),
            (own.0, own.1, 0o644, 1_000, 2)
        );
        let mut content = String::new();
        view.open(data)
            .unwrap()
            .read_to_string(&mut content)
            .unwrap();
        assert_eq!(content, "v1");
        let mut tar = Vec::new();
        snapshotter
            .diff(&second, &mut tar, DiffOptions::default())
            .unwrap();
        // Linked from another snapshot, the file is still a regular file in
        // this layer's tar, not a link to a path the layer does not have.
        assert_eq!(
            crate::testutil::tar_listing(&tar),
            [
                "app/ 0:0 755".to_owned(),
                format!("app/data {}:{} 644", own.0, own.1),
            ]
        );
        let mut archive = tar::Archive::new(&tar[..]);
        let mut entries = archive.entries().unwrap();
        let file = entries.nth(1).unwrap().unwrap();
        assert_eq!(
            (file.header().entry_type(), file.header().size().unwrap()),
            (tar::EntryType::Regular, 2)
        );
    }

    #[test]
    fn set_owner_on_disk_when_root_in_metadata_otherwise() {
        let (_dir, snapshotter) = store();
        let mut active = snapshotter.prepare(None).unwrap();
        let file = active.upper_dir().join("f");
        fs_err::write(&file, "x").unwrap();
        active.set_mode(Path::new("f"), 0o2750).unwrap();
        active.set_owner(Path::new("f"), 1000, 1000).unwrap();
        let on_disk = fs_err::metadata(&file).unwrap();
        let record = active
            .entries
            .record(&LayerPath::from_user(Path::new("f")).unwrap());
        if is_root() {
            use std::os::unix::fs::MetadataExt as _;
            assert_eq!((on_disk.uid(), on_disk.gid()), (1000, 1000));
            assert_eq!(on_disk.permissions().mode() & 0o7777, 0o2750);
            assert_eq!(record.and_then(|record| record.uid), None);
        } else {
            assert_eq!(record.and_then(|record| record.uid), Some(1000));
        }
    }

    #[test]
    fn set_owner_never_follows_a_symlink_in_the_upper_dir() {
        let (_dir, snapshotter) = store();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("target");
        fs_err::write(&target, "x").unwrap();
        fs_err::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let before = fs_err::metadata(&target).unwrap();
        let mut active = snapshotter.prepare(None).unwrap();
        std::os::unix::fs::symlink(&target, active.upper_dir().join("link")).unwrap();
        std::os::unix::fs::symlink(outside.path(), active.upper_dir().join("dir")).unwrap();
        active.set_owner(Path::new("/link"), 1000, 1000).unwrap();
        active.set_mode(Path::new("/link"), 0o777).unwrap();
        assert!(matches!(
            active.set_owner(Path::new("/dir/target"), 1000, 1000),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            active.whiteout(Path::new("/dir/target")),
            Err(Error::NotADirectory { .. })
        ));
        let after = fs_err::metadata(&target).unwrap();
        assert_eq!(
            format!("{:?}", before.permissions()),
            format!("{:?}", after.permissions())
        );
        {
            use std::os::unix::fs::MetadataExt as _;
            assert_eq!(before.uid(), after.uid());
        }
        let id = active.commit().unwrap();
        let link = snapshotter
            .view(&id)
            .unwrap()
            .metadata(Path::new("/link"))
            .unwrap()
            .unwrap();
        assert_eq!((link.kind, link.uid), (EntryKind::Symlink, 1000));
    }

    #[test]
    fn dropped_active_snapshot_leaves_nothing() {
        let (dir, snapshotter) = store();
        let mut active = snapshotter.prepare(None).unwrap();
        active.create_dir_all(Path::new("a/b")).unwrap();
        fs_err::write(active.upper_dir().join("a/b/c"), "x").unwrap();
        drop(active);
        assert_eq!(tree(&dir.path().join("store")), ["snapshots", "staging"]);
        assert!(snapshotter.list().unwrap().is_empty());
    }

    #[test]
    fn remove_refuses_a_parent_and_list_reports_sizes() {
        let (dir, snapshotter) = store();
        let base = base(&snapshotter);
        let active = snapshotter.prepare(Some(&base)).unwrap();
        fs_err::write(active.upper_dir().join("big"), vec![7_u8; 64 * 1024]).unwrap();
        let top = active.commit().unwrap();

        let infos = snapshotter.list().unwrap();
        assert_eq!(infos.len(), 2);
        let top_info = snapshotter.info(&top).unwrap();
        assert_eq!(top_info.parent.as_ref(), Some(&base));
        assert!(top_info.size >= 64 * 1024, "{}", top_info.size);
        assert_eq!(snapshotter.size(&top).unwrap(), top_info.size);
        assert!(snapshotter.info(&base).unwrap().diff_id.is_some());

        assert!(matches!(
            snapshotter.remove(&base),
            Err(Error::RemoveParent { child, .. }) if child == top
        ));
        snapshotter.remove(&top).unwrap();
        snapshotter.remove(&base).unwrap();
        assert!(matches!(
            snapshotter.view(&base),
            Err(Error::FindSnapshot { .. })
        ));
        assert_eq!(tree(&dir.path().join("store")), ["snapshots", "staging"]);
    }

    #[test]
    fn clean_staging_removes_only_dead_writers() {
        let (dir, snapshotter) = store();
        let staging = dir.path().join("store/staging");
        fs_err::create_dir_all(staging.join("999999999-dead/fs")).unwrap();
        let active = snapshotter.prepare(None).unwrap();
        assert_eq!(snapshotter.clean_staging().unwrap(), 1);
        assert!(active.upper_dir().exists());
    }
}
