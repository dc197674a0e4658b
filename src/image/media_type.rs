//! Media types of manifests, indexes, configs and layers, in their OCI and
//! Docker schema 2 spellings, and the mapping between a layer's compression
//! and its media type (BuildKit's `ConvertAllLayerMediaTypes`).

use super::CompressionKind;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_NONDISTRIBUTABLE_LAYER: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
pub const OCI_NONDISTRIBUTABLE_LAYER_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub const OCI_NONDISTRIBUTABLE_LAYER_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
pub const DOCKER_FOREIGN_LAYER_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// The manifest media type for the chosen family.
pub fn manifest(oci: bool) -> &'static str {
    if oci { OCI_MANIFEST } else { DOCKER_MANIFEST }
}

/// The index (manifest list) media type for the chosen family.
pub fn index(oci: bool) -> &'static str {
    if oci { OCI_INDEX } else { DOCKER_MANIFEST_LIST }
}

/// The config media type for the chosen family.
pub fn config(oci: bool) -> &'static str {
    if oci { OCI_CONFIG } else { DOCKER_CONFIG }
}

/// The layer media type for a compression in the chosen family.
pub fn layer(kind: CompressionKind, oci: bool) -> &'static str {
    match (kind, oci) {
        (CompressionKind::Uncompressed, true) => OCI_LAYER,
        (CompressionKind::Gzip, true) => OCI_LAYER_GZIP,
        (CompressionKind::Zstd, true) => OCI_LAYER_ZSTD,
        (CompressionKind::Uncompressed, false) => DOCKER_LAYER,
        (CompressionKind::Gzip, false) => DOCKER_LAYER_GZIP,
        (CompressionKind::Zstd, false) => DOCKER_LAYER_ZSTD,
    }
}

/// How a layer of this media type is compressed; `None` for a media type
/// that is no layer xb knows.
pub fn layer_compression(media_type: &str) -> Option<CompressionKind> {
    Some(match media_type {
        OCI_LAYER | OCI_NONDISTRIBUTABLE_LAYER | DOCKER_LAYER => CompressionKind::Uncompressed,
        OCI_LAYER_GZIP
        | OCI_NONDISTRIBUTABLE_LAYER_GZIP
        | DOCKER_LAYER_GZIP
        | DOCKER_FOREIGN_LAYER_GZIP => CompressionKind::Gzip,
        OCI_LAYER_ZSTD | OCI_NONDISTRIBUTABLE_LAYER_ZSTD | DOCKER_LAYER_ZSTD => {
            CompressionKind::Zstd
        }
        _ => return None,
    })
}

/// A layer media type spelled in the chosen family, keeping its compression;
/// unknown media types pass through unchanged.
pub fn convert_layer(media_type: &str, oci: bool) -> String {
    match layer_compression(media_type) {
        Some(kind) => layer(kind, oci).to_owned(),
        None => media_type.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_media_types_round_trip_between_families() {
        for kind in [
            CompressionKind::Uncompressed,
            CompressionKind::Gzip,
            CompressionKind::Zstd,
        ] {
            for oci in [true, false] {
                let media_type = layer(kind, oci);
                assert_eq!(layer_compression(media_type), Some(kind));
                assert_eq!(convert_layer(media_type, !oci), layer(kind, !oci));
            }
        }
        assert_eq!(convert_layer(DOCKER_LAYER_GZIP, true), OCI_LAYER_GZIP);
        assert_eq!(convert_layer("text/plain", true), "text/plain");
    }
}
