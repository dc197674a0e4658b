//! Turning an overlay upper directory, after the RUN, into a layer's files
//! and metadata.
//!
//! Overlay (mounted with `userxattr`) leaves its own marks in the upper
//! directory: whiteouts as character devices 0/0 (or files carrying
//! `user.overlay.whiteout`), opaque directories as `user.overlay.opaque=y`
//! (`trusted.overlay.opaque` without `userxattr`), and bookkeeping such as
//! `user.overlay.origin` and `impure`. Whiteouts become the layer's
//! whiteouts and leave the disk, opaque markers become opaque directories,
//! and every overlay xattr is removed. Other xattrs go to the metadata (and
//! stay on disk). Owners and modes come from the disk through the id map;
//! for an entry copied up from below, an owner or mode the RUN did not
//! change keeps the image's value (see `record`).

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::os::unix::ffi::OsStringExt as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::Path;

use crate::attrs::{self, disk_path};
use crate::entries::LayerEntries;
use crate::error::{Error, Result};
use crate::idmap::IdMap;
use crate::path::LayerPath;
use crate::record::{Before, record_of, same_kind, special_of};
use crate::view::View;
use crate::xattrs::{self, OVERLAY_OPAQUE, OVERLAY_OPAQUE_TRUSTED, OVERLAY_WHITEOUT};

/// One entry of the upper directory as found.
struct Found {
    path: LayerPath,
    metadata: Metadata,
    xattrs: BTreeMap<String, Vec<u8>>,
}

/// Converts `upper` in place and returns its metadata; `lower` is the chain
/// it was mounted over.
pub(crate) fn commit_upper(upper: &Path, lower: &View, id_map: &IdMap) -> Result<LayerEntries> {
    strip_overlay_xattrs(upper, &xattrs::read_all(upper)?)?;
    let mut found = Vec::new();
    walk(upper, &LayerPath::root(), &mut found)?;
    let origins_in_use = found.iter().any(|entry| {
        entry
            .xattrs
            .keys()
            .any(|name| xattrs::is_overlay(name) && name.ends_with(".origin"))
    });

    let mut entries = LayerEntries::default();
    let mut touched_dirs = BTreeMap::new();
    for entry in found {
        let disk = disk_path(upper, &entry.path);
        let metadata = &entry.metadata;
        let is_whiteout = (metadata.file_type().is_char_device() && metadata.rdev() == 0)
            || (metadata.is_file() && entry.xattrs.contains_key(OVERLAY_WHITEOUT));
        let below = lower.entry(&entry.path)?;
        if is_whiteout {
            let parent = entry.path.parent();
            if !parent.is_root() {
                let parent_disk = disk_path(upper, &parent);
                let mtime = attrs::lstat_existing(&parent_disk)?.mtime();
                touched_dirs.entry(parent_disk).or_insert(mtime);
            }
            attrs::remove_any(&disk, metadata)?;
            if below.is_some() {
                entries.whiteouts.insert(entry.path);
            }
            continue;
        }
        let opaque = metadata.is_dir()
            && [OVERLAY_OPAQUE, OVERLAY_OPAQUE_TRUSTED]
                .iter()
                .any(|name| entry.xattrs.get(*name).is_some_and(|value| value == b"y"));
        let copied_up = entry
            .xattrs
            .keys()
            .any(|name| xattrs::is_overlay(name) && name.ends_with(".origin"));
        strip_overlay_xattrs(&disk, &entry.xattrs)?;
        let image_xattrs: BTreeMap<String, Vec<u8>> = entry
            .xattrs
            .into_iter()
            .filter(|(name, _)| !xattrs::is_overlay(name))
            .collect();
        if opaque && below.as_ref().is_some_and(|(_, below, _)| below.is_dir()) {
            entries.opaque.insert(entry.path.clone());
        }
        let mut hidden_xattrs = BTreeMap::new();
        let before = match &below {
            Some((below_disk, below_metadata, image))
                if !opaque
                    && (copied_up || !origins_in_use)
                    && same_kind(metadata, image, below_metadata.is_file()) =>
            {
                let on_disk = xattrs::read_all(below_disk)?;
                hidden_xattrs = image
                    .xattrs
                    .iter()
                    .filter(|(name, _)| !on_disk.contains_key(*name))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect();
                Some((below_metadata, image))
            }
            _ => None,
        };
        let before = before.map(|(below_metadata, image)| Before {
            uid: below_metadata.uid(),
            gid: below_metadata.gid(),
            mode: attrs::permission_bits(below_metadata),
            image,
            special: if below_metadata.is_file() {
                special_of(image)
            } else {
                None
            },
            hidden_xattrs: &hidden_xattrs,
        });
        let record = record_of(metadata, image_xattrs, before.as_ref(), id_map);
        *entries.record_mut(&entry.path) = record;
    }
    // Removing whiteouts touched their directories; the RUN's times stay.
    for (dir, mtime) in touched_dirs {
        attrs::set_mtime(&dir, mtime)?;
    }
    Ok(entries)
}

/// Removes overlay's bookkeeping xattrs (among `found`) from `disk`.
fn strip_overlay_xattrs(disk: &Path, found: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    for name in found.keys().filter(|name| xattrs::is_overlay(name)) {
        xattrs::remove(disk, name)?;
    }
    Ok(())
}

/// Every entry below `dir` of `upper`, parents before children, never
/// following a symlink.
fn walk(upper: &Path, dir: &LayerPath, found: &mut Vec<Found>) -> Result<()> {
    let disk = disk_path(upper, dir);
    let read_dir_error = |source| Error::ReadDir {
        path: disk.clone(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs_err::read_dir(&disk).map_err(read_dir_error)? {
        names.push(entry.map_err(read_dir_error)?.file_name().into_vec());
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let entry_disk = disk_path(upper, &path);
        let metadata = attrs::lstat_existing(&entry_disk)?;
        let xattrs = xattrs::read_all(&entry_disk)?;
        let is_dir = metadata.is_dir();
        found.push(Found {
            path: path.clone(),
            metadata,
            xattrs,
        });
        if is_dir {
            walk(upper, &path, found)?;
        }
    }
    Ok(())
}
