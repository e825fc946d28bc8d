//! What a run cost the host over its measurement window, part by part: the nodes, the
//! shaper, the container engine, the kernel's softirq work, the rest, and what stayed
//! idle; and the memory the nodes held. Computed from [`CostSample`]s taken through the
//! window (see [`super::sampler`]).

use serde::{Deserialize, Serialize};

use super::cgroup::CgroupUse;
use super::cpu::CpuTimes;
use super::engine::USER_HZ;
use super::netdev::NetBytes;

/// One container's cost over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerUsage {
    /// Container (node) name.
    pub name: String,
    /// Mean CPU use in percent of one core.
    pub cpu_percent_mean: Option<f64>,
    /// Peak CPU use in percent of one core (the busiest interval between samples).
    pub cpu_percent_peak: Option<f64>,
    /// Peak memory in bytes.
    pub mem_peak_bytes: Option<u64>,
    /// Bytes its interfaces received over the window (a node's network namespace, every
    /// interface but loopback); `None` for the shaper, where unreadable, and in results
    /// written before it was measured.
    #[serde(default)]
    pub net_rx_bytes: Option<u64>,
    /// Bytes its interfaces sent over the window; see `net_rx_bytes`.
    #[serde(default)]
    pub net_tx_bytes: Option<u64>,
}

/// The window's cost, in cores (1.0 = one CPU busy throughout) unless named otherwise.
/// A part is `None` where it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    /// How many CPUs the host has.
    pub host_cores: u32,
    /// Seconds between the first and the last sample.
    pub span_s: f64,
    /// Every node's CPU, summed (cgroup files: exact).
    pub nodes_cores: Option<f64>,
    /// `nodes_cores` per node.
    pub node_cores_mean: Option<f64>,
    /// The busiest node's mean over the window.
    pub node_cores_max: Option<f64>,
    /// The shaper container's CPU (cgroup files: exact).
    pub shaper_cores: Option<f64>,
    /// dockerd, containerd and the containerd-shims (`/proc/<pid>/stat`: tick-sampled).
    pub engine_cores: Option<f64>,
    /// The kernel's softirq time (`/proc/stat`: tick-sampled).
    pub softirq_cores: Option<f64>,
    /// Busy time none of the parts above account for, floored at 0.
    pub other_cores: Option<f64>,
    /// The share of the host's CPU time that was idle, 0..=1 (`/proc/stat` idle: exact).
    pub host_idle: Option<f64>,
    /// The nodes' memory, summed, at its peak sample (without inactive page cache).
    pub node_mem_bytes: Option<u64>,
    /// The most memory one node held at a sample.
    pub node_mem_max_bytes: Option<u64>,
    /// The host's peak memory in use (MemTotal − MemAvailable) at a sample.
    pub host_mem_peak_bytes: Option<u64>,
    /// Tasks running or waiting for a CPU (`procs_running`), mean over the samples: more
    /// than the host's cores means work waited for a CPU. Absent in older results.
    #[serde(default)]
    pub runnable_mean: Option<f64>,
    /// The most runnable tasks at a sample.
    #[serde(default)]
    pub runnable_peak: Option<u32>,
    /// The parts between consecutive samples, for the report's chart.
    #[serde(default)]
    pub series: Vec<CostPoint>,
}

/// The parts of [`Cost`] over one interval between samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostPoint {
    /// End of the interval, seconds after the first sample.
    pub at_s: f64,
    /// See [`Cost::nodes_cores`].
    pub nodes_cores: Option<f64>,
    /// See [`Cost::shaper_cores`].
    pub shaper_cores: Option<f64>,
    /// See [`Cost::engine_cores`].
    pub engine_cores: Option<f64>,
    /// See [`Cost::softirq_cores`].
    pub softirq_cores: Option<f64>,
    /// See [`Cost::other_cores`].
    pub other_cores: Option<f64>,
    /// See [`Cost::host_idle`].
    pub host_idle: Option<f64>,
}

