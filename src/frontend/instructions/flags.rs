//! Leading `--flags` of an instruction, checked against what that instruction
//! takes (BuildKit `BFlags`): booleans (`--link`, `--link=true|false`),
//! strings (`--from=x`) and repeatable strings (`--mount=...`). Everything
//! after a bare `--` is left alone.

use std::collections::BTreeMap;

use super::located::Located;
use super::suggest;
use crate::frontend::ParseError;

/// How a flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FlagKind {
    Bool,
    String,
    Strings,
}

/// Which instructions take which flags, for "did you mean" and
/// "that flag belongs to" hints.
const FLAGS_BY_INSTRUCTION: &[(&str, &[&str])] = &[
    (
        "ADD",
        &[
            "chown",
            "chmod",
            "link",
            "keep-git-dir",
            "checksum",
            "unpack",
            "exclude",
        ],
    ),
    (
        "COPY",
        &["chown", "from", "chmod", "link", "exclude", "parents"],
    ),
    ("FROM", &["platform"]),
    ("RUN", &["mount", "network", "security", "device"]),
    (
        "HEALTHCHECK",
        &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
    ),
];

/// A flag's value after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Bool(bool),
    String(String),
    Strings(Vec<String>),
}

/// The flags an instruction was given, by name.
#[derive(Debug, Default)]
pub(super) struct Flags {
    values: BTreeMap<&'static str, Value>,
}

impl Flags {
    /// Parses `located.node.flags` against `spec` for `instruction`.
    pub(super) fn parse(
        located: &Located<'_>,
        instruction: &str,
        spec: &[(&'static str, FlagKind)],
    ) -> Result<Self, ParseError> {
        let mut flags = Flags::default();
        let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
        for raw in &located.node.flags {
            if raw == "--" {
                break;
            }
            let Some(body) = raw.strip_prefix("--") else {
                return Err(located.error_at(raw, format!("arg should start with -- : {raw}")));
            };
            let (name, value) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            let Some(&(key, kind)) = spec.iter().find(|(key, _)| *key == name) else {
                return Err(unknown_flag(located, instruction, spec, name));
            };
            let nth = uses.entry(key).or_default();
            let at = *nth;
            *nth += 1;
            if at > 0 && kind != FlagKind::Strings {
                return Err(located.flag_error(
                    name,
                    at,
                    format!("duplicate flag specified: --{name}"),
                ));
            }
            let missing =
                || located.flag_error(name, at, format!("missing a value on flag: --{name}"));
            match kind {
                FlagKind::Bool => {
                    let parsed = match value {
                        None => true,
                        Some("") => return Err(missing()),
                        Some(v) if v.eq_ignore_ascii_case("true") => true,
                        Some(v) if v.eq_ignore_ascii_case("false") => false,
                        Some(v) => {
                            return Err(located.flag_error(
                                name,
                                at,
                                format!("expecting boolean value for flag --{name}, not: {v}"),
                            ));
                        }
                    };
                    flags.values.insert(key, Value::Bool(parsed));
                }
                FlagKind::String => {
                    let value = value.ok_or_else(missing)?;
                    flags.values.insert(key, Value::String(value.to_owned()));
                }
                FlagKind::Strings => {
                    let value = value.ok_or_else(missing)?;
                    // A name has one kind, so its entry only ever holds Strings.
                    let entry = flags
                        .values
                        .entry(key)
                        .or_insert_with(|| Value::Strings(Vec::new()));
                    if let Value::Strings(values) = entry {
                        values.push(value.to_owned());
                    }
                }
            }
        }
        Ok(flags)
    }

    /// A boolean flag: `None` when not given.
    pub(super) fn bool(&self, name: &str) -> Option<bool> {
        match self.values.get(name) {
            Some(Value::Bool(value)) => Some(*value),
            _ => None,
        }
    }

    pub(super) fn string(&self, name: &str) -> Option<String> {
        match self.values.get(name) {
            Some(Value::String(value)) => Some(value.clone()),
            _ => None,
        }
    }

    pub(super) fn strings(&self, name: &str) -> Vec<String> {
        match self.values.get(name) {
            Some(Value::Strings(values)) => values.clone(),
            _ => Vec::new(),
        }
    }
}

fn unknown_flag(
    located: &Located<'_>,
    instruction: &str,
    spec: &[(&'static str, FlagKind)],
    name: &str,
) -> ParseError {
    let error = located.flag_error(name, 0, format!("unknown flag: --{name}"));
    let owners: Vec<&str> = FLAGS_BY_INSTRUCTION
        .iter()
        .filter(|(_, flags)| flags.contains(&name))
        .map(|(owner, _)| *owner)
        .collect();
    if !owners.is_empty() {
        return error.with_hint(format!(
            "--{name} is a flag of {}, not of {instruction}",
            owners.join(" and ")
        ));
    }
    match suggest::closest(name, spec.iter().map(|(key, _)| *key), true) {
        Some(closest) => error.with_hint(format!("did you mean --{closest}?")),
        None if spec.is_empty() => error.with_hint(format!("{instruction} takes no flags")),
        None => {
            let known: Vec<String> = spec.iter().map(|(key, _)| format!("--{key}")).collect();
            error.with_hint(format!("{instruction} takes {}", known.join(", ")))
        }
    }
}
