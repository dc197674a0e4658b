//! Manifests as registries serve them: the four media types xb reads (OCI
//! index and image manifest, Docker manifest list and schema 2 manifest),
//! telling an index from an image manifest, and picking the entry of an
//! index that matches a [`Platform`]. Parsing the JSON is oci-spec's job;
//! fetching and verifying the bytes is the client's.

use std::fmt::Write as _;

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use super::error::{Error, Result};
use crate::graph::{Digest, Platform};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The `Accept` header of a manifest request: every type xb can read.
pub(crate) fn accept_header() -> String {
    [
        OCI_INDEX,
        OCI_MANIFEST,
        DOCKER_MANIFEST_LIST,
        DOCKER_MANIFEST,
    ]
    .join(", ")
}

/// What a manifest's bytes describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// An OCI index or Docker manifest list: one manifest per platform.
    Index,
    /// An OCI or Docker schema 2 image manifest: a config and layers.
    Image,
}

impl ManifestKind {
    /// The kind `media_type` names, `None` for types xb cannot read.
    pub fn of(media_type: &str) -> Option<Self> {
        match media_type {
            OCI_INDEX | DOCKER_MANIFEST_LIST => Some(Self::Index),
            OCI_MANIFEST | DOCKER_MANIFEST => Some(Self::Image),
            _ => None,
        }
    }
}

/// The media type of a manifest: the `mediaType` field when the document
/// has one, else the `Content-Type` the registry sent, else the shape of
/// the JSON (OCI documents may omit `mediaType`).
pub(crate) fn media_type_of(content_type: Option<&str>, bytes: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default, rename = "mediaType")]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
        #[serde(default)]
        config: Option<serde_json::Value>,
    }
    let probe = serde_json::from_slice::<Probe>(bytes).ok();
    if let Some(media_type) = probe.as_ref().and_then(|probe| probe.media_type.clone()) {
        return media_type;
    }
    let content_type = content_type
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .filter(|value| ManifestKind::of(value).is_some());
    if let Some(content_type) = content_type {
        return content_type;
    }
    match probe {
        Some(probe) if probe.manifests.is_some() => OCI_INDEX.to_owned(),
        Some(probe) if probe.config.is_some() => OCI_MANIFEST.to_owned(),
        _ => content_type.unwrap_or_default(),
    }
}

/// One blob an image manifest lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDescriptor {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
}

/// One manifest an index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    /// Normalised (`aarch64` → `arm64`), `None` when the entry has none.
    pub platform: Option<Platform>,
}

/// The config and layers of an image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageParts {
    pub config: LayerDescriptor,
    pub layers: Vec<LayerDescriptor>,
}

fn descriptor(reference: &str, descriptor: &Descriptor) -> Result<LayerDescriptor> {
    let text = descriptor.digest().to_string();
    let digest = text
        .parse::<Digest>()
        .map_err(|_| Error::UnsupportedDigest {
            reference: reference.to_owned(),
            digest: text,
        })?;
    Ok(LayerDescriptor {
        digest,
        size: descriptor.size(),
        media_type: descriptor.media_type().to_string(),
    })
}

/// The config and layers of the image manifest `bytes`.
pub fn parse_image_manifest(reference: &str, bytes: &[u8]) -> Result<ImageParts> {
    let manifest: ImageManifest =
        serde_json::from_slice(bytes).map_err(|source| Error::ParseManifest {
            reference: reference.to_owned(),
            source,
        })?;
    Ok(ImageParts {
        config: descriptor(reference, manifest.config())?,
        layers: manifest
            .layers()
            .iter()
            .map(|layer| descriptor(reference, layer))
            .collect::<Result<_>>()?,
    })
}

/// The entries of the index `bytes`.
pub fn parse_index(reference: &str, bytes: &[u8]) -> Result<Vec<IndexEntry>> {
    let index: ImageIndex =
        serde_json::from_slice(bytes).map_err(|source| Error::ParseManifest {
            reference: reference.to_owned(),
            source,
        })?;
    index
        .manifests()
        .iter()
        .map(|entry| {
            let parts = descriptor(reference, entry)?;
            let platform = entry.platform().as_ref().and_then(|platform| {
                let mut text = format!("{}/{}", platform.os(), platform.architecture());
                if let Some(variant) = platform.variant() {
                    let _ = write!(text, "/{variant}");
                }
                text.parse::<Platform>().ok()
            });
            Ok(IndexEntry {
                digest: parts.digest,
                size: parts.size,
                media_type: parts.media_type,
                platform,
            })
        })
        .collect()
}

