//! The status channel from the sandbox's helper back to
//! [`Sandbox::run`](crate::Sandbox::run): JSON lines on an inherited pipe, so a setup
//! failure comes back as a typed error with its action and path rather than
//! as text mixed into the command's output.

use serde::{Deserialize, Serialize};

/// One line on the status pipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StatusLine {
    /// Setup is done: these mount points were made in the root.
    Created(Vec<String>),
    /// Setup or exec failed.
    Failed(SetupFailure),
}

/// What went wrong inside the helper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupFailure {
    /// What was being done, e.g. `mount overlay`.
    pub action: String,
    /// The path it was done to (inside or outside the root).
    pub path: String,
    /// The OS error number, when there is one.
    pub errno: Option<i32>,
    /// The error as text.
    pub message: String,
}

impl SetupFailure {
    pub(crate) fn new(action: &str, path: impl AsRef<std::path::Path>, error: nix::Error) -> Self {
        Self {
            action: action.to_owned(),
            path: path.as_ref().display().to_string(),
            errno: Some(error as i32),
            message: error.desc().to_owned(),
        }
    }

    pub(crate) fn io(
        action: &str,
        path: impl AsRef<std::path::Path>,
        error: &std::io::Error,
    ) -> Self {
        Self {
            action: action.to_owned(),
            path: path.as_ref().display().to_string(),
            errno: error.raw_os_error(),
            message: error.to_string(),
        }
    }

    pub(crate) fn other(
        action: &str,
        path: impl AsRef<std::path::Path>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            action: action.to_owned(),
            path: path.as_ref().display().to_string(),
            errno: None,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SetupFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.action, self.message)
        } else {
            write!(f, "{} {}: {}", self.action, self.path, self.message)
        }
    }
}

/// The helper's end of the status pipe.
pub(crate) struct StatusWriter(pub(crate) std::os::fd::OwnedFd);

impl StatusWriter {
    pub(crate) fn send(&self, line: &StatusLine) {
        let Ok(mut text) = serde_json::to_vec(line) else {
            return;
        };
        text.push(b'\n');
        let mut rest = &text[..];
        while !rest.is_empty() {
            match nix::unistd::write(&self.0, rest) {
                Ok(0) | Err(_) => return,
                Ok(written) => rest = &rest[written..],
            }
        }
    }
}

/// Everything readable from `fd` until end of file (or an error).
pub(crate) fn read_to_end(fd: &std::os::fd::OwnedFd) -> Vec<u8> {
    let mut text = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match nix::unistd::read(fd, &mut buffer) {
            Ok(0) => return text,
            Ok(read) => text.extend_from_slice(&buffer[..read]),
            Err(nix::Error::EINTR) => {}
            Err(_) => return text,
        }
    }
}
