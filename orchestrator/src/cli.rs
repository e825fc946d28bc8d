//! The command line: one clap root, one options struct per subcommand, one dispatch.
//!
//! Exit codes (also in [`crate::error`]): 0 targets met, 1 targets missed, 2 scenario
//! invalid or bad usage, 3 infrastructure failure (Docker, images, I/O), 4 interrupted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::docker::DockerRunner;
use crate::error::{EXIT_INVALID, EXIT_TARGETS_MET, Error};
use crate::gate::{self, Figure, Side, Threshold, Thresholds};
use crate::output::export::{self, ExportOptions};
use crate::output::{self, compose, junit, k8s, summary};
use crate::pipeline;
use crate::plan::{self, Subnet};
use crate::result::Verdict;
use crate::run::RunOptions;
use crate::run::runner::RunnerKind;
use crate::sweep;

/// Turns a TOML scenario into a measured Docker testnet of meshnode containers.
///
/// Exit codes: 0 targets met, 1 targets missed, 2 scenario invalid or bad usage,
/// 3 infrastructure failure (Docker unreachable, image build failed, I/O), 4 interrupted.
#[derive(Debug, Parser)]
#[command(name = "orchestrator", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario end to end: build images, start containers, shape links, drive
    /// traffic, collect events, and report against the targets.
    Run(RunArgs),
    /// Check scenario files; every error is reported with file, line, column and field.
    Validate(ValidateArgs),
    /// Print the seeded plan of a scenario (same seed, same plan).
    Plan(PlanArgs),
    /// Remove every swarm service, container and network any run left behind (label
    /// meshlab=1), and leave a swarm a run created (never one you made).
    Down,
    /// Check what a run needs against what this host has, one line each (engine, root,
    /// netem, NFQUEUE, congestion control, neighbour table, cores and memory, and the
    /// largest testnet it should carry faithfully); with a scenario, for that scenario.
    /// `run` performs the same checks first. Exit 3 when a check fails.
    Doctor(DoctorArgs),
    /// Compare a run or trials result against a baseline; exit 1 when a tracked figure
    /// regresses past its threshold (see README, "Regression gate", for the exact rule).
    Compare(CompareArgs),
    /// Write a scenario's testnet in another tool's format.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Run a scenario at every combination of swept values (`--set PATH=V1,V2,...`), each
    /// point as `run` does, and write `sweep.json` and `sweep.html` (every tracked figure
    /// against the first swept parameter). Exit 0 when every point ran, 5 when one was
    /// distorted, 3 when one failed, 4 when interrupted, 2 when a value is invalid; missed
    /// targets do not change it.
    Sweep(SweepArgs),
    /// Re-render the HTML report of a finished run from its result.json (and the
    /// events.jsonl beside it), without rerunning.
    Report(ReportArgs),
}

/// Options of `report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A run's result.json.
    pub result: PathBuf,
}

/// How each run is carried out: the options `run` and `sweep` share.
#[derive(Debug, clap::Args)]
pub struct RunFlags {
    /// Folder for `<run-id>/result.json`.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// A prebuilt static meshnode binary (default: build it with cargo).
    #[arg(long, requires = "shaper_binary")]
    pub node_binary: Option<PathBuf>,
    /// A prebuilt static labshaper binary (default: build it with cargo).
    #[arg(long, requires = "node_binary")]
    pub shaper_binary: Option<PathBuf>,
    /// Seconds to wait for every mesh before traffic starts anyway (and the laggards are
    /// reported); virtual seconds, so a dilated run waits `time_scale` times longer.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ready_timeout: u64,
    /// The most nodes on one bridge network: a run with more is spread over several,
    /// routed by the host (README, "Host requirements at scale"). A small value tries that
    /// path with a small run.
    #[arg(long, default_value_t = crate::plan::NODES_PER_BRIDGE as u64,
          value_parser = clap::value_parser!(u64).range(1..=crate::plan::NODES_PER_BRIDGE as u64))]
    pub nodes_per_bridge: u64,
    /// The engine to run on: `docker` (bridges on this host) or `swarm` (the engine's
    /// Docker Swarm, an overlay network and a global shaper service; a one-host swarm is
    /// created and left again when the engine is in none).
    #[arg(long, value_enum, default_value_t = RunnerKind::Docker)]
    pub runner: RunnerKind,
}

impl RunFlags {
    /// The run options these flags give.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            reports_dir: self.reports.clone(),
            node_binary: self.node_binary.clone(),
            shaper_binary: self.shaper_binary.clone(),
            ready_timeout: Duration::from_secs(self.ready_timeout),
            nodes_per_bridge: usize::try_from(self.nodes_per_bridge)
                .unwrap_or(crate::plan::NODES_PER_BRIDGE),
            runner: self.runner,
        }
    }
}

