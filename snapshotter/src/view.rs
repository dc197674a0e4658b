//! [`View`]: a read-only merged view of a snapshot chain, without mounting.
//!
//! Upper layers win; a layer's whiteouts and opaque directories hide what the
//! layers below hold there; a file or symlink in a layer hides anything the
//! lower layers have beneath that name (as overlayfs merges). Symlinks are
//! followed inside the snapshot only: an absolute target starts again at the
//! snapshot's root and `..` stops at it. Mounting the same chain is the
//! overlay backend's business; [`View::layer_dirs`] gives it the directories.

use std::collections::{BTreeSet, VecDeque};
use std::ffi::OsString;
use std::fs::Metadata;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

use fs_err::os::unix::fs::OpenOptionsExt as _;

use crate::SnapshotId;
use crate::attrs::{Probe, disk_path, probe};
use crate::error::{Error, Result};
use crate::path::LayerPath;
use crate::stat::{EntryKind, EntryStat};
use crate::store::Layer;

/// How many symlinks one resolution may follow (Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// A merged, read-only view of a committed snapshot and its ancestors.
#[derive(Debug, Clone)]
pub struct View {
    /// Top layer first.
    layers: Vec<Layer>,
}

impl View {
    pub(crate) fn new(layers: Vec<Layer>) -> Self {
        Self { layers }
    }

    /// The snapshot this view shows (`None` for the empty view).
    pub fn id(&self) -> Option<&SnapshotId> {
        self.layers.first().map(|layer| &layer.id)
    }

    /// The layers' file directories, top layer first (overlayfs `lowerdir`
    /// order). Whiteouts and overrides live beside them, not in them.
    pub fn layer_dirs(&self) -> Vec<&Path> {
        self.layers.iter().map(|layer| layer.fs.as_path()).collect()
    }

    /// The entry at `path` (symlinks in parent directories followed inside the
    /// snapshot, a final symlink not), or `None` if nothing is there.
    pub fn metadata(&self, path: &Path) -> Result<Option<EntryStat>> {
        let resolved = self.resolve_path(path, false)?;
        match self.lookup_from(0, &resolved)? {
            Some((index, metadata)) => Ok(Some(self.stat_found(index, &resolved, &metadata)?)),
            None => Ok(None),
        }
    }

    /// The names in directory `path` (symlinks followed), sorted bytewise.
    pub fn read_dir(&self, path: &Path) -> Result<Vec<OsString>> {
        let dir = self.resolve_path(path, true)?;
        match self.lookup_from(0, &dir)? {
            Some((_, metadata)) if metadata.is_dir() => {}
            Some(_) => {
                return Err(Error::NotADirectory {
                    path: dir.to_absolute(),
                });
            }
            None => {
                return Err(Error::NotFound {
                    path: dir.to_absolute(),
                });
            }
        }
        Ok(self
            .list_dir(&dir)?
            .into_iter()
            .map(OsString::from_vec)
            .collect())
    }

    /// The names in the directory at the literal `dir` (which must be one),
    /// sorted bytewise.
    pub(crate) fn list_dir(&self, dir: &LayerPath) -> Result<Vec<Vec<u8>>> {
        let mut names = BTreeSet::new();
        let mut hidden = BTreeSet::new();
        for layer in &self.layers {
            match probe(&layer.fs, dir)? {
                Probe::Found(metadata) if metadata.is_dir() => {
                    let disk = disk_path(&layer.fs, dir);
                    let read_dir_error = |source| Error::ReadDir {
                        path: disk.clone(),
                        source,
                    };
                    for entry in fs_err::read_dir(&disk).map_err(read_dir_error)? {
                        let name = entry.map_err(read_dir_error)?.file_name().into_vec();
                        if !hidden.contains(&name) {
                            names.insert(name);
                        }
                    }
                }
                Probe::Found(_) | Probe::Blocked(_) => break,
                Probe::Missing => {}
            }
            hidden.extend(layer.entries.whiteouts_in(dir).map(<[u8]>::to_vec));
            if layer.entries.hides_children(dir) {
                break;
            }
        }
        Ok(names.into_iter().collect())
    }

