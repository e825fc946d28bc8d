//! `meshnode`: a slim libp2p gossip node whose application messages are signed with
//! ML-DSA, built to run by the hundred in containers and be measured.
//!
//! It speaks gossipsub 1.1 with the spec's mesh and peer-score settings, Kademlia,
//! identify, ping, mDNS and a fetch-by-id request-response protocol over TCP (TLS 1.3 with
//! the ML-KEM-768 hybrid, or noise; yamux) and QUIC, and writes one JSON event per line for everything a lab needs to measure.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod adversary;
pub mod behaviour;
pub mod cli;
pub mod config;
pub mod conn_manager;
pub mod conn_rate;
pub mod cpu_probe;
pub mod dilation;
pub mod envelope;
pub mod equivocators;
pub mod fetch;
pub mod gossip;
pub mod handle;
mod listen;
mod lookups;
pub mod metrics;
pub mod nat;
pub mod node;
pub mod pq;
pub mod rate;
mod redial;
pub mod replay;
pub mod role;
pub mod score_parts;
pub mod security;
pub mod sink;
pub mod sybil;
pub mod throttle;
mod traffic;
pub mod validate;

pub use config::{NatConfig, NodeConfig, RelayMode, Role};
pub use handle::{Command, NodeError, NodeHandle, Totals};
pub use node::{start, start_with_key};
