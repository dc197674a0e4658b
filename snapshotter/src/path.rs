//! [`LayerPath`]: a path inside a snapshot, normalized and checked once.
//!
//! Every path that reaches the disk goes through here: no `..`, no empty or
//! `.` components, never absolute. Joining it to a layer directory is safe
//! only together with the symlink checks in `layer`; this module only does
//! the lexical part.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A normalized path relative to a snapshot's root; empty for the root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct LayerPath(Vec<u8>);

/// Why a path is refused, for errors.
pub(crate) type Refusal = &'static str;

impl LayerPath {
    /// The root of the snapshot.
    pub(crate) fn root() -> Self {
        Self(Vec::new())
    }

    /// A path from a tar entry: must be relative and free of `..`.
    pub(crate) fn from_archive(bytes: &[u8]) -> Result<Self, Refusal> {
        if bytes.first() == Some(&b'/') {
            return Err("absolute path");
        }
        Self::normalize(bytes)
    }

    /// A path from a caller: `/etc/passwd` and `etc/passwd` both name the
    /// same file; `..` is refused.
    pub(crate) fn from_user(path: &Path) -> Result<Self> {
        Self::normalize(path.as_os_str().as_bytes()).map_err(|reason| Error::InvalidPath {
            path: path.to_owned(),
            reason,
        })
    }

    /// Stored bytes, as read back from metadata.
    pub(crate) fn from_stored(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    fn normalize(bytes: &[u8]) -> Result<Self, Refusal> {
        if bytes.contains(&0) {
            return Err("path contains a NUL byte");
        }
        let mut out = Vec::with_capacity(bytes.len());
        for component in bytes.split(|&byte| byte == b'/') {
            match component {
                b"" | b"." => {}
                b".." => return Err("path contains `..`"),
                name => {
                    if !out.is_empty() {
                        out.push(b'/');
                    }
                    out.extend_from_slice(name);
                }
            }
        }
        Ok(Self(out))
    }

    /// The bytes, components joined by `/`.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether this is the snapshot's root.
    pub(crate) fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The components, outermost first.
    pub(crate) fn components(&self) -> impl Iterator<Item = &[u8]> {
        self.0
            .split(|&byte| byte == b'/')
            .filter(|component| !component.is_empty())
    }

    /// The last component (empty for the root).
    pub(crate) fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&byte| byte == b'/') {
            Some(slash) => &self.0[slash + 1..],
            None => &self.0,
        }
    }

    /// The parent (the root's parent is the root).
    pub(crate) fn parent(&self) -> Self {
        match self.0.iter().rposition(|&byte| byte == b'/') {
            Some(slash) => Self(self.0[..slash].to_vec()),
            None => Self::root(),
        }
    }

    /// This path with one more component (which must not contain `/`).
    pub(crate) fn join(&self, name: &[u8]) -> Self {
        let mut out = self.0.clone();
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(name);
        Self(out)
    }

    /// Every proper ancestor, the root first.
    pub(crate) fn ancestors(&self) -> Vec<Self> {
        let mut out = vec![Self::root()];
        for (index, &byte) in self.0.iter().enumerate() {
            if byte == b'/' {
                out.push(Self(self.0[..index].to_vec()));
            }
        }
        if self.is_root() {
            out.clear();
        }
        out
    }

    /// Whether `self` is `other` or lies below it.
    pub(crate) fn starts_with(&self, other: &Self) -> bool {
        other.is_root()
            || (self.0.starts_with(&other.0)
                && (self.0.len() == other.0.len() || self.0[other.0.len()] == b'/'))
    }

    /// The relative path, to join to a layer directory.
    pub(crate) fn to_relative(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.0))
    }

    /// The path as callers see it, absolute from the snapshot root.
    pub(crate) fn to_absolute(&self) -> PathBuf {
        let mut bytes = Vec::with_capacity(self.0.len() + 1);
        bytes.push(b'/');
        bytes.extend_from_slice(&self.0);
        PathBuf::from(OsString::from_vec(bytes))
    }

    /// The path for messages.
    pub(crate) fn display(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_normalize_and_refuse_escapes() {
        let path = LayerPath::from_archive(b"./usr//bin/./sh").unwrap();
        assert_eq!(path.as_bytes(), b"usr/bin/sh");
        assert_eq!(path.file_name(), b"sh");
        assert_eq!(path.parent().as_bytes(), b"usr/bin");
        assert!(LayerPath::from_archive(b"./").unwrap().is_root());
        assert!(LayerPath::from_archive(b"/etc/passwd").is_err());
        assert!(LayerPath::from_archive(b"a/../../b").is_err());
        assert!(LayerPath::from_archive(b"..").is_err());
    }

    #[test]
    fn user_paths_may_be_absolute() {
        let path = LayerPath::from_user(Path::new("/etc/passwd")).unwrap();
        assert_eq!(path.to_absolute(), Path::new("/etc/passwd"));
        assert!(LayerPath::from_user(Path::new("/etc/../x")).is_err());
    }

    #[test]
    fn ancestors_and_prefixes() {
        let path = LayerPath::from_archive(b"a/b/c").unwrap();
        let ancestors: Vec<_> = path.ancestors().iter().map(LayerPath::display).collect();
        assert_eq!(ancestors, ["", "a", "a/b"]);
        assert!(path.starts_with(&LayerPath::from_archive(b"a/b").unwrap()));
        assert!(!path.starts_with(&LayerPath::from_archive(b"a/bc").unwrap()));
        assert!(path.starts_with(&LayerPath::root()));
    }
}
