//! Writing build results: an image as an OCI image layout ([`export_oci`],
//! tar or directory) or a Docker archive ([`export_docker`], for
//! `docker load`/`podman load`), and a final filesystem as a directory
//! ([`export_local`]) or a tar ([`export_tar`]).
//!
//! Blobs arrive already written (in the store) and are copied, their
//! digests checked on the way; the manifest and indexes come from
//! [`crate::image`]. Outputs appear whole or not at all: everything is
//! written under `DEST.tmp-<pid>` and renamed into place. Archives are
//! deterministic: sorted entries, mtime 0, owner 0. Pushing to a registry
//! is `registry`'s; compressing layers is [`crate::image::compress`]'s.

mod atomic;
mod filesystem;
mod flatten;
mod layout;

use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::graph::{Digest, Platform};
use crate::image::{Annotations, Blob, Descriptor};

pub use filesystem::{Rootfs, RootfsTar, export_local, export_tar, write_directory_tar};
pub use flatten::write_view_tar;
pub use layout::{export_docker, export_oci};

/// An image ready to write: its config, its layer blobs (files), the
/// platform it is for, the names to give it and its annotations.
#[derive(Debug, Clone)]
pub struct ExportImage {
    /// The config JSON, as [`crate::image::build_config`] made it.
    pub config: Vec<u8>,
    /// Layer blobs, bottom first.
    pub layers: Vec<Blob>,
    pub platform: Platform,
    /// Image names (`-t`, `name=`); each becomes a tagged entry.
    pub names: Vec<String>,
    pub annotations: Annotations,
    /// OCI media types, else Docker schema 2.
    pub oci_mediatypes: bool,
    /// Recorded as `org.opencontainers.image.created` in the layout index.
    pub created: SystemTime,
}

/// What an image export wrote, for `--metadata-file` and `--iidfile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportResult {
    /// The manifest (`containerimage.digest`).
    pub manifest: Descriptor,
    /// The config (the image ID).
    pub config: Descriptor,
}

/// What failed while writing an output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("creating {path}")]
    CreateOutput {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing {path}")]
    WriteOutput {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing to standard output")]
    WriteStdout(#[source] io::Error),
    #[error("moving {from} into place as {to}")]
    Rename {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading blob {digest} from {path}")]
    ReadBlob {
        digest: Digest,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "blob {path} should be {expected} ({expected_size} bytes) but is {actual} ({actual_size} bytes)"
    )]
    BlobMismatch {
        path: PathBuf,
        expected: Digest,
        expected_size: u64,
        actual: Digest,
        actual_size: u64,
    },
    #[error("{path} exists and is not an OCI image layout; refusing to replace it")]
    DestinationNotLayout { path: PathBuf },
    #[error("a directory output cannot go to standard output (use dest=DIR with tar=false)")]
    DirectoryToStdout,
    #[error("docker archives hold only gzip or uncompressed layers, not {media_type}")]
    DockerLayer { media_type: String },
    #[error("producing the filesystem tar")]
    ProduceRootfs(#[source] io::Error),
    #[error("reading {path} for the filesystem tar")]
    ReadRootfs {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("extracting the filesystem into {path}")]
    Extract {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl crate::hint::Hint for Error {
    fn hint(&self) -> Option<&str> {
        match self {
            Error::DockerLayer { .. } => {
                Some("use compression=gzip (or uncompressed) with type=docker")
            }
            Error::DestinationNotLayout { .. } => Some("choose a new or empty directory for dest="),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
