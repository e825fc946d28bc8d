//! Host clocks. Every node writes its host's wall clock into its events, and a one-way
//! latency subtracts a publish time on one host from a receive time on another: across
//! hosts the clocks' offset enters every figure. The orchestrator measures each host's
//! offset against its own clock with a few probes through the host's shaper (a `clock`
//! line on its stdin, answered at once on its stdout: sent, the host's time, received;
//! Cristian's estimate from the probe with the shortest round trip, uncertain by half of
//! it), reports
//! them with the result, and corrects the events of hosts other than its own
//! ([`correct`], for runners with more than one host). On one host every node and the
//! orchestrator read one clock: its offset is 0 by construction and nothing is corrected;
//! the probe's estimate is reported to show the method's own error.

use std::collections::HashMap;

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::shaper::HostShaper;

/// The orchestrator's own host.
pub const LOCAL: &str = "local";

/// Probes a host's clock is read with.
pub const PROBES: usize = 8;

/// One probe: the orchestrator's clock when it asked and when the answer came, and the
/// host's clock in between (ns since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSample {
    /// Orchestrator's clock, sent.
    pub sent_ns: u64,
    /// The host's clock, as it answered.
    pub remote_ns: u64,
    /// Orchestrator's clock, answer received.
    pub received_ns: u64,
}

impl ClockSample {
    fn round_trip_ns(&self) -> u64 {
        self.received_ns.saturating_sub(self.sent_ns)
    }

    /// The host's clock minus the orchestrator's, taking the answer as made halfway.
    fn offset_ns(&self) -> i64 {
        let mid = (i128::from(self.sent_ns) + i128::from(self.received_ns)) / 2;
        clamp_i64(i128::from(self.remote_ns) - mid)
    }
}

fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// One host's clock against the orchestrator's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostClock {
    /// The host ([`LOCAL`]: the orchestrator's own engine).
    pub host: String,
    /// The host's clock minus the orchestrator's, in ns (the estimate).
    pub offset_ns: i64,
    /// Half the shortest probe's round trip: the offset lies within ± this.
    pub uncertainty_ns: u64,
    /// Probes answered.
    pub probes: u32,
    /// Whether the events of this host's nodes were corrected by the offset (never on the
    /// orchestrator's own host, whose offset is 0 by construction).
    pub corrected: bool,
}

/// The estimate from `samples` of `host`'s clock: the offset of the probe with the shortest
/// round trip, within half that round trip; `None` without samples.
pub fn estimate(host: &str, samples: &[ClockSample]) -> Option<HostClock> {
    let best = samples.iter().min_by_key(|s| s.round_trip_ns())?;
    Some(HostClock {
        host: host.to_string(),
        offset_ns: best.offset_ns(),
        uncertainty_ns: best.round_trip_ns() / 2,
        probes: u32::try_from(samples.len()).unwrap_or(u32::MAX),
        corrected: false,
    })
}

/// Reads the clock of `host` through its shaper [`PROBES`] times; the probes it does not
/// answer are left out (with a warning).
pub async fn probe(shaper: &mut HostShaper, host: &str) -> Option<HostClock> {
    let mut samples = Vec::with_capacity(PROBES);
    for _ in 0..PROBES {
        match shaper.read_clock().await {
            Some(s) => samples.push(s),
            None => tracing::warn!("failed to read the clock of host {host}: no answer"),
        }
    }
    estimate(host, &samples)
}

