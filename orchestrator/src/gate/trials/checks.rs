//! What makes a `trials.json` incoherent: every problem named by its JSON path, so that a
//! hand-edited or truncated file is refused before anything is judged on it.

use super::{Figure, MAX_RERUNS, MAX_TRIALS, TrialsResult};
use crate::fsio::{self, Problems, num};
use crate::gate::interval::median_ci;
use crate::result::{check_cause, check_link, check_name, check_runner, check_targets_list};

impl TrialsResult {
    /// What makes this trials file incoherent, each problem named by its JSON path: no
    /// trial; names that are empty or hold control characters; a figure key that is not a
    /// tracked figure; a value outside its figure's domain; an estimate that is not
    /// ordered `min ≤ low ≤ median ≤ high ≤ max`, whose counts disagree with the trials,
    /// or that is not what the trials' values give; a figure the trials measured but
    /// `figures` lacks; targets whose verdict disagrees with their measurement.
    pub fn problems(&self) -> Problems {
        let mut p = Problems::default();
        check_name(&mut p, "id", &self.id);
        check_name(&mut p, "scenario", &self.scenario);
        if self.shapers.is_empty() {
            p.push("shapers", "is empty: every trial ran some shaper back end");
        }
        for (i, s) in self.shapers.iter().enumerate() {
            check_name(&mut p, &format!("shapers[{i}]"), s);
        }
        for (i, r) in self.runners.iter().enumerate() {
            check_runner(&mut p, &format!("runners[{i}]"), r);
        }
        if self.runners.windows(2).any(|w| w[0] >= w[1]) {
            p.push("runners", "must be sorted, each runner once");
        }
        check_link(&mut p, "link", &self.link);
        if !(self.confidence_level > 0.0 && self.confidence_level < 1.0) {
            p.push(
                "confidence_level",
                format!(
                    "is {}, not a probability in (0, 1)",
                    num(self.confidence_level)
                ),
            );
        }
        if self.trials.is_empty() {
            p.push(
                "trials",
                "lists no trial: a trials file without trials measured nothing",
            );
        }
        if self.trials.len() > MAX_TRIALS {
            p.push(
                "trials",
                format!(
                    "lists {} trials; `run --trials` writes at most {MAX_TRIALS}",
                    self.trials.len()
                ),
            );
            // Checking each figure's interval costs ~n³: stop before it.
            return p;
        }
        let mut ids = std::collections::BTreeSet::new();
        for (i, t) in self.trials.iter().enumerate() {
            check_name(&mut p, &format!("trials[{i}].run_id"), &t.run_id);
            if !ids.insert(t.run_id.as_str()) {
                p.push(
                    format!("trials[{i}].run_id"),
                    format!("repeats trial {}", fsio::quoted(&t.run_id)),
                );
            }
            for (key, v) in &t.figures {
                let at = format!("trials[{i}].figures.{key}");
                match (Figure::from_key(key), v) {
                    (None, _) => p.push(at, unknown_figure(key)),
                    (Some(f), Some(v)) => {
                        if let Some(why) = f.domain_problem(*v) {
                            p.push(at, why);
                        }
                    }
                    (Some(_), None) => {}
                }
            }
        }
        if self.set_aside.len() > MAX_RERUNS {
            p.push(
                "set_aside",
                format!(
                    "lists {} trials; `run --rerun-distorted` sets aside at most {MAX_RERUNS}",
                    self.set_aside.len()
                ),
            );
        }
        for (i, s) in self.set_aside.iter().enumerate().take(MAX_RERUNS) {
            let at = format!("set_aside[{i}]");
            check_name(&mut p, &format!("{at}.run_id"), &s.run_id);
            if !ids.insert(s.run_id.as_str()) {
                p.push(
                    format!("{at}.run_id"),
                    format!("repeats trial {}", fsio::quoted(&s.run_id)),
                );
            }
            if s.causes.is_empty() {
                p.push(
                    format!("{at}.causes"),
                    "is empty: a trial is set aside only for the distortion it names",
                );
            }
            for (j, cause) in s.causes.iter().enumerate() {
                check_cause(&mut p, &format!("{at}.causes[{j}]"), cause);
            }
        }
        for key in self.figures.keys() {
            if Figure::from_key(key).is_none() {
                p.push(format!("figures.{key}"), unknown_figure(key));
            }
        }
        let trials_clean = p.is_empty();
        for f in Figure::ALL {
            self.check_figure(f, trials_clean, &mut p);
        }
        check_targets_list(&mut p, "targets", &self.targets);
        p
    }

    /// Checks the estimate of `f` on its own and, when the trials are clean, against them.
    fn check_figure(&self, f: Figure, trials_clean: bool, p: &mut Problems) {
        let at = format!("figures.{}", f.key());
        let values: Vec<f64> = self
            .trials
            .iter()
            .filter_map(|t| t.figures.get(f.key()).copied().flatten())
            .collect();
        let missing = self.trials.len() - values.len();
        let Some(e) = self.estimate(f) else {
            if !values.is_empty() {
                p.push(
                    "figures",
                    format!(
                        "lacks {}, which {} of the {} trials measured",
                        f.key(),
                        values.len(),
                        self.trials.len()
                    ),
                );
            }
            return;
        };
        if !e.check(f, &at, p) || !trials_clean {
            return;
        }
        if e.n != values.len() || e.missing != missing {
            p.push(
                format!("{at}.n"),
                format!(
                    "n = {} and missing = {} disagree with the trials listed ({} measured it, \
                     {missing} did not)",
                    e.n,
                    e.missing,
                    values.len()
                ),
            );
            return;
        }
        let valid_level = self.confidence_level > 0.0 && self.confidence_level < 1.0;
        if valid_level
            && let Some(want) = median_ci(&values, missing, self.confidence_level)
            && !e.same_as(&want)
        {
            p.push(
                at,
                format!(
                    "is not what the trials' values give: median {} in [{}, {}] \
                     (confidence {}, range {} to {}), but the file says median {} in [{}, {}] \
                     (confidence {}, range {} to {})",
                    num(want.median),
                    num(want.low),
                    num(want.high),
                    num(want.confidence),
                    num(want.min),
                    num(want.max),
                    num(e.median),
                    num(e.low),
                    num(e.high),
                    num(e.confidence),
                    num(e.min),
                    num(e.max)
                ),
            );
        }
    }
}

/// The message for a figure key that is not a tracked figure.
fn unknown_figure(key: &str) -> String {
    let known: Vec<&str> = Figure::ALL.iter().map(|f| f.key()).collect();
    format!(
        "{} is not a tracked figure ({})",
        fsio::quoted(key),
        known.join(", ")
    )
}
