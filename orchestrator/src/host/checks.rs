//! What a run needs from its host, checked: `orchestrator doctor` prints every check, and
//! `orchestrator run` performs the same checks (with the scenario's needs) before it
//! starts anything and stops at the first that fails.

use std::fmt;
use std::process::{Command, Stdio};

use super::bridges;
use super::congestion::{self, Decision, HostCongestion};
use super::demand::{Demand, FAITHFUL_BUSY};
use super::neighbour;
use crate::docker::DockerRunner;
use crate::scenario::dilation::{AUTO_BUSY, fitting};

/// Memory a node container needs on the host, with its share of the engine and the
/// shaper: measured per node, 6-8 MiB of the node's own (up to 17 with a full fetch store
/// at 40 msg/s), ~4.5 MiB of shim, fuse-overlayfs and kernel outside its cgroup, and its
/// events file's page cache; the node binary is one shared copy (`run::events_dir`). A
/// 100-node `baseline-100.toml` run peaked ~1.1 GiB above an idle host.
pub const NODE_MEMORY_BYTES: u64 = 20 << 20;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but figures or behaviour may suffer; the line says how.
    Warn,
    /// A run cannot work.
    Fail,
}

/// One check's line.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What the host has, and what it means.
    pub detail: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        write!(f, "{s}  {:<20} {}", self.name, self.detail)
    }
}

/// What a scenario asks of the host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Needs {
    /// Nodes in all.
    pub nodes: usize,
    /// Messages a second every node handles ([`crate::plan::Plan::topic_rate`]).
    pub rate_per_sec: f64,
    /// Whether links are shaped.
    pub shaped: bool,
    /// Whether the scenario insists on kernel shaping (`shaper = "kernel"`).
    pub kernel_only: bool,
    /// The scenario guard's busy share, beyond which the run is distorted.
    pub host_busy: f64,
    /// The run's time scale (1: real time): its demand is the real-time one over it.
    pub time_scale: f64,
    /// Bridge networks the run spreads its nodes over (`plan::Bridges`).
    pub bridges: usize,
    /// Most nodes on one of them.
    pub nodes_per_bridge: usize,
}

impl Needs {
    /// What a planned run asks of the host.
    pub fn of(plan: &crate::plan::Plan) -> Self {
        Needs {
            nodes: plan.nodes.len(),
            rate_per_sec: plan.topic_rate(),
            shaped: plan.shapes_in_run(),
            kernel_only: plan.shaper == crate::scenario::profile::ShaperChoice::Kernel,
            host_busy: plan.guard.host_busy,
            time_scale: plan.time_scale.factor(),
            bridges: plan.bridges.count,
            nodes_per_bridge: plan.bridges.nodes_per_bridge,
        }
    }
}

/// The host, as read.
#[derive(Debug, Clone)]
pub struct Host {
    /// Engine version and negotiated API version, or why the engine was not reached.
    pub engine: Result<(String, String), String>,
    /// Whether this process runs as root.
    pub root: bool,
    /// Whether the kernel has netem: `None` when it could not be probed.
    pub netem: Option<bool>,
    /// Whether the kernel has NFQUEUE (nfnetlink_queue) loaded or built in: `false` may
    /// still mean a module the kernel loads on first use.
    pub nfqueue: bool,
    /// Congestion-control settings.
    pub congestion: Result<HostCongestion, String>,
    /// The neighbour table's limit (gc_thresh3).
    pub neighbour_limit: Result<u64, String>,
    /// Whether the host forwards IPv4 (`net.ipv4.ip_forward`), which routing between a
    /// run's bridges needs.
    pub ip_forward: Result<bool, String>,
    /// Whether `iptables` reads Docker's `DOCKER-USER` chain here (the rules in it), which
    /// routing between a run's bridges needs.
    pub iptables: Result<usize, String>,
    /// CPU cores this process may use.
    pub cores: usize,
    /// MemTotal and MemAvailable, bytes.
    pub memory: Option<(u64, u64)>,
}

