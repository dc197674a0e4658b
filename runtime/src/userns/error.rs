//! Why the build's user namespace could not be entered.

use std::path::PathBuf;

/// A failure entering the build's user namespace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsernsError {
    /// `xb` could not be re-run.
    #[error("failed to re-run xb in a user namespace")]
    SpawnChild {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The kernel refused to create a user namespace.
    #[error("user namespaces are refused here ({reason})")]
    UserNamespacesRefused {
        /// What the child reported.
        reason: String,
    },
    /// `newuidmap` or `newgidmap` failed.
    #[error("{program} failed ({status}): {stderr}")]
    RunNewuidmap {
        /// `newuidmap` or `newgidmap`.
        program: &'static str,
        /// Its exit status.
        status: String,
        /// What it said.
        stderr: String,
    },
    /// Writing an id map directly failed.
    #[error("failed to write {}", path.display())]
    WriteIdMap {
        /// The map file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The re-run child ended before it was mapped.
    #[error("the re-run xb ended before its user namespace was set up")]
    ChildLost,
}
