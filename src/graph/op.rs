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

/// A process to run over input 0 (its root filesystem; the result is input
/// 0 plus what the process changed). Further inputs feed mounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecOp {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
    /// `user[:group]` as written (names resolved in the root's own
    /// `/etc/passwd` and `/etc/group`); `None` is root.
    pub user: Option<String>,
    pub network: Network,
    pub mounts: Vec<ExecMount>,
}

/// `RUN --network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// The build's network (the host's unless `xb build --network=none`).
    Default,
    None,
    Host,
}

/// What a cache mount shares with concurrent users of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheSharing {
    Shared,
    Private,
    Locked,
}

/// Owner and mode of a mount's root or file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MountOwner {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// One mount a RUN command sees; none of them lands in the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum ExecMount {
    /// Files of input `input` at `source`; `readonly: false` lets the
    /// command write, and the writes are discarded.
    Bind {
        input: usize,
        source: String,
        target: String,
        readonly: bool,
    },
    /// A directory kept in the store across builds, by `id`, seeded from
    /// `source` of input `seed` when first made.
    Cache {
        id: String,
        target: String,
        sharing: CacheSharing,
        readonly: bool,
        seed: Option<(usize, String)>,
        owner: MountOwner,
    },
    Tmpfs {
        target: String,
        size: Option<u64>,
    },
    /// A secret given to `xb build --secret id=…`, as a file at `target`
    /// and/or the environment variable `env`. Never part of a cache key.
    Secret {
        id: String,
        target: Option<String>,
        env: Option<String>,
        required: bool,
        owner: MountOwner,
    },
    /// An SSH agent socket given to `xb build --ssh id=…`.
    Ssh {
        id: String,
        target: String,
        required: bool,
        owner: MountOwner,
    },
    /// A file made by the frontend (a heredoc script), read-only.
    File {
        target: String,
        data: Vec<u8>,
        mode: u32,
    },
}

/// Stacks its inputs' layers in order, without copying (`COPY --link`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeOp {}
