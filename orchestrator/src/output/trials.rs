//! A trials run for the terminal: one line per finished trial, and the table of every
//! tracked figure's median and confidence interval with the targets checked on the medians.

use std::fmt::Write as _;

use crate::gate::{Figure, TrialsResult};
use crate::result::{RunResult, Verdict, target_table};

/// The per-figure table (every trial's value, then min, median, CI and max) and the
/// targets checked on the medians.
pub fn table(t: &TrialsResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "trials {}  scenario {}  seed {}  {} trials  runner {}  shaper {}",
        t.id,
        t.scenario,
        t.seed,
        t.trials.len(),
        t.runner_names(),
        t.shapers.join(",")
    );
    let _ = writeln!(
        o,
        "{:<20} {:<6} {:>9} {:>9} {:>9}  {:<24} trials",
        "figure", "unit", "min", "median", "max", "CI of the median"
    );
    for f in Figure::ALL {
        let unit = f.unit();
        let per_trial: Vec<String> = t
            .trials
            .iter()
            .map(|t| {
                t.figures
                    .get(f.key())
                    .copied()
                    .flatten()
                    .map_or_else(|| "-".to_string(), |v| unit.format(v))
            })
            .collect();
        match t.estimate(f) {
            Some(e) => {
                let ci = format!(
                    "[{}, {}] {:.1} %",
                    unit.format(e.low),
                    unit.format(e.high),
                    e.confidence * 100.0
                );
                let _ = writeln!(
                    o,
                    "{:<20} {:<6} {:>9} {:>9} {:>9}  {:<24} {}",
                    f.label(),
                    unit.name(),
                    unit.format(e.min),
                    unit.format(e.median),
                    unit.format(e.max),
                    ci,
                    per_trial.join(" ")
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "{:<20} {:<6} {:>9} {:>9} {:>9}  {:<24} {}",
                    f.label(),
                    unit.name(),
                    "-",
                    "-",
                    "-",
                    "(not measured)",
                    per_trial.join(" ")
                );
            }
        }
    }
    let _ = writeln!(o);
    o.push_str(&target_table(
        &t.targets,
        "median measured",
        16,
        !t.distorted(),
    ));
    let met = t.trials.iter().filter(|t| t.met).count();
    let _ = writeln!(
        o,
        "verdict: {} ({met} of {} trials met every target on their own)",
        if t.distorted() {
            "DISTORTED: a trial measured its own host; targets not judged"
        } else if t.verdict() {
            "all targets met on the medians"
        } else {
            "targets missed on the medians"
        },
        t.trials.len()
    );
    if !t.set_aside.is_empty() {
        let _ = writeln!(
            o,
            "set aside: {} distorted trial(s), each run again in its place; none of their figures is above",
            t.set_aside.len()
        );
        for s in &t.set_aside {
            let cause = s.causes.first().map_or("", String::as_str);
            let _ = writeln!(o, "  {}: {cause}", s.run_id);
        }
    }
    o
}

/// One line about a finished trial, for the terminal.
pub fn trial_line(k: usize, n: usize, r: &RunResult) -> String {
    let figs: Vec<String> = [Figure::P50, Figure::P95, Figure::P99, Figure::Delivery]
        .into_iter()
        .map(|f| {
            let v = f
                .of(r)
                .map_or_else(|| "-".to_string(), |v| f.unit().format(v));
            format!("{} {v}", f.key())
        })
        .collect();
    // Every run states its link fidelity and its cost.
    let mut costs = String::new();
    if let Some(f) = &r.stats.fidelity {
        let _ = write!(costs, "  link {:+.2} ms", f.error_us as f64 / 1000.0);
    }
    if let Some(b) = r.resources.window_host_busy {
        let _ = write!(costs, "  busy {:.0} %", b * 100.0);
    }
    let verdict = match r.distorted.first() {
        Some(cause) => format!("distorted: {cause}"),
        None if r.verdict() => "met".to_string(),
        None => "missed".to_string(),
    };
    format!(
        "trial {k}/{n}: {}  {}{costs}  {verdict}",
        r.run_id,
        figs.join("  ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::summarise;
    use crate::gate::trials::tests::three;

    #[test]
    fn the_table_shows_every_trial_and_the_verdict_on_the_medians() {
        let t = summarise(&three()).expect("summary");
        let table = table(&t);
        assert!(table.contains("latency p99"), "{table}");
        assert!(table.contains("80.0 250.0 90.0"), "{table}");
        assert!(table.contains("all targets met on the medians"), "{table}");
        assert!(table.contains("1 of 3 trials"), "{table}");
        assert!(table.contains("3 trials  runner docker  shaper"), "{table}");
    }

    #[test]
    fn a_trial_line_names_the_run_its_figures_and_its_verdict() {
        let r = &three()[1];
        let line = trial_line(2, 3, r);
        assert!(
            line.starts_with(&format!("trial 2/3: {}", r.run_id)),
            "{line}"
        );
        assert!(line.contains("p99 250.0"), "{line}");
        assert!(line.ends_with("missed"), "{line}");
        let mut d = r.clone();
        d.resources.window_host_busy = Some(0.99);
        d.distorted = vec!["the host was 99 % busy".into()];
        let line = trial_line(2, 3, &d);
        assert!(
            line.ends_with("  busy 99 %  distorted: the host was 99 % busy"),
            "{line}"
        );
    }

    #[test]
    fn set_aside_trials_are_listed_with_their_cause_under_the_verdict() {
        let mut t = summarise(&three()).expect("summary");
        t.set_aside = vec![crate::gate::SetAside {
            run_id: "synthetic-0000000f".into(),
            causes: vec!["the host was 99 % busy".into(), "second".into()],
        }];
        let table = table(&t);
        assert!(table.contains("all targets met on the medians"), "{table}");
        assert!(table.contains("set aside: 1 distorted trial(s)"), "{table}");
        assert!(
            table.contains("  synthetic-0000000f: the host was 99 % busy\n"),
            "{table}"
        );
    }
}
