//! Reading and writing one file's attributes on disk, never through a
//! symbolic link.
//!
//! [`probe`] walks a path inside a layer directory one component at a time
//! with `lstat`, so no symlink inside a layer ever leads a read or write
//! out of it. The `set_*` helpers try the real change (a rootless process
//! may be refused a chown) and leave recording what the disk could not hold
//! to their callers (`entries`).

use std::ffi::OsStr;
use std::fs::{Metadata, Permissions};
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;

use crate::error::{Error, Result};
use crate::idmap::IdMap;
use crate::path::LayerPath;

/// What a layer directory holds at a path.
#[derive(Debug)]
pub(crate) enum Probe {
    /// The path exists; its `lstat`.
    Found(Metadata),
    /// Nothing there; lower layers may have it.
    Missing,
    /// A proper ancestor is not a directory in this layer (a file or a
    /// symlink), which hides the path in every lower layer too.
    Blocked(LayerPath),
}

/// Looks `path` up inside the layer directory `fs` without following any
/// symbolic link.
pub(crate) fn probe(fs: &Path, path: &LayerPath) -> Result<Probe> {
    let mut current = fs.to_path_buf();
    let mut walked = LayerPath::root();
    let components: Vec<&[u8]> = path.components().collect();
    for (index, component) in components.iter().enumerate() {
        current.push(OsStr::from_bytes(component));
        walked = walked.join(component);
        let Some(metadata) = lstat(&current)? else {
            return Ok(Probe::Missing);
        };
        if index + 1 == components.len() {
            return Ok(Probe::Found(metadata));
        }
        if !metadata.is_dir() {
            return Ok(Probe::Blocked(walked));
        }
    }
    Ok(lstat(fs)?.map_or(Probe::Missing, Probe::Found))
}

/// `lstat`, with a missing file as `None`.
pub(crate) fn lstat(path: &Path) -> Result<Option<Metadata>> {
    match fs_err::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) if error.kind() == io::ErrorKind::NotADirectory => Ok(None),
        Err(source) => Err(Error::StatEntry {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `lstat` of a path that must exist.
pub(crate) fn lstat_existing(path: &Path) -> Result<Metadata> {
    fs_err::symlink_metadata(path).map_err(|source| Error::StatEntry {
        path: path.to_owned(),
        source,
    })
}

fn set_attributes_error(path: &Path, source: io::Error) -> Error {
    Error::SetAttributes {
        path: path.to_owned(),
        source,
    }
}

/// Gives `disk` the image owner `uid:gid` where the map and the kernel allow
/// it; a refused chown is not an error (the caller records an override).
pub(crate) fn chown_mapped(disk: &Path, uid: u32, gid: u32, id_map: &IdMap) -> Result<()> {
    let host_uid = id_map.host_uid(uid);
    let host_gid = id_map.host_gid(gid);
    if host_uid.is_none() && host_gid.is_none() {
        return Ok(());
    }
    match std::os::unix::fs::lchown(disk, host_uid, host_gid) {
        Ok(()) => Ok(()),
        Err(error)
            if matches!(
                error.raw_os_error().map(Errno::from_raw),
                Some(Errno::EPERM | Errno::EINVAL)
            ) =>
        {
            Ok(())
        }
        Err(source) => Err(set_attributes_error(disk, source)),
    }
}

/// The mode written on disk for an image mode: exact when privileged,
/// otherwise with the owner bits the writer needs to read back and remove
/// what it wrote.
pub(crate) fn disk_mode(mode: u32, is_dir: bool, exact: bool) -> u32 {
    match (exact, is_dir) {
        (true, _) => mode,
        (false, true) => mode | 0o700,
        (false, false) => mode | 0o600,
    }
}

/// Sets the permission bits of a non-symlink.
pub(crate) fn chmod(disk: &Path, mode: u32) -> Result<()> {
    fs_err::set_permissions(disk, Permissions::from_mode(mode))
        .map_err(|source| set_attributes_error(disk, source))
}

/// Sets access and modification time without following a final symlink.
/// Returns `false` when the kernel refuses (the caller records an override).
pub(crate) fn set_mtime(disk: &Path, mtime: i64) -> Result<bool> {
    let time = TimeSpec::new(mtime, 0);
    match utimensat(
        nix::fcntl::AT_FDCWD,
        disk,
        &time,
        &time,
        UtimensatFlags::NoFollowSymlink,
    ) {
        Ok(()) => Ok(true),
        Err(Errno::EPERM | Errno::EACCES) => Ok(false),
        Err(errno) => Err(set_attributes_error(disk, errno.into())),
    }
}

/// The image's permission bits of a file on disk.
pub(crate) fn permission_bits(metadata: &Metadata) -> u32 {
    metadata.mode() & 0o7777
}

/// Removes whatever is at `disk` (a directory with its content).
pub(crate) fn remove_any(disk: &Path, metadata: &Metadata) -> Result<()> {
    let result = if metadata.is_dir() {
        fs_err::remove_dir_all(disk)
    } else {
        fs_err::remove_file(disk)
    };
    result.map_err(|source| Error::RemovePath {
        path: disk.to_owned(),
        source,
    })
}

/// `fs` joined with `path`.
pub(crate) fn disk_path(fs: &Path, path: &LayerPath) -> PathBuf {
    fs.join(path.to_relative())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_never_walks_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs_err::write(outside.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        fs_err::create_dir(dir.path().join("d")).unwrap();
        fs_err::write(dir.path().join("d/f"), "y").unwrap();

        let path = |text: &str| LayerPath::from_archive(text.as_bytes()).unwrap();
        assert!(matches!(
            probe(dir.path(), &path("link/secret")).unwrap(),
            Probe::Blocked(blocker) if blocker == path("link")
        ));
        assert!(
            matches!(probe(dir.path(), &path("link")).unwrap(), Probe::Found(m) if m.is_symlink())
        );
        assert!(matches!(probe(dir.path(), &path("d/f")).unwrap(), Probe::Found(m) if m.is_file()));
        assert!(matches!(
            probe(dir.path(), &path("d/f/g")).unwrap(),
            Probe::Blocked(_)
        ));
        assert!(matches!(
            probe(dir.path(), &path("d/none")).unwrap(),
            Probe::Missing
        ));
        assert!(
            matches!(probe(dir.path(), &LayerPath::root()).unwrap(), Probe::Found(m) if m.is_dir())
        );
    }

    #[test]
    fn unprivileged_disk_modes_keep_owner_access() {
        assert_eq!(disk_mode(0o000, false, false), 0o600);
        assert_eq!(disk_mode(0o555, true, false), 0o755);
        assert_eq!(disk_mode(0o4511, false, true), 0o4511);
    }
}
