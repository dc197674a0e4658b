//! What `xb build` tells every RUN of a build: the snapshotter backend (and
//! the switch to copies once overlayfs is refused, said once), the build's
//! network, and where secret values and SSH agent sockets come from.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use xb_snapshotter::Backend;

use super::ExecuteError;

/// Where a `--secret`'s value is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

/// Which snapshotter backend RUN steps use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// overlayfs, falling back to copies once it is refused.
    #[default]
    Auto,
    /// overlayfs only.
    Overlay,
    /// Copies only.
    Native,
}

/// How RUN steps are isolated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IsolationChoice {
    /// Namespaces, falling back to chroot once the host refuses them.
    #[default]
    Auto,
    /// Namespaces only.
    Sandbox,
    /// chroot only.
    Chroot,
}

/// The build-wide settings of RUN steps.
#[derive(Debug, Default)]
pub struct RunSettings {
    /// `--snapshotter`.
    pub backend: BackendChoice,
    /// `--isolation`.
    pub isolation: IsolationChoice,
    /// Set once the host refused namespaces; RUNs use chroot from then on.
    pub namespaces_refused: AtomicBool,
    /// Only root exists in the build's user namespace: RUN's chown calls
    /// succeed without effect instead of failing.
    pub caller_only: bool,
    /// `xb build --network=none`: no RUN gets a network.
    pub network_none: bool,
    pub secrets: BTreeMap<String, SecretSource>,
    /// `--ssh id=paths`; empty paths mean `$SSH_AUTH_SOCK`.
    pub ssh: BTreeMap<String, Vec<PathBuf>>,
    /// Set once the caller-only limitation was reported.
    pub caller_only_said: AtomicBool,
    /// Set once overlayfs was refused; RUNs use copies from then on.
    pub overlay_refused: AtomicBool,
}

impl RunSettings {
    /// True the first time it is asked, so the caller-only limitation is
    /// reported once per build.
    pub fn first_caller_only_step(&self) -> bool {
        !self.caller_only_said.swap(true, Ordering::Relaxed)
    }

    /// The isolation for the next RUN.
    pub fn isolation(&self) -> xb_runtime::Isolation {
        let chroot = self.isolation == IsolationChoice::Chroot
            || self.namespaces_refused.load(Ordering::Relaxed);
        if chroot {
            xb_runtime::Isolation::Chroot
        } else {
            xb_runtime::Isolation::Namespaces
        }
    }

    /// The host refused namespaces: use chroot from now on (said once).
    /// Returns false when `--isolation=sandbox` forbids the fallback.
    pub fn namespaces_refused(&self) -> bool {
        if self.isolation != IsolationChoice::Auto {
            return false;
        }
        if !self.namespaces_refused.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "this host refuses new namespaces; RUN steps fall back to chroot isolation (no /proc, no RUN --mount; --isolation=chroot says so up front)"
            );
        }
        true
    }

    /// The backend for the next RUN (chroot isolation needs copies).
    pub fn backend(&self) -> Backend {
        if self.backend == BackendChoice::Native
            || self.overlay_refused.load(Ordering::Relaxed)
            || self.isolation() == xb_runtime::Isolation::Chroot
        {
            Backend::Native
        } else {
            Backend::Overlay
        }
    }

    /// Overlayfs was refused: use copies from now on (said once). Returns
    /// false when `--snapshotter=overlay` forbids the fallback.
    pub fn overlay_refused(&self) -> bool {
        if self.backend == BackendChoice::Overlay {
            return false;
        }
        if !self.overlay_refused.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "overlayfs is refused here; RUN steps use copies of their root (slower; --snapshotter=native says so up front)"
            );
        }
        true
    }

    /// The value of secret `id`, if the build was given it.
    pub fn secret(&self, id: &str) -> Result<Option<Vec<u8>>, ExecuteError> {
        match self.secrets.get(id) {
            None => Ok(None),
            Some(SecretSource::File(path)) => {
                fs_err::read(path)
                    .map(Some)
                    .map_err(|source| ExecuteError::ReadSecret {
                        id: id.to_owned(),
                        source,
                    })
            }
            Some(SecretSource::Env(name)) => Ok(std::env::var_os(name)
                .map(|value| std::os::unix::ffi::OsStrExt::as_bytes(value.as_os_str()).to_vec())),
        }
    }

    /// The agent socket for SSH id `id`, if the build was given one.
    pub fn ssh_socket(&self, id: &str) -> Result<Option<PathBuf>, ExecuteError> {
        let Some(paths) = self.ssh.get(id) else {
            return Ok(None);
        };
        let socket = match paths.as_slice() {
            [] => std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from),
            [one] => Some(one.clone()),
            _ => None,
        };
        let Some(socket) = socket else {
            return Err(ExecuteError::SshNotSocket { id: id.to_owned() });
        };
        let is_socket = fs_err::metadata(&socket)
            .map(|metadata| std::os::unix::fs::FileTypeExt::is_socket(&metadata.file_type()))
            .unwrap_or(false);
        if !is_socket {
            return Err(ExecuteError::SshNotSocket { id: id.to_owned() });
        }
        Ok(Some(socket))
    }
}
