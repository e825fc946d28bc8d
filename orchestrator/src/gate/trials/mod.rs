//! `orchestrator run --trials N`: the same scenario N times, one after the other, and per
//! tracked figure the median over the trials with a confidence interval of the median
//! (see [`super::interval`]). Written as `reports/<scenario>-trials-<id>/trials.json`;
//! every trial also keeps its own `reports/<run-id>/result.json`.
//!
//! The targets of a trials run are checked against the median, over the trials, of each
//! target's measurement (a trial that measured nothing counts as the worst value), so one
//! unlucky trial on a noisy host does not miss a target the scenario meets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod checks;

use super::figures::Figure;
use super::interval::{CONFIDENCE, Estimate, median_ci};
use crate::error::Error;
use crate::fsio::{self, Problem};
use crate::result::json::{read_validated, write_pretty};
use crate::result::{Comparison, RunResult, TargetCheck, Verdict};
use crate::run::runner::RunnerKind;
use crate::scenario::profile::LinkProfile;
use crate::scenario::slug;

/// The `format` field of every `trials.json`, which tells it from a `result.json`.
pub const TRIALS_FORMAT: &str = "meshlab-trials/1";
/// Most trials one `run --trials` makes (and a trials file may list).
pub const MAX_TRIALS: usize = 100;
/// Most distorted trials `run --trials N --rerun-distorted M` runs again.
pub const MAX_RERUNS: usize = 10;

/// One trial, as recorded in `trials.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trial {
    /// The trial's run id (its `reports/<run-id>/result.json`).
    pub run_id: String,
    /// Whether the trial met every target.
    pub met: bool,
    /// Whether the lab distorted the trial (then it counts as failed and the trials are
    /// not judged).
    #[serde(default)]
    pub distorted: bool,
    /// Each tracked figure by key; `None` = not measured in this trial.
    pub figures: BTreeMap<String, Option<f64>>,
}

/// A distorted trial that was set aside and run again in its place (`run --trials N
/// --rerun-distorted M`): its figures are the host's, so none of them counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAside {
    /// The trial's run id (its `reports/<run-id>/result.json`).
    pub run_id: String,
    /// Why the lab judged it distorted (its `result.json`'s `distorted`).
    pub causes: Vec<String>,
}

impl SetAside {
    /// The record of the distorted run `r`.
    pub fn of(r: &RunResult) -> Self {
        SetAside {
            run_id: r.run_id.clone(),
            causes: r.distorted.clone(),
        }
    }
}

/// Everything a trials run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialsResult {
    /// Always [`TRIALS_FORMAT`].
    pub format: String,
    /// `<scenario>-trials-<8 hex digits>`, also the name of its folder.
    pub id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's seed (every trial runs the same plan).
    pub seed: u64,
    /// The shaper back ends the trials used (one entry when all agree).
    pub shapers: Vec<String>,
    /// The runners that carried the trials out (`docker`, `swarm`; one entry when all
    /// agree). Empty in trials files written before it was recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runners: Vec<String>,
    /// The link profile imposed.
    pub link: LinkProfile,
    /// The confidence asked of each interval (each [`Estimate`] records what it has).
    pub confidence_level: f64,
    /// The trials, in the order they ran.
    pub trials: Vec<Trial>,
    /// Distorted trials set aside and run again in their place, in the order they ran;
    /// none of their figures is in `trials` or `figures`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<SetAside>,
    /// Per figure key: median, confidence interval and range over the trials.
    pub figures: BTreeMap<String, Estimate>,
    /// The scenario's targets checked against the median of each measurement.
    pub targets: Vec<TargetCheck>,
}

/// The worst possible value of a measurement compared this way.
fn worst(comparison: Comparison) -> f64 {
    match comparison {
        Comparison::Below | Comparison::AtMost => f64::INFINITY,
        Comparison::AtLeast => f64::NEG_INFINITY,
    }
}

/// The targets of the first trial, each re-checked against the median over all trials
/// of its measurement (a trial without a measurement counting as the worst value).
fn median_targets(results: &[RunResult]) -> Vec<TargetCheck> {
    let Some(first) = results.first() else {
        return Vec::new();
    };
    first
        .targets
        .iter()
        .map(|t| {
            let mut values: Vec<f64> = results
                .iter()
                .map(|r| {
                    r.targets
                        .iter()
                        .find(|o| o.name == t.name)
                        .and_then(|o| o.measured)
                        .unwrap_or_else(|| worst(t.comparison))
                })
                .collect();
            values.sort_by(f64::total_cmp);
            // The lower median for Below/AtMost would flatter; take the worse middle one.
            let k = values.len() / 2;
            let median = match t.comparison {
                Comparison::AtLeast => values[(values.len() - 1) / 2],
                Comparison::Below | Comparison::AtMost => values[k],
            };
            let measured = median.is_finite().then_some(median);
            TargetCheck {
                measured,
                met: measured.is_some_and(|m| t.comparison.holds(m, t.target)),
                ..t.clone()
            }
        })
        .collect()
}

