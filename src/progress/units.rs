//! How the displays write sizes, durations and instants, matching buildx
//! (`1.23MB`, `0.5s`) so people and scripts read xb's output as they read
//! buildx's. Terminal control lives in `tty`.

use std::time::{Duration, SystemTime};

/// The time from `from` to `to`; zero when the clock went backwards.
pub(super) fn between(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// Seconds with one decimal, as step timers read: `0.5s`, `12.0s`.
pub(super) fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

/// Seconds with three decimals, as log lines are stamped: `0.234`.
pub(super) fn log_offset(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

/// Decimal units with four significant digits, as Go's `units.HumanSize`
/// (which buildx uses): `0B`, `123B`, `1.2MB`, `26.21MB`.
pub(super) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    #[expect(
        clippy::cast_precision_loss,
        reason = "four significant digits are shown"
    )]
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit + 1 < UNITS.len() {
        size /= 1000.0;
        unit += 1;
    }
    let decimals = if size >= 100.0 {
        1
    } else if size >= 10.0 {
        2
    } else {
        3
    };
    let text = format!("{size:.decimals$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{}", UNITS[unit])
}

/// RFC 3339 in UTC with nanoseconds, as BuildKit's JSON carries instants.
pub(super) fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_nanos(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_size_matches_go_units() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(123), "123B");
        assert_eq!(human_size(1_200_000), "1.2MB");
        assert_eq!(human_size(3_400_000), "3.4MB");
        assert_eq!(human_size(26_214_400), "26.21MB");
        assert_eq!(human_size(1_234_567), "1.235MB");
        assert_eq!(human_size(999_999), "1000kB");
    }

    #[test]
    fn durations_round_to_their_precision() {
        assert_eq!(seconds(Duration::from_millis(1_240)), "1.2s");
        assert_eq!(seconds(Duration::from_millis(49)), "0.0s");
        assert_eq!(log_offset(Duration::from_micros(234_400)), "0.234");
        let earlier = SystemTime::UNIX_EPOCH;
        let later = earlier + Duration::from_secs(2);
        assert_eq!(between(later, earlier), Duration::ZERO);
        assert_eq!(between(earlier, later), Duration::from_secs(2));
    }

    #[test]
    fn rfc3339_keeps_nanoseconds() {
        let at = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        assert_eq!(rfc3339(at), "2023-11-14T22:13:20.000000005Z");
    }
}
