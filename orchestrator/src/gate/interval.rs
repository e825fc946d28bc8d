//! The median of a few trials and its distribution-free confidence interval.
//!
//! For `n` values sorted as `x(1) ≤ … ≤ x(n)`, the interval `[x(l), x(n+1−l)]` holds the
//! true median with probability `1 − 2·P(B ≤ l−1)`, `B ~ Binomial(n, ½)`, whatever the
//! distribution (order statistics; no normality, no resampling). We take the largest `l`
//! whose coverage is at least the level asked for (95 %); when even `l = 1` (the range
//! `[min, max]`) falls short, as for `n ≤ 5`, the range is used and its actual coverage
//! is recorded (93.75 % for 5 trials, 0 % for one run).

use serde::{Deserialize, Serialize};

use super::figures::Figure;
use crate::fsio::{Problems, num};

/// The confidence asked of every interval.
pub const CONFIDENCE: f64 = 0.95;

/// A figure over one or more trials: the median, a confidence interval of the median,
/// and the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    /// Trials with a value.
    pub n: usize,
    /// Trials in which the figure was not measured (not in `n`).
    #[serde(default)]
    pub missing: usize,
    /// Median of the values (mean of the middle two for even `n`).
    pub median: f64,
    /// Lower end of the median's confidence interval.
    pub low: f64,
    /// Upper end of the median's confidence interval.
    pub high: f64,
    /// The interval's actual coverage probability (0 for a single value).
    pub confidence: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Estimate {
    /// One run's value: median and both interval ends equal it.
    pub fn single(value: f64) -> Self {
        Estimate {
            n: 1,
            missing: 0,
            median: value,
            low: value,
            high: value,
            confidence: 0.0,
            min: value,
            max: value,
        }
    }

    /// Whether at least half the trials lacked the figure, so that its median cannot be
    /// told from the trials that measured it.
    pub fn mostly_missing(&self) -> bool {
        self.missing >= self.n
    }

    /// Pushes to `problems` what makes this estimate of `figure` incoherent, its fields
    /// named under the JSON path `at` (`figures.p99`): no value, a value outside the
    /// figure's domain, a confidence outside 0..=1, or ends out of order (the rule is
    /// `min ≤ low ≤ median ≤ high ≤ max`). Returns whether it found nothing.
    pub fn check(&self, figure: Figure, at: &str, problems: &mut Problems) -> bool {
        let before = problems.0.len();
        if self.n == 0 {
            problems.push(
                format!("{at}.n"),
                "is 0: an estimate needs at least one measured value",
            );
        }
        let fields = [
            ("min", self.min),
            ("low", self.low),
            ("median", self.median),
            ("high", self.high),
            ("max", self.max),
        ];
        for (name, v) in fields {
            if let Some(why) = figure.domain_problem(v) {
                problems.push(format!("{at}.{name}"), why);
            }
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            problems.push(
                format!("{at}.confidence"),
                format!("is {}, not a probability in 0..=1", num(self.confidence)),
            );
        }
        if problems.0.len() == before {
            if self.low > self.high {
                problems.push(
                    format!("{at}.low"),
                    format!("is {}, above high ({})", num(self.low), num(self.high)),
                );
            } else if !(self.low..=self.high).contains(&self.median) {
                problems.push(
                    format!("{at}.median"),
                    format!(
                        "is {}, outside the interval [low, high] = [{}, {}]",
                        num(self.median),
                        num(self.low),
                        num(self.high)
                    ),
                );
            }
            if self.min > self.low.min(self.median) {
                problems.push(
                    format!("{at}.min"),
                    format!(
                        "is {}, above the interval's low end ({})",
                        num(self.min),
                        num(self.low)
                    ),
                );
            }
            if self.max < self.high.max(self.median) {
                problems.push(
                    format!("{at}.max"),
                    format!(
                        "is {}, below the interval's high end ({})",
                        num(self.max),
                        num(self.high)
                    ),
                );
            }
        }
        problems.0.len() == before
    }

    /// Whether `other` is this estimate up to rounding (values read back from JSON may be
    /// off in the last digit).
    pub fn same_as(&self, other: &Estimate) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        self.n == other.n
            && self.missing == other.missing
            && close(self.median, other.median)
            && close(self.low, other.low)
            && close(self.high, other.high)
            && close(self.confidence, other.confidence)
            && close(self.min, other.min)
            && close(self.max, other.max)
    }
}

/// `ln C(n, k)`.
fn ln_choose(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k)
        .map(|i| ((n - i) as f64).ln() - ((i + 1) as f64).ln())
        .sum()
}

/// `P(B ≤ k)` for `B ~ Binomial(n, ½)`.
fn binomial_half_cdf(n: usize, k: usize) -> f64 {
    let ln_half_n = n as f64 * 0.5f64.ln();
    (0..=k.min(n))
        .map(|i| (ln_choose(n, i) + ln_half_n).exp())
        .sum::<f64>()
        .min(1.0)
}

