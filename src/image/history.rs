//! History lines for a stage's steps, worded as BuildKit's Dockerfile
//! frontend words them (`RUN /bin/sh -c make # buildkit`, `ENV A=b`,
//! `CMD ["run"]`, `HEALTHCHECK {Test:[…] Interval:30s …}`), so
//! `docker history` shows an xb image as it shows a BuildKit one.
//! Whether a step really produced a layer is the solver's to confirm.

use std::fmt::Write as _;
use std::time::Duration;

use crate::frontend::instructions::{CommandLine, Healthcheck};
use crate::frontend::lower::plan::{Chmod, CopyStep, RunStep, Step, StepKind};

/// One new history entry, before times are filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub created_by: String,
    /// The step changed only metadata.
    pub empty_layer: bool,
}

impl HistoryEntry {
    fn metadata(created_by: String) -> Self {
        Self {
            created_by,
            empty_layer: true,
        }
    }

    fn layer(created_by: String) -> Self {
        Self {
            created_by,
            empty_layer: false,
        }
    }
}

/// The history entry BuildKit records for `step`; `None` for steps it
/// records nothing for (ONBUILD).
pub fn history_entry(step: &Step) -> Option<HistoryEntry> {
    Some(match &step.kind {
        StepKind::Run(run) => HistoryEntry::layer(format!("RUN {} # buildkit", run_command(run))),
        StepKind::Copy(copy) => HistoryEntry::layer(copy_line("COPY", copy)),
        StepKind::Add(copy) => HistoryEntry::layer(copy_line("ADD", copy)),
        StepKind::Workdir(dir) => HistoryEntry {
            created_by: format!("WORKDIR {dir}"),
            empty_layer: dir == "/",
        },
        StepKind::Env(pairs) => HistoryEntry::metadata(pairs_line("ENV", pairs)),
        StepKind::Label(pairs) => HistoryEntry::metadata(pairs_line("LABEL", pairs)),
        StepKind::User(user) => HistoryEntry::metadata(format!("USER {user}")),
        StepKind::Expose(ports) => HistoryEntry::metadata(format!("EXPOSE {}", go_list(ports))),
        StepKind::Volume(volumes) => HistoryEntry::metadata(format!("VOLUME {}", go_list(volumes))),
        StepKind::StopSignal(signal) => HistoryEntry::metadata(format!("STOPSIGNAL {signal}")),
        StepKind::Cmd(args) => HistoryEntry::metadata(format!("CMD {}", go_quoted_list(args))),
        StepKind::Entrypoint(args) => HistoryEntry::metadata(format!(
            "ENTRYPOINT {}",
            go_quoted_list(args.as_deref().unwrap_or_default())
        )),
        StepKind::Healthcheck(check) => {
            HistoryEntry::metadata(format!("HEALTHCHECK {}", healthcheck_line(check)))
        }
        StepKind::Shell(shell) => HistoryEntry::metadata(format!("SHELL {}", go_list(shell))),
        StepKind::Arg(args) => {
            let words: Vec<String> = args
                .iter()
                .map(|(name, value)| match value {
                    Some(value) => format!("{name}={value}"),
                    None => name.clone(),
                })
                .collect();
            HistoryEntry::metadata(format!("ARG {}", words.join(" ")))
        }
        StepKind::Maintainer(name) => HistoryEntry::metadata(format!("MAINTAINER {name}")),
        StepKind::Onbuild(_) => return None,
    })
}

/// BuildKit's `runCommandString`: `|N a=1 b=2 ` before the command when
/// build args are in scope, the shell form wrapped in the shell.
fn run_command(run: &RunStep) -> String {
    let mut words: Vec<String> = Vec::new();
    if !run.build_args.is_empty() {
        words.push(format!("|{}", run.build_args.len()));
        words.extend(
            run.build_args
                .iter()
                .map(|(name, value)| format!("{name}={value}")),
        );
    }
    match &run.command {
        CommandLine::Exec(args) => words.extend(args.iter().cloned()),
        CommandLine::Shell(line) => {
            match &run.shell {
                Some(shell) => words.extend(shell.iter().cloned()),
                None => words.extend(["/bin/sh".to_owned(), "-c".to_owned()]),
            }
            words.push(line.clone());
        }
    }
    words.join(" ")
}

fn copy_line(keyword: &str, copy: &CopyStep) -> String {
    let mut line = keyword.to_owned();
    if copy.parents {
        line.push_str(" --parents");
    }
    if let Some(chown) = &copy.chown {
        let _ = write!(line, " --chown={chown}");
    }
    match &copy.chmod {
        Some(Chmod::Octal(mode)) => {
            let _ = write!(line, " --chmod={mode:o}");
        }
        Some(Chmod::Symbolic(mode)) => {
            let _ = write!(line, " --chmod={mode}");
        }
        None => {}
    }
    for source in &copy.sources {
        let _ = write!(line, " {source}");
    }
    for inline in &copy.inline {
        let _ = write!(line, " <<{}", inline.name);
    }
    let _ = write!(line, " {} # buildkit", copy.dest);
    line
}

