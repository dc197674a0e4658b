//! `xb-snapshotter` turns chains of committed layer directories into mounts.
//!
//! It owns layer directories on disk, overlayfs mounts (also inside a user
//! namespace) and the copy-based fallback, committing an upper directory as a
//! new layer, writing a layer as a deterministic tar and applying a tar safely.
//! It knows nothing of Dockerfiles or processes.
//!
//! This release names the backends; preparing and committing snapshots arrives
//! with the RUN support.
//!
//! ```no_run
//! let backend: xb_snapshotter::Backend = "overlay".parse().expect("a known backend");
//! assert_eq!(backend.as_str(), "overlay");
//! ```
#![deny(missing_docs)]

use std::str::FromStr;

/// How layers are stacked into a root filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// overlayfs: lower directories are the chain, a fresh upper holds changes.
    Overlay,
    /// Copy the chain into a fresh directory where overlay is refused.
    Native,
}

impl Backend {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Overlay => "overlay",
            Backend::Native => "native",
        }
    }
}

/// A snapshotter name that is not one of the known backends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown snapshotter {0:?} (expected overlay or native)")]
pub struct UnknownBackend(pub String);

impl FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "overlay" => Ok(Backend::Overlay),
            "native" => Ok(Backend::Native),
            other => Err(UnknownBackend(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_round_trip() {
        for backend in [Backend::Overlay, Backend::Native] {
            assert_eq!(backend.as_str().parse::<Backend>(), Ok(backend));
        }
        assert!("zfs".parse::<Backend>().is_err());
    }
}
