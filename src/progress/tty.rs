//! `--progress=tty`: the live view. Events only update the build state; a
//! render thread redraws the frame in place with ANSI cursor movement ten
//! times a second, so a burst of events costs one redraw and timers move
//! while nothing happens. [`ProgressDisplay::finish`] stops the thread and
//! prints the whole final frame and the output of failed steps. What a frame
//! shows is `frame`'s job.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::solver::event::{
    LogStream, ProgressItem, Reporter, VertexId, VertexInfo, VertexOutcome,
};

use super::frame::{self, FrameStyle};
use super::state::BuildState;
use super::{Error, ProgressDisplay, Terminal, WriteStatus};

/// The time between two redraws.
const FRAME_INTERVAL: Duration = Duration::from_millis(100);

const HIDE_CURSOR: &str = "\x1b[?25l";
const SHOW_CURSOR: &str = "\x1b[?25h";
/// Clear from the cursor to the end of the line.
const CLEAR_LINE: &str = "\x1b[K";
/// Clear from the cursor to the end of the screen.
const CLEAR_BELOW: &str = "\x1b[J";

type Clock = Box<dyn Fn() -> SystemTime + Send + Sync>;

/// The live view. Dropping it without [`ProgressDisplay::finish`] still
/// stops its thread and prints the final frame.
pub struct TtyDisplay {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    finished: bool,
}

struct Shared {
    /// What events update; callbacks hold this lock only to update it.
    view: Mutex<View>,
    /// The terminal side, which only the render thread and `finish` use,
    /// so a slow terminal never holds up a callback.
    screen: Mutex<Screen>,
    /// Wakes the render thread early to stop it.
    wake: Condvar,
    clock: Clock,
}

struct View {
    state: BuildState,
    stop: bool,
}

struct Screen {
    out: Box<dyn Write + Send>,
    status: WriteStatus,
    terminal: Terminal,
    /// Whether to ask stderr for its size before each frame.
    follow_stderr: bool,
    /// Lines of the frame on screen, which the next frame overwrites.
    drawn: usize,
}

impl TtyDisplay {
    /// A live view on stderr that follows the terminal's size.
    pub fn on_stderr() -> Self {
        Self::start(
            Box::new(std::io::stderr()),
            Terminal::stderr(),
            true,
            Box::new(SystemTime::now),
        )
    }

    /// A live view on `out`, laid out for `terminal`.
    pub fn new(out: Box<dyn Write + Send>, terminal: Terminal) -> Self {
        Self::start(out, terminal, false, Box::new(SystemTime::now))
    }

    fn shared(
        out: Box<dyn Write + Send>,
        terminal: Terminal,
        follow: bool,
        clock: Clock,
    ) -> Shared {
        Shared {
            view: Mutex::new(View {
                state: BuildState::default(),
                stop: false,
            }),
            screen: Mutex::new(Screen {
                out,
                status: WriteStatus::default(),
                terminal,
                follow_stderr: follow,
                drawn: 0,
            }),
            wake: Condvar::new(),
            clock,
        }
    }

    fn start(out: Box<dyn Write + Send>, terminal: Terminal, follow: bool, clock: Clock) -> Self {
        let shared = Arc::new(Self::shared(out, terminal, follow, clock));
        let for_thread = Arc::clone(&shared);
        // Without a thread the view still prints its final frame.
        let thread = std::thread::Builder::new()
            .name("xb-progress".to_owned())
            .spawn(move || render_loop(&for_thread))
            .ok();
        Self {
            shared,
            thread,
            finished: false,
        }
    }

    /// The build state, locked for one update.
    fn view(&self) -> MutexGuard<'_, View> {
        self.shared.view()
    }
}

