//! The coherence of a result's statistics: latencies, delivery ratios, coverage levels,
//! attacker scores, link fidelity and duplicate counts, each problem named by its JSON path.

use super::{check_name, close};
use crate::analysis::{
    CoverageLevel, DefenceStats, DeliveryRatio, Duplicates, LatencySummary, LinkFidelity,
    MessageHops, Stats,
};
use crate::fsio::{Problems, num};

/// Pushes what makes the statistics incoherent (see [`crate::result::RunResult::problems`]).
pub(super) fn check_stats(p: &mut Problems, s: &Stats, total_nodes: usize, bound_us: Option<u64>) {
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
    check_coverage(p, &s.coverage, bound_us);
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
        check_defence(p, d);
    }
    if let Some(h) = &s.hops {
        check_hops(p, h, bound_us);
    }
    if let Some(f) = &s.fidelity {
        check_fidelity(p, f, bound_us);
    }
    if let Some(d) = &s.duplicates {
        check_duplicates(p, d);
    }
}

/// Pushes what makes the coverage levels incoherent: levels outside 1..=100 or repeated,
/// counts that do not add up, times without messages that reached the level, longer than
/// `bound_us` or out of order.
fn check_coverage(p: &mut Problems, coverage: &[CoverageLevel], bound_us: Option<u64>) {
    let mut levels = std::collections::BTreeSet::new();
    for (i, c) in coverage.iter().enumerate() {
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
}

/// Pushes what makes the attacker scores incoherent: numbers that are not finite, a median
/// outside the range, a series point not ordered min ≤ median ≤ max.
fn check_defence(p: &mut Problems, d: &DefenceStats) {
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

/// Pushes what makes the message hops incoherent: no hop, quantiles out of order, times
/// longer than `bound_us`.
fn check_hops(p: &mut Problems, h: &MessageHops, bound_us: Option<u64>) {
    let at = "stats.hops";
    if h.samples == 0 {
        p.push(format!("{at}.samples"), "is 0: hop times need hops");
    }
    if !(h.p10_us <= h.p50_us && h.p50_us <= h.p90_us && h.p90_us <= h.p99_us) {
        p.push(
            format!("{at}.p50_us"),
            "quantiles must not decrease: p10 ≤ p50 ≤ p90 ≤ p99",
        );
    }
    check_times_us(
        p,
        at,
        &[
            ("p99_us", Some(h.p99_us)),
            ("imposed_us", Some(h.imposed_us)),
        ],
        bound_us,
    );
}

/// Pushes what makes the link fidelity incoherent: no pings, an error that is not
/// measured − imposed, times longer than `bound_us`, a relative error that is missing or
/// disagrees with the error.
fn check_fidelity(p: &mut Problems, f: &LinkFidelity, bound_us: Option<u64>) {
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

/// Pushes what makes the duplicate counts incoherent: more unique messages than received,
/// a copies-per-message figure that is missing or disagrees with the counts.
fn check_duplicates(p: &mut Problems, d: &Duplicates) {
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
