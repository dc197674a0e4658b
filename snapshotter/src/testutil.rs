//! Test helpers: layer tars written entry by entry in the same conventions
//! `diff` writes, raw entries a well-behaved tar writer would refuse, and a
//! fresh store per test.

use std::io;
use std::path::Path;

use tar::{EntryType, Header};

use crate::Snapshotter;

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
