//! The terminal summary of one run: what ran, the measurements, and the target table
//! (MET / MISSED) with the verdict.

use std::fmt::Write as _;

use super::{
    bandwidth_text, dilation_text, discovery_text, handshake_text, link_text, mesh_text, nat_text,
    region_text,
};
use crate::analysis::{LatencySummary, Stats};
use crate::host::Cost;
use crate::result::{HostClock, REMEDY, RunResult, Verdict, target_table};

/// A readable terminal summary of `result` ending in the target table (MET / MISSED) and
/// verdict.
pub fn render(result: &RunResult) -> String {
    let mut o = String::new();
    header(&mut o, result);
    let _ = writeln!(o);
    figures(&mut o, &result.stats);
    defence_and_link(&mut o, &result.stats);
    regions(&mut o, &result.stats);
    mesh(&mut o, &result.stats);
    nat(&mut o, &result.stats);
    if let Some(h) = &result.stats.handshakes {
        for line in handshake_text::lines(h) {
            let _ = writeln!(o, "handshakes     {line}");
        }
    }
    if let Some(d) = &result.stats.discovery {
        for line in discovery_text::summary_lines(d) {
            let _ = writeln!(o, "{line}");
        }
    }
    if let Some(p) = &result.stats.phases {
        for line in super::phases_text::summary_lines(p) {
            let _ = writeln!(o, "{line}");
        }
    }
    host(&mut o, result);
    for c in &result.clocks {
        let _ = writeln!(o, "clock          {}", clock_text(c));
    }
    if let Some(cost) = &result.resources.cost {
        let _ = writeln!(o, "cost           {}", cost_text(cost));
    }
    if let Some(ms) = result.node_cpu_per_delivery_ms() {
        let _ = writeln!(
            o,
            "node cpu       {ms:.2} ms per honest delivery (nodes' CPU over the window / {} deliveries)",
            result.stats.delivery.delivered
        );
    }
    if let Some(b) = &result.stats.bandwidth {
        let _ = writeln!(o, "bandwidth      {}", bandwidth_text::line(b));
    }
    let _ = writeln!(o);
    targets(&mut o, result);
    o
}

/// `local: offset +0.004 ms ± 0.512 ms (8 probes); one host: not corrected (0 by
/// construction)`.
pub(crate) fn clock_text(c: &HostClock) -> String {
    let ms = |ns: f64| ns / 1e6;
    format!(
        "{}: offset {:+.3} ms ± {:.3} ms ({} probes through the shaper); {}",
        c.host,
        ms(c.offset_ns as f64),
        ms(c.uncertainty_ns as f64),
        c.probes,
        if c.corrected {
            "events corrected"
        } else {
            "the orchestrator's own host: 0 by construction, events not corrected"
        }
    )
}

/// The run, its nodes, shaper and link, and when the mesh was ready.
fn header(o: &mut String, r: &RunResult) {
    let roles: Vec<String> = r
        .nodes
        .per_role
        .iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect();
    let _ = writeln!(
        o,
        "run {}  scenario {}  seed {}",
        r.run_id, r.scenario, r.seed
    );
    let _ = writeln!(
        o,
        "nodes {} ({}){}  shaper {}{}  link {}",
        r.nodes.total,
        roles.join(", "),
        if r.runner.is_empty() {
            String::new()
        } else {
            format!("  runner {}", r.runner)
        },
        r.shaper,
        if r.tcp_congestion.is_empty() {
            String::new()
        } else {
            format!("  tcp {}", r.tcp_congestion)
        },
        match &r.stats.regions {
            Some(regions) => region_text::link(regions),
            None => link_text(&r.link, "", ""),
        }
    );
    let _ = writeln!(o, "time scale     {}", dilation_text::line(r));
    if let Some(ready) = r.phases.ready_after_s {
        let _ = writeln!(o, "meshed after {ready:.1} s (wall clock)");
    }
}

