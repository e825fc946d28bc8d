//! `[traffic]`: the topic, the publishers, the rate (per publisher within the node's
//! bounds), the payload size and the message count (given, or rate × measured window).

use std::time::Duration;

use lab_config::bounds::{MAX_NAME_BYTES, MAX_NODE_RATE_PER_SEC, MIN_NODE_RATE_PER_SEC};

use super::Validator;
use crate::scenario::doc::FieldPath;
use crate::scenario::raw::RawTraffic;
use crate::scenario::{DEFAULT_TOPIC, MAX_PAYLOAD, Traffic, units};

impl Validator<'_, '_> {
    /// The publish schedule for `honest` honest nodes over the measured `window` (none
    /// when duration or warmup was rejected); 0 stands in for rejected values.
    pub(super) fn traffic(
        &mut self,
        raw: &RawTraffic,
        honest: usize,
        window: Option<Duration>,
    ) -> Traffic {
        let at = FieldPath::root("traffic");
        let topic = self.topic(&at, raw.topic.as_deref());
        let publishers = self.publishers(&at, raw.publishers, honest);
        let rate_per_sec = self.rate(&at, &raw.rate, publishers);
        let size = self.size(&at, &raw.size);
        let count = self.count(&at, raw.count, rate_per_sec, window);
        if publishers > 0 && count > 0 && count < publishers as u64 {
            self.err(
                &at.key("count"),
                format!("{count} messages for {publishers} publishers leaves some idle"),
            );
        }
        Traffic {
            topic,
            publishers,
            rate_per_sec: rate_per_sec.unwrap_or(0.0),
            size,
            count,
        }
    }

    /// The topic, [`DEFAULT_TOPIC`] when none is given.
    fn topic(&mut self, at: &FieldPath, raw: Option<&str>) -> String {
        let topic = raw.unwrap_or(DEFAULT_TOPIC).to_string();
        if topic.trim().is_empty() {
            self.err(&at.key("topic"), "must not be empty");
        } else if topic.len() > MAX_NAME_BYTES {
            self.err(
                &at.key("topic"),
                format!("must be at most {MAX_NAME_BYTES} bytes"),
            );
        }
        topic
    }

    /// The number of publishers: 1 to the number of honest nodes.
    fn publishers(&mut self, at: &FieldPath, raw: i64, honest: usize) -> usize {
        match usize::try_from(raw) {
            Ok(p) if p > 0 && p <= honest => p,
            Ok(p) if p > honest => {
                self.err(
                    &at.key("publishers"),
                    format!("{p} publishers but only {honest} honest nodes"),
                );
                0
            }
            _ => {
                self.err(
                    &at.key("publishers"),
                    format!("must be positive, got {raw}"),
                );
                0
            }
        }
    }

    /// The total rate in messages a second; what each of `publishers` then publishes must
    /// be within the node's bounds.
    fn rate(&mut self, at: &FieldPath, raw: &str, publishers: usize) -> Option<f64> {
        let rate = match units::parse_msg_rate(raw) {
            Ok(r) => r,
            Err(e) => {
                self.err(&at.key("rate"), e);
                return None;
            }
        };
        if publishers > 0 {
            let each = rate / publishers as f64;
            if !(MIN_NODE_RATE_PER_SEC..=MAX_NODE_RATE_PER_SEC).contains(&each) {
                self.err(
                    &at.key("rate"),
                    format!(
                        "gives each of the {publishers} publishers {} msg/s; a node publishes one message an hour to {MAX_NODE_RATE_PER_SEC} a second",
                        lab_config::num(each)
                    ),
                );
            }
        }
        Some(rate)
    }

    /// The payload size in bytes: 1 to [`MAX_PAYLOAD`].
    fn size(&mut self, at: &FieldPath, raw: &str) -> u64 {
        match units::parse_size(raw) {
            Ok(s) if s > 0 && s <= MAX_PAYLOAD => s,
            Ok(s) => {
                self.err(
                    &at.key("size"),
                    format!("must be 1..={MAX_PAYLOAD} bytes, got {s}"),
                );
                0
            }
            Err(e) => {
                self.err(&at.key("size"), e);
                0
            }
        }
    }

    /// The messages in all: as given (and then sendable at `rate` within `window`), or
    /// `rate` × `window`.
    fn count(
        &mut self,
        at: &FieldPath,
        raw: Option<i64>,
        rate: Option<f64>,
        window: Option<Duration>,
    ) -> u64 {
        match (raw, rate, window) {
            (Some(c), _, _) if c <= 0 => {
                self.err(&at.key("count"), format!("must be positive, got {c}"));
                0
            }
            (Some(c), Some(rate), Some(window)) => {
                let needs = c as f64 / rate;
                if needs > window.as_secs_f64() + 1e-9 {
                    self.err(
                        &at.key("count"),
                        format!(
                            "{c} messages at {rate}/s take {needs:.1}s, longer than \
                             duration − warmup ({:.1}s)",
                            window.as_secs_f64()
                        ),
                    );
                }
                c as u64
            }
            (Some(c), _, _) => c as u64,
            (None, Some(rate), Some(window)) => {
                let c = (rate * window.as_secs_f64() + 1e-9).floor() as u64;
                if c == 0 {
                    self.err(
                        &at.key("rate"),
                        "rate × (duration − warmup) gives no message at all",
                    );
                }
                c
            }
            (None, _, _) => 0,
        }
    }
}
