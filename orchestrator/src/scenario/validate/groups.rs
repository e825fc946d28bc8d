//! `[[groups]]`: ids, counts, ML-DSA levels, regions, the node total, at least one
//! honest group, and the crowding roles' keys (`sybil_identities`, `victim`).

use std::collections::BTreeSet;

use super::Validator;
use crate::scenario::doc::FieldPath;
use crate::scenario::matrix::Matrix;
use crate::scenario::raw::RawGroup;
use crate::scenario::{Group, MAX_NODES, Role};
use lab_config::{DEFAULT_SYBIL_IDENTITIES, MAX_SYBIL_IDENTITIES};

/// Whether `id` has the form of a group id (and of a `nat_group`): 1-32 lowercase letters,
/// digits or `-`, starting with a letter.
pub(super) fn is_id(id: &str) -> bool {
    id.len() <= 32
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Validator<'_, '_> {
    /// Every group, in file order; ids must be unique and the total must fit one run.
    /// With a region `matrix`, every group names one of its regions.
    pub(super) fn groups(&mut self, raw: &[RawGroup], matrix: Option<&Matrix>) -> Vec<Group> {
        let at = FieldPath::root("groups");
        if raw.is_empty() {
            self.err(&at, "must list at least one group");
        }
        let mut seen = BTreeSet::new();
        let mut total: usize = 0;
        let mut groups = Vec::with_capacity(raw.len());
        for (i, g) in raw.iter().enumerate() {
            let gp = at.index(i);
            self.group_id(&gp, &g.id, &mut seen);
            let mut group = self.group(&gp, g);
            group.region = self.region(&gp, g.region.as_deref(), matrix);
            if matrix.is_some() && group.nat.is_nated() {
                // The shaper knows a sender's region by its address; behind a NAT that is
                // the router's, which the regions file does not list yet.
                self.err(
                    &gp.key("nat"),
                    "cannot be combined with `[network] matrix` yet: the shaper would not know the region of packets a NAT router sends; place NATed nodes on one link profile",
                );
            }
            total = total.saturating_add(group.count);
            groups.push(group);
        }
        if total > MAX_NODES {
            self.err(
                &at,
                format!(
                    "{total} nodes in all; at most {MAX_NODES} fit one run (one host's memory and neighbour table; `orchestrator doctor` tells what this host carries)"
                ),
            );
        }
        if !raw.is_empty() && !groups.iter().any(|g| g.role.is_honest()) {
            self.err(&at, "must include at least one honest group");
        }
        self.victims(&at, &groups);
        self.nats(&groups);
        groups
    }

    /// The id of the group at `gp`: its form, and that no earlier group (in `seen`) has it.
    fn group_id<'r>(&mut self, gp: &FieldPath, id: &'r str, seen: &mut BTreeSet<&'r str>) {
        if !is_id(id) {
            self.err(
                &gp.key("id"),
                "must be 1-32 lowercase letters, digits or `-`, starting with a letter",
            );
        }
        if !seen.insert(id) {
            self.err(&gp.key("id"), format!("duplicate group id `{id}`"));
        }
    }

    /// The group at `gp` (its id checked apart): a count of 0 and level 87 stand in for
    /// rejected values.
    fn group(&mut self, gp: &FieldPath, g: &RawGroup) -> Group {
        let count = match usize::try_from(g.count) {
            Ok(c) if c > 0 => c,
            _ => {
                self.err(
                    &gp.key("count"),
                    format!("must be positive, got {}", g.count),
                );
                0
            }
        };
        let level = g.mldsa_level.unwrap_or(87);
        let mldsa_level = match level {
            44 | 65 | 87 => level as u16,
            _ => {
                self.err(
                    &gp.key("mldsa_level"),
                    format!("must be 44, 65 or 87, got {level}"),
                );
                87
            }
        };
        let sybil_identities = self.sybil_identities(gp, g);
        let victim = match (&g.victim, g.role) {
            (None, Role::Eclipse) => {
                self.err(
                    gp,
                    "is an `eclipse` group: it must name its `victim`, a group of one honest node",
                );
                None
            }
            (Some(_), role) if role != Role::Eclipse => {
                self.err(
                    &gp.key("victim"),
                    format!(
                        "is for `eclipse` groups only; this group's role is `{}`",
                        role.name()
                    ),
                );
                None
            }
            (v, _) => v.clone(),
        };
        Group {
            id: g.id.clone(),
            sybil_identities,
            victim,
            count,
            role: g.role,
            transport: g.transport,
            mldsa_level,
            nat: g.nat,
            nat_group: g.nat_group.clone(),
            region: None,
            // Resolved against the network's by `Validator::security`.
            security: g.security.unwrap_or_default(),
        }
    }

    /// A `sybil` group's identities a node besides its own (default
    /// [`DEFAULT_SYBIL_IDENTITIES`]); 0 for other roles, where the key is an error.
    fn sybil_identities(&mut self, gp: &FieldPath, g: &RawGroup) -> u16 {
        let at = gp.key("sybil_identities");
        match (g.sybil_identities, g.role) {
            (None, Role::Sybil) => DEFAULT_SYBIL_IDENTITIES,
            (None, _) => 0,
            (Some(_), role) if role != Role::Sybil => {
                self.err(
                    &at,
                    format!(
                        "is for `sybil` groups only; this group's role is `{}`",
                        role.name()
                    ),
                );
                0
            }
            (Some(n), _) => match u16::try_from(n) {
                Ok(n) if (1..=MAX_SYBIL_IDENTITIES).contains(&n) => n,
                _ => {
                    self.err(&at, format!("must be 1..={MAX_SYBIL_IDENTITIES}, got {n}"));
                    DEFAULT_SYBIL_IDENTITIES
                }
            },
        }
    }

    /// Every `victim` names a group of one honest node.
    fn victims(&mut self, at: &FieldPath, groups: &[Group]) {
        for (i, g) in groups.iter().enumerate() {
            let Some(v) = &g.victim else { continue };
            let field = at.index(i).key("victim");
            match groups.iter().find(|t| t.id == *v) {
                None => self.err(&field, format!("names no group: `{v}`")),
                Some(t) if !t.role.is_honest() || t.count != 1 => self.err(
                    &field,
                    format!(
                        "must name a group of one honest node; `{v}` has {} `{}` node{}",
                        t.count,
                        t.role.name(),
                        if t.count == 1 { "" } else { "s" }
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    /// The group's region: required with a matrix and one of its regions, refused without.
    fn region(
        &mut self,
        gp: &FieldPath,
        region: Option<&str>,
        matrix: Option<&Matrix>,
    ) -> Option<String> {
        match (region, matrix) {
            (None, None) => None,
            (Some(_), None) => {
                self.err(
                    &gp.key("region"),
                    "needs `[network] matrix` (the links between regions) to place nodes in a region",
                );
                None
            }
            (None, Some(m)) => {
                self.err(
                    gp,
                    format!(
                        "must name its `region` (the network's matrix `{}` has {})",
                        m.name,
                        m.links.regions.join(", ")
                    ),
                );
                None
            }
            (Some(r), Some(m)) if m.links.index(r).is_none() => {
                self.err(
                    &gp.key("region"),
                    format!(
                        "`{r}` is not a region of matrix `{}` ({})",
                        m.name,
                        m.links.regions.join(", ")
                    ),
                );
                None
            }
            (Some(r), Some(_)) => Some(r.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::fixture::{GOOD, diags, parse_str, pos};

    #[test]
    fn non_positive_counts_are_all_reported() {
        let text = GOOD
            .replace("count = 10", "count = 0")
            .replace("count = 2", "count = -3");
        let d = diags(&text);
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert!(fields.contains(&"groups[0].count"), "{d:?}");
        assert!(fields.contains(&"groups[1].count"), "{d:?}");
        let c0 = d.iter().find(|d| d.field == "groups[0].count").expect("c0");
        assert_eq!((c0.line, c0.column), pos(&text, "0\n"));
        assert!(c0.message.contains("must be positive"), "{c0}");
    }

    const CROWD: &str = "[scenario]\nname = \"c\"\nseed = 1\nduration = \"10s\"\n\
        [[groups]]\nid = \"honest\"\ncount = 3\n\
        [[groups]]\nid = \"victim\"\ncount = 1\n\
        [[groups]]\nid = \"evil\"\ncount = 2\nrole = \"eclipse\"\nvictim = \"victim\"\n\
        [[groups]]\nid = \"many\"\ncount = 1\nrole = \"sybil\"\n\
        [traffic]\npublishers = 1\nrate = \"1/s\"\nsize = \"1KiB\"\n";

    #[test]
    fn crowding_keys_are_read_and_defaulted() {
        let s = parse_str(CROWD).expect("valid");
        assert_eq!(s.groups[2].victim.as_deref(), Some("victim"));
        assert_eq!(s.groups[3].sybil_identities, 8);
        assert_eq!(s.groups[0].sybil_identities, 0);
        assert_eq!(s.identity_count(), 3 + 1 + 2 + 9);
    }

    #[test]
    fn crowding_keys_are_checked_where_written() {
        let fields =
            |text: &str| -> Vec<String> { diags(text).into_iter().map(|d| d.field).collect() };
        assert_eq!(
            fields(&CROWD.replace("victim = \"victim\"", "victim = \"honest\"")),
            ["groups[2].victim"]
        );
        assert_eq!(
            fields(&CROWD.replace("victim = \"victim\"", "victim = \"nobody\"")),
            ["groups[2].victim"]
        );
        assert_eq!(
            fields(&CROWD.replace("victim = \"victim\"\n", "")),
            ["groups[2]"]
        );
        assert_eq!(
            fields(&CROWD.replace(
                "role = \"sybil\"",
                "role = \"sybil\"\nsybil_identities = 33"
            )),
            ["groups[3].sybil_identities"]
        );
        let d = diags(&CROWD.replace("count = 3\n", "count = 3\nsybil_identities = 2\n"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "groups[0].sybil_identities");
        assert_eq!(d[0].line, 8, "{}", d[0]);
    }
}
