//! The top of the page: the verdict and the targets, the notes, the run's metadata and
//! its headline figures.

use maud::{Markup, html};

use super::super::meta::utc;
use super::Input;
use super::text::{
    NONE, fidelity_text, hops_text, host_cost_text, link_text, opt_ms, pct, phases_text, symbol,
    target_label, target_value,
};
use crate::output::{dilation_text, mesh_text, some_names};
use crate::result::{REMEDY, RunResult, TargetCheck};

/// The verdict banner and the table of targets, each marked MET or MISSED; when the run
/// was distorted, the banner says why and every target is marked not judged.
pub(super) fn targets(targets: &[TargetCheck], distorted: &[String]) -> Markup {
    let missed = targets.iter().filter(|t| !t.met).count();
    let judged = distorted.is_empty();
    let (class, text) = if !judged {
        (
            "distorted",
            "DISTORTED: the lab measured its own host, not the network; targets not judged"
                .to_string(),
        )
    } else if targets.is_empty() {
        ("none", "No targets set".to_string())
    } else if missed == 0 {
        ("met", format!("All {} targets MET", targets.len()))
    } else {
        (
            "missed",
            format!("{missed} of {} targets MISSED", targets.len()),
        )
    };
    html! {
        div class={ "verdict " (class) } { (text) }
        @if !judged {
            ul.causes {
                @for cause in distorted { li { (cause) } }
                li { "Remedy: " (REMEDY) "." }
            }
        }
        @if !targets.is_empty() {
            table.targets {
                thead { tr { th { "target" } th { "wanted" } th { "measured" } th { "result" } } }
                tbody {
                    @for t in targets {
                        @let (class, word) = match (judged, t.met) {
                            (false, _) => ("none", "NOT JUDGED"),
                            (true, true) => ("met", "MET"),
                            (true, false) => ("missed", "MISSED"),
                        };
                        tr {
                            td { (target_label(&t.name)) }
                            td.n { (symbol(t.comparison)) " " (target_value(t, t.target)) }
                            td.n {
                                (t.measured.map_or_else(|| "not measured".to_string(), |m| target_value(t, m)))
                            }
                            td { span class={ "badge " (class) } { (word) } }
                        }
                    }
                }
            }
        }
    }
}

/// The remarks worth a reader's attention: the caller's, unready nodes, foreign events,
/// no deliveries.
fn remarks(input: &Input<'_>) -> Vec<String> {
    let r = input.result;
    let mut all = input.notes.clone();
    let unready = &r.phases.unready_nodes;
    if !unready.is_empty() {
        all.push(format!(
            "{} node{} had not meshed when traffic started: {}.",
            unready.len(),
            if unready.len() == 1 { "" } else { "s" },
            some_names(unready)
        ));
    }
    if let Some(w) = r
        .stats
        .mesh_health
        .as_ref()
        .and_then(mesh_text::start_warning)
    {
        all.push(format!("{w}."));
    }
    if r.stats.foreign_events > 0 {
        all.push(format!(
            "{} event records came from nodes the plan does not know and were ignored.",
            r.stats.foreign_events
        ));
    }
    if r.stats.latency.count == 0 {
        all.push("No honest delivery was recorded: there is no latency to show.".to_string());
    }
    all
}

/// The remarks as a list; nothing when there are none.
pub(super) fn notes(input: &Input<'_>) -> Markup {
    let all = remarks(input);
    html! {
        @if !all.is_empty() {
            ul.notes { @for n in &all { li { (n) } } }
        }
    }
}

/// The "Run" table: what ran, where, how the link behaved, how long each phase took.
pub(super) fn metadata(input: &Input<'_>) -> Markup {
    let r = input.result;
    let groups: Vec<String> = r
        .nodes
        .per_group
        .iter()
        .map(|g| format!("{} × {} ({})", g.count, g.group, g.role))
        .collect();
    let nodes = format!(
        "{} in all: {}; {} honest",
        r.nodes.total,
        groups.join(", "),
        r.stats.honest_nodes
    );
    let secs = r.ended_at_ms.saturating_sub(r.started_at_ms) as f64 / 1000.0;
    let row = |key: &str, value: &str| html! { tr { th { (key) } td { (value) } } };
    html! {
        h2 { "Run" }
        table.meta {
            tbody {
                (row("scenario", &r.scenario))
                (row("run id", &r.run_id))
                (row("seed", &r.seed.to_string()))
                (row("nodes", &nodes))
                (row("shaper back end", &r.shaper))
                (row("time scale", &dilation_text::line(r)))
                @if let Some(s) = dilation_text::suggestion(r) { (row("distorted: remedy", &s)) }
                (row("link profile", &link_text(r)))
                (row("link fidelity", &fidelity_text(r)))
                (row("message hops", &hops_text(r)))
                @if let Some(g) = &r.stats.graphs {
                    (row("graphs (hops)", &mesh_text::graphs_line(g)))
                }
                @if let Some(m) = &r.stats.mesh_health {
                    (row("mesh", &mesh_text::mesh_line(m)))
                    (row("scores", &mesh_text::scores_line(m)))
                }
                (row("started", &utc(r.started_at_ms)))
                (row("duration", &format!("{secs:.1} s")))
                (row("phases (after start)", &phases_text(r)))
                @if let Some(host) = host_cost_text(r) { (row("host cost", &host)) }
                @for c in &r.clocks { (row("clock", &crate::output::summary::clock_text(c))) }
                (row("events", &r.stats.events.to_string()))
                (row("commit (at render)", &input.provenance.commit))
                (row("host (at render)", &input.provenance.host))
            }
        }
    }
}

/// The headline figures as cards.
pub(super) fn headline(r: &RunResult) -> Markup {
    let s = &r.stats;
    let l = &s.latency;
    let card = |key: &str, value: &str| {
        html! { div.card { div.k { (key) } div.v { (value) } } }
    };
    let full = s.coverage.iter().find(|c| c.percent == 100);
    let redundant = s.duplicates.as_ref().and_then(|d| d.per_delivery);
    html! {
        h2 { "Headline figures" }
        div.cards {
            (card("latency p50", &opt_ms(l.p50_us)))
            (card("latency p95", &opt_ms(l.p95_us)))
            (card("latency p99", &opt_ms(l.p99_us)))
            (card("latency max", &opt_ms(l.max_us)))
            (card("delivery", &s.delivery.ratio.map_or_else(|| NONE.to_string(), pct)))
            @if let Some(c) = full { (card("100 % coverage p50", &opt_ms(c.p50_us))) }
            (card("honest messages", &s.published.honest.to_string()))
            (card("deliveries", &l.count.to_string()))
            @if let Some(per) = redundant { (card("redundant copies / msg", &format!("{per:.2}"))) }
        }
    }
}
