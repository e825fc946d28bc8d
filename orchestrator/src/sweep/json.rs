//! `sweep.json`: the sweep's parameters, the figures it tracks, and every point with its
//! values, run ids, verdict (distorted with its causes) and figures. Rewritten after each
//! point, so an interrupted sweep keeps what it measured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::figures::{FigureDef, Readings, fixed_defs};
use super::grid::{Grid, Point};
use crate::error::{EXIT_DISTORTED, EXIT_INFRA, EXIT_INTERRUPTED, EXIT_TARGETS_MET, Error};
use crate::result::TargetCheck;
use crate::result::json::write_pretty;

/// The `format` field of every `sweep.json`.
pub const SWEEP_FORMAT: &str = "meshlab-sweep/1";
/// The file's name in the sweep's folder.
pub const SWEEP_FILE: &str = "sweep.json";

/// How a point ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Ran and met every target.
    Met,
    /// Ran and missed a target.
    Missed,
    /// Ran, but measured its host rather than the network: figures are not results.
    Distorted,
    /// Did not finish: infrastructure failure or interrupted (see `error`).
    Failed,
    /// Not started (the sweep was interrupted before it).
    NotRun,
}

impl Status {
    /// The status as the table shows it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Missed => "missed",
            Status::Distorted => "distorted",
            Status::Failed => "failed",
            Status::NotRun => "not run",
        }
    }

    /// Whether the point's figures are results (drawn joined in the charts).
    pub fn is_result(self) -> bool {
        matches!(self, Status::Met | Status::Missed)
    }
}

/// One swept parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    /// Its path, dotted.
    pub path: String,
    /// Its values as given, in order.
    pub values: Vec<String>,
}

/// One parameter's value at a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetEntry {
    /// The parameter's path.
    pub path: String,
    /// The value as given.
    pub value: String,
}

/// One point of the grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointResult {
    /// 1-based, in grid order.
    pub index: usize,
    /// Which value of each parameter (0-based, parameter order): where it sits in the
    /// charts.
    pub at: Vec<usize>,
    /// The values, in parameter order.
    pub set: Vec<SetEntry>,
    /// The scenario seed the point ran with.
    pub seed: u64,
    /// How it ended.
    pub status: Status,
    /// The run id of each trial (`<reports>/<run-id>/result.json`).
    pub run_ids: Vec<String>,
    /// With `--trials`: the trials summary's id (`<reports>/<id>/trials.json`).
    pub trials_id: Option<String>,
    /// Why it was distorted (per trial with `--trials`); empty when it was not.
    pub distorted: Vec<String>,
    /// The scenario's targets checked (on the medians with `--trials`).
    pub targets: Vec<TargetCheck>,
    /// Each tracked figure (the median over trials with `--trials`); `None` = not measured.
    pub figures: BTreeMap<String, Option<f64>>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Everything a sweep produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepResult {
    /// Always [`SWEEP_FORMAT`].
    pub format: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file.
    pub scenario_file: PathBuf,
    /// Runs per point.
    pub trials: usize,
    /// The parameters, in `--set` order; the first is the charts' x axis.
    pub parameters: Vec<Parameter>,
    /// The tracked figures: the fixed table, then any found in results.
    pub figures: Vec<FigureDef>,
    /// Every point in grid order (those not run yet too).
    pub points: Vec<PointResult>,
    /// Whether Ctrl-C stopped the sweep.
    pub interrupted: bool,
}

impl SweepResult {
    /// A sweep of `grid` in which no point has run yet; `seeds` gives each point's seed.
    pub fn new(scenario: &str, file: &Path, trials: usize, grid: &Grid, seeds: &[u64]) -> Self {
        let points = grid
            .points()
            .iter()
            .zip(seeds)
            .enumerate()
            .map(|(i, (p, &seed))| PointResult {
                index: i + 1,
                at: p.0.clone(),
                set: entries(grid, p),
                seed,
                status: Status::NotRun,
                run_ids: Vec::new(),
                trials_id: None,
                distorted: Vec::new(),
                targets: Vec::new(),
                figures: BTreeMap::new(),
                error: None,
            })
            .collect();
        SweepResult {
            format: SWEEP_FORMAT.to_string(),
            scenario: scenario.to_string(),
            scenario_file: file.to_path_buf(),
            trials,
            parameters: grid
                .flags
                .iter()
                .map(|f| Parameter {
                    path: f.path.to_string(),
                    values: f.values.iter().map(|v| v.text.clone()).collect(),
                })
                .collect(),
            figures: fixed_defs(),
            points,
            interrupted: false,
        }
    }

