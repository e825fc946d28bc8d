//! Plot data derived from a run's event records, with the definitions of
//! [`crate::analysis`]: only messages published by honest nodes count, each honest receiver
//! other than the origin contributes its first delivery, latency is
//! `received_ns − published_ns` in whole microseconds.

use std::collections::{HashMap, HashSet};

use lab_config::TimeScale;
use lab_events::{Event, Record};

use crate::result::RunResult;

/// One delivery of an honest message at an honest receiver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sample {
    /// When the message was published, seconds after traffic started.
    pub(super) t_s: f64,
    /// Delivery latency in milliseconds.
    pub(super) latency_ms: f64,
}

/// Latency percentiles of the deliveries of messages published within one second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bucket {
    /// Start of the second, seconds after traffic started.
    pub(super) t_s: f64,
    /// Median latency, ms.
    pub(super) p50_ms: f64,
    /// 99th percentile latency, ms.
    pub(super) p99_ms: f64,
}

/// Coverage at one time after publish.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct CoveragePoint {
    /// Time since publish, ms.
    pub(super) t_ms: f64,
    /// Mean over messages of the fraction of honest subscribers reached.
    pub(super) mean: f64,
    /// The fraction reached by the slowest 5 % of messages (5th percentile over messages).
    pub(super) slowest: f64,
}

/// Everything the event-based charts need.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Series {
    /// Honest deliveries of honest messages, ordered by publish time.
    pub(super) samples: Vec<Sample>,
    /// The same latencies, ms, ascending.
    pub(super) sorted_ms: Vec<f64>,
    /// Per honest message, its honest delivery latencies in ms, ascending.
    pub(super) per_message: Vec<Vec<f64>>,
    /// Honest subscribers of each message (honest nodes − 1).
    pub(super) subscribers: usize,
    /// The timeline's faults (`fault` events) on the samples' time axis: seconds, action.
    pub(super) faults: Vec<(f64, String)>,
}

/// Start of the measurement (else of the traffic) in ns since the epoch, on the records'
/// time line: from the result's phases, else the first honest publish, else 0. The phases
/// are wall-clock times; a dilated run's records are virtual, anchored at the traffic
/// start (`run::virtual_time`), so the window's start is mapped onto that line too.
fn reference_ns(result: &RunResult, events: &[Record], honest: &HashSet<&str>) -> u64 {
    let phases = &result.phases;
    let real = |s: f64| result.started_at_ms.saturating_mul(1_000_000) + (s * 1e9) as u64;
    match (
        phases.window_started_after_s,
        phases.traffic_started_after_s,
    ) {
        (Some(w), Some(t)) => {
            let (window, origin) = (real(w), real(t));
            return TimeScale::new(result.dilation.time_scale)
                .map_or(window, |k| k.virtual_instant(origin, window));
        }
        (Some(s), None) | (None, Some(s)) => return real(s),
        (None, None) => {}
    }
    events
        .iter()
        .filter(|r| matches!(r.event, Event::Published { .. }) && honest.contains(r.node.as_str()))
        .map(|r| r.ts_ns)
        .min()
        .unwrap_or(0)
}

/// The honest node names: from the result's per-node statistics, or (for a result without
/// them) from the roles the nodes announced in their `started` events.
fn honest_nodes<'a>(result: &'a RunResult, events: &'a [Record]) -> HashSet<&'a str> {
    if !result.stats.nodes.is_empty() {
        return result
            .stats
            .nodes
            .iter()
            .filter(|n| n.role == "honest")
            .map(|n| n.name.as_str())
            .collect();
    }
    events
        .iter()
        .filter_map(|r| match &r.event {
            Event::Started { role, .. } if role == "honest" => Some(r.node.as_str()),
            _ => None,
        })
        .collect()
}

