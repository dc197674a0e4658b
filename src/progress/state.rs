//! What the displays remember about a build: every vertex in start order
//! with its status, transfers, warnings and the tail of its output. The
//! displays feed events in and read this back; how it looks on screen is
//! theirs. Only a bounded tail of each vertex's log is kept.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::time::SystemTime;

use crate::solver::event::{LogStream, ProgressItem, VertexId, VertexInfo, VertexOutcome};

use super::units;

/// Lines of output kept per vertex: what an error block shows.
pub(super) const LOG_TAIL: usize = 10;

/// Where a vertex stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Status {
    Running,
    Cached,
    Done,
    Failed(String),
    Canceled,
}

/// One whole line of a vertex's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LogLine {
    /// When its first byte arrived.
    pub(super) at: SystemTime,
    pub(super) text: String,
}

/// One progress item of a vertex, as last reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Transfer {
    pub(super) name: String,
    pub(super) current: u64,
    pub(super) total: Option<u64>,
    /// When it was first reported.
    pub(super) started: SystemTime,
    pub(super) completed: Option<SystemTime>,
}

/// A line still waiting for its newline.
#[derive(Debug, Default)]
struct Partial {
    bytes: Vec<u8>,
    at: Option<SystemTime>,
}

/// One vertex as the displays know it.
#[derive(Debug)]
pub(super) struct Vertex {
    pub(super) info: VertexInfo,
    /// 1-based, in start order: the `#3` of plain output.
    pub(super) number: usize,
    pub(super) status: Status,
    pub(super) completed: Option<SystemTime>,
    /// The last [`LOG_TAIL`] whole lines.
    pub(super) logs: VecDeque<LogLine>,
    pub(super) transfers: Vec<Transfer>,
    pub(super) warnings: Vec<String>,
    partial: [Partial; 2],
}

impl Vertex {
    pub(super) fn is_running(&self) -> bool {
        self.status == Status::Running
    }

    /// When the vertex ended, or `now` while it runs.
    pub(super) fn end(&self, now: SystemTime) -> SystemTime {
        self.completed.unwrap_or(now)
    }

    fn keep(&mut self, line: LogLine) {
        if self.logs.len() == LOG_TAIL {
            self.logs.pop_front();
        }
        self.logs.push_back(line);
    }

    /// Ends the vertex: flushes unfinished lines and closes open transfers.
    fn complete(&mut self, status: Status, at: SystemTime) -> Vec<LogLine> {
        let mut flushed = Vec::new();
        for index in 0..self.partial.len() {
            let partial = std::mem::take(&mut self.partial[index]);
            if let Some(started) = partial.at {
                flushed.push(LogLine {
                    at: started,
                    text: line_text(&partial.bytes),
                });
            }
        }
        flushed.sort_by_key(|line| line.at);
        for line in &flushed {
            self.keep(line.clone());
        }
        for transfer in &mut self.transfers {
            transfer.completed.get_or_insert(at);
        }
        self.status = status;
        self.completed = Some(at);
        flushed
    }
}

/// Every vertex of one build, in start order.
#[derive(Debug, Default)]
pub(super) struct BuildState {
    vertices: Vec<Vertex>,
    by_id: HashMap<VertexId, usize>,
    /// When the first vertex started.
    pub(super) started: Option<SystemTime>,
    /// When the solver said the build ended.
    pub(super) finished: Option<SystemTime>,
}

impl BuildState {
    pub(super) fn vertices(&self) -> &[Vertex] {
        &self.vertices
    }

    pub(super) fn get(&self, id: VertexId) -> Option<&Vertex> {
        self.by_id.get(&id).map(|&index| &self.vertices[index])
    }

    fn get_mut(&mut self, id: VertexId) -> Option<&mut Vertex> {
        self.by_id.get(&id).map(|&index| &mut self.vertices[index])
    }

