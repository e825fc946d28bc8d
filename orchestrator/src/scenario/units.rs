//! The unit-bearing strings of scenarios and profiles: durations (`"60s"`, `"2.5ms"`; the
//! shared ones of `lab_config::units`, which link shapes serialise with), bit rates
//! (`"10mbit"`), sizes (`"1KiB"`) and message rates (`"5/s"`).
//!
//! Parsers return a lowercase reason on error; callers attach file, line and field.

use lab_config::units::split_number;
pub(crate) use lab_config::units::{duration_str, format_duration, parse_duration};

/// Parses a bit rate such as `"10mbit"`, `"1gbit"`, `"500kbit"` into kbit/s.
pub(crate) fn parse_rate_kbit(s: &str) -> Result<u64, String> {
    let (value, unit) = split_number(s)?;
    let kbit_per_unit = match unit.to_ascii_lowercase().as_str() {
        "bit" => 1e-3,
        "kbit" => 1.0,
        "mbit" => 1e3,
        "gbit" => 1e6,
        "" => return Err(format!("`{s}` has no unit (use kbit, mbit or gbit)")),
        other => {
            return Err(format!(
                "unknown rate unit `{other}` (use kbit, mbit or gbit)"
            ));
        }
    };
    let kbit = (value * kbit_per_unit).round();
    if kbit < 1.0 {
        return Err(format!("`{s}` is below 1kbit"));
    }
    if !kbit.is_finite() || kbit > 1e12 {
        return Err(format!("`{s}` is too large"));
    }
    Ok(kbit as u64)
}

/// Parses a size such as `"1KiB"`, `"512B"`, `"2MiB"`, `"1kB"` into bytes.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let (value, unit) = split_number(s)?;
    let bytes_per_unit = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "" => return Err(format!("`{s}` has no unit (use B, KiB, MiB, kB or MB)")),
        other => {
            return Err(format!(
                "unknown size unit `{other}` (use B, KiB, MiB, kB or MB)"
            ));
        }
    };
    let bytes = value * bytes_per_unit;
    if bytes.fract() != 0.0 {
        return Err(format!("`{s}` is not a whole number of bytes"));
    }
    if !bytes.is_finite() || bytes > 1e12 {
        return Err(format!("`{s}` is too large"));
    }
    Ok(bytes as u64)
}

/// Parses a message rate such as `"5/s"` or `"120/m"` into messages per second.
pub(crate) fn parse_msg_rate(s: &str) -> Result<f64, String> {
    let Some((num, per)) = s.split_once('/') else {
        return Err(format!("`{s}` is not a rate like `5/s` or `120/m`"));
    };
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a number", num.trim()))?;
    let seconds = match per.trim() {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown rate period `{other}` (use s, m or h)")),
    };
    let rate = value / seconds;
    if !rate.is_finite() || rate <= 0.0 {
        return Err(format!("`{s}` is not a positive rate"));
    }
    Ok(rate)
}

/// Serde (de)serialisation of an `Option<Duration>` as a unit string or nothing.
pub(crate) mod opt_duration_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises `Some(d)` as `"25ms"`, `None` as none.
    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&super::format_duration(*d)),
            None => s.serialize_none(),
        }
    }

    /// Parses an optional `"25ms"`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| super::parse_duration(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_sizes_and_message_rates() {
        assert_eq!(parse_rate_kbit("10mbit"), Ok(10_000));
        assert_eq!(parse_rate_kbit("1gbit"), Ok(1_000_000));
        assert_eq!(parse_rate_kbit("500kbit"), Ok(500));
        assert!(parse_rate_kbit("10").is_err());
        assert!(parse_rate_kbit("10bit").is_err());
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("2MiB"), Ok(2 * 1024 * 1024));
        assert!(parse_size("0.5B").is_err());
        assert!(parse_size("1 parsec").is_err());
        assert_eq!(parse_msg_rate("5/s"), Ok(5.0));
        assert_eq!(parse_msg_rate("120/m"), Ok(2.0));
        assert!(parse_msg_rate("0/s").is_err());
        assert!(parse_msg_rate("5").is_err());
        assert!(parse_msg_rate("5/fortnight").is_err());
    }
}
