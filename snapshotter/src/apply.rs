//! Applying a layer tar: extracting an uncompressed tar stream into a new
//! committed layer, refusing anything that would land outside it.
//!
//! Safety rules, each an [`Error::UnsafeEntry`] naming the entry, after which
//! the half-written layer is removed (it lives in a staging directory until
//! the commit renames it into place):
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
//! to the metadata too (see `entries`). Decompression is the caller's.

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

use crate::attrs::{self, Probe, disk_path, probe};
use crate::digest::HashingReader;
use crate::entries::{LayerEntries, Record, Special};
use crate::error::{Error, Result};
use crate::idmap::IdMap;
use crate::path::LayerPath;
use crate::{AppliedLayer, SnapshotId, Snapshotter};

/// Whiteout prefix of OCI layers.
pub(crate) const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// Opaque directory marker of OCI layers.
pub(crate) const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

pub(crate) fn apply(
    snapshotter: &Snapshotter,
    layer_tar: impl Read,
    parent: Option<&SnapshotId>,
) -> Result<AppliedLayer> {
    let store = snapshotter.store();
    if let Some(parent) = parent {
        store.load_meta(parent)?;
    }
    let staging = store.new_staging()?;
    let mut extractor = Extractor {
        fs: staging.fs(),
        entries: LayerEntries::default(),
        id_map: snapshotter.id_map(),
        exact_modes: snapshotter.privileged(),
        dir_times: Vec::new(),
    };
    let mut reader = HashingReader::new(layer_tar);
    {
        let mut archive = tar::Archive::new(&mut reader);
        for entry in archive
            .entries()
            .map_err(|source| Error::ReadLayer { source })?
        {
            let entry = entry.map_err(|source| Error::ReadLayer { source })?;
            extractor.extract(entry)?;
        }
    }
    // The diffID covers the whole stream, end-of-archive padding included.
    io::copy(&mut reader, &mut io::sink()).map_err(|source| Error::ReadLayer { source })?;
    extractor.finish()?;
    let entries = extractor.entries;
    let diff_id = reader.digest();
    let id = store.commit(
        staging,
        parent.cloned(),
        &entries,
        Some(diff_id.clone()),
        snapshotter.id_map().clone(),
    )?;
    Ok(AppliedLayer { id, diff_id })
}

/// Attributes a tar entry asks for.
struct Wanted {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: i64,
    xattrs: BTreeMap<String, Vec<u8>>,
}

struct Extractor<'a> {
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

