//! Time dilation (DieCast, NSDI 2008): a testnet that runs `k` times slower than the time
//! it believes in. Every time a scenario or a node configuration gives is *virtual*; the
//! node, the shaper and the orchestrator multiply it by `k` to get the *real* (wall-clock)
//! time they wait, and the orchestrator divides what it measures by `k` (in one place,
//! when it reads the events). Links, timers and traffic keep their virtual proportions,
//! while every node gets `k` times more of the host's CPU per virtual second.
//!
//! `k = 1` is no dilation: every conversion is the identity.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The smallest time scale: real time.
pub const MIN_TIME_SCALE: f64 = 1.0;
/// The largest time scale: a 1-minute scenario at `k = 1000` takes 17 hours of wall time,
/// beyond any run of the lab ([`crate::bounds::MAX_RUN_SECS`] bounds the virtual length).
pub const MAX_TIME_SCALE: f64 = 1000.0;

/// How many real seconds one virtual second lasts (`k ≥ 1`, fractional allowed).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeScale(f64);

impl Default for TimeScale {
    fn default() -> Self {
        TimeScale::REAL
    }
}

impl TimeScale {
    /// No dilation.
    pub const REAL: TimeScale = TimeScale(1.0);

    /// `k`, if it is a finite number in [`MIN_TIME_SCALE`]`..=`[`MAX_TIME_SCALE`].
    pub fn new(k: f64) -> Result<Self, String> {
        if k.is_finite() && (MIN_TIME_SCALE..=MAX_TIME_SCALE).contains(&k) {
            Ok(TimeScale(k))
        } else {
            Err(format!(
                "must be a number from {MIN_TIME_SCALE} to {MAX_TIME_SCALE} (how many real seconds one virtual second lasts), got {k}"
            ))
        }
    }

    /// `k`.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// Whether this is real time (`k = 1`).
    pub fn is_real(self) -> bool {
        self.0 == 1.0
    }

    /// The real time a virtual `d` lasts (`d × k`).
    pub fn real(self, d: Duration) -> Duration {
        if self.is_real() { d } else { d.mul_f64(self.0) }
    }

    /// The real time a virtual `ms` milliseconds last.
    pub fn real_ms(self, ms: u64) -> Duration {
        self.real(Duration::from_millis(ms))
    }

    /// The virtual time a real `d` stands for (`d / k`).
    pub fn virtual_of(self, d: Duration) -> Duration {
        if self.is_real() { d } else { d.div_f64(self.0) }
    }

    /// The real rate of a virtual rate (events per second): `rate / k`.
    pub fn real_rate(self, per_sec: f64) -> f64 {
        per_sec / self.0
    }

    /// The virtual instant (ns since the epoch) of the real instant `real_ns`, on a time
    /// line that coincides with the real one at `origin_ns`: `origin + (t − origin) / k`.
    /// Instants before the origin map symmetrically.
    pub fn virtual_instant(self, origin_ns: u64, real_ns: u64) -> u64 {
        if self.is_real() {
            return real_ns;
        }
        let k = self.0;
        if real_ns >= origin_ns {
            origin_ns + ((real_ns - origin_ns) as f64 / k).round() as u64
        } else {
            origin_ns - ((origin_ns - real_ns) as f64 / k).round() as u64
        }
    }
}

impl fmt::Display for TimeScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `4`, `2.5`, `1.333`: as short as the value allows.
        let s = format!("{:.3}", self.0);
        f.write_str(s.trim_end_matches('0').trim_end_matches('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_time_is_the_identity() {
        let k = TimeScale::REAL;
        assert_eq!(k.real(Duration::from_millis(25)), Duration::from_millis(25));
        assert_eq!(k.virtual_instant(10, 1_000), 1_000);
        assert_eq!(k.real_rate(5.0), 5.0);
    }

    #[test]
    fn virtual_times_stretch_and_measured_times_shrink() {
        let k = TimeScale::new(4.0).expect("valid");
        assert_eq!(k.real_ms(25), Duration::from_millis(100));
        assert_eq!(
            k.virtual_of(Duration::from_millis(100)),
            Duration::from_millis(25)
        );
        assert_eq!(k.real_rate(5.0), 1.25);
        // 4 s of real time after the origin is 1 s of virtual time.
        let origin = 1_000_000_000_000;
        assert_eq!(
            k.virtual_instant(origin, origin + 4_000_000_000),
            origin + 1_000_000_000
        );
        assert_eq!(k.virtual_instant(origin, origin - 4_000), origin - 1_000);
        // Differences of mapped instants are measured durations divided by k.
        let (a, b) = (origin + 7_000_000, origin + 107_000_000);
        assert_eq!(
            k.virtual_instant(origin, b) - k.virtual_instant(origin, a),
            25_000_000
        );
    }

    #[test]
    fn out_of_range_scales_are_refused() {
        for bad in [0.0, 0.5, -1.0, f64::NAN, f64::INFINITY, 1000.5] {
            assert!(TimeScale::new(bad).is_err(), "{bad}");
        }
        assert!(TimeScale::new(1.5).is_ok());
        assert_eq!(TimeScale::new(2.5).expect("valid").to_string(), "2.5");
        assert_eq!(TimeScale::new(4.0).expect("valid").to_string(), "4");
    }
}
