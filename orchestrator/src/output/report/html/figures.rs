//! The chart sections: delivery latency, coverage, latency over the run and container
//! cost. A chart is spliced in as the SVG `charts` drew; one that could not be drawn, or
//! that needs the event log when there is none, becomes a note.

use maud::{Markup, PreEscaped, html};

use super::Input;
use super::text::{NONE, mib, ms, opt_ms};
use crate::output::report::charts::{self, LatencyTarget, Resource, Svg};
use crate::output::report::series::{self, Series};
use crate::result::RunResult;

/// A chart in a figure, or a note where it could not be drawn.
pub(super) fn figure(svg: &Svg, caption: &str) -> Markup {
    html! {
        figure {
            @match svg {
                Ok(svg) => (PreEscaped(svg)),
                Err(e) => div.missing { "chart could not be drawn: " (e) },
            }
            @if !caption.is_empty() { figcaption { (caption) } }
        }
    }
}

/// A note standing where a chart would be.
pub(super) fn placeholder(text: &str) -> Markup {
    html! { figure { div.missing { (text) } } }
}

/// The "Delivery latency" section: a summary line, then the CDF and the histogram (or,
/// without the event log, the percentiles result.json holds).
pub(super) fn latency(input: &Input<'_>) -> Markup {
    let r = input.result;
    let targets = charts::latency_targets(&r.targets);
    let l = &r.stats.latency;
    let mean = l
        .mean_us
        .map_or_else(|| NONE.to_string(), |m| ms(m.round() as u64));
    html! {
        h2 { "Delivery latency" }
        p {
            (l.count) " honest deliveries of honest messages · p50 " (opt_ms(l.p50_us))
            " · p90 " (opt_ms(l.p90_us)) " · p95 " (opt_ms(l.p95_us))
            " · p99 " (opt_ms(l.p99_us)) " · max " (opt_ms(l.max_us)) " · mean " (mean)
        }
        div.grid {
            @match input.series {
                Some(s) if !s.sorted_ms.is_empty() => (latency_charts(r, s, &targets)),
                Some(_) => (placeholder("no honest deliveries recorded")),
                None => (figure(
                    &charts::percentile_bars(l, &targets),
                    "Percentiles as recorded in result.json (the event log is missing).",
                )),
            }
        }
    }
}

/// The latency CDF and histogram of the deliveries in `s`.
fn latency_charts(r: &RunResult, s: &Series, targets: &[LatencyTarget<'_>]) -> Markup {
    let l = &r.stats.latency;
    let beyond = |x_max: f64| {
        let n = s.sorted_ms.iter().filter(|&&v| v > x_max).count();
        if n == 0 {
            return String::new();
        }
        format!(
            " {n} deliver{} above {} (up to {}) lie beyond the axis.",
            if n == 1 { "y" } else { "ies" },
            ms((x_max * 1000.0) as u64),
            opt_ms(l.max_us)
        )
    };
    let cdf_max = charts::latency_axis_max(&s.sorted_ms, targets);
    let histogram_max = charts::histogram_axis_max(&s.sorted_ms);
    html! {
        (figure(
            &charts::latency_cdf(&s.sorted_ms, l, targets, cdf_max),
            &format!(
                "Share of deliveries at or below each latency. Solid vertical lines mark \
                 p50/p95/p99; dashed lines the targets, with a cross the curve must pass \
                 to the left of.{}",
                beyond(cdf_max)
            ),
        ))
        (figure(
            &charts::latency_histogram(&s.sorted_ms, targets, histogram_max),
            &format!("Deliveries per latency bin.{}", beyond(histogram_max)),
        ))
    }
}

/// The "Coverage" section: the coverage curve and the table of coverage levels.
pub(super) fn coverage(input: &Input<'_>) -> Markup {
    let curve = match input.series {
        Some(s) if !s.sorted_ms.is_empty() && s.subscribers > 0 => {
            let t_max = series::quantile(&s.sorted_ms, 0.999).unwrap_or(1.0) * 1.15;
            let curve = series::coverage_curve(s, t_max, 240);
            figure(
                &charts::coverage(&curve, s.subscribers),
                &format!(
                    "Share of honest subscribers holding a message, against time since it \
                     was published, over {} honest messages.",
                    s.per_message.len()
                ),
            )
        }
        Some(_) => placeholder("no coverage to show: no honest deliveries recorded"),
        None => placeholder("coverage curve needs events.jsonl"),
    };
    html! {
        h2 { "Coverage" }
        div.grid {
            (curve)
            div {
                table.cov {
                    thead { tr {
                        th { "level" } th { "reached" } th { "never" } th { "p50" } th { "p95" }
                        th { "p99" }
                    } }
                    tbody {
                        @for c in &input.result.stats.coverage {
                            tr {
                                td { (c.percent) " % of subscribers" }
                                td.n { (c.reached) " of " (c.messages) }
                                td.n { (c.never) }
                                td.n { (opt_ms(c.p50_us)) }
                                td.n { (opt_ms(c.p95_us)) }
                                td.n { (opt_ms(c.p99_us)) }
                            }
                        }
                    }
                }
                p.sub {
                    "Time until each message reached that share of honest subscribers \
                     (percentiles over messages)."
                }
            }
        }
    }
}

/// The "Latency over the run" section: each delivery at its message's publish time.
pub(super) fn timeline(input: &Input<'_>) -> Markup {
    let chart = match input.series {
        None => placeholder("latency over the run needs events.jsonl"),
        Some(s) if s.samples.is_empty() => placeholder("no honest deliveries recorded"),
        Some(s) => {
            let targets = charts::latency_targets(&input.result.targets);
            let buckets = series::per_second(&s.samples);
            let marks: Vec<(f64, &str)> = s.faults.iter().map(|(t, a)| (*t, a.as_str())).collect();
            let (svg, above) = charts::timeline(&s.samples, &buckets, &targets, &marks);
            let cut = if above > 0 {
                format!(" {above} deliveries lie above the y axis.")
            } else {
                String::new()
            };
            figure(
                &svg,
                &format!(
                    "Each delivery at its message's publish time; lines are the p50 and p99 \
                     of the deliveries of messages published in each second.{cut}"
                ),
            )
        }
    };
    html! {
        h2 { "Latency over the run" }
        (chart)
    }
}

/// The "Container cost" section: CPU and memory per container.
pub(super) fn resources(r: &RunResult) -> Markup {
    let c = &r.resources.containers;
    if c.is_empty() {
        return html! {
            h2 { "Container cost" }
            p { "The runner measured no per-container figures." }
        };
    }
    let cpu: Vec<f64> = c.iter().filter_map(|c| c.cpu_percent_mean).collect();
    let total_cpu: f64 = cpu.iter().sum();
    let max_mem = c.iter().filter_map(|c| c.mem_peak_bytes).max();
    html! {
        h2 { "Container cost" }
        p {
            (c.len()) " containers · CPU " (format!("{total_cpu:.1}")) " % of one core in all ("
            (cpu.len()) " measured) · largest memory peak "
            (max_mem.map_or_else(|| NONE.to_string(), mib)) "."
        }
        div.grid {
            (figure(
                &charts::resources(c, Resource::Cpu),
                "Mean CPU while traffic ran, percent of one core.",
            ))
            (figure(&charts::resources(c, Resource::Memory), "Highest memory use sampled."))
        }
    }
}
