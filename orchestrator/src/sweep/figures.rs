//! The figures a sweep tracks, in one table ([`TRACKED`]): the gate's figures (read
//! through [`Figure::of`], their one definition), figures read from the result's JSON by
//! path, and every number under a `mesh_health` or `graphs` section of the result (at its
//! top level or in `stats`), found when present: sections others add to the result are
//! tracked without a change here.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::gate::Figure;
use crate::result::RunResult;

/// Where a tracked figure's value comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A number at a JSON pointer into `result.json`, times a scale (µs → ms: 0.001).
    Json(&'static str, f64),
    /// A value a method of the result derives.
    Of(fn(&RunResult) -> Option<f64>),
}

/// One figure of the fixed table.
#[derive(Debug, Clone, Copy)]
pub enum Tracked {
    /// A gate figure: key, label and unit are the gate's.
    Gate(Figure),
    /// Any other figure.
    Other {
        /// Its key in `sweep.json`.
        key: &'static str,
        /// What it is, for charts and tables.
        label: &'static str,
        /// Its unit: `ms`, `s`, `ratio`, `cores`, `nodes`.
        unit: &'static str,
        /// Where it is read from.
        source: Source,
    },
}

impl Tracked {
    /// The figure's definition as `sweep.json` lists it.
    pub fn def(&self) -> FigureDef {
        let (key, label, unit) = match *self {
            Tracked::Gate(f) => (f.key(), f.label(), f.unit().name()),
            Tracked::Other {
                key, label, unit, ..
            } => (key, label, unit),
        };
        FigureDef {
            key: key.to_string(),
            label: label.to_string(),
            unit: unit.to_string(),
        }
    }

    /// The figure's value in `r` (`json` is `r` as JSON).
    fn of(&self, r: &RunResult, json: &Value) -> Option<f64> {
        match *self {
            Tracked::Gate(f) => f.of(r),
            Tracked::Other {
                source: Source::Json(pointer, scale),
                ..
            } => json
                .pointer(pointer)
                .and_then(Value::as_f64)
                .map(|v| v * scale),
            Tracked::Other {
                source: Source::Of(f),
                ..
            } => f(r),
        }
    }
}

/// Every figure a sweep tracks in every point, in chart order.
pub const TRACKED: [Tracked; 13] = [
    Tracked::Gate(Figure::P50),
    Tracked::Gate(Figure::P95),
    Tracked::Gate(Figure::P99),
    Tracked::Gate(Figure::Coverage100P99),
    Tracked::Gate(Figure::Delivery),
    Tracked::Gate(Figure::Duplicates),
    Tracked::Other {
        key: "link_error",
        label: "link fidelity error (pings)",
        unit: "ratio",
        source: Source::Json("/stats/fidelity/relative_error", 1.0),
    },
    Tracked::Other {
        key: "hop_p50",
        label: "message hop p50",
        unit: "ms",
        source: Source::Json("/stats/hops/p50_us", 0.001),
    },
    Tracked::Other {
        key: "host_busy",
        label: "host busy share (window)",
        unit: "ratio",
        source: Source::Json("/resources/window_host_busy", 1.0),
    },
    Tracked::Other {
        key: "nodes_cores",
        label: "node CPU, all nodes",
        unit: "cores",
        source: Source::Json("/resources/cost/nodes_cores", 1.0),
    },
    Tracked::Other {
        key: "node_cpu_per_delivery",
        label: "node CPU per honest delivery",
        unit: "ms",
        source: Source::Of(RunResult::node_cpu_per_delivery_ms),
    },
    Tracked::Other {
        key: "meshed_after",
        label: "every node meshed after",
        unit: "s",
        source: Source::Json("/phases/ready_after_s", 1.0),
    },
    Tracked::Other {
        key: "unready_nodes",
        label: "nodes not meshed in time",
        unit: "nodes",
        source: Source::Of(unready),
    },
];

