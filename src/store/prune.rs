//! Eviction: `xb prune` and the automatic size cap. Records (and, with
//! `all`, references) go least recently used first; a blob goes when nothing
//! that needs it is left, or on its own turn when nothing ever needed it.
//! Pruning holds the store lock exclusively, so no other process is reading
//! or writing meanwhile. The areas other owners keep in the store are theirs
//! to clean; scratch of dead processes is swept here too.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::error::{Error, Result};
use super::temp::{remove_all, sweep};
use super::usage::{EntryKind, UsageEntry, list_dir, scan_entries, totals_by_kind};
use super::{LOCKS, Store, TMP};
use crate::graph::Digest;

/// The cap when the filesystem's size is unknown, and the most the default
/// cap ever is.
const DEFAULT_CAP_MAX: u64 = 10 << 30;

/// What to prune.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneOptions {
    /// Also remove named references (resolved tags) and the blobs only they
    /// keep; without it those survive, as buildx keeps frontend images.
    pub all: bool,
    /// Stop once the store takes at most this many bytes.
    pub keep_storage: Option<u64>,
    /// Only remove what was last used longer ago than this.
    pub until: Option<Duration>,
}

/// What a prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Removed entries, in the order they went.
    pub removed: Vec<UsageEntry>,
    /// Bytes freed.
    pub reclaimed: u64,
    /// The cap was exceeded but other processes were using the store, so
    /// nothing was evicted this time.
    pub skipped: bool,
}

impl PruneReport {
    /// How many entries of `kind` went, and their bytes.
    pub fn removed_of(&self, kind: EntryKind) -> (u64, u64) {
        totals_by_kind(&self.removed)
            .get(&kind)
            .copied()
            .unwrap_or_default()
    }
}

/// The default automatic cap: a fifth of the size of the filesystem holding
/// `root`, but at most 10 GiB. A fifth keeps a cache from crowding out a
/// small CI disk; 10 GiB holds the base images and layers of a typical set
/// of projects without growing without bound on a large one.
pub fn default_cap(root: &Path) -> Result<u64> {
    let stats = nix::sys::statvfs::statvfs(root).map_err(|source| Error::StatFilesystem {
        path: root.to_owned(),
        source,
    })?;
    let total = stats.blocks().saturating_mul(stats.fragment_size());
    Ok((total / 5).min(DEFAULT_CAP_MAX))
}

impl Store {
    /// Removes entries as `options` say, waiting for other processes to stop
    /// using the store first. Call it when this process holds no
    /// [`KeyLock`](super::KeyLock) and reads nothing from the store meanwhile.
    pub fn prune(&self, options: PruneOptions) -> Result<PruneReport> {
        self.lock.make_exclusive(true)?;
        let result = prune_exclusive(&self.root, options, SystemTime::now());
        self.lock.make_shared()?;
        result
    }

    /// [`Store::prune`] if no other process is using the store right now;
    /// `None` (and nothing removed) if one is.
    pub fn try_prune(&self, options: PruneOptions) -> Result<Option<PruneReport>> {
        if !self.lock.make_exclusive(false)? {
            return Ok(None);
        }
        let result = prune_exclusive(&self.root, options, SystemTime::now());
        self.lock.make_shared()?;
        result.map(Some)
    }

    /// Evicts least recently used entries until the store takes at most
    /// `max_bytes` (see [`default_cap`]). It never waits: when other
    /// processes are using the store it does nothing and says so in
    /// [`PruneReport::skipped`]; a later build enforces the cap. Meant for the
    /// end of a build, under the same conditions as [`Store::prune`].
    pub fn enforce_cap(&self, max_bytes: u64) -> Result<PruneReport> {
        let size: u64 = scan_entries(&self.root)?
            .iter()
            .map(|entry| entry.size)
            .sum();
        if size <= max_bytes {
            return Ok(PruneReport::default());
        }
        if !self.lock.make_exclusive(false)? {
            return Ok(PruneReport {
                skipped: true,
                ..PruneReport::default()
            });
        }
        let options = PruneOptions {
            keep_storage: Some(max_bytes),
            ..PruneOptions::default()
        };
        let result = prune_exclusive(&self.root, options, SystemTime::now());
        self.lock.make_shared()?;
        result
    }
}

