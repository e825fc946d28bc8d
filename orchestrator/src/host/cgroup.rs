//! A container's CPU time and memory from its cgroup files, found from the container's
//! main process (`/proc/<pid>/cgroup`), for cgroup v1 (`cpuacct.usage`,
//! `memory.usage_in_bytes`) and v2 (`cpu.stat`, `memory.current`). The kernel counts a
//! cgroup's CPU time in nanoseconds, not in ticks: these figures are exact.

use std::path::{Path, PathBuf};

/// Where cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One sample of a cgroup's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupUse {
    /// CPU time used since the cgroup was made, in nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use without the reclaimable (inactive) page cache, in bytes, as
    /// `docker stats` shows it.
    pub memory_bytes: u64,
}

/// The cgroup files of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cgroup {
    /// cgroup v1: one folder per controller.
    V1 {
        /// The `cpuacct` controller's folder.
        cpuacct: PathBuf,
        /// The `memory` controller's folder.
        memory: PathBuf,
    },
    /// cgroup v2: one folder.
    V2(PathBuf),
}

impl Cgroup {
    /// The cgroup of process `pid`, or `None` when its `/proc/<pid>/cgroup` cannot be
    /// read or names neither hierarchy.
    pub(super) fn of_pid(pid: u32) -> Option<Self> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        Self::parse(&text, Path::new(CGROUP_ROOT))
    }

    /// The cgroup named by `/proc/<pid>/cgroup` text, under `root`. The v1 controllers win
    /// when they are mounted (a hybrid host also lists an empty v2 line).
    fn parse(text: &str, root: &Path) -> Option<Self> {
        let mut cpuacct = None;
        let mut memory = None;
        let mut unified = None;
        for line in text.lines() {
            let mut cols = line.splitn(3, ':');
            let (Some(_), Some(controllers), Some(path)) = (cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            let rel = path.trim_start_matches('/');
            if controllers.is_empty() {
                unified = Some(root.join(rel));
            }
            for c in controllers.split(',') {
                match c {
                    "cpuacct" => cpuacct = Some(root.join(controllers).join(rel)),
                    "memory" => memory = Some(root.join(controllers).join(rel)),
                    _ => {}
                }
            }
        }
        match (cpuacct, memory, unified) {
            (Some(cpuacct), Some(memory), _) => Some(Cgroup::V1 { cpuacct, memory }),
            (None, None, Some(dir)) => Some(Cgroup::V2(dir)),
            _ => None,
        }
    }

    /// The cgroup's use now, or `None` when a file cannot be read (the container ended).
    pub(super) fn read(&self) -> Option<CgroupUse> {
        let read = |dir: &Path, file: &str| std::fs::read_to_string(dir.join(file)).ok();
        match self {
            Cgroup::V1 { cpuacct, memory } => Some(CgroupUse {
                cpu_ns: read(cpuacct, "cpuacct.usage")?.trim().parse().ok()?,
                memory_bytes: memory_without_cache(
                    &read(memory, "memory.usage_in_bytes")?,
                    &read(memory, "memory.stat")?,
                    "total_inactive_file",
                )?,
            }),
            Cgroup::V2(dir) => Some(CgroupUse {
                cpu_ns: v2_cpu_ns(&read(dir, "cpu.stat")?)?,
                memory_bytes: memory_without_cache(
                    &read(dir, "memory.current")?,
                    &read(dir, "memory.stat")?,
                    "inactive_file",
                )?,
            }),
        }
    }
}

/// `usage_usec` of v2 `cpu.stat` text, in nanoseconds.
fn v2_cpu_ns(cpu_stat: &str) -> Option<u64> {
    stat_field(cpu_stat, "usage_usec")?.checked_mul(1000)
}

/// A usage file's bytes less the stat file's `inactive` field.
fn memory_without_cache(usage: &str, stat: &str, inactive: &str) -> Option<u64> {
    let usage: u64 = usage.trim().parse().ok()?;
    Some(usage.saturating_sub(stat_field(stat, inactive).unwrap_or(0)))
}

/// The value of `name` in `name value` lines.
fn stat_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (key, value) = l.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_PROC: &str = "12:pids:/docker/abc\n4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n";
    const V2_PROC: &str = "0::/system.slice/docker-abc.scope\n";

    #[test]
    fn v1_paths_are_per_controller_and_win_over_the_empty_v2_line() {
        let root = Path::new("/sys/fs/cgroup");
        assert_eq!(
            Cgroup::parse(V1_PROC, root),
            Some(Cgroup::V1 {
                cpuacct: PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/docker/abc"),
                memory: PathBuf::from("/sys/fs/cgroup/memory/docker/abc"),
            })
        );
        assert_eq!(
            Cgroup::parse(V2_PROC, root),
            Some(Cgroup::V2(PathBuf::from(
                "/sys/fs/cgroup/system.slice/docker-abc.scope"
            )))
        );
        assert_eq!(Cgroup::parse("nonsense\n", root), None);
    }

    #[test]
    fn this_process_has_a_cgroup() {
        assert!(Cgroup::of_pid(std::process::id()).is_some());
    }

    #[test]
    fn usage_files_of_both_versions_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write("cpuacct/docker/abc/cpuacct.usage", "123456789\n");
        write("memory/docker/abc/memory.usage_in_bytes", "1000000\n");
        write(
            "memory/docker/abc/memory.stat",
            "cache 500000\ninactive_file 9\ntotal_inactive_file 300000\n",
        );
        let v1 =
            Cgroup::parse("4:memory:/docker/abc\n2:cpuacct:/docker/abc\n", dir.path()).expect("v1");
        assert_eq!(
            v1.read(),
            Some(CgroupUse {
                cpu_ns: 123_456_789,
                memory_bytes: 700_000
            })
        );
        write(
            "sys/docker-abc.scope/cpu.stat",
            "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
        );
        write("sys/docker-abc.scope/memory.current", "4096\n");
        write(
            "sys/docker-abc.scope/memory.stat",
            "anon 3000\ninactive_file 1096\n",
        );
        let v2 = Cgroup::parse("0::/sys/docker-abc.scope\n", dir.path()).expect("v2");
        assert_eq!(
            v2.read(),
            Some(CgroupUse {
                cpu_ns: 2_500_000,
                memory_bytes: 3000
            })
        );
        std::fs::remove_file(dir.path().join("sys/docker-abc.scope/cpu.stat")).expect("rm");
        assert_eq!(v2.read(), None, "a vanished cgroup reads as nothing");
    }
}
