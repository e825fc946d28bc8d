//! Gossipsub configuration and peer-score parameters from [`GossipsubSettings`] (spec §4.1,
//! §4.2), with BLAKE3 message ids and strict, application-level validation.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::gossipsub::{
    self, ConfigBuilder, MessageId, PeerScoreParams, PeerScoreThresholds, TopicHash,
    TopicScoreParams, ValidationMode,
};

use crate::config::GossipsubSettings;
use crate::dilation::TimeScale;

/// Largest control part of an RPC a node accepts: 5000 IHAVE ids of 32 bytes with their
/// framing, and headroom.
pub const MAX_CONTROL_MESSAGE_SIZE: usize = 256 * 1024;

/// The gossipsub message id: BLAKE3 of the message data.
pub fn message_id(data: &[u8]) -> MessageId {
    MessageId::from(blake3::hash(data).as_bytes().to_vec())
}

/// Builds the gossipsub config; `max_transmit` bounds a whole message on the wire. The
/// settings' durations are real times already ([`GossipsubSettings::dilated`]); `k` scales
/// every duration of libp2p's that the settings do not name, so that every timer of
/// gossipsub is dilated (the test below checks all of them).
pub fn config(
    s: &GossipsubSettings,
    max_transmit: usize,
    k: TimeScale,
) -> Result<gossipsub::Config, gossipsub::ConfigBuilderError> {
    builder(s, max_transmit, k).build()
}

/// The builder of [`config`], for a caller that changes more (the adversaries' muted
/// protocol, [`crate::adversary::MUTED_PROTOCOL`]).
pub fn builder(s: &GossipsubSettings, max_transmit: usize, k: TimeScale) -> ConfigBuilder {
    let d = gossipsub::Config::default();
    let mut b = ConfigBuilder::default();
    b.heartbeat_initial_delay(k.real(d.heartbeat_initial_delay()))
        .fanout_ttl(k.real(d.fanout_ttl()))
        .prune_backoff(k.real(d.prune_backoff()))
        .unsubscribe_backoff(k.real(d.unsubscribe_backoff()))
        .graft_flood_threshold(k.real(d.graft_flood_threshold()))
        .iwant_followup_time(k.real(d.iwant_followup_time()))
        .publish_queue_duration(k.real(d.publish_queue_duration()))
        .forward_queue_duration(k.real(d.forward_queue_duration()))
        .mesh_n(s.mesh_n)
        .mesh_n_low(s.mesh_n_low)
        .mesh_n_high(s.mesh_n_high)
        .mesh_outbound_min(s.mesh_outbound_min)
        .history_length(s.history_length)
        .history_gossip(s.history_gossip)
        .heartbeat_interval(Duration::from_millis(s.heartbeat_ms))
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| message_id(&m.data))
        .flood_publish(s.flood_publish)
        .duplicate_cache_time(Duration::from_millis(s.duplicate_cache_ms))
        .max_transmit_size(max_transmit)
        // Room for a whole IHAVE: libp2p's 16 KiB default holds ~480 of the up to 5000
        // BLAKE3 ids gossipsub sends per heartbeat, and a receiver silently drops the
        // inbound stream of an RPC above it (seen above ~160 msg/s on a topic).
        .max_control_message_size(MAX_CONTROL_MESSAGE_SIZE)
        .idontwant_message_size_threshold(s.idontwant_threshold);
    b
}

/// Peer-score parameters from the settings (spec §4.2 by default), the topic parameters
/// on `topic`.
pub fn score_params(s: &GossipsubSettings, topic: TopicHash) -> PeerScoreParams {
    let ms = Duration::from_millis;
    let topic_params = TopicScoreParams {
        topic_weight: s.topic_weight,
        time_in_mesh_weight: s.time_in_mesh_weight,
        time_in_mesh_quantum: ms(s.time_in_mesh_quantum_ms),
        time_in_mesh_cap: s.time_in_mesh_cap,
        first_message_deliveries_weight: s.first_message_deliveries_weight,
        first_message_deliveries_decay: s.first_message_deliveries_decay,
        first_message_deliveries_cap: s.first_message_deliveries_cap,
        mesh_message_deliveries_weight: s.mesh_message_deliveries_weight,
        mesh_message_deliveries_decay: s.mesh_message_deliveries_decay,
        mesh_message_deliveries_cap: s.mesh_message_deliveries_cap,
        mesh_message_deliveries_threshold: s.mesh_message_deliveries_threshold,
        mesh_message_deliveries_window: ms(s.mesh_message_deliveries_window_ms),
        mesh_message_deliveries_activation: ms(s.mesh_message_deliveries_activation_ms),
        mesh_failure_penalty_weight: s.mesh_failure_penalty_weight,
        mesh_failure_penalty_decay: s.mesh_failure_penalty_decay,
        invalid_message_deliveries_weight: s.invalid_message_deliveries_weight,
        invalid_message_deliveries_decay: s.invalid_message_deliveries_decay,
    };
    PeerScoreParams {
        topics: HashMap::from([(topic, topic_params)]),
        app_specific_weight: s.app_specific_weight,
        ip_colocation_factor_weight: s.ip_colocation_factor_weight,
        ip_colocation_factor_threshold: s.ip_colocation_factor_threshold,
        behaviour_penalty_weight: s.behaviour_penalty_weight,
        behaviour_penalty_threshold: s.behaviour_penalty_threshold,
        behaviour_penalty_decay: s.behaviour_penalty_decay,
        decay_interval: ms(s.decay_interval_ms),
        decay_to_zero: s.decay_to_zero,
        retain_score: ms(s.retain_score_ms),
        ..Default::default()
    }
}

