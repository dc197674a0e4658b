//! Byte sizes as people type and read them: `10GB`, `512MiB`, `1.5kB`.
//! SI units are decimal and IEC units binary, as their names say; a bare
//! `k`/`m`/`g`/`t` is binary, as Docker reads it. Printing uses decimal
//! units like `docker buildx du`.

/// A size that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid size {0:?} (expected a number with an optional unit: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)"
)]
pub struct SizeError(pub String);

/// Parses `10GB`, `512MiB`, `1.5g`, `100` (bytes); case-insensitive.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let error = || SizeError(text.to_owned());
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.parse().map_err(|_| error())?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        _ => return Err(error()),
    };
    #[expect(
        clippy::cast_precision_loss,
        reason = "multipliers are powers of ten and two, exact in f64"
    )]
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes >= 2f64.powi(64) {
        return Err(error());
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked finite, non-negative and in range above"
    )]
    Ok(bytes.round() as u64)
}

/// Prints a size with decimal units and up to two decimals: `512B`,
/// `1.5kB`, `12.35MB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut unit = 0;
    let mut scaled = 1u64;
    while unit + 1 < UNITS.len() && bytes >= scaled * 1000 {
        scaled *= 1000;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes}B");
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "a printed size needs three significant digits"
    )]
    let value = bytes as f64 / scaled as f64;
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_size_reads_si_iec_and_docker_units() {
        for (text, bytes) in [
            ("0", 0),
            ("100", 100),
            ("100B", 100),
            ("10GB", 10_000_000_000),
            ("10gb", 10_000_000_000),
            ("512MiB", 512 << 20),
            ("1.5kB", 1500),
            ("2g", 2 << 30),
            ("1 GiB", 1 << 30),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for bad in ["", "GB", "10XB", "-5MB", "1.2.3", "1e999"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn format_size_uses_decimal_units() {
        assert_eq!(format_size(0), "0B");
        assert_eq!(format_size(999), "999B");
        assert_eq!(format_size(1000), "1kB");
        assert_eq!(format_size(1500), "1.5kB");
        assert_eq!(format_size(12_345_678), "12.35MB");
        assert_eq!(format_size(10_000_000_000), "10GB");
        assert_eq!(format_size(u64::MAX), "18446.74PB");
    }
}
