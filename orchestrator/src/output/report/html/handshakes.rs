//! The "Handshakes" section: connections per transport, security protocol and
//! key-exchange group, with their handshake times and bytes.

use maud::{Markup, html};

use crate::output::handshake_text;
use crate::result::RunResult;

/// The section, or nothing without handshake records.
pub(super) fn handshakes(r: &RunResult) -> Markup {
    let Some(h) = &r.stats.handshakes else {
        return html! {};
    };
    html! {
        h2 { "Handshakes" }
        p {
            "Connections as their diallers saw them: the security protocol and key-exchange \
             group negotiated, the time from dial to established connection (virtual) and the \
             median bytes of the security handshake. QUIC's group is not visible to the node \
             (“unknown”)."
        }
        table {
            thead { tr {
                th { "transport" } th { "security" } th { "group" } th { "connections" }
                th { "p50/p95/p99 ms" } th { "max ms" } th { "bytes" }
            } }
            tbody {
                @for row in &h.rows {
                    tr {
                        td { (row.transport) } td { (row.security) } td { (row.group) }
                        td { (row.times.connections) }
                        td { (handshake_text::percentiles(row)) }
                        td { (row.times.max_ms.map_or_else(|| "-".to_string(), |m| format!("{m:.1}"))) }
                        td { (handshake_text::bytes_text(row)) }
                    }
                }
            }
        }
        @if h.early_dials > 0 { p { (handshake_text::early_text(h.early_dials)) "." } }
    }
}
