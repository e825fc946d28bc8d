//! `[discovery]` (mDNS, the nodes' scheduled DHT queries) and the targets that judge them
//! (`dht_p95`, `dht_success`, `dht_qps`, `mdns_p95`, `join_p95`).

use std::time::Duration;

use lab_config::node::{MAX_DHT_PER_MIN, MIN_DHT_PER_MIN};
use lab_config::num;

use super::Validator;
use crate::scenario::doc::FieldPath;
use crate::scenario::raw::{RawDiscovery, RawTargets};
use crate::scenario::{Discovery, Targets, units};

/// The largest network-wide query rate a target may ask for: every node of the largest
/// testnet at the node's own maximum.
const MAX_DHT_QPS: f64 = lab_config::bounds::MAX_NODES as f64 * MAX_DHT_PER_MIN / 60.0;

impl Validator<'_, '_> {
    /// `[discovery]`: each rate a message rate (`"1/s"`) within the node's bounds.
    pub(super) fn discovery(&mut self, raw: &RawDiscovery) -> Discovery {
        let at = FieldPath::root("discovery");
        let mut rate = |field: &str, s: &Option<String>| -> f64 {
            let Some(s) = s else { return 0.0 };
            let field = at.key(field);
            match units::parse_msg_rate(s) {
                Ok(r) if (MIN_DHT_PER_MIN / 60.0..=MAX_DHT_PER_MIN / 60.0).contains(&r) => r,
                Ok(r) => {
                    self.err(
                        &field,
                        format!(
                            "must be one query an hour to {} a second per node, got {}/s",
                            num(MAX_DHT_PER_MIN / 60.0),
                            num(r)
                        ),
                    );
                    0.0
                }
                Err(e) => {
                    self.err(&field, e);
                    0.0
                }
            }
        };
        Discovery {
            mdns: raw.mdns.unwrap_or(false),
            lookups_per_sec: rate("lookups", &raw.lookups),
            provides_per_sec: rate("provides", &raw.provides),
        }
    }

    /// The discovery targets of `[targets]` (at `at`); a rejected one is left out. Only
    /// these fields of the result are set.
    pub(super) fn discovery_targets(&mut self, at: &FieldPath, raw: &RawTargets) -> Targets {
        let dht_p95 = self.bounded_duration(at, "dht_p95", raw.dht_p95.as_deref());
        let mdns_p95 = self.bounded_duration(at, "mdns_p95", raw.mdns_p95.as_deref());
        let join_p95 = self.bounded_duration(at, "join_p95", raw.join_p95.as_deref());
        let dht_success = raw.dht_success.filter(|d| {
            let ok = (0.0..=1.0).contains(d);
            if !ok {
                self.err(
                    &at.key("dht_success"),
                    format!("must be a ratio in 0..=1, got {}", num(*d)),
                );
            }
            ok
        });
        let dht_qps = raw.dht_qps.filter(|q| {
            let ok = q.is_finite() && *q > 0.0 && *q <= MAX_DHT_QPS;
            if !ok {
                self.err(
                    &at.key("dht_qps"),
                    format!(
                        "must be queries a second over the network in (0, {}], got {}",
                        num(MAX_DHT_QPS),
                        num(*q)
                    ),
                );
            }
            ok
        });
        Targets {
            dht_p95,
            dht_success,
            dht_qps,
            mdns_p95,
            join_p95,
            ..Targets::default()
        }
    }

    /// `field` of `at` as a duration, positive and at most an hour.
    fn bounded_duration(
        &mut self,
        at: &FieldPath,
        field: &str,
        s: Option<&str>,
    ) -> Option<Duration> {
        let path = at.key(field);
        let d = self.duration(&path, s?)?;
        if d.is_zero() {
            self.err(&path, "must be positive: no time is below 0s");
            None
        } else if d > Duration::from_secs(3600) {
            self.err(
                &path,
                format!("must be at most 1h, got {}", units::format_duration(d)),
            );
            None
        } else {
            Some(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::scenario::fixture::{GOOD, diags, parse_str, pos};

    #[test]
    fn discovery_is_off_by_default_and_parsed_per_node() {
        let s = parse_str(GOOD).expect("valid");
        assert!(!s.discovery.mdns && !s.discovery.dht_on());
        let text =
            format!("{GOOD}\n[discovery]\nmdns = true\nlookups = \"2/s\"\nprovides = \"6/m\"\n");
        let s = parse_str(&text).expect("valid");
        assert!(s.discovery.mdns);
        assert_eq!(s.discovery.lookups_per_sec, 2.0);
        assert_eq!(s.discovery.provides_per_sec, 0.1);
        assert_eq!(s.discovery.dht().lookups_per_min, 120.0);
    }

    #[test]
    fn bad_rates_are_located() {
        let text = format!("{GOOD}\n[discovery]\nlookups = \"100/s\"\nprovides = \"often\"\n");
        let d = diags(&text);
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["discovery.lookups", "discovery.provides"], "{d:?}");
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"100/s\""));
        assert!(d[0].message.contains("10 a second"), "{}", d[0]);
        assert_eq!((d[1].line, d[1].column), pos(&text, "\"often\""));
        let d = diags(&format!("{GOOD}\n[discovery]\nmdns = \"yes\"\n"));
        assert_eq!(d[0].field, "discovery.mdns", "{d:?}");
        let d = diags(&format!("{GOOD}\n[discovery]\nlookup = \"1/s\"\n"));
        assert_eq!(d[0].field, "discovery.lookup", "{d:?}");
    }

    #[test]
    fn discovery_targets_are_parsed_and_bounded() {
        let text = GOOD.replace(
            "link_error = 0.1",
            "link_error = 0.1\ndht_p95 = \"500ms\"\ndht_success = 0.99\ndht_qps = 25\nmdns_p95 = \"5s\"\njoin_p95 = \"1s\"",
        );
        let t = parse_str(&text).expect("valid").targets;
        assert_eq!(t.dht_p95, Some(Duration::from_millis(500)));
        assert_eq!(t.dht_success, Some(0.99));
        assert_eq!(t.dht_qps, Some(25.0));
        assert_eq!(t.mdns_p95, Some(Duration::from_secs(5)));
        assert_eq!(t.join_p95, Some(Duration::from_secs(1)));

        let text = GOOD.replace(
            "link_error = 0.1",
            "link_error = 0.1\ndht_p95 = \"0s\"\ndht_success = 1.5\ndht_qps = -1.0\nmdns_p95 = \"2h\"\njoin_p95 = \"soon\"",
        );
        let d = diags(&text);
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "targets.dht_p95",
                "targets.mdns_p95",
                "targets.join_p95",
                "targets.dht_success",
                "targets.dht_qps"
            ],
            "{d:?}"
        );
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"0s\""));
        assert_eq!((d[3].line, d[3].column), pos(&text, "1.5"));
        assert_eq!((d[4].line, d[4].column), pos(&text, "-1.0"));
    }
}
