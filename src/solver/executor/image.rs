//! Image sources: resolve the reference (a tag resolved before is reused
//! unless `--pull`), download the layers in parallel into the store with
//! their digests checked, and apply them in order into snapshots. The
//! result is cached by manifest digest and platform, so a second build
//! needs no network at all.

use std::io::Read;

use rayon::prelude::*;
use serde::Serialize;

use crate::graph::{Digest, Platform, Reference, VertexId};
use crate::image::compress::CompressionKind;
use crate::image::media_type::layer_compression;
use crate::registry::LayerDescriptor;

use super::{BuildExecutor, ExecuteError, ImageInfo, Layer, LayerBlobRef, Output};

const TAG_NAMESPACE: &str = "image-tag";

#[derive(Serialize)]
struct ImageKey<'a> {
    kind: &'static str,
    manifest: &'a Digest,
    platform: &'a Platform,
}

impl BuildExecutor<'_> {
    fn image_key(manifest: &Digest, platform: &Platform) -> Digest {
        Self::key_of(&ImageKey {
            kind: "image",
            manifest,
            platform,
        })
    }

    pub(super) fn pull_image(
        &self,
        id: VertexId,
        reference: &str,
        platform: &Platform,
    ) -> Result<(Output, bool), ExecuteError> {
        let parsed: Reference = reference
            .parse()
            .map_err(|_| ExecuteError::Unsupported("an image reference that does not parse"))?;
        let tag_name = format!("{}@{platform}", parsed.canonical());
        // Without --pull, a tag resolved before is not asked for again.
        if !self.pull && parsed.digest.is_none() {
            if let Some(manifest) = self.store.get_ref(TAG_NAMESPACE, &tag_name)? {
                if let Some(output) = self.cached(&Self::image_key(&manifest, platform))? {
                    return Ok((output, true));
                }
            }
        }
        let resolved = self.registry.resolve(&parsed, platform)?;
        self.store
            .set_ref(TAG_NAMESPACE, &tag_name, &resolved.manifest_digest)?;
        let key = Self::image_key(&resolved.manifest_digest, platform);
        self.cached_or(id, key, || {
            let pinned = resolved.pinned();
            let (config_digest, _) = self
                .store
                .write_blob(Some(resolved.config_digest), &resolved.config[..])?;
            let diff_ids = config_diff_ids(&resolved.config);
            // Download every missing layer at once; apply them in order after.
            resolved
                .layers
                .par_iter()
                .filter(|layer| !self.store.has_blob(&layer.digest))
                .try_for_each(|layer| -> Result<(), ExecuteError> {
                    let mut writer = self.store.blob_writer(Some(layer.digest))?;
                    self.registry
                        .fetch_blob(&pinned, &layer.digest, layer.size, &mut writer)?;
                    writer.commit()?;
                    Ok(())
                })?;
            let layers = self.apply_layers(reference, &resolved.layers, &diff_ids)?;
            Ok(Output {
                cache_key: key,
                layers,
                image: Some(ImageInfo {
                    reference: pinned.canonical(),
                    manifest_digest: resolved.manifest_digest,
                    config_digest,
                }),
                local: None,
                created: super::now_seconds(),
            })
        })
    }
}

impl BuildExecutor<'_> {
    /// Applies stored layer blobs in order into snapshots, checking each
    /// diff id against the image config's.
    pub(super) fn apply_layers(
        &self,
        reference: &str,
        descriptors: &[LayerDescriptor],
        diff_ids: &[String],
    ) -> Result<Vec<Layer>, ExecuteError> {
        let mut layers: Vec<Layer> = Vec::new();
        for (index, descriptor) in descriptors.iter().enumerate() {
            let blob = self.store.open_blob(&descriptor.digest)?;
            let reader: Box<dyn Read> = match layer_compression(&descriptor.media_type) {
                Some(CompressionKind::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(blob)),
                Some(CompressionKind::Zstd) => {
                    Box::new(zstd::stream::read::Decoder::new(blob).map_err(|source| {
                        ExecuteError::DecompressLayer {
                            digest: descriptor.digest,
                            source,
                        }
                    })?)
                }
                _ => Box::new(blob),
            };
            let parent = layers.last().map(|layer: &Layer| &layer.snapshot);
            let applied = self.snapshotter.apply(reader, parent)?;
            if let Some(expected) = diff_ids.get(index) {
                if *expected != applied.diff_id {
                    return Err(ExecuteError::DiffIdMismatch {
                        reference: reference.to_owned(),
                        digest: descriptor.digest,
                        expected: expected.clone(),
                        actual: applied.diff_id,
                    });
                }
            }
            let diff_id = applied
                .diff_id
                .parse()
                .expect("the snapshotter writes sha256 diff ids");
            layers.push(Layer {
                snapshot: applied.id,
                blob: Some(LayerBlobRef {
                    digest: descriptor.digest,
                    size: descriptor.size,
                    media_type: descriptor.media_type.clone(),
                    diff_id,
                }),
            });
        }
        Ok(layers)
    }
}

/// The `rootfs.diff_ids` of an image config.
pub(super) fn config_diff_ids(config: &[u8]) -> Vec<String> {
    serde_json::from_slice::<serde_json::Value>(config)
        .ok()
        .and_then(|value| {
            value["rootfs"]["diff_ids"].as_array().map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}
