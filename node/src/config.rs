//! The node's configuration is the lab's one definition ([`lab_config::node`]), shared with
//! the orchestrator that writes it; this module adds the error of resolving it from a
//! file, the environment and flags.

use lab_config::{Diagnostic, DiagnosticList, Problem};
pub use lab_config::{
    GossipsubSettings, LimitsConfig, NatConfig, NodeConfig, RelayMode, Role, TrafficConfig,
};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML did not parse, or its values break the node's rules; every problem is
    /// located by file (or variable), line, column and field.
    #[error("accept the configuration ({} problem{}):\n{}", .0.len(), plural(.0.len()), DiagnosticList(.0))]
    Invalid(Vec<Diagnostic>),
    /// A command-line flag gave a value the node's rules refuse.
    #[error("accept {flag}: {message}")]
    Flag {
        /// The flag, e.g. `--publish-rate`.
        flag: String,
        /// What is wrong with its value.
        message: String,
    },
    /// A configuration built in code breaks the node's rules.
    #[error("accept the configuration: {}", ProblemList(.0))]
    Rejected(Vec<Problem>),
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Problems joined with `; `.
struct ProblemList<'a>(&'a [Problem]);

impl std::fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Checks a configuration built in code (tests, embedders).
pub fn ensure_valid(config: &NodeConfig) -> Result<(), ConfigError> {
    let problems = config.check();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Rejected(problems))
    }
}
