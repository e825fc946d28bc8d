//! The "Mesh health" section: whether the honest meshes held, and why scores fell.

use maud::{Markup, html};

use super::figures::figure;
use crate::output::mesh_text;
use crate::output::report::charts;
use crate::result::RunResult;

/// The section, or nothing when the run has no mesh events.
pub(super) fn mesh(r: &RunResult) -> Markup {
    let Some(m) = &r.stats.mesh_health else {
        return html! {};
    };
    html! {
        h2 { "Mesh health" }
        p { "Mesh: " (mesh_text::mesh_line(m)) "." }
        p { "Scores: " (mesh_text::scores_line(m)) "." }
        @if let Some(p3) = mesh_text::p3_line(m) { p { "P3: " (p3) "." } }
        @if let Some(w) = mesh_text::start_warning(m) { p.warn { (w) "." } }
        (figure(
            &charts::mesh_health(m),
            "Sampled every second from each honest node's latest mesh event; scores from the \
             nodes' snapshots. A score is attributed to P3 when the node's reconstructed mesh \
             delivery deficit alone accounts for it (the node sees first copies only, so it \
             overstates P3 a little).",
        ))
    }
}
