//! The node containers: one spec per planned node, started with each handed to the shaper
//! as soon as it runs, and stopped at the end.
//!
//! Each node appends its events to its file in the run's events folder, bound into its
//! container ([`super::events_dir`]); its stderr (human logs at `warn`) is all the
//! engine's log driver carries, capped at [`LOG_MAX_BYTES`] and kept for `docker logs`.
//!
//! Publishers publish from boot (the traffic start is the moment the specs are made, which
//! every node sees as past), before links are shaped and meshes awaited, and until they
//! are stopped: no mesh sits idle, even while 100 containers take 20 s to start (under the
//! spec's P3 mesh-delivery penalty a mesh peer that delivers nothing for 10 s falls to
//! -100 and is pruned). Only the messages published in the window are measured.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use indicatif::ProgressBar;

use super::events_dir::EventsDir;
use super::shaper::HostShaper;
use super::{CONCURRENCY, infra};
use crate::docker::{ContainerSpec, DockerRunner, LABEL_NODE, NetworkAttachment};
use crate::error::Error;
use crate::plan::{NodePlan, Plan};

/// Grace between SIGTERM and SIGKILL when stopping nodes.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// The variable that holds a node's log filter, and its value: warnings only on stderr
/// (the events go to their file, or to stdout where there is none).
pub const NODE_LOG: (&str, &str) = ("RUST_LOG", "warn");

/// The most of a node's stderr the engine keeps (its events do not pass there).
pub(super) const LOG_MAX_BYTES: u64 = 16 << 20;

/// The networks nodes are attached to.
#[derive(Debug, Clone, Copy)]
pub(super) struct NodeNetworks<'a> {
    /// The run's bridges (by `NodePlan::network`).
    pub(super) bridges: &'a [String],
    /// Each NAT router's private network (by router index).
    pub(super) private: &'a [String],
}

/// One container spec per planned node, in plan order, each on its bridge among
/// the run's `networks`, or a NATed node on its router's private network. `traffic_ms` is the wall-clock
/// traffic start (ms since the epoch); `events` the folder the nodes write their events
/// to; `congestion` the TCP congestion control to set in each node's namespace, if any.
pub(super) fn specs(
    run_id: &str,
    plan: &Plan,
    image: &str,
    networks: NodeNetworks<'_>,
    traffic_ms: u64,
    events: &EventsDir,
    congestion: Option<&str>,
) -> Result<Vec<ContainerSpec>, Error> {
    plan.nodes
        .iter()
        .map(|n| {
            Ok(ContainerSpec {
                run_id: run_id.to_string(),
                role: n.role.name().to_string(),
                name: format!("{run_id}-{}", n.name),
                image: image.to_string(),
                env: vec![
                    ("MESHNODE_CONFIG_TOML".into(), config_toml(n, traffic_ms)?),
                    (NODE_LOG.0.into(), NODE_LOG.1.into()),
                ],
                network: Some(NetworkAttachment {
                    network: network_of(n, networks)?.to_string(),
                    ipv4: Some(n.ip),
                }),
                labels: vec![(LABEL_NODE.into(), n.name.clone())],
                sysctls: congestion
                    .iter()
                    .map(|a| ("net.ipv4.tcp_congestion_control".to_string(), a.to_string()))
                    .collect(),
                mounts: events.mounts(),
                log_max_bytes: Some(LOG_MAX_BYTES),
                cpu_cfs_us: plan.cpu_quota.map(|q| (q.period_us, q.quota_us)),
                ..ContainerSpec::default()
            })
        })
        .collect()
}

/// The name of node `n`'s network among the run's `networks`: its bridge, or its router's
/// private network.
fn network_of<'a>(n: &NodePlan, networks: NodeNetworks<'a>) -> Result<&'a str, Error> {
    let NodeNetworks { bridges, private } = networks;
    if let Some(place) = n.nat_place {
        return private
            .get(place.router)
            .map(String::as_str)
            .ok_or_else(|| {
                Error::Infra(format!(
                    "attach node {} to the network of router {}: the run has {} NAT networks",
                    n.name,
                    place.router,
                    private.len()
                ))
            });
    }
    bridges.get(n.network).map(String::as_str).ok_or_else(|| {
        Error::Infra(format!(
            "attach node {} to bridge {}: the run has {} networks",
            n.name,
            n.network,
            bridges.len()
        ))
    })
}

/// The node's configuration as TOML: the plan's, writing its events to its file in the
/// events folder.
fn config_toml(n: &NodePlan, traffic_ms: u64) -> Result<String, Error> {
    let mut config = n.node_config(Some(traffic_ms));
    config.events = Some(EventsDir::container_file(&n.name));
    if let Some(p) = config.check().into_iter().next() {
        // Unreachable after validation, which checks every node's configuration.
        return Err(Error::Infra(format!(
            "plan node {}: its configuration breaks the node's rules: {p}",
            n.name
        )));
    }
    toml::to_string(&config).map_err(|e| Error::Encode {
        what: format!("the config of node {}", n.name),
        message: e.to_string(),
    })
}

/// The default routes NATed nodes need as they start: each node's router (by plan order),
/// set from the tools image.
pub(super) struct Routes<'a> {
    run_id: &'a str,
    tools: Option<&'a str>,
    gateways: Vec<Option<std::net::Ipv4Addr>>,
}

