//! The test context: a temporary directory, the `xb` binary with a cleaned
//! environment, and helpers to write Dockerfiles and read results.

pub(crate) mod image;
pub(crate) mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `xb` binary under test.
pub(crate) fn xb_bin() -> PathBuf {
    std::env::var_os("XB_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_xb")), PathBuf::from)
}

/// The repository root (or the copy of it CI gives an unprivileged user).
pub(crate) fn source_root() -> PathBuf {
    std::env::var_os("XB_SOURCE_ROOT")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

pub(crate) fn testdata(relative: &str) -> PathBuf {
    source_root().join("testdata").join(relative)
}

/// One test's sandbox: a temp dir used as context, HOME and store.
pub(crate) struct TestContext {
    pub(crate) dir: tempfile::TempDir,
}

/// What one `xb` run gave.
pub(crate) struct Run {
    pub(crate) status: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from_output(output: &Output) -> Self {
        Self {
            status: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub(crate) fn assert_success(&self) -> &Self {
        assert_eq!(
            self.status,
            Some(0),
            "xb failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub(crate) fn assert_exit(&self, code: i32) -> &Self {
        assert_eq!(
            self.status,
            Some(code),
            "expected exit {code}:\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl Drop for TestContext {
    /// A rootless build leaves store files owned by subordinate ids, which
    /// only the build's user namespace may remove: `xb unshare rm -rf`.
    fn drop(&mut self) {
        if nix::unistd::geteuid().is_root() {
            return;
        }
        let _ = self
            .command()
            .args(["unshare", "rm", "-rf"])
            .arg(self.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl TestContext {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `relative` inside the context, creating directories.
    pub(crate) fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path().join(relative);
        fs_err::create_dir_all(path.parent().expect("a parent")).expect("create dirs");
        fs_err::write(&path, text).expect("write file");
        path
    }

    /// `xb` with a clean environment: only PATH, a private HOME and store, no colour.
    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(xb_bin());
        command
            .env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("HOME", self.path())
            .env("XDG_DATA_HOME", self.path().join(".local/share"))
            .env("NO_COLOR", "1")
            .current_dir(self.path())
            .stdin(Stdio::null());
        command
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        Run::from_output(&self.command().args(args).output().expect("xb runs"))
    }

    /// Runs `xb` with `input` on standard input.
    pub(crate) fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write as _;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("xb runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        Run::from_output(&child.wait_with_output().expect("xb ends"))
    }

    /// Replaces this context's temp path with `[TEMP]` for snapshots.
    pub(crate) fn filter(&self, text: &str) -> String {
        let real = self
            .path()
            .canonicalize()
            .unwrap_or_else(|_| self.path().to_path_buf());
        text.replace(&real.display().to_string(), "[TEMP]")
            .replace(&self.path().display().to_string(), "[TEMP]")
    }
}
