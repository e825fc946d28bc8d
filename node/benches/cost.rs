//! The node's own cost on loopback: CPU per honest delivery under traffic, and CPU per node
//! per second when idle (issue 11, item 4; spec §8.4).
//!
//! `NODES` nodes, each on its own OS thread with a current-thread tokio runtime (as a
//! `meshnode` process runs in the lab), listening on TCP and QUIC on 127.0.0.1 with the
//! lab's settings for a small testnet (spec gossipsub settings but P6, which would count
//! every loopback peer against the others). Node `i` dials up to `DIALS` earlier nodes,
//! so each holds 6 or more connections. Events go through a sink that writes each record
//! as a JSON line (as the real node does) to /dev/null and forwards it to this driver.
//!
//! One repetition: start the swarm, wait until every node's mesh holds `mesh_n_low` peers
//! (by `mesh` events), start the built-in traffic of `PUBLISHERS` nodes (`RATE` msg/s each,
//! 1 KiB payloads, ML-DSA-87, `COUNT` messages each), wait for every delivery (by
//! `delivered` events) and take the CPU time of the window; then, with no traffic, let
//! `DRAIN` pass (gossipsub's message cache and IHAVE history empty after 5 heartbeats) and
//! take the CPU time of `IDLE`. CPU time is each thread's `sum_exec_runtime` from
//! `/proc/self/task/*/schedstat` (nanoseconds, what getrusage sums), for the whole process
//! and for each node's thread.
//!
//! Prints one line a repetition and the medians; `COST_REPS` sets the repetitions
//! (default 3). Bounded: every wait has a deadline and panics with what it saw.
// A bench binary: its helpers are not public API.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use lab_events::{Event, Record};
use meshnode::config::TrafficConfig;
use meshnode::sink::EventSink;
use meshnode::{Command, NodeConfig, NodeHandle};
use tokio::sync::{mpsc, oneshot};

/// Nodes in the swarm.
const NODES: usize = 10;
/// Earlier nodes each node dials.
const DIALS: usize = 6;
/// Nodes that publish.
const PUBLISHERS: usize = 3;
/// Messages per second per publisher (18 msg/s in all, the lab's smoke rate).
const RATE: f64 = 6.0;
/// Messages per publisher.
const COUNT: u64 = 90;
/// Quiet time after the last delivery before the idle window.
const DRAIN: Duration = Duration::from_secs(6);
/// The idle window.
const IDLE: Duration = Duration::from_secs(10);
/// Longest wait for meshes, for all deliveries, or for a node to stop.
const DEADLINE: Duration = Duration::from_secs(60);

/// Writes each record as a JSON line to /dev/null (the real node's per-event work) and
/// forwards it to the driver.
struct BenchSink {
    out: std::fs::File,
    tx: mpsc::UnboundedSender<Record>,
}

impl EventSink for BenchSink {
    fn emit(&mut self, record: Record) {
        let line = record.to_line();
        let _ = writeln!(self.out, "{line}").and_then(|_| self.out.flush());
        let _ = self.tx.send(record);
    }
}

/// One node running on its own thread.
struct Running {
    handle: NodeHandle,
    /// Kernel thread id of the node's runtime thread.
    tid: String,
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn config(i: usize, bootstrap: Vec<String>) -> NodeConfig {
    let mut c = NodeConfig::sharing_a_host(&format!("n{i}"), "/ip4/127.0.0.1/tcp/0", bootstrap);
    c.listen.push("/ip4/127.0.0.1/udp/0/quic-v1".into());
    // The spec's heartbeat, as in the lab (`sharing_a_host` speeds it up).
    c.gossipsub.heartbeat_ms = NodeConfig::default().gossipsub.heartbeat_ms;
    if i < PUBLISHERS {
        c.traffic = Some(TrafficConfig {
            start_at_ms: None,
            delay_ms: (i as u64 * 1000) / (PUBLISHERS as u64 * RATE as u64),
            rate_per_sec: RATE,
            size: 1024,
            count: Some(COUNT),
        });
    }
    c
}

/// Starts node `i` on a thread of its own.
fn spawn(i: usize, bootstrap: Vec<String>, tx: mpsc::UnboundedSender<Record>) -> Running {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let tid = std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .expect("own thread id");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let sink = BenchSink {
                out: std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/null")
                    .expect("/dev/null"),
                tx,
            };
            let handle = meshnode::start(config(i, bootstrap), Box::new(sink))
                .await
                .expect("node starts");
            ready_tx.send((handle, tid)).expect("driver waits");
            let _ = stop_rx.await;
        });
    });
    let (handle, tid) = ready_rx.recv().expect("node thread reports");
    Running {
        handle,
        tid,
        stop,
        thread,
    }
}

