//! What a link should look like, independent of how it is imposed.

use std::time::Duration;

use serde::Serialize;

use crate::error::ShaperError;

/// An egress link shape: one-way delay, jitter, random loss and a rate limit.
///
/// Jitter is uniform in `[-jitter, +jitter]` around `delay`, truncated at zero (a packet is
/// never released before it arrived). This matches kernel netem without a `distribution`
/// table, so both backends draw from the same distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shape {
    /// Added one-way delay in milliseconds.
    pub delay_ms: u32,
    /// Jitter half-width in milliseconds.
    pub jitter_ms: u32,
    /// Probability in `[0, 1]` that a packet is dropped.
    pub loss: f64,
    /// Rate limit in kbit/s; 0 means unlimited.
    pub rate_kbit: u64,
}

impl Shape {
    /// Checks the ranges: loss must be a probability and jitter needs a delay to act on.
    pub fn validate(&self) -> Result<(), ShaperError> {
        if !(0.0..=1.0).contains(&self.loss) {
            return Err(ShaperError::InvalidShape(format!(
                "loss {} is not a probability in [0, 1]",
                self.loss
            )));
        }
        if self.jitter_ms > 0 && self.delay_ms == 0 {
            return Err(ShaperError::InvalidShape(
                "jitter needs a non-zero delay".to_owned(),
            ));
        }
        Ok(())
    }

    /// The delay as a duration.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(u64::from(self.delay_ms))
    }

    /// The jitter half-width as a duration.
    pub fn jitter(&self) -> Duration {
        Duration::from_millis(u64::from(self.jitter_ms))
    }

    /// Whether any packet needs to be held back (delay or jitter).
    pub fn delays(&self) -> bool {
        self.delay_ms > 0 || self.jitter_ms > 0
    }

    /// Whether packets are dropped at random.
    pub fn drops(&self) -> bool {
        self.loss > 0.0
    }

    /// Whether the rate is limited.
    pub fn limits_rate(&self) -> bool {
        self.rate_kbit > 0
    }
}

/// Formats a non-negative decimal with at most six fractional digits and no trailing
/// zeros, the way `tc` and `iptables` expect it (`0.3`, `30`, `0.000001`).
pub fn format_decimal(value: f64) -> String {
    let text = format!("{value:.6}");
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(delay_ms: u32, jitter_ms: u32, loss: f64) -> Shape {
        Shape {
            delay_ms,
            jitter_ms,
            loss,
            rate_kbit: 0,
        }
    }

    #[test]
    fn loss_must_be_a_probability() {
        assert!(shape(0, 0, 0.0).validate().is_ok());
        assert!(shape(0, 0, 1.0).validate().is_ok());
        assert!(shape(0, 0, 1.5).validate().is_err());
        assert!(shape(0, 0, -0.1).validate().is_err());
        assert!(shape(0, 0, f64::NAN).validate().is_err());
    }

    #[test]
    fn jitter_without_delay_is_rejected() {
        assert!(shape(0, 5, 0.0).validate().is_err());
        assert!(shape(1, 5, 0.0).validate().is_ok());
    }

    #[test]
    fn decimals_are_short_and_exact() {
        assert_eq!(format_decimal(0.3), "0.3");
        assert_eq!(format_decimal(0.3 * 100.0), "30");
        assert_eq!(format_decimal(0.07 * 100.0), "7");
        assert_eq!(format_decimal(0.0), "0");
        assert_eq!(format_decimal(1.0), "1");
        assert_eq!(format_decimal(0.000_001), "0.000001");
        assert_eq!(format_decimal(12.5), "12.5");
    }
}
