//! Mesh health: whether the honest nodes' meshes held during the window, and why scores
//! fell when they did not.
//!
//! - **Mesh size**: each honest node's mesh is its latest `mesh` event (a node emits one
//!   when its mesh changed, at each score snapshot); sampled every second of the window
//!   over honest nodes: the median size over all samples, the smallest, and the mean share
//!   of honest nodes below `mesh_n_low`. `below_low_at_start` counts those below it when
//!   the window opened.
//! - **Scores**: every score an honest node gave an honest peer in its snapshots inside the
//!   window: the share below 0 and below the gossip threshold; for the negative ones, what
//!   the node's reconstructed parts say (the mesh delivery deficit, P3 in the mesh or P3b
//!   carried out of it, alone explains it, or something else: P4, P6, P7), with the mean
//!   of each part; and the share of honest links on which the peer speaks gossipsub 1.2 or
//!   later (IDONTWANT).
//! - **Over time**: the same per second, for the report's chart.

use std::collections::HashMap;

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::median::median;
use crate::plan::Plan;
use crate::run::Window;
use lab_config::bounds::MAX_RUN_SECS;

/// Time between mesh samples: a second, longer when the window holds more than
/// [`MAX_SAMPLES`] seconds.
const SAMPLE_NS: u64 = 1_000_000_000;
/// Most samples taken over a window (an hour of seconds), whatever its length.
const MAX_SAMPLES: u64 = 3600;

/// Mesh health over the window (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshHealth {
    /// The low watermark the nodes ran with.
    pub mesh_n_low: usize,
    /// The target degree.
    pub mesh_n: usize,
    /// Honest nodes whose mesh was below `mesh_n_low` when the window opened.
    pub below_low_at_start: usize,
    /// Honest nodes.
    pub honest_nodes: usize,
    /// Median mesh size over every (honest node, second) sample.
    pub size_median: Option<f64>,
    /// Smallest mesh size sampled.
    pub size_min: Option<usize>,
    /// Mean share of honest nodes below `mesh_n_low`.
    pub below_low_share: Option<f64>,
    /// Scores honest nodes gave honest peers.
    pub scores: ScoreHealth,
    /// Share of timed or counted deliveries that came by a direct push (from the origin or
    /// along a mesh link) rather than on request (IHAVE/IWANT) or by fanout; from the hops.
    pub mesh_push_share: Option<f64>,
    /// What the topic's rate lets P3 reach (see [`P3Fill`]); `None` with P3 off.
    #[serde(default)]
    pub p3_fill: Option<P3Fill>,
    /// Per second of the window.
    pub series: Vec<HealthPoint>,
}

/// The P3 counter a mesh peer reaches at the topic's rate, against the threshold: a peer
/// that delivers an even share (1/mesh_n) of the messages first accumulates
/// `rate × decay_interval / (mesh_n × (1 − decay))` in steady state. Below the threshold,
/// honest mesh peers are penalised by the squared deficit and pruned; the lab's rule of
/// thumb is a threshold of at most half that counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P3Fill {
    /// The scenario's topic rate, messages per second.
    pub rate_per_sec: f64,
    /// The steady counter of a mesh peer with an even share of first deliveries.
    pub even_share_counter: f64,
    /// `mesh_message_deliveries_threshold`.
    pub threshold: f64,
}

impl P3Fill {
    /// The fill for `rate` messages a second under the settings `g`; `None` with P3 off.
    pub fn new(rate: f64, g: &lab_config::GossipsubSettings) -> Option<P3Fill> {
        if g.mesh_message_deliveries_weight == 0.0 || g.mesh_n == 0 {
            return None;
        }
        let per_interval = rate * g.decay_interval_ms as f64 / 1000.0;
        Some(P3Fill {
            rate_per_sec: rate,
            even_share_counter: per_interval
                / (g.mesh_n as f64 * (1.0 - g.mesh_message_deliveries_decay)),
            threshold: g.mesh_message_deliveries_threshold,
        })
    }

