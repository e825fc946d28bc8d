//! Running the points one after the other, each through the pipeline `run` uses
//! ([`pipeline::run_scenario`], or [`pipeline::run_trials_of`] with `--trials`), with a
//! progress line per point, `sweep.json` and `sweep.html` rewritten after each.
//!
//! Ctrl-C (or SIGTERM): the run in progress tears down its containers and fails as
//! interrupted (its own handler); the sweep's handler, installed for the whole sweep, also
//! catches a signal between runs, and no further point or trial starts.

use std::path::{Path, PathBuf};

use super::apply::Valid;
use super::figures::{self, Readings};
use super::json::{Status, SweepResult};
use super::report;
use crate::error::Error;
use crate::gate::TrialsResult;
use crate::pipeline;
use crate::result::{RunResult, Verdict};
use crate::run::RunOptions;
use crate::run::stop::StopFlag;
use crate::scenario::Scenario;

/// How the points run.
#[derive(Debug, Clone)]
pub struct Options {
    /// How each run is carried out (its `reports_dir` holds each run's folder).
    pub run: RunOptions,
    /// Runs per point.
    pub trials: usize,
    /// Where `sweep.json` and `sweep.html` go.
    pub out: PathBuf,
}

/// What one point's runs gave.
struct PointRuns {
    run_ids: Vec<String>,
    trials: Option<TrialsResult>,
    results: Vec<RunResult>,
}

/// Runs every point of `sweep` (in order) with `valid`'s scenarios; returns the sweep as
/// written last. Stops at an interruption; a point that fails otherwise is recorded and
/// the sweep goes on.
pub(super) async fn run_points(
    sweep: SweepResult,
    valid: &[Valid],
    labels: &[String],
    opts: &Options,
) -> Result<SweepResult, Error> {
    let stop = StopFlag::install("sweep: interrupted; no further point starts")?;
    drive(
        sweep,
        valid,
        labels,
        &opts.out,
        &stop,
        async |s: &Scenario| run_point(s, opts, &stop).await,
    )
    .await
}

/// [`run_points`] with `run` running one point: the order, the progress lines, the
/// interruption and the files, whatever runs the points.
async fn drive(
    mut sweep: SweepResult,
    valid: &[Valid],
    labels: &[String],
    out: &Path,
    stop: &StopFlag,
    mut run: impl AsyncFnMut(&Scenario) -> Result<PointRuns, Error>,
) -> Result<SweepResult, Error> {
    let n = valid.len();
    write(&sweep, out)?;
    for (i, point) in valid.iter().enumerate() {
        if stop.is_set() {
            sweep.interrupted = true;
            break;
        }
        let label = labels.get(i).map_or("", String::as_str);
        eprintln!("==> sweep point {}/{n}: {label}", i + 1);
        match run(&point.scenario).await {
            Ok(runs) => record(&mut sweep, i, runs),
            Err(e) => {
                if let Some(p) = sweep.points.get_mut(i) {
                    p.status = Status::Failed;
                    p.error = Some(format!("failed to {e}"));
                }
                if matches!(e, Error::Interrupted) {
                    sweep.interrupted = true;
                }
            }
        }
        if let Some(p) = sweep.points.get(i) {
            eprintln!(
                "==> sweep point {}/{n}: {}",
                i + 1,
                report::point_line(&sweep, p)
            );
        }
        write(&sweep, out)?;
        if sweep.interrupted {
            break;
        }
    }
    let left = sweep.points.iter().any(|p| p.status == Status::NotRun);
    if stop.is_set() && left && !sweep.interrupted {
        sweep.interrupted = true;
        write(&sweep, out)?;
    }
    Ok(sweep)
}

async fn run_point(
    scenario: &Scenario,
    opts: &Options,
    stop: &StopFlag,
) -> Result<PointRuns, Error> {
    if opts.trials <= 1 {
        let r = pipeline::run_scenario(scenario, &opts.run).await?;
        return Ok(PointRuns {
            run_ids: vec![r.run_id.clone()],
            trials: None,
            results: vec![r],
        });
    }
    // No distorted trial is run again: where the host distorts is what a sweep shows.
    let (trials, path, results) =
        pipeline::run_trials_of(scenario, &opts.run, opts.trials, 0, &|| stop.is_set()).await?;
    eprintln!("==> trials: {}", path.display());
    Ok(PointRuns {
        run_ids: results.iter().map(|r| r.run_id.clone()).collect(),
        trials: Some(trials),
        results,
    })
}

/// Fills point `i` of `sweep` from its runs.
fn record(sweep: &mut SweepResult, i: usize, runs: PointRuns) {
    let readings: Vec<Readings> = runs.results.iter().map(figures::read).collect();
    let (status, targets) = match (&runs.trials, runs.results.first()) {
        (Some(t), _) => (status_of(t), t.targets.clone()),
        (None, Some(r)) => (status_of(r), r.targets.clone()),
        (None, None) => (Status::Failed, Vec::new()),
    };
    let many = runs.results.len() > 1;
    let distorted = runs
        .results
        .iter()
        .enumerate()
        .flat_map(|(k, r)| {
            r.distorted.iter().map(move |c| {
                if many {
                    format!("trial {}: {c}", k + 1)
                } else {
                    c.clone()
                }
            })
        })
        .collect();
    sweep.record(i, figures::median(&readings));
    if let Some(p) = sweep.points.get_mut(i) {
        p.status = status;
        p.run_ids = runs.run_ids;
        p.trials_id = runs.trials.map(|t| t.id);
        p.distorted = distorted;
        p.targets = targets;
    }
}

