//! A layer's own metadata: what the image says about its entries when the
//! files on disk cannot say it themselves.
//!
//! Stored as `entries.json` beside the layer's `fs/` directory, so it works on
//! any filesystem (no xattrs needed):
//!
//! - **overrides** per path: owner, mode and mtime the image asks for where
//!   the file on disk differs (a rootless process cannot chown), the device
//!   or fifo a placeholder file stands for where `mknod` is refused, extended
//!   attributes (`security.capability`, …) exactly as the tar carried them,
//!   and `implicit` for directories that exist only as parents of other
//!   entries (their attributes come from the layers below, as overlayfs
//!   copy-up would give them);
//! - **whiteouts**: paths this layer deletes from the layers below (OCI
//!   `.wh.<name>`); they never exist as files on disk;
//! - **opaque** directories: directories whose lower content this layer hides
//!   (OCI `.wh..wh..opq`).
//!
//! Overrides win over what the disk says. Turning a whiteout into an overlay
//! whiteout device for a mount is left to the overlay backend.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::path::LayerPath;

/// What a placeholder file stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub(crate) enum Special {
    /// A character device.
    Char { major: u64, minor: u64 },
    /// A block device.
    Block { major: u64, minor: u64 },
    /// A named pipe.
    Fifo,
}

/// The image's view of one entry where it differs from the disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mtime: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) special: Option<Special>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) xattrs: BTreeMap<String, Vec<u8>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) implicit: bool,
}

impl Record {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The whole metadata of one layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LayerEntries {
    pub(crate) records: BTreeMap<LayerPath, Record>,
    pub(crate) whiteouts: BTreeSet<LayerPath>,
    pub(crate) opaque: BTreeSet<LayerPath>,
}

/// A path as stored: text when it is UTF-8, raw bytes otherwise.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StoredPath {
    Text(String),
    Bytes(Vec<u8>),
}

impl From<&LayerPath> for StoredPath {
    fn from(path: &LayerPath) -> Self {
        match std::str::from_utf8(path.as_bytes()) {
            Ok(text) => Self::Text(text.to_owned()),
            Err(_) => Self::Bytes(path.as_bytes().to_vec()),
        }
    }
}

impl From<StoredPath> for LayerPath {
    fn from(path: StoredPath) -> Self {
        match path {
            StoredPath::Text(text) => LayerPath::from_stored(text.into_bytes()),
            StoredPath::Bytes(bytes) => LayerPath::from_stored(bytes),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredRecord {
    path: StoredPath,
    #[serde(flatten)]
    record: Record,
}

#[derive(Serialize, Deserialize)]
struct StoredEntries {
    version: u32,
    entries: Vec<StoredRecord>,
    whiteouts: Vec<StoredPath>,
    opaque: Vec<StoredPath>,
}

impl LayerEntries {
    /// The record for `path`, if any.
    pub(crate) fn record(&self, path: &LayerPath) -> Option<&Record> {
        self.records.get(path)
    }

    /// The record for `path`, created empty if missing.
    pub(crate) fn record_mut(&mut self, path: &LayerPath) -> &mut Record {
        self.records.entry(path.clone()).or_default()
    }

    /// Drops records of `path` and everything below it (the entry was
    /// replaced).
    pub(crate) fn forget_tree(&mut self, path: &LayerPath) {
        self.records
            .retain(|recorded, _| !recorded.starts_with(path));
        self.opaque.retain(|recorded| !recorded.starts_with(path));
    }

    /// Whether `path` is marked as a parent-only directory.
    pub(crate) fn is_implicit(&self, path: &LayerPath) -> bool {
        self.record(path).is_some_and(|record| record.implicit)
    }

    /// Whether this layer hides the lower layers' `path` because `path`
    /// itself is whited out or one of its ancestors is whited out or opaque.
    pub(crate) fn hides(&self, path: &LayerPath) -> bool {
        self.whiteouts.contains(path) || self.hides_below_ancestors(path)
    }

    /// Whether this layer hides the lower layers' children of `dir`.
    pub(crate) fn hides_children(&self, dir: &LayerPath) -> bool {
        self.whiteouts.contains(dir) || self.opaque.contains(dir) || self.hides_below_ancestors(dir)
    }

    fn hides_below_ancestors(&self, path: &LayerPath) -> bool {
        path.ancestors()
            .iter()
            .any(|ancestor| self.whiteouts.contains(ancestor) || self.opaque.contains(ancestor))
    }

    /// The names this layer whites out directly inside `dir`.
    pub(crate) fn whiteouts_in<'a>(&'a self, dir: &'a LayerPath) -> impl Iterator<Item = &'a [u8]> {
        self.whiteouts
            .iter()
            .filter(move |path| !path.is_root() && path.parent() == *dir)
            .map(LayerPath::file_name)
    }

    /// Reads `entries.json`.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text = fs_err::read(path).map_err(|source| Error::ReadMetadata {
            path: path.to_owned(),
            source,
        })?;
        let stored: StoredEntries =
            serde_json::from_slice(&text).map_err(|source| Error::ParseMetadata {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            records: stored
                .entries
                .into_iter()
                .map(|entry| (entry.path.into(), entry.record))
                .collect(),
            whiteouts: stored.whiteouts.into_iter().map(Into::into).collect(),
            opaque: stored.opaque.into_iter().map(Into::into).collect(),
        })
    }

