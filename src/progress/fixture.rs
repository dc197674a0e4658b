//! Test helpers shared by the display tests: a writer the test can read
//! back, a writer that always fails, and one build's events with fixed times.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::solver::event::{
    Event, LogStream, ProgressItem, Reporter, VertexId, VertexInfo, VertexOutcome,
};

/// A writer whose bytes the test reads back while the display owns it.
#[derive(Debug, Clone, Default)]
pub(super) struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub(super) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer whose reader went away.
pub(super) struct BrokenPipe;

impl Write for BrokenPipe {
    fn write(&mut self, _bytes: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }

    fn flush(&mut self) -> io::Result<()> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
}

/// `millis` after a fixed instant (2023-11-14T22:13:20Z).
pub(super) fn at(millis: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(millis)
}

pub(super) fn vertex(id: u64, name: &str, started: u64) -> VertexInfo {
    VertexInfo {
        id: VertexId(id),
        digest: Some(format!("sha256:{id:064x}")),
        name: name.to_owned(),
        started: at(started),
    }
}

pub(super) fn replay(events: &[Event], reporter: &dyn Reporter) {
    for event in events {
        event.report_to(reporter);
    }
}

fn log(id: u64, stream: LogStream, text: &str, millis: u64) -> Event {
    Event::VertexLog {
        id: VertexId(id),
        stream,
        bytes: text.as_bytes().to_vec(),
        at: at(millis),
    }
}

fn progress(id: u64, name: &str, current: u64, total: Option<u64>, millis: u64) -> Event {
    Event::VertexProgress {
        id: VertexId(id),
        item: ProgressItem {
            name: name.to_owned(),
            current,
            total,
        },
        at: at(millis),
    }
}

fn done(id: u64, outcome: VertexOutcome, millis: u64) -> Event {
    Event::VertexDone {
        id: VertexId(id),
        outcome,
        at: at(millis),
    }
}

/// A failing two-stage build: a pull with a download, a cached step,
/// two steps running at once with interleaved output, a warning, a failure
/// and the cancel it causes. Times only grow.
pub(super) fn sample_build() -> Vec<Event> {
    let layer = "sha256:ab12cd34ef56";
    vec![
        Event::VertexStart(vertex(
            1,
            "[internal] load build definition from Dockerfile",
            0,
        )),
        progress(1, "transferring dockerfile", 213, None, 20),
        done(1, VertexOutcome::Completed, 40),
        Event::VertexStart(vertex(
            2,
            "[internal] load metadata for docker.io/library/busybox:latest",
            50,
        )),
        done(2, VertexOutcome::Completed, 550),
        Event::VertexStart(vertex(
            3,
            "[base 1/2] FROM docker.io/library/busybox:latest",
            560,
        )),
        progress(3, layer, 0, Some(3_400_000), 570),
        Event::VertexStart(vertex(4, "[build 1/3] COPY go.mod /src/", 580)),
        Event::VertexCached {
            id: VertexId(4),
            at: at(580),
        },
        Event::VertexStart(vertex(5, "[build 2/3] COPY . /src", 600)),
        log(5, LogStream::Stdout, "copying 12 files\nhal", 700),
        Event::VertexWarning {
            id: VertexId(5),
            message: "context has 1 file over 100MB".to_owned(),
            at: at(710),
        },
        progress(3, layer, 1_200_000, Some(3_400_000), 1_070),
        progress(3, layer, 1_300_000, Some(3_400_000), 1_170),
        progress(3, layer, 3_400_000, Some(3_400_000), 1_670),
        done(3, VertexOutcome::Completed, 1_700),
        Event::VertexStart(vertex(6, "[base 2/2] COPY missing /x", 1_710)),
        log(
            6,
            LogStream::Stderr,
            "stat missing: no such file or directory\n",
            1_720,
        ),
        log(5, LogStream::Stdout, "f done\n", 1_730),
        done(
            6,
            VertexOutcome::Failed {
                message: "failed to compute cache key: \"/missing\": not found".to_owned(),
            },
            1_740,
        ),
        done(5, VertexOutcome::Canceled, 1_750),
        Event::BuildDone { at: at(1_760) },
    ]
}