impl Host {
    /// Reads everything (the engine through `runner`, when there is one).
    pub async fn inspect(runner: Option<&DockerRunner>) -> Host {
        let engine = match runner {
            Some(r) => r.engine_version().await.map_err(|e| e.to_string()),
            None => match DockerRunner::connect().await {
                Ok(r) => r.engine_version().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
        };
        Host {
            engine,
            root: effective_uid() == Some(0),
            netem: probe_netem(),
            nfqueue: std::path::Path::new("/proc/net/netfilter/nfnetlink_queue").exists()
                || std::path::Path::new("/sys/module/nfnetlink_queue").exists(),
            congestion: HostCongestion::read(),
            neighbour_limit: neighbour::table_limit(),
            ip_forward: bridges::ip_forward(),
            iptables: bridges::probe(),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            memory: memory(),
        }
    }

    /// The most nodes this host carries with faithful links at `rate` msg/s, by CPU and
    /// by memory.
    pub fn faithful_nodes(&self, rate: f64) -> usize {
        self.faithful_nodes_dilated(rate, 1.0)
    }

    /// [`Host::faithful_nodes`] on a testnet dilated by `k`: k times the CPU, the same
    /// memory.
    pub fn faithful_nodes_dilated(&self, rate: f64, k: f64) -> usize {
        let cpu = Demand::most_nodes(rate, self.cores, FAITHFUL_BUSY * k.max(1.0));
        let mem = self.memory.map_or(usize::MAX, |(_, avail)| {
            (avail / NODE_MEMORY_BYTES) as usize
        });
        cpu.min(mem)
    }

    /// Every check, for `needs` when a scenario is given.
    pub fn checks(&self, needs: Option<Needs>) -> Vec<Check> {
        let mut out = Vec::new();
        let mut push = |name, status, detail: String| {
            out.push(Check {
                name,
                status,
                detail,
            })
        };
        match &self.engine {
            Ok((v, api)) => push("docker engine", Status::Ok, format!("{v}, API {api}")),
            Err(e) => push("docker engine", Status::Fail, format!("not reachable: {e}")),
        }
        push(
            "root",
            if self.root { Status::Ok } else { Status::Warn },
            if self.root {
                "yes: the run may raise host limits it needs".into()
            } else {
                "no: host limits (neighbour table, congestion control) cannot be raised".into()
            },
        );
        let shaped = needs.is_none_or(|n| n.shaped);
        let kernel_only = needs.is_some_and(|n| n.kernel_only);
        match (self.netem, self.nfqueue) {
            (Some(true), _) => push("netem", Status::Ok, "present: kernel shaping".into()),
            (Some(false), _) if kernel_only && shaped => push(
                "netem",
                Status::Fail,
                "absent, and the scenario asks for kernel shaping (shaper = \"kernel\"): use \"auto\" or \"userspace\"".into(),
            ),
            (netem, true) => push(
                "netem",
                Status::Ok,
                format!(
                    "{}: links are shaped in user space (NFQUEUE, ~4 µs of host CPU a packet at 20k packets/s)",
                    if netem.is_none() { "not probed (no tc or unshare here)" } else { "absent" }
                ),
            ),
            // NFQUEUE may be a module the kernel loads when the shaper binds its queue:
            // the shaper reports it if it cannot, so this only warns.
            (_, false) => push(
                "netem",
                Status::Warn,
                "not found, and NFQUEUE not loaded: shaping may fail (the shaper then says so)".into(),
            ),
        }
        push(
            "nfqueue",
            if self.nfqueue {
                Status::Ok
            } else {
                Status::Warn
            },
            if self.nfqueue {
                "present (the user-space shaper's queue)".into()
            } else {
                "absent: no user-space shaping".into()
            },
        );
        match &self.congestion {
            Ok(h) => {
                let allowed = h.allowed.join(" ");
                let (status, what) = match congestion::decide(h, congestion::WANTED) {
                    Decision::Use(a) => (Status::Ok, format!("nodes use {a}")),
                    Decision::Allow { .. } if self.root => (
                        Status::Ok,
                        format!("{} not allowed yet: a run adds it", congestion::WANTED),
                    ),
                    Decision::Allow { .. } | Decision::HostDefault => (
                        Status::Warn,
                        format!(
                            "{} unavailable: nodes use the host default {}{}",
                            congestion::WANTED,
                            h.default,
                            congestion::cost_of(&h.default)
                        ),
                    ),
                };
                push(
                    "congestion control",
                    status,
                    format!("allowed `{allowed}`, default {}: {what}", h.default),
                );
            }
            Err(e) => push("congestion control", Status::Warn, format!("unknown: {e}")),
        }
        match &self.neighbour_limit {
            Ok(limit) => {
                let detail = match needs {
                    Some(n) => {
                        let need = neighbour::neighbour_entries_needed(n.nodes);
                        let raise = if need <= *limit {
                            ""
                        } else if self.root {
                            ": a run raises it"
                        } else {
                            ": raise net.ipv4.neigh.default.gc_thresh3, or run as root"
                        };
                        (
                            if need > *limit && !self.root {
                                Status::Fail
                            } else {
                                Status::Ok
                            },
                            format!("gc_thresh3 {limit}; {} nodes need {need}{raise}", n.nodes),
                        )
                    }
                    None => (
                        Status::Ok,
                        format!(
                            "gc_thresh3 {limit}; N nodes need N·min(N, 100) + 1024 entries, and a run raises it (root)"
                        ),
                    ),
                };
                push("neighbour table", detail.0, detail.1);
            }
            Err(e) => push("neighbour table", Status::Warn, format!("unknown: {e}")),
        }
        let (status, detail) = self.bridges_check(needs);
        push("bridges", status, detail);
        let mem = self
            .memory
            .map_or("memory unknown".into(), |(total, avail)| {
                format!(
                    "{:.1} GiB memory ({:.1} GiB available)",
                    gib(total),
                    gib(avail)
                )
            });
        push(
            "cores and memory",
            Status::Ok,
            format!("{} cores, {mem}", self.cores),
        );
        if let (Some(n), Some((_, avail))) = (needs, self.memory) {
            let want = n.nodes as u64 * NODE_MEMORY_BYTES;
            if want > avail {
                push(
                    "memory for nodes",
                    Status::Fail,
                    format!(
                        "{} nodes need ~{:.1} GiB ({} MiB each); {:.1} GiB available",
                        n.nodes,
                        gib(want),
                        NODE_MEMORY_BYTES >> 20,
                        gib(avail)
                    ),
                );
            }
        }
        let largest = |rate: f64| self.faithful_nodes(rate);
        match needs {
            Some(n) => {
                let real_time = Demand::estimate(n.nodes, n.rate_per_sec, self.cores);
                let demand = real_time.dilated(n.time_scale);
                let over = demand.busy_share() > n.host_busy;
                let scale = if n.time_scale > 1.0 {
                    format!(" at time scale {}", n.time_scale)
                } else {
                    String::new()
                };
                push(
                    "cpu demand",
                    if over { Status::Warn } else { Status::Ok },
                    if over {
                        format!(
                            "{demand}{scale}: above the guard's {:.0} %, the run will likely be distorted (exit 5); ~{} nodes fit at this rate in real time, or dilate: time_scale = {} (or \"auto\") fits",
                            n.host_busy * 100.0,
                            Demand::most_nodes(n.rate_per_sec, self.cores, n.host_busy),
                            fitting(real_time.busy_share(), AUTO_BUSY)
                        )
                    } else {
                        format!("{demand}{scale}")
                    },
                );
                let most = self.faithful_nodes_dilated(n.rate_per_sec, n.time_scale);
                push(
                    "largest testnet",
                    if n.nodes > most {
                        Status::Warn
                    } else {
                        Status::Ok
                    },
                    format!(
                        "~{most} nodes at {} msg/s{scale} with faithful links (estimate); this scenario has {}{}",
                        n.rate_per_sec,
                        n.nodes,
                        if n.nodes > most {
                            ": expect host-distorted latency figures"
                        } else {
                            ""
                        }
                    ),
                );
            }
            None => push(
                "largest testnet",
                Status::Ok,
                format!(
                    "~{} nodes at 1 msg/s, ~{} at 5 msg/s with faithful links (estimate from runs on 2-core hosts)",
                    largest(1.0),
                    largest(5.0)
                ),
            ),
        }
        out
    }
}

impl Host {
    /// The `bridges` line: how many bridge networks the run takes, and whether the host
    /// can route between them when there are several.
    fn bridges_check(&self, needs: Option<Needs>) -> (Status, String) {
        let limit = format!(
            "a Linux bridge holds at most 1024 ports, a run puts at most {} nodes on one",
            needs.map_or(crate::plan::NODES_PER_BRIDGE, |n| n.nodes_per_bridge)
        );
        // What routing between bridges lacks here, if anything.
        let lacking = match (&self.ip_forward, &self.iptables) {
            (Ok(true), Ok(_)) => None,
            (Ok(false), _) => Some(
                "net.ipv4.ip_forward is 0 (dockerd --ip-forward=false?): `sysctl -w net.ipv4.ip_forward=1`".to_string(),
            ),
            (Err(e), _) => Some(format!("ip_forward unknown: {e}")),
            (_, Err(e)) => Some(format!("iptables cannot read {}: {e}", bridges::CHAIN)),
        };
        let routing = "routed by the host (ip_forward 1, one DOCKER-USER rule a run)";
        match needs {
            Some(n) if n.bridges <= 1 => (
                Status::Ok,
                format!("{} nodes on 1 network ({limit})", n.nodes),
            ),
            Some(n) => {
                let table = format!(
                    "the neighbour table must hold {} entries{}",
                    neighbour::neighbour_entries_needed(n.nodes),
                    match &self.neighbour_limit {
                        Ok(l) if *l >= neighbour::neighbour_entries_needed(n.nodes) => {
                            " (it does)"
                        }
                        _ if self.root => " (a run raises it)",
                        _ => " (see `neighbour table`)",
                    }
                );
                match lacking {
                    None => (
                        Status::Ok,
                        format!(
                            "{} nodes on {} networks ({limit}), {routing}; {table}",
                            n.nodes, n.bridges
                        ),
                    ),
                    Some(why) => (
                        Status::Fail,
                        format!(
                            "{} nodes need {} networks ({limit}), and routing between them fails here: {why}",
                            n.nodes, n.bridges
                        ),
                    ),
                }
            }
            None => match lacking {
                None => (
                    Status::Ok,
                    format!("{limit}; larger runs take several networks, {routing}"),
                ),
                Some(why) => (
                    Status::Warn,
                    format!(
                        "{limit}; larger runs take several networks, and routing between them fails here: {why}"
                    ),
                ),
            },
        }
    }
}

/// The first failed check, if any.
pub fn first_failure(checks: &[Check]) -> Option<&Check> {
    checks.iter().find(|c| c.status == Status::Fail)
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

fn memory() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    };
    Some((field("MemTotal:")?, field("MemAvailable:")?))
}

