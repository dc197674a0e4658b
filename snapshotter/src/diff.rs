//! Writing one layer (not the chain) as a deterministic tar.
//!
//! The same layer always gives the same bytes:
//!
//! - entries sorted bytewise by path, so parents come before children;
//!   directories end in `/`; no leading `./`;
//! - GNU headers (long names as GNU long-name records), numeric uid/gid from
//!   the layer's metadata or the id-mapped owner on disk, empty user and
//!   group names, no atime or ctime;
//! - mtimes clamped to [`DiffOptions::clamp_mtime`] when set
//!   (`SOURCE_DATE_EPOCH`);
//! - whiteouts as empty `.wh.<name>` files and opaque directories as
//!   `<dir>/.wh..wh..opq` (mode 0, owner 0:0, mtime the clamp or 0);
//! - hard links as link entries to the first name in that order;
//! - extended attributes as PAX `SCHILY.xattr.<name>` records;
//! - parent-only directories with the attributes of the directory below.
//!
//! Compressing the tar is the caller's business.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use crate::apply::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use crate::attrs::{self, disk_path};
use crate::digest::HashingWriter;
use crate::error::{Error, Result};
use crate::path::LayerPath;
use crate::stat::{EntryKind, EntryStat};
use crate::store::Layer;
use crate::view::View;

/// How to write a layer tar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Clamp every mtime to at most this many seconds since the epoch
    /// (`SOURCE_DATE_EPOCH`).
    pub clamp_mtime: Option<i64>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffStats {
    /// `sha256:<hex>` of the uncompressed tar (the layer's diffID).
    pub diff_id: String,
    /// Bytes written.
    pub size: u64,
}

/// One tar entry to write.
enum Item {
    /// A file on disk.
    Disk(Metadata),
    /// A whiteout marker for a path of a lower layer.
    Whiteout,
    /// The opaque marker of a directory.
    Opaque,
}