fn status_of(v: &impl Verdict) -> Status {
    if v.distorted() {
        Status::Distorted
    } else if v.verdict() {
        Status::Met
    } else {
        Status::Missed
    }
}

/// Writes `sweep.json` and `sweep.html` into `dir`.
pub(super) fn write(sweep: &SweepResult, dir: &Path) -> Result<(PathBuf, PathBuf), Error> {
    let json = sweep.write_json(dir)?;
    let html = report::write(sweep, dir)?;
    Ok((json, html))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::figures::tests::result_with;
    use crate::sweep::json::tests::two_by_two;

    /// The four points of [`two_by_two`], all valid, on the shipped smoke scenario.
    fn four_valid() -> Vec<Valid> {
        let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/smoke.toml");
        let base = crate::sweep::Base::load(&smoke).expect("smoke");
        let flags = vec![
            "traffic.rate=1/s,2/s".to_string(),
            "gossipsub.mesh_n=4,8".to_string(),
        ];
        let grid = crate::sweep::Grid::parse(&flags, 1, 100).expect("grid");
        crate::sweep::validate_all(&base, &grid).expect("valid")
    }

    fn one_run(p99: f64) -> PointRuns {
        let r = result_with(30.0, 60.0, p99, 96.0, 1.0, 1.5);
        PointRuns {
            run_ids: vec![r.run_id.clone()],
            trials: None,
            results: vec![r],
        }
    }

    #[tokio::test]
    async fn a_failed_point_is_recorded_and_the_sweep_goes_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stop = StopFlag::default();
        let mut k = 0;
        let sweep = drive(
            two_by_two(),
            &four_valid(),
            &[],
            dir.path(),
            &stop,
            async |s: &Scenario| {
                k += 1;
                assert_eq!(
                    s.gossipsub.mesh_n,
                    if k % 2 == 1 { 4 } else { 8 },
                    "grid order"
                );
                if k == 2 {
                    Err(Error::Infra("start container x: no space".into()))
                } else {
                    Ok(one_run(10.0 * k as f64))
                }
            },
        )
        .await
        .expect("sweep");
        let status: Vec<Status> = sweep.points.iter().map(|p| p.status).collect();
        assert_eq!(
            status,
            [Status::Met, Status::Failed, Status::Met, Status::Met]
        );
        assert_eq!(
            sweep.points[1].error.as_deref(),
            Some("failed to start container x: no space")
        );
        assert_eq!(sweep.points[3].figures["p99"], Some(40.0));
        assert_eq!(sweep.exit_code(), crate::error::EXIT_INFRA);
        let written: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("sweep.json")).expect("sweep.json"),
        )
        .expect("json");
        assert_eq!(written["points"][3]["status"], "met");
        assert!(dir.path().join("sweep.html").is_file());
    }

    #[tokio::test]
    async fn an_interruption_starts_no_further_point() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stop = StopFlag::default();
        let mut started = 0;
        // Ctrl-C between runs: the second point finishes, the third never starts.
        let sweep = drive(
            two_by_two(),
            &four_valid(),
            &[],
            dir.path(),
            &stop,
            async |_: &Scenario| {
                started += 1;
                if started == 2 {
                    stop.set();
                }
                Ok(one_run(50.0))
            },
        )
        .await
        .expect("sweep");
        assert_eq!(started, 2);
        assert!(sweep.interrupted);
        let status: Vec<Status> = sweep.points.iter().map(|p| p.status).collect();
        assert_eq!(
            status,
            [Status::Met, Status::Met, Status::NotRun, Status::NotRun]
        );
        assert_eq!(sweep.exit_code(), crate::error::EXIT_INTERRUPTED);
        // Ctrl-C during a run: the run fails as interrupted, and the sweep stops there.
        let stop = StopFlag::default();
        let mut started = 0;
        let sweep = drive(
            two_by_two(),
            &four_valid(),
            &[],
            dir.path(),
            &stop,
            async |_: &Scenario| {
                started += 1;
                Err(Error::Interrupted)
            },
        )
        .await
        .expect("sweep");
        assert_eq!(started, 1);
        assert!(sweep.interrupted);
        assert_eq!(sweep.points[0].status, Status::Failed);
        assert_eq!(sweep.points[1].status, Status::NotRun);
    }

    #[test]
    fn a_distorted_run_is_recorded_with_its_causes() {
        let mut sweep = two_by_two();
        let mut r = result_with(30.0, 60.0, 80.0, 96.0, 1.0, 1.5);
        r.resources.window_host_busy = Some(0.99);
        r.apply_guard();
        let ok = result_with(31.0, 61.0, 81.0, 97.0, 1.0, 1.5);
        let runs = |r: &RunResult| PointRuns {
            run_ids: vec![r.run_id.clone()],
            trials: None,
            results: vec![r.clone()],
        };
        record(&mut sweep, 0, runs(&r));
        record(&mut sweep, 1, runs(&ok));
        let (p0, p1) = (&sweep.points[0], &sweep.points[1]);
        assert_eq!(p0.status, Status::Distorted);
        assert_eq!(p0.distorted.len(), 1);
        assert!(p0.distorted[0].contains("99 % busy"), "{:?}", p0.distorted);
        assert_eq!(p0.figures["p99"], Some(80.0));
        assert_eq!(p0.figures["host_busy"], Some(0.99));
        assert_eq!(p1.status, Status::Met);
        assert_eq!(p1.run_ids, vec!["synthetic-00000000".to_string()]);
        assert_eq!(sweep.exit_code(), crate::error::EXIT_DISTORTED);
    }
}
