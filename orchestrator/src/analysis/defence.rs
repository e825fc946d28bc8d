//! Defence: the scores honest nodes gave the attackers, their last values, a per-second
//! min/median/max series, and when the median first fell below each gossipsub threshold;
//! with a timeline `attack` start (dormant attackers), also the median score when the
//! attack started and how long after it the median fell below each threshold. A pair is
//! an (honest node, attacker identity): a `sybil` node's identities are scored each on its
//! own.

use std::collections::HashMap;

use lab_events::{Event, PeerScore, Record};
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::median::median;
use crate::plan::Plan;
use crate::run::faults::RECORDER;

/// How honest nodes scored the attackers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefenceStats {
    /// Attacker nodes in the plan.
    pub attackers: usize,
    /// (honest node, attacker identity) pairs with at least one score.
    pub scored_pairs: usize,
    /// Lowest last score.
    pub final_min: Option<f64>,
    /// Median last score.
    pub final_median: Option<f64>,
    /// Highest last score.
    pub final_max: Option<f64>,
    /// When the median score first fell below each threshold.
    pub thresholds: Vec<ThresholdCrossing>,
    /// Min/median/max over pairs' latest scores, once per second of snapshots.
    pub series: Vec<ScorePoint>,
    /// The timeline's first `attack` start, seconds after the reference time; `None`
    /// without one (the attackers acted from the start).
    #[serde(default)]
    pub attack_start_s: Option<f64>,
    /// The median score at the attack start (the last point at or before it).
    #[serde(default)]
    pub median_at_attack_start: Option<f64>,
}

/// When the attackers' median score first fell below a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdCrossing {
    /// `gossip`, `publish` or `graylist`.
    pub name: String,
    /// The threshold.
    pub threshold: f64,
    /// Seconds after the reference time (traffic start); `None` = never.
    pub first_below_s: Option<f64>,
    /// With an attack start: seconds after it until the median was first below (at or
    /// after the start); `None` = never, or no attack start.
    #[serde(default)]
    pub after_attack_start_s: Option<f64>,
}

/// One point of the attacker score series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorePoint {
    /// Seconds after the reference time (traffic start).
    pub t_s: f64,
    /// Lowest latest score.
    pub min: f64,
    /// Median latest score.
    pub median: f64,
    /// Highest latest score.
    pub max: f64,
}

/// The latest score of each (honest observer, attacker identity) pair: the observer's plan
/// index, the identity's peer id.
type Latest<'r> = HashMap<(usize, &'r str), f64>;

/// The attackers' scores; `None` when the plan has no attacker.
pub(super) fn defence(records: &[Record], plan: &Plan, index: &Index) -> Option<DefenceStats> {
    let attackers = index.honest.iter().filter(|h| !**h).count();
    if attackers == 0 {
        return None;
    }
    let (latest, series) = replay(&snapshots(records, index), index);
    let finals = sorted_scores(&latest);
    let start = attack_start(records, index.reference_ns);
    Some(DefenceStats {
        attackers,
        scored_pairs: latest.len(),
        final_min: finals.first().copied(),
        final_median: median(&finals),
        final_max: finals.last().copied(),
        thresholds: thresholds(plan, &series, start),
        median_at_attack_start: start
            .and_then(|s| series.iter().rev().find(|p| p.t_s <= s))
            .map(|p| p.median),
        attack_start_s: start,
        series,
    })
}

/// The timeline's first `attack-start`, seconds after `reference_ns`.
fn attack_start(records: &[Record], reference_ns: u64) -> Option<f64> {
    records.iter().find_map(|r| match &r.event {
        Event::Fault { action, .. } if r.node == RECORDER && action == "attack-start" => {
            Some((r.ts_ns as f64 - reference_ns as f64) / 1e9)
        }
        _ => None,
    })
}

/// Honest nodes' score snapshots `(ts, observer, scores)`, by time then observer.
fn snapshots<'r>(records: &'r [Record], index: &Index) -> Vec<(u64, usize, &'r [PeerScore])> {
    let mut snapshots: Vec<(u64, usize, &[PeerScore])> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Scores { scores } => {
                let i = index.of(r)?;
                index.honest[i].then_some((r.ts_ns, i, scores.as_slice()))
            }
            _ => None,
        })
        .collect();
    snapshots.sort_by_key(|(ts, i, _)| (*ts, *i));
    snapshots
}