    /// Vertices that ended, and vertices seen at all.
    pub(super) fn counts(&self) -> (usize, usize) {
        let ended = self.vertices.iter().filter(|v| !v.is_running()).count();
        (ended, self.vertices.len())
    }

    /// Records a start; a second start of the same id only renames it.
    pub(super) fn start(&mut self, info: &VertexInfo) -> &Vertex {
        let started = self.started.get_or_insert(info.started);
        *started = (*started).min(info.started);
        if let Some(&index) = self.by_id.get(&info.id) {
            self.vertices[index].info.name.clone_from(&info.name);
            return &self.vertices[index];
        }
        let index = self.vertices.len();
        self.by_id.insert(info.id, index);
        self.vertices.push(Vertex {
            info: info.clone(),
            number: index + 1,
            status: Status::Running,
            completed: None,
            logs: VecDeque::new(),
            transfers: Vec::new(),
            warnings: Vec::new(),
            partial: [Partial::default(), Partial::default()],
        });
        &self.vertices[index]
    }

    /// Records a cache hit; `None` for an unknown vertex.
    pub(super) fn cached(&mut self, id: VertexId, at: SystemTime) -> Option<Vec<LogLine>> {
        Some(self.get_mut(id)?.complete(Status::Cached, at))
    }

    /// Records an ending and returns the lines it flushed; `None` for an
    /// unknown vertex.
    pub(super) fn done(
        &mut self,
        id: VertexId,
        outcome: &VertexOutcome,
        at: SystemTime,
    ) -> Option<Vec<LogLine>> {
        let status = match outcome {
            VertexOutcome::Completed => Status::Done,
            VertexOutcome::Failed { message } => Status::Failed(message.clone()),
            VertexOutcome::Canceled => Status::Canceled,
        };
        Some(self.get_mut(id)?.complete(status, at))
    }

    /// Adds output and returns the lines it completed.
    pub(super) fn log(
        &mut self,
        id: VertexId,
        stream: LogStream,
        bytes: &[u8],
        at: SystemTime,
    ) -> Vec<LogLine> {
        let Some(vertex) = self.get_mut(id) else {
            return Vec::new();
        };
        let slot = match stream {
            LogStream::Stdout => 0,
            LogStream::Stderr => 1,
        };
        let mut lines = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let partial = &mut vertex.partial[slot];
            let started = *partial.at.get_or_insert(at);
            if let Some(end) = rest.iter().position(|&byte| byte == b'\n') {
                partial.bytes.extend_from_slice(&rest[..end]);
                let text = line_text(&partial.bytes);
                *partial = Partial::default();
                lines.push(LogLine { at: started, text });
                rest = &rest[end + 1..];
            } else {
                partial.bytes.extend_from_slice(rest);
                rest = &[];
            }
        }
        for line in &lines {
            vertex.keep(line.clone());
        }
        lines
    }

    /// Updates a transfer and returns it as it now stands.
    pub(super) fn progress(
        &mut self,
        id: VertexId,
        item: &ProgressItem,
        at: SystemTime,
    ) -> Option<&Transfer> {
        let vertex = self.get_mut(id)?;
        let existing = vertex.transfers.iter().position(|t| t.name == item.name);
        let index = existing.unwrap_or_else(|| {
            vertex.transfers.push(Transfer {
                name: item.name.clone(),
                current: 0,
                total: None,
                started: at,
                completed: None,
            });
            vertex.transfers.len() - 1
        });
        let transfer = &mut vertex.transfers[index];
        transfer.current = item.current;
        transfer.total = item.total;
        if item.is_complete() {
            transfer.completed.get_or_insert(at);
        }
        Some(transfer)
    }

    pub(super) fn warning(&mut self, id: VertexId, message: &str) -> Option<&Vertex> {
        let vertex = self.get_mut(id)?;
        vertex.warnings.push(message.to_owned());
        Some(vertex)
    }

    pub(super) fn build_done(&mut self, at: SystemTime) {
        self.finished = Some(at);
    }

    /// Writes, for each failed vertex, the block buildx prints under a
    /// build: its name and the last lines of its output between rules.
    pub(super) fn write_error_blocks(&self, out: &mut dyn Write) -> io::Result<()> {
        for vertex in &self.vertices {
            if !matches!(vertex.status, Status::Failed(_)) {
                continue;
            }
            writeln!(out, "------")?;
            writeln!(out, " > {}:", vertex.info.name)?;
            for line in &vertex.logs {
                let offset = units::log_offset(units::between(vertex.info.started, line.at));
                writeln!(out, "{offset} {}", line.text)?;
            }
            writeln!(out, "------")?;
        }
        Ok(())
    }
}

