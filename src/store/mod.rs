//! The persistent store: one directory holding blobs by digest, the cache
//! index (cache key → result record), named references, scratch space, and
//! areas other owners keep inside it (snapshots, cache mounts, the context
//! checksum cache). It owns the on-disk layout, locking, atomic writes, size
//! accounting and eviction; what a record means, and what lives inside the
//! areas it hands out with [`Store::dir`], belong to the solver, the
//! snapshotter and the sources.
//!
//! Layout (format version 1):
//!
//! ```text
//! <root>/version              "1"
//! <root>/store.lock           flock: shared while in use, exclusive for prune
//! <root>/tmp.lock             guards scratch registration and sweeping
//! <root>/blobs/sha256/<hex>   content, named by its digest
//! <root>/index/<hex>.json     {"blobs": [digests], "record": …}; mtime = last use
//! <root>/refs/<ns>/<hex>.json {"name": …, "digest": …}; hex = sha256(name)
//! <root>/locks/<hex>.lock     per-cache-key locks
//! <root>/tmp/<pid>-<n>-<t>/   one open store's scratch (+ `.lock` beside it)
//! <root>/<kind>/              areas for other owners (`snapshots`, …)
//! ```
//!
//! Several processes may use one store at once. Everything is written to
//! scratch, fsynced, and renamed into place, so a reader sees a whole entry
//! or none; a process killed at any point leaves only scratch, which the
//! next open sweeps. (Directories are not fsynced after a rename: after a
//! power loss an entry may be missing, which is a cache miss, never torn.)
//!
//! ```no_run
//! use xb::graph::Digest;
//! use xb::store::Store;
//!
//! let store = Store::open("/tmp/xb-store")?;
//! let (digest, _size) = store.write_blob(None, &b"layer bytes"[..])?;
//! let key = Digest::of(b"a cache key");
//! let _lock = store.lock_key(&key)?;
//! if store.get_record::<String>(&key)?.is_none() {
//!     store.put_record(&key, &"result".to_owned(), &[digest])?;
//! }
//! # Ok::<(), xb::store::Error>(())
//! ```

mod blobs;
mod error;
mod index;
mod lock;
mod prune;
pub mod size;
mod temp;
mod usage;

use std::io;
use std::path::{Path, PathBuf};

pub use blobs::{BlobReader, BlobWriter};
pub use error::{Error, Result};
pub use lock::KeyLock;
pub use prune::{PruneOptions, PruneReport, default_cap};
pub use usage::{EntryKind, KindUsage, Usage, UsageEntry, measure_area};

use crate::graph::Digest;
use lock::StoreLock;
use temp::TempOwner;

/// The on-disk format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

const BLOBS: &str = "blobs";
const INDEX: &str = "index";
const REFS: &str = "refs";
const LOCKS: &str = "locks";
const TMP: &str = "tmp";
/// Names at the top of the store that [`Store::dir`] may not hand out.
const RESERVED: &[&str] = &[BLOBS, INDEX, REFS, LOCKS, TMP];

/// An open store. Holds the store lock shared until dropped.
pub struct Store {
    root: PathBuf,
    lock: StoreLock,
    owner: TempOwner,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// The default store directory: `$XDG_DATA_HOME/xb`, else
/// `~/.local/share/xb`; `None` when neither variable is set.
pub fn default_root() -> Option<PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|value| !value.is_empty());
    non_empty("XDG_DATA_HOME")
        .map(|data| PathBuf::from(data).join("xb"))
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".local/share/xb")))
}