/// Summarises finished trials of one scenario (at least one).
pub fn summarise(results: &[RunResult]) -> Result<TrialsResult, Error> {
    let first = results
        .first()
        .ok_or_else(|| Error::Usage("summarise trials: no trial ran".into()))?;
    let trials: Vec<Trial> = results
        .iter()
        .map(|r| Trial {
            run_id: r.run_id.clone(),
            met: r.verdict(),
            distorted: r.distorted(),
            figures: Figure::ALL
                .into_iter()
                .map(|f| (f.key().to_string(), f.of(r)))
                .collect(),
        })
        .collect();
    let mut figures = BTreeMap::new();
    for f in Figure::ALL {
        let values: Vec<f64> = results.iter().filter_map(|r| f.of(r)).collect();
        let missing = results.len() - values.len();
        if let Some(e) = median_ci(&values, missing, CONFIDENCE) {
            figures.insert(f.key().to_string(), e);
        }
    }
    let mut shapers: Vec<String> = results.iter().map(|r| r.shaper.clone()).collect();
    shapers.sort();
    shapers.dedup();
    let mut runners: Vec<String> = results
        .iter()
        .map(|r| {
            RunnerKind::of_result(&r.runner).map_or_else(|| r.runner.clone(), |k| k.name().into())
        })
        .collect();
    runners.sort();
    runners.dedup();
    let ids: String = results.iter().map(|r| r.run_id.as_str()).collect();
    let tag = blake3::hash(ids.as_bytes()).to_hex();
    Ok(TrialsResult {
        format: TRIALS_FORMAT.to_string(),
        id: format!("{}-trials-{}", slug(&first.scenario), &tag[..8]),
        scenario: first.scenario.clone(),
        seed: first.seed,
        shapers,
        runners,
        link: first.link.clone(),
        confidence_level: CONFIDENCE,
        trials,
        set_aside: Vec::new(),
        figures,
        targets: median_targets(results),
    })
}

impl TrialsResult {
    /// The runners that carried the trials out, as `docker` or `docker,swarm` (a file
    /// written before they were recorded: the Docker runner's).
    pub fn runner_names(&self) -> String {
        if self.runners.is_empty() {
            RunnerKind::Docker.name().to_string()
        } else {
            self.runners.join(",")
        }
    }

    /// The estimate of `figure`, if any trial measured it.
    pub fn estimate(&self, figure: Figure) -> Option<&Estimate> {
        self.figures.get(figure.key())
    }

    /// Writes `reports_dir/<id>/trials.json` and returns its path.
    pub fn write_json(&self, reports_dir: &Path) -> Result<PathBuf, Error> {
        write_pretty(&reports_dir.join(&self.id), "trials.json", self)
    }

    /// Reads a `trials.json` (at most [`fsio::RESULT_CAP`] bytes); fails unless its
    /// `format` is [`TRIALS_FORMAT`] and it is coherent (see [`TrialsResult::problems`]).
    pub fn read_json(path: &Path) -> Result<Self, Error> {
        read_validated(path, "a trials file", Self::from_json_value)
    }

    /// Parses and validates the `trials.json` text read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Error> {
        let value = fsio::parse_json_value(path, text)?;
        Self::from_json_value(path, text, &value)
    }

    /// Parses the JSON `text` of `path` (already parsed as `value`) as a trials file and
    /// validates it: the format first, then the fields, then [`TrialsResult::problems`].
    pub fn from_json_value(
        path: &Path,
        text: &str,
        value: &serde_json::Value,
    ) -> Result<Self, Error> {
        match value.get("format") {
            Some(serde_json::Value::String(f)) if f == TRIALS_FORMAT => {}
            Some(serde_json::Value::String(f)) => {
                return Err(fsio::bad_input(
                    path,
                    Problem::new(
                        "format",
                        format!(
                            "is {}, not {TRIALS_FORMAT:?} (a trials file of another version?)",
                            fsio::quoted(f)
                        ),
                    ),
                ));
            }
            _ => {
                return Err(fsio::bad_input(
                    path,
                    Problem::new("format", format!("must be the string {TRIALS_FORMAT:?}")),
                ));
            }
        }
        let t: TrialsResult = fsio::parse_json(path, text)?;
        t.problems().into_result(path)?;
        Ok(t)
    }
}

