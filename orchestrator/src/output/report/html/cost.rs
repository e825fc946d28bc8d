//! The "Cost over the window" section: where the host's CPU went (chart and table), the
//! memory the nodes held, and the bandwidth their payload used.

use maud::{Markup, html};

use super::figures::figure;
use super::text::{NONE, mib};
use crate::output::bandwidth_text;
use crate::output::report::charts;
use crate::output::summary::cost_text;
use crate::result::RunResult;

/// The section, or nothing when the run measured no cost (results written before it was).
pub(super) fn cost(r: &RunResult) -> Markup {
    let Some(c) = &r.resources.cost else {
        return html! {};
    };
    let cores = f64::from(c.host_cores.max(1));
    let share = |v: Option<f64>| {
        v.map_or_else(
            || NONE.to_string(),
            |v| format!("{:.0} %", v / cores * 100.0),
        )
    };
    let num = |v: Option<f64>| v.map_or_else(|| NONE.to_string(), |v| format!("{v:.2}"));
    let node_detail = match (c.node_cores_mean, c.node_cores_max) {
        (Some(mean), Some(max)) => format!(
            "{:.0} m per node on average, the busiest {:.0} m",
            mean * 1000.0,
            max * 1000.0
        ),
        _ => String::new(),
    };
    let rows = [
        ("nodes", c.nodes_cores, "cgroup files (exact)", node_detail),
        (
            "shaper",
            c.shaper_cores,
            "cgroup files (exact)",
            String::new(),
        ),
        (
            "engine",
            c.engine_cores,
            "/proc/<pid>/stat (tick-sampled)",
            "dockerd, containerd and the containerd-shims".to_string(),
        ),
        (
            "kernel softirq",
            c.softirq_cores,
            "/proc/stat (tick-sampled)",
            "packet work, netem's among it".to_string(),
        ),
        (
            "other",
            c.other_cores,
            "busy − the parts above",
            "floored at 0".to_string(),
        ),
        (
            "idle",
            c.host_idle.map(|i| i * cores),
            "/proc/stat idle (exact)",
            String::new(),
        ),
    ];
    html! {
        h2 { "Cost over the window" }
        p { (cost_text(c)) "." }
        (figure(
            &charts::cost(c),
            &format!(
                "CPU per part, in cores, between samples {:.0} s apart on average; the \
                 dashed line is the host's {} cores.",
                c.span_s / c.series.len().max(1) as f64,
                c.host_cores
            ),
        ))
        table {
            thead { tr {
                th { "part" } th { "cores" } th { "of the host" } th { "read from" } th { "" }
            } }
            tbody {
                @for (name, v, source, detail) in &rows {
                    tr {
                        td { (name) }
                        td.n { (num(*v)) }
                        td.n { (share(*v)) }
                        td { (source) }
                        td { (detail) }
                    }
                }
            }
        }
        p {
            "Memory: the nodes held "
            (c.node_mem_bytes.map_or_else(|| NONE.to_string(), mib))
            " together at most (one node at most "
            (c.node_mem_max_bytes.map_or_else(|| NONE.to_string(), mib))
            "); the host's peak in use was "
            (c.host_mem_peak_bytes.map_or_else(|| NONE.to_string(), mib))
            "."
        }
        @if let Some(b) = &r.stats.bandwidth {
            p {
                "Bandwidth (interface counters of every node's network namespace, every \
                 protocol and header): " (bandwidth_text::line(b)) "."
            }
        }
    }
}