/// Derives the plot data of a run.
pub(super) fn derive(result: &RunResult, events: &[Record]) -> Series {
    let honest = honest_nodes(result, events);
    let reference = reference_ns(result, events, &honest);

    // Honest messages: id -> origin.
    let mut origin: HashMap<&str, &str> = HashMap::new();
    for r in events {
        if let Event::Published { msg_id, .. } = &r.event
            && honest.contains(r.node.as_str())
        {
            origin.entry(msg_id.as_str()).or_insert(r.node.as_str());
        }
    }

    // First delivery per (message, honest receiver).
    let mut first: HashMap<&str, HashMap<&str, (u64, u64)>> = HashMap::new();
    for r in events {
        if let Event::Delivered {
            msg_id,
            published_ns,
            received_ns,
            ..
        } = &r.event
            && honest.contains(r.node.as_str())
            && origin
                .get(msg_id.as_str())
                .is_some_and(|o| *o != r.node.as_str())
        {
            let us = received_ns.saturating_sub(*published_ns) / 1000;
            let e = first
                .entry(msg_id.as_str())
                .or_default()
                .entry(r.node.as_str())
                .or_insert((us, *published_ns));
            if us < e.0 {
                *e = (us, *published_ns);
            }
        }
    }

    let mut samples = Vec::new();
    let mut per_message = Vec::with_capacity(origin.len());
    for id in origin.keys() {
        let mut lat: Vec<f64> = Vec::new();
        if let Some(d) = first.get(id) {
            for &(us, published_ns) in d.values() {
                let ms = us as f64 / 1000.0;
                lat.push(ms);
                samples.push(Sample {
                    t_s: (i128::from(published_ns) - i128::from(reference)) as f64 / 1e9,
                    latency_ms: ms,
                });
            }
        }
        lat.sort_by(f64::total_cmp);
        per_message.push(lat);
    }
    samples.sort_by(|a, b| {
        a.t_s
            .total_cmp(&b.t_s)
            .then(a.latency_ms.total_cmp(&b.latency_ms))
    });
    let mut sorted_ms: Vec<f64> = samples.iter().map(|s| s.latency_ms).collect();
    sorted_ms.sort_by(f64::total_cmp);
    Series {
        samples,
        sorted_ms,
        per_message,
        subscribers: honest.len().saturating_sub(1),
        faults: events
            .iter()
            .filter_map(|r| match &r.event {
                Event::Fault { action, .. } => Some((
                    (i128::from(r.ts_ns) - i128::from(reference)) as f64 / 1e9,
                    action.clone(),
                )),
                _ => None,
            })
            .collect(),
    }
}

/// The nearest-rank `q` quantile (0..=1) of ascending values; `None` when empty.
pub(super) fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Per-second p50/p99 of latency by publish second (samples ordered by time).
pub(super) fn per_second(samples: &[Sample]) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < samples.len() {
        let second = samples[i].t_s.floor();
        let mut lat: Vec<f64> = Vec::new();
        while i < samples.len() && samples[i].t_s.floor() == second {
            lat.push(samples[i].latency_ms);
            i += 1;
        }
        lat.sort_by(f64::total_cmp);
        if let (Some(p50_ms), Some(p99_ms)) = (quantile(&lat, 0.5), quantile(&lat, 0.99)) {
            out.push(Bucket {
                t_s: second,
                p50_ms,
                p99_ms,
            });
        }
    }
    out
}

/// The coverage curve at `points` + 1 evenly spaced times from 0 to `t_max_ms`.
pub(super) fn coverage_curve(series: &Series, t_max_ms: f64, points: usize) -> Vec<CoveragePoint> {
    let s = series.subscribers;
    if s == 0 || series.per_message.is_empty() || t_max_ms <= 0.0 || points == 0 {
        return Vec::new();
    }
    let mut fractions = vec![0.0; series.per_message.len()];
    (0..=points)
        .map(|k| {
            let t_ms = t_max_ms * k as f64 / points as f64;
            for (f, lat) in fractions.iter_mut().zip(&series.per_message) {
                let reached = lat.partition_point(|&l| l <= t_ms);
                *f = (reached as f64 / s as f64).min(1.0);
            }
            let mean = fractions.iter().sum::<f64>() / fractions.len() as f64;
            let mut sorted = fractions.clone();
            sorted.sort_by(f64::total_cmp);
            CoveragePoint {
                t_ms,
                mean,
                slowest: quantile(&sorted, 0.05).unwrap_or(0.0),
            }
        })
        .collect()
}

