//! [`EntryStat`]: one entry as the image sees it, composed from the file on
//! disk, the layer's id map and its metadata overrides (see `entries`).

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use crate::entries::{Record, Special};
use crate::error::{Error, Result};
use crate::idmap::IdMap;

/// The type of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file (every name of a hard-linked file is one).
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A character device.
    Char,
    /// A block device.
    Block,
    /// A named pipe.
    Fifo,
    /// A socket (never written to a layer tar).
    Socket,
}

/// A device number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
}

/// One entry of a snapshot as the image sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryStat {
    /// The entry's type.
    pub kind: EntryKind,
    /// Owner inside the image.
    pub uid: u32,
    /// Group inside the image.
    pub gid: u32,
    /// Permission bits with setuid, setgid and sticky (`0o7777` at most).
    pub mode: u32,
    /// Size in bytes of a regular file; 0 otherwise.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// A symlink's target, exactly as stored.
    pub link_target: Option<PathBuf>,
    /// A device's number.
    pub device: Option<Device>,
    /// Extended attributes carried by the layer.
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

impl EntryStat {
    /// A directory made only as a parent, with nothing below it to copy
    /// attributes from: `root:root 0755`, epoch mtime.
    pub(crate) fn default_dir() -> Self {
        Self {
            kind: EntryKind::Dir,
            uid: 0,
            gid: 0,
            mode: 0o755,
            size: 0,
            mtime: 0,
            link_target: None,
            device: None,
            xattrs: BTreeMap::new(),
        }
    }

    /// The stat of the file at `disk`, whose `lstat` is `metadata`.
    pub(crate) fn compose(
        disk: &Path,
        metadata: &Metadata,
        record: Option<&Record>,
        id_map: &IdMap,
    ) -> Result<Self> {
        let file_type = metadata.file_type();
        let device = Device {
            major: nix::sys::stat::major(metadata.rdev()),
            minor: nix::sys::stat::minor(metadata.rdev()),
        };
        let (mut kind, mut device) = if file_type.is_dir() {
            (EntryKind::Dir, None)
        } else if file_type.is_symlink() {
            (EntryKind::Symlink, None)
        } else if file_type.is_char_device() {
            (EntryKind::Char, Some(device))
        } else if file_type.is_block_device() {
            (EntryKind::Block, Some(device))
        } else if file_type.is_fifo() {
            (EntryKind::Fifo, None)
        } else if file_type.is_socket() {
            (EntryKind::Socket, None)
        } else {
            (EntryKind::File, None)
        };
        let mut size = if kind == EntryKind::File {
            metadata.len()
        } else {
            0
        };
        if let Some(special) = record.and_then(|record| record.special) {
            size = 0;
            (kind, device) = match special {
                Special::Char { major, minor } => (EntryKind::Char, Some(Device { major, minor })),
                Special::Block { major, minor } => {
                    (EntryKind::Block, Some(Device { major, minor }))
                }
                Special::Fifo => (EntryKind::Fifo, None),
            };
        }
        let link_target = if kind == EntryKind::Symlink {
            Some(fs_err::read_link(disk).map_err(|source| Error::StatEntry {
                path: disk.to_owned(),
                source,
            })?)
        } else {
            None
        };
        Ok(Self {
            kind,
            uid: record
                .and_then(|record| record.uid)
                .unwrap_or_else(|| id_map.container_uid(metadata.uid())),
            gid: record
                .and_then(|record| record.gid)
                .unwrap_or_else(|| id_map.container_gid(metadata.gid())),
            mode: record
                .and_then(|record| record.mode)
                .unwrap_or_else(|| crate::attrs::permission_bits(metadata)),
            size,
            mtime: record
                .and_then(|record| record.mtime)
                .unwrap_or_else(|| metadata.mtime()),
            link_target,
            device,
            xattrs: record
                .map(|record| record.xattrs.clone())
                .unwrap_or_default(),
        })
    }
}
