//! The progress events the solver emits, and the [`Reporter`] trait that
//! receives them. This module owns the vocabulary only: what a vertex is
//! called, what happened to it and when. Rendering belongs to `progress`;
//! registry pulls and exporters report through the same trait.
//!
//! A vertex's events follow one order: exactly one [`Reporter::on_vertex_start`],
//! then any number of logs, progress items and warnings, then exactly one of
//! [`Reporter::on_vertex_cached`] or [`Reporter::on_vertex_done`]. Events of
//! different vertices interleave freely, from many threads at once. Every
//! event carries the time it happened, so a renderer can show durations and
//! concurrency without reading a clock of its own.

use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// Names one vertex within one build's events. The solver picks the numbers;
/// they need only be unique within a build (vertices outside the graph, such
/// as image metadata loads or the export, get numbers of their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VertexId(pub u64);

/// What a renderer needs to show a vertex that has started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VertexInfo {
    pub id: VertexId,
    /// The definition digest (`sha256:…`) when the vertex is a graph vertex;
    /// `rawjson` shows it as BuildKit does.
    pub digest: Option<String>,
    /// As buildx names steps: `[stage 2/4] COPY . /src`,
    /// `[internal] load metadata for docker.io/library/busybox:latest`.
    pub name: String,
    pub started: SystemTime,
}

/// Which output stream of a step a log chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    /// The file descriptor number, as BuildKit's `stream` field carries it.
    pub fn fd(self) -> u8 {
        match self {
            Self::Stdout => 1,
            Self::Stderr => 2,
        }
    }
}

/// One transfer or piece of work inside a vertex: a layer download, an
/// upload, a compression. Reported again each time `current` moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressItem {
    /// Stable within the vertex, e.g. `sha256:ab12…` or `exporting layers`.
    pub name: String,
    /// Bytes done so far.
    pub current: u64,
    /// Bytes in all, when known.
    pub total: Option<u64>,
}

impl ProgressItem {
    /// Whether the item has reached its known total. Items of unknown size
    /// complete with their vertex.
    pub fn is_complete(&self) -> bool {
        self.total.is_some_and(|total| self.current >= total)
    }
}

/// How a vertex that ran ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VertexOutcome {
    Completed,
    /// The vertex failed; `message` is the error chain as the user reads it.
    Failed {
        message: String,
    },
    /// Another vertex failed and this one was stopped before it finished.
    Canceled,
}

/// Receives the solver's progress events. Implementations are called from
/// many rayon threads at once, so they take `&self` and lock inside.
/// Callbacks must be quick and must not fail: a renderer that cannot write
/// keeps the error to itself.
pub trait Reporter: Send + Sync {
    /// A vertex began: its cache lookup or its work.
    fn on_vertex_start(&self, vertex: &VertexInfo);
    /// The vertex's result came from the cache; no `on_vertex_done` follows.
    fn on_vertex_cached(&self, id: VertexId, at: SystemTime);
    /// A chunk of output, not necessarily whole lines.
    fn on_vertex_log(&self, id: VertexId, stream: LogStream, bytes: &[u8], at: SystemTime);
    /// A transfer or compression moved forward.
    fn on_vertex_progress(&self, id: VertexId, item: &ProgressItem, at: SystemTime);
    /// Something the user should know that does not fail the vertex.
    fn on_vertex_warning(&self, id: VertexId, message: &str, at: SystemTime);
    /// The vertex ran and ended.
    fn on_vertex_done(&self, id: VertexId, outcome: &VertexOutcome, at: SystemTime);
    /// The whole solve ended; no more events follow.
    fn on_build_done(&self, at: SystemTime);
}

/// Drops every event: for callers that want no progress at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullReporter;

impl Reporter for NullReporter {
    fn on_vertex_start(&self, _vertex: &VertexInfo) {}
    fn on_vertex_cached(&self, _id: VertexId, _at: SystemTime) {}
    fn on_vertex_log(&self, _id: VertexId, _stream: LogStream, _bytes: &[u8], _at: SystemTime) {}
    fn on_vertex_progress(&self, _id: VertexId, _item: &ProgressItem, _at: SystemTime) {}
    fn on_vertex_warning(&self, _id: VertexId, _message: &str, _at: SystemTime) {}
    fn on_vertex_done(&self, _id: VertexId, _outcome: &VertexOutcome, _at: SystemTime) {}
    fn on_build_done(&self, _at: SystemTime) {}
}

/// One event as a value: what [`RecordingReporter`] keeps, and what tests
/// replay into a renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    VertexStart(VertexInfo),
    VertexCached {
        id: VertexId,
        at: SystemTime,
    },
    VertexLog {
        id: VertexId,
        stream: LogStream,
        bytes: Vec<u8>,
        at: SystemTime,
    },
    VertexProgress {
        id: VertexId,
        item: ProgressItem,
        at: SystemTime,
    },
    VertexWarning {
        id: VertexId,
        message: String,
        at: SystemTime,
    },
    VertexDone {
        id: VertexId,
        outcome: VertexOutcome,
        at: SystemTime,
    },
    BuildDone {
        at: SystemTime,
    },
}

impl Event {
    /// When the event happened.
    pub fn at(&self) -> SystemTime {
        match self {
            Self::VertexStart(vertex) => vertex.started,
            Self::VertexCached { at, .. }
            | Self::VertexLog { at, .. }
            | Self::VertexProgress { at, .. }
            | Self::VertexWarning { at, .. }
            | Self::VertexDone { at, .. }
            | Self::BuildDone { at } => *at,
        }
    }

