//! The coherence of a result's cost breakdown: every part a finite number ≥ 0, no part
//! (nor their sum) far above the host's cores, idle a share in 0..=1, each problem named
//! by its JSON path.

use crate::fsio::{Problems, num};
use crate::host::{Cost, CostPoint};

/// How far above the host's cores a part may read: the tick-sampled parts (engine,
/// softirq) can overshoot a little over short spans; more is nonsense.
const CORES_SLACK: f64 = 1.25;

/// Pushes what makes `cost` (at `at`) incoherent.
pub(super) fn check_cost(p: &mut Problems, at: &str, cost: &Cost) {
    if cost.host_cores == 0 {
        p.push(
            format!("{at}.host_cores"),
            "is 0: a host has at least one CPU",
        );
        return;
    }
    if !cost.span_s.is_finite() || cost.span_s <= 0.0 {
        p.push(
            format!("{at}.span_s"),
            format!("is {}, not a span of time > 0", num(cost.span_s)),
        );
    }
    let bound = f64::from(cost.host_cores) * CORES_SLACK;
    check_cores(p, at, &cost.whole(), bound);
    for (name, v) in [
        ("node_cores_mean", cost.node_cores_mean),
        ("node_cores_max", cost.node_cores_max),
    ] {
        check_part(p, &format!("{at}.{name}"), v, bound);
    }
    if let (Some(mean), Some(max)) = (cost.node_cores_mean, cost.node_cores_max)
        && mean > max * 1.000_001 + 1e-9
    {
        p.push(
            format!("{at}.node_cores_max"),
            format!("is {}, below the mean per node ({})", num(max), num(mean)),
        );
    }
    if let (Some(sum), Some(max)) = (cost.node_mem_bytes, cost.node_mem_max_bytes)
        && max > sum
    {
        p.push(
            format!("{at}.node_mem_max_bytes"),
            format!("is {max}, more than all nodes together ({sum})"),
        );
    }
    if let Some(mean) = cost.runnable_mean {
        let peak = cost.runnable_peak.map_or(f64::INFINITY, f64::from);
        if !(mean.is_finite() && mean >= 0.0 && mean <= peak) {
            p.push(
                format!("{at}.runnable_mean"),
                format!("is {}, not a finite number in 0..=runnable_peak", num(mean)),
            );
        }
    }
    for (i, point) in cost.series.iter().enumerate() {
        let at = format!("{at}.series[{i}]");
        if !point.at_s.is_finite() || point.at_s < 0.0 || point.at_s > cost.span_s * 1.001 {
            p.push(
                format!("{at}.at_s"),
                format!(
                    "is {}, outside the span 0..={}",
                    num(point.at_s),
                    num(cost.span_s)
                ),
            );
        }
        check_cores(p, &at, point, bound);
    }
}

/// Each part at most `bound` cores, their sum too, and idle a share.
fn check_cores(p: &mut Problems, at: &str, point: &CostPoint, bound: f64) {
    let parts = [
        ("nodes_cores", point.nodes_cores),
        ("shaper_cores", point.shaper_cores),
        ("engine_cores", point.engine_cores),
        ("softirq_cores", point.softirq_cores),
        ("other_cores", point.other_cores),
    ];
    for (name, v) in parts {
        check_part(p, &format!("{at}.{name}"), v, bound);
    }
    let sum: f64 = parts.iter().filter_map(|(_, v)| *v).sum();
    if sum.is_finite() && sum > bound {
        p.push(
            at.to_string(),
            format!(
                "has parts summing to {} cores, far above the host's {}",
                num(sum),
                num(bound / CORES_SLACK)
            ),
        );
    }
    if let Some(idle) = point.host_idle
        && !(0.0..=1.0).contains(&idle)
    {
        p.push(
            format!("{at}.host_idle"),
            format!("must be a share in 0..=1, got {}", num(idle)),
        );
    }
}

/// One part: a finite number of cores in 0..=`bound`.
fn check_part(p: &mut Problems, field: &str, v: Option<f64>, bound: f64) {
    let Some(v) = v else { return };
    if !v.is_finite() || v < 0.0 {
        p.push(field, format!("is {}, not a finite number ≥ 0", num(v)));
    } else if v > bound {
        p.push(
            field,
            format!(
                "is {} cores, far above the host's {}",
                num(v),
                num(bound / CORES_SLACK)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::fixtures::{has, lines, test_cost};

    fn problems(cost: &Cost) -> Vec<String> {
        let mut p = Problems::default();
        check_cost(&mut p, "resources.cost", cost);
        lines(&p)
    }

    #[test]
    fn a_measured_cost_has_no_problem() {
        assert_eq!(problems(&test_cost()), Vec::<String>::new());
    }

    #[test]
    fn negative_nan_and_impossible_parts_are_named() {
        let mut c = test_cost();
        c.engine_cores = Some(-0.1);
        c.softirq_cores = Some(f64::NAN);
        c.nodes_cores = Some(9.0);
        c.host_idle = Some(1.5);
        c.node_cores_max = Some(0.001);
        c.node_mem_max_bytes = Some(u64::MAX);
        c.runnable_mean = Some(9.0);
        c.runnable_peak = Some(3);
        c.series[0].at_s = 1e9;
        c.series[1].shaper_cores = Some(3.0);
        let got = problems(&c);
        for (field, says) in [
            ("resources.cost.engine_cores", "not a finite number ≥ 0"),
            ("resources.cost.softirq_cores", "not a finite number ≥ 0"),
            ("resources.cost.nodes_cores", "far above the host's 2"),
            ("resources.cost.series[1]", "summing to"),
            ("resources.cost.host_idle", "0..=1"),
            ("resources.cost.node_cores_max", "below the mean per node"),
            ("resources.cost.node_mem_max_bytes", "more than all nodes"),
            ("resources.cost.runnable_mean", "0..=runnable_peak"),
            ("resources.cost.series[0].at_s", "outside the span"),
            ("resources.cost.series[1].shaper_cores", "far above"),
        ] {
            assert!(has(&got, field, says), "{field}: {says}\n{got:#?}");
        }
        let none = Cost {
            host_cores: 0,
            ..test_cost()
        };
        assert!(has(&problems(&none), "resources.cost.host_cores", "is 0"));
    }
}
