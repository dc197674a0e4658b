//! The build's user namespace. A rootless `xb` re-runs itself inside one
//! user namespace for the whole command, where the caller is root and its
//! subordinate ranges (`/etc/subuid`, `/etc/subgid`, mapped by the
//! distribution's setuid `newuidmap`/`newgidmap`) are the other ids; without
//! ranges the caller alone is mapped. Real root needs no namespace. The
//! per-RUN namespaces are the sandbox's business.
//!
//! Handshake: the parent spawns `/proc/self/exe` with [`MARKER`] naming two
//! inherited pipes; the child, first thing in `main`, unshares its user
//! namespace and says "ready"; the parent writes the maps and says "go";
//! the child becomes root in the namespace and carries on as `xb`.

mod error;
mod subid;

use std::os::fd::{AsRawFd as _, OwnedFd};
use std::process::Command;

use nix::sched::CloneFlags;
use nix::unistd::{Gid, Uid};

pub use error::UsernsError;
pub use subid::{SubordinateRange, parse_id_map};

use crate::sys;

/// The variable that marks the re-run child; its value is `READ,WRITE`.
pub const MARKER: &str = "XB_USERNS_CHILD";

/// What ids the build has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildNamespace {
    /// Real root: every id, no namespace.
    Root,
    /// Root in a namespace with subordinate ranges mapped.
    Mapped {
        /// `(inside, outside, count)` uid ranges.
        uid_ranges: Vec<(u32, u32, u32)>,
    },
    /// Root in a namespace where only the caller is mapped.
    CallerOnly,
}

impl BuildNamespace {
    /// What the build cannot do here, to tell the user once.
    pub fn limitation(&self) -> Option<&'static str> {
        match self {
            Self::CallerOnly => Some(
                "no subordinate ids for this user (see /etc/subuid): RUN steps run as root only and their chown calls change nothing; COPY --chown still records owners",
            ),
            _ => None,
        }
    }

    /// The namespace this process is in, from `/proc/self/uid_map`.
    pub fn current() -> Self {
        let map = fs_err::read_to_string("/proc/self/uid_map").unwrap_or_default();
        let ranges = parse_id_map(&map);
        if ranges == [(0, 0, u32::MAX)] {
            return if Uid::effective().is_root() {
                Self::Root
            } else {
                Self::CallerOnly
            };
        }
        if ranges.iter().map(|range| u64::from(range.2)).sum::<u64>() > 1 {
            Self::Mapped { uid_ranges: ranges }
        } else {
            Self::CallerOnly
        }
    }
}

/// The outcome of [`enter_build_namespace`].
#[derive(Debug)]
pub enum Entry {
    /// Go on in this process.
    Already(BuildNamespace),
    /// The command ran in a re-run child that ended with this status.
    Reexecuted(std::process::ExitStatus),
}

fn in_initial_namespace() -> bool {
    let map = fs_err::read_to_string("/proc/self/uid_map").unwrap_or_default();
    parse_id_map(&map) == [(0, 0, u32::MAX)]
}

/// Enters the build's user namespace: re-runs `xb` in one unless this
/// process is real root or already inside.
pub fn enter_build_namespace() -> Result<Entry, UsernsError> {
    if Uid::effective().is_root() || !in_initial_namespace() {
        return Ok(Entry::Already(BuildNamespace::current()));
    }
    let (parent_read, child_write) = pipe()?;
    let (child_read, parent_write) = pipe()?;
    for fd in [&child_read, &child_write] {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .map_err(|source| UsernsError::SpawnChild {
            source: source.into(),
        })?;
    }
    let mut child = Command::new("/proc/self/exe")
        .args(std::env::args_os().skip(1))
        .env(
            MARKER,
            format!("{},{}", child_read.as_raw_fd(), child_write.as_raw_fd()),
        )
        .spawn()
        .map_err(|source| UsernsError::SpawnChild { source })?;
    drop(child_read);
    drop(child_write);
    let said = read_some(&parent_read);
    let mapped = match said.first() {
        Some(b'R') => map_child(child.id()),
        Some(_) => Err(UsernsError::UserNamespacesRefused {
            reason: String::from_utf8_lossy(&said[1..]).trim().to_owned(),
        }),
        None => Err(UsernsError::ChildLost),
    };
    if let Err(error) = mapped {
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }
    let _ = nix::unistd::write(&parent_write, b"G");
    drop(parent_write);
    forward_signals(child.id());
    let status = child
        .wait()
        .map_err(|source| UsernsError::SpawnChild { source })?;
    Ok(Entry::Reexecuted(status))
}

