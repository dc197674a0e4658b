//! What can go wrong while reading a build context: walking it, hashing it,
//! opening a file in it, and resolving a COPY source against it. Each variant
//! names the action that failed and carries the path it failed on; finding
//! the fault is left to the modules that do the work.

use std::io;
use std::path::PathBuf;

use crate::frontend::ignore::IgnoreError;

/// A build context that cannot be read or a COPY source that cannot be
/// resolved in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// The context directory itself could not be opened or resolved.
    #[error("unable to prepare context: cannot open {}", path.display())]
    OpenContextRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A directory inside the context could not be listed.
    #[error("cannot list {}", path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An entry of the context could not be examined.
    #[error("cannot stat {}", path.display())]
    StatEntry {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A symlink's target could not be read.
    #[error("cannot read symlink {}", path.display())]
    ReadLink {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A context file could not be opened without following symlinks, e.g.
    /// because one of its components was replaced by a symlink since the scan.
    #[error("cannot open {path:?} in the build context {}", root.display())]
    OpenInContext {
        root: PathBuf,
        path: String,
        #[source]
        source: io::Error,
    },
    /// A context file could not be read while computing its checksum.
    #[error("cannot read {} to compute its checksum", path.display())]
    HashFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The checksum cache could not be written (reading one never fails:
    /// an unreadable cache is ignored).
    #[error("cannot write the context checksum cache {}", path.display())]
    WriteChecksumCache {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A COPY/ADD source without wildcards names nothing in the context
    /// (BuildKit's wording). `path` is the cleaned source, rooted.
    #[error("{path:?}: not found")]
    SourceNotFound {
        /// The source as the Dockerfile wrote it.
        written: String,
        /// The cleaned path, with a leading `/`, as Docker prints it.
        path: String,
    },
    /// A COPY/ADD source is not a valid `filepath.Match` pattern.
    #[error("invalid source pattern {pattern:?}: {fault}")]
    ParseSourcePattern {
        pattern: String,
        fault: &'static str,
    },
    /// A `--exclude` pattern is not a valid pattern.
    #[error("invalid --exclude pattern")]
    ParseExcludePattern(#[source] IgnoreError),
    /// Resolving a source went through a symlink whose target lies outside
    /// the context. `entry` is the symlink's path in the context.
    #[error("source path escapes the build context via symlink {entry:?}")]
    SymlinkEscapes {
        /// The source as the Dockerfile wrote it.
        written: String,
        entry: String,
    },
    /// Resolving a source followed too many symlinks (a loop).
    #[error("too many levels of symlinks resolving {written:?} (at {entry:?})")]
    SymlinkLoop { written: String, entry: String },
    /// A source path goes through a file as if it were a directory.
    #[error("{path:?}: not a directory")]
    NotADirectory { written: String, path: String },
}
