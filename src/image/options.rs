//! The image-writing attributes of an `--output` (`type=oci|docker|image|
//! registry`) read into typed options: names, compression, media-type
//! family, annotations. Which exporter runs is `commands`' choice.

use super::{Annotations, Compression, CompressionKind, Error};
use crate::graph::Platform;
use crate::settings::{OutputKind, OutputSpec};

/// How to write an image, from one output's attributes.
#[expect(
    clippy::struct_excessive_bools,
    reason = "each is an independent true/false attribute of the output"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOutputOptions {
    /// `name=`, split on commas.
    pub names: Vec<String>,
    pub compression: Compression,
    /// Recompress stored layers that use another compression.
    pub force_compression: bool,
    /// OCI media types (else Docker schema 2).
    pub oci_mediatypes: bool,
    pub annotations: Annotations,
    /// Clamp file times in layers to `SOURCE_DATE_EPOCH`.
    pub rewrite_timestamp: bool,
    /// `tar=` (oci and docker outputs): an archive, else a directory.
    pub tar: bool,
}

fn boolean(spec: &OutputSpec, key: &str, default: bool) -> Result<bool, Error> {
    match spec.attrs.get(key).map(String::as_str) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(Error::Boolean {
            attribute: key.to_owned(),
            value: other.to_owned(),
        }),
    }
}

impl ImageOutputOptions {
    /// Reads `spec` for an image of `platform`. As in BuildKit, the docker
    /// output defaults to Docker media types and zstd forces OCI ones.
    pub fn from_spec(spec: &OutputSpec, platform: &Platform) -> Result<Self, Error> {
        let compression = Compression::parse(
            spec.attrs.get("compression").map(String::as_str),
            spec.attrs.get("compression-level").map(String::as_str),
        )?;
        let default_oci = spec.kind != OutputKind::Docker;
        let oci_mediatypes = boolean(spec, "oci-mediatypes", default_oci)?
            || compression.kind == CompressionKind::Zstd;
        let annotations = Annotations::from_attrs(&spec.attrs, platform)?;
        if !oci_mediatypes && !annotations.is_empty() {
            return Err(Error::AnnotationsNeedOciMediaTypes);
        }
        if let Some(key) = annotations.index_descriptor.keys().next() {
            return Err(Error::IndexDescriptorAnnotation {
                key: format!("annotation-index-descriptor.{key}"),
            });
        }
        let names = spec
            .attrs
            .get("name")
            .map(|names| {
                names
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            names,
            compression,
            force_compression: boolean(spec, "force-compression", false)?,
            oci_mediatypes,
            annotations,
            rewrite_timestamp: boolean(spec, "rewrite-timestamp", false)?,
            tar: boolean(spec, "tar", true)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(spec: &str) -> Result<ImageOutputOptions, Error> {
        let spec: OutputSpec = spec.parse().unwrap();
        ImageOutputOptions::from_spec(&spec, &"linux/amd64".parse().unwrap())
    }

    #[test]
    fn options_default_media_types_by_output() {
        assert!(options("type=oci,dest=o.tar").unwrap().oci_mediatypes);
        assert!(!options("type=docker,dest=o.tar").unwrap().oci_mediatypes);
        assert!(
            options("type=docker,dest=o.tar,compression=zstd")
                .unwrap()
                .oci_mediatypes
        );
        let named = options("type=oci,dest=o,tar=false,\"name=a:1,b:2\"").unwrap();
        assert_eq!(named.names, ["a:1", "b:2"]);
        assert!(!named.tar);
    }

    #[test]
    fn options_refuse_annotations_without_oci_media_types() {
        let error = options("type=oci,dest=o.tar,oci-mediatypes=false,annotation.a=b").unwrap_err();
        assert!(matches!(error, Error::AnnotationsNeedOciMediaTypes));
        let error = options("type=oci,dest=o.tar,annotation-index-descriptor.a=b").unwrap_err();
        assert!(matches!(error, Error::IndexDescriptorAnnotation { .. }));
    }
}
