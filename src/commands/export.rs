//! From a solved build to images: layers become blobs (pulled base layers
//! are reused as they are; layers this build made are diffed, compressed on
//! all cores and stored once, remembered by snapshot), the config is written
//! over the base image's, and each `--output` is written or pushed.

use std::io::Read as _;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context as _, bail};
use rayon::prelude::*;
use xb_snapshotter::{DiffOptions, SnapshotId, Snapshotter};

use crate::frontend::convert::Build;
use crate::frontend::lower::Plan;
use crate::graph::{Digest, Platform, Reference};
use crate::image::compress::{Compression, compress_stream};
use crate::image::config::{ConfigInputs, build_config};
use crate::image::history::history_entry;
use crate::image::manifest::Manifest;
use crate::image::media_type;
use crate::image::{Annotations, Blob};
use crate::registry::RegistryClient;
use crate::solver::executor::Output;
use crate::store::Store;

/// An image ready to write: config bytes and layer blobs, bottom first.
pub(super) struct AssembledImage {
    pub config: Vec<u8>,
    pub layers: Vec<Blob>,
    pub platform: Platform,
}

/// What the image is made of, before compression is chosen.
pub(super) struct ImageParts<'a> {
    pub store: &'a Store,
    pub snapshotter: &'a Snapshotter,
    pub plan: &'a Plan,
    pub build: &'a Build,
    pub target: &'a Output,
    pub base: Option<&'a Output>,
    pub epoch: Option<u64>,
}

fn layer_ref_name(snapshot: &SnapshotId, compression: Compression, epoch: Option<u64>) -> String {
    format!(
        "{snapshot}/{:?}/{}/{}",
        compression.kind,
        compression.level.map_or(String::new(), |l| l.to_string()),
        epoch.map_or(String::new(), |e| e.to_string())
    )
}

/// Diffs, compresses and stores a layer this build made (once per snapshot).
fn layer_blob(
    parts: &ImageParts<'_>,
    snapshot: &SnapshotId,
    compression: Compression,
    oci: bool,
) -> anyhow::Result<(Blob, Digest)> {
    let memo = layer_ref_name(snapshot, compression, parts.epoch);
    let media_type = media_type::layer(compression.kind, oci).to_owned();
    if let (Some(digest), Some(diff_id)) = (
        parts.store.get_ref("layer-blob", &memo)?,
        parts.store.get_ref("layer-diff-id", &memo)?,
    ) {
        if let Ok(size) = parts.store.blob_size(&digest) {
            let path = parts.store.blob_path(&digest);
            return Ok((
                Blob {
                    digest,
                    size,
                    media_type,
                    path,
                },
                diff_id,
            ));
        }
    }
    let (reader, mut writer) = std::io::pipe().context("failed to create a pipe")?;
    let clamp = parts.epoch.and_then(|epoch| i64::try_from(epoch).ok());
    // The diff hashes the tar it writes (the diff id) and the store's blob
    // writer hashes what it stores (the blob's name): compression between
    // them hashes nothing again.
    let (stats, blob_writer) = std::thread::scope(|scope| -> anyhow::Result<_> {
        let producer = scope.spawn(move || {
            let result =
                parts
                    .snapshotter
                    .diff(snapshot, &mut writer, DiffOptions { clamp_mtime: clamp });
            drop(writer);
            result
        });
        let compressed = compress_stream(reader, compression, parts.store.blob_writer(None)?);
        let stats = producer.join().expect("the diff thread does not panic")?;
        Ok((stats, compressed.context("failed to compress a layer")?))
    })?;
    let diff_id: Digest = stats
        .diff_id
        .parse()
        .context("the layer diff gave a malformed diff id")?;
    let (digest, size) = blob_writer.commit()?;
    parts.store.set_ref("layer-blob", &memo, &digest)?;
    parts.store.set_ref("layer-diff-id", &memo, &diff_id)?;
    let path = parts.store.blob_path(&digest);
    Ok((
        Blob {
            digest,
            size,
            media_type,
            path,
        },
        diff_id,
    ))
}

/// The history of the target stage's chain of stages, root first.
fn history(parts: &ImageParts<'_>) -> Vec<crate::image::history::HistoryEntry> {
    let mut chain = vec![parts.build.target];
    while let Some(parent) = parts.build.stages[*chain.last().expect("never empty")]
        .as_ref()
        .and_then(|stage| stage.base_stage)
    {
        chain.push(parent);
    }
    chain
        .iter()
        .rev()
        .flat_map(|&index| {
            parts.plan.stages[index]
                .steps
                .iter()
                .filter_map(history_entry)
        })
        .collect()
}

