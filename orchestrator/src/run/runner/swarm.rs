//! The Swarm runner: the run on the engine's Docker Swarm.
//!
//! - The swarm: the one this engine manages, or, when it is in none, a one-host swarm
//!   created for the run (labelled with it, advertised on loopback) and left at teardown,
//!   together with the `docker_gwbridge` network the engine made for it.
//! - The network: one attachable overlay on the run's /16. Swarm services cannot have
//!   fixed addresses, and the plan relies on them (bootstrap addresses, partitions and
//!   regions by source address), so the nodes are containers on the overlay at their
//!   planned addresses, as on a bridge.
//! - The shaper: a global service pinned to this host, never restarted. A service cannot
//!   join the host's pid namespace, so it gets the host's `/proc` bound in and enters each
//!   node's namespace through it; the run talks to its task's container as to the Docker
//!   runner's shaper.
//!
//! Every node runs on this host: placing nodes on the swarm's other hosts needs their
//! engines, which this runner does not reach (README, "Known limits").

use std::path::Path;

use super::{Runner, RunnerKind};
use crate::docker::{DockerRunner, LABEL_RUN, SwarmMembership};
use crate::error::Error;
use crate::plan::Plan;
use crate::run::network::{self, Driver, RunNetworks};
use crate::run::shaper::{self, HostShaper};

/// The network the engine creates for the containers of a swarm's overlays to reach
/// beyond them.
const GWBRIDGE: &str = "docker_gwbridge";

/// The swarm a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swarm {
    /// This host's swarm node id (where the shaper's task is placed).
    node_id: String,
    /// Whether teardown leaves the swarm: the run created it, or an earlier lab run did
    /// and was stopped before it could leave.
    leave: bool,
    /// Whether `docker_gwbridge` was there before the run.
    gwbridge_before: bool,
}

impl Swarm {
    /// Why the Swarm runner cannot carry `plan`, if it cannot: an overlay is one network,
    /// without the routed bridges of a very large run or the private networks of NATs.
    pub fn refuses(plan: &Plan) -> Option<String> {
        if plan.has_nat() {
            return Some(
                "the Swarm runner does not build NAT routers (their private networks are \
                 bridges on one host); run it with `--runner docker`"
                    .into(),
            );
        }
        plan.bridges.routed().then(|| {
            format!(
                "the Swarm runner puts every node on one overlay network, and this run is \
                 split over {} routed bridges (`--nodes-per-bridge`)",
                plan.bridges.count
            )
        })
    }

    /// Joins the engine's swarm for run `run_id`, creating a one-host swarm when the
    /// engine is in none.
    pub async fn join(engine: &DockerRunner, run_id: &str) -> Result<Self, Error> {
        let infra = |e: crate::docker::DockerError| Error::Infra(e.to_string());
        let gwbridge_before = engine.network_exists(GWBRIDGE).await.map_err(infra)?;
        match engine.swarm_membership().await.map_err(infra)? {
            SwarmMembership::Inactive => {
                eprintln!(
                    "==> swarm: this engine is in none; creating a one-host swarm (left again at the end)"
                );
                let node_id = engine.init_swarm(run_id).await.map_err(infra)?;
                Ok(Self {
                    node_id,
                    leave: true,
                    gwbridge_before,
                })
            }
            SwarmMembership::Manager {
                node_id,
                nodes,
                lab_run,
            } => {
                if let Some(earlier) = &lab_run {
                    eprintln!(
                        "==> swarm: the one run {earlier} created is still here; using it, and leaving it at the end"
                    );
                } else {
                    eprintln!("==> swarm: using this engine's swarm ({nodes} hosts)");
                }
                if nodes > 1 {
                    eprintln!(
                        "warning: every node runs on this host; the swarm's other {} hosts are not used",
                        nodes - 1
                    );
                }
                Ok(Self {
                    node_id,
                    leave: lab_run.is_some(),
                    gwbridge_before,
                })
            }
            SwarmMembership::Other(state) => Err(Error::Infra(format!(
                "use this engine's swarm: it is {state}; the Swarm runner needs a manager \
                 (or no swarm, and then creates one)"
            ))),
        }
    }
}

impl Runner for Swarm {
    fn kind(&self) -> RunnerKind {
        RunnerKind::Swarm
    }

    async fn networks(
        &self,
        engine: &DockerRunner,
        run_id: &str,
        plan: &Plan,
    ) -> Result<RunNetworks, Error> {
        network::create(
            engine,
            run_id,
            plan.bridges,
            plan.has_nat(),
            Driver::Overlay,
        )
        .await
    }

    async fn start_shaper(
        &self,
        engine: &DockerRunner,
        run_id: &str,
        plan: &Plan,
        image: &str,
        regions_file: Option<&Path>,
    ) -> Result<HostShaper, Error> {
        let infra = |e: crate::docker::DockerError| Error::Infra(e.to_string());
        let spec = shaper::with_host_proc(shaper::shaper_spec(run_id, plan, image, regions_file)?);
        let service = engine
            .create_global_service(&spec, &self.node_id)
            .await
            .map_err(infra)?;
        let container = engine
            .service_task_container(&service, &self.node_id)
            .await
            .map_err(infra)?;
        HostShaper::attach(engine, container, plan).await
    }

    async fn teardown(&self, engine: &DockerRunner, run_id: &str, routed: bool) {
        match engine.remove_labelled_services(LABEL_RUN, run_id).await {
            Ok(n) if n > 0 => eprintln!("==> teardown: removed {n} swarm services"),
            Ok(_) => {}
            Err(e) => eprintln!("warning: failed to {e}; `orchestrator down` removes them"),
        }
        super::super::teardown::teardown(engine, run_id, routed).await;
        if !self.leave {
            return;
        }
        if let Err(e) = leave(engine, self.gwbridge_before).await {
            eprintln!("warning: failed to {e}; `orchestrator down` leaves the lab's swarm");
        } else {
            eprintln!("==> teardown: left the swarm the run created");
        }
    }
}

/// Leaves the lab's swarm (`orchestrator down`), and removes `docker_gwbridge` if nothing
/// else uses it.
pub async fn leave_lab_swarm(engine: &DockerRunner) -> Result<(), crate::docker::DockerError> {
    leave(engine, false).await
}

/// Leaves the lab's swarm, and removes `docker_gwbridge` unless it was there `before`
/// (a network still in use is left: the engine refuses to remove it).
async fn leave(
    engine: &DockerRunner,
    gwbridge_before: bool,
) -> Result<(), crate::docker::DockerError> {
    engine.leave_swarm().await?;
    if gwbridge_before {
        return Ok(());
    }
    match engine.remove_network(GWBRIDGE).await {
        // 403: containers of the user's are still attached.
        Err(e) if e.status_code() == Some(403) => Ok(()),
        other => other,
    }
}