impl Shared {
    fn view(&self) -> MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn screen(&self) -> MutexGuard<'_, Screen> {
        self.screen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Overwrites the frame on screen with the frame at `now`; a `live`
    /// frame fits the terminal's height, the final one shows everything.
    fn draw(&self, now: SystemTime, live: bool) {
        let mut screen = self.screen();
        if live && screen.follow_stderr {
            if let Some((width, height)) = super::stderr_size() {
                screen.terminal.width = width;
                screen.terminal.height = height;
            }
        }
        let style = FrameStyle {
            width: screen.terminal.width,
            height: live.then_some(screen.terminal.height),
            color: screen.terminal.color,
        };
        let lines = frame::render(&self.view().state, now, &style);
        let mut text = String::new();
        if screen.drawn == 0 {
            text.push_str(HIDE_CURSOR);
        } else {
            // Back to the first column of the frame's first line.
            let _ = write!(text, "\x1b[{}A\r", screen.drawn);
        }
        for line in &lines {
            text.push_str(line);
            text.push_str(CLEAR_LINE);
            text.push('\n');
        }
        text.push_str(CLEAR_BELOW);
        if !live {
            text.push_str(SHOW_CURSOR);
        }
        screen.drawn = lines.len();
        let Screen { out, status, .. } = &mut *screen;
        status.attempt(|| {
            out.write_all(text.as_bytes())?;
            out.flush()
        });
    }
}

