//! How owners on disk translate to owners in the image.
//!
//! A layer's files are owned on disk by whoever wrote them. Run as root, that
//! is the owner the image asked for (identity map). Run rootless, everything
//! is written by the caller, which the image sees as root (the caller maps to
//! 0, as in a user namespace); owners it cannot give are kept as overrides in
//! the layer's metadata instead (see `entries`). A later RUN sandbox with
//! subordinate id ranges passes a wider map. Setting up the namespace itself
//! is the runtime's business.

use serde::{Deserialize, Serialize};

/// The id the image sees for a file whose on-disk owner is not mapped.
pub const OVERFLOW_ID: u32 = 65534;

/// One contiguous range: `container..container+len` is `host..host+len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRange {
    /// First id inside the image.
    pub container: u32,
    /// First id on the host.
    pub host: u32,
    /// Number of ids.
    pub len: u32,
}

impl IdRange {
    fn to_host(self, id: u32) -> Option<u32> {
        let offset = id.checked_sub(self.container)?;
        (offset < self.len).then(|| self.host + offset)
    }

    fn to_container(self, id: u32) -> Option<u32> {
        let offset = id.checked_sub(self.host)?;
        (offset < self.len).then(|| self.container + offset)
    }
}

/// User and group id maps between the host (disk) and the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    /// User id ranges.
    pub uids: Vec<IdRange>,
    /// Group id ranges.
    pub gids: Vec<IdRange>,
}

impl IdMap {
    /// Every id is itself (running as real root).
    pub fn identity() -> Self {
        let all = IdRange {
            container: 0,
            host: 0,
            len: u32::MAX,
        };
        Self {
            uids: vec![all],
            gids: vec![all],
        }
    }

    /// The caller's effective uid and gid are 0 in the image; nothing else
    /// is mapped. The default when not running as root.
    pub fn single(uid: u32, gid: u32) -> Self {
        Self {
            uids: vec![IdRange {
                container: 0,
                host: uid,
                len: 1,
            }],
            gids: vec![IdRange {
                container: 0,
                host: gid,
                len: 1,
            }],
        }
    }

    /// The map for this process: identity when the effective uid is 0,
    /// [`IdMap::single`] of the effective ids otherwise.
    pub fn current() -> Self {
        let uid = nix::unistd::geteuid().as_raw();
        if uid == 0 {
            Self::identity()
        } else {
            Self::single(uid, nix::unistd::getegid().as_raw())
        }
    }

    /// The host uid that the image's `uid` is written as, if mapped.
    pub fn host_uid(&self, uid: u32) -> Option<u32> {
        self.uids.iter().find_map(|range| range.to_host(uid))
    }

    /// The host gid that the image's `gid` is written as, if mapped.
    pub fn host_gid(&self, gid: u32) -> Option<u32> {
        self.gids.iter().find_map(|range| range.to_host(gid))
    }

    /// The image uid of a file owned by host `uid` ([`OVERFLOW_ID`] if unmapped).
    pub fn container_uid(&self, uid: u32) -> u32 {
        self.uids
            .iter()
            .find_map(|range| range.to_container(uid))
            .unwrap_or(OVERFLOW_ID)
    }

    /// The image gid of a file owned by host `gid` ([`OVERFLOW_ID`] if unmapped).
    pub fn container_gid(&self, gid: u32) -> u32 {
        self.gids
            .iter()
            .find_map(|range| range.to_container(gid))
            .unwrap_or(OVERFLOW_ID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_map_makes_the_caller_root() {
        let map = IdMap::single(1000, 100);
        assert_eq!(map.container_uid(1000), 0);
        assert_eq!(map.container_gid(100), 0);
        assert_eq!(map.container_uid(0), OVERFLOW_ID);
        assert_eq!(map.host_uid(0), Some(1000));
        assert_eq!(map.host_uid(1), None);
    }

    #[test]
    fn identity_map_keeps_every_id() {
        let map = IdMap::identity();
        for id in [0, 1000, 65534, u32::MAX - 1] {
            assert_eq!(map.host_uid(id), Some(id));
            assert_eq!(map.container_gid(id), id);
        }
    }
}
