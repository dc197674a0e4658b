//! The operations a build is made of: xb's LLB. `Source` brings files in
//! (an image, the context, a URL), `File` changes files (copy, mkdir, mkfile,
//! rm, symlink), `Exec` runs a command (executed by the sandbox, in a later
//! release) and `Merge` stacks independent layers (`COPY --link`). Ops name
//! their inputs by position in the vertex's input list. Nothing here knows
//! Dockerfiles; the frontend builds ops, the solver runs them.

use serde::Serialize;

use super::{Digest, Platform};

/// One operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Source(SourceOp),
    File(FileOp),
    Exec(ExecOp),
    Merge(MergeOp),
}

/// Where files come from. A source has no inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceOp {
    /// An empty filesystem.
    Scratch,
    /// An image, by canonical reference, for one platform. The solver pins
    /// it to a manifest digest; that digest is what the cache key uses.
    Image {
        reference: String,
        platform: Platform,
    },
    /// A local directory given to the build (`context` is the main one;
    /// `--build-context name=dir` adds others).
    Local { name: String },
    /// An image from an OCI image layout on disk (`oci-layout://`), chosen
    /// by tag (`org.opencontainers.image.ref.name`) or manifest digest.
    OciLayout {
        path: String,
        tag: Option<String>,
        digest: Option<Digest>,
        platform: Platform,
    },
    /// A file downloaded over HTTP(S), optionally pinned by checksum.
    Http {
        url: String,
        checksum: Option<Digest>,
        filename: Option<String>,
    },
}

/// A sequence of file actions applied to input 0 (the destination root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileOp {
    pub actions: Vec<FileAction>,
}

/// A `user[:group]` as written; names are resolved in the destination's own
/// `/etc/passwd` and `/etc/group` when the action runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub user: String,
    pub group: Option<String>,
}

/// `--chmod`: octal, or symbolic (`u+x,go-w`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Octal(u32),
    Symbolic(String),
}

/// One change to the destination filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileAction {
    Copy(CopyAction),
    Mkdir {
        path: String,
        mode: u32,
        owner: Option<Owner>,
        parents: bool,
    },
    Mkfile {
        path: String,
        mode: u32,
        owner: Option<Owner>,
        data: Vec<u8>,
    },
    Rm {
        path: String,
        allow_not_found: bool,
    },
    Symlink {
        target: String,
        link: String,
    },
}

/// COPY/ADD of paths from another input into the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyAction {
    /// Index into the vertex's inputs of where the sources live.
    pub source_input: usize,
    /// Source paths or wildcard patterns, as written.
    pub sources: Vec<String>,
    /// Absolute destination; a trailing `/` means "into this directory".
    pub dest: String,
    pub owner: Option<Owner>,
    pub mode: Option<Mode>,
    /// `--parents`: keep the source's directories (from the `/./` pivot).
    pub parents: bool,
    /// `--exclude` patterns.
    pub exclude: Vec<String>,
    /// ADD: unpack local tar archives into the destination.
    pub unpack_archives: bool,
    /// Whether a source pattern may match nothing (wildcards may).
    pub allow_empty_wildcard: bool,
}

/// A process to run over input 0 (executed by the sandbox, in a later release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecOp {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
    pub user: Option<String>,
    /// `none`, `host` or `default`.
    pub network: String,
    /// Heredoc scripts and other files the command reads on stdin or fds.
    pub stdin: Option<Vec<u8>>,
}

/// Stacks its inputs' layers in order, without copying (`COPY --link`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeOp {}
