//! Containers: creation from a typed spec, starting (one or many at once), stopping,
//! signalling, pausing and waiting.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountType, NetworkingConfig,
};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, KillContainerOptionsBuilder,
    StopContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures::StreamExt;

use super::error::DockerError;
use super::labels::{LABEL_ROLE, run_labels};
use super::network::endpoint_settings;
use super::runner::DockerRunner;

/// Where a container is attached at creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAttachment {
    /// The network's name or id.
    pub network: String,
    /// A fixed address on it (the network must have a subnet); `None` lets the engine pick.
    pub ipv4: Option<Ipv4Addr>,
}

/// A host directory bound into a container (read-write unless `read_only`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    /// The directory on the host: absolute, and existing when the container is created
    /// (the engine refuses a missing source rather than creating it).
    pub host: PathBuf,
    /// Where it appears in the container, absolute.
    pub container: String,
    /// Whether the container may only read it.
    pub read_only: bool,
}

impl BindMount {
    fn to_mount(&self) -> Mount {
        Mount {
            target: Some(self.container.clone()),
            source: Some(self.host.to_string_lossy().into_owned()),
            typ: Some(MountType::BIND),
            read_only: Some(self.read_only),
            ..Default::default()
        }
    }
}

/// Everything needed to create one container. Engine-neutral: no bollard types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerSpec {
    /// The run the container belongs to (label `meshlab.run`).
    pub run_id: String,
    /// Its role (label `meshlab.role`), e.g. `honest`, `invalid-signature`, `nat`.
    pub role: String,
    /// Container name, unique in the engine.
    pub name: String,
    /// Image tag or id.
    pub image: String,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Arguments to the image's entrypoint (`None`: the image's default `CMD`).
    pub cmd: Option<Vec<String>>,
    /// The network to attach to at creation. Ignored when `network_mode_container` is set.
    pub network: Option<NetworkAttachment>,
    /// Share the network namespace of this container (name or id), as sidecars do:
    /// network mode `container:<id>`. That container must be running before this one
    /// starts.
    pub network_mode_container: Option<String>,
    /// Join the host's pid namespace and no network at all, as the host shaper does: it
    /// reaches each node's network namespace through `/proc/<pid>/ns/net`.
    pub host_pid_no_network: bool,
    /// Keep stdin open for [`DockerRunner::attach_stdin`] (the host shaper reads the pids
    /// of starting nodes from it).
    pub open_stdin: bool,
    /// Extra capabilities, e.g. `NET_ADMIN`.
    pub cap_add: Vec<String>,
    /// Namespaced sysctls, e.g. `net.ipv4.ip_forward=1` for a NAT router.
    pub sysctls: Vec<(String, String)>,
    /// Labels besides the lab's own (`meshlab`, `meshlab.run`, `meshlab.role`, which
    /// win on conflict).
    pub labels: Vec<(String, String)>,
    /// Memory limit in bytes.
    pub memory_bytes: Option<u64>,
    /// CPU limit: a CFS `(period, quota)` in microseconds, the container getting `quota`
    /// of CPU time every `period` (a node's `cpu_per_node / time_scale` cores).
    pub cpu_cfs_us: Option<(i64, i64)>,
    /// Host directories bound into the container.
    pub mounts: Vec<BindMount>,
    /// Keep at most about this many bytes of the container's output: the `json-file` log
    /// driver with two files of half this size each (the older is dropped as the newer
    /// fills). `None`: the engine's default driver and settings.
    pub log_max_bytes: Option<u64>,
}

impl ContainerSpec {
    /// The engine's container configuration for this spec.
    fn to_create_body(&self) -> ContainerCreateBody {
        let mut labels: HashMap<String, String> = self.labels.iter().cloned().collect();
        labels.extend(run_labels(&self.run_id));
        labels.insert(LABEL_ROLE.to_owned(), self.role.clone());

        let network_mode = match (&self.network_mode_container, &self.network) {
            _ if self.host_pid_no_network => Some("none".to_owned()),
            (Some(container), _) => Some(format!("container:{container}")),
            (None, Some(attachment)) => Some(attachment.network.clone()),
            (None, None) => None,
        };
        let networking_config = match (&self.network_mode_container, &self.network) {
            _ if self.host_pid_no_network => None,
            (None, Some(attachment)) => Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    attachment.network.clone(),
                    endpoint_settings(attachment.ipv4),
                )])),
            }),
            _ => None,
        };
        let host_config = HostConfig {
            network_mode,
            pid_mode: self.host_pid_no_network.then(|| "host".to_owned()),
            cap_add: (!self.cap_add.is_empty()).then(|| self.cap_add.clone()),
            sysctls: (!self.sysctls.is_empty()).then(|| self.sysctls.iter().cloned().collect()),
            memory: self
                .memory_bytes
                .map(|bytes| i64::try_from(bytes).unwrap_or(i64::MAX)),
            mounts: (!self.mounts.is_empty())
                .then(|| self.mounts.iter().map(BindMount::to_mount).collect()),
            cpu_period: self.cpu_cfs_us.map(|(period, _)| period),
            cpu_quota: self.cpu_cfs_us.map(|(_, quota)| quota),
            log_config: self.log_max_bytes.map(capped_json_log),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(self.image.clone()),
            env: (!self.env.is_empty())
                .then(|| self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            cmd: self.cmd.clone(),
            labels: Some(labels),
            open_stdin: self.open_stdin.then_some(true),
            attach_stdin: self.open_stdin.then_some(true),
            stdin_once: self.open_stdin.then_some(false),
            attach_stdout: Some(false),
            attach_stderr: Some(false),
            tty: Some(false),
            host_config: Some(host_config),
            networking_config,
            ..Default::default()
        }
    }
}

