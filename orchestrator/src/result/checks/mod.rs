//! The coherence of a `result.json`: what makes a result not a measurement that could have
//! happened, each problem named by its JSON path ([`RunResult::problems`]). The checks of
//! names, link profiles and target lists serve the trials file too.

mod cost;
mod stats;

use self::cost::check_cost;
use self::stats::check_stats;
use super::RunResult;
use super::targets::TargetCheck;
use crate::fsio::{self, Problems, num};
use crate::run::runner::RunnerKind;
use crate::scenario::profile::LinkProfile;
use crate::scenario::units::format_duration;

impl RunResult {
    /// What makes this result not a coherent measurement, each problem named by its JSON
    /// path: names that are empty or hold control characters; timestamps outside
    /// 2000..2200 or out of order; phase times that are negative, not finite or past the
    /// run's end; latencies longer than the run or percentiles out of order; ratios outside
    /// 0..=1 or disagreeing with their counts; counts that disagree with each other; and
    /// targets whose verdict or measurement disagrees with the statistics.
    pub fn problems(&self) -> Problems {
        let mut p = Problems::default();
        check_name(&mut p, "run_id", &self.run_id);
        check_name(&mut p, "scenario", &self.scenario);
        check_name(&mut p, "shaper", &self.shaper);
        if !self.tcp_congestion.is_empty() {
            check_name(&mut p, "tcp_congestion", &self.tcp_congestion);
        }
        if !self.runner.is_empty() {
            check_runner(&mut p, "runner", &self.runner);
        }
        self.check_nodes(&mut p);
        check_link(&mut p, "link", &self.link);
        self.check_dilation(&mut p);
        let duration_s = self.check_times(&mut p);
        // Latencies and phase times are measured on the monotonic clock, the run's span on
        // the wall clock: allow for a little drift between them.
        let bound_s = duration_s.unwrap_or(0.0) + CLOCK_SLACK_S;
        self.check_phases(&mut p, duration_s.map(|_| bound_s));
        let bound_us = duration_s.map(|_| (bound_s * 1e6) as u64);
        check_stats(&mut p, &self.stats, self.nodes.total, bound_us);
        self.check_resources(&mut p);
        check_targets_list(&mut p, "targets", &self.targets);
        self.check_targets_against_stats(&mut p);
        self.guard_problems(&mut p);
        p
    }

    /// The time scale and CPU model in their bounds.
    fn check_dilation(&self, p: &mut Problems) {
        let d = &self.dilation;
        if let Err(e) = lab_config::TimeScale::new(d.time_scale) {
            p.push("dilation.time_scale", e);
        }
        if let Some(k) = d.suggested_time_scale
            && lab_config::TimeScale::new(k).is_err()
        {
            p.push(
                "dilation.suggested_time_scale",
                format!("is {k}, not a time scale"),
            );
        }
        check_name(p, "dilation.asked", &d.asked);
        if !(d.cpu_per_node.is_finite() && d.cpu_per_node > 0.0) {
            p.push(
                "dilation.cpu_per_node",
                format!("is {}, not a positive number of cores", d.cpu_per_node),
            );
        }
        if let Some(q) = &d.cpu_quota
            && !(q.period_us > 0 && q.quota_us > 0)
        {
            p.push(
                "dilation.cpu_quota",
                "period and quota must be positive microseconds",
            );
        }
    }

    fn check_nodes(&self, p: &mut Problems) {
        let n = &self.nodes;
        if n.total == 0 {
            p.push("nodes.total", "is 0: a run without nodes measures nothing");
        }
        let per_group: Option<usize> = n
            .per_group
            .iter()
            .try_fold(0usize, |sum, g| sum.checked_add(g.count));
        if !n.per_group.is_empty() && per_group != Some(n.total) {
            p.push(
                "nodes.per_group",
                format!("counts do not add up to nodes.total ({})", n.total),
            );
        }
        let per_role: Option<usize> = n
            .per_role
            .values()
            .try_fold(0usize, |sum, c| sum.checked_add(*c));
        if !n.per_role.is_empty() && per_role != Some(n.total) {
            p.push(
                "nodes.per_role",
                format!("counts do not add up to nodes.total ({})", n.total),
            );
        }
        for (i, g) in n.per_group.iter().enumerate() {
            check_name(p, &format!("nodes.per_group[{i}].group"), &g.group);
            check_name(p, &format!("nodes.per_group[{i}].role"), &g.role);
        }
    }

