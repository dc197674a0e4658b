//! Image history entries for each instruction, worded as BuildKit writes
//! them (`RUN /bin/sh -c make # buildkit`, `ENV A=b`, `COPY . /src # buildkit`).

use serde::Serialize;

use crate::frontend::instructions::CommandLine;
use crate::frontend::lower::{Step, StepKind};

/// One entry of the image config's `history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub created_by: String,
    /// True when the instruction adds no layer.
    pub empty_layer: bool,
}

pub(super) fn entry(step: &Step) -> HistoryEntry {
    let makes_layer = matches!(
        step.kind,
        StepKind::Copy(_) | StepKind::Add(_) | StepKind::Run(_) | StepKind::Workdir(_)
    );
    let created_by = match &step.kind {
        StepKind::Run(run) => {
            let command = match &run.command {
                CommandLine::Shell(text) => {
                    let shell = run
                        .shell
                        .clone()
                        .unwrap_or_else(|| vec!["/bin/sh".to_owned(), "-c".to_owned()]);
                    format!("{} {text}", shell.join(" "))
                }
                CommandLine::Exec(args) => args.join(" "),
            };
            let args = if run.build_args.is_empty() {
                String::new()
            } else {
                let pairs: Vec<String> = run
                    .build_args
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!("|{} {} ", pairs.len(), pairs.join(" "))
            };
            format!("RUN {args}{command} # buildkit")
        }
        StepKind::Env(pairs) => format!("ENV {}", join_pairs(pairs)),
        StepKind::Label(pairs) => format!("LABEL {}", join_pairs(pairs)),
        _ if makes_layer => format!("{} # buildkit", step.original.trim()),
        _ => step.original.trim().to_owned(),
    };
    HistoryEntry {
        created_by,
        empty_layer: !makes_layer,
    }
}

fn join_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}
