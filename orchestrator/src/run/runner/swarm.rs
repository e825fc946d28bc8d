//! The Swarm runner: the run on the engine's Docker Swarm.
//!
//! - The swarm: the one this engine manages, or, when it is in none, a one-host swarm
//!   created for the run (labelled as the lab's, advertised on loopback). The lab's swarm
//!   is left by the last run using it, with the `docker_gwbridge` network the engine made
//!   for it; a swarm the user made is never left.
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
use std::time::Duration;

use super::{Runner, RunnerKind};
use crate::docker::{DockerError, DockerRunner, GWBRIDGE, LABEL_LAB, LABEL_RUN, SwarmMembership};
use crate::error::Error;
use crate::plan::Plan;
use crate::run::network::{self, Driver, RunNetworks};
use crate::run::shaper::{self, HostShaper};
use crate::run::teardown::{PATIENCE, teardown, until_gone};

/// How long leaving keeps trying to remove `docker_gwbridge` (the engine releases the
/// ingress sandbox's endpoint on it a moment after the swarm is left).
const GWBRIDGE_PATIENCE: Duration = Duration::from_secs(10);

/// The swarm a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swarm {
    /// This host's swarm node id (where the shaper's task is placed).
    node_id: String,
    /// The swarm's id, as the run joined it: a swarm replaced meanwhile is not the lab's
    /// to leave.
    cluster_id: String,
    /// Whether the swarm is the lab's (created by this run or an earlier one): the last
    /// run using it leaves it.
    lab: bool,
}

fn infra(e: DockerError) -> Error {
    Error::Infra(e.to_string())
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
    /// engine is in none (or using the one a concurrent run created a moment before).
    pub async fn join(engine: &DockerRunner, run_id: &str) -> Result<Self, Error> {
        let mut membership = engine.swarm_membership().await.map_err(infra)?;
        if membership == SwarmMembership::Inactive {
            let gwbridge_before = engine.network_exists(GWBRIDGE).await.map_err(infra)?;
            eprintln!(
                "==> swarm: this engine is in none; creating a one-host swarm (left again by the last run using it)"
            );
            match engine.init_swarm(run_id, gwbridge_before).await {
                Ok(_) => {}
                // 503: a concurrent run made one meanwhile.
                Err(e) if e.status_code() == Some(503) => {}
                Err(e) => return Err(infra(e)),
            }
            membership = engine.swarm_membership().await.map_err(infra)?;
        }
        let SwarmMembership::Manager {
            node_id,
            cluster_id,
            nodes,
            lab_run,
            ..
        } = membership
        else {
            return Err(Error::Infra(format!(
                "use this engine's swarm: it is {}; the Swarm runner needs a manager (or no \
                 swarm, and then creates one)",
                match membership {
                    SwarmMembership::Other(state) => state,
                    _ => "in none after `swarm init`".to_owned(),
                }
            )));
        };
        match &lab_run {
            Some(r) if r == run_id => {}
            Some(r) => eprintln!("==> swarm: using the lab's swarm (created by run {r})"),
            None => eprintln!(
                "==> swarm: using this engine's swarm ({nodes} host{}; left as it is)",
                if nodes == 1 { "" } else { "s" }
            ),
        }
        if node_id.is_empty() {
            return Err(Error::Infra(
                "use this engine's swarm: the engine names no node id of its own".into(),
            ));
        }
        let availability = engine.node_availability(&node_id).await.map_err(infra)?;
        if availability != "active" {
            return Err(Error::Infra(format!(
                "use this engine's swarm: this host's node is `{availability}`, so the \
                 shaper's task cannot be placed on it (`docker node update --availability \
                 active {node_id}`)"
            )));
        }
        if nodes > 1 {
            eprintln!(
                "warning: every node runs on this host; the swarm's other {} hosts are not used",
                nodes - 1
            );
        }
        Ok(Self {
            node_id,
            cluster_id,
            lab: lab_run.is_some(),
        })
    }

    /// After a run that failed or was interrupted before it joined: leaves a swarm this
    /// run created, unless another run of the lab uses it.
    pub async fn abandon(engine: &DockerRunner, run_id: &str) {
        if let Ok(SwarmMembership::Manager {
            lab_run: Some(r),
            cluster_id,
            ..
        }) = engine.swarm_membership().await
            && r == run_id
        {
            let swarm = Self {
                node_id: String::new(),
                cluster_id,
                lab: true,
            };
            swarm.leave_if_last(engine).await;
        }
    }

    /// Leaves the lab's swarm if it is still the one the run joined and no other run of
    /// the lab uses it (no service or overlay network of the lab is left).
    async fn leave_if_last(&self, engine: &DockerRunner) {
        let Ok(SwarmMembership::Manager {
            cluster_id,
            lab_run: Some(_),
            gwbridge_made,
            ..
        }) = engine.swarm_membership().await
        else {
            return;
        };
        if cluster_id != self.cluster_id {
            return;
        }
        match lab_swarm_resources(engine).await {
            Ok(0) => {}
            Ok(n) => {
                eprintln!(
                    "==> teardown: the lab's swarm is kept for the other run(s) on it ({n} services and overlays)"
                );
                return;
            }
            Err(e) => {
                eprintln!(
                    "warning: failed to {e}; the lab's swarm is kept (`orchestrator down` leaves it)"
                );
                return;
            }
        }
        match leave_lab_swarm(engine, gwbridge_made).await {
            Ok(()) => eprintln!("==> teardown: left the lab's swarm"),
            Err(e) => {
                eprintln!("warning: failed to {e}; `orchestrator down` leaves the lab's swarm")
            }
        }
    }
}

/// How many services and overlay networks of the lab (any run) the swarm holds: what a
/// run using the swarm has. Runs of the Docker runner do not use it.
pub async fn lab_swarm_resources(engine: &DockerRunner) -> Result<usize, DockerError> {
    Ok(engine.count_labelled_services(LABEL_LAB, "1").await?
        + engine.count_labelled_overlays(LABEL_LAB, "1").await?)
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
        // Services first: a service's task container goes with its service.
        let gone = until_gone(
            PATIENCE,
            async |removed: &mut usize| {
                *removed += engine.remove_labelled_services(LABEL_RUN, run_id).await?;
                Ok(())
            },
            async || engine.count_labelled_services(LABEL_RUN, run_id).await,
        )
        .await;
        if !gone.complete() {
            eprintln!(
                "warning: failed to remove the run's swarm services ({}); `orchestrator down` removes them",
                gone.what_is_left()
            );
        }
        if gone.removed > 0 {
            eprintln!("==> teardown: removed {} swarm services", gone.removed);
        }
        teardown(engine, run_id, routed).await;
        if self.lab {
            self.leave_if_last(engine).await;
        }
    }
}

/// Leaves the lab's swarm, and removes `docker_gwbridge` when it came with the swarm
/// (`gwbridge_made`); the engine releases its last endpoint a moment after leaving, so
/// that removal is tried for a few seconds.
pub async fn leave_lab_swarm(
    engine: &DockerRunner,
    gwbridge_made: bool,
) -> Result<(), DockerError> {
    engine.leave_swarm().await?;
    if !gwbridge_made {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + GWBRIDGE_PATIENCE;
    loop {
        match engine.remove_network(GWBRIDGE).await {
            Err(e) if e.status_code() == Some(403) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            other => return other,
        }
    }
}
