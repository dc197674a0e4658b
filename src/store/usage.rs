//! Size accounting for `xb du` and eviction: what each kind of entry takes
//! and, per entry, its size and last use. Blobs, records and references are
//! entries of their own; an area another owner keeps in the store (e.g.
//! `snapshots`) is counted as a whole, its top-level children as its entries.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::error::{Error, Result};
use super::index::{RecordBlobs, RefFile};
use super::{BLOBS, INDEX, LOCKS, REFS, RESERVED, Store, TMP};
use crate::graph::Digest;

/// What kind of entry a [`UsageEntry`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKind {
    /// A cache record (`index/`).
    Record,
    /// A named reference (`refs/`).
    Ref,
    /// A blob (`blobs/`).
    Blob,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Record => "record",
            Self::Ref => "ref",
            Self::Blob => "blob",
        }
    }
}

/// One record, reference or blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEntry {
    pub kind: EntryKind,
    /// The cache key or blob digest; `namespace/name` for a reference.
    pub id: String,
    pub path: PathBuf,
    /// The entry's own bytes (a record's blobs are entries of their own).
    pub size: u64,
    pub last_used: SystemTime,
    /// Blobs this record or reference keeps alive.
    pub blobs: Vec<Digest>,
    /// For a blob, how many records and references need it.
    pub users: usize,
}

/// The size of one kind of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindUsage {
    /// `blobs`, `records`, `refs`, an area's name, or `temp`.
    pub kind: String,
    pub count: u64,
    pub size: u64,
}

/// What the store holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Blobs, records and refs first, then areas by name, then temp.
    pub by_kind: Vec<KindUsage>,
    /// Records, references and blobs, least recently used first.
    pub entries: Vec<UsageEntry>,
}

impl Usage {
    /// The size of everything.
    pub fn total(&self) -> u64 {
        self.by_kind.iter().map(|kind| kind.size).sum()
    }

    /// The usage of an empty store, for a store that does not exist yet.
    pub fn empty() -> Self {
        let kind = |name: &str| KindUsage {
            kind: name.to_owned(),
            count: 0,
            size: 0,
        };
        Self {
            by_kind: vec![kind("blobs"), kind("records"), kind("refs"), kind("temp")],
            entries: Vec::new(),
        }
    }
}

impl Store {
    /// Measures the store.
    pub fn usage(&self) -> Result<Usage> {
        let entries = scan_entries(&self.root)?;
        let mut usage = Usage::empty();
        for (index, kind) in [EntryKind::Blob, EntryKind::Record, EntryKind::Ref]
            .into_iter()
            .enumerate()
        {
            let of_kind = entries.iter().filter(|entry| entry.kind == kind);
            usage.by_kind[index].count = of_kind.clone().count() as u64;
            usage.by_kind[index].size = of_kind.map(|entry| entry.size).sum();
        }
        let temp = usage.by_kind.pop().expect("temp is listed last");
        for name in list_dir(&self.root)? {
            let name = name.to_string_lossy().into_owned();
            let path = self.root.join(&name);
            if RESERVED.contains(&name.as_str()) || !path.is_dir() {
                continue;
            }
            let (count, size) = measure_area(&path)?;
            usage.by_kind.push(KindUsage {
                kind: name,
                count,
                size,
            });
        }
        let (_, temp_size) = measure_area(&self.root.join(TMP))?;
        let (_, lock_size) = measure_area(&self.root.join(LOCKS))?;
        usage.by_kind.push(KindUsage {
            size: temp_size + lock_size,
            count: dead_scratch_count(&self.root.join(TMP), self.temp_dir())?,
            ..temp
        });
        usage.entries = entries;
        Ok(usage)
    }
}

/// Scratch owners other than this one (live or awaiting a sweep).
fn dead_scratch_count(tmp: &Path, own: &Path) -> Result<u64> {
    let count = list_dir(tmp)?
        .into_iter()
        .filter(|name| {
            let path = tmp.join(name);
            path.is_dir() && path != own
        })
        .count();
    Ok(count as u64)
}

/// Every record, reference and blob, least recently used first, with blob
/// user counts filled in.
pub(super) fn scan_entries(root: &Path) -> Result<Vec<UsageEntry>> {
    let mut entries = Vec::new();
    let index = root.join(INDEX);
    for name in list_dir(&index)? {
        let path = index.join(&name);
        let Some(key) = digest_of_name(&name, ".json") else {
            continue;
        };
        let Some((size, last_used, bytes)) = read_small(&path)? else {
            continue;
        };
        // An unreadable record needs no blobs; it is evicted like any other.
        let blobs = serde_json::from_slice::<RecordBlobs>(&bytes)
            .map(|record| record.blobs)
            .unwrap_or_default();
        entries.push(UsageEntry {
            kind: EntryKind::Record,
            id: key.to_string(),
            path,
            size,
            last_used,
            blobs,
            users: 0,
        });
    }
    let refs = root.join(REFS);
    for namespace in list_dir(&refs)? {
        let directory = refs.join(&namespace);
        if !directory.is_dir() {
            continue;
        }
        for name in list_dir(&directory)? {
            let path = directory.join(&name);
            let Some((size, last_used, bytes)) = read_small(&path)? else {
                continue;
            };
            let (id, blobs) = match serde_json::from_slice::<RefFile>(&bytes) {
                Ok(file) => (
                    format!("{}/{}", namespace.to_string_lossy(), file.name),
                    vec![file.digest],
                ),
                Err(_) => (path.display().to_string(), Vec::new()),
            };
            entries.push(UsageEntry {
                kind: EntryKind::Ref,
                id,
                path,
                size,
                last_used,
                blobs,
                users: 0,
            });
        }
    }
    let mut users: HashMap<Digest, usize> = HashMap::new();
    for entry in &entries {
        for blob in entry.blobs.iter().collect::<HashSet<_>>() {
            *users.entry(*blob).or_default() += 1;
        }
    }
    let blobs = root.join(BLOBS).join("sha256");
    for name in list_dir(&blobs)? {
        let path = blobs.join(&name);
        let Some(digest) = digest_of_name(&name, "") else {
            continue;
        };
        let Some(metadata) = stat(&path)? else {
            continue;
        };
        entries.push(UsageEntry {
            kind: EntryKind::Blob,
            id: digest.to_string(),
            path,
            size: metadata.len(),
            last_used: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            blobs: Vec::new(),
            users: users.get(&digest).copied().unwrap_or(0),
        });
    }
    entries.sort_by(|a, b| a.last_used.cmp(&b.last_used).then_with(|| a.id.cmp(&b.id)));
    Ok(entries)
}