/// Publications, delivery, latency, coverage levels, groups and rejections.
fn figures(o: &mut String, s: &Stats) {
    let _ = writeln!(
        o,
        "published      {} honest, {} attacker",
        s.published.honest, s.published.attacker
    );
    let _ = writeln!(
        o,
        "delivery       {}  ({} of {})",
        opt_ratio(s.delivery.ratio),
        s.delivery.delivered,
        s.delivery.expected
    );
    let _ = writeln!(o, "latency        {}", latency_text(&s.latency));
    for c in &s.coverage {
        let _ = writeln!(
            o,
            "coverage {:>3}%  p50 {}  p95 {}  p99 {}  reached {}/{}  never {}",
            c.percent,
            opt_ms(c.p50_us),
            opt_ms(c.p95_us),
            opt_ms(c.p99_us),
            c.reached,
            c.messages,
            c.never
        );
    }
    if s.groups.len() > 1 {
        for g in &s.groups {
            let _ = writeln!(
                o,
                "group {:<8} {:>4} {:<18} delivery {}  p95 {}",
                g.group,
                g.nodes,
                g.role,
                opt_ratio(g.delivery.ratio),
                opt_ms(g.latency.p95_us)
            );
        }
    }
    if !s.rejections.is_empty() {
        let r: Vec<String> = s
            .rejections
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        let _ = writeln!(o, "rejected       {}", r.join(", "));
    }
}

/// The attacker scores, the link's fidelity and the duplicate copies, where measured.
fn defence_and_link(o: &mut String, s: &Stats) {
    if let Some(d) = &s.defence {
        let _ = writeln!(
            o,
            "attacker score min {}  median {}  max {}  ({} pairs, {} attackers)",
            opt_score(d.final_min),
            opt_score(d.final_median),
            opt_score(d.final_max),
            d.scored_pairs,
            d.attackers
        );
        let crossings: Vec<String> = d
            .thresholds
            .iter()
            .map(|t| match t.first_below_s {
                Some(at) => format!("{} ({}) after {at:.1} s", t.name, t.threshold),
                None => format!("{} ({}) never", t.name, t.threshold),
            })
            .collect();
        let _ = writeln!(o, "median below   {}", crossings.join(", "));
        if let Some(start) = d.attack_start_s {
            let after: Vec<String> = d
                .thresholds
                .iter()
                .map(|t| match t.after_attack_start_s {
                    Some(s) => format!("{} after {s:.1} s", t.name),
                    None => format!("{} never", t.name),
                })
                .collect();
            let _ = writeln!(
                o,
                "attack start   at {start:.1} s (median score then {}); median below {}",
                opt_score(d.median_at_attack_start),
                after.join(", ")
            );
        }
    }
    if let Some(c) = &s.crowding {
        crowding(o, c);
    }
    if let Some(f) = &s.fidelity {
        let rel = f
            .relative_error
            .map(|r| format!(", {:.1} %", r * 100.0))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "link fidelity  measured {} vs imposed {} one way (error {:+.2} ms{rel}, {} pings)",
            ms_text(f.measured_us),
            ms_text(f.imposed_us),
            f.error_us as f64 / 1000.0,
            f.samples
        );
    }
    if let Some(h) = &s.hops {
        let _ = writeln!(
            o,
            "message hops   p10 {}  p50 {}  p90 {}  p99 {} per hop vs {} imposed (p50 {:+.2} ms{}, {} mesh hops; {} copies by request or fanout not timed)",
            ms_text(h.p10_us),
            ms_text(h.p50_us),
            ms_text(h.p90_us),
            ms_text(h.p99_us),
            ms_text(h.imposed_us),
            (h.p50_us as f64 - h.imposed_us as f64) / 1000.0,
            h.relative_error()
                .map(|e| format!(", {:.1} %", e * 100.0))
                .unwrap_or_default(),
            h.samples,
            h.indirect
        );
    }
    if let Some(d) = &s.duplicates
        && let Some(per) = d.per_delivery
    {
        let _ = writeln!(
            o,
            "duplicates     {per:.2} redundant copies per message ({} received, {} unique)",
            d.received, d.unique
        );
    }
}

/// A run placed in regions: pings per region pair against the matrix, and latency by the
/// receiver's region.
fn regions(o: &mut String, s: &Stats) {
    let Some(r) = &s.regions else {
        return;
    };
    let _ = writeln!(o, "region links   {}", region_text::worst(r));
    for p in &r.links {
        let _ = writeln!(o, "  {}", region_text::pair(p));
    }
    let _ = writeln!(
        o,
        "by region      latency at honest receivers, by their region"
    );
    for rcv in &r.receivers {
        let _ = writeln!(o, "  {}", region_text::receivers(rcv));
    }
}

