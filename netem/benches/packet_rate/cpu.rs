//! CPU figures: the host's busy time from `/proc/stat` (idle is exact on our VMs, the
//! user/system split is tick-sampled, so only busy = total - idle - iowait is used), and a
//! process's own on-CPU time from the scheduler (`/proc/PID/task/*/schedstat`, in ns).

use std::fs;

/// `/proc/stat`'s first line, in clock ticks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HostTicks {
    busy: u64,
}

/// Clock ticks per second (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

impl HostTicks {
    /// Reads the aggregate `cpu` line.
    pub(crate) fn read() -> Result<Self, String> {
        let stat = fs::read_to_string("/proc/stat")
            .map_err(|e| format!("failed to read /proc/stat: {e}"))?;
        let line = stat.lines().next().unwrap_or_default();
        let cols: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|c| c.parse().ok())
            .collect();
        if cols.len() < 5 {
            return Err(format!("failed to parse /proc/stat: {line:?}"));
        }
        let total: u64 = cols.iter().take(8).sum();
        Ok(Self {
            busy: total - cols[3] - cols[4],
        })
    }

    /// Busy CPU-seconds between `self` and a later reading.
    pub(crate) fn busy_secs_until(&self, later: &Self) -> f64 {
        later.busy.saturating_sub(self.busy) as f64 / TICKS_PER_SEC
    }
}

/// On-CPU nanoseconds of every thread of `pid` (0 when it is gone).
pub(crate) fn process_cpu_ns(pid: u32) -> u64 {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.flatten()
        .filter_map(|task| fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}
