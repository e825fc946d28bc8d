//! The "Fault timeline" section: the faults, a row a phase, and what partitions cost.

use maud::{Markup, html};

use crate::output::phases_text;
use crate::output::summary::opt_ms;
use crate::result::RunResult;

/// The section, or nothing for a run without a timeline.
pub(super) fn phases(r: &RunResult) -> Markup {
    let Some(p) = &r.stats.phases else {
        return html! {};
    };
    let lines = phases_text::summary_lines(p);
    html! {
        h2 { "Fault timeline" }
        p {
            "The window cut at every fault the orchestrator injected (times virtual, from \
             the window's start; the latency chart marks each). A phase's messages are the \
             honest ones published in it; it expects them at every honest node running in \
             it (not killed, not paused; under a churn, those running as each was published)."
        }
        table {
            thead { tr {
                th { "phase" } th { "from (s)" } th { "to (s)" } th { "running" }
                th { "messages" } th { "delivery" } th { "p50" } th { "p95" } th { "p99" }
                th { "reached all" }
            } }
            tbody {
                @for ph in &p.phases {
                    tr {
                        td { (phases_text::phase_label(ph)) }
                        td { (format!("{:.1}", ph.from_ms as f64 / 1000.0)) }
                        td { (format!("{:.1}", ph.to_ms as f64 / 1000.0)) }
                        td { (ph.running) }
                        td { (ph.messages) }
                        td { (ph.delivery.ratio.map_or_else(|| "-".to_string(), |x| format!("{x:.4}"))) }
                        td { (opt_ms(ph.latency.p50_us)) }
                        td { (opt_ms(ph.latency.p95_us)) }
                        td { (opt_ms(ph.latency.p99_us)) }
                        td { (ph.complete) }
                    }
                }
            }
        }
        @for line in lines.iter().filter(|l| !l.starts_with(' ')) {
            p { (line) }
        }
    }
}
