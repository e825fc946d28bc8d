//! The connection to the engine.

use std::sync::Arc;

use bollard::Docker;

use super::error::DockerError;

/// The Docker runner: a connection to the local engine that builds images, creates
/// networks and containers labelled by run, follows their output and removes them.
///
/// Cheap to clone (the client is reference-counted); clone it per task.
#[derive(Debug, Clone)]
pub struct DockerRunner {
    docker: Docker,
    /// Held while the engine adds or removes a network endpoint (container start,
    /// disconnect): see [`DockerRunner::endpoint_change`].
    endpoints: Arc<tokio::sync::Mutex<()>>,
}

impl DockerRunner {
    /// Connects to the local engine (`DOCKER_HOST` or the default socket) and negotiates
    /// the API version (our engines speak 1.41).
    pub async fn connect() -> Result<Self, DockerError> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|source| DockerError::Unreachable { source })?
            .negotiate_version()
            .await
            .map_err(|source| DockerError::Unreachable { source })?;
        tracing::debug!(api = %docker.client_version(), "connected to the docker engine");
        Ok(Self {
            docker,
            endpoints: Arc::default(),
        })
    }

    /// The API version in use after negotiation, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        self.docker.client_version().to_string()
    }

    /// The engine's version and the API version in use, e.g. (`20.10.24`, `1.41`).
    pub async fn engine_version(&self) -> Result<(String, String), DockerError> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|source| DockerError::Unreachable { source })?;
        Ok((
            v.version.unwrap_or_else(|| "unknown".into()),
            self.api_version(),
        ))
    }

    /// One endpoint change at a time. Engine 20.10 counts a network's endpoints with an
    /// optimistic update that double-counts when two containers of one network connect
    /// or disconnect at the same moment (libnetwork's `atomicIncDecEpCnt` increments its
    /// shared count again on every retry): the network then "has active endpoints" with
    /// none listed and cannot be removed until the daemon restarts. Starting 100 nodes
    /// 16 at a time left such a network in about a third of our 100-node runs. Container
    /// creation and removal of disconnected containers stay concurrent.
    pub(crate) async fn endpoint_change(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.endpoints.lock().await
    }

    /// The underlying client.
    pub(crate) fn client(&self) -> &Docker {
        &self.docker
    }
}
