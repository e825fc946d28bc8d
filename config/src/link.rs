//! A link's shape (one-way delay, jitter, random loss, rate limit) with its one check: the
//! value a profile or a scenario's `[network.link]` table gives, the orchestrator records in
//! its results and hands to the shaper, and `labshaper` imposes.
//!
//! Delay and jitter are kept to the whole microsecond (profiles are parsed to it, and the
//! shaper takes microseconds), and serialise as unit strings (`"25ms"`, `"2.5ms"`). Jitter
//! is uniform in `[-jitter, +jitter]` around the delay and at most the delay, so no packet
//! is released before it arrived.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::bounds::{MAX_LINK_DELAY, MAX_LINK_RATE_KBIT};
use crate::time_scale::TimeScale;
use crate::units::duration_str;

/// The impairment imposed on each node's egress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkShape {
    /// One-way delay added to every packet a node sends (serialised as e.g. `"25ms"`), at
    /// most [`MAX_LINK_DELAY`].
    #[serde(with = "duration_str")]
    pub delay: Duration,
    /// Uniform variation around `delay` (± jitter); never more than `delay`.
    #[serde(with = "duration_str")]
    pub jitter: Duration,
    /// Probability that a packet is dropped, 0..=1.
    pub loss: f64,
    /// Egress rate limit in kbit/s, at most [`MAX_LINK_RATE_KBIT`]; `None` = unlimited.
    pub rate_kbit: Option<u64>,
}

/// A rule a [`LinkShape`] breaks. Each program words it for its own input: the
/// orchestrator names the profile's field, `labshaper` the flag that set the value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinkProblem {
    /// The delay is longer than [`MAX_LINK_DELAY`].
    DelayTooLong(Duration),
    /// There is jitter but no delay to vary around.
    JitterWithoutDelay(Duration),
    /// The jitter is wider than the (non-zero) delay.
    JitterAboveDelay {
        /// The jitter half-width.
        jitter: Duration,
        /// The delay.
        delay: Duration,
    },
    /// The loss is not a probability (below 0, above 1, or not a number).
    LossNotAProbability(f64),
    /// The rate limit is above [`MAX_LINK_RATE_KBIT`] (kbit/s).
    RateTooHigh(u64),
}

impl LinkShape {
    /// This virtual link in real time on a testnet dilated by `k`: delay and jitter × k,
    /// the rate limit ÷ k (at least 1 kbit/s), the loss unchanged.
    pub fn dilated(&self, k: TimeScale) -> LinkShape {
        LinkShape {
            delay: k.real(self.delay),
            jitter: k.real(self.jitter),
            loss: self.loss,
            rate_kbit: self
                .rate_kbit
                .map(|r| (k.real_rate(r as f64).round() as u64).max(1)),
        }
    }

    /// A link with no impairment.
    pub fn none() -> Self {
        LinkShape {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            rate_kbit: None,
        }
    }

    /// A shape of `delay_us` ± `jitter_us` microseconds and `loss`, with no rate limit.
    pub fn from_micros(delay_us: u64, jitter_us: u64, loss: f64) -> Self {
        LinkShape {
            delay: Duration::from_micros(delay_us),
            jitter: Duration::from_micros(jitter_us),
            loss,
            rate_kbit: None,
        }
    }

    /// Whether this shape imposes nothing (no shaper needs to run).
    pub fn is_none(&self) -> bool {
        self.delay.is_zero()
            && self.jitter.is_zero()
            && self.loss == 0.0
            && self.rate_kbit.is_none()
    }

    /// Every rule the shape breaks, in field order (delay, jitter, loss, rate): delay at
    /// most [`MAX_LINK_DELAY`], jitter at most the delay (and none without a delay), loss
    /// a probability, rate at most [`MAX_LINK_RATE_KBIT`].
    pub fn check(&self) -> Vec<LinkProblem> {
        let mut problems = Vec::new();
        if self.delay > MAX_LINK_DELAY {
            problems.push(LinkProblem::DelayTooLong(self.delay));
        }
        if !self.jitter.is_zero() && self.delay.is_zero() {
            problems.push(LinkProblem::JitterWithoutDelay(self.jitter));
        } else if self.jitter > self.delay {
            problems.push(LinkProblem::JitterAboveDelay {
                jitter: self.jitter,
                delay: self.delay,
            });
        }
        if !(0.0..=1.0).contains(&self.loss) {
            problems.push(LinkProblem::LossNotAProbability(self.loss));
        }
        if let Some(rate) = self.rate_kbit.filter(|&r| r > MAX_LINK_RATE_KBIT) {
            problems.push(LinkProblem::RateTooHigh(rate));
        }
        problems
    }

    /// The delay in whole microseconds, as the shaper takes it.
    pub fn delay_us(&self) -> u64 {
        micros(self.delay)
    }

    /// The jitter half-width in whole microseconds, as the shaper takes it.
    pub fn jitter_us(&self) -> u64 {
        micros(self.jitter)
    }

    /// Whether any packet needs to be held back (delay or jitter).
    pub fn delays(&self) -> bool {
        !self.delay.is_zero() || !self.jitter.is_zero()
    }

    /// Whether packets are dropped at random.
    pub fn drops(&self) -> bool {
        self.loss > 0.0
    }

    /// The rate limit in kbit/s when the rate is limited (a limit of 0 is none).
    pub fn rate_limit_kbit(&self) -> Option<u64> {
        self.rate_kbit.filter(|&r| r > 0)
    }
}

