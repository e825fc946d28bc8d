//! `orchestrator compare BASELINE CURRENT`: the regression gate.
//!
//! Each side is a `result.json` (one run) or a `trials.json` (`run --trials N`). Every
//! tracked figure ([`Figure`]) of a side is an interval `[lo, hi]`: the confidence
//! interval of the median over the trials, or `[v, v]` for one run.
//!
//! **The rule.** With `t` the figure's threshold, a figure that gets worse upwards
//! (latencies, duplicates) *regresses* when
//!
//! ```text
//! current.lo > limit,   limit = baseline.hi × (1 + t)   (t relative, "15%")
//!                       limit = baseline.hi + t         (t absolute, "20ms", "0.005")
//! ```
//!
//! and one that gets worse downwards (delivery ratio) when `current.hi < limit` with
//! `limit = baseline.lo × (1 − t)` or `baseline.lo − t`. So with trials on both sides the
//! gate fails only when the whole current interval lies beyond the whole baseline interval
//! by more than the threshold; with single runs it is the plain "worse by more than t".
//! A figure the baseline measured but the current side did not (or did in fewer than half
//! its trials) regresses too; one the baseline lacks is not judged. The mirror test
//! (current interval entirely better by more than t) is reported as `improved`.
//!
//! Thresholds: `--threshold` (relative, default [`DEFAULT_THRESHOLD_PERCENT`] %) for every
//! figure but the delivery ratio, whose default is an absolute drop of
//! [`DEFAULT_DELIVERY_DROP`]; per-figure flags override either. A relative threshold is at
//! most [`MAX_RELATIVE_PERCENT`] % (at most 100 % for the delivery ratio), an absolute one
//! finite and non-negative (at most 1 for the delivery ratio).
//!
//! **Nothing judged, nothing passed.** A side that is not coherent (see
//! [`RunResult::problems`] and [`TrialsResult::problems`]) or that measured none of the
//! tracked figures in at least half its runs is refused, and so is a pair of sides without a
//! figure the baseline measured and the current side reports: the gate never passes on no
//! data.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::figures::{Figure, Unit, Worse};
use super::interval::Estimate;
use super::trials::TrialsResult;
use crate::error::{EXIT_TARGETS_MET, EXIT_TARGETS_MISSED, Error};
use crate::fsio::{self, Problem};
use crate::result::RunResult;

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

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// Where it was read from.
    pub path: PathBuf,
    /// The scenario's name.
    pub scenario: String,
    /// Runs behind it (1 for a `result.json`).
    pub runs: usize,
    /// Each figure it has a value for.
    pub figures: BTreeMap<Figure, Estimate>,
}

impl Side {
    /// One run's figures, each as a degenerate interval.
    pub fn from_result(path: &Path, r: &RunResult) -> Self {
        Side {
            path: path.to_path_buf(),
            scenario: r.scenario.clone(),
            runs: 1,
            figures: Figure::ALL
                .into_iter()
                .filter_map(|f| f.of(r).map(|v| (f, Estimate::single(v))))
                .collect(),
        }
    }

    /// A trials run's figures (figures of unknown keys are ignored).
    pub fn from_trials(path: &Path, t: &TrialsResult) -> Self {
        Side {
            path: path.to_path_buf(),
            scenario: t.scenario.clone(),
            runs: t.trials.len(),
            figures: t
                .figures
                .iter()
                .filter_map(|(k, e)| Figure::from_key(k).map(|f| (f, e.clone())))
                .collect(),
        }
    }

