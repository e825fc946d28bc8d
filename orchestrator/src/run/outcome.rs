//! What a run hands on to analysis: the events, the measurement window, the phase times
//! and the cost, as measured on the live containers.

use lab_events::Record;
use serde::{Deserialize, Serialize};

pub use crate::host::ContainerUsage;
use crate::host::Cost;
use crate::plan::Plan;

/// When a run's traffic started and which part of it is measured, in nanoseconds since
/// the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// When the publishers were started: anchors the score timeline (defence).
    pub traffic_ns: u64,
    /// Start of the measurement window (after every mesh is ready and the warm-up).
    pub start_ns: u64,
    /// End of the measurement window (exclusive).
    pub end_ns: u64,
}

impl Window {
    /// Whether `ts_ns` falls inside the window.
    pub fn contains(&self, ts_ns: u64) -> bool {
        (self.start_ns..self.end_ns).contains(&ts_ns)
    }
}

/// Phase timings, seconds after the run started; `None` = not reached or not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phases {
    /// Images built or found.
    pub images_ready_after_s: Option<f64>,
    /// Every container started.
    pub containers_started_after_s: Option<f64>,
    /// Links shaped.
    pub shaped_after_s: Option<f64>,
    /// Every node meshed (the warm-up starts here).
    pub ready_after_s: Option<f64>,
    /// Publishers started (once links are shaped, before the meshes are awaited).
    pub traffic_started_after_s: Option<f64>,
    /// The measurement window started (after the warm-up).
    #[serde(default)]
    pub window_started_after_s: Option<f64>,
    /// The measurement window ended.
    pub traffic_ended_after_s: Option<f64>,
    /// Events collected and nodes stopped.
    pub collected_after_s: Option<f64>,
    /// Nodes whose mesh never reached `mesh_n_low` before traffic started.
    #[serde(default)]
    pub unready_nodes: Vec<String>,
}

/// Resource figures the runner measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Peak host memory in use during the run.
    pub peak_host_mem_bytes: Option<u64>,
    /// Peak 1-minute host load average during the run.
    pub peak_host_load: Option<f64>,
    /// The share of the host's CPU time that was busy (not idle) over the measurement
    /// window, 0..=1. Absent in results written before it was measured.
    #[serde(default)]
    pub window_host_busy: Option<f64>,
    /// Per container.
    pub containers: Vec<ContainerUsage>,
    /// The window's cost, part by part. Absent in results written before it was
    /// measured, and when fewer than two samples were taken.
    #[serde(default)]
    pub cost: Option<Cost>,
}

/// A finished run, before analysis.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The run's id (its label value and folder name).
    pub run_id: String,
    /// The runner that carried it out.
    pub runner: super::RunnerKind,
    /// The plan as run (in the subnet the run got).
    pub plan: Plan,
    /// Every node's events, merged and sorted by time.
    pub records: Vec<Record>,
    /// The measurement window.
    pub window: Window,
    /// The shaper back end(s) in force, or `none`.
    pub shaper_backend: String,
    /// The nodes' TCP congestion control.
    pub tcp_congestion: String,
    /// Each host's clock against the orchestrator's (one host: `local`).
    pub clocks: Vec<super::clocks::HostClock>,
    /// Wall clock at the start and the end of the run, in ms since the epoch.
    pub started_at_ms: u64,
    /// See `started_at_ms`.
    pub ended_at_ms: u64,
    /// Phase times.
    pub phases: Phases,
    /// Cost.
    pub resources: Resources,
}