    /// Checks the timestamps; returns the run's length in seconds when they are usable.
    fn check_times(&self, p: &mut Problems) -> Option<f64> {
        let mut usable = true;
        for (field, ms) in [
            ("started_at_ms", self.started_at_ms),
            ("ended_at_ms", self.ended_at_ms),
        ] {
            if !(PLAUSIBLE_FROM_MS..PLAUSIBLE_UNTIL_MS).contains(&ms) {
                p.push(
                    field,
                    format!(
                        "is {ms}, not a time between the years 2000 and 2200 in ms since the \
                         Unix epoch"
                    ),
                );
                usable = false;
            }
        }
        if usable && self.ended_at_ms < self.started_at_ms {
            p.push(
                "ended_at_ms",
                format!(
                    "is {}, before started_at_ms ({})",
                    self.ended_at_ms, self.started_at_ms
                ),
            );
            usable = false;
        }
        usable.then(|| (self.ended_at_ms - self.started_at_ms) as f64 / 1000.0)
    }

    fn check_phases(&self, p: &mut Problems, bound_s: Option<f64>) {
        let ph = &self.phases;
        for (name, v) in [
            ("images_ready_after_s", ph.images_ready_after_s),
            ("containers_started_after_s", ph.containers_started_after_s),
            ("shaped_after_s", ph.shaped_after_s),
            ("ready_after_s", ph.ready_after_s),
            ("traffic_started_after_s", ph.traffic_started_after_s),
            ("window_started_after_s", ph.window_started_after_s),
            ("traffic_ended_after_s", ph.traffic_ended_after_s),
            ("collected_after_s", ph.collected_after_s),
        ] {
            let Some(v) = v else { continue };
            let field = format!("phases.{name}");
            if !v.is_finite() || v < 0.0 {
                p.push(
                    field,
                    format!("is {}, not a time after the run's start", num(v)),
                );
            } else if let Some(bound) = bound_s.filter(|b| v > *b) {
                p.push(
                    field,
                    format!(
                        "is {} s, after the run's end ({:.1} s after its start)",
                        num(v),
                        bound - CLOCK_SLACK_S
                    ),
                );
            }
        }
        if let (Some(a), Some(b)) = (ph.window_started_after_s, ph.traffic_ended_after_s)
            && a > b
        {
            p.push(
                "phases.traffic_ended_after_s",
                format!(
                    "is {}, before the measurement window started ({})",
                    num(b),
                    num(a)
                ),
            );
        }
        for (i, n) in ph.unready_nodes.iter().enumerate() {
            check_name(p, &format!("phases.unready_nodes[{i}]"), n);
        }
    }

    fn check_resources(&self, p: &mut Problems) {
        let r = &self.resources;
        if let Some(l) = r.peak_host_load {
            check_non_negative(p, "resources.peak_host_load", l);
        }
        if let Some(b) = r.window_host_busy
            && !(0.0..=1.0).contains(&b)
        {
            p.push(
                "resources.window_host_busy",
                format!("must be a share in 0..=1, got {}", num(b)),
            );
        }
        if let Some(cost) = &r.cost {
            check_cost(p, "resources.cost", cost);
        }
        for (i, c) in r.containers.iter().enumerate() {
            check_name(p, &format!("resources.containers[{i}].name"), &c.name);
            for (name, v) in [
                ("cpu_percent_mean", c.cpu_percent_mean),
                ("cpu_percent_peak", c.cpu_percent_peak),
            ] {
                if let Some(v) = v {
                    check_non_negative(p, &format!("resources.containers[{i}].{name}"), v);
                }
            }
        }
    }

