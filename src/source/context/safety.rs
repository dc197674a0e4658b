//! Opening a context file so that no symlink can lead the open outside the
//! context: no component of the path is followed if it is a symlink, and no
//! `..` climbs above the root. This holds even if the context changes
//! between the scan and the open (a directory swapped for a symlink makes
//! the open fail, never escape).
//!
//! Linux 5.6+ does it in one `openat2` call (`RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS`); where that call is missing or refused by a seccomp
//! filter, each component is opened in turn with `O_NOFOLLOW`. Deciding
//! which symlinks a COPY source may go through is left to [`super::select`].

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::error::ContextError;
use crate::frontend::path::clean;

/// An open context directory that files are opened beneath.
#[derive(Debug)]
pub struct ContextRoot {
    path: PathBuf,
    fd: OwnedFd,
}

impl ContextRoot {
    /// Opens the context directory `path` (itself resolved normally).
    pub fn open(path: &Path) -> Result<Self, ContextError> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| ContextError::OpenContextRoot {
            path: path.to_owned(),
            source: errno.into(),
        })?;
        Ok(Self {
            path: path.to_owned(),
            fd,
        })
    }

    /// The context directory as given to [`Self::open`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `relative` (slash-separated; cleaned, with `..` stopping at the
    /// root, so `../x` and `/x` mean `x`) for reading, following no symlink
    /// in any component. A path that is, or goes through, a symlink fails.
    /// `""` or `.` opens the root itself.
    pub fn open_file(&self, relative: &str) -> Result<fs_err::File, ContextError> {
        let cleaned = clean_relative(relative);
        let fd = open_beneath(&self.fd, &cleaned).map_err(|errno| ContextError::OpenInContext {
            root: self.path.clone(),
            path: cleaned.clone(),
            source: errno.into(),
        })?;
        Ok(into_file(fd, self.path.join(&cleaned)))
    }
}

/// Opens `relative` below the context directory `root` without following a
/// symlink in any component; see [`ContextRoot::open_file`]. To open many
/// files, open the [`ContextRoot`] once instead.
pub fn open_in_context(root: &Path, relative: &str) -> Result<fs_err::File, ContextError> {
    ContextRoot::open(root)?.open_file(relative)
}

/// `relative` cleaned as a path below the root: `""` for the root itself.
pub(super) fn clean_relative(relative: &str) -> String {
    let rooted = clean(&format!("/{relative}"));
    rooted.trim_start_matches('/').to_owned()
}

#[expect(
    clippy::disallowed_types,
    reason = "fs_err::File is built from the std file the descriptor becomes"
)]
fn into_file(fd: OwnedFd, path: PathBuf) -> fs_err::File {
    fs_err::File::from_parts(std::fs::File::from(fd), path)
}

/// Flags for the final component: read-only, never a symlink, and never
/// blocking on a FIFO swapped in since the scan.
fn last_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK
}

fn open_beneath(root: &OwnedFd, cleaned: &str) -> Result<OwnedFd, Errno> {
    let path = if cleaned.is_empty() { "." } else { cleaned };
    match rustix::fs::openat2(
        root,
        path,
        last_flags(),
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    ) {
        Err(Errno::NOSYS | Errno::PERM) => open_by_components(root, cleaned),
        other => other,
    }
}

/// The fallback: each directory component opened with `O_NOFOLLOW |
/// O_DIRECTORY` from the one before, then the last with `O_NOFOLLOW`.
fn open_by_components(root: &OwnedFd, cleaned: &str) -> Result<OwnedFd, Errno> {
    let directory = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut current = rustix::fs::openat(root, ".", directory, Mode::empty())?;
    if cleaned.is_empty() {
        return Ok(current);
    }
    let mut components = cleaned.split('/').peekable();
    while let Some(component) = components.next() {
        if component == ".." {
            // `clean_relative` leaves none; refuse rather than climb.
            return Err(Errno::XDEV);
        }
        let flags = if components.peek().is_some() {
            directory
        } else {
            last_flags()
        };
        current = rustix::fs::openat(&current, component, flags, Mode::empty())?;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::os::unix::fs::symlink;

    fn read(file: &mut fs_err::File) -> String {
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        text
    }

    fn context() -> (tempfile::TempDir, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join("sub")).unwrap();
        fs_err::write(dir.path().join("sub/file"), "inside").unwrap();
        fs_err::write(outside.path().join("secret"), "secret").unwrap();
        symlink(outside.path(), dir.path().join("out")).unwrap();
        symlink(outside.path().join("secret"), dir.path().join("secret")).unwrap();
        symlink("sub", dir.path().join("inner")).unwrap();
        (dir, outside)
    }

    #[test]
    fn open_in_context_reads_plain_files_and_clamps_dotdot() {
        let (dir, _outside) = context();
        let mut file = open_in_context(dir.path(), "sub/file").unwrap();
        assert_eq!(read(&mut file), "inside");
        let mut file = open_in_context(dir.path(), "../../sub/./file").unwrap();
        assert_eq!(read(&mut file), "inside");
        assert!(
            open_in_context(dir.path(), "")
                .unwrap()
                .metadata()
                .unwrap()
                .is_dir()
        );
    }

    #[test]
    fn open_in_context_refuses_every_symlink() {
        let (dir, _outside) = context();
        for path in ["out/secret", "secret", "inner/file", "inner"] {
            let error = open_in_context(dir.path(), path).unwrap_err();
            assert!(
                matches!(error, ContextError::OpenInContext { .. }),
                "{path}: {error:?}"
            );
        }
    }

    #[test]
    fn component_fallback_refuses_symlinks_too() {
        let (dir, _outside) = context();
        let root = ContextRoot::open(dir.path()).unwrap();
        assert!(open_by_components(&root.fd, "sub/file").is_ok());
        for path in ["out/secret", "secret", "inner/file", "inner", "../x"] {
            assert!(open_by_components(&root.fd, path).is_err(), "{path}");
        }
    }
}
