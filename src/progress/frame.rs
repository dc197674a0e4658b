//! One frame of the live `tty` view, as a pure function of the build state,
//! the time and the terminal: a header, then one line per vertex with its
//! timer, its transfers, its warnings and, while it runs, the last lines of
//! its output. Putting frames on the screen is `tty`'s job.

use std::time::SystemTime;

use super::state::{BuildState, Status, Vertex, transfer_text};
use super::units;

/// Output lines a running vertex shows.
const LIVE_LOG_LINES: usize = 6;

const BLUE: &str = "\x1b[34m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// How a frame is laid out.
#[derive(Debug, Clone, Copy)]
pub(super) struct FrameStyle {
    pub(super) width: usize,
    /// Rows the frame may fill; `None` for the final frame, which shows all.
    pub(super) height: Option<usize>,
    pub(super) color: bool,
}

/// One line before layout: text, an optional right-aligned timer, a colour.
struct Line {
    text: String,
    timer: Option<String>,
    color: Option<&'static str>,
}

/// The lines of the frame at `now`, each fitted to the width (and coloured
/// when allowed), without line endings.
pub(super) fn render(state: &BuildState, now: SystemTime, style: &FrameStyle) -> Vec<String> {
    let (ended, seen) = state.counts();
    let elapsed = state
        .started
        .map(|started| units::between(started, state.finished.unwrap_or(now)))
        .unwrap_or_default();
    let mut header = format!("[+] Building {} ({ended}/{seen})", units::seconds(elapsed));
    if state.finished.is_some() {
        header.push_str(" FINISHED");
    }
    let mut groups: Vec<(bool, Vec<Line>)> = state
        .vertices()
        .iter()
        .map(|vertex| (vertex.is_running(), vertex_lines(vertex, now)))
        .collect();
    if let Some(height) = style.height {
        // The header and a spare row for the cursor; ended vertices go first.
        let room = height.saturating_sub(2);
        let mut count: usize = groups.iter().map(|(_, lines)| lines.len()).sum();
        while count > room {
            let Some(index) = groups.iter().position(|(running, _)| !running) else {
                break;
            };
            count -= groups.remove(index).1.len();
        }
    }
    let mut body: Vec<Line> = groups.into_iter().flat_map(|(_, lines)| lines).collect();
    if let Some(height) = style.height {
        let room = height.saturating_sub(2);
        body.drain(..body.len().saturating_sub(room));
    }
    let header = Line {
        text: header,
        timer: None,
        color: None,
    };
    std::iter::once(header)
        .chain(body)
        .map(|line| layout(line, style))
        .collect()
}

fn vertex_lines(vertex: &Vertex, now: SystemTime) -> Vec<Line> {
    let (word, color) = match &vertex.status {
        Status::Running => ("", None),
        Status::Done => ("", Some(BLUE)),
        Status::Cached => ("CACHED ", Some(BLUE)),
        Status::Failed(_) => ("ERROR ", Some(RED)),
        Status::Canceled => ("CANCELED ", Some(YELLOW)),
    };
    let mut lines = vec![Line {
        text: format!(" => {word}{}", vertex.info.name),
        timer: Some(units::seconds(units::between(
            vertex.info.started,
            vertex.end(now),
        ))),
        color,
    }];
    for transfer in &vertex.transfers {
        let end = transfer.completed.unwrap_or(now);
        lines.push(Line {
            text: format!(" => => {}", transfer_text(transfer)),
            timer: Some(units::seconds(units::between(transfer.started, end))),
            color,
        });
    }
    for warning in &vertex.warnings {
        lines.push(Line {
            text: format!(" => WARN: {warning}"),
            timer: None,
            color: Some(YELLOW),
        });
    }
    if vertex.is_running() {
        let skip = vertex.logs.len().saturating_sub(LIVE_LOG_LINES);
        for log in vertex.logs.iter().skip(skip) {
            lines.push(Line {
                text: format!(" => => # {}", log.text),
                timer: None,
                color: None,
            });
        }
    }
    lines
}