/// CPU nanoseconds of one thread of this process.
fn thread_cpu(tid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU nanoseconds of every live thread of this process, by thread id.
fn cpu_by_thread() -> HashMap<String, u64> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|e| {
            let tid = e.ok()?.file_name().to_string_lossy().into_owned();
            Some((tid.clone(), thread_cpu(&tid)))
        })
        .collect()
}

/// CPU used between two readings, over the threads alive at both.
fn cpu_between(a: &HashMap<String, u64>, b: &HashMap<String, u64>) -> f64 {
    b.iter()
        .map(|(t, nb)| nb.saturating_sub(*a.get(t).unwrap_or(nb)))
        .sum::<u64>() as f64
        / 1e9
}

/// The figures of one repetition.
#[derive(Debug, Clone, Copy)]
struct Figures {
    deliveries: u64,
    load_s: f64,
    /// Process CPU per delivery, milliseconds.
    per_delivery_ms: f64,
    /// Process CPU per node when idle, percent of a core.
    idle_pct: f64,
    /// Median and highest node-thread CPU when idle, percent of a core.
    idle_node_median_pct: f64,
    idle_node_max_pct: f64,
    /// Fewest and most connected peers of a node in the idle window.
    peers: (usize, usize),
    /// Message hop p10, p50, p90, milliseconds.
    hop: [f64; 3],
}

/// What the driver knows of the swarm from its events.
#[derive(Default)]
struct Watch {
    mesh: HashMap<String, usize>,
    delivered: u64,
    connected: HashMap<String, i64>,
    /// Node names by peer id.
    names: HashMap<String, String>,
    /// When each node had each message ready to forward: its `published` or `delivered`
    /// record (written after validation and the forward), by (message id, node).
    ready: HashMap<(String, String), u64>,
    /// Each delivery's message id, relaying peer and `received_ns`.
    received: Vec<(String, String, u64)>,
}

impl Watch {
    fn observe(&mut self, r: Record) {
        match r.event {
            Event::Mesh { peers, .. } => {
                self.mesh.insert(r.node, peers.len());
            }
            Event::Started { peer_id, .. } => {
                self.names.insert(peer_id, r.node);
            }
            Event::Published { msg_id, .. } => {
                self.ready.insert((msg_id, r.node), r.ts_ns);
            }
            Event::Delivered {
                msg_id,
                from,
                received_ns,
                ..
            } => {
                self.delivered += 1;
                self.ready.insert((msg_id.clone(), r.node), r.ts_ns);
                self.received.push((msg_id, from, received_ns));
            }
            Event::PeerConnected { .. } => *self.connected.entry(r.node).or_default() += 1,
            Event::PeerDisconnected { .. } => *self.connected.entry(r.node).or_default() -= 1,
            Event::PublishFailed { seq, reason } => {
                panic!("node {} failed to publish message {seq}: {reason}", r.node)
            }
            _ => {}
        }
    }

    /// Takes records until `done` holds, or panics at `deadline` with `what`.
    async fn until(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<Record>,
        what: &str,
        done: impl Fn(&Self) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !done(self) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(r)) => self.observe(r),
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => panic!(
                    "no {what} within {DEADLINE:?}: meshes {:?}, {} delivered",
                    self.mesh, self.delivered
                ),
            }
        }
    }

    /// Message hops, milliseconds: the relay's record that it had the message (published,
    /// or delivered after validation) to the receiver's `received_ns` (gossipsub handed it
    /// over, before validation), as the lab measures them; sorted.
    fn hops_ms(&self) -> Vec<f64> {
        let mut hops: Vec<f64> = self
            .received
            .iter()
            .filter_map(|(id, from, at)| {
                let relay = self.names.get(from)?;
                let ready = self.ready.get(&(id.clone(), relay.clone()))?;
                Some(at.checked_sub(*ready)? as f64 / 1e6)
            })
            .collect();
        hops.sort_by(f64::total_cmp);
        hops
    }

    /// Takes every record that arrives within `d`.
    async fn for_time(&mut self, rx: &mut mpsc::UnboundedReceiver<Record>, d: Duration) {
        let end = tokio::time::Instant::now() + d;
        while let Ok(Some(r)) = tokio::time::timeout_at(end, rx.recv()).await {
            self.observe(r);
        }
    }
}

