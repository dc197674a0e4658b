//! Extended attributes on disk, never through a symbolic link, and the
//! names overlayfs keeps its own bookkeeping under.
//!
//! Layers keep the image's xattrs in their metadata (`entries`); this module
//! only reads what a RUN left on disk and writes overlay's markers into
//! masks. Which attributes matter is the callers' business.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Result};

/// Overlay's opaque-directory marker as an unprivileged (`userxattr`) mount
/// reads and writes it.
pub(crate) const OVERLAY_OPAQUE: &str = "user.overlay.opaque";
/// Overlay's opaque marker as a mount without `userxattr` writes it.
pub(crate) const OVERLAY_OPAQUE_TRUSTED: &str = "trusted.overlay.opaque";
/// A file overlay treats as a whiteout whatever its type.
pub(crate) const OVERLAY_WHITEOUT: &str = "user.overlay.whiteout";
/// The xattr namespaces overlay writes its bookkeeping under.
const OVERLAY_PREFIXES: [&str; 2] = ["user.overlay.", "trusted.overlay."];

/// Whether `name` is overlay's own bookkeeping, never part of an image.
pub(crate) fn is_overlay(name: &str) -> bool {
    OVERLAY_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Errors that mean "this file or filesystem has no such attributes".
fn unsupported(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error().map(Errno::from_raw),
        Some(Errno::ENOTSUP | Errno::ENODATA | Errno::EPERM | Errno::EACCES)
    )
}

/// Every readable extended attribute of `path` (a final symlink not
/// followed), by name; names that are not UTF-8 are left out.
pub(crate) fn read_all(path: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let read_error = |source| Error::ReadXattr {
        path: path.to_owned(),
        source,
    };
    let names = match xattr::list(path) {
        Ok(names) => names,
        Err(error) if unsupported(&error) => return Ok(BTreeMap::new()),
        Err(source) => return Err(read_error(source)),
    };
    let mut out = BTreeMap::new();
    for name in names {
        let Some(text) = name.to_str() else {
            continue;
        };
        match xattr::get(path, &name) {
            Ok(Some(value)) => {
                out.insert(text.to_owned(), value);
            }
            Ok(None) => {}
            Err(error) if unsupported(&error) => {}
            Err(source) => return Err(read_error(source)),
        }
    }
    Ok(out)
}

/// Sets `name` on `path` (a final symlink not followed). Returns `false`
/// when the kernel or filesystem refuses, also for a value it does not
/// accept (a `security.capability` it cannot parse): the caller keeps it
/// elsewhere.
pub(crate) fn write(path: &Path, name: &str, value: &[u8]) -> Result<bool> {
    match xattr::set(path, name, value) {
        Ok(()) => Ok(true),
        Err(error) if unsupported(&error) || error.raw_os_error() == Some(Errno::EINVAL as i32) => {
            Ok(false)
        }
        Err(source) => Err(Error::WriteXattr {
            path: path.to_owned(),
            name: name.to_owned(),
            source,
        }),
    }
}

/// Removes `name` from `path` (a final symlink not followed); a missing
/// attribute is not an error.
pub(crate) fn remove(path: &Path, name: &str) -> Result<()> {
    match xattr::remove(path, name) {
        Ok(()) => Ok(()),
        Err(error) if error.raw_os_error() == Some(Errno::ENODATA as i32) => Ok(()),
        Err(source) => Err(Error::WriteXattr {
            path: path.to_owned(),
            name: name.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xattrs_round_trip_and_overlay_names_are_recognized() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs_err::write(&file, "x").unwrap();
        if !write(&file, "user.test", b"value").unwrap() {
            // tmpfs before 6.6 has no user xattrs.
            eprintln!("skipping: the temp filesystem refuses user xattrs");
            return;
        }
        assert_eq!(
            read_all(&file).unwrap().get("user.test").map(Vec::as_slice),
            Some(&b"value"[..])
        );
        remove(&file, "user.test").unwrap();
        remove(&file, "user.test").unwrap();
        assert!(!read_all(&file).unwrap().contains_key("user.test"));
        assert!(is_overlay("user.overlay.origin"));
        assert!(is_overlay("trusted.overlay.opaque"));
        assert!(!is_overlay("user.overlayfs"));
        assert!(!is_overlay("security.capability"));
    }
}
