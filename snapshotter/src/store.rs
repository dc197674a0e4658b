//! The snapshot store on disk: where committed layers and staging
//! directories live, and how a staging directory becomes a layer.
//!
//! ```text
//! <root>/snapshots/<id>/fs/            the layer's files
//! <root>/snapshots/<id>/entries.json   overrides, whiteouts, opaque dirs (see `entries`)
//! <root>/snapshots/<id>/meta.json      parent, created, size, diffID, id map
//! <root>/snapshots/<id>/overlay/       made ready for overlay mounts (see `lower`)
//! <root>/snapshots/<id>/overlay/mask/  its whiteouts and opaque dirs as overlay marks
//! <root>/snapshots/<id>/flat/          the chain up to <id> merged into one directory
//! <root>/staging/<pid>-<random>/       a layer being written (same shape), a RUN's
//!                                      upper and work dirs, or a cache being built
//! ```
//!
//! A layer is committed by renaming its staging directory into
//! `snapshots/`, so other processes see all of it or nothing; a process
//! killed mid-write leaves only a staging directory, which
//! [`crate::Snapshotter::clean_staging`] removes once its process is gone.
//! What a layer means (cache keys, references) is left to callers.

use std::collections::HashSet;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::SnapshotId;
use crate::entries::LayerEntries;
use crate::error::{Error, Result};
use crate::idmap::IdMap;

/// `meta.json`: what `xb du` and the view need without reading the layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LayerMeta {
    pub(crate) parent: Option<SnapshotId>,
    pub(crate) created: i64,
    pub(crate) size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) diff_id: Option<String>,
    pub(crate) id_map: IdMap,
}

/// A committed layer, loaded.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub(crate) id: SnapshotId,
    pub(crate) fs: PathBuf,
    pub(crate) meta: LayerMeta,
    pub(crate) entries: LayerEntries,
}

/// A directory being written; removed on drop unless committed.
#[derive(Debug)]
pub(crate) struct Staging {
    dir: PathBuf,
    fs: PathBuf,
    committed: bool,
}

impl Staging {
    /// The layer's files.
    pub(crate) fn fs(&self) -> &Path {
        &self.fs
    }

    /// The staging directory itself (`fs` is inside it).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Renames the whole staging directory to `target`. When another process
    /// published the same `target` first, this copy is dropped and theirs is
    /// kept (both were built from the same layers).
    pub(crate) fn publish(mut self, target: &Path) -> Result<()> {
        match fs_err::rename(&self.dir, target) {
            Ok(()) => {
                self.committed = true;
                Ok(())
            }
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::AlreadyExists | io::ErrorKind::DirectoryNotEmpty
                ) =>
            {
                Ok(())
            }
            Err(source) => Err(Error::PublishCache {
                from: self.dir.clone(),
                to: target.to_owned(),
                source,
            }),
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // Nothing to report to: a leftover is found again by clean_staging.
            let _ = fs_err::remove_dir_all(&self.dir);
        }
    }
}

/// The paths of one store.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    root: PathBuf,
}

fn create_dir_all(path: &Path) -> Result<()> {
    fs_err::create_dir_all(path).map_err(|source| Error::CreateDir {
        path: path.to_owned(),
        source,
    })
}

impl Store {
    pub(crate) fn open(root: PathBuf) -> Result<Self> {
        let store = Self { root };
        create_dir_all(&store.snapshots_dir())?;
        create_dir_all(&store.staging_dir())?;
        crate::spread::spread_children(&store.staging_dir());
        Ok(store)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    fn snapshots_dir(&self) -> PathBuf {
        self.root.join("snapshots")
    }

    fn staging_dir(&self) -> PathBuf {
        self.root.join("staging")
    }

    /// The directory of committed snapshot `id` (its `fs/` and metadata).
    pub(crate) fn snapshot_dir(&self, id: &SnapshotId) -> PathBuf {
        self.snapshots_dir().join(id.as_str())
    }

    /// A fresh staging directory with an empty `fs/`.
    pub(crate) fn new_staging(&self) -> Result<Staging> {
        let name = format!("{}-{}", std::process::id(), SnapshotId::generate()?);
        let dir = self.staging_dir().join(name);
        let fs = dir.join("fs");
        create_dir_all(&fs)?;
        Ok(Staging {
            dir,
            fs,
            committed: false,
        })
    }

    /// A fresh, empty staging directory for a cache (its `fs` is itself).
    pub(crate) fn new_scratch(&self) -> Result<Staging> {
        let name = format!("{}-{}", std::process::id(), SnapshotId::generate()?);
        let dir = self.staging_dir().join(name);
        create_dir_all(&dir)?;
        Ok(Staging {
            fs: dir.clone(),
            dir,
            committed: false,
        })
    }

    /// Writes the metadata into `staging` and renames it into place.
    pub(crate) fn commit(
        &self,
        mut staging: Staging,
        parent: Option<SnapshotId>,
        entries: &LayerEntries,
        diff_id: Option<String>,
        id_map: IdMap,
    ) -> Result<SnapshotId> {
        if let Some(parent) = &parent {
            self.load_meta(parent)?;
        }
        let entries_path = staging.dir.join("entries.json");
        entries.save(&entries_path)?;
        let entries_size = fs_err::metadata(&entries_path).map_or(0, |metadata| metadata.len());
        let meta = LayerMeta {
            parent,
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| {
                    i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
                }),
            size: disk_usage(&staging.fs)? + entries_size,
            diff_id,
            id_map,
        };
        let meta_path = staging.dir.join("meta.json");
        let text = serde_json::to_vec_pretty(&meta).expect("metadata serializes to JSON");
        fs_err::write(&meta_path, text).map_err(|source| Error::WriteMetadata {
            path: meta_path,
            source,
        })?;
        let id = SnapshotId::generate()?;
        let target = self.snapshot_dir(&id);
        fs_err::rename(&staging.dir, &target).map_err(|source| Error::CommitSnapshot {
            from: staging.dir.clone(),
            to: target,
            source,
        })?;
        staging.committed = true;
        Ok(id)
    }

