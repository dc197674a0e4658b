//! Copying a merged [`View`] into one plain directory: the native backend's
//! RUN root and the flattened lower directory of deep overlay chains.
//!
//! Each entry gets the image's owner, mode, mtime and xattrs as far as the
//! disk allows (chown through the id map, exact modes only when privileged,
//! devices as empty placeholder files where `mknod` is refused); hard links
//! within a layer stay hard links. What the disk could not hold, and what the
//! disk looked like right after copying, is returned as a [`Manifest`] so the
//! native backend can tell later what a RUN changed. Deciding when to copy is
//! left to `run` and `lower`.

use std::collections::{BTreeMap, HashMap};
use std::fs::Metadata;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use fs_err::os::unix::fs::OpenOptionsExt as _;
use nix::errno::Errno;
use nix::sys::stat::{Mode, SFlag};

use crate::attrs::{self, disk_path};
use crate::entries::Special;
use crate::error::{Error, Result};
use crate::idmap::IdMap;
use crate::path::LayerPath;
use crate::stat::{EntryKind, EntryStat};
use crate::view::View;
use crate::xattrs;

/// What an entry looked like on disk at one moment: enough to tell whether
/// anything touched it since (any change of content or attributes moves
/// `ctime`, which no caller can set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiskState {
    pub(crate) ino: u64,
    /// Birth time where the filesystem records one: with the inode number,
    /// tells a re-created file from the copied one even when the kernel
    /// reuses the inode number.
    pub(crate) birth: Option<std::time::SystemTime>,
    /// `st_mode` with the file type.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) size: u64,
    pub(crate) nlink: u64,
    pub(crate) mtime: (i64, i64),
    pub(crate) ctime: (i64, i64),
}

impl DiskState {
    pub(crate) fn of(metadata: &Metadata) -> Self {
        Self {
            ino: metadata.ino(),
            birth: metadata.created().ok(),
            mode: metadata.mode(),
            uid: metadata.uid(),
            gid: metadata.gid(),
            size: metadata.size(),
            nlink: metadata.nlink(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    /// The file type bits.
    pub(crate) fn file_type(&self) -> u32 {
        self.mode & SFlag::S_IFMT.bits()
    }

    /// Whether `other` is the same file (not one re-created at the same
    /// path), whatever happened to its content and attributes.
    pub(crate) fn same_file(&self, other: &Self) -> bool {
        self.ino == other.ino && self.birth == other.birth && self.file_type() == other.file_type()
    }
}

/// One copied entry.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    /// The copy right after copying.
    pub(crate) disk: DiskState,
    /// What the image says the entry is.
    pub(crate) image: EntryStat,
    /// Image xattrs the disk refused.
    pub(crate) unwritten_xattrs: BTreeMap<String, Vec<u8>>,
    /// The device an empty placeholder file stands for.
    pub(crate) special: Option<Special>,
}

/// Every copied entry by path.
pub(crate) type Manifest = BTreeMap<LayerPath, Written>;

/// Copies `view` into the existing empty directory `dest`.
pub(crate) fn copy_view(
    view: &View,
    dest: &Path,
    id_map: &IdMap,
    privileged: bool,
) -> Result<Manifest> {
    attrs::chmod(dest, 0o755)?;
    let mut copier = Copier {
        view,
        dest,
        id_map,
        privileged,
        links: HashMap::new(),
        copied: BTreeMap::new(),
    };
    copier.copy_dir(&LayerPath::root())?;
    let mut manifest = Manifest::new();
    for (path, (image, unwritten_xattrs, special)) in copier.copied {
        // Only directories made here lie on the way: no symlink to follow.
        let disk = DiskState::of(&attrs::lstat_existing(&disk_path(dest, &path))?);
        manifest.insert(
            path,
            Written {
                disk,
                image,
                unwritten_xattrs,
                special,
            },
        );
    }
    Ok(manifest)
}

type Copied = (EntryStat, BTreeMap<String, Vec<u8>>, Option<Special>);

struct Copier<'a> {
    view: &'a View,
    dest: &'a Path,
    id_map: &'a IdMap,
    privileged: bool,
    /// First copy of each source inode with several names.
    links: HashMap<(u64, u64), PathBuf>,
    copied: BTreeMap<LayerPath, Copied>,
}

fn copy_error(from: &Path, to: &Path) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::CopyEntry {
        from: from.to_owned(),
        to: to.to_owned(),
        source,
    }
}

