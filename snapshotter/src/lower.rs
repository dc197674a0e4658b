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
//! the bottom layer never needs a mask (nothing lies below it), and a layer
//! whose root is opaque is the bottom of the stack (overlay would not honour
//! an opaque mark on a layer's root). The same
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
    // Nothing below a layer with an opaque root shows through: it is the
    // bottom of the mount.
    let count = layers
        .iter()
        .position(|layer| layer.entries.opaque.contains(&LayerPath::root()))
        .map_or(layers.len(), |index| index + 1);
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

/// Whether a layer's metadata hides anything below it (never for the
/// bottom layer, nor for one with an opaque root, which ends the stack).
fn needs_mask(layer: &Layer) -> bool {
    layer.meta.parent.is_some()
        && !layer.entries.opaque.contains(&LayerPath::root())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{
        Attrs, LayerTar, ROOT_DIR, ROOT_FILE, disk_listing, is_root, mount_run, store, view_listing,
    };
    use crate::{Backend, RunRoot, SnapshotId};

    /// Applies `layers` as a chain; returns the top.
    fn chain(snapshotter: &Snapshotter, layers: &[Vec<u8>]) -> SnapshotId {
        let mut parent: Option<SnapshotId> = None;
        for tar in layers {
            parent = Some(snapshotter.apply(&tar[..], parent.as_ref()).unwrap().id);
        }
        parent.unwrap()
    }

    /// Mounts a RUN on `top` and checks the mount shows what the view shows;
    /// returns the listing and the lower directories.
    fn mount_matches_view(
        snapshotter: &Snapshotter,
        top: &SnapshotId,
        dir: &Path,
    ) -> (Vec<String>, Vec<PathBuf>) {
        let run = snapshotter
            .prepare_run(Some(top), Backend::Overlay)
            .unwrap();
        let root = run.root();
        let RunRoot::Overlay { lower, .. } = &root else {
            panic!("overlay backend gives overlay directories");
        };
        let lower = lower.clone();
        let mounted = mount_run(&root, &dir.join("mnt"));
        let listing = disk_listing(mounted.path());
        drop(mounted);
        assert_eq!(listing, view_listing(&snapshotter.view(top).unwrap()));
        (listing, lower)
    }

    fn require_root() -> bool {
        if !is_root() {
            eprintln!("skipping: mounting overlay in a test needs root");
        }
        is_root()
    }

    #[test]
    fn mask_whiteouts_hide_lower_paths_while_upper_layers_recreate_them() {
        if !require_root() {
            return;
        }
        let (dir, snapshotter) = store();
        let base = LayerTar::new()
            .dir("a", ROOT_DIR)
            .file("a/f", b"old f", ROOT_FILE)
            .file("a/g", b"g", ROOT_FILE)
            .dir("d", ROOT_DIR)
            .file("d/x", b"x", ROOT_FILE)
            .dir("e", ROOT_DIR)
            .file("e/x", b"x", ROOT_FILE)
            .finish();
        let deletes = LayerTar::new()
            .dir("a", ROOT_DIR)
            .marker("a/.wh.f")
            .marker(".wh.d")
            // Whited out and re-created in the same layer: only its own content.
            .marker(".wh.e")
            .dir("e", ROOT_DIR)
            .file("e/own", b"own", ROOT_FILE)
            .finish();
        let recreates = LayerTar::new()
            .dir("a", ROOT_DIR)
            .file("a/f", b"new f", ROOT_FILE)
            .dir("d", ROOT_DIR)
            .file("d/y", b"y", ROOT_FILE)
            .finish();
        let top = chain(&snapshotter, &[base, deletes, recreates]);
        let (listing, lower) = mount_matches_view(&snapshotter, &top, dir.path());
        assert_eq!(lower.len(), 4, "{lower:?}");
        let names: Vec<&str> = listing
            .iter()
            .map(|line| line.split(' ').next().unwrap())
            .collect();
        assert_eq!(names, ["a", "a/f", "a/g", "d", "d/y", "e", "e/own"]);
        assert!(listing[1].ends_with("\"new f\""), "{listing:?}");
    }

    #[test]
    fn mask_opaque_dirs_hide_lower_content_but_keep_their_own() {
        if !require_root() {
            return;
        }
        let (dir, snapshotter) = store();
        let base = LayerTar::new()
            .dir("o", ROOT_DIR)
            .file("o/a", b"a", ROOT_FILE)
            .dir("o/sub", ROOT_DIR)
            .file("o/sub/deep", b"deep", ROOT_FILE)
            .finish();
        let opaque = LayerTar::new()
            .dir(
                "o",
                Attrs {
                    mode: 0o700,
                    ..ROOT_DIR
                },
            )
            .marker("o/.wh..wh..opq")
            .file("o/c", b"c", ROOT_FILE)
            .finish();
        let above = LayerTar::new()
            .dir(
                "o",
                Attrs {
                    mode: 0o700,
                    ..ROOT_DIR
                },
            )
            .file("o/d", b"d", ROOT_FILE)
            .finish();
        let top = chain(&snapshotter, &[base, opaque, above]);
        let (listing, _) = mount_matches_view(&snapshotter, &top, dir.path());
        let names: Vec<&str> = listing
            .iter()
            .map(|line| line.split(' ').next().unwrap())
            .collect();
        assert_eq!(names, ["o", "o/c", "o/d"]);
        assert!(listing[0].starts_with("o 0:0 700 "), "{listing:?}");
    }

    #[test]
    fn opaque_root_ends_the_stack() {
        if !require_root() {
            return;
        }
        let (dir, snapshotter) = store();
        let base = LayerTar::new().file("old", b"old", ROOT_FILE).finish();
        let fresh = LayerTar::new()
            .marker(".wh..wh..opq")
            .file("new", b"new", ROOT_FILE)
            .finish();
        let above = LayerTar::new().file("top", b"top", ROOT_FILE).finish();
        let top = chain(&snapshotter, &[base, fresh, above]);
        let (listing, lower) = mount_matches_view(&snapshotter, &top, dir.path());
        assert_eq!(lower.len(), 2, "{lower:?}");
        assert_eq!(listing.len(), 2, "{listing:?}");
    }

    #[test]
    fn mask_parents_and_implicit_dirs_keep_the_lower_attributes() {
        if !require_root() {
            return;
        }
        let (dir, snapshotter) = store();
        let etc = Attrs {
            mode: 0o750,
            gid: 4,
            mtime: 1_234,
            ..ROOT_DIR
        };
        let base = LayerTar::new()
            .dir("etc", etc)
            .dir("etc/deep", etc)
            .file("etc/deep/motd", b"hi", ROOT_FILE)
            .file("etc/deep/keep", b"keep", ROOT_FILE)
            .finish();
        // No directory entries: etc and etc/deep are parent-only here.
        let deletes = LayerTar::new()
            .marker("etc/deep/.wh.motd")
            .file("etc/deep/new", b"new", ROOT_FILE)
            .finish();
        let top = chain(&snapshotter, &[base, deletes]);
        let (listing, _) = mount_matches_view(&snapshotter, &top, dir.path());
        assert_eq!(listing[0], "etc 0:4 750 1234 dir");
        assert_eq!(listing[1], "etc/deep 0:4 750 1234 dir");
        // Ready once: a second RUN reuses the mask.
        mount_matches_view(&snapshotter, &top, dir.path());
    }

    #[test]
    fn concurrent_runs_build_one_mask() {
        let (_dir, snapshotter) = store();
        let base = LayerTar::new()
            .dir("a", ROOT_DIR)
            .file("a/f", b"f", ROOT_FILE)
            .finish();
        let deletes = LayerTar::new().marker("a/.wh.f").finish();
        let top = chain(&snapshotter, &[base, deletes]);
        let lowers: Vec<Vec<PathBuf>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        let run = snapshotter
                            .prepare_run(Some(&top), Backend::Overlay)
                            .unwrap();
                        let RunRoot::Overlay { lower, .. } = run.root() else {
                            panic!("overlay backend gives overlay directories");
                        };
                        lower
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        });
        assert!(lowers.windows(2).all(|pair| pair[0] == pair[1]));
        let mask = &lowers[0][1];
        assert!(mask.ends_with("overlay/mask"), "{mask:?}");
        assert_eq!(crate::testutil::tree(mask), ["a", "a/f"]);
        // Nothing half-built is left in staging.
        assert_eq!(snapshotter.clean_staging().unwrap(), 0);
        let staging = snapshotter.root().join("staging");
        assert_eq!(crate::testutil::tree(&staging), Vec::<String>::new());
    }

    #[test]
    fn deep_chains_are_flattened_below_the_lower_dir_limit() {
        if !require_root() {
            return;
        }
        let (dir, snapshotter) = store();
        let mut parent: Option<SnapshotId> = None;
        for index in 0..130 {
            let mut active = snapshotter.prepare(parent.as_ref()).unwrap();
            active.create_dir_all(Path::new("/d")).unwrap();
            fs_err::write(active.upper_dir().join(format!("d/f{index}")), "x").unwrap();
            active
                .set_mtime(Path::new(&format!("/d/f{index}")), 7)
                .unwrap();
            if index % 2 == 1 {
                active
                    .whiteout(Path::new(&format!("/d/f{}", index - 1)))
                    .unwrap();
            }
            parent = Some(active.commit().unwrap());
        }
        let top = parent.unwrap();
        let (listing, lower) = mount_matches_view(&snapshotter, &top, dir.path());
        assert!(lower.len() <= 2 * FLATTEN_STEP, "{}", lower.len());
        assert_eq!(lower.last().unwrap().file_name().unwrap(), "flat");
        assert_eq!(listing.len(), 1 + 65, "{listing:?}");
        // One more layer reuses the same flattened directory.
        let active = snapshotter.prepare(Some(&top)).unwrap();
        let next = active.commit().unwrap();
        let (_, next_lower) = mount_matches_view(&snapshotter, &next, dir.path());
        assert_eq!(next_lower.last(), lower.last());
    }
}
