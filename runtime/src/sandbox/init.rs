//! The sandbox's helper: `/proc/self/exe` re-run with [`MARKER`] set. It
//! reads the spec on standard input, unshares the namespaces, forks the
//! pid namespace's pid 1, which builds the root ([`super::rootfs`]) and
//! forks the command. pid 1 reaps every orphan and exits with the command's
//! status, which kills whatever the command left running.
//!
//! The helper is single-threaded from its first instruction (it never
//! returns to `xb`'s main), so allocating between fork and exec is safe.

use std::io::Read as _;
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Pid, Uid};

use super::report::{SetupFailure, StatusLine, StatusWriter};
use super::rootfs;
use super::spec::{Isolation, Network, RootFs, SandboxSpec};
use crate::sys;

/// The environment variable that makes `xb` a sandbox helper; its value is
/// the status pipe's descriptor number.
pub(crate) const MARKER: &str = "XB_RUNTIME_SANDBOX";

/// Exit code of the helper when setup failed (reported on the status pipe).
pub(crate) const SETUP_FAILED: i32 = 125;

/// Runs the helper if this process is one; never returns then.
pub(crate) fn on_start() {
    let Some(value) = std::env::var_os(MARKER) else {
        return;
    };
    let code = match value.to_str().and_then(|text| text.parse().ok()) {
        Some(fd) => match sys::adopt_inherited_fd(fd) {
            Some(status) => helper(&StatusWriter(status)),
            None => SETUP_FAILED,
        },
        None => SETUP_FAILED,
    };
    std::process::exit(code);
}

fn helper(status: &StatusWriter) -> i32 {
    let _ = nix::fcntl::fcntl(
        status.0.as_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    let mut input = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut input) {
        status.send(&StatusLine::Failed(SetupFailure::io(
            "read the spec",
            "",
            &error,
        )));
        return SETUP_FAILED;
    }
    let spec: SandboxSpec = match serde_json::from_slice(&input) {
        Ok(spec) => spec,
        Err(error) => {
            status.send(&StatusLine::Failed(SetupFailure::other(
                "read the spec",
                "",
                error.to_string(),
            )));
            return SETUP_FAILED;
        }
    };
    match outer(&spec, status) {
        Ok(code) => code,
        Err(failure) => {
            status.send(&StatusLine::Failed(failure));
            SETUP_FAILED
        }
    }
}

/// In the caller's pid namespace: unshare, fork pid 1, wait for it.
fn outer(spec: &SandboxSpec, status: &StatusWriter) -> Result<i32, SetupFailure> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|error| SetupFailure::new("set the parent-death signal", "", error))?;
    if spec.isolation == Isolation::Chroot {
        return chrooted(spec, status);
    }
    let mut flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS;
    if spec.network == Network::None {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    nix::sched::unshare(flags)
        .map_err(|error| SetupFailure::new("unshare namespaces", "", error))?;
    match sys::fork_single_threaded().map_err(|error| SetupFailure::new("fork", "", error))? {
        ForkResult::Child => {
            let code = match pid_one(spec, status) {
                Ok(code) => code,
                Err(failure) => {
                    status.send(&StatusLine::Failed(failure));
                    SETUP_FAILED
                }
            };
            std::process::exit(code);
        }
        ForkResult::Parent { child } => Ok(wait_for(child)),
    }
}

/// The exit code a shell would report for `pid`'s end.
fn wait_for(pid: Pid) -> i32 {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, signal, _)) => return 128 + signal as i32,
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(_) => return SETUP_FAILED,
        }
    }
}