/// Passes SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to this process on to
/// the child, which decides how the build ends. They are blocked here (the
/// process is single-threaded when the namespace is entered) and taken by a
/// thread with `sigwait`.
fn forward_signals(child: u32) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(signal);
    }
    if set.thread_block().is_err() {
        return;
    }
    let Ok(pid) = i32::try_from(child) else {
        return;
    };
    std::thread::spawn(move || {
        while let Ok(signal) = set.wait() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    });
}

fn pipe() -> Result<(OwnedFd, OwnedFd), UsernsError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|source| UsernsError::SpawnChild {
        source: source.into(),
    })
}

fn read_some(fd: &OwnedFd) -> Vec<u8> {
    let mut buffer = [0_u8; 512];
    loop {
        match nix::unistd::read(fd, &mut buffer) {
            Ok(read) => return buffer[..read].to_vec(),
            Err(nix::Error::EINTR) => {}
            Err(_) => return Vec::new(),
        }
    }
}

/// Writes the child's maps: subordinate ranges through newuidmap and
/// newgidmap, else the caller alone, directly.
fn map_child(pid: u32) -> Result<(), UsernsError> {
    let uid = Uid::effective().as_raw();
    let gid = Gid::effective().as_raw();
    let passwd = fs_err::read_to_string("/etc/passwd").unwrap_or_default();
    let name = subid::user_name(&passwd, uid);
    let read = |path: &str| fs_err::read_to_string(path).unwrap_or_default();
    let uid_ranges = subid::ranges_for(&read("/etc/subuid"), name.as_deref(), uid);
    let gid_ranges = subid::ranges_for(&read("/etc/subgid"), name.as_deref(), uid);
    if !uid_ranges.is_empty() && !gid_ranges.is_empty() {
        run_map_tool("newuidmap", pid, uid, &uid_ranges)?;
        run_map_tool("newgidmap", pid, gid, &gid_ranges)?;
        return Ok(());
    }
    let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
    for (file, text) in [
        ("uid_map", format!("0 {uid} 1\n")),
        ("setgroups", "deny\n".to_owned()),
        ("gid_map", format!("0 {gid} 1\n")),
    ] {
        let path = proc.join(file);
        fs_err::write(&path, text).map_err(|source| UsernsError::WriteIdMap { path, source })?;
    }
    Ok(())
}

fn run_map_tool(
    program: &'static str,
    pid: u32,
    own: u32,
    ranges: &[SubordinateRange],
) -> Result<(), UsernsError> {
    let mut args = vec![
        pid.to_string(),
        "0".to_owned(),
        own.to_string(),
        "1".to_owned(),
    ];
    let mut next_inside: u32 = 1;
    for range in ranges {
        args.extend([
            next_inside.to_string(),
            range.start.to_string(),
            range.count.to_string(),
        ]);
        next_inside = next_inside.saturating_add(range.count);
    }
    let output = Command::new(program)
        .args(&args)
        .output()
        .map_err(|source| UsernsError::RunNewuidmap {
            program,
            status: "not run".to_owned(),
            stderr: source.to_string(),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(UsernsError::RunNewuidmap {
            program,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// In the re-run child, first thing: unshare, handshake, become root.
pub(crate) fn on_start() {
    let Some(value) = std::env::var_os(MARKER) else {
        return;
    };
    let Some((read, write)) = value.to_str().and_then(|text| text.split_once(',')) else {
        return;
    };
    let (Ok(read), Ok(write)) = (read.parse(), write.parse()) else {
        return;
    };
    // Descendants inherit the variable but not the pipes (closed below).
    let (Some(read), Some(write)) = (
        sys::adopt_inherited_fd(read),
        sys::adopt_inherited_fd(write),
    ) else {
        return;
    };
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
    if let Err(error) = nix::sched::unshare(CloneFlags::CLONE_NEWUSER) {
        let _ = nix::unistd::write(&write, format!("E{}", error.desc()).as_bytes());
        std::process::exit(125);
    }
    let _ = nix::unistd::write(&write, b"R");
    if read_some(&read).first() != Some(&b'G') {
        std::process::exit(125);
    }
    let root_gid = Gid::from_raw(0);
    let root_uid = Uid::from_raw(0);
    let _ = nix::unistd::setresgid(root_gid, root_gid, root_gid);
    let _ = nix::unistd::setgroups(&[]);
    let _ = nix::unistd::setresuid(root_uid, root_uid, root_uid);
}
