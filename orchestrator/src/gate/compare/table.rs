//! The comparison as `orchestrator compare` prints it: both sides, one row per figure
//! (values, intervals, change, limit, threshold, verdict), the rule and the verdict.

use std::fmt::Write as _;

use super::{Comparison, Row, Side, Status};
use crate::gate::figures::Worse;
use crate::gate::interval::Estimate;

/// How a verdict reads in the table.
fn status_text(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Regressed => "REGRESSED",
        Status::Improved => "improved",
        Status::NotJudged => "not judged",
    }
}

/// A side as its header line names it: path, scenario, runs, and the distorted trials set
/// aside, if any.
fn side_text(s: &Side) -> String {
    format!(
        "{} ({}, {} {}{})",
        s.path.display(),
        s.scenario,
        s.runs,
        if s.runs == 1 { "run" } else { "trials" },
        match s.set_aside {
            0 => String::new(),
            n => format!("; {n} distorted trial(s) set aside and run again"),
        }
    )
}

/// One figure's line of the table.
fn row_line(o: &mut String, r: &Row) {
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
        status_text(r.status)
    );
}

impl Comparison {
    /// The side-by-side table and the verdict.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "baseline  {}", side_text(&self.baseline));
        let _ = writeln!(o, "current   {}", side_text(&self.current));
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
            row_line(&mut o, r);
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "rule: a figure regresses when the current CI lies beyond the baseline CI by more \
             than its threshold (limit column: the current CI's near end must not pass it)"
        );
        self.verdict(&mut o);
        o
    }

    /// The verdict line: no regression, or which figures regressed.
    fn verdict(&self, o: &mut String) {
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
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::run;
    use super::super::{Side, Thresholds, compare};

    #[test]
    fn the_table_names_both_sides_each_figure_and_the_verdict() {
        let base = run(30.0, 100.0, 1.0);
        let mut slow = run(30.0, 126.0, 1.0);
        slow.scenario = "other".into();
        let c = compare(
            &Side::from_result(Path::new("base.json"), &base),
            &Side::from_result(Path::new("cur.json"), &slow),
            &Thresholds::default(),
        )
        .expect("judged");
        let text = c.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("baseline  base.json ({}, 1 run)", base.scenario)
        );
        assert_eq!(lines[1], "current   cur.json (other, 1 run)");
        let mut aside = Side::from_result(Path::new("cur.json"), &slow);
        aside.set_aside = 2;
        assert_eq!(
            super::side_text(&aside),
            "cur.json (other, 1 run; 2 distorted trial(s) set aside and run again)"
        );
        assert!(
            lines[2].starts_with("warning: the sides ran different scenarios"),
            "{text}"
        );
        assert!(lines[4].starts_with("figure "), "{text}");
        // One line per figure, then the rule and the verdict.
        assert_eq!(lines.len(), 5 + c.rows.len() + 3, "{text}");
        let p99 = lines
            .iter()
            .find(|l| l.starts_with("latency p99 "))
            .expect("p99 line");
        assert!(p99.contains("(1 run)") && p99.contains("+26.0%"), "{p99}");
        assert!(p99.ends_with(" REGRESSED"), "{p99}");
        assert_eq!(
            lines.last().copied(),
            Some("verdict: 2 of 6 figures regressed: p99, cov100_p99")
        );
    }
}
