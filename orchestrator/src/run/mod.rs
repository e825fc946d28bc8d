//! `orchestrator run`, the live part: one scenario on containers, from images to collected
//! events, with teardown on every exit (also SIGINT/SIGTERM). What the events mean is the
//! analysis stage's business; the pipeline chains the two.
//!
//! One file a phase, in the order they run:
//! - [`binaries`]: the static `meshnode` and `labshaper` (cargo, or given);
//! - `images`: the node image, and the tools image when links are shaped;
//! - [`runner`]: what differs between engines (the Docker runner, the Swarm runner);
//! - [`network`]: the run's bridge on the first free /16 (several bridges, routed between,
//!   above `plan::NODES_PER_BRIDGE` nodes), or the swarm's overlay;
//! - [`nat`]: the NAT routers and their private networks, when nodes sit behind NATs (and
//!   each NATed node's default route, as it starts);
//! - [`shaper`]: the one shaper container, started before the nodes;
//! - `events_dir`: the folder the nodes write their events to (`follow` reads it);
//! - `nodes`: node containers, each handed to the shaper as soon as it runs;
//! - `readiness`: every honest mesh at `mesh_n_low`;
//! - `window`: warm-up, the measurement window, its cost sampled from files through it;
//! - [`faults`]: the scenario's fault timeline, played during the window;
//! - `collect`: every node's event stream;
//! - `virtual_time`: the events and the window on the scenario's virtual time line;
//! - [`teardown`]: everything labelled with the run id, removed and checked (and the run's
//!   routing rules), by the lab's one removal loop ([`teardown::until_gone`]);
//! - [`down`]: `orchestrator down`, everything of the lab any run left behind;
//! - [`stop`]: Ctrl-C between the runs of `run --trials` and `sweep`.
//!
//! [`outcome`] holds what a run hands on.

pub mod binaries;
pub mod clocks;
mod collect;
pub mod down;
mod events_dir;
pub mod faults;
mod follow;
mod images;
pub mod nat;
pub mod network;
mod nodes;
pub mod outcome;
mod progress;
mod readiness;
pub mod runner;
pub mod shaper;
pub mod stop;
pub mod teardown;
mod virtual_time;
mod window;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lab_events::now_ns;
use tokio::signal::unix::{SignalKind, signal};

pub use nodes::{NODE_LOG, STOP_GRACE};
pub use outcome::{ContainerUsage, Outcome, Phases, Resources, Window};

use crate::docker::{DockerError, DockerRunner};
use crate::error::Error;
use crate::host::{self, HostMonitor};
use crate::plan::{self, Plan, Subnet};
use crate::scenario::Scenario;
use binaries::Binaries;
use progress::{elapsed_s, phase_bar};
use runner::{Docker, Runner, RunnerKind, Swarm};

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where `<run-id>/result.json` goes.
    pub reports_dir: PathBuf,
    /// A prebuilt static `meshnode` (otherwise cargo builds it).
    pub node_binary: Option<PathBuf>,
    /// A prebuilt static `labshaper` (otherwise cargo builds it).
    pub shaper_binary: Option<PathBuf>,
    /// How long to wait for every mesh before traffic starts anyway (virtual time).
    pub ready_timeout: Duration,
    /// The most nodes on one bridge network (`plan::NODES_PER_BRIDGE` unless a smaller
    /// split is asked for, to try the routed path with a small run).
    pub nodes_per_bridge: usize,
    /// The engine the run uses.
    pub runner: RunnerKind,
}

/// Engine calls in flight at once when creating, stopping or reading many containers.
const CONCURRENCY: usize = 16;

fn infra(e: DockerError) -> Error {
    Error::Infra(e.to_string())
}

