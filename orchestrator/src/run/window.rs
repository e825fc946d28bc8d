//! The measured part of a run: the warm-up, the measurement window with every container's
//! resources sampled on both sides of it, and a drain for the window's last messages.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lab_events::now_ns;

use super::CONCURRENCY;
use super::outcome::{ContainerUsage, Window};
use super::progress::{elapsed_s, phase_bar};
use crate::docker::{ContainerStats, DockerRunner};
use crate::host::CpuTimes;
use crate::plan::Plan;

/// Traffic after the measurement window, so that the window's last messages arrive before
/// the nodes stop.
const DRAIN: Duration = Duration::from_secs(3);

/// What the measured part gives.
pub(super) struct Measured {
    /// The window, anchored at `traffic_ns`.
    pub(super) window: Window,
    /// When the window started and ended, seconds after the run started.
    pub(super) started_after_s: Option<f64>,
    /// See `started_after_s`.
    pub(super) ended_after_s: Option<f64>,
    /// Every sampled container's cost over the window.
    pub(super) usage: Vec<ContainerUsage>,
    /// The share of the host's CPU busy over the window.
    pub(super) host_busy: Option<f64>,
}

/// Waits out the warm-up, then the window (with a progress bar), then the drain.
/// `sampled` names the containers (name, id) whose resources are sampled around the
/// window; `t0` is the run's start.
pub(super) async fn measure(
    runner: &DockerRunner,
    plan: &Plan,
    sampled: &[(String, String)],
    traffic_ns: u64,
    t0: Instant,
) -> Measured {
    if !plan.warmup.is_zero() {
        eprintln!("==> warm-up {:?}", plan.warmup);
        tokio::time::sleep(plan.warmup).await;
    }
    let ids: Vec<String> = sampled.iter().map(|(_, id)| id.clone()).collect();
    let before = sample(runner, &ids).await;
    let cpu_before = CpuTimes::now();
    let start_ns = now_ns();
    let started_after_s = elapsed_s(t0);
    let bar = phase_bar(plan.window.as_secs(), "measuring (s)");
    let started = Instant::now();
    let until = tokio::time::Instant::now() + plan.window;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while tokio::time::Instant::now() < until {
        tick.tick().await;
        bar.set_position(started.elapsed().as_secs());
    }
    bar.finish();
    let window = Window {
        traffic_ns,
        start_ns,
        end_ns: now_ns(),
    };
    let host_busy = match (cpu_before, CpuTimes::now()) {
        (Some(a), Some(b)) => a.busy_share_until(&b),
        _ => None,
    };
    let ended_after_s = elapsed_s(t0);
    let after = sample(runner, &ids).await;
    tokio::time::sleep(DRAIN).await;
    let usage = sampled
        .iter()
        .map(|(name, id)| {
            let (b, a) = (before.get(id), after.get(id));
            let cpu = match (b, a) {
                (Some(b), Some(a)) => a.cpu_percent_since(b),
                _ => None,
            };
            ContainerUsage {
                name: name.clone(),
                cpu_percent_mean: cpu,
                cpu_percent_peak: cpu,
                mem_peak_bytes: [b, a].into_iter().flatten().map(|s| s.memory_bytes).max(),
            }
        })
        .collect();
    Measured {
        window,
        started_after_s,
        ended_after_s,
        usage,
        host_busy,
    }
}

/// One resource sample per container (missing where the engine did not answer).
async fn sample(runner: &DockerRunner, ids: &[String]) -> HashMap<String, ContainerStats> {
    futures::stream::iter(ids)
        .map(|id| async move { (id.clone(), runner.stats_once(id).await) })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|(id, s)| async move { s.ok().map(|s| (id, s)) })
        .collect()
        .await
}