    /// A target's measurement must be the statistic it names (see [`super::check_targets`]).
    fn check_targets_against_stats(&self, p: &mut Problems) {
        let s = &self.stats;
        let ms = |us: Option<u64>| us.map(|us| us as f64 / 1000.0);
        for (i, t) in self.targets.iter().enumerate() {
            let (source, value) = match t.name.as_str() {
                "p95" => ("stats.latency.p95_us", ms(s.latency.p95_us)),
                "p99" => ("stats.latency.p99_us", ms(s.latency.p99_us)),
                "delivery" => ("stats.delivery.ratio", s.delivery.ratio),
                "link_error" => (
                    "stats.fidelity.relative_error",
                    s.fidelity.as_ref().and_then(|f| f.relative_error),
                ),
                "bandwidth_efficiency" => (
                    "stats.bandwidth.efficiency",
                    s.bandwidth.as_ref().and_then(|b| b.efficiency),
                ),
                _ => continue,
            };
            let agrees = match (t.measured, value) {
                (Some(a), Some(b)) => close(a, b),
                (None, None) => true,
                _ => false,
            };
            if !agrees {
                let text = |v: Option<f64>| v.map_or_else(|| "nothing".to_string(), num);
                p.push(
                    format!("targets[{i}].measured"),
                    format!(
                        "is {}, but {source} gives {}",
                        text(t.measured),
                        text(value)
                    ),
                );
            }
        }
    }
}

/// The earliest plausible run start: 2000-01-01 00:00:00 UTC, in ms since the Unix epoch.
pub const PLAUSIBLE_FROM_MS: u64 = 946_684_800_000;
/// The first implausible instant: 2200-01-01 00:00:00 UTC, in ms since the Unix epoch.
pub const PLAUSIBLE_UNTIL_MS: u64 = 7_258_118_400_000;
/// Seconds a phase or a latency (monotonic clock) may exceed the run's wall-clock span.
const CLOCK_SLACK_S: f64 = 60.0;
/// The longest name (run id, scenario, node, …) a result may hold, in characters.
const NAME_CHARS: usize = 256;

/// Whether `a` and `b` are equal up to rounding (JSON round trips may change the last
/// digit).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Pushes a problem when `s` is not a usable name: empty, longer than 256 characters, or
/// holding control characters (which would reach the terminal).
pub(crate) fn check_name(p: &mut Problems, field: &str, s: &str) {
    if s.is_empty() {
        p.push(field, "is empty");
    } else if s.chars().count() > NAME_CHARS {
        p.push(field, format!("is longer than {NAME_CHARS} characters"));
    } else if s.chars().any(char::is_control) {
        p.push(
            field,
            format!("is {}, which holds control characters", fsio::quoted(s)),
        );
    }
}

/// Pushes a problem unless `name` names a runner.
pub(crate) fn check_runner(p: &mut Problems, field: &str, name: &str) {
    if RunnerKind::of_result(name).is_none() {
        p.push(
            field,
            format!(
                "is {}, not a runner ({})",
                fsio::quoted(name),
                RunnerKind::names()
            ),
        );
    }
}

/// Pushes a problem when `v` is not a finite number ≥ 0.
fn check_non_negative(p: &mut Problems, field: &str, v: f64) {
    if !v.is_finite() || v < 0.0 {
        p.push(field, format!("is {}, not a finite number ≥ 0", num(v)));
    }
}

/// Pushes a problem when the link profile is impossible (loss outside 0..=1, jitter above
/// the delay).
pub(crate) fn check_link(p: &mut Problems, at: &str, l: &LinkProfile) {
    if !(0.0..=1.0).contains(&l.loss) {
        p.push(
            format!("{at}.loss"),
            format!("is {}, not a probability in 0..=1", num(l.loss)),
        );
    }
    if l.jitter > l.delay {
        p.push(
            format!("{at}.jitter"),
            format!(
                "is {}, more than the delay ({})",
                format_duration(l.jitter),
                format_duration(l.delay)
            ),
        );
    }
}

