//! Writing one tar entry into a layer directory, refusing anything that
//! would land outside it.
//!
//! Safety rules, each an [`Error::UnsafeEntry`] naming the entry (the caller,
//! `apply`, then drops the staging directory):
//!
//! - no absolute path, no `..` component (in entry names and hard link
//!   targets);
//! - no entry below a symlink or a non-directory already in the layer: each
//!   parent is checked with `lstat`, one component at a time, and files are
//!   created with `O_NOFOLLOW | O_EXCL`;
//! - a hard link's target must be a non-directory already written by this
//!   layer, reached without a symlink.
//!
//! OCI whiteouts (`.wh.<name>`) and opaque markers (`.wh..wh..opq`) become
//! layer metadata, not files; other `.wh..wh.` names (aufs bookkeeping) are
//! skipped. Owners the process cannot give, device nodes `mknod` refuses
//! (left as empty placeholder files) and PAX `SCHILY.xattr.*` attributes go
//! to the metadata too (see `entries`).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use fs_err::os::unix::fs::OpenOptionsExt as _;
use nix::errno::Errno;
use nix::sys::stat::{Mode, SFlag};
use tar::EntryType;

use crate::apply::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use crate::attrs::{self, Probe, disk_path, probe};
use crate::entries::{LayerEntries, Record, Special};
use crate::error::{Error, Result};
use crate::idmap::IdMap;
use crate::path::LayerPath;

/// Attributes a tar entry asks for.
struct Wanted {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: i64,
    xattrs: BTreeMap<String, Vec<u8>>,
}

pub(crate) struct Extractor<'a> {
    fs: &'a Path,
    entries: LayerEntries,
    id_map: &'a IdMap,
    exact_modes: bool,
    /// Directory mtimes, set last (writing children changes them).
    dir_times: Vec<(LayerPath, i64)>,
}

fn refuse(entry: &str, reason: impl Into<String>) -> Error {
    Error::UnsafeEntry {
        entry: entry.to_owned(),
        reason: reason.into(),
    }
}

fn extract_error(entry: &str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::ExtractEntry {
        entry: entry.to_owned(),
        path: path.to_owned(),
        source,
    }
}

impl<'a> Extractor<'a> {
    /// Writes into the layer directory `fs`, owners through `id_map`; with
    /// `exact_modes` (privileged) modes go to disk unchanged.
    pub(crate) fn new(fs: &'a Path, id_map: &'a IdMap, exact_modes: bool) -> Self {
        Self {
            fs,
            entries: LayerEntries::default(),
            id_map,
            exact_modes,
            dir_times: Vec::new(),
        }
    }

    /// The metadata gathered so far.
    pub(crate) fn into_entries(self) -> LayerEntries {
        self.entries
    }

