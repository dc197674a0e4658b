//! `xb-snapshotter` stores image layers as directories and moves them in and
//! out of tars.
//!
//! It owns committed layer directories and their metadata (owners, modes,
//! devices and xattrs a rootless process cannot put on disk; whiteouts;
//! opaque directories), applying a layer tar safely, writable snapshots for
//! file operations, a merged read-only [`View`] of a chain without mounting,
//! the root filesystems of RUN steps, and writing a layer as a deterministic
//! tar. It knows nothing of Dockerfiles, registries, compression or
//! processes; cache keys and reference counting are the caller's.
//!
//! A snapshot is a chain of committed layers under one root directory:
//!
//! ```no_run
//! use std::path::Path;
//! use xb_snapshotter::{Backend, DiffOptions, RunRoot, Snapshotter};
//!
//! # fn main() -> Result<(), xb_snapshotter::Error> {
//! let snapshotter = Snapshotter::open("/var/tmp/xb/layers".into())?;
//! let tar = fs_err::File::open("layer.tar").expect("a layer tar");
//! let base = snapshotter.apply(tar, None)?;
//!
//! // COPY, ADD, WORKDIR: write files, state what the disk cannot say.
//! let mut active = snapshotter.prepare(Some(&base.id))?;
//! active.create_dir_all(Path::new("/app"))?;
//! fs_err::write(active.upper_dir().join("app/hello"), "hi\n").expect("writable");
//! active.set_owner(Path::new("/app/hello"), 1000, 1000)?;
//! let top = active.commit()?;
//!
//! // RUN: the runtime mounts the root, runs the process, unmounts.
//! let run = snapshotter.prepare_run(Some(&top), Backend::Overlay)?;
//! match run.root() {
//!     RunRoot::Overlay { lower, upper, work } => { /* overlay, with userxattr */ }
//!     RunRoot::Directory(dir) => { /* bind-mount dir */ }
//! }
//! let after_run = run.commit(&["/etc/hosts".to_owned()])?;
//!
//! let view = snapshotter.view(&after_run)?;
//! let passwd = view.open(Path::new("/etc/passwd"))?;
//! let stats = snapshotter.diff(&after_run, std::io::sink(), DiffOptions { clamp_mtime: Some(0) })?;
//! # drop((passwd, stats));
//! # Ok(())
//! # }
//! ```
//!
//! # RUN snapshots
//!
//! [`Snapshotter::prepare_run`] is the RUN counterpart of
//! [`Snapshotter::prepare`] (BuildKit `MutableRef`): it gives a
//! [`RunSnapshot`] whose [`RunSnapshot::root`] says which directories make
//! the root filesystem, and [`RunSnapshot::commit`] turns what the RUN left
//! into a committed layer like any other (view, diff, parent of the next
//! step). The caller chooses the [`Backend`] (`--snapshotter`):
//!
//! - [`Backend::Overlay`]: lower directories are the chain's layer
//!   directories with a small *mask* below each layer that has whiteouts or
//!   opaque directories (those live in metadata, never on disk); a mount
//!   shows exactly what [`View`] shows. Chains deeper than
//!   [`MAX_LOWER_DIRS`] (or longer than [`MAX_LOWERDIR_BYTES`] of paths) are
//!   partly flattened into one cached directory. Upper and work directories
//!   are fresh, in the store, on one filesystem. Mount with `userxattr`,
//!   always.
//! - [`Backend::Native`]: the merged chain is copied into one fresh
//!   directory; committing keeps what changed.
//!
//! What a RUN sees where the disk cannot hold the image's view (a rootless
//! caller with only its own id mapped, see [`DiskOwnership`]): owners and
//! modes as they are on disk (the caller's, modes with owner read/write),
//! devices as the empty placeholder files standing for them, xattrs kept
//! only in metadata (`security.capability` of a base image) not at all.
//! That is a limitation for the caller to report; the committed layer still
//! keeps the image's owners, modes, devices and xattrs for every entry the
//! RUN did not change in that respect. Run as root or with subordinate id
//! ranges, owners, modes and devices are real.
#![deny(missing_docs)]

mod active;
mod apply;
mod attrs;
mod copy;
mod diff;
mod digest;
mod entries;
mod error;
mod extract;
mod id;
mod idmap;
mod lower;
mod native;
mod path;
mod record;
mod run;
mod spread;
mod stat;
mod store;
mod upper;
mod view;
mod xattrs;

#[cfg(test)]
mod testutil;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

pub use active::ActiveSnapshot;
pub use diff::{DiffOptions, DiffStats};
pub use error::{Error, Result};
pub use id::SnapshotId;
pub use idmap::{DiskOwnership, IdMap, IdRange, OVERFLOW_ID};
pub use lower::{FLATTEN_STEP, MAX_LOWER_DIRS, MAX_LOWERDIR_BYTES};
pub use run::{RunRoot, RunSnapshot};
pub use stat::{Device, EntryKind, EntryStat};
pub use view::View;

use store::Store;

/// The layer store under one root directory. Cheap to clone; safe to share
/// between threads and between processes using the same root.
#[derive(Debug, Clone)]
pub struct Snapshotter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    id_map: IdMap,
    privileged: bool,
}

/// A layer made by [`Snapshotter::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedLayer {
    /// The committed snapshot.
    pub id: SnapshotId,
    /// `sha256:<hex>` of the uncompressed tar as read (its OCI diffID),
    /// computed while extracting.
    pub diff_id: String,
}

