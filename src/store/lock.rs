//! File locks (`flock`): the store lock every process holds shared while it
//! uses the store and prune takes exclusive, and per-cache-key locks so two
//! processes (or threads) computing the same key do not both do the work.
//! Locks belong to an open file, so they also exclude threads of one process
//! that lock through different opens. What each lock protects is decided by
//! the callers in this module's siblings.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::error::{Error, Result};
use crate::graph::Digest;

/// Opens (creating if needed) a lock file.
fn open_lock_file(path: &Path) -> Result<OwnedFd> {
    let file = fs_err::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| Error::OpenLock {
            path: path.to_owned(),
            source,
        })?;
    Ok(OwnedFd::from(file.into_parts().0))
}

/// Locks `path` with `arg`, waiting if the arg blocks; retries on `EINTR`.
/// A non-blocking arg that finds the lock taken returns `Ok(None)`.
pub(super) fn lock_path(path: &Path, arg: FlockArg) -> Result<Option<Flock<OwnedFd>>> {
    let mut fd = open_lock_file(path)?;
    loop {
        match Flock::lock(fd, arg) {
            Ok(lock) => return Ok(Some(lock)),
            Err((_, Errno::EWOULDBLOCK)) => return Ok(None),
            Err((back, Errno::EINTR)) => fd = back,
            Err((_, source)) => {
                return Err(Error::Lock {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
}

/// Locks `path`, waiting as long as it takes.
pub(super) fn lock_path_blocking(path: &Path, arg: FlockArg) -> Result<Flock<OwnedFd>> {
    debug_assert!(matches!(
        arg,
        FlockArg::LockShared | FlockArg::LockExclusive
    ));
    lock_path(path, arg)?.ok_or_else(|| Error::Lock {
        path: path.to_owned(),
        source: Errno::EWOULDBLOCK,
    })
}

/// The lock on the whole store: shared while in use, exclusive while pruning.
pub(super) struct StoreLock {
    lock: Flock<OwnedFd>,
    path: PathBuf,
}

impl StoreLock {
    /// Takes the store lock shared, waiting for a running prune to finish.
    pub(super) fn shared(path: PathBuf) -> Result<Self> {
        let lock = lock_path_blocking(&path, FlockArg::LockShared)?;
        Ok(Self { lock, path })
    }

    /// Converts to exclusive, waiting for every other user of the store to
    /// leave; `false` when `wait` is off and others are using the store.
    /// flock drops the shared lock before converting, so the caller must not
    /// hold anything it read from the store across this call.
    pub(super) fn make_exclusive(&self, wait: bool) -> Result<bool> {
        let arg = if wait {
            FlockArg::LockExclusive
        } else {
            FlockArg::LockExclusiveNonblock
        };
        loop {
            match self.lock.relock(arg) {
                Ok(()) => return Ok(true),
                Err(Errno::EINTR) => {}
                Err(Errno::EWOULDBLOCK) => {
                    // The failed conversion may have dropped our shared lock.
                    self.make_shared()?;
                    return Ok(false);
                }
                Err(source) => {
                    return Err(Error::Lock {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
    }

    /// Converts back to shared.
    pub(super) fn make_shared(&self) -> Result<()> {
        loop {
            match self.lock.relock(FlockArg::LockShared) {
                Ok(()) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(source) => {
                    return Err(Error::Lock {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
    }
}

/// Held while one cache key is being computed; released on drop. A second
/// locker of the same key waits, then finds the first one's record.
#[must_use = "the key is unlocked as soon as this is dropped"]
pub struct KeyLock {
    _lock: Flock<OwnedFd>,
    key: Digest,
}

impl KeyLock {
    pub(super) fn acquire(path: &Path, key: Digest) -> Result<Self> {
        let lock = lock_path_blocking(path, FlockArg::LockExclusive)?;
        Ok(Self { _lock: lock, key })
    }

    /// The key this lock holds.
    pub fn key(&self) -> Digest {
        self.key
    }
}

impl std::fmt::Debug for KeyLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLock")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_lock_excludes_other_opens_in_one_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.lock");
        let held = lock_path_blocking(&path, FlockArg::LockExclusive).unwrap();
        assert!(
            lock_path(&path, FlockArg::LockExclusiveNonblock)
                .unwrap()
                .is_none()
        );
        drop(held);
        assert!(
            lock_path(&path, FlockArg::LockExclusiveNonblock)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn store_lock_upgrades_only_when_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.lock");
        let first = StoreLock::shared(path.clone()).unwrap();
        let second = StoreLock::shared(path.clone()).unwrap();
        assert!(!first.make_exclusive(false).unwrap());
        drop(second);
        assert!(first.make_exclusive(false).unwrap());
        assert!(
            lock_path(&path, FlockArg::LockSharedNonblock)
                .unwrap()
                .is_none()
        );
        first.make_shared().unwrap();
        assert!(
            lock_path(&path, FlockArg::LockSharedNonblock)
                .unwrap()
                .is_some()
        );
    }
}
