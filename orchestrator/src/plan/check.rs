//! The safety net under the scenario's own rules: every node's configuration, as the plan
//! writes it, checked with the node's own rules (`lab_config::NodeConfig::check`), so that
//! `validate` never passes a scenario whose nodes would refuse their configuration.

use std::path::Path;

use lab_config::doc::FieldPath;

use super::{Subnet, plan};
use crate::error::Error;
use crate::scenario::{self, Scenario};

/// Loads a scenario (see [`scenario::load`]) and checks every planned node's
/// configuration.
pub fn load(path: &Path) -> Result<Scenario, Error> {
    scenario::load(path, &node_problem)
}

/// Parses scenario text (see [`scenario::parse`]) and checks every planned node's
/// configuration.
pub fn parse(path: &Path, text: &str, netem_dir: &Path) -> Result<Scenario, Error> {
    scenario::parse_with(path, text, netem_dir, &node_problem)
}

/// The first node that would refuse its configuration, reported at the scenario field its
/// problem comes from.
pub fn node_problem(s: &Scenario) -> Option<(FieldPath, String)> {
    let plan = plan(s, Subnet::DEFAULT);
    plan.nodes.iter().find_map(|n| {
        let p = n.node_config(Some(0)).check().into_iter().next()?;
        let node_field = p.field.to_string();
        let field = match node_field.split(['.', '[']).next().unwrap_or_default() {
            "topic" => FieldPath::root("traffic").key("topic"),
            "traffic" => FieldPath::root("traffic"),
            "gossipsub" => FieldPath::root("gossipsub").join(&p.field.tail()),
            _ => FieldPath::root("groups"),
        };
        Some((
            field,
            format!(
                "node {} would refuse its configuration: field `{node_field}`: {}",
                n.name, p.message
            ),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let mut n = 0;
        let entries = std::fs::read_dir(&dir)
            .expect("scenarios dir")
            .chain(std::fs::read_dir(dir.join("attacks")).expect("scenarios/attacks dir"));
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                if let Err(e) = load(&path) {
                    panic!("{} does not validate: {e}", path.display());
                }
                n += 1;
            }
        }
        assert!(n >= 4, "expected the shipped scenarios, found {n}");
    }
}