/// Options of `sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The scenario file (valid on its own).
    pub scenario: PathBuf,
    /// A swept field and its values: `PATH=V1,V2,...`, e.g. `traffic.rate=1/s,2/s`,
    /// `gossipsub.mesh_n=4,8`, `groups.0.count=10,20` (a digit segment indexes an array,
    /// from 0). Values are TOML (`5`, `"x"`, `{ delay = "25ms" }`), else strings. Up to 8
    /// flags of up to 32 values, at most 64 points; the first flag is the charts' x axis.
    #[arg(long = "set", value_name = "PATH=V1,V2,...", required = true)]
    pub set: Vec<String>,
    /// Run each point N times (as `run --trials N`); figures are the medians. At most
    /// 256 runs in all.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=gate::MAX_TRIALS as i64))]
    pub trials: u16,
    /// Folder for `sweep.json` and `sweep.html` (default
    /// `<reports>/<scenario>-sweep-<id>`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the grid and validate every point, without running anything.
    #[arg(long)]
    pub dry_run: bool,
    /// How each run is carried out.
    #[command(flatten)]
    pub run: RunFlags,
}

/// Options of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// How the run is carried out.
    #[command(flatten)]
    pub run: RunFlags,
    /// Run the scenario N times in a row and write `<scenario>-trials-<id>/trials.json`
    /// with the median and a confidence interval per figure; targets are then checked on
    /// the medians.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=gate::MAX_TRIALS as i64))]
    pub trials: Option<u16>,
    /// With --trials: a trial the lab distorted (the host, not the network, set its
    /// figures) is set aside and run again in its place, at most N times in all; the
    /// set-aside trials are listed in trials.json and under the table. 0 (the default):
    /// a distorted trial leaves the trials not judged (exit 5).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "trials", value_parser = clap::value_parser!(u16).range(0..=gate::MAX_RERUNS as i64))]
    pub rerun_distorted: u16,
    /// Also write the targets as JUnit XML (one test case per target) to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Options of `compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline: a result.json or a trials.json.
    pub baseline: PathBuf,
    /// The run to judge: a result.json or a trials.json.
    pub current: PathBuf,
    /// Relative threshold of every figure without its own flag (delivery has its own
    /// default: an absolute drop of 0.005).
    #[arg(long, default_value_t = Threshold::Relative(gate::DEFAULT_THRESHOLD_PERCENT / 100.0))]
    pub threshold: Threshold,
    /// Threshold of latency p50: `N%` (relative) or `Nms` (absolute).
    #[arg(long)]
    pub p50: Option<Threshold>,
    /// Threshold of latency p95.
    #[arg(long)]
    pub p95: Option<Threshold>,
    /// Threshold of latency p99.
    #[arg(long)]
    pub p99: Option<Threshold>,
    /// Threshold of the p99 time to reach every honest node.
    #[arg(long)]
    pub cov100_p99: Option<Threshold>,
    /// Threshold of the delivery ratio: `N%` or an absolute drop such as `0.005`.
    #[arg(long)]
    pub delivery: Option<Threshold>,
    /// Threshold of the duplicates per message.
    #[arg(long)]
    pub dups: Option<Threshold>,
}

/// The formats `export` writes.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A docker compose file of the scenario's seeded plan, on the images `run` builds.
    Compose(ComposeArgs),
    /// Kubernetes manifests of the scenario's seeded plan, on the images `run` builds: a
    /// namespace, a ConfigMap, Service and Pod per node, and the shaper as a privileged
    /// DaemonSet (README, "Kubernetes").
    K8s(K8sArgs),
}

/// What every `export` format is given.
#[derive(Debug, clap::Args)]
pub struct ExportFlags {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Write the file here (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The nodes' subnet, `A.B.0.0/16` (default outside the runs' range): compose's
    /// network, or the nodes' Service addresses on Kubernetes, which must lie in the
    /// cluster's service range.
    #[arg(long, default_value = "10.97.0.0/16", value_parser = export::parse_subnet)]
    pub subnet: Subnet,
    /// A prebuilt static meshnode binary (default: build it with cargo).
    #[arg(long, requires = "shaper_binary")]
    pub node_binary: Option<PathBuf>,
    /// A prebuilt static labshaper binary (default: build it with cargo).
    #[arg(long, requires = "node_binary")]
    pub shaper_binary: Option<PathBuf>,
}

