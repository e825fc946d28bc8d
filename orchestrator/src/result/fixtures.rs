//! Test fixtures for results: a small plan with targets, statistics with given figures,
//! a coherent result (one that reads back), and lookups in the problems of a file.

use super::RunResult;
use crate::analysis::Stats;
use crate::fsio::Problems;
use crate::host::{Cost, CostPoint};
use crate::plan::Plan;

/// A plan of 3 honest and 1 invalid-signature node with p95, p99 and delivery targets.
pub(crate) fn test_plan() -> Plan {
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
pub(crate) const START_MS: u64 = 1_704_067_200_000;

/// The statistics of [`test_plan`] without events, with the given latencies (µs) and
/// delivery ratio (over 1000 expected deliveries).
pub(crate) fn stats_with(p95_us: Option<u64>, p99_us: Option<u64>, ratio: Option<f64>) -> Stats {
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
pub(crate) fn coherent() -> RunResult {
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

/// A coherent cost over a 20 s window on a 2-core host, for 4 nodes and a shaper, with
/// two points in its series.
pub(crate) fn test_cost() -> Cost {
    let point = |at_s: f64, nodes: f64| CostPoint {
        at_s,
        nodes_cores: Some(nodes),
        shaper_cores: Some(0.35),
        engine_cores: Some(0.21),
        softirq_cores: Some(0.18),
        other_cores: Some(0.02),
        host_idle: Some(0.1),
    };
    Cost {
        host_cores: 2,
        span_s: 20.0,
        nodes_cores: Some(1.04),
        node_cores_mean: Some(0.26),
        node_cores_max: Some(0.31),
        shaper_cores: Some(0.35),
        engine_cores: Some(0.21),
        softirq_cores: Some(0.18),
        other_cores: Some(0.02),
        host_idle: Some(0.1),
        node_mem_bytes: Some(2_254_857_830),
        node_mem_max_bytes: Some(600 << 20),
        host_mem_peak_bytes: Some(3 << 30),
        runnable_mean: Some(2.4),
        runnable_peak: Some(5),
        series: vec![point(10.0, 0.98), point(20.0, 1.1)],
    }
}

/// The problems as `field: message` lines.
pub(crate) fn lines(problems: &Problems) -> Vec<String> {
    problems.0.iter().map(ToString::to_string).collect()
}

/// Whether one of the `field: message` lines names `field` and says `message`.
pub(crate) fn has(problems: &[String], field: &str, message: &str) -> bool {
    problems
        .iter()
        .any(|p| p.starts_with(&format!("field `{field}`: ")) && p.contains(message))
}
