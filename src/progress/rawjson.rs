//! `--progress=rawjson`: one JSON object per event per line, in the shape of
//! BuildKit's `SolveStatus` (`vertexes`, `statuses`, `logs`, `warnings`),
//! so tools that read `buildx --progress=rawjson` read xb's too. Every
//! instant is RFC 3339 with nanoseconds, and each vertex object carries
//! `started` and, once ended, `completed`: enough to show which steps ran
//! at the same time. Log and warning bytes are base64, as BuildKit's are.

use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;

use crate::solver::event::{
    LogStream, ProgressItem, Reporter, VertexId, VertexInfo, VertexOutcome,
};

use super::state::{BuildState, Status, Vertex};
use super::{Error, ProgressDisplay, WriteStatus, units};

/// Writes one `SolveStatus` line per event.
pub struct RawJsonDisplay {
    inner: Mutex<RawJson>,
}

struct RawJson {
    out: Box<dyn Write + Send>,
    status: WriteStatus,
    state: BuildState,
}

#[derive(Serialize, Default)]
struct SolveStatus {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vertexes: Vec<JsonVertex>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    statuses: Vec<JsonStatus>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logs: Vec<JsonLog>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<JsonWarning>,
}

#[derive(Serialize)]
struct JsonVertex {
    digest: String,
    name: String,
    started: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct JsonStatus {
    id: String,
    vertex: String,
    name: String,
    current: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
    timestamp: String,
    started: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed: Option<String>,
}

#[derive(Serialize)]
struct JsonLog {
    vertex: String,
    stream: u8,
    data: String,
    timestamp: String,
}

#[derive(Serialize)]
struct JsonWarning {
    vertex: String,
    level: u8,
    short: String,
    timestamp: String,
}

/// The vertex's `digest` field: its definition digest, or a stable stand-in
/// for vertices outside the graph.
fn digest(vertex: &Vertex) -> String {
    vertex
        .info
        .digest
        .clone()
        .unwrap_or_else(|| format!("xb-vertex:{}", vertex.info.id.0))
}

fn json_vertex(vertex: &Vertex) -> JsonVertex {
    JsonVertex {
        digest: digest(vertex),
        name: vertex.info.name.clone(),
        started: units::rfc3339(vertex.info.started),
        completed: vertex.completed.map(units::rfc3339),
        cached: vertex.status == Status::Cached,
        error: match &vertex.status {
            Status::Failed(message) => Some(message.clone()),
            Status::Canceled => Some("canceled".to_owned()),
            _ => None,
        },
    }
}

impl RawJsonDisplay {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self {
            inner: Mutex::new(RawJson {
                out,
                status: WriteStatus::default(),
                state: BuildState::default(),
            }),
        }
    }

    /// Updates the state under the lock, then writes the line `update`
    /// returns, if any.
    fn with(&self, update: impl FnOnce(&mut BuildState) -> Option<SolveStatus>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let RawJson { out, status, state } = &mut *inner;
        if let Some(line) = update(state) {
            status.attempt(|| {
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")?;
                out.flush()
            });
        }
    }

    /// A line with the vertex `id` as it now stands.
    fn vertex_line(state: &BuildState, id: VertexId) -> Option<SolveStatus> {
        Some(SolveStatus {
            vertexes: vec![json_vertex(state.get(id)?)],
            ..SolveStatus::default()
        })
    }
}

impl Reporter for RawJsonDisplay {
    fn on_vertex_start(&self, vertex: &VertexInfo) {
        self.with(|state| {
            state.start(vertex);
            Self::vertex_line(state, vertex.id)
        });
    }

    fn on_vertex_cached(&self, id: VertexId, at: SystemTime) {
        self.with(|state| {
            state.cached(id, at)?;
            Self::vertex_line(state, id)
        });
    }

    fn on_vertex_log(&self, id: VertexId, stream: LogStream, bytes: &[u8], at: SystemTime) {
        self.with(|state| {
            let vertex = digest(state.get(id)?);
            Some(SolveStatus {
                logs: vec![JsonLog {
                    vertex,
                    stream: stream.fd(),
                    data: BASE64.encode(bytes),
                    timestamp: units::rfc3339(at),
                }],
                ..SolveStatus::default()
            })
        });
    }

