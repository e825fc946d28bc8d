//! The scenario file as written: serde types that reject unknown fields, before any
//! semantic rule (those are in `validate`). Numbers are signed and units are strings here,
//! so that a wrong value reaches validation and is reported with its location.

use serde::Deserialize;

use super::dilation::RawTimeScale;
use super::nat::NatType;
use super::profile::{RawLink, ShaperChoice};
use super::{Topology, Transport};
use lab_config::{GossipsubSettings, Role, Security};

/// A scenario file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) scenario: RawHeader,
    pub(super) network: Option<RawNetwork>,
    pub(super) groups: Vec<RawGroup>,
    pub(super) traffic: RawTraffic,
    #[serde(default)]
    pub(super) gossipsub: GossipsubSettings,
    #[serde(default)]
    pub(super) targets: RawTargets,
    #[serde(default)]
    pub(super) guard: RawGuard,
    #[serde(default)]
    pub(super) discovery: RawDiscovery,
    #[serde(default)]
    pub(super) timeline: Vec<RawFault>,
}

/// `[scenario]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeader {
    pub(super) name: String,
    pub(super) seed: u64,
    pub(super) duration: String,
    pub(super) warmup: Option<String>,
    pub(super) time_scale: Option<RawTimeScale>,
    pub(super) cpu_per_node: Option<f64>,
}

/// `[network]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    pub(super) profile: Option<String>,
    pub(super) link: Option<RawLink>,
    pub(super) matrix: Option<String>,
    #[serde(default)]
    pub(super) shaper: ShaperChoice,
    #[serde(default)]
    pub(super) topology: Topology,
    #[serde(default)]
    pub(super) security: Security,
}

/// One `[[groups]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub(super) id: String,
    pub(super) count: i64,
    #[serde(default)]
    pub(super) role: Role,
    #[serde(default)]
    pub(super) transport: Transport,
    pub(super) mldsa_level: Option<i64>,
    pub(super) region: Option<String>,
    #[serde(default)]
    pub(super) nat: NatType,
    pub(super) nat_group: Option<String>,
    pub(super) security: Option<Security>,
    pub(super) sybil_identities: Option<i64>,
    pub(super) victim: Option<String>,
}

/// `[traffic]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTraffic {
    pub(super) topic: Option<String>,
    pub(super) publishers: i64,
    pub(super) rate: String,
    pub(super) size: String,
    pub(super) count: Option<i64>,
}

/// `[targets]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTargets {
    pub(super) p95: Option<String>,
    pub(super) p99: Option<String>,
    pub(super) delivery: Option<f64>,
    pub(super) link_error: Option<f64>,
    pub(super) handshake_p95: Option<String>,
    pub(super) handshake_p99: Option<String>,
    pub(super) bandwidth_efficiency: Option<f64>,
    pub(super) dht_p95: Option<String>,
    pub(super) dht_success: Option<f64>,
    pub(super) dht_qps: Option<f64>,
    pub(super) mdns_p95: Option<String>,
    pub(super) join_p95: Option<String>,
    pub(super) recovery: Option<String>,
}

/// `[discovery]`, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDiscovery {
    pub(super) mdns: Option<bool>,
    pub(super) lookups: Option<String>,
    pub(super) provides: Option<String>,
}

/// `[guard]`, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGuard {
    pub(super) link_error: Option<f64>,
    pub(super) hop_error: Option<f64>,
    pub(super) host_busy: Option<f64>,
}

/// One `[[timeline]]` entry, as written: `at` and exactly one action (checked later).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFault {
    pub(super) at: String,
    pub(super) partition: Option<Vec<Vec<String>>>,
    #[serde(rename = "for")]
    pub(super) lasts: Option<String>,
    pub(super) heal: Option<bool>,
    pub(super) kill: Option<RawSelector>,
    pub(super) restart: Option<RawSelector>,
    pub(super) pause: Option<RawSelector>,
    pub(super) unpause: Option<RawSelector>,
    pub(super) churn: Option<RawChurn>,
    pub(super) attack: Option<RawAttack>,
    pub(super) link: Option<RawLinkChange>,
}

/// `{ group = "…", fraction = 0.2, delay = "125ms", jitter = "5ms", loss = 0.2, for = "15s" }`
/// (or `count`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLinkChange {
    pub(super) group: String,
    pub(super) fraction: Option<f64>,
    pub(super) count: Option<i64>,
    pub(super) delay: Option<String>,
    pub(super) jitter: Option<String>,
    pub(super) loss: Option<f64>,
    #[serde(rename = "for")]
    pub(super) lasts: String,
}

/// `{ group = "…", fraction = 0.1, for = "120s", down = "10s" }` (or `count`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChurn {
    pub(super) group: String,
    pub(super) fraction: Option<f64>,
    pub(super) count: Option<i64>,
    #[serde(rename = "for")]
    pub(super) lasts: String,
    pub(super) down: Option<String>,
}

/// `{ group = "…", start = true }` or `{ group = "…", stop = true }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAttack {
    pub(super) group: String,
    pub(super) start: Option<bool>,
    pub(super) stop: Option<bool>,
}

/// `{ group = "…", fraction = 0.1 }` or `{ group = "…", count = 3 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSelector {
    pub(super) group: String,
    pub(super) fraction: Option<f64>,
    pub(super) count: Option<i64>,
}