/// A line as shown: lossy UTF-8, without `\r\n`, and only what follows the
/// last carriage return (a progress bar's last state).
fn line_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    let text = text.rsplit('\r').next().unwrap_or(text);
    text.to_owned()
}

/// Transfer text without its timer: `sha256:ab12 1.2MB / 3.4MB`, or only the
/// bytes done when the total is unknown.
pub(super) fn transfer_text(transfer: &Transfer) -> String {
    match transfer.total {
        Some(total) => format!(
            "{} {} / {}",
            transfer.name,
            units::human_size(transfer.current),
            units::human_size(total)
        ),
        None if transfer.current == 0 => transfer.name.clone(),
        None => format!("{} {}", transfer.name, units::human_size(transfer.current)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(millis: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(millis)
    }

    fn started(state: &mut BuildState, id: u64) {
        state.start(&VertexInfo {
            id: VertexId(id),
            digest: None,
            name: format!("step {id}"),
            started: at(0),
        });
    }

    #[test]
    fn log_joins_chunks_into_lines_per_stream() {
        let mut state = BuildState::default();
        started(&mut state, 1);
        let id = VertexId(1);
        assert!(state.log(id, LogStream::Stdout, b"hal", at(1)).is_empty());
        assert!(state.log(id, LogStream::Stderr, b"err", at(2)).is_empty());
        let lines = state.log(
            id,
            LogStream::Stdout,
            b"f\nnext\r\nbar 10%\rbar 100%\n",
            at(3),
        );
        let texts: Vec<_> = lines.iter().map(|line| line.text.as_str()).collect();
        assert_eq!(texts, ["half", "next", "bar 100%"]);
        assert_eq!(lines[0].at, at(1));
        let flushed = state.done(id, &VertexOutcome::Completed, at(4)).unwrap();
        assert_eq!(flushed[0].text, "err");
        assert_eq!(state.get(id).unwrap().logs.len(), 4);
    }

    #[test]
    fn log_keeps_a_bounded_tail() {
        let mut state = BuildState::default();
        started(&mut state, 1);
        for line in 0..100 {
            state.log(
                VertexId(1),
                LogStream::Stdout,
                format!("{line}\n").as_bytes(),
                at(1),
            );
        }
        let logs = &state.get(VertexId(1)).unwrap().logs;
        assert_eq!(logs.len(), LOG_TAIL);
        assert_eq!(logs.back().unwrap().text, "99");
    }

    #[test]
    fn done_closes_transfers_and_counts() {
        let mut state = BuildState::default();
        started(&mut state, 1);
        started(&mut state, 2);
        let item = ProgressItem {
            name: "extracting".to_owned(),
            current: 5,
            total: None,
        };
        state.progress(VertexId(1), &item, at(1));
        assert_eq!(state.counts(), (0, 2));
        state.done(VertexId(1), &VertexOutcome::Completed, at(9));
        assert_eq!(state.counts(), (1, 2));
        let transfer = &state.get(VertexId(1)).unwrap().transfers[0];
        assert_eq!(transfer.completed, Some(at(9)));
        assert!(state.cached(VertexId(7), at(9)).is_none());
    }
}
