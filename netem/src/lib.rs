//! `labshaper`: imposes a link shape (delay, jitter, loss, rate) on the egress of one device
//! in the current network namespace, with kernel `tc netem` where the kernel has it and a
//! user-space NFQUEUE delay line (plus `tbf` and iptables `statistic`) where it does not;
//! `labshaper host` does the same for many nodes' namespaces from one process.
//!
//! The shape, its bounds and the configuration the orchestrator passes are `lab_config`'s
//! (`LinkShape`, `ShaperConfig`); the lines it prints are `lab_events::shaper`'s
//! `ShaperReport`.

mod backend;
mod cli;
mod commands;
mod datagrams;
mod error;
mod host;
mod live;
mod netlink;
mod nfqueue;
mod scheduler;
mod shape;
mod shared_loop;
mod signals;
mod sources;

pub use backend::{
    Applied, ApplyConfig, LiveHandle, PROBE_DEV, ReadySink, apply, probe, ready_line,
};
pub use cli::{ApplyArgs, Cli, Command, HostArgs};
pub use commands::{
    IPTABLES, Invocation, RuleOp, TBF_LATENCY_MS, TBF_MIN_BURST_BYTES, TC, loss_rule, netem_probe,
    netem_replace, nfqueue_rule, root_qdisc_delete, tbf_burst_bytes, tbf_replace,
};
pub use error::ShaperError;
pub use host::{HostInput, host};
pub use live::{Changes, Live, LiveLinks};
pub use nfqueue::{DelayLine, Delays, QueueSocket, granularity};
pub use scheduler::{DelayQueue, JitterSampler};
pub use shape::{ShapeError, check, format_decimal};
pub use shared_loop::SharedLoop;
pub use signals::{Signals, StopFlag, Termination};
pub use sources::{RegionLinks, SourceSampler, SourceTable, source_table};
