//! `HEALTHCHECK NONE` and `HEALTHCHECK [--interval --timeout --start-period
//! --start-interval --retries] CMD <command>`, with durations in Go's syntax
//! (`30s`, `1m30s`, `500ms`) and BuildKit's checks on them.

use std::time::Duration;

use serde::Serialize;

use super::CommandLine;
use super::flags::{FlagKind, Flags};
use super::located::Located;
use crate::frontend::ParseError;

/// A typed HEALTHCHECK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any inherited check.
    None,
    Check(HealthcheckCheck),
}

/// `HEALTHCHECK CMD ...` with its timings; zero durations mean "inherit".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthcheckCheck {
    /// Shell form becomes `CMD-SHELL` in the image config; exec form `CMD`.
    pub command: CommandLine,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    pub retries: u32,
}

impl HealthcheckCheck {
    /// The `Test` array of the image config: `["CMD-SHELL", "..."]` or `["CMD", ...]`.
    pub fn test(&self) -> Vec<String> {
        match &self.command {
            CommandLine::Shell(line) => vec!["CMD-SHELL".to_owned(), line.clone()],
            CommandLine::Exec(args) => std::iter::once("CMD".to_owned())
                .chain(args.iter().cloned())
                .collect(),
        }
    }
}

pub(super) fn type_healthcheck(located: &Located<'_>) -> Result<Healthcheck, ParseError> {
    let node = located.node;
    let Some((kind, rest)) = node.args.split_first() else {
        return Err(located.error("HEALTHCHECK requires at least one argument"));
    };
    let kind_upper = kind.to_uppercase();
    if kind_upper == "NONE" {
        if !rest.is_empty() {
            return Err(located.error_at(&rest[0], "HEALTHCHECK NONE takes no arguments"));
        }
        return Ok(Healthcheck::None);
    }
    let flags = Flags::parse(
        located,
        "HEALTHCHECK",
        &[
            ("interval", FlagKind::String),
            ("timeout", FlagKind::String),
            ("start-period", FlagKind::String),
            ("start-interval", FlagKind::String),
            ("retries", FlagKind::String),
        ],
    )?;
    if kind_upper != "CMD" {
        return Err(located
            .error_at(
                kind,
                format!("Unknown type {kind_upper:?} in HEALTHCHECK (try CMD)"),
            )
            .with_hint("write HEALTHCHECK CMD <command> or HEALTHCHECK NONE"));
    }
    let command = if node.json {
        CommandLine::Exec(rest.to_vec())
    } else {
        CommandLine::Shell(rest.join(" "))
    };
    let empty = match &command {
        CommandLine::Exec(args) => args.is_empty(),
        CommandLine::Shell(line) => rest.is_empty() && line.is_empty(),
    };
    if empty {
        return Err(located.error_at(kind, "Missing command after HEALTHCHECK CMD"));
    }
    let interval = |name: &str| -> Result<Duration, ParseError> {
        let Some(value) = flags.string(name) else {
            return Ok(Duration::ZERO);
        };
        let duration = parse_go_duration(&value).ok_or_else(|| {
            located
                .flag_error(name, 0, format!("time: invalid duration {value:?}"))
                .with_hint(format!(
                    "--{name} takes a duration such as 30s, 1m30s or 500ms"
                ))
        })?;
        if !duration.is_zero() && duration < Duration::from_millis(1) {
            return Err(located.flag_error(
                name,
                0,
                format!("Interval {name:?} cannot be less than 1ms"),
            ));
        }
        Ok(duration)
    };
    let retries = match flags.string("retries") {
        None => 0,
        Some(value) => match value.parse::<i32>() {
            Ok(retries) if retries < 0 => {
                return Err(located.flag_error(
                    "retries",
                    0,
                    format!("--retries cannot be negative ({retries})"),
                ));
            }
            Ok(retries) => retries.unsigned_abs(),
            Err(_) => {
                return Err(located.flag_error(
                    "retries",
                    0,
                    format!("strconv.ParseInt: parsing {value:?}: invalid syntax"),
                ));
            }
        },
    };
    Ok(Healthcheck::Check(HealthcheckCheck {
        command,
        interval: interval("interval")?,
        timeout: interval("timeout")?,
        start_period: interval("start-period")?,
        start_interval: interval("start-interval")?,
        retries,
    }))
}

/// A duration in Go's `time.ParseDuration` syntax. Negative durations are
/// refused (they would be below the 1ms minimum anyway).
pub(super) fn parse_go_duration(text: &str) -> Option<Duration> {
    let text = text.strip_prefix('+').unwrap_or(text);
    if text == "0" {
        return Some(Duration::ZERO);
    }
    if text.is_empty() || text.starts_with('-') {
        return None;
    }
    let mut rest = text;
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * nanos;
        rest = after;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative count of nanoseconds, truncated as Go does"
    )]
    Some(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "5", "5x", "s", "-1s", "1..5s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }
}
