//! Resource use of a container, sampled once.

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use futures::StreamExt;

use super::error::DockerError;
use super::runner::DockerRunner;

/// One sample of a container's resource use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContainerStats {
    /// CPU time the container used since it started, in nanoseconds.
    pub cpu_total_ns: u64,
    /// CPU time the whole host used since boot, in nanoseconds (for percentages).
    pub host_cpu_total_ns: u64,
    /// Number of CPUs the host has online.
    pub online_cpus: u32,
    /// Memory in use, in bytes, without the reclaimable page cache (what `docker stats`
    /// shows).
    pub memory_bytes: u64,
}

impl ContainerStats {
    /// CPU use between `earlier` and this sample, in percent of one CPU (200 % = two
    /// CPUs busy), as `docker stats` computes it. `None` if the host clock did not move.
    pub fn cpu_percent_since(&self, earlier: &ContainerStats) -> Option<f64> {
        let host = self
            .host_cpu_total_ns
            .checked_sub(earlier.host_cpu_total_ns)?;
        if host == 0 {
            return None;
        }
        let used = self.cpu_total_ns.saturating_sub(earlier.cpu_total_ns);
        Some(used as f64 / host as f64 * f64::from(self.online_cpus.max(1)) * 100.0)
    }

    fn from_response(response: &ContainerStatsResponse) -> Self {
        let cpu = response.cpu_stats.as_ref();
        let memory = response.memory_stats.as_ref();
        let usage = memory.and_then(|m| m.usage).unwrap_or(0);
        // cgroup v1 reports `total_inactive_file`, v2 `inactive_file`; older engines
        // subtracted `cache`.
        let reclaimable = memory
            .and_then(|m| m.stats.as_ref())
            .and_then(|s| {
                s.get("total_inactive_file")
                    .or_else(|| s.get("inactive_file"))
                    .or_else(|| s.get("cache"))
                    .copied()
            })
            .unwrap_or(0);
        let online_cpus = cpu.and_then(|c| c.online_cpus).unwrap_or_else(|| {
            cpu.and_then(|c| c.cpu_usage.as_ref())
                .and_then(|u| u.percpu_usage.as_ref())
                .map_or(0, |per| u32::try_from(per.len()).unwrap_or(u32::MAX))
        });
        Self {
            cpu_total_ns: cpu
                .and_then(|c| c.cpu_usage.as_ref())
                .and_then(|u| u.total_usage)
                .unwrap_or(0),
            host_cpu_total_ns: cpu.and_then(|c| c.system_cpu_usage).unwrap_or(0),
            online_cpus,
            memory_bytes: usage.saturating_sub(reclaimable),
        }
    }
}

impl DockerRunner {
    /// One sample of a running container's resource use, taken at once (no waiting for
    /// a second sample: compare two with [`ContainerStats::cpu_percent_since`]).
    pub async fn stats_once(&self, id: &str) -> Result<ContainerStats, DockerError> {
        let options = StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(true)
            .build();
        let mut samples = self.client().stats(id, Some(options));
        match samples.next().await {
            Some(Ok(response)) => Ok(ContainerStats::from_response(&response)),
            Some(Err(e)) => Err(DockerError::engine(
                format!("read stats of container {id}"),
                e,
            )),
            None => Err(DockerError::engine(
                format!("read stats of container {id}"),
                bollard::errors::Error::DockerStreamError {
                    error: "the engine sent no sample".to_owned(),
                },
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_is_relative_to_the_host_and_scaled_by_cpus() {
        let a = ContainerStats {
            cpu_total_ns: 1_000,
            host_cpu_total_ns: 10_000,
            online_cpus: 2,
            memory_bytes: 0,
        };
        let b = ContainerStats {
            cpu_total_ns: 2_000,
            host_cpu_total_ns: 20_000,
            ..a
        };
        assert_eq!(b.cpu_percent_since(&a), Some(20.0));
        assert_eq!(a.cpu_percent_since(&a), None);
        assert_eq!(a.cpu_percent_since(&b), None);
    }

    #[test]
    fn memory_excludes_inactive_page_cache() {
        let response: ContainerStatsResponse = serde_json::from_value(serde_json::json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 5}, "system_cpu_usage": 9, "online_cpus": 2},
            "memory_stats": {"usage": 1000, "stats": {"total_inactive_file": 300, "cache": 400}}
        }))
        .unwrap();
        let stats = ContainerStats::from_response(&response);
        assert_eq!(stats.memory_bytes, 700);
        assert_eq!(stats.cpu_total_ns, 5);
        assert_eq!(stats.host_cpu_total_ns, 9);
        assert_eq!(stats.online_cpus, 2);
    }
}
