//! The lower directories of an overlay mount for a committed chain, showing
//! exactly what [`View`] shows.
//!
//! Committed layers keep whiteouts and opaque directories in their metadata,
//! never on disk, so each layer that has any gets a **mask** directly below
//! it, built once and kept beside its files (`<layer>/overlay/mask/`):
//!
//! - a whiteout `p` of layer *i* becomes a whiteout device (char 0/0) at `p`
//!   in mask *i*. Overlay stops looking below a whiteout, so `p` disappears
//!   from the layers under *i*; layer *i* and the layers above sit higher in
//!   the stack and can still show (re-create) `p`. A directory `p` of layer
//!   *i* itself merges down to the mask and stops there, as the view's
//!   whited-out directory keeps only layer *i*'s content.
//! - an opaque directory `d` of layer *i* becomes an empty directory `d`
//!   marked `user.overlay.opaque=y` in mask *i*. Layer *i*'s own `d` (above)
//!   merges with the empty mask directory and the merge stops there: what
//!   layer *i* put in `d` stays, everything below is hidden.
//! - directories a mask needs as parents carry the attributes the merged
//!   view below layer *i* has there, and sit below layer *i*'s own copy, so
//!   they never change how a directory looks.
//!
//! The stack, topmost first, is `[layer_n, mask_n, layer_n-1, mask_n-1, …]`;
//! the bottom layer never needs a mask (nothing lies below it). The same
//! one-time step also gives each parent-only (`implicit`) directory of a
//! layer, on disk, the attributes the view gives it from below, so copy-up
//! and the mount agree with the view. Both happen in a staging directory
//! renamed into place (`<layer>/overlay/`), so concurrent xb processes are
//! safe.
//!
//! Overlay takes at most 500 lower directories and the mount options one
//! page; beyond [`MAX_LOWER_DIRS`] directories or [`MAX_LOWERDIR_BYTES`] of
//! `:`-joined paths, the bottom of the chain (up to a depth that is a
//! multiple of [`FLATTEN_STEP`], so successive RUNs on a growing chain reuse
//! it) is copied once into `<layer>/flat/` and used as one lower directory.
//! Mounting is the runtime's business.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::{Mode, SFlag};

use crate::Snapshotter;
use crate::attrs::{self, Probe, disk_path, probe};
use crate::copy::copy_view;
use crate::error::{Error, Result};
use crate::path::LayerPath;
use crate::store::Layer;
use crate::view::View;
use crate::xattrs::{self, OVERLAY_OPAQUE};

/// Most lower directories a RUN mount gets before the chain is flattened.
pub const MAX_LOWER_DIRS: usize = 120;
/// Most bytes of `:`-joined lower directory paths before the chain is
/// flattened (the whole option string must fit in one 4 KiB page).
pub const MAX_LOWERDIR_BYTES: usize = 3072;
/// Flattened chains end at a depth that is a multiple of this.
pub const FLATTEN_STEP: usize = 16;

/// The lower directories for a mount of `view`, topmost first; empty for
/// the empty chain.
pub(crate) fn lower_dirs(snapshotter: &Snapshotter, view: &View) -> Result<Vec<PathBuf>> {
    let layers = view.layers();
    let count = layers.len();
    if count == 0 {
        return Ok(Vec::new());
    }
    let plan = |top: usize| -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        for layer in layers.iter().take(top) {
            dirs.push(layer.fs.clone());
            if needs_mask(layer) {
                dirs.push(mask_dir(snapshotter, layer));
            }
        }
        dirs
    };
    let full = plan(count);
    if fits(&full) {
        return build(snapshotter, view, count, None);
    }
    // `flat` is the index (top first) of the layer whose chain is copied.
    let depth = count / FLATTEN_STEP * FLATTEN_STEP;
    let flat = if depth > 0 {
        let flat = count - depth;
        let mut dirs = plan(flat);
        dirs.push(flat_dir(snapshotter, &layers[flat]));
        if fits(&dirs) { flat } else { 0 }
    } else {
        0
    };
    build(snapshotter, view, flat, Some(flat))
}

/// Builds what the plan needs: masks for the `top` layers and the
/// flattened chain starting at layer `flat`.
fn build(
    snapshotter: &Snapshotter,
    view: &View,
    top: usize,
    flat: Option<usize>,
) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for (index, layer) in view.layers().iter().enumerate().take(top) {
        prepare_layer(snapshotter, view, index)?;
        dirs.push(layer.fs.clone());
        if needs_mask(layer) {
            dirs.push(mask_dir(snapshotter, layer));
        }
    }
    if let Some(flat) = flat {
        dirs.push(flatten(snapshotter, view, flat)?);
    }
    Ok(dirs)
}

fn fits(dirs: &[PathBuf]) -> bool {
    let bytes: usize = dirs.iter().map(|dir| dir.as_os_str().len() + 1).sum();
    dirs.len() <= MAX_LOWER_DIRS && bytes <= MAX_LOWERDIR_BYTES
}

/// Whether a layer's metadata hides anything below it (the bottom layer's
/// never does).
fn needs_mask(layer: &Layer) -> bool {
    layer.meta.parent.is_some()
        && !(layer.entries.whiteouts.is_empty() && layer.entries.opaque.is_empty())
}

fn ready_dir(snapshotter: &Snapshotter, layer: &Layer) -> PathBuf {
    snapshotter.store().snapshot_dir(&layer.id).join("overlay")
}