/// At most `max` items of `v`, evenly strided (first and last kept).
pub(super) fn thin<T: Copy>(v: &[T], max: usize) -> Vec<T> {
    if v.len() <= max || max < 2 {
        return v.to_vec();
    }
    let step = (v.len() - 1) as f64 / (max - 1) as f64;
    (0..max)
        .map(|k| v[((k as f64 * step).round() as usize).min(v.len() - 1)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dilated_run_is_charted_from_the_virtual_window_start() {
        use crate::result::fixtures::{START_MS, coherent};

        // Traffic from 2 s (real) after the start, the window from 12 s: at time scale 2.5
        // the window starts 10 / 2.5 = 4 virtual seconds after the traffic.
        let mut r = coherent();
        r.phases.traffic_started_after_s = Some(2.0);
        r.phases.window_started_after_s = Some(12.0);
        r.dilation.time_scale = 2.5;
        // The honest nodes from their `started` events.
        r.stats.nodes.clear();
        let s = 1_000_000_000;
        let origin = START_MS * 1_000_000 + 2 * s;
        let rec = |ts_ns, node: &str, event| Record {
            ts_ns,
            node: node.to_string(),
            event,
        };
        let started = |node: &str| {
            rec(
                origin,
                node,
                Event::Started {
                    peer_id: format!("P-{node}"),
                    role: "honest".into(),
                    listen: Vec::new(),
                },
            )
        };
        let published = origin + 5 * s;
        let events = vec![
            started("a"),
            started("b"),
            rec(
                published,
                "a",
                Event::Published {
                    msg_id: "m".into(),
                    seq: 1,
                    size: 1,
                    wire_size: 1,
                },
            ),
            rec(
                published + s / 10,
                "b",
                Event::Delivered {
                    msg_id: "m".into(),
                    origin: "P-a".into(),
                    seq: 1,
                    published_ns: published,
                    received_ns: published + s / 10,
                    from: "P-a".into(),
                },
            ),
            rec(
                origin + 6 * s,
                crate::run::faults::RECORDER,
                Event::Fault {
                    action: "kill".into(),
                    nodes: vec!["b".into()],
                    across: Vec::new(),
                },
            ),
        ];
        let series = derive(&r, &events);
        assert_eq!(series.samples.len(), 1, "{series:?}");
        assert!((series.samples[0].t_s - 1.0).abs() < 1e-6, "{series:?}");
        assert!((series.faults[0].0 - 2.0).abs() < 1e-6, "{series:?}");
        // Undilated, the window's wall-clock start is the reference.
        r.dilation.time_scale = 1.0;
        let series = derive(&r, &events);
        assert!((series.samples[0].t_s + 5.0).abs() < 1e-6, "{series:?}");
    }

    #[test]
    fn quantile_is_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), Some(2.0));
        assert_eq!(quantile(&v, 0.99), Some(4.0));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn per_second_groups_by_publish_second() {
        let s = |t_s, latency_ms| Sample { t_s, latency_ms };
        let b = per_second(&[s(0.1, 10.0), s(0.9, 30.0), s(0.5, 20.0), s(2.2, 5.0)]);
        // Not sorted by time within the first second: grouping still holds since floor
        // values are equal.
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].t_s, b[0].p50_ms, b[0].p99_ms), (0.0, 20.0, 30.0));
        assert_eq!((b[1].t_s, b[1].p50_ms), (2.0, 5.0));
    }

    #[test]
    fn coverage_counts_subscribers_reached() {
        let series = Series {
            per_message: vec![vec![10.0, 20.0], vec![10.0]],
            subscribers: 2,
            ..Series::default()
        };
        let c = coverage_curve(&series, 20.0, 2);
        assert_eq!(c.len(), 3);
        assert_eq!((c[0].mean, c[0].slowest), (0.0, 0.0));
        assert_eq!((c[1].t_ms, c[1].mean, c[1].slowest), (10.0, 0.5, 0.5));
        assert_eq!((c[2].mean, c[2].slowest), (0.75, 0.5));
    }

    #[test]
    fn thin_keeps_ends() {
        let v: Vec<u32> = (0..100).collect();
        let t = thin(&v, 5);
        assert_eq!(t.len(), 5);
        assert_eq!((t[0], t[4]), (0, 99));
        assert_eq!(thin(&v[..3], 5), vec![0, 1, 2]);
    }
}
