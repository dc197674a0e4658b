//! [`RunSnapshot`]: the writable root filesystem of one RUN, and its commit
//! into a new layer (BuildKit `MutableRef.Commit`).
//!
//! With [`Backend::Overlay`] the snapshot is a set of directories for an
//! overlay mount ([`RunRoot::Overlay`]: lower directories from `lower`, a
//! fresh upper and work directory in the store's staging area); committing
//! turns overlay's whiteouts and opaque markers in the upper directory into
//! layer metadata (`upper`). With [`Backend::Native`] the merged chain is
//! copied into one fresh directory ([`RunRoot::Directory`]); committing keeps
//! what the RUN changed, compared with the copy (`native`).
//!
//! Mounting, namespaces and running the process are the runtime's business:
//! the overlay must be mounted with `userxattr` (also as real root), and
//! unmounted before [`RunSnapshot::commit`].

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::attrs::{self, Probe, disk_path, probe};
use crate::copy::{Manifest, copy_view};
use crate::entries::{Record, Special};
use crate::error::{Error, Result};
use crate::idmap::IdMap;
use crate::path::LayerPath;
use crate::stat::{EntryKind, EntryStat};
use crate::store::Staging;
use crate::view::View;
use crate::{Backend, SnapshotId, Snapshotter};

/// The directories a RUN's root filesystem is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRoot {
    /// Mount overlayfs with `lowerdir` = `lower` joined by `:` (topmost
    /// first, as overlay wants them), `upperdir`, `workdir` and the
    /// `userxattr` option, always (also as real root). `upper` and `work`
    /// are on the same filesystem.
    Overlay {
        /// Read-only layers, topmost first; never empty.
        lower: Vec<PathBuf>,
        /// Where the RUN's changes go.
        upper: PathBuf,
        /// Overlay's work directory.
        work: PathBuf,
    },
    /// Use this directory as the root as it is (bind-mount it).
    Directory(PathBuf),
}

/// A writable root filesystem for one RUN on top of a committed chain.
/// Dropped without [`commit`](Self::commit), its directories are removed.
#[derive(Debug)]
pub struct RunSnapshot {
    snapshotter: Snapshotter,
    staging: Staging,
    parent: Option<SnapshotId>,
    lower: View,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Overlay { lower: Vec<PathBuf>, work: PathBuf },
    Native { manifest: Manifest },
}

impl RunSnapshot {
    pub(crate) fn new(
        snapshotter: &Snapshotter,
        parent: Option<&SnapshotId>,
        backend: Backend,
    ) -> Result<Self> {
        let lower = View::new(snapshotter.store().load_chain(parent)?);
        let staging = snapshotter.store().new_staging()?;
        attrs::chmod(staging.fs(), 0o755)?;
        let kind = match backend {
            Backend::Overlay => {
                let mut dirs = crate::lower::lower_dirs(snapshotter, &lower)?;
                if dirs.is_empty() {
                    // Overlay needs at least one lower directory.
                    let empty = staging.dir().join("empty");
                    create_dir(&empty)?;
                    attrs::chmod(&empty, 0o755)?;
                    dirs.push(empty);
                }
                let work = staging.dir().join("work");
                create_dir(&work)?;
                Kind::Overlay { lower: dirs, work }
            }
            Backend::Native => {
                let manifest = copy_view(
                    &lower,
                    staging.fs(),
                    snapshotter.id_map(),
                    snapshotter.privileged(),
                )?;
                // A change made within the same clock tick as the copy
                // would keep the copy's ctime; let the tick pass.
                std::thread::sleep(Duration::from_millis(20));
                Kind::Native { manifest }
            }
        };
        Ok(Self {
            snapshotter: snapshotter.clone(),
            staging,
            parent: parent.cloned(),
            lower,
            kind,
        })
    }

    /// The committed snapshot this one is built on.
    pub fn parent(&self) -> Option<&SnapshotId> {
        self.parent.as_ref()
    }

    /// The merged view of the parent chain.
    pub fn lower(&self) -> &View {
        &self.lower
    }

    /// The backend this snapshot was prepared with.
    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Overlay { .. } => Backend::Overlay,
            Kind::Native { .. } => Backend::Native,
        }
    }

    /// The directories to build the RUN's root from.
    pub fn root(&self) -> RunRoot {
        match &self.kind {
            Kind::Overlay { lower, work } => RunRoot::Overlay {
                lower: lower.clone(),
                upper: self.staging.fs().to_owned(),
                work: work.clone(),
            },
            Kind::Native { .. } => RunRoot::Directory(self.staging.fs().to_owned()),
        }
    }

    /// Commits what the RUN changed as a new layer on the parent. Call it
    /// once nothing is mounted on the snapshot's directories any more.
    ///
    /// `remove_stubs` are paths inside the image (`/etc/hosts`, `/proc`, a
    /// mount target and each parent the sandbox had to create for it) that
    /// the sandbox created only as mount points: each is left out of the
    /// layer if it is still an empty file or empty directory and the parent
    /// chain has nothing there. Deeper paths go first, so parents made for
    /// a stub empty out before they are looked at.
    pub fn commit(self, remove_stubs: &[String]) -> Result<SnapshotId> {
        let id_map = self.snapshotter.id_map().clone();
        let upper = self.staging.fs().to_owned();
        let mut stubs = remove_stubs
            .iter()
            .map(|stub| LayerPath::from_user(Path::new(stub)))
            .collect::<Result<Vec<_>>>()?;
        stubs.sort_by_key(|stub| std::cmp::Reverse(stub.components().count()));
        let entries = match &self.kind {
            Kind::Overlay { work, .. } => {
                remove_stubs_in(&upper, &stubs, |path| Ok(self.lower.entry(path)?.is_some()))?;
                attrs::remove_any(work, &attrs::lstat_existing(work)?)?;
                crate::upper::commit_upper(&upper, &self.lower, &id_map)?
            }
            Kind::Native { manifest } => {
                remove_stubs_in(&upper, &stubs, |path| Ok(manifest.contains_key(path)))?;
                crate::native::commit_copy(
                    &upper,
                    manifest,
                    &id_map,
                    self.snapshotter.privileged(),
                )?
            }
        };
        let empty = self.staging.dir().join("empty");
        if let Some(metadata) = attrs::lstat(&empty)? {
            attrs::remove_any(&empty, &metadata)?;
        }
        self.snapshotter
            .store()
            .commit(self.staging, self.parent, &entries, None, id_map)
    }
}

