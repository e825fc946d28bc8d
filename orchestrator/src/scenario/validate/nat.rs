//! `[[groups]] nat` and `nat_group`: a shared NAT is named like a group and has one type,
//! routers and the nodes behind one are bounded by their private addressing, and NATed
//! nodes need a public honest node to relay them.

use std::collections::BTreeMap;

use super::Validator;
use super::groups::is_id;
use crate::scenario::doc::FieldPath;
use crate::scenario::nat::{MAX_NAT_ROUTERS, MAX_NODES_BEHIND_ONE_NAT};
use crate::scenario::{Group, NatType};

impl Validator<'_, '_> {
    /// The NAT fields of every group (already built from the file, in file order).
    pub(super) fn nats(&mut self, groups: &[Group]) {
        let at = FieldPath::root("groups");
        // Each shared NAT: its type, its first group, and the nodes behind it.
        let mut shared: BTreeMap<&str, (NatType, usize, usize)> = BTreeMap::new();
        let mut routers: usize = 0;
        for (i, g) in groups.iter().enumerate() {
            let gp = at.index(i);
            let Some(name) = g.nat_group.as_deref() else {
                if g.nat.is_nated() {
                    routers = routers.saturating_add(g.count);
                }
                continue;
            };
            if !g.nat.is_nated() {
                self.err(
                    &gp.key("nat_group"),
                    "puts nodes behind a shared NAT: give the group a `nat` type other than \"none\"",
                );
                continue;
            }
            if !is_id(name) {
                self.err(
                    &gp.key("nat_group"),
                    "must be 1-32 lowercase letters, digits or `-`, starting with a letter",
                );
            }
            match shared.get_mut(name) {
                None => {
                    routers = routers.saturating_add(1);
                    shared.insert(name, (g.nat, i, g.count));
                }
                Some((nat, first, nodes)) => {
                    if *nat != g.nat {
                        let (nat, first) = (*nat, *first);
                        self.err(
                            &gp.key("nat"),
                            format!(
                                "is \"{}\", but nat_group `{name}` is \"{nat}\" in groups[{first}]: one shared NAT has one type",
                                g.nat
                            ),
                        );
                    }
                    *nodes = nodes.saturating_add(g.count);
                }
            }
        }
        for (name, (_, first, nodes)) in &shared {
            if *nodes > MAX_NODES_BEHIND_ONE_NAT {
                self.err(
                    &at.index(*first).key("nat_group"),
                    format!(
                        "puts {nodes} nodes behind nat_group `{name}`; at most {MAX_NODES_BEHIND_ONE_NAT} fit one NAT's private network (a /24)"
                    ),
                );
            }
        }
        if routers > MAX_NAT_ROUTERS {
            let first = groups.iter().position(|g| g.nat.is_nated()).unwrap_or(0);
            self.err(
                &at.index(first).key("nat"),
                format!(
                    "needs {routers} NAT routers (one a node without nat_group, one a nat_group); at most {MAX_NAT_ROUTERS} fit a run (a /24 each in the NATs' /16): share routers with nat_group"
                ),
            );
        }
        let relays = groups
            .iter()
            .any(|g| g.role.is_honest() && !g.nat.is_nated());
        if let Some(first) = groups.iter().position(|g| g.nat.is_nated())
            && !relays
        {
            self.err(
                &at.index(first).key("nat"),
                "NATed nodes reach the others through public nodes (their relays): add an honest group with nat = \"none\"",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::NatType;
    use crate::scenario::fixture::{GOOD, diags, parse_str, pos};

    /// `GOOD` with these lines added to its first (honest, public) group, and a second
    /// honest group `extra` written out.
    fn with(first: &str, extra: &str) -> String {
        GOOD.replace("count = 10\n", &format!("count = 10\n{first}"))
            .replace(
                "[traffic]",
                &format!("[[groups]]\nid = \"extra\"\ncount = 4\n{extra}\n[traffic]"),
            )
    }

    #[test]
    fn nat_types_parse_and_default_to_none() {
        let s = parse_str(GOOD).expect("valid");
        assert!(s.groups.iter().all(|g| g.nat == NatType::None));
        let s = parse_str(&with("", "nat = \"symmetric\"\nnat_group = \"cg\"\n")).expect("valid");
        assert_eq!(s.groups[2].nat, NatType::Symmetric);
        assert_eq!(s.groups[2].nat_group.as_deref(), Some("cg"));
    }

    #[test]
    fn an_unknown_type_is_located() {
        let text = with("", "nat = \"cone\"\n");
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "groups[2].nat");
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"cone\""));
        assert!(d[0].message.contains("port-restricted"), "{}", d[0]);
    }

    #[test]
    fn a_nat_group_needs_a_nat_a_name_and_one_type() {
        let text = with("nat_group = \"cg\"\n", "");
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "groups[0].nat_group");
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"cg\""));

        let text = with("", "nat = \"full-cone\"\nnat_group = \"CG 1\"\n");
        let d = diags(&text);
        assert_eq!(d[0].field, "groups[2].nat_group");
        assert!(d[0].message.contains("lowercase"), "{}", d[0]);

        let text = GOOD.replace(
            "[traffic]",
            "[[groups]]\nid = \"a\"\ncount = 2\nnat = \"full-cone\"\nnat_group = \"cg\"\n\
             [[groups]]\nid = \"b\"\ncount = 2\nnat = \"symmetric\"\nnat_group = \"cg\"\n[traffic]",
        );
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "groups[3].nat");
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"symmetric\""));
        assert!(d[0].message.contains("groups[2]"), "{}", d[0]);
    }

    #[test]
    fn routers_and_shared_nats_are_bounded() {
        let text = with("", "nat = \"port-restricted\"\nnat_group = \"cg\"\n")
            .replace("count = 4\n", "count = 251\n");
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "groups[2].nat_group");
        assert!(d[0].message.contains("at most 250"), "{}", d[0]);

        let text = with("", "nat = \"port-restricted\"\n").replace("count = 4\n", "count = 251\n");
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "groups[2].nat");
        assert!(d[0].message.contains("251 NAT routers"), "{}", d[0]);
    }

    #[test]
    fn nated_nodes_need_a_public_honest_relay() {
        let text = with("nat = \"full-cone\"\n", "nat = \"symmetric\"\n");
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "groups[0].nat");
        assert!(
            d[0].message.contains("nat = \\\"none\\\"") || d[0].message.contains("nat = \"none\""),
            "{}",
            d[0]
        );
    }
}
