//! `[gossipsub]` (the node's own rules, located in the scenario), `[targets]` (latency
//! bounds, delivery ratio, link error, bandwidth efficiency, handshake times) and `[guard]`
//! (when a run is distorted).

use std::time::Duration;

use super::Validator;
use crate::scenario::doc::FieldPath;
use crate::scenario::raw::{RawGuard, RawTargets};
use crate::scenario::{GossipsubSettings, Guard, Targets, units};

impl Validator<'_, '_> {
    /// The node's own rules ([`GossipsubSettings::check`]), located in this file.
    pub(super) fn gossipsub(&mut self, g: &GossipsubSettings) {
        let at = FieldPath::root("gossipsub");
        for p in g.check() {
            self.diags.push(self.doc.diag_problem(&p.under(&at)));
        }
    }

    /// The targets as given, each checked; a rejected latency is left out.
    pub(super) fn targets(&mut self, raw: &RawTargets) -> Targets {
        let at = FieldPath::root("targets");
        let (p95, p99) = self.latencies(&at, ["p95", "p99"], [&raw.p95, &raw.p99]);
        let (handshake_p95, handshake_p99) = self.latencies(
            &at,
            ["handshake_p95", "handshake_p99"],
            [&raw.handshake_p95, &raw.handshake_p99],
        );
        if let Some(d) = raw.delivery.filter(|d| !(0.0..=1.0).contains(d)) {
            self.err(
                &at.key("delivery"),
                format!("must be a ratio in 0..=1, got {}", lab_config::num(d)),
            );
        }
        if let Some(b) = raw
            .bandwidth_efficiency
            .filter(|b| !(b.is_finite() && *b > 0.0 && *b <= 1.0))
        {
            self.err(
                &at.key("bandwidth_efficiency"),
                format!(
                    "must be a ratio in (0, 1] (payload bytes per byte on the wire), got {}",
                    lab_config::num(b)
                ),
            );
        }
        if let Some(e) = raw
            .link_error
            .filter(|e| !(e.is_finite() && *e > 0.0 && *e <= 10.0))
        {
            self.err(
                &at.key("link_error"),
                format!(
                    "must be a ratio in (0, 10] (0.1 = within 10 % of the imposed delay), got {}",
                    lab_config::num(e)
                ),
            );
        }
        Targets {
            p95,
            p99,
            delivery: raw.delivery,
            link_error: raw.link_error,
            handshake_p95,
            handshake_p99,
            bandwidth_efficiency: raw.bandwidth_efficiency,
            recovery: self.recovery_target(&at.key("recovery"), raw.recovery.as_deref()),
            ..self.discovery_targets(&at, raw)
        }
    }

    /// The guard's bounds, each defaulted and checked ([`Guard::problems`]); a rejected
    /// bound keeps its default.
    pub(super) fn guard(&mut self, raw: &RawGuard) -> Guard {
        let at = FieldPath::root("guard");
        let d = Guard::DEFAULT;
        let mut guard = Guard {
            link_error: raw.link_error.unwrap_or(d.link_error),
            hop_error: raw.hop_error.unwrap_or(d.hop_error),
            host_busy: raw.host_busy.unwrap_or(d.host_busy),
        };
        for (field, message) in guard.problems() {
            self.err(&at.key(field), message);
            guard = guard.with_default(field);
        }
        guard
    }

    /// A p95 and a p99 (`names`, `raw`): each positive and at most an hour, and the p99
    /// not below the p95.
    fn latencies(
        &mut self,
        at: &FieldPath,
        names: [&str; 2],
        raw: [&Option<String>; 2],
    ) -> (Option<Duration>, Option<Duration>) {
        let [n95, n99] = names;
        let p95 = raw[0]
            .as_deref()
            .and_then(|s| self.duration(&at.key(n95), s));
        let p99 = raw[1]
            .as_deref()
            .and_then(|s| self.duration(&at.key(n99), s));
        for (name, value) in [(n95, p95), (n99, p99)] {
            match value {
                Some(d) if d.is_zero() => {
                    self.err(&at.key(name), "must be positive: no latency is below 0s")
                }
                Some(d) if d > Duration::from_secs(3600) => self.err(
                    &at.key(name),
                    format!("must be at most 1h, got {}", units::format_duration(d)),
                ),
                _ => {}
            }
        }
        if matches!((p95, p99), (Some(a), Some(b)) if a > b) {
            let (a, b) = (p95.unwrap_or_default(), p99.unwrap_or_default());
            self.err(
                &at.key(n99),
                format!(
                    "must not be below {n95} ({} < {})",
                    units::format_duration(b),
                    units::format_duration(a)
                ),
            );
        }
        (p95, p99)
    }
}
