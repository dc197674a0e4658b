//! `xb-runtime` runs one process of a build in a sandbox of its own.
//!
//! It owns everything between "here is a root filesystem and a command" and
//! "here is its exit status": user, mount, pid, ipc and uts namespaces, uid and
//! gid maps, mounts, `pivot_root`, capabilities, seccomp and rlimits. It knows
//! nothing of Dockerfiles, images or layers; `xb` asks it for a process and the
//! snapshotter crate provides the root filesystem.
//!
//! This release carries the host probe, which `xb` uses to explain what the
//! machine allows; the sandbox itself arrives with the RUN support.
//!
//! ```no_run
//! let support = xb_runtime::probe();
//! if !support.user_namespaces {
//!     // fall back to chroot-style isolation and say so once
//! }
//! ```
#![deny(missing_docs)]

mod probe;

pub use probe::{HostSupport, probe};
