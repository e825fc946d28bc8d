//! The "Regions" section of a run placed in regions: the matrix of measured against
//! imposed one-way delay (pings, RTT / 2) for every pair of regions, latency at the honest
//! nodes of each region, and the median and p99 delivery latency from each region to each.

use maud::{Markup, html};

use super::text::{NONE, opt_ms};
use crate::analysis::RegionStats;
use crate::output::region_text;

/// The section; nothing for a run that is not placed in regions.
pub(super) fn regions(r: Option<&RegionStats>) -> Markup {
    let Some(s) = r else {
        return html! {};
    };
    let n = s.regions.len();
    let cell = |a: usize, b: usize| {
        let (a, b) = (&s.regions[a.min(b)], &s.regions[a.max(b)]);
        s.links.iter().find(|l| &l.a == a && &l.b == b)
    };
    html! {
        h2 { "Regions" }
        p {
            "Links from matrix " code { (s.matrix) } ": " (region_text::worst(s)) ". Each cell: \
            the one-way delay the nodes' pings measured between the two regions (median RTT / 2) \
            over the matrix's, and the relative error. A run placed in regions is faithful when \
            every pair is within its guard's link error."
        }
        table {
            thead { tr {
                th { "measured / imposed" }
                @for name in &s.regions { th { (name) } }
            } }
            tbody {
                @for a in 0..n {
                    tr {
                        th { (s.regions[a]) }
                        @for b in 0..n {
                            @match cell(a, b) {
                                Some(l) => td.n title=(format!("{} pings", l.samples)) {
                                    (format!("{:.1} / {:.1} ms", l.measured_us as f64 / 1000.0, l.imposed_us as f64 / 1000.0))
                                    br;
                                    (l.relative_error.map_or_else(|| NONE.to_string(), |e| format!("{:.1} %", e * 100.0)))
                                },
                                None => td.n { (NONE) },
                            }
                        }
                    }
                }
            }
        }
        h3 { "Latency by region" }
        table {
            thead { tr {
                th { "receivers in" } th { "nodes" } th { "deliveries" }
                th { "p50" } th { "p95" } th { "p99" } th { "max" }
            } }
            tbody {
                @for rcv in &s.receivers {
                    tr {
                        td { (rcv.region) }
                        td.n { (rcv.nodes) }
                        td.n { (rcv.latency.count) }
                        @for v in [rcv.latency.p50_us, rcv.latency.p95_us, rcv.latency.p99_us, rcv.latency.max_us] {
                            td.n { (opt_ms(v)) }
                        }
                    }
                }
            }
        }
        p { "Median / p99 delivery latency of honest messages by the origin's region (rows) and the receiver's (columns):" }
        table {
            thead { tr {
                th { "from \\ to" }
                @for name in &s.regions { th { (name) } }
            } }
            tbody {
                @for (a, row) in s.from_to.iter().enumerate() {
                    tr {
                        th { (s.regions.get(a).map_or("", String::as_str)) }
                        @for c in row {
                            @match c {
                                Some(c) => td.n title=(format!("{} deliveries", c.count)) {
                                    (opt_ms(Some(c.p50_us))) " / " (opt_ms(Some(c.p99_us)))
                                },
                                None => td.n { (NONE) },
                            }
                        }
                    }
                }
            }
        }
    }
}