    /// Writes one entry.
    pub(crate) fn extract<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let entry_type = entry.header().entry_type();
        if entry_type.is_pax_global_extensions() {
            return Ok(());
        }
        let path = LayerPath::from_archive(&raw).map_err(|reason| refuse(&name, reason))?;
        if path.is_root() {
            // The root's own attributes are not part of a layer.
            return Ok(());
        }
        if let Some(whited_out) = path.file_name().strip_prefix(WHITEOUT_PREFIX) {
            let whited_out = whited_out.to_vec();
            return self.whiteout(&name, &path, &whited_out);
        }
        let wanted = wanted(&mut entry, &name)?;
        self.make_parents(&name, &path)?;
        let disk = disk_path(self.fs, &path);
        if entry_type == EntryType::Link {
            return self.hard_link(&entry, &name, &path, &disk);
        }
        self.clear(&name, &path, &disk, entry_type.is_dir())?;
        let mut special = None;
        match entry_type {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let mut file = fs_err::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(nix::libc::O_NOFOLLOW)
                    .open(&disk)
                    .map_err(extract_error(&name, &disk))?;
                io::copy(&mut entry, &mut file).map_err(extract_error(&name, &disk))?;
            }
            EntryType::Directory => {
                if attrs::lstat(&disk)?.is_none() {
                    fs_err::create_dir(&disk).map_err(extract_error(&name, &disk))?;
                }
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse(&name, "symbolic link without a target"))?;
                fs_err::os::unix::fs::symlink(OsStr::from_bytes(&target), &disk)
                    .map_err(extract_error(&name, &disk))?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                special = make_node(&entry, &name, &disk)?;
            }
            other => {
                return Err(Error::UnsupportedEntry {
                    entry: name,
                    entry_type: other.as_byte(),
                });
            }
        }
        self.settle(&path, &disk, &wanted, special)
    }

    /// Records `.wh.<name>` or `.wh..wh..opq` found at `path`.
    fn whiteout(&mut self, name: &str, path: &LayerPath, whited_out: &[u8]) -> Result<()> {
        let dir = path.parent();
        self.make_parents(name, path)?;
        if path.file_name() == OPAQUE_MARKER {
            if !dir.is_root() {
                match probe(self.fs, &dir)? {
                    Probe::Found(metadata) if metadata.is_dir() => {}
                    _ => return Err(refuse(name, "opaque marker outside a directory")),
                }
            }
            self.entries.opaque.insert(dir);
        } else if whited_out.starts_with(WHITEOUT_PREFIX) {
            // aufs bookkeeping (`.wh..wh.plnk`, …) has no meaning in OCI layers.
        } else if whited_out.is_empty() || whited_out == b"." || whited_out == b".." {
            return Err(refuse(name, "whiteout names no file"));
        } else {
            self.entries.whiteouts.insert(dir.join(whited_out));
        }
        Ok(())
    }

    /// Creates missing parents of `path` as parent-only directories; refuses a
    /// parent that is a symlink or not a directory.
    fn make_parents(&mut self, name: &str, path: &LayerPath) -> Result<()> {
        for ancestor in path.ancestors().into_iter().skip(1) {
            let disk = disk_path(self.fs, &ancestor);
            match attrs::lstat(&disk)? {
                Some(metadata) if metadata.is_dir() => {}
                Some(metadata) if metadata.is_symlink() => {
                    return Err(refuse(
                        name,
                        format!("parent {} is a symbolic link", ancestor.display()),
                    ));
                }
                Some(_) => {
                    return Err(refuse(
                        name,
                        format!("parent {} is not a directory", ancestor.display()),
                    ));
                }
                None => {
                    fs_err::create_dir(&disk).map_err(extract_error(name, &disk))?;
                    self.entries.record_mut(&ancestor).implicit = true;
                }
            }
        }
        Ok(())
    }

    /// Removes an earlier entry at `path` (a later tar entry replaces it),
    /// except a directory replaced by a directory.
    fn clear(&mut self, name: &str, path: &LayerPath, disk: &Path, is_dir: bool) -> Result<()> {
        let Some(metadata) = attrs::lstat(disk)? else {
            return Ok(());
        };
        if metadata.is_dir() && is_dir {
            return Ok(());
        }
        attrs::remove_any(disk, &metadata).map_err(|error| match error {
            Error::RemovePath { path, source } => Error::ExtractEntry {
                entry: name.to_owned(),
                path,
                source,
            },
            other => other,
        })?;
        self.entries.forget_tree(path);
        Ok(())
    }

    fn hard_link<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        name: &str,
        path: &LayerPath,
        disk: &Path,
    ) -> Result<()> {
        let raw_target = entry
            .link_name_bytes()
            .ok_or_else(|| refuse(name, "hard link without a target"))?;
        let target = LayerPath::from_archive(&raw_target)
            .map_err(|reason| refuse(name, format!("hard link target: {reason}")))?;
        match probe(self.fs, &target)? {
            Probe::Found(metadata) if !metadata.is_dir() => {}
            Probe::Found(_) => return Err(refuse(name, "hard link to a directory")),
            Probe::Blocked(blocker) => {
                return Err(refuse(
                    name,
                    format!(
                        "hard link target {} lies below {}, which is not a directory",
                        target.display(),
                        blocker.display()
                    ),
                ));
            }
            Probe::Missing => {
                return Err(refuse(
                    name,
                    format!("hard link target {} is not in this layer", target.display()),
                ));
            }
        }
        if target == *path {
            return Ok(());
        }
        self.clear(name, path, disk, false)?;
        let target_disk = disk_path(self.fs, &target);
        fs_err::hard_link(&target_disk, disk).map_err(extract_error(name, disk))?;
        if let Some(record) = self.entries.record(&target).cloned() {
            *self.entries.record_mut(path) = record;
        }
        Ok(())
    }

    /// Gives the new entry its owner, mode and times where the disk can
    /// hold them and records the rest.
    fn settle(
        &mut self,
        path: &LayerPath,
        disk: &Path,
        wanted: &Wanted,
        special: Option<Special>,
    ) -> Result<()> {
        let before = attrs::lstat_existing(disk)?;
        let is_dir = before.is_dir();
        let is_symlink = before.is_symlink();
        attrs::chown_mapped(disk, wanted.uid, wanted.gid, self.id_map)?;
        if !is_symlink {
            attrs::chmod(
                disk,
                attrs::disk_mode(wanted.mode, is_dir, self.exact_modes),
            )?;
        }
        let mut mtime_kept = true;
        if is_dir {
            self.dir_times.push((path.clone(), wanted.mtime));
        } else {
            mtime_kept = attrs::set_mtime(disk, wanted.mtime)?;
        }
        let after = attrs::lstat_existing(disk)?;
        let record = self.entries.record_mut(path);
        *record = Record {
            uid: (self.id_map.container_uid(after.uid()) != wanted.uid).then_some(wanted.uid),
            gid: (self.id_map.container_gid(after.gid()) != wanted.gid).then_some(wanted.gid),
            mode: (attrs::permission_bits(&after) != wanted.mode).then_some(wanted.mode),
            mtime: (!mtime_kept).then_some(wanted.mtime),
            special,
            xattrs: wanted.xattrs.clone(),
            implicit: false,
        };
        Ok(())
    }

    /// Sets directory mtimes once nothing more is written into them.
    pub(crate) fn finish(&mut self) -> Result<()> {
        for (path, mtime) in std::mem::take(&mut self.dir_times) {
            let disk = disk_path(self.fs, &path);
            if attrs::lstat(&disk)?.is_some_and(|metadata| metadata.is_dir())
                && !attrs::set_mtime(&disk, mtime)?
            {
                self.entries.record_mut(&path).mtime = Some(mtime);
            }
        }
        Ok(())
    }
}