    /// Records `readings` as point `i`'s figures, adding any new section figure.
    pub fn record(&mut self, i: usize, readings: Readings) {
        for d in readings.found {
            if !self.figures.contains(&d) {
                self.figures.push(d);
            }
        }
        if let Some(p) = self.points.get_mut(i) {
            p.figures = readings.values;
        }
    }

    /// Writes `dir/sweep.json` and returns its path.
    pub fn write_json(&self, dir: &Path) -> Result<PathBuf, Error> {
        write_pretty(dir, SWEEP_FILE, self)
    }

    /// The exit code: 4 when interrupted, 3 when a point failed, 5 when a point was
    /// distorted, else 0 (missed targets do not count: a sweep reports, it does not gate).
    pub fn exit_code(&self) -> u8 {
        let any = |s: Status| self.points.iter().any(|p| p.status == s);
        if self.interrupted {
            EXIT_INTERRUPTED
        } else if any(Status::Failed) {
            EXIT_INFRA
        } else if any(Status::Distorted) {
            EXIT_DISTORTED
        } else {
            EXIT_TARGETS_MET
        }
    }
}

fn entries(grid: &Grid, p: &Point) -> Vec<SetEntry> {
    grid.values(p)
        .into_iter()
        .map(|(f, v)| SetEntry {
            path: f.path.to_string(),
            value: v.text.clone(),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A sweep of two rates by two mesh sizes, nothing run.
    pub(crate) fn two_by_two() -> SweepResult {
        let flags = vec![
            "traffic.rate=1/s,2/s".to_string(),
            "gossipsub.mesh_n=4,8".to_string(),
        ];
        let grid = Grid::parse(&flags, 1, 100).expect("grid");
        SweepResult::new("s", Path::new("s.toml"), 1, &grid, &[1, 1, 1, 1])
    }

    #[test]
    fn points_carry_their_values_in_grid_order() {
        let s = two_by_two();
        assert_eq!(s.points.len(), 4);
        assert_eq!(s.points[2].index, 3);
        assert_eq!(s.points[2].at, vec![1, 0]);
        assert_eq!(
            s.points[2].set,
            vec![
                SetEntry {
                    path: "traffic.rate".into(),
                    value: "2/s".into()
                },
                SetEntry {
                    path: "gossipsub.mesh_n".into(),
                    value: "4".into()
                }
            ]
        );
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["format"], SWEEP_FORMAT);
        assert_eq!(json["points"][0]["status"], "not_run");
        assert_eq!(json["parameters"][1]["values"][1], "8");
    }

    #[test]
    fn the_exit_code_reports_rather_than_gates() {
        let mut s = two_by_two();
        for p in &mut s.points {
            p.status = Status::Missed;
        }
        assert_eq!(
            s.exit_code(),
            EXIT_TARGETS_MET,
            "missed targets do not fail a sweep"
        );
        s.points[1].status = Status::Distorted;
        assert_eq!(s.exit_code(), EXIT_DISTORTED);
        s.points[2].status = Status::Failed;
        assert_eq!(s.exit_code(), EXIT_INFRA);
        s.interrupted = true;
        assert_eq!(s.exit_code(), EXIT_INTERRUPTED);
    }

    #[test]
    fn section_figures_are_added_once() {
        let mut s = two_by_two();
        let n = s.figures.len();
        let found = FigureDef {
            key: "mesh_health.min_degree".into(),
            label: "mesh_health.min_degree".into(),
            unit: String::new(),
        };
        let r = Readings {
            values: BTreeMap::from([(found.key.clone(), Some(3.0))]),
            found: vec![found.clone()],
        };
        s.record(0, r.clone());
        s.record(1, r);
        assert_eq!(s.figures.len(), n + 1);
        assert_eq!(s.points[1].figures[&found.key], Some(3.0));
    }
}