/// Replays the snapshots: the pairs' final scores, and a point at the last snapshot of
/// each second after the reference time.
fn replay<'r>(
    snapshots: &[(u64, usize, &'r [PeerScore])],
    index: &Index,
) -> (Latest<'r>, Vec<ScorePoint>) {
    let reference_ns = index.reference_ns;
    let second = |ts: u64| ts.saturating_sub(reference_ns) / 1_000_000_000;
    let mut latest = Latest::new();
    let mut series: Vec<ScorePoint> = Vec::new();
    let mut last: Option<u64> = None;
    for &(ts, observer, scores) in snapshots {
        if let Some(prev) = last.filter(|&p| second(p) != second(ts)) {
            series.extend(point(&latest, prev, reference_ns));
        }
        for s in scores {
            if index
                .peer_node
                .get(s.peer.as_str())
                .is_some_and(|&a| !index.honest[a])
            {
                latest.insert((observer, s.peer.as_str()), s.score);
            }
        }
        last = Some(ts);
    }
    if let Some(prev) = last {
        series.extend(point(&latest, prev, reference_ns));
    }
    (latest, series)
}

/// Min/median/max of the latest scores at `ts`; `None` while there is no (non-NaN) score.
fn point(latest: &Latest, ts: u64, reference_ns: u64) -> Option<ScorePoint> {
    let v = sorted_scores(latest);
    Some(ScorePoint {
        t_s: (ts as f64 - reference_ns as f64) / 1e9,
        min: *v.first()?,
        median: median(&v)?,
        max: *v.last()?,
    })
}

/// The scores, NaN left out, ascending.
fn sorted_scores(latest: &Latest) -> Vec<f64> {
    let mut v: Vec<f64> = latest.values().copied().filter(|s| !s.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// When the series' median first fell below each of the plan's thresholds, and after the
/// attack `start` (seconds).
fn thresholds(plan: &Plan, series: &[ScorePoint], start: Option<f64>) -> Vec<ThresholdCrossing> {
    let g = &plan.gossipsub;
    [
        ("gossip", g.gossip_threshold),
        ("publish", g.publish_threshold),
        ("graylist", g.graylist_threshold),
    ]
    .into_iter()
    .map(|(name, threshold)| ThresholdCrossing {
        name: name.to_string(),
        threshold,
        first_below_s: series.iter().find(|p| p.median < threshold).map(|p| p.t_s),
        after_attack_start_s: start.and_then(|s| {
            series
                .iter()
                .find(|p| p.t_s >= s && p.median < threshold)
                .map(|p| p.t_s - s)
        }),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixture;

    #[test]
    fn synthetic_run_gives_the_hand_computed_defence() {
        let s = fixture::synthetic_stats();
        let d = s.defence.as_ref().expect("defence");
        assert_eq!(d.attackers, 1);
        assert_eq!(d.scored_pairs, 3);
        assert_eq!(d.final_min, Some(-300.0));
        assert_eq!(d.final_median, Some(-150.0));
        assert_eq!(d.final_max, Some(-20.0));
        assert_eq!(d.series.len(), 2);
        assert_eq!(d.series[0].median, -35.0);
        assert_eq!(d.series[1].median, -150.0);
        let gossip = &d.thresholds[0];
        assert_eq!(gossip.name, "gossip");
        assert_eq!(gossip.threshold, -100.0);
        let t = gossip.first_below_s.expect("crossed");
        assert!((t - 2.6).abs() < 1e-9, "{t}");
        assert_eq!(d.thresholds[1].first_below_s, None);
        assert_eq!(
            (d.attack_start_s, gossip.after_attack_start_s),
            (None, None)
        );
    }

    #[test]
    fn an_attack_start_times_the_crossings_from_it() {
        let series: Vec<super::ScorePoint> =
            [(1.0, 5.0), (2.0, 3.0), (3.0, -150.0), (4.0, -2000.0)]
                .into_iter()
                .map(|(t_s, median)| super::ScorePoint {
                    t_s,
                    min: median,
                    median,
                    max: median,
                })
                .collect();
        let plan = fixture::test_plan();
        let t = super::thresholds(&plan, &series, Some(2.5));
        let after: Vec<Option<f64>> = t.iter().map(|c| c.after_attack_start_s).collect();
        assert_eq!(after[0], Some(0.5), "{t:?}");
        assert_eq!(t[0].first_below_s, Some(3.0));
    }
}
