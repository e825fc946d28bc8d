//! The error type of the Docker runner.

use std::path::PathBuf;

/// What went wrong talking to the Docker engine. Messages read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine could not be reached (socket missing, daemon stopped, no permission).
    #[error(
        "reach the docker engine ({source}); is the docker daemon running, may this user \
         use its socket (e.g. membership of the `docker` group), and does DOCKER_HOST \
         (if set) point at it?"
    )]
    Unreachable {
        /// The client's error.
        #[source]
        source: bollard::errors::Error,
    },
    /// A file that goes into a build context could not be read.
    #[error("read {path} for an image build context: {source}")]
    ReadContextFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The in-memory tar archive of a build context could not be written.
    #[error("write an image build context: {source}")]
    WriteContext {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The engine reported an error while building an image.
    #[error("build image {tag}: {message}{}", build_log_tail(.log))]
    Build {
        /// The tag being built.
        tag: String,
        /// The builder's error message.
        message: String,
        /// The last lines the builder printed before the error.
        log: Vec<String>,
    },
    /// A container that should be running has no process.
    #[error("find the process of container {0}: it is not running")]
    NotRunning(String),
    /// A swarm service did not come up as asked (its message says what was being done).
    #[error("{0}")]
    Service(String),
    /// An engine call failed.
    #[error("{action}: {source}")]
    Engine {
        /// What was being done, e.g. `create container honest-0`.
        action: String,
        /// The client's error.
        #[source]
        source: bollard::errors::Error,
    },
}

impl DockerError {
    /// An [`DockerError::Engine`] for `action`.
    pub(crate) fn engine(action: impl Into<String>, source: bollard::errors::Error) -> Self {
        Self::Engine {
            action: action.into(),
            source,
        }
    }

    /// The HTTP status code the engine answered with, if this is an engine response error.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Engine { source, .. } => status_code(source),
            _ => None,
        }
    }
}

/// The HTTP status code of an engine response error.
pub(crate) fn status_code(error: &bollard::errors::Error) -> Option<u16> {
    match error {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Whether an engine error means "it is not there (any more)" or "it is already being
/// removed", both harmless when removing things.
pub(crate) fn is_gone(error: &bollard::errors::Error) -> bool {
    matches!(status_code(error), Some(404 | 409))
}

/// The tail of a build log, formatted to follow an error message.
fn build_log_tail(log: &[String]) -> String {
    if log.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nlast build output:");
    for line in log {
        out.push_str("\n  ");
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_engine_says_what_to_check() {
        let error = DockerError::Unreachable {
            source: bollard::errors::Error::SocketNotFoundError("/run/docker.sock".to_owned()),
        };
        let message = error.to_string();
        assert!(message.starts_with("reach the docker engine"), "{message}");
        assert!(message.contains("/run/docker.sock"), "{message}");
        assert!(message.contains("DOCKER_HOST"), "{message}");
    }

    #[test]
    fn build_errors_carry_the_last_build_output() {
        let error = DockerError::Build {
            tag: "meshnode:0123".to_owned(),
            message: "COPY failed".to_owned(),
            log: vec!["Step 1/2 : FROM scratch".to_owned()],
        };
        assert_eq!(
            error.to_string(),
            "build image meshnode:0123: COPY failed\nlast build output:\n  Step 1/2 : FROM scratch"
        );
    }

    #[test]
    fn only_not_found_and_conflict_count_as_gone() {
        let response = |status_code| bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: String::new(),
        };
        assert!(is_gone(&response(404)));
        assert!(is_gone(&response(409)));
        assert!(!is_gone(&response(500)));
        assert_eq!(
            DockerError::engine("remove network n", response(403)).status_code(),
            Some(403)
        );
    }
}