pub(crate) fn diff(
    layer: &Layer,
    below: &View,
    writer: impl Write,
    options: DiffOptions,
) -> Result<DiffStats> {
    let mut items = Vec::new();
    collect(&layer.fs, &LayerPath::root(), &mut items)?;
    for path in &layer.entries.whiteouts {
        let mut name = WHITEOUT_PREFIX.to_vec();
        name.extend_from_slice(path.file_name());
        items.push((path.parent().join(&name), Item::Whiteout));
    }
    for dir in &layer.entries.opaque {
        items.push((dir.join(OPAQUE_MARKER), Item::Opaque));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));

    let mut builder = tar::Builder::new(HashingWriter::new(writer));
    let mut first_names: HashMap<(u64, u64), LayerPath> = HashMap::new();
    let clamp = |mtime: i64| {
        let mtime = options.clamp_mtime.map_or(mtime, |clamp| mtime.min(clamp));
        u64::try_from(mtime).unwrap_or(0)
    };
    for (path, item) in items {
        let tar_path = Path::new(OsStr::from_bytes(path.as_bytes()));
        let write_error = |source| Error::WriteDiff {
            path: tar_path.to_owned(),
            source,
        };
        let metadata = match item {
            Item::Whiteout | Item::Opaque => {
                let mut header = Header::new_gnu();
                header.set_entry_type(EntryType::Regular);
                header.set_mode(0);
                header.set_uid(0);
                header.set_gid(0);
                header.set_size(0);
                header.set_mtime(
                    options
                        .clamp_mtime
                        .map_or(0, |epoch| u64::try_from(epoch).unwrap_or(0)),
                );
                builder
                    .append_data(&mut header, tar_path, io::empty())
                    .map_err(write_error)?;
                continue;
            }
            Item::Disk(metadata) => metadata,
        };
        let disk = disk_path(&layer.fs, &path);
        let stat = if metadata.is_dir() && layer.entries.is_implicit(&path) {
            below.dir_stat_below(0, &path)?
        } else {
            EntryStat::compose(
                &disk,
                &metadata,
                layer.entries.record(&path),
                &layer.meta.id_map,
            )?
        };
        let mut header = Header::new_gnu();
        header.set_uid(u64::from(stat.uid));
        header.set_gid(u64::from(stat.gid));
        header.set_mode(stat.mode);
        header.set_mtime(clamp(stat.mtime));
        header.set_size(0);
        if !stat.xattrs.is_empty() {
            let keys: Vec<(String, &[u8])> = stat
                .xattrs
                .iter()
                .map(|(name, value)| (format!("SCHILY.xattr.{name}"), value.as_slice()))
                .collect();
            builder
                .append_pax_extensions(keys.iter().map(|(key, value)| (key.as_str(), *value)))
                .map_err(write_error)?;
        }
        match stat.kind {
            EntryKind::File => {
                let inode = (metadata.dev(), metadata.ino());
                if metadata.nlink() > 1 {
                    if let Some(first) = first_names.get(&inode) {
                        header.set_entry_type(EntryType::Link);
                        builder
                            .append_link(&mut header, tar_path, first.to_relative())
                            .map_err(write_error)?;
                        continue;
                    }
                    first_names.insert(inode, path.clone());
                }
                header.set_entry_type(EntryType::Regular);
                header.set_size(stat.size);
                let file = fs_err::File::open(&disk).map_err(|source| Error::OpenFile {
                    path: disk.clone(),
                    source,
                })?;
                builder
                    .append_data(&mut header, tar_path, file)
                    .map_err(write_error)?;
            }
            EntryKind::Dir => {
                header.set_entry_type(EntryType::Directory);
                let mut dir_path = path.as_bytes().to_vec();
                dir_path.push(b'/');
                let dir_path = PathBuf::from(std::ffi::OsString::from_vec(dir_path));
                builder
                    .append_data(&mut header, &dir_path, io::empty())
                    .map_err(write_error)?;
            }
            EntryKind::Symlink => {
                header.set_entry_type(EntryType::Symlink);
                let target = stat.link_target.unwrap_or_default();
                builder
                    .append_link(&mut header, tar_path, &target)
                    .map_err(write_error)?;
            }
            EntryKind::Char | EntryKind::Block | EntryKind::Fifo => {
                header.set_entry_type(match stat.kind {
                    EntryKind::Char => EntryType::Char,
                    EntryKind::Block => EntryType::Block,
                    _ => EntryType::Fifo,
                });
                if let Some(device) = stat.device {
                    let number = |value: u64| {
                        u32::try_from(value).map_err(|_| {
                            write_error(io::Error::other("device number out of range"))
                        })
                    };
                    header
                        .set_device_major(number(device.major)?)
                        .map_err(write_error)?;
                    header
                        .set_device_minor(number(device.minor)?)
                        .map_err(write_error)?;
                }
                builder
                    .append_data(&mut header, tar_path, io::empty())
                    .map_err(write_error)?;
            }
            // Tar has no sockets; like tar(1), leave them out.
            EntryKind::Socket => {}
        }
    }
    let (diff_id, size) = builder
        .into_inner()
        .map_err(|source| Error::WriteDiff {
            path: PathBuf::new(),
            source,
        })?
        .finish();
    Ok(DiffStats { diff_id, size })
}

/// Every entry below `dir` of the layer directory `fs`, not following
/// symlinks.
fn collect(fs: &Path, dir: &LayerPath, items: &mut Vec<(LayerPath, Item)>) -> Result<()> {
    let disk = disk_path(fs, dir);
    let read_dir_error = |source| Error::ReadDir {
        path: disk.clone(),
        source,
    };
    for entry in fs_err::read_dir(&disk).map_err(read_dir_error)? {
        let name = entry.map_err(read_dir_error)?.file_name().into_vec();
        let path = dir.join(&name);
        if name.starts_with(WHITEOUT_PREFIX) {
            return Err(Error::ReservedName {
                path: path.to_absolute(),
            });
        }
        let metadata = attrs::lstat_existing(&disk_path(fs, &path))?;
        let is_dir = metadata.is_dir();
        items.push((path.clone(), Item::Disk(metadata)));
        if is_dir {
            collect(fs, &path, items)?;
        }
    }
    Ok(())
}
