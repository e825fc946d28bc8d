//! Removal of everything the lab created, found by label. Safe to repeat: resources
//! already gone, or being removed by someone else, are not errors.

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use futures::StreamExt;

use super::error::{DockerError, is_gone, status_code};
use super::labels::{LABEL_LAB, LABEL_ROLE, LABEL_RUN, label_filter};
use super::runner::DockerRunner;

/// How many removals are in flight at once.
const REMOVE_CONCURRENCY: usize = 16;

/// What a teardown removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TeardownReport {
    /// Containers removed (running ones were killed first).
    pub containers: usize,
    /// Networks removed.
    pub networks: usize,
}

impl std::ops::AddAssign for TeardownReport {
    fn add_assign(&mut self, other: TeardownReport) {
        self.containers += other.containers;
        self.networks += other.networks;
    }
}

impl DockerRunner {
    /// Removes every container (forcibly, with its anonymous volumes) and then every
    /// network labelled `meshlab.run=<run_id>`.
    pub async fn teardown(&self, run_id: &str) -> Result<TeardownReport, DockerError> {
        self.remove_labelled(LABEL_RUN, run_id).await
    }

    /// Removes every container and network labelled `meshlab=1`, whatever its run
    /// (`orchestrator down`). Images are kept: they are content-addressed and reused.
    pub async fn down_all(&self) -> Result<TeardownReport, DockerError> {
        self.remove_labelled(LABEL_LAB, "1").await
    }

    /// How many containers and networks of the lab (any run) are left.
    pub async fn down_count(&self) -> Result<usize, DockerError> {
        self.count_labelled(LABEL_LAB, "1").await
    }

    /// How many containers and networks of run `run_id` are left.
    pub async fn run_resources(&self, run_id: &str) -> Result<usize, DockerError> {
        self.count_labelled(LABEL_RUN, run_id).await
    }

    async fn count_labelled(&self, key: &str, value: &str) -> Result<usize, DockerError> {
        Ok(self.labelled_containers(key, value).await?.len()
            + self.labelled_networks(key, value).await?.len())
    }

