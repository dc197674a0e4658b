//! `--progress=plain`: numbered lines for CI logs, as buildx prints them.
//! Each vertex gets a number in start order and every line about it starts
//! with `#N`; when output moves to another vertex a blank line separates
//! them, and an unfinished vertex is marked `#N ...`. Nothing is redrawn and
//! nothing is coloured. Transfers print at most once a second each.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::solver::event::{
    LogStream, ProgressItem, Reporter, VertexId, VertexInfo, VertexOutcome,
};

use super::state::{BuildState, LogLine, Status, transfer_text};
use super::{Error, ProgressDisplay, WriteStatus, units};

/// How often one transfer may print a line while it moves.
const TRANSFER_INTERVAL: Duration = Duration::from_secs(1);

/// Prints numbered lines to its writer as events arrive.
pub struct PlainDisplay {
    inner: Mutex<Plain>,
}

struct Plain {
    out: Box<dyn Write + Send>,
    status: WriteStatus,
    state: BuildState,
    /// The vertex the last line was about.
    current: Option<VertexId>,
    /// When each transfer last printed, and whether that line said `done`.
    transfers: HashMap<(VertexId, String), (SystemTime, bool)>,
    finished: bool,
}

impl PlainDisplay {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self {
            inner: Mutex::new(Plain {
                out,
                status: WriteStatus::default(),
                state: BuildState::default(),
                current: None,
                transfers: HashMap::new(),
                finished: false,
            }),
        }
    }

    fn with(&self, update: impl FnOnce(&mut Plain)) {
        update(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

impl Plain {
    /// Writes `#N text` for vertex `id`, first closing the block of the
    /// vertex printed last and reopening `id`'s block when it resumes.
    fn line(&mut self, id: VertexId, text: &str) {
        let Some(vertex) = self.state.get(id) else {
            return;
        };
        let number = vertex.number;
        let header = (self.current != Some(id)).then(|| format!("#{number} {}", vertex.info.name));
        let previous = self
            .current
            .filter(|&previous| previous != id)
            .and_then(|previous| self.state.get(previous))
            .map(|previous| (previous.number, previous.is_running()));
        self.current = Some(id);
        let out = &mut self.out;
        self.status.attempt(|| {
            if let Some((previous, running)) = previous {
                if running {
                    writeln!(out, "#{previous} ...")?;
                }
                writeln!(out)?;
            }
            if let Some(header) = header {
                writeln!(out, "{header}")?;
            }
            if !text.is_empty() {
                writeln!(out, "#{number} {text}")?;
            }
            Ok(())
        });
    }

    fn log_lines(&mut self, id: VertexId, lines: &[LogLine]) {
        let Some(started) = self.state.get(id).map(|vertex| vertex.info.started) else {
            return;
        };
        for line in lines {
            let offset = units::log_offset(units::between(started, line.at));
            self.line(id, &format!("{offset} {}", line.text));
        }
    }

    /// Prints the transfer's state when it is new, done, or a second has
    /// passed since it last printed.
    fn transfer(&mut self, id: VertexId, name: &str, at: SystemTime, force: bool) {
        let Some(transfer) = self
            .state
            .get(id)
            .and_then(|vertex| vertex.transfers.iter().find(|t| t.name == name))
        else {
            return;
        };
        let done = transfer.completed.is_some();
        let key = (id, name.to_owned());
        let due = match self.transfers.get(&key) {
            None => true,
            Some(&(_, true)) => false,
            Some(&(last, false)) => done || force || units::between(last, at) >= TRANSFER_INTERVAL,
        };
        if !due {
            return;
        }
        let elapsed = units::between(transfer.started, transfer.completed.unwrap_or(at));
        let mut text = format!("{} {}", transfer_text(transfer), units::seconds(elapsed));
        if done {
            text.push_str(" done");
        }
        self.transfers.insert(key, (at, done));
        self.line(id, &text);
    }
}

impl Reporter for PlainDisplay {
    fn on_vertex_start(&self, vertex: &VertexInfo) {
        self.with(|plain| {
            plain.state.start(vertex);
            plain.line(vertex.id, "");
        });
    }

    fn on_vertex_cached(&self, id: VertexId, at: SystemTime) {
        self.with(|plain| {
            if let Some(lines) = plain.state.cached(id, at) {
                plain.log_lines(id, &lines);
                plain.line(id, "CACHED");
            }
        });
    }

    fn on_vertex_log(&self, id: VertexId, stream: LogStream, bytes: &[u8], at: SystemTime) {
        self.with(|plain| {
            let lines = plain.state.log(id, stream, bytes, at);
            plain.log_lines(id, &lines);
        });
    }

    fn on_vertex_progress(&self, id: VertexId, item: &ProgressItem, at: SystemTime) {
        self.with(|plain| {
            if plain.state.progress(id, item, at).is_some() {
                plain.transfer(id, &item.name, at, false);
            }
        });
    }

    fn on_vertex_warning(&self, id: VertexId, message: &str, _at: SystemTime) {
        self.with(|plain| {
            if plain.state.warning(id, message).is_some() {
                plain.line(id, &format!("WARN: {message}"));
            }
        });
    }

    fn on_vertex_done(&self, id: VertexId, outcome: &VertexOutcome, at: SystemTime) {
        self.with(|plain| {
            let Some(lines) = plain.state.done(id, outcome, at) else {
                return;
            };
            plain.log_lines(id, &lines);
            let Some(vertex) = plain.state.get(id) else {
                return;
            };
            let names: Vec<String> = vertex.transfers.iter().map(|t| t.name.clone()).collect();
            let elapsed = units::seconds(units::between(vertex.info.started, at));
            let text = match &vertex.status {
                Status::Failed(message) => format!("ERROR: {message}"),
                Status::Canceled => "CANCELED".to_owned(),
                _ => format!("DONE {elapsed}"),
            };
            for name in names {
                plain.transfer(id, &name, at, true);
            }
            plain.line(id, &text);
        });
    }

    fn on_build_done(&self, at: SystemTime) {
        self.with(|plain| plain.state.build_done(at));
    }
}

impl ProgressDisplay for PlainDisplay {
    fn finish(&mut self) -> Result<(), Error> {
        let plain = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        if std::mem::replace(&mut plain.finished, true) {
            return Ok(());
        }
        let Plain {
            out, status, state, ..
        } = plain;
        status.attempt(|| {
            if state
                .vertices()
                .iter()
                .any(|vertex| matches!(vertex.status, Status::Failed(_)))
            {
                writeln!(out)?;
            }
            state.write_error_blocks(out)?;
            out.flush()
        });
        status.take("plain")
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, SharedBuffer};
    use super::*;

    #[test]
    fn plain_numbers_steps_and_closes_interrupted_blocks() {
        let buffer = SharedBuffer::default();
        let mut display = PlainDisplay::new(Box::new(buffer.clone()));
        fixture::replay(&fixture::sample_build(), &display);
        display.finish().unwrap();
        insta::assert_snapshot!(buffer.text(), @r#"
        #1 [internal] load build definition from Dockerfile
        #1 transferring dockerfile 213B 0.0s
        #1 transferring dockerfile 213B 0.0s done
        #1 DONE 0.0s

        #2 [internal] load metadata for docker.io/library/busybox:latest
        #2 DONE 0.5s

        #3 [base 1/2] FROM docker.io/library/busybox:latest
        #3 sha256:ab12cd34ef56 0B / 3.4MB 0.0s
        #3 ...

        #4 [build 1/3] COPY go.mod /src/
        #4 CACHED

        #5 [build 2/3] COPY . /src
        #5 0.100 copying 12 files
        #5 WARN: context has 1 file over 100MB
        #5 ...

        #3 [base 1/2] FROM docker.io/library/busybox:latest
        #3 sha256:ab12cd34ef56 3.4MB / 3.4MB 1.1s done
        #3 DONE 1.1s

        #6 [base 2/2] COPY missing /x
        #6 0.010 stat missing: no such file or directory
        #6 ...

        #5 [build 2/3] COPY . /src
        #5 0.100 half done
        #5 ...

        #6 [base 2/2] COPY missing /x
        #6 ERROR: failed to compute cache key: "/missing": not found

        #5 [build 2/3] COPY . /src
        #5 CANCELED

        ------
         > [base 2/2] COPY missing /x:
        0.010 stat missing: no such file or directory
        ------
        "#);
    }

    #[test]
    fn plain_throttles_transfer_lines_to_one_a_second() {
        let buffer = SharedBuffer::default();
        let display = PlainDisplay::new(Box::new(buffer.clone()));
        let id = VertexId(1);
        display.on_vertex_start(&fixture::vertex(1, "[stage 1/1] FROM busybox", 0));
        for step in 0..=40 {
            let item = ProgressItem {
                name: "sha256:ab12".to_owned(),
                current: step * 100_000,
                total: Some(4_000_000),
            };
            display.on_vertex_progress(id, &item, fixture::at(step * 100));
        }
        display.on_vertex_done(id, &VertexOutcome::Completed, fixture::at(4_100));
        insta::assert_snapshot!(buffer.text(), @"
        #1 [stage 1/1] FROM busybox
        #1 sha256:ab12 0B / 4MB 0.0s
        #1 sha256:ab12 1MB / 4MB 1.0s
        #1 sha256:ab12 2MB / 4MB 2.0s
        #1 sha256:ab12 3MB / 4MB 3.0s
        #1 sha256:ab12 4MB / 4MB 4.0s done
        #1 DONE 4.1s
        ");
    }

    #[test]
    fn plain_lines_stay_whole_when_many_threads_report() {
        let buffer = SharedBuffer::default();
        let mut display = super::super::reporter_to(
            crate::settings::Progress::Plain,
            false,
            Box::new(buffer.clone()),
            super::super::Terminal {
                color: true,
                width: 80,
                height: 24,
            },
        );
        let reporter: &dyn Reporter = &*display;
        std::thread::scope(|scope| {
            for id in 1..=8 {
                scope.spawn(move || {
                    let vertex = VertexInfo {
                        id: VertexId(id),
                        digest: None,
                        name: format!("[stage-{id} 1/1] COPY {id} /"),
                        started: SystemTime::now(),
                    };
                    reporter.on_vertex_start(&vertex);
                    for line in 0..20 {
                        let text = format!("vertex {id} line {line}\n");
                        let stream = LogStream::Stdout;
                        reporter.on_vertex_log(
                            vertex.id,
                            stream,
                            text.as_bytes(),
                            SystemTime::now(),
                        );
                    }
                    reporter.on_vertex_done(
                        vertex.id,
                        &VertexOutcome::Completed,
                        SystemTime::now(),
                    );
                });
            }
        });
        display.finish().unwrap();
        let output = buffer.text();
        let mut seen = HashMap::new();
        for line in output.lines().filter(|line| !line.is_empty()) {
            let (number, text) = line.split_once(' ').expect("#N text");
            assert!(number.starts_with('#'), "{line}");
            let entry: &mut Vec<&str> = seen.entry(number).or_default();
            entry.push(text);
        }
        assert_eq!(seen.len(), 8, "{output}");
        for texts in seen.values() {
            let logs: Vec<_> = texts
                .iter()
                .filter(|text| text.contains(" line "))
                .collect();
            assert_eq!(logs.len(), 20, "{texts:?}");
            assert!(texts.last().unwrap().starts_with("DONE "), "{texts:?}");
        }
    }

    #[test]
    fn plain_keeps_going_after_a_write_fails() {
        let mut display = PlainDisplay::new(Box::new(fixture::BrokenPipe));
        fixture::replay(&fixture::sample_build(), &display);
        let error = display.finish().unwrap_err();
        assert!(matches!(
            error,
            Error::WriteProgress {
                display: "plain",
                ..
            }
        ));
        assert!(display.finish().is_ok(), "a second finish does nothing");
    }
}
