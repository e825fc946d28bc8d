//! `orchestrator sweep SCENARIO --set PATH=V1,V2,... [--set ...]`: the scenario run at
//! every combination of the swept values, each point through the pipeline `run` uses, and
//! one page charting every tracked figure against the first swept parameter.
//!
//! - `grid`: parsing the `--set` flags, their bounds, and the points in order;
//! - `apply`: each point's values applied to the scenario document, then validated by the
//!   scenario's own rules, each problem named after its `--set`;
//! - `figures`: the tracked figures, in one table;
//! - `exec`: running the points, with Ctrl-C ending the sweep between points;
//! - `json`: `sweep.json` and the exit code;
//! - `report`: `sweep.html` and the terminal's line per point.
//!
//! Every point is validated before the first one runs: a bad value fails the sweep before
//! any container starts.

mod apply;
mod exec;
pub mod figures;
pub mod grid;
pub mod json;
pub mod report;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use apply::{Base, Valid, apply, validate_all};
pub use exec::Options;
pub use grid::{Grid, GridError};
pub use json::{Status, SweepResult};

use crate::error::{EXIT_INVALID, Error};
use crate::host::demand::Demand;
use crate::scenario::slug;

/// Most runs one sweep makes (points × trials).
pub const MAX_RUNS: usize = 256;
/// Problems listed in full when points are invalid; the rest are counted.
const SHOWN_PROBLEMS: usize = 20;

/// Why a sweep could not start; reads after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The `--set` flags are malformed or too many.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// Some points make an invalid scenario.
    #[error("validate the sweep's points ({}):\n{}", count(.0.len()), list(.0))]
    Points(Vec<String>),
    /// The scenario itself, I/O, or a run.
    #[error(transparent)]
    Other(#[from] Error),
}

impl SweepError {
    /// The process exit code: 2 for bad flags or values, else the error's own.
    pub fn exit_code(&self) -> u8 {
        match self {
            SweepError::Grid(_) | SweepError::Points(_) => EXIT_INVALID,
            SweepError::Other(e) => e.exit_code(),
        }
    }
}

fn count(n: usize) -> String {
    format!("{n} problem{}", if n == 1 { "" } else { "s" })
}

fn list(problems: &[String]) -> String {
    let mut o = String::new();
    for p in problems.iter().take(SHOWN_PROBLEMS) {
        let _ = writeln!(o, "  {}", p.replace('\n', "\n    "));
    }
    if problems.len() > SHOWN_PROBLEMS {
        let _ = writeln!(o, "  … and {} more", problems.len() - SHOWN_PROBLEMS);
    }
    o.trim_end().to_string()
}

/// A sweep ready to run: the base scenario, the grid, and every point validated.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The scenario file as written.
    pub base: Base,
    /// The flags.
    pub grid: Grid,
    /// Every point's scenario, in grid order.
    pub points: Vec<Valid>,
}

impl Prepared {
    /// Reads the scenario, parses the flags and validates every point.
    pub fn new(scenario: &Path, flags: &[String], trials: usize) -> Result<Prepared, SweepError> {
        let grid = Grid::parse(flags, trials, MAX_RUNS)?;
        let base = Base::load(scenario)?;
        let points = validate_all(&base, &grid).map_err(SweepError::Points)?;
        Ok(Prepared { base, grid, points })
    }

    /// Each point's label, `traffic.rate=2/s, gossipsub.mesh_n=8`.
    pub fn labels(&self) -> Vec<String> {
        self.points
            .iter()
            .map(|v| self.grid.label(&v.point))
            .collect()
    }