    /// Reads a `trials.json` or a `result.json` (told apart by the `format` field), at
    /// most [`fsio::RESULT_CAP`] bytes. Refuses, naming the file and the field, a file
    /// that is neither, one that is not coherent, and one that measured none of the tracked
    /// figures (in at least half its trials): it could not judge anything.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = fsio::read_capped(path, fsio::RESULT_CAP, "a result or trials file")?;
        let value = fsio::parse_json_value(path, &text)?;
        let side = if value.get("format").is_some() {
            let t = TrialsResult::from_json_value(path, &text, &value)?;
            Side::from_trials(path, &t)
        } else if value.get("run_id").is_some() {
            let r = RunResult::from_json_value(path, &text, &value)?;
            Side::from_result(path, &r)
        } else {
            return Err(fsio::bad_input(
                path,
                Problem::new(
                    "",
                    "is neither a result.json (no `run_id` field) nor a trials.json (no \
                     `format` field)",
                ),
            ));
        };
        if Figure::ALL.iter().all(|f| side.usable(*f).is_none()) {
            let (field, what) = if side.runs > 1 || value.get("format").is_some() {
                ("figures", "in at least half its trials")
            } else {
                ("stats", "at all")
            };
            return Err(fsio::bad_input(
                path,
                Problem::new(
                    field,
                    format!(
                        "measured none of the tracked figures ({}) {what}: nothing to judge",
                        keys(&Figure::ALL)
                    ),
                ),
            ));
        }
        Ok(side)
    }

    /// The usable estimate of `figure`: absent when not measured in at least half the runs.
    fn usable(&self, figure: Figure) -> Option<&Estimate> {
        self.figures.get(&figure).filter(|e| !e.mostly_missing())
    }
}

/// A figure's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Within the threshold.
    Ok,
    /// Worse by more than the threshold (or no longer measured).
    Regressed,
    /// Better by more than the threshold.
    Improved,
    /// The baseline has no value: not judged.
    NotJudged,
}

impl Status {
    fn text(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Regressed => "REGRESSED",
            Status::Improved => "improved",
            Status::NotJudged => "not judged",
        }
    }
}

/// One figure of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The figure.
    pub figure: Figure,
    /// The baseline's estimate.
    pub baseline: Option<Estimate>,
    /// The current side's estimate.
    pub current: Option<Estimate>,
    /// The threshold applied.
    pub threshold: Threshold,
    /// The value the current interval must not lie beyond (see the module docs).
    pub limit: Option<f64>,
    /// The verdict.
    pub status: Status,
}

/// A finished comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The baseline.
    pub baseline: Side,
    /// The current side.
    pub current: Side,
    /// One row per tracked figure.
    pub rows: Vec<Row>,
}

/// `value` moved by the threshold in direction `sign` (+1 worse-up, −1 worse-down).
fn shifted(value: f64, t: Threshold, sign: f64) -> f64 {
    match t {
        Threshold::Relative(r) => value * (1.0 + sign * r),
        Threshold::Absolute(a) => value + sign * a,
    }
}

/// Judges one figure by the rule in the module docs.
fn judge(figure: Figure, base: &Estimate, cur: Option<&Estimate>, t: Threshold) -> (f64, Status) {
    match figure.worse() {
        Worse::Higher => {
            let limit = shifted(base.high, t, 1.0);
            let status = match cur {
                None => Status::Regressed,
                Some(c) if c.low > limit => Status::Regressed,
                Some(c) if c.high < shifted(base.low, t, -1.0) => Status::Improved,
                Some(_) => Status::Ok,
            };
            (limit, status)
        }
        Worse::Lower => {
            let limit = shifted(base.low, t, -1.0);
            let status = match cur {
                None => Status::Regressed,
                Some(c) if c.high < limit => Status::Regressed,
                Some(c) if c.low > shifted(base.high, t, 1.0) => Status::Improved,
                Some(_) => Status::Ok,
            };
            (limit, status)
        }
    }
}

