//! Renders reports from a small synthetic run and checks what a reader (and a browser
//! without network access) needs.

use std::path::Path;

use lab_events::{Event, PeerScore, Record};

use super::meta::Provenance;
use super::*;
use crate::plan::Plan;
use crate::result::ContainerUsage;

const T0: u64 = 1_800_000_000_000_000_000;
const HOSTILE: &str = "<script>alert(1)</script>";

fn test_plan() -> Plan {
    crate::testkit::Small {
        name: "report",
        seed: 7,
        duration: "30s",
        link: r#"{ delay = "10ms", jitter = "1ms" }"#,
        honest_id: "h",
        honest: 6,
        evil_id: "e",
        evil: 1,
        publishers: 2,
        rate: "2/s",
        targets: "p95 = \"10ms\"\np99 = \"100ms\"\ndelivery = 0.9",
        ..Default::default()
    }
    .plan()
}

fn rec(ts_ns: u64, node: &str, event: Event) -> Record {
    Record {
        ts_ns,
        node: node.to_string(),
        event,
    }
}

/// Honest nodes h-0 and h-1 publish 10 messages each over 5 s; every other node gets
/// them after 5-40 ms, except that h-5 misses every third message. Honest nodes score
/// the attacker lower every second; everyone pings.
fn events(p: &Plan) -> Vec<Record> {
    let mut v = Vec::new();
    for n in &p.nodes {
        v.push(rec(
            T0 - 5_000_000_000,
            &n.name,
            Event::Started {
                peer_id: format!("P-{}", n.name),
                role: n.role.name().to_string(),
                listen: Vec::new(),
            },
        ));
    }
    for k in 0..20u64 {
        let origin = format!("h-{}", k % 2);
        let id = format!("m{k}");
        let at = T0 + k * 250_000_000;
        v.push(rec(
            at,
            &origin,
            Event::Published {
                msg_id: id.clone(),
                seq: k,
                size: 1024,
                wire_size: 4500,
            },
        ));
        for (r, n) in p.nodes.iter().enumerate() {
            if n.name == origin || (n.name == "h-5" && k % 3 == 0) {
                continue;
            }
            let received = at + (5 + 3 * r as u64 + k) * 1_000_000;
            v.push(rec(
                received,
                &n.name,
                Event::Delivered {
                    msg_id: id.clone(),
                    origin: format!("P-{origin}"),
                    seq: k,
                    published_ns: at,
                    received_ns: received,
                    from: "P-h-2".into(),
                },
            ));
        }
    }
    for s in 0..5u64 {
        for h in 0..6 {
            v.push(rec(
                T0 + s * 1_000_000_000 + h * 1000,
                &format!("h-{h}"),
                Event::Scores {
                    scores: vec![PeerScore {
                        peer: "P-e-0".into(),
                        score: -(s as f64) * 60.0 - h as f64 * 10.0,
                        protocol: None,
                        parts: None,
                    }],
                },
            ));
        }
    }
    // Meshes: h-0 has 3 peers (below mesh_n_low 4) until 2 s into the window, then 5; the
    // others have 5 throughout.
    for h in 0..6 {
        let peers = if h == 0 { 3 } else { 5 };
        v.push(rec(
            T0 - 1,
            &format!("h-{h}"),
            Event::Mesh {
                topic: "t".into(),
                peers: (0..peers).map(|k| format!("P-h-{k}")).collect(),
            },
        ));
    }
    v.push(rec(
        T0 + 2_000_000_000,
        "h-0",
        Event::Mesh {
            topic: "t".into(),
            peers: (1..6).map(|k| format!("P-h-{k}")).collect(),
        },
    ));
    for h in 0..6 {
        v.push(rec(
            T0 + 1,
            &format!("h-{h}"),
            Event::Ping {
                peer: "P-h-0".into(),
                rtt_us: 20_400,
            },
        ));
    }
    v
}

