//! The tables at the foot of the page: honest and Byzantine nodes (groups, rejections,
//! the attackers' scores) and every node, worst first, sortable.

use std::cmp::Ordering;

use maud::{Markup, html};

use super::figures::{figure, placeholder};
use super::text::{NONE, mib, opt_ms, pct, ratio_text};
use crate::analysis::{DefenceStats, LatencySummary, NodeStats};
use crate::output::report::charts;
use crate::result::RunResult;

/// The p50, p95, p99 and max cells of a latency summary.
fn latency_cells(l: &LatencySummary) -> Markup {
    html! {
        @for v in [l.p50_us, l.p95_us, l.p99_us, l.max_us] { td.n { (opt_ms(v)) } }
    }
}

/// The "Honest and Byzantine nodes" section: figures per group, rejected messages and
/// how honest nodes scored the attackers.
pub(super) fn breakdown(r: &RunResult) -> Markup {
    let s = &r.stats;
    let rejections: Vec<String> = s
        .rejections
        .iter()
        .map(|(reason, n)| format!("{n} × {reason}"))
        .collect();
    html! {
        h2 { "Honest and Byzantine nodes" }
        p {
            "Messages published: " (s.published.honest) " by honest nodes, "
            (s.published.attacker) " by attackers. Figures per group are for its nodes as \
            receivers of honest messages."
        }
        table {
            thead { tr {
                th { "group" } th { "role" } th { "nodes" } th { "published" } th { "delivery" }
                th { "p50" } th { "p95" } th { "p99" } th { "max" }
            } }
            tbody {
                @for g in &s.groups {
                    tr {
                        td { (g.group) }
                        td { (g.role) }
                        td.n { (g.nodes) }
                        td.n { (g.published) }
                        td.n { (ratio_text(&g.delivery)) }
                        (latency_cells(&g.latency))
                    }
                }
            }
        }
        @if rejections.is_empty() {
            p { "No message was rejected." }
        } @else {
            p { "Rejected messages: " (rejections.join(", ")) "." }
        }
        @match &s.defence {
            Some(d) => (defence(d)),
            None => p { "No attackers in this run." },
        }
    }
}

