//! Entering the build's user namespace before a command touches the store:
//! a rootless caller re-runs `xb` inside one user namespace where it is
//! root and its subordinate ids are real, so layers keep the owners images
//! ask for and RUN can mount. Real root needs none. Where the host refuses
//! user namespaces, the command runs as it is and says what that costs.

use super::ExitStatus;

/// What the caller should do after trying to enter the namespace.
pub(super) enum Entered {
    /// Go on in this process (inside the namespace, as real root, or
    /// without a namespace where the host refuses one).
    Continue,
    /// This process re-ran `xb` inside the namespace; it ended with this.
    Done(ExitStatus),
}

/// Enters (or is already in) the build's user namespace.
pub(super) fn enter() -> Entered {
    if std::env::var_os("XB_NO_USERNS").is_some() {
        return Entered::Continue;
    }
    match xb_runtime::userns::enter_build_namespace() {
        // What a caller-only namespace cannot do is said by the first RUN
        // that meets it, as a warning of that step.
        Ok(xb_runtime::userns::Entry::Already(_)) => Entered::Continue,
        Ok(xb_runtime::userns::Entry::Reexecuted(status)) => {
            let code = status
                .code()
                .or_else(|| {
                    std::os::unix::process::ExitStatusExt::signal(&status)
                        .map(|signal| 128 + signal)
                })
                .unwrap_or(1);
            Entered::Done(ExitStatus::Code(u8::try_from(code).unwrap_or(1)))
        }
        Err(error) => {
            tracing::warn!(
                "{:#}; continuing without a user namespace (RUN steps need --isolation=chroot here)",
                anyhow::Error::new(error)
            );
            Entered::Continue
        }
    }
}

/// `xb unshare [COMMAND…]`: runs the command (or `$SHELL`) in the build's
/// namespace, already entered, and exits with its status.
pub(super) fn unshare(command: &[std::ffi::OsString]) -> anyhow::Result<ExitStatus> {
    use anyhow::Context as _;
    let shell = std::env::var_os("SHELL").unwrap_or_else(|| "/bin/sh".into());
    let (program, args) = match command.split_first() {
        Some((program, args)) => (program.clone(), args),
        None => (shell, &[][..]),
    };
    let status = std::process::Command::new(&program)
        .args(args)
        .status()
        .with_context(|| format!("failed to run {}", program.to_string_lossy()))?;
    let code = status
        .code()
        .or_else(|| {
            std::os::unix::process::ExitStatusExt::signal(&status).map(|signal| 128 + signal)
        })
        .unwrap_or(1);
    Ok(ExitStatus::Code(u8::try_from(code).unwrap_or(1)))
}