async fn repetition() -> Figures {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut nodes: Vec<Running> = Vec::new();
    for i in 0..NODES {
        let bootstrap = nodes
            .iter()
            .rev()
            .take(DIALS)
            .map(|n| format!("{}/p2p/{}", n.handle.listen_addrs[0], n.handle.peer_id))
            .collect();
        nodes.push(spawn(i, bootstrap, tx.clone()));
    }
    drop(tx);
    let mut watch = Watch::default();
    let low = NodeConfig::default().gossipsub.mesh_n_low;
    watch
        .until(&mut rx, "meshes of mesh_n_low peers", |w| {
            w.mesh.len() == NODES && w.mesh.values().all(|&n| n >= low)
        })
        .await;

    watch.delivered = 0;
    watch.received.clear();
    let expected = PUBLISHERS as u64 * COUNT * (NODES as u64 - 1);
    let before = cpu_by_thread();
    let t0 = Instant::now();
    for n in &nodes[..PUBLISHERS] {
        n.handle
            .send(Command::StartTraffic)
            .await
            .expect("publisher runs");
    }
    watch
        .until(&mut rx, "every delivery", |w| w.delivered >= expected)
        .await;
    let load_s = t0.elapsed().as_secs_f64();
    let after = cpu_by_thread();
    let load_cpu = cpu_between(&before, &after);
    let hops = watch.hops_ms();
    let hop = [0.1, 0.5, 0.9].map(|q| hops[((hops.len() - 1) as f64 * q) as usize]);

    watch.for_time(&mut rx, DRAIN).await;
    let before = cpu_by_thread();
    let t0 = Instant::now();
    watch.for_time(&mut rx, IDLE).await;
    let idle_s = t0.elapsed().as_secs_f64();
    let after = cpu_by_thread();
    let idle_cpu = cpu_between(&before, &after);
    let mut per_node: Vec<f64> = nodes
        .iter()
        .map(|n| {
            let a = before.get(&n.tid).copied().unwrap_or(0);
            let b = after.get(&n.tid).copied().unwrap_or(0);
            b.saturating_sub(a) as f64 / 1e9 / idle_s * 100.0
        })
        .collect();
    per_node.sort_by(f64::total_cmp);
    let peers = watch.connected.values().copied();
    let peers = (
        peers.clone().min().unwrap_or(0) as usize,
        peers.max().unwrap_or(0) as usize,
    );

    for n in nodes {
        tokio::time::timeout(DEADLINE, n.handle.shutdown())
            .await
            .expect("node stops in time")
            .expect("node stops");
        let _ = n.stop.send(());
        n.thread.join().expect("node thread");
    }
    Figures {
        deliveries: watch.delivered,
        load_s,
        per_delivery_ms: load_cpu / watch.delivered as f64 * 1e3,
        idle_pct: idle_cpu / idle_s / NODES as f64 * 100.0,
        idle_node_median_pct: per_node[per_node.len() / 2],
        idle_node_max_pct: per_node[per_node.len() - 1],
        peers,
        hop,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that excludes this bench skips it.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args
        .iter()
        .any(|a| !a.starts_with('-') && !"cost".contains(a.as_str()))
    {
        return;
    }
    let reps: usize = std::env::var("COST_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut all = Vec::new();
    for rep in 0..reps {
        let f = rt.block_on(repetition());
        println!(
            "rep {rep}: {} deliveries in {:.1} s, {:.3} ms CPU/delivery; idle {:.3} % of a \
             core per node (node threads: median {:.3} %, max {:.3} %), {}-{} peers; \
             hop p10/p50/p90 {:.2}/{:.2}/{:.2} ms",
            f.deliveries,
            f.load_s,
            f.per_delivery_ms,
            f.idle_pct,
            f.idle_node_median_pct,
            f.idle_node_max_pct,
            f.peers.0,
            f.peers.1,
            f.hop[0],
            f.hop[1],
            f.hop[2]
        );
        all.push(f);
    }
    println!(
        "cost median of {reps}: cpu_per_delivery_ms {:.3} idle_pct_per_node {:.3} \
         idle_node_thread_median_pct {:.3} idle_node_thread_max_pct {:.3} hop_p50_ms {:.2} \
         hop_p90_ms {:.2}",
        median(all.iter().map(|f| f.per_delivery_ms).collect()),
        median(all.iter().map(|f| f.idle_pct).collect()),
        median(all.iter().map(|f| f.idle_node_median_pct).collect()),
        median(all.iter().map(|f| f.idle_node_max_pct).collect()),
        median(all.iter().map(|f| f.hop[1]).collect()),
        median(all.iter().map(|f| f.hop[2]).collect()),
    );
}
