//! Reading a side of the comparison: a `result.json` (one run) or a `trials.json`, as an
//! estimate of each tracked figure, refused when it could judge nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::keys;
use crate::error::Error;
use crate::fsio::{self, Problem};
use crate::gate::figures::Figure;
use crate::gate::interval::Estimate;
use crate::gate::trials::TrialsResult;
use crate::result::{RunResult, Verdict};

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
    /// Whether the lab distorted it (a run, or any trial): its figures are the host's.
    pub distorted: bool,
    /// Distorted trials set aside and run again (`run --rerun-distorted`): none of their
    /// figures is here, but a reader of the comparison should know of them.
    pub set_aside: usize,
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
            distorted: r.distorted(),
            set_aside: 0,
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
            distorted: t.distorted(),
            set_aside: t.set_aside.len(),
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
    pub(super) fn usable(&self, figure: Figure) -> Option<&Estimate> {
        self.figures.get(&figure).filter(|e| !e.mostly_missing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::compare::tests::run;
    use crate::gate::trials::summarise;

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
