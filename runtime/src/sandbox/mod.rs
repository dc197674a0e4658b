//! Running one process in a sandbox of its own. [`Sandbox::run`] re-runs
//! `/proc/self/exe` as the sandbox's helper ([`init`]), hands it the spec on
//! standard input, streams the command's output back to the caller and
//! turns the helper's status line into an [`ExitReport`] or a typed error.
//! The helper dies with the caller (parent-death signal), and with it the
//! whole pid namespace.

mod init;
mod report;
mod rootfs;
mod spec;

use std::io::{Read as _, Write as _};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;

pub use report::SetupFailure;
pub use spec::{ExitReport, ExitStatus, Isolation, Mount, Network, RootFs, SandboxSpec, Stream};

use crate::Error;
use report::StatusLine;

pub(crate) use init::on_start;

/// Spawning holds this, so the status pipe's write end (inheritable for a
/// moment) reaches only its own helper.
static SPAWN: Mutex<()> = Mutex::new(());

/// Runs processes in sandboxes.
#[derive(Debug)]
pub struct Sandbox;

enum Event {
    Output(Stream, Vec<u8>),
}

impl Sandbox {
    /// Runs `spec`'s command and waits for it, passing its output to
    /// `on_output` as it comes. A nonzero exit is an `Ok` report; an error
    /// means the sandbox could not be set up or the command not started.
    pub fn run(
        spec: &SandboxSpec,
        on_output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<ExitReport, Error> {
        let scratch_parent = spec.scratch.clone().unwrap_or_else(std::env::temp_dir);
        let scratch = tempdir_in(&scratch_parent)?;
        let mut spec = spec.clone();
        spec.scratch = Some(scratch.0.clone());
        let input = serde_json::to_vec(&spec).map_err(|source| Error::EncodeSpec { source })?;

        let (status_read, status_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|source| Error::Spawn {
                source: source.into(),
            })?;
        let mut child = {
            let _guard = SPAWN
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            set_inheritable(&status_write, true)?;
            let spawned = Command::new("/proc/self/exe")
                .env(init::MARKER, status_write.as_raw_fd().to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            drop(status_write);
            spawned.map_err(|source| Error::Spawn { source })?
        };
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let written = stdin.write_all(&input);
        drop(stdin);
        written.map_err(|source| Error::Spawn { source })?;

        let (sender, receiver) = mpsc::channel();
        let mut readers = Vec::new();
        for (stream, pipe) in [
            (
                Stream::Stdout,
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            ),
            (
                Stream::Stderr,
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            ),
        ] {
            let Some(mut pipe) = pipe else { continue };
            let sender = sender.clone();
            readers.push(std::thread::spawn(move || {
                let mut buffer = vec![0_u8; 16 * 1024];
                loop {
                    match pipe.read(&mut buffer) {
                        Ok(0) | Err(_) => return,
                        Ok(read) => {
                            if sender
                                .send(Event::Output(stream, buffer[..read].to_vec()))
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                }
            }));
        }
        drop(sender);
        for Event::Output(stream, bytes) in receiver {
            on_output(stream, &bytes);
        }
        for reader in readers {
            let _ = reader.join();
        }
        let status = child.wait().map_err(|source| Error::Spawn { source })?;
        let mut created = Vec::new();
        for line in read_lines(&status_read) {
            match serde_json::from_str::<StatusLine>(&line) {
                Ok(StatusLine::Created(paths)) => created = paths,
                Ok(StatusLine::Failed(failure)) => return Err(Error::from_failure(failure)),
                Err(_) => {}
            }
        }
        let status = match (
            status.code(),
            std::os::unix::process::ExitStatusExt::signal(&status),
        ) {
            (Some(code), _) if code > 128 && code < 128 + 65 => ExitStatus::Signal(code - 128),
            (Some(code), _) => ExitStatus::Code(code),
            (None, Some(signal)) => ExitStatus::Signal(signal),
            (None, None) => ExitStatus::Code(-1),
        };
        drop(scratch);
        Ok(ExitReport {
            status,
            created_paths: created,
        })
    }
}

fn set_inheritable(fd: &OwnedFd, inheritable: bool) -> Result<(), Error> {
    let flags = if inheritable {
        nix::fcntl::FdFlag::empty()
    } else {
        nix::fcntl::FdFlag::FD_CLOEXEC
    };
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(flags))
        .map(drop)
        .map_err(|source| Error::Spawn {
            source: source.into(),
        })
}

fn read_lines(fd: &OwnedFd) -> Vec<String> {
    let text = report::read_to_end(fd);
    String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A directory removed on drop.
struct ScratchDir(std::path::PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs_err::remove_dir_all(&self.0);
    }
}

fn tempdir_in(parent: &std::path::Path) -> Result<ScratchDir, Error> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = parent.join(format!(
        "xb-sandbox-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    fs_err::create_dir_all(&path).map_err(|source| Error::CreateScratch {
        path: path.clone(),
        source,
    })?;
    Ok(ScratchDir(path))
}
