//! The "NATs" section: the hole-punch matrix against RFC 4787, relayed connections,
//! AutoNAT's verdicts and the colocation penalty behind shared NATs.

use maud::{Markup, html};

use crate::output::nat_text;
use crate::result::RunResult;

/// The section, or nothing when no node sat behind a NAT.
pub(super) fn nat(r: &RunResult) -> Markup {
    let Some(n) = &r.stats.nat else {
        return html! {};
    };
    let listeners = n.listeners();
    html! {
        h2 { "NATs" }
        p {
            "Hole punching per pair of NAT types: of the attempts (planned dials whose \
             relayed connection came up), those a direct connection joined, and the median \
             time from the relayed connection to the direct one (virtual). A green cell is \
             one RFC 4787 predicts to succeed, a grey one to fail; “UNEXPECTED” marks a \
             measurement that contradicts the prediction."
        }
        table {
            thead { tr { th { "dialler \\ listener" } @for l in &listeners { th { (l) } } } }
            tbody {
                @for row in n.matrix.chunks(listeners.len().max(1)) {
                    tr {
                        th { (row.first().map_or("", |c| c.dialler.as_str())) }
                        @for c in row {
                            td style=(if c.predicted { "background:#e6f4ea" } else { "background:#eee" }) {
                                (nat_text::cell_text(c))
                            }
                        }
                    }
                }
            }
        }
        p { (nat_text::dcutr_line(n)) "." }
        p { "Behind the same NAT: " (nat_text::punch_text(&n.same_nat)) " (no hairpinning)." }
        p { "Relayed: " (nat_text::relayed_line(&n.relayed)) "." }
        p { "AutoNAT: " (nat_text::autonat_line(&n.autonat)) "." }
        @if let Some(c) = &n.colocation { p { "Colocation: " (nat_text::colocation_line(c)) "." } }
    }
}