/// Pushes what makes a list of target checks incoherent: repeated names, unknown units,
/// values that are negative, not finite or (for the delivery ratio) above 1, and a `met`
/// that disagrees with the measurement.
pub(crate) fn check_targets_list(p: &mut Problems, at: &str, targets: &[TargetCheck]) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, t) in targets.iter().enumerate() {
        let at = format!("{at}[{i}]");
        check_name(p, &format!("{at}.name"), &t.name);
        if !seen.insert(t.name.as_str()) {
            p.push(
                format!("{at}.name"),
                format!("repeats target {}", fsio::quoted(&t.name)),
            );
        }
        let unit_ok = match t.name.as_str() {
            "p95" | "p99" => t.unit == "ms",
            "delivery" | "link_error" | "bandwidth_efficiency" => t.unit == "ratio",
            _ => matches!(t.unit.as_str(), "ms" | "ratio" | "qps"),
        };
        if !unit_ok {
            p.push(
                format!("{at}.unit"),
                format!("is {}, not the unit of this target", fsio::quoted(&t.unit)),
            );
        }
        let before = p.0.len();
        check_non_negative(p, &format!("{at}.target"), t.target);
        if let Some(m) = t.measured {
            check_non_negative(p, &format!("{at}.measured"), m);
        }
        if t.name == "delivery" || t.name == "bandwidth_efficiency" {
            for (field, v) in [("target", Some(t.target)), ("measured", t.measured)] {
                if let Some(v) = v.filter(|v| *v > 1.0) {
                    p.push(
                        format!("{at}.{field}"),
                        format!("is {}, not a ratio in 0..=1", num(v)),
                    );
                }
            }
        }
        if p.0.len() > before {
            continue;
        }
        let holds = t.measured.is_some_and(|m| t.comparison.holds(m, t.target));
        if t.met != holds {
            let why = match t.measured {
                None => "nothing was measured".to_string(),
                Some(m) => format!(
                    "{} {} {} {}",
                    num(m),
                    t.comparison.symbol(),
                    num(t.target),
                    if holds { "holds" } else { "does not hold" }
                ),
            };
            p.push(format!("{at}.met"), format!("is {}, but {why}", t.met));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::fixtures::{coherent, has, lines};

    /// The problems of `r` as `field: message` lines.
    fn problems(r: &RunResult) -> Vec<String> {
        lines(&r.problems())
    }

    #[test]
    fn a_coherent_result_has_no_problem() {
        let r = coherent();
        assert_eq!(problems(&r), Vec::<String>::new());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = r.write_json(dir.path()).expect("written");
        assert_eq!(RunResult::read_json(&path).expect("reads"), r);
    }

    #[test]
    fn impossible_values_are_named_by_field() {
        let mut r = coherent();
        r.stats.delivery.ratio = Some(7.5);
        r.started_at_ms = u64::MAX / 2;
        r.phases.ready_after_s = Some(-1.0);
        r.phases.collected_after_s = Some(f64::INFINITY);
        r.stats.latency.p99_us = Some(10);
        r.link.loss = 2.0;
        r.scenario = "a\u{1b}[2Jb".into();
        r.dilation.time_scale = 0.5;
        r.dilation.cpu_per_node = f64::NAN;
        let got = problems(&r);
        assert!(
            has(&got, "dilation.time_scale", "from 1 to 1000"),
            "{got:#?}"
        );
        assert!(has(&got, "dilation.cpu_per_node", "positive"), "{got:#?}");
        assert!(
            has(&got, "stats.delivery.ratio", "not a ratio in 0..=1"),
            "{got:#?}"
        );
        assert!(
            has(&got, "started_at_ms", "between the years 2000 and 2200"),
            "{got:#?}"
        );
        assert!(has(&got, "phases.ready_after_s", "is -1"), "{got:#?}");
        assert!(has(&got, "phases.collected_after_s", "is inf"), "{got:#?}");
        assert!(
            has(&got, "stats.latency.p99_us", "below p95_us"),
            "{got:#?}"
        );
        assert!(has(&got, "link.loss", "not a probability"), "{got:#?}");
        assert!(has(&got, "scenario", "control characters"), "{got:#?}");
        assert!(!got.iter().any(|p| p.contains('\u{1b}')), "{got:#?}");
    }

    #[test]
    fn times_must_lie_within_the_run() {
        let mut r = coherent();
        r.ended_at_ms = r.started_at_ms - 1;
        assert!(has(&problems(&r), "ended_at_ms", "before started_at_ms"));
        let mut r = coherent();
        r.phases.collected_after_s = Some(1e9);
        r.stats.latency.p99_us = Some(3_600_000_000);
        let got = problems(&r);
        assert!(
            has(&got, "phases.collected_after_s", "after the run's end"),
            "{got:#?}"
        );
        assert!(
            has(&got, "stats.latency.p99_us", "longer than the run"),
            "{got:#?}"
        );
        let mut r = coherent();
        r.phases.window_started_after_s = Some(31.0);
        assert!(has(
            &problems(&r),
            "phases.traffic_ended_after_s",
            "before the measurement"
        ));
    }

    #[test]
    fn counts_and_ratios_must_agree() {
        let mut r = coherent();
        r.stats.delivery.delivered = 990;
        assert!(has(
            &problems(&r),
            "stats.delivery.ratio",
            "delivered / expected"
        ));
        let mut r = coherent();
        r.stats.delivery.delivered = 2000;
        r.stats.delivery.ratio = Some(1.0);
        assert!(has(
            &problems(&r),
            "stats.delivery.delivered",
            "more than expected"
        ));
        let mut r = coherent();
        r.stats.latency.count = 0;
        assert!(has(
            &problems(&r),
            "stats.latency.count",
            "latencies are given"
        ));
        let mut r = coherent();
        r.nodes.total = 5;
        let got = problems(&r);
        assert!(has(&got, "nodes.per_group", "do not add up"), "{got:#?}");
        assert!(has(&got, "nodes.per_role", "do not add up"), "{got:#?}");
        let mut r = coherent();
        r.stats.duplicates = Some(crate::analysis::Duplicates {
            received: 10,
            unique: 0,
            per_delivery: Some(2.0),
        });
        assert!(has(
            &problems(&r),
            "stats.duplicates.per_delivery",
            "no unique message"
        ));
    }

    #[test]
    fn met_must_follow_from_the_measurement() {
        let mut r = coherent();
        let i = r.targets.iter().position(|t| t.name == "p99").expect("p99");
        r.targets[i].measured = Some(250.0);
        let got = problems(&r);
        // The verdict still says met, and the measurement disagrees with the statistics.
        assert!(
            has(
                &got,
                &format!("targets[{i}].met"),
                "250 < 200 does not hold"
            ),
            "{got:#?}"
        );
        assert!(
            has(
                &got,
                &format!("targets[{i}].measured"),
                "stats.latency.p99_us gives 90"
            ),
            "{got:#?}"
        );
        let mut r = coherent();
        r.targets[i].measured = None;
        assert!(has(
            &problems(&r),
            &format!("targets[{i}].met"),
            "nothing was measured"
        ));
        let mut r = coherent();
        let d = r
            .targets
            .iter()
            .position(|t| t.name == "delivery")
            .expect("delivery");
        r.targets[d].target = 99.0;
        assert!(has(
            &problems(&r),
            &format!("targets[{d}].target"),
            "not a ratio"
        ));
        let mut r = coherent();
        r.targets.push(r.targets[0].clone());
        assert!(has(&problems(&r), "targets[3].name", "repeats target"));
    }
}
