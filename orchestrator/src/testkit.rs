//! Test fixtures shared by the stages' unit tests: small valid scenarios and their plans.

use std::path::Path;

use crate::plan::{Plan, Subnet, plan};
use crate::scenario::{self, Scenario};

/// A small valid scenario: `honest` honest nodes (group `honest_id`) and `evil`
/// invalid-signature nodes (group `evil_id`), 1 KiB messages.
#[derive(Debug, Clone)]
pub(crate) struct Small {
    pub(crate) name: &'static str,
    pub(crate) seed: u64,
    pub(crate) duration: &'static str,
    /// Empty for the scenario's default.
    pub(crate) warmup: &'static str,
    /// The `[network]` link as an inline table, e.g. `{ delay = "25ms" }`; empty for none.
    pub(crate) link: &'static str,
    pub(crate) honest_id: &'static str,
    pub(crate) honest: usize,
    pub(crate) evil_id: &'static str,
    pub(crate) evil: usize,
    pub(crate) publishers: usize,
    pub(crate) rate: &'static str,
    /// The `[targets]` table's lines; empty for none.
    pub(crate) targets: &'static str,
}

impl Default for Small {
    fn default() -> Self {
        Small {
            name: "test",
            seed: 1,
            duration: "20s",
            warmup: "5s",
            link: "",
            honest_id: "honest",
            honest: 4,
            evil_id: "evil",
            evil: 0,
            publishers: 1,
            rate: "1/s",
            targets: "",
        }
    }
}

impl Small {
    /// The scenario's TOML text.
    pub(crate) fn toml(&self) -> String {
        let mut t = format!(
            "[scenario]\nname = \"{}\"\nseed = {}\nduration = \"{}\"\n",
            self.name, self.seed, self.duration
        );
        if !self.warmup.is_empty() {
            t += &format!("warmup = \"{}\"\n", self.warmup);
        }
        if !self.link.is_empty() {
            t += &format!("[network]\nlink = {}\n", self.link);
        }
        t += &format!(
            "[[groups]]\nid = \"{}\"\ncount = {}\n",
            self.honest_id, self.honest
        );
        if self.evil > 0 {
            t += &format!(
                "[[groups]]\nid = \"{}\"\ncount = {}\nrole = \"invalid-signature\"\n",
                self.evil_id, self.evil
            );
        }
        t += &format!(
            "[traffic]\npublishers = {}\nrate = \"{}\"\nsize = \"1KiB\"\n",
            self.publishers, self.rate
        );
        if !self.targets.is_empty() {
            t += &format!("[targets]\n{}\n", self.targets);
        }
        t
    }

    /// The scenario, parsed and validated.
    pub(crate) fn scenario(&self) -> Scenario {
        parse(&self.toml())
    }

    /// Its plan in the default subnet.
    pub(crate) fn plan(&self) -> Plan {
        plan(&self.scenario(), Subnet::DEFAULT)
    }
}

/// A small scenario with NATs: 8 public nodes, 4 behind port-restricted NATs of their
/// own, and 6 (from two groups) behind one shared symmetric NAT.
pub(crate) const NATS: &str = r#"
[scenario]
name = "nat"
seed = 3
duration = "30s"
[[groups]]
id = "pub"
count = 8
[[groups]]
id = "home"
count = 4
nat = "port-restricted"
[[groups]]
id = "cg"
count = 4
nat = "symmetric"
nat_group = "carrier"
[[groups]]
id = "cg2"
count = 2
nat = "symmetric"
nat_group = "carrier"
[traffic]
publishers = 2
rate = "2/s"
size = "1KiB"
"#;

/// `text` as a valid scenario (panics with the diagnostics otherwise); profiles are not
/// looked up.
pub(crate) fn parse(text: &str) -> Scenario {
    match scenario::parse(Path::new("test.toml"), text, Path::new("/nonexistent")) {
        Ok(s) => s,
        Err(e) => panic!("the test scenario is invalid: {e}\n{text}"),
    }
}
