//! The host the lab runs on: what a run needs of it (checked by `doctor` and before every
//! run), the host-wide settings a run adjusts (neighbour table, congestion control, the
//! routes between its bridge networks), and the memory, load and CPU time sampled while a
//! run is in progress: the host's, the engine's and each container's (from its cgroup
//! files), as a [`Cost`] breakdown, and each node's bytes on the wire.

pub mod bridges;
mod cgroup;
pub mod checks;
pub mod congestion;
mod cost;
mod cpu;
pub mod demand;
mod engine;
mod monitor;
pub mod neighbour;
mod netdev;
mod sampler;
mod sysctl;

pub use cgroup::CgroupUse;
pub use checks::{Check, Host, Needs, Status};
pub use cost::{ContainerUsage, Cost, CostPoint, CostSample};
pub use cpu::CpuTimes;
pub use monitor::{HostMonitor, HostPeaks};
pub use netdev::NetBytes;
pub use sampler::CostSampler;
