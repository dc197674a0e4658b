//! How owners on disk translate to owners in the image.
//!
//! A layer's files are owned on disk by whoever wrote them. Run as root, that
//! is the owner the image asked for (identity map). Run rootless, everything
//! is written by the caller, which the image sees as root (the caller maps to
//! 0, as in a user namespace); owners it cannot give are kept as overrides in
//! the layer's metadata instead (see `entries`). A later RUN sandbox with
//! subordinate id ranges passes a wider map. Setting up the namespace itself
//! is the runtime's business; [`DiskOwnership::detect`] only reads the maps
//! the process was given (`/proc/self/uid_map`, `gid_map`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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

/// What the process may do with owners on disk: the [`IdMap`] it writes
/// through and whether it is privileged over the files it writes (chown and
/// exact modes work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskOwnership {
    /// Owners on disk as the image sees them.
    pub id_map: IdMap,
    /// Whether chown works for the mapped ids and modes go to disk exactly.
    pub privileged: bool,
}

impl DiskOwnership {
    /// Reads `/proc/self/uid_map` and `gid_map` with the effective ids:
    /// see [`DiskOwnership::from_maps`].
    pub fn detect() -> Result<Self> {
        let read = |path: &str| {
            fs_err::read_to_string(path).map_err(|source| Error::ReadIdMap {
                path: path.into(),
                source,
            })
        };
        Self::from_maps(
            &read("/proc/self/uid_map")?,
            &read("/proc/self/gid_map")?,
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    }

    /// Decides from the texts of a uid map and a gid map (`inside outside
    /// count` lines) and the effective ids:
    ///
    /// - not uid 0: unprivileged, [`IdMap::single`] of the effective ids (a
    ///   non-root caller, in a namespace or not);
    /// - uid 0 with more than one uid mapped (real root's identity map
    ///   `0 0 4294967295`, or a namespace with subordinate ranges such as
    ///   `0 1000 1` + `1 200000 65536`): privileged, and every mapped range
    ///   is identity (inside the namespace the process sees its own ids on
    ///   disk); ids outside the ranges become overrides;
    /// - uid 0 with only itself mapped: unprivileged, `IdMap::single(0, 0)`
    ///   (owners other than root are kept as overrides).
    pub fn from_maps(uid_map: &str, gid_map: &str, euid: u32, egid: u32) -> Result<Self> {
        let uids = parse_map(uid_map, Path::new("/proc/self/uid_map"))?;
        let gids = parse_map(gid_map, Path::new("/proc/self/gid_map"))?;
        let count = |ranges: &[IdRange]| ranges.iter().map(|range| u64::from(range.len)).sum();
        let mapped_uids: u64 = count(&uids);
        if euid != 0 {
            return Ok(Self {
                id_map: IdMap::single(euid, egid),
                privileged: false,
            });
        }
        if mapped_uids <= 1 {
            return Ok(Self {
                id_map: IdMap::single(0, 0),
                privileged: false,
            });
        }
        Ok(Self {
            id_map: IdMap { uids, gids },
            privileged: true,
        })
    }
}

impl IdMap {
    /// The map for this process as [`DiskOwnership::detect`] decides it.
    pub fn from_proc_self() -> Result<Self> {
        Ok(DiskOwnership::detect()?.id_map)
    }
}

/// The ranges of one map text, each as identity (`inside..inside+count`).
fn parse_map(text: &str, path: &Path) -> Result<Vec<IdRange>> {
    let mut ranges = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let fields: Vec<u32> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| Error::ParseIdMap {
                path: path.to_owned(),
                line: line.to_owned(),
            })?;
        let [inside, _outside, len] = fields[..] else {
            return Err(Error::ParseIdMap {
                path: path.to_owned(),
                line: line.to_owned(),
            });
        };
        ranges.push(IdRange {
            container: inside,
            host: inside,
            len,
        });
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_maps_of_real_root_are_identity() {
        let map = "         0          0 4294967295\n";
        let ownership = DiskOwnership::from_maps(map, map, 0, 0).unwrap();
        assert!(ownership.privileged);
        assert_eq!(ownership.id_map, IdMap::identity());
    }

    #[test]
    fn proc_maps_with_subordinate_ranges_are_privileged_within_them() {
        let uid_map = "0 1000 1\n1 200000 65536\n";
        let gid_map = "0 1000 1\n1 300000 1000\n";
        let ownership = DiskOwnership::from_maps(uid_map, gid_map, 0, 0).unwrap();
        assert!(ownership.privileged);
        let map = ownership.id_map;
        // Inside the namespace the disk shows container ids.
        assert_eq!(map.host_uid(0), Some(0));
        assert_eq!(map.host_uid(1000), Some(1000));
        assert_eq!(map.host_uid(65536), Some(65536));
        assert_eq!(map.host_uid(65537), None);
        assert_eq!(map.host_gid(1000), Some(1000));
        assert_eq!(map.host_gid(1001), None);
        assert_eq!(map.container_uid(42), 42);
    }

    #[test]
    fn proc_maps_with_only_root_mapped_are_unprivileged() {
        let ownership = DiskOwnership::from_maps("0 1000 1", "0 1000 1", 0, 0).unwrap();
        assert!(!ownership.privileged);
        assert_eq!(ownership.id_map, IdMap::single(0, 0));
    }

    #[test]
    fn proc_maps_of_a_non_root_caller_map_it_to_root() {
        let map = "0 0 4294967295";
        let ownership = DiskOwnership::from_maps(map, map, 1000, 100).unwrap();
        assert!(!ownership.privileged);
        assert_eq!(ownership.id_map, IdMap::single(1000, 100));
    }

    #[test]
    fn proc_maps_refuse_garbage() {
        assert!(matches!(
            DiskOwnership::from_maps("0 0", "0 0 1", 0, 0),
            Err(Error::ParseIdMap { line, .. }) if line == "0 0"
        ));
        assert!(DiskOwnership::from_maps("a b c", "0 0 1", 0, 0).is_err());
    }

    #[test]
    fn proc_self_detection_matches_this_process() {
        let ownership = DiskOwnership::detect().unwrap();
        let uid_map = fs_err::read_to_string("/proc/self/uid_map").unwrap();
        let real_root = nix::unistd::geteuid().is_root()
            && uid_map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
        if real_root {
            assert!(ownership.privileged);
            assert_eq!(IdMap::from_proc_self().unwrap(), IdMap::identity());
        } else if !nix::unistd::geteuid().is_root() {
            assert!(!ownership.privileged);
        }
    }
}
