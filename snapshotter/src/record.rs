//! The metadata record of an entry a RUN left in a new layer (both
//! backends): owners and modes from the disk through the id map, except
//! what the RUN left as it found it, which keeps the image's value, so
//! overrides the disk could not hold (a rootless caller's owners, device
//! placeholders, xattrs kept only in metadata) survive a modification.
//! Finding which entries changed is `upper`'s and `native`'s business.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt as _;

use crate::attrs;
use crate::entries::{Record, Special};
use crate::idmap::IdMap;
use crate::stat::{EntryKind, EntryStat};

/// What the layers below said about an entry before a RUN touched it: its
/// attributes on disk then and in the image.
pub(crate) struct Before<'a> {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mode: u32,
    pub(crate) image: &'a EntryStat,
    /// The device an empty placeholder file stood for.
    pub(crate) special: Option<Special>,
    /// Image xattrs that were not on disk.
    pub(crate) hidden_xattrs: &'a BTreeMap<String, Vec<u8>>,
}

/// The record of an entry a RUN left at `disk` (its `lstat` is `metadata`,
/// its xattrs on disk `xattrs`): owners and modes come from the disk
/// through `id_map`, except that an owner or mode the RUN left as it was
/// (`before`, for an entry the RUN modified rather than created) keeps the
/// image's value, so overrides the disk could not hold survive.
pub(crate) fn record_of(
    metadata: &Metadata,
    xattrs: BTreeMap<String, Vec<u8>>,
    before: Option<&Before<'_>>,
    id_map: &IdMap,
) -> Record {
    let mut record = Record::default();
    let disk_uid = id_map.container_uid(metadata.uid());
    let disk_gid = id_map.container_gid(metadata.gid());
    let disk_mode = attrs::permission_bits(metadata);
    if let Some(before) = before {
        if metadata.uid() == before.uid && before.image.uid != disk_uid {
            record.uid = Some(before.image.uid);
        }
        if metadata.gid() == before.gid && before.image.gid != disk_gid {
            record.gid = Some(before.image.gid);
        }
        if !metadata.is_symlink() && disk_mode == before.mode && before.image.mode != disk_mode {
            record.mode = Some(before.image.mode);
        }
        if metadata.is_file() && metadata.len() == 0 {
            record.special = before.special;
        }
        record.xattrs.clone_from(before.hidden_xattrs);
    }
    record.xattrs.extend(xattrs);
    record
}

/// Whether `metadata` has the type of the image entry `image`; a device the
/// disk holds as an empty `placeholder` file counts as that file.
pub(crate) fn same_kind(metadata: &Metadata, image: &EntryStat, placeholder: bool) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    let file_type = metadata.file_type();
    match image.kind {
        EntryKind::Dir => file_type.is_dir(),
        EntryKind::Symlink => file_type.is_symlink(),
        EntryKind::File => file_type.is_file(),
        EntryKind::Socket => file_type.is_socket(),
        _ if placeholder => file_type.is_file(),
        EntryKind::Char => file_type.is_char_device(),
        EntryKind::Block => file_type.is_block_device(),
        EntryKind::Fifo => file_type.is_fifo(),
    }
}

/// The device an image entry is, as a placeholder record says it.
pub(crate) fn special_of(image: &EntryStat) -> Option<Special> {
    let device = image
        .device
        .map_or((0, 0), |device| (device.major, device.minor));
    match image.kind {
        EntryKind::Char => Some(Special::Char {
            major: device.0,
            minor: device.1,
        }),
        EntryKind::Block => Some(Special::Block {
            major: device.0,
            minor: device.1,
        }),
        EntryKind::Fifo => Some(Special::Fifo),
        _ => None,
    }
}