/// Verdicts on the medians: met when every target was met on them; not judged when a
/// trial was distorted.
impl Verdict for TrialsResult {
    fn target_checks(&self) -> &[TargetCheck] {
        &self.targets
    }

    fn distorted(&self) -> bool {
        self.trials.iter().any(|t| t.distorted)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::{EXIT_TARGETS_MET, EXIT_TARGETS_MISSED};
    use crate::gate::figures::tests::result_with;
    use crate::result::fixtures::{has, lines};

    pub(crate) fn three() -> Vec<RunResult> {
        let mut rs = vec![
            result_with(30.0, 60.0, 80.0, 95.0, 1.0, 1.8),
            result_with(31.0, 62.0, 250.0, 300.0, 1.0, 1.9),
            result_with(29.0, 58.0, 90.0, 99.0, 0.98, 1.7),
        ];
        for (i, r) in rs.iter_mut().enumerate() {
            r.run_id = format!("synthetic-{i:08}");
        }
        rs
    }

    #[test]
    fn medians_intervals_and_targets_over_trials() {
        let t = summarise(&three()).expect("summary");
        assert_eq!(t.format, TRIALS_FORMAT);
        assert!(t.id.starts_with("synthetic-trials-"), "{}", t.id);
        assert_eq!(t.trials.len(), 3);
        assert_eq!(
            t.runners,
            ["docker"],
            "results without a runner ran on Docker"
        );
        let mut mixed = three();
        mixed[1].runner = "swarm".into();
        let runners = summarise(&mixed).expect("summary").runners;
        assert_eq!(runners, ["docker", "swarm"]);
        let p99 = t.estimate(Figure::P99).expect("p99");
        assert_eq!((p99.median, p99.low, p99.high), (90.0, 80.0, 250.0));
        assert_eq!(p99.n, 3);
        // Trial 1 missed p99 < 200 ms on its own, trial 2 delivery; the medians meet both.
        assert!(!t.trials[1].met);
        let target = |n: &str| t.targets.iter().find(|c| c.name == n).expect("target");
        assert_eq!(target("p99").measured, Some(90.0));
        assert!(target("p99").met);
        // delivery ≥ 0.99: values 1.0, 1.0, 0.98 → median 1.0.
        assert_eq!(target("delivery").measured, Some(1.0));
        assert!(t.verdict());
        assert_eq!(t.exit_code(), EXIT_TARGETS_MET);
    }

    #[test]
    fn a_majority_of_misses_misses_the_median_target() {
        let mut rs = three();
        rs[0].stats.latency.p99_us = None;
        for t in rs[0].targets.iter_mut().filter(|t| t.name == "p99") {
            t.measured = None;
            t.met = false;
        }
        // Trial 0 measured no p99 (counts as the worst value), trial 1 has 250 ms.
        let t = summarise(&rs).expect("summary");
        let p99 = t.targets.iter().find(|c| c.name == "p99").expect("p99");
        assert_eq!(p99.measured, Some(250.0));
        assert!(!p99.met);
        assert_eq!(t.exit_code(), EXIT_TARGETS_MISSED);
        let e = t.estimate(Figure::P99).expect("p99");
        assert_eq!((e.n, e.missing), (2, 1));
    }

    #[test]
    fn trials_json_round_trips_and_is_told_from_a_result() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = summarise(&three()).expect("summary");
        let path = t.write_json(dir.path()).expect("written");
        assert_eq!(path, dir.path().join(&t.id).join("trials.json"));
        assert_eq!(TrialsResult::read_json(&path).expect("read"), t);
        let here = Path::new("t.json");
        let result = serde_json::to_string(&three()[0]).expect("json");
        let err = TrialsResult::parse(here, &result).expect_err("a result");
        assert!(err.to_string().contains("field `format`"), "{err}");
        let other = serde_json::to_string(&TrialsResult {
            format: "x/9".into(),
            ..t
        })
        .expect("json");
        let err = TrialsResult::parse(here, &other).expect_err("wrong format");
        assert!(err.to_string().contains("x/9"), "{err}");
    }

    /// The problems of `t` as `field: message` lines.
    fn problems(t: &TrialsResult) -> Vec<String> {
        lines(&t.problems())
    }

