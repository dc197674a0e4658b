//! The store's one error type. Each variant names the action that failed and
//! carries the path (and digest) it failed on; callers in `commands/` add
//! their own context with `anyhow`.

use std::io;
use std::path::PathBuf;

use crate::graph::Digest;

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("create store directory {path}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("open lock file {path}")]
    OpenLock { path: PathBuf, source: io::Error },
    #[error("lock {path}")]
    Lock {
        path: PathBuf,
        source: nix::errno::Errno,
    },
    #[error("read store version {path}")]
    ReadVersion { path: PathBuf, source: io::Error },
    #[error(
        "store {path} has format version {found:?}, this xb uses version {expected}; move it away or pass --root"
    )]
    UnsupportedVersion {
        path: PathBuf,
        found: String,
        expected: u32,
    },
    #[error(
        "{path} is not empty and is not an xb store (it has no version file); pass an empty or new directory"
    )]
    NotAStore { path: PathBuf },
    #[error("write store version {path}")]
    WriteVersion { path: PathBuf, source: io::Error },
    #[error("create temporary file {path}")]
    CreateTemp { path: PathBuf, source: io::Error },
    #[error("read the data for a blob")]
    ReadBlobInput { source: io::Error },
    #[error("write blob {path}")]
    WriteBlob { path: PathBuf, source: io::Error },
    #[error("blob digest mismatch: expected {expected}, got {actual}")]
    BlobDigestMismatch { expected: Digest, actual: Digest },
    #[error("move blob {digest} into place at {path}")]
    CommitBlob {
        digest: Digest,
        path: PathBuf,
        source: io::Error,
    },
    #[error("blob {digest} is not in the store")]
    MissingBlob { digest: Digest },
    #[error("open blob {path}")]
    OpenBlob { path: PathBuf, source: io::Error },
    #[error("stat blob {path}")]
    StatBlob { path: PathBuf, source: io::Error },
    #[error("blob {path} is corrupt: expected {expected}, its content hashes to {actual}")]
    CorruptBlob {
        path: PathBuf,
        expected: Digest,
        actual: Digest,
    },
    #[error("serialize the record for cache key {key}")]
    SerializeRecord {
        key: Digest,
        source: serde_json::Error,
    },
    #[error("write record {path}")]
    WriteRecord { path: PathBuf, source: io::Error },
    #[error("write reference {path}")]
    WriteRef { path: PathBuf, source: io::Error },
    #[error("read record {path}")]
    ReadRecord { path: PathBuf, source: io::Error },
    #[error("invalid store name {name:?} (expected lowercase letters, digits and '-')")]
    InvalidName { name: String },
    #[error("{name:?} is reserved for the store's own layout")]
    ReservedName { name: String },
    #[error("scan store directory {path}")]
    ScanStore { path: PathBuf, source: io::Error },
    #[error("remove {path}")]
    RemoveEntry { path: PathBuf, source: io::Error },
    #[error("query the size of the filesystem holding {path}")]
    StatFilesystem {
        path: PathBuf,
        source: nix::errno::Errno,
    },
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