fn mask_dir(snapshotter: &Snapshotter, layer: &Layer) -> PathBuf {
    ready_dir(snapshotter, layer).join("mask")
}

fn flat_dir(snapshotter: &Snapshotter, layer: &Layer) -> PathBuf {
    snapshotter.store().snapshot_dir(&layer.id).join("flat")
}

/// Makes layer `index` of `view` mountable, once: implicit directories get
/// their attributes on disk, and the mask is built.
fn prepare_layer(snapshotter: &Snapshotter, view: &View, index: usize) -> Result<()> {
    let layer = &view.layers()[index];
    let ready = ready_dir(snapshotter, layer);
    if attrs::lstat(&ready)?.is_some() {
        return Ok(());
    }
    settle_implicit_dirs(snapshotter, view, index)?;
    let scratch = snapshotter.store().new_scratch()?;
    if needs_mask(layer) {
        build_mask(snapshotter, view, index, &scratch.dir().join("mask"))?;
    }
    scratch.publish(&ready)
}

/// Gives each parent-only directory of layer `index` the attributes the
/// view below gives it (the view itself never reads them from disk).
fn settle_implicit_dirs(snapshotter: &Snapshotter, view: &View, index: usize) -> Result<()> {
    let layer = &view.layers()[index];
    for (path, record) in &layer.entries.records {
        if !record.implicit {
            continue;
        }
        match probe(&layer.fs, path)? {
            Probe::Found(metadata) if metadata.is_dir() => {}
            _ => continue,
        }
        settle_dir(snapshotter, view, index, &disk_path(&layer.fs, path), path)?;
    }
    Ok(())
}

/// Gives the directory `disk` the attributes `path` has in the view below
/// layer `index`.
fn settle_dir(
    snapshotter: &Snapshotter,
    view: &View,
    index: usize,
    disk: &Path,
    path: &LayerPath,
) -> Result<()> {
    let stat = view.dir_stat_below(index + 1, path)?;
    attrs::chown_mapped(disk, stat.uid, stat.gid, snapshotter.id_map())?;
    attrs::chmod(
        disk,
        attrs::disk_mode(stat.mode, true, snapshotter.privileged()),
    )?;
    attrs::set_mtime(disk, stat.mtime)?;
    Ok(())
}

/// Writes layer `index`'s whiteouts and opaque directories as overlay marks
/// into the new directory `mask`.
fn build_mask(snapshotter: &Snapshotter, view: &View, index: usize, mask: &Path) -> Result<()> {
    let entries = &view.layers()[index].entries;
    create_dir(mask)?;
    attrs::chmod(mask, 0o755)?;
    let below_whiteout = |path: &LayerPath| {
        path.ancestors()
            .iter()
            .any(|ancestor| entries.whiteouts.contains(ancestor))
    };
    let mut made = Vec::new();
    for path in &entries.whiteouts {
        // A whiteout already hides everything beneath it.
        if below_whiteout(path) {
            continue;
        }
        make_parents(mask, path, &mut made)?;
        let disk = disk_path(mask, path);
        nix::sys::stat::mknod(&disk, SFlag::S_IFCHR, Mode::empty(), 0).map_err(|errno| {
            Error::MakeWhiteout {
                path: disk.clone(),
                source: errno.into(),
            }
        })?;
    }
    for dir in &entries.opaque {
        if entries.whiteouts.contains(dir) || below_whiteout(dir) || dir.is_root() {
            continue;
        }
        make_parents(mask, dir, &mut made)?;
        let disk = disk_path(mask, dir);
        if attrs::lstat(&disk)?.is_none() {
            create_dir(&disk)?;
            made.push(dir.clone());
        }
        if !xattrs::write(&disk, OVERLAY_OPAQUE, b"y")? {
            return Err(Error::WriteXattr {
                path: disk,
                name: OVERLAY_OPAQUE.to_owned(),
                source: Errno::ENOTSUP.into(),
            });
        }
    }
    // Deepest first: setting a child's attributes never touches its parent's.
    made.sort_by(|a, b| b.cmp(a));
    for dir in &made {
        settle_dir(snapshotter, view, index, &disk_path(mask, dir), dir)?;
    }
    Ok(())
}

fn create_dir(disk: &Path) -> Result<()> {
    fs_err::create_dir(disk).map_err(|source| Error::CreateDir {
        path: disk.to_owned(),
        source,
    })
}

/// Creates the missing parents of `path` in `mask`, noting them in `made`.
fn make_parents(mask: &Path, path: &LayerPath, made: &mut Vec<LayerPath>) -> Result<()> {
    for ancestor in path.ancestors().into_iter().skip(1) {
        let disk = disk_path(mask, &ancestor);
        if attrs::lstat(&disk)?.is_none() {
            create_dir(&disk)?;
            made.push(ancestor);
        }
    }
    Ok(())
}

/// The chain from layer `index` down, copied once into `<layer>/flat/`.
fn flatten(snapshotter: &Snapshotter, view: &View, index: usize) -> Result<PathBuf> {
    let layer = &view.layers()[index];
    let flat = flat_dir(snapshotter, layer);
    if attrs::lstat(&flat)?.is_none() {
        let scratch = snapshotter.store().new_scratch()?;
        let below = View::new(view.layers()[index..].to_vec());
        copy_view(
            &below,
            scratch.fs(),
            snapshotter.id_map(),
            snapshotter.privileged(),
        )?;
        scratch.publish(&flat)?;
    }
    Ok(flat)
}
