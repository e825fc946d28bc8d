//! The result of one run: what ran, what was measured, which targets were met. Written as
//! `reports/<run-id>/result.json` (stable field names) and summarised for the terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analysis::{DeliveryRatio, LatencySummary, Stats};
use crate::error::{EXIT_TARGETS_MET, EXIT_TARGETS_MISSED, Error};
use crate::fsio::{self, Problems, num};
use crate::plan::Plan;
pub use crate::run::{ContainerUsage, Phases, Resources};
use crate::scenario::Targets;
use crate::scenario::profile::LinkProfile;
use crate::scenario::units::format_duration;

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// The run id (also the name of its report folder and the label of its resources).
    pub run_id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's seed.
    pub seed: u64,
    /// Nodes per group and per role.
    pub nodes: NodeCounts,
    /// The shaper back end that actually ran (`kernel`, `userspace`, `none`), from the runner.
    pub shaper: String,
    /// The TCP congestion control in force in the nodes (`cubic`, or the host's default
    /// where cubic could not be had; see `host::congestion`). Empty in results written
    /// before it was recorded.
    #[serde(default)]
    pub tcp_congestion: String,
    /// The link profile imposed.
    pub link: LinkProfile,
    /// When the run started, ms since the Unix epoch.
    pub started_at_ms: u64,
    /// When it ended, ms since the Unix epoch.
    pub ended_at_ms: u64,
    /// When each phase finished, in seconds after `started_at_ms`.
    pub phases: Phases,
    /// The measurements.
    pub stats: Stats,
    /// Host and container costs, as far as the runner measured them.
    pub resources: Resources,
    /// Each target and whether it was met.
    pub targets: Vec<TargetCheck>,
}

/// Nodes in the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeCounts {
    /// All nodes.
    pub total: usize,
    /// Per group, in scenario order.
    pub per_group: Vec<GroupCount>,
    /// Per role name.
    pub per_role: BTreeMap<String, usize>,
}

/// One group's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupCount {
    /// Group id.
    pub group: String,
    /// Its role.
    pub role: String,
    /// Its nodes.
    pub count: usize,
}

/// How a measurement is compared with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// Met when measured < target.
    Below,
    /// Met when measured >= target.
    AtLeast,
    /// Met when measured <= target.
    AtMost,
}

impl Comparison {
    fn symbol(self) -> &'static str {
        match self {
            Comparison::Below => "<",
            Comparison::AtLeast => ">=",
            Comparison::AtMost => "<=",
        }
    }

    fn holds(self, measured: f64, target: f64) -> bool {
        match self {
            Comparison::Below => measured < target,
            Comparison::AtLeast => measured >= target,
            Comparison::AtMost => measured <= target,
        }
    }
}

/// One target, its measurement and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetCheck {
    /// `p95`, `p99`, `delivery` or `link_error`.
    pub name: String,
    /// Unit of `target` and `measured`: `ms` or `ratio`.
    pub unit: String,
    /// How `measured` must compare with `target`.
    pub comparison: Comparison,
    /// The target.
    pub target: f64,
    /// The measurement; `None` when nothing could be measured (the target is then missed).
    pub measured: Option<f64>,
    /// Whether the target was met.
    pub met: bool,
}

fn check(
    name: &str,
    unit: &str,
    comparison: Comparison,
    target: f64,
    measured: Option<f64>,
) -> TargetCheck {
    TargetCheck {
        name: name.to_string(),
        unit: unit.to_string(),
        comparison,
        target,
        measured,
        met: measured.is_some_and(|m| comparison.holds(m, target)),
    }
}

