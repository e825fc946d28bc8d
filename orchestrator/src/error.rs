//! The orchestrator's one error type and the exit codes it maps to.
//!
//! | code | constant               | meaning                                                   |
//! | ---- | ---------------------- | --------------------------------------------------------- |
//! | 0    | [`EXIT_TARGETS_MET`]   | the run completed and every target was met                |
//! | 1    | [`EXIT_TARGETS_MISSED`]| the run completed and at least one target was missed      |
//! | 2    | [`EXIT_INVALID`]       | the scenario (or a link profile) is invalid, or bad usage |
//! | 3    | [`EXIT_INFRA`]         | infrastructure failure: Docker, image build, container, I/O |
//! | 4    | [`EXIT_INTERRUPTED`]   | interrupted (Ctrl-C); teardown still ran                  |
//! | 5    | [`EXIT_DISTORTED`]     | the run completed but measured its host, not the network (link fidelity or host load beyond the scenario's guard): targets not judged |
//!
//! Codes 0, 1 and 5 come from a run's verdict (`RunResult::exit_code`); codes 2 to 4 from
//! [`Error::exit_code`].

use std::fmt;
use std::path::PathBuf;

pub use lab_config::Diagnostic;
use lab_config::DiagnosticList;

/// Exit code: the run completed and every target was met.
pub const EXIT_TARGETS_MET: u8 = 0;
/// Exit code: the run completed and at least one target was missed.
pub const EXIT_TARGETS_MISSED: u8 = 1;
/// Exit code: the scenario or a link profile is invalid, or the command line is wrong.
pub const EXIT_INVALID: u8 = 2;
/// Exit code: Docker unreachable, an image build or a container failed, or I/O failed.
pub const EXIT_INFRA: u8 = 3;
/// Exit code: the run was interrupted (Ctrl-C) and torn down.
pub const EXIT_INTERRUPTED: u8 = 4;
/// Exit code: the run completed, but the host distorted it (see `[guard]`): not judged.
pub const EXIT_DISTORTED: u8 = 5;

/// Everything that can make an orchestrator command fail.
///
/// Messages are lowercase and read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario or a link profile it names is invalid; every problem found is listed.
    #[error("validate scenario ({} problem{}):\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, DiagnosticList(.0))]
    ScenarioInvalid(Vec<Diagnostic>),
    /// The command line was wrong (unknown option, missing argument, bad value).
    #[error("parse the command line: {0}")]
    Usage(String),
    /// The Docker engine could not be reached or refused a request.
    #[error("{action}: {source}")]
    Docker {
        /// What was being done, e.g. `connect to the docker engine`.
        action: String,
        /// The engine's error.
        #[source]
        source: bollard::errors::Error,
    },
    /// Any other infrastructure failure: image build, container start, shaper setup, …
    #[error("{0}")]
    Infra(String),
    /// Reading or writing a file failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done, e.g. `write`.
        action: String,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An input file (result.json, trials.json, …) is missing, too large, not UTF-8 or
    /// not a coherent instance of its format; names the file and each field at fault.
    #[error("read {0}")]
    Input(Box<InputError>),
    /// Encoding JSON or TOML output failed.
    #[error("encode {what}: {message}")]
    Encode {
        /// What was being encoded, e.g. `result.json`.
        what: String,
        /// The encoder's message.
        message: String,
    },
    /// The user interrupted the run (Ctrl-C).
    #[error("finish the run: interrupted")]
    Interrupted,
}

impl Error {
    /// The process exit code for this error (see the table in the module docs).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::ScenarioInvalid(_) | Error::Usage(_) | Error::Input(_) => EXIT_INVALID,
            Error::Docker { .. } | Error::Infra(_) | Error::Io { .. } | Error::Encode { .. } => {
                EXIT_INFRA
            }
            Error::Interrupted => EXIT_INTERRUPTED,
        }
    }

    /// An [`Error::Io`] for `action` on `path`.
    pub fn io(action: impl Into<String>, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action: action.into(),
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Docker`] for `action`.
    pub fn docker(action: impl Into<String>, source: bollard::errors::Error) -> Self {
        Error::Docker {
            action: action.into(),
            source,
        }
    }
}

/// Problems listed in full in a message; the rest are counted.
const SHOWN_PROBLEMS: usize = 20;

/// One problem in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line and column (in characters), when known.
    pub at: Option<(usize, usize)>,
    /// JSON path of the field, e.g. `figures.p99.low`; empty for the file as a whole.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem with `field` (a JSON path, may be empty), not located in the text.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            at: None,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.field.is_empty() {
            write!(f, "field `{}`: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// An input file that cannot be used, with every problem found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong (at least one).
    pub problems: Vec<Problem>,
}

impl fmt::Display for InputError {
    /// `FILE[:LINE:COL]: [field `a.b`: ]message`, or for several problems a count and one
    /// problem a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |p: &Problem| p.at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default();
        match self.problems.as_slice() {
            [] => write!(f, "{}: unusable", self.path.display()),
            [p] => write!(f, "{}{}: {p}", self.path.display(), at(p)),
            all => {
                write!(f, "{} ({} problems):", self.path.display(), all.len())?;
                for p in all.iter().take(SHOWN_PROBLEMS) {
                    write!(f, "\n  {}{}: {p}", self.path.display(), at(p))?;
                }
                if all.len() > SHOWN_PROBLEMS {
                    write!(f, "\n  … and {} more", all.len() - SHOWN_PROBLEMS)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_reads_file_line_column_field_message() {
        let d = Diagnostic {
            file: "scenarios/x.toml".into(),
            line: 3,
            column: 7,
            field: "groups[1].count".into(),
            message: "must be positive".into(),
        };
        assert_eq!(
            d.to_string(),
            "scenarios/x.toml:3:7: field `groups[1].count`: must be positive"
        );
    }

    #[test]
    fn exit_codes_are_distinct_per_class() {
        let invalid = Error::ScenarioInvalid(Vec::new()).exit_code();
        let usage = Error::Usage("x".into()).exit_code();
        let infra = Error::Infra("x".into()).exit_code();
        let io = Error::io("read", "f", std::io::Error::other("x")).exit_code();
        let interrupted = Error::Interrupted.exit_code();
        assert_eq!(invalid, EXIT_INVALID);
        assert_eq!(usage, EXIT_INVALID);
        assert_eq!(infra, EXIT_INFRA);
        assert_eq!(io, EXIT_INFRA);
        assert_eq!(interrupted, EXIT_INTERRUPTED);
        let all = [
            EXIT_TARGETS_MET,
            EXIT_TARGETS_MISSED,
            EXIT_INVALID,
            EXIT_INFRA,
            EXIT_INTERRUPTED,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn invalid_scenario_message_lists_every_diagnostic() {
        let d = |line| Diagnostic {
            file: "s.toml".into(),
            line,
            column: 1,
            field: "a".into(),
            message: "bad".into(),
        };
        let msg = Error::ScenarioInvalid(vec![d(1), d(2)]).to_string();
        assert!(msg.starts_with("validate scenario (2 problems)"), "{msg}");
        assert!(msg.contains("s.toml:1:1"), "{msg}");
        assert!(msg.contains("s.toml:2:1"), "{msg}");
    }
}
