//! The measured part of a run: the warm-up, the measurement window with the host's and
//! every container's cost sampled from files through it (once a second, and at both
//! ends), and a drain for the window's last messages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lab_events::now_ns;

use super::CONCURRENCY;
use super::outcome::{ContainerUsage, Window};
use super::progress::{elapsed_s, phase_bar};
use super::shaper::SHAPER_ROLE;
use crate::docker::DockerRunner;
use crate::host::{Cost, CostSample, CostSampler};
use crate::plan::Plan;

/// Traffic after the measurement window, so that the window's last messages arrive before
/// the nodes stop (virtual time).
const DRAIN: Duration = Duration::from_secs(3);

/// Time between cost samples inside the window.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

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
    /// The window's cost, part by part.
    pub(super) cost: Option<Cost>,
    /// The share of the host's CPU busy over the window.
    pub(super) host_busy: Option<f64>,
}

/// The containers whose cost is sampled: `(name, id)` of each node, and the shaper's id.
pub(super) struct Sampled<'a> {
    /// Each node's name and container id.
    pub(super) nodes: &'a [(String, String)],
    /// The shaper container's id, if links are shaped.
    pub(super) shaper: Option<&'a str>,
}

/// Waits out the warm-up, then the window (with a progress bar), then the drain; `t0` is
/// the run's start. The containers' processes are looked up before the warm-up ends, so
/// that the window itself makes no engine calls.
pub(super) async fn measure(
    runner: &DockerRunner,
    plan: &Plan,
    sampled: Sampled<'_>,
    traffic_ns: u64,
    t0: Instant,
) -> Measured {
    // The plan's times are virtual: each lasts k times longer on the wall clock.
    let k = plan.time_scale;
    let warmup_over = tokio::time::Instant::now() + k.real(plan.warmup);
    if !plan.warmup.is_zero() {
        if k.is_real() {
            eprintln!("==> warm-up {:?}", plan.warmup);
        } else {
            eprintln!(
                "==> warm-up {:?} virtual ({:?} real at time scale {k})",
                plan.warmup,
                k.real(plan.warmup)
            );
        }
    }
    let node_pids = pids(runner, sampled.nodes.iter().map(|(_, id)| id.as_str())).await;
    let shaper_pid = match sampled.shaper {
        Some(id) => pids(runner, std::iter::once(id)).await.pop().flatten(),
        None => None,
    };
    let sampler = Arc::new(CostSampler::new(&node_pids, shaper_pid));
    tokio::time::sleep_until(warmup_over).await;

    let mut samples: Vec<CostSample> = sample(&sampler).await.into_iter().collect();
    let start_ns = now_ns();
    let started_after_s = elapsed_s(t0);
    let bar = phase_bar(
        plan.window.as_secs(),
        if k.is_real() {
            "measuring (s)"
        } else {
            "measuring (virtual s)"
        },
    );
    let started = Instant::now();
    let until = tokio::time::Instant::now() + k.real(plan.window);
    while tokio::time::Instant::now() < until {
        tokio::time::sleep_until((tokio::time::Instant::now() + SAMPLE_EVERY).min(until)).await;
        bar.set_position(k.virtual_of(started.elapsed()).as_secs());
        samples.extend(sample(&sampler).await);
    }
    bar.finish();
    let window = Window {
        traffic_ns,
        start_ns,
        end_ns: now_ns(),
    };
    let ended_after_s = elapsed_s(t0);
    tokio::time::sleep(k.real(DRAIN)).await;

    let names: Vec<String> = sampled
        .nodes
        .iter()
        .map(|(name, _)| name.clone())
        .chain(sampled.shaper.map(|_| SHAPER_ROLE.to_string()))
        .collect();
    let host_busy = match (samples.first(), samples.last()) {
        (Some(a), Some(b)) => match (&a.cpu, &b.cpu) {
            (Some(x), Some(y)) => x.busy_share_until(y),
            _ => None,
        },
        _ => None,
    };
    let (cost, usage) = match Cost::from_samples(&samples, &names) {
        Some((cost, usage)) => (Some(cost), usage),
        None => (None, Vec::new()),
    };
    Measured {
        window,
        started_after_s,
        ended_after_s,
        usage,
        cost,
        host_busy,
    }
}

/// Each container's main process id, in order (`None` where the engine did not say).
async fn pids<'a>(runner: &DockerRunner, ids: impl Iterator<Item = &'a str>) -> Vec<Option<u32>> {
    futures::stream::iter(ids)
        .map(|id| async move {
            runner
                .container_pid(id)
                .await
                .inspect_err(|e| tracing::warn!("its cost is not sampled: {e}"))
                .ok()
        })
        .buffered(CONCURRENCY)
        .collect()
        .await
}

/// One sample, read off the async threads (a few file reads per container).
async fn sample(sampler: &Arc<CostSampler>) -> Option<CostSample> {
    let sampler = Arc::clone(sampler);
    tokio::task::spawn_blocking(move || sampler.sample())
        .await
        .ok()
}