/// The index entry to use for `wanted`: the same os and architecture, and
/// the same variant when there is one; else (like containerd) the closest
/// lower ARM variant, or an entry that names no variant.
pub fn select_platform<'a>(entries: &'a [IndexEntry], wanted: &Platform) -> Option<&'a IndexEntry> {
    let candidates = entries.iter().filter(|entry| {
        entry.platform.as_ref().is_some_and(|platform| {
            platform.os == wanted.os && platform.architecture == wanted.architecture
        }) && ManifestKind::of(&entry.media_type) != Some(ManifestKind::Index)
    });
    let variant_of = |entry: &IndexEntry| {
        entry
            .platform
            .as_ref()
            .and_then(|platform| platform.variant.clone())
    };
    let mut best: Option<(&IndexEntry, u32)> = None;
    for entry in candidates {
        let variant = variant_of(entry);
        let rank = if variant == wanted.variant {
            3
        } else if variant.is_none() {
            1
        } else if wanted.architecture == "arm"
            && arm_level(variant.as_deref()) < arm_level(wanted.variant.as_deref())
        {
            // Higher compatible variants beat lower ones, all below exact.
            2
        } else {
            0
        };
        if rank == 0 {
            continue;
        }
        let better = match best {
            None => true,
            Some((current, current_rank)) => {
                rank > current_rank
                    || (rank == 2
                        && current_rank == 2
                        && arm_level(variant.as_deref())
                            > arm_level(variant_of(current).as_deref()))
            }
        };
        if better {
            best = Some((entry, rank));
        }
    }
    best.map(|(entry, _)| entry)
}

fn arm_level(variant: Option<&str>) -> u32 {
    variant
        .and_then(|variant| variant.strip_prefix('v'))
        .and_then(|level| level.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(platform: &str, fill: char) -> IndexEntry {
        IndexEntry {
            digest: format!("sha256:{}", fill.to_string().repeat(64))
                .parse()
                .unwrap(),
            size: 100,
            media_type: OCI_MANIFEST.to_owned(),
            platform: Some(platform.parse().unwrap()),
        }
    }

    fn pick(entries: &[IndexEntry], wanted: &str) -> Option<String> {
        select_platform(entries, &wanted.parse().unwrap())
            .and_then(|entry| entry.platform.as_ref())
            .map(ToString::to_string)
    }

    #[test]
    fn platform_selection_matches_os_architecture_and_variant() {
        let entries = [
            entry("linux/amd64", 'a'),
            entry("linux/arm64/v8", 'b'),
            entry("linux/arm/v6", 'c'),
            entry("linux/arm/v7", 'd'),
            entry("windows/amd64", 'e'),
        ];
        assert_eq!(
            pick(&entries, "linux/amd64").as_deref(),
            Some("linux/amd64")
        );
        assert_eq!(
            pick(&entries, "linux/arm64").as_deref(),
            Some("linux/arm64")
        );
        assert_eq!(
            pick(&entries, "linux/arm/v7").as_deref(),
            Some("linux/arm/v7")
        );
        assert_eq!(
            pick(&entries, "linux/arm/v6").as_deref(),
            Some("linux/arm/v6")
        );
        assert_eq!(
            pick(&entries, "windows/amd64").as_deref(),
            Some("windows/amd64")
        );
        assert_eq!(pick(&entries, "linux/s390x"), None);
        assert_eq!(pick(&entries, "linux/arm/v5"), None, "no lower ARM variant");
    }

    #[test]
    fn arm_falls_back_to_the_closest_lower_variant() {
        let entries = [entry("linux/arm/v5", 'a'), entry("linux/arm/v6", 'b')];
        assert_eq!(
            pick(&entries, "linux/arm/v7").as_deref(),
            Some("linux/arm/v6")
        );
    }

    #[test]
    fn amd64_variants_do_not_match_a_plain_request() {
        let entries = [entry("linux/amd64/v3", 'a')];
        assert_eq!(pick(&entries, "linux/amd64"), None);
        let entries = [entry("linux/amd64/v3", 'a'), entry("linux/amd64", 'b')];
        assert_eq!(
            pick(&entries, "linux/amd64").as_deref(),
            Some("linux/amd64")
        );
        assert_eq!(
            pick(&entries, "linux/amd64/v3").as_deref(),
            Some("linux/amd64/v3")
        );
    }

    #[test]
    fn media_type_comes_from_document_header_or_shape() {
        assert_eq!(
            media_type_of(
                None,
                br#"{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#
            ),
            DOCKER_MANIFEST
        );
        assert_eq!(
            media_type_of(
                Some("application/vnd.oci.image.index.v1+json; charset=utf-8"),
                b"{}"
            ),
            OCI_INDEX
        );
        assert_eq!(
            media_type_of(Some("application/json"), br#"{"manifests":[]}"#),
            OCI_INDEX
        );
        assert_eq!(media_type_of(None, br#"{"config":{}}"#), OCI_MANIFEST);
        assert_eq!(
            ManifestKind::of(DOCKER_MANIFEST_LIST),
            Some(ManifestKind::Index)
        );
        assert_eq!(
            ManifestKind::of("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            None
        );
    }

    #[test]
    fn index_entries_are_parsed_with_normalised_platforms() {
        let digest = format!("sha256:{}", "1".repeat(64));
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_LIST}","manifests":[
                {{"mediaType":"{DOCKER_MANIFEST}","digest":"{digest}","size":7,
                  "platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
                {{"mediaType":"{OCI_MANIFEST}","digest":"{digest}","size":8,
                  "platform":{{"os":"unknown","architecture":"unknown"}}}}]}}"#
        );
        let entries = parse_index("ref", index.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].platform.as_ref().unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(entries[0].size, 7);
        assert!(parse_index("ref", b"{").is_err());
    }
}