    /// The threshold the rule of thumb gives (half the even-share counter), never above
    /// the one set.
    pub fn suggested_threshold(&self) -> f64 {
        (self.even_share_counter / 2.0).min(self.threshold)
    }
}

/// Scores honest nodes gave honest peers in the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreHealth {
    /// Score samples (one per peer per snapshot).
    pub samples: u64,
    /// Share below 0.
    pub negative_share: Option<f64>,
    /// Share below the gossip threshold (no gossip exchanged).
    pub below_gossip_share: Option<f64>,
    /// Negative samples whose mesh delivery deficit (P3 + P3b) alone accounts for the score.
    pub negative_deficit: u64,
    /// Negative samples with another cause (P4, P6, P7).
    pub negative_other: u64,
    /// Negative samples without reconstructed parts (older nodes).
    pub negative_unknown: u64,
    /// Mean parts of the negative samples that have them.
    pub negative_parts: Option<MeanParts>,
    /// Share of samples whose peer speaks gossipsub 1.2 or later (IDONTWANT).
    pub idontwant_share: Option<f64>,
}

/// Mean score parts: P1, P2, P3 as the node reconstructed them, and the rest of the total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanParts {
    /// Time in mesh.
    pub p1: f64,
    /// First deliveries.
    pub p2: f64,
    /// Mesh delivery deficit.
    pub p3: f64,
    /// Deficits carried out of the mesh.
    pub p3b: f64,
    /// The total minus P1–P3b: P4, P6, P7.
    pub rest: f64,
    /// The reconstructed P3 counter.
    pub mesh_deliveries: f64,
}

/// One second of the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthPoint {
    /// Seconds since the window opened.
    pub t_s: f64,
    /// Median honest mesh size.
    pub size_median: f64,
    /// Smallest honest mesh size.
    pub size_min: usize,
    /// Share of honest nodes below `mesh_n_low`.
    pub below_low_share: f64,
    /// Share of honest→honest scores below 0 in this second; `None` without snapshots.
    pub negative_share: Option<f64>,
}

/// Mesh health over `window` (or over all records without one); `None` without any
/// `mesh` event.
pub(super) fn mesh_health(
    records: &[Record],
    plan: &Plan,
    index: &Index,
    window: Option<Window>,
    mesh_push_share: Option<f64>,
) -> Option<MeshHealth> {
    if !records
        .iter()
        .any(|r| matches!(r.event, Event::Mesh { .. }))
    {
        return None;
    }
    // The window (at most a day long: a run lasts no longer), else the records' span.
    let (start, end) = match window {
        Some(w) => (
            w.start_ns,
            w.end_ns
                .min(w.start_ns.saturating_add(MAX_RUN_SECS * 1_000_000_000)),
        ),
        None => (
            records.iter().map(|r| r.ts_ns).min().unwrap_or(0),
            records.iter().map(|r| r.ts_ns).max().unwrap_or(0) + 1,
        ),
    };
    let g = &plan.gossipsub;
    let honest: Vec<usize> = (0..index.nodes()).filter(|&i| index.honest[i]).collect();
    let step = SAMPLE_NS.max(end.saturating_sub(start) / MAX_SAMPLES);
    let sizes = sample_sizes(records, index, &honest, start, end, step);
    let below = |s: &[usize]| s.iter().filter(|&&n| n < g.mesh_n_low).count();
    let below_low_at_start = sizes.first().map_or(0, |s| below(s));
    let (scores, negative_by_second) =
        scores(records, index, window, start, step, g.gossip_threshold);
    let mut all: Vec<f64> = sizes.iter().flatten().map(|&n| n as f64).collect();
    all.sort_unstable_by(f64::total_cmp);
    let shares: Vec<f64> = sizes
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| below(s) as f64 / s.len() as f64)
        .collect();
    let series = sizes
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(k, s)| {
            let mut v: Vec<f64> = s.iter().map(|&n| n as f64).collect();
            v.sort_unstable_by(f64::total_cmp);
            HealthPoint {
                t_s: (k as u64 * step) as f64 / 1e9,
                size_median: median(&v).unwrap_or_default(),
                size_min: s.iter().copied().min().unwrap_or_default(),
                below_low_share: below(s) as f64 / s.len() as f64,
                negative_share: negative_by_second
                    .get(&(k as u64))
                    .map(|(neg, n)| *neg as f64 / *n as f64),
            }
        })
        .collect();
    Some(MeshHealth {
        mesh_n_low: g.mesh_n_low,
        mesh_n: g.mesh_n,
        below_low_at_start,
        honest_nodes: honest.len(),
        size_median: median(&all),
        size_min: sizes.iter().flatten().copied().min(),
        below_low_share: mean(&shares),
        scores,
        mesh_push_share,
        p3_fill: P3Fill::new(plan.traffic.rate_per_sec, g),
        series,
    })
}

