//! The crate's one error type.
//!
//! Each variant is named for the action that failed and carries the path,
//! snapshot or tar entry it failed on. Which action to take on an error is
//! left to callers.

use std::io;
use std::path::PathBuf;

use crate::SnapshotId;

/// Everything that can go wrong while storing, reading or writing snapshots.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A directory of the store could not be created.
    #[error("failed to create directory {}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A string is not a snapshot id.
    #[error("invalid snapshot id {id:?} (expected 32 lowercase hex digits)")]
    ParseSnapshotId {
        /// The string as given.
        id: String,
    },
    /// No committed snapshot has this id.
    #[error("snapshot {id} does not exist")]
    FindSnapshot {
        /// The missing snapshot.
        id: SnapshotId,
    },
    /// A snapshot's metadata file could not be read.
    #[error("failed to read snapshot metadata {}", path.display())]
    ReadMetadata {
        /// The metadata file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A snapshot's metadata file is not valid.
    #[error("failed to parse snapshot metadata {}", path.display())]
    ParseMetadata {
        /// The metadata file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A snapshot's metadata file could not be written.
    #[error("failed to write snapshot metadata {}", path.display())]
    WriteMetadata {
        /// The metadata file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The layer tar stream could not be read.
    #[error("failed to read layer tar")]
    ReadLayer {
        /// The underlying error.
        source: io::Error,
    },
    /// A tar entry would write outside the layer or through a link, so the
    /// whole tar is refused.
    #[error("refusing layer tar entry {entry:?}: {reason}")]
    UnsafeEntry {
        /// The entry's path as written in the tar.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// A tar entry has a type layers cannot hold.
    #[error("unsupported type {:?} of layer tar entry {entry:?}", char::from(*entry_type))]
    UnsupportedEntry {
        /// The entry's path as written in the tar.
        entry: String,
        /// The tar type flag.
        entry_type: u8,
    },
    /// A tar entry could not be written into the layer.
    #[error("failed to extract layer tar entry {entry:?} to {}", path.display())]
    ExtractEntry {
        /// The entry's path as written in the tar.
        entry: String,
        /// Where it was being written.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A path given to the snapshotter is not a path inside a snapshot.
    #[error("invalid snapshot path {}: {reason}", path.display())]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A file of a snapshot could not be inspected.
    #[error("failed to inspect {}", path.display())]
    StatEntry {
        /// The file on disk.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The owner, mode or times of a file could not be changed.
    #[error("failed to set attributes of {}", path.display())]
    SetAttributes {
        /// The file on disk.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file could not be removed from a writable snapshot.
    #[error("failed to remove {}", path.display())]
    RemovePath {
        /// The file on disk.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A directory of a layer could not be listed.
    #[error("failed to list directory {}", path.display())]
    ReadDir {
        /// The directory on disk.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file of a snapshot could not be opened.
    #[error("failed to open {}", path.display())]
    OpenFile {
        /// The file on disk.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A path does not exist in a snapshot.
    #[error("{} does not exist in the snapshot", path.display())]
    NotFound {
        /// The path inside the snapshot.
        path: PathBuf,
    },
    /// A path that must be a directory is something else.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The path inside the snapshot.
        path: PathBuf,
    },
    /// A path that must be a regular file is something else.
    #[error("{} is not a regular file", path.display())]
    NotARegularFile {
        /// The path inside the snapshot.
        path: PathBuf,
    },
    /// Resolving a path met too many symbolic links.
    #[error("too many levels of symbolic links resolving {}", path.display())]
    ResolveSymlinks {
        /// The path inside the snapshot.
        path: PathBuf,
    },
    /// A writable snapshot could not be committed.
    #[error("failed to commit snapshot {} as {}", from.display(), to.display())]
    CommitSnapshot {
        /// The staging directory.
        from: PathBuf,
        /// The committed directory.
        to: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A snapshot cannot be removed while another one is built on it.
    #[error("snapshot {id} is the parent of snapshot {child}")]
    RemoveParent {
        /// The snapshot asked to be removed.
        id: SnapshotId,
        /// A snapshot whose parent it is.
        child: SnapshotId,
    },
    /// A snapshot's directory could not be removed.
    #[error("failed to remove snapshot directory {}", path.display())]
    RemoveSnapshot {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A layer holds a file whose name is reserved for whiteouts.
    #[error("{} uses the reserved whiteout prefix .wh.", path.display())]
    ReservedName {
        /// The path inside the layer.
        path: PathBuf,
    },
    /// The layer tar could not be written.
    #[error("failed to write layer tar entry {}", path.display())]
    WriteDiff {
        /// The entry being written (empty for the end of the archive).
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The process's user or group id map could not be read.
    #[error("failed to read id map {}", path.display())]
    ReadIdMap {
        /// The map file (`/proc/self/uid_map` or `gid_map`).
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A line of an id map is not `inside outside count`.
    #[error("invalid line {line:?} in id map {}", path.display())]
    ParseIdMap {
        /// The map file.
        path: PathBuf,
        /// The line as read.
        line: String,
    },
    /// The extended attributes of a file could not be read.
    #[error("failed to read extended attributes of {}", path.display())]
    ReadXattr {
        /// The file on disk.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// An extended attribute could not be set or removed.
    #[error("failed to write extended attribute {name} of {}", path.display())]
    WriteXattr {
        /// The file on disk.
        path: PathBuf,
        /// The attribute.
        name: String,
        /// The underlying error.
        source: io::Error,
    },
    /// An overlay whiteout (character device 0/0) could not be created.
    #[error("failed to create overlay whiteout {}", path.display())]
    MakeWhiteout {
        /// The whiteout on disk.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// An entry of a snapshot could not be copied into a directory.
    #[error("failed to copy {} to {}", from.display(), to.display())]
    CopyEntry {
        /// The source on disk.
        from: PathBuf,
        /// The copy.
        to: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A directory built for overlay mounts (a mask or a flattened chain)
    /// could not be moved into place.
    #[error("failed to publish {} as {}", from.display(), to.display())]
    PublishCache {
        /// The directory as built.
        from: PathBuf,
        /// Where it belongs.
        to: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