/// Sections whose numbers are tracked when a result has them.
pub const SECTIONS: [&str; 2] = ["mesh_health", "graphs"];
/// Where those sections are looked for: the result's top level and its `stats`.
const SECTION_PARENTS: [&str; 2] = ["", "/stats"];
/// Most figures found in those sections (the rest are left out).
pub const MAX_FOUND: usize = 96;

fn unready(r: &RunResult) -> Option<f64> {
    r.phases
        .ready_after_s
        .map(|_| r.phases.unready_nodes.len() as f64)
}

/// A figure as `sweep.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FigureDef {
    /// Its key in each point's `figures`.
    pub key: String,
    /// What it is.
    pub label: String,
    /// Its unit (empty when unknown).
    pub unit: String,
}

/// Every figure of one run, by key, with the definitions of those found in sections.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Readings {
    /// Each figure's value; `None` = not measured.
    pub values: BTreeMap<String, Option<f64>>,
    /// The figures found in sections, in the order found.
    pub found: Vec<FigureDef>,
}

/// Reads every tracked figure of `r`.
pub fn read(r: &RunResult) -> Readings {
    let json = serde_json::to_value(r).unwrap_or(Value::Null);
    let mut out = Readings::default();
    for t in &TRACKED {
        let v = t.of(r, &json).filter(|v| v.is_finite());
        out.values.insert(t.def().key, v);
    }
    for parent in SECTION_PARENTS {
        for section in SECTIONS {
            let pointer = format!("{parent}/{section}");
            if let Some(v) = json.pointer(&pointer).filter(|v| v.is_object()) {
                let prefix = match parent.trim_start_matches('/') {
                    "" => section.to_string(),
                    p => format!("{}.{section}", p.replace('/', ".")),
                };
                numbers(v, &prefix, &mut out);
            }
        }
    }
    out
}

/// Every number in objects under `v` (arrays are not entered: per-node lists would swamp
/// the page), keyed by dotted path; `_us` values in ms.
fn numbers(v: &Value, path: &str, out: &mut Readings) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                numbers(child, &format!("{path}.{k}"), out);
            }
        }
        Value::Number(n) if out.found.len() < MAX_FOUND => {
            let (unit, scale) = unit_of(path);
            out.values.insert(
                path.to_string(),
                n.as_f64().map(|x| x * scale).filter(|x| x.is_finite()),
            );
            out.found.push(FigureDef {
                key: path.to_string(),
                label: path.to_string(),
                unit: unit.to_string(),
            });
        }
        Value::Null if out.found.len() < MAX_FOUND => {
            out.values.insert(path.to_string(), None);
            out.found.push(FigureDef {
                key: path.to_string(),
                label: path.to_string(),
                unit: unit_of(path).0.to_string(),
            });
        }
        _ => {}
    }
}

/// The unit a field's name gives, and the scale to it.
fn unit_of(path: &str) -> (&'static str, f64) {
    let name = path.rsplit('.').next().unwrap_or(path);
    if name.ends_with("_us") {
        ("ms", 0.001)
    } else if name.ends_with("_ms") {
        ("ms", 1.0)
    } else if name.ends_with("_s") {
        ("s", 1.0)
    } else if name.ends_with("ratio") || name.ends_with("share") {
        ("ratio", 1.0)
    } else {
        ("", 1.0)
    }
}

/// The definitions of the fixed table.
pub fn fixed_defs() -> Vec<FigureDef> {
    TRACKED.iter().map(Tracked::def).collect()
}