/// Each honest node's mesh size at `start` and every `step` after it until `end`
/// (records in time order).
fn sample_sizes(
    records: &[Record],
    index: &Index,
    honest: &[usize],
    start: u64,
    end: u64,
    step: u64,
) -> Vec<Vec<usize>> {
    // The mesh events in time order (the records may not be).
    let mut changes: Vec<(u64, usize, usize)> = records
        .iter()
        .filter_map(|r| match (index.of(r), &r.event) {
            (Some(i), Event::Mesh { peers, .. }) => Some((r.ts_ns, i, peers.len())),
            _ => None,
        })
        .collect();
    changes.sort_by_key(|c| c.0);
    let mut size = vec![0usize; index.nodes()];
    let mut out = Vec::new();
    let mut next = start;
    let snapshot = |size: &[usize]| honest.iter().map(|&i| size[i]).collect::<Vec<_>>();
    for (ts, i, n) in changes {
        while ts > next && next < end {
            out.push(snapshot(&size));
            next += step;
        }
        size[i] = n;
    }
    while next < end {
        out.push(snapshot(&size));
        next += step;
    }
    out
}

/// Honest→honest score statistics inside the window, and per sample step (negative, all).
fn scores(
    records: &[Record],
    index: &Index,
    window: Option<Window>,
    start: u64,
    step: u64,
    gossip_threshold: f64,
) -> (ScoreHealth, HashMap<u64, (u64, u64)>) {
    let mut h = ScoreHealth::default();
    let (mut below_gossip, mut negative, mut protocol_known, mut idontwant) = (0u64, 0, 0, 0);
    let mut parts_sum = [0.0f64; 6];
    let mut parts_n = 0u64;
    let mut by_second: HashMap<u64, (u64, u64)> = HashMap::new();
    for r in records {
        let (Some(i), Event::Scores { scores }) = (index.of(r), &r.event) else {
            continue;
        };
        if !index.honest[i] || window.is_some_and(|w| !w.contains(r.ts_ns)) {
            continue;
        }
        for s in scores {
            let Some(&peer) = index.peer_node.get(s.peer.as_str()) else {
                continue;
            };
            if !index.honest[peer] {
                continue;
            }
            h.samples += 1;
            let second = by_second
                .entry(r.ts_ns.saturating_sub(start) / step)
                .or_default();
            second.1 += 1;
            if let Some(p) = &s.protocol {
                protocol_known += 1;
                if speaks_idontwant(p) {
                    idontwant += 1;
                }
            }
            if s.score < gossip_threshold {
                below_gossip += 1;
            }
            if s.score >= 0.0 {
                continue;
            }
            negative += 1;
            second.0 += 1;
            match &s.parts {
                None => h.negative_unknown += 1,
                Some(p) => {
                    let deficit = p.p3 + p.p3b;
                    if deficit < 0.0 && deficit <= s.score {
                        h.negative_deficit += 1;
                    } else {
                        h.negative_other += 1;
                    }
                    let rest = s.score - (p.p1 + p.p2 + deficit);
                    for (sum, v) in
                        parts_sum
                            .iter_mut()
                            .zip([p.p1, p.p2, p.p3, p.p3b, rest, p.mesh_deliveries])
                    {
                        *sum += v;
                    }
                    parts_n += 1;
                }
            }
        }
    }
    let share = |k: u64, n: u64| (n > 0).then(|| k as f64 / n as f64);
    h.negative_share = share(negative, h.samples);
    h.below_gossip_share = share(below_gossip, h.samples);
    h.idontwant_share = share(idontwant, protocol_known);
    h.negative_parts = (parts_n > 0).then(|| {
        let m = |k: usize| parts_sum[k] / parts_n as f64;
        MeanParts {
            p1: m(0),
            p2: m(1),
            p3: m(2),
            p3b: m(3),
            rest: m(4),
            mesh_deliveries: m(5),
        }
    });
    (h, by_second)
}

