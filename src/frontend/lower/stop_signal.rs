//! `STOPSIGNAL`: expanded and checked to be a signal number or a Linux
//! signal name (`SIGTERM`, `TERM`, `SIGRTMIN+3`).

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::ParseError;
use crate::frontend::instructions::{Command, StopSignal};

const SIGNALS: [&str; 33] = [
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL",
    "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
    "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU",
];

/// Whether Docker's `signal.ParseSignal` accepts `text` on Linux.
pub(super) fn is_signal(text: &str) -> bool {
    if let Ok(number) = text.parse::<u32>() {
        return number > 0 && number <= 64;
    }
    let name = text.to_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    if SIGNALS.contains(&name) || name == "XFSZ" || name == "RTMIN" || name == "RTMAX" {
        return true;
    }
    let offset = |prefix: &str, sign: char| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix(sign))
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| (1..=15).contains(&n))
    };
    offset("RTMIN", '+') || offset("RTMAX", '-')
}

impl StageLowering<'_, '_> {
    pub(super) fn lower_stop_signal(
        &mut self,
        command: &Command,
        signal: &StopSignal,
    ) -> Result<StepKind, ParseError> {
        let value = self.expand(command, &signal.signal)?;
        if !is_signal(&value) {
            return Err(self
                .located(command)
                .error_at(&signal.signal, format!("Invalid signal: {value}"))
                .with_hint("use a signal name such as SIGTERM or a number such as 15"));
        }
        self.state.config.stop_signal = Some(value.clone());
        Ok(StepKind::StopSignal(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        for good in [
            "SIGTERM",
            "term",
            "9",
            "SIGRTMIN+3",
            "SIGRTMAX-1",
            "SIGXFSZ",
        ] {
            assert!(is_signal(good), "{good}");
        }
        for bad in ["SIGBOGUS", "0", "99", "", "RTMIN+20"] {
            assert!(!is_signal(bad), "{bad}");
        }
    }
}
