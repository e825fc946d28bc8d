//! The words for a run placed in regions, shared by the terminal summary and the report:
//! the link line, the worst region pair's fidelity, and one line per pair and per region.

use crate::analysis::{PairFidelity, RegionLatency, RegionStats};
use crate::output::summary::opt_ms;

/// `matrix world-5 (5 regions: …)`: what the header says in place of one link.
pub(crate) fn link(s: &RegionStats) -> String {
    format!(
        "matrix {} ({} regions: {}; delay by region pair)",
        s.matrix,
        s.regions.len(),
        s.regions.join(", ")
    )
}

/// How far the farthest region pair's pings were from the matrix, and how many pairs.
pub(crate) fn worst(s: &RegionStats) -> String {
    match s.worst_link() {
        Some(w) => format!(
            "{} pairs measured; farthest from the matrix {}",
            s.links.len(),
            pair(w)
        ),
        None => "no pings between placed nodes".to_string(),
    }
}

/// `eu-west <-> us-east  measured 40.6 ms vs 40.3 ms  +0.7 %  (212 pings)`.
pub(crate) fn pair(p: &PairFidelity) -> String {
    format!(
        "{} <-> {}  measured {} vs {}{}  ({} pings)",
        p.a,
        p.b,
        ms(p.measured_us),
        ms(p.imposed_us),
        p.relative_error
            .map(|e| {
                let sign = if p.measured_us >= p.imposed_us {
                    '+'
                } else {
                    '-'
                };
                format!("  {sign}{:.1} %", e * 100.0)
            })
            .unwrap_or_default(),
        p.samples
    )
}

/// `eu-west (20 nodes)  p50 … p95 … p99 …  (n deliveries)`.
pub(crate) fn receivers(r: &RegionLatency) -> String {
    format!(
        "{} ({} nodes)  p50 {}  p95 {}  p99 {}  ({} deliveries)",
        r.region,
        r.nodes,
        opt_ms(r.latency.p50_us),
        opt_ms(r.latency.p95_us),
        opt_ms(r.latency.p99_us),
        r.latency.count
    )
}

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_read_with_their_error_sign() {
        let p = PairFidelity {
            a: "eu".into(),
            b: "us".into(),
            samples: 3,
            measured_us: 39_000,
            imposed_us: 40_000,
            relative_error: Some(0.025),
        };
        assert_eq!(
            pair(&p),
            "eu <-> us  measured 39.0 ms vs 40.0 ms  -2.5 %  (3 pings)"
        );
        let s = RegionStats {
            matrix: "two".into(),
            regions: vec!["eu".into(), "us".into()],
            links: vec![p],
            receivers: vec![],
            from_to: vec![],
        };
        assert_eq!(
            link(&s),
            "matrix two (2 regions: eu, us; delay by region pair)"
        );
        assert!(worst(&s).starts_with("1 pairs measured; farthest from the matrix eu <-> us"));
    }
}