/// The median over trials of each figure (over the trials that measured it).
pub fn median(readings: &[Readings]) -> Readings {
    let mut out = Readings::default();
    for r in readings {
        for d in &r.found {
            if !out.found.contains(d) {
                out.found.push(d.clone());
            }
        }
        for k in r.values.keys() {
            out.values.entry(k.clone()).or_insert(None);
        }
    }
    for (k, slot) in out.values.iter_mut() {
        let mut vs: Vec<f64> = readings
            .iter()
            .filter_map(|r| r.values.get(k).copied().flatten())
            .collect();
        vs.sort_by(f64::total_cmp);
        *slot = crate::analysis::median(&vs);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::figures::tests::result_with;

    #[test]
    fn the_fixed_figures_are_read_in_their_units() {
        let mut r = result_with(30.0, 60.5, 81.25, 96.0, 0.999, 1.83);
        r.resources.window_host_busy = Some(0.42);
        r.phases.ready_after_s = Some(7.5);
        r.phases.unready_nodes = vec!["honest-3".into()];
        let got = read(&r);
        let v = |k: &str| got.values.get(k).copied().flatten();
        assert_eq!(v("p50"), Some(30.0));
        assert_eq!(v("p99"), Some(81.25));
        assert_eq!(v("cov100_p99"), Some(96.0));
        assert_eq!(v("delivery"), Some(0.999));
        assert_eq!(v("host_busy"), Some(0.42));
        assert_eq!(v("meshed_after"), Some(7.5));
        assert_eq!(v("unready_nodes"), Some(1.0));
        assert_eq!(v("nodes_cores"), None);
        // No mesh health or graphs measured (`null`): nothing found.
        assert_eq!(got.values.len(), TRACKED.len());
        assert!(got.found.is_empty(), "{:?}", got.found);
    }

    #[test]
    fn the_results_mesh_health_is_tracked() {
        let mut r = result_with(30.0, 60.5, 81.25, 96.0, 0.999, 1.83);
        r.stats.mesh_health = Some(crate::analysis::MeshHealth {
            mesh_n_low: 4,
            mesh_n: 8,
            below_low_at_start: 1,
            honest_nodes: 10,
            size_median: Some(7.5),
            size_min: Some(5),
            below_low_share: Some(0.125),
            scores: crate::analysis::ScoreHealth::default(),
            mesh_push_share: None,
            p3_fill: None,
            series: Vec::new(),
        });
        let got = read(&r);
        let v = |k: &str| got.values.get(k).copied().flatten();
        assert_eq!(v("stats.mesh_health.size_median"), Some(7.5));
        assert_eq!(v("stats.mesh_health.below_low_share"), Some(0.125));
        assert!(got.values.contains_key("stats.mesh_health.mesh_push_share"));
        assert!(got.values.contains_key("stats.mesh_health.scores.samples"));
        let share = got
            .found
            .iter()
            .find(|d| d.key == "stats.mesh_health.below_low_share");
        assert_eq!(share.map(|d| d.unit.as_str()), Some("ratio"));
    }

    #[test]
    fn numbers_under_a_tracked_section_are_found() {
        let json = serde_json::json!({
            "mesh_health": { "min_degree": 3, "p50_us": 2500, "per_node": [1, 2], "note": "x" },
            "stats": { "graphs": { "diameter": 4.0, "inner": { "ratio": 0.5 }, "gone": null } }
        });
        let mut out = Readings::default();
        numbers(&json["mesh_health"], "mesh_health", &mut out);
        numbers(&json["stats"]["graphs"], "stats.graphs", &mut out);
        let keys: Vec<&str> = out.found.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "mesh_health.min_degree",
                "mesh_health.p50_us",
                "stats.graphs.diameter",
                "stats.graphs.gone",
                "stats.graphs.inner.ratio"
            ]
        );
        assert_eq!(out.values["mesh_health.p50_us"], Some(2.5));
        assert_eq!(out.found[1].unit, "ms");
        assert_eq!(out.values["stats.graphs.gone"], None);
    }

    #[test]
    fn trials_give_the_median_of_what_they_measured() {
        let one = |v: Option<f64>| Readings {
            values: BTreeMap::from([("p99".to_string(), v)]),
            found: Vec::new(),
        };
        let m = median(&[one(Some(10.0)), one(None), one(Some(30.0)), one(Some(20.0))]);
        assert_eq!(m.values["p99"], Some(20.0));
        assert_eq!(median(&[one(None)]).values["p99"], None);
    }
}