/// Whether a peer speaking `protocol` (libp2p's `PeerKind` names) sends IDONTWANT.
fn speaks_idontwant(protocol: &str) -> bool {
    protocol
        .rsplit_once(" v")
        .and_then(|(_, v)| v.split_once('.'))
        .and_then(|(major, minor)| Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?)))
        .is_some_and(|v| v >= (1, 2))
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use lab_events::{PeerScore, ScoreParts};

    use super::super::fixture::{T0, rec, started, test_plan};
    use super::*;

    const S: u64 = 1_000_000_000;

    fn mesh(node: &str, at: u64, peers: &[&str]) -> Record {
        rec(
            at,
            node,
            Event::Mesh {
                topic: "t".into(),
                peers: peers.iter().map(|p| p.to_string()).collect(),
            },
        )
    }

    fn score(peer: &str, score: f64, parts: Option<(f64, f64, f64)>, v: &str) -> PeerScore {
        PeerScore {
            peer: peer.into(),
            score,
            protocol: Some(format!("Gossipsub {v}")),
            parts: parts.map(|(p1, p2, p3)| ScoreParts {
                in_mesh: true,
                p1,
                p2,
                p3,
                p3b: 0.0,
                mesh_deliveries: 4.0,
            }),
        }
    }

    /// Four honest nodes (h-0..h-3, peers P0..P3) and an attacker (e-0, PE), a 4 s
    /// window from T0; mesh_n_low is 4 (the spec's).
    fn run() -> Vec<Record> {
        let mut v: Vec<Record> = (0..4)
            .map(|i| started(&format!("h-{i}"), &format!("P{i}")))
            .collect();
        v.push(started("e-0", "PE"));
        // h-0 has 5 peers from before the window; h-1 has 2 until T0+2s, then 4; h-2 and
        // h-3 have 3 throughout.
        v.push(mesh("h-0", T0 - S, &["a", "b", "c", "d", "e"]));
        v.push(mesh("h-1", T0 - S, &["a", "b"]));
        v.push(mesh("h-2", T0 - S, &["a", "b", "c"]));
        v.push(mesh("h-3", T0 - S, &["a", "b", "c"]));
        // Scores at T0 + 0.5 s (second 0): h-0 gives P1 -25 (P3 -30 explains it), P2 5,
        // the attacker -500 (not counted); at T0 + 1.5 s h-1 gives P0 -150 (P3 -10: another
        // cause, below the gossip threshold -100) on gossipsub 1.1.
        v.push(rec(
            T0 + S / 2,
            "h-0",
            Event::Scores {
                scores: vec![
                    score("P1", -25.0, Some((1.0, 4.0, -30.0)), "v1.2"),
                    score("P2", 5.0, Some((1.0, 4.0, 0.0)), "v1.2"),
                    score("PE", -500.0, None, "v1.2"),
                ],
            },
        ));
        v.push(rec(
            T0 + 3 * S / 2,
            "h-1",
            Event::Scores {
                scores: vec![score("P0", -150.0, Some((0.0, 0.0, -10.0)), "v1.1")],
            },
        ));
        v.push(mesh("h-1", T0 + 2 * S, &["a", "b", "c", "d"]));
        v
    }

    fn health(records: &[Record]) -> MeshHealth {
        let plan = test_plan();
        let window = Window {
            traffic_ns: T0,
            start_ns: T0,
            end_ns: T0 + 4 * S,
        };
        let index = Index::new(records, &plan, Some(window));
        mesh_health(records, &plan, &index, Some(window), Some(0.9)).expect("mesh events")
    }

    #[test]
    fn mesh_sizes_are_sampled_every_second_with_the_hand_computed_figures() {
        let h = health(&run());
        assert_eq!(h.honest_nodes, 4);
        assert_eq!(h.below_low_at_start, 3, "h-1, h-2, h-3 below 4");
        assert_eq!(h.series.len(), 4);
        // Seconds 0-1: sizes 5,2,3,3; seconds 2-3: 5,4,3,3.
        assert_eq!(h.series[0].size_min, 2);
        assert_eq!(h.series[2].size_min, 3);
        assert_eq!(h.series[0].below_low_share, 0.75);
        assert_eq!(h.series[3].below_low_share, 0.5);
        assert_eq!(h.size_min, Some(2));
        // 16 samples: 2,2,3×8,4,4,5×4 → median (3+3)/2.
        assert_eq!(h.size_median, Some(3.0));
        assert_eq!(h.below_low_share, Some(0.625));
        assert_eq!(h.mesh_push_share, Some(0.9));
    }

    #[test]
    fn honest_scores_are_attributed_to_their_cause() {
        let h = health(&run());
        let s = &h.scores;
        assert_eq!(s.samples, 3, "the attacker's score is not an honest link");
        assert_eq!(s.negative_share, Some(2.0 / 3.0));
        assert_eq!(s.below_gossip_share, Some(1.0 / 3.0));
        assert_eq!(
            (s.negative_deficit, s.negative_other, s.negative_unknown),
            (1, 1, 0)
        );
        assert_eq!(s.idontwant_share, Some(2.0 / 3.0));
        let p = s.negative_parts.as_ref().expect("parts");
        assert_eq!(p.p3, -20.0);
        // Rests: -25 - (1+4-30) = 0 and -150 - (-10) = -140.
        assert_eq!(p.rest, -70.0);
        assert_eq!(h.series[0].negative_share, Some(0.5));
        assert_eq!(h.series[1].negative_share, Some(1.0));
        assert_eq!(h.series[2].negative_share, None);
    }

    #[test]
    fn the_p3_fill_follows_the_rate() {
        let g = lab_config::GossipsubSettings::default();
        // 1 msg/s, decay 0.97 per second, mesh_n 6: 1 / (6 × 0.03) = 5.56.
        let f = P3Fill::new(1.0, &g).expect("P3 on");
        assert!((f.even_share_counter - 1.0 / 0.18).abs() < 1e-9);
        assert!((f.suggested_threshold() - 1.0 / 0.36).abs() < 1e-9);
        // At 5 msg/s the counter (27.8) is far above 10: the spec's threshold stays.
        assert_eq!(
            P3Fill::new(5.0, &g).expect("on").suggested_threshold(),
            10.0
        );
        let off = lab_config::GossipsubSettings {
            mesh_message_deliveries_weight: 0.0,
            ..g
        };
        assert_eq!(P3Fill::new(1.0, &off), None);
    }

    #[test]
    fn no_mesh_events_no_health_and_protocol_names_parse() {
        let plan = test_plan();
        let index = Index::new(&[], &plan, None);
        assert_eq!(mesh_health(&[], &plan, &index, None, None), None);
        assert!(speaks_idontwant("Gossipsub v1.2"));
        assert!(speaks_idontwant("Gossipsub v1.3"));
        assert!(!speaks_idontwant("Gossipsub v1.1"));
        assert!(!speaks_idontwant("Floodsub"));
        assert!(!speaks_idontwant("Not Supported"));
    }
}
