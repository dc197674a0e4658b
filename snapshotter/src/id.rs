//! Snapshot identity: the [`SnapshotId`] newtype and how fresh ids are made.
//!
//! Ids are random, not content-derived: two layers with the same content on
//! different parents are different snapshots. Content addressing (diffIDs,
//! cache keys) belongs to callers, which record the id a result was
//! committed as.

use std::fmt;
use std::io::Read as _;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The name of a committed snapshot: 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SnapshotId(String);

impl SnapshotId {
    /// The id as text, as it appears in the store's directory names.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fresh random id (16 bytes from the kernel's random source).
    pub(crate) fn generate() -> Result<Self> {
        let mut bytes = [0_u8; 16];
        let path = "/dev/urandom";
        fs_err::File::open(path)
            .and_then(|mut file| file.read_exact(&mut bytes))
            .map_err(|source| Error::ReadMetadata {
                path: path.into(),
                source,
            })?;
        Ok(Self(to_hex(&bytes)))
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        write!(out, "{byte:02x}").expect("writing to a String cannot fail");
    }
    out
}

impl FromStr for SnapshotId {
    type Err = Error;

    fn from_str(id: &str) -> Result<Self> {
        let valid = id.len() == 32
            && id
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        if valid {
            Ok(Self(id.to_owned()))
        } else {
            Err(Error::ParseSnapshotId { id: id.to_owned() })
        }
    }
}

impl TryFrom<String> for SnapshotId {
    type Error = Error;

    fn try_from(id: String) -> Result<Self> {
        id.parse()
    }
}

impl From<SnapshotId> for String {
    fn from(id: SnapshotId) -> Self {
        id.0
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_id_parses_only_hex_names() {
        let id = SnapshotId::generate().unwrap();
        assert_eq!(id.as_str().parse::<SnapshotId>().unwrap(), id);
        assert_ne!(SnapshotId::generate().unwrap(), id);
        for bad in ["", "../../etc", "ABCDEF0123456789abcdef0123456789", "0123"] {
            assert!(bad.parse::<SnapshotId>().is_err(), "{bad}");
        }
    }
}
