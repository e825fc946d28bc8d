//! `security`: each group's key exchange (its own, else `[network] security`), and the
//! rule that `pq-only` nodes run no QUIC, so that no group may dial over QUIC in a
//! scenario that has them (a QUIC dial to a pq-only node cannot succeed).

use super::Validator;
use crate::scenario::doc::FieldPath;
use crate::scenario::raw::RawGroup;
use crate::scenario::{Group, Security, Transport};

impl Validator<'_, '_> {
    /// Sets every group's security from `raw` over `network`, and checks the transports.
    pub(super) fn security(&mut self, raw: &[RawGroup], network: Security, groups: &mut [Group]) {
        for (g, r) in groups.iter_mut().zip(raw) {
            g.security = r.security.unwrap_or(network);
        }
        let Some(pq) = groups.iter().find(|g| !g.security.allows_quic()) else {
            return;
        };
        let pq = pq.id.clone();
        for (i, g) in groups.iter().enumerate() {
            if g.transport == Transport::Quic {
                self.err(
                    &FieldPath::root("groups").index(i).key("transport"),
                    format!(
                        "cannot be `quic` while group `{pq}` is `security = \"pq-only\"`: pq-only nodes run no QUIC (libp2p-quic's key exchange cannot be pinned to X25519MLKEM768)"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::Security;
    use crate::scenario::fixture::{GOOD, diags, parse_str, pos};

    #[test]
    fn groups_take_the_network_security_unless_they_name_their_own() {
        let s = parse_str(GOOD).expect("valid");
        assert!(s.groups.iter().all(|g| g.security == Security::Hybrid));
        let text = GOOD
            .replace(
                "shaper = \"auto\"",
                "shaper = \"auto\"\nsecurity = \"classical\"",
            )
            .replace("id = \"evil\"", "id = \"evil\"\nsecurity = \"hybrid\"");
        let s = parse_str(&text).expect("valid");
        assert_eq!(s.network.security, Security::Classical);
        let by_id = |id: &str| {
            s.groups
                .iter()
                .find(|g| g.id == id)
                .expect("group")
                .security
        };
        assert_eq!(by_id("honest"), Security::Classical);
        assert_eq!(by_id("evil"), Security::Hybrid);
    }

    #[test]
    fn an_unknown_security_is_located_and_named() {
        let text = GOOD.replace(
            "shaper = \"auto\"",
            "shaper = \"auto\"\nsecurity = \"quantum\"",
        );
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "network.security", "{}", d[0]);
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"quantum\""));
        assert!(d[0].message.contains("pq-only"), "{}", d[0]);
        let text = GOOD.replace("id = \"evil\"", "id = \"evil\"\nsecurity = \"pq_only\"");
        let d = diags(&text);
        assert_eq!(d[0].field, "groups[1].security", "{}", d[0]);
    }

    #[test]
    fn pq_only_forbids_quic_groups() {
        let text = GOOD.replace("id = \"honest\"", "id = \"honest\"\nsecurity = \"pq-only\"");
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "groups[1].transport", "{}", d[0]);
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"quic\""));
        assert!(d[0].message.contains("`honest`"), "{}", d[0]);
    }

    #[test]
    fn handshake_targets_are_durations_in_order() {
        let text = GOOD.replace(
            "delivery = 0.99",
            "delivery = 0.99\nhandshake_p95 = \"2s\"\nhandshake_p99 = \"1s\"",
        );
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "targets.handshake_p99");
        assert!(d[0].message.contains("handshake_p95"), "{}", d[0]);
        let text = GOOD.replace(
            "delivery = 0.99",
            "delivery = 0.99\nhandshake_p99 = \"fast\"",
        );
        assert_eq!(diags(&text)[0].field, "targets.handshake_p99");
        let text = GOOD.replace("delivery = 0.99", "delivery = 0.99\nhandshake_p99 = \"1s\"");
        let s = parse_str(&text).expect("valid");
        assert_eq!(
            s.targets.handshake_p99,
            Some(std::time::Duration::from_secs(1))
        );
    }
}