/// Everything read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct CostSample {
    /// Seconds since some fixed start (monotonic).
    pub at_s: f64,
    /// The host's CPU times.
    pub cpu: Option<CpuTimes>,
    /// The engine's CPU ticks, `None` when no engine process was found.
    pub engine_ticks: Option<u64>,
    /// Each node's cgroup, in the sampler's order.
    pub nodes: Vec<Option<CgroupUse>>,
    /// Each node's interface counters, in the sampler's order.
    pub nodes_net: Vec<Option<NetBytes>>,
    /// The shaper's cgroup, if there is a shaper.
    pub shaper: Option<CgroupUse>,
    /// MemTotal − MemAvailable, bytes.
    pub host_mem_bytes: Option<u64>,
}

/// The parts between two samples.
fn parts(a: &CostSample, b: &CostSample) -> Option<CostPoint> {
    let dt = b.at_s - a.at_s;
    if dt <= 0.0 {
        return None;
    }
    let node_cores: Vec<Option<f64>> = a
        .nodes
        .iter()
        .zip(&b.nodes)
        .map(|(x, y)| cgroup_cores(x.as_ref(), y.as_ref(), dt))
        .collect();
    let measured: Vec<f64> = node_cores.iter().flatten().copied().collect();
    let nodes_cores = (!measured.is_empty()).then(|| measured.iter().sum::<f64>());
    let shaper_cores = cgroup_cores(a.shaper.as_ref(), b.shaper.as_ref(), dt);
    let engine_cores = match (a.engine_ticks, b.engine_ticks) {
        (Some(x), Some(y)) => Some(y.saturating_sub(x) as f64 / USER_HZ / dt),
        _ => None,
    };
    let (busy, softirq, idle) = match (&a.cpu, &b.cpu) {
        (Some(x), Some(y)) => {
            let cores = f64::from(y.cpus());
            let busy = x.busy_share_until(y);
            (
                busy.map(|s| s * cores),
                x.softirq_share_until(y).map(|s| s * cores),
                busy.map(|s| 1.0 - s),
            )
        }
        _ => (None, None, None),
    };
    let accounted: f64 = [nodes_cores, shaper_cores, engine_cores, softirq]
        .into_iter()
        .flatten()
        .sum();
    Some(CostPoint {
        at_s: b.at_s,
        nodes_cores,
        shaper_cores,
        engine_cores,
        softirq_cores: softirq,
        other_cores: busy.map(|b| (b - accounted).max(0.0)),
        host_idle: idle,
    })
}

/// A cgroup's CPU between two readings, in cores.
fn cgroup_cores(a: Option<&CgroupUse>, b: Option<&CgroupUse>, dt: f64) -> Option<f64> {
    let (a, b) = (a?, b?);
    Some(b.cpu_ns.checked_sub(a.cpu_ns)? as f64 / 1e9 / dt)
}

impl Cost {
    /// The whole window's parts as one point, at the end of the span.
    pub fn whole(&self) -> CostPoint {
        CostPoint {
            at_s: self.span_s,
            nodes_cores: self.nodes_cores,
            shaper_cores: self.shaper_cores,
            engine_cores: self.engine_cores,
            softirq_cores: self.softirq_cores,
            other_cores: self.other_cores,
            host_idle: self.host_idle,
        }
    }

