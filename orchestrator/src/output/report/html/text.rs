//! How the page writes figures: durations, ratios, sizes, targets and the link profile,
//! as plain text (the templates escape it).

use crate::analysis::DeliveryRatio;
use crate::output::report::charts::ms_text;
use crate::result::{Comparison, RunResult, TargetCheck};

/// What the page shows for a figure that was not measured.
pub(super) const NONE: &str = "–";

/// `us` microseconds in ms (or s from a second on), with fewer decimals as it grows.
pub(super) fn ms(us: u64) -> String {
    ms_text(us as f64 / 1000.0)
}

/// [`ms`], or [`NONE`].
pub(super) fn opt_ms(us: Option<u64>) -> String {
    us.map_or_else(|| NONE.to_string(), ms)
}

/// A ratio in percent, with a third decimal just below 100 %.
pub(super) fn pct(r: f64) -> String {
    if (0.9999..1.0).contains(&r) {
        format!("{:.3} %", r * 100.0)
    } else {
        format!("{:.2} %", r * 100.0)
    }
}

/// A delivery ratio with its counts: `99.00 % (99 of 100)`.
pub(super) fn ratio_text(d: &DeliveryRatio) -> String {
    match d.ratio {
        Some(r) => format!("{} ({} of {})", pct(r), d.delivered, d.expected),
        None => NONE.to_string(),
    }
}

/// Bytes in MiB.
pub(super) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

/// A target's comparison as a symbol.
pub(super) fn symbol(c: Comparison) -> &'static str {
    match c {
        Comparison::Below => "<",
        Comparison::AtLeast => "≥",
        Comparison::AtMost => "≤",
    }
}

/// `v` in the unit of target `t`.
pub(super) fn target_value(t: &TargetCheck, v: f64) -> String {
    match t.unit.as_str() {
        "ms" => format!("{v:.1} ms"),
        "ratio" if t.name == "delivery" => pct(v),
        "ratio" => format!("{:.2} %", v * 100.0),
        other => format!("{v} {other}"),
    }
}

/// A target's name as a reader knows it.
pub(super) fn target_label(name: &str) -> &str {
    match name {
        "p95" => "latency p95",
        "p99" => "latency p99",
        "delivery" => "delivery ratio",
        "link_error" => "link fidelity error",
        "bandwidth_efficiency" => "bandwidth efficiency",
        other => other,
    }
}

/// The run's link profile in one line, or `unshaped`.
pub(super) fn link_text(r: &RunResult) -> String {
    crate::output::link_text(&r.link, " one-way delay", "rate ")
}

/// The measured link delay against the imposed one, or why there is none.
pub(super) fn fidelity_text(r: &RunResult) -> String {
    let Some(f) = &r.stats.fidelity else {
        return "not measured (no ping events)".to_string();
    };
    let rel = f
        .relative_error
        .map(|e| format!(" ({:.1} %)", e * 100.0))
        .unwrap_or_default();
    format!(
        "measured one-way {} (median; p95 {}) vs imposed {}: error {:+.2} ms{rel}, {} pings",
        ms(f.measured_us),
        ms(f.measured_p95_us),
        ms(f.imposed_us),
        f.error_us as f64 / 1000.0,
        f.samples
    )
}

/// The message hops' distribution against the imposed delay, or why there is none.
pub(super) fn hops_text(r: &RunResult) -> String {
    let Some(h) = &r.stats.hops else {
        return "not measured (no delivery named a known relay)".to_string();
    };
    let rel = h
        .relative_error()
        .map(|e| format!(" ({:.1} %)", e * 100.0))
        .unwrap_or_default();
    format!(
        "p10 {} · p50 {} · p90 {} · p99 {} per hop vs imposed {}: median {:+.2} ms{rel}; {} mesh hops, {} copies by request or fanout not timed",
        ms(h.p10_us),
        ms(h.p50_us),
        ms(h.p90_us),
        ms(h.p99_us),
        ms(h.imposed_us),
        (h.p50_us as f64 - h.imposed_us as f64) / 1000.0,
        h.samples,
        h.indirect
    )
}

/// When each phase of the run ended, in seconds after its start.
pub(super) fn phases_text(r: &RunResult) -> String {
    let p = &r.phases;
    let phase = |v: Option<f64>| v.map_or_else(|| NONE.to_string(), |s| format!("{s:.1} s"));
    format!(
        "images {} · containers {} · shaped {} · traffic on {} · meshed {} · measured {} to {} · collected {}",
        phase(p.images_ready_after_s),
        phase(p.containers_started_after_s),
        phase(p.shaped_after_s),
        phase(p.traffic_started_after_s),
        phase(p.ready_after_s),
        phase(p.window_started_after_s),
        phase(p.traffic_ended_after_s),
        phase(p.collected_after_s)
    )
}

/// The host's memory and load peaks, or `None` when neither was measured.
pub(super) fn host_cost_text(r: &RunResult) -> Option<String> {
    let memory = r
        .resources
        .peak_host_mem_bytes
        .map(|m| format!("memory peak {}", mib(m)));
    let load = r
        .resources
        .peak_host_load
        .map(|l| format!("1-min load peak {l:.2}"));
    let parts: Vec<String> = memory.into_iter().chain(load).collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}
