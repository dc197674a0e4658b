//! The only code in `xb-runtime` that calls the kernel through `unsafe`:
//! one safe wrapper per call, each with the condition that makes it sound.
//! Everything else uses nix's safe wrappers.
#![expect(
    unsafe_code,
    reason = "fork, raw fds and close_range have no safe wrapper"
)]

use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};

use nix::unistd::ForkResult;

/// `fork()`. Only called from the sandbox's own helper process, which is
/// single-threaded (a fresh re-exec of `/proc/self/exe` that starts no
/// thread), so the child may allocate and lock freely.
pub(crate) fn fork_single_threaded() -> nix::Result<ForkResult> {
    // SAFETY: the calling process has exactly one thread (see above), so no
    // lock or allocator state can be held by a thread that vanishes.
    unsafe { nix::unistd::fork() }
}

/// Takes ownership of an inherited descriptor named in the environment.
/// The caller must make sure nothing else owns `fd`.
pub(crate) fn adopt_inherited_fd(fd: RawFd) -> Option<OwnedFd> {
    nix::fcntl::fcntl(
        // SAFETY: a borrowed view only for the duration of this check.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
        nix::fcntl::FcntlArg::F_GETFD,
    )
    .ok()?;
    // SAFETY: `fd` is open (checked above) and was handed to this process
    // for it alone; nothing else in the process refers to it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Closes the descriptors `first..=last`.
fn close_range(first: u32, last: u32) -> std::io::Result<()> {
    if first > last {
        return Ok(());
    }
    // SAFETY: close_range takes plain integers and touches no memory; the
    // caller is about to exec and uses no Rust object wrapping these
    // descriptors again.
    let result = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Closes every descriptor above 2 except `keep` (which closes on exec).
pub(crate) fn close_all_but(keep: RawFd) -> std::io::Result<()> {
    let keep = u32::try_from(keep).unwrap_or(u32::MAX);
    close_range(3, keep.saturating_sub(1))?;
    close_range(keep.saturating_add(1), u32::MAX)
}

/// Brings the loopback interface of the current network namespace up.
pub(crate) fn loopback_up() -> std::io::Result<()> {
    let socket = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = libc::c_char::try_from(*byte).expect("ASCII");
    }
    request.ifr_ifru.ifru_flags = libc::c_short::try_from(libc::IFF_UP | libc::IFF_RUNNING)
        .expect("interface flags fit a short");
    // SAFETY: SIOCSIFFLAGS reads an ifreq, which `request` is, for the
    // duration of the call; the socket is open.
    let result = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &raw mut request) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