    /// The cost over `samples` (in time order) and each container's usage (`names`: the
    /// nodes in the samples' order, then the shaper's name if there is one). `None` with
    /// fewer than two samples.
    pub fn from_samples(
        samples: &[CostSample],
        names: &[String],
    ) -> Option<(Self, Vec<ContainerUsage>)> {
        let (first, last) = (samples.first()?, samples.last()?);
        let mut whole = parts(first, last)?;
        let series: Vec<CostPoint> = samples
            .windows(2)
            .filter_map(|w| parts(&w[0], &w[1]))
            .map(|p| CostPoint {
                at_s: p.at_s - first.at_s,
                ..p
            })
            .collect();
        whole.at_s = last.at_s - first.at_s;
        let node_count = first.nodes.len();
        let usage = container_usage(samples, names, node_count);
        let node_means: Vec<f64> = usage[..node_count.min(usage.len())]
            .iter()
            .filter_map(|u| u.cpu_percent_mean)
            .map(|p| p / 100.0)
            .collect();
        let node_mem_sums = samples.iter().filter_map(|s| {
            let held: Vec<u64> = s.nodes.iter().flatten().map(|c| c.memory_bytes).collect();
            (!held.is_empty()).then(|| held.iter().sum::<u64>())
        });
        let runnable: Vec<u32> = samples
            .iter()
            .filter_map(|s| s.cpu.as_ref().and_then(CpuTimes::runnable))
            .collect();
        let cost = Cost {
            host_cores: last.cpu.as_ref().map_or(0, CpuTimes::cpus),
            span_s: whole.at_s,
            nodes_cores: whole.nodes_cores,
            node_cores_mean: whole
                .nodes_cores
                .filter(|_| !node_means.is_empty())
                .map(|sum| sum / node_means.len() as f64),
            node_cores_max: node_means.iter().copied().reduce(f64::max),
            shaper_cores: whole.shaper_cores,
            engine_cores: whole.engine_cores,
            softirq_cores: whole.softirq_cores,
            other_cores: whole.other_cores,
            host_idle: whole.host_idle,
            node_mem_bytes: node_mem_sums.max(),
            node_mem_max_bytes: samples
                .iter()
                .flat_map(|s| s.nodes.iter().flatten().map(|c| c.memory_bytes))
                .max(),
            host_mem_peak_bytes: samples.iter().filter_map(|s| s.host_mem_bytes).max(),
            runnable_mean: (!runnable.is_empty()).then(|| {
                runnable.iter().map(|&n| f64::from(n)).sum::<f64>() / runnable.len() as f64
            }),
            runnable_peak: runnable.iter().copied().max(),
            series,
        };
        Some((cost, usage))
    }
}

