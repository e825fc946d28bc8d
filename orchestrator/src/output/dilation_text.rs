//! A run's time dilation in words, for the summary and the report: the scale, what it
//! was asked as, each node's CPU quota, the wall time, and the nodes' CPU probe in virtual
//! time.

use crate::result::RunResult;

/// `4 (auto) · 1 core per node per virtual s: quota 1.0 ms every 4.0 ms · wall 5.1 min ·
/// probe: sign 1.21 ms, verify 0.34 ms (virtual, median of 100 nodes)`.
pub(crate) fn line(r: &RunResult) -> String {
    let d = &r.dilation;
    let mut parts = Vec::new();
    let k = format_k(d.time_scale);
    parts.push(if d.asked == "auto" {
        format!("{k} (auto)")
    } else if d.time_scale == 1.0 {
        "1 (real time)".to_string()
    } else {
        k
    });
    parts.push(match &d.cpu_quota {
        Some(q) => format!(
            "{} cores per node per virtual s: quota {:.1} ms every {:.1} ms",
            format_k(d.cpu_per_node),
            q.quota_us as f64 / 1000.0,
            q.period_us as f64 / 1000.0
        ),
        None => "nodes unlimited".to_string(),
    });
    let wall = r.ended_at_ms.saturating_sub(r.started_at_ms) as f64 / 1000.0;
    parts.push(if wall >= 120.0 {
        format!("wall {:.1} min", wall / 60.0)
    } else {
        format!("wall {wall:.0} s")
    });
    if let Some(p) = &r.stats.cpu_probe {
        parts.push(format!(
            "cpu probe: sign {:.2} ms, verify {:.2} ms ({}median of {} nodes)",
            p.sign_us / 1000.0,
            p.verify_us / 1000.0,
            if d.time_scale == 1.0 { "" } else { "virtual, " },
            p.nodes
        ));
    }
    parts.join(" · ")
}

/// A distorted run's suggestion, if it has one.
pub(crate) fn suggestion(r: &RunResult) -> Option<String> {
    r.dilation.suggested_time_scale.map(|k| {
        format!(
            "time_scale = {} would likely fit this host (this run: {})",
            format_k(k),
            format_k(r.dilation.time_scale)
        )
    })
}

/// `4`, `2.5`, `1.25`.
fn format_k(k: f64) -> String {
    let s = format!("{k:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::fixtures::{stats_with, test_plan};
    use crate::scenario::CpuQuota;

    #[test]
    fn the_line_names_scale_quota_wall_time_and_probe() {
        let mut r = RunResult::new(
            "r",
            &test_plan(),
            stats_with(None, None, None),
            "userspace",
            0,
            300_000,
        );
        assert!(
            line(&r).starts_with("1 (real time) · nodes unlimited · wall 5.0 min"),
            "{}",
            line(&r)
        );
        r.dilation.time_scale = 4.0;
        r.dilation.asked = "auto".into();
        r.dilation.cpu_quota = Some(CpuQuota {
            period_us: 4_000,
            quota_us: 1_000,
        });
        r.stats.cpu_probe = Some(crate::analysis::CpuProbe {
            nodes: 10,
            sign_us: 1210.0,
            verify_us: 340.0,
            failed: 0,
        });
        assert_eq!(
            line(&r),
            "4 (auto) · 1 cores per node per virtual s: quota 1.0 ms every 4.0 ms · wall 5.0 min · cpu probe: sign 1.21 ms, verify 0.34 ms (virtual, median of 10 nodes)"
        );
        assert_eq!(suggestion(&r), None);
        r.dilation.suggested_time_scale = Some(9.5);
        assert_eq!(
            suggestion(&r).as_deref(),
            Some("time_scale = 9.5 would likely fit this host (this run: 4)")
        );
    }
}