    /// The layers, top first.
    pub(crate) fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The entry at the literal `path` (no symlink followed): the file on
    /// disk that shows it, its `lstat` and what the image sees.
    pub(crate) fn entry(&self, path: &LayerPath) -> Result<Option<(PathBuf, Metadata, EntryStat)>> {
        let Some((index, metadata)) = self.lookup_from(0, path)? else {
            return Ok(None);
        };
        let stat = self.stat_found(index, path, &metadata)?;
        Ok(Some((
            disk_path(&self.layers[index].fs, path),
            metadata,
            stat,
        )))
    }

    /// Opens the regular file at `path` (symlinks followed) for reading.
    pub fn open(&self, path: &Path) -> Result<fs_err::File> {
        let resolved = self.resolve_path(path, true)?;
        let Some((index, metadata)) = self.lookup_from(0, &resolved)? else {
            return Err(Error::NotFound {
                path: resolved.to_absolute(),
            });
        };
        let layer = &self.layers[index];
        let placeholder = layer
            .entries
            .record(&resolved)
            .is_some_and(|record| record.special.is_some());
        if !metadata.is_file() || placeholder {
            return Err(Error::NotARegularFile {
                path: resolved.to_absolute(),
            });
        }
        let disk = disk_path(&layer.fs, &resolved);
        fs_err::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&disk)
            .map_err(|source| Error::OpenFile { path: disk, source })
    }

    /// `path` with every symlink on the way followed inside the snapshot
    /// (the final one only if `follow_final_symlink`), as an absolute path
    /// from the snapshot root. The result need not exist.
    pub fn resolve(&self, path: &Path, follow_final_symlink: bool) -> Result<PathBuf> {
        Ok(self.resolve_path(path, follow_final_symlink)?.to_absolute())
    }

    pub(crate) fn resolve_path(&self, path: &Path, follow_final: bool) -> Result<LayerPath> {
        let components = |bytes: &[u8]| -> Vec<Vec<u8>> {
            bytes
                .split(|&byte| byte == b'/')
                .filter(|component| !component.is_empty())
                .map(<[u8]>::to_vec)
                .collect()
        };
        let mut pending: VecDeque<Vec<u8>> = components(path.as_os_str().as_bytes()).into();
        let mut resolved = LayerPath::root();
        let mut followed = 0;
        while let Some(component) = pending.pop_front() {
            match component.as_slice() {
                b"." => continue,
                b".." => {
                    resolved = resolved.parent();
                    continue;
                }
                _ => {}
            }
            let candidate = resolved.join(&component);
            if pending.is_empty() && !follow_final {
                resolved = candidate;
                break;
            }
            let target = match self.lookup_from(0, &candidate)? {
                Some((index, metadata)) if metadata.is_symlink() => {
                    let disk = disk_path(&self.layers[index].fs, &candidate);
                    fs_err::read_link(&disk)
                        .map_err(|source| Error::StatEntry { path: disk, source })?
                }
                _ => {
                    resolved = candidate;
                    continue;
                }
            };
            followed += 1;
            if followed > MAX_SYMLINKS {
                return Err(Error::ResolveSymlinks {
                    path: path.to_owned(),
                });
            }
            let target = target.as_os_str().as_bytes();
            if target.first() == Some(&b'/') {
                resolved = LayerPath::root();
            }
            for component in components(target).into_iter().rev() {
                pending.push_front(component);
            }
        }
        Ok(resolved)
    }

    /// The topmost visible layer holding the literal `path` (parents are
    /// not symlinks), searching from layer `start` down.
    pub(crate) fn lookup_from(
        &self,
        start: usize,
        path: &LayerPath,
    ) -> Result<Option<(usize, Metadata)>> {
        for (index, layer) in self.layers.iter().enumerate().skip(start) {
            match probe(&layer.fs, path)? {
                Probe::Found(metadata) => return Ok(Some((index, metadata))),
                Probe::Blocked(_) => return Ok(None),
                Probe::Missing => {}
            }
            if layer.entries.hides(path) {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// The stat of `path` found in layer `index`; a parent-only directory
    /// takes its attributes from below.
    pub(crate) fn stat_found(
        &self,
        index: usize,
        path: &LayerPath,
        metadata: &Metadata,
    ) -> Result<EntryStat> {
        let layer = &self.layers[index];
        if metadata.is_dir() && layer.entries.is_implicit(path) {
            return self.dir_stat_below(index + 1, path);
        }
        EntryStat::compose(
            &disk_path(&layer.fs, path),
            metadata,
            layer.entries.record(path),
            &layer.meta.id_map,
        )
    }

    /// The attributes a directory made as a parent in a layer above `start`
    /// inherits: those of the directory below, or the defaults.
    pub(crate) fn dir_stat_below(&self, start: usize, path: &LayerPath) -> Result<EntryStat> {
        match self.lookup_from(start, path)? {
            Some((index, metadata)) if metadata.is_dir() => {
                let stat = self.stat_found(index, path, &metadata)?;
                debug_assert_eq!(stat.kind, EntryKind::Dir, "directories stay directories");
                Ok(stat)
            }
            _ => Ok(EntryStat::default_dir()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::Snapshotter;
    use crate::testutil::{Attrs, LayerTar, ROOT_DIR, ROOT_FILE, store};

    fn base_layer() -> Vec<u8> {
        LayerTar::new()
            .symlink("escape", "/../../..", ROOT_FILE)
            .dir("etc", ROOT_DIR)
            .file("etc/motd", b"hello\n", ROOT_FILE)
            .symlink("etc/os-release", "../usr/lib/os-release", ROOT_FILE)
            .file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", ROOT_FILE)
            .symlink("lib", "usr/lib", ROOT_FILE)
            .symlink("loop-a", "loop-b", ROOT_FILE)
            .symlink("loop-b", "/loop-a", ROOT_FILE)
            .dir("opt", ROOT_DIR)
            .file("opt/x", b"x", ROOT_FILE)
            .symlink("up", "../../../../etc", ROOT_FILE)
            .dir(
                "usr",
                Attrs {
                    mode: 0o751,
                    uid: 7,
                    ..ROOT_DIR
                },
            )
            .dir("usr/lib", ROOT_DIR)
            .file("usr/lib/libc.so", b"libc", ROOT_FILE)
            .file("usr/lib/os-release", b"ID=test\n", ROOT_FILE)
            .dir("var", ROOT_DIR)
            .dir("var/cache", ROOT_DIR)
            .file("var/cache/a", b"a", ROOT_FILE)
            .file("var/cache/b", b"b", ROOT_FILE)
            .finish()
    }

    fn top_layer() -> Vec<u8> {
        LayerTar::new()
            .dir("etc", ROOT_DIR)
            .marker("etc/.wh.motd")
            .file("etc/passwd", b"root:x:0:0::/root:/bin/ash\n", ROOT_FILE)
            .file("opt", b"now a file", ROOT_FILE)
            .file("usr/local/bin/tool", b"tool", ROOT_FILE)
            .dir("var/cache", ROOT_DIR)
            .marker("var/cache/.wh..wh..opq")
            .file("var/cache/c", b"c", ROOT_FILE)
            .finish()
    }

    fn chain() -> (tempfile::TempDir, Snapshotter, View) {
        let (dir, snapshotter) = store();
        let base = snapshotter.apply(&base_layer()[..], None).unwrap();
        let top = snapshotter.apply(&top_layer()[..], Some(&base.id)).unwrap();
        let view = snapshotter.view(&top.id).unwrap();
        (dir, snapshotter, view)
    }

    fn read(view: &View, path: &str) -> String {
        let mut text = String::new();
        view.open(Path::new(path))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    fn names(view: &View, path: &str) -> Vec<String> {
        view.read_dir(Path::new(path))
            .unwrap()
            .into_iter()
            .map(|name| name.into_string().unwrap())
            .collect()
    }

    #[test]
    fn view_upper_layers_win_and_whiteouts_hide() {
        let (_dir, _snapshotter, view) = chain();
        assert_eq!(read(&view, "/etc/passwd"), "root:x:0:0::/root:/bin/ash\n");
        assert_eq!(view.metadata(Path::new("/etc/motd")).unwrap(), None);
        assert_eq!(names(&view, "/etc"), ["os-release", "passwd"]);
        assert!(names(&view, "/").contains(&"usr".to_owned()));
    }

    #[test]
    fn view_opaque_dir_hides_lower_content_only() {
        let (_dir, _snapshotter, view) = chain();
        assert_eq!(names(&view, "/var/cache"), ["c"]);
        assert_eq!(view.metadata(Path::new("/var/cache/a")).unwrap(), None);
    }

    #[test]
    fn view_file_over_directory_hides_its_content() {
        let (_dir, _snapshotter, view) = chain();
        assert_eq!(view.metadata(Path::new("/opt/x")).unwrap(), None);
        assert!(matches!(
            view.read_dir(Path::new("/opt")),
            Err(Error::NotADirectory { .. })
        ));
        assert_eq!(read(&view, "/opt"), "now a file");
    }

    #[test]
    fn view_parent_only_directories_keep_lower_attributes() {
        let (_dir, _snapshotter, view) = chain();
        let usr = view.metadata(Path::new("/usr")).unwrap().unwrap();
        assert_eq!((usr.uid, usr.mode), (7, 0o751));
        assert_eq!(names(&view, "/usr"), ["lib", "local"]);
        let local = view.metadata(Path::new("/usr/local")).unwrap().unwrap();
        assert_eq!(
            (local.kind, local.mode, local.mtime),
            (EntryKind::Dir, 0o755, 0)
        );
    }

    #[test]
    fn view_resolves_symlinks_inside_the_root() {
        let (_dir, _snapshotter, view) = chain();
        let resolve = |path: &str, follow: bool| view.resolve(Path::new(path), follow).unwrap();
        assert_eq!(resolve("/lib/libc.so", true), Path::new("/usr/lib/libc.so"));
        assert_eq!(resolve("/lib", false), Path::new("/lib"));
        assert_eq!(
            resolve("/etc/os-release", true),
            Path::new("/usr/lib/os-release")
        );
        // Absolute targets and `..` stop at the snapshot root.
        assert_eq!(
            resolve("/escape/etc/passwd", true),
            Path::new("/etc/passwd")
        );
        assert_eq!(resolve("up/passwd", true), Path::new("/etc/passwd"));
        assert_eq!(
            resolve("/../../etc/./passwd", true),
            Path::new("/etc/passwd")
        );
        assert_eq!(
            read(&view, "/escape/etc/passwd"),
            "root:x:0:0::/root:/bin/ash\n"
        );
        assert_eq!(read(&view, "/etc/os-release"), "ID=test\n");

        let lib = view.metadata(Path::new("/lib")).unwrap().unwrap();
        assert_eq!(lib.kind, EntryKind::Symlink);
        assert_eq!(lib.link_target.as_deref(), Some(Path::new("usr/lib")));
        let libc = view.metadata(Path::new("/lib/libc.so")).unwrap().unwrap();
        assert_eq!((libc.kind, libc.size), (EntryKind::File, 4));
    }

    #[test]
    fn view_reports_symlink_loops() {
        let (_dir, _snapshotter, view) = chain();
        assert!(matches!(
            view.resolve(Path::new("/loop-a"), true),
            Err(Error::ResolveSymlinks { .. })
        ));
        assert!(view.resolve(Path::new("/loop-a"), false).is_ok());
    }

    #[test]
    fn view_open_refuses_what_is_not_a_regular_file() {
        let (_dir, _snapshotter, view) = chain();
        assert!(matches!(
            view.open(Path::new("/etc")),
            Err(Error::NotARegularFile { .. })
        ));
        assert!(matches!(
            view.open(Path::new("/etc/motd")),
            Err(Error::NotFound { .. })
        ));
    }
}