    /// The ids of all containers (running or not) labelled `key=value`.
    pub async fn labelled_containers(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<String>, DockerError> {
        Ok(self
            .labelled_containers_by_mode(key, value)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }

    /// Like [`Self::labelled_containers`], with whether each one must go before the
    /// others: a sidecar (it shares another container's network namespace) or the host
    /// shaper (it holds every node's namespace open).
    async fn labelled_containers_by_mode(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<(String, bool)>, DockerError> {
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&label_filter(key, value))
            .build();
        let containers = self
            .client()
            .list_containers(Some(options))
            .await
            .map_err(|e| {
                DockerError::engine(format!("list containers labelled {key}={value}"), e)
            })?;
        Ok(containers
            .into_iter()
            .filter_map(|c| {
                let sidecar = c
                    .host_config
                    .and_then(|h| h.network_mode)
                    .is_some_and(|m| m.starts_with("container:"));
                let shaper = c
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(LABEL_ROLE))
                    .is_some_and(|role| role == "shaper");
                c.id.map(|id| (id, sidecar || shaper))
            })
            .collect())
    }

    /// The ids of all networks labelled `key=value`.
    pub async fn labelled_networks(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<String>, DockerError> {
        let options = ListNetworksOptionsBuilder::new()
            .filters(&label_filter(key, value))
            .build();
        let networks = self
            .client()
            .list_networks(Some(options))
            .await
            .map_err(|e| DockerError::engine(format!("list networks labelled {key}={value}"), e))?;
        Ok(networks.into_iter().filter_map(|n| n.id).collect())
    }

    async fn remove_labelled(&self, key: &str, value: &str) -> Result<TeardownReport, DockerError> {
        // Sidecars and the shaper first: removing a container whose network namespace
        // another one still holds can leave a stale endpoint behind, and then the network
        // cannot be removed.
        let all = self.labelled_containers_by_mode(key, value).await?;
        let (sidecars, owners): (Vec<_>, Vec<_>) = all.into_iter().partition(|(_, s)| *s);
        // Each container leaves the lab's networks (one at a time) before it is removed, so
        // that removals can run side by side without racing on a network's endpoint count
        // (see `DockerRunner::endpoint_change`).
        let networks = self.labelled_networks(key, value).await?;
        let mut report = TeardownReport::default();
        for batch in [sidecars, owners] {
            let removed: Vec<Result<bool, DockerError>> = futures::stream::iter(&batch)
                .map(|(id, _)| async {
                    for network in &networks {
                        self.leave_network(network, id).await;
                    }
                    self.remove_container(id).await
                })
                .buffer_unordered(REMOVE_CONCURRENCY)
                .collect()
                .await;
            for result in removed {
                report.containers += usize::from(result?);
            }
        }
        // Containers are gone, so the networks should have no endpoints left; engine 20.10
        // sometimes keeps one ("has active endpoints") after a 100-node run: those are
        // disconnected by force and the removal tried again.
        // Every network is tried; the first failure is returned after the others.
        let mut failed = None;
        for id in self.labelled_networks(key, value).await? {
            let first = self.client().remove_network(&id).await;
            let outcome = match first {
                Err(e) if status_code(&e) == Some(403) || status_code(&e) == Some(409) => {
                    let stale = self.disconnect_all(&id).await?;
                    tracing::warn!(network = %id, stale, "disconnected stale endpoints to remove the network");
                    self.client().remove_network(&id).await
                }
                other => other,
            };
            match outcome {
                Ok(()) => report.networks += 1,
                Err(e) if status_code(&e) == Some(404) => {}
                Err(e) => {
                    failed.get_or_insert(DockerError::engine(format!("remove network {id}"), e));
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        tracing::debug!(?report, "removed resources labelled {key}={value}");
        Ok(report)
    }

    /// Disconnects container `id` from `network` by force, one disconnect at a time (see
    /// [`DockerRunner::endpoint_change`]); a container that is not connected (or already
    /// gone) is fine. A disconnected container can then be stopped or removed alongside
    /// others without touching the network's endpoint count.
    pub async fn leave_network(&self, network: &str, id: &str) {
        let _one_at_a_time = self.endpoint_change().await;
        let request = bollard::models::NetworkDisconnectRequest {
            container: id.to_string(),
            force: Some(true),
        };
        if let Err(e) = self.client().disconnect_network(network, request).await {
            tracing::debug!(%network, container = %id, error = %e, "not disconnected");
        }
    }

    /// Disconnects, by force, every endpoint the engine still lists on network `id` (also
    /// those of containers already gone); returns how many.
    async fn disconnect_all(&self, id: &str) -> Result<usize, DockerError> {
        let network = self
            .client()
            .inspect_network(id, None)
            .await
            .map_err(|e| DockerError::engine(format!("inspect network {id}"), e))?;
        let endpoints: Vec<String> = network.containers.unwrap_or_default().into_keys().collect();
        for container in &endpoints {
            let request = bollard::models::NetworkDisconnectRequest {
                container: container.clone(),
                force: Some(true),
            };
            match self.client().disconnect_network(id, request).await {
                Ok(()) => {}
                Err(e) if is_gone(&e) => {}
                Err(e) => {
                    return Err(DockerError::engine(
                        format!("disconnect {container} from network {id}"),
                        e,
                    ));
                }
            }
        }
        Ok(endpoints.len())
    }

    /// Kills and removes one container (and its anonymous volumes). Returns false if it
    /// was already gone or being removed by someone else (then waits until it is gone).
    pub async fn remove_container(&self, id: &str) -> Result<bool, DockerError> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match self.client().remove_container(id, Some(options)).await {
            Ok(()) => Ok(true),
            Err(e) if status_code(&e) == Some(409) => {
                // "removal already in progress": wait for it, so that its networks can go.
                let wait = WaitContainerOptionsBuilder::new()
                    .condition("removed")
                    .build();
                let mut waiting = self.client().wait_container(id, Some(wait));
                match waiting.next().await {
                    Some(Err(e))
                        if !is_gone(&e)
                            && !matches!(
                                e,
                                bollard::errors::Error::DockerContainerWaitError { .. }
                            ) =>
                    {
                        Err(DockerError::engine(
                            format!("wait for removal of container {id}"),
                            e,
                        ))
                    }
                    _ => Ok(false),
                }
            }
            Err(e) if is_gone(&e) => Ok(false),
            Err(e) => Err(DockerError::engine(format!("remove container {id}"), e)),
        }
    }
}
