//! Mesh health and the run's graphs in words, for the terminal summary and the HTML report
//! alike.

use crate::analysis::graph::Stats;
use crate::analysis::{Graphs, MeshHealth};

/// Mesh sizes and how deliveries arrived: `median 6 (min 2) against mesh_n 6; …`.
pub(crate) fn mesh_line(m: &MeshHealth) -> String {
    let mut t = match (m.size_median, m.size_min) {
        (Some(med), Some(min)) => format!(
            "median size {med:.1} (min {min}) against mesh_n {}; {} of honest nodes below mesh_n_low {}",
            m.mesh_n,
            pct(m.below_low_share),
            m.mesh_n_low
        ),
        _ => "no mesh sample in the window".to_string(),
    };
    if let Some(p) = m.mesh_push_share {
        t.push_str(&format!(
            "; {} of deliveries pushed along a mesh link or by the origin",
            pct(Some(p))
        ));
    }
    t
}

/// Honest→honest scores and why the negative ones fell.
pub(crate) fn scores_line(m: &MeshHealth) -> String {
    let s = &m.scores;
    if s.samples == 0 {
        return "no honest→honest score in the window".to_string();
    }
    let mut t = format!(
        "honest→honest {} below 0, {} below the gossip threshold ({} samples)",
        pct(s.negative_share),
        pct(s.below_gossip_share),
        s.samples
    );
    let negative = s.negative_deficit + s.negative_other + s.negative_unknown;
    if negative > 0 {
        t.push_str(&format!(
            "; of the negative, {} from the mesh delivery deficit alone",
            pct(Some(s.negative_deficit as f64 / negative as f64))
        ));
        if let Some(p) = &s.negative_parts {
            t.push_str(&format!(
                " (mean P3 {:.1} in the mesh with a delivery counter of {:.1}, P3b {:.1} carried out of it, rest {:.1})",
                p.p3, p.mesh_deliveries, p.p3b, p.rest
            ));
        }
    }
    if let Some(i) = s.idontwant_share {
        t.push_str(&format!("; IDONTWANT on {} of links", pct(Some(i))));
    }
    t
}

/// What the topic's rate lets P3 reach against its threshold, with the lab's suggestion
/// when the threshold is above it.
pub(crate) fn p3_line(m: &MeshHealth) -> Option<String> {
    let f = m.p3_fill.as_ref()?;
    let mut t = format!(
        "at {} msg/s a mesh peer delivering 1/{} of the messages first reaches a counter of {:.1}; threshold {}",
        f.rate_per_sec, m.mesh_n, f.even_share_counter, f.threshold
    );
    if f.suggested_threshold() < f.threshold {
        t.push_str(&format!(
            " (above half of it: honest mesh peers risk the deficit; suggested at most {:.1})",
            f.suggested_threshold()
        ));
    }
    Some(t)
}

/// A warning when honest nodes were below `mesh_n_low` as the window opened.
pub(crate) fn start_warning(m: &MeshHealth) -> Option<String> {
    (m.below_low_at_start > 0).then(|| {
        format!(
            "{} of {} honest nodes were below mesh_n_low {} when measuring started: the figures include meshes still forming",
            m.below_low_at_start, m.honest_nodes, m.mesh_n_low
        )
    })
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{:.1} %", v * 100.0))
}

/// The mesh and connection graphs' hop distances against random graphs of their size and
/// degree, and the plan's.
pub(crate) fn graphs_line(g: &Graphs) -> String {
    let d = |s: &Stats| {
        format!(
            "{} (diameter {}, degree {:.1})",
            s.mean_distance
                .map_or_else(|| "—".to_string(), |d| format!("{d:.2}")),
            s.diameter,
            s.degree.mean
        )
    };
    let stretch = g
        .mesh_stretch()
        .map(|r| format!(", {:+.0} %", (r - 1.0) * 100.0))
        .unwrap_or_default();
    format!(
        "mesh mean distance {} vs random {}{stretch}; connections {} vs random {}; planned {} {}{}",
        d(&g.mesh),
        d(&g.mesh_random),
        d(&g.connections),
        d(&g.connections_random),
        g.topology,
        d(&g.planned),
        if g.mesh.connected {
            ""
        } else {
            "; the mesh graph is NOT connected"
        }
    )
}
