//! The runner interface: what a run does differently on each engine it can use.
//!
//! Both runners drive one Docker engine ([`DockerRunner`]) for images, node containers,
//! faults, events and resources; they differ in how the run's network is made, how the
//! shaper is started, and what teardown must undo:
//! - [`Docker`]: bridges on this host, the shaper as a container in the host's pid
//!   namespace (the default);
//! - [`Swarm`]: the engine's swarm (joined, or a one-host swarm created and left again),
//!   one attachable overlay network with the nodes at their planned addresses, the shaper
//!   as a global service pinned to this host.

mod swarm;

use std::path::Path;

pub use swarm::{Swarm, lab_swarm_resources, leave_lab_swarm};

use super::network::{self, Driver, RunNetworks};
use super::shaper::{self, HostShaper};
use crate::docker::DockerRunner;
use crate::error::Error;
use crate::plan::Plan;

/// Which runner `run` uses (`--runner`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RunnerKind {
    /// Bridge networks and containers on this host's engine.
    #[default]
    Docker,
    /// The engine's Docker Swarm: an overlay network and a global shaper service (a
    /// one-host swarm is created, and left afterwards, when the engine is in none).
    Swarm,
}

impl RunnerKind {
    /// The runner's name, as `--runner` takes it and results report it.
    pub fn name(self) -> &'static str {
        match self {
            RunnerKind::Docker => "docker",
            RunnerKind::Swarm => "swarm",
        }
    }

    /// The runner a result names; `""` (a result written before the runner was recorded,
    /// by the Docker runner, the only one then) is [`RunnerKind::Docker`]. `None` for a
    /// name no runner has.
    pub fn of_result(name: &str) -> Option<RunnerKind> {
        if name.is_empty() {
            return Some(RunnerKind::Docker);
        }
        <RunnerKind as clap::ValueEnum>::value_variants()
            .iter()
            .copied()
            .find(|k| k.name() == name)
    }

    /// Every runner's name, for messages.
    pub fn names() -> String {
        <RunnerKind as clap::ValueEnum>::value_variants()
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What differs between runners. Every method leaves what it made labelled with the run,
/// so that [`Runner::teardown`] (also after a failure or an interruption) removes it.
// The futures are awaited where they are made (one run, one task), so no `Send` bound is
// needed of them.
#[allow(async_fn_in_trait)]
pub trait Runner {
    /// Which runner this is.
    fn kind(&self) -> RunnerKind;

    /// Creates the run's networks for `plan` (its bridges, or the swarm's overlay).
    async fn networks(
        &self,
        engine: &DockerRunner,
        run_id: &str,
        plan: &Plan,
    ) -> Result<RunNetworks, Error>;

    /// Starts the run's shaper from the tools `image` (with the host file of the regions
    /// matrix, if the run has regions).
    async fn start_shaper(
        &self,
        engine: &DockerRunner,
        run_id: &str,
        plan: &Plan,
        image: &str,
        regions_file: Option<&Path>,
    ) -> Result<HostShaper, Error>;

    /// Removes everything the run made (a run of several bridges: its routing rules too),
    /// and says what.
    async fn teardown(&self, engine: &DockerRunner, run_id: &str, routed: bool);
}

/// The Docker runner: bridges and containers on this host.
#[derive(Debug, Clone, Copy, Default)]
pub struct Docker;

impl Runner for Docker {
    fn kind(&self) -> RunnerKind {
        RunnerKind::Docker
    }

    async fn networks(
        &self,
        engine: &DockerRunner,
        run_id: &str,
        plan: &Plan,
    ) -> Result<RunNetworks, Error> {
        network::create(engine, run_id, plan.bridges, plan.has_nat(), Driver::Bridge).await
    }

    async fn start_shaper(
        &self,
        engine: &DockerRunner,
        run_id: &str,
        plan: &Plan,
        image: &str,
        regions_file: Option<&Path>,
    ) -> Result<HostShaper, Error> {
        let spec = shaper::shaper_spec(run_id, plan, image, regions_file)?;
        HostShaper::start(engine, &spec, plan).await
    }

    async fn teardown(&self, engine: &DockerRunner, run_id: &str, routed: bool) {
        super::teardown::teardown(engine, run_id, routed).await;
    }
}