    /// Writes `entries.json` (records that say nothing are left out).
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let stored = StoredEntries {
            version: 1,
            entries: self
                .records
                .iter()
                .filter(|(_, record)| !record.is_empty())
                .map(|(path, record)| StoredRecord {
                    path: path.into(),
                    record: record.clone(),
                })
                .collect(),
            whiteouts: self.whiteouts.iter().map(Into::into).collect(),
            opaque: self.opaque.iter().map(Into::into).collect(),
        };
        let text = serde_json::to_vec(&stored).expect("entries serialize to JSON");
        fs_err::write(path, text).map_err(|source| Error::WriteMetadata {
            path: path.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> LayerPath {
        LayerPath::from_archive(text.as_bytes()).unwrap()
    }

    #[test]
    fn entries_round_trip_through_json_including_non_utf8_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("entries.json");
        let mut entries = LayerEntries::default();
        *entries.record_mut(&path("etc/shadow")) = Record {
            uid: Some(0),
            gid: Some(42),
            mode: Some(0o640),
            xattrs: BTreeMap::from([("user.a".to_owned(), vec![0, 1, 255])]),
            ..Record::default()
        };
        entries.record_mut(&path("dev/null")).special = Some(Special::Char { major: 1, minor: 3 });
        entries
            .whiteouts
            .insert(LayerPath::from_archive(b"bin/\xff").unwrap());
        entries.opaque.insert(path("var/cache"));
        entries.record_mut(&path("empty"));
        entries.save(&file).unwrap();
        let mut expected = entries.clone();
        expected.records.remove(&path("empty"));
        assert_eq!(LayerEntries::load(&file).unwrap(), expected);
    }

    #[test]
    fn whiteouts_and_opaque_dirs_hide_lower_paths() {
        let mut entries = LayerEntries::default();
        entries.whiteouts.insert(path("a/gone"));
        entries.opaque.insert(path("o"));
        assert!(entries.hides(&path("a/gone")));
        assert!(entries.hides(&path("a/gone/child")));
        assert!(!entries.hides(&path("a/kept")));
        assert!(!entries.hides(&path("o")));
        assert!(entries.hides(&path("o/x")));
        assert!(entries.hides_children(&path("o")));
        assert_eq!(
            entries.whiteouts_in(&path("a")).collect::<Vec<_>>(),
            [b"gone"]
        );
    }
}