impl<'a> Routes<'a> {
    /// The routes of `plan`'s nodes, set with the `tools` image in run `run_id`.
    pub(super) fn of(plan: &Plan, tools: Option<&'a str>, run_id: &'a str) -> Self {
        Routes {
            run_id,
            tools,
            gateways: plan
                .nodes
                .iter()
                .map(|n| n.nat_place.map(|p| plan.routers[p.router].private_ip))
                .collect(),
        }
    }

    /// Points node `index`'s default route (container `id`, named by `spec`) at its
    /// router, if it has one.
    async fn set(
        &self,
        runner: &DockerRunner,
        index: usize,
        id: &str,
        spec: &ContainerSpec,
    ) -> Result<(), Error> {
        let (Some(gateway), Some(tools)) =
            (self.gateways.get(index).copied().flatten(), self.tools)
        else {
            return Ok(());
        };
        let node = spec
            .name
            .strip_prefix(&format!("{}-", self.run_id))
            .unwrap_or(&spec.name);
        super::nat::route(runner, self.run_id, tools, id, node, gateway).await
    }
}

/// Starts every node container, at most [`CONCURRENCY`] engine calls in flight, points a
/// NATed node's default route at its router (`routes`), and hands each to the shaper as
/// soon as it runs. Returns the ids in the order of `specs`; stops at
/// the first failure (what was created carries the run label, so teardown removes it).
pub(super) async fn start(
    runner: &DockerRunner,
    specs: &[ContainerSpec],
    shaper: Option<&HostShaper>,
    routes: &Routes<'_>,
    bar: &ProgressBar,
) -> Result<Vec<String>, Error> {
    let mut ids = vec![String::new(); specs.len()];
    let mut started = futures::stream::iter(specs.iter().enumerate())
        .map(|(index, spec)| async move {
            let id = runner.run_container(spec).await.map_err(infra)?;
            routes.set(runner, index, &id, spec).await?;
            if let Some(shaper) = shaper {
                shaper.shape(index, runner.container_pid(&id).await.map_err(infra)?)?;
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

/// Stops every node (`ids` in plan order): each leaves its network first, one at a time,
/// so that a hundred stopping at once do not race on its endpoint count (see
/// `DockerRunner::endpoint_change`); then they are stopped side by side.
pub(super) async fn stop(
    runner: &DockerRunner,
    plan: &Plan,
    networks: NodeNetworks<'_>,
    ids: &[String],
) -> Result<(), Error> {
    for (n, id) in plan.nodes.iter().zip(ids) {
        runner.leave_network(network_of(n, networks)?, id).await;
    }
    futures::stream::iter(ids)
        .map(|id| runner.stop_container(id, STOP_GRACE))
        .buffer_unordered(CONCURRENCY * 2)
        .try_collect::<Vec<_>>()
        .await
        .map_err(infra)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testkit::Small;

    #[test]
    fn every_node_writes_its_events_to_its_own_file_on_the_mount() {
        let plan = Small::default().plan();
        let reports = tempfile::tempdir().unwrap();
        let names = plan.nodes.iter().map(|n| n.name.as_str());
        let events = EventsDir::create(reports.path(), "r", names).unwrap();
        let specs = specs(
            "r",
            &plan,
            "img",
            NodeNetworks {
                bridges: &["net".into()],
                private: &[],
            },
            1,
            &events,
            None,
        )
        .unwrap();
        assert_eq!(specs.len(), plan.nodes.len());
        for (spec, node) in specs.iter().zip(&plan.nodes) {
            assert_eq!(spec.mounts, events.mounts());
            assert_eq!(spec.log_max_bytes, Some(LOG_MAX_BYTES));
            let toml = &spec
                .env
                .iter()
                .find(|(k, _)| k == "MESHNODE_CONFIG_TOML")
                .unwrap()
                .1;
            let config = lab_config::NodeConfig::from_toml(toml, "t".as_ref()).unwrap();
            let file = format!("/events/{}.jsonl", node.name);
            assert_eq!(config.events, Some(file.into()));
            assert_eq!(config.name.as_deref(), Some(node.name.as_str()));
            assert!(events.host_file(&node.name).exists());
            assert_eq!(spec.network.as_ref().unwrap().network, "net");
        }
    }

    #[test]
    fn each_node_joins_its_own_bridge() {
        let s = Small {
            honest: 5,
            ..Small::default()
        }
        .scenario();
        let plan = crate::plan::plan_with_bridges(&s, crate::plan::Subnet::DEFAULT, 2);
        let reports = tempfile::tempdir().unwrap();
        let names = plan.nodes.iter().map(|n| n.name.as_str());
        let events = EventsDir::create(reports.path(), "r", names).unwrap();
        let nets: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let made = specs(
            "r",
            &plan,
            "img",
            NodeNetworks {
                bridges: &nets,
                private: &[],
            },
            1,
            &events,
            None,
        )
        .unwrap();
        let on: Vec<(&str, String)> = made
            .iter()
            .map(|s| {
                let a = s.network.as_ref().unwrap();
                (a.network.as_str(), a.ipv4.unwrap().to_string())
            })
            .collect();
        assert_eq!(
            on,
            [
                ("a", "10.77.0.2".to_string()),
                ("a", "10.77.0.3".to_string()),
                ("b", "10.77.16.2".to_string()),
                ("b", "10.77.16.3".to_string()),
                ("c", "10.77.32.2".to_string()),
            ]
        );
        let err = specs(
            "r",
            &plan,
            "img",
            NodeNetworks {
                bridges: &nets[..2],
                private: &[],
            },
            1,
            &events,
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("bridge 2"), "{err}");
    }
}
