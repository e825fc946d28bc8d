//! Docker Swarm, the engine's own multi-host mode: the swarm this engine belongs to (or
//! one it creates and leaves), overlay networks, and global services whose tasks are
//! containers this runner then talks to like any other.
//!
//! A swarm a run creates is labelled (`meshlab=1`, `meshlab.run=<run id>`, and
//! [`LABEL_GWBRIDGE`]), so that a run or `orchestrator down` can tell it from one the user
//! made and leave only the lab's.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    Ipam, IpamConfig, LocalNodeState, Mount, MountType, NetworkCreateRequest, ServiceSpec,
    ServiceSpecMode, SwarmInitRequest, SwarmSpec, TaskSpec, TaskSpecContainerSpec,
    TaskSpecPlacement, TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::{
    LeaveSwarmOptionsBuilder, ListServicesOptionsBuilder, ListTasksOptionsBuilder,
};

use super::container::ContainerSpec;
use super::error::{DockerError, is_gone};
use super::labels::{LABEL_LAB, LABEL_ROLE, label_filter, run_labels};
use super::network::NetworkHandle;
use super::runner::DockerRunner;

/// The label of a swarm the lab created that says whether `docker_gwbridge` was there
/// before (`found`) or came with the swarm (`made`, and goes with it).
pub const LABEL_GWBRIDGE: &str = "meshlab.gwbridge";
/// The network the engine creates for the containers of a swarm's overlays to reach
/// beyond them.
pub const GWBRIDGE: &str = "docker_gwbridge";

/// How long a global service's task may take to run on this host.
const TASK_PATIENCE: Duration = Duration::from_secs(60);

/// This engine's place in a swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwarmMembership {
    /// Not in a swarm.
    Inactive,
    /// A manager of a swarm of `nodes` hosts; `lab_run` is the run that created it, when
    /// the lab did.
    Manager {
        /// This host's node id.
        node_id: String,
        /// The swarm's id.
        cluster_id: String,
        /// The swarm's hosts.
        nodes: usize,
        /// The run that created the swarm (its `meshlab.run` label), if one did.
        lab_run: Option<String>,
        /// For a swarm the lab created: whether `docker_gwbridge` came with it.
        gwbridge_made: bool,
    },
    /// In a swarm but unable to create services here (a worker, or joining/leaving).
    Other(String),
}

impl DockerRunner {
    /// This engine's swarm membership.
    pub async fn swarm_membership(&self) -> Result<SwarmMembership, DockerError> {
        let info = self
            .client()
            .info()
            .await
            .map_err(|e| DockerError::engine("read the engine's swarm state", e))?;
        let Some(swarm) = info.swarm else {
            return Ok(SwarmMembership::Inactive);
        };
        match swarm.local_node_state {
            None | Some(LocalNodeState::EMPTY | LocalNodeState::INACTIVE) => {
                Ok(SwarmMembership::Inactive)
            }
            Some(LocalNodeState::ACTIVE) if swarm.control_available == Some(true) => {
                let cluster = swarm.cluster.unwrap_or_default();
                let labels = cluster
                    .spec
                    .and_then(|s| s.labels)
                    .filter(|l| l.get(LABEL_LAB).is_some_and(|v| v == "1"))
                    .unwrap_or_default();
                Ok(SwarmMembership::Manager {
                    node_id: swarm.node_id.unwrap_or_default(),
                    cluster_id: cluster.id.unwrap_or_default(),
                    nodes: swarm
                        .nodes
                        .and_then(|n| usize::try_from(n).ok())
                        .unwrap_or(1),
                    lab_run: labels.get(super::labels::LABEL_RUN).cloned(),
                    gwbridge_made: labels.get(LABEL_GWBRIDGE).is_some_and(|v| v == "made"),
                })
            }
            Some(state) => Ok(SwarmMembership::Other(match swarm.error {
                Some(e) if !e.is_empty() => format!("{state} ({e})"),
                _ => format!("{state}, not a manager"),
            })),
        }
    }

