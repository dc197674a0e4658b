//! Image manifests and indexes (OCI, or Docker schema 2 manifest and
//! manifest list when OCI media types are off), their descriptors, and the
//! `index.json` of an OCI image layout with the name annotations containerd
//! and BuildKit write (`io.containerd.image.name`,
//! `org.opencontainers.image.ref.name`).
//!
//! These are xb's own serde structs rather than `oci-spec`'s: oci-spec keeps
//! annotations in a `HashMap`, whose order changes from run to run and with
//! it every digest. Fields follow the Go structs' order; maps are sorted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Annotations, Blob, media_type};
use crate::graph::{Digest, Platform, Reference};

/// `org.opencontainers.image.ref.name`: the tag in a layout's index.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// `io.containerd.image.name`: the full image name in a layout's index.
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// `org.opencontainers.image.created`.
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";

/// A platform as descriptors carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPlatform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl From<&Platform> for ManifestPlatform {
    fn from(platform: &Platform) -> Self {
        Self {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            variant: platform.variant.clone(),
        }
    }
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<ManifestPlatform>,
}

impl Descriptor {
    /// A descriptor of `bytes`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Self {
        Self {
            media_type: media_type.to_owned(),
            digest: Digest::of(bytes),
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
            platform: None,
        }
    }
}

/// An image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (or Docker manifest list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A manifest as bytes with its descriptor and its config's descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltManifest {
    pub bytes: Vec<u8>,
    /// The manifest's descriptor, with `annotation-manifest-descriptor.*`
    /// and the platform.
    pub descriptor: Descriptor,
    pub config: Descriptor,
}

impl Manifest {
    /// The manifest of an image whose config is `config` and whose layers
    /// are `layers` (media types respelled for the family).
    pub fn new(config: &[u8], layers: &[Blob], oci: bool, annotations: &Annotations) -> Self {
        Self {
            schema_version: 2,
            media_type: media_type::manifest(oci).to_owned(),
            config: Descriptor::of(media_type::config(oci), config),
            layers: layers
                .iter()
                .map(|blob| Descriptor {
                    media_type: media_type::convert_layer(&blob.media_type, oci),
                    digest: blob.digest,
                    size: blob.size,
                    annotations: BTreeMap::new(),
                    platform: None,
                })
                .collect(),
            annotations: annotations.manifest.clone(),
        }
    }

    /// Serializes the manifest and describes it.
    pub fn build(&self, platform: &Platform, annotations: &Annotations) -> BuiltManifest {
        let bytes = serde_json::to_vec(self).expect("a manifest always serializes");
        let mut descriptor = Descriptor::of(&self.media_type, &bytes);
        descriptor
            .annotations
            .clone_from(&annotations.manifest_descriptor);
        descriptor.platform = Some(platform.into());
        BuiltManifest {
            bytes,
            descriptor,
            config: self.config.clone(),
        }
    }
}

