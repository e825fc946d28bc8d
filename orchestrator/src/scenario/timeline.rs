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
//! at = "60s"
//! churn = { group = "honest", fraction = 0.1, for = "120s", down = "10s" }
//! # this share (or `count`) of the group leaves and rejoins per virtual minute, over `for`
//! [[timeline]]
//! at = "30s"
//! attack = { group = "flash", start = true }    # the group's role acts from now on
//! [[timeline]]
//! at = "60s"
//! attack = { group = "flash", stop = true }     # honest again
//! [[timeline]]
//! at = "20s"
//! link = { group = "honest", fraction = 0.2, delay = "125ms", loss = 0.2, for = "15s" }
//! # these nodes' links (both ways) take this shape for `for`, then the run's again
//! ```
//!
//! A churn ([`Churn`]) spreads `ceil(rate × for / 1 min)` leaves evenly over its span
//! (`rate` the fraction × the group's size, or the count); each leave kills one running
//! node of the group (SIGKILL) and restarts it, same identity and address, `down` later
//! (default [`DEFAULT_DOWN`], at most [`MAX_DOWN`]). It ends once its last node rejoined.
//! Its steps ([`Timeline::steps`]) interleave with the other events.
//!
//! A group with an `attack` start boots dormant (`NodeConfig::dormant`): it behaves
//! honestly until its first start; the group must have a non-honest role, every node of it
//! is switched, and the starts and stops of a group alternate, beginning with a start.
//!
//! A link change ([`LinkChange`]) gives the selected nodes of a group another link, both
//! ways, for its span: every packet they receive and every packet they send is delayed
//! (± jitter) and dropped as its shape says, whatever the run's links are; the run's own
//! random loss, if its link has any, still applies to what they send. Fields left out keep
//! the run's `[network.link]` value. One change of a group is in force at a time.
//!
//! Which nodes a selector or a leave takes is drawn from the scenario seed ([`pick`],
//! [`pick_leave`]); the rules a plan must follow are in `validate::timeline`.

use std::time::Duration;

use lab_config::LinkShape;
use serde::Serialize;

use super::units::duration_str;

/// The most `[[timeline]]` entries a scenario may have.
pub const MAX_ENTRIES: usize = 1000;

/// A churn's `down` when not given.
pub const DEFAULT_DOWN: Duration = Duration::from_secs(10);

/// The longest `down` of a churn.
pub const MAX_DOWN: Duration = Duration::from_secs(600);

/// The most leaves one churn may schedule.
pub const MAX_LEAVES: usize = 1000;

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
            .any(|e| matches!(e.action, Action::Restart(_) | Action::Churn(_)))
    }

    /// Whether some event changes links at run time (the shaper must then follow).
    pub fn changes_links(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e.action, Action::Link(_)))
    }

    /// Every step to carry out, in time order: each event as itself, and a churn also as
    /// its leaves, rejoins and end (equal times keep this order: the event, then its steps
    /// by leave, an end after its last rejoin), and a link change also as its end (the
    /// links restored). `size` gives a group's node count.
    pub fn steps(&self, size: impl Fn(&str) -> usize) -> Vec<Step> {
        let mut out = Vec::new();
        for (event, fault) in self.events.iter().enumerate() {
            out.push(Step {
                at: fault.at,
                event,
                kind: StepKind::Act,
            });
            if let Action::Link(l) = &fault.action {
                out.push(Step {
                    at: fault.at + l.span,
                    event,
                    kind: StepKind::End,
                });
            }
            let Action::Churn(c) = &fault.action else {
                continue;
            };
            let mut end = fault.at;
            for (leave, t) in c.leave_times(size(&c.nodes.group)).into_iter().enumerate() {
                let (gone, back) = (fault.at + t, fault.at + t + c.down);
                end = end.max(back);
                out.push(Step {
                    at: gone,
                    event,
                    kind: StepKind::Leave(leave),
                });
                out.push(Step {
                    at: back,
                    event,
                    kind: StepKind::Join(leave),
                });
            }
            out.push(Step {
                at: end,
                event,
                kind: StepKind::End,
            });
        }
        out.sort_by_key(|s| s.at);
        out
    }
}

/// One step of the timeline as played.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Virtual time after the measurement window starts.
    pub at: Duration,
    /// The index of its event in [`Timeline::events`].
    pub event: usize,
    /// What it does.
    pub kind: StepKind,
}

/// What a [`Step`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// The event's action (for a churn: its start).
    Act,
    /// A churn's leave number `n`: one running node of its group is killed.
    Leave(usize),
    /// The node of leave number `n` starts again.
    Join(usize),
    /// The churn's last node has rejoined; the link change's span is over.
    End,
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
    /// Nodes of a group leave (SIGKILL) and rejoin (restart) over a span.
    Churn(Churn),
    /// The running nodes of the group (its id) act their role from now on.
    AttackStart(String),
    /// The running nodes of the group (its id) behave honestly again.
    AttackStop(String),
    /// Some nodes of a group have another link, both ways, for a span.
    Link(LinkChange),
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
            Action::Churn(_) => "churn",
            Action::AttackStart(_) => "attack-start",
            Action::AttackStop(_) => "attack-stop",
            Action::Link(_) => LINK,
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

/// The name of a link change, and of its record.
pub const LINK: &str = "link";

