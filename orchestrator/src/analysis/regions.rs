//! A run placed in regions, broken down by region: for every pair of regions the one-way
//! delay the pings measured (RTT / 2) against the matrix's, and the delivery latency of
//! honest messages by the receiver's region and by (origin region, receiver region).

use std::collections::BTreeMap;

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::latency::{LatencySummary, histogram, quantile, summarize};
use super::median::median_u64;
use crate::plan::Plan;
use crate::run::Window;

/// Figures by region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionStats {
    /// The matrix's name.
    pub matrix: String,
    /// Its regions, in its order.
    pub regions: Vec<String>,
    /// Every pair of regions (a region with itself too) some ping crossed, in matrix
    /// order.
    pub links: Vec<PairFidelity>,
    /// Delivery latency at honest receivers, by their region (matrix order; a region
    /// without nodes is left out).
    pub receivers: Vec<RegionLatency>,
    /// Median and p99 delivery latency by origin region (rows) and receiver region
    /// (columns), `None` where no message went.
    pub from_to: Vec<Vec<Option<FromTo>>>,
}

/// Measured against imposed one-way delay between two regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairFidelity {
    /// One region.
    pub a: String,
    /// The other (the same for a region's own link).
    pub b: String,
    /// Pings between nodes of the two.
    pub samples: u64,
    /// Median measured one-way delay (RTT / 2), µs.
    pub measured_us: u64,
    /// The matrix's one-way delay, µs (the mean of both directions').
    pub imposed_us: u64,
    /// `|measured − imposed| / imposed`; `None` when nothing was imposed.
    pub relative_error: Option<f64>,
}

/// Delivery latency at the honest nodes of one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionLatency {
    /// The region.
    pub region: String,
    /// Its honest nodes.
    pub nodes: usize,
    /// Their first deliveries.
    pub latency: LatencySummary,
}

/// Delivery latency of messages from one region to another.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FromTo {
    /// Deliveries.
    pub count: u64,
    /// Median latency, µs.
    pub p50_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
}

/// The figures of a run placed in regions; `None` for a run that is not.
pub(super) fn regions(
    records: &[Record],
    plan: &Plan,
    index: &Index,
    window: Option<Window>,
) -> Option<RegionStats> {
    let regions = plan.regions.as_ref()?;
    let of = &regions.of_node;
    let n = regions.names().len();
    let from_ns = window.map_or(index.reference_ns, |w| w.start_ns);

    // Pings by unordered region pair, from the window's start (all of them if none is).
    let mut pings: BTreeMap<(usize, usize), (Vec<u64>, Vec<u64>)> = BTreeMap::new();
    for r in records {
        let Event::Ping { peer, rtt_us } = &r.event else {
            continue;
        };
        let (Some(me), Some(&other)) = (index.of(r), index.peer_node.get(peer.as_str())) else {
            continue;
        };
        let (Some(&a), Some(&b)) = (of.get(me), of.get(other)) else {
            continue;
        };
        let key = (a.min(b), a.max(b));
        let entry = pings.entry(key).or_default();
        if r.ts_ns >= from_ns {
            entry.0.push(rtt_us / 2);
        } else {
            entry.1.push(rtt_us / 2);
        }
    }
    let links = pings
        .into_iter()
        .filter_map(|((a, b), (after, before))| {
            let mut samples = if after.is_empty() { before } else { after };
            samples.sort_unstable();
            let measured = median_u64(&samples)?;
            let imposed = (regions.delay(a, b) + regions.delay(b, a)) / 2;
            let imposed_us = u64::try_from(imposed.as_micros()).unwrap_or(u64::MAX);
            Some(PairFidelity {
                a: regions.names()[a].clone(),
                b: regions.names()[b].clone(),
                samples: samples.len() as u64,
                measured_us: measured,
                imposed_us,
                relative_error: (imposed_us > 0)
                    .then(|| measured.abs_diff(imposed_us) as f64 / imposed_us as f64),
            })
        })
        .collect();

    // Deliveries by receiver region, and by (origin region, receiver region).
    let mut by_receiver: Vec<Vec<u64>> = vec![Vec::new(); n];
    let mut by_pair: Vec<Vec<Vec<u64>>> = vec![vec![Vec::new(); n]; n];
    for m in index.messages.values() {
        let Some(&from) = of.get(m.origin) else {
            continue;
        };
        for (&rcv, &us) in &m.deliveries {
            if !index.honest.get(rcv).copied().unwrap_or(false) {
                continue;
            }
            if let Some(&to) = of.get(rcv) {
                by_receiver[to].push(us);
                by_pair[from][to].push(us);
            }
        }
    }
    let mut honest_in = vec![0usize; n];
    for (node, &r) in of.iter().enumerate() {
        if index.honest.get(node).copied().unwrap_or(false) {
            honest_in[r] += 1;
        }
    }
    let receivers = by_receiver
        .iter()
        .enumerate()
        .filter(|&(r, _)| honest_in[r] > 0)
        .map(|(r, samples)| RegionLatency {
            region: regions.names()[r].clone(),
            nodes: honest_in[r],
            latency: summarize(samples),
        })
        .collect();
    let from_to = by_pair
        .iter()
        .map(|row| {
            row.iter()
                .map(|samples| {
                    let h = histogram(samples);
                    Some(FromTo {
                        count: samples.len() as u64,
                        p50_us: quantile(&h, 0.5)?,
                        p99_us: quantile(&h, 0.99)?,
                    })
                })
                .collect()
        })
        .collect();
    Some(RegionStats {
        matrix: regions.matrix.name.clone(),
        regions: regions.names().to_vec(),
        links,
        receivers,
        from_to,
    })
}