impl ExportFlags {
    fn options(&self) -> ExportOptions<'_> {
        ExportOptions {
            scenario: &self.scenario,
            subnet: self.subnet,
            node_binary: self.node_binary.as_deref(),
            shaper_binary: self.shaper_binary.as_deref(),
        }
    }

    /// Writes `text` to `--output`, or to standard output.
    fn write(&self, text: &str) -> Result<u8, Error> {
        match &self.output {
            Some(path) => {
                write_file(path, text)?;
                eprintln!("==> wrote {}", path.display());
            }
            None => print!("{text}"),
        }
        Ok(EXIT_TARGETS_MET)
    }
}

/// Options of `export compose`.
#[derive(Debug, clap::Args)]
pub struct ComposeArgs {
    /// What every format is given.
    #[command(flatten)]
    pub export: ExportFlags,
}

/// Options of `export k8s`.
#[derive(Debug, clap::Args)]
pub struct K8sArgs {
    /// What every format is given.
    #[command(flatten)]
    pub export: ExportFlags,
    /// The namespace, a DNS-1123 label of at most 63 characters (default: `meshlab-` and
    /// the scenario's name); also the value of every object's `meshlab.run` label.
    #[arg(long, value_name = "NAME", value_parser = k8s::parse_namespace)]
    pub namespace: Option<String>,
}

/// Options of `validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
}

/// Options of `doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Check the host for this scenario's needs (nodes, rate, shaping).
    pub scenario: Option<PathBuf>,
}

/// Options of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The scenario file.
    pub scenario: PathBuf,
}

/// Runs the command; returns the process exit code.
pub async fn dispatch(cli: Cli) -> u8 {
    let outcome = match cli.command {
        Command::Run(a) => run_cmd(a).await,
        Command::Validate(a) => validate(a),
        Command::Plan(a) => plan_cmd(a),
        Command::Down => down().await,
        Command::Doctor(a) => doctor(a).await,
        Command::Compare(a) => compare_cmd(a),
        Command::Export(ExportCommand::Compose(a)) => export_compose(a).await,
        Command::Export(ExportCommand::K8s(a)) => export_k8s(a).await,
        Command::Report(a) => report(a),
        Command::Sweep(a) => sweep_cmd(a).await,
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: failed to {e}");
            e.exit_code()
        }
    }
}

async fn run_cmd(a: RunArgs) -> Result<u8, Error> {
    let opts = a.run.options();
    let outcome = match a.trials {
        None => pipeline::run_once(&a.scenario, &opts).await.map(|result| {
            println!("{}", summary::render(&result));
            (result.exit_code(), junit::for_run(&result))
        }),
        Some(n) => {
            let t0 = Instant::now();
            pipeline::run_trials(
                &a.scenario,
                &opts,
                usize::from(n),
                usize::from(a.rerun_distorted),
            )
            .await
            .map(|(trials, path)| {
                println!("{}", output::trials::table(&trials));
                println!("trials: {}", path.display());
                let xml = junit::for_trials(&trials, t0.elapsed().as_secs_f64());
                (trials.exit_code(), xml)
            })
        }
    };
    match outcome {
        Ok((code, xml)) => {
            if let Some(path) = &a.junit {
                junit::write(path, &xml)?;
            }
            Ok(code)
        }
        Err(e) => {
            if let Some(path) = &a.junit {
                let name = a.scenario.file_stem().unwrap_or_default().to_string_lossy();
                if let Err(w) = junit::write(path, &junit::for_error(&name, &e.to_string())) {
                    eprintln!("warning: failed to {w}");
                }
            }
            Err(e)
        }
    }
}

async fn sweep_cmd(a: SweepArgs) -> Result<u8, Error> {
    let trials = usize::from(a.trials);
    let prepared = match sweep::Prepared::new(&a.scenario, &a.set, trials) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: failed to {e}");
            return Ok(e.exit_code());
        }
    };
    if a.dry_run {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        print!("{}", prepared.render(cores));
        return Ok(EXIT_TARGETS_MET);
    }
    let out = a
        .out
        .unwrap_or_else(|| prepared.default_out(&a.run.reports));
    let opts = sweep::Options {
        run: a.run.options(),
        trials,
        out: out.clone(),
    };
    let result = prepared.run(&opts).await?;
    print!("{}", sweep::table(&result));
    println!(
        "sweep: {} ({})",
        out.join(sweep::json::SWEEP_FILE).display(),
        out.join(sweep::report::SWEEP_HTML).display()
    );
    Ok(result.exit_code())
}

