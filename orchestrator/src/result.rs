//! The result of one run: what ran, what was measured, which targets were met. Written as
//! `reports/<run-id>/result.json` (stable field names) and summarised for the terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EXIT_TARGETS_MET, EXIT_TARGETS_MISSED, Error};
use crate::plan::Plan;
use crate::profile::LinkProfile;
use crate::scenario::Targets;
use crate::scenario::units::format_duration;
use crate::stats::{LatencySummary, Stats};

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct GroupCount {
    /// Group id.
    pub group: String,
    /// Its role.
    pub role: String,
    /// Its nodes.
    pub count: usize,
}

/// Phase timings, seconds after the run started; `None` = not reached or not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Images built or found.
    pub images_ready_after_s: Option<f64>,
    /// Every container started.
    pub containers_started_after_s: Option<f64>,
    /// Links shaped.
    pub shaped_after_s: Option<f64>,
    /// Every node meshed (the warm-up starts here).
    pub ready_after_s: Option<f64>,
    /// Publishers started (once links are shaped, before the meshes are awaited).
    pub traffic_started_after_s: Option<f64>,
    /// The measurement window started (after the warm-up).
    #[serde(default)]
    pub window_started_after_s: Option<f64>,
    /// The measurement window ended.
    pub traffic_ended_after_s: Option<f64>,
    /// Events collected and nodes stopped.
    pub collected_after_s: Option<f64>,
    /// Nodes whose mesh never reached `mesh_n_low` before traffic started.
    #[serde(default)]
    pub unready_nodes: Vec<String>,
}

/// Resource figures the runner measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// Peak host memory in use during the run.
    pub peak_host_mem_bytes: Option<u64>,
    /// Peak 1-minute host load average during the run.
    pub peak_host_load: Option<f64>,
    /// Per container.
    pub containers: Vec<ContainerUsage>,
}

/// One container's cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerUsage {
    /// Container (node) name.
    pub name: String,
    /// Mean CPU use in percent of one core.
    pub cpu_percent_mean: Option<f64>,
    /// Peak CPU use in percent of one core.
    pub cpu_percent_peak: Option<f64>,
    /// Peak memory in bytes.
    pub mem_peak_bytes: Option<u64>,
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

    /// Reads a `result.json` written by [`RunResult::write_json`].
    pub fn read_json(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Encode {
            what: path.display().to_string(),
            message: e.to_string(),
        })
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
            "nodes {} ({})  shaper {}  link {}",
            self.nodes.total,
            roles.join(", "),
            self.shaper,
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
    use std::path::Path;

    use super::*;
    use crate::plan::{Subnet, plan};

    fn test_plan() -> Plan {
        let text = r#"
[scenario]
name = "r"
seed = 3
duration = "20s"
warmup = "5s"

[network]
link = { delay = "25ms", jitter = "2.5ms" }

[[groups]]
id = "honest"
count = 3

[[groups]]
id = "evil"
count = 1
role = "invalid-signature"

[traffic]
publishers = 1
rate = "1/s"
size = "1KiB"

[targets]
p95 = "100ms"
p99 = "200ms"
delivery = 0.99
"#;
        let s = crate::scenario::parse(Path::new("r.toml"), text, Path::new("/nonexistent"))
            .expect("valid");
        plan(&s, Subnet::DEFAULT)
    }

    fn stats_with(p95_us: Option<u64>, p99_us: Option<u64>, ratio: Option<f64>) -> Stats {
        let mut s = crate::stats::compute(&[], &test_plan(), None);
        s.latency.p95_us = p95_us;
        s.latency.p99_us = p99_us;
        s.delivery.ratio = ratio;
        s
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
            10,
            20,
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