fn create_dir(path: &Path) -> Result<()> {
    fs_err::create_dir(path).map_err(|source| Error::CreateDir {
        path: path.to_owned(),
        source,
    })
}

/// Removes each stub (deepest first) that is still an empty file or empty
/// directory in `root` and that `in_lower` says the parent chain lacks.
fn remove_stubs_in(
    root: &Path,
    stubs: &[LayerPath],
    in_lower: impl Fn(&LayerPath) -> Result<bool>,
) -> Result<()> {
    for stub in stubs {
        if stub.is_root() || in_lower(stub)? {
            continue;
        }
        let Probe::Found(metadata) = probe(root, stub)? else {
            continue;
        };
        let disk = disk_path(root, stub);
        let empty = if metadata.is_dir() {
            fs_err::read_dir(&disk)
                .map_err(|source| Error::ReadDir {
                    path: disk.clone(),
                    source,
                })?
                .next()
                .is_none()
        } else {
            metadata.is_file() && metadata.len() == 0
        };
        if empty {
            attrs::remove_any(&disk, &metadata)?;
        }
    }
    Ok(())
}

/// What the layers below said about an entry before a RUN touched it: its
/// attributes on disk then and in the image.
pub(crate) struct Before<'a> {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mode: u32,
    pub(crate) image: &'a EntryStat,
    /// The device an empty placeholder file stood for.
    pub(crate) special: Option<Special>,
    /// Image xattrs that were not on disk.
    pub(crate) hidden_xattrs: &'a BTreeMap<String, Vec<u8>>,
}

/// The record of an entry a RUN left at `disk` (its `lstat` is `metadata`,
/// its xattrs on disk `xattrs`): owners and modes come from the disk
/// through `id_map`, except that an owner or mode the RUN left as it was
/// (`before`, for an entry the RUN modified rather than created) keeps the
/// image's value, so overrides the disk could not hold survive.
pub(crate) fn record_of(
    metadata: &Metadata,
    xattrs: BTreeMap<String, Vec<u8>>,
    before: Option<&Before<'_>>,
    id_map: &IdMap,
) -> Record {
    let mut record = Record::default();
    let disk_uid = id_map.container_uid(metadata.uid());
    let disk_gid = id_map.container_gid(metadata.gid());
    let disk_mode = attrs::permission_bits(metadata);
    if let Some(before) = before {
        if metadata.uid() == before.uid && before.image.uid != disk_uid {
            record.uid = Some(before.image.uid);
        }
        if metadata.gid() == before.gid && before.image.gid != disk_gid {
            record.gid = Some(before.image.gid);
        }
        if !metadata.is_symlink() && disk_mode == before.mode && before.image.mode != disk_mode {
            record.mode = Some(before.image.mode);
        }
        if metadata.is_file() && metadata.len() == 0 {
            record.special = before.special;
        }
        record.xattrs.clone_from(before.hidden_xattrs);
    }
    record.xattrs.extend(xattrs);
    record
}

/// Whether `metadata` has the type of the image entry `image`; a device the
/// disk holds as an empty `placeholder` file counts as that file.
pub(crate) fn same_kind(metadata: &Metadata, image: &EntryStat, placeholder: bool) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    let file_type = metadata.file_type();
    match image.kind {
        EntryKind::Dir => file_type.is_dir(),
        EntryKind::Symlink => file_type.is_symlink(),
        EntryKind::File => file_type.is_file(),
        EntryKind::Socket => file_type.is_socket(),
        _ if placeholder => file_type.is_file(),
        EntryKind::Char => file_type.is_char_device(),
        EntryKind::Block => file_type.is_block_device(),
        EntryKind::Fifo => file_type.is_fifo(),
    }
}

/// The device an image entry is, as a placeholder record says it.
pub(crate) fn special_of(image: &EntryStat) -> Option<Special> {
    let device = image
        .device
        .map_or((0, 0), |device| (device.major, device.minor));
    match image.kind {
        EntryKind::Char => Some(Special::Char {
            major: device.0,
            minor: device.1,
        }),
        EntryKind::Block => Some(Special::Block {
            major: device.0,
            minor: device.1,
        }),
        EntryKind::Fifo => Some(Special::Fifo),
        _ => None,
    }
}
