//! What a link should look like, independent of how it is imposed.

use std::time::Duration;

use serde::Serialize;

/// The longest delay a shape may add: 10 s.
pub const MAX_DELAY_US: u64 = 10_000_000;
/// The highest rate limit a shape may set: 100 gbit/s.
pub const MAX_RATE_KBIT: u64 = 100_000_000;

/// An egress link shape: one-way delay, jitter, random loss and a rate limit.
///
/// Delay and jitter are whole microseconds, the precision of the profiles they come from.
/// Jitter is uniform in `[-jitter, +jitter]` around `delay` and at most `delay`, so no
/// packet is released before it arrived. This matches kernel netem without a
/// `distribution` table, so both backends draw from the same distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shape {
    /// Added one-way delay in microseconds, at most [`MAX_DELAY_US`].
    pub delay_us: u64,
    /// Jitter half-width in microseconds, at most `delay_us`.
    pub jitter_us: u64,
    /// Probability in `[0, 1]` that a packet is dropped.
    pub loss: f64,
    /// Rate limit in kbit/s, at most [`MAX_RATE_KBIT`]; 0 means unlimited.
    pub rate_kbit: u64,
}

/// Why a [`Shape`] is out of range, named by the `labshaper` flag that sets the value.
/// Messages are lowercase and read after "failed to accept the link shape: ".
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ShapeError {
    /// The delay is longer than [`MAX_DELAY_US`].
    #[error("--delay-us {0} is above the maximum {MAX_DELAY_US} (10 s)")]
    DelayTooLong(u64),
    /// The jitter is wider than the delay (including jitter with no delay at all).
    #[error("--jitter-us {jitter_us} is above --delay-us {delay_us} (jitter is at most the delay)")]
    JitterAboveDelay {
        /// The jitter half-width asked for.
        jitter_us: u64,
        /// The delay asked for.
        delay_us: u64,
    },
    /// The loss is not a probability (below 0, above 1, or not a number).
    #[error("--loss {0} is not a probability in [0, 1]")]
    LossNotAProbability(f64),
    /// The rate limit is above [`MAX_RATE_KBIT`].
    #[error("--rate-kbit {0} is above the maximum {MAX_RATE_KBIT} (100 gbit/s)")]
    RateTooHigh(u64),
}

impl Shape {
    /// Checks the ranges: delay at most 10 s, jitter at most the delay, loss a probability,
    /// rate at most 100 gbit/s.
    pub fn validate(&self) -> Result<(), ShapeError> {
        if self.delay_us > MAX_DELAY_US {
            return Err(ShapeError::DelayTooLong(self.delay_us));
        }
        if self.jitter_us > self.delay_us {
            return Err(ShapeError::JitterAboveDelay {
                jitter_us: self.jitter_us,
                delay_us: self.delay_us,
            });
        }
        if !(0.0..=1.0).contains(&self.loss) {
            return Err(ShapeError::LossNotAProbability(self.loss));
        }
        if self.rate_kbit > MAX_RATE_KBIT {
            return Err(ShapeError::RateTooHigh(self.rate_kbit));
        }
        Ok(())
    }

    /// The delay as a duration.
    pub fn delay(&self) -> Duration {
        Duration::from_micros(self.delay_us)
    }

    /// The jitter half-width as a duration.
    pub fn jitter(&self) -> Duration {
        Duration::from_micros(self.jitter_us)
    }

    /// Whether any packet needs to be held back (delay or jitter).
    pub fn delays(&self) -> bool {
        self.delay_us > 0 || self.jitter_us > 0
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

    fn shape(delay_us: u64, jitter_us: u64, loss: f64) -> Shape {
        Shape {
            delay_us,
            jitter_us,
            loss,
            rate_kbit: 0,
        }
    }

    #[test]
    fn loss_must_be_a_probability() {
        assert!(shape(0, 0, 0.0).validate().is_ok());
        assert!(shape(0, 0, 1.0).validate().is_ok());
        assert_eq!(
            shape(0, 0, 1.5).validate(),
            Err(ShapeError::LossNotAProbability(1.5))
        );
        assert!(shape(0, 0, -0.1).validate().is_err());
        assert!(shape(0, 0, f64::NAN).validate().is_err());
        assert!(shape(0, 0, f64::INFINITY).validate().is_err());
    }

    #[test]
    fn jitter_is_at_most_the_delay() {
        assert_eq!(
            shape(0, 5, 0.0).validate(),
            Err(ShapeError::JitterAboveDelay {
                jitter_us: 5,
                delay_us: 0
            })
        );
        assert!(shape(2000, 2001, 0.0).validate().is_err());
        assert!(shape(2000, 2000, 0.0).validate().is_ok());
        assert!(shape(500, 100, 0.0).validate().is_ok());
    }

    #[test]
    fn delay_and_rate_are_bounded() {
        assert!(shape(MAX_DELAY_US, 0, 0.0).validate().is_ok());
        assert_eq!(
            shape(MAX_DELAY_US + 1, 0, 0.0).validate(),
            Err(ShapeError::DelayTooLong(MAX_DELAY_US + 1))
        );
        let mut s = shape(0, 0, 0.0);
        s.rate_kbit = MAX_RATE_KBIT;
        assert!(s.validate().is_ok());
        s.rate_kbit = MAX_RATE_KBIT + 1;
        assert_eq!(
            s.validate(),
            Err(ShapeError::RateTooHigh(MAX_RATE_KBIT + 1))
        );
    }

    #[test]
    fn durations_keep_the_microseconds() {
        let s = shape(25_000, 2_500, 0.0);
        assert_eq!(s.delay(), Duration::from_micros(25_000));
        assert_eq!(s.jitter(), Duration::from_micros(2_500));
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
