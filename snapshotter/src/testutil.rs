//! Test helpers: layer tars written entry by entry in the same conventions
//! `diff` writes, raw entries a well-behaved tar writer would refuse, and a
//! fresh store per test.

use std::io;
use std::path::Path;

use tar::{EntryType, Header};

use crate::Snapshotter;

/// Entry names with owner and mode (`path uid:gid mode`), as a tar lists them.
pub(crate) fn tar_listing(tar: &[u8]) -> Vec<String> {
    tar::Archive::new(tar)
        .entries()
        .expect("a tar")
        .map(|entry| {
            let entry = entry.expect("an entry");
            let header = entry.header();
            format!(
                "{} {}:{} {:o}",
                String::from_utf8_lossy(&entry.path_bytes()),
                header.uid().expect("a uid"),
                header.gid().expect("a gid"),
                header.mode().expect("a mode")
            )
        })
        .collect()
}

/// A fresh store in a temporary directory (kept alive by the returned guard).
pub(crate) fn store() -> (tempfile::TempDir, Snapshotter) {
    let dir = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(dir.path().join("store")).unwrap();
    (dir, snapshotter)
}

/// Owner, mode and mtime of one entry.
#[derive(Clone, Copy)]
pub(crate) struct Attrs {
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) mode: u32,
    pub(crate) mtime: u64,
}

pub(crate) const ROOT_DIR: Attrs = Attrs {
    uid: 0,
    gid: 0,
    mode: 0o755,
    mtime: 1_600_000_000,
};

pub(crate) const ROOT_FILE: Attrs = Attrs {
    mode: 0o644,
    ..ROOT_DIR
};

/// Builds a layer tar the way `diff` writes one.
pub(crate) struct LayerTar {
    builder: tar::Builder<Vec<u8>>,
}

fn header(kind: EntryType, attrs: Attrs) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_uid(attrs.uid);
    header.set_gid(attrs.gid);
    header.set_mode(attrs.mode);
    header.set_mtime(attrs.mtime);
    header.set_size(0);
    header
}