/// Moves every time the nodes wrote onto the orchestrator's clock: a record's time and a
/// delivery's receive time by its node's host offset, a delivery's publish time by its
/// origin's (found by peer id from the `started` records). `offset_of` gives a node's
/// offset (ns; nodes it does not know are not moved).
pub fn correct(records: &mut [Record], offset_of: &HashMap<String, i64>) {
    let node_of: HashMap<String, String> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Started { peer_id, .. } => Some((peer_id.clone(), r.node.clone())),
            _ => None,
        })
        .collect();
    let shift = |t: u64, node: &str| match offset_of.get(node) {
        Some(&off) => u64::try_from((i128::from(t) - i128::from(off)).max(0)).unwrap_or(u64::MAX),
        None => t,
    };
    for r in records.iter_mut() {
        r.ts_ns = shift(r.ts_ns, &r.node);
        if let Event::Delivered {
            origin,
            published_ns,
            received_ns,
            ..
        } = &mut r.event
        {
            *received_ns = shift(*received_ns, &r.node);
            if let Some(from) = node_of.get(origin.as_str()) {
                *published_ns = shift(*published_ns, from);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn the_shortest_round_trip_gives_the_offset_within_half_of_it() {
        // A host 5 ms ahead; answers made at varying points of round trips of 2 to 40 ms.
        let t0 = 1_000_000 * MS;
        let probe = |sent: u64, rtt: u64, answered_after: u64| ClockSample {
            sent_ns: t0 + sent,
            remote_ns: t0 + sent + answered_after + 5 * MS,
            received_ns: t0 + sent + rtt,
        };
        let samples = [
            probe(0, 40 * MS, 35 * MS),
            probe(100 * MS, 2 * MS, 1_500_000),
            probe(200 * MS, 10 * MS, MS),
        ];
        let c = estimate("b", &samples).expect("samples");
        assert_eq!(c.probes, 3);
        assert_eq!(c.uncertainty_ns, MS);
        // True 5 ms; the estimate is off by where in its 2 ms the answer was (0.5 ms).
        assert_eq!(c.offset_ns, 5_500_000);
        assert!((c.offset_ns - 5_000_000).unsigned_abs() <= c.uncertainty_ns);
        assert_eq!(estimate("b", &[]), None);
        // Behind, and absurd clocks, do not overflow.
        let behind = ClockSample {
            sent_ns: 10 * MS,
            remote_ns: 0,
            received_ns: 12 * MS,
        };
        assert_eq!(behind.offset_ns(), -11 * MS as i64);
        let wild = ClockSample {
            sent_ns: 0,
            remote_ns: u64::MAX,
            received_ns: u64::MAX,
        };
        assert_eq!(wild.offset_ns(), i64::MAX);
    }

    fn rec(ts_ns: u64, node: &str, event: Event) -> Record {
        Record {
            ts_ns,
            node: node.into(),
            event,
        }
    }

    #[test]
    fn synthetic_offsets_are_taken_out_of_every_nodes_times() {
        // a-0 on the orchestrator's host; b-0 on a host whose clock is 7 ms ahead, c-0 on one
        // 3 ms behind. True one-way latency of each delivery: 25 ms.
        let t = 5_000 * MS;
        let started = |node: &str, peer: &str| {
            rec(
                t - 1000 * MS,
                node,
                Event::Started {
                    peer_id: peer.into(),
                    role: "honest".into(),
                    listen: Vec::new(),
                },
            )
        };
        let delivered = |node: &str, origin: &str, published: u64, received: u64| {
            rec(
                received,
                node,
                Event::Delivered {
                    msg_id: "m".into(),
                    origin: origin.into(),
                    seq: 1,
                    published_ns: published,
                    received_ns: received,
                    from: "x".into(),
                },
            )
        };
        let mut records = vec![
            started("a-0", "PA"),
            started("b-0", "PB"),
            started("c-0", "PC"),
            // a → b: published at t on a's clock, received at t + 25 ms true = b's + 7 ms.
            delivered("b-0", "PA", t, t + 32 * MS),
            // b → c: published at true t (b's clock t + 7), received at true t + 25 (c's
            // clock t + 22).
            delivered("c-0", "PB", t + 7 * MS, t + 22 * MS),
        ];
        let latency = |r: &Record| match r.event {
            Event::Delivered {
                published_ns,
                received_ns,
                ..
            } => (received_ns as i64 - published_ns as i64) / MS as i64,
            _ => panic!("not a delivery"),
        };
        assert_eq!((latency(&records[3]), latency(&records[4])), (32, 15));
        let offsets: HashMap<String, i64> = [("b-0", 7), ("c-0", -3)]
            .into_iter()
            .map(|(n, ms)| (n.to_string(), ms * MS as i64))
            .collect();
        correct(&mut records, &offsets);
        assert_eq!((latency(&records[3]), latency(&records[4])), (25, 25));
        // Record times move with their node's host; a-0's stay.
        assert_eq!(records[3].ts_ns, t + 25 * MS);
        assert_eq!(records[0].ts_ns, t - 1000 * MS);
        assert_eq!(records[2].ts_ns, t - 1000 * MS + 3 * MS);
    }
}
