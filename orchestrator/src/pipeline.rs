//! `orchestrator run SCENARIO [--trials N]` end to end, the stages in the order the data
//! flows: scenario → plan → containers → events → statistics → result → outputs.

use std::path::{Path, PathBuf};

use crate::analysis;
use crate::error::Error;
use crate::gate::{SetAside, TrialsResult, summarise};
use crate::output;
use crate::output::trials::trial_line;
use crate::plan;
use crate::result::{RunResult, Verdict};
use crate::run::stop::StopFlag;
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
/// that fails (infrastructure, interrupted); a trial that misses targets is kept; a
/// distorted one is set aside and run again, `rerun_distorted` times at most in all.
pub async fn run_trials(
    path: &Path,
    opts: &RunOptions,
    n: usize,
    rerun_distorted: usize,
) -> Result<(TrialsResult, PathBuf), Error> {
    let scenario = plan::load(path)?;
    let stop = StopFlag::install("trials: interrupted; no further trial starts")?;
    let (summary, written, _) =
        run_trials_of(&scenario, opts, n, rerun_distorted, &|| stop.is_set()).await?;
    Ok((summary, written))
}

/// [`run_trials`] of a scenario already loaded, also returning each kept trial's result;
/// `stop` is asked before each trial after the first, and a yes ends the trials as
/// interrupted ([`Error::Interrupted`]).
pub async fn run_trials_of(
    scenario: &Scenario,
    opts: &RunOptions,
    n: usize,
    rerun_distorted: usize,
    stop: &dyn Fn() -> bool,
) -> Result<(TrialsResult, PathBuf, Vec<RunResult>), Error> {
    let (results, set_aside) =
        trials_with_reruns(n, rerun_distorted, stop, || run_scenario(scenario, opts)).await?;
    let mut summary = summarise(&results)?;
    summary.set_aside = set_aside;
    let written = summary.write_json(&opts.reports_dir)?;
    Ok((summary, written, results))
}

/// Runs `run` until `n` trials are kept: a distorted trial is set aside and run again
/// while fewer than `rerun_distorted` were; past that, it is kept (and the trials are
/// then not judged). `stop` is asked before each run after the first.
async fn trials_with_reruns<F, Fut>(
    n: usize,
    rerun_distorted: usize,
    stop: &dyn Fn() -> bool,
    mut run: F,
) -> Result<(Vec<RunResult>, Vec<SetAside>), Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<RunResult, Error>>,
{
    let mut results = Vec::with_capacity(n);
    let mut set_aside = Vec::new();
    while results.len() < n {
        if (!results.is_empty() || !set_aside.is_empty()) && stop() {
            return Err(Error::Interrupted);
        }
        let k = results.len() + 1;
        match set_aside.len() {
            0 => eprintln!("==> trial {k}/{n}"),
            m => eprintln!("==> trial {k}/{n} (after {m} of at most {rerun_distorted} reruns)"),
        }
        let r = run().await?;
        eprintln!("{}", trial_line(k, n, &r));
        if r.distorted() {
            if set_aside.len() < rerun_distorted {
                set_aside.push(SetAside::of(&r));
                eprintln!(
                    "==> trial {k}/{n} set aside (distorted) and run again: rerun {} of at most {rerun_distorted}",
                    set_aside.len()
                );
                continue;
            }
            eprintln!(
                "==> trial {k}/{n} kept although distorted ({rerun_distorted} reruns spent): the trials will not be judged"
            );
        }
        results.push(r);
    }
    Ok((results, set_aside))
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    use super::*;
    use crate::gate::trials::tests::three;

    /// Runs [`trials_with_reruns`] over `runs` (true = distorted), returning the kept
    /// and set-aside run ids and how many runs were made.
    async fn trials(
        n: usize,
        rerun: usize,
        runs: &[bool],
    ) -> Result<(Vec<String>, Vec<String>, usize), Error> {
        let template = three().remove(0);
        let queue: RefCell<VecDeque<RunResult>> = RefCell::new(
            runs.iter()
                .enumerate()
                .map(|(i, distorted)| {
                    let mut r = template.clone();
                    r.run_id = format!("synthetic-{i:08}");
                    if *distorted {
                        r.distorted = vec!["the host was 99 % busy".into()];
                    }
                    r
                })
                .collect(),
        );
        let made = Cell::new(0);
        let run = || {
            made.set(made.get() + 1);
            let next = queue.borrow_mut().pop_front();
            async move { next.ok_or_else(|| Error::Usage("no more runs".into())) }
        };
        let (kept, aside) = trials_with_reruns(n, rerun, &|| false, run).await?;
        Ok((
            kept.into_iter().map(|r| r.run_id).collect(),
            aside.into_iter().map(|s| s.run_id).collect(),
            made.get(),
        ))
    }

    #[tokio::test]
    async fn a_distorted_trial_is_set_aside_and_run_again_within_the_budget() {
        let (kept, aside, made) = trials(3, 2, &[false, true, false, false])
            .await
            .expect("trials");
        assert_eq!(
            kept,
            [
                "synthetic-00000000",
                "synthetic-00000002",
                "synthetic-00000003"
            ]
        );
        assert_eq!(aside, ["synthetic-00000001"]);
        assert_eq!(made, 4);
    }

    #[tokio::test]
    async fn past_the_budget_a_distorted_trial_is_kept_and_nothing_is_rerun_without_one() {
        let (kept, aside, made) = trials(2, 1, &[true, true, false]).await.expect("trials");
        assert_eq!(kept, ["synthetic-00000001", "synthetic-00000002"]);
        assert_eq!(aside, ["synthetic-00000000"]);
        assert_eq!(made, 3);
        let (kept, aside, _) = trials(2, 0, &[true, false]).await.expect("trials");
        assert_eq!(kept, ["synthetic-00000000", "synthetic-00000001"]);
        assert!(aside.is_empty());
    }

    #[tokio::test]
    async fn a_stop_between_runs_starts_no_rerun() {
        let template = three().remove(0);
        let runs = Cell::new(0);
        let run = || {
            runs.set(runs.get() + 1);
            let mut r = template.clone();
            r.run_id = format!("synthetic-{:08}", runs.get());
            r.distorted = vec!["the host was 99 % busy".into()];
            async move { Ok(r) }
        };
        // Ctrl-C arrives during the first run, which is distorted: no rerun starts.
        let err = trials_with_reruns(3, 2, &|| runs.get() >= 1, run)
            .await
            .expect_err("interrupted");
        assert!(matches!(err, Error::Interrupted), "{err}");
        assert_eq!(runs.get(), 1);
    }

    #[tokio::test]
    async fn a_failed_run_ends_the_trials() {
        let err = trials(3, 2, &[false, true]).await.expect_err("ran out");
        assert!(err.to_string().contains("no more runs"), "{err}");
    }
}
