//! A scenario's targets checked against a run's statistics: how each measurement is
//! compared ([`Comparison`]), each target with its verdict ([`TargetCheck`]), the verdict
//! of anything checked against targets ([`Verdict`]), and the terminal's target table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::analysis::Stats;
use crate::error::{EXIT_DISTORTED, EXIT_TARGETS_MET, EXIT_TARGETS_MISSED};
use crate::scenario::Targets;

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
    /// The comparison as written in a table: `<`, `>=` or `<=`.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Below => "<",
            Comparison::AtLeast => ">=",
            Comparison::AtMost => "<=",
        }
    }

    /// Whether `measured` meets `target` compared this way.
    pub fn holds(self, measured: f64, target: f64) -> bool {
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
    /// `p95`, `p99`, `delivery`, `link_error`, `handshake_p95` or `handshake_p99`.
    pub name: String,
    /// Unit of `target` and `measured`: `ms`, `ratio` or `qps` (queries a second).
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

impl TargetCheck {
    /// `v` in this target's unit as the terminal tables show it: `12.3 ms`, or a ratio to
    /// four places.
    fn value_text(&self, v: f64) -> String {
        if self.unit == "ms" {
            format!("{v:.1} ms")
        } else if self.unit == "qps" {
            format!("{v:.1}/s")
        } else {
            format!("{v:.4}")
        }
    }
}

/// The targets as a terminal table: a heading line, then a line a target with its name,
/// what it asks (`< 100.0 ms`), its measurement (`-` when nothing was measured) in a column
/// `measured_width` wide headed `measured_heading`, and `MET` or `MISSED` (`not judged`
/// for every target when the measurement is not `judged`).
pub fn target_table(
    targets: &[TargetCheck],
    measured_heading: &str,
    measured_width: usize,
    judged: bool,
) -> String {
    let w = measured_width;
    let nw = targets
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(0)
        .max(12);
    let mut o = format!(
        "{:<nw$} {:<14} {measured_heading:<w$} result\n",
        "target", "wanted"
    );
    for t in targets {
        let wanted = format!("{} {}", t.comparison.symbol(), t.value_text(t.target));
        let measured = t
            .measured
            .map_or_else(|| "-".to_string(), |m| t.value_text(m));
        let met = match (judged, t.met) {
            (false, _) => "not judged",
            (true, true) => "MET",
            (true, false) => "MISSED",
        };
        let _ = writeln!(o, "{:<nw$} {wanted:<14} {measured:<w$} {met}", t.name);
    }
    o
}

/// Something checked against its scenario's targets: a run, or trials on their medians.
pub trait Verdict {
    /// Each target with its verdict.
    fn target_checks(&self) -> &[TargetCheck];

    /// Whether the lab distorted the measurement (then no target is judged).
    fn distorted(&self) -> bool {
        false
    }

    /// Whether the measurement was judged and every target met (true when there are none).
    fn verdict(&self) -> bool {
        !self.distorted() && self.target_checks().iter().all(|t| t.met)
    }

    /// The process exit code: 0 when every target was met, 1 when one was missed, 5 when
    /// the measurement was distorted and not judged.
    fn exit_code(&self) -> u8 {
        if self.distorted() {
            EXIT_DISTORTED
        } else if self.verdict() {
            EXIT_TARGETS_MET
        } else {
            EXIT_TARGETS_MISSED
        }
    }
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
    let handshakes = stats.handshakes.as_ref().map(|h| &h.all);
    for (name, target, measured) in [
        (
            "handshake_p95",
            targets.handshake_p95,
            handshakes.and_then(|h| h.p95_ms),
        ),
        (
            "handshake_p99",
            targets.handshake_p99,
            handshakes.and_then(|h| h.p99_ms),
        ),
    ] {
        if let Some(t) = target {
            let target = t.as_secs_f64() * 1000.0;
            out.push(check(name, "ms", Comparison::Below, target, measured));
        }
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
    if let Some(t) = targets.bandwidth_efficiency {
        let measured = stats.bandwidth.as_ref().and_then(|b| b.efficiency);
        out.push(check(
            "bandwidth_efficiency",
            "ratio",
            Comparison::AtLeast,
            t,
            measured,
        ));
    }
    out.extend(discovery_checks(targets, stats));
    if let Some(t) = targets.recovery {
        let measured = stats
            .phases
            .as_ref()
            .and_then(|p| p.recovery_ms)
            .map(|ms| ms as f64);
        out.push(check(
            "recovery",
            "ms",
            Comparison::AtMost,
            t.as_secs_f64() * 1000.0,
            measured,
        ));
    }
    out
}

/// The p95 of `s` over `nodes` nodes, of which those not in `s` never got there: none
/// when they are more than 5 % (the p95 is then a node that never did).
fn p95_of_all(s: &crate::analysis::LatencySummary, nodes: u64) -> Option<u64> {
    let never = nodes.saturating_sub(s.count);
    (never as f64 <= 0.05 * nodes as f64)
        .then_some(s.p95_us)
        .flatten()
}

/// The discovery targets (`dht_p95`, `dht_success`, `dht_qps`, `mdns_p95`, `join_p95`).
fn discovery_checks(targets: &Targets, stats: &Stats) -> Vec<TargetCheck> {
    let ms = |us: Option<u64>| us.map(|us| us as f64 / 1000.0);
    let target_ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let d = stats.discovery.as_ref();
    let dht = d.and_then(|d| d.dht.as_ref());
    let mut out = Vec::new();
    if let Some(t) = targets.dht_p95 {
        let measured = ms(dht.and_then(|q| q.all.latency.p95_us));
        out.push(check(
            "dht_p95",
            "ms",
            Comparison::Below,
            target_ms(t),
            measured,
        ));
    }
    if let Some(t) = targets.dht_success {
        let measured = dht.and_then(|q| q.all.success);
        out.push(check(
            "dht_success",
            "ratio",
            Comparison::AtLeast,
            t,
            measured,
        ));
    }
    if let Some(t) = targets.dht_qps {
        let measured = dht.and_then(|q| q.qps);
        out.push(check("dht_qps", "qps", Comparison::AtLeast, t, measured));
    }
    if let Some(t) = targets.mdns_p95 {
        let measured = ms(d
            .and_then(|d| d.mdns.as_ref())
            .and_then(|m| p95_of_all(&m.first, m.nodes)));
        out.push(check(
            "mdns_p95",
            "ms",
            Comparison::Below,
            target_ms(t),
            measured,
        ));
    }
    if let Some(t) = targets.join_p95 {
        let measured = ms(d.and_then(|d| p95_of_all(&d.join.mesh, d.join.nodes)));
        out.push(check(
            "join_p95",
            "ms",
            Comparison::Below,
            target_ms(t),
            measured,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::RunResult;
    use crate::result::fixtures::{stats_with, test_plan};

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
    fn discovery_targets_are_checked_and_missing_nodes_count() {
        use crate::analysis::{DhtKind, DhtStats, DiscoveryStats, JoinStats, LatencySummary};
        let lat = |count: u64, p95_ms: u64| LatencySummary {
            count,
            p95_us: Some(p95_ms * 1000),
            ..LatencySummary::default()
        };
        let all = DhtKind {
            kind: "all".into(),
            queries: 100,
            ok: 99,
            success: Some(0.99),
            latency: lat(99, 120),
            failures: Vec::new(),
        };
        let mut stats = stats_with(Some(1), Some(2), Some(1.0));
        stats.discovery = Some(DiscoveryStats {
            dht: Some(DhtStats {
                kinds: Vec::new(),
                all,
                span_s: 10.0,
                qps: Some(10.0),
                qps_node_p50: Some(1.0),
                qps_node_min: Some(1.0),
            }),
            mdns: None,
            join: JoinStats {
                nodes: 10,
                first_connection: lat(10, 100),
                mesh: lat(9, 400),
            },
        });
        let targets = Targets {
            dht_p95: Some(std::time::Duration::from_millis(500)),
            dht_success: Some(0.99),
            dht_qps: Some(20.0),
            mdns_p95: Some(std::time::Duration::from_secs(5)),
            join_p95: Some(std::time::Duration::from_secs(1)),
            ..Targets::default()
        };
        let checks = check_targets(&targets, &stats);
        let got: Vec<(&str, Option<f64>, bool)> = checks
            .iter()
            .map(|t| (t.name.as_str(), t.measured, t.met))
            .collect();
        assert_eq!(
            got,
            [
                ("dht_p95", Some(120.0), true),
                ("dht_success", Some(0.99), true),
                ("dht_qps", Some(10.0), false),
                ("mdns_p95", None, false),
                // One node of ten never joined: more than 5 %, so no p95.
                ("join_p95", None, false),
            ]
        );
        assert!(target_table(&checks, "measured", 12, true).contains("10.0/s"));
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
    fn handshake_targets_are_checked_against_every_outbound_handshake() {
        use crate::analysis::{HandshakeStats, HandshakeTimes};
        use std::time::Duration;
        let targets = Targets {
            handshake_p95: Some(Duration::from_millis(50)),
            handshake_p99: Some(Duration::from_secs(1)),
            ..Targets::default()
        };
        let mut stats = stats_with(None, None, None);
        let missing = check_targets(&targets, &stats);
        assert_eq!(missing.len(), 2);
        assert!(missing.iter().all(|t| !t.met && t.measured.is_none()));
        stats.handshakes = Some(HandshakeStats {
            rows: Vec::new(),
            all: HandshakeTimes {
                connections: 10,
                p50_ms: Some(20.0),
                p95_ms: Some(60.0),
                p99_ms: Some(90.0),
                max_ms: Some(95.0),
            },
            early_dials: 0,
        });
        let c = check_targets(&targets, &stats);
        assert_eq!(c[0].name, "handshake_p95");
        assert!(!c[0].met, "60 ms is not below 50 ms");
        assert_eq!(c[1].name, "handshake_p99");
        assert!(c[1].met);
    }

    #[test]
    fn bandwidth_efficiency_is_judged_on_the_measured_ratio() {
        let mut p = test_plan();
        p.targets.bandwidth_efficiency = Some(0.8);
        let mut stats = stats_with(Some(1), Some(2), Some(1.0));
        let by_name = |r: &RunResult| {
            r.targets
                .iter()
                .find(|t| t.name == "bandwidth_efficiency")
                .cloned()
                .expect("target")
        };
        let unmeasured = RunResult::new("run-5", &p, stats.clone(), "none", 1, 2);
        assert_eq!(by_name(&unmeasured).measured, None);
        assert!(!unmeasured.verdict());
        stats.bandwidth = Some(crate::analysis::Bandwidth {
            nodes: 2,
            deliveries: 10,
            payload_bytes: 10_240,
            message_bytes: 74_000,
            rx_bytes: 204_800,
            tx_bytes: 204_800,
            efficiency: Some(0.05),
            envelope_share: Some(10_240.0 / 74_000.0),
            wire_per_message: Some(204_800.0 / 74_000.0),
            per_node: None,
        });
        let low = RunResult::new("run-6", &p, stats.clone(), "none", 1, 2);
        let t = by_name(&low);
        assert_eq!(
            (t.measured, t.met, t.unit.as_str()),
            (Some(0.05), false, "ratio")
        );
        p.targets.bandwidth_efficiency = Some(0.05);
        assert!(RunResult::new("run-7", &p, stats, "none", 1, 2).verdict());
    }
}
