//! `orchestrator run`: one scenario end to end — images, network, node and shaper
//! containers, readiness, traffic, collection, statistics — with teardown on every exit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use lab_events::{Event, Record, now_ns};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::binaries::{self, Binaries};
use crate::docker::tools_image::{TOOLS_REPO, tools_context};
use crate::docker::{
    ContainerSpec, DockerError, DockerRunner, LogSource, NetworkAttachment, node_image_context,
};
use crate::error::Error;
use crate::host::{self, HostMonitor};
use crate::host_shaper::{HostShaper, SHAPER_ROLE};
use crate::plan::{self, Plan, Subnet};
use crate::result::{ContainerUsage, RunResult};
use crate::scenario::{self, Scenario};
use crate::stats::{self, Window};

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where `<run-id>/result.json` goes.
    pub reports_dir: PathBuf,
    /// A prebuilt static `meshnode` (otherwise cargo builds it).
    pub node_binary: Option<PathBuf>,
    /// A prebuilt static `labshaper` (otherwise cargo builds it).
    pub shaper_binary: Option<PathBuf>,
    /// How long to wait for every mesh before traffic starts anyway.
    pub ready_timeout: Duration,
}

/// Engine calls in flight at once when creating, stopping or reading many containers.
const CONCURRENCY: usize = 16;
/// Traffic after the measurement window, so that the window's last messages arrive before
/// the nodes stop.
const DRAIN: Duration = Duration::from_secs(3);
/// Grace between SIGTERM and SIGKILL when stopping nodes.
const STOP_GRACE: Duration = Duration::from_secs(5);

fn infra(e: DockerError) -> Error {
    Error::Infra(e.to_string())
}

/// Runs the scenario at `path`. Every container and network of the run is removed before
/// this returns, whether the run succeeded, failed, or was interrupted (SIGINT/SIGTERM).
pub async fn run(path: &Path, opts: &RunOptions) -> Result<RunResult, Error> {
    let scenario = scenario::load(path)?;
    check_host(&scenario).await?;
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
    let runner = DockerRunner::connect().await.map_err(infra)?;
    let run_id = new_run_id(&scenario.name);
    eprintln!(
        "==> run {run_id}: scenario {} ({} nodes)",
        scenario.name,
        scenario.node_count()
    );
    let outcome = tokio::select! {
        r = execute(&runner, &run_id, &scenario, &bins, opts) => r,
        _ = sigint.recv() => Err(Error::Interrupted),
        _ = sigterm.recv() => Err(Error::Interrupted),
    };
    if matches!(outcome, Err(Error::Interrupted)) {
        eprintln!("==> interrupted: removing the run's containers and network");
    }
    teardown(&runner, &run_id).await;
    outcome
}

/// The host checks of `orchestrator doctor` for this scenario: warnings are printed, the
/// first failure stops the run before anything is built or started.
async fn check_host(scenario: &Scenario) -> Result<(), Error> {
    let needs = host::Needs::of(&plan::plan(scenario, Subnet::DEFAULT));
    let checks = host::Host::inspect(None).await.checks(Some(needs));
    for c in checks.iter().filter(|c| c.status == host::Status::Warn) {
        eprintln!("warning: {c}");
    }
    match host::checks::first_failure(&checks) {
        Some(c) => Err(Error::Infra(format!(
            "pass the host checks (`orchestrator doctor` shows them all):\n  {c}"
        ))),
        None => Ok(()),
    }
}

