//! The result of one run: what ran, what was measured, which targets were met. Written as
//! `reports/<run-id>/result.json` (stable field names) and summarised for the terminal by
//! the output stage.
//!
//! - this file: the model ([`RunResult`] and its node counts);
//! - `targets`: the scenario's targets checked against the statistics, and the verdict;
//! - `guard`: whether the run measured the network or its own host (distorted);
//! - `checks`: what makes a `result.json` read back not a coherent measurement;
//! - [`json`]: writing and reading report files, `result.json` among them.

mod checks;
mod guard;
pub mod json;
mod targets;

#[cfg(test)]
pub(crate) mod fixtures;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::Stats;
use crate::plan::Plan;
pub use crate::run::clocks::HostClock;
pub use crate::run::{ContainerUsage, Phases, Resources};
use crate::scenario::profile::LinkProfile;
use crate::scenario::{CpuQuota, Guard};

pub use self::checks::{PLAUSIBLE_FROM_MS, PLAUSIBLE_UNTIL_MS};
pub(crate) use self::checks::{check_link, check_name, check_runner, check_targets_list};
pub(crate) use self::guard::check_cause;
pub use self::guard::{REMEDY, distortion};
pub use self::targets::{Comparison, TargetCheck, Verdict, check_targets, target_table};

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
    /// The runner that carried the run out (`docker`, `swarm`). Empty in results written
    /// before it was recorded (all of them by the Docker runner).
    #[serde(default)]
    pub runner: String,
    /// The TCP congestion control in force in the nodes (`cubic`, or the host's default
    /// where cubic could not be had; see `host::congestion`). Empty in results written
    /// before it was recorded.
    #[serde(default)]
    pub tcp_congestion: String,
    /// The link profile imposed (virtual time).
    pub link: LinkProfile,
    /// The run's time dilation: every time in the result is virtual but the phases'
    /// (wall clock) and the costs (CPU). Real time (`k = 1`) in results written before it
    /// was recorded.
    #[serde(default)]
    pub dilation: Dilation,
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
    /// The bounds beyond which the run is distorted (the defaults in results written
    /// before the guard existed).
    #[serde(default)]
    pub guard: Guard,
    /// Why the run measured its host rather than the network; empty when it did not. A
    /// distorted run's targets are not judged.
    #[serde(default)]
    pub distorted: Vec<String>,
    /// Each host's clock offset against the orchestrator's, with its uncertainty (empty
    /// when not measured: no shaper container, or results written before it was).
    #[serde(default)]
    pub clocks: Vec<HostClock>,
}

/// How a run was dilated (README, "Virtual time").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dilation {
    /// How many real seconds one virtual second lasted (`k`).
    pub time_scale: f64,
    /// The scenario's `time_scale` as written (`"auto"` or the number).
    pub asked: String,
    /// Cores each node had per virtual second.
    pub cpu_per_node: f64,
    /// Each node container's CFS quota; `None`: unlimited.
    pub cpu_quota: Option<CpuQuota>,
    /// For a distorted run: the smallest time scale that would likely fit this host
    /// (from the window's busy share, at least twice this run's); `None` otherwise.
    pub suggested_time_scale: Option<f64>,
}

impl Default for Dilation {
    fn default() -> Self {
        Dilation {
            time_scale: 1.0,
            asked: "1".into(),
            cpu_per_node: 1.0,
            cpu_quota: None,
            suggested_time_scale: None,
        }
    }
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

impl RunResult {
    /// The nodes' CPU per honest delivery over the window, in milliseconds: the nodes'
    /// cores (cgroup files) × the window's span / the honest deliveries measured. The whole
    /// node's cost (duplicates, pings, scoring, idle work) divided by its useful work; `None`
    /// without a cost or a delivery.
    pub fn node_cpu_per_delivery_ms(&self) -> Option<f64> {
        let cost = self.resources.cost.as_ref()?;
        let delivered = self.stats.delivery.delivered;
        (delivered > 0 && cost.span_s > 0.0)
            .then(|| {
                cost.nodes_cores
                    .map(|c| c * cost.span_s / delivered as f64 * 1000.0)
            })
            .flatten()
    }

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
            runner: String::new(),
            link: plan.link.clone(),
            dilation: Dilation {
                time_scale: plan.time_scale.factor(),
                asked: plan.time_scale_asked.clone(),
                cpu_per_node: plan.cpu_per_node,
                cpu_quota: plan.cpu_quota,
                suggested_time_scale: None,
            },
            started_at_ms,
            ended_at_ms,
            phases: Phases::default(),
            stats,
            resources: Resources::default(),
            targets,
            guard: plan.guard,
            clocks: Vec::new(),
            distorted: Vec::new(),
        }
    }
}

impl Verdict for RunResult {
    fn target_checks(&self) -> &[TargetCheck] {
        &self.targets
    }

    fn distorted(&self) -> bool {
        !self.distorted.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::fixtures::{stats_with, test_plan};

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
}
