//! The fault timeline (`[[timeline]]`), validated: what happens to the network and to which
//! nodes at each virtual time of the measurement window.
//!
//! ```toml
//! [[timeline]]
//! at = "20s"                                # virtual time after the window starts
//! partition = [["g1", "g2"], ["g3"]]        # two sides of group ids; groups not named
//!                                           # keep every link
//! for = "15s"                               # heals by itself (or a later `heal = true`)
//! [[timeline]]
//! at = "40s"
//! kill = { group = "honest", fraction = 0.1 }   # SIGKILL (or `count = 3`)
//! [[timeline]]
//! at = "50s"
//! restart = { group = "honest", count = 3 }     # the killed ones, same identity and address
//! # pause / unpause = { group, fraction | count }: frozen processes (the engine's pause)
//! [[timeline]]
//! at = "30s"
//! attack = { group = "flash", start = true }    # the group's role acts from now on
//! [[timeline]]
//! at = "60s"
//! attack = { group = "flash", stop = true }     # honest again
//! ```
//!
//! A group with an `attack` start boots dormant (`NodeConfig::dormant`): it behaves
//! honestly until its first start; the group must have a non-honest role, every node of it
//! is switched, and the starts and stops of a group alternate, beginning with a start.
//!
//! Which nodes a selector takes is drawn from the scenario seed ([`pick`]); the rules a
//! plan must follow are in `validate::timeline`.

use std::time::Duration;

use serde::Serialize;

use super::units::duration_str;

/// The most `[[timeline]]` entries a scenario may have.
pub const MAX_ENTRIES: usize = 1000;

/// Every fault of a run, in time order (a partition's `for` is its own `Heal`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    /// The events, sorted by time (file order among equal times).
    pub events: Vec<Fault>,
}

impl Timeline {
    /// Whether the run injects no fault.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether `group`'s role is started by the timeline (its nodes then boot dormant).
    pub fn dormant(&self, group: &str) -> bool {
        self.events
            .iter()
            .any(|e| matches!(&e.action, Action::AttackStart(g) if g == group))
    }

    /// Whether some event restarts killed nodes (their identity must then survive).
    pub fn restarts(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e.action, Action::Restart(_)))
    }
}

/// One event of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fault {
    /// Virtual time after the measurement window starts.
    #[serde(with = "duration_str")]
    pub at: Duration,
    /// What happens.
    pub action: Action,
}

/// What a timeline event does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Traffic between the two sides (each a list of group ids) is dropped both ways.
    Partition(Vec<String>, Vec<String>),
    /// The open partition ends.
    Heal,
    /// The selected running nodes are killed (SIGKILL).
    Kill(Selector),
    /// The selected killed nodes start again, same identity and address.
    Restart(Selector),
    /// The selected running nodes are frozen.
    Pause(Selector),
    /// The selected frozen nodes run again.
    Unpause(Selector),
    /// The running nodes of the group (its id) act their role from now on.
    AttackStart(String),
    /// The running nodes of the group (its id) behave honestly again.
    AttackStop(String),
}

impl Action {
    /// The action's name as written (`partition`, `kill`, …; `attack-start` and
    /// `attack-stop` for the two kinds of `attack`).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Partition(..) => "partition",
            Action::Heal => "heal",
            Action::Kill(_) => "kill",
            Action::Restart(_) => "restart",
            Action::Pause(_) => "pause",
            Action::Unpause(_) => "unpause",
            Action::AttackStart(_) => "attack-start",
            Action::AttackStop(_) => "attack-stop",
        }
    }
}

/// Some nodes of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selector {
    /// The group id.
    pub group: String,
    /// How many of its nodes.
    pub amount: Amount,
}

/// How many nodes a selector takes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Amount {
    /// This share of the group's nodes, rounded up (in (0, 1]).
    Fraction(f64),
    /// This many nodes.
    Count(usize),
}

impl Amount {
    /// The number of nodes of a group of `size` nodes this amount names (at least one).
    pub fn of(self, size: usize) -> usize {
        match self {
            Amount::Fraction(f) => ((f * size as f64).ceil() as usize).clamp(1, size.max(1)),
            Amount::Count(n) => n,
        }
    }
}

/// `n` of `candidates` (node names), drawn from `seed` and the event's `index` in the
/// timeline: the same scenario picks the same nodes in every run. Fewer when there are
/// fewer candidates.
pub fn pick(seed: u64, index: usize, candidates: &[String], n: usize) -> Vec<String> {
    let mut keyed: Vec<([u8; 32], &String)> = candidates
        .iter()
        .map(|name| {
            let mut h = blake3::Hasher::new();
            h.update(&seed.to_le_bytes());
            h.update(&(index as u64).to_le_bytes());
            h.update(name.as_bytes());
            (*h.finalize().as_bytes(), name)
        })
        .collect();
    keyed.sort();
    let mut picked: Vec<String> = keyed.into_iter().take(n).map(|(_, s)| s.clone()).collect();
    picked.sort();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_round_up_and_picks_are_deterministic() {
        assert_eq!(Amount::Fraction(0.1).of(30), 3);
        assert_eq!(Amount::Fraction(0.01).of(30), 1);
        assert_eq!(Amount::Fraction(1.0).of(30), 30);
        assert_eq!(Amount::Count(4).of(30), 4);
        let names: Vec<String> = (0..30).map(|i| format!("honest-{i}")).collect();
        let a = pick(7, 2, &names, 5);
        assert_eq!(a.len(), 5);
        assert_eq!(a, pick(7, 2, &names, 5));
        assert_ne!(a, pick(8, 2, &names, 5));
        assert!(a.iter().all(|n| names.contains(n)));
        assert_eq!(pick(7, 2, &names[..2], 5).len(), 2);
    }
}