impl Store {
    /// Opens the store at `root`, creating it if needed. Waits while another
    /// process prunes it, and sweeps scratch left by dead processes.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        create_dir(&root)?;
        let lock = StoreLock::shared(root.join("store.lock"))?;
        let version_path = root.join("version");
        let has_version = check_version(&root, &version_path)?;
        for dir in [
            root.join(BLOBS).join("sha256"),
            root.join(INDEX),
            root.join(REFS),
            root.join(LOCKS),
            root.join(TMP),
        ] {
            create_dir(&dir)?;
        }
        let guard = root.join("tmp.lock");
        let swept = temp::sweep(&root.join(TMP), &guard)?;
        if swept.owners > 0 {
            tracing::debug!("swept scratch of {} dead xb processes", swept.owners);
        }
        let owner = TempOwner::register(&root.join(TMP), &guard)?;
        let store = Self { root, lock, owner };
        if !has_version {
            store.write_atomic(
                &version_path,
                format!("{FORMAT_VERSION}\n").as_bytes(),
                |path, source| Error::WriteVersion { path, source },
            )?;
        }
        Ok(store)
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// An area of the store for another owner (`snapshots`, `cache-mounts`,
    /// `context`), created if needed. `kind` is lowercase letters, digits and
    /// `-`, and not one of the store's own directories.
    pub fn dir(&self, kind: &str) -> Result<PathBuf> {
        check_name(kind)?;
        if RESERVED.contains(&kind) {
            return Err(Error::ReservedName {
                name: kind.to_owned(),
            });
        }
        let path = self.root.join(kind);
        create_dir(&path)?;
        Ok(path)
    }

    /// Scratch space private to this open store, on the store's filesystem
    /// (so a rename from it into the store is atomic). Removed when the store
    /// is dropped, or by the next open after a crash.
    pub fn temp_dir(&self) -> &Path {
        self.owner.dir()
    }

    /// Holds `key` exclusively until the returned lock drops. Take it after a
    /// missed lookup, then look again: another process may have finished.
    /// Never call [`Store::prune`] while holding one.
    pub fn lock_key(&self, key: &Digest) -> Result<KeyLock> {
        KeyLock::acquire(
            &self.root.join(LOCKS).join(format!("{}.lock", key.hex())),
            *key,
        )
    }

    /// Writes `bytes` to `path` through scratch: fsync, then rename.
    fn write_atomic(
        &self,
        path: &Path,
        bytes: &[u8],
        error: impl Fn(PathBuf, io::Error) -> Error,
    ) -> Result<()> {
        use std::io::Write as _;
        let (temp, mut file) = self.owner.create_file("write")?;
        let result = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| fs_err::rename(&temp, path));
        if let Err(source) = result {
            let _ = fs_err::remove_file(&temp);
            return Err(error(path.to_owned(), source));
        }
        Ok(())
    }
}

fn create_dir(path: &Path) -> Result<()> {
    fs_err::create_dir_all(path).map_err(|source| Error::CreateDir {
        path: path.to_owned(),
        source,
    })
}

/// Names used as directories: `[a-z0-9][a-z0-9-]*`.
fn check_name(name: &str) -> Result<()> {
    let valid = name
        .bytes()
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidName {
            name: name.to_owned(),
        })
    }
}

