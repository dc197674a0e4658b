//! Progress displays: this module owns the terminal while a build runs. It
//! turns the solver's [`Reporter`] events into one of the `--progress`
//! displays: `tty` (a live view redrawn in place, like buildx), `plain`
//! (numbered steps for CI logs), `rawjson` (BuildKit's `SolveStatus`, one
//! JSON object per line) or `quiet` (only failed steps' output).
//!
//! It leaves to others what to build and what happened (`solver`, `registry`
//! and `exporter` emit events) and the build's result on stdout
//! (`commands`). Only `commands` imports this module.
//!
//! ```no_run
//! use xb::progress;
//! use xb::settings::Progress;
//!
//! let is_tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
//! let mut display = progress::reporter(Progress::Auto, is_tty);
//! // solver::solve(&graph, &*display) …
//! display.finish()?;
//! # Ok::<(), progress::Error>(())
//! ```

mod frame;
mod plain;
mod quiet;
mod rawjson;
mod state;
mod tty;
mod units;

#[cfg(test)]
mod fixture;

use std::ffi::OsStr;
use std::io::{self, Write};

pub use plain::PlainDisplay;
pub use quiet::QuietDisplay;
pub use rawjson::RawJsonDisplay;
pub use tty::TtyDisplay;

use crate::settings::Progress;
use crate::solver::event::Reporter;

/// A [`Reporter`] that draws somewhere and must be ended.
pub trait ProgressDisplay: Reporter {
    /// Ends the display: stops a live view, prints the final state and the
    /// output of failed steps, and flushes. Later calls do nothing. Reports
    /// the first write that failed during the build, if any.
    fn finish(&mut self) -> Result<(), Error>;
}

/// Why a display could not show the build.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("failed to write {display} progress")]
    WriteProgress {
        display: &'static str,
        #[source]
        source: io::Error,
    },
}

/// What a display may assume about the terminal it draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    /// Whether ANSI colours may be used (`NO_COLOR` says no).
    pub color: bool,
    /// Columns.
    pub width: usize,
    /// Rows; a live view never draws more than fit.
    pub height: usize,
}

impl Terminal {
    /// Stderr's size (80×24 when it has none) and the colour choice from
    /// `NO_COLOR`.
    pub fn stderr() -> Self {
        let (width, height) = stderr_size().unwrap_or((80, 24));
        Self {
            color: color_allowed(std::env::var_os("NO_COLOR").as_deref()),
            width,
            height,
        }
    }
}

/// Stderr's size in columns and rows, when it is a terminal.
fn stderr_size() -> Option<(usize, usize)> {
    let (width, height) = terminal_size::terminal_size_of(io::stderr())?;
    Some((usize::from(width.0), usize::from(height.0)))
}

/// Colour is allowed unless `NO_COLOR` is set to something non-empty
/// (<https://no-color.org>).
fn color_allowed(no_color: Option<&OsStr>) -> bool {
    no_color.is_none_or(OsStr::is_empty)
}

/// The display for `mode`, drawing on stderr. `auto` is `tty` when stderr is
/// a terminal and `plain` otherwise.
pub fn reporter(mode: Progress, stderr_is_tty: bool) -> Box<dyn ProgressDisplay> {
    match resolve(mode, stderr_is_tty) {
        Progress::Tty => Box::new(TtyDisplay::on_stderr()),
        mode => reporter_to(
            mode,
            stderr_is_tty,
            Box::new(io::stderr()),
            Terminal::stderr(),
        ),
    }
}

/// The display for `mode`, drawing on `out` as if on `terminal`.
pub fn reporter_to(
    mode: Progress,
    is_tty: bool,
    out: Box<dyn Write + Send>,
    terminal: Terminal,
) -> Box<dyn ProgressDisplay> {
    match resolve(mode, is_tty) {
        Progress::Auto | Progress::Tty => Box::new(TtyDisplay::new(out, terminal)),
        Progress::Plain => Box::new(PlainDisplay::new(out)),
        Progress::Quiet => Box::new(QuietDisplay::new(out)),
        Progress::Rawjson => Box::new(RawJsonDisplay::new(out)),
    }
}

/// `auto` made concrete.
fn resolve(mode: Progress, is_tty: bool) -> Progress {
    match mode {
        Progress::Auto if is_tty => Progress::Tty,
        Progress::Auto => Progress::Plain,
        mode => mode,
    }
}

/// Keeps the first write error of a display, which goes on without output
/// after it (a closed stderr must not stop the build).
#[derive(Debug, Default)]
struct WriteStatus {
    failed: Option<io::Error>,
}

impl WriteStatus {
    /// Runs `write` unless an earlier write failed.
    fn attempt(&mut self, write: impl FnOnce() -> io::Result<()>) {
        if self.failed.is_none() {
            if let Err(error) = write() {
                self.failed = Some(error);
            }
        }
    }

    /// The first failure, once.
    fn take(&mut self, display: &'static str) -> Result<(), Error> {
        match self.failed.take() {
            Some(source) => Err(Error::WriteProgress { display, source }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_picks_tty_only_on_a_terminal() {
        assert_eq!(resolve(Progress::Auto, true), Progress::Tty);
        assert_eq!(resolve(Progress::Auto, false), Progress::Plain);
        assert_eq!(resolve(Progress::Tty, false), Progress::Tty);
        assert_eq!(resolve(Progress::Quiet, true), Progress::Quiet);
    }

    #[test]
    fn no_color_set_to_anything_disables_colour() {
        assert!(color_allowed(None));
        assert!(color_allowed(Some(OsStr::new(""))));
        assert!(!color_allowed(Some(OsStr::new("1"))));
    }

    #[test]
    fn write_status_keeps_the_first_error_and_stops_writing() {
        let mut status = WriteStatus::default();
        status.attempt(|| Err(io::Error::from(io::ErrorKind::BrokenPipe)));
        let mut called = false;
        status.attempt(|| {
            called = true;
            Ok(())
        });
        assert!(!called);
        let error = status.take("plain").unwrap_err();
        assert_eq!(error.to_string(), "failed to write plain progress");
        assert!(status.take("plain").is_ok());
    }
}
