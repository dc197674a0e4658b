//! The OCI image model xb writes: the image config a stage ends with
//! ([`config`], with BuildKit's history lines in [`history`]), manifests and
//! indexes in OCI or Docker media types ([`manifest`], [`media_type`]), the
//! `annotation*` output attributes ([`annotations`]) and layer compression
//! ([`compress`]).
//!
//! Everything here turns values into bytes and digests; it leaves pulling
//! images to `source`, where blobs live to the store, and writing archives
//! or pushing to `exporter` and `registry`. JSON is written compact, in the
//! field order of the Go structs Docker and BuildKit use, with maps sorted,
//! so the same inputs always give the same digests.

pub mod annotations;
pub mod compress;
pub mod config;
pub mod config_file;
pub mod history;
pub mod manifest;
pub mod media_type;
pub mod options;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::graph::Digest;

pub use annotations::Annotations;
pub use compress::{Compression, CompressionKind, LayerBlob, compress_layer, compress_layers};
pub use config::{ConfigInputs, build_config, format_created};
pub use history::{HistoryEntry, history_entry};
pub use manifest::{Descriptor, Index, Manifest, ManifestPlatform};
pub use options::ImageOutputOptions;

/// A blob already written to a file: a layer (or config) with its digest,
/// size and media type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    /// Where the bytes are.
    pub path: PathBuf,
}

/// What went wrong turning image values into bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("base image config is not valid JSON")]
    ParseBaseConfig(#[source] serde_json::Error),
    #[error("compression-level={value:?} must be a whole number from {min} to {max} for {kind}")]
    CompressionLevel {
        value: String,
        kind: &'static str,
        min: i32,
        max: i32,
    },
    #[error("compression={0:?} is not supported (use gzip, zstd or uncompressed)")]
    UnsupportedCompression(String),
    #[error("{attribute}={value:?} must be true or false")]
    Boolean { attribute: String, value: String },
    #[error(
        "unrecognized annotation type in {key:?} (expected annotation, annotation-manifest, annotation-manifest-descriptor, annotation-index or annotation-index-descriptor)"
    )]
    AnnotationType { key: String },
    #[error("invalid platform in annotation {key:?}")]
    AnnotationPlatform {
        key: String,
        #[source]
        source: crate::graph::platform::PlatformError,
    },
    #[error("annotations cannot be exported with oci-mediatypes=false")]
    AnnotationsNeedOciMediaTypes,
    #[error("{key:?}: index descriptor annotations need a multi-platform build")]
    IndexDescriptorAnnotation { key: String },
    #[error("reading uncompressed layer {diff_id}")]
    ReadLayer {
        diff_id: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("writing compressed layer to {path}")]
    WriteLayer {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "layer {diff_id} read back as {actual}: the uncompressed stream does not match its diff id"
    )]
    DiffIdMismatch { diff_id: Digest, actual: Digest },
    #[error("unknown layer media type {0:?}")]
    UnknownLayerMediaType(String),
}
