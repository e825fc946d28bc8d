//! The bench's network: one hub namespace (the sender) joined by a veth pair to each of N
//! leaf namespaces (the receivers, whose ingress is shaped). Every leaf's device is named
//! `eth0`, so one `labshaper host --dev eth0` shapes them all. Dropping a [`Topology`]
//! kills the processes that pin the leaves and deletes every namespace it made.

use std::fs::File;
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};

use nix::sched::{CloneFlags, setns};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The leaf device the shaper is told to shape.
pub(crate) const LEAF_DEV: &str = "eth0";
/// The UDP port receivers listen on.
pub(crate) const PORT: u16 = 9000;

/// The namespaces, and a sleeping process in each leaf (the pid `labshaper host` needs).
pub(crate) struct Topology {
    hub: String,
    leaves: Vec<String>,
    sleepers: Vec<Child>,
}

/// Runs `ip ARGS`, failing with its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("failed to run ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "failed to run ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Topology {
    /// Creates the hub and `n` leaves (at most 250), addresses 10.214.I.1 (hub side) and
    /// 10.214.I.2 (leaf I).
    pub(crate) fn create(n: usize) -> Result<Self, String> {
        let id = std::process::id();
        let mut topo = Self {
            hub: format!("lsrate-{id}-hub"),
            leaves: Vec::new(),
            sleepers: Vec::new(),
        };
        ip(&["netns", "add", &topo.hub])?;
        ip(&["-n", &topo.hub, "link", "set", "lo", "up"])?;
        // The lab's nodes send with cubic (a namespace starts with the host's default,
        // often BBR, whose pacing spreads a message over a good part of the RTT).
        if let Err(e) = ip(&[
            "netns",
            "exec",
            &topo.hub,
            "sysctl",
            "-qw",
            "net.ipv4.tcp_congestion_control=cubic",
        ]) {
            eprintln!("packet_rate: TCP keeps the host's default congestion control: {e}");
        }
        for i in 0..n {
            let leaf = format!("lsrate-{id}-{i}");
            ip(&["netns", "add", &leaf])?;
            topo.leaves.push(leaf.clone());
            let hub_dev = format!("lsr{}-{i}", id % 1_000_000);
            ip(&[
                "link", "add", &hub_dev, "netns", &topo.hub, "type", "veth", "peer", "name",
                LEAF_DEV, "netns", &leaf,
            ])?;
            let hub_addr = format!("10.214.{i}.1/30");
            let leaf_addr = format!("10.214.{i}.2/30");
            ip(&["-n", &topo.hub, "addr", "add", &hub_addr, "dev", &hub_dev])?;
            ip(&["-n", &leaf, "addr", "add", &leaf_addr, "dev", LEAF_DEV])?;
            ip(&["-n", &topo.hub, "link", "set", &hub_dev, "up"])?;
            ip(&["-n", &leaf, "link", "set", "lo", "up"])?;
            ip(&["-n", &leaf, "link", "set", LEAF_DEV, "up"])?;
            let sleeper = Command::new("ip")
                .args(["netns", "exec", &leaf, "sleep", "3600"])
                .stdin(Stdio::null())
                .spawn()
                .map_err(|e| format!("failed to start a sleeper in {leaf}: {e}"))?;
            topo.sleepers.push(sleeper);
        }
        Ok(topo)
    }

    /// The pids pinning the leaves (the `ip netns exec` children: in the leaf's namespace
    /// whether they exec `sleep` or wait for it).
    pub(crate) fn leaf_pids(&self) -> Vec<u32> {
        self.sleepers.iter().map(Child::id).collect()
    }

    /// The receiving address of leaf `i`.
    pub(crate) fn leaf_addr(i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 214, u8::try_from(i).unwrap_or(u8::MAX), 2)
    }

    /// How many leaves there are.
    pub(crate) fn leaves(&self) -> usize {
        self.leaves.len()
    }

    /// Moves the calling thread into the hub namespace.
    pub(crate) fn enter_hub(&self) -> Result<(), String> {
        enter(&self.hub)
    }

    /// Moves the calling thread into leaf `i`'s namespace.
    pub(crate) fn enter_leaf(&self, i: usize) -> Result<(), String> {
        enter(&self.leaves[i])
    }
}

fn enter(ns: &str) -> Result<(), String> {
    let file = File::open(format!("/run/netns/{ns}"))
        .map_err(|e| format!("failed to open namespace {ns}: {e}"))?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| format!("failed to enter {ns}: {e}"))
}

/// Kills every process in namespace `ns` (`ip netns exec` may fork rather than exec, so
/// the sleeper need not be our child).
fn kill_all_in(ns: &str) {
    let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() else {
        return;
    };
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if let Ok(pid) = pid.parse::<i32>() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in &self.leaves {
            kill_all_in(ns);
        }
        for s in &mut self.sleepers {
            let _ = s.kill();
            let _ = s.wait();
        }
        for ns in self.leaves.iter().chain(std::iter::once(&self.hub)) {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("packet_rate: {e}");
            }
        }
    }
}
