//! Gossipsub configuration and peer-score parameters from [`GossipsubSettings`] (spec §4.1,
//! §4.2), with BLAKE3 message ids and strict, application-level validation.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::gossipsub::{
    self, ConfigBuilder, MessageId, PeerScoreParams, PeerScoreThresholds, TopicHash,
    TopicScoreParams, ValidationMode,
};

use crate::config::GossipsubSettings;

/// Largest control part of an RPC a node accepts: 5000 IHAVE ids of 32 bytes with their
/// framing, and headroom.
const MAX_CONTROL_MESSAGE_SIZE: usize = 256 * 1024;

/// The gossipsub message id: BLAKE3 of the message data.
pub fn message_id(data: &[u8]) -> MessageId {
    MessageId::from(blake3::hash(data).as_bytes().to_vec())
}

/// Builds the gossipsub config; `max_transmit` bounds a whole message on the wire.
pub fn config(
    s: &GossipsubSettings,
    max_transmit: usize,
) -> Result<gossipsub::Config, gossipsub::ConfigBuilderError> {
    ConfigBuilder::default()
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
        .build()
}

/// Peer-score parameters with the spec's topic parameters on `topic`.
pub fn score_params(s: &GossipsubSettings, topic: TopicHash) -> PeerScoreParams {
    let topic_params = TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 3600.0,
        first_message_deliveries_weight: 0.5,
        first_message_deliveries_decay: 0.99,
        first_message_deliveries_cap: 100.0,
        mesh_message_deliveries_weight: -1.0,
        mesh_message_deliveries_decay: 0.97,
        mesh_message_deliveries_cap: 100.0,
        mesh_message_deliveries_threshold: 10.0,
        mesh_message_deliveries_window: Duration::from_secs(5),
        mesh_message_deliveries_activation: Duration::from_secs(10),
        mesh_failure_penalty_weight: -1.0,
        mesh_failure_penalty_decay: 0.95,
        invalid_message_deliveries_weight: s.invalid_message_deliveries_weight,
        invalid_message_deliveries_decay: 0.99,
    };
    PeerScoreParams {
        topics: HashMap::from([(topic, topic_params)]),
        app_specific_weight: 1.0,
        ip_colocation_factor_weight: s.ip_colocation_factor_weight,
        ip_colocation_factor_threshold: s.ip_colocation_factor_threshold,
        behaviour_penalty_weight: -10.0,
        behaviour_penalty_decay: 0.99,
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
        let c = config(&s, 1 << 20).expect("valid config");
        assert_eq!(c.mesh_n(), 6);
        assert_eq!(c.heartbeat_interval(), Duration::from_secs(1));
        let p = score_params(&s, gossipsub::IdentTopic::new("t").hash());
        p.validate().expect("valid score params");
        thresholds(&s).validate().expect("valid thresholds");
    }

    #[test]
    fn message_id_is_blake3_of_data() {
        assert_eq!(
            message_id(b"abc").0,
            blake3::hash(b"abc").as_bytes().to_vec()
        );
    }
}
