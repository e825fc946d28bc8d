//! Every bound a user can reach through a number, in one place, each with the reason it
//! has the value it has. Checks name the bound in their message.

use std::time::Duration;

/// Largest file the lab reads as a scenario, a link profile or a node config: a 100-node
/// scenario is about 1 KiB, and the parser holds ~50× the text in memory.
pub const MAX_CONFIG_FILE_BYTES: u64 = 1024 * 1024;

/// Most nodes one run may hold. The run's /16 subnet holds 65,533 addresses, but a run
/// also needs a kernel neighbour entry per node pair it connects (`nodes × min(nodes, 100)`),
/// and ~20 MiB of host memory per node: 2,048 nodes need ~40 GiB and 200,000 neighbour
/// entries, beyond any single host of ours. `orchestrator run` also checks the host it runs
/// on (`orchestrator doctor`).
pub const MAX_NODES: usize = 2048;

/// Highest publish rate of one node, messages per second: the spec's per-topic rate limit
/// (seed 000 §9.3, "max 100 messages/sec per topic") times ten, so that a scenario may
/// exceed it on purpose.
pub const MAX_NODE_RATE_PER_SEC: f64 = 1000.0;
/// Lowest publish rate of one node: one message an hour. Below it no run lasts long enough
/// to see a message.
pub const MIN_NODE_RATE_PER_SEC: f64 = 1.0 / 3600.0;

/// Largest application payload: gossipsub's transmit size is derived from it, and libp2p's
/// own default limit is 64 KiB; 1 MiB leaves room to test big messages.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Longest delay, interval or wait a node accepts, in milliseconds: one day. Nothing in a
/// run of the lab lasts longer (a scenario lasts at most [`MAX_RUN_SECS`]).
pub const MAX_NODE_MILLIS: u64 = 24 * 3600 * 1000;

/// Longest scenario duration, in seconds: 24 hours.
pub const MAX_RUN_SECS: u64 = 24 * 3600;

/// Latest wall-clock start a node accepts, in ms since the Unix epoch (2200-01-01): a
/// time beyond it is a unit mistake (µs or ns given as ms), not a plan.
pub const MAX_EPOCH_MS: u64 = 7_258_118_400_000;

/// Largest mesh degree (D_hi): a node has at most [`MAX_CONNECTIONS`] peers, and gossipsub
/// sends every message to every mesh peer.
pub const MAX_MESH_DEGREE: usize = 1000;

/// Most heartbeats of message history a node keeps (libp2p's memory grows with it).
pub const MAX_HISTORY: usize = 1000;

/// Shortest gossipsub heartbeat, in ms: below it the heartbeat alone takes a core at 100
/// nodes.
pub const MIN_HEARTBEAT_MS: u64 = 10;

/// Largest magnitude of a score threshold or weight: scores are sums of a few weighted
/// counters capped at 100-3600, so beyond this no score can reach it.
pub const MAX_SCORE_MAGNITUDE: f64 = 1e9;

/// Most connections a node may hold (its connection limits); a node on a 2-core host
/// cannot serve more.
pub const MAX_CONNECTIONS: u32 = 10_000;

/// Most connections to one peer.
pub const MAX_CONNECTIONS_PER_PEER: u32 = 16;

/// Most listen or bootstrap addresses one node takes.
pub const MAX_ADDRESSES: usize = 1024;

/// Longest node name, topic or address, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// Shortest period of the node's score/mesh snapshots and pings, in ms.
pub const MIN_PERIOD_MS: u64 = 100;

/// Most runtime worker threads a node takes: a node needs at most one core.
pub const MAX_THREADS: usize = 64;

/// Longest one-way delay a link shape may add: 10 s, many times any real path's (a
/// geostationary hop is 0.3 s); longer is a unit mistake, and the user-space shaper would
/// hold that much of a node's traffic in memory.
pub const MAX_LINK_DELAY: Duration = Duration::from_secs(10);

/// Highest rate limit a link shape may set, in kbit/s: 100 gbit/s, above any link a
/// container gets; higher is a unit mistake.
pub const MAX_LINK_RATE_KBIT: u64 = 100_000_000;