fn test_result(p: &Plan, records: &[Record]) -> RunResult {
    let window = crate::analysis::Window {
        traffic_ns: T0,
        start_ns: T0,
        end_ns: u64::MAX,
    };
    let stats = crate::analysis::compute(records, p, Some(window));
    let started_ms = T0 / 1_000_000 - 10_000;
    let mut r = RunResult::new(
        "report-1",
        p,
        stats,
        "userspace",
        started_ms,
        started_ms + 30_000,
    );
    r.phases.traffic_started_after_s = Some(2.0);
    r.phases.window_started_after_s = Some(10.0);
    r.phases.ready_after_s = Some(4.0);
    r.resources.peak_host_mem_bytes = Some(3 << 30);
    r.resources.peak_host_load = Some(1.5);
    r.resources.containers = p
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ContainerUsage {
            name: n.name.clone(),
            cpu_percent_mean: Some(1.0 + i as f64 * 0.25),
            cpu_percent_peak: Some(2.0),
            mem_peak_bytes: Some((8 + i as u64) << 20),
            net_rx_bytes: Some(1_000_000),
            net_tx_bytes: Some(1_000_000),
        })
        .collect();
    r.resources.cost = Some(crate::result::fixtures::test_cost());
    r
}

fn provenance() -> Provenance {
    Provenance {
        commit: "abc1234".into(),
        host: "labhost".into(),
    }
}

fn rendered() -> String {
    let p = test_plan();
    let records = events(&p);
    let r = test_result(&p, &records);
    render(&r, Some(&records), Vec::new(), &provenance())
}

/// The rows of the targets table, by the text of their first cell.
fn target_row<'a>(html: &'a str, label: &str) -> &'a str {
    let table = html
        .split("<table class=\"targets\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("targets table");
    table
        .split("<tr>")
        .find(|row| row.starts_with(&format!("<td>{label}</td>")))
        .unwrap_or_else(|| panic!("no row {label} in {table}"))
}

#[test]
fn report_is_self_contained() {
    let html = rendered();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for external in [
        "src=", "href=", "<link", "<img", "@import", "url(", "<iframe",
    ] {
        assert!(!html.contains(external), "found {external}");
    }
    // The SVG namespace is an identifier, not a fetch; nothing else names a URL.
    let urls = html.matches("http://").count() + html.matches("https://").count();
    let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(urls, namespaces);
}

#[test]
fn every_chart_is_inline_svg_with_text_labels() {
    let html = rendered();
    // CDF, histogram, coverage, timeline, attacker scores, mesh health, cost, CPU, memory.
    assert_eq!(html.matches("<svg ").count(), 9, "{html}");
    for title in [
        "Latency CDF",
        "Latency histogram",
        "Coverage after publish",
        "Latency over the run",
        "Scores honest nodes give attackers",
        "Mesh health over the window",
        "CPU of the host over the window, by part",
        "CPU per container (mean)",
        "Memory per container (peak)",
    ] {
        assert!(html.contains(&format!("{title}\n</text>")), "title {title}");
    }
    assert!(!html.contains("chart could not be drawn"));
}

#[test]
fn targets_are_marked_met_or_missed_at_the_top() {
    let html = rendered();
    let verdict = html.find("class=\"verdict").expect("verdict");
    let first_chart = html.find("<svg").expect("a chart");
    assert!(verdict < first_chart);
    assert!(html.contains("1 of 3 targets MISSED"), "verdict text");
    assert!(target_row(&html, "latency p95").contains(">MISSED<"));
    assert!(
        target_row(&html, "latency p95").contains("<td class=\"n\">&lt; 10.0 ms</td>"),
        "the bound, its `<` escaped"
    );
    assert!(target_row(&html, "latency p99").contains(">MET<"));
    assert!(target_row(&html, "delivery ratio").contains(">MET<"));
}