/// The median of `values` with its distribution-free confidence interval at `level`
/// (see the module docs); `missing` is recorded as is. `None` when `values` is empty or
/// holds a NaN.
pub fn median_ci(values: &[f64], missing: usize, level: f64) -> Option<Estimate> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut x = values.to_vec();
    x.sort_by(f64::total_cmp);
    let n = x.len();
    let median = crate::analysis::median(&x)?;
    // l is 1-based; the interval is [x(l), x(n+1-l)], so l ≤ (n+1)/2.
    let coverage = |l: usize| 1.0 - 2.0 * binomial_half_cdf(n, l - 1);
    let mut l = 1;
    while l < n.div_ceil(2) && coverage(l + 1) >= level {
        l += 1;
    }
    Some(Estimate {
        n,
        missing,
        median,
        low: x[l - 1],
        high: x[n - l],
        confidence: coverage(l).max(0.0),
        min: x[0],
        max: x[n - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn problems_of(e: &Estimate, figure: Figure) -> Vec<String> {
        let mut p = Problems::default();
        let clean = e.check(figure, "figures.x", &mut p);
        assert_eq!(clean, p.is_empty());
        p.0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn incoherent_estimates_are_named_by_field() {
        let good = median_ci(&[30.0, 31.0, 35.0], 0, CONFIDENCE).expect("estimate");
        assert!(problems_of(&good, Figure::P50).is_empty());
        let swapped = Estimate {
            low: 40.0,
            high: 30.0,
            ..good.clone()
        };
        assert_eq!(
            problems_of(&swapped, Figure::P50),
            vec!["field `figures.x.low`: is 40, above high (30)"]
        );
        let outside = Estimate {
            median: 50.0,
            ..good.clone()
        };
        let got = problems_of(&outside, Figure::P50);
        assert!(
            got[0].starts_with("field `figures.x.median`: is 50, outside"),
            "{got:?}"
        );
        assert!(got[1].starts_with("field `figures.x.max`"), "{got:?}");
        let negative = Estimate::single(-3.0);
        assert_eq!(problems_of(&negative, Figure::P99).len(), 5);
        let ratio = Estimate::single(7.5);
        assert!(problems_of(&ratio, Figure::Delivery)[0].contains("not a ratio"));
        assert!(problems_of(&ratio, Figure::Duplicates).is_empty());
        let none = Estimate {
            n: 0,
            confidence: 1.5,
            ..good.clone()
        };
        let got = problems_of(&none, Figure::P50);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(good.same_as(&Estimate {
            median: good.median * (1.0 + 1e-12),
            ..good.clone()
        }));
        assert!(!good.same_as(&Estimate {
            median: 32.0,
            ..good.clone()
        }));
    }

    #[test]
    fn binomial_cdf_matches_hand_values() {
        assert!(close(binomial_half_cdf(5, 0), 1.0 / 32.0));
        assert!(close(binomial_half_cdf(5, 1), 6.0 / 32.0));
        assert!(close(binomial_half_cdf(9, 1), 10.0 / 512.0));
        assert!(close(binomial_half_cdf(4, 4), 1.0));
    }

    #[test]
    fn five_trials_give_the_range_at_93_75_percent() {
        let e = median_ci(&[5.0, 1.0, 4.0, 2.0, 3.0], 0, CONFIDENCE).expect("estimate");
        assert_eq!(
            (e.median, e.low, e.high, e.min, e.max),
            (3.0, 1.0, 5.0, 1.0, 5.0)
        );
        assert!(close(e.confidence, 0.9375), "{}", e.confidence);
    }

    #[test]
    fn nine_trials_drop_the_extremes() {
        // l = 2: coverage 1 − 2·10/512 = 96.1 % ≥ 95 %; l = 3 would give 82 %.
        let v: Vec<f64> = (1..=9).map(f64::from).collect();
        let e = median_ci(&v, 0, CONFIDENCE).expect("estimate");
        assert_eq!((e.median, e.low, e.high), (5.0, 2.0, 8.0));
        assert!(close(e.confidence, 1.0 - 20.0 / 512.0));
    }

    #[test]
    fn many_trials_narrow_the_interval_and_keep_the_level() {
        let v: Vec<f64> = (0..101).map(f64::from).collect();
        let e = median_ci(&v, 0, CONFIDENCE).expect("estimate");
        assert_eq!(e.median, 50.0);
        assert!(e.confidence >= CONFIDENCE && e.confidence < 0.97, "{e:?}");
        assert!(e.low > 35.0 && e.high < 65.0, "{e:?}");
        assert_eq!(50.0 - e.low, e.high - 50.0);
    }

    #[test]
    fn even_counts_average_the_middle_and_one_value_is_degenerate() {
        let e = median_ci(&[1.0, 2.0, 3.0, 10.0], 3, CONFIDENCE).expect("estimate");
        assert_eq!(e.median, 2.5);
        assert_eq!(e.missing, 3);
        assert!(!e.mostly_missing());
        let e = median_ci(&[1.0, 2.0], 2, CONFIDENCE).expect("estimate");
        assert!(e.mostly_missing());
        let one = median_ci(&[7.0], 0, CONFIDENCE).expect("estimate");
        assert_eq!(one, Estimate::single(7.0));
        assert_eq!(median_ci(&[], 3, CONFIDENCE), None);
        assert_eq!(median_ci(&[1.0, f64::NAN], 0, CONFIDENCE), None);
    }
}
