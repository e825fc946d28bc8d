//! What NATs did, in words and a table, for the terminal summary and the HTML report
//! alike: the hole-punch matrix against RFC 4787, relayed connections, AutoNAT's verdicts,
//! and the colocation penalty behind shared NATs.

use std::fmt::Write as _;

use crate::analysis::{AutonatStats, Colocation, NatCell, NatStats, PunchCount, RelayedShare};

/// The matrix's cell as text: `3/5 (60 %) 412 ms ok`: attempts that ended directly
/// connected, and the median time to it.
pub(crate) fn cell_text(c: &NatCell) -> String {
    let p = &c.punches;
    if p.dials == 0 {
        return "no dials".to_string();
    }
    let mut t = punch_text(p);
    if let Some(ms) = c.direct_p50_ms {
        let _ = write!(t, " {ms:.0} ms");
    }
    t.push_str(match c.agrees {
        Some(true) => " ok",
        Some(false) => " UNEXPECTED",
        None => "",
    });
    t
}

/// Attempts that ended directly connected: `3/5 (60 %)`, or `0/0 of 2 dials` when no
/// relayed connection came up.
pub(crate) fn punch_text(p: &PunchCount) -> String {
    match p.direct_rate {
        Some(r) => format!("{}/{} ({:.0} %)", p.direct, p.attempts, r * 100.0),
        None => format!("0/0 of {} dials", p.dials),
    }
}

/// What DCUtR itself reported over the whole matrix: `12 of 40 attempts`.
pub(crate) fn dcutr_line(n: &NatStats) -> String {
    let (ok, of) = n.matrix.iter().fold((0, 0), |(ok, of), c| {
        (ok + c.punches.successes, of + c.punches.attempts)
    });
    format!(
        "DCUtR reported success for {ok} of {of} attempts (it counts only its own dial: a direct connection the peer opened first is not one)"
    )
}

/// The matrix as fixed-width lines: one row per dialler type, one column per listener
/// type, each cell `successes/attempts (rate) p50 ms` and whether RFC 4787 agrees.
pub(crate) fn matrix_lines(n: &NatStats) -> Vec<String> {
    let listeners = n.listeners();
    let mut lines = vec![format!(
        "  {:<20}{}",
        "dialler \\ listener",
        listeners
            .iter()
            .map(|l| format!("{l:<34}"))
            .collect::<String>()
    )];
    for row in n.matrix.chunks(listeners.len().max(1)) {
        let Some(first) = row.first() else { continue };
        let cells: String = row
            .iter()
            .map(|c| {
                let predicted = if c.predicted { "+" } else { "-" };
                format!("{:<34}", format!("{predicted} {}", cell_text(c)))
            })
            .collect();
        lines.push(format!("  {:<20}{cells}", first.dialler));
    }
    lines
}

/// Relayed connections and deliveries at the end.
pub(crate) fn relayed_line(r: &RelayedShare) -> String {
    format!(
        "{} of {} open connections relayed at the end ({}); {} of {} window deliveries forwarded over a relayed-only connection",
        r.relayed,
        r.connections,
        pct(r.share),
        r.relayed_deliveries,
        r.deliveries
    )
}

/// AutoNAT's verdicts against the plan.
pub(crate) fn autonat_line(a: &AutonatStats) -> String {
    let mut t = format!(
        "{} correct, {} wrong, {} unknown against the plan (public: no NAT or full cone; else private); median time to a verdict {}",
        a.correct,
        a.wrong,
        a.unknown,
        a.median_verdict_s
            .map_or("-".to_string(), |s| format!("{s:.1} s"))
    );
    let by: Vec<String> = a
        .by_type
        .iter()
        .map(|(nat, [c, w, u])| format!("{nat} {c}/{w}/{u}"))
        .collect();
    if !by.is_empty() {
        let _ = write!(t, " (correct/wrong/unknown: {})", by.join(", "));
    }
    t
}

/// The colocation penalty's effect: the shared-NAT nodes against the others.
pub(crate) fn colocation_line(c: &Colocation) -> String {
    let side = |s: &crate::analysis::SideFigures| {
        format!(
            "{} nodes: delivery {}, p50 {}, mesh median {}, median score given {}",
            s.nodes,
            s.delivery
                .ratio
                .map_or("-".to_string(), |r| format!("{r:.4}")),
            s.p50_us.map_or("-".to_string(), |us| format!(
                "{:.1} ms",
                us as f64 / 1000.0
            )),
            s.mesh_median.map_or("-".to_string(), |m| format!("{m:.1}")),
            s.score_median
                .map_or("-".to_string(), |m| format!("{m:.2}"))
        )
    };
    let shared: Vec<String> = c
        .shared
        .iter()
        .map(|(name, n)| format!("{name} ({n})"))
        .collect();
    format!(
        "behind shared NATs {} (P6 weight {} above {} connected peers on one address; at most {} connected to one node at once): {}; others {}",
        shared.join(", "),
        c.weight,
        c.threshold,
        c.most_connected_at_once,
        side(&c.colocated),
        side(&c.others)
    )
}

fn pct(r: Option<f64>) -> String {
    r.map_or("-".to_string(), |r| format!("{:.1} %", r * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::PunchCount;

    fn cell(dialler: &str, listener: &str, predicted: bool, ok: u64, of: u64) -> NatCell {
        NatCell {
            dialler: dialler.into(),
            listener: listener.into(),
            predicted,
            punches: PunchCount {
                dials: of,
                attempts: of,
                direct: ok,
                direct_rate: (of > 0).then(|| ok as f64 / of as f64),
                successes: ok,
                success_rate: (of > 0).then(|| ok as f64 / of as f64),
            },
            direct_p50_ms: (ok > 0).then_some(412.0),
            direct_max_ms: None,
            agrees: (of > 0).then(|| (ok * 2 >= of) == predicted),
        }
    }

    #[test]
    fn the_matrix_has_a_row_per_dialler_and_marks_surprises() {
        let n = NatStats {
            matrix: vec![
                cell("port-restricted", "port-restricted", true, 3, 4),
                cell("port-restricted", "symmetric", false, 0, 2),
                cell("symmetric", "port-restricted", false, 1, 2),
                cell("symmetric", "symmetric", false, 0, 0),
            ],
            same_nat: PunchCount::default(),
            relayed: RelayedShare::default(),
            autonat: AutonatStats::default(),
            colocation: None,
        };
        let lines = matrix_lines(&n);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].contains("symmetric"), "{lines:?}");
        assert!(lines[1].starts_with("  port-restricted"), "{lines:?}");
        assert!(lines[1].contains("+ 3/4 (75 %) 412 ms ok"), "{lines:?}");
        assert!(
            lines[2].contains("- 1/2 (50 %) 412 ms UNEXPECTED"),
            "{lines:?}"
        );
        assert!(lines[2].contains("- no dials"), "{lines:?}");
    }
}