/// Score thresholds from the settings.
pub fn thresholds(s: &GossipsubSettings) -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: s.gossip_threshold,
        publish_threshold: s.publish_threshold,
        graylist_threshold: s.graylist_threshold,
        accept_px_threshold: s.accept_px_threshold,
        opportunistic_graft_threshold: s.opportunistic_graft_threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_defaults_build_and_validate() {
        let s = GossipsubSettings::default();
        let c = config(&s, 1 << 20, TimeScale::REAL).expect("valid config");
        assert_eq!(c.mesh_n(), 6);
        assert_eq!(c.heartbeat_interval(), Duration::from_secs(1));
        let p = score_params(&s, gossipsub::IdentTopic::new("t").hash());
        p.validate().expect("valid score params");
        let t = &p.topics[&gossipsub::IdentTopic::new("t").hash()];
        assert_eq!(t.mesh_message_deliveries_threshold, 10.0);
        assert_eq!(t.mesh_message_deliveries_window, Duration::from_secs(5));
        assert_eq!(p.behaviour_penalty_decay, 0.99);
        thresholds(&s).validate().expect("valid thresholds");
    }

    /// Every parameter the config's own checks accept, libp2p accepts too: the edges of
    /// the config's rules (zero weights with otherwise invalid counters, smallest activation
    /// and decay interval) build valid score parameters.
    #[test]
    fn what_the_config_accepts_libp2p_accepts() {
        let edges = [
            GossipsubSettings {
                mesh_message_deliveries_weight: 0.0,
                mesh_message_deliveries_threshold: 0.0,
                mesh_message_deliveries_decay: 0.0,
                mesh_message_deliveries_activation_ms: 0,
                ..GossipsubSettings::default()
            },
            GossipsubSettings {
                mesh_message_deliveries_activation_ms: 1000,
                decay_interval_ms: 1000,
                time_in_mesh_quantum_ms: 1,
                behaviour_penalty_weight: 0.0,
                behaviour_penalty_decay: 1.0,
                ..GossipsubSettings::default()
            },
        ];
        for s in edges {
            assert!(s.check().is_empty(), "{:?}", s.check());
            let p = score_params(&s, gossipsub::IdentTopic::new("t").hash());
            p.validate()
                .expect("libp2p accepts what the config accepts");
        }
    }

    /// Every `Duration` in a `Debug` rendering (`5s`, `1.5s`, `120ms`, `250µs`, `10ns`), in
    /// order.
    fn durations(debug: &str) -> Vec<Duration> {
        debug
            .split(|c: char| c.is_whitespace() || ",:{}()[]".contains(c))
            .filter_map(|t| {
                let (unit, scale) = [("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)]
                    .into_iter()
                    .find(|(u, _)| t.ends_with(u))?;
                let n: f64 = t.strip_suffix(unit)?.parse().ok()?;
                Some(Duration::from_secs_f64(n * scale))
            })
            .collect()
    }

    fn assert_scaled(what: &str, real: &[Duration], dilated: &[Duration], k: f64) {
        assert_eq!(real.len(), dilated.len(), "{what}: same durations");
        for (i, (a, b)) in real.iter().zip(dilated).enumerate() {
            let want = a.mul_f64(k);
            let err = want.abs_diff(*b);
            assert!(
                err <= Duration::from_millis(1),
                "{what}: duration #{i}: {a:?} × {k} = {want:?}, got {b:?}"
            );
        }
    }

    /// On a node dilated by k, every duration gossipsub holds (its config, including the
    /// defaults the settings do not name, and every peer-score duration) is k times the
    /// undilated one: a timer added to libp2p's config or to the settings and forgotten by
    /// the dilation fails here. The config's `Debug` omits a few fields; their getters are
    /// checked one by one.
    #[test]
    fn every_gossipsub_and_score_duration_is_dilated() {
        let s = GossipsubSettings::default();
        let k = TimeScale::new(3.0).expect("valid");
        let real = config(&s, 1 << 20, TimeScale::REAL).expect("valid");
        let slow = config(&s.dilated(k), 1 << 20, k).expect("valid");
        let (a, b) = (
            durations(&format!("{real:?}")),
            durations(&format!("{slow:?}")),
        );
        assert!(
            a.len() >= 7,
            "the config's Debug shows its durations: {real:?}"
        );
        assert_scaled("gossipsub config", &a, &b, 3.0);
        let getters = |c: &gossipsub::Config| {
            vec![
                c.heartbeat_initial_delay(),
                c.heartbeat_interval(),
                c.fanout_ttl(),
                c.duplicate_cache_time(),
                c.prune_backoff(),
                c.unsubscribe_backoff(),
                c.graft_flood_threshold(),
                c.iwant_followup_time(),
                c.publish_queue_duration(),
                c.forward_queue_duration(),
            ]
        };
        assert_scaled("gossipsub getters", &getters(&real), &getters(&slow), 3.0);

        let topic = gossipsub::IdentTopic::new("t").hash();
        let real = score_params(&s, topic.clone());
        let slow = score_params(&s.dilated(k), topic);
        slow.validate().expect("dilated score params are valid");
        let (a, b) = (
            durations(&format!("{real:?}")),
            durations(&format!("{slow:?}")),
        );
        assert_eq!(
            a.len(),
            5,
            "decay interval, retain score, quantum, window, activation: {real:?}"
        );
        assert_scaled("score params", &a, &b, 3.0);
    }

    #[test]
    fn message_id_is_blake3_of_data() {
        assert_eq!(
            message_id(b"abc").0,
            blake3::hash(b"abc").as_bytes().to_vec()
        );
    }
}
