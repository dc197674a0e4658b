//! What a RUN's `--mount`s stand for on the host while the command runs:
//! a throwaway writable snapshot of another stage, image or context copy
//! (`bind`), a directory kept in the store by id (`cache`), a private file
//! holding a secret's value (`secret`), the caller's SSH agent socket
//! (`ssh`), a tmpfs, or a heredoc script. Everything here is dropped when
//! the command ends; nothing reaches a layer or a cache key.

use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};
use xb_snapshotter::{RunRoot, RunSnapshot};

use crate::graph::ExecOp;
use crate::graph::op::{CacheSharing, ExecMount, MountOwner};

use super::{BuildExecutor, ExecuteError, Output};

/// The host side of one RUN's mounts, kept alive while it runs.
pub(super) struct PreparedMounts {
    mounts: Vec<xb_runtime::Mount>,
    /// Writable snapshots under bind mounts; dropped uncommitted.
    _scratch: Vec<RunSnapshot>,
    /// Secret values and scripts, removed on drop.
    files: Option<FilesDir>,
    /// `sharing=locked` caches held until the command ends.
    _locks: Vec<Flock<OwnedFd>>,
}

/// A private directory of the store's scratch, removed with everything in
/// it when dropped.
struct FilesDir(PathBuf);

impl FilesDir {
    fn new(scratch: &Path) -> Result<Self, ExecuteError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = scratch.join(format!(
            "run-files-{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs_err::create_dir(&path).map_err(io_error("/", &path))?;
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
            .map_err(io_error("/", &path))?;
        Ok(Self(path))
    }
}

impl Drop for FilesDir {
    fn drop(&mut self) {
        let _ = fs_err::remove_dir_all(&self.0);
    }
}

fn mount_error(target: &str, message: impl Into<String>) -> ExecuteError {
    ExecuteError::Mount {
        target: target.to_owned(),
        message: message.into(),
    }
}

fn io_error<'a>(target: &str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ExecuteError + 'a {
    let target = target.to_owned();
    move |source| ExecuteError::Mount {
        target,
        message: format!("{}: {source}", path.display()),
    }
}

/// Gives `path` the owner and mode a mount asked for. Inside a user
/// namespace with only the caller mapped, other owners cannot be given;
/// the file stays the caller's (root in the build), which the build reports.
fn apply_owner(path: &Path, owner: MountOwner, target: &str) -> Result<(), ExecuteError> {
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(owner.mode))
        .map_err(io_error(target, path))?;
    let _ = std::os::unix::fs::chown(path, Some(owner.uid), Some(owner.gid));
    Ok(())
}

impl PreparedMounts {
    pub(super) fn prepare(
        executor: &BuildExecutor<'_>,
        exec: &ExecOp,
        inputs: &[Output],
        env: &mut Vec<String>,
    ) -> Result<Self, ExecuteError> {
        let mut prepared = Self {
            mounts: Vec::new(),
            _scratch: Vec::new(),
            files: None,
            _locks: Vec::new(),
        };
        for mount in &exec.mounts {
            prepared.add(executor, mount, inputs, env)?;
        }
        Ok(prepared)
    }

    pub(super) fn runtime_mounts(&self) -> Vec<xb_runtime::Mount> {
        self.mounts.clone()
    }

    fn files_dir(&mut self, executor: &BuildExecutor<'_>) -> Result<PathBuf, ExecuteError> {
        if self.files.is_none() {
            self.files = Some(FilesDir::new(executor.store.temp_dir())?);
        }
        Ok(self.files.as_ref().expect("made above").0.clone())
    }

    fn write_file(
        &mut self,
        executor: &BuildExecutor<'_>,
        target: &str,
        data: &[u8],
        owner: MountOwner,
    ) -> Result<PathBuf, ExecuteError> {
        let dir = self.files_dir(executor)?;
        let path = dir.join(format!("{}", self.mounts.len()));
        fs_err::write(&path, data).map_err(io_error(target, &path))?;
        apply_owner(&path, owner, target)?;
        Ok(path)
    }