#[test]
fn metadata_names_scenario_seed_shaper_fidelity_commit_and_host() {
    let html = rendered();
    for needle in [
        "<th>scenario</th><td>report</td>",
        "<th>seed</th><td>7</td>",
        "<th>shaper back end</th><td>userspace</td>",
        "measured one-way 10.2 ms",
        "<th>message hops</th><td>",
        "<td>abc1234</td>",
        "<td>labhost</td>",
        "6 × h (honest), 1 × e (invalid-signature)",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
}

#[test]
fn node_table_lists_the_worst_node_first() {
    let html = rendered();
    let table = html
        .split("table class=\"sortable nodes\"")
        .nth(1)
        .expect("table");
    let first_row = table.split("<tbody>").nth(1).expect("body");
    let first_row = first_row.split("</tr>").next().expect("row");
    // h-5 missed a third of the messages.
    assert!(first_row.contains(">h-5</td>"), "{first_row}");
    assert!(first_row.contains("class=\"n bad\""), "{first_row}");
}

#[test]
fn a_distorted_run_says_so_at_the_top_and_judges_no_target() {
    let p = test_plan();
    let records = events(&p);
    let mut r = test_result(&p, &records);
    r.distorted = vec!["the host was 99 % busy over the measurement window".into()];
    let html = render(&r, Some(&records), Vec::new(), &provenance());
    assert!(
        html.contains("verdict distorted"),
        "the banner's class names the verdict"
    );
    assert!(html.contains("DISTORTED: the lab measured its own host"));
    assert!(html.contains("the host was 99 % busy over the measurement window"));
    assert!(html.contains(crate::result::REMEDY));
    assert!(html.contains("NOT JUDGED"));
    assert!(!html.contains(">MET<") && !html.contains(">MISSED<"));
}

#[test]
fn hostile_strings_are_escaped() {
    let p = test_plan();
    let records = events(&p);
    let mut r = test_result(&p, &records);
    r.scenario = HOSTILE.into();
    r.stats.nodes[0].name = HOSTILE.into();
    r.stats.rejections.insert(HOSTILE.into(), 1);
    r.nodes.per_group[0].group = HOSTILE.into();
    let html = render(&r, Some(&records), vec![HOSTILE.into()], &provenance());
    assert!(!html.contains(HOSTILE));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn write_puts_report_html_in_the_run_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = test_plan();
    let records = events(&p);
    let r = test_result(&p, &records);
    let path = write(&r, &records, dir.path()).expect("written");
    assert_eq!(path, dir.path().join("report.html"));
    let html = std::fs::read_to_string(&path).expect("read");
    assert_eq!(html.matches("<svg ").count(), 9);
}

#[test]
fn rerender_without_events_shows_what_result_json_allows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = test_plan();
    let r = test_result(&p, &events(&p));
    let json = r.write_json(dir.path()).expect("result.json");
    let path = rerender(&json).expect("rendered");
    assert_eq!(path, json.with_file_name("report.html"));
    let html = std::fs::read_to_string(&path).expect("read");
    assert!(html.contains("No events.jsonl beside result.json"), "note");
    // Percentile bars, attacker scores, cost, CPU, memory.
    assert_eq!(html.matches("<svg ").count(), 6);
    assert!(html.contains("Latency percentiles (from result.json)"));
    assert!(target_row(&html, "latency p95").contains(">MISSED<"));
    assert!(html.contains(">h-5</td>"));
}

#[test]
fn rerender_reads_the_events_beside_result_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = test_plan();
    let records = events(&p);
    let r = test_result(&p, &records);
    let json = r.write_json(dir.path()).expect("result.json");
    let mut text: String = records.iter().map(|r| r.to_line() + "\n").collect();
    text.push_str("{\"not\":\"a record\"}\n\n");
    std::fs::write(json.with_file_name(EVENTS_FILE), text).expect("events");
    let html = std::fs::read_to_string(rerender(&json).expect("rendered")).expect("read");
    assert_eq!(html.matches("<svg ").count(), 9);
    assert!(html.contains("1 line of events.jsonl could not be parsed"));
}

#[test]
fn rerender_of_a_missing_result_is_bad_input() {
    let err = rerender(Path::new("/nonexistent/result.json")).expect_err("fails");
    assert!(
        err.to_string().starts_with("read /nonexistent/result.json"),
        "{err}"
    );
    assert_eq!(err.exit_code(), crate::error::EXIT_INVALID);
}

#[test]
fn series_match_the_statistics() {
    let p = test_plan();
    let records = events(&p);
    let r = test_result(&p, &records);
    let s = series::derive(&r, &records);
    assert_eq!(s.sorted_ms.len() as u64, r.stats.latency.count);
    assert_eq!(s.per_message.len() as u64, r.stats.published.honest);
    assert_eq!(s.subscribers, 5);
    let max_ms = r.stats.latency.max_us.map(|us| us as f64 / 1000.0);
    assert_eq!(s.sorted_ms.last().copied(), max_ms);
    // Traffic started at T0: the first message is published at 0 s, the last at 4.75 s.
    assert_eq!(s.samples.first().map(|x| x.t_s), Some(0.0));
    let last = s.samples.last().map(|x| x.t_s).expect("samples");
    assert!((last - 4.75).abs() < 1e-9, "{last}");
}

#[test]
fn rerender_refuses_an_incoherent_result_and_writes_no_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = test_plan();
    let mut r = test_result(&p, &events(&p));
    r.stats.delivery.ratio = Some(7.5);
    r.phases.ready_after_s = Some(-4.0);
    let json = r.write_json(dir.path()).expect("result.json");
    let err = rerender(&json).expect_err("incoherent");
    assert_eq!(err.exit_code(), crate::error::EXIT_INVALID);
    let msg = err.to_string();
    assert!(
        msg.contains("field `stats.delivery.ratio`: is 7.5"),
        "{msg}"
    );
    assert!(msg.contains("field `phases.ready_after_s`: is -4"), "{msg}");
    assert!(!json.with_file_name(REPORT_FILE).exists());
}

