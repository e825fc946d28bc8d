//! The nodes' CPU probes (`cpu_probe` events: the mean time of one ML-DSA signature and one
//! verification at each node's start, already in virtual time): whether a dilated run kept
//! its nodes' CPU faithful (README, "Virtual time"). At `time_scale = k` with the CPU
//! quota, the medians should match an undilated run's; without the quota they would come
//! out k times faster.

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::median;

/// The probes' medians over the nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuProbe {
    /// Nodes that reported a probe.
    pub nodes: usize,
    /// Median over the nodes of the mean time of one signature, µs (virtual).
    pub sign_us: f64,
    /// Median over the nodes of the mean time of one verification, µs (virtual).
    pub verify_us: f64,
    /// Nodes whose probe signatures did not all verify (0 in any sound build).
    pub failed: usize,
}

/// The medians of every probe in `records`; `None` without one.
pub(super) fn cpu_probe(records: &[Record]) -> Option<CpuProbe> {
    let mut sign = Vec::new();
    let mut verify = Vec::new();
    let mut failed = 0;
    for r in records {
        if let Event::CpuProbe {
            sign_ns,
            verify_ns,
            verified,
            ..
        } = &r.event
        {
            sign.push(*sign_ns as f64 / 1000.0);
            verify.push(*verify_ns as f64 / 1000.0);
            failed += usize::from(!verified);
        }
    }
    sign.sort_by(f64::total_cmp);
    verify.sort_by(f64::total_cmp);
    Some(CpuProbe {
        nodes: sign.len(),
        sign_us: median(&sign)?,
        verify_us: median(&verify)?,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture::rec;

    fn probe(sign_ns: u64, verify_ns: u64) -> Event {
        Event::CpuProbe {
            rounds: 20,
            sign_ns,
            verify_ns,
            verified: true,
        }
    }

    #[test]
    fn medians_over_the_nodes() {
        let records = [
            rec(1, "a", probe(1_000_000, 300_000)),
            rec(2, "b", probe(3_000_000, 900_000)),
            rec(3, "c", probe(2_000_000, 600_000)),
        ];
        let p = cpu_probe(&records).expect("probes");
        assert_eq!(p.nodes, 3);
        assert_eq!(p.sign_us, 2_000.0);
        assert_eq!(p.verify_us, 600.0);
        assert_eq!(p.failed, 0);
        assert_eq!(cpu_probe(&[]), None);
    }
}