/// Checks every target the scenario gives against the statistics.
pub fn check_targets(targets: &Targets, stats: &Stats) -> Vec<TargetCheck> {
    let ms = |us: Option<u64>| us.map(|us| us as f64 / 1000.0);
    let mut out = Vec::new();
    if let Some(t) = targets.p95 {
        let target = t.as_secs_f64() * 1000.0;
        out.push(check(
            "p95",
            "ms",
            Comparison::Below,
            target,
            ms(stats.latency.p95_us),
        ));
    }
    if let Some(t) = targets.p99 {
        let target = t.as_secs_f64() * 1000.0;
        out.push(check(
            "p99",
            "ms",
            Comparison::Below,
            target,
            ms(stats.latency.p99_us),
        ));
    }
    if let Some(t) = targets.delivery {
        out.push(check(
            "delivery",
            "ratio",
            Comparison::AtLeast,
            t,
            stats.delivery.ratio,
        ));
    }
    if let Some(t) = targets.link_error {
        let measured = stats.fidelity.as_ref().and_then(|f| f.relative_error);
        out.push(check(
            "link_error",
            "ratio",
            Comparison::AtMost,
            t,
            measured,
        ));
    }
    out
}

impl RunResult {
    /// A result for `plan` with node counts, link and target checks filled in; phases and
    /// resources are left empty for the runner to fill.
    pub fn new(
        run_id: impl Into<String>,
        plan: &Plan,
        stats: Stats,
        shaper: impl Into<String>,
        started_at_ms: u64,
        ended_at_ms: u64,
    ) -> Self {
        let mut per_role: BTreeMap<String, usize> = BTreeMap::new();
        for g in &plan.groups {
            *per_role.entry(g.role.name().to_string()).or_insert(0) += g.count;
        }
        let nodes = NodeCounts {
            total: plan.nodes.len(),
            per_group: plan
                .groups
                .iter()
                .map(|g| GroupCount {
                    group: g.id.clone(),
                    role: g.role.name().to_string(),
                    count: g.count,
                })
                .collect(),
            per_role,
        };
        let targets = check_targets(&plan.targets, &stats);
        RunResult {
            run_id: run_id.into(),
            scenario: plan.scenario.clone(),
            seed: plan.seed,
            nodes,
            shaper: shaper.into(),
            tcp_congestion: String::new(),
            link: plan.link.clone(),
            started_at_ms,
            ended_at_ms,
            phases: Phases::default(),
            stats,
            resources: Resources::default(),
            targets,
        }
    }

    /// Whether every target was met (true when there are none).
    pub fn verdict(&self) -> bool {
        self.targets.iter().all(|t| t.met)
    }

