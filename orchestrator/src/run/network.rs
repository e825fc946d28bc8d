//! The run's networks, on the first free /16 among a few: with the Docker runner, one
//! bridge on the whole /16 for up to `plan::NODES_PER_BRIDGE` nodes, else one on each of
//! the first /20s of it (`plan::Bridges`), created without masquerading and routed between
//! by the host (`host::bridges`: ip_forward checked, one `DOCKER-USER` rule with the run's
//! comment); with the Swarm runner, one attachable overlay on the /16 ([`Driver`]).

use lab_events::now_ns;

use crate::docker::{DockerRunner, Egress, NetworkHandle};
use crate::error::Error;
use crate::host::bridges::{self, AcceptRule};
use crate::plan::{Bridges, Subnet};

/// What the run's networks are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// Bridges on this host (the Docker runner).
    Bridge,
    /// One attachable overlay of the swarm (the Swarm runner): one network, never routed.
    Overlay,
}

/// Candidate subnets: `10.77.0.0/16` to `10.96.0.0/16`.
const CANDIDATES: u8 = 20;

/// The networks a run got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunNetworks {
    /// The run's /16.
    pub subnet: Subnet,
    /// The networks' names, bridge `k` at index `k` (the plan's `NodePlan::network`).
    pub names: Vec<String>,
    /// Rules inserted in `DOCKER-USER` to route between them (none with one network).
    pub rules: usize,
}

/// The name of bridge `k` of run `run_id`: `meshlab-<run id>` when it is the only one,
/// else `meshlab-<run id>-<k>`.
pub fn network_name(run_id: &str, bridges: Bridges, k: usize) -> String {
    if bridges.routed() {
        format!("meshlab-{run_id}-{k}")
    } else {
        format!("meshlab-{run_id}")
    }
}

/// Creates the run's `bridges` networks on the first free subnet among 10.77-10.96
/// (starting at a time-drawn one, so that concurrent runs rarely collide) and, when there
/// are several, the route between them. Fails before creating anything when there are
/// several and the host does not forward IPv4. What was created carries the run label,
/// and the rule the run's comment, so the run's teardown removes them also after a
/// failure here.
///
/// With `nats` (a run with NAT routers) no bridge masquerades either: the engine's
/// masquerading rule for a bridge's subnet (`-s SUBNET ! -o BRIDGE -j MASQUERADE`) also
/// catches the packets a router forwards from the run's network onto its private bridge
/// (the host filters bridged traffic), and would rewrite every unsolicited packet reaching
/// a node behind a NAT to come from the host.
pub async fn create(
    runner: &DockerRunner,
    run_id: &str,
    bridges: Bridges,
    nats: bool,
    driver: Driver,
) -> Result<RunNetworks, Error> {
    if driver == Driver::Overlay && (bridges.routed() || nats) {
        return Err(Error::Infra(format!(
            "create the run's networks: an overlay carries one network without NAT routers, \
             and this run needs {} bridges{}",
            bridges.count,
            if nats { " and NAT networks" } else { "" }
        )));
    }
    if bridges.routed() {
        bridges::ensure_ip_forward().map_err(|e| Error::Infra(e.to_string()))?;
    }
    let mut last = None;
    let start = (now_ns() % u64::from(CANDIDATES)) as u8;
    let mut created = None;
    for k in 0..CANDIDATES {
        let subnet = Subnet::new(10, 77 + (start + k) % CANDIDATES);
        match create_in(runner, run_id, bridges, subnet, nats, driver).await {
            Ok(names) => {
                created = Some((subnet, names));
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some((subnet, names)) = created else {
        return Err(Error::Infra(format!(
            "create network {}: no free subnet in 10.77.0.0-10.96.0.0/16 ({})",
            network_name(run_id, bridges, 0),
            last.unwrap_or_default()
        )));
    };
    let mut rules = 0;
    if bridges.routed() {
        rules = bridges::install(&[AcceptRule::for_run(run_id, subnet)])
            .map_err(|e| Error::Infra(e.to_string()))?;
        eprintln!(
            "==> {} bridge networks on {} ({} nodes each at most), routed by the host ({} {} rule{} `{}`)",
            bridges.count,
            subnet,
            bridges.nodes_per_bridge,
            rules,
            bridges::CHAIN,
            if rules == 1 { "" } else { "s" },
            bridges::run_comment(run_id)
        );
    }
    Ok(RunNetworks {
        subnet,
        names,
        rules,
    })
}

/// Creates every bridge of the run in `subnet`, or none: on a failure the ones already
/// created are removed again, and the first error is returned.
async fn create_in(
    runner: &DockerRunner,
    run_id: &str,
    bridges: Bridges,
    subnet: Subnet,
    nats: bool,
    driver: Driver,
) -> Result<Vec<String>, String> {
    let egress = if bridges.routed() || nats {
        Egress::Routed
    } else {
        Egress::Masqueraded
    };
    let mut made: Vec<NetworkHandle> = Vec::with_capacity(bridges.count);
    for k in 0..bridges.count {
        let name = network_name(run_id, bridges, k);
        let cidr = bridges.cidr(subnet, k);
        let created = match driver {
            Driver::Bridge => runner.create_bridge(run_id, &name, &cidr, egress).await,
            Driver::Overlay => {
                runner
                    .create_overlay(run_id, &name, &cidr, &subnet.engine_range())
                    .await
            }
        };
        match created {
            Ok(net) => made.push(net),
            Err(e) => {
                for net in &made {
                    if let Err(e) = runner.remove_network(&net.id).await {
                        tracing::warn!(network = %net.name, error = %e, "left for the run's teardown");
                    }
                }
                return Err(e.to_string());
            }
        }
    }
    Ok(made.into_iter().map(|n| n.name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bridge_keeps_the_runs_network_name_and_several_are_numbered() {
        let one = Bridges::split(100, 500);
        assert_eq!(network_name("r", one, 0), "meshlab-r");
        let two = Bridges::split(1000, 500);
        assert_eq!(network_name("r", two, 0), "meshlab-r-0");
        assert_eq!(network_name("r", two, 1), "meshlab-r-1");
    }
}
