//! `RUN [--mount=...] [--network=default|none|host] [--security=sandbox|insecure]
//! [--device=<name>[,required]] <command>`, shell or exec form, with heredoc
//! scripts.

use serde::Serialize;

use super::flags::{FlagKind, Flags};
use super::located::Located;
use super::mount::{MountError, MountFlag, parse_mount, split_csv};
use super::suggest;
use super::{CommandLine, heredoc_word};
use crate::frontend::ParseError;
use crate::frontend::lint::linter::parse_bool;
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

/// `RUN --device=<name>[,required=<bool>]`: a CDI device for the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub name: String,
    pub required: bool,
}

/// Parses a `--device` value (BuildKit `ParseDevice`).
pub fn parse_device(value: &str) -> Result<Device, MountError> {
    let mut device = Device {
        name: String::new(),
        required: false,
    };
    for field in split_csv(value)? {
        let (key, value) = match field.split_once('=') {
            Some((key, value)) => (key.to_lowercase(), Some(value)),
            None => (field.to_lowercase(), None),
        };
        match (key.as_str(), value) {
            ("required", None) => device.required = true,
            ("required", Some(value)) => {
                device.required = parse_bool(value).ok_or_else(|| MountError {
                    message: format!("invalid value for {key}: {value}"),
                    hint: None,
                })?;
            }
            ("name", Some(value)) if device.name.is_empty() => value.clone_into(&mut device.name),
            ("name", Some(_)) => {
                return Err(MountError {
                    message: format!("device name already set to {}", device.name),
                    hint: None,
                });
            }
            _ if device.name.is_empty() => device.name.clone_from(&field),
            (_, None) => {
                return Err(MountError {
                    message: format!("invalid field '{field}' must be a key=value pair"),
                    hint: None,
                });
            }
            (_, Some(_)) => {
                return Err(MountError {
                    message: format!("unexpected key '{key}' in '{field}'"),
                    hint: suggest::closest(&key, ["name", "required"], true)
                        .map(|closest| format!("did you mean {closest}?")),
                });
            }
        }
    }
    Ok(device)
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
    /// `--device` requests.
    pub devices: Vec<Device>,
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
            ("device", FlagKind::Strings),
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
    let devices = flags
        .strings("device")
        .iter()
        .enumerate()
        .map(|(nth, value)| {
            parse_device(value).map_err(|error| {
                let located_error = located.flag_error("device", nth, error.message);
                match error.hint {
                    Some(hint) => located_error.with_hint(hint),
                    None => located_error,
                }
            })
        })
        .collect::<Result<_, _>>()?;
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
        devices,
    })
}