#[test]
fn an_endless_line_in_the_event_log_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = test_plan();
    let json = test_result(&p, &events(&p))
        .write_json(dir.path())
        .expect("result.json");
    let events_path = json.with_file_name(EVENTS_FILE);
    std::fs::write(&events_path, vec![b'x'; 2 << 20]).expect("events");
    let err = rerender(&json).expect_err("endless line");
    assert_eq!(err.exit_code(), crate::error::EXIT_INVALID);
    assert!(
        err.to_string()
            .contains("line 1 is longer than the 1 MiB a line may be"),
        "{err}"
    );
}

#[test]
fn event_lines_that_are_not_utf8_are_left_out_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = test_plan();
    let records = events(&p);
    let json = test_result(&p, &records)
        .write_json(dir.path())
        .expect("result.json");
    let mut bytes: Vec<u8> = records
        .iter()
        .flat_map(|r| (r.to_line() + "\n").into_bytes())
        .collect();
    bytes.extend_from_slice(b"{\"ts_ns\": \xff}\n");
    std::fs::write(json.with_file_name(EVENTS_FILE), bytes).expect("events");
    let html = std::fs::read_to_string(rerender(&json).expect("rendered")).expect("read");
    assert!(html.contains("1 line of events.jsonl could not be parsed"));
}

/// The part of `html` from heading `title` to the next heading.
fn section<'a>(html: &'a str, title: &str) -> &'a str {
    let start = html
        .find(&format!("<h2>{title}</h2>"))
        .unwrap_or_else(|| panic!("no section {title}"));
    let rest = &html[start + 4..];
    &rest[..rest.find("<h2>").unwrap_or(rest.len())]
}

#[test]
fn every_section_shows_its_figures_in_order() {
    let html = rendered();
    let order = [
        "Run",
        "Headline figures",
        "Delivery latency",
        "Coverage",
        "Latency over the run",
        "Honest and Byzantine nodes",
        "Mesh health",
        "Cost over the window",
        "Container cost",
        "Per node",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|t| html.find(&format!("<h2>{t}</h2>")).expect(t))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{order:?} at {at:?}");
    let headline = section(&html, "Headline figures");
    for card in [
        "latency p50",
        "latency p99",
        "delivery",
        "100 % coverage p50",
        "deliveries",
    ] {
        assert!(
            headline.contains(&format!("<div class=\"k\">{card}</div>")),
            "{card}"
        );
    }
    assert!(
        headline.contains("<div class=\"v\">93.00 %</div>"),
        "{headline}"
    );
    let mesh = section(&html, "Mesh health");
    assert!(mesh.contains("median size 5.0 (min 3)"), "{mesh}");
    assert!(
        mesh.contains("1 of 6 honest nodes were below mesh_n_low 4 when measuring started"),
        "{mesh}"
    );
    assert!(mesh.contains("<svg"), "the chart is drawn: {mesh}");
    let latency = section(&html, "Delivery latency");
    assert!(
        latency.contains("93 honest deliveries of honest messages"),
        "{latency}"
    );
    let coverage = section(&html, "Coverage");
    assert!(coverage.contains("<td>100 % of subscribers</td><td class=\"n\">13 of 20</td>"));
    let groups = section(&html, "Honest and Byzantine nodes");
    assert!(
        groups.contains("<td>h</td><td>honest</td><td class=\"n\">6</td>"),
        "{groups}"
    );
    assert!(groups.contains("93.00 % (93 of 100)"), "{groups}");
    assert!(groups.contains("No message was rejected."), "{groups}");
    assert!(
        groups.contains("1 attacker scored by honest nodes in 6"),
        "{groups}"
    );
    assert!(
        groups.contains("<th>median first below</th>"),
        "thresholds: {groups}"
    );
    let breakdown = section(&html, "Cost over the window");
    assert!(
        breakdown.contains("nodes 1.04 cores (260 m per node, max 310 m) · shaper 0.35"),
        "{breakdown}"
    );
    assert!(
        breakdown.contains("<td>engine</td><td class=\"n\">0.21</td><td class=\"n\">10 %</td>"),
        "{breakdown}"
    );
    assert!(
        breakdown.contains("the host's peak in use was 3072.0 MiB"),
        "{breakdown}"
    );
    let cost = section(&html, "Container cost");
    assert!(
        cost.contains("7 containers · CPU 12.2 % of one core"),
        "{cost}"
    );
    assert!(cost.contains("largest memory peak 14.0 MiB"), "{cost}");
    let nodes = section(&html, "Per node");
    assert_eq!(
        nodes.matches("<tr><td class=\"n\" data-v=").count(),
        7,
        "{nodes}"
    );
    assert!(html.contains("<script>"), "the table sorts");
}

