//! Gossipsub 1.1 mesh and peer-score settings, defaulted to the spec's (§4.1, §4.2), and
//! every rule libp2p's gossipsub and the lab's bounds impose on the mesh and thresholds
//! (the score parameters' rules are in `score.rs`).

use serde::{Deserialize, Serialize};

use super::checks::Checker;
use crate::Problem;
use crate::bounds::*;
use crate::doc::FieldPath;
use crate::time_scale::TimeScale;

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
    /// Smallest message, in bytes, for which a node sends IDONTWANT to its mesh peers
    /// (gossipsub 1.2; libp2p's default 1000). A value above the largest message turns
    /// IDONTWANT off.
    pub idontwant_threshold: usize,
    /// Weight of the topic's score in the peer's score.
    pub topic_weight: f64,
    /// P1 weight: time in the mesh.
    pub time_in_mesh_weight: f64,
    /// P1 quantum in milliseconds: the time in mesh counted as one unit.
    pub time_in_mesh_quantum_ms: u64,
    /// P1 cap, in quanta.
    pub time_in_mesh_cap: f64,
    /// P2 weight: first message deliveries.
    pub first_message_deliveries_weight: f64,
    /// P2 counter decay per decay interval.
    pub first_message_deliveries_decay: f64,
    /// P2 counter cap.
    pub first_message_deliveries_cap: f64,
    /// P3 weight: mesh message deliveries below the threshold (the deficit, squared).
    pub mesh_message_deliveries_weight: f64,
    /// P3 counter decay per decay interval.
    pub mesh_message_deliveries_decay: f64,
    /// P3 counter cap.
    pub mesh_message_deliveries_cap: f64,
    /// P3 threshold: a mesh peer whose counter is below it is penalised by the deficit².
    pub mesh_message_deliveries_threshold: f64,
    /// P3 window in milliseconds: a duplicate this soon after the first copy still counts.
    pub mesh_message_deliveries_window_ms: u64,
    /// P3 activation in milliseconds: time in the mesh before P3 applies.
    pub mesh_message_deliveries_activation_ms: u64,
    /// P3b weight: the deficit² a peer carried when pruned.
    pub mesh_failure_penalty_weight: f64,
    /// P3b decay per decay interval.
    pub mesh_failure_penalty_decay: f64,
    /// P4 counter decay per decay interval.
    pub invalid_message_deliveries_decay: f64,
    /// P5 weight: the application-specific score (this node sets none).
    pub app_specific_weight: f64,
    /// P7 weight: behaviour penalties (GRAFT during backoff, broken IWANT promises).
    pub behaviour_penalty_weight: f64,
    /// P7 counter level above which the penalty applies.
    pub behaviour_penalty_threshold: f64,
    /// P7 counter decay per decay interval.
    pub behaviour_penalty_decay: f64,
    /// Interval at which every score counter decays, in milliseconds.
    pub decay_interval_ms: u64,
    /// A decayed counter below this is zero.
    pub decay_to_zero: f64,
    /// How long a disconnected peer's score is remembered, in milliseconds.
    pub retain_score_ms: u64,
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
            idontwant_threshold: 1000,
            topic_weight: 1.0,
            time_in_mesh_weight: 0.01,
            time_in_mesh_quantum_ms: 1000,
            time_in_mesh_cap: 3600.0,
            first_message_deliveries_weight: 0.5,
            first_message_deliveries_decay: 0.99,
            first_message_deliveries_cap: 100.0,
            mesh_message_deliveries_weight: -1.0,
            mesh_message_deliveries_decay: 0.97,
            mesh_message_deliveries_cap: 100.0,
            mesh_message_deliveries_threshold: 10.0,
            mesh_message_deliveries_window_ms: 5000,
            mesh_message_deliveries_activation_ms: 10_000,
            mesh_failure_penalty_weight: -1.0,
            mesh_failure_penalty_decay: 0.95,
            invalid_message_deliveries_decay: 0.99,
            app_specific_weight: 1.0,
            behaviour_penalty_weight: -10.0,
            behaviour_penalty_threshold: 0.0,
            behaviour_penalty_decay: 0.99,
            decay_interval_ms: 1000,
            decay_to_zero: 0.1,
            retain_score_ms: 3_600_000,
        }
    }
}

impl GossipsubSettings {
    /// These settings on a testnet dilated by `k` ([`TimeScale`]): every duration (the
    /// fields in milliseconds) multiplied by `k`, nothing else changed. Score counters decay
    /// per decay interval, so scaling the interval keeps every score the same function of
    /// virtual time.
    pub fn dilated(&self, k: TimeScale) -> GossipsubSettings {
        let ms = |v: u64| u64::try_from(k.real_ms(v).as_millis()).unwrap_or(u64::MAX);
        GossipsubSettings {
            heartbeat_ms: ms(self.heartbeat_ms),
            duplicate_cache_ms: ms(self.duplicate_cache_ms),
            time_in_mesh_quantum_ms: ms(self.time_in_mesh_quantum_ms),
            mesh_message_deliveries_window_ms: ms(self.mesh_message_deliveries_window_ms),
            mesh_message_deliveries_activation_ms: ms(self.mesh_message_deliveries_activation_ms),
            decay_interval_ms: ms(self.decay_interval_ms),
            retain_score_ms: ms(self.retain_score_ms),
            ..self.clone()
        }
    }

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
        c.within(
            "idontwant_threshold",
            g.idontwant_threshold,
            0,
            MAX_PAYLOAD_BYTES * 2,
        );
        super::score::check(g, &mut c);
        c.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every duration of the settings is a `*_ms` field, and `dilated` scales every one of
    /// them and nothing else: a new timer field that `dilated` forgets fails here.
    #[test]
    fn dilation_scales_every_duration_and_nothing_else() {
        let base = GossipsubSettings::default();
        let k = TimeScale::new(3.0).expect("valid");
        let fields = |s: &GossipsubSettings| match toml::Value::try_from(s) {
            Ok(toml::Value::Table(t)) => t,
            other => panic!("settings render as a table: {other:?}"),
        };
        let (before, after) = (fields(&base), fields(&base.dilated(k)));
        assert_eq!(before.len(), after.len());
        let mut durations = 0;
        for (key, v) in &before {
            let scaled = &after[key];
            if key.ends_with("_ms") {
                durations += 1;
                let (a, b) = (
                    v.as_integer().expect("ms"),
                    scaled.as_integer().expect("ms"),
                );
                assert_eq!(b, a * 3, "{key} is a duration: scaled by k");
            } else {
                assert_eq!(v, scaled, "{key} is not a duration: unchanged");
            }
        }
        assert_eq!(durations, 7, "every duration field counted");
        assert_eq!(base.dilated(TimeScale::REAL), base);
    }
}
