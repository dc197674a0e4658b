//! What a sandboxed process is given and what it gives back: the
//! serialisable [`SandboxSpec`] that crosses the re-exec of `/proc/self/exe`,
//! and the [`ExitReport`] of a run.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The root filesystem of the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RootFs {
    /// An overlay of `lower` (topmost first) under a writable `upper`;
    /// mounted with `userxattr`. `work` is on the same filesystem as `upper`.
    Overlay {
        /// Lower directories, topmost first.
        lower: Vec<PathBuf>,
        /// Where the process's changes land.
        upper: PathBuf,
        /// overlayfs's work directory.
        work: PathBuf,
    },
    /// A plain directory, bind-mounted (the copy fallback).
    Directory(PathBuf),
}

impl Default for RootFs {
    fn default() -> Self {
        Self::Directory(PathBuf::from("/"))
    }
}

/// One mount inside the sandbox. Targets are absolute paths inside the
/// root; they are resolved without leaving it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mount {
    /// A host file or directory.
    Bind {
        /// The host path.
        source: PathBuf,
        /// Where it appears.
        target: String,
        /// Read-only.
        readonly: bool,
    },
    /// A fresh tmpfs.
    Tmpfs {
        /// Where it appears.
        target: String,
        /// Its size limit in bytes.
        size: Option<u64>,
    },
    /// An overlay whose `subpath` appears at `target`; writes land in
    /// `upper` (which the caller usually throws away).
    Overlay {
        /// Lower directories, topmost first.
        lower: Vec<PathBuf>,
        /// The writable layer.
        upper: PathBuf,
        /// overlayfs's work directory.
        work: PathBuf,
        /// The directory of the overlay to mount (`""` for its root).
        subpath: String,
        /// Where it appears.
        target: String,
        /// Read-only.
        readonly: bool,
    },
}

/// The network a process gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Network {
    /// The host's network namespace.
    #[default]
    Host,
    /// A new network namespace with only loopback, up.
    None,
}

/// How the process is kept apart from the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Isolation {
    /// Fresh mount, pid, ipc and uts namespaces (and net when asked).
    #[default]
    Namespaces,
    /// A chroot into a directory root, no new namespaces: for hosts that
    /// refuse them. No mounts, no `/proc` of its own.
    Chroot,
}

impl Mount {
    /// Where the mount appears inside the root.
    pub fn target(&self) -> &str {
        match self {
            Self::Bind { target, .. }
            | Self::Tmpfs { target, .. }
            | Self::Overlay { target, .. } => target,
        }
    }
}

/// Everything a sandboxed process is run with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxSpec {
    /// The root filesystem.
    pub root: RootFs,
    /// The command; `args[0]` is looked up in the root's `PATH` when it has
    /// no `/`.
    pub args: Vec<String>,
    /// `NAME=value` strings.
    pub env: Vec<String>,
    /// The working directory inside the root; created when missing.
    pub cwd: String,
    /// The user id the command runs as.
    pub uid: u32,
    /// The group id the command runs as.
    pub gid: u32,
    /// Supplementary groups.
    pub additional_gids: Vec<u32>,
    /// Extra mounts, in order.
    pub mounts: Vec<Mount>,
    /// The network.
    pub network: Network,
    /// The hostname, also written to `/etc/hostname`.
    pub hostname: String,
    /// The contents of `/etc/hosts`.
    pub hosts: String,
    /// The contents of `/etc/resolv.conf`.
    pub resolv_conf: String,
    /// Bytes fed to the command's standard input (else `/dev/null`).
    pub stdin: Option<Vec<u8>>,
    /// A host directory the sandbox may use for its own files (mount
    /// points, the `/etc` files); must exist. Default: the system temp dir.
    pub scratch: Option<PathBuf>,
    /// Namespaces, or a chroot where the host refuses them.
    pub isolation: Isolation,
    /// The hardening applied just before the command starts.
    pub hardening: crate::HardeningSpec,
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(code) => write!(f, "exit code: {code}"),
            Self::Signal(signal) => write!(f, "killed by signal {signal}"),
        }
    }
}

/// What a run gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitReport {
    /// How the command ended.
    pub status: ExitStatus,
    /// Paths inside the root the sandbox created as mount points (parents
    /// first); they are not the command's and should not land in a layer.
    pub created_paths: Vec<String>,
}
