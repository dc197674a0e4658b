//! `--progress=quiet`: nothing while the build runs and nothing when it
//! succeeds. When a step fails, [`ProgressDisplay::finish`] prints the block
//! buildx prints for it (its name and last lines of output), because the
//! error `commands` prints alone would not show what the step wrote.

use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use crate::solver::event::{
    LogStream, ProgressItem, Reporter, VertexId, VertexInfo, VertexOutcome,
};

use super::state::BuildState;
use super::{Error, ProgressDisplay, WriteStatus};

/// Keeps the tail of each step's output, to show it only if the step fails.
pub struct QuietDisplay {
    out: Mutex<Box<dyn Write + Send>>,
    status: WriteStatus,
    state: Mutex<BuildState>,
    finished: bool,
}

impl QuietDisplay {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self {
            out: Mutex::new(out),
            status: WriteStatus::default(),
            state: Mutex::new(BuildState::default()),
            finished: false,
        }
    }

    fn with(&self, update: impl FnOnce(&mut BuildState)) {
        update(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

impl Reporter for QuietDisplay {
    fn on_vertex_start(&self, vertex: &VertexInfo) {
        self.with(|state| {
            state.start(vertex);
        });
    }

    fn on_vertex_cached(&self, id: VertexId, at: SystemTime) {
        self.with(|state| {
            state.cached(id, at);
        });
    }

    fn on_vertex_log(&self, id: VertexId, stream: LogStream, bytes: &[u8], at: SystemTime) {
        self.with(|state| {
            state.log(id, stream, bytes, at);
        });
    }

    fn on_vertex_progress(&self, _id: VertexId, _item: &ProgressItem, _at: SystemTime) {}

    fn on_vertex_warning(&self, _id: VertexId, _message: &str, _at: SystemTime) {}

    fn on_vertex_done(&self, id: VertexId, outcome: &VertexOutcome, at: SystemTime) {
        self.with(|state| {
            state.done(id, outcome, at);
        });
    }

    fn on_build_done(&self, at: SystemTime) {
        self.with(|state| state.build_done(at));
    }
}

impl ProgressDisplay for QuietDisplay {
    fn finish(&mut self) -> Result<(), Error> {
        if std::mem::replace(&mut self.finished, true) {
            return Ok(());
        }
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let out = self.out.get_mut().unwrap_or_else(PoisonError::into_inner);
        self.status.attempt(|| {
            state.write_error_blocks(out)?;
            out.flush()
        });
        self.status.take("quiet")
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, SharedBuffer};
    use super::*;
    use crate::solver::event::Event;

    #[test]
    fn quiet_prints_nothing_when_the_build_succeeds() {
        let buffer = SharedBuffer::default();
        let mut display = QuietDisplay::new(Box::new(buffer.clone()));
        let events: Vec<_> = fixture::sample_build()
            .into_iter()
            .map(|event| match event {
                Event::VertexDone { id, at, .. } => Event::VertexDone {
                    id,
                    outcome: VertexOutcome::Completed,
                    at,
                },
                event => event,
            })
            .collect();
        fixture::replay(&events, &display);
        display.finish().unwrap();
        assert_eq!(buffer.text(), "");
    }

    #[test]
    fn quiet_shows_the_output_of_a_failed_step() {
        let buffer = SharedBuffer::default();
        let mut display = QuietDisplay::new(Box::new(buffer.clone()));
        fixture::replay(&fixture::sample_build(), &display);
        display.finish().unwrap();
        insta::assert_snapshot!(buffer.text(), @"
        ------
         > [base 2/2] COPY missing /x:
        0.010 stat missing: no such file or directory
        ------
        ");
    }
}