/// What NATs did: the hole-punch matrix (dialler rows, listener columns; `+`/`-` what
/// RFC 4787 predicts), relayed connections, AutoNAT, colocation.
fn nat(o: &mut String, s: &Stats) {
    let Some(n) = &s.nat else {
        return;
    };
    let _ = writeln!(
        o,
        "hole punching  attempts directly connected (rate) and median time to it, per NAT pair; + RFC 4787 predicts success, - failure"
    );
    for line in nat_text::matrix_lines(n) {
        let _ = writeln!(o, "  {line}");
    }
    let _ = writeln!(o, "dcutr          {}", nat_text::dcutr_line(n));
    let _ = writeln!(
        o,
        "same NAT       {} (no hairpinning: nodes behind one NAT meet only through others)",
        nat_text::punch_text(&n.same_nat)
    );
    let _ = writeln!(o, "relayed        {}", nat_text::relayed_line(&n.relayed));
    let _ = writeln!(o, "autonat        {}", nat_text::autonat_line(&n.autonat));
    if let Some(c) = &n.colocation {
        let _ = writeln!(o, "colocation     {}", nat_text::colocation_line(c));
    }
}

/// Mesh health: sizes, scores, and a warning when meshes were still forming.
fn mesh(o: &mut String, s: &Stats) {
    if let Some(g) = &s.graphs {
        let _ = writeln!(o, "graphs         {}", mesh_text::graphs_line(g));
    }
    let Some(m) = &s.mesh_health else {
        return;
    };
    let _ = writeln!(o, "mesh           {}", mesh_text::mesh_line(m));
    let _ = writeln!(o, "scores         {}", mesh_text::scores_line(m));
    if let Some(p3) = mesh_text::p3_line(m) {
        let _ = writeln!(o, "p3             {p3}");
    }
    if let Some(w) = mesh_text::start_warning(m) {
        let _ = writeln!(o, "warning        {w}");
    }
}

