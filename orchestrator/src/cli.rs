//! The command line: one clap root, one options struct per subcommand, one dispatch.
//!
//! Exit codes (also in [`crate::error`]): 0 targets met, 1 targets missed, 2 scenario
//! invalid or bad usage, 3 infrastructure failure (Docker, images, I/O), 4 interrupted.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::docker::DockerRunner;
use crate::error::{EXIT_INVALID, EXIT_TARGETS_MET, Error};
use crate::plan::{self, Subnet};
use crate::run::{RunOptions, run};
use crate::scenario;

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
    /// Remove every container and network any run left behind (label meshlab=1).
    Down,
}

/// Options of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: PathBuf,
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
    /// reported).
    #[arg(long, default_value_t = 90)]
    pub ready_timeout: u64,
}

/// Options of `validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
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
    let opts = RunOptions {
        reports_dir: a.reports,
        node_binary: a.node_binary,
        shaper_binary: a.shaper_binary,
        ready_timeout: Duration::from_secs(a.ready_timeout),
    };
    let result = run(&a.scenario, &opts).await?;
    println!("{}", result.render_summary());
    Ok(result.exit_code())
}

fn validate(a: ValidateArgs) -> Result<u8, Error> {
    let mut code = EXIT_TARGETS_MET;
    for path in &a.scenarios {
        match scenario::load(path) {
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
    let s = scenario::load(&a.scenario)?;
    println!("{}", plan::plan(&s, Subnet::DEFAULT).render()?);
    Ok(EXIT_TARGETS_MET)
}

async fn down() -> Result<u8, Error> {
    let runner = DockerRunner::connect()
        .await
        .map_err(|e| Error::Infra(e.to_string()))?;
    let r = runner
        .down_all()
        .await
        .map_err(|e| Error::Infra(e.to_string()))?;
    println!(
        "removed {} containers and {} networks",
        r.containers, r.networks
    );
    Ok(EXIT_TARGETS_MET)
}