/// The `json-file` log driver keeping at most about `max_bytes`: two files of half each.
fn capped_json_log(max_bytes: u64) -> HostConfigLogConfig {
    let half_kib = (max_bytes / 2 / 1024).max(1);
    HostConfigLogConfig {
        typ: Some("json-file".to_owned()),
        config: Some(HashMap::from([
            ("max-size".to_owned(), format!("{half_kib}k")),
            ("max-file".to_owned(), "2".to_owned()),
        ])),
    }
}

impl DockerRunner {
    /// Creates (does not start) a container; returns its id.
    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String, DockerError> {
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let response = self
            .client()
            .create_container(Some(options), spec.to_create_body())
            .await
            .map_err(|e| DockerError::engine(format!("create container {}", spec.name), e))?;
        for warning in &response.warnings {
            tracing::warn!(container = %spec.name, "engine: {warning}");
        }
        Ok(response.id)
    }

    /// The host's process id of a running container's main process.
    pub async fn container_pid(&self, id: &str) -> Result<u32, DockerError> {
        let info = self
            .client()
            .inspect_container(id, None)
            .await
            .map_err(|e| DockerError::engine(format!("inspect container {id}"), e))?;
        info.state
            .and_then(|s| s.pid)
            .and_then(|pid| u32::try_from(pid).ok())
            .filter(|pid| *pid > 0)
            .ok_or_else(|| DockerError::NotRunning(id.to_owned()))
    }

    /// A writer to the stdin of a container created with `open_stdin`.
    pub async fn attach_stdin(
        &self,
        id: &str,
    ) -> Result<std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>, DockerError> {
        let options = AttachContainerOptionsBuilder::new()
            .stdin(true)
            .stream(true)
            .build();
        let attached = self
            .client()
            .attach_container(id, Some(options))
            .await
            .map_err(|e| {
                DockerError::engine(format!("attach to the stdin of container {id}"), e)
            })?;
        Ok(attached.input)
    }

    /// Starts a created container (one start at a time: it connects the container's
    /// network endpoints, see [`DockerRunner::endpoint_change`]).
    pub async fn start_container(&self, id: &str) -> Result<(), DockerError> {
        let _one_at_a_time = self.endpoint_change().await;
        self.client()
            .start_container(id, None)
            .await
            .map_err(|e| DockerError::engine(format!("start container {id}"), e))
    }

    /// Creates and starts one container; returns its id.
    pub async fn run_container(&self, spec: &ContainerSpec) -> Result<String, DockerError> {
        let id = self.create_container(spec).await?;
        self.start_container(&id).await?;
        Ok(id)
    }

