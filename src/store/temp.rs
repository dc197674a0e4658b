//! Scratch space inside the store. Each open [`Store`](super::Store) owns
//! `tmp/<pid>-<nonce>/` and holds an exclusive lock on
//! `tmp/<pid>-<nonce>.lock` for its lifetime; blobs and records are written
//! there and renamed into place (same filesystem, so renames are atomic).
//! Opening a store sweeps the scratch of owners whose lock is free, i.e. of
//! processes that died (SIGKILL included). A lock rather than a pid check
//! decides liveness, so pid reuse and pid namespaces (two CI containers
//! sharing one store) cannot make a live owner look dead. Registration and
//! sweeping both hold `tmp.lock`, so a sweep never sees an owner between
//! creating its lock file and locking it.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};

use super::error::{Error, Result};
use super::lock::{lock_path, lock_path_blocking};

/// One open store's scratch directory and the lock that says it is alive.
pub(super) struct TempOwner {
    dir: PathBuf,
    lock_path: PathBuf,
    counter: AtomicU64,
    lock: Option<Flock<OwnedFd>>,
}

/// Distinguishes owners opened by one process.
static OWNERS: AtomicU64 = AtomicU64::new(0);

impl TempOwner {
    /// Creates this owner's directory under `tmp`, holding `guard` (the
    /// `tmp.lock` path) while it does.
    pub(super) fn register(tmp: &Path, guard: &Path) -> Result<Self> {
        let _guard = lock_path_blocking(guard, FlockArg::LockExclusive)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let name = format!(
            "{}-{}-{nanos:08x}",
            std::process::id(),
            OWNERS.fetch_add(1, Ordering::Relaxed)
        );
        let lock_path = tmp.join(format!("{name}.lock"));
        let lock = lock_path_blocking(&lock_path, FlockArg::LockExclusive)?;
        let dir = tmp.join(&name);
        fs_err::create_dir(&dir).map_err(|source| Error::CreateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            lock_path,
            counter: AtomicU64::new(0),
            lock: Some(lock),
        })
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh, unique path in this owner's directory (not yet created).
    pub(super) fn fresh_path(&self, purpose: &str) -> PathBuf {
        let number = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{purpose}-{number}"))
    }

    /// Creates a new file at a fresh path for writing.
    pub(super) fn create_file(&self, purpose: &str) -> Result<(PathBuf, fs_err::File)> {
        let path = self.fresh_path(purpose);
        let file = fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| Error::CreateTemp {
                path: path.clone(),
                source,
            })?;
        Ok((path, file))
    }
}

impl Drop for TempOwner {
    fn drop(&mut self) {
        if let Err(error) = fs_err::remove_dir_all(&self.dir) {
            tracing::debug!("leaving scratch for the next sweep: {error}");
        }
        let _ = fs_err::remove_file(&self.lock_path);
        drop(self.lock.take());
    }
}

/// What a sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Swept {
    pub(super) owners: usize,
}

/// Removes the scratch of every owner that is no longer alive, holding
/// `guard` (the `tmp.lock` path) while it looks.
pub(super) fn sweep(tmp: &Path, guard: &Path) -> Result<Swept> {
    let _guard = lock_path_blocking(guard, FlockArg::LockExclusive)?;
    let scan = |source| Error::ScanStore {
        path: tmp.to_owned(),
        source,
    };
    let mut swept = Swept::default();
    let mut live = Vec::new();
    let mut dirs = Vec::new();
    for entry in fs_err::read_dir(tmp).map_err(scan)? {
        let path = entry.map_err(scan)?.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "lock")
        {
            // A free lock means its owner is gone.
            match lock_path(&path, FlockArg::LockExclusiveNonblock)? {
                Some(lock) => {
                    let dir = path.with_extension("");
                    remove_all(&dir)?;
                    remove_all(&path)?;
                    drop(lock);
                    swept.owners += 1;
                }
                None => live.push(path.with_extension("")),
            }
        } else {
            dirs.push(path);
        }
    }
    // Anything left without a live owner's lock (a crash mid-drop, stray files).
    for path in dirs {
        if !live.contains(&path) && path.exists() {
            remove_all(&path)?;
        }
    }
    Ok(swept)
}

/// Removes a file or a directory tree; a missing one is fine.
pub(super) fn remove_all(path: &Path) -> Result<()> {
    let result = match fs_err::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => fs_err::remove_dir_all(path),
        Ok(_) => fs_err::remove_file(path),
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::RemoveEntry {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_keeps_live_owners_and_removes_dead_ones() {
        let dir = tempfile::tempdir().unwrap();
        let guard = dir.path().join("tmp.lock");
        let tmp = dir.path().join("tmp");
        fs_err::create_dir(&tmp).unwrap();
        let live = TempOwner::register(&tmp, &guard).unwrap();
        let (live_file, _) = live.create_file("blob").unwrap();
        // A dead owner: its lock file exists but nobody holds it.
        fs_err::write(tmp.join("999999-0-0.lock"), "").unwrap();
        fs_err::create_dir(tmp.join("999999-0-0")).unwrap();
        fs_err::write(tmp.join("999999-0-0/blob-0"), "half a blob").unwrap();
        // A stray directory with no lock at all.
        fs_err::create_dir(tmp.join("stray")).unwrap();

        let swept = sweep(&tmp, &guard).unwrap();
        assert_eq!(swept.owners, 1);
        assert!(live_file.exists());
        assert!(!tmp.join("999999-0-0").exists());
        assert!(!tmp.join("999999-0-0.lock").exists());
        assert!(!tmp.join("stray").exists());

        let live_dir = live.dir().to_owned();
        drop(live);
        assert!(!live_dir.exists());
        assert_eq!(fs_err::read_dir(&tmp).unwrap().count(), 0);
    }
}
