//! `[[groups]]`: ids, counts, ML-DSA levels, regions, the node total and at least one
//! honest group.

use std::collections::BTreeSet;

use super::Validator;
use crate::scenario::doc::FieldPath;
use crate::scenario::matrix::Matrix;
use crate::scenario::raw::RawGroup;
use crate::scenario::{Group, MAX_NODES};

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
        Group {
            id: g.id.clone(),
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
    use crate::scenario::fixture::{GOOD, diags, pos};

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
}