impl Copier<'_> {
    fn copy_dir(&mut self, dir: &LayerPath) -> Result<()> {
        for name in self.view.list_dir(dir)? {
            let path = dir.join(&name);
            let Some((source, metadata, stat)) = self.view.entry(&path)? else {
                continue;
            };
            let to = disk_path(self.dest, &path);
            let mut special = None;
            match stat.kind {
                EntryKind::Dir => {
                    fs_err::create_dir(&to).map_err(copy_error(&source, &to))?;
                    self.copy_dir(&path)?;
                }
                EntryKind::File => {
                    if metadata.nlink() > 1 {
                        let inode = (metadata.dev(), metadata.ino());
                        if let Some(first) = self.links.get(&inode) {
                            fs_err::hard_link(first, &to).map_err(copy_error(&source, &to))?;
                            self.copied.insert(path, (stat, BTreeMap::new(), None));
                            continue;
                        }
                        self.links.insert(inode, to.clone());
                    }
                    copy_content(&source, &to)?;
                }
                EntryKind::Symlink => {
                    let target = stat.link_target.clone().unwrap_or_default();
                    fs_err::os::unix::fs::symlink(&target, &to)
                        .map_err(copy_error(&source, &to))?;
                }
                EntryKind::Char | EntryKind::Block | EntryKind::Fifo => {
                    special = make_node(&source, &to, &stat)?;
                }
                // Sockets are never part of an image.
                EntryKind::Socket => continue,
            }
            let unwritten = self.settle(&to, &stat)?;
            self.copied.insert(path, (stat, unwritten, special));
        }
        Ok(())
    }

    /// Gives the copy at `to` the image's attributes as far as the disk
    /// allows; returns the xattrs it refused.
    fn settle(&self, to: &Path, stat: &EntryStat) -> Result<BTreeMap<String, Vec<u8>>> {
        attrs::chown_mapped(to, stat.uid, stat.gid, self.id_map)?;
        let mut unwritten = BTreeMap::new();
        if stat.kind == EntryKind::Symlink {
            unwritten.clone_from(&stat.xattrs);
        } else {
            let is_dir = stat.kind == EntryKind::Dir;
            attrs::chmod(to, attrs::disk_mode(stat.mode, is_dir, self.privileged))?;
            for (name, value) in &stat.xattrs {
                if !xattrs::write(to, name, value)? {
                    unwritten.insert(name.clone(), value.clone());
                }
            }
        }
        attrs::set_mtime(to, stat.mtime)?;
        Ok(unwritten)
    }
}

fn copy_content(source: &Path, to: &Path) -> Result<()> {
    let mut from = fs_err::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(source)
        .map_err(|error| Error::OpenFile {
            path: source.to_owned(),
            source: error,
        })?;
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(to)
        .map_err(copy_error(source, to))?;
    io::copy(&mut from, &mut file).map_err(copy_error(source, to))?;
    Ok(())
}

/// Makes the device or fifo `stat` describes; an empty placeholder file
/// (returned as the device it stands for) where `mknod` is refused.
fn make_node(source: &Path, to: &Path, stat: &EntryStat) -> Result<Option<Special>> {
    let device = stat
        .device
        .map_or((0, 0), |device| (device.major, device.minor));
    let (kind, special) = match stat.kind {
        EntryKind::Char => (
            SFlag::S_IFCHR,
            Special::Char {
                major: device.0,
                minor: device.1,
            },
        ),
        EntryKind::Block => (
            SFlag::S_IFBLK,
            Special::Block {
                major: device.0,
                minor: device.1,
            },
        ),
        _ => (SFlag::S_IFIFO, Special::Fifo),
    };
    let mode = Mode::from_bits_truncate(0o600);
    let rdev = nix::sys::stat::makedev(device.0, device.1);
    match nix::sys::stat::mknod(to, kind, mode, rdev) {
        Ok(()) => Ok(None),
        Err(Errno::EPERM | Errno::EACCES) => {
            fs_err::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(to)
                .map_err(copy_error(source, to))?;
            Ok(Some(special))
        }
        Err(errno) => Err(copy_error(source, to)(errno.into())),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileTypeExt as _;

    use super::*;
    use crate::testutil::{Attrs, LayerTar, ROOT_DIR, ROOT_FILE, is_root, store};

    #[test]
    fn copy_view_gives_the_merged_tree_with_attributes_and_links() {
        let (dir, snapshotter) = store();
        let base = LayerTar::new()
            .dir("etc", ROOT_DIR)
            .file("etc/gone", b"x", ROOT_FILE)
            .file(
                "etc/a",
                b"a",
                Attrs {
                    uid: 7,
                    gid: 8,
                    mode: 0o640,
                    mtime: 5,
                },
            )
            .hardlink("etc/a-link", "etc/a", ROOT_FILE)
            .device("null", tar::EntryType::Char, 1, 3)
            .symlink("lib", "usr/lib", ROOT_FILE)
            .finish();
        let base = snapshotter.apply(&base[..], None).unwrap();
        let top = LayerTar::new()
            .dir("etc", ROOT_DIR)
            .marker("etc/.wh.gone")
            .file("etc/b", b"b", ROOT_FILE)
            .finish();
        let top = snapshotter.apply(&top[..], Some(&base.id)).unwrap();
        let view = snapshotter.view(&top.id).unwrap();
        let dest = dir.path().join("copy");
        fs_err::create_dir(&dest).unwrap();
        let manifest = copy_view(&view, &dest, snapshotter.id_map(), is_root()).unwrap();

        let names: Vec<String> = manifest.keys().map(LayerPath::display).collect();
        assert_eq!(
            names,
            ["etc", "etc/a", "etc/a-link", "etc/b", "lib", "null"]
        );
        assert_eq!(fs_err::read_to_string(dest.join("etc/a")).unwrap(), "a");
        let a = fs_err::metadata(dest.join("etc/a")).unwrap();
        let link = fs_err::metadata(dest.join("etc/a-link")).unwrap();
        assert_eq!(a.ino(), link.ino());
        assert_eq!(a.mtime(), 5);
        assert_eq!(
            fs_err::read_link(dest.join("lib")).unwrap(),
            Path::new("usr/lib")
        );
        if is_root() {
            assert_eq!((a.uid(), a.gid(), a.mode() & 0o7777), (7, 8, 0o640));
            assert!(
                fs_err::symlink_metadata(dest.join("null"))
                    .unwrap()
                    .file_type()
                    .is_char_device()
            );
        }
        let null = manifest
            .get(&LayerPath::from_archive(b"null").unwrap())
            .unwrap();
        assert_eq!(null.image.kind, EntryKind::Char);
        assert_eq!(null.special.is_some(), !is_root());
    }
}
