//! Reads what [`CostSample`] holds, all from files: each container's cgroup (found once
//! from its main process), each node's interface counters (through its main process),
//! the engine's processes (found once), `/proc/stat` and `/proc/meminfo`. No engine calls:
//! sampling costs a few file reads per container.

use std::time::Instant;

use super::cgroup::Cgroup;
use super::cost::CostSample;
use super::cpu::CpuTimes;
use super::engine::EngineProcesses;
use super::monitor::mem_used;
use super::netdev::NetBytes;

/// Samples the cost of one run's containers.
#[derive(Debug)]
pub struct CostSampler {
    start: Instant,
    nodes: Vec<Option<Cgroup>>,
    node_pids: Vec<Option<u32>>,
    shaper: Option<Cgroup>,
    engine: EngineProcesses,
}

impl CostSampler {
    /// A sampler of the nodes' and the shaper's cgroups, each found from its main
    /// process id (`None`: not found, never read).
    pub fn new(node_pids: &[Option<u32>], shaper_pid: Option<u32>) -> Self {
        let engine = EngineProcesses::find();
        if engine.count() == 0 {
            tracing::warn!(
                "no dockerd/containerd process found: the engine's cost is not measured"
            );
        }
        Self {
            start: Instant::now(),
            nodes: node_pids
                .iter()
                .map(|p| p.and_then(Cgroup::of_pid))
                .collect(),
            node_pids: node_pids.to_vec(),
            shaper: shaper_pid.and_then(Cgroup::of_pid),
            engine,
        }
    }

    /// How many of the containers' cgroups were found.
    pub fn found(&self) -> usize {
        self.nodes.iter().flatten().count() + usize::from(self.shaper.is_some())
    }

    /// Everything, read now.
    pub fn sample(&self) -> CostSample {
        let at_s = self.start.elapsed().as_secs_f64();
        CostSample {
            at_s,
            cpu: CpuTimes::now(),
            engine_ticks: (self.engine.count() > 0).then(|| self.engine.cpu_ticks()),
            nodes: self
                .nodes
                .iter()
                .map(|c| c.as_ref().and_then(Cgroup::read))
                .collect(),
            nodes_net: self
                .node_pids
                .iter()
                .map(|p| p.and_then(NetBytes::of_pid))
                .collect(),
            shaper: self.shaper.as_ref().and_then(Cgroup::read),
            host_mem_bytes: mem_used(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_sampled_from_its_cgroup() {
        let sampler = CostSampler::new(&[Some(std::process::id()), None], None);
        assert_eq!(sampler.found(), 1);
        let (a, b) = (sampler.sample(), sampler.sample());
        assert!(b.at_s >= a.at_s);
        assert_eq!(a.nodes.len(), 2);
        assert!(a.nodes[0].is_some(), "{a:?}");
        assert_eq!(a.nodes[1], None);
        assert!(a.nodes_net[0].is_some(), "{a:?}");
        assert_eq!(a.nodes_net[1], None);
        assert!(a.cpu.is_some() && a.host_mem_bytes.is_some(), "{a:?}");
    }
}