/// The host's peak memory and load and its busy share over the window, where measured.
fn host(o: &mut String, r: &RunResult) {
    let res = &r.resources;
    let parts: Vec<String> = [
        res.peak_host_mem_bytes
            .map(|m| format!("memory peak {:.0} MiB", m as f64 / 1048576.0)),
        res.peak_host_load.map(|l| format!("load peak {l:.1}")),
        res.window_host_busy
            .map(|b| format!("{:.0} % busy over the window", b * 100.0)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !parts.is_empty() {
        let _ = writeln!(o, "host           {}", parts.join(", "));
    }
}

/// The window's cost in one line: cores of each part (nodes with their mean and busiest,
/// in millicores), the idle share and the nodes' memory; parts not measured are left out.
pub(super) fn cost_text(c: &Cost) -> String {
    let cores = |name: &str, v: Option<f64>| v.map(|v| format!("{name} {v:.2}"));
    let nodes = c.nodes_cores.map(|sum| {
        let per = match (c.node_cores_mean, c.node_cores_max) {
            (Some(mean), Some(max)) => format!(
                " ({:.0} m per node, max {:.0} m)",
                mean * 1000.0,
                max * 1000.0
            ),
            _ => String::new(),
        };
        format!("nodes {sum:.2} cores{per}")
    });
    [
        nodes,
        cores("shaper", c.shaper_cores),
        cores("engine", c.engine_cores),
        cores("softirq", c.softirq_cores),
        cores("other", c.other_cores),
        c.host_idle.map(|i| format!("idle {:.0} %", i * 100.0)),
        c.runnable_mean.zip(c.runnable_peak).map(|(mean, peak)| {
            format!("runnable {mean:.1} (peak {peak}) on {} cores", c.host_cores)
        }),
        c.node_mem_bytes
            .map(|m| format!("node memory {:.1} GiB", m as f64 / f64::from(1u32 << 30))),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ")
}

/// Each target, wanted and measured, MET or MISSED (or not judged), then the verdict.
fn targets(o: &mut String, r: &RunResult) {
    o.push_str(&target_table(&r.targets, "measured", 14, !r.distorted()));
    if r.targets.is_empty() {
        let _ = writeln!(o, "(no targets)");
    }
    if r.distorted() {
        let _ = writeln!(
            o,
            "verdict: DISTORTED: the lab measured its own host, not the network; targets not judged"
        );
        for cause in &r.distorted {
            let _ = writeln!(o, "  cause: {cause}");
        }
        let _ = writeln!(o, "  remedy: {REMEDY}");
        if let Some(s) = dilation_text::suggestion(r) {
            let _ = writeln!(o, "  {s}");
        }
        return;
    }
    let missed = r.targets.iter().filter(|t| !t.met).count();
    let _ = writeln!(
        o,
        "verdict: {}",
        if missed == 0 {
            "all targets met".to_string()
        } else {
            format!("{missed} of {} targets missed", r.targets.len())
        }
    );
}

fn ms_text(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

pub(crate) fn opt_ms(us: Option<u64>) -> String {
    us.map_or_else(|| "-".to_string(), ms_text)
}

fn opt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{r:.4}"))
}

/// Mesh slots held by attacker identities, and an `eclipse` victim against the others.
fn crowding(o: &mut String, c: &crate::analysis::CrowdingStats) {
    let share =
        |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{:.1} %", v * 100.0));
    let _ = writeln!(
        o,
        "crowding       {} attacker identities on {} nodes hold {} of honest mesh slots (mean; {} at the end)",
        c.attacker_identities,
        c.attacker_nodes,
        share(c.mesh_share_mean),
        share(c.mesh_share_final)
    );
    if let Some(v) = &c.victim {
        let ratio = |d: &crate::analysis::DeliveryRatio| {
            d.ratio
                .map_or_else(|| "-".to_string(), |r| format!("{r:.4}"))
        };
        let _ = writeln!(
            o,
            "victim         {}: delivery {}  p50 {}  p99 {}; other honest nodes {}  p50 {}  p99 {}; attackers held {} of its connections, {} of its mesh (mean)",
            v.node,
            ratio(&v.delivery),
            opt_ms(v.latency.p50_us),
            opt_ms(v.latency.p99_us),
            ratio(&v.others_delivery),
            opt_ms(v.others_latency.p50_us),
            opt_ms(v.others_latency.p99_us),
            share(v.connection_share_mean),
            share(v.mesh_share_mean)
        );
    }
}

fn opt_score(s: Option<f64>) -> String {
    s.map_or_else(|| "-".to_string(), |s| format!("{s:.1}"))
}

fn latency_text(l: &LatencySummary) -> String {
    format!(
        "p50 {}  p90 {}  p95 {}  p99 {}  max {}  mean {}  ({} samples)",
        opt_ms(l.p50_us),
        opt_ms(l.p90_us),
        opt_ms(l.p95_us),
        opt_ms(l.p99_us),
        opt_ms(l.max_us),
        l.mean_us
            .map_or_else(|| "-".to_string(), |m| format!("{:.1} ms", m / 1000.0)),
        l.count
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::fixtures::{stats_with, test_cost, test_plan};

    #[test]
    fn summary_marks_each_target() {
        let r = RunResult::new(
            "run-6",
            &test_plan(),
            stats_with(Some(50_000), Some(300_000), Some(1.0)),
            "userspace",
            1,
            2,
        );
        let text = render(&r);
        let table = text.split("\ntarget ").nth(1).expect("target table");
        let line = |name: &str| {
            table
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} line in\n{text}"))
                .to_string()
        };
        assert!(line("p95 ").ends_with("MET"), "{text}");
        assert!(line("p95 ").contains("50.0 ms"), "{text}");
        assert!(line("p99 ").ends_with("MISSED"), "{text}");
        assert!(line("delivery ").ends_with("MET"), "{text}");
        assert!(text.contains("verdict: 1 of 3 targets missed"), "{text}");
        assert!(text.contains("25ms ± 2.5ms"), "{text}");
    }

    #[test]
    fn mesh_health_is_summarised_with_a_warning_for_meshes_still_forming() {
        use crate::analysis::{MeanParts, MeshHealth, ScoreHealth};
        let mut stats = stats_with(Some(50_000), Some(90_000), Some(1.0));
        stats.mesh_health = Some(MeshHealth {
            mesh_n_low: 4,
            mesh_n: 6,
            below_low_at_start: 3,
            honest_nodes: 100,
            size_median: Some(3.0),
            size_min: Some(1),
            below_low_share: Some(0.6),
            scores: ScoreHealth {
                samples: 10,
                negative_share: Some(0.3),
                below_gossip_share: Some(0.0),
                negative_deficit: 2,
                negative_other: 1,
                negative_unknown: 0,
                negative_parts: Some(MeanParts {
                    p1: 0.5,
                    p2: 1.0,
                    p3: -20.0,
                    p3b: -4.0,
                    rest: -1.0,
                    mesh_deliveries: 5.5,
                }),
                idontwant_share: Some(1.0),
            },
            mesh_push_share: Some(0.8),
            p3_fill: crate::analysis::P3Fill::new(1.0, &Default::default()),
            series: Vec::new(),
        });
        let r = RunResult::new("run-8", &test_plan(), stats, "userspace", 1, 2);
        let text = render(&r);
        let line = |start: &str| {
            text.lines()
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("no {start} line in\n{text}"))
                .to_string()
        };
        let mesh = line("mesh ");
        assert!(
            mesh.contains("median size 3.0 (min 1) against mesh_n 6"),
            "{mesh}"
        );
        assert!(
            mesh.contains("60.0 % of honest nodes below mesh_n_low 4"),
            "{mesh}"
        );
        assert!(mesh.contains("80.0 % of deliveries pushed"), "{mesh}");
        let scores = line("scores ");
        assert!(scores.contains("30.0 % below 0"), "{scores}");
        assert!(
            scores.contains("66.7 % from the mesh delivery deficit alone"),
            "{scores}"
        );
        assert!(scores.contains("P3b -4.0"), "{scores}");
        assert!(scores.contains("counter of 5.5"), "{scores}");
        assert!(scores.contains("IDONTWANT on 100.0 % of links"), "{scores}");
        let p3 = line("p3 ");
        assert!(
            p3.contains("reaches a counter of 5.6; threshold 10"),
            "{p3}"
        );
        assert!(p3.contains("suggested at most 2.8"), "{p3}");
        assert!(
            line("warning ").contains("3 of 100 honest nodes were below mesh_n_low 4"),
            "{text}"
        );
    }

    #[test]
    fn the_cost_line_names_every_measured_part() {
        let mut r = RunResult::new(
            "run-7",
            &test_plan(),
            stats_with(Some(50_000), Some(90_000), Some(1.0)),
            "userspace",
            1,
            2,
        );
        assert!(!render(&r).contains("\ncost "), "no cost, no line");
        assert!(
            !render(&r).contains("\nnode cpu "),
            "no cost, no cpu per delivery"
        );
        r.resources.cost = Some(test_cost());
        let text = render(&r);
        let line = text
            .lines()
            .find(|l| l.starts_with("cost "))
            .unwrap_or_else(|| panic!("no cost line in\n{text}"));
        assert_eq!(
            line,
            "cost           nodes 1.04 cores (260 m per node, max 310 m) · shaper 0.35 · engine 0.21 · softirq 0.18 · other 0.02 · idle 10 % · runnable 2.4 (peak 5) on 2 cores · node memory 2.1 GiB"
        );
        // 1.04 cores over the cost's 20 s span, shared by the run's honest deliveries.
        let delivered = r.stats.delivery.delivered;
        assert!(delivered > 0);
        let want = format!(
            "node cpu       {:.2} ms per honest delivery",
            1.04 * 20.0 / delivered as f64 * 1000.0
        );
        assert!(text.contains(&want), "{want}\n{text}");
        let mut partial = test_cost();
        partial.engine_cores = None;
        partial.node_cores_max = None;
        let text = cost_text(&partial);
        assert!(text.starts_with("nodes 1.04 cores · shaper"), "{text}");
        assert!(!text.contains("engine"), "{text}");
    }

    #[test]
    fn a_distorted_run_names_its_causes_and_judges_no_target() {
        let mut r = RunResult::new(
            "run-7",
            &test_plan(),
            stats_with(Some(50_000), Some(100_000), Some(1.0)),
            "userspace",
            1,
            2,
        );
        r.resources.window_host_busy = Some(0.97);
        r.apply_guard();
        assert!(r.distorted(), "{:?}", r.distorted);
        assert!(!r.verdict());
        assert_eq!(r.exit_code(), crate::error::EXIT_DISTORTED);
        let text = render(&r);
        assert!(text.contains("97 % busy over the window"), "{text}");
        assert!(
            text.contains("verdict: DISTORTED: the lab measured its own host"),
            "{text}"
        );
        assert!(text.contains("  cause: the host was 97 % busy"), "{text}");
        assert!(text.contains(&format!("  remedy: {REMEDY}")), "{text}");
        assert!(!text.contains("MET"), "no target is judged: {text}");
        assert!(text.contains("not judged"), "{text}");
    }
}