fn digest_of_name(name: &std::ffi::OsStr, suffix: &str) -> Option<Digest> {
    let hex = name.to_str()?.strip_suffix(suffix)?;
    format!("sha256:{hex}").parse().ok()
}

/// The names in a directory; an absent directory is empty.
pub(super) fn list_dir(path: &Path) -> Result<Vec<std::ffi::OsString>> {
    let scan = |source| Error::ScanStore {
        path: path.to_owned(),
        source,
    };
    let reader = match fs_err::read_dir(path) {
        Ok(reader) => reader,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(scan(source)),
    };
    let mut names = Vec::new();
    for entry in reader {
        names.push(entry.map_err(scan)?.file_name());
    }
    names.sort();
    Ok(names)
}

/// `symlink_metadata`, with a vanished file as `None`.
fn stat(path: &Path) -> Result<Option<std::fs::Metadata>> {
    match fs_err::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::ScanStore {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Size, mtime and content of a small file; `None` if it vanished.
fn read_small(path: &Path) -> Result<Option<(u64, SystemTime, Vec<u8>)>> {
    let Some(metadata) = stat(path)? else {
        return Ok(None);
    };
    match fs_err::read(path) {
        Ok(bytes) => Ok(Some((
            metadata.len(),
            metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            bytes,
        ))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::ReadRecord {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The number of top-level children of an area and the bytes of everything
/// under it. Hard links count once; what cannot be read (another user's
/// layer files) is skipped.
pub fn measure_area(path: &Path) -> Result<(u64, u64)> {
    let children = list_dir(path)?;
    let mut seen = HashSet::new();
    let mut size = 0;
    let mut pending = vec![path.to_owned()];
    while let Some(directory) = pending.pop() {
        let Ok(reader) = fs_err::read_dir(&directory) else {
            continue;
        };
        for entry in reader.filter_map(std::result::Result::ok) {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                pending.push(entry.path());
            } else if metadata.nlink() <= 1 || seen.insert((metadata.dev(), metadata.ino())) {
                size += metadata.len();
            }
        }
    }
    Ok((children.len() as u64, size))
}

/// Entries grouped by kind, for reports.
pub(super) fn totals_by_kind(entries: &[UsageEntry]) -> BTreeMap<EntryKind, (u64, u64)> {
    let mut totals = BTreeMap::new();
    for entry in entries {
        let total: &mut (u64, u64) = totals.entry(entry.kind).or_default();
        total.0 += 1;
        total.1 += entry.size;
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind<'a>(usage: &'a Usage, name: &str) -> &'a KindUsage {
        usage.by_kind.iter().find(|kind| kind.kind == name).unwrap()
    }

    #[test]
    fn usage_counts_each_kind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let empty = store.usage().unwrap();
        assert_eq!(empty.total(), 0);
        assert_eq!(
            empty
                .by_kind
                .iter()
                .map(|kind| kind.kind.as_str())
                .collect::<Vec<_>>(),
            ["blobs", "records", "refs", "temp"]
        );

        let (a, _) = store.write_blob(None, &[1u8; 1000][..]).unwrap();
        let (b, _) = store.write_blob(None, &[2u8; 500][..]).unwrap();
        store.put_record(&Digest::of(b"k"), &"r", &[a]).unwrap();
        store.set_ref("image-tag", "busybox", &b).unwrap();
        let snapshots = store.dir("snapshots").unwrap();
        fs_err::create_dir_all(snapshots.join("1/fs")).unwrap();
        fs_err::write(snapshots.join("1/fs/file"), [0u8; 300]).unwrap();
        fs_err::hard_link(snapshots.join("1/fs/file"), snapshots.join("1/fs/link")).unwrap();

        let usage = store.usage().unwrap();
        assert_eq!(
            (kind(&usage, "blobs").count, kind(&usage, "blobs").size),
            (2, 1500)
        );
        assert_eq!(kind(&usage, "records").count, 1);
        let record_size = fs_err::metadata(store.record_path(&Digest::of(b"k")))
            .unwrap()
            .len();
        assert_eq!(kind(&usage, "records").size, record_size);
        assert_eq!(kind(&usage, "refs").count, 1);
        assert_eq!(
            (
                kind(&usage, "snapshots").count,
                kind(&usage, "snapshots").size
            ),
            (1, 300)
        );
        assert_eq!(usage.by_kind.last().unwrap().kind, "temp");
        assert_eq!(usage.entries.len(), 4);
        let blob_a = usage
            .entries
            .iter()
            .find(|entry| entry.id == a.to_string())
            .unwrap();
        assert_eq!(blob_a.users, 1);
        let reference = usage
            .entries
            .iter()
            .find(|entry| entry.kind == EntryKind::Ref)
            .unwrap();
        assert_eq!(reference.id, "image-tag/busybox");
        assert_eq!(reference.blobs, [b]);
    }
}