/// `--isolation=chroot`: no new namespaces (where the host refuses them):
/// a chroot into the directory root, as the caller's user namespace allows.
/// No mounts: the process sees no `/proc` unless the image has one.
fn chrooted(spec: &SandboxSpec, status: &StatusWriter) -> Result<i32, SetupFailure> {
    let RootFs::Directory(dir) = &spec.root else {
        return Err(SetupFailure::other(
            "chroot",
            "",
            "chroot isolation needs a directory root (the native snapshotter)",
        ));
    };
    if let Some(mount) = spec.mounts.first() {
        return Err(SetupFailure::other(
            "mount",
            mount.target(),
            "RUN --mount needs namespaces, which chroot isolation does not have",
        ));
    }
    // The root may have no /dev: the command's stdin is set up from here.
    let null = fs_err::File::open("/dev/null")
        .map_err(|error| SetupFailure::io("open", "/dev/null", &error))?;
    nix::unistd::dup2_stdin(null.file().as_fd())
        .map_err(|error| SetupFailure::new("set up stdin", "/dev/null", error))?;
    nix::unistd::chroot(dir).map_err(|error| SetupFailure::new("chroot", dir, error))?;
    nix::unistd::chdir("/").map_err(|error| SetupFailure::new("change to", "/", error))?;
    start_command(spec, status, Vec::new())
}

/// pid 1 of the new pid namespace: build the root, start the command, reap.
fn pid_one(spec: &SandboxSpec, status: &StatusWriter) -> Result<i32, SetupFailure> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|error| SetupFailure::new("set the parent-death signal", "", error))?;
    let created = rootfs::build(spec)?;
    if spec.network == Network::None {
        sys::loopback_up().map_err(|error| SetupFailure::io("bring up", "lo", &error))?;
    }
    nix::unistd::sethostname(&spec.hostname)
        .map_err(|error| SetupFailure::new("set the hostname", &spec.hostname, error))?;
    start_command(spec, status, created)
}

/// In the finished root: start the command and reap until it ends.
fn start_command(
    spec: &SandboxSpec,
    status: &StatusWriter,
    created: Vec<String>,
) -> Result<i32, SetupFailure> {
    let program = resolve_program(spec)?;
    let cwd = rootfs::make_workdir(&spec.cwd)?;
    status.send(&StatusLine::Created(created));
    let hardening = crate::hardening::Hardening::prepare(&spec.hardening)
        .map_err(|error| SetupFailure::other("prepare hardening", "", error.to_string()))?;
    supervised_signals()
        .thread_block()
        .map_err(|error| SetupFailure::new("block signals", "", error))?;
    let (error_read, error_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|error| SetupFailure::new("make a pipe", "", error))?;
    let stdin = match &spec.stdin {
        Some(data) => Some(stdin_file(data)?),
        None => None,
    };
    match sys::fork_single_threaded().map_err(|error| SetupFailure::new("fork", "", error))? {
        ForkResult::Child => {
            drop(error_read);
            let failure = exec_command(
                spec,
                &program,
                &cwd,
                &hardening,
                stdin.as_ref(),
                &error_write,
            );
            let mut text = serde_json::to_vec(&failure).unwrap_or_default();
            text.push(b'\n');
            let _ = nix::unistd::write(&error_write, &text);
            std::process::exit(SETUP_FAILED);
        }
        ForkResult::Parent { child } => {
            drop(error_write);
            drop(stdin);
            let text = super::report::read_to_end(&error_read);
            if let Ok(failure) = serde_json::from_slice::<SetupFailure>(text.trim_ascii()) {
                return Err(failure);
            }
            Ok(reap_until(child))
        }
    }
}

/// The signals pid 1 takes with `sigwait`: children ending, and those it
/// passes on to the command.
fn supervised_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGCHLD,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
    ] {
        set.add(signal);
    }
    set
}

/// Reaps every child (orphans are re-parented to pid 1) until `command`
/// ends, passing other signals on to it; returns its status as a shell
/// would. The signals are blocked since before the fork.
fn reap_until(command: Pid) -> i32 {
    let signals = supervised_signals();
    loop {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == command => return code,
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid == command => {
                    return 128 + signal as i32;
                }
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) | Err(nix::Error::EINTR) => {}
                Err(_) => return SETUP_FAILED,
            }
        }
        match signals.wait() {
            Ok(Signal::SIGCHLD) | Err(_) => {}
            Ok(signal) => {
                let _ = nix::sys::signal::kill(command, signal);
            }
        }
    }
}

