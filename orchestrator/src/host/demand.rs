//! What a run will ask of the host's CPU, estimated before anything starts from costs
//! measured per node: `plan`, `doctor` and `run` print it, and warn when the estimate is
//! beyond the scenario's guard (the run would come out distorted).
//!
//! Every node handles every message of the topic (it receives, verifies and forwards it), so
//! a node's CPU grows with the topic's rate, not with the number of publishers; the lab's
//! own cost (the shaper's per-packet work, the engine, the kernel's softirq) grows with the
//! packets, hence with nodes × rate as well.

use std::fmt;

/// A node's CPU in cores: `BASE + PER_MSG × topic rate (msg/s)`. Measured at
/// `baseline-100.toml` on a 2-core host (cost breakdown of the run's window): 100 nodes at
/// 5 msg/s used 1.35 cores; at 1 msg/s the whole host was ~35 % busy.
const NODE_CORES_BASE: f64 = 0.0025;
const NODE_CORES_PER_MSG: f64 = 0.0022;
/// The lab's CPU per node (shaper, engine, softirq), in cores, the same way: 0.41 cores for
/// 100 nodes at 5 msg/s (shaper 0.23, engine 0.03, softirq 0.15; 0.71 before events left the
/// engine's log driver and the shaper batched its verdicts).
const LAB_CORES_BASE: f64 = 0.00064;
const LAB_CORES_PER_MSG: f64 = 0.0007;

/// The share of the host's cores a run may use and still measure the protocol rather than
/// the host's run queue (at ~37 % busy, 100-node hops already took ~14 ms longer than pings
/// suggested): the "largest faithful testnet" of `doctor`.
pub const FAITHFUL_BUSY: f64 = 0.25;

/// The estimated CPU demand of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demand {
    /// Cores the nodes need.
    pub node_cores: f64,
    /// Cores the lab itself needs (shaper, engine, kernel).
    pub lab_cores: f64,
    /// The host's cores.
    pub host_cores: usize,
}

impl Demand {
    /// The demand of `nodes` nodes on a topic of `rate` msg/s, on a host of `host_cores`.
    pub fn estimate(nodes: usize, rate: f64, host_cores: usize) -> Demand {
        let n = nodes as f64;
        Demand {
            node_cores: n * (NODE_CORES_BASE + NODE_CORES_PER_MSG * rate),
            lab_cores: n * (LAB_CORES_BASE + LAB_CORES_PER_MSG * rate),
            host_cores: host_cores.max(1),
        }
    }

    /// The same run dilated by `k` (README, "Virtual time"): every rate, the nodes' idle
    /// work included, is divided by `k`, and so is the demand.
    pub fn dilated(self, k: f64) -> Demand {
        let k = k.max(1.0);
        Demand {
            node_cores: self.node_cores / k,
            lab_cores: self.lab_cores / k,
            ..self
        }
    }

    /// The share of the host's CPU the run would keep busy (may exceed 1).
    pub fn busy_share(&self) -> f64 {
        (self.node_cores + self.lab_cores) / self.host_cores as f64
    }

    /// The most nodes at `rate` msg/s whose demand stays within `busy` of `host_cores`.
    pub fn most_nodes(rate: f64, host_cores: usize, busy: f64) -> usize {
        let per_node = Demand::estimate(1, rate, host_cores);
        let cores = per_node.node_cores + per_node.lab_cores;
        (busy * host_cores.max(1) as f64 / cores).floor() as usize
    }
}

impl fmt::Display for Demand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "~{:.2} cores of {} ({:.0} % busy): nodes ~{:.2}, lab ~{:.2} (estimate from measured per-node costs)",
            self.node_cores + self.lab_cores,
            self.host_cores,
            self.busy_share() * 100.0,
            self.node_cores,
            self.lab_cores
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_matches_the_runs_it_was_fitted_to() {
        let b100 = Demand::estimate(100, 5.0, 2);
        assert!((b100.node_cores - 1.35).abs() < 0.01, "{b100}");
        assert!((b100.lab_cores - 0.41).abs() < 0.01, "{b100}");
        // Measured: 87 % busy.
        assert!((b100.busy_share() - 0.87).abs() < 0.03, "{b100}");
        let quiet = Demand::estimate(100, 1.0, 2);
        assert!((quiet.busy_share() - 0.30).abs() < 0.05, "{quiet}");
        let smoke = Demand::estimate(10, 6.0, 2);
        assert!(smoke.busy_share() < 0.2, "{smoke}");
    }

    #[test]
    fn more_messages_fit_fewer_nodes() {
        let at1 = Demand::most_nodes(1.0, 2, 0.85);
        let at5 = Demand::most_nodes(5.0, 2, 0.85);
        assert!(at1 > at5, "{at1} {at5}");
        assert!(Demand::estimate(at5, 5.0, 2).busy_share() <= 0.85);
        assert!(Demand::estimate(at5 + 1, 5.0, 2).busy_share() > 0.85);
        assert!(Demand::most_nodes(5.0, 4, 0.85) > at5);
    }
}