/// Removes everything labelled with the run id, and checks that nothing is left: a create
/// call in flight when the run was cancelled may land after the first pass, and the engine
/// releases a network's endpoints some time after its containers are gone ("active
/// endpoints"), so removal is retried for up to `TEARDOWN_PATIENCE`.
async fn teardown(runner: &DockerRunner, run_id: &str) {
    let deadline = tokio::time::Instant::now() + TEARDOWN_PATIENCE;
    let (mut containers, mut networks) = (0, 0);
    loop {
        let outcome = runner.teardown(run_id).await;
        if let Ok(r) = &outcome {
            containers += r.containers;
            networks += r.networks;
        }
        let left = runner
            .labelled_containers("meshlab.run", run_id)
            .await
            .map(|c| c.len())
            .unwrap_or(1)
            + runner
                .labelled_networks("meshlab.run", run_id)
                .await
                .map(|n| n.len())
                .unwrap_or(1);
        if left == 0 {
            eprintln!("==> teardown: removed {containers} containers and {networks} networks");
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let why = outcome.err().map(|e| e.to_string()).unwrap_or_default();
            eprintln!(
                "warning: failed to tear down run {run_id} completely ({left} resources left{}); `orchestrator down` removes them",
                if why.is_empty() {
                    String::new()
                } else {
                    format!(": {why}")
                }
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// How long teardown keeps retrying.
const TEARDOWN_PATIENCE: Duration = Duration::from_secs(30);

fn new_run_id(name: &str) -> String {
    let nanos = now_ns();
    let tag = blake3::hash(&nanos.to_le_bytes()).to_hex();
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(24)
        .collect();
    format!("{clean}-{}", &tag[..8])
}

fn phase_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{msg:>22} [{bar:30}] {pos}/{len} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(what.to_string());
    bar
}

fn elapsed_s(t0: Instant) -> Option<f64> {
    Some(t0.elapsed().as_secs_f64())
}

async fn execute(
    runner: &DockerRunner,
    run_id: &str,
    scenario: &Scenario,
    bins: &Binaries,
    opts: &RunOptions,
) -> Result<RunResult, Error> {
    let t0 = Instant::now();
    let started_at_ms = now_ns() / 1_000_000;
    let host = HostMonitor::start();

    // Images.
    eprintln!("==> images");
    let node_image = runner
        .ensure_image(
            "meshlab-node",
            node_image_context(&bins.meshnode).map_err(infra)?,
        )
        .await
        .map_err(infra)?;
    eprintln!(
        "    {} ({})",
        node_image.tag,
        if node_image.built { "built" } else { "cached" }
    );
    let probe_plan = plan::plan(scenario, Subnet::DEFAULT);
    let tools_image = if probe_plan.shapes() {
        let ctx = tools_context(&bins.labshaper).map_err(|e| Error::Infra(e.to_string()))?;
        let img = runner.ensure_image(TOOLS_REPO, ctx).await.map_err(infra)?;
        eprintln!(
            "    {} ({})",
            img.tag,
            if img.built { "built" } else { "cached" }
        );
        Some(img.tag)
    } else {
        None
    };
    let images_ready = elapsed_s(t0);

    // Host: the neighbour table must hold every node's peers, and the nodes' congestion
    // control must be allowed in namespaces.
    match host::neighbour::ensure_neighbour_table(host::neighbour::neighbour_entries_needed(
        scenario.node_count(),
    )) {
        Ok(Some(what)) => eprintln!("==> {what}"),
        Ok(None) => {}
        Err(e) => return Err(Error::Infra(e)),
    }
    let congestion = host::congestion::ensure().map_err(Error::Infra)?;
    if let Some(note) = &congestion.note {
        eprintln!("==> {note}");
    }

    // Network, on the first free /16 among a few.
    let (network, plan) = create_network(runner, run_id, scenario).await?;

    // Node containers. Publishers publish from boot (the traffic start is now, which every
    // node sees as past), before links are shaped and meshes awaited, and until they are
    // stopped: no mesh sits idle, even while 100 containers take 20 s to start (under the
    // spec's P3 mesh-delivery penalty a mesh peer that delivers nothing for 10 s falls to
    // -100 and is pruned). Only the messages published in the window are measured.
    let traffic_ns = now_ns();
    let traffic_started = elapsed_s(t0);
    let specs = plan
        .nodes
        .iter()
        .map(|n| {
            Ok(ContainerSpec {
                run_id: run_id.to_string(),
                role: n.role.name().to_string(),
                name: format!("{run_id}-{}", n.name),
                image: node_image.tag.clone(),
                env: vec![
                    (
                        "MESHNODE_CONFIG_TOML".into(),
                        n.node_config_toml(Some(traffic_ns / 1_000_000))?,
                    ),
                    ("RUST_LOG".into(), "warn".into()),
                ],
                network: Some(NetworkAttachment {
                    network: network.clone(),
                    ipv4: Some(n.ip),
                }),
                labels: vec![("meshlab.node".into(), n.name.clone())],
                sysctls: congestion
                    .sysctl
                    .iter()
                    .map(|a| ("net.ipv4.tcp_congestion_control".to_string(), a.clone()))
                    .collect(),
                ..ContainerSpec::default()
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    eprintln!(
        "==> traffic: {} msg/s from each publisher's boot",
        plan.traffic.rate_per_sec
    );
    // The shaper starts first, and each node is handed to it as soon as it runs.
    let mut shaper = match &tools_image {
        Some(image) => Some(HostShaper::start(runner, run_id, &plan, image).await?),
        None => None,
    };
    let bar = phase_bar(specs.len() as u64, "starting nodes");
    let node_ids = start_nodes(runner, &specs, shaper.as_ref(), &bar).await?;
    bar.finish();
    let containers_started = elapsed_s(t0);
    eprintln!("==> {} node containers started", node_ids.len());

    // Link shaping.
    let backend = match &mut shaper {
        Some(s) => s.await_ready(runner, node_ids.len()).await?,
        None => "none".to_string(),
    };
    let shaper_id = shaper.as_ref().map(|s| s.id.clone());
    let shaped = elapsed_s(t0);
    eprintln!("==> link shaping: {backend}");

    // Readiness: every mesh at least mesh_n_low.
    let unready = await_meshes(runner, &plan, &node_ids, opts.ready_timeout).await;
    let ready = elapsed_s(t0);
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
            opts.ready_timeout,
            unready.join(", ")
        );
    }

    // Warm-up, then the measurement window, then a drain for the window's last messages.
    if !plan.warmup.is_zero() {
        eprintln!("==> warm-up {:?}", plan.warmup);
        tokio::time::sleep(plan.warmup).await;
    }
    // Resources of every node and of the shaper, sampled around the window.
    let sampled: Vec<(String, String)> = plan
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .zip(node_ids.iter().cloned())
        .chain(
            shaper_id
                .iter()
                .map(|id| (SHAPER_ROLE.to_string(), id.clone())),
        )
        .collect();
    let sampled_ids: Vec<String> = sampled.iter().map(|(_, id)| id.clone()).collect();
    let before = sample_stats(runner, &sampled_ids).await;
    let window_start_ns = now_ns();
    let window_started = elapsed_s(t0);
    let bar = phase_bar(plan.window.as_secs(), "measuring (s)");
    let until = tokio::time::Instant::now() + plan.window;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while tokio::time::Instant::now() < until {
        tick.tick().await;
        bar.set_position(
            t0.elapsed()
                .as_secs()
                .saturating_sub(window_started.map(|s| s as u64).unwrap_or_default()),
        );
    }
    bar.finish();
    let window = Window {
        traffic_ns,
        start_ns: window_start_ns,
        end_ns: now_ns(),
    };
    let traffic_ended = elapsed_s(t0);
    let after = sample_stats(runner, &sampled_ids).await;
    tokio::time::sleep(DRAIN).await;

    // Stop and collect: the shaper first, so that it removes its rules and releases the
    // nodes' namespaces while they still exist.
    eprintln!("==> stopping nodes and collecting events");
    if let Some(id) = &shaper_id {
        runner.stop_container(id, STOP_GRACE).await.map_err(infra)?;
    }
    // Nodes leave the network one at a time first, so that a hundred stopping at once do
    // not race on its endpoint count (see `DockerRunner::endpoint_change`).
    for id in &node_ids {
        runner.leave_network(&network, id).await;
    }
    futures::stream::iter(&node_ids)
        .map(|id| runner.stop_container(id, STOP_GRACE))
        .buffer_unordered(CONCURRENCY * 2)
        .try_collect::<Vec<_>>()
        .await
        .map_err(infra)?;
    let records = collect(runner, &node_ids).await?;
    let collected = elapsed_s(t0);
    eprintln!("==> {} events collected", records.len());

    let stats = stats::compute(&records, &plan, Some(window));
    let mut result = RunResult::new(
        run_id,
        &plan,
        stats,
        backend,
        started_at_ms,
        now_ns() / 1_000_000,
    );
    result.tcp_congestion = congestion.in_force.clone();
    result.phases.images_ready_after_s = images_ready;
    result.phases.containers_started_after_s = containers_started;
    result.phases.shaped_after_s = shaped;
    result.phases.ready_after_s = ready;
    result.phases.traffic_started_after_s = traffic_started;
    result.phases.window_started_after_s = window_started;
    result.phases.traffic_ended_after_s = traffic_ended;
    result.phases.collected_after_s = collected;
    result.phases.unready_nodes = unready;
    let peaks = host.peaks();
    result.resources.peak_host_mem_bytes = peaks.mem_bytes;
    result.resources.peak_host_load = peaks.load;
    result.resources.containers = sampled
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
    let path = result.write_json(&opts.reports_dir)?;
    let events = path.with_file_name("events.jsonl");
    write_events(&events, &records)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let report = crate::report::write(&result, &records, dir)?;
    eprintln!(
        "==> result: {} (events: {}, report: {})",
        path.display(),
        events.display(),
        report.display()
    );
    Ok(result)
}

/// Writes every collected record, one JSON object a line, for later analysis.
fn write_events(path: &Path, records: &[Record]) -> Result<(), Error> {
    let mut text = String::with_capacity(records.len() * 200);
    for r in records {
        text.push_str(&r.to_line());
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| Error::io("write events", path, e))
}

/// Creates the run's network on the first free subnet among 10.77-10.96 and plans the
/// run in it.
async fn create_network(
    runner: &DockerRunner,
    run_id: &str,
    scenario: &Scenario,
) -> Result<(String, Plan), Error> {
    let name = format!("meshlab-{run_id}");
    let mut last = None;
    let start = (now_ns() % 20) as u8;
    for k in 0..20u8 {
        let subnet = Subnet::new(10, 77 + (start + k) % 20);
        match runner.create_network(run_id, &name, &subnet.cidr()).await {
            Ok(net) => return Ok((net.name, plan::plan(scenario, subnet))),
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Infra(format!(
        "create network {name}: no free subnet in 10.77.0.0-10.96.0.0/16 ({})",
        last.map(|e| e.to_string()).unwrap_or_default()
    )))
}

/// Starts every node container, at most [`CONCURRENCY`] engine calls in flight, and hands
/// each to the shaper as soon as it runs. Returns the ids in the order of `specs`; stops at
/// the first failure (what was created carries the run label, so teardown removes it).
async fn start_nodes(
    runner: &DockerRunner,
    specs: &[ContainerSpec],
    shaper: Option<&HostShaper>,
    bar: &ProgressBar,
) -> Result<Vec<String>, Error> {
    let mut ids = vec![String::new(); specs.len()];
    let mut started = futures::stream::iter(specs.iter().enumerate())
        .map(|(index, spec)| async move {
            let id = runner.run_container(spec).await.map_err(infra)?;
            if let Some(shaper) = shaper {
                shaper.shape(runner.container_pid(&id).await.map_err(infra)?)?;
            }
            Ok::<_, Error>((index, id))
        })
        .buffer_unordered(CONCURRENCY);
    let mut done = 0;
    while let Some(result) = started.next().await {
        let (index, id) = result?;
        ids[index] = id;
        done += 1;
        bar.set_position(done);
    }
    Ok(ids)
}

/// Follows every honest node's events until each mesh holds `mesh_n_low` peers or
/// `timeout` passes; returns the honest nodes that never got there. Attackers are not
/// awaited: peer scoring is meant to keep them out of meshes.
async fn await_meshes(
    runner: &DockerRunner,
    plan: &Plan,
    node_ids: &[String],
    timeout: Duration,
) -> Vec<String> {
    let need = plan.gossipsub.mesh_n_low;
    let (tx, mut rx) = mpsc::channel::<(usize, usize)>(4096);
    let honest: Vec<(&crate::plan::NodePlan, &String)> = plan
        .nodes
        .iter()
        .zip(node_ids)
        .filter(|(n, _)| n.is_honest())
        .collect();
    let tasks: Vec<_> = honest
        .iter()
        .enumerate()
        .map(|(i, (_, id))| {
            let mut lines = runner.follow_logs(id, LogSource::Stdout);
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(Ok(line)) = lines.next().await {
                    if let Ok(Record {
                        event: Event::Mesh { peers, .. },
                        ..
                    }) = Record::parse(&line)
                        && tx.send((i, peers.len())).await.is_err()
                    {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut mesh = vec![0usize; honest.len()];
    let mut ready = 0;
    let bar = phase_bar(honest.len() as u64, "meshed");
    let deadline = tokio::time::Instant::now() + timeout;
    while ready < mesh.len() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((i, n))) => {
                let was = mesh[i] >= need;
                mesh[i] = n;
                match (was, n >= need) {
                    (false, true) => ready += 1,
                    (true, false) => ready -= 1,
                    _ => {}
                }
                bar.set_position(ready as u64);
            }
            Ok(None) | Err(_) => break,
        }
    }
    bar.finish();
    for t in tasks {
        t.abort();
    }
    honest
        .iter()
        .zip(&mesh)
        .filter(|(_, n)| **n < need)
        .map(|((p, _), _)| p.name.clone())
        .collect()
}

/// One resource sample per container (missing where the engine did not answer).
async fn sample_stats(
    runner: &DockerRunner,
    ids: &[String],
) -> HashMap<String, crate::docker::ContainerStats> {
    futures::stream::iter(ids)
        .map(|id| async move { (id.clone(), runner.stats_once(id).await) })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|(id, s)| async move { s.ok().map(|s| (id, s)) })
        .collect()
        .await
}

/// Every node's complete event stream (also from containers that died), merged.
async fn collect(runner: &DockerRunner, ids: &[String]) -> Result<Vec<Record>, Error> {
    let streams: Vec<Vec<String>> = futures::stream::iter(ids)
        .map(|id| runner.collect_logs(id, LogSource::Stdout))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
        .map_err(infra)?;
    let mut records = Vec::new();
    let mut bad = 0usize;
    for line in streams.iter().flatten() {
        match Record::parse(line) {
            Ok(r) => records.push(r),
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        eprintln!("warning: {bad} output lines were not event records");
    }
    records.sort_by_key(|r| r.ts_ns);
    Ok(records)
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