    fn on_vertex_progress(&self, id: VertexId, item: &ProgressItem, at: SystemTime) {
        self.with(|state| {
            let transfer = state.progress(id, item, at)?.clone();
            let vertex = digest(state.get(id)?);
            Some(SolveStatus {
                statuses: vec![JsonStatus {
                    id: transfer.name.clone(),
                    vertex,
                    name: transfer.name,
                    current: transfer.current,
                    total: transfer.total,
                    timestamp: units::rfc3339(at),
                    started: units::rfc3339(transfer.started),
                    completed: transfer.completed.map(units::rfc3339),
                }],
                ..SolveStatus::default()
            })
        });
    }

    fn on_vertex_warning(&self, id: VertexId, message: &str, at: SystemTime) {
        self.with(|state| {
            let vertex = digest(state.warning(id, message)?);
            Some(SolveStatus {
                warnings: vec![JsonWarning {
                    vertex,
                    level: 1,
                    short: BASE64.encode(message),
                    timestamp: units::rfc3339(at),
                }],
                ..SolveStatus::default()
            })
        });
    }

    fn on_vertex_done(&self, id: VertexId, outcome: &VertexOutcome, at: SystemTime) {
        self.with(|state| {
            state.done(id, outcome, at)?;
            Self::vertex_line(state, id)
        });
    }

    fn on_build_done(&self, at: SystemTime) {
        self.with(|state| {
            state.build_done(at);
            None
        });
    }
}

impl ProgressDisplay for RawJsonDisplay {
    fn finish(&mut self) -> Result<(), Error> {
        let inner = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        let out = &mut inner.out;
        inner.status.attempt(|| out.flush());
        inner.status.take("rawjson")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::time::Duration;

    use serde_json::Value;

    use super::super::fixture::{self, SharedBuffer};
    use super::*;

    fn lines(buffer: &SharedBuffer) -> Vec<Value> {
        buffer
            .text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect()
    }

    fn instant(value: &Value) -> SystemTime {
        humantime::parse_rfc3339(value.as_str().expect("a string")).expect("RFC 3339")
    }

    /// The instant a line reports: a vertex's end (or start), or the
    /// timestamp of its status, log or warning.
    fn line_time(line: &Value) -> SystemTime {
        if let Some(vertex) = line["vertexes"].get(0) {
            return instant(vertex.get("completed").unwrap_or(&vertex["started"]));
        }
        ["statuses", "logs", "warnings"]
            .iter()
            .find_map(|key| line[key].get(0))
            .map(|item| instant(&item["timestamp"]))
            .expect("every line reports something")
    }

    #[test]
    fn rawjson_writes_solve_status_lines_with_growing_times() {
        let buffer = SharedBuffer::default();
        let mut display = RawJsonDisplay::new(Box::new(buffer.clone()));
        let events = fixture::sample_build();
        fixture::replay(&events, &display);
        display.finish().unwrap();
        let lines = lines(&buffer);
        // One line per event but the build's end, which BuildKit has no word for.
        assert_eq!(lines.len(), events.len() - 1);
        let times: Vec<_> = lines.iter().map(line_time).collect();
        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
        assert_eq!(times[0], fixture::at(0));
        insta::assert_snapshot!(buffer.text(), @r#"
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000001","name":"[internal] load build definition from Dockerfile","started":"2023-11-14T22:13:20.000000000Z"}]}
        {"statuses":[{"id":"transferring dockerfile","vertex":"sha256:0000000000000000000000000000000000000000000000000000000000000001","name":"transferring dockerfile","current":213,"timestamp":"2023-11-14T22:13:20.020000000Z","started":"2023-11-14T22:13:20.020000000Z"}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000001","name":"[internal] load build definition from Dockerfile","started":"2023-11-14T22:13:20.000000000Z","completed":"2023-11-14T22:13:20.040000000Z"}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000002","name":"[internal] load metadata for docker.io/library/busybox:latest","started":"2023-11-14T22:13:20.050000000Z"}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000002","name":"[internal] load metadata for docker.io/library/busybox:latest","started":"2023-11-14T22:13:20.050000000Z","completed":"2023-11-14T22:13:20.550000000Z"}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000003","name":"[base 1/2] FROM docker.io/library/busybox:latest","started":"2023-11-14T22:13:20.560000000Z"}]}
        {"statuses":[{"id":"sha256:ab12cd34ef56","vertex":"sha256:0000000000000000000000000000000000000000000000000000000000000003","name":"sha256:ab12cd34ef56","current":0,"total":3400000,"timestamp":"2023-11-14T22:13:20.570000000Z","started":"2023-11-14T22:13:20.570000000Z"}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000004","name":"[build 1/3] COPY go.mod /src/","started":"2023-11-14T22:13:20.580000000Z"}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000004","name":"[build 1/3] COPY go.mod /src/","started":"2023-11-14T22:13:20.580000000Z","completed":"2023-11-14T22:13:20.580000000Z","cached":true}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000005","name":"[build 2/3] COPY . /src","started":"2023-11-14T22:13:20.600000000Z"}]}
        {"logs":[{"vertex":"sha256:0000000000000000000000000000000000000000000000000000000000000005","stream":1,"data":"Y29weWluZyAxMiBmaWxlcwpoYWw=","timestamp":"2023-11-14T22:13:20.700000000Z"}]}
        {"warnings":[{"vertex":"sha256:0000000000000000000000000000000000000000000000000000000000000005","level":1,"short":"Y29udGV4dCBoYXMgMSBmaWxlIG92ZXIgMTAwTUI=","timestamp":"2023-11-14T22:13:20.710000000Z"}]}
        {"statuses":[{"id":"sha256:ab12cd34ef56","vertex":"sha256:0000000000000000000000000000000000000000000000000000000000000003","name":"sha256:ab12cd34ef56","current":1200000,"total":3400000,"timestamp":"2023-11-14T22:13:21.070000000Z","started":"2023-11-14T22:13:20.570000000Z"}]}
        {"statuses":[{"id":"sha256:ab12cd34ef56","vertex":"sha256:0000000000000000000000000000000000000000000000000000000000000003","name":"sha256:ab12cd34ef56","current":1300000,"total":3400000,"timestamp":"2023-11-14T22:13:21.170000000Z","started":"2023-11-14T22:13:20.570000000Z"}]}
        {"statuses":[{"id":"sha256:ab12cd34ef56","vertex":"sha256:0000000000000000000000000000000000000000000000000000000000000003","name":"sha256:ab12cd34ef56","current":3400000,"total":3400000,"timestamp":"2023-11-14T22:13:21.670000000Z","started":"2023-11-14T22:13:20.570000000Z","completed":"2023-11-14T22:13:21.670000000Z"}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000003","name":"[base 1/2] FROM docker.io/library/busybox:latest","started":"2023-11-14T22:13:20.560000000Z","completed":"2023-11-14T22:13:21.700000000Z"}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000006","name":"[base 2/2] COPY missing /x","started":"2023-11-14T22:13:21.710000000Z"}]}
        {"logs":[{"vertex":"sha256:0000000000000000000000000000000000000000000000000000000000000006","stream":2,"data":"c3RhdCBtaXNzaW5nOiBubyBzdWNoIGZpbGUgb3IgZGlyZWN0b3J5Cg==","timestamp":"2023-11-14T22:13:21.720000000Z"}]}
        {"logs":[{"vertex":"sha256:0000000000000000000000000000000000000000000000000000000000000005","stream":1,"data":"ZiBkb25lCg==","timestamp":"2023-11-14T22:13:21.730000000Z"}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000006","name":"[base 2/2] COPY missing /x","started":"2023-11-14T22:13:21.710000000Z","completed":"2023-11-14T22:13:21.740000000Z","error":"failed to compute cache key: \"/missing\": not found"}]}
        {"vertexes":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000005","name":"[build 2/3] COPY . /src","started":"2023-11-14T22:13:20.600000000Z","completed":"2023-11-14T22:13:21.750000000Z","error":"canceled"}]}
        "#);
    }

