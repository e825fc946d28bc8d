//! How nodes found each other, in words, for the terminal summary and the HTML report
//! alike: join times, mDNS discovery times and the scheduled DHT queries (all virtual).

use crate::analysis::{DhtKind, DhtStats, DiscoveryStats, JoinStats, LatencySummary, MdnsStats};

/// `p50 12.0 ms  p95 40.1 ms  max 52.3 ms` of a summary in µs; `-` for a figure missing.
fn spread(s: &LatencySummary) -> String {
    let ms = |us: Option<u64>| {
        us.map_or_else(
            || "-".to_string(),
            |us| format!("{:.1} ms", us as f64 / 1000.0),
        )
    };
    format!(
        "p50 {}  p95 {}  max {}",
        ms(s.p50_us),
        ms(s.p95_us),
        ms(s.max_us)
    )
}

/// The join line: start to first connection and to first mesh peer.
pub(crate) fn join_line(j: &JoinStats) -> String {
    format!(
        "from node start: first connection {} ({}/{} nodes); first mesh peer {} ({}/{}); the first message itself waits for the run's traffic",
        spread(&j.first_connection),
        j.first_connection.count,
        j.nodes,
        spread(&j.mesh),
        j.mesh.count,
        j.nodes
    )
}

/// The mDNS line: start to first discovery and to the whole segment.
pub(crate) fn mdns_line(m: &MdnsStats) -> String {
    format!(
        "from node start: first discovery {} ({}/{} nodes); every other node of its segment {} ({}/{})",
        spread(&m.first),
        m.first.count,
        m.nodes,
        spread(&m.segment),
        m.segment.count,
        m.segment_nodes
    )
}

/// The DHT headline: queries, success, latency and rates.
pub(crate) fn dht_line(d: &DhtStats) -> String {
    let rate = |q: Option<f64>| q.map_or_else(|| "-".to_string(), |q| format!("{q:.2}/s"));
    format!(
        "{}; {} network-wide over {:.0} s, per node p50 {} min {}",
        kind_text(&d.all),
        rate(d.qps),
        d.span_s,
        rate(d.qps_node_p50),
        rate(d.qps_node_min)
    )
}

/// One kind's figures: `120 queries, 99.2 % ok, p50 … (ok ones); failed: timeout 1`.
pub(crate) fn kind_text(k: &DhtKind) -> String {
    let mut t = format!(
        "{} queries, {} ok, {} (ok ones)",
        k.queries,
        k.success
            .map_or_else(|| "-".to_string(), |s| format!("{:.1} %", s * 100.0)),
        spread(&k.latency)
    );
    if !k.failures.is_empty() {
        let f: Vec<String> = k.failures.iter().map(|(r, n)| format!("{r} {n}")).collect();
        t.push_str(&format!("; failed: {}", f.join(", ")));
    }
    t
}

/// The summary's lines, each with its label.
pub(crate) fn summary_lines(d: &DiscoveryStats) -> Vec<String> {
    let mut lines = vec![format!("join           {}", join_line(&d.join))];
    if let Some(m) = &d.mdns {
        lines.push(format!("mdns           {}", mdns_line(m)));
    }
    if let Some(q) = &d.dht {
        lines.push(format!("dht            {}", dht_line(q)));
        for k in &q.kinds {
            lines.push(format!("  {:<12} {}", k.kind, kind_text(k)));
        }
    }
    lines
}