impl Index {
    pub fn new(
        oci: bool,
        manifests: Vec<Descriptor>,
        annotations: BTreeMap<String, String>,
    ) -> Self {
        Self {
            schema_version: 2,
            media_type: media_type::index(oci).to_owned(),
            manifests,
            annotations,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an index always serializes")
    }

    /// The `index.json` of an OCI layout holding one image: one entry per
    /// name (containerd's `WithManifest`), or one unnamed entry, each
    /// stamped with the creation time; `index` annotations on the index.
    pub fn layout(
        manifest: &Descriptor,
        names: &[String],
        created: &str,
        annotations: &Annotations,
    ) -> Self {
        let mut base = manifest.clone();
        base.annotations
            .entry(ANNOTATION_CREATED.to_owned())
            .or_insert_with(|| created.to_owned());
        let manifests = if names.is_empty() {
            vec![base]
        } else {
            names
                .iter()
                .map(|name| {
                    let mut entry = base.clone();
                    entry
                        .annotations
                        .insert(ANNOTATION_IMAGE_NAME.to_owned(), full_name(name));
                    entry
                        .annotations
                        .insert(ANNOTATION_REF_NAME.to_owned(), reference_name(name));
                    entry
                })
                .collect()
        };
        Self::new(true, manifests, annotations.index.clone())
    }
}

/// containerd's `ociReferenceName`: the tag alone when the name has one,
/// else the whole name.
pub fn reference_name(name: &str) -> String {
    match name.parse::<Reference>() {
        Ok(reference) if reference.digest.is_none() => {
            reference.tag.unwrap_or_else(|| "latest".to_owned())
        }
        _ => name.to_owned(),
    }
}

/// The full name containerd records (`docker.io/library/app:latest`), or
/// the name as given when it does not parse.
pub fn full_name(name: &str) -> String {
    name.parse::<Reference>()
        .map_or_else(|_| name.to_owned(), |reference| reference.canonical())
}

/// Docker's familiar form (`app:latest`, `org/app:1`, `host:5000/app:1`)
/// as `docker save` writes it in `RepoTags`.
pub fn familiar_name(name: &str) -> String {
    let Ok(reference) = name.parse::<Reference>() else {
        return name.to_owned();
    };
    let mut repository = if reference.registry == crate::graph::reference::DOCKER_HUB {
        reference
            .repository
            .strip_prefix("library/")
            .unwrap_or(&reference.repository)
            .to_owned()
    } else {
        format!("{}/{}", reference.registry, reference.repository)
    };
    repository.push(':');
    repository.push_str(reference.tag.as_deref().unwrap_or("latest"));
    repository
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer() -> Blob {
        Blob {
            digest: Digest::of(b"layer"),
            size: 5,
            media_type: media_type::OCI_LAYER_GZIP.to_owned(),
            path: "/nonexistent".into(),
        }
    }

    #[test]
    fn manifest_uses_the_chosen_media_types() {
        let annotations = Annotations::default();
        let oci = Manifest::new(b"{}", &[layer()], true, &annotations);
        assert_eq!(oci.media_type, media_type::OCI_MANIFEST);
        assert_eq!(oci.config.media_type, media_type::OCI_CONFIG);
        assert_eq!(oci.layers[0].media_type, media_type::OCI_LAYER_GZIP);
        let docker = Manifest::new(b"{}", &[layer()], false, &annotations);
        assert_eq!(docker.media_type, media_type::DOCKER_MANIFEST);
        assert_eq!(docker.config.media_type, media_type::DOCKER_CONFIG);
        assert_eq!(docker.layers[0].media_type, media_type::DOCKER_LAYER_GZIP);
        assert_eq!(
            Index::new(false, vec![], BTreeMap::new()).media_type,
            media_type::DOCKER_MANIFEST_LIST
        );
    }

    #[test]
    fn manifest_json_is_compact_sorted_and_stable() {
        let mut annotations = Annotations::default();
        for key in ["z", "a", "m", "b", "y"] {
            annotations.manifest.insert(key.to_owned(), "v".to_owned());
        }
        let platform: Platform = "linux/amd64".parse().unwrap();
        let manifest = Manifest::new(b"{}", &[layer()], true, &annotations);
        let built = manifest.build(&platform, &annotations);
        let text = String::from_utf8(built.bytes.clone()).unwrap();
        assert!(text.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"#), "{text}");
        assert!(
            text.ends_with(r#""annotations":{"a":"v","b":"v","m":"v","y":"v","z":"v"}}"#),
            "{text}"
        );
        assert_eq!(built.descriptor.digest, Digest::of(&built.bytes));
        let again =
            Manifest::new(b"{}", &[layer()], true, &annotations).build(&platform, &annotations);
        assert_eq!(again.bytes, built.bytes);
        // The OCI reference types read it.
        oci_spec::image::ImageManifest::from_reader(built.bytes.as_slice()).unwrap();
    }

    #[test]
    fn layout_index_names_each_tag() {
        let descriptor = Descriptor::of(media_type::OCI_MANIFEST, b"{}");
        let names = [
            "app:1".to_owned(),
            "registry.example:5000/team/app".to_owned(),
        ];
        let index = Index::layout(
            &descriptor,
            &names,
            "2024-01-01T00:00:00Z",
            &Annotations::default(),
        );
        let entries: Vec<_> = index
            .manifests
            .iter()
            .map(|entry| {
                (
                    entry.annotations[ANNOTATION_IMAGE_NAME].as_str(),
                    entry.annotations[ANNOTATION_REF_NAME].as_str(),
                    entry.annotations[ANNOTATION_CREATED].as_str(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("docker.io/library/app:1", "1", "2024-01-01T00:00:00Z"),
                (
                    "registry.example:5000/team/app:latest",
                    "latest",
                    "2024-01-01T00:00:00Z"
                ),
            ]
        );
        oci_spec::image::ImageIndex::from_reader(index.to_bytes().as_slice()).unwrap();
    }

    #[test]
    fn names_take_docker_and_containerd_forms() {
        assert_eq!(familiar_name("app"), "app:latest");
        assert_eq!(familiar_name("docker.io/library/app:1"), "app:1");
        assert_eq!(familiar_name("org/app:2"), "org/app:2");
        assert_eq!(
            familiar_name("127.0.0.1:5000/app"),
            "127.0.0.1:5000/app:latest"
        );
        assert_eq!(full_name("app"), "docker.io/library/app:latest");
    }
}
