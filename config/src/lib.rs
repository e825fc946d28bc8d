//! `lab-config`: the one definition of a node's configuration, shared by `meshnode` (which
//! reads it) and the orchestrator (which writes it for every node of a run and validates a
//! scenario's `[gossipsub]` table with the node's own rules), plus located diagnostics
//! (`FILE:LINE:COL: field `a.b`: message`) for every TOML file either program reads.
//!
//! It also holds the link shape ([`link`]) and the shaper's configuration ([`shaper`]),
//! shared by the orchestrator and `labshaper`, with the duration strings they are written
//! in ([`units`]).
//!
//! No libp2p here: the bounds are plain numbers, and the node maps the checked values onto
//! libp2p's types.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod bounds;
pub mod doc;
pub mod file;
pub mod host_line;
pub mod identity;
pub mod link;
pub mod node;
pub mod regions;
pub mod shaper;
pub mod time_scale;
pub mod units;

use std::fmt;
use std::path::PathBuf;

pub use doc::{Document, FieldPath};
pub use host_line::{HostLine, HostLineError};
pub use link::{LinkProblem, LinkShape};
pub use node::{
    DEFAULT_SYBIL_IDENTITIES, DhtConfig, GossipsubSettings, LimitsConfig, MAX_SYBIL_IDENTITIES,
    NatConfig, NodeConfig, PEER_BYTES_PER_SEC_LIMIT, RelayMode, Role, SPAM_RATE, Security,
    TOPIC_RATE_LIMIT, TrafficConfig,
};
pub use regions::{RegionMatrix, SourceRegions};
pub use shaper::{BackendChoice, ShaperConfig};
pub use time_scale::TimeScale;

/// One problem in a file, located by line, column and field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the problem is in (or the name of the text's origin, e.g. an environment
    /// variable).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Dotted field path, e.g. `groups[1].count`; empty for pure syntax errors.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "field `{}`: ", self.field)?;
        }
        write!(f, "{}", self.message)
    }
}

/// A value that breaks a rule, before it is located in a file: the field (relative to the
/// checked value) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The offending field.
    pub field: FieldPath,
    /// What is wrong with it.
    pub message: String,
    /// Other fields of the same rule (a relation between fields): a file that does not
    /// give `field` is pointed at the first of these it does give.
    pub related: Vec<FieldPath>,
}

impl Problem {
    /// A problem with `field` alone.
    pub fn new(field: FieldPath, message: impl Into<String>) -> Self {
        Problem {
            field,
            message: message.into(),
            related: Vec::new(),
        }
    }

    /// This problem under `prefix` (a nested table's problems in its parent).
    pub fn under(self, prefix: &FieldPath) -> Self {
        Problem {
            field: prefix.join(&self.field),
            message: self.message,
            related: self.related.iter().map(|r| prefix.join(r)).collect(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.message)
    }
}

/// A float for a message: plain for ordinary magnitudes, in exponent form for huge or tiny
/// ones (so that a hostile `1e300` stays short): `0.5`, `-100`, `1e-300`, `1e308`.
pub fn num(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() || (1e-6..1e16).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Displays diagnostics one per line, indented.
pub struct DiagnosticList<'a>(pub &'a [Diagnostic]);

impl fmt::Display for DiagnosticList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {d}")?;
        }
        Ok(())
    }
}
