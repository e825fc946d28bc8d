//! The page: targets first, then notes, run metadata, headline figures, charts and
//! tables, written with `maud` templates.
//!
//! Every value spliced into a template is escaped by `maud`; only the inline SVG of the
//! charts, the style sheet and the sorting script go in as they are (`PreEscaped`).
//!
//! Why `maud` and not the string builder this replaced: that builder escaped by hand, call
//! by call, some helpers returning escaped text and some not (and it had left the `<` of
//! every target's bound raw); here escaping and closing tags hold by construction. The
//! code is about as long (some 725 lines either way). The cost is small: `maud_macros`
//! runs on the `syn` already in the build (about a second of CPU from clean), and a
//! template is still one `String`, so the report stays one self-contained file.
//!
//! - `summary`: the verdict and targets, notes, run metadata and headline figures;
//! - `figures`: the chart sections (latency, coverage, latency over the run, container
//!   cost);
//! - `cost`: where the host's CPU went over the window, and the nodes' memory;
//! - `mesh`: mesh health; `nat`: the hole-punch matrix, AutoNAT and colocation behind NATs;
//!   `handshakes`: connections by transport, security and key-exchange group;
//! - `discovery`: join times, mDNS and the scheduled DHT queries;
//! - `phases`: the fault timeline, phase by phase;
//! - `tables`: honest and Byzantine nodes, and the per-node table;
//! - `text`: how durations, ratios and sizes read;
//! - `style`: the inline style sheet and sorting script.

mod cost;
mod discovery;
mod figures;
mod handshakes;
mod mesh;
mod nat;
mod phases;
mod regions;
mod style;
mod summary;
mod tables;
mod text;

/// The page's look, shared with the sweep's page.
pub(crate) use style::{SORT_SCRIPT, STYLE};

use maud::{DOCTYPE, PreEscaped, html};

use super::meta::{Provenance, utc};
use super::series::Series;
use crate::result::RunResult;

/// What a page is made from.
pub(super) struct Input<'a> {
    /// The run's result.
    pub(super) result: &'a RunResult,
    /// Plot data from the event log; `None` without one.
    pub(super) series: Option<&'a Series>,
    /// Remarks shown under the targets.
    pub(super) notes: Vec<String>,
    /// Commit and host.
    pub(super) provenance: &'a Provenance,
}

/// The whole page.
pub(super) fn page(input: &Input<'_>) -> String {
    let r = input.result;
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (r.scenario) " — " (r.run_id) }
                style { (PreEscaped(style::STYLE)) }
            }
            body {
                main {
                    h1 { "Scenario " (r.scenario) " · run " (r.run_id) }
                    p.sub {
                        (r.nodes.total) " nodes · seed " (r.seed) " · shaper " (r.shaper)
                        " · started " (utc(r.started_at_ms))
                    }
                    (summary::targets(&r.targets, &r.distorted))
                    (summary::notes(input))
                    (summary::metadata(input))
                    (summary::headline(r))
                    (figures::latency(input))
                    (figures::coverage(input))
                    (figures::timeline(input))
                    (phases::phases(r))
                    (tables::breakdown(r))
                    (regions::regions(r.stats.regions.as_ref()))
                    (mesh::mesh(r))
                    (nat::nat(r))
                    (handshakes::handshakes(r))
                    (discovery::discovery(r))
                    (cost::cost(r))
                    (figures::resources(r))
                    (tables::nodes(r))
                    footer {
                        "orchestrator " (env!("CARGO_PKG_VERSION")) " · report for run " (r.run_id)
                    }
                }
                script { (PreEscaped(style::SORT_SCRIPT)) }
            }
        }
    };
    page.into_string()
}