/// Whole microseconds of `d` (saturating; a checked shape is far below the limit).
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(delay_us: u64, jitter_us: u64, loss: f64) -> LinkShape {
        LinkShape::from_micros(delay_us, jitter_us, loss)
    }

    #[test]
    fn loss_must_be_a_probability() {
        assert_eq!(shape(0, 0, 0.0).check(), []);
        assert_eq!(shape(0, 0, 1.0).check(), []);
        assert_eq!(
            shape(0, 0, 1.5).check(),
            [LinkProblem::LossNotAProbability(1.5)]
        );
        assert_eq!(shape(0, 0, -0.1).check().len(), 1);
        assert!(matches!(
            shape(0, 0, f64::NAN).check()[..],
            [LinkProblem::LossNotAProbability(l)] if l.is_nan()
        ));
        assert_eq!(shape(0, 0, f64::INFINITY).check().len(), 1);
    }

    #[test]
    fn jitter_is_at_most_the_delay() {
        assert_eq!(
            shape(0, 5, 0.0).check(),
            [LinkProblem::JitterWithoutDelay(Duration::from_micros(5))]
        );
        assert_eq!(
            shape(2000, 2001, 0.0).check(),
            [LinkProblem::JitterAboveDelay {
                jitter: Duration::from_micros(2001),
                delay: Duration::from_micros(2000)
            }]
        );
        assert_eq!(shape(2000, 2000, 0.0).check(), []);
        assert_eq!(shape(500, 100, 0.0).check(), []);
    }

    #[test]
    fn delay_and_rate_are_bounded() {
        let max_us = micros(MAX_LINK_DELAY);
        assert_eq!(max_us, 10_000_000);
        assert_eq!(shape(max_us, 0, 0.0).check(), []);
        assert_eq!(
            shape(max_us + 1, 0, 0.0).check(),
            [LinkProblem::DelayTooLong(Duration::from_micros(max_us + 1))]
        );
        let mut s = shape(0, 0, 0.0);
        s.rate_kbit = Some(MAX_LINK_RATE_KBIT);
        assert_eq!(s.check(), []);
        s.rate_kbit = Some(MAX_LINK_RATE_KBIT + 1);
        assert_eq!(
            s.check(),
            [LinkProblem::RateTooHigh(MAX_LINK_RATE_KBIT + 1)]
        );
    }

    #[test]
    fn every_problem_is_reported_in_field_order() {
        let s = LinkShape {
            delay: Duration::from_secs(11),
            jitter: Duration::from_secs(12),
            loss: 2.0,
            rate_kbit: Some(101_000_000),
        };
        assert_eq!(
            s.check(),
            [
                LinkProblem::DelayTooLong(Duration::from_secs(11)),
                LinkProblem::JitterAboveDelay {
                    jitter: Duration::from_secs(12),
                    delay: Duration::from_secs(11)
                },
                LinkProblem::LossNotAProbability(2.0),
                LinkProblem::RateTooHigh(101_000_000),
            ]
        );
    }

    #[test]
    fn durations_keep_the_microseconds() {
        let s = shape(25_000, 2_500, 0.0);
        assert_eq!((s.delay_us(), s.jitter_us()), (25_000, 2_500));
        assert_eq!(s.delay, Duration::from_micros(25_000));
        assert_eq!(s.jitter, Duration::from_micros(2_500));
    }

    #[test]
    fn what_the_shape_asks_of_a_shaper() {
        assert!(LinkShape::none().is_none());
        assert!(!LinkShape::none().delays() && !LinkShape::none().drops());
        assert!(shape(0, 0, 0.01).drops());
        assert!(shape(500, 0, 0.0).delays());
        let mut s = LinkShape::none();
        s.rate_kbit = Some(0);
        assert_eq!(s.rate_limit_kbit(), None);
        s.rate_kbit = Some(1000);
        assert_eq!(s.rate_limit_kbit(), Some(1000));
    }

    #[test]
    fn serialises_durations_as_unit_strings() {
        let s = LinkShape {
            delay: Duration::from_millis(25),
            jitter: Duration::from_micros(2500),
            loss: 0.01,
            rate_kbit: None,
        };
        let text = toml::to_string(&s).unwrap_or_default();
        assert_eq!(
            text, "delay = \"25ms\"\njitter = \"2.5ms\"\nloss = 0.01\n",
            "{text}"
        );
        assert_eq!(toml::from_str::<LinkShape>(&text).ok(), Some(s));
        assert!(
            toml::from_str::<LinkShape>("delay = \"1ms\"\njitter = \"0s\"\nloss = 0.0\nrat = 1\n")
                .is_err()
        );
    }

    #[test]
    fn a_dilated_link_is_slower_by_k_and_as_lossy() {
        let link = LinkShape {
            delay: Duration::from_millis(25),
            jitter: Duration::from_micros(2500),
            loss: 0.01,
            rate_kbit: Some(10_000),
        };
        let k = TimeScale::new(4.0).expect("valid");
        let real = link.dilated(k);
        assert_eq!(real.delay, Duration::from_millis(100));
        assert_eq!(real.jitter, Duration::from_millis(10));
        assert_eq!(real.loss, 0.01);
        assert_eq!(real.rate_kbit, Some(2_500));
        assert_eq!(link.dilated(TimeScale::REAL), link);
    }
}