    /// The vertex the event is about; `None` for [`Event::BuildDone`].
    pub fn vertex(&self) -> Option<VertexId> {
        match self {
            Self::VertexStart(vertex) => Some(vertex.id),
            Self::VertexCached { id, .. }
            | Self::VertexLog { id, .. }
            | Self::VertexProgress { id, .. }
            | Self::VertexWarning { id, .. }
            | Self::VertexDone { id, .. } => Some(*id),
            Self::BuildDone { .. } => None,
        }
    }

    /// Calls the `reporter` method this event stands for.
    pub fn report_to(&self, reporter: &dyn Reporter) {
        match self {
            Self::VertexStart(vertex) => reporter.on_vertex_start(vertex),
            Self::VertexCached { id, at } => reporter.on_vertex_cached(*id, *at),
            Self::VertexLog {
                id,
                stream,
                bytes,
                at,
            } => reporter.on_vertex_log(*id, *stream, bytes, *at),
            Self::VertexProgress { id, item, at } => reporter.on_vertex_progress(*id, item, *at),
            Self::VertexWarning { id, message, at } => {
                reporter.on_vertex_warning(*id, message, *at);
            }
            Self::VertexDone { id, outcome, at } => reporter.on_vertex_done(*id, outcome, *at),
            Self::BuildDone { at } => reporter.on_build_done(*at),
        }
    }
}

/// Keeps every event in arrival order, for tests of the solver and for
/// replaying a build into a renderer.
#[derive(Debug, Default)]
pub struct RecordingReporter {
    events: Mutex<Vec<Event>>,
}

impl RecordingReporter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The events so far, in the order they arrived.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends every event so far to `reporter`, in arrival order.
    pub fn replay(&self, reporter: &dyn Reporter) {
        for event in self.events() {
            event.report_to(reporter);
        }
    }

    fn push(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }
}

impl Reporter for RecordingReporter {
    fn on_vertex_start(&self, vertex: &VertexInfo) {
        self.push(Event::VertexStart(vertex.clone()));
    }

    fn on_vertex_cached(&self, id: VertexId, at: SystemTime) {
        self.push(Event::VertexCached { id, at });
    }

    fn on_vertex_log(&self, id: VertexId, stream: LogStream, bytes: &[u8], at: SystemTime) {
        self.push(Event::VertexLog {
            id,
            stream,
            bytes: bytes.to_vec(),
            at,
        });
    }

    fn on_vertex_progress(&self, id: VertexId, item: &ProgressItem, at: SystemTime) {
        self.push(Event::VertexProgress {
            id,
            item: item.clone(),
            at,
        });
    }

    fn on_vertex_warning(&self, id: VertexId, message: &str, at: SystemTime) {
        self.push(Event::VertexWarning {
            id,
            message: message.to_owned(),
            at,
        });
    }

    fn on_vertex_done(&self, id: VertexId, outcome: &VertexOutcome, at: SystemTime) {
        self.push(Event::VertexDone {
            id,
            outcome: outcome.clone(),
            at,
        });
    }

    fn on_build_done(&self, at: SystemTime) {
        self.push(Event::BuildDone { at });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn start(id: u64, at: SystemTime) -> VertexInfo {
        VertexInfo {
            id: VertexId(id),
            digest: None,
            name: format!("[stage {id}/8] COPY {id} /{id}"),
            started: at,
        }
    }

    #[test]
    fn recording_reporter_keeps_every_event_from_many_threads() {
        let recorder = RecordingReporter::new();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        std::thread::scope(|scope| {
            for id in 0..8 {
                let reporter: &dyn Reporter = &recorder;
                scope.spawn(move || {
                    reporter.on_vertex_start(&start(id, at));
                    reporter.on_vertex_log(VertexId(id), LogStream::Stdout, b"hi\n", at);
                    reporter.on_vertex_done(VertexId(id), &VertexOutcome::Completed, at);
                });
            }
        });
        let events = recorder.events();
        assert_eq!(events.len(), 24);
        for id in 0..8 {
            let own: Vec<_> = events
                .iter()
                .filter(|event| event.vertex() == Some(VertexId(id)))
                .collect();
            assert!(matches!(own[0], Event::VertexStart(_)), "{own:?}");
            assert!(matches!(own[1], Event::VertexLog { .. }), "{own:?}");
            assert!(matches!(own[2], Event::VertexDone { .. }), "{own:?}");
        }
    }

    #[test]
    fn replay_sends_the_same_events_in_order() {
        let recorder = RecordingReporter::new();
        let at = SystemTime::UNIX_EPOCH;
        recorder.on_vertex_start(&start(1, at));
        recorder.on_vertex_progress(
            VertexId(1),
            &ProgressItem {
                name: "sha256:ab12".to_owned(),
                current: 1,
                total: Some(2),
            },
            at + Duration::from_millis(5),
        );
        recorder.on_vertex_warning(VertexId(1), "careful", at);
        recorder.on_vertex_cached(VertexId(1), at);
        recorder.on_build_done(at + Duration::from_secs(1));
        let copy = RecordingReporter::new();
        recorder.replay(&copy);
        assert_eq!(copy.events(), recorder.events());
        assert_eq!(copy.events()[1].at(), at + Duration::from_millis(5));
        assert_eq!(copy.events()[4].vertex(), None);
    }

    #[test]
    fn progress_item_completes_at_its_known_total() {
        let mut item = ProgressItem {
            name: "layer".to_owned(),
            current: 3,
            total: Some(4),
        };
        assert!(!item.is_complete());
        item.current = 4;
        assert!(item.is_complete());
        item.total = None;
        assert!(!item.is_complete());
    }
}
