//! The orchestrator: turns a TOML scenario into a live, measured Docker testnet of
//! `meshnode` containers and reports whether propagation met its targets.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod binaries;
pub mod cli;
pub mod docker;
pub mod error;
pub mod fsio;
pub mod gate;
pub mod host;
pub mod host_shaper;
pub mod plan;
pub mod profile;
pub mod report;
pub mod result;
pub mod run;
pub mod scenario;
pub mod stats;