    /// Reads a committed layer's `meta.json`.
    pub(crate) fn load_meta(&self, id: &SnapshotId) -> Result<LayerMeta> {
        let path = self.snapshot_dir(id).join("meta.json");
        let text = match fs_err::read(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(Error::FindSnapshot { id: id.clone() });
            }
            Err(source) => return Err(Error::ReadMetadata { path, source }),
        };
        serde_json::from_slice(&text).map_err(|source| Error::ParseMetadata { path, source })
    }

    /// Loads a committed layer with its entries.
    pub(crate) fn load_layer(&self, id: &SnapshotId) -> Result<Layer> {
        let meta = self.load_meta(id)?;
        let dir = self.snapshot_dir(id);
        Ok(Layer {
            id: id.clone(),
            fs: dir.join("fs"),
            entries: LayerEntries::load(&dir.join("entries.json"))?,
            meta,
        })
    }

    /// Loads `id` and its ancestors, `id` first.
    pub(crate) fn load_chain(&self, id: Option<&SnapshotId>) -> Result<Vec<Layer>> {
        let mut layers = Vec::new();
        let mut next = id.cloned();
        while let Some(id) = next.take() {
            let layer = self.load_layer(&id)?;
            next.clone_from(&layer.meta.parent);
            layers.push(layer);
        }
        Ok(layers)
    }

    /// Every committed snapshot with its metadata, sorted by id.
    pub(crate) fn list(&self) -> Result<Vec<(SnapshotId, LayerMeta)>> {
        let dir = self.snapshots_dir();
        let read_dir_error = |source| Error::ReadDir {
            path: dir.clone(),
            source,
        };
        let mut out = Vec::new();
        for entry in fs_err::read_dir(&dir).map_err(read_dir_error)? {
            let entry = entry.map_err(read_dir_error)?;
            let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<SnapshotId>().ok())
            else {
                continue;
            };
            match self.load_meta(&id) {
                Ok(meta) => out.push((id, meta)),
                // Removed by another process since the listing.
                Err(Error::FindSnapshot { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Removes a committed snapshot: first out of sight (renamed into
    /// staging), then from disk.
    pub(crate) fn remove(&self, id: &SnapshotId) -> Result<()> {
        self.load_meta(id)?;
        if let Some((child, _)) = self
            .list()?
            .into_iter()
            .find(|(_, meta)| meta.parent.as_ref() == Some(id))
        {
            return Err(Error::RemoveParent {
                id: id.clone(),
                child,
            });
        }
        let dir = self.snapshot_dir(id);
        let doomed = self
            .staging_dir()
            .join(format!("{}-removing-{id}", std::process::id()));
        fs_err::rename(&dir, &doomed).map_err(|source| Error::RemoveSnapshot {
            path: dir.clone(),
            source,
        })?;
        fs_err::remove_dir_all(&doomed).map_err(|source| Error::RemoveSnapshot {
            path: doomed,
            source,
        })
    }

    /// Removes staging directories whose process no longer runs.
    pub(crate) fn clean_staging(&self) -> Result<usize> {
        let dir = self.staging_dir();
        let read_dir_error = |source| Error::ReadDir {
            path: dir.clone(),
            source,
        };
        let mut removed = 0;
        for entry in fs_err::read_dir(&dir).map_err(read_dir_error)? {
            let entry = entry.map_err(read_dir_error)?;
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|name| name.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if Path::new("/proc").join(pid.to_string()).exists() {
                continue;
            }
            let path = entry.path();
            fs_err::remove_dir_all(&path)
                .map_err(|source| Error::RemoveSnapshot { path, source })?;
            removed += 1;
        }
        Ok(removed)
    }
}

/// Bytes on disk under `dir`, each inode counted once.
fn disk_usage(dir: &Path) -> Result<u64> {
    fn walk(dir: &Path, seen: &mut HashSet<(u64, u64)>, total: &mut u64) -> Result<()> {
        let read_dir_error = |source| Error::ReadDir {
            path: dir.to_owned(),
            source,
        };
        for entry in fs_err::read_dir(dir).map_err(read_dir_error)? {
            let path = entry.map_err(read_dir_error)?.path();
            let metadata = crate::attrs::lstat_existing(&path)?;
            if seen.insert((metadata.dev(), metadata.ino())) {
                *total += metadata.blocks() * 512;
            }
            if metadata.is_dir() {
                walk(&path, seen, total)?;
            }
        }
        Ok(())
    }
    let mut total = 0;
    walk(dir, &mut HashSet::new(), &mut total)?;
    Ok(total)
}
