//! The "Discovery" section: join times, mDNS discovery and the scheduled DHT queries.

use maud::{Markup, html};

use crate::output::discovery_text;
use crate::result::RunResult;

/// The section, or nothing without discovery figures.
pub(super) fn discovery(r: &RunResult) -> Markup {
    let Some(d) = &r.stats.discovery else {
        return html! {};
    };
    html! {
        h2 { "Discovery" }
        p {
            "Times from each node's start (its process up and listening) to its first \
             established connection and to its first mesh peer on the topic, the earliest \
             a message can reach it. The first message itself waits for the run's traffic, \
             which starts once every node is meshed. All times virtual."
        }
        p { "Join: " (discovery_text::join_line(&d.join)) "." }
        @if let Some(m) = &d.mdns { p { "mDNS: " (discovery_text::mdns_line(m)) "." } }
        @if let Some(q) = &d.dht {
            p {
                "DHT queries that ended in the window (latency of the successful ones; a \
                 failed query mostly ran into the 60 s timeout): "
                (discovery_text::dht_line(q)) "."
            }
            table {
                thead { tr { th { "kind" } th { "figures" } } }
                tbody {
                    @for k in &q.kinds { tr { td { (k.kind) } td { (discovery_text::kind_text(k)) } } }
                }
            }
        }
    }
}