/// How honest nodes scored the attackers: final scores, their course and the gossipsub
/// thresholds they crossed.
fn defence(d: &DefenceStats) -> Markup {
    let score = |v: Option<f64>| v.map_or_else(|| NONE.to_string(), |v| format!("{v:.1}"));
    html! {
        p {
            (d.attackers) " attacker" (if d.attackers == 1 { "" } else { "s" })
            " scored by honest nodes in " (d.scored_pairs) " (observer, attacker) pairs. Last \
            scores: min " (score(d.final_min)) ", median " (score(d.final_median)) ", max "
            (score(d.final_max)) "."
        }
        @if d.series.is_empty() {
            (placeholder("no score snapshots of attackers were recorded"))
        } @else {
            (figure(
                &charts::attacker_scores(d),
                "Per second: the lowest, median and highest latest score an honest node gave \
                 an attacker. Dashed: gossipsub thresholds (those the scores get at least \
                 halfway to).",
            ))
        }
        @if let Some(start) = d.attack_start_s {
            p {
                "The timeline started the attack at " (format!("{start:.1} s"))
                " (median score then " (score(d.median_at_attack_start)) ")."
            }
        }
        table {
            thead {
                tr {
                    th { "threshold" } th { "value" } th { "median first below" }
                    @if d.attack_start_s.is_some() { th { "after the attack start" } }
                }
            }
            tbody {
                @for t in &d.thresholds {
                    tr {
                        td { (t.name) }
                        td.n { (t.threshold) }
                        td.n {
                            (t.first_below_s.map_or_else(
                                || "never".to_string(),
                                |s| format!("{s:.1} s after traffic start"),
                            ))
                        }
                        @if d.attack_start_s.is_some() {
                            td.n {
                                (t.after_attack_start_s.map_or_else(
                                    || "never".to_string(),
                                    |s| format!("{s:.1} s"),
                                ))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Sort key putting the worst node first: lowest delivery ratio, then slowest median.
fn worst_first(a: &NodeStats, b: &NodeStats) -> Ordering {
    let ratio = |n: &NodeStats| n.delivery.ratio.unwrap_or(f64::INFINITY);
    let lat = |n: &NodeStats| n.median_latency_us.map_or(-1.0, |v| v as f64);
    ratio(a)
        .total_cmp(&ratio(b))
        .then(lat(b).total_cmp(&lat(a)))
        .then(a.name.cmp(&b.name))
}

/// What marks a node's cells: delivery below the delivery target (red), median above the
/// p95 target (yellow).
struct Marks {
    /// The delivery target, 1 without one.
    delivery: f64,
    /// The p95 target in µs, if there is one in ms.
    p95_us: Option<f64>,
}

impl Marks {
    fn of(r: &RunResult) -> Self {
        let target = |name: &str| r.targets.iter().find(|t| t.name == name);
        Marks {
            delivery: target("delivery").map_or(1.0, |t| t.target),
            p95_us: target("p95")
                .filter(|t| t.unit == "ms")
                .map(|t| t.target * 1000.0),
        }
    }
}

/// The "Per node" section: every node, worst first, sortable by any column.
pub(super) fn nodes(r: &RunResult) -> Markup {
    let marks = Marks::of(r);
    let mut nodes: Vec<(usize, &NodeStats)> = r.stats.nodes.iter().enumerate().collect();
    nodes.sort_by(|a, b| worst_first(a.1, b.1));
    html! {
        h2 { "Per node" }
        p {
            "Worst first (lowest delivery ratio, then slowest median). Click a heading to \
             sort. Red: delivery below " (pct(marks.delivery)) "; yellow: median above the \
             p95 target."
        }
        div.scroll {
            table.sortable.nodes {
                thead { tr {
                    th { "#" } th { "node" } th { "group" } th { "role" } th { "delivery" }
                    th { "delivered" } th { "expected" } th { "median latency" }
                    th { "published" } th { "rejected" } th { "CPU mean" } th { "memory peak" }
                } }
                tbody { @for (i, n) in nodes { (node_row(r, &marks, i, n)) } }
            }
        }
    }
}

/// One node's row; each cell carries its sort value in `data-v`.
fn node_row(r: &RunResult, marks: &Marks, i: usize, n: &NodeStats) -> Markup {
    let usage = r.resources.containers.iter().find(|c| c.name == n.name);
    let ratio_class = match n.delivery.ratio {
        Some(v) if v < marks.delivery => "n bad",
        _ => "n",
    };
    let lat_class = match (n.median_latency_us, marks.p95_us) {
        (Some(v), Some(t)) if v as f64 > t => "n warn",
        _ => "n",
    };
    let cpu = usage.and_then(|u| u.cpu_percent_mean);
    let mem = usage.and_then(|u| u.mem_peak_bytes);
    let d = &n.delivery;
    html! {
        tr {
            td.n data-v=(i) { (i) }
            td data-v=(n.name) { (n.name) }
            td data-v=(n.group) { (n.group) }
            td data-v=(n.role) { (n.role) }
            td class=(ratio_class) data-v=(d.ratio.unwrap_or(2.0)) {
                (d.ratio.map_or_else(|| NONE.to_string(), pct))
            }
            td.n data-v=(d.delivered) { (d.delivered) }
            td.n data-v=(d.expected) { (d.expected) }
            td class=(lat_class) data-v=(n.median_latency_us.map_or(-1.0, |v| v as f64)) {
                (opt_ms(n.median_latency_us))
            }
            td.n data-v=(n.published) { (n.published) }
            td.n data-v=(n.rejected) { (n.rejected) }
            td.n data-v=(cpu.unwrap_or(-1.0)) {
                (cpu.map_or_else(|| NONE.to_string(), |c| format!("{c:.2} %")))
            }
            td.n data-v=(mem.map_or(-1.0, |m| m as f64)) {
                (mem.map_or_else(|| NONE.to_string(), mib))
            }
        }
    }
}
