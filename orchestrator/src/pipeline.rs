//! `orchestrator run SCENARIO [--trials N]` end to end, the stages in the order the data
//! flows: scenario → plan → containers → events → statistics → result → outputs.

use std::path::{Path, PathBuf};

use crate::analysis;
use crate::error::Error;
use crate::gate::{TrialsResult, summarise};
use crate::output;
use crate::output::trials::trial_line;
use crate::plan;
use crate::result::RunResult;
use crate::run::{self, RunOptions};
use crate::scenario::Scenario;

/// Runs the scenario at `path` once: every container is gone when this returns (see
/// [`run::run`]); the result, its events and its report are in
/// `opts.reports_dir/<run-id>/`.
pub async fn run_once(path: &Path, opts: &RunOptions) -> Result<RunResult, Error> {
    run_scenario(&plan::load(path)?, opts).await
}

/// [`run_once`] of a scenario already loaded and validated (`orchestrator sweep` makes
/// one a point).
pub async fn run_scenario(scenario: &Scenario, opts: &RunOptions) -> Result<RunResult, Error> {
    let outcome = run::run(scenario, opts).await?;
    let mut stats = analysis::compute(&outcome.records, &outcome.plan, Some(outcome.window));
    stats.bandwidth = analysis::bandwidth(
        &outcome.records,
        &outcome.plan,
        Some(outcome.window),
        &outcome.resources.containers,
    );
    let mut result = RunResult::new(
        &outcome.run_id,
        &outcome.plan,
        stats,
        &outcome.shaper_backend,
        outcome.started_at_ms,
        outcome.ended_at_ms,
    );
    result.tcp_congestion = outcome.tcp_congestion;
    result.runner = outcome.runner.name().to_string();
    result.clocks = outcome.clocks;
    result.phases = outcome.phases;
    result.resources = outcome.resources;
    result.apply_guard();
    let json = result.write_json(&opts.reports_dir)?;
    let dir = json.parent().unwrap_or(Path::new("."));
    let events = output::write_events(dir, &outcome.records)?;
    let report = output::report::write(&result, &outcome.records, dir)?;
    eprintln!(
        "==> result: {} (events: {}, report: {})",
        json.display(),
        events.display(),
        report.display()
    );
    Ok(result)
}

/// Runs the scenario at `path` `n` times, one after the other, writes `trials.json` in
/// `opts.reports_dir` and returns the summary with its path. Stops at the first trial
/// that fails (infrastructure, interrupted); a trial that misses targets is kept.
pub async fn run_trials(
    path: &Path,
    opts: &RunOptions,
    n: usize,
) -> Result<(TrialsResult, PathBuf), Error> {
    let scenario = plan::load(path)?;
    let (summary, written, _) = run_trials_of(&scenario, opts, n, &|| false).await?;
    Ok((summary, written))
}

/// [`run_trials`] of a scenario already loaded, also returning each trial's result;
/// `stop` is asked before each trial after the first, and a yes ends the trials as
/// interrupted ([`Error::Interrupted`]).
pub async fn run_trials_of(
    scenario: &Scenario,
    opts: &RunOptions,
    n: usize,
    stop: &dyn Fn() -> bool,
) -> Result<(TrialsResult, PathBuf, Vec<RunResult>), Error> {
    let mut results = Vec::with_capacity(n);
    for k in 1..=n {
        if k > 1 && stop() {
            return Err(Error::Interrupted);
        }
        eprintln!("==> trial {k}/{n}");
        let r = run_scenario(scenario, opts).await?;
        eprintln!("{}", trial_line(k, n, &r));
        results.push(r);
    }
    let summary = summarise(&results)?;
    let written = summary.write_json(&opts.reports_dir)?;
    Ok((summary, written, results))
}