/// Redraws every [`FRAME_INTERVAL`] until told to stop; spurious wake-ups
/// do not draw early.
fn render_loop(shared: &Shared) {
    let mut next = Instant::now();
    let mut view = shared.view();
    while !view.stop {
        let now = Instant::now();
        if now >= next {
            drop(view);
            shared.draw((shared.clock)(), true);
            next = now + FRAME_INTERVAL;
            view = shared.view();
            continue;
        }
        view = shared
            .wake
            .wait_timeout(view, next - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

impl Reporter for TtyDisplay {
    fn on_vertex_start(&self, vertex: &VertexInfo) {
        self.view().state.start(vertex);
    }

    fn on_vertex_cached(&self, id: VertexId, at: SystemTime) {
        self.view().state.cached(id, at);
    }

    fn on_vertex_log(&self, id: VertexId, stream: LogStream, bytes: &[u8], at: SystemTime) {
        self.view().state.log(id, stream, bytes, at);
    }

    fn on_vertex_progress(&self, id: VertexId, item: &ProgressItem, at: SystemTime) {
        self.view().state.progress(id, item, at);
    }

    fn on_vertex_warning(&self, id: VertexId, message: &str, _at: SystemTime) {
        self.view().state.warning(id, message);
    }

    fn on_vertex_done(&self, id: VertexId, outcome: &VertexOutcome, at: SystemTime) {
        self.view().state.done(id, outcome, at);
    }

    fn on_build_done(&self, at: SystemTime) {
        self.view().state.build_done(at);
    }
}

impl ProgressDisplay for TtyDisplay {
    fn finish(&mut self) -> Result<(), Error> {
        if std::mem::replace(&mut self.finished, true) {
            return Ok(());
        }
        self.shared.view().stop = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // A render thread that panicked drew nothing more; the final
            // frame below still shows the build.
            let _ = thread.join();
        }
        self.shared.draw((self.shared.clock)(), false);
        let mut screen = self.shared.screen();
        let view = self.shared.view();
        let Screen { out, status, .. } = &mut *screen;
        status.attempt(|| {
            view.state.write_error_blocks(out)?;
            out.flush()
        });
        status.take("tty")
    }
}

impl Drop for TtyDisplay {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::super::fixture::{self, SharedBuffer};
    use super::*;

    const TERMINAL: Terminal = Terminal {
        color: false,
        width: 72,
        height: 30,
    };

    /// A view without a render thread whose clock reads `millis` after the
    /// fixture's origin.
    fn manual(out: SharedBuffer, terminal: Terminal, millis: Arc<AtomicU64>) -> TtyDisplay {
        let clock = Box::new(move || fixture::at(millis.load(Ordering::SeqCst)));
        let shared = TtyDisplay::shared(Box::new(out), terminal, false, clock);
        TtyDisplay {
            shared: Arc::new(shared),
            thread: None,
            finished: false,
        }
    }

    fn redraw(display: &TtyDisplay) {
        display.shared.draw((display.shared.clock)(), true);
    }

    #[test]
    fn tty_redraws_in_place_and_ends_with_the_full_frame() {
        let buffer = SharedBuffer::default();
        let clock = Arc::new(AtomicU64::new(0));
        let mut display = manual(buffer.clone(), TERMINAL, Arc::clone(&clock));
        let events = fixture::sample_build();
        fixture::replay(&events[..3], &display);
        clock.store(100, Ordering::SeqCst);
        redraw(&display);
        fixture::replay(&events[3..15], &display);
        clock.store(1_680, Ordering::SeqCst);
        redraw(&display);
        fixture::replay(&events[15..], &display);
        clock.store(1_800, Ordering::SeqCst);
        display.finish().unwrap();
        let output = buffer.text();
        let readable = output
            .replace(HIDE_CURSOR, "<hide>")
            .replace(SHOW_CURSOR, "<show>")
            .replace(CLEAR_LINE, "")
            .replace(CLEAR_BELOW, "<clear-below>")
            .replace('\r', "<cr>")
            .replace('\x1b', "<esc>");
        insta::assert_snapshot!(readable, @"
        <hide>[+] Building 0.1s (1/1)
         => [internal] load build definition from Dockerfile                0.0s
         => => transferring dockerfile 213B                                 0.0s
        <clear-below><esc>[3A<cr>[+] Building 1.7s (3/5)
         => [internal] load build definition from Dockerfile                0.0s
         => => transferring dockerfile 213B                                 0.0s
         => [internal] load metadata for docker.io/library/busybox:latest   0.5s
         => [base 1/2] FROM docker.io/library/busybox:latest                1.1s
         => => sha256:ab12cd34ef56 3.4MB / 3.4MB                            1.1s
         => CACHED [build 1/3] COPY go.mod /src/                            0.0s
         => [build 2/3] COPY . /src                                         1.1s
         => WARN: context has 1 file over 100MB
         => => # copying 12 files
        <clear-below><esc>[10A<cr>[+] Building 1.8s (6/6) FINISHED
         => [internal] load build definition from Dockerfile                0.0s
         => => transferring dockerfile 213B                                 0.0s
         => [internal] load metadata for docker.io/library/busybox:latest   0.5s
         => [base 1/2] FROM docker.io/library/busybox:latest                1.1s
         => => sha256:ab12cd34ef56 3.4MB / 3.4MB                            1.1s
         => CACHED [build 1/3] COPY go.mod /src/                            0.0s
         => CANCELED [build 2/3] COPY . /src                                1.1s
         => WARN: context has 1 file over 100MB
         => ERROR [base 2/2] COPY missing /x                                0.0s
        <clear-below><show>------
         > [base 2/2] COPY missing /x:
        0.010 stat missing: no such file or directory
        ------
        ");
    }

    #[test]
    fn tty_honours_no_color_but_still_moves_the_cursor() {
        for color in [false, true] {
            let buffer = SharedBuffer::default();
            let clock = Arc::new(AtomicU64::new(0));
            let terminal = Terminal { color, ..TERMINAL };
            let mut display = manual(buffer.clone(), terminal, clock);
            fixture::replay(&fixture::sample_build(), &display);
            redraw(&display);
            display.finish().unwrap();
            let output = buffer.text();
            assert!(output.contains("\x1b[K"), "{output:?}");
            assert_eq!(output.contains("\x1b[31m"), color, "{output:?}");
            assert_eq!(output.contains("\x1b[0m"), color, "{output:?}");
        }
    }

    #[test]
    fn tty_render_thread_redraws_at_most_ten_times_a_second() {
        let buffer = SharedBuffer::default();
        let mut display = TtyDisplay::new(Box::new(buffer.clone()), TERMINAL);
        let started = std::time::Instant::now();
        fixture::replay(&fixture::sample_build(), &display);
        std::thread::sleep(Duration::from_millis(450));
        display.finish().unwrap();
        let elapsed = started.elapsed();
        let frames = buffer.text().matches("[+] Building").count();
        let most = usize::try_from(elapsed.as_millis() / 100).unwrap() + 2;
        assert!(
            (3..=most).contains(&frames),
            "{frames} frames in {elapsed:?}"
        );
        assert!(buffer.text().contains("FINISHED"));
    }

    #[test]
    fn tty_drop_stops_the_thread_and_prints_the_end() {
        let buffer = SharedBuffer::default();
        let display = TtyDisplay::new(Box::new(buffer.clone()), TERMINAL);
        fixture::replay(&fixture::sample_build(), &display);
        drop(display);
        let output = buffer.text();
        assert!(output.contains("FINISHED"), "{output}");
        assert!(output.ends_with("------\n"), "{output}");
    }
}
