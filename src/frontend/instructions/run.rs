//! `RUN [--mount=...] [--network=default|none|host] [--security=sandbox|insecure]
//! <command>`, shell or exec form, with heredoc scripts.

use serde::Serialize;

use super::flags::{FlagKind, Flags};
use super::located::Located;
use super::mount::{MountFlag, parse_mount};
use super::{CommandLine, heredoc_word};
use crate::frontend::ParseError;
use crate::frontend::parser::Heredoc;

/// `RUN --network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    #[default]
    Default,
    None,
    Host,
}

/// `RUN --security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    #[default]
    Sandbox,
    Insecure,
}

/// A typed RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub command: CommandLine,
    /// Heredoc bodies opened on the line (`RUN <<EOF`), raw.
    pub heredocs: Vec<Heredoc>,
    /// `--mount` values as written, in order.
    pub mounts: Vec<MountFlag>,
    pub network: Network,
    pub security: Security,
}

impl Run {
    /// When the command is exactly one heredoc (`RUN <<EOF`), that heredoc.
    pub fn script(&self) -> Option<&Heredoc> {
        let CommandLine::Shell(line) = &self.command else {
            return None;
        };
        let word = heredoc_word(line.trim())?;
        self.heredocs.iter().find(|doc| doc.name == word.name)
    }
}

pub(super) fn type_run(located: &Located<'_>) -> Result<Run, ParseError> {
    let node = located.node;
    let flags = Flags::parse(
        located,
        "RUN",
        &[
            ("mount", FlagKind::Strings),
            ("network", FlagKind::String),
            ("security", FlagKind::String),
        ],
    )?;
    let mounts: Vec<MountFlag> = flags
        .strings("mount")
        .into_iter()
        .enumerate()
        .map(|(nth, raw)| MountFlag { raw, nth })
        .collect();
    for mount in &mounts {
        parse_mount(&mount.raw, None).map_err(|error| {
            let located_error = located.flag_error("mount", mount.nth, error.message);
            match error.hint {
                Some(hint) => located_error.with_hint(hint),
                None => located_error,
            }
        })?;
    }
    let network = match flags.string("network").as_deref() {
        None | Some("default") => Network::Default,
        Some("none") => Network::None,
        Some("host") => Network::Host,
        Some(other) => {
            return Err(located
                .flag_error("network", 0, format!("invalid network mode {other:?}"))
                .with_hint("--network takes default, none or host"));
        }
    };
    let security = match flags.string("security").as_deref() {
        None | Some("sandbox") => Security::Sandbox,
        Some("insecure") => Security::Insecure,
        Some(other) => {
            return Err(located
                .flag_error("security", 0, format!("security {other:?} is not valid"))
                .with_hint("--security takes sandbox or insecure"));
        }
    };
    let command = CommandLine::from_node(node, &node.args);
    if !node.heredocs.is_empty() && !command.is_shell() {
        return Err(located.error(format!(
            "parsing produced an invalid run command: {:?}",
            node.args
        )));
    }
    Ok(Run {
        command,
        heredocs: node.heredocs.clone(),
        mounts,
        network,
        security,
    })
}