#[test]
fn the_discovery_figures_are_in_the_report_and_the_summary() {
    let p = test_plan();
    let mut records = events(&p);
    records.push(rec(
        T0 - 4_700_000_000,
        "h-0",
        Event::MeshJoined { peers: 2 },
    ));
    records.push(rec(
        T0 + 3,
        "h-0",
        Event::DhtQuery {
            kind: "closest".into(),
            ok: true,
            duration_us: 120_000,
            found: 6,
            reason: None,
        },
    ));
    let r = test_result(&p, &records);
    let html = render(&r, Some(&records), Vec::new(), &provenance());
    assert!(html.contains("<h2>Discovery</h2>"), "no discovery section");
    assert!(html.contains("first mesh peer p50 300.0 ms"), "{html}");
    assert!(html.contains("<td>closest</td>"), "no DHT table");
    let text = crate::output::summary::render(&r);
    assert!(text.contains("\njoin           from node start"), "{text}");
    assert!(
        text.contains("\n  closest      1 queries, 100.0 % ok, p50 120.1 ms"),
        "{text}"
    );
    assert!(!text.contains("\nmdns "), "mDNS was off: {text}");
}

#[test]
fn a_timeline_gets_its_section_and_marks_on_the_latency_chart() {
    let p = test_plan();
    let mut records = events(&p);
    let nodes: Vec<String> = p.nodes.iter().map(|n| n.name.clone()).collect();
    records.push(rec(
        T0 + 1_000_000_000,
        crate::run::faults::RECORDER,
        Event::Fault {
            action: "partition".into(),
            nodes: nodes[..1].to_vec(),
            across: nodes[1..].to_vec(),
        },
    ));
    records.sort_by_key(|r| r.ts_ns);
    let r = test_result(&p, &records);
    let html = render(&r, Some(&records), Vec::new(), &provenance());
    assert!(html.contains("<h2>Fault timeline</h2>"), "section");
    assert!(html.contains("<td>after partition</td>"), "phase row");
    let chart = html
        .split("<h2>Latency over the run</h2>")
        .nth(1)
        .and_then(|c| c.split("<h2>").next())
        .expect("latency over the run");
    assert!(chart.contains("timeline fault"), "key");
    assert!(chart.contains("\npartition\n</text>"), "mark label");
    // Without a timeline: no section.
    assert!(!rendered().contains("Fault timeline"));
}

#[test]
fn an_attack_start_and_the_hosts_clock_are_in_the_report() {
    let p = test_plan();
    let mut records = events(&p);
    let attackers: Vec<String> = p
        .nodes
        .iter()
        .filter(|n| n.group != p.nodes[0].group)
        .map(|n| n.name.clone())
        .collect();
    records.push(rec(
        T0 + 500_000_000,
        crate::run::faults::RECORDER,
        Event::Fault {
            action: "attack-start".into(),
            nodes: attackers,
            across: Vec::new(),
        },
    ));
    records.sort_by_key(|r| r.ts_ns);
    let mut r = test_result(&p, &records);
    assert!(
        r.stats
            .defence
            .as_ref()
            .and_then(|d| d.attack_start_s)
            .is_some()
    );
    r.clocks = vec![crate::result::HostClock {
        host: "local".into(),
        offset_ns: -11_000,
        uncertainty_ns: 137_000,
        probes: 8,
        corrected: false,
    }];
    let html = render(&r, Some(&records), Vec::new(), &provenance());
    let groups = section(&html, "Honest and Byzantine nodes");
    assert!(
        groups.contains("The timeline started the attack at 0.5 s"),
        "{groups}"
    );
    assert!(
        groups.contains("<th>after the attack start</th>"),
        "{groups}"
    );
    let run = section(&html, "Run");
    assert!(
        run.contains("local: offset -0.011 ms ± 0.137 ms (8 probes through the shaper)"),
        "{run}"
    );
    // Without an attack start: no such column.
    assert!(!rendered().contains("after the attack start"));
}
