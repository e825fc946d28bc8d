//! Gossipsub 1.1 mesh and peer-score settings, defaulted to the spec's (§4.1, §4.2), and
//! every rule libp2p's gossipsub and the lab's bounds impose on them.

use serde::{Deserialize, Serialize};

use super::checks::Checker;
use crate::Problem;
use crate::bounds::*;
use crate::doc::FieldPath;

/// Gossipsub 1.1 mesh and peer-score settings; defaults are the spec's (§4.1, §4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GossipsubSettings {
    /// Target mesh degree D.
    pub mesh_n: usize,
    /// Low watermark D_lo.
    pub mesh_n_low: usize,
    /// High watermark D_hi.
    pub mesh_n_high: usize,
    /// Minimum outbound mesh peers D_out.
    pub mesh_outbound_min: usize,
    /// Heartbeats of message history kept.
    pub history_length: usize,
    /// Heartbeats of history gossiped in IHAVE.
    pub history_gossip: usize,
    /// Heartbeat interval in milliseconds.
    pub heartbeat_ms: u64,
    /// Duplicate cache time in milliseconds.
    pub duplicate_cache_ms: u64,
    /// Whether own messages are flooded to all peers instead of the mesh.
    pub flood_publish: bool,
    /// Below this score no gossip is exchanged with a peer.
    pub gossip_threshold: f64,
    /// Below this score own messages are not published to a peer.
    pub publish_threshold: f64,
    /// Below this score all RPCs from a peer are ignored.
    pub graylist_threshold: f64,
    /// Above this score peer exchange from a peer is accepted.
    pub accept_px_threshold: f64,
    /// Median mesh score below which opportunistic grafting runs.
    pub opportunistic_graft_threshold: f64,
    /// Weight of invalid message deliveries (P4) on the topic.
    pub invalid_message_deliveries_weight: f64,
    /// Weight of the IP colocation factor (P6).
    pub ip_colocation_factor_weight: f64,
    /// Peers per IP tolerated before P6 applies.
    pub ip_colocation_factor_threshold: f64,
}

impl Default for GossipsubSettings {
    fn default() -> Self {
        Self {
            mesh_n: 6,
            mesh_n_low: 4,
            mesh_n_high: 12,
            mesh_outbound_min: 2,
            history_length: 5,
            history_gossip: 3,
            heartbeat_ms: 1000,
            duplicate_cache_ms: 120_000,
            flood_publish: false,
            gossip_threshold: -100.0,
            publish_threshold: -500.0,
            graylist_threshold: -1000.0,
            accept_px_threshold: 50.0,
            opportunistic_graft_threshold: 5.0,
            invalid_message_deliveries_weight: -10.0,
            ip_colocation_factor_weight: -5.0,
            ip_colocation_factor_threshold: 3.0,
        }
    }
}

impl GossipsubSettings {
    /// Every rule libp2p's gossipsub (config builder, score parameters, thresholds) and the
    /// lab's bounds impose on these settings; fields relative to this table.
    pub fn check(&self) -> Vec<Problem> {
        let mut c = Checker::new(FieldPath::default());
        let g = self;
        c.within("mesh_n_high", g.mesh_n_high, 1, MAX_MESH_DEGREE);
        if g.mesh_n_low == 0 {
            c.fail("mesh_n_low", "must be positive");
        }
        if !(g.mesh_n_low <= g.mesh_n && g.mesh_n <= g.mesh_n_high) {
            c.relation(
                "mesh_n",
                &["mesh_n_low", "mesh_n_high"],
                format!(
                    "needs mesh_n_low <= mesh_n <= mesh_n_high, got {} <= {} <= {}",
                    g.mesh_n_low, g.mesh_n, g.mesh_n_high
                ),
            );
        }
        if g.mesh_outbound_min > g.mesh_n_low || g.mesh_outbound_min.saturating_mul(2) > g.mesh_n {
            c.relation(
                "mesh_outbound_min",
                &["mesh_n_low", "mesh_n"],
                format!(
                    "needs mesh_outbound_min <= mesh_n_low and <= mesh_n / 2, got {} (mesh_n_low {}, mesh_n {})",
                    g.mesh_outbound_min, g.mesh_n_low, g.mesh_n
                ),
            );
        }
        c.within("history_length", g.history_length, 1, MAX_HISTORY);
        if g.history_gossip > g.history_length {
            c.relation(
                "history_gossip",
                &["history_length"],
                format!(
                    "needs history_gossip <= history_length, got {} > {}",
                    g.history_gossip, g.history_length
                ),
            );
        }
        c.within("heartbeat_ms", g.heartbeat_ms, MIN_HEARTBEAT_MS, 60_000);
        c.within(
            "duplicate_cache_ms",
            g.duplicate_cache_ms,
            g.heartbeat_ms.clamp(MIN_HEARTBEAT_MS, 60_000),
            MAX_NODE_MILLIS,
        );
        let m = MAX_SCORE_MAGNITUDE;
        let gossip = c.within_f("gossip_threshold", g.gossip_threshold, -m, 0.0);
        let publish = c.within_f("publish_threshold", g.publish_threshold, -m, 0.0);
        let graylist = c.within_f("graylist_threshold", g.graylist_threshold, -m, 0.0);
        if gossip
            && publish
            && graylist
            && !(g.graylist_threshold <= g.publish_threshold
                && g.publish_threshold <= g.gossip_threshold)
        {
            c.relation(
                "publish_threshold",
                &["graylist_threshold", "gossip_threshold"],
                format!(
                    "needs graylist <= publish <= gossip <= 0, got {} <= {} <= {} <= 0",
                    g.graylist_threshold, g.publish_threshold, g.gossip_threshold
                ),
            );
        }
        c.within_f("accept_px_threshold", g.accept_px_threshold, 0.0, m);
        c.within_f(
            "opportunistic_graft_threshold",
            g.opportunistic_graft_threshold,
            0.0,
            m,
        );
        c.within_f(
            "invalid_message_deliveries_weight",
            g.invalid_message_deliveries_weight,
            -m,
            0.0,
        );
        c.within_f(
            "ip_colocation_factor_weight",
            g.ip_colocation_factor_weight,
            -m,
            0.0,
        );
        let floor = if g.ip_colocation_factor_weight == 0.0 {
            0.0
        } else {
            1.0
        };
        c.within_f(
            "ip_colocation_factor_threshold",
            g.ip_colocation_factor_threshold,
            floor,
            m,
        );
        c.problems
    }
}