fn compare_cmd(a: CompareArgs) -> Result<u8, Error> {
    let Threshold::Relative(default_relative) = a.threshold else {
        return Err(Error::Usage(
            "read --threshold: it must be relative, e.g. 25%".into(),
        ));
    };
    let per_figure = [
        (Figure::P50, a.p50),
        (Figure::P95, a.p95),
        (Figure::P99, a.p99),
        (Figure::Coverage100P99, a.cov100_p99),
        (Figure::Delivery, a.delivery),
        (Figure::Duplicates, a.dups),
    ]
    .into_iter()
    .filter_map(|(f, t)| t.map(|t| (f, t)))
    .collect();
    let thresholds = Thresholds::new(default_relative, per_figure).map_err(Error::Usage)?;
    let baseline = Side::load(&a.baseline)?;
    let current = Side::load(&a.current)?;
    for side in [&baseline, &current] {
        if side.distorted {
            eprintln!(
                "error: {} was distorted (the lab measured its own host, not the network): nothing to compare",
                side.path.display()
            );
            return Ok(crate::error::EXIT_DISTORTED);
        }
    }
    let comparison = gate::compare(&baseline, &current, &thresholds)?;
    print!("{}", comparison.render());
    Ok(comparison.exit_code())
}

async fn export_compose(a: ComposeArgs) -> Result<u8, Error> {
    let yaml = compose::export(&a.export.options()).await?;
    a.export.write(&yaml)
}

async fn export_k8s(a: K8sArgs) -> Result<u8, Error> {
    let yaml = k8s::export(&a.export.options(), a.namespace.as_deref()).await?;
    a.export.write(&yaml)
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::io("write", path, e))
}

fn validate(a: ValidateArgs) -> Result<u8, Error> {
    let mut code = EXIT_TARGETS_MET;
    for path in &a.scenarios {
        match plan::load(path) {
            Ok(s) => println!("{}: ok ({} nodes)", path.display(), s.node_count()),
            Err(e) => {
                eprintln!("{e}");
                code = EXIT_INVALID;
            }
        }
    }
    Ok(code)
}

fn plan_cmd(a: PlanArgs) -> Result<u8, Error> {
    let s = plan::load(&a.scenario)?;
    let plan = plan::plan(&s, Subnet::DEFAULT);
    println!("{}", plan.render()?);
    // The graph and the estimate go to stderr: stdout is the plan, for tools.
    let graph = plan.graph().stats();
    let reference =
        crate::analysis::graph::random_reference(graph.nodes, graph.degree.mean, plan.seed);
    eprint!(
        "connection graph ({} topology):\n{}",
        plan.topology,
        graph.side_by_side("planned", &reference)
    );
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let k = plan.time_scale;
    let demand = crate::host::demand::Demand::estimate(plan.nodes.len(), plan.topic_rate(), cores)
        .dilated(k.factor());
    let scale = if k.is_real() {
        String::new()
    } else {
        format!(" at time scale {k} ({})", plan.time_scale_asked)
    };
    if demand.busy_share() > plan.guard.host_busy {
        eprintln!(
            "warning: cpu demand on this host {demand}{scale}: above the guard's {:.0} %, a run would likely be distorted (exit 5)",
            plan.guard.host_busy * 100.0
        );
    } else {
        eprintln!("cpu demand on this host {demand}{scale}");
    }
    Ok(EXIT_TARGETS_MET)
}

fn report(a: ReportArgs) -> Result<u8, Error> {
    let path = crate::output::report::rerender(&a.result)?;
    println!("{}", path.display());
    Ok(EXIT_TARGETS_MET)
}

async fn doctor(a: DoctorArgs) -> Result<u8, Error> {
    let needs = match &a.scenario {
        Some(path) => {
            let s = plan::load(path)?;
            Some(crate::host::Needs::of(&plan::plan(&s, Subnet::DEFAULT)))
        }
        None => None,
    };
    let checks = crate::host::Host::inspect(None).await.checks(needs);
    for c in &checks {
        println!("{c}");
    }
    Ok(if crate::host::checks::first_failure(&checks).is_some() {
        crate::error::EXIT_INFRA
    } else {
        EXIT_TARGETS_MET
    })
}

/// Removes every swarm service, container and network of the lab, and every
/// `DOCKER-USER` rule a run of several bridges left (found by its `meshlab:` comment; none
/// looked for where `iptables` is not installed, as no run could have added one); and
/// leaves a swarm a run created (labelled `meshlab=1`), never one the user made.
async fn down() -> Result<u8, Error> {
    let infra = |e: crate::docker::DockerError| Error::Infra(e.to_string());
    // The rules first: they need no engine, and an engine that cannot be reached must
    // not keep them.
    let rules = crate::run::down::remove_rules();
    let engine = DockerRunner::connect().await.map_err(infra)?;
    let d = crate::run::down::down(&engine, rules).await;
    println!("{d}");
    match d.error {
        Some(e) => Err(infra(e)),
        None => Ok(EXIT_TARGETS_MET),
    }
}