    /// The grid as `--dry-run` prints it: a line a point with its seed, nodes, and the CPU
    /// it would likely ask of a host of `cores` cores (as `plan` estimates it), marked
    /// when beyond the point's guard (the run would likely be distorted).
    pub fn render(&self, cores: usize) -> String {
        let n = self.points.len();
        let mut o = format!(
            "sweep of {} ({}): {n} point{}, every one valid\n",
            self.base.scenario.name,
            self.base.path.display(),
            if n == 1 { "" } else { "s" }
        );
        for (i, (v, label)) in self.points.iter().zip(self.labels()).enumerate() {
            let s = &v.scenario;
            let k = s
                .time_scale
                .resolve(s.identity_count(), s.topic_rate(), cores);
            let demand =
                Demand::estimate(s.identity_count(), s.topic_rate(), cores).dilated(k.factor());
            let busy = demand.busy_share();
            let warn = if busy > s.guard.host_busy {
                format!(
                    ", above the guard's {:.0} %: likely distorted",
                    s.guard.host_busy * 100.0
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                o,
                "  {}/{n}: {label} (seed {}, {} nodes, cpu ~{:.0} % of {cores} cores{warn})",
                i + 1,
                s.seed,
                s.node_count(),
                busy * 100.0,
            );
        }
        o
    }

    /// The sweep's folder when `--out` is not given: `<reports>/<scenario>-sweep-<8 hex>`,
    /// named after the flags and the time.
    pub fn default_out(&self, reports: &Path) -> PathBuf {
        let mut seed = self.labels().join(";");
        let _ = write!(seed, "{}", lab_events::now_ns());
        let tag = blake3::hash(seed.as_bytes()).to_hex();
        reports.join(format!(
            "{}-sweep-{}",
            slug(&self.base.scenario.name),
            &tag[..8]
        ))
    }

    /// Runs every point and writes `sweep.json` and `sweep.html` in `opts.out`; returns
    /// the sweep (see [`SweepResult::exit_code`]).
    pub async fn run(&self, opts: &Options) -> Result<SweepResult, Error> {
        let seeds: Vec<u64> = self.points.iter().map(|v| v.scenario.seed).collect();
        let sweep = SweepResult::new(
            &self.base.scenario.name,
            &self.base.path,
            opts.trials,
            &self.grid,
            &seeds,
        );
        exec::run_points(sweep, &self.points, &self.labels(), opts).await
    }
}

/// The table printed when a sweep ends: a line a point.
pub fn table(sweep: &SweepResult) -> String {
    let mut o = String::new();
    let n = sweep.points.len();
    for p in &sweep.points {
        let set: Vec<String> = p
            .set
            .iter()
            .map(|e| format!("{}={}", e.path, e.value))
            .collect();
        let _ = writeln!(
            o,
            "{:>3}/{n} {:<40} {}",
            p.index,
            set.join(", "),
            report::point_line(sweep, p)
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_listed_and_capped() {
        let e = SweepError::Points(
            (0..25)
                .map(|i| format!("--set a.b: value \"{i}\": bad"))
                .collect(),
        );
        let m = e.to_string();
        assert!(
            m.starts_with("validate the sweep's points (25 problems):\n  --set a.b"),
            "{m}"
        );
        assert!(m.ends_with("… and 5 more"), "{m}");
        assert_eq!(e.exit_code(), EXIT_INVALID);
    }

    #[test]
    fn a_shipped_scenario_sweeps_dry() {
        let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/smoke.toml");
        let flags = vec![
            "traffic.rate=2/s,6/s".to_string(),
            "gossipsub.mesh_n=4,6".to_string(),
        ];
        let p = Prepared::new(&smoke, &flags, 1).expect("valid");
        assert_eq!(p.points.len(), 4);
        let text = p.render(2);
        assert!(
            text.contains("4/4: traffic.rate=6/s, gossipsub.mesh_n=6 (seed 1, 10 nodes, cpu ~"),
            "{text}"
        );
        let flags = vec!["groups.0.count=10,400".to_string()];
        let text = Prepared::new(&smoke, &flags, 1).expect("valid").render(2);
        let lines: Vec<&str> = text.lines().collect();
        assert!(!lines[1].contains("likely distorted"), "{text}");
        assert!(
            lines[2].ends_with("above the guard's 85 %: likely distorted)"),
            "{text}"
        );
        let bad = vec!["traffic.rate=2/s,fast".to_string()];
        let e = Prepared::new(&smoke, &bad, 1)
            .expect_err("invalid")
            .to_string();
        assert!(
            e.contains("--set traffic.rate: value \"fast\": field `traffic.rate`"),
            "{e}"
        );
    }
}