/// The record of a link change's end (the nodes' links restored).
pub const LINK_RESTORE: &str = "link-restore";

/// `link = { group, fraction | count, delay, jitter, loss, for }`: the selected nodes' links,
/// both ways, have `shape` (virtual time) for `span`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkChange {
    /// The group and how many of its nodes.
    pub nodes: Selector,
    /// Their link meanwhile (no rate limit).
    pub shape: LinkShape,
    /// How long (`for`).
    #[serde(with = "duration_str")]
    pub span: Duration,
}

/// `churn = { group, fraction | count, for, down }`: per virtual minute, this many nodes
/// of the group leave and rejoin `down` later, over `span`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Churn {
    /// The group, and its share (or count) leaving per virtual minute.
    pub nodes: Selector,
    /// How long leaves keep coming (`for`).
    #[serde(with = "duration_str")]
    pub span: Duration,
    /// How long each leaving node stays down.
    #[serde(with = "duration_str")]
    pub down: Duration,
}

impl Churn {
    /// How many leaves the span holds in a group of `size` nodes: the rate per minute
    /// (a fraction of `size`, unrounded, or the count) over the span, rounded up, at least 1.
    pub fn leaves(&self, size: usize) -> usize {
        let per_minute = match self.nodes.amount {
            Amount::Fraction(f) => f * size as f64,
            Amount::Count(n) => n as f64,
        };
        // Less a hair, so that float noise (0.1 × 35 × 2 = 7.000…01) does not round up.
        let n = (per_minute * self.span.as_secs_f64() / 60.0 - 1e-9).ceil();
        if n.is_finite() && n >= 1.0 {
            n.min(usize::MAX as f64) as usize
        } else {
            1
        }
    }

    /// Each leave's time after the churn starts: spread evenly over the span, the first
    /// at its start.
    pub fn leave_times(&self, size: usize) -> Vec<Duration> {
        let n = self.leaves(size).min(MAX_LEAVES);
        (0..n)
            .map(|i| self.span.mul_f64(i as f64 / n as f64))
            .collect()
    }
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
    draw(&[seed, index as u64], candidates, n)
}

/// The node of `candidates` that leave number `leave` of the churn at `index` takes,
/// drawn like [`pick`]; `None` without candidates.
pub fn pick_leave(seed: u64, index: usize, leave: usize, candidates: &[String]) -> Option<String> {
    draw(&[seed, index as u64, leave as u64], candidates, 1).pop()
}

/// The `n` candidates whose BLAKE3 hashes under `key` are lowest, sorted by name.
fn draw(key: &[u64], candidates: &[String], n: usize) -> Vec<String> {
    let mut keyed: Vec<([u8; 32], &String)> = candidates
        .iter()
        .map(|name| {
            let mut h = blake3::Hasher::new();
            for k in key {
                h.update(&k.to_le_bytes());
            }
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
        let leaves: Vec<Option<String>> = (0..4).map(|j| pick_leave(7, 2, j, &names)).collect();
        assert!(
            leaves
                .iter()
                .all(|l| l.as_ref().is_some_and(|n| names.contains(n)))
        );
        assert!(leaves.windows(2).any(|w| w[0] != w[1]), "{leaves:?}");
        assert_eq!(pick_leave(7, 2, 0, &[]), None);
    }

    fn churn(amount: Amount, span: u64, down: u64) -> Churn {
        Churn {
            nodes: Selector {
                group: "honest".into(),
                amount,
            },
            span: Duration::from_secs(span),
            down: Duration::from_secs(down),
        }
    }

    #[test]
    fn a_churn_spreads_its_rate_per_minute_over_its_span() {
        // 10 % of 35 nodes a minute for two minutes: 7 leaves, one every 120/7 s.
        let c = churn(Amount::Fraction(0.1), 120, 10);
        assert_eq!(c.leaves(35), 7);
        let t = c.leave_times(35);
        assert_eq!(t.len(), 7);
        assert_eq!(t[0], Duration::ZERO);
        assert_eq!(t[1], Duration::from_secs(120).mul_f64(1.0 / 7.0));
        assert!(t[6] < Duration::from_secs(120));
        assert_eq!(churn(Amount::Count(2), 30, 5).leaves(10), 1);
        assert_eq!(churn(Amount::Count(3), 90, 5).leaves(10), 5);
    }

    #[test]
    fn steps_interleave_a_churn_with_the_other_events() {
        let t = Timeline {
            events: vec![
                Fault {
                    at: Duration::from_secs(10),
                    action: Action::Churn(churn(Amount::Count(2), 60, 15)),
                },
                Fault {
                    at: Duration::from_secs(20),
                    action: Action::Heal,
                },
            ],
        };
        let got: Vec<(u64, usize, StepKind)> = t
            .steps(|_| 10)
            .iter()
            .map(|s| (s.at.as_secs(), s.event, s.kind))
            .collect();
        assert_eq!(
            got,
            [
                (10, 0, StepKind::Act),
                (10, 0, StepKind::Leave(0)),
                (20, 1, StepKind::Act),
                (25, 0, StepKind::Join(0)),
                (40, 0, StepKind::Leave(1)),
                (55, 0, StepKind::Join(1)),
                (55, 0, StepKind::End),
            ]
        );
        assert!(t.restarts());
    }
}
