//! The fault timeline's figures in words, for the summary and the report: a line a phase,
//! what partitions cost, the recovery after the last heal and the mesh repair after the
//! last kill.

use crate::analysis::{Phase, PhaseStats};

use super::summary::opt_ms;

/// `after partition   20.0-35.0 s · 18 running · delivery 0.5123 (…) · p50 … p99 … ·
/// 12/90 complete`.
pub(crate) fn phase_line(p: &Phase) -> String {
    format!(
        "{:<17} {:.1}-{:.1} s · {} honest running · delivery {} ({}/{}) · p50 {} p95 {} p99 {} · {}/{} messages reached all",
        p.after
            .as_deref()
            .map_or_else(|| "before".to_string(), |a| format!("after {a}")),
        p.from_ms as f64 / 1000.0,
        p.to_ms as f64 / 1000.0,
        p.running,
        p.delivery
            .ratio
            .map_or_else(|| "-".to_string(), |r| format!("{r:.4}")),
        p.delivery.delivered,
        p.delivery.expected,
        opt_ms(p.latency.p50_us),
        opt_ms(p.latency.p95_us),
        opt_ms(p.latency.p99_us),
        p.complete,
        p.messages,
    )
}

/// The summary's lines: one per phase, then partition loss, recovery and mesh repair.
pub(crate) fn summary_lines(s: &PhaseStats) -> Vec<String> {
    let mut out = vec![format!(
        "timeline       {} (virtual s after the window starts)",
        s.faults
            .iter()
            .map(|f| format!(
                "{} at {:.1} s ({} nodes)",
                f.action,
                f.at_ms as f64 / 1000.0,
                f.nodes
            ))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    out.extend(s.phases.iter().map(|p| format!("  {}", phase_line(p))));
    if let Some(l) = &s.partition {
        out.push(format!(
            "partition      {} messages published during it: {} reached no node across; {} of {} deliveries across lost",
            l.messages, l.lost, l.across_lost, l.across_expected
        ));
    }
    if s.faults.iter().any(|f| f.action == "heal") {
        out.push(format!(
            "recovery       {} after the last heal until every message reaches every running honest node",
            s.recovery_ms
                .map_or_else(|| "never".to_string(), |ms| format!("{:.1} s", ms as f64 / 1000.0))
        ));
    }
    if s.faults.iter().any(|f| f.action == "kill") {
        out.push(format!(
            "mesh repair    {} after the last kill until every running honest mesh is back at mesh_n_low",
            s.mesh_repair_ms
                .map_or_else(|| "not in the window".to_string(), |ms| format!("{:.1} s", ms as f64 / 1000.0))
        ));
    }
    out
}
