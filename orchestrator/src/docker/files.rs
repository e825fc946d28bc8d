//! Files put into a created (or running) container, as a tar archive the engine unpacks.

use bollard::body_full;
use bollard::query_parameters::UploadToContainerOptionsBuilder;

use super::error::DockerError;
use super::image::{ContextFile, context_tar};
use super::runner::DockerRunner;

impl DockerRunner {
    /// Writes `files` (paths relative to the root) into container `id`'s root file system.
    pub async fn put_files(&self, id: &str, files: &[ContextFile]) -> Result<(), DockerError> {
        let archive = context_tar(files)?;
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.client()
            .upload_to_container(id, Some(options), body_full(archive.into()))
            .await
            .map_err(|e| DockerError::engine(format!("put files into container {id}"), e))
    }
}
