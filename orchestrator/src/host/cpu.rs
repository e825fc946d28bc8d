//! The host's CPU time from `/proc/stat`, to tell how busy the host was over a span. Only
//! the idle columns are trusted: on our VMs user, system and softirq time are
//! tick-sampled, idle time is not. The softirq column (the kernel's packet work, much of
//! it netem's) is read all the same, as the best figure there is for the kernel's share.

/// The host's cumulative CPU time, in clock ticks, at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// idle + iowait.
    idle: u64,
    /// Every column: user, nice, system, idle, iowait, irq, softirq, steal.
    total: u64,
    /// softirq (tick-sampled).
    softirq: u64,
    /// How many CPUs the host has (`cpuN` lines).
    cpus: u32,
    /// Tasks running or waiting for a CPU at this moment (`procs_running`, the reader
    /// itself included).
    runnable: Option<u32>,
}

impl CpuTimes {
    /// The host's CPU times now, or `None` when `/proc/stat` cannot be read.
    pub fn now() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// The first (`cpu `) line of `/proc/stat` text.
    pub(super) fn parse(text: &str) -> Option<Self> {
        let line = text.lines().find(|l| l.starts_with("cpu "))?;
        let cols: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|c| c.parse().ok())
            .collect::<Option<_>>()?;
        if cols.len() < 5 {
            return None;
        }
        let cpus = text
            .lines()
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count();
        Some(CpuTimes {
            idle: cols[3] + cols[4],
            total: cols.iter().sum(),
            softirq: cols.get(6).copied().unwrap_or(0),
            cpus: u32::try_from(cpus).unwrap_or(u32::MAX).max(1),
            runnable: text
                .lines()
                .find_map(|l| l.strip_prefix("procs_running "))
                .and_then(|n| n.trim().parse().ok()),
        })
    }

    /// Tasks running or waiting for a CPU when these times were read, if the kernel says.
    pub fn runnable(&self) -> Option<u32> {
        self.runnable
    }

    /// How many CPUs the host has.
    pub fn cpus(&self) -> u32 {
        self.cpus
    }

    /// The share of CPU time spent in softirq between `self` and `later`, in 0..=1;
    /// `None` when no time passed.
    pub fn softirq_share_until(&self, later: &CpuTimes) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        let softirq = later.softirq.checked_sub(self.softirq)?;
        (total > 0).then(|| softirq.min(total) as f64 / total as f64)
    }

    /// The share of CPU time that was not idle between `self` and `later`, in 0..=1;
    /// `None` when no time passed.
    pub fn busy_share_until(&self, later: &CpuTimes) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        let idle = later.idle.checked_sub(self.idle)?;
        (total > 0).then(|| 1.0 - (idle.min(total) as f64 / total as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_share_is_what_was_not_idle() {
        let a = CpuTimes::parse("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5\ncpu1 1 2 3 4 5\n");
        let b = CpuTimes::parse("cpu  400 0 90 1000 50 0 60 0 0 0\n");
        let (Some(a), Some(b)) = (a, b) else {
            panic!("parses");
        };
        // 600 ticks passed, 200 of them idle.
        let share = a.busy_share_until(&b).expect("time passed");
        assert!((share - 400.0 / 600.0).abs() < 1e-9, "{share}");
        assert_eq!(a.busy_share_until(&a), None);
        assert_eq!(b.busy_share_until(&a), None);
        assert_eq!(CpuTimes::parse("intr 1 2 3\n"), None);
        let softirq = a.softirq_share_until(&b).expect("time passed");
        assert!((softirq - 60.0 / 600.0).abs() < 1e-9, "{softirq}");
        assert_eq!((a.cpus(), b.cpus()), (2, 1));
        assert_eq!(a.runnable(), None);
        let c = CpuTimes::parse("cpu  1 0 1 1 1 0 0 0\nprocs_running 7\nprocs_blocked 0\n");
        assert_eq!(c.and_then(|c| c.runnable()), Some(7));
    }
}
