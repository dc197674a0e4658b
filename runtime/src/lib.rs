//! `xb-runtime` runs one process of a build in a sandbox of its own.
//!
//! It owns everything between "here is a root filesystem and a command" and
//! "here is its exit status": the build's user namespace ([`userns`]),
//! mount, pid, ipc, uts and network namespaces, mounts and `pivot_root`
//! ([`Sandbox`]), capabilities, `no_new_privs` and seccomp
//! ([`HardeningSpec`]). It knows nothing of Dockerfiles, images or layers;
//! `xb` asks it for a process and the snapshotter crate provides the root
//! filesystem. Namespace setup runs in a re-exec of `/proc/self/exe`, never
//! in a fork of a threaded caller: `main` must call [`on_start`] first.
//!
//! ```no_run
//! use xb_runtime::{RootFs, Sandbox, SandboxSpec};
//!
//! fn main() {
//!     xb_runtime::on_start();
//!     let spec = SandboxSpec {
//!         root: RootFs::Directory("/var/tmp/rootfs".into()),
//!         args: vec!["/bin/sh".into(), "-c".into(), "echo hi".into()],
//!         cwd: "/".into(),
//!         hostname: "sandbox".into(),
//!         ..SandboxSpec::default()
//!     };
//!     let report = Sandbox::run(&spec, &mut |_, bytes| print!("{}", String::from_utf8_lossy(bytes)));
//!     println!("{:?}", report.map(|report| report.status));
//! }
//! ```
#![deny(missing_docs)]

mod error;
mod hardening;
mod probe;
mod sandbox;
mod sys;
pub mod userns;

pub use error::Error;
pub use hardening::{DEFAULT_CAPABILITIES, HardeningError, HardeningSpec};
pub use probe::{HostSupport, probe};
pub use sandbox::{
    ExitReport, ExitStatus, Isolation, Mount, Network, RootFs, Sandbox, SandboxSpec, SetupFailure,
    Stream,
};

/// Call first in `main`, before any thread starts: when this process is one
/// of the runtime's re-runs of `/proc/self/exe`, this runs it (a sandbox
/// helper never returns; the build's namespace child returns as root in
/// its namespace). Otherwise it returns at once.
pub fn on_start() {
    sandbox::on_start();
    userns::on_start();
}
