//! The host itself: samples memory and load while a run is in progress, and raises the
//! kernel's neighbour-table limits that a large testnet would overflow.

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

fn mem_used() -> Option<u64> {
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

/// The kernel's IPv4 neighbour (ARP) table thresholds; every container namespace on the
/// host shares them.
const GC_THRESH: [&str; 3] = [
    "/proc/sys/net/ipv4/neigh/default/gc_thresh1",
    "/proc/sys/net/ipv4/neigh/default/gc_thresh2",
    "/proc/sys/net/ipv4/neigh/default/gc_thresh3",
];

/// Neighbour entries a testnet of `nodes` needs at most: every node may talk to every
/// other node, up to its connection limit (spec §4.4: 100), plus slack.
pub fn neighbour_entries_needed(nodes: usize) -> u64 {
    (nodes as u64) * (nodes.min(100) as u64) + 1024
}

/// Raises gc_thresh1/2/3 so that `needed` entries fit (1/4, 1/2 and all of it); never
/// lowers them. Returns a line saying what changed, if anything. At 100 nodes the default
/// 1024 overflows ("neighbor table overflow"), ARP fails and most nodes never connect.
pub fn ensure_neighbour_table(needed: u64) -> Result<Option<String>, String> {
    let read = |p: &str| -> Result<u64, String> {
        std::fs::read_to_string(p)
            .map_err(|e| format!("read {p}: {e}"))?
            .trim()
            .parse::<u64>()
            .map_err(|e| format!("parse {p}: {e}"))
    };
    let current = read(GC_THRESH[2])?;
    if current >= needed {
        return Ok(None);
    }
    let wanted = [needed / 4, needed / 2, needed];
    // Raise the top first so that thresh1 <= thresh2 <= thresh3 holds at every step.
    for (path, value) in GC_THRESH.iter().zip(wanted).rev() {
        if read(path)? < value {
            std::fs::write(path, value.to_string()).map_err(|e| {
                format!(
                    "raise {path} to {value} ({e}); a testnet this size overflows the neighbour table: run as root, or raise it with sysctl"
                )
            })?;
        }
    }
    Ok(Some(format!(
        "raised the host's neighbour table (net.ipv4.neigh.default.gc_thresh3) from {current} to {needed} entries"
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hundred_nodes_need_more_than_the_default_table() {
        assert!(super::neighbour_entries_needed(100) > 1024);
        assert!(super::neighbour_entries_needed(10) <= 1124);
    }

    use super::*;

    #[test]
    fn meminfo_is_parsed() {
        let text = "MemTotal:       1000 kB\nMemFree:  1 kB\nMemAvailable:    400 kB\n";
        assert_eq!(parse_mem_used(text), Some(600 * 1024));
        assert_eq!(parse_mem_used("nonsense"), None);
    }
}