    fn add(
        &mut self,
        executor: &BuildExecutor<'_>,
        mount: &ExecMount,
        inputs: &[Output],
        env: &mut Vec<String>,
    ) -> Result<(), ExecuteError> {
        match mount {
            ExecMount::Bind {
                input,
                source,
                target,
                readonly,
            } => {
                let snapshot = executor
                    .snapshotter
                    .prepare_run(inputs[*input].top(), executor.run.backend())?;
                let subpath = source.trim_start_matches('/').to_owned();
                self.mounts.push(match snapshot.root() {
                    RunRoot::Overlay { lower, upper, work } => xb_runtime::Mount::Overlay {
                        lower,
                        upper,
                        work,
                        subpath,
                        target: target.clone(),
                        readonly: *readonly,
                    },
                    RunRoot::Directory(dir) => xb_runtime::Mount::Bind {
                        source: dir.join(subpath),
                        target: target.clone(),
                        readonly: *readonly,
                    },
                });
                self._scratch.push(snapshot);
            }
            ExecMount::Cache {
                id,
                target,
                sharing,
                readonly,
                seed,
                owner,
            } => {
                let seed = seed
                    .as_ref()
                    .map(|(input, source)| (&inputs[*input], source.as_str()));
                let dir = self.cache_dir(executor, id, *sharing, *owner, seed, target)?;
                self.mounts.push(xb_runtime::Mount::Bind {
                    source: dir,
                    target: target.clone(),
                    readonly: *readonly,
                });
            }
            ExecMount::Tmpfs { target, size } => self.mounts.push(xb_runtime::Mount::Tmpfs {
                target: target.clone(),
                size: *size,
            }),
            ExecMount::Secret {
                id,
                target,
                env: env_name,
                required,
                owner,
            } => {
                let Some(value) = executor.run.secret(id)? else {
                    if *required {
                        return Err(ExecuteError::MissingSecret { id: id.clone() });
                    }
                    return Ok(());
                };
                if let Some(name) = env_name {
                    env.push(format!("{name}={}", String::from_utf8_lossy(&value)));
                }
                if let Some(target) = target {
                    let path = self.write_file(executor, target, &value, *owner)?;
                    self.mounts.push(xb_runtime::Mount::Bind {
                        source: path,
                        target: target.clone(),
                        readonly: true,
                    });
                }
            }
            ExecMount::Ssh {
                id,
                target,
                required,
                owner: _,
            } => {
                let Some(socket) = executor.run.ssh_socket(id)? else {
                    if *required {
                        return Err(ExecuteError::MissingSsh { id: id.clone() });
                    }
                    return Ok(());
                };
                self.mounts.push(xb_runtime::Mount::Bind {
                    source: socket,
                    target: target.clone(),
                    readonly: false,
                });
            }
            ExecMount::File { target, data, mode } => {
                let owner = MountOwner {
                    uid: 0,
                    gid: 0,
                    mode: *mode,
                };
                let path = self.write_file(executor, target, data, owner)?;
                self.mounts.push(xb_runtime::Mount::Bind {
                    source: path,
                    target: target.clone(),
                    readonly: true,
                });
            }
        }
        Ok(())
    }

    /// The store directory of cache `id`, made with `owner` the first time.
    /// `locked` waits for other users; `private` takes a fresh directory
    /// when another build holds the shared one.
    fn cache_dir(
        &mut self,
        executor: &BuildExecutor<'_>,
        id: &str,
        sharing: CacheSharing,
        owner: MountOwner,
        seed: Option<(&Output, &str)>,
        target: &str,
    ) -> Result<PathBuf, ExecuteError> {
        let root = executor.store.dir("cache-mounts")?;
        let name = hex::encode(Sha256::digest(id.as_bytes()));
        let dir = root.join(&name);
        let lock_path = root.join(format!("{name}.lock"));
        let lock = OwnedFd::from(
            fs_err::File::create(&lock_path)
                .map_err(io_error(target, &lock_path))?
                .into_parts()
                .0,
        );
        let dir = match sharing {
            CacheSharing::Shared => dir,
            CacheSharing::Locked => {
                let held = Flock::lock(lock, FlockArg::LockExclusive)
                    .map_err(|(_, error)| io_error(target, &lock_path)(error.into()))?;
                self._locks.push(held);
                dir
            }
            CacheSharing::Private => {
                if let Ok(held) = Flock::lock(lock, FlockArg::LockExclusiveNonblock) {
                    self._locks.push(held);
                    dir
                } else {
                    let private = self
                        .files_dir(executor)?
                        .join(format!("cache-{}", self.mounts.len()));
                    make_cache_dir(executor, &private, owner, seed, target)?;
                    return Ok(private);
                }
            }
        };
        if !dir.is_dir() {
            let staging = root.join(format!("{name}.new-{}", std::process::id()));
            make_cache_dir(executor, &staging, owner, seed, target)?;
            if let Err(error) = fs_err::rename(&staging, &dir) {
                let _ = fs_err::remove_dir(&staging);
                if !dir.is_dir() {
                    return Err(io_error(target, &dir)(error));
                }
            }
        }
        Ok(dir)
    }
}

/// Makes a new cache directory at `path`: a copy of `source` in the seed
/// input (`from=`, `source=`) when given, else empty with `owner`.
fn make_cache_dir(
    executor: &BuildExecutor<'_>,
    path: &Path,
    owner: MountOwner,
    seed: Option<(&Output, &str)>,
    target: &str,
) -> Result<(), ExecuteError> {
    if let Some((input, source)) = seed {
        // A copy of the input's tree, private to us; its `source` directory
        // is moved into place and the rest dropped with the snapshot.
        let copy = executor
            .snapshotter
            .prepare_run(input.top(), xb_snapshotter::Backend::Native)?;
        if let RunRoot::Directory(root) = copy.root() {
            let from = root.join(source.trim_start_matches('/'));
            if from.is_dir() {
                return fs_err::rename(&from, path).map_err(io_error(target, &from));
            }
        }
        return Err(mount_error(
            target,
            format!("cache source {source:?} is not a directory in from="),
        ));
    }
    fs_err::create_dir_all(path).map_err(io_error(target, path))?;
    apply_owner(path, owner, target)
}
