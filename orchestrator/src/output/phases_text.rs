//! The fault timeline's figures in words, for the summary and the report: a line a phase,
//! what partitions cost, the recovery after the last heal, the mesh repair after the
//! last kill, and a churn's phase against the one before it.

use crate::analysis::{Phase, PhaseStats};
use crate::run::faults::CHURN_END;
use crate::scenario::timeline::{LINK, LINK_RESTORE};

use super::summary::opt_ms;

/// A phase's name: `before`, `during churn`, `after churn` (its end), `during link` (a
/// link change), `after link` (its restore), `after <action>`.
pub(crate) fn phase_label(p: &Phase) -> String {
    match p.after.as_deref() {
        None => "before".to_string(),
        Some("churn") => "during churn".to_string(),
        Some(CHURN_END) => "after churn".to_string(),
        Some(LINK) => "during link".to_string(),
        Some(LINK_RESTORE) => "after link".to_string(),
        Some(a) => format!("after {a}"),
    }
}

/// `after partition   20.0-35.0 s · 18 running · delivery 0.5123 (…) · p50 … p99 … ·
/// 12/90 complete`.
pub(crate) fn phase_line(p: &Phase) -> String {
    format!(
        "{:<17} {:.1}-{:.1} s · {} honest running · delivery {} ({}/{}) · p50 {} p95 {} p99 {} · {}/{} messages reached all",
        phase_label(p),
        p.from_ms as f64 / 1000.0,
        p.to_ms as f64 / 1000.0,
        p.running,
        ratio_text(p),
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
    if let Some(c) = &s.churn {
        out.push(churn_line(s, c.leaves, c.joins));
    }
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

/// A phase's delivery ratio, `-` without messages.
fn ratio_text(p: &Phase) -> String {
    p.delivery
        .ratio
        .map_or_else(|| "-".to_string(), |r| format!("{r:.4}"))
}

/// `churn          7 leaves, 7 rejoins; during churn delivery 0.99 p99 … against 1.00 p99 …
/// before`: the first churn's phase against the phase before it.
fn churn_line(s: &PhaseStats, leaves: u64, joins: u64) -> String {
    let mut line = format!("churn          {leaves} leaves, {joins} rejoins");
    let during = s
        .phases
        .iter()
        .position(|p| p.after.as_deref() == Some("churn"));
    if let Some(i) = during {
        let (d, b) = (&s.phases[i], i.checked_sub(1).map(|j| &s.phases[j]));
        line.push_str(&format!(
            "; during churn delivery {} p99 {}",
            ratio_text(d),
            opt_ms(d.latency.p99_us)
        ));
        if let Some(b) = b {
            line.push_str(&format!(
                " against {} p99 {} {}",
                ratio_text(b),
                opt_ms(b.latency.p99_us),
                phase_label(b)
            ));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{ChurnCount, DeliveryRatio, LatencySummary};

    fn phase(after: Option<&str>, ratio: f64, p99_us: u64) -> Phase {
        Phase {
            from_ms: 0,
            to_ms: 1000,
            after: after.map(str::to_string),
            running: 10,
            messages: 1,
            delivery: DeliveryRatio {
                delivered: 9,
                expected: 9,
                ratio: Some(ratio),
            },
            latency: LatencySummary {
                p99_us: Some(p99_us),
                ..LatencySummary::default()
            },
            complete: 1,
        }
    }

    #[test]
    fn the_churn_line_sets_the_churn_phase_against_the_one_before() {
        let s = PhaseStats {
            phases: vec![
                phase(None, 1.0, 90_000),
                phase(Some("churn"), 0.95, 400_000),
                phase(Some(CHURN_END), 1.0, 95_000),
            ],
            churn: Some(ChurnCount {
                leaves: 7,
                joins: 7,
            }),
            ..PhaseStats::default()
        };
        let lines = summary_lines(&s);
        assert!(lines[2].contains("during churn"), "{lines:?}");
        assert!(lines[3].contains("after churn"), "{lines:?}");
        let churn = &lines[4];
        assert!(
            churn.starts_with("churn          7 leaves, 7 rejoins"),
            "{churn}"
        );
        assert!(
            churn.contains(
                "during churn delivery 0.9500 p99 400.0 ms against 1.0000 p99 90.0 ms before"
            ),
            "{churn}"
        );
    }
}