    #[test]
    fn rawjson_shows_vertices_that_overlapped() {
        let buffer = SharedBuffer::default();
        let display = RawJsonDisplay::new(Box::new(buffer.clone()));
        let both_started = Barrier::new(2);
        std::thread::scope(|scope| {
            for id in [1, 2] {
                let (display, both_started) = (&display, &both_started);
                scope.spawn(move || {
                    display.on_vertex_start(&VertexInfo {
                        id: VertexId(id),
                        digest: None,
                        name: format!("[stage-{id} 1/1] COPY {id} /"),
                        started: SystemTime::now(),
                    });
                    both_started.wait();
                    std::thread::sleep(Duration::from_millis(5));
                    display.on_vertex_done(
                        VertexId(id),
                        &VertexOutcome::Completed,
                        SystemTime::now(),
                    );
                });
            }
        });
        let spans: Vec<(SystemTime, SystemTime)> = lines(&buffer)
            .iter()
            .filter_map(|line| {
                let vertex = line["vertexes"].get(0)?;
                Some((
                    instant(&vertex["started"]),
                    instant(vertex.get("completed")?),
                ))
            })
            .collect();
        assert_eq!(spans.len(), 2);
        let (first, second) = (spans[0], spans[1]);
        assert!(first.0 < second.1 && second.0 < first.1, "{spans:?}");
    }
}
