//! How far a figure may get worse: `--threshold` and the per-figure flags, parsed and
//! bounded, and the threshold that applies to each figure.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::gate::figures::{Figure, Unit};

/// The default relative threshold, percent, chosen from the smoke scenario's run-to-run
/// spread on our CI machine (README, "Regression gate").
pub const DEFAULT_THRESHOLD_PERCENT: f64 = 25.0;
/// The default threshold of the delivery ratio: an absolute drop (0.5 percentage points).
pub const DEFAULT_DELIVERY_DROP: f64 = 0.005;
/// The largest relative threshold, percent: beyond it a gate would pass anything.
pub const MAX_RELATIVE_PERCENT: f64 = 1000.0;

/// How far a figure may get worse before it counts as a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A fraction of the baseline's value (`"15%"` is 0.15).
    Relative(f64),
    /// An amount in the figure's unit (`"20ms"`, `"0.005"`).
    Absolute(f64),
}

impl FromStr for Threshold {
    type Err = String;

    /// `N%` is relative (0 to [`MAX_RELATIVE_PERCENT`]); `Nms` or a plain `N` is absolute
    /// in the figure's unit (finite, non-negative).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let number = |t: &str| {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    format!(
                        "threshold {} is not a non-negative number, N% or Nms",
                        crate::fsio::quoted(s)
                    )
                })
        };
        if let Some(p) = s.strip_suffix('%') {
            let percent = number(p)?;
            if percent > MAX_RELATIVE_PERCENT {
                return Err(format!(
                    "threshold {}% is above {MAX_RELATIVE_PERCENT}%: such a gate passes \
                     anything",
                    crate::fsio::num(percent)
                ));
            }
            Ok(Threshold::Relative(percent / 100.0))
        } else if let Some(ms) = s.strip_suffix("ms") {
            Ok(Threshold::Absolute(number(ms)?))
        } else {
            Ok(Threshold::Absolute(number(s)?))
        }
    }
}

impl Threshold {
    /// Why this threshold cannot apply to `figure`: a delivery ratio cannot drop by more
    /// than 100 % or by more than 1.
    pub fn problem_for(self, figure: Figure) -> Option<String> {
        match (figure.unit(), self) {
            (Unit::Ratio, Threshold::Relative(r)) if r > 1.0 => {
                Some("a ratio cannot drop by more than 100%".to_string())
            }
            (Unit::Ratio, Threshold::Absolute(a)) if a > 1.0 => {
                Some("a ratio cannot drop by more than 1 (an absolute drop)".to_string())
            }
            _ => None,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Relative(r) => write!(f, "{}%", r * 100.0),
            Threshold::Absolute(a) => write!(f, "{a}"),
        }
    }
}

/// The threshold of every figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// The relative threshold of figures without their own (fraction, 0.25 = 25 %).
    pub default_relative: f64,
    /// Per-figure thresholds.
    pub per_figure: BTreeMap<Figure, Threshold>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            default_relative: DEFAULT_THRESHOLD_PERCENT / 100.0,
            per_figure: BTreeMap::new(),
        }
    }
}

impl Thresholds {
    /// The thresholds of the command line: `default_relative` (a fraction) and the
    /// per-figure flags; the message names the flag whose value cannot apply.
    pub fn new(
        default_relative: f64,
        per_figure: BTreeMap<Figure, Threshold>,
    ) -> Result<Self, String> {
        if !(0.0..=MAX_RELATIVE_PERCENT / 100.0).contains(&default_relative) {
            return Err(format!(
                "--threshold {}%: a relative threshold is 0% to {MAX_RELATIVE_PERCENT}%",
                default_relative * 100.0
            ));
        }
        for (f, t) in &per_figure {
            if let Some(why) = t.problem_for(*f) {
                return Err(format!("--{} {t}: {why}", f.key().replace('_', "-")));
            }
        }
        Ok(Thresholds {
            default_relative,
            per_figure,
        })
    }

    /// The threshold that applies to `figure`.
    pub fn of(&self, figure: Figure) -> Threshold {
        match (self.per_figure.get(&figure), figure) {
            (Some(t), _) => *t,
            (None, Figure::Delivery) => Threshold::Absolute(DEFAULT_DELIVERY_DROP),
            (None, _) => Threshold::Relative(self.default_relative),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_relative_and_absolute() {
        assert_eq!("15%".parse(), Ok(Threshold::Relative(0.15)));
        assert_eq!(" 20ms".parse(), Ok(Threshold::Absolute(20.0)));
        assert_eq!("0.005".parse(), Ok(Threshold::Absolute(0.005)));
        assert!("-3%".parse::<Threshold>().is_err());
        assert!("fast".parse::<Threshold>().is_err());
        assert!("NaN".parse::<Threshold>().is_err());
        let t = Thresholds::default();
        assert_eq!(t.of(Figure::P99), Threshold::Relative(0.25));
        assert_eq!(t.of(Figure::Delivery), Threshold::Absolute(0.005));
    }

    #[test]
    fn thresholds_are_bounded_and_name_their_flag() {
        assert!("1000%".parse::<Threshold>().is_ok());
        let e = "1001%".parse::<Threshold>().expect_err("too loose");
        assert!(e.contains("above 1000%"), "{e}");
        assert!("1e400".parse::<Threshold>().is_err());
        assert!("inf".parse::<Threshold>().is_err());
        let one = |f: Figure, t: Threshold| Thresholds::new(0.25, BTreeMap::from([(f, t)]));
        assert!(one(Figure::Delivery, Threshold::Relative(1.0)).is_ok());
        let e = one(Figure::Delivery, Threshold::Relative(1.5)).expect_err("150%");
        assert!(e.starts_with("--delivery 150%: "), "{e}");
        let e = one(Figure::Delivery, Threshold::Absolute(1.5)).expect_err("1.5");
        assert!(e.starts_with("--delivery 1.5: "), "{e}");
        assert!(one(Figure::P99, Threshold::Relative(5.0)).is_ok());
        assert!(one(Figure::Coverage100P99, Threshold::Absolute(500.0)).is_ok());
        assert!(Thresholds::new(10.5, BTreeMap::new()).is_err());
    }
}