    #[test]
    fn a_summary_is_coherent_and_the_committed_baseline_too() {
        let t = summarise(&three()).expect("summary");
        assert_eq!(problems(&t), Vec::<String>::new());
        let baseline =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/baselines/smoke.trials.json");
        TrialsResult::read_json(&baseline).expect("the committed baseline is coherent");
    }

    #[test]
    fn no_trial_or_inconsistent_counts_are_refused() {
        let t = summarise(&three()).expect("summary");
        let empty = TrialsResult {
            trials: Vec::new(),
            ..t.clone()
        };
        let got = problems(&empty);
        assert!(has(&got, "trials", "lists no trial"), "{got:#?}");
        let mut counts = t.clone();
        counts.figures.get_mut("p99").expect("p99").n = 7;
        assert!(has(
            &problems(&counts),
            "figures.p99.n",
            "disagree with the trials"
        ));
        let mut lost = t.clone();
        lost.figures.remove("p50");
        assert!(has(
            &problems(&lost),
            "figures",
            "lacks p50, which 3 of the 3"
        ));
        let mut forged = t.clone();
        let p50 = forged.figures.get_mut("p50").expect("p50");
        p50.median = 29.5;
        assert!(has(
            &problems(&forged),
            "figures.p50",
            "not what the trials' values give"
        ));
        let mut unknown = t.clone();
        unknown.trials[1].figures.insert("p42".into(), Some(1.0));
        assert!(has(
            &problems(&unknown),
            "trials[1].figures.p42",
            "not a tracked figure"
        ));
        let mut ratio = t.clone();
        ratio.trials[0].figures.insert("delivery".into(), Some(7.5));
        assert!(has(
            &problems(&ratio),
            "trials[0].figures.delivery",
            "not a ratio"
        ));
        let mut twice = t;
        twice.trials[2].run_id = twice.trials[0].run_id.clone();
        twice.confidence_level = 1.5;
        let got = problems(&twice);
        assert!(has(&got, "trials[2].run_id", "repeats trial"), "{got:#?}");
        assert!(
            has(&got, "confidence_level", "not a probability"),
            "{got:#?}"
        );
    }

    #[test]
    fn set_aside_trials_round_trip_and_must_name_their_distortion() {
        let mut t = summarise(&three()).expect("summary");
        let mut d = three().remove(0);
        d.run_id = "synthetic-0000000f".into();
        d.distorted = vec!["the host was 99 % busy".into()];
        t.set_aside = vec![SetAside::of(&d)];
        assert_eq!(problems(&t), Vec::<String>::new());
        assert!(t.verdict(), "a set-aside trial leaves the trials judged");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = t.write_json(dir.path()).expect("written");
        assert_eq!(TrialsResult::read_json(&path).expect("read"), t);
        let none = summarise(&three()).expect("summary");
        let text = serde_json::to_string(&none).expect("json");
        assert!(!text.contains("set_aside"), "absent when empty: {text}");
        let mut bad = t.clone();
        bad.set_aside[0].causes.clear();
        bad.set_aside.push(SetAside {
            run_id: t.trials[1].run_id.clone(),
            causes: vec!["two\nlines".into()],
        });
        let got = problems(&bad);
        assert!(has(&got, "set_aside[0].causes", "is empty"), "{got:#?}");
        assert!(
            has(&got, "set_aside[1].run_id", "repeats trial"),
            "{got:#?}"
        );
        assert!(
            has(&got, "set_aside[1].causes[0]", "a line of text"),
            "{got:#?}"
        );
    }

    #[test]
    fn runners_must_be_known_sorted_and_listed_once() {
        let t = summarise(&three()).expect("summary");
        let mut bad = t.clone();
        bad.runners = vec!["swarm".into(), "docker".into(), "k8s".into()];
        let got = problems(&bad);
        assert!(has(&got, "runners", "must be sorted"), "{got:#?}");
        assert!(
            has(
                &got,
                "runners[2]",
                "is \"k8s\", not a runner (docker, swarm)"
            ),
            "{got:#?}"
        );
        let mut r = three().remove(0);
        r.runner = "k8s".into();
        let got = lines(&r.problems());
        assert!(has(&got, "runner", "not a runner"), "{got:#?}");
        let old = TrialsResult {
            runners: Vec::new(),
            ..t
        };
        assert_eq!(old.runner_names(), "docker");
    }

    #[test]
    fn no_trial_is_an_error() {
        assert!(summarise(&[]).is_err());
    }
}
