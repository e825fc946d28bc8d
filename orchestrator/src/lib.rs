//! The orchestrator: turns a TOML scenario into a live, measured Docker testnet of
//! `meshnode` containers and reports whether propagation met its targets.
//!
//! The modules are stages, and data flows one way through them (each module imports only
//! from the ones listed above it):
//!
//! - [`error`], [`fsio`]: the crate's error and exit codes; capped, located file input;
//! - [`scenario`]: the scenario file and its link profiles, validated;
//! - [`plan`]: every node's name, address, role, peers and configuration;
//! - [`host`], [`docker`]: what this host allows; the engine, one concern per file;
//! - [`run`]: one scenario on live containers, from images to collected events;
//! - [`analysis`]: statistics from the events of a run;
//! - [`result`]: the run's result, its targets and its `result.json`;
//! - [`output`]: the terminal summary, the HTML report, JUnit XML, the compose export;
//! - [`pipeline`]: run, analyse, write: `orchestrator run SCENARIO` as one function;
//! - [`gate`]: repeated trials, tracked figures and the baseline comparison;
//! - [`sweep`]: a scenario at every combination of swept values, charted;
//! - [`cli`]: the commands.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod error;
pub mod fsio;

pub mod scenario;

pub mod plan;

pub mod docker;
pub mod host;

pub mod run;

pub mod analysis;

pub mod result;

pub mod output;

pub mod pipeline;

pub mod gate;

pub mod sweep;

pub mod cli;

#[cfg(test)]
mod testkit;