/// The effective uid, from /proc/self/status.
fn effective_uid() -> Option<u32> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Whether the kernel has netem: adds a netem qdisc to the loopback of a throw-away
/// network namespace (`unshare -n`, root). `None` when the tools are missing or the probe
/// could not run.
fn probe_netem() -> Option<bool> {
    let status = Command::new("unshare")
        .args([
            "-n", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    // 127: tc missing inside unshare; 1 with EPERM when not root: both unknown.
    match status.code() {
        Some(0) => Some(true),
        Some(2) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            engine: Ok(("20.10.24".into(), "1.41".into())),
            root: true,
            netem: Some(false),
            nfqueue: true,
            congestion: Ok(HostCongestion {
                available: vec!["reno".into(), "bbr".into(), "cubic".into()],
                allowed: vec!["reno".into(), "bbr".into()],
                default: "bbr".into(),
            }),
            neighbour_limit: Ok(1024),
            ip_forward: Ok(true),
            iptables: Ok(1),
            cores: 2,
            memory: Some((24 << 30, 23 << 30)),
        }
    }

    fn needs(nodes: usize) -> Option<Needs> {
        Some(Needs {
            nodes,
            rate_per_sec: 5.0,
            shaped: true,
            kernel_only: false,
            host_busy: 0.85,
            time_scale: 1.0,
            bridges: nodes.div_ceil(crate::plan::NODES_PER_BRIDGE),
            nodes_per_bridge: crate::plan::NODES_PER_BRIDGE,
        })
    }

    #[test]
    fn our_machine_passes_with_a_note_on_scale() {
        let checks = host().checks(needs(10));
        assert_eq!(first_failure(&checks), None, "{checks:?}");
        let big = host().checks(needs(100));
        let largest = big
            .iter()
            .find(|c| c.name == "largest testnet")
            .expect("line");
        assert_eq!(largest.status, Status::Warn, "{largest}");
        let demand = |checks: &[Check]| {
            checks
                .iter()
                .find(|c| c.name == "cpu demand")
                .cloned()
                .expect("line")
        };
        let over = demand(&big);
        assert_eq!(over.status, Status::Warn, "{over}");
        assert!(over.detail.contains("distorted (exit 5)"), "{over}");
        assert!(over.detail.contains("time_scale = 7.25 "), "{over}");
        assert_eq!(demand(&host().checks(needs(10))).status, Status::Ok);
        // Dilated by the suggested scale, the same run fits.
        let dilated = host().checks(Some(Needs {
            time_scale: 7.25,
            ..needs(100).expect("needs")
        }));
        let fits = demand(&dilated);
        assert_eq!(fits.status, Status::Ok, "{fits}");
        assert!(fits.detail.contains("at time scale 7.25"), "{fits}");
    }

    #[test]
    fn an_unreachable_engine_fails() {
        let mut h = host();
        h.engine = Err("connection refused".into());
        let checks = h.checks(needs(10));
        assert_eq!(
            first_failure(&checks).map(|c| c.name),
            Some("docker engine")
        );
    }

    #[test]
    fn kernel_shaping_without_netem_fails_and_an_unloaded_nfqueue_only_warns() {
        let kernel = Some(Needs {
            kernel_only: true,
            ..needs(10).expect("needs")
        });
        assert_eq!(
            first_failure(&host().checks(kernel)).map(|c| c.name),
            Some("netem")
        );
        let mut h = host();
        h.nfqueue = false;
        let checks = h.checks(needs(10));
        assert_eq!(first_failure(&checks), None);
        let netem = checks.iter().find(|c| c.name == "netem").expect("line");
        assert_eq!(netem.status, Status::Warn);
    }

    #[test]
    fn too_many_nodes_for_memory_or_an_unraisable_table_fail() {
        let mut h = host();
        h.memory = Some((4 << 30, 1 << 30));
        assert_eq!(
            first_failure(&h.checks(needs(100))).map(|c| c.name),
            Some("memory for nodes")
        );
        let mut h = host();
        h.root = false;
        assert_eq!(
            first_failure(&h.checks(needs(100))).map(|c| c.name),
            Some("neighbour table")
        );
    }

    #[test]
    fn a_run_of_several_bridges_needs_forwarding_and_iptables() {
        let line = |h: &Host, n: Option<Needs>| {
            h.checks(n)
                .into_iter()
                .find(|c| c.name == "bridges")
                .expect("line")
        };
        let small = line(&host(), needs(100));
        assert_eq!(small.status, Status::Ok, "{small}");
        assert!(small.detail.contains("100 nodes on 1 network"), "{small}");
        let big = line(&host(), needs(1000));
        assert_eq!(big.status, Status::Ok, "{big}");
        assert!(big.detail.contains("1000 nodes on 2 networks"), "{big}");
        assert!(big.detail.contains("at most 500 nodes on one"), "{big}");
        assert!(big.detail.contains("a run raises it"), "{big}");

        let mut h = host();
        h.ip_forward = Ok(false);
        assert_eq!(line(&h, needs(100)).status, Status::Ok);
        let no_forward = line(&h, needs(1000));
        assert_eq!(no_forward.status, Status::Fail, "{no_forward}");
        assert!(
            no_forward.detail.contains("ip_forward is 0"),
            "{no_forward}"
        );
        assert_eq!(line(&h, None).status, Status::Warn);

        let mut h = host();
        h.iptables = Err("run iptables: No such file or directory".into());
        let no_iptables = line(&h, needs(1000));
        assert_eq!(no_iptables.status, Status::Fail, "{no_iptables}");
        assert!(
            no_iptables
                .detail
                .contains("iptables cannot read DOCKER-USER"),
            "{no_iptables}"
        );
        assert_eq!(line(&host(), None).status, Status::Ok);
    }

    #[test]
    fn the_estimate_shrinks_with_the_rate() {
        let h = host();
        assert!(h.faithful_nodes(1.0) > h.faithful_nodes(5.0));
        assert!(
            h.faithful_nodes(6.0) >= 10,
            "smoke fits: {}",
            h.faithful_nodes(6.0)
        );
    }
}
