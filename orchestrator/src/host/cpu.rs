//! The host's CPU time from `/proc/stat`, to tell how busy the host was over a span. Only
//! the idle columns are trusted: on our VMs user and system time are tick-sampled, idle
//! time is not.

/// The host's cumulative CPU time, in clock ticks, at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// idle + iowait.
    idle: u64,
    /// Every column: user, nice, system, idle, iowait, irq, softirq, steal.
    total: u64,
}

impl CpuTimes {
    /// The host's CPU times now, or `None` when `/proc/stat` cannot be read.
    pub fn now() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// The first (`cpu `) line of `/proc/stat` text.
    fn parse(text: &str) -> Option<Self> {
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
        Some(CpuTimes {
            idle: cols[3] + cols[4],
            total: cols.iter().sum(),
        })
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
        let a = CpuTimes::parse("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5\n");
        let b = CpuTimes::parse("cpu  400 0 150 1000 50 0 0 0 0 0\n");
        let (Some(a), Some(b)) = (a, b) else {
            panic!("parses");
        };
        // 600 ticks passed, 200 of them idle.
        let share = a.busy_share_until(&b).expect("time passed");
        assert!((share - 400.0 / 600.0).abs() < 1e-9, "{share}");
        assert_eq!(a.busy_share_until(&a), None);
        assert_eq!(b.busy_share_until(&a), None);
        assert_eq!(CpuTimes::parse("intr 1 2 3\n"), None);
    }
}