    /// Makes this engine a one-host swarm, labelled as run `run_id`'s, advertised on the
    /// loopback address (no other host can join it); `gwbridge_before` says whether
    /// `docker_gwbridge` was there already ([`LABEL_GWBRIDGE`]). Returns its node id.
    pub async fn init_swarm(
        &self,
        run_id: &str,
        gwbridge_before: bool,
    ) -> Result<String, DockerError> {
        let mut labels = run_labels(run_id);
        labels.insert(
            LABEL_GWBRIDGE.to_owned(),
            if gwbridge_before { "found" } else { "made" }.to_owned(),
        );
        let request = SwarmInitRequest {
            listen_addr: Some("127.0.0.1:2377".to_owned()),
            advertise_addr: Some("127.0.0.1".to_owned()),
            spec: Some(SwarmSpec {
                labels: Some(labels),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.client()
            .init_swarm(request)
            .await
            .map_err(|e| DockerError::engine("create a one-host swarm (swarm init)", e))
    }

    /// Whether swarm node `node_id` takes tasks (`active`), or its availability
    /// (`drain`, `pause`).
    pub async fn node_availability(&self, node_id: &str) -> Result<String, DockerError> {
        let node = self
            .client()
            .inspect_node(node_id)
            .await
            .map_err(|e| DockerError::engine(format!("inspect swarm node {node_id}"), e))?;
        Ok(node
            .spec
            .and_then(|s| s.availability)
            .map_or_else(|| "active".to_owned(), |a| a.to_string()))
    }

    /// Takes this engine out of its swarm (forcibly: a last manager cannot leave
    /// otherwise, and the swarm is the lab's); not being in one is fine.
    pub async fn leave_swarm(&self) -> Result<(), DockerError> {
        let options = LeaveSwarmOptionsBuilder::new().force(true).build();
        match self.client().leave_swarm(Some(options)).await {
            Ok(()) => Ok(()),
            // 503: "This node is not part of a swarm".
            Err(e) if super::error::status_code(&e) == Some(503) => Ok(()),
            Err(e) => Err(DockerError::engine("leave the swarm", e)),
        }
    }

    /// Creates an attachable overlay network `name` on the IPv4 `subnet`, labelled as
    /// run `run_id`'s: standalone containers join it at fixed addresses, as on a bridge.
    /// The swarm picks the addresses it needs itself (each host's load-balancer endpoint)
    /// from `engine_range`, a part of the subnet no container is placed in.
    pub async fn create_overlay(
        &self,
        run_id: &str,
        name: &str,
        subnet: &str,
        engine_range: &str,
    ) -> Result<NetworkHandle, DockerError> {
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("overlay".to_owned()),
            attachable: Some(true),
            ipam: Some(Ipam {
                driver: Some("default".to_owned()),
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_owned()),
                    ip_range: Some(engine_range.to_owned()),
                    ..Default::default()
                }]),
                options: None,
            }),
            labels: Some(run_labels(run_id)),
            ..Default::default()
        };
        let response = self.client().create_network(request).await.map_err(|e| {
            DockerError::engine(format!("create overlay network {name} ({subnet})"), e)
        })?;
        Ok(NetworkHandle {
            id: response.id,
            name: name.to_owned(),
            subnet: subnet.to_owned(),
        })
    }

    /// Whether a network named `name` exists.
    pub async fn network_exists(&self, name: &str) -> Result<bool, DockerError> {
        match self.client().inspect_network(name, None).await {
            Ok(_) => Ok(true),
            Err(e) if super::error::status_code(&e) == Some(404) => Ok(false),
            Err(e) => Err(DockerError::engine(format!("inspect network {name}"), e)),
        }
    }

    /// Creates a global service from `spec`, placed on swarm node `node_id` only and
    /// never restarted; returns the service id. A service cannot join the host's pid
    /// namespace nor be attached to a network here: such a spec is refused.
    pub async fn create_global_service(
        &self,
        spec: &ContainerSpec,
        node_id: &str,
    ) -> Result<String, DockerError> {
        let service = global_service(spec, node_id)?;
        let response = self
            .client()
            .create_service(service, None)
            .await
            .map_err(|e| DockerError::engine(format!("create service {}", spec.name), e))?;
        for warning in response.warnings.iter().flatten() {
            tracing::warn!(service = %spec.name, "engine: {warning}");
        }
        response
            .id
            .ok_or_else(|| DockerError::Service(format!("create service {}: no id", spec.name)))
    }

    /// The container of service `service`'s task on swarm node `node_id`, once it runs;
    /// fails when the task fails or does not run within a minute (with the swarm's word).
    pub async fn service_task_container(
        &self,
        service: &str,
        node_id: &str,
    ) -> Result<String, DockerError> {
        let deadline = tokio::time::Instant::now() + TASK_PATIENCE;
        let mut last = String::from("no task yet");
        loop {
            let filters = HashMap::from([
                ("service".to_owned(), vec![service.to_owned()]),
                ("node".to_owned(), vec![node_id.to_owned()]),
            ]);
            let options = ListTasksOptionsBuilder::new().filters(&filters).build();
            let tasks = self.client().list_tasks(Some(options)).await.map_err(|e| {
                DockerError::engine(format!("list the tasks of service {service}"), e)
            })?;
            for task in tasks {
                let Some(status) = task.status else { continue };
                let container = status.container_status.and_then(|c| c.container_id);
                match (status.state, container) {
                    (Some(TaskState::RUNNING), Some(id)) => return Ok(id),
                    (
                        Some(
                            state @ (TaskState::FAILED
                            | TaskState::REJECTED
                            | TaskState::SHUTDOWN
                            | TaskState::COMPLETE
                            | TaskState::ORPHANED),
                        ),
                        _,
                    ) => {
                        return Err(DockerError::Service(format!(
                            "run service {service} on this host: its task is {state}: {}",
                            status.err.or(status.message).unwrap_or_default()
                        )));
                    }
                    (state, _) => {
                        last = format!(
                            "its task is {}",
                            state.map_or_else(|| "unknown".to_owned(), |s| s.to_string())
                        );
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DockerError::Service(format!(
                    "run service {service} on this host within {TASK_PATIENCE:?}: {last}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The ids of the services labelled `key=value`.
    pub async fn labelled_services(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<String>, DockerError> {
        let options = ListServicesOptionsBuilder::new()
            .filters(&label_filter(key, value))
            .build();
        let services = self
            .client()
            .list_services(Some(options))
            .await
            .map_err(|e| DockerError::engine(format!("list services labelled {key}={value}"), e))?;
        Ok(services.into_iter().filter_map(|s| s.id).collect())
    }

    /// Removes every service labelled `key=value` (their tasks' containers go with them,
    /// a moment later); returns how many, or the first failure after trying them all.
    /// Without a swarm (or as a worker) there are none.
    pub async fn remove_labelled_services(
        &self,
        key: &str,
        value: &str,
    ) -> Result<usize, DockerError> {
        let services = match self.labelled_services(key, value).await {
            Ok(s) => s,
            Err(e) if e.status_code() == Some(503) => return Ok(0),
            Err(e) => return Err(e),
        };
        let (mut removed, mut failed) = (0, None);
        for id in services {
            match self.client().delete_service(&id).await {
                Ok(()) => removed += 1,
                Err(e) if is_gone(&e) => {}
                Err(e) => {
                    failed.get_or_insert(DockerError::engine(format!("remove service {id}"), e));
                }
            }
        }
        failed.map_or(Ok(removed), Err)
    }

    /// How many overlay networks are labelled `key=value`.
    pub async fn count_labelled_overlays(
        &self,
        key: &str,
        value: &str,
    ) -> Result<usize, DockerError> {
        let mut filters = label_filter(key, value);
        filters.insert("driver".to_owned(), vec!["overlay".to_owned()]);
        let options = bollard::query_parameters::ListNetworksOptionsBuilder::new()
            .filters(&filters)
            .build();
        let networks = self
            .client()
            .list_networks(Some(options))
            .await
            .map_err(|e| {
                DockerError::engine(format!("list overlay networks labelled {key}={value}"), e)
            })?;
        Ok(networks.len())
    }

    /// How many services are labelled `key=value` (none without a swarm).
    pub async fn count_labelled_services(
        &self,
        key: &str,
        value: &str,
    ) -> Result<usize, DockerError> {
        match self.labelled_services(key, value).await {
            Ok(s) => Ok(s.len()),
            Err(e) if e.status_code() == Some(503) => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// The engine's service for `spec`: one task on `node_id`, never restarted (a stopped
/// shaper must stay stopped), with the spec's labels on the service and its container.
fn global_service(spec: &ContainerSpec, node_id: &str) -> Result<ServiceSpec, DockerError> {
    if spec.host_pid_no_network || spec.network.is_some() || spec.network_mode_container.is_some() {
        return Err(DockerError::Service(format!(
            "create service {}: a service here joins no network and not the host's pid \
             namespace (bind the host's /proc instead)",
            spec.name
        )));
    }
    let mut labels: HashMap<String, String> = spec.labels.iter().cloned().collect();
    labels.extend(run_labels(&spec.run_id));
    labels.insert(LABEL_ROLE.to_owned(), spec.role.clone());
    let container = TaskSpecContainerSpec {
        image: Some(spec.image.clone()),
        labels: Some(labels.clone()),
        args: spec.cmd.clone(),
        env: (!spec.env.is_empty())
            .then(|| spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        open_stdin: spec.open_stdin.then_some(true),
        tty: Some(false),
        mounts: (!spec.mounts.is_empty()).then(|| {
            spec.mounts
                .iter()
                .map(|m| Mount {
                    target: Some(m.container.clone()),
                    source: Some(m.host.to_string_lossy().into_owned()),
                    typ: Some(MountType::BIND),
                    read_only: Some(m.read_only),
                    ..Default::default()
                })
                .collect()
        }),
        capability_add: (!spec.cap_add.is_empty()).then(|| spec.cap_add.clone()),
        sysctls: (!spec.sysctls.is_empty()).then(|| spec.sysctls.iter().cloned().collect()),
        ..Default::default()
    };
    Ok(ServiceSpec {
        name: Some(spec.name.clone()),
        labels: Some(labels),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            placement: Some(TaskSpecPlacement {
                constraints: Some(vec![format!("node.id=={node_id}")]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            global: Some(HashMap::new()),
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::docker::BindMount;

    fn shaper_spec() -> ContainerSpec {
        ContainerSpec {
            run_id: "r1".into(),
            role: "shaper".into(),
            name: "r1-shaper".into(),
            image: "tools:1".into(),
            cmd: Some(vec!["/labshaper".into(), "host".into()]),
            open_stdin: true,
            cap_add: vec!["NET_ADMIN".into()],
            mounts: vec![BindMount {
                host: "/proc".into(),
                container: "/host/proc".into(),
                read_only: true,
            }],
            ..ContainerSpec::default()
        }
    }

    #[test]
    fn a_service_is_labelled_pinned_to_its_host_and_never_restarted() {
        let s = global_service(&shaper_spec(), "node7").unwrap();
        let labels = s.labels.unwrap();
        assert_eq!(labels.get("meshlab.run").map(String::as_str), Some("r1"));
        assert_eq!(
            labels.get("meshlab.role").map(String::as_str),
            Some("shaper")
        );
        let task = s.task_template.unwrap();
        let c = task.container_spec.unwrap();
        assert_eq!(
            c.labels.unwrap().get("meshlab").map(String::as_str),
            Some("1")
        );
        assert_eq!(c.args.unwrap(), ["/labshaper", "host"]);
        assert_eq!(c.open_stdin, Some(true));
        assert_eq!(c.capability_add.unwrap(), ["NET_ADMIN"]);
        let m = &c.mounts.unwrap()[0];
        assert_eq!(
            (m.source.as_deref(), m.target.as_deref(), m.read_only),
            (Some("/proc"), Some("/host/proc"), Some(true))
        );
        assert_eq!(
            task.restart_policy.unwrap().condition,
            Some(TaskSpecRestartPolicyConditionEnum::NONE)
        );
        assert_eq!(
            task.placement.unwrap().constraints.unwrap(),
            ["node.id==node7"]
        );
        assert!(s.mode.unwrap().global.is_some());
    }

    #[test]
    fn a_service_cannot_share_the_hosts_pid_namespace_or_join_a_network() {
        let host_pid = ContainerSpec {
            host_pid_no_network: true,
            ..shaper_spec()
        };
        let err = global_service(&host_pid, "n").unwrap_err().to_string();
        assert!(err.contains("r1-shaper") && err.contains("/proc"), "{err}");
        let networked = ContainerSpec {
            network: Some(crate::docker::NetworkAttachment {
                network: "x".into(),
                ipv4: None,
            }),
            ..shaper_spec()
        };
        assert!(global_service(&networked, "n").is_err());
    }
}
