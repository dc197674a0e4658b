//! What a sandboxed command may still do, applied by its process right
//! before exec, in this order (as runc does): supplementary groups and gid,
//! then `PR_SET_KEEPCAPS` so the uid switch keeps the permitted set, the
//! uid, then the open-files limit, `no_new_privs`, the capability sets ([`capabilities`]) and the
//! seccomp filters ([`seccomp`]), compiled before fork.

mod capabilities;
mod seccomp;

use serde::{Deserialize, Serialize};

pub use capabilities::DEFAULT_CAPABILITIES;

/// The hardening a sandbox spec asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardeningSpec {
    /// The default seccomp filter (Docker's intent: no kernel keyring, no
    /// mounts, no new namespaces, no module loading, no device nodes).
    pub seccomp: bool,
    /// `no_new_privs`: setuid binaries gain nothing.
    pub no_new_privileges: bool,
    /// `chown` family calls succeed without changing anything: for a user
    /// namespace where only root is mapped, so builds that chown still run.
    pub ignore_chown: bool,
}

impl Default for HardeningSpec {
    fn default() -> Self {
        Self {
            seccomp: true,
            no_new_privileges: true,
            ignore_chown: false,
        }
    }
}

/// Why hardening could not be prepared or applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HardeningError {
    /// The seccomp filter did not compile.
    #[error("failed to compile the seccomp filter: {0}")]
    CompileSeccomp(String),
    /// The kernel refused the seccomp filter.
    #[error("failed to apply the seccomp filter: {0}")]
    ApplySeccomp(String),
    /// A capability set could not be changed.
    #[error("failed to set the {set} capabilities: {message}")]
    SetCapabilities {
        /// Which set.
        set: &'static str,
        /// The cause.
        message: String,
    },
    /// A prctl failed.
    #[error("failed to set {what}: {source}")]
    Prctl {
        /// What was being set.
        what: &'static str,
        /// The cause.
        #[source]
        source: nix::Error,
    },
}

/// Hardening prepared before fork (the seccomp programs are plain data).
pub(crate) struct Hardening {
    spec: HardeningSpec,
    filters: Vec<seccompiler::BpfProgram>,
}

impl Hardening {
    pub(crate) fn prepare(spec: &HardeningSpec) -> Result<Self, HardeningError> {
        let filters = if spec.seccomp {
            seccomp::default_filters(spec.ignore_chown)?
        } else {
            Vec::new()
        };
        Ok(Self {
            spec: spec.clone(),
            filters,
        })
    }

    /// Before the uid switch: keep the permitted capabilities across it.
    pub(crate) fn keep_capabilities_across_setuid() -> Result<(), HardeningError> {
        nix::sys::prctl::set_keepcaps(true).map_err(|source| HardeningError::Prctl {
            what: "keep-capabilities",
            source,
        })
    }

    /// After the uid switch, the last thing before exec.
    pub(crate) fn apply(&self) -> Result<(), HardeningError> {
        raise_open_files();
        if self.spec.no_new_privileges {
            nix::sys::prctl::set_no_new_privs().map_err(|source| HardeningError::Prctl {
                what: "no_new_privs",
                source,
            })?;
        }
        capabilities::apply_default()?;
        for filter in &self.filters {
            seccompiler::apply_filter(filter)
                .map_err(|error| HardeningError::ApplySeccomp(error.to_string()))?;
        }
        Ok(())
    }
}

/// Open files: as many as container runtimes give (1048576), or the hard
/// limit this process has when it may not raise it.
fn raise_open_files() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    const WANTED: u64 = 1_048_576;
    if setrlimit(Resource::RLIMIT_NOFILE, WANTED, WANTED).is_err() {
        if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}