impl LayerTar {
    pub(crate) fn new() -> Self {
        Self {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    pub(crate) fn dir(mut self, path: &str, attrs: Attrs) -> Self {
        let mut header = header(EntryType::Directory, attrs);
        self.builder
            .append_data(&mut header, format!("{path}/"), io::empty())
            .unwrap();
        self
    }

    pub(crate) fn file(self, path: &str, content: &[u8], attrs: Attrs) -> Self {
        self.file_with_xattrs(path, content, attrs, &[])
    }

    pub(crate) fn file_with_xattrs(
        mut self,
        path: &str,
        content: &[u8],
        attrs: Attrs,
        xattrs: &[(&str, &[u8])],
    ) -> Self {
        if !xattrs.is_empty() {
            let keys: Vec<(String, &[u8])> = xattrs
                .iter()
                .map(|(name, value)| (format!("SCHILY.xattr.{name}"), *value))
                .collect();
            self.builder
                .append_pax_extensions(keys.iter().map(|(key, value)| (key.as_str(), *value)))
                .unwrap();
        }
        let mut header = header(EntryType::Regular, attrs);
        header.set_size(content.len() as u64);
        self.builder
            .append_data(&mut header, path, content)
            .unwrap();
        self
    }

    pub(crate) fn symlink(mut self, path: &str, target: &str, attrs: Attrs) -> Self {
        let mut header = header(EntryType::Symlink, attrs);
        self.builder.append_link(&mut header, path, target).unwrap();
        self
    }

    pub(crate) fn hardlink(mut self, path: &str, target: &str, attrs: Attrs) -> Self {
        let mut header = header(EntryType::Link, attrs);
        self.builder.append_link(&mut header, path, target).unwrap();
        self
    }

    pub(crate) fn device(mut self, path: &str, kind: EntryType, major: u32, minor: u32) -> Self {
        let mut header = header(
            kind,
            Attrs {
                mode: 0o666,
                ..ROOT_FILE
            },
        );
        if kind != EntryType::Fifo {
            header.set_device_major(major).unwrap();
            header.set_device_minor(minor).unwrap();
        }
        self.builder
            .append_data(&mut header, path, io::empty())
            .unwrap();
        self
    }

    /// A whiteout or opaque marker, as `diff` writes them.
    pub(crate) fn marker(mut self, path: &str) -> Self {
        let mut header = header(
            EntryType::Regular,
            Attrs {
                uid: 0,
                gid: 0,
                mode: 0,
                mtime: 0,
            },
        );
        self.builder
            .append_data(&mut header, path, io::empty())
            .unwrap();
        self
    }

    /// An entry whose name and link name are written verbatim, unchecked.
    pub(crate) fn raw(mut self, kind: EntryType, name: &[u8], link: &[u8], data: &[u8]) -> Self {
        let mut header = header(kind, ROOT_FILE);
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        header.set_size(data.len() as u64);
        header.set_cksum();
        self.builder.append(&header, data).unwrap();
        self
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.builder.into_inner().unwrap()
    }
}

/// Paths under `dir`, relative and sorted (for "nothing left behind").
pub(crate) fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs_err::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if fs_err::symlink_metadata(&path).unwrap().is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Whether the tests run as root (real chown and mknod).
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// An overlay mount for a test, unmounted when dropped.
pub(crate) struct Mounted {
    target: std::path::PathBuf,
    mounted: bool,
}

impl Mounted {
    pub(crate) fn path(&self) -> &Path {
        &self.target
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if self.mounted {
            nix::mount::umount2(&self.target, nix::mount::MntFlags::MNT_DETACH).unwrap();
        }
    }
}

/// Mounts `root` as the runtime would (overlay with `userxattr`) at
/// `target`, or hands back the directory of the native backend.
pub(crate) fn mount_run(root: &crate::RunRoot, target: &Path) -> Mounted {
    match root {
        crate::RunRoot::Overlay { lower, upper, work } => {
            let lower: Vec<String> = lower.iter().map(|dir| dir.display().to_string()).collect();
            let data = format!(
                "lowerdir={},upperdir={},workdir={},userxattr",
                lower.join(":"),
                upper.display(),
                work.display()
            );
            fs_err::create_dir_all(target).unwrap();
            nix::mount::mount(
                Some("overlay"),
                target,
                Some("overlay"),
                nix::mount::MsFlags::empty(),
                Some(data.as_str()),
            )
            .unwrap();
            Mounted {
                target: target.to_owned(),
                mounted: true,
            }
        }
        crate::RunRoot::Directory(dir) => Mounted {
            target: dir.clone(),
            mounted: false,
        },
    }
}

/// Every entry below `dir` on disk, one line each: path, type, owner, mode,
/// mtime and content or target (compare with [`view_listing`]).
pub(crate) fn disk_listing(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = fs_err::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let metadata = fs_err::symlink_metadata(&path).unwrap();
            let kind = metadata.file_type();
            let detail = if kind.is_dir() {
                "dir".to_owned()
            } else if kind.is_symlink() {
                format!("-> {}", fs_err::read_link(&path).unwrap().display())
            } else if kind.is_file() {
                format!("{:?}", fs_err::read_to_string(&path).unwrap())
            } else if kind.is_char_device() {
                format!("char {}", metadata.rdev())
            } else {
                "other".to_owned()
            };
            let mtime = metadata.mtime();
            out.push(format!(
                "{} {}:{} {:o} {} {detail}",
                path.strip_prefix(root).unwrap().display(),
                metadata.uid(),
                metadata.gid(),
                metadata.mode() & 0o7777,
                mtime,
            ));
            if kind.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// The same listing as [`disk_listing`], from a view.
pub(crate) fn view_listing(view: &crate::View) -> Vec<String> {
    use std::io::Read as _;
    fn walk(view: &crate::View, dir: &Path, out: &mut Vec<String>) {
        for name in view.read_dir(dir).unwrap() {
            let path = dir.join(&name);
            let stat = view.metadata(&path).unwrap().unwrap();
            let detail = match stat.kind {
                crate::EntryKind::Dir => "dir".to_owned(),
                crate::EntryKind::Symlink => {
                    format!("-> {}", stat.link_target.as_ref().unwrap().display())
                }
                crate::EntryKind::File => {
                    let mut text = String::new();
                    view.open(&path).unwrap().read_to_string(&mut text).unwrap();
                    format!("{text:?}")
                }
                crate::EntryKind::Char => {
                    let device = stat.device.unwrap();
                    format!(
                        "char {}",
                        nix::sys::stat::makedev(device.major, device.minor)
                    )
                }
                _ => "other".to_owned(),
            };
            let mtime = stat.mtime;
            out.push(format!(
                "{} {}:{} {:o} {} {detail}",
                path.strip_prefix("/").unwrap().display(),
                stat.uid,
                stat.gid,
                stat.mode,
                mtime,
            ));
            if stat.kind == crate::EntryKind::Dir {
                walk(view, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(view, Path::new("/"), &mut out);
    out
}
