//! The crate's one error type: each variant names the action that failed
//! and carries its context.

use std::path::PathBuf;

use crate::sandbox::SetupFailure;

/// Why a sandbox or the build's user namespace could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The spec could not be encoded for the helper.
    #[error("failed to encode the sandbox spec")]
    EncodeSpec {
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The helper process could not be started or talked to.
    #[error("failed to start the sandbox helper")]
    Spawn {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The sandbox's scratch directory could not be made.
    #[error("failed to create {}", path.display())]
    CreateScratch {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The kernel refused to mount overlayfs for the root; the caller may
    /// fall back to copies.
    #[error("overlayfs is refused here: {failure}")]
    OverlayRefused {
        /// What the helper reported.
        failure: SetupFailure,
    },
    /// The kernel refused new namespaces.
    #[error("{failure} (user namespaces or the needed privileges are refused here)")]
    NamespacesRefused {
        /// What the helper reported.
        failure: SetupFailure,
    },
    /// The command was not found or could not be executed.
    #[error("{failure}")]
    Exec {
        /// What the helper reported.
        failure: SetupFailure,
    },
    /// Another setup step failed.
    #[error("{failure}")]
    Setup {
        /// What the helper reported.
        failure: SetupFailure,
    },
    /// Entering the build's user namespace failed.
    #[error(transparent)]
    UserNamespace(#[from] crate::userns::UsernsError),
}

impl Error {
    pub(crate) fn from_failure(failure: SetupFailure) -> Self {
        let refused = matches!(failure.errno, Some(errno) if errno == libc::EPERM || errno == libc::EINVAL || errno == libc::ENODEV);
        match failure.action.as_str() {
            "mount overlay" if refused => Self::OverlayRefused { failure },
            "unshare namespaces" => Self::NamespacesRefused { failure },
            "exec" => Self::Exec { failure },
            _ => Self::Setup { failure },
        }
    }
}