impl Extractor<'_> {
    fn extract<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<()> {
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
    fn finish(&mut self) -> Result<()> {
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
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    use sha2::{Digest as _, Sha256};
    use tar::EntryType;

    use super::*;
    use crate::testutil::{Attrs, LayerTar, ROOT_DIR, ROOT_FILE, is_root, store, tree};
    use crate::{DiffOptions, EntryKind};

    const USER: Attrs = Attrs {
        uid: 1000,
        gid: 1000,
        mode: 0o644,
        mtime: 1_650_000_000,
    };

    /// A layer with everything a base image may hold.
    fn rich_layer() -> Vec<u8> {
        let long_name = format!("opt/{}", "a".repeat(150));
        let long_target = format!("/usr/share/{}", "t".repeat(120));
        let su = Attrs {
            mode: 0o4755,
            ..ROOT_FILE
        };
        LayerTar::new()
            .dir("bin", ROOT_DIR)
            .file("bin/su", b"#!su\n", su)
            .hardlink("bin/sudo-link", "bin/su", su)
            .dir("dev", ROOT_DIR)
            .device("dev/fifo", EntryType::Fifo, 0, 0)
            .device("dev/null", EntryType::Char, 1, 3)
            .dir("etc", ROOT_DIR)
            .file(
                "etc/shadow",
                b"root:*:1::::::\n",
                Attrs {
                    gid: 42,
                    mode: 0o640,
                    ..ROOT_FILE
                },
            )
            .dir(
                "home",
                Attrs {
                    mode: 0o555,
                    ..ROOT_DIR
                },
            )
            .dir(
                "home/user",
                Attrs {
                    mode: 0o700,
                    ..USER
                },
            )
            .file("home/user/.profile", b"PS1='$ '\n", USER)
            .symlink(
                "home/user/link",
                "../../etc/shadow",
                Attrs {
                    mode: 0o777,
                    ..USER
                },
            )
            .file(
                "nobody",
                b"",
                Attrs {
                    uid: 65534,
                    gid: 65534,
                    mode: 0o000,
                    mtime: 7,
                },
            )
            .dir("opt", ROOT_DIR)
            .file(&long_name, b"long\n", ROOT_FILE)
            .symlink(
                "opt/long-link",
                &long_target,
                Attrs {
                    mode: 0o777,
                    ..ROOT_FILE
                },
            )
            .file_with_xattrs(
                "ping",
                b"\x7fELF",
                Attrs {
                    mode: 0o755,
                    ..ROOT_FILE
                },
                &[("security.capability", b"\x01\x00\x00\x02\x00\x20\x00\x00")],
            )
            .finish()
    }

    #[test]
    fn apply_then_diff_gives_back_the_same_bytes() {
        let (_dir, snapshotter) = store();
        let input = rich_layer();
        let applied = snapshotter.apply(&input[..], None).unwrap();
        let expected_digest = format!("sha256:{}", crate::id::to_hex(&Sha256::digest(&input)));
        assert_eq!(applied.diff_id, expected_digest);

        let mut output = Vec::new();
        let stats = snapshotter
            .diff(&applied.id, &mut output, DiffOptions::default())
            .unwrap();
        assert_eq!(stats.size, output.len() as u64);
        assert_eq!(stats.diff_id, expected_digest);
        if output != input {
            let list = |bytes: &[u8]| {
                let mut archive = tar::Archive::new(bytes);
                archive
                    .entries()
                    .unwrap()
                    .map(|entry| {
                        let entry = entry.unwrap();
                        let header = entry.header();
                        format!(
                            "{} {:?} {}:{} {:o} {}",
                            String::from_utf8_lossy(&entry.path_bytes()),
                            header.entry_type(),
                            header.uid().unwrap(),
                            header.gid().unwrap(),
                            header.mode().unwrap(),
                            header.mtime().unwrap()
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(list(&output), list(&input));
            panic!("same entries but different bytes");
        }
    }

    #[test]
    fn apply_chowns_as_root_and_records_owners_otherwise() {
        let (_dir, snapshotter) = store();
        let applied = snapshotter.apply(&rich_layer()[..], None).unwrap();
        let layer = snapshotter.store().load_layer(&applied.id).unwrap();
        let profile = LayerPath::from_archive(b"home/user/.profile").unwrap();
        let on_disk = fs_err::metadata(disk_path(&layer.fs, &profile)).unwrap();
        let record = layer.entries.record(&profile).cloned().unwrap_or_default();
        if is_root() {
            assert_eq!((on_disk.uid(), on_disk.gid()), (1000, 1000));
            assert_eq!((record.uid, record.gid), (None, None));
        } else {
            assert_eq!(on_disk.uid(), nix::unistd::geteuid().as_raw());
            assert_eq!((record.uid, record.gid), (Some(1000), Some(1000)));
            // Unreadable and unwritable modes are kept in metadata only.
            let nobody = LayerPath::from_archive(b"nobody").unwrap();
            let mode = fs_err::metadata(disk_path(&layer.fs, &nobody))
                .unwrap()
                .permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
            assert_eq!(layer.entries.record(&nobody).unwrap().mode, Some(0));
        }
        let view = snapshotter.view(&applied.id).unwrap();
        let null = view.metadata(Path::new("/dev/null")).unwrap().unwrap();
        assert_eq!(null.kind, EntryKind::Char);
        assert_eq!(null.device, Some(crate::Device { major: 1, minor: 3 }));
        let nobody = view.metadata(Path::new("/nobody")).unwrap().unwrap();
        assert_eq!((nobody.uid, nobody.gid, nobody.mode), (65534, 65534, 0));
        let ping = view.metadata(Path::new("/ping")).unwrap().unwrap();
        assert_eq!(
            ping.xattrs.get("security.capability").map(Vec::len),
            Some(8)
        );
    }

    #[test]
    fn apply_keeps_hard_links() {
        let (_dir, snapshotter) = store();
        let applied = snapshotter.apply(&rich_layer()[..], None).unwrap();
        let layer = snapshotter.store().load_layer(&applied.id).unwrap();
        let inode = |name: &str| fs_err::metadata(layer.fs.join(name)).unwrap().ino();
        assert_eq!(inode("bin/su"), inode("bin/sudo-link"));
    }

    #[test]
    fn apply_reads_pax_long_names_and_times() {
        let (_dir, snapshotter) = store();
        let long = format!("deep/{}/file", "d".repeat(200));
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_pax_extensions([
                ("path", long.as_bytes()),
                ("mtime", b"1234567890.75".as_slice()),
            ])
            .unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_path("short").unwrap();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1);
        header.set_cksum();
        builder.append(&header, &b"pax"[..]).unwrap();
        let applied = snapshotter
            .apply(&builder.into_inner().unwrap()[..], None)
            .unwrap();
        let view = snapshotter.view(&applied.id).unwrap();
        let stat = view.metadata(Path::new(&long)).unwrap().unwrap();
        assert_eq!((stat.size, stat.mtime), (3, 1_234_567_890));
        assert!(view.metadata(Path::new("short")).unwrap().is_none());
    }

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

    #[test]
    fn apply_refuses_a_truncated_tar_and_leaves_nothing() {
        let (dir, snapshotter) = store();
        let tar = rich_layer();
        let error = snapshotter.apply(&tar[..1500], None).unwrap_err();
        assert!(
            matches!(error, Error::ReadLayer { .. } | Error::ExtractEntry { .. }),
            "{error:?}"
        );
        assert_eq!(tree(&dir.path().join("store")), ["snapshots", "staging"]);
    }

    #[test]
    fn apply_records_whiteouts_and_opaque_dirs() {
        let (_dir, snapshotter) = store();
        let tar = LayerTar::new()
            .dir("etc", ROOT_DIR)
            .marker("etc/.wh.motd")
            .marker("var/cache/.wh..wh..opq")
            .finish();
        let applied = snapshotter.apply(&tar[..], None).unwrap();
        let layer = snapshotter.store().load_layer(&applied.id).unwrap();
        let path = |text: &str| LayerPath::from_archive(text.as_bytes()).unwrap();
        assert!(layer.entries.whiteouts.contains(&path("etc/motd")));
        assert!(layer.entries.opaque.contains(&path("var/cache")));
        assert!(layer.entries.is_implicit(&path("var")));
        // Markers are metadata, never files.
        assert_eq!(tree(&layer.fs), ["etc", "var", "var/cache"]);
    }

    #[test]
    fn apply_needs_an_existing_parent() {
        let (_dir, snapshotter) = store();
        let missing: SnapshotId = "0123456789abcdef0123456789abcdef".parse().unwrap();
        let error = snapshotter
            .apply(&LayerTar::new().finish()[..], Some(&missing))
            .unwrap_err();
        assert!(matches!(error, Error::FindSnapshot { .. }), "{error:?}");
    }
}