/// Makes a device node or fifo, or a placeholder where the kernel
/// refuses; returns what the placeholder stands for.
fn make_node<R: Read>(
    entry: &tar::Entry<'_, R>,
    name: &str,
    disk: &Path,
) -> Result<Option<Special>> {
    let header = entry.header();
    let number = |field: io::Result<Option<u32>>| -> Result<u64> {
        field
            .map(|number| u64::from(number.unwrap_or(0)))
            .map_err(|source| Error::ReadLayer { source })
    };
    let (kind, special) = match header.entry_type() {
        EntryType::Char => (
            SFlag::S_IFCHR,
            Special::Char {
                major: number(header.device_major())?,
                minor: number(header.device_minor())?,
            },
        ),
        EntryType::Block => (
            SFlag::S_IFBLK,
            Special::Block {
                major: number(header.device_major())?,
                minor: number(header.device_minor())?,
            },
        ),
        _ => (SFlag::S_IFIFO, Special::Fifo),
    };
    let (major, minor) = match special {
        Special::Char { major, minor } | Special::Block { major, minor } => (major, minor),
        Special::Fifo => (0, 0),
    };
    let device = nix::sys::stat::makedev(major, minor);
    match nix::sys::stat::mknod(disk, kind, Mode::from_bits_truncate(0o600), device) {
        Ok(()) => Ok(None),
        Err(Errno::EPERM | Errno::EACCES | Errno::EOPNOTSUPP) => {
            fs_err::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(disk)
                .map_err(extract_error(name, disk))?;
            Ok(Some(special))
        }
        Err(errno) => Err(extract_error(name, disk)(errno.into())),
    }
}