    /// Asks a container to stop: its stop signal (SIGTERM), then SIGKILL after `grace`
    /// (whole seconds; under one second kills at once). Returns when it has stopped.
    /// Stopping a stopped container is not an error.
    pub async fn stop_container(&self, id: &str, grace: Duration) -> Result<(), DockerError> {
        let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::new().t(seconds).build();
        match self.client().stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            // 304: already stopped.
            Err(e) if super::error::status_code(&e) == Some(304) => Ok(()),
            Err(e) => Err(DockerError::engine(format!("stop container {id}"), e)),
        }
    }

    /// Sends `signal` (e.g. `SIGKILL`, `SIGSTOP`, `SIGCONT`) to a running container.
    pub async fn kill_container(&self, id: &str, signal: &str) -> Result<(), DockerError> {
        let options = KillContainerOptionsBuilder::new().signal(signal).build();
        self.client()
            .kill_container(id, Some(options))
            .await
            .map_err(|e| DockerError::engine(format!("send {signal} to container {id}"), e))
    }

    /// Freezes every process of a running container (the engine's cgroup freezer).
    pub async fn pause_container(&self, id: &str) -> Result<(), DockerError> {
        self.client()
            .pause_container(id)
            .await
            .map_err(|e| DockerError::engine(format!("pause container {id}"), e))
    }

    /// Thaws a paused container.
    pub async fn unpause_container(&self, id: &str) -> Result<(), DockerError> {
        self.client()
            .unpause_container(id)
            .await
            .map_err(|e| DockerError::engine(format!("unpause container {id}"), e))
    }

    /// Waits until a container is not running and returns its exit code (at once if it
    /// already exited).
    pub async fn wait_exit(&self, id: &str) -> Result<i64, DockerError> {
        let options = WaitContainerOptionsBuilder::new()
            .condition("not-running")
            .build();
        let mut responses = self.client().wait_container(id, Some(options));
        match responses.next().await {
            Some(Ok(response)) => Ok(response.status_code),
            // bollard turns a non-zero exit into an error; it is an answer here.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(DockerError::engine(format!("wait for container {id}"), e)),
            None => Err(DockerError::engine(
                format!("wait for container {id}"),
                bollard::errors::Error::DockerStreamError {
                    error: "the engine closed the wait stream without an exit code".to_owned(),
                },
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec() -> ContainerSpec {
        ContainerSpec {
            run_id: "r1".to_owned(),
            role: "honest".to_owned(),
            name: "r1-honest-0".to_owned(),
            image: "meshnode:abc".to_owned(),
            env: vec![(
                "MESHNODE_CONFIG_TOML".to_owned(),
                "name = \"a=b\"".to_owned(),
            )],
            network: Some(NetworkAttachment {
                network: "r1-net".to_owned(),
                ipv4: Some(Ipv4Addr::new(10, 77, 0, 2)),
            }),
            cap_add: vec!["NET_ADMIN".to_owned()],
            labels: vec![
                ("extra".to_owned(), "x".to_owned()),
                ("meshlab.run".to_owned(), "spoofed".to_owned()),
            ],
            memory_bytes: Some(64 << 20),
            cpu_cfs_us: Some((4_000, 1_000)),
            ..Default::default()
        }
    }

    #[test]
    fn lab_labels_are_set_and_win_over_extra_labels() {
        let body = spec().to_create_body();
        let labels = body.labels.unwrap();
        assert_eq!(labels["meshlab"], "1");
        assert_eq!(labels["meshlab.run"], "r1");
        assert_eq!(labels["meshlab.role"], "honest");
        assert_eq!(labels["extra"], "x");
    }

    #[test]
    fn network_attachment_pins_the_address() {
        let body = spec().to_create_body();
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("r1-net"));
        assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_owned()]));
        assert_eq!(host.memory, Some(64 << 20));
        assert_eq!(
            (host.cpu_period, host.cpu_quota),
            (Some(4_000), Some(1_000))
        );
        assert_eq!(
            ContainerSpec::default()
                .to_create_body()
                .host_config
                .unwrap()
                .cpu_quota,
            None
        );
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        let ip = endpoints["r1-net"].ipam_config.as_ref().unwrap();
        assert_eq!(ip.ipv4_address.as_deref(), Some("10.77.0.2"));
        assert_eq!(
            body.env,
            Some(vec!["MESHNODE_CONFIG_TOML=name = \"a=b\"".to_owned()])
        );
    }

    #[test]
    fn mounts_and_the_log_cap_reach_the_host_config() {
        let plain = spec().to_create_body().host_config.unwrap();
        assert_eq!((plain.mounts, plain.log_config), (None, None));
        let with = ContainerSpec {
            mounts: vec![BindMount {
                host: PathBuf::from("/srv/run/node-events"),
                container: "/events".to_owned(),
                read_only: false,
            }],
            log_max_bytes: Some(16 << 20),
            ..spec()
        };
        let host = with.to_create_body().host_config.unwrap();
        let mounts = host.mounts.unwrap();
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].typ, Some(MountType::BIND));
        assert_eq!(mounts[0].source.as_deref(), Some("/srv/run/node-events"));
        assert_eq!(mounts[0].target.as_deref(), Some("/events"));
        assert_eq!(mounts[0].read_only, Some(false));
        let log = host.log_config.unwrap();
        assert_eq!(log.typ.as_deref(), Some("json-file"));
        let config = log.config.unwrap();
        assert_eq!(config["max-size"], "8192k");
        assert_eq!(config["max-file"], "2");
    }

    #[test]
    fn sidecar_shares_the_namespace_and_gets_no_endpoint() {
        let sidecar = ContainerSpec {
            network_mode_container: Some("abc123".to_owned()),
            ..spec()
        };
        let body = sidecar.to_create_body();
        assert_eq!(
            body.host_config.unwrap().network_mode.as_deref(),
            Some("container:abc123")
        );
        assert!(body.networking_config.is_none());
    }

    #[test]
    fn host_shaper_sees_host_pids_and_has_no_network() {
        let shaper = ContainerSpec {
            host_pid_no_network: true,
            ..spec()
        };
        let body = shaper.to_create_body();
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(host.pid_mode.as_deref(), Some("host"));
        assert!(body.networking_config.is_none());
    }
}