/// Builds the config and layer blobs for `compression` and media types.
pub(super) fn assemble(
    parts: &ImageParts<'_>,
    compression: Compression,
    force_compression: bool,
    oci: bool,
) -> anyhow::Result<AssembledImage> {
    let stage = parts.build.target_stage();
    let base_layers = parts.base.map_or(0, |base| base.layers.len());
    let blobs: Vec<(Blob, Digest)> = parts
        .target
        .layers
        .par_iter()
        .map(|layer| match &layer.blob {
            Some(pulled) if !force_compression => Ok((
                Blob {
                    digest: pulled.digest,
                    size: pulled.size,
                    media_type: media_type::convert_layer(&pulled.media_type, oci),
                    path: parts.store.blob_path(&pulled.digest),
                },
                pulled.diff_id,
            )),
            _ => layer_blob(parts, &layer.snapshot, compression, oci),
        })
        .collect::<anyhow::Result<_>>()?;
    let base_config = match parts.base.and_then(|base| base.image.as_ref()) {
        Some(image) => {
            let mut bytes = Vec::new();
            parts
                .store
                .open_blob(&image.config_digest)?
                .read_to_end(&mut bytes)
                .context("failed to read the base image config")?;
            Some(bytes)
        }
        None => None,
    };
    let created = created(parts);
    let config = build_config(
        base_config.as_deref(),
        &stage.config,
        &ConfigInputs {
            platform: &stage.platform,
            created,
            history: history(parts),
            new_diff_ids: blobs[base_layers.min(blobs.len())..]
                .iter()
                .map(|(_, diff_id)| *diff_id)
                .collect(),
        },
    )?;
    Ok(AssembledImage {
        config,
        layers: blobs.into_iter().map(|(blob, _)| blob).collect(),
        platform: stage.platform.clone(),
    })
}

/// Pushes `image` to `name`'s registry: blobs the registry lacks (mounted
/// from `mount_from` where it can), then the manifest. Returns its digest.
pub(super) fn push(
    registry: &RegistryClient,
    store: &Store,
    image: &AssembledImage,
    name: &Reference,
    oci: bool,
    annotations: &Annotations,
    mount_from: Option<&Reference>,
) -> anyhow::Result<Digest> {
    image
        .layers
        .par_iter()
        .try_for_each(|blob| -> anyhow::Result<()> {
            if registry.blob_exists(name, &blob.digest)? {
                return Ok(());
            }
            if let Some(source) = mount_from.filter(|source| source.registry == name.registry) {
                if registry.mount_blob(name, &blob.digest, &source.repository)? {
                    return Ok(());
                }
            }
            let mut reader = store.open_blob(&blob.digest)?;
            registry.push_blob(name, &blob.digest, blob.size, &mut reader)?;
            Ok(())
        })?;
    let config_digest = Digest::of(&image.config);
    registry.push_blob(
        name,
        &config_digest,
        image.config.len() as u64,
        &mut &image.config[..],
    )?;
    let manifest = Manifest::new(&image.config, &image.layers, oci, annotations)
        .build(&image.platform, annotations);
    let media_type = media_type::manifest(oci);
    Ok(registry.push_manifest(name, media_type, &manifest.bytes)?)
}

/// `--iidfile` and `--metadata-file` as buildx writes them.
pub(super) fn write_result_files(
    iidfile: Option<&PathBuf>,
    metadata_file: Option<&PathBuf>,
    config: &[u8],
    manifest: Option<Digest>,
    names: &[String],
) -> anyhow::Result<()> {
    let image_id = Digest::of(config);
    if let Some(path) = iidfile {
        fs_err::write(path, image_id.to_string()).context("failed to write --iidfile")?;
    }
    if let Some(path) = metadata_file {
        let mut metadata = serde_json::json!({
            "containerimage.config.digest": image_id.to_string(),
        });
        if let Some(manifest) = manifest {
            metadata["containerimage.digest"] = serde_json::json!(manifest.to_string());
        }
        if !names.is_empty() {
            metadata["image.name"] = serde_json::json!(names.join(","));
        }
        let text = serde_json::to_string_pretty(&metadata)? + "\n";
        fs_err::write(path, text).context("failed to write --metadata-file")?;
    }
    Ok(())
}

/// The image's creation time: `SOURCE_DATE_EPOCH` when set, else when the
/// target's result was first computed (kept in the cache, so a fully cached
/// rebuild writes the same image), else now.
pub(super) fn created(parts: &ImageParts<'_>) -> SystemTime {
    let recorded = Some(parts.target.created).filter(|seconds| *seconds > 0);
    crate::image::config::creation_time(parts.epoch.or(recorded))
}

pub(super) fn refuse(what: &str) -> anyhow::Result<()> {
    bail!("{what} is not supported yet")
}