    /// The process exit code: 0 when every target was met, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.verdict() {
            EXIT_TARGETS_MET
        } else {
            EXIT_TARGETS_MISSED
        }
    }

    /// Writes `reports_dir/<run-id>/result.json` (creating the folder) and returns its path.
    pub fn write_json(&self, reports_dir: &Path) -> Result<PathBuf, Error> {
        let dir = reports_dir.join(&self.run_id);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        let path = dir.join("result.json");
        let json = serde_json::to_string_pretty(self).map_err(|e| Error::Encode {
            what: path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(&path, json + "\n").map_err(|e| Error::io("write", &path, e))?;
        Ok(path)
    }

    /// Reads a `result.json` written by [`RunResult::write_json`] (at most
    /// [`fsio::RESULT_CAP`] bytes) and refuses one that is not a coherent measurement (see
    /// [`RunResult::problems`]): every problem is named by file and JSON path.
    pub fn read_json(path: &Path) -> Result<Self, Error> {
        let text = fsio::read_capped(path, fsio::RESULT_CAP, "a result")?;
        let value = fsio::parse_json_value(path, &text)?;
        Self::from_json_value(path, &text, &value)
    }

    /// Parses the JSON `text` of `path` (already parsed as `value`) as a result and
    /// validates it: unknown fields anywhere, then [`RunResult::problems`].
    pub fn from_json_value(
        path: &Path,
        text: &str,
        value: &serde_json::Value,
    ) -> Result<Self, Error> {
        let r: RunResult = fsio::parse_json(path, text)?;
        let mut problems = Problems::default();
        // Nested types of other modules do not deny unknown fields: compare the input with
        // what was understood.
        if let Ok(understood) = serde_json::to_value(&r) {
            for field in fsio::unknown_keys(value, &understood) {
                problems.push(field, "is not a field of a result.json");
            }
        }
        problems.0.extend(r.problems().0);
        problems.into_result(path)?;
        Ok(r)
    }

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
        self.check_nodes(&mut p);
        check_link(&mut p, "link", &self.link);
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
        p
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

    /// A target's measurement must be the statistic it names (see [`check_targets`]).
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

    /// A readable terminal summary ending in the target table (MET / MISSED) and verdict.
    pub fn render_summary(&self) -> String {
        let mut o = String::new();
        let s = &self.stats;
        let roles: Vec<String> = self
            .nodes
            .per_role
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        let _ = writeln!(
            o,
            "run {}  scenario {}  seed {}",
            self.run_id, self.scenario, self.seed
        );
        let _ = writeln!(
            o,
            "nodes {} ({})  shaper {}{}  link {}",
            self.nodes.total,
            roles.join(", "),
            self.shaper,
            if self.tcp_congestion.is_empty() {
                String::new()
            } else {
                format!("  tcp {}", self.tcp_congestion)
            },
            link_text(&self.link)
        );
        if let Some(ready) = self.phases.ready_after_s {
            let _ = writeln!(o, "meshed after {ready:.1} s");
        }
        let _ = writeln!(o);

        let _ = writeln!(
            o,
            "published      {} honest, {} attacker",
            s.published.honest, s.published.attacker
        );
        let _ = writeln!(
            o,
            "delivery       {}  ({} of {})",
            opt_ratio(s.delivery.ratio),
            s.delivery.delivered,
            s.delivery.expected
        );
        let _ = writeln!(o, "latency        {}", latency_text(&s.latency));
        for c in &s.coverage {
            let _ = writeln!(
                o,
                "coverage {:>3}%  p50 {}  p95 {}  p99 {}  reached {}/{}  never {}",
                c.percent,
                opt_ms(c.p50_us),
                opt_ms(c.p95_us),
                opt_ms(c.p99_us),
                c.reached,
                c.messages,
                c.never
            );
        }
        if s.groups.len() > 1 {
            for g in &s.groups {
                let _ = writeln!(
                    o,
                    "group {:<8} {:>4} {:<18} delivery {}  p95 {}",
                    g.group,
                    g.nodes,
                    g.role,
                    opt_ratio(g.delivery.ratio),
                    opt_ms(g.latency.p95_us)
                );
            }
        }
        if !s.rejections.is_empty() {
            let r: Vec<String> = s
                .rejections
                .iter()
                .map(|(reason, n)| format!("{reason}: {n}"))
                .collect();
            let _ = writeln!(o, "rejected       {}", r.join(", "));
        }
        if let Some(d) = &s.defence {
            let _ = writeln!(
                o,
                "attacker score min {}  median {}  max {}  ({} pairs, {} attackers)",
                opt_score(d.final_min),
                opt_score(d.final_median),
                opt_score(d.final_max),
                d.scored_pairs,
                d.attackers
            );
            let crossings: Vec<String> = d
                .thresholds
                .iter()
                .map(|t| match t.first_below_s {
                    Some(at) => format!("{} ({}) after {at:.1} s", t.name, t.threshold),
                    None => format!("{} ({}) never", t.name, t.threshold),
                })
                .collect();
            let _ = writeln!(o, "median below   {}", crossings.join(", "));
        }
        if let Some(f) = &s.fidelity {
            let rel = f
                .relative_error
                .map(|r| format!(", {:.1} %", r * 100.0))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "link fidelity  measured {} vs imposed {} one way (error {:+.2} ms{rel}, {} pings)",
                ms_text(f.measured_us),
                ms_text(f.imposed_us),
                f.error_us as f64 / 1000.0,
                f.samples
            );
        }
        if let Some(d) = &s.duplicates
            && let Some(per) = d.per_delivery
        {
            let _ = writeln!(
                o,
                "duplicates     {per:.2} redundant copies per message ({} received, {} unique)",
                d.received, d.unique
            );
        }
        if let Some(mem) = self.resources.peak_host_mem_bytes {
            let load = self
                .resources
                .peak_host_load
                .map(|l| format!(", load peak {l:.1}"))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "host           memory peak {:.0} MiB{load}",
                mem as f64 / 1048576.0
            );
        }

        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<12} {:<14} {:<14} result",
            "target", "wanted", "measured"
        );
        for t in &self.targets {
            let fmt = |v: f64| {
                if t.unit == "ms" {
                    format!("{v:.1} ms")
                } else {
                    format!("{v:.4}")
                }
            };
            let wanted = format!("{} {}", t.comparison.symbol(), fmt(t.target));
            let measured = t.measured.map_or_else(|| "-".to_string(), fmt);
            let _ = writeln!(
                o,
                "{:<12} {:<14} {:<14} {}",
                t.name,
                wanted,
                measured,
                if t.met { "MET" } else { "MISSED" }
            );
        }
        if self.targets.is_empty() {
            let _ = writeln!(o, "(no targets)");
        }
        let missed = self.targets.iter().filter(|t| !t.met).count();
        let _ = writeln!(
            o,
            "verdict: {}",
            if missed == 0 {
                "all targets met".to_string()
            } else {
                format!("{missed} of {} targets missed", self.targets.len())
            }
        );
        o
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
pub(crate) fn close(a: f64, b: f64) -> bool {
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
            "delivery" | "link_error" => t.unit == "ratio",
            _ => t.unit == "ms" || t.unit == "ratio",
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
        if t.name == "delivery" {
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

/// Pushes what makes a latency summary incoherent: values without samples, times longer
/// than `bound_us`, percentiles out of order, a mean that is not finite or above the max.
fn check_latency(p: &mut Problems, at: &str, l: &LatencySummary, bound_us: Option<u64>) {
    let values = [
        ("p50_us", l.p50_us),
        ("p90_us", l.p90_us),
        ("p95_us", l.p95_us),
        ("p99_us", l.p99_us),
        ("max_us", l.max_us),
    ];
    if l.count == 0 && (values.iter().any(|(_, v)| v.is_some()) || l.mean_us.is_some()) {
        p.push(format!("{at}.count"), "is 0, but latencies are given");
    }
    check_times_us(p, at, &values, bound_us);
    // Percentiles come from one histogram, so they never decrease (the exact max may sit
    // below a histogram percentile, which reads the top of its bucket).
    let mut previous: Option<(&str, u64)> = None;
    for (name, v) in &values[..4] {
        let Some(v) = *v else { continue };
        if let Some((pname, pv)) = previous
            && v < pv
        {
            p.push(
                format!("{at}.{name}"),
                format!("is {v}, below {pname} ({pv})"),
            );
        }
        previous = Some((name, v));
    }
    if let Some(mean) = l.mean_us {
        if !mean.is_finite() || mean < 0.0 {
            p.push(
                format!("{at}.mean_us"),
                format!("is {}, not a finite time ≥ 0", num(mean)),
            );
        } else if let Some(max) = l
            .max_us
            .filter(|m| mean > *m as f64 && !close(mean, *m as f64))
        {
            p.push(
                format!("{at}.mean_us"),
                format!("is {}, above max_us ({max})", num(mean)),
            );
        }
    }
}

/// Pushes a problem for each time (µs) above `bound_us`, the run's length.
fn check_times_us(
    p: &mut Problems,
    at: &str,
    values: &[(&str, Option<u64>)],
    bound_us: Option<u64>,
) {
    let Some(bound) = bound_us else { return };
    for (name, v) in values {
        if let Some(v) = v.filter(|v| *v > bound) {
            p.push(
                format!("{at}.{name}"),
                format!("is {v} µs, longer than the run itself"),
            );
        }
    }
}

/// Pushes what makes a delivery ratio incoherent: more delivered than expected, a ratio
/// outside 0..=1, missing or disagreeing with `delivered / expected`.
fn check_delivery(p: &mut Problems, at: &str, d: &DeliveryRatio) {
    if d.delivered > d.expected {
        p.push(
            format!("{at}.delivered"),
            format!("is {}, more than expected ({})", d.delivered, d.expected),
        );
    }
    let field = format!("{at}.ratio");
    match d.ratio {
        Some(r) if !(0.0..=1.0).contains(&r) => {
            p.push(field, format!("is {}, not a ratio in 0..=1", num(r)));
        }
        Some(r) if d.expected == 0 => {
            p.push(
                field,
                format!("is {}, but nothing was expected (expected is 0)", num(r)),
            );
        }
        Some(r) if !close(r, d.delivered as f64 / d.expected as f64) => {
            p.push(
                field,
                format!(
                    "is {}, but delivered / expected is {} / {}",
                    num(r),
                    d.delivered,
                    d.expected
                ),
            );
        }
        None if d.expected > 0 => {
            p.push(
                field,
                format!("is missing, though {} deliveries were expected", d.expected),
            );
        }
        _ => {}
    }
}

/// Pushes what makes the statistics incoherent (see [`RunResult::problems`]).
fn check_stats(p: &mut Problems, s: &Stats, total_nodes: usize, bound_us: Option<u64>) {
    if s.honest_nodes > total_nodes {
        p.push(
            "stats.honest_nodes",
            format!(
                "is {}, more than the run's {total_nodes} nodes",
                s.honest_nodes
            ),
        );
    }
    check_latency(p, "stats.latency", &s.latency, bound_us);
    check_delivery(p, "stats.delivery", &s.delivery);
    let mut levels = std::collections::BTreeSet::new();
    for (i, c) in s.coverage.iter().enumerate() {
        let at = format!("stats.coverage[{i}]");
        if !(1..=100).contains(&c.percent) {
            p.push(
                format!("{at}.percent"),
                format!("is {}, not a level in 1..=100", c.percent),
            );
        } else if !levels.insert(c.percent) {
            p.push(
                format!("{at}.percent"),
                format!("repeats level {}", c.percent),
            );
        }
        if c.reached.checked_add(c.never) != Some(c.messages) {
            p.push(
                format!("{at}.messages"),
                format!(
                    "is {}, but reached + never is {} + {}",
                    c.messages, c.reached, c.never
                ),
            );
        }
        let values = [
            ("p50_us", c.p50_us),
            ("p95_us", c.p95_us),
            ("p99_us", c.p99_us),
        ];
        if c.reached == 0 && values.iter().any(|(_, v)| v.is_some()) {
            p.push(
                format!("{at}.reached"),
                "is 0, but coverage times are given",
            );
        }
        check_times_us(p, &at, &values, bound_us);
        if let (Some(a), Some(b), Some(c99)) = (c.p50_us, c.p95_us, c.p99_us)
            && !(a <= b && b <= c99)
        {
            p.push(format!("{at}.p95_us"), "percentiles are out of order");
        }
    }
    for (i, g) in s.groups.iter().enumerate() {
        let at = format!("stats.groups[{i}]");
        check_name(p, &format!("{at}.group"), &g.group);
        check_delivery(p, &format!("{at}.delivery"), &g.delivery);
        check_latency(p, &format!("{at}.latency"), &g.latency, bound_us);
    }
    for (i, n) in s.nodes.iter().enumerate() {
        let at = format!("stats.nodes[{i}]");
        check_name(p, &format!("{at}.name"), &n.name);
        check_delivery(p, &format!("{at}.delivery"), &n.delivery);
        check_times_us(
            p,
            &at,
            &[("median_latency_us", n.median_latency_us)],
            bound_us,
        );
    }
    if let Some(d) = &s.defence {
        let at = "stats.defence";
        for (name, v) in [
            ("final_min", d.final_min),
            ("final_median", d.final_median),
            ("final_max", d.final_max),
        ] {
            if let Some(v) = v.filter(|v| !v.is_finite()) {
                p.push(
                    format!("{at}.{name}"),
                    format!("is {}, not a finite score", num(v)),
                );
            }
        }
        if let (Some(lo), Some(mid), Some(hi)) = (d.final_min, d.final_median, d.final_max)
            && !(lo <= mid && mid <= hi)
        {
            p.push(
                format!("{at}.final_median"),
                "is not between final_min and final_max",
            );
        }
        for (i, t) in d.thresholds.iter().enumerate() {
            let finite = t.threshold.is_finite() && t.first_below_s.is_none_or(f64::is_finite);
            if !finite {
                p.push(
                    format!("{at}.thresholds[{i}]"),
                    "holds a number that is not finite",
                );
            }
        }
        for (i, pt) in d.series.iter().enumerate() {
            let finite = [pt.t_s, pt.min, pt.median, pt.max]
                .iter()
                .all(|v| v.is_finite());
            if !(finite && pt.min <= pt.median && pt.median <= pt.max) {
                p.push(
                    format!("{at}.series[{i}]"),
                    "is not finite or not ordered min ≤ median ≤ max",
                );
            }
        }
    }
    if let Some(f) = &s.fidelity {
        let at = "stats.fidelity";
        if f.samples == 0 {
            p.push(
                format!("{at}.samples"),
                "is 0: a measured delay needs pings",
            );
        }
        let error = i128::from(f.measured_us) - i128::from(f.imposed_us);
        if i128::from(f.error_us) != error {
            p.push(
                format!("{at}.error_us"),
                format!("is {}, but measured_us − imposed_us is {error}", f.error_us),
            );
        }
        check_times_us(
            p,
            at,
            &[
                ("measured_us", Some(f.measured_us)),
                ("measured_p95_us", Some(f.measured_p95_us)),
            ],
            bound_us,
        );
        match f.relative_error {
            Some(r) if !r.is_finite() || r < 0.0 => {
                p.push(
                    format!("{at}.relative_error"),
                    format!("is {}, not a finite ratio ≥ 0", num(r)),
                );
            }
            Some(r) if f.imposed_us == 0 => {
                p.push(
                    format!("{at}.relative_error"),
                    format!("is {}, but no delay was imposed", num(r)),
                );
            }
            Some(r) if !close(r, error.unsigned_abs() as f64 / f.imposed_us as f64) => {
                p.push(
                    format!("{at}.relative_error"),
                    format!("is {}, but |error_us| / imposed_us is not", num(r)),
                );
            }
            None if f.imposed_us > 0 => {
                p.push(
                    format!("{at}.relative_error"),
                    "is missing, though a delay was imposed",
                );
            }
            _ => {}
        }
    }
    if let Some(d) = &s.duplicates {
        let at = "stats.duplicates";
        if d.unique > d.received {
            p.push(
                format!("{at}.unique"),
                format!("is {}, more than received ({})", d.unique, d.received),
            );
        }
        match d.per_delivery {
            Some(v) if !v.is_finite() || v < 0.0 => {
                p.push(
                    format!("{at}.per_delivery"),
                    format!("is {}, not a finite number ≥ 0", num(v)),
                );
            }
            Some(v) if d.unique == 0 => {
                p.push(
                    format!("{at}.per_delivery"),
                    format!("is {}, but no unique message was received", num(v)),
                );
            }
            Some(v)
                if !close(
                    v,
                    d.received.saturating_sub(d.unique) as f64 / d.unique as f64,
                ) =>
            {
                p.push(
                    format!("{at}.per_delivery"),
                    format!(
                        "is {}, but (received − unique) / unique is ({} − {}) / {}",
                        num(v),
                        d.received,
                        d.unique,
                        d.unique
                    ),
                );
            }
            None if d.unique > 0 => {
                p.push(
                    format!("{at}.per_delivery"),
                    "is missing, though messages were received",
                );
            }
            _ => {}
        }
    }
}

fn ms_text(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

fn opt_ms(us: Option<u64>) -> String {
    us.map_or_else(|| "-".to_string(), ms_text)
}

fn opt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{r:.4}"))
}

fn opt_score(s: Option<f64>) -> String {
    s.map_or_else(|| "-".to_string(), |s| format!("{s:.1}"))
}

fn latency_text(l: &LatencySummary) -> String {
    format!(
        "p50 {}  p90 {}  p95 {}  p99 {}  max {}  mean {}  ({} samples)",
        opt_ms(l.p50_us),
        opt_ms(l.p90_us),
        opt_ms(l.p95_us),
        opt_ms(l.p99_us),
        opt_ms(l.max_us),
        l.mean_us
            .map_or_else(|| "-".to_string(), |m| format!("{:.1} ms", m / 1000.0)),
        l.count
    )
}

fn link_text(l: &LinkProfile) -> String {
    if l.is_none() {
        return "unshaped".to_string();
    }
    let mut t = format!(
        "{} ± {}",
        format_duration(l.delay),
        format_duration(l.jitter)
    );
    if l.loss > 0.0 {
        let _ = write!(t, ", loss {:.2} %", l.loss * 100.0);
    }
    if let Some(r) = l.rate_kbit {
        let _ = write!(t, ", {r} kbit/s");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_plan() -> Plan {
        crate::testkit::Small {
            name: "r",
            seed: 3,
            link: r#"{ delay = "25ms", jitter = "2.5ms" }"#,
            honest: 3,
            evil: 1,
            targets: "p95 = \"100ms\"\np99 = \"200ms\"\ndelivery = 0.99",
            ..Default::default()
        }
        .plan()
    }

    /// 2024-01-01 00:00:00 UTC.
    const START_MS: u64 = 1_704_067_200_000;

    fn stats_with(p95_us: Option<u64>, p99_us: Option<u64>, ratio: Option<f64>) -> Stats {
        let mut s = crate::analysis::compute(&[], &test_plan(), None);
        s.latency.count = u64::from(p95_us.is_some() || p99_us.is_some());
        s.latency.p95_us = p95_us;
        s.latency.p99_us = p99_us;
        if let Some(r) = ratio {
            s.delivery.expected = 1000;
            s.delivery.delivered = (r * 1000.0).round() as u64;
        }
        s.delivery.ratio = ratio;
        s
    }

    /// A coherent result (it reads back) with the given figures.
    fn coherent() -> RunResult {
        let mut r = RunResult::new(
            "run-7",
            &test_plan(),
            stats_with(Some(50_000), Some(90_000), Some(0.995)),
            "userspace",
            START_MS,
            START_MS + 40_000,
        );
        r.phases.ready_after_s = Some(3.5);
        r.phases.window_started_after_s = Some(10.0);
        r.phases.traffic_ended_after_s = Some(30.0);
        r
    }

    /// The problems of `r` as `field: message` lines.
    fn problems(r: &RunResult) -> Vec<String> {
        r.problems().0.iter().map(ToString::to_string).collect()
    }

    fn has(problems: &[String], field: &str, message: &str) -> bool {
        problems
            .iter()
            .any(|p| p.starts_with(&format!("field `{field}`: ")) && p.contains(message))
    }

    #[test]
    fn targets_are_checked_with_their_comparisons() {
        let p = test_plan();
        let r = RunResult::new(
            "run-1",
            &p,
            stats_with(Some(99_000), Some(200_000), Some(0.99)),
            "userspace",
            1,
            2,
        );
        let by_name = |n: &str| r.targets.iter().find(|t| t.name == n).expect("target");
        assert!(by_name("p95").met);
        assert_eq!(by_name("p95").measured, Some(99.0));
        // "p99 < 200 ms" is strict.
        assert!(!by_name("p99").met);
        assert!(by_name("delivery").met);
        assert!(!r.verdict());
        assert_eq!(r.exit_code(), EXIT_TARGETS_MISSED);

        let ok = RunResult::new(
            "run-2",
            &p,
            stats_with(Some(1), Some(2), Some(1.0)),
            "kernel",
            1,
            2,
        );
        assert!(ok.verdict());
        assert_eq!(ok.exit_code(), EXIT_TARGETS_MET);
    }

    #[test]
    fn nothing_measured_misses_the_target() {
        let r = RunResult::new(
            "run-3",
            &test_plan(),
            stats_with(None, None, None),
            "none",
            1,
            2,
        );
        assert_eq!(r.targets.len(), 3);
        assert!(r.targets.iter().all(|t| !t.met && t.measured.is_none()));
        assert!(!r.verdict());
    }

    #[test]
    fn node_counts_per_group_and_role() {
        let r = RunResult::new(
            "run-4",
            &test_plan(),
            stats_with(None, None, None),
            "none",
            1,
            2,
        );
        assert_eq!(r.nodes.total, 4);
        assert_eq!(r.nodes.per_group.len(), 2);
        assert_eq!(r.nodes.per_role.get("honest"), Some(&3));
        assert_eq!(r.nodes.per_role.get("invalid-signature"), Some(&1));
    }

    #[test]
    fn json_round_trips_through_the_report_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = RunResult::new(
            "run-5",
            &test_plan(),
            stats_with(Some(5), Some(6), Some(1.0)),
            "userspace",
            START_MS,
            START_MS + 20_000,
        );
        r.phases.ready_after_s = Some(3.5);
        r.resources.peak_host_mem_bytes = Some(1 << 30);
        let path = r.write_json(dir.path()).expect("written");
        assert_eq!(path, dir.path().join("run-5").join("result.json"));
        let back = RunResult::read_json(&path).expect("read back");
        assert_eq!(back, r);
        let text = std::fs::read_to_string(&path).expect("text");
        for field in [
            "\"run_id\"",
            "\"ready_after_s\"",
            "\"p95_us\"",
            "\"targets\"",
            "\"met\"",
        ] {
            assert!(text.contains(field), "{field} missing");
        }
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
        let got = problems(&r);
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

    #[test]
    fn reading_refuses_unknown_fields_at_any_depth() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = coherent().write_json(dir.path()).expect("written");
        let text = std::fs::read_to_string(&path).expect("text");
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v["stats"]["latency"]["p42_us"] = 1.into();
        std::fs::write(&path, v.to_string()).expect("write");
        let e = RunResult::read_json(&path).expect_err("unknown field");
        assert_eq!(e.exit_code(), crate::error::EXIT_INVALID);
        assert!(
            e.to_string()
                .contains("field `stats.latency.p42_us`: is not a field"),
            "{e}"
        );
        v["stats"]["latency"]
            .as_object_mut()
            .expect("object")
            .remove("p42_us");
        v["surplus"] = true.into();
        std::fs::write(&path, v.to_string()).expect("write");
        let e = RunResult::read_json(&path).expect_err("unknown field");
        assert!(
            e.to_string().contains("field `surplus`: unknown field"),
            "{e}"
        );
    }

    #[test]
    fn summary_marks_each_target() {
        let r = RunResult::new(
            "run-6",
            &test_plan(),
            stats_with(Some(50_000), Some(300_000), Some(1.0)),
            "userspace",
            1,
            2,
        );
        let text = r.render_summary();
        let table = text.split("\ntarget ").nth(1).expect("target table");
        let line = |name: &str| {
            table
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} line in\n{text}"))
                .to_string()
        };
        assert!(line("p95 ").ends_with("MET"), "{text}");
        assert!(line("p95 ").contains("50.0 ms"), "{text}");
        assert!(line("p99 ").ends_with("MISSED"), "{text}");
        assert!(line("delivery ").ends_with("MET"), "{text}");
        assert!(text.contains("verdict: 1 of 3 targets missed"), "{text}");
        assert!(text.contains("25ms ± 2.5ms"), "{text}");
    }
}
