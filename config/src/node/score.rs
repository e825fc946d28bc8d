//! The rules libp2p's gossipsub imposes on the peer-score parameters
//! (`PeerScoreParams::validate`, `TopicScoreParams::validate` in libp2p-gossipsub 0.50),
//! plus the lab's bounds, each located at its field.

use super::GossipsubSettings;
use super::checks::Checker;
use crate::bounds::{MAX_NODE_MILLIS, MAX_SCORE_MAGNITUDE};

/// Largest score counter cap (P1–P3): libp2p caps counters, and a cap beyond this makes a
/// single peer's score exceed any threshold a scenario can name.
const MAX_COUNTER_CAP: f64 = 1e6;

/// Checks every score parameter of `g` into `c`.
pub(super) fn check(g: &GossipsubSettings, c: &mut Checker) {
    let m = MAX_SCORE_MAGNITUDE;
    c.within_f("topic_weight", g.topic_weight, 0.0, m);
    c.within_f("app_specific_weight", g.app_specific_weight, -m, m);

    // P1: time in mesh.
    c.within_f("time_in_mesh_weight", g.time_in_mesh_weight, 0.0, m);
    c.within(
        "time_in_mesh_quantum_ms",
        g.time_in_mesh_quantum_ms,
        1,
        MAX_NODE_MILLIS,
    );
    positive_cap(
        c,
        "time_in_mesh_cap",
        g.time_in_mesh_weight,
        g.time_in_mesh_cap,
    );

    // P2: first message deliveries.
    let w = g.first_message_deliveries_weight;
    c.within_f("first_message_deliveries_weight", w, 0.0, m);
    decay(
        c,
        "first_message_deliveries_decay",
        w,
        g.first_message_deliveries_decay,
    );
    positive_cap(
        c,
        "first_message_deliveries_cap",
        w,
        g.first_message_deliveries_cap,
    );

    // P3: mesh message deliveries.
    let w = g.mesh_message_deliveries_weight;
    c.within_f("mesh_message_deliveries_weight", w, -m, 0.0);
    decay(
        c,
        "mesh_message_deliveries_decay",
        w,
        g.mesh_message_deliveries_decay,
    );
    positive_cap(
        c,
        "mesh_message_deliveries_cap",
        w,
        g.mesh_message_deliveries_cap,
    );
    if w != 0.0 {
        let t = g.mesh_message_deliveries_threshold;
        if !(t.is_finite() && t > 0.0 && t <= MAX_COUNTER_CAP) {
            c.fail(
                "mesh_message_deliveries_threshold",
                format!(
                    "must be a number in (0, {}] while mesh_message_deliveries_weight is not 0, got {}",
                    crate::num(MAX_COUNTER_CAP),
                    crate::num(t)
                ),
            );
        }
        c.within(
            "mesh_message_deliveries_activation_ms",
            g.mesh_message_deliveries_activation_ms,
            1000,
            MAX_NODE_MILLIS,
        );
    }
    c.within(
        "mesh_message_deliveries_window_ms",
        g.mesh_message_deliveries_window_ms,
        0,
        MAX_NODE_MILLIS,
    );

    // P3b: mesh failure penalty.
    let w = g.mesh_failure_penalty_weight;
    c.within_f("mesh_failure_penalty_weight", w, -m, 0.0);
    decay(
        c,
        "mesh_failure_penalty_decay",
        w,
        g.mesh_failure_penalty_decay,
    );

    // P4: invalid messages (the weight is checked with the thresholds).
    decay(
        c,
        "invalid_message_deliveries_decay",
        g.invalid_message_deliveries_weight,
        g.invalid_message_deliveries_decay,
    );

    // P7: behaviour penalties.
    let w = g.behaviour_penalty_weight;
    c.within_f("behaviour_penalty_weight", w, -m, 0.0);
    decay(c, "behaviour_penalty_decay", w, g.behaviour_penalty_decay);
    c.within_f(
        "behaviour_penalty_threshold",
        g.behaviour_penalty_threshold,
        0.0,
        MAX_COUNTER_CAP,
    );

    // Decay.
    c.within(
        "decay_interval_ms",
        g.decay_interval_ms,
        1000,
        MAX_NODE_MILLIS,
    );
    if !(g.decay_to_zero > 0.0 && g.decay_to_zero < 1.0) {
        c.fail(
            "decay_to_zero",
            format!(
                "must be a number in (0, 1), got {}",
                crate::num(g.decay_to_zero)
            ),
        );
    }
    c.within("retain_score_ms", g.retain_score_ms, 0, MAX_NODE_MILLIS);
}

/// A counter decay, in (0, 1) while its parameter's weight is not 0.
fn decay(c: &mut Checker, field: &str, weight: f64, d: f64) {
    if weight != 0.0 && !(d > 0.0 && d < 1.0) {
        c.fail(
            field,
            format!(
                "must be a number in (0, 1) while its weight is not 0, got {}",
                crate::num(d)
            ),
        );
    }
}

/// A counter cap, in (0, MAX_COUNTER_CAP] while its parameter's weight is not 0.
fn positive_cap(c: &mut Checker, field: &str, weight: f64, cap: f64) {
    if weight != 0.0 && !(cap.is_finite() && cap > 0.0 && cap <= MAX_COUNTER_CAP) {
        c.fail(
            field,
            format!(
                "must be a number in (0, {}] while its weight is not 0, got {}",
                crate::num(MAX_COUNTER_CAP),
                crate::num(cap)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(g: &GossipsubSettings) -> Vec<String> {
        g.check().into_iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn the_spec_defaults_pass() {
        assert!(problems(&GossipsubSettings::default()).is_empty());
    }

    #[test]
    fn libp2p_rules_are_located_at_their_field() {
        let g = GossipsubSettings {
            mesh_message_deliveries_decay: 1.0,
            mesh_message_deliveries_threshold: 0.0,
            mesh_message_deliveries_activation_ms: 500,
            time_in_mesh_weight: -1.0,
            decay_interval_ms: 100,
            decay_to_zero: 1.5,
            behaviour_penalty_weight: 2.0,
            ..GossipsubSettings::default()
        };
        let p = problems(&g);
        for field in [
            "mesh_message_deliveries_decay",
            "mesh_message_deliveries_threshold",
            "mesh_message_deliveries_activation_ms",
            "time_in_mesh_weight",
            "decay_interval_ms",
            "decay_to_zero",
            "behaviour_penalty_weight",
        ] {
            assert!(
                p.iter().any(|m| m.starts_with(&format!("field `{field}`"))),
                "{field} not reported in {p:?}"
            );
        }
    }

    #[test]
    fn a_zero_weight_turns_its_rules_off() {
        let g = GossipsubSettings {
            mesh_message_deliveries_weight: 0.0,
            mesh_message_deliveries_threshold: 0.0,
            mesh_message_deliveries_decay: 0.0,
            ..GossipsubSettings::default()
        };
        assert!(problems(&g).is_empty(), "{:?}", problems(&g));
    }
}