/// What `xb du` needs to know about a committed snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The snapshot.
    pub id: SnapshotId,
    /// The snapshot it is built on.
    pub parent: Option<SnapshotId>,
    /// When it was committed, seconds since the epoch.
    pub created: i64,
    /// Bytes this layer alone takes on disk.
    pub size: u64,
    /// The diffID of the tar it was applied from, if it was.
    pub diff_id: Option<String>,
}

impl Snapshotter {
    /// Opens (creating if needed) the store under `root`, reading and writing
    /// owners as [`DiskOwnership::detect`] decides from this process's id
    /// maps (real root: identity; root in a user namespace with subordinate
    /// ranges: those ranges; otherwise the caller alone, with overrides).
    /// Where `/proc` cannot be read, [`IdMap::current`] and the effective
    /// uid decide.
    pub fn open(root: PathBuf) -> Result<Self> {
        let ownership = DiskOwnership::detect().unwrap_or_else(|_| DiskOwnership {
            id_map: IdMap::current(),
            privileged: nix::unistd::geteuid().is_root(),
        });
        Ok(Self {
            inner: Arc::new(Inner {
                store: Store::open(root)?,
                id_map: ownership.id_map,
                privileged: ownership.privileged,
            }),
        })
    }

    /// The same store, with files on disk owned as `id_map` says (for a
    /// process inside a user namespace with subordinate ids).
    #[must_use]
    pub fn with_id_map(&self, id_map: IdMap) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                id_map,
                privileged: self.inner.privileged,
            }),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        self.inner.store.root()
    }

    /// The id map used for new layers.
    pub fn id_map(&self) -> &IdMap {
        &self.inner.id_map
    }

    pub(crate) fn privileged(&self) -> bool {
        self.inner.privileged
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Extracts an uncompressed layer tar on top of `parent` into a new
    /// committed snapshot. A tar entry that would land outside the layer is
    /// an [`Error::UnsafeEntry`] naming it, and nothing is committed.
    pub fn apply(&self, layer_tar: impl Read, parent: Option<&SnapshotId>) -> Result<AppliedLayer> {
        apply::apply(self, layer_tar, parent)
    }

    /// A writable snapshot on top of `parent`.
    pub fn prepare(&self, parent: Option<&SnapshotId>) -> Result<ActiveSnapshot> {
        ActiveSnapshot::new(self, parent)
    }

    /// A writable root filesystem for one RUN on top of `parent`: overlay
    /// directories to mount, or a copied directory (see [`RunSnapshot`]).
    pub fn prepare_run(
        &self,
        parent: Option<&SnapshotId>,
        backend: Backend,
    ) -> Result<RunSnapshot> {
        RunSnapshot::new(self, parent, backend)
    }

    /// The merged read-only view of `id` and its ancestors.
    pub fn view(&self, id: &SnapshotId) -> Result<View> {
        Ok(View::new(self.store().load_chain(Some(id))?))
    }

    /// Writes layer `id` alone (not its ancestors) as a deterministic tar.
    pub fn diff(
        &self,
        id: &SnapshotId,
        writer: impl Write,
        options: DiffOptions,
    ) -> Result<DiffStats> {
        let layer = self.store().load_layer(id)?;
        let below = View::new(self.store().load_chain(layer.meta.parent.as_ref())?);
        diff::diff(&layer, &below, writer, options)
    }

    /// Removes a committed snapshot; refused while another snapshot is built
    /// on it.
    pub fn remove(&self, id: &SnapshotId) -> Result<()> {
        self.store().remove(id)
    }

    /// Every committed snapshot, sorted by id.
    pub fn list(&self) -> Result<Vec<SnapshotInfo>> {
        Ok(self
            .store()
            .list()?
            .into_iter()
            .map(|(id, meta)| info(id, meta))
            .collect())
    }

    /// One committed snapshot's information.
    pub fn info(&self, id: &SnapshotId) -> Result<SnapshotInfo> {
        Ok(info(id.clone(), self.store().load_meta(id)?))
    }

    /// Bytes layer `id` alone takes on disk.
    pub fn size(&self, id: &SnapshotId) -> Result<u64> {
        Ok(self.store().load_meta(id)?.size)
    }

    /// Removes staging directories left by processes that died while
    /// writing; returns how many.
    pub fn clean_staging(&self) -> Result<usize> {
        self.store().clean_staging()
    }
}

fn info(id: SnapshotId, meta: store::LayerMeta) -> SnapshotInfo {
    SnapshotInfo {
        id,
        parent: meta.parent,
        created: meta.created,
        size: meta.size,
        diff_id: meta.diff_id,
    }
}

/// How layers are stacked into a root filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// overlayfs: lower directories are the chain, a fresh upper holds changes.
    Overlay,
    /// Copy the chain into a fresh directory where overlay is refused.
    Native,
}

impl Backend {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Overlay => "overlay",
            Backend::Native => "native",
        }
    }
}

/// A snapshotter name that is not one of the known backends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown snapshotter {0:?} (expected overlay or native)")]
pub struct UnknownBackend(pub String);

impl FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(name: &str) -> std::result::Result<Self, Self::Err> {
        match name {
            "overlay" => Ok(Backend::Overlay),
            "native" => Ok(Backend::Native),
            other => Err(UnknownBackend(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_round_trip() {
        for backend in [Backend::Overlay, Backend::Native] {
            assert_eq!(backend.as_str().parse::<Backend>(), Ok(backend));
        }
        assert!("zfs".parse::<Backend>().is_err());
    }

    #[test]
    fn handles_cross_threads() {
        // The solver applies and diffs layers from rayon workers.
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Snapshotter>();
        assert_send_sync::<View>();
        assert_send_sync::<ActiveSnapshot>();
        assert_send_sync::<RunSnapshot>();
        assert_send_sync::<Error>();
    }
}