/// Fits `line` to the width: the text cut with `…` where needed, the timer
/// flush right.
fn layout(line: Line, style: &FrameStyle) -> String {
    let timer = line.timer.unwrap_or_default();
    let room = style.width.saturating_sub(timer.len() + 1).max(1);
    let mut text: String = line.text.chars().take(room).collect();
    if line.text.chars().count() > room {
        text.pop();
        text.push('…');
    }
    if !timer.is_empty() {
        let pad = style
            .width
            .saturating_sub(text.chars().count() + timer.len())
            .max(1);
        text = format!("{text}{}{timer}", " ".repeat(pad));
    }
    match line.color {
        Some(color) if style.color => format!("{color}{text}{RESET}"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use crate::solver::event::Event;

    /// The state after the sample build's first `events` events.
    fn state_after(events: usize) -> BuildState {
        let mut state = BuildState::default();
        for event in fixture::sample_build().into_iter().take(events) {
            match event {
                Event::VertexStart(info) => {
                    state.start(&info);
                }
                Event::VertexCached { id, at } => {
                    state.cached(id, at);
                }
                Event::VertexLog {
                    id,
                    stream,
                    bytes,
                    at,
                } => {
                    state.log(id, stream, &bytes, at);
                }
                Event::VertexProgress { id, item, at } => {
                    state.progress(id, &item, at);
                }
                Event::VertexWarning { id, message, .. } => {
                    state.warning(id, &message);
                }
                Event::VertexDone { id, outcome, at } => {
                    state.done(id, &outcome, at);
                }
                Event::BuildDone { at } => state.build_done(at),
            }
        }
        state
    }

    const PLAIN: FrameStyle = FrameStyle {
        width: 72,
        height: Some(30),
        color: false,
    };

    #[test]
    fn frame_shows_running_steps_with_timers_transfers_and_output() {
        let frame = render(&state_after(15), fixture::at(1_680), &PLAIN).join("\n");
        insta::assert_snapshot!(frame, @"
        [+] Building 1.7s (3/5)
         => [internal] load build definition from Dockerfile                0.0s
         => => transferring dockerfile 213B                                 0.0s
         => [internal] load metadata for docker.io/library/busybox:latest   0.5s
         => [base 1/2] FROM docker.io/library/busybox:latest                1.1s
         => => sha256:ab12cd34ef56 3.4MB / 3.4MB                            1.1s
         => CACHED [build 1/3] COPY go.mod /src/                            0.0s
         => [build 2/3] COPY . /src                                         1.1s
         => WARN: context has 1 file over 100MB
         => => # copying 12 files
        ");
    }

    #[test]
    fn frame_is_a_function_of_the_time() {
        let state = state_after(15);
        let early = render(&state, fixture::at(1_680), &PLAIN);
        let later = render(&state, fixture::at(2_300), &PLAIN);
        assert_eq!(early, render(&state, fixture::at(1_680), &PLAIN));
        assert!(early[0].starts_with("[+] Building 1.7s (3/5)"), "{early:?}");
        assert!(later[0].starts_with("[+] Building 2.3s (3/5)"), "{later:?}");
    }

    #[test]
    fn final_frame_says_finished_and_hides_finished_output() {
        let frame = render(
            &state_after(usize::MAX),
            fixture::at(9_000),
            &FrameStyle {
                height: None,
                ..PLAIN
            },
        );
        insta::assert_snapshot!(frame.join("\n"), @"
        [+] Building 1.8s (6/6) FINISHED
         => [internal] load build definition from Dockerfile                0.0s
         => => transferring dockerfile 213B                                 0.0s
         => [internal] load metadata for docker.io/library/busybox:latest   0.5s
         => [base 1/2] FROM docker.io/library/busybox:latest                1.1s
         => => sha256:ab12cd34ef56 3.4MB / 3.4MB                            1.1s
         => CACHED [build 1/3] COPY go.mod /src/                            0.0s
         => CANCELED [build 2/3] COPY . /src                                1.1s
         => WARN: context has 1 file over 100MB
         => ERROR [base 2/2] COPY missing /x                                0.0s
        ");
    }

    #[test]
    fn frame_colours_only_when_allowed() {
        let state = state_after(usize::MAX);
        let plain = render(&state, fixture::at(9_000), &PLAIN).join("\n");
        assert!(!plain.contains('\x1b'), "{plain}");
        let coloured = render(
            &state,
            fixture::at(9_000),
            &FrameStyle {
                color: true,
                ..PLAIN
            },
        )
        .join("\n");
        assert!(
            coloured.contains(&format!("{RED} => ERROR [base 2/2]")),
            "{coloured}"
        );
        assert!(
            coloured.contains(&format!("{BLUE} => CACHED [build 1/3]")),
            "{coloured}"
        );
    }

    #[test]
    fn frame_fits_the_terminal() {
        let state = state_after(15);
        let small = FrameStyle {
            width: 40,
            height: Some(6),
            color: false,
        };
        let frame = render(&state, fixture::at(1_680), &small);
        assert_eq!(frame.len(), 5, "{frame:#?}");
        assert!(
            frame.iter().all(|line| line.chars().count() <= 40),
            "{frame:#?}"
        );
        // Ended steps make way; the running ones and their output stay.
        assert!(
            frame.iter().any(|line| line.contains("# copying 12 files")),
            "{frame:#?}"
        );
        assert!(
            !frame.iter().any(|line| line.contains("load build")),
            "{frame:#?}"
        );
    }
}