/// Whether the version file exists (and says [`FORMAT_VERSION`]). A
/// non-empty directory without one is refused, so `--root ~` cannot turn a
/// home directory into a store that prune cleans.
fn check_version(root: &Path, path: &Path) -> Result<bool> {
    match fs_err::read_to_string(path) {
        Ok(text) if text.trim() == FORMAT_VERSION.to_string() => Ok(true),
        Ok(text) => Err(Error::UnsupportedVersion {
            path: path.to_owned(),
            found: text.trim().to_owned(),
            expected: FORMAT_VERSION,
        }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let foreign = fs_err::read_dir(root)
                .map_err(|source| Error::ScanStore {
                    path: root.to_owned(),
                    source,
                })?
                .filter_map(std::result::Result::ok)
                .any(|entry| {
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    !(RESERVED.contains(&name.as_ref()) || name.ends_with(".lock"))
                });
            if foreign {
                // Another xb may have just made this store: its version file
                // lands (by rename) before anything else it puts here.
                if fs_err::read_to_string(path)
                    .is_ok_and(|text| text.trim() == FORMAT_VERSION.to_string())
                {
                    return Ok(true);
                }
                return Err(Error::NotAStore {
                    path: root.to_owned(),
                });
            }
            Ok(false)
        }
        Err(source) => Err(Error::ReadVersion {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_the_layout_and_version() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let store = Store::open(&root).unwrap();
        assert_eq!(fs_err::read_to_string(root.join("version")).unwrap(), "1\n");
        for name in ["blobs/sha256", "index", "refs", "locks", "tmp"] {
            assert!(root.join(name).is_dir(), "{name}");
        }
        assert!(store.temp_dir().starts_with(root.join("tmp")));
        drop(store);
        // Reopening an existing store works, and scratch went with the store.
        let store = Store::open(&root).unwrap();
        assert_eq!(fs_err::read_dir(root.join("tmp")).unwrap().count(), 2);
        drop(store);
    }

    #[test]
    fn open_refuses_other_versions_and_foreign_directories() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("version"), "7\n").unwrap();
        let error = Store::open(dir.path()).unwrap_err();
        assert!(error.to_string().contains("\"7\""), "{error}");

        let home = tempfile::tempdir().unwrap();
        fs_err::write(home.path().join(".bashrc"), "").unwrap();
        let error = Store::open(home.path()).unwrap_err();
        assert!(error.to_string().contains("not an xb store"), "{error}");
        assert!(!home.path().join("blobs").exists());
    }

    #[test]
    fn dir_hands_out_areas_but_not_the_layout() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let snapshots = store.dir("snapshots").unwrap();
        assert_eq!(snapshots, dir.path().join("snapshots"));
        assert!(snapshots.is_dir());
        assert!(matches!(
            store.dir("blobs"),
            Err(Error::ReservedName { .. })
        ));
        assert!(matches!(store.dir("../x"), Err(Error::InvalidName { .. })));
        assert!(matches!(store.dir(""), Err(Error::InvalidName { .. })));
    }

    /// One worker of the concurrency tests: shared and own blobs, shared
    /// keys computed once under their key lock, own records. Each time a
    /// worker computes a shared key it appends a line to `log`.
    fn work(store: &Store, worker: &str, log: &Path) {
        use std::io::Write as _;
        let shared = vec![42u8; 200_000];
        let own = format!("blob of {worker}").repeat(1000);
        for round in 0..20 {
            let (digest, size) = store
                .write_blob(Some(Digest::of(&shared)), &shared[..])
                .unwrap();
            assert_eq!((digest, size), (Digest::of(&shared), 200_000));
            let (own_blob, _) = store.write_blob(None, own.as_bytes()).unwrap();
            let key = Digest::of(format!("shared key {round}").as_bytes());
            let value = if let Some(value) = store.get_record::<String>(&key).unwrap() {
                value
            } else {
                let _lock = store.lock_key(&key).unwrap();
                if let Some(value) = store.get_record::<String>(&key).unwrap() {
                    value
                } else {
                    let mut file = fs_err::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .open(log)
                        .unwrap();
                    writeln!(file, "{key}").unwrap();
                    store
                        .put_record(&key, &worker.to_owned(), &[digest])
                        .unwrap();
                    worker.to_owned()
                }
            };
            assert!(value.starts_with("worker"), "{value}");
            let own_key = Digest::of(format!("{worker} {round}").as_bytes());
            store.put_record(&own_key, &round, &[own_blob]).unwrap();
            assert_eq!(store.get_record::<i32>(&own_key).unwrap(), Some(round));
        }
    }

    /// Run by `concurrent_processes_and_threads_share_one_store` in child
    /// processes (re-running this test binary).
    #[test]
    #[ignore = "a helper the concurrency and crash tests run in a child process"]
    fn helper_process() {
        let root = PathBuf::from(std::env::var_os("XB_STORE_TEST_ROOT").unwrap());
        let worker = std::env::var("XB_STORE_TEST_WORKER").unwrap();
        let store = Store::open(&root).unwrap();
        if worker == "crash" {
            use std::io::Write as _;
            let mut writer = store.blob_writer(None).unwrap();
            writer.write_all(&vec![1u8; 100_000]).unwrap();
            writer.flush().unwrap();
            let (temp, mut file) = store.owner.create_file("write").unwrap();
            file.write_all(br#"{"blobs":[],"#).unwrap();
            fs_err::write(root.join("../ready"), temp.display().to_string()).unwrap();
            std::thread::sleep(std::time::Duration::from_secs(60));
            unreachable!("killed by the parent");
        }
        work(&store, &worker, &root.join("../log"));
    }

    fn helper(root: &Path, worker: &str) -> std::process::Child {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::tests::helper_process",
                "--ignored",
                "--quiet",
            ])
            .env("XB_STORE_TEST_ROOT", root)
            .env("XB_STORE_TEST_WORKER", worker)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Every blob reads back whole and verified, every record parses, and no
    /// scratch is left once every store is closed.
    fn assert_consistent(root: &Path) {
        let store = Store::open(root).unwrap();
        let usage = store.usage().unwrap();
        for entry in &usage.entries {
            match entry.kind {
                EntryKind::Blob => {
                    let digest: Digest = entry.id.parse().unwrap();
                    let mut reader = store.open_blob(&digest).unwrap();
                    io::copy(&mut reader, &mut io::sink()).unwrap();
                }
                EntryKind::Record | EntryKind::Ref => {
                    assert_eq!(entry.blobs.len(), 1, "{}", entry.id);
                }
            }
        }
        let scratch: Vec<_> = fs_err::read_dir(root.join(TMP))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                !path.starts_with(store.temp_dir())
                    && path != &store.temp_dir().with_extension("lock")
            })
            .collect();
        assert!(scratch.is_empty(), "{scratch:?}");
    }

    #[test]
    fn concurrent_processes_and_threads_share_one_store() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let log = dir.path().join("log");
        let children: Vec<_> = (0..4)
            .map(|index| helper(&root, &format!("worker-process-{index}")))
            .collect();
        let store = Store::open(&root).unwrap();
        std::thread::scope(|scope| {
            for index in 0..4 {
                let (store, log) = (&store, &log);
                scope.spawn(move || work(store, &format!("worker-thread-{index}"), log));
            }
        });
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        drop(store);

        // Each shared key was computed exactly once across all eight workers.
        let log = fs_err::read_to_string(&log).unwrap();
        let mut computed: Vec<&str> = log.lines().collect();
        assert_eq!(computed.len(), 20, "{log}");
        computed.sort_unstable();
        computed.dedup();
        assert_eq!(computed.len(), 20, "{log}");
        // 1 shared + 8 own blobs; 20 shared + 8 × 20 own records.
        let usage = Store::open(&root).unwrap().usage().unwrap();
        assert_eq!(usage.by_kind[0].count, 9);
        assert_eq!(usage.by_kind[1].count, 180);
        assert_consistent(&root);
    }

    #[test]
    fn store_killed_mid_write_is_swept_and_usable() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        Store::open(&root)
            .unwrap()
            .write_blob(None, &b"kept"[..])
            .unwrap();
        let mut child = helper(&root, "crash");
        let ready = dir.path().join("ready");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !ready.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the helper never got ready"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let partial = PathBuf::from(fs_err::read_to_string(&ready).unwrap());
        assert!(partial.exists());
        child.kill().unwrap();
        child.wait().unwrap();

        let store = Store::open(&root).unwrap();
        assert!(!partial.exists());
        assert!(!store.has_blob(&Digest::of(&vec![1u8; 100_000])));
        assert!(store.has_blob(&Digest::of(b"kept")));
        assert_eq!(store.usage().unwrap().entries.len(), 1);
        drop(store);
        assert_consistent(&root);
    }
}