/// Runs `scenario` on containers. Every container and network of the run is removed before
/// this returns, whether the run succeeded, failed, or was interrupted (SIGINT/SIGTERM).
pub async fn run(scenario: &Scenario, opts: &RunOptions) -> Result<Outcome, Error> {
    let plan = plan::plan_with_bridges(scenario, Subnet::DEFAULT, opts.nodes_per_bridge);
    if let Some(problem) = plan.real_link_problems().into_iter().next() {
        return Err(Error::Infra(format!(
            "plan {}: {problem}",
            scenario.path.display()
        )));
    }
    if opts.runner == RunnerKind::Swarm
        && let Some(why) = Swarm::refuses(&plan)
    {
        return Err(Error::Infra(format!(
            "run {} on a swarm: {why}",
            scenario.path.display()
        )));
    }
    check_host(&plan).await?;
    let mut sigint = signal(SignalKind::interrupt())
        .map_err(|e| Error::Infra(format!("install the SIGINT handler: {e}")))?;
    let mut sigterm = signal(SignalKind::terminate())
        .map_err(|e| Error::Infra(format!("install the SIGTERM handler: {e}")))?;
    let (node_bin, shaper_bin) = (opts.node_binary.clone(), opts.shaper_binary.clone());
    let build = tokio::task::spawn_blocking(move || {
        binaries::build(node_bin.as_deref(), shaper_bin.as_deref())
    });
    let bins = tokio::select! {
        b = build => b.map_err(|e| Error::Infra(format!("build the binaries: {e}")))??,
        _ = sigint.recv() => return Err(Error::Interrupted),
        _ = sigterm.recv() => return Err(Error::Interrupted),
    };
    let engine = DockerRunner::connect().await.map_err(infra)?;
    let run_id = new_run_id(&scenario.name);
    eprintln!(
        "==> run {run_id}: scenario {} ({} nodes, {} runner)",
        scenario.name,
        scenario.node_count(),
        opts.runner.name()
    );
    say_time_scale(&plan);
    let names = plan.nodes.iter().map(|n| n.name.as_str());
    // Removed when dropped, after the teardown below, on every exit.
    let mut events = events_dir::EventsDir::create(&opts.reports_dir, &run_id, names)?;
    events.share_binary(&bins.meshnode)?;
    let signals = Signals {
        sigint: &mut sigint,
        sigterm: &mut sigterm,
    };
    let run = Run {
        engine: &engine,
        run_id: &run_id,
        bins: &bins,
        events: &events,
        opts,
    };
    match opts.runner {
        RunnerKind::Docker => run.on(&Docker, plan, signals).await,
        RunnerKind::Swarm => {
            let joined = tokio::select! {
                j = Swarm::join(&engine, &run_id) => j,
                _ = signals.sigint.recv() => Err(Error::Interrupted),
                _ = signals.sigterm.recv() => Err(Error::Interrupted),
            };
            match joined {
                Ok(swarm) => run.on(&swarm, plan, signals).await,
                Err(e) => {
                    Swarm::abandon(&engine, &run_id).await;
                    Err(e)
                }
            }
        }
    }
}

/// The signals that interrupt a run.
struct Signals<'a> {
    sigint: &'a mut tokio::signal::unix::Signal,
    sigterm: &'a mut tokio::signal::unix::Signal,
}

/// What every phase of a run needs.
#[derive(Clone, Copy)]
struct Run<'a> {
    engine: &'a DockerRunner,
    run_id: &'a str,
    bins: &'a Binaries,
    events: &'a events_dir::EventsDir,
    opts: &'a RunOptions,
}

impl Run<'_> {
    /// Carries out `plan` with `runner` until it ends or a signal comes, then tears down
    /// what it made.
    async fn on(
        self,
        runner: &impl Runner,
        plan: Plan,
        signals: Signals<'_>,
    ) -> Result<Outcome, Error> {
        let routed = plan.bridges.routed();
        let outcome = tokio::select! {
            r = execute(runner, self, plan) => r,
            _ = signals.sigint.recv() => Err(Error::Interrupted),
            _ = signals.sigterm.recv() => Err(Error::Interrupted),
        };
        if matches!(outcome, Err(Error::Interrupted)) {
            eprintln!("==> interrupted: removing the run's containers and networks");
        }
        runner.teardown(self.engine, self.run_id, routed).await;
        outcome
    }
}

/// The host checks of `orchestrator doctor` for this plan: warnings are printed, the
/// first failure stops the run before anything is built or started.
async fn check_host(plan: &Plan) -> Result<(), Error> {
    let checks = host::Host::inspect(None)
        .await
        .checks(Some(host::Needs::of(plan)));
    for c in &checks {
        match c.status {
            host::Status::Warn => eprintln!("warning: {c}"),
            // The estimate is worth seeing before every run, not only when it is too high.
            host::Status::Ok if c.name == "cpu demand" => eprintln!("==> {}: {}", c.name, c.detail),
            _ => {}
        }
    }
    match host::checks::first_failure(&checks) {
        Some(c) => Err(Error::Infra(format!(
            "pass the host checks (`orchestrator doctor` shows them all):\n  {c}"
        ))),
        None => Ok(()),
    }
}

