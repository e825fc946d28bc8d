//! `labshaper`'s words for a link shape that breaks a rule: the shape and its bounds are
//! `lab_config`'s ([`LinkShape::check`]), and the messages here name the flag that set the
//! value. Also the decimals `tc` and `iptables` are given.

use std::fmt;

use lab_config::bounds::{MAX_LINK_DELAY, MAX_LINK_RATE_KBIT};
use lab_config::{LinkProblem, LinkShape};

/// Why a [`LinkShape`] is out of range, named by the `labshaper` flag that sets the value.
/// Messages are lowercase and read after "failed to accept the link shape: ".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapeError(pub LinkProblem);

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = |d: std::time::Duration| d.as_micros();
        match self.0 {
            LinkProblem::DelayTooLong(delay) => write!(
                f,
                "--delay-us {} is above the maximum {} ({} s)",
                us(delay),
                us(MAX_LINK_DELAY),
                MAX_LINK_DELAY.as_secs()
            ),
            LinkProblem::JitterWithoutDelay(jitter) => write!(
                f,
                "--jitter-us {} is above --delay-us 0 (jitter is at most the delay)",
                us(jitter)
            ),
            LinkProblem::JitterAboveDelay { jitter, delay } => write!(
                f,
                "--jitter-us {} is above --delay-us {} (jitter is at most the delay)",
                us(jitter),
                us(delay)
            ),
            LinkProblem::LossNotAProbability(loss) => {
                write!(f, "--loss {loss} is not a probability in [0, 1]")
            }
            LinkProblem::RateTooHigh(rate) => write!(
                f,
                "--rate-kbit {rate} is above the maximum {MAX_LINK_RATE_KBIT} ({} gbit/s)",
                MAX_LINK_RATE_KBIT / 1_000_000
            ),
        }
    }
}

impl std::error::Error for ShapeError {}

/// Checks the shape's ranges (delay at most 10 s, jitter at most the delay, loss a
/// probability, rate at most 100 gbit/s); fails on the first rule it breaks.
pub fn check(shape: &LinkShape) -> Result<(), ShapeError> {
    match shape.check().first() {
        Some(&problem) => Err(ShapeError(problem)),
        None => Ok(()),
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
    use std::time::Duration;

    use super::*;

    fn shape(delay_us: u64, jitter_us: u64, loss: f64) -> LinkShape {
        LinkShape::from_micros(delay_us, jitter_us, loss)
    }

    #[test]
    fn the_first_broken_rule_is_the_error() {
        assert_eq!(check(&shape(500, 100, 0.0)), Ok(()));
        assert_eq!(
            check(&shape(0, 5, 1.5)),
            Err(ShapeError(LinkProblem::JitterWithoutDelay(
                Duration::from_micros(5)
            )))
        );
    }

    #[test]
    fn messages_name_the_flags() {
        let text = |s: &LinkShape| check(s).err().map(|e| e.to_string()).unwrap_or_default();
        for (shape, message) in [
            (
                shape(10_000_001, 0, 0.0),
                "--delay-us 10000001 is above the maximum 10000000 (10 s)",
            ),
            (
                shape(0, 100, 0.0),
                "--jitter-us 100 is above --delay-us 0 (jitter is at most the delay)",
            ),
            (
                shape(2000, 2001, 0.0),
                "--jitter-us 2001 is above --delay-us 2000 (jitter is at most the delay)",
            ),
            (
                shape(0, 0, 1.5),
                "--loss 1.5 is not a probability in [0, 1]",
            ),
        ] {
            assert_eq!(text(&shape), message);
        }
        let mut fast = shape(0, 0, 0.0);
        fast.rate_kbit = Some(100_000_001);
        assert_eq!(
            text(&fast),
            "--rate-kbit 100000001 is above the maximum 100000000 (100 gbit/s)"
        );
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