/// The prune itself; the caller holds the store lock exclusively.
fn prune_exclusive(root: &Path, options: PruneOptions, now: SystemTime) -> Result<PruneReport> {
    let entries = scan_entries(root)?;
    let mut total: u64 = entries.iter().map(|entry| entry.size).sum();
    let cutoff = options
        .until
        .map(|until| now.checked_sub(until).unwrap_or(SystemTime::UNIX_EPOCH));
    let old_enough = |entry: &UsageEntry| cutoff.is_none_or(|cutoff| entry.last_used <= cutoff);
    let mut users: HashMap<Digest, usize> = HashMap::new();
    for entry in &entries {
        for blob in entry.blobs.iter().collect::<HashSet<_>>() {
            *users.entry(*blob).or_default() += 1;
        }
    }
    let blobs: HashMap<String, &UsageEntry> = entries
        .iter()
        .filter(|entry| entry.kind == EntryKind::Blob)
        .map(|entry| (entry.id.clone(), entry))
        .collect();
    let mut gone: HashSet<String> = HashSet::new();
    let mut report = PruneReport::default();
    let remove = |entry: &UsageEntry, total: &mut u64, report: &mut PruneReport| -> Result<()> {
        remove_all(&entry.path)?;
        *total -= entry.size;
        report.reclaimed += entry.size;
        report.removed.push(entry.clone());
        Ok(())
    };
    for entry in &entries {
        if options.keep_storage.is_some_and(|keep| total <= keep) {
            break;
        }
        if gone.contains(&entry.id) || !old_enough(entry) {
            continue;
        }
        match entry.kind {
            EntryKind::Record => {}
            EntryKind::Ref if options.all => {}
            EntryKind::Ref => continue,
            EntryKind::Blob => {
                let unused = entry
                    .id
                    .parse::<Digest>()
                    .is_ok_and(|digest| users.get(&digest).copied().unwrap_or(0) == 0);
                if unused {
                    remove(entry, &mut total, &mut report)?;
                    gone.insert(entry.id.clone());
                }
                continue;
            }
        }
        remove(entry, &mut total, &mut report)?;
        // Blobs whose last user this was go with it.
        for blob in entry.blobs.iter().collect::<HashSet<_>>() {
            let count = users.get_mut(blob).expect("every listed blob is counted");
            *count -= 1;
            let id = blob.to_string();
            if *count == 0 && !gone.contains(&id) {
                if let Some(blob_entry) = blobs.get(&id) {
                    remove(blob_entry, &mut total, &mut report)?;
                    gone.insert(id);
                }
            }
        }
    }
    // Nobody holds a key lock now; stale lock files and dead scratch can go.
    let locks = root.join(LOCKS);
    for name in list_dir(&locks)? {
        remove_all(&locks.join(name))?;
    }
    sweep(&root.join(TMP), &root.join("tmp.lock"))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    /// Sets the last use of a file to `hours` ago.
    fn age(path: &Path, hours: u64) {
        let time = SystemTime::now() - Duration::from_secs(hours * 3600);
        fs_err::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }

    /// A record needing one blob of `size` bytes, last used `hours` ago.
    fn cached(store: &Store, name: &str, size: usize, hours: u64) -> (Digest, Digest) {
        let (blob, _) = store
            .write_blob(None, &vec![name.as_bytes()[0]; size][..])
            .unwrap();
        let key = Digest::of(name.as_bytes());
        store.put_record(&key, &name, &[blob]).unwrap();
        age(&store.blob_path(&blob), hours);
        age(&store.record_path(&key), hours);
        (key, blob)
    }

    fn removed_ids(report: &PruneReport) -> Vec<String> {
        report
            .removed
            .iter()
            .map(|entry| entry.id.clone())
            .collect()
    }

    #[test]
    fn prune_removes_least_recently_used_first_down_to_keep_storage() {
        let (_dir, store) = store();
        let (old_key, old_blob) = cached(&store, "old", 1000, 30);
        let (mid_key, mid_blob) = cached(&store, "mid", 1000, 20);
        let (new_key, new_blob) = cached(&store, "new", 1000, 10);
        // A hit makes `old` the most recently used.
        assert!(store.get_record::<String>(&old_key).unwrap().is_some());

        let report = store
            .prune(PruneOptions {
                keep_storage: Some(2500),
                ..PruneOptions::default()
            })
            .unwrap();
        assert_eq!(
            removed_ids(&report),
            [mid_key.to_string(), mid_blob.to_string()]
        );
        assert!(report.reclaimed > 1000);
        assert!(store.has_blob(&old_blob) && store.has_blob(&new_blob));
        assert!(!store.has_blob(&mid_blob));
        assert!(
            store
                .usage()
                .unwrap()
                .entries
                .iter()
                .map(|e| e.size)
                .sum::<u64>()
                <= 2500
        );
        assert!(store.get_record::<String>(&new_key).unwrap().is_some());
    }

    #[test]
    fn prune_keeps_shared_blobs_until_their_last_user_goes() {
        let (_dir, store) = store();
        let (shared, _) = store.write_blob(None, &[7u8; 100][..]).unwrap();
        let first = Digest::of(b"first");
        let second = Digest::of(b"second");
        store.put_record(&first, &1, &[shared]).unwrap();
        store.put_record(&second, &2, &[shared]).unwrap();
        age(&store.record_path(&first), 5);
        let report = store
            .prune(PruneOptions {
                until: Some(Duration::from_secs(3600)),
                ..PruneOptions::default()
            })
            .unwrap();
        assert_eq!(removed_ids(&report), [first.to_string()]);
        assert!(store.has_blob(&shared));
        assert_eq!(store.get_record::<i32>(&second).unwrap(), Some(2));
    }

    #[test]
    fn prune_without_all_keeps_refs_and_their_blobs() {
        let (_dir, store) = store();
        let (manifest, _) = store.write_blob(None, &b"manifest"[..]).unwrap();
        store
            .set_ref("image-tag", "busybox:latest", &manifest)
            .unwrap();
        let (orphan, _) = store.write_blob(None, &b"orphan"[..]).unwrap();
        cached(&store, "record", 10, 1);

        let report = store.prune(PruneOptions::default()).unwrap();
        assert_eq!(report.removed_of(EntryKind::Record).0, 1);
        assert_eq!(report.removed_of(EntryKind::Blob).0, 2);
        assert!(!store.has_blob(&orphan));
        assert!(store.has_blob(&manifest));
        assert_eq!(
            store.get_ref("image-tag", "busybox:latest").unwrap(),
            Some(manifest)
        );

        let report = store
            .prune(PruneOptions {
                all: true,
                ..PruneOptions::default()
            })
            .unwrap();
        assert_eq!(report.removed.len(), 2);
        assert!(!store.has_blob(&manifest));
        let usage = store.usage().unwrap();
        assert!(usage.entries.is_empty());
    }

    #[test]
    fn prune_until_spares_recent_entries() {
        let (_dir, store) = store();
        let (old_key, old_blob) = cached(&store, "old", 10, 48);
        let (new_key, new_blob) = cached(&store, "new", 10, 1);
        let report = store
            .prune(PruneOptions {
                until: Some(Duration::from_secs(24 * 3600)),
                ..PruneOptions::default()
            })
            .unwrap();
        assert_eq!(
            removed_ids(&report),
            [old_key.to_string(), old_blob.to_string()]
        );
        assert!(store.has_record(&new_key) && store.has_blob(&new_blob));
    }

    #[test]
    fn enforce_cap_evicts_only_when_over_and_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        cached(&store, "a", 1000, 3);
        let (_, b_blob) = cached(&store, "b", 1000, 2);
        assert_eq!(store.enforce_cap(1 << 20).unwrap(), PruneReport::default());

        let other = Store::open(dir.path()).unwrap();
        let report = store.enforce_cap(1500).unwrap();
        assert!(report.skipped);
        assert!(report.removed.is_empty());
        assert_eq!(store.try_prune(PruneOptions::default()).unwrap(), None);
        assert_eq!(store.usage().unwrap().entries.len(), 4);
        drop(other);

        let report = store.enforce_cap(1500).unwrap();
        assert!(!report.skipped);
        assert_eq!(report.removed_of(EntryKind::Record).0, 1);
        assert!(store.has_blob(&b_blob));
        // The store is usable (shared again) afterwards.
        Store::open(dir.path()).unwrap();
    }

    #[test]
    fn default_cap_is_at_most_ten_gib() {
        let dir = tempfile::tempdir().unwrap();
        let cap = default_cap(dir.path()).unwrap();
        assert!(cap > 0 && cap <= 10 << 30, "{cap}");
    }
}