/// `args[0]` as a path inside the root: as given when it has a `/`, else
/// looked up in the spec's `PATH` as Docker does.
fn resolve_program(spec: &SandboxSpec) -> Result<String, SetupFailure> {
    let Some(name) = spec.args.first() else {
        return Err(SetupFailure::other("exec", "", "no command given"));
    };
    if name.contains('/') {
        return Ok(name.clone());
    }
    let path = spec
        .env
        .iter()
        .find_map(|entry| entry.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|dir| !dir.is_empty()) {
        let candidate = Path::new(dir).join(name);
        if nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok()
            && !candidate.is_dir()
        {
            return Ok(candidate.display().to_string());
        }
    }
    Err(SetupFailure::other(
        "exec",
        name,
        "executable file not found in $PATH",
    ))
}

/// The command's standard input: `data` in an unlinked file.
fn stdin_file(data: &[u8]) -> Result<OwnedFd, SetupFailure> {
    let path = "/dev/shm/.xb-stdin";
    fs_err::write(path, data).map_err(|error| SetupFailure::io("write stdin", path, &error))?;
    let file =
        fs_err::File::open(path).map_err(|error| SetupFailure::io("open stdin", path, &error))?;
    let _ = fs_err::remove_file(path);
    Ok(OwnedFd::from(file.into_parts().0))
}

/// In the command's process: identity, descriptors, hardening, exec. Only
/// returns on failure.
fn exec_command(
    spec: &SandboxSpec,
    program: &str,
    cwd: &Path,
    hardening: &crate::hardening::Hardening,
    stdin: Option<&OwnedFd>,
    error_pipe: &OwnedFd,
) -> SetupFailure {
    if let Err(error) = supervised_signals().thread_unblock() {
        return SetupFailure::new("unblock signals", "", error);
    }
    let gids: Vec<Gid> = spec
        .additional_gids
        .iter()
        .map(|gid| Gid::from_raw(*gid))
        .collect();
    match nix::unistd::setgroups(&gids) {
        // A user namespace that maps only its creator denies setgroups;
        // with no groups asked for there is nothing to drop.
        Err(nix::Error::EPERM) if gids.is_empty() => {}
        Err(error) => return SetupFailure::new("set supplementary groups", "", error),
        Ok(()) => {}
    }
    let gid = Gid::from_raw(spec.gid);
    if let Err(error) = nix::unistd::setresgid(gid, gid, gid) {
        return SetupFailure::new("switch to group", spec.gid.to_string(), error);
    }
    if let Err(error) = crate::hardening::Hardening::keep_capabilities_across_setuid() {
        return SetupFailure::other("keep capabilities", "", error.to_string());
    }
    let uid = Uid::from_raw(spec.uid);
    if let Err(error) = nix::unistd::setresuid(uid, uid, uid) {
        return SetupFailure::new("switch to user", spec.uid.to_string(), error);
    }
    match stdin {
        Some(fd) => {
            if let Err(error) = nix::unistd::dup2_stdin(fd) {
                return SetupFailure::new("set up stdin", "", error);
            }
        }
        None => {
            // No /dev in a chroot: stdin is /dev/null already.
            if let Ok(null) = fs_err::File::open("/dev/null") {
                if let Err(error) = nix::unistd::dup2_stdin(null.file().as_fd()) {
                    return SetupFailure::new("set up stdin", "/dev/null", error);
                }
            }
        }
    }
    // Before chdir: no descriptor may lead outside the root (a cwd of
    // /proc/self/fd/N would follow one).
    if let Err(error) = sys::close_all_but(error_pipe.as_raw_fd()) {
        return SetupFailure::io("close inherited descriptors", "", &error);
    }
    if let Err(error) = nix::unistd::chdir(cwd) {
        return SetupFailure::new("change to the working directory", cwd, error);
    }
    if let Err(error) = hardening.apply() {
        return SetupFailure::other("apply hardening", "", error.to_string());
    }
    let to_c = |text: &str| std::ffi::CString::new(text.as_bytes()).unwrap_or_default();
    let args: Vec<_> = spec.args.iter().map(|arg| to_c(arg)).collect();
    let env: Vec<_> = spec.env.iter().map(|entry| to_c(entry)).collect();
    let Err(error) = nix::unistd::execve(&to_c(program), &args, &env);
    SetupFailure::new("exec", program, error)
}