fn pairs_line(keyword: &str, pairs: &[(String, String)]) -> String {
    let mut line = keyword.to_owned();
    for (key, value) in pairs {
        let _ = write!(line, " {key}={value}");
    }
    line
}

/// Go's `%v` of a `[]string`: `[a b c]`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// Go's `%q` of a `[]string`: `["a" "b c"]`.
fn go_quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| go_quote(item)).collect();
    format!("[{}]", quoted.join(" "))
}

/// Go's `strconv.Quote` for the characters Dockerfiles hold.
fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%+v` of Docker's `HealthcheckConfig`.
fn healthcheck_line(check: &Healthcheck) -> String {
    let config = super::config::health_config(check);
    let duration = |nanos: u64| go_duration(Duration::from_nanos(nanos));
    format!(
        "{{Test:{} Interval:{} Timeout:{} StartPeriod:{} StartInterval:{} Retries:{}}}",
        go_list(&config.test),
        duration(config.interval),
        duration(config.timeout),
        duration(config.start_period),
        duration(config.start_interval),
        config.retries
    )
}

/// `value / scale` with the remainder as a decimal fraction, zeros trimmed.
fn with_fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let fraction = value % scale;
    if fraction == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `time.Duration.String`: `0s`, `500ms`, `1.5s`, `1m30s`, `1h0m0s`.
pub fn go_duration(duration: Duration) -> String {
    const SECOND: u128 = 1_000_000_000;
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < SECOND {
        let (unit, scale) = match nanos {
            0..1_000 => ("ns", 1),
            1_000..1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{}{unit}", with_fraction(nanos, scale));
    }
    let hours = nanos / (3600 * SECOND);
    let minutes = nanos / (60 * SECOND) % 60;
    let seconds = with_fraction(nanos % (60 * SECOND), SECOND);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_matches_go() {
        for (nanos, expected) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (500_000_000, "500ms"),
            (1_500_000_000, "1.5s"),
            (30_000_000_000, "30s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_000_000_000, "1h2m3s"),
        ] {
            assert_eq!(go_duration(Duration::from_nanos(nanos)), expected);
        }
    }

    fn lines(dockerfile: &str) -> Vec<(String, bool)> {
        let platform: crate::graph::Platform = "linux/amd64".parse().unwrap();
        let options = crate::frontend::lower::LowerOptions {
            target: None,
            build_args: vec![("V".to_owned(), "2".to_owned())],
            target_platform: platform.clone(),
            build_platform: platform,
        };
        let source = crate::frontend::Source::new("Dockerfile", dockerfile);
        let plan = crate::frontend::lower::lower(&source, &options).unwrap();
        plan.target_stage()
            .steps
            .iter()
            .filter_map(history_entry)
            .map(|entry| (entry.created_by, entry.empty_layer))
            .collect()
    }

    #[test]
    fn history_lines_read_as_buildkit_writes_them() {
        let found = lines(
            "FROM scratch\nARG V=1 W\nRUN make all\nRUN [\"ls\", \"-l\"]\nCOPY --chown=1:2 --chmod=755 a b /dst/\n\
             ENV A=1 B=\"x y\"\nLABEL k=v\nEXPOSE 80\nVOLUME /data\nSHELL [\"/bin/ash\", \"-c\"]\n\
             HEALTHCHECK --interval=30s CMD true\nWORKDIR /srv\nUSER app\nSTOPSIGNAL SIGINT\n\
             CMD [\"a \\\"b\\\"\"]\nENTRYPOINT []\nONBUILD RUN x\n",
        );
        let expected = [
            ("ARG V=2 W", true),
            ("RUN |2 V=2 W= /bin/sh -c make all # buildkit", false),
            ("RUN |2 V=2 W= ls -l # buildkit", false),
            ("COPY --chown=1:2 --chmod=755 a b /dst/ # buildkit", false),
            ("ENV A=1 B=x y", true),
            ("LABEL k=v", true),
            ("EXPOSE [80/tcp]", true),
            ("VOLUME [/data]", true),
            ("SHELL [/bin/ash -c]", true),
            (
                "HEALTHCHECK {Test:[CMD-SHELL true] Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}",
                true,
            ),
            ("WORKDIR /srv", false),
            ("USER app", true),
            ("STOPSIGNAL SIGINT", true),
            ("CMD [\"a \\\"b\\\"\"]", true),
            ("ENTRYPOINT []", true),
        ];
        let expected: Vec<(String, bool)> = expected
            .iter()
            .map(|(line, empty)| ((*line).to_owned(), *empty))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn go_quote_escapes_like_strconv() {
        assert_eq!(go_quote("a \"b\"\\\n"), r#""a \"b\"\\\n""#);
        assert_eq!(go_quote("\u{1}é"), "\"\\x01é\"");
    }
}