impl RegionStats {
    /// The region pair whose measured delay is farthest from the matrix's, relatively.
    pub fn worst_link(&self) -> Option<&PairFidelity> {
        self.links
            .iter()
            .filter(|l| l.relative_error.is_some())
            .max_by(|x, y| {
                let e = |l: &PairFidelity| l.relative_error.unwrap_or(0.0);
                e(x).total_cmp(&e(y))
            })
    }
}

#[cfg(test)]
mod tests {
    use lab_events::Event;

    use super::super::fixture::{T0, delivered, published, rec, started, test_plan};
    use super::super::index::Index;
    use super::*;
    use crate::plan::Regions;
    use crate::scenario::matrix;

    /// The fixture's plan (h-0..h-3 honest, a-0 attacker) with h-0, h-1 in `eu` and the
    /// rest in `us`.
    fn placed() -> Plan {
        let m = matrix::fixture(
            &["eu", "us", "asia"],
            &[5, 6, 7],
            &[(0, 1, 40), (0, 2, 100), (1, 2, 80)],
        );
        let mut plan = test_plan();
        let names = plan
            .nodes
            .iter()
            .map(|n| Some(if n.index < 2 { "eu" } else { "us" }));
        plan.regions = Regions::place(&m, names);
        plan
    }

    fn ping(node: &str, peer: &str, ts: u64, rtt_us: u64) -> Record {
        rec(
            ts,
            node,
            Event::Ping {
                peer: peer.into(),
                rtt_us,
            },
        )
    }

    #[test]
    fn pings_and_deliveries_are_broken_down_by_region() {
        let plan = placed();
        let mut records: Vec<Record> = plan
            .nodes
            .iter()
            .map(|n| started(&n.name, &format!("P{}", n.index)))
            .collect();
        records.extend([
            ping("h-0", "P1", T0 + 1, 10_400), // eu-eu: 5.2 ms
            ping("h-0", "P2", T0 + 2, 82_000), // eu-us: 41 ms
            ping("h-2", "P0", T0 + 3, 80_000), // us-eu: 40 ms
            ping("h-3", "P2", T0 + 4, 12_000), // us-us: 6 ms
            ping("h-3", "ghost", T0 + 5, 1),   // unknown peer: ignored
            published("h-0", "m1", T0 + 10),
            delivered("h-1", "m1", T0 + 10, 6_000),
            delivered("h-2", "m1", T0 + 10, 45_000),
            delivered("h-3", "m1", T0 + 10, 47_000),
            delivered("a-0", "m1", T0 + 10, 1_000), // not honest: not counted
        ]);
        let index = Index::new(&records, &plan, None);
        let Some(s) = regions(&records, &plan, &index, None) else {
            panic!("the plan is placed in regions");
        };
        assert_eq!(s.matrix, "two");
        let link = |a: &str, b: &str| {
            s.links
                .iter()
                .find(|l| l.a == a && l.b == b)
                .unwrap_or_else(|| panic!("{a}-{b} in {:?}", s.links))
        };
        assert_eq!(link("eu", "eu").measured_us, 5_200);
        assert_eq!(link("eu", "eu").imposed_us, 5_000);
        assert_eq!(link("eu", "us").samples, 2);
        assert_eq!(link("eu", "us").imposed_us, 40_000);
        assert_eq!(link("us", "us").measured_us, 6_000);
        assert_eq!(s.links.len(), 3, "asia has no nodes: {:?}", s.links);
        let worst = s.worst_link().expect("links");
        assert_eq!((worst.a.as_str(), worst.b.as_str()), ("eu", "eu"));
        assert!((worst.relative_error.unwrap_or(0.0) - 0.04).abs() < 1e-9);
        // Receivers: eu has h-0, h-1 (h-1 got m1), us has h-2, h-3.
        assert_eq!(s.receivers.len(), 2);
        assert_eq!(s.receivers[0].nodes, 2);
        assert_eq!(s.receivers[0].latency.count, 1);
        assert_eq!(s.receivers[1].latency.count, 2);
        let eu_us = s.from_to[0][1].expect("eu -> us");
        assert_eq!(eu_us.count, 2);
        assert!((44_900..=45_100).contains(&eu_us.p50_us), "{eu_us:?}");
        assert_eq!(s.from_to[1][0], None);
        assert!(regions(&records, &test_plan(), &index, None).is_none());
    }
}
