//! The container engine's own CPU time: dockerd, containerd and the containerd-shim
//! processes, from `utime + stime` in `/proc/<pid>/stat`. These are tick-sampled on our
//! VMs (the kernel charges a whole tick to whichever task it interrupts), so they are
//! rough over short spans; over a window of seconds they are good to a few percent.

/// Clock ticks per second of `/proc` times (`USER_HZ`, fixed at 100 by the kernel's ABI).
pub(super) const USER_HZ: f64 = 100.0;

/// The engine's processes, found once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct EngineProcesses {
    pids: Vec<u32>,
}

impl EngineProcesses {
    /// Every running dockerd, containerd and containerd-shim* process.
    pub(super) fn find() -> Self {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Self::default();
        };
        let pids = dir
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| is_engine(comm.trim()))
            })
            .collect();
        Self { pids }
    }

    /// How many processes were found.
    pub(super) fn count(&self) -> usize {
        self.pids.len()
    }

    /// Their CPU time so far, in clock ticks (processes that ended count nothing).
    pub(super) fn cpu_ticks(&self) -> u64 {
        self.pids
            .iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
            .filter_map(|text| stat_cpu_ticks(&text))
            .sum()
    }
}

/// Whether a process name (`comm`, at most 15 bytes) is the engine's.
fn is_engine(comm: &str) -> bool {
    comm == "dockerd" || comm == "containerd" || comm.starts_with("containerd-shim")
}

/// `utime + stime` of `/proc/<pid>/stat` text. The name field may hold spaces and
/// parentheses: the fields that follow start after the last `)`.
fn stat_cpu_ticks(text: &str) -> Option<u64> {
    let (_, rest) = text.rsplit_once(')')?;
    let cols: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = cols.get(11)?.parse().ok()?;
    let stime: u64 = cols.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_summed_whatever_the_name() {
        let text = "1462 (containerd) S 1446 1462 1446 0 -1 1077936384 5000 0 12 0 740 310 0 0 20 0 14 0 2100 2000000000 9000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        assert_eq!(stat_cpu_ticks(text), Some(1050));
        let odd = "77 (a) b (c)) R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1\n";
        assert_eq!(stat_cpu_ticks(odd), Some(11));
        assert_eq!(stat_cpu_ticks("77 (x) R 1\n"), None);
    }

    #[test]
    fn engine_names_are_recognised() {
        for name in [
            "dockerd",
            "containerd",
            "containerd-shim",
            "containerd-shim-runc-v2",
        ] {
            assert!(is_engine(name), "{name}");
        }
        for name in ["docker", "containerd2", "meshnode", "labshaper"] {
            assert!(!is_engine(name), "{name}");
        }
    }

    #[test]
    fn this_process_is_not_the_engine_and_finding_does_not_fail() {
        let found = EngineProcesses::find();
        assert!(!found.pids.contains(&std::process::id()));
        // Whatever was found reads (processes that ended count nothing).
        let _ = found.cpu_ticks();
    }
}
