//! The page: targets first, then notes, run metadata, headline figures, charts and
//! tables. Every string from the run goes through [`esc`].

use std::fmt::Write as _;

use super::charts::{self, Resource, Svg};
use super::meta::{Provenance, utc};
use super::series::{self, Series};
use crate::analysis::{DeliveryRatio, LatencySummary, NodeStats};
use crate::result::{Comparison, RunResult, TargetCheck};
use crate::scenario::units::format_duration;

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

/// Escapes text for HTML element content and quoted attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1d2330;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:20px 20px 40px}
h1{font-size:24px;margin:4px 0 2px}
h2{font-size:19px;margin:30px 0 10px;padding-bottom:4px;border-bottom:2px solid #d8dbe2}
.sub{color:#5a6272;margin:0 0 14px}
.verdict{padding:12px 16px;border-radius:6px;font-weight:700;font-size:18px;color:#fff;margin:10px 0}
.verdict.met{background:#1e7d32}.verdict.missed{background:#c62828}.verdict.none{background:#6b7280}
table{border-collapse:collapse;background:#fff;margin:6px 0 10px}
th,td{padding:5px 10px;border:1px solid #dfe2e8;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:700;font-size:13px;color:#fff}
.badge.met{background:#1e7d32}.badge.missed{background:#c62828}
.notes{background:#fff8e1;border:1px solid #f0d47a;border-radius:6px;padding:8px 14px 8px 30px;margin:10px 0}
.meta th{width:210px}
.meta td{max-width:960px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0}
.card{background:#fff;border:1px solid #dfe2e8;border-radius:6px;padding:8px 14px;min-width:130px}
.card .k{color:#5a6272;font-size:13px}.card .v{font-size:20px;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(2,590px);gap:20px}
figure{margin:0;background:#fff;border:1px solid #dfe2e8;border-radius:6px;padding:4px}
figure svg{display:block;max-width:100%;height:auto}
figcaption{color:#5a6272;font-size:13px;padding:4px 8px 6px}
.missing{padding:40px 20px;color:#5a6272;text-align:center}
td.bad{background:#fbd5d5}td.warn{background:#fff1c7}
table.sortable th{cursor:pointer;user-select:none}
table.nodes th,table.nodes td,table.cov td,table.cov th{white-space:nowrap}
table.nodes th,table.nodes td{padding:4px 8px;font-size:14px}
table.sortable th:hover{background:#e2e6ee}
.scroll{max-height:720px;max-width:100%;width:fit-content;overflow:auto;border:1px solid #dfe2e8}
.scroll table{margin:0}
.scroll th{position:sticky;top:0}
footer{color:#8a909c;font-size:12px;margin-top:30px}
"#;

const SORT_SCRIPT: &str = r#"
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0], i = th.cellIndex;
    var asc = th.dataset.dir !== 'asc';
    th.dataset.dir = asc ? 'asc' : 'desc';
    Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[i].dataset.v, y = b.cells[i].dataset.v;
      var nx = parseFloat(x), ny = parseFloat(y);
      var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
      return asc ? r : -r;
    }).forEach(function (r) { body.appendChild(r); });
  });
});
"#;

/// The whole page.
pub(super) fn page(input: &Input<'_>) -> String {
    let r = input.result;
    let mut o = String::with_capacity(256 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} — {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(&r.scenario),
        esc(&r.run_id)
    );
    let _ = writeln!(
        o,
        "<h1>Scenario {} · run {}</h1>\n<p class=\"sub\">{} nodes · seed {} · shaper {} · started {}</p>",
        esc(&r.scenario),
        esc(&r.run_id),
        r.nodes.total,
        r.seed,
        esc(&r.shaper),
        esc(&utc(r.started_at_ms))
    );
    targets(&mut o, &r.targets);
    notes(&mut o, input);
    metadata(&mut o, input);
    headline(&mut o, r);
    latency(&mut o, input);
    coverage(&mut o, input);
    timeline(&mut o, input);
    breakdown(&mut o, r);
    resources(&mut o, r);
    node_table(&mut o, r);
    let _ = write!(
        o,
        "<footer>orchestrator {} · report for run {}</footer>\n</main>\n<script>{SORT_SCRIPT}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&r.run_id)
    );
    o
}

fn ms(us: u64) -> String {
    let v = us as f64 / 1000.0;
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0} ms")
    } else {
        format!("{v:.1} ms")
    }
}

fn opt_ms(us: Option<u64>) -> String {
    us.map_or_else(|| "–".to_string(), ms)
}

fn pct(r: f64) -> String {
    if (0.9999..1.0).contains(&r) {
        format!("{:.3} %", r * 100.0)
    } else {
        format!("{:.2} %", r * 100.0)
    }
}

fn ratio_text(d: &DeliveryRatio) -> String {
    match d.ratio {
        Some(r) => format!("{} ({} of {})", pct(r), d.delivered, d.expected),
        None => "–".to_string(),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

fn symbol(c: Comparison) -> &'static str {
    match c {
        Comparison::Below => "<",
        Comparison::AtLeast => "≥",
        Comparison::AtMost => "≤",
    }
}

fn target_value(t: &TargetCheck, v: f64) -> String {
    match t.unit.as_str() {
        "ms" => format!("{v:.1} ms"),
        "ratio" if t.name == "delivery" => pct(v),
        "ratio" => format!("{:.2} %", v * 100.0),
        other => format!("{v} {}", esc(other)),
    }
}

fn target_label(name: &str) -> String {
    match name {
        "p95" => "latency p95".to_string(),
        "p99" => "latency p99".to_string(),
        "delivery" => "delivery ratio".to_string(),
        "link_error" => "link fidelity error".to_string(),
        other => esc(other),
    }
}

fn targets(o: &mut String, targets: &[TargetCheck]) {
    let missed = targets.iter().filter(|t| !t.met).count();
    let (class, text) = if targets.is_empty() {
        ("none", "No targets set".to_string())
    } else if missed == 0 {
        ("met", format!("All {} targets MET", targets.len()))
    } else {
        (
            "missed",
            format!("{missed} of {} targets MISSED", targets.len()),
        )
    };
    let _ = writeln!(o, "<div class=\"verdict {class}\">{text}</div>");
    if targets.is_empty() {
        return;
    }
    o.push_str(
        "<table class=\"targets\"><thead><tr><th>target</th><th>wanted</th><th>measured</th>\
         <th>result</th></tr></thead><tbody>\n",
    );
    for t in targets {
        let (class, word) = if t.met {
            ("met", "MET")
        } else {
            ("missed", "MISSED")
        };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{} {}</td><td class=\"n\">{}</td>\
             <td><span class=\"badge {class}\">{word}</span></td></tr>",
            target_label(&t.name),
            symbol(t.comparison),
            target_value(t, t.target),
            t.measured
                .map_or_else(|| "not measured".to_string(), |m| target_value(t, m)),
        );
    }
    o.push_str("</tbody></table>\n");
}

fn notes(o: &mut String, input: &Input<'_>) {
    let r = input.result;
    let mut all: Vec<String> = input.notes.iter().map(|n| esc(n)).collect();
    let unready = &r.phases.unready_nodes;
    if !unready.is_empty() {
        const SHOWN: usize = 12;
        let names: Vec<String> = unready.iter().take(SHOWN).map(|n| esc(n)).collect();
        let more = if unready.len() > SHOWN {
            format!(" and {} more", unready.len() - SHOWN)
        } else {
            String::new()
        };
        all.push(format!(
            "{} node{} had not meshed when traffic started: {}{more}.",
            unready.len(),
            if unready.len() == 1 { "" } else { "s" },
            names.join(", ")
        ));
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
    if all.is_empty() {
        return;
    }
    o.push_str("<ul class=\"notes\">\n");
    for n in all {
        let _ = writeln!(o, "<li>{n}</li>");
    }
    o.push_str("</ul>\n");
}

fn link_text(r: &RunResult) -> String {
    let l = &r.link;
    if l.is_none() {
        return "unshaped".to_string();
    }
    let mut t = format!(
        "{} ± {} one-way delay",
        format_duration(l.delay),
        format_duration(l.jitter)
    );
    if l.loss > 0.0 {
        let _ = write!(t, ", loss {:.2} %", l.loss * 100.0);
    }
    if let Some(k) = l.rate_kbit {
        let _ = write!(t, ", rate {k} kbit/s");
    }
    esc(&t)
}

fn row(o: &mut String, key: &str, value: &str) {
    let _ = writeln!(o, "<tr><th>{key}</th><td>{value}</td></tr>");
}

fn metadata(o: &mut String, input: &Input<'_>) {
    let r = input.result;
    o.push_str("<h2>Run</h2>\n<table class=\"meta\"><tbody>\n");
    row(o, "scenario", &esc(&r.scenario));
    row(o, "run id", &esc(&r.run_id));
    row(o, "seed", &r.seed.to_string());
    let groups: Vec<String> = r
        .nodes
        .per_group
        .iter()
        .map(|g| format!("{} × {} ({})", g.count, esc(&g.group), esc(&g.role)))
        .collect();
    row(
        o,
        "nodes",
        &format!(
            "{} in all: {}; {} honest",
            r.nodes.total,
            groups.join(", "),
            r.stats.honest_nodes
        ),
    );
    row(o, "shaper back end", &esc(&r.shaper));
    row(o, "link profile", &link_text(r));
    let fidelity = match &r.stats.fidelity {
        Some(f) => {
            let rel = f
                .relative_error
                .map(|e| format!(" ({:.1} %)", e * 100.0))
                .unwrap_or_default();
            format!(
                "measured one-way {} (median; p95 {}) vs imposed {}: error {:+.2} ms{rel}, {} pings",
                ms(f.measured_us),
                ms(f.measured_p95_us),
                ms(f.imposed_us),
                f.error_us as f64 / 1000.0,
                f.samples
            )
        }
        None => "not measured (no ping events)".to_string(),
    };
    row(o, "link fidelity", &fidelity);
    row(o, "started", &esc(&utc(r.started_at_ms)));
    let secs = r.ended_at_ms.saturating_sub(r.started_at_ms) as f64 / 1000.0;
    row(o, "duration", &format!("{secs:.1} s"));
    let p = &r.phases;
    let phase = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |s| format!("{s:.1} s"));
    row(
        o,
        "phases (after start)",
        &format!(
            "images {} · containers {} · shaped {} · traffic on {} · meshed {} · measured {} to {} · collected {}",
            phase(p.images_ready_after_s),
            phase(p.containers_started_after_s),
            phase(p.shaped_after_s),
            phase(p.traffic_started_after_s),
            phase(p.ready_after_s),
            phase(p.window_started_after_s),
            phase(p.traffic_ended_after_s),
            phase(p.collected_after_s)
        ),
    );
    let mut host = String::new();
    if let Some(m) = r.resources.peak_host_mem_bytes {
        let _ = write!(host, "memory peak {}", mib(m));
    }
    if let Some(l) = r.resources.peak_host_load {
        if !host.is_empty() {
            host.push_str(" · ");
        }
        let _ = write!(host, "1-min load peak {l:.2}");
    }
    if !host.is_empty() {
        row(o, "host cost", &host);
    }
    row(o, "events", &r.stats.events.to_string());
    row(o, "commit (at render)", &esc(&input.provenance.commit));
    row(o, "host (at render)", &esc(&input.provenance.host));
    o.push_str("</tbody></table>\n");
}

fn card(o: &mut String, key: &str, value: &str) {
    let _ = writeln!(
        o,
        "<div class=\"card\"><div class=\"k\">{key}</div><div class=\"v\">{value}</div></div>"
    );
}

fn headline(o: &mut String, r: &RunResult) {
    let s = &r.stats;
    let l = &s.latency;
    o.push_str("<h2>Headline figures</h2>\n<div class=\"cards\">\n");
    card(o, "latency p50", &opt_ms(l.p50_us));
    card(o, "latency p95", &opt_ms(l.p95_us));
    card(o, "latency p99", &opt_ms(l.p99_us));
    card(o, "latency max", &opt_ms(l.max_us));
    card(
        o,
        "delivery",
        &s.delivery.ratio.map_or_else(|| "–".to_string(), pct),
    );
    if let Some(c) = s.coverage.iter().find(|c| c.percent == 100) {
        card(o, "100 % coverage p50", &opt_ms(c.p50_us));
    }
    card(o, "honest messages", &s.published.honest.to_string());
    card(o, "deliveries", &l.count.to_string());
    if let Some(per) = s.duplicates.as_ref().and_then(|d| d.per_delivery) {
        card(o, "redundant copies / msg", &format!("{per:.2}"));
    }
    o.push_str("</div>\n");
}

/// A chart in a figure, or a note where it could not be drawn.
fn figure(o: &mut String, svg: &Svg, caption: &str) {
    o.push_str("<figure>");
    match svg {
        Ok(svg) => o.push_str(svg),
        Err(e) => {
            let _ = write!(
                o,
                "<div class=\"missing\">chart could not be drawn: {}</div>",
                esc(e)
            );
        }
    }
    if !caption.is_empty() {
        let _ = write!(o, "<figcaption>{caption}</figcaption>");
    }
    o.push_str("</figure>\n");
}

fn placeholder(o: &mut String, text: &str) {
    let _ = writeln!(
        o,
        "<figure><div class=\"missing\">{}</div></figure>",
        esc(text)
    );
}

fn latency(o: &mut String, input: &Input<'_>) {
    let r = input.result;
    let targets = charts::latency_targets(&r.targets);
    o.push_str("<h2>Delivery latency</h2>\n");
    let l = &r.stats.latency;
    let _ = writeln!(
        o,
        "<p>{} honest deliveries of honest messages · p50 {} · p90 {} · p95 {} · p99 {} · max {} · mean {}</p>",
        l.count,
        opt_ms(l.p50_us),
        opt_ms(l.p90_us),
        opt_ms(l.p95_us),
        opt_ms(l.p99_us),
        opt_ms(l.max_us),
        l.mean_us
            .map_or_else(|| "–".to_string(), |m| ms(m.round() as u64))
    );
    o.push_str("<div class=\"grid\">\n");
    match input.series {
        Some(s) if !s.sorted_ms.is_empty() => {
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
            let x_max = charts::latency_axis_max(&s.sorted_ms, &targets);
            figure(
                o,
                &charts::latency_cdf(&s.sorted_ms, l, &targets, x_max),
                &format!(
                    "Share of deliveries at or below each latency. Solid vertical lines mark \
                     p50/p95/p99; dashed lines the targets, with a cross the curve must pass \
                     to the left of.{}",
                    beyond(x_max)
                ),
            );
            let x_max = charts::histogram_axis_max(&s.sorted_ms);
            figure(
                o,
                &charts::latency_histogram(&s.sorted_ms, &targets, x_max),
                &format!("Deliveries per latency bin.{}", beyond(x_max)),
            );
        }
        Some(_) => placeholder(o, "no honest deliveries recorded"),
        None => figure(
            o,
            &charts::percentile_bars(l, &targets),
            "Percentiles as recorded in result.json (the event log is missing).",
        ),
    }
    o.push_str("</div>\n");
}

fn coverage(o: &mut String, input: &Input<'_>) {
    let r = input.result;
    o.push_str("<h2>Coverage</h2>\n<div class=\"grid\">\n");
    match input.series {
        Some(s) if !s.sorted_ms.is_empty() && s.subscribers > 0 => {
            let t_max = series::quantile(&s.sorted_ms, 0.999).unwrap_or(1.0) * 1.15;
            let curve = series::coverage_curve(s, t_max, 240);
            figure(
                o,
                &charts::coverage(&curve, s.subscribers),
                &format!(
                    "Share of honest subscribers holding a message, against time since it \
                     was published, over {} honest messages.",
                    s.per_message.len()
                ),
            );
        }
        Some(_) => placeholder(o, "no coverage to show: no honest deliveries recorded"),
        None => placeholder(o, "coverage curve needs events.jsonl"),
    }
    o.push_str(
        "<div><table class=\"cov\"><thead><tr><th>level</th><th>reached</th><th>never</th><th>p50</th>\
         <th>p95</th><th>p99</th></tr></thead><tbody>\n",
    );
    for c in &r.stats.coverage {
        let _ = writeln!(
            o,
            "<tr><td>{} % of subscribers</td><td class=\"n\">{} of {}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            c.percent,
            c.reached,
            c.messages,
            c.never,
            opt_ms(c.p50_us),
            opt_ms(c.p95_us),
            opt_ms(c.p99_us)
        );
    }
    o.push_str(
        "</tbody></table><p class=\"sub\">Time until each message reached that share of \
         honest subscribers (percentiles over messages).</p></div>\n</div>\n",
    );
}

fn timeline(o: &mut String, input: &Input<'_>) {
    o.push_str("<h2>Latency over the run</h2>\n");
    let Some(s) = input.series else {
        placeholder(o, "latency over the run needs events.jsonl");
        return;
    };
    if s.samples.is_empty() {
        placeholder(o, "no honest deliveries recorded");
        return;
    }
    let targets = charts::latency_targets(&input.result.targets);
    let buckets = series::per_second(&s.samples);
    let (svg, above) = charts::timeline(&s.samples, &buckets, &targets);
    let cut = if above > 0 {
        format!(" {above} deliveries lie above the y axis.")
    } else {
        String::new()
    };
    figure(
        o,
        &svg,
        &format!(
            "Each delivery at its message's publish time; lines are the p50 and p99 of \
             the deliveries of messages published in each second.{cut}"
        ),
    );
}

fn latency_cells(o: &mut String, l: &LatencySummary) {
    for v in [l.p50_us, l.p95_us, l.p99_us, l.max_us] {
        let _ = write!(o, "<td class=\"n\">{}</td>", opt_ms(v));
    }
}

fn breakdown(o: &mut String, r: &RunResult) {
    let s = &r.stats;
    o.push_str("<h2>Honest and Byzantine nodes</h2>\n");
    let _ = writeln!(
        o,
        "<p>Messages published: {} by honest nodes, {} by attackers. Figures per group are \
         for its nodes as receivers of honest messages.</p>",
        s.published.honest, s.published.attacker
    );
    o.push_str(
        "<table><thead><tr><th>group</th><th>role</th><th>nodes</th><th>published</th>\
         <th>delivery</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr></thead><tbody>\n",
    );
    for g in &s.groups {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td>",
            esc(&g.group),
            esc(&g.role),
            g.nodes,
            g.published,
            ratio_text(&g.delivery)
        );
        latency_cells(o, &g.latency);
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table>\n");
    if s.rejections.is_empty() {
        o.push_str("<p>No message was rejected.</p>\n");
    } else {
        let list: Vec<String> = s
            .rejections
            .iter()
            .map(|(reason, n)| format!("{} × {}", n, esc(reason)))
            .collect();
        let _ = writeln!(o, "<p>Rejected messages: {}.</p>", list.join(", "));
    }
    let Some(d) = &s.defence else {
        o.push_str("<p>No attackers in this run.</p>\n");
        return;
    };
    let score = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.1}"));
    let _ = writeln!(
        o,
        "<p>{} attacker{} scored by honest nodes in {} (observer, attacker) pairs. Last \
         scores: min {}, median {}, max {}.</p>",
        d.attackers,
        if d.attackers == 1 { "" } else { "s" },
        d.scored_pairs,
        score(d.final_min),
        score(d.final_median),
        score(d.final_max)
    );
    if d.series.is_empty() {
        placeholder(o, "no score snapshots of attackers were recorded");
    } else {
        figure(
            o,
            &charts::attacker_scores(d),
            "Per second: the lowest, median and highest latest score an honest node gave \
             an attacker. Dashed: gossipsub thresholds (those the scores get at least \
             halfway to).",
        );
    }
    o.push_str(
        "<table><thead><tr><th>threshold</th><th>value</th><th>median first below</th>\
         </tr></thead><tbody>\n",
    );
    for t in &d.thresholds {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&t.name),
            t.threshold,
            t.first_below_s.map_or_else(
                || "never".to_string(),
                |s| format!("{s:.1} s after traffic start")
            )
        );
    }
    o.push_str("</tbody></table>\n");
}

fn resources(o: &mut String, r: &RunResult) {
    let c = &r.resources.containers;
    o.push_str("<h2>Container cost</h2>\n");
    if c.is_empty() {
        o.push_str("<p>The runner measured no per-container figures.</p>\n");
        return;
    }
    let cpu: Vec<f64> = c.iter().filter_map(|c| c.cpu_percent_mean).collect();
    let mem: Vec<u64> = c.iter().filter_map(|c| c.mem_peak_bytes).collect();
    let total_cpu: f64 = cpu.iter().sum();
    let max_mem = mem.iter().copied().max();
    let _ = writeln!(
        o,
        "<p>{} containers · CPU {:.1} % of one core in all ({} measured) · largest memory \
         peak {}.</p>",
        c.len(),
        total_cpu,
        cpu.len(),
        max_mem.map_or_else(|| "–".to_string(), mib)
    );
    o.push_str("<div class=\"grid\">\n");
    figure(
        o,
        &charts::resources(c, Resource::Cpu),
        "Mean CPU while traffic ran, percent of one core.",
    );
    figure(
        o,
        &charts::resources(c, Resource::Memory),
        "Highest memory use sampled.",
    );
    o.push_str("</div>\n");
}

/// Sort key putting the worst node first: lowest delivery ratio, then slowest median.
fn worst_first(a: &NodeStats, b: &NodeStats) -> std::cmp::Ordering {
    let ratio = |n: &NodeStats| n.delivery.ratio.unwrap_or(f64::INFINITY);
    let lat = |n: &NodeStats| n.median_latency_us.map_or(-1.0, |v| v as f64);
    ratio(a)
        .total_cmp(&ratio(b))
        .then(lat(b).total_cmp(&lat(a)))
        .then(a.name.cmp(&b.name))
}

fn node_table(o: &mut String, r: &RunResult) {
    let s = &r.stats;
    let delivery_target = r
        .targets
        .iter()
        .find(|t| t.name == "delivery")
        .map_or(1.0, |t| t.target);
    let p95_target_us = r
        .targets
        .iter()
        .find(|t| t.name == "p95" && t.unit == "ms")
        .map(|t| t.target * 1000.0);
    let mut nodes: Vec<(usize, &NodeStats)> = s.nodes.iter().enumerate().collect();
    nodes.sort_by(|a, b| worst_first(a.1, b.1));
    o.push_str("<h2>Per node</h2>\n");
    let _ = writeln!(
        o,
        "<p>Worst first (lowest delivery ratio, then slowest median). Click a heading to \
         sort. Red: delivery below {}; yellow: median above the p95 target.</p>",
        pct(delivery_target)
    );
    o.push_str(
        "<div class=\"scroll\"><table class=\"sortable nodes\"><thead><tr><th>#</th><th>node</th>\
         <th>group</th><th>role</th><th>delivery</th><th>delivered</th><th>expected</th>\
         <th>median latency</th><th>published</th><th>rejected</th><th>CPU mean</th>\
         <th>memory peak</th></tr></thead><tbody>\n",
    );
    for (i, n) in nodes {
        let usage = r.resources.containers.iter().find(|c| c.name == n.name);
        let ratio_class = match n.delivery.ratio {
            Some(v) if v < delivery_target => " bad",
            _ => "",
        };
        let lat_class = match (n.median_latency_us, p95_target_us) {
            (Some(v), Some(t)) if v as f64 > t => " warn",
            _ => "",
        };
        let ratio_v = n.delivery.ratio.unwrap_or(2.0);
        let lat_v = n.median_latency_us.map_or(-1.0, |v| v as f64);
        let cpu = usage.and_then(|u| u.cpu_percent_mean);
        let mem = usage.and_then(|u| u.mem_peak_bytes);
        let _ = writeln!(
            o,
            "<tr><td class=\"n\" data-v=\"{i}\">{i}</td><td data-v=\"{name}\">{name}</td>\
             <td data-v=\"{group}\">{group}</td><td data-v=\"{role}\">{role}</td>\
             <td class=\"n{ratio_class}\" data-v=\"{ratio_v}\">{ratio}</td>\
             <td class=\"n\" data-v=\"{d}\">{d}</td><td class=\"n\" data-v=\"{e}\">{e}</td>\
             <td class=\"n{lat_class}\" data-v=\"{lat_v}\">{lat}</td>\
             <td class=\"n\" data-v=\"{p}\">{p}</td><td class=\"n\" data-v=\"{rj}\">{rj}</td>\
             <td class=\"n\" data-v=\"{cpu_v}\">{cpu}</td><td class=\"n\" data-v=\"{mem_v}\">{mem}</td></tr>",
            name = esc(&n.name),
            group = esc(&n.group),
            role = esc(&n.role),
            ratio = n.delivery.ratio.map_or_else(|| "–".to_string(), pct),
            d = n.delivery.delivered,
            e = n.delivery.expected,
            lat = opt_ms(n.median_latency_us),
            p = n.published,
            rj = n.rejected,
            cpu_v = cpu.unwrap_or(-1.0),
            cpu = cpu.map_or_else(|| "–".to_string(), |c| format!("{c:.2} %")),
            mem_v = mem.map_or(-1.0, |m| m as f64),
            mem = mem.map_or_else(|| "–".to_string(), mib),
        );
    }
    o.push_str("</tbody></table></div>\n");
}