/// The run's time scale, how it was chosen, and each node's CPU quota.
fn say_time_scale(plan: &Plan) {
    let k = plan.time_scale;
    if k.is_real() && plan.cpu_quota.is_none() {
        return;
    }
    let how = if plan.time_scale_asked == "auto" {
        let d =
            host::demand::Demand::estimate(plan.nodes.len(), plan.topic_rate(), plan::host_cores());
        format!(
            " (auto: an estimated {:.0} % of the host at real time, {:.0} % dilated)",
            d.busy_share() * 100.0,
            d.busy_share() / k.factor() * 100.0
        )
    } else {
        String::new()
    };
    let quota = plan.cpu_quota.map_or_else(
        || "nodes unlimited".to_string(),
        |q| {
            format!(
                "each node {:.3} cores ({} µs every {} µs)",
                q.cores(),
                q.quota_us,
                q.period_us
            )
        },
    );
    eprintln!(
        "==> time scale {k}{how}: every virtual second lasts {k} s; {quota}; the window takes {:.0} s of wall time",
        k.real(plan.warmup + plan.window).as_secs_f64()
    );
}

fn new_run_id(name: &str) -> String {
    let nanos = now_ns();
    let tag = blake3::hash(&nanos.to_le_bytes()).to_hex();
    format!("{}-{}", crate::scenario::slug(name), &tag[..8])
}