/// The attributes an entry asks for, PAX records included.
fn wanted<R: Read>(entry: &mut tar::Entry<'_, R>, name: &str) -> Result<Wanted> {
    let header = entry.header();
    let field = |value: io::Result<u64>| value.map_err(|source| Error::ReadLayer { source });
    let uid = field(header.uid())?;
    let gid = field(header.gid())?;
    let mode = header
        .mode()
        .map_err(|source| Error::ReadLayer { source })?
        & 0o7777;
    let mut mtime = i64::try_from(field(header.mtime())?).unwrap_or(i64::MAX);
    let mut xattrs = BTreeMap::new();
    if let Some(extensions) = entry
        .pax_extensions()
        .map_err(|source| Error::ReadLayer { source })?
    {
        for extension in extensions {
            let extension = extension.map_err(|source| Error::ReadLayer { source })?;
            let Ok(key) = extension.key() else { continue };
            if let Some(attribute) = key.strip_prefix("SCHILY.xattr.") {
                xattrs.insert(attribute.to_owned(), extension.value_bytes().to_vec());
            } else if key == "mtime" {
                // Seconds, maybe with a fraction; layers keep whole seconds.
                let seconds = extension
                    .value()
                    .ok()
                    .and_then(|value| value.split('.').next().and_then(|whole| whole.parse().ok()));
                if let Some(seconds) = seconds {
                    mtime = seconds;
                }
            }
        }
    }
    let id = |value: u64| {
        u32::try_from(value).map_err(|_| refuse(name, format!("owner id {value} is out of range")))
    };
    Ok(Wanted {
        uid: id(uid)?,
        gid: id(gid)?,
        mode,
        mtime,
        xattrs,
    })
}

#[cfg(test)]
mod tests {
    use tar::EntryType;

    use super::*;
    use crate::testutil::{LayerTar, ROOT_DIR, ROOT_FILE, store, tree};

    /// Applies `tar`, expects it refused naming `entry`, and checks nothing
    /// was left in the store or outside it.
    fn assert_refused(tar: &[u8], entry: &str) {
        let (dir, snapshotter) = store();
        let error = snapshotter.apply(tar, None).unwrap_err();
        match &error {
            Error::UnsafeEntry { entry: named, .. } => assert_eq!(named, entry, "{error}"),
            other => panic!("expected UnsafeEntry for {entry}, got {other:?}"),
        }
        assert!(error.to_string().contains(entry), "{error}");
        assert_eq!(tree(&dir.path().join("store")), ["snapshots", "staging"]);
        assert!(snapshotter.list().unwrap().is_empty());
    }

    #[test]
    fn apply_refuses_dot_dot_and_absolute_paths() {
        for name in ["../escape", "a/../../escape", "/abs"] {
            let tar = LayerTar::new()
                .dir("a", ROOT_DIR)
                .raw(EntryType::Regular, name.as_bytes(), b"", b"x")
                .finish();
            assert_refused(&tar, name);
        }
    }

    #[test]
    fn apply_refuses_writing_through_a_symlink() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().to_str().unwrap();
        let tar = LayerTar::new()
            .symlink("link", target, ROOT_FILE)
            .file("link/pwned", b"x", ROOT_FILE)
            .finish();
        assert_refused(&tar, "link/pwned");
        let tar = LayerTar::new()
            .symlink("link", target, ROOT_FILE)
            .dir("link/sub", ROOT_DIR)
            .finish();
        assert_refused(&tar, "link/sub/");
        assert!(tree(outside.path()).is_empty());
    }

    #[test]
    fn apply_refuses_a_symlink_chain_leading_outside() {
        let tar = LayerTar::new()
            .symlink("a", "b", ROOT_FILE)
            .symlink("b", "../../../../../../../..", ROOT_FILE)
            .file("a/tmp/pwned", b"x", ROOT_FILE)
            .finish();
        assert_refused(&tar, "a/tmp/pwned");
    }

    #[test]
    fn apply_refuses_hard_links_leaving_the_layer() {
        let to_outside = LayerTar::new()
            .raw(EntryType::Link, b"passwd", b"../../../../etc/passwd", b"")
            .finish();
        assert_refused(&to_outside, "passwd");
        let absolute = LayerTar::new()
            .raw(EntryType::Link, b"passwd", b"/etc/passwd", b"")
            .finish();
        assert_refused(&absolute, "passwd");
        let through_symlink = LayerTar::new()
            .symlink("etc", "/etc", ROOT_FILE)
            .hardlink("passwd", "etc/passwd", ROOT_FILE)
            .finish();
        assert_refused(&through_symlink, "passwd");
        let not_in_layer = LayerTar::new()
            .hardlink("passwd", "etc/passwd", ROOT_FILE)
            .finish();
        assert_refused(&not_in_layer, "passwd");
    }
}
