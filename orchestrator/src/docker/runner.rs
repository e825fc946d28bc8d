//! The connection to the engine.

use bollard::Docker;

use super::error::DockerError;

/// The Docker runner: a connection to the local engine that builds images, creates
/// networks and containers labelled by run, follows their output and removes them.
///
/// Cheap to clone (the client is reference-counted); clone it per task.
#[derive(Debug, Clone)]
pub struct DockerRunner {
    docker: Docker,
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
        Ok(Self { docker })
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

    /// The underlying client.
    pub(crate) fn client(&self) -> &Docker {
        &self.docker
    }
}