/// The keys of `figures`, comma-separated.
fn keys(figures: &[Figure]) -> String {
    figures
        .iter()
        .map(|f| f.key())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares `current` against `baseline`, figure by figure. Refuses (naming the current
/// side) a pair without a single figure that the baseline measured and the current side
/// reports: such a comparison would judge nothing.
pub fn compare(
    baseline: &Side,
    current: &Side,
    thresholds: &Thresholds,
) -> Result<Comparison, Error> {
    let measured: Vec<Figure> = Figure::ALL
        .into_iter()
        .filter(|f| baseline.usable(*f).is_some())
        .collect();
    if !measured.iter().any(|f| current.figures.contains_key(f)) {
        let message = if measured.is_empty() {
            format!(
                "cannot be judged: the baseline {} measured no tracked figure",
                baseline.path.display()
            )
        } else {
            format!(
                "reports none of the figures the baseline {} measured ({}): nothing to compare",
                baseline.path.display(),
                keys(&measured)
            )
        };
        return Err(fsio::bad_input(&current.path, Problem::new("", message)));
    }
    let rows = Figure::ALL
        .into_iter()
        .map(|figure| {
            let threshold = thresholds.of(figure);
            let base = baseline.usable(figure);
            let cur = current.usable(figure);
            let (limit, status) = match base {
                Some(b) => {
                    let (limit, status) = judge(figure, b, cur, threshold);
                    (Some(limit), status)
                }
                None => (None, Status::NotJudged),
            };
            Row {
                figure,
                baseline: base.cloned(),
                current: current.figures.get(&figure).cloned(),
                threshold,
                limit,
                status,
            }
        })
        .collect();
    Ok(Comparison {
        baseline: baseline.clone(),
        current: current.clone(),
        rows,
    })
}

impl Comparison {
    /// How many figures were judged (every row but the "not judged" ones).
    pub fn judged(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.status != Status::NotJudged)
            .count()
    }

    /// The figures that regressed.
    pub fn regressions(&self) -> Vec<Figure> {
        self.rows
            .iter()
            .filter(|r| r.status == Status::Regressed)
            .map(|r| r.figure)
            .collect()
    }

    /// 0 when nothing regressed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.regressions().is_empty() {
            EXIT_TARGETS_MET
        } else {
            EXIT_TARGETS_MISSED
        }
    }

    /// The side-by-side table and the verdict.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let side = |s: &Side| {
            format!(
                "{} ({}, {} {})",
                s.path.display(),
                s.scenario,
                s.runs,
                if s.runs == 1 { "run" } else { "trials" }
            )
        };
        let _ = writeln!(o, "baseline  {}", side(&self.baseline));
        let _ = writeln!(o, "current   {}", side(&self.current));
        if self.baseline.scenario != self.current.scenario {
            let _ = writeln!(
                o,
                "warning: the sides ran different scenarios ({} vs {})",
                self.baseline.scenario, self.current.scenario
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<20} {:<6} {:>9} {:<20} {:>9} {:<20} {:>8} {:>9} {:<9} result",
            "figure", "unit", "baseline", "[CI]", "current", "[CI]", "change", "limit", "threshold"
        );
        for r in &self.rows {
            let unit = r.figure.unit();
            let value = |e: &Option<Estimate>| {
                e.as_ref()
                    .map_or_else(|| "-".to_string(), |e| unit.format(e.median))
            };
            let ci = |e: &Option<Estimate>| match e {
                Some(e) if e.n > 1 => {
                    format!("[{}, {}]", unit.format(e.low), unit.format(e.high))
                }
                Some(_) => "(1 run)".to_string(),
                None => String::new(),
            };
            let change = match (&r.baseline, &r.current) {
                (Some(b), Some(c)) if b.median != 0.0 => {
                    format!("{:+.1}%", (c.median - b.median) / b.median * 100.0)
                }
                _ => "-".to_string(),
            };
            let bound = match (r.limit, r.figure.worse()) {
                (Some(l), Worse::Higher) => format!("> {}", unit.format(l)),
                (Some(l), Worse::Lower) => format!("< {}", unit.format(l)),
                (None, _) => "-".to_string(),
            };
            let _ = writeln!(
                o,
                "{:<20} {:<6} {:>9} {:<20} {:>9} {:<20} {:>8} {:>9} {:<9} {}",
                r.figure.label(),
                unit.name(),
                value(&r.baseline),
                ci(&r.baseline),
                value(&r.current),
                ci(&r.current),
                change,
                bound,
                r.threshold.to_string(),
                r.status.text()
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "rule: a figure regresses when the current CI lies beyond the baseline CI by more \
             than its threshold (limit column: the current CI's near end must not pass it)"
        );
        let regressed = self.regressions();
        if regressed.is_empty() {
            let _ = writeln!(
                o,
                "verdict: no regression ({} of {} figures judged)",
                self.judged(),
                self.rows.len()
            );
        } else {
            let names: Vec<&str> = regressed.iter().map(|f| f.key()).collect();
            let _ = writeln!(
                o,
                "verdict: {} of {} figures regressed: {}",
                regressed.len(),
                self.rows.len(),
                names.join(", ")
            );
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::figures::tests::result_with;
    use crate::gate::trials::summarise;

    fn run(p50: f64, p99: f64, delivery: f64) -> RunResult {
        result_with(p50, p50 * 2.0, p99, p99 * 1.2, delivery, 1.8)
    }

    fn single(r: &RunResult) -> Side {
        Side::from_result(Path::new("r.json"), r)
    }

    fn trials(rs: &[RunResult]) -> Side {
        let mut rs = rs.to_vec();
        for (i, r) in rs.iter_mut().enumerate() {
            r.run_id = format!("t-{i}");
        }
        Side::from_trials(Path::new("t.json"), &summarise(&rs).expect("summary"))
    }

    fn status(c: &Comparison, f: Figure) -> Status {
        c.rows.iter().find(|r| r.figure == f).expect("row").status
    }

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
    fn single_runs_regress_past_the_relative_threshold_only() {
        let base = single(&run(30.0, 100.0, 1.0));
        let t = Thresholds::default();
        // +24 % p99: within 25 %.
        let c = compare(&base, &single(&run(30.0, 124.0, 1.0)), &t).expect("judged");
        assert_eq!(status(&c, Figure::P99), Status::Ok);
        assert_eq!(c.exit_code(), 0);
        // +26 % p99: regressed.
        let c = compare(&base, &single(&run(30.0, 126.0, 1.0)), &t).expect("judged");
        assert_eq!(status(&c, Figure::P99), Status::Regressed);
        assert_eq!(c.regressions(), vec![Figure::P99, Figure::Coverage100P99]);
        assert_eq!(c.exit_code(), 1);
        assert!(c.render().contains("REGRESSED"), "{}", c.render());
        // A per-figure flag loosens it.
        let mut loose = Thresholds::default();
        loose
            .per_figure
            .insert(Figure::P99, Threshold::Relative(0.30));
        loose
            .per_figure
            .insert(Figure::Coverage100P99, Threshold::Absolute(40.0));
        let c = compare(&base, &single(&run(30.0, 126.0, 1.0)), &loose).expect("judged");
        assert_eq!(c.exit_code(), 0, "{}", c.render());
        // Much faster is reported, and passes.
        let c = compare(&base, &single(&run(10.0, 50.0, 1.0)), &t).expect("judged");
        assert_eq!(status(&c, Figure::P99), Status::Improved);
        assert_eq!(c.exit_code(), 0);
    }

    #[test]
    fn delivery_regresses_downwards_by_its_absolute_default() {
        let base = single(&run(30.0, 100.0, 1.0));
        let t = Thresholds::default();
        let c = compare(&base, &single(&run(30.0, 100.0, 0.996)), &t).expect("judged");
        assert_eq!(status(&c, Figure::Delivery), Status::Ok);
        let c = compare(&base, &single(&run(30.0, 100.0, 0.99)), &t).expect("judged");
        assert_eq!(status(&c, Figure::Delivery), Status::Regressed);
    }

    #[test]
    fn with_trials_only_a_whole_interval_beyond_the_baseline_fails() {
        // Baseline p99 over 5 trials: CI = [min, max] = [80, 200].
        let base = trials(&[
            run(30.0, 80.0, 1.0),
            run(30.0, 90.0, 1.0),
            run(30.0, 100.0, 1.0),
            run(30.0, 150.0, 1.0),
            run(30.0, 200.0, 1.0),
        ]);
        let t = Thresholds::default();
        // Limit = 200 × 1.25 = 250. Current CI [120, 400]: its low end is within: ok, though
        // its median (260) is far above the baseline's (100) and one run (400) is too.
        let noisy = trials(&[
            run(30.0, 120.0, 1.0),
            run(30.0, 200.0, 1.0),
            run(30.0, 260.0, 1.0),
            run(30.0, 300.0, 1.0),
            run(30.0, 400.0, 1.0),
        ]);
        let c = compare(&base, &noisy, &t).expect("judged");
        assert_eq!(status(&c, Figure::P99), Status::Ok, "{}", c.render());
        // Current CI [260, 400]: entirely beyond 250: regressed.
        let slow = trials(&[
            run(30.0, 260.0, 1.0),
            run(30.0, 280.0, 1.0),
            run(30.0, 300.0, 1.0),
            run(30.0, 350.0, 1.0),
            run(30.0, 400.0, 1.0),
        ]);
        let c = compare(&base, &slow, &t).expect("judged");
        assert_eq!(status(&c, Figure::P99), Status::Regressed, "{}", c.render());
        assert_eq!(
            c.rows
                .iter()
                .find(|r| r.figure == Figure::P99)
                .expect("row")
                .limit,
            Some(250.0)
        );
        // A single current run is judged against the same limit.
        let c = compare(&base, &single(&run(30.0, 249.0, 1.0)), &t).expect("judged");
        assert_eq!(status(&c, Figure::P99), Status::Ok);
        let c = compare(&base, &single(&run(30.0, 251.0, 1.0)), &t).expect("judged");
        assert_eq!(status(&c, Figure::P99), Status::Regressed);
    }

    #[test]
    fn a_figure_no_longer_measured_regresses_and_one_never_measured_is_not_judged() {
        let base = single(&run(30.0, 100.0, 1.0));
        let mut r = run(30.0, 100.0, 1.0);
        r.stats.coverage[0].never = 2;
        let c = compare(&base, &single(&r), &Thresholds::default()).expect("judged");
        assert_eq!(status(&c, Figure::Coverage100P99), Status::Regressed);
        let c = compare(&single(&r), &base, &Thresholds::default()).expect("judged");
        assert_eq!(status(&c, Figure::Coverage100P99), Status::NotJudged);
        assert_eq!(c.exit_code(), 0);
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

    #[test]
    fn a_comparison_without_a_common_figure_is_refused() {
        let mut only_p50 = single(&run(30.0, 100.0, 1.0));
        only_p50.figures.retain(|f, _| *f == Figure::P50);
        let mut no_p50 = single(&run(30.0, 100.0, 1.0));
        no_p50.figures.remove(&Figure::P50);
        let e = compare(&only_p50, &no_p50, &Thresholds::default()).expect_err("nothing");
        assert_eq!(e.exit_code(), crate::error::EXIT_INVALID);
        assert!(e.to_string().contains("reports none of the figures"), "{e}");
        assert!(e.to_string().contains("(p50)"), "{e}");
        let mut empty = only_p50.clone();
        empty.figures.clear();
        let e = compare(&empty, &no_p50, &Thresholds::default()).expect_err("nothing");
        assert!(e.to_string().contains("measured no tracked figure"), "{e}");
        // One figure in common is judged: here it regressed (no longer measured enough).
        let mut lost = only_p50.clone();
        lost.figures.get_mut(&Figure::P50).expect("p50").missing = 1;
        let c = compare(&only_p50, &lost, &Thresholds::default()).expect("judged");
        assert_eq!((c.judged(), c.exit_code()), (1, 1));
    }

    #[test]
    fn a_side_that_measured_nothing_is_refused_on_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = run(30.0, 100.0, 1.0);
        r.stats.latency = Default::default();
        r.stats.coverage.clear();
        r.stats.delivery = Default::default();
        r.stats.duplicates = None;
        r.targets.clear();
        let path = r.write_json(dir.path()).expect("written");
        let e = Side::load(&path).expect_err("nothing measured");
        assert_eq!(e.exit_code(), crate::error::EXIT_INVALID);
        assert!(
            e.to_string().contains("field `stats`: measured none"),
            "{e}"
        );
        let mut other = r.clone();
        other.run_id = "synthetic-00000001".into();
        let t = summarise(&[r, other]).expect("summary");
        assert!(t.figures.is_empty());
        let path = t.write_json(dir.path()).expect("written");
        let e = Side::load(&path).expect_err("nothing measured");
        assert!(
            e.to_string().contains("field `figures`: measured none"),
            "{e}"
        );
    }

    #[test]
    fn sides_load_from_result_and_trials_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = run(30.0, 100.0, 1.0);
        let rpath = r.write_json(dir.path()).expect("result");
        let side = Side::load(&rpath).expect("loads");
        assert_eq!((side.runs, side.figures.len()), (1, 6));
        let mut other = r.clone();
        other.run_id = "synthetic-00000001".into();
        let t = summarise(&[r, other]).expect("summary");
        let tpath = t.write_json(dir.path()).expect("trials");
        let side = Side::load(&tpath).expect("loads");
        assert_eq!(side.runs, 2);
        let junk = dir.path().join("junk.json");
        std::fs::write(&junk, "{\"a\": 1}").expect("write");
        let err = Side::load(&junk).expect_err("junk");
        assert!(err.to_string().contains("neither"), "{err}");
        assert_eq!(err.exit_code(), crate::error::EXIT_INVALID);
        let err = Side::load(&dir.path().join("missing.json")).expect_err("missing");
        assert_eq!(err.exit_code(), crate::error::EXIT_INVALID);
        assert!(err.to_string().starts_with("read "), "{err}");
    }
}
