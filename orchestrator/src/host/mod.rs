//! The host the lab runs on: what a run needs of it (checked by `doctor` and before every
//! run), the host-wide settings a run adjusts (neighbour table, congestion control), and
//! the memory, load and CPU time sampled while a run is in progress.

pub mod checks;
pub mod congestion;
mod cpu;
pub mod demand;
mod monitor;
pub mod neighbour;
mod sysctl;

pub use checks::{Check, Host, Needs, Status};
pub use cpu::CpuTimes;
pub use monitor::{HostMonitor, HostPeaks};