/// The phases, in order; teardown is the caller's.
async fn execute(kind: &impl Runner, run: Run<'_>, plan: Plan) -> Result<Outcome, Error> {
    let Run {
        engine: runner,
        run_id,
        bins,
        events,
        opts,
    } = run;
    let t0 = Instant::now();
    let started_at_ms = now_ns() / 1_000_000;
    let host_monitor = HostMonitor::start();
    let mut phases = Phases::default();

    let images = images::ensure(runner, bins, plan.shapes_in_run() || plan.has_nat()).await?;
    phases.images_ready_after_s = elapsed_s(t0);

    let congestion = prepare_host(plan.nodes.len())?;
    let networks = kind.networks(runner, run_id, &plan).await?;
    let plan = plan.in_subnet(networks.subnet);
    let nats = match (&images.tools, plan.has_nat()) {
        (Some(tools), true) => nat::start(runner, run_id, &plan, tools, &networks.names).await?,
        _ => nat::Nats::default(),
    };

    let traffic_ns = now_ns();
    phases.traffic_started_after_s = elapsed_s(t0);
    let specs = nodes::specs(
        run_id,
        &plan,
        &images.node,
        nodes::NodeNetworks {
            bridges: &networks.names,
            private: &nats.private,
        },
        traffic_ns / 1_000_000,
        events,
        congestion.sysctl.as_deref(),
    )?;
    eprintln!(
        "==> traffic: {} msg/s from each publisher's boot",
        plan.traffic.rate_per_sec
    );
    // The shaper starts first, and each node is handed to it as soon as it runs.
    let regions_file = match shaper::regions_file_text(&plan) {
        Some(text) => Some(events.write_file(".regions.toml", &text?)?),
        None => None,
    };
    let mut shaper = match &images.tools {
        Some(image) => Some(
            kind.start_shaper(runner, run_id, &plan, image, regions_file.as_deref())
                .await?,
        ),
        None => None,
    };
    let bar = phase_bar(specs.len() as u64, "starting nodes");
    let routes = nodes::Routes::of(&plan, images.tools.as_deref(), run_id);
    let node_ids = nodes::start(runner, &specs, shaper.as_ref(), &routes, &bar).await?;
    bar.finish();
    phases.containers_started_after_s = elapsed_s(t0);
    eprintln!("==> {} node containers started", node_ids.len());

    let shaper_backend = match &mut shaper {
        Some(s) => s.await_ready(runner, node_ids.len()).await?,
        None => "none".to_string(),
    };
    let shaper_id = shaper.as_ref().map(|s| s.id.clone());
    phases.shaped_after_s = elapsed_s(t0);
    eprintln!("==> link shaping: {shaper_backend}");

    let ready_timeout = plan.time_scale.real(opts.ready_timeout);
    let unready = readiness::await_meshes(&plan, events, ready_timeout).await;
    phases.ready_after_s = elapsed_s(t0);
    if unready.is_empty() {
        eprintln!(
            "==> every node meshed after {:.1} s",
            t0.elapsed().as_secs_f64()
        );
    } else {
        eprintln!(
            "warning: {} nodes had fewer than {} mesh peers after {:?}: {}",
            unready.len(),
            plan.gossipsub.mesh_n_low,
            ready_timeout,
            crate::output::some_names(&unready)
        );
    }
    phases.unready_nodes = unready;

    let sampled: Vec<(String, String)> = plan
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .zip(node_ids.iter().cloned())
        .collect();
    let sampled = window::Sampled {
        nodes: &sampled,
        shaper: shaper_id.as_deref(),
    };
    let mut faults = faults::Faults::new(runner, &plan, &node_ids, shaper.as_ref());
    let window_start = tokio::time::Instant::now() + plan.time_scale.real(plan.warmup);
    let (measured, ()) = tokio::join!(
        window::measure(runner, &plan, sampled, traffic_ns, t0),
        faults.play(window_start)
    );
    faults.finish().await;
    let fault_records = faults.into_records();
    phases.window_started_after_s = measured.started_after_s;
    phases.traffic_ended_after_s = measured.ended_after_s;

    // The shaper stops first, so that it removes its rules and releases the nodes'
    // namespaces while they still exist.
    // One host, read through its shaper: offset 0 by construction, the probe's estimate
    // reported as the method's error.
    let mut clocks = Vec::new();
    if let Some(s) = shaper.as_mut() {
        clocks.extend(clocks::probe(s, clocks::LOCAL).await);
    }
    eprintln!("==> stopping nodes and collecting events");
    if let Some(id) = &shaper_id {
        runner
            .stop_container(id, nodes::STOP_GRACE)
            .await
            .map_err(infra)?;
    }
    let attached = nodes::NodeNetworks {
        bridges: &networks.names,
        private: &nats.private,
    };
    nodes::stop(runner, &plan, attached, &node_ids).await?;
    let names: Vec<String> = plan.nodes.iter().map(|n| n.name.clone()).collect();
    let mut records = collect::collect(events, &names).await?;
    records.extend(fault_records);
    records.sort_by_key(|r| r.ts_ns);
    let records = virtual_time::records(records, plan.time_scale, measured.window.traffic_ns);
    let window = virtual_time::window(measured.window, plan.time_scale);
    phases.collected_after_s = elapsed_s(t0);
    eprintln!("==> {} events collected", records.len());

    let peaks = host_monitor.peaks();
    Ok(Outcome {
        run_id: run_id.to_string(),
        runner: kind.kind(),
        plan,
        records,
        window,
        shaper_backend,
        tcp_congestion: congestion.in_force,
        clocks,
        started_at_ms,
        ended_at_ms: now_ns() / 1_000_000,
        phases,
        resources: Resources {
            peak_host_mem_bytes: peaks.mem_bytes,
            peak_host_load: peaks.load,
            window_host_busy: measured.host_busy,
            containers: measured.usage,
            cost: measured.cost,
        },
    })
}

/// The host settings a run of `nodes` needs: a neighbour table that holds every node's
/// peers, and the nodes' congestion control allowed in namespaces.
fn prepare_host(nodes: usize) -> Result<host::congestion::Congestion, Error> {
    match host::neighbour::ensure_neighbour_table(host::neighbour::neighbour_entries_needed(nodes))
    {
        Ok(Some(what)) => eprintln!("==> {what}"),
        Ok(None) => {}
        Err(e) => return Err(Error::Infra(e)),
    }
    let congestion = host::congestion::ensure().map_err(Error::Infra)?;
    if let Some(note) = &congestion.note {
        eprintln!("==> {note}");
    }
    Ok(congestion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_clean_and_distinct() {
        let a = new_run_id("Smoke Test!");
        let b = new_run_id("Smoke Test!");
        assert!(a.starts_with("smoke-test--"), "{a}");
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
        assert_ne!(a, b);
    }
}
