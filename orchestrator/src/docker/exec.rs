//! Running a command in a running container and reading what it prints (the engine's exec).

use bollard::exec::{CreateExecOptions, StartExecResults};
use futures::StreamExt;

use super::error::DockerError;
use super::runner::DockerRunner;

/// The most bytes of output an exec may print before it is cut off.
const MAX_OUTPUT: usize = 64 * 1024;

impl DockerRunner {
    /// Runs `cmd` in the running container `id` and returns its standard output (at most
    /// 64 KiB); fails when the engine refuses the exec.
    pub async fn exec_output(&self, id: &str, cmd: &[&str]) -> Result<String, DockerError> {
        let action = || format!("run `{}` in container {id}", cmd.join(" "));
        let exec = self
            .client()
            .create_exec(
                id,
                CreateExecOptions {
                    attach_stdout: Some(true),
                    attach_stderr: Some(false),
                    cmd: Some(cmd.iter().map(|s| (*s).to_owned()).collect()),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| DockerError::engine(action(), e))?;
        let started = self
            .client()
            .start_exec(&exec.id, None)
            .await
            .map_err(|e| DockerError::engine(action(), e))?;
        let StartExecResults::Attached { mut output, .. } = started else {
            return Ok(String::new());
        };
        let mut text = Vec::new();
        while let Some(chunk) = output.next().await {
            let chunk = chunk.map_err(|e| DockerError::engine(action(), e))?;
            let room = MAX_OUTPUT.saturating_sub(text.len());
            text.extend(chunk.into_bytes().iter().take(room));
        }
        Ok(String::from_utf8_lossy(&text).into_owned())
    }
}
