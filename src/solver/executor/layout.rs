//! Images from an OCI image layout on disk (`--build-context
//! name=oci-layout://PATH[:TAG|@DIGEST]`), for air-gapped hosts: the
//! manifest is chosen by tag or digest (and by platform through an index),
//! every blob is copied into the store with its digest checked, and the
//! layers are applied as for a registry pull. No network is touched.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::graph::{Digest, Platform, VertexId};
use crate::registry::{ManifestKind, parse_image_manifest, parse_index, select_platform};

use super::image::config_diff_ids;
use super::{BuildExecutor, ExecuteError, ImageInfo, Output};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Why a layout cannot give the image asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    #[error("failed to read {path}")]
    ReadLayout {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not an OCI image layout index")]
    ParseIndex {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the OCI layout {path} has no image {wanted}")]
    NoSuchImage { path: PathBuf, wanted: String },
    #[error("the OCI layout {path} has no manifest for {platform}")]
    NoPlatform { path: PathBuf, platform: Platform },
}

fn read(path: &Path) -> Result<Vec<u8>, LayoutError> {
    fs_err::read(path).map_err(|source| LayoutError::ReadLayout {
        path: path.to_owned(),
        source,
    })
}

fn blob_path(layout: &Path, digest: &Digest) -> PathBuf {
    layout.join("blobs/sha256").join(digest.hex())
}

#[derive(Serialize)]
struct LayoutKey<'a> {
    kind: &'static str,
    manifest: &'a Digest,
    platform: &'a Platform,
}

impl BuildExecutor<'_> {
    /// Copies a layout blob into the store, checking its digest.
    fn import_blob(&self, layout: &Path, digest: &Digest) -> Result<(), ExecuteError> {
        if self.store.has_blob(digest) {
            return Ok(());
        }
        let path = blob_path(layout, digest);
        let file = fs_err::File::open(&path).map_err(|source| LayoutError::ReadLayout {
            path: path.clone(),
            source,
        })?;
        self.store.write_blob(Some(*digest), file)?;
        Ok(())
    }

    /// A blob of the layout, read through the store (so its digest is checked).
    fn layout_blob(&self, layout: &Path, digest: &Digest) -> Result<Vec<u8>, ExecuteError> {
        self.import_blob(layout, digest)?;
        let mut bytes = Vec::new();
        self.store
            .open_blob(digest)?
            .read_to_end(&mut bytes)
            .map_err(|source| LayoutError::ReadLayout {
                path: blob_path(layout, digest),
                source,
            })?;
        Ok(bytes)
    }

    pub(super) fn load_layout(
        &self,
        id: VertexId,
        path: &str,
        tag: Option<&str>,
        digest: Option<&Digest>,
        platform: &Platform,
    ) -> Result<(Output, bool), ExecuteError> {
        let layout = Path::new(path);
        let index_path = layout.join("index.json");
        let index: serde_json::Value =
            serde_json::from_slice(&read(&index_path)?).map_err(|source| {
                LayoutError::ParseIndex {
                    path: index_path.clone(),
                    source,
                }
            })?;
        let entries = index["manifests"].as_array().cloned().unwrap_or_default();
        let wanted = digest.map_or_else(|| tag.unwrap_or("latest").to_owned(), ToString::to_string);
        let entry = entries
            .iter()
            .find(|entry| match (digest, tag) {
                (Some(digest), _) => entry["digest"].as_str() == Some(digest.to_string().as_str()),
                (None, Some(tag)) => entry["annotations"][REF_NAME].as_str() == Some(tag),
                (None, None) => entries.len() == 1,
            })
            .ok_or_else(|| LayoutError::NoSuchImage {
                path: layout.to_owned(),
                wanted: wanted.clone(),
            })?;
        let mut manifest_digest: Digest = entry["digest"]
            .as_str()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| LayoutError::NoSuchImage {
                path: layout.to_owned(),
                wanted: wanted.clone(),
            })?;
        let mut media_type = entry["mediaType"].as_str().unwrap_or_default().to_owned();
        let label = format!("oci-layout://{path}:{wanted}");
        let mut manifest = self.layout_blob(layout, &manifest_digest)?;
        if ManifestKind::of(&media_type) == Some(ManifestKind::Index) {
            let entries = parse_index(&label, &manifest)?;
            let chosen =
                select_platform(&entries, platform).ok_or_else(|| LayoutError::NoPlatform {
                    path: layout.to_owned(),
                    platform: platform.clone(),
                })?;
            manifest_digest = chosen.digest;
            media_type.clone_from(&chosen.media_type);
            manifest = self.layout_blob(layout, &manifest_digest)?;
        }
        let key = Self::key_of(&LayoutKey {
            kind: "oci-layout",
            manifest: &manifest_digest,
            platform,
        });
        self.cached_or(id, key, || {
            let parts = parse_image_manifest(&label, &manifest)?;
            let config = self.layout_blob(layout, &parts.config.digest)?;
            for layer in &parts.layers {
                self.import_blob(layout, &layer.digest)?;
            }
            let layers = self.apply_layers(&label, &parts.layers, &config_diff_ids(&config))?;
            Ok(Output {
                cache_key: key,
                layers,
                image: Some(ImageInfo {
                    reference: label.clone(),
                    manifest_digest,
                    config_digest: parts.config.digest,
                }),
                local: None,
                created: super::now_seconds(),
            })
        })
    }
}
