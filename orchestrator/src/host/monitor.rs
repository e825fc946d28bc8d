//! Samples the host's memory and load while a run is in progress.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Peaks seen by a [`HostMonitor`] so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HostPeaks {
    /// Peak of MemTotal − MemAvailable, bytes.
    pub mem_bytes: Option<u64>,
    /// Peak 1-minute load average.
    pub load: Option<f64>,
}

/// A background task sampling /proc once a second until dropped.
#[derive(Debug)]
pub struct HostMonitor {
    mem: Arc<AtomicU64>,
    load_milli: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl HostMonitor {
    /// Starts sampling.
    pub fn start() -> Self {
        let mem = Arc::new(AtomicU64::new(0));
        let load_milli = Arc::new(AtomicU64::new(0));
        let (m, l) = (mem.clone(), load_milli.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                if let Some(used) = mem_used() {
                    m.fetch_max(used, Ordering::Relaxed);
                }
                if let Some(load) = load1() {
                    l.fetch_max((load * 1000.0) as u64, Ordering::Relaxed);
                }
            }
        });
        Self {
            mem,
            load_milli,
            task,
        }
    }

    /// The peaks so far.
    pub fn peaks(&self) -> HostPeaks {
        let mem = self.mem.load(Ordering::Relaxed);
        let load = self.load_milli.load(Ordering::Relaxed);
        HostPeaks {
            mem_bytes: (mem > 0).then_some(mem),
            load: (load > 0).then(|| load as f64 / 1000.0),
        }
    }
}

impl Drop for HostMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(super) fn mem_used() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_used(&text)
}

/// MemTotal − MemAvailable from /proc/meminfo text, in bytes.
fn parse_mem_used(text: &str) -> Option<u64> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()
    };
    Some(field("MemTotal:")?.saturating_sub(field("MemAvailable:")?) * 1024)
}

fn load1() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_is_parsed() {
        let text = "MemTotal:       1000 kB\nMemFree:  1 kB\nMemAvailable:    400 kB\n";
        assert_eq!(parse_mem_used(text), Some(600 * 1024));
        assert_eq!(parse_mem_used("nonsense"), None);
    }
}