/// Each container's mean and peak CPU and peak memory over the samples.
fn container_usage(
    samples: &[CostSample],
    names: &[String],
    node_count: usize,
) -> Vec<ContainerUsage> {
    let reading = |s: &CostSample, i: usize| {
        if i < node_count {
            s.nodes.get(i).copied().flatten()
        } else {
            s.shaper
        }
    };
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let percent = |a: &CostSample, b: &CostSample| {
                cgroup_cores(
                    reading(a, i).as_ref(),
                    reading(b, i).as_ref(),
                    b.at_s - a.at_s,
                )
                .filter(|_| b.at_s > a.at_s)
                .map(|c| c * 100.0)
            };
            let (first, last) = (&samples[0], &samples[samples.len() - 1]);
            let net = |s: &CostSample| s.nodes_net.get(i).copied().flatten();
            let wire = match (net(first), net(last)) {
                (Some(a), Some(b)) if i < node_count => a.until(b),
                _ => None,
            };
            ContainerUsage {
                name: name.clone(),
                cpu_percent_mean: percent(first, last),
                cpu_percent_peak: samples
                    .windows(2)
                    .filter_map(|w| percent(&w[0], &w[1]))
                    .reduce(f64::max),
                mem_peak_bytes: samples
                    .iter()
                    .filter_map(|s| reading(s, i).map(|c| c.memory_bytes))
                    .max(),
                net_rx_bytes: wire.map(|w| w.rx_bytes),
                net_tx_bytes: wire.map(|w| w.tx_bytes),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample `at_s` seconds in: `cpu` is `/proc/stat`'s `cpu ` line after the name.
    fn sample(at_s: f64, cpu: &str, engine: u64, nodes: &[(u64, u64)], shaper: u64) -> CostSample {
        let use_of = |&(cpu_ns, memory_bytes): &(u64, u64)| {
            Some(CgroupUse {
                cpu_ns,
                memory_bytes,
            })
        };
        CostSample {
            at_s,
            cpu: CpuTimes::parse(&format!("cpu  {cpu}\ncpu0 0\ncpu1 0\n")),
            engine_ticks: Some(engine),
            nodes: nodes.iter().map(use_of).collect(),
            nodes_net: nodes
                .iter()
                .map(|&(cpu_ns, _)| {
                    Some(NetBytes {
                        rx_bytes: cpu_ns / 1000,
                        tx_bytes: cpu_ns / 2000,
                    })
                })
                .collect(),
            shaper: Some(CgroupUse {
                cpu_ns: shaper,
                memory_bytes: 10,
            }),
            host_mem_bytes: Some(1000 + at_s as u64),
        }
    }

    #[test]
    fn the_parts_add_up_to_the_busy_time() {
        // Two CPUs, 2 s: 400 ticks. 100 idle: busy 1.5 cores; softirq 20 ticks: 0.1 core.
        let a = sample(10.0, "0 0 0 0 0 0 0 0", 0, &[(0, 100), (0, 200)], 0);
        let m = sample(
            11.0,
            "100 0 20 50 0 0 10 0",
            40,
            &[(400_000_000, 300), (0, 100)],
            100_000_000,
        );
        let b = sample(
            12.0,
            "200 0 80 100 0 0 20 0",
            60,
            &[(1_000_000_000, 150), (200_000_000, 250)],
            200_000_000,
        );
        let names: Vec<String> = ["n0", "n1", "shaper"].map(String::from).to_vec();
        let (cost, usage) = Cost::from_samples(&[a, m, b], &names).expect("two samples");
        let close = |x: Option<f64>, want: f64| {
            let x = x.expect("measured");
            assert!((x - want).abs() < 1e-9, "{x} != {want}");
        };
        assert_eq!((cost.host_cores, cost.span_s), (2, 2.0));
        close(cost.nodes_cores, 0.6);
        close(cost.node_cores_mean, 0.3);
        close(cost.node_cores_max, 0.5);
        close(cost.shaper_cores, 0.1);
        close(cost.engine_cores, 0.3);
        close(cost.softirq_cores, 0.1);
        close(cost.other_cores, 1.5 - 0.6 - 0.1 - 0.3 - 0.1);
        close(cost.host_idle, 0.25);
        assert_eq!(cost.node_mem_bytes, Some(400));
        assert_eq!(cost.node_mem_max_bytes, Some(300));
        assert_eq!(cost.host_mem_peak_bytes, Some(1012));
        assert_eq!(cost.series.len(), 2);
        assert_eq!(cost.series[1].at_s, 2.0);
        close(cost.series[0].nodes_cores, 0.4);
        close(cost.series[1].engine_cores, 0.2);
        close(usage[0].cpu_percent_mean, 50.0);
        close(usage[0].cpu_percent_peak, 60.0);
        assert_eq!(usage[0].mem_peak_bytes, Some(300));
        assert_eq!(
            (usage[1].net_rx_bytes, usage[1].net_tx_bytes),
            (Some(200_000), Some(100_000))
        );
        assert_eq!(usage[2].net_rx_bytes, None);
        assert_eq!(usage[2].name, "shaper");
        close(usage[2].cpu_percent_mean, 10.0);
        assert_eq!(usage[2].mem_peak_bytes, Some(10));
    }

    #[test]
    fn other_is_floored_and_missing_readings_stay_missing() {
        // The nodes claim more than the busy time (tick sampling): other floors at 0.
        let a = sample(0.0, "0 0 0 0 0 0 0 0", 0, &[(0, 1)], 0);
        let mut b = sample(1.0, "10 0 0 190 0 0 0 0", 0, &[(1_000_000_000, 1)], 0);
        b.engine_ticks = None;
        b.shaper = None;
        let names: Vec<String> = ["n0", "shaper"].map(String::from).to_vec();
        let (cost, usage) = Cost::from_samples(&[a.clone(), b], &names).expect("two samples");
        assert_eq!(cost.other_cores, Some(0.0));
        assert_eq!((cost.engine_cores, cost.shaper_cores), (None, None));
        assert_eq!(usage[1].cpu_percent_mean, None);
        assert_eq!(Cost::from_samples(&[a], &names), None);
    }
}
