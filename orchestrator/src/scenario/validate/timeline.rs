//! `[[timeline]]`: each entry's time and its one action, then the plan as a whole played
//! in time order (a group that does not exist, a heal without an open partition, a
//! restart with nothing killed, a churn leave with no node running, …), every problem
//! located at its entry's field.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use lab_config::bounds::MAX_NODES;
use lab_config::num;

use super::Validator;
use crate::scenario::doc::FieldPath;
use crate::scenario::profile::{self, RawLink};
use crate::scenario::raw::{RawAttack, RawChurn, RawFault, RawLinkChange, RawSelector};
use crate::scenario::timeline::{
    Action, Amount, Churn, DEFAULT_DOWN, Fault, LinkChange, MAX_DOWN, MAX_ENTRIES, MAX_LEAVES,
    Selector, StepKind, Timeline,
};
use crate::scenario::{Group, Network, ShaperChoice, units};

/// One accepted event with the field it came from.
struct Placed {
    fault: Fault,
    /// The action's field (`…partition`, `…kill`), or `…for` for a heal by itself.
    field: FieldPath,
    /// A partition that heals by itself.
    heals_itself: bool,
}

/// Each group's nodes by state while the plan is played.
#[derive(Default, Clone, Copy)]
struct States {
    killed: usize,
    paused: usize,
    /// Down between a churn's leave and its rejoin.
    churned: usize,
}

impl Validator<'_, '_> {
    /// `[[timeline]]`, checked against the `groups` and the measurement `window`
    /// (`None` when the header is invalid: times are then not bounded by it).
    pub(super) fn timeline(
        &mut self,
        raw: &[RawFault],
        groups: &[Group],
        network: &Network,
        window: Option<Duration>,
    ) -> Timeline {
        let at = FieldPath::root("timeline");
        if raw.len() > MAX_ENTRIES {
            self.err(
                &at,
                format!("at most {MAX_ENTRIES} entries, got {}", raw.len()),
            );
            return Timeline::default();
        }
        let mut placed = Vec::new();
        for (i, entry) in raw.iter().enumerate() {
            placed.extend(self.fault(&at.index(i), entry, groups, network, window));
        }
        placed.sort_by_key(|p| p.fault.at);
        let timeline = Timeline {
            events: placed.iter().map(|p| p.fault.clone()).collect(),
        };
        self.play(&placed, &timeline, groups);
        timeline
    }

    /// The entry at `ep`: its time and its one action (and a partition's own heal).
    fn fault(
        &mut self,
        ep: &FieldPath,
        raw: &RawFault,
        groups: &[Group],
        network: &Network,
        window: Option<Duration>,
    ) -> Vec<Placed> {
        let at = self.fault_time(&ep.key("at"), &raw.at, window);
        let given: Vec<&str> = [
            ("partition", raw.partition.is_some()),
            ("heal", raw.heal.is_some()),
            ("kill", raw.kill.is_some()),
            ("restart", raw.restart.is_some()),
            ("pause", raw.pause.is_some()),
            ("unpause", raw.unpause.is_some()),
            ("churn", raw.churn.is_some()),
            ("attack", raw.attack.is_some()),
            ("link", raw.link.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, yes)| yes.then_some(name))
        .collect();
        if given.len() != 1 {
            self.err(
                ep,
                format!(
                    "must give exactly one action (partition, heal, kill, restart, pause, unpause, churn, attack, link), got {}",
                    if given.is_empty() {
                        "none".to_string()
                    } else {
                        given.join(", ")
                    }
                ),
            );
            return Vec::new();
        }
        if raw.lasts.is_some() && raw.partition.is_none() {
            self.err(&ep.key("for"), "only a partition lasts `for` a time");
        }
        let field = ep.key(given[0]);
        let action = match given[0] {
            "partition" => {
                self.partition(&field, raw.partition.as_deref().unwrap_or_default(), groups)
            }
            "heal" => {
                if raw.heal == Some(false) {
                    self.err(&field, "must be `true` (leave the entry out to not heal)");
                }
                Some(Action::Heal)
            }
            "churn" => raw
                .churn
                .as_ref()
                .and_then(|c| self.churn(&field, c, groups, at, window)),
            "attack" => raw
                .attack
                .as_ref()
                .and_then(|a| self.attack(&field, a, groups)),
            "link" => raw
                .link
                .as_ref()
                .and_then(|l| self.link_change(&field, l, groups, network, at, window)),
            name => {
                let sel = [&raw.kill, &raw.restart, &raw.pause, &raw.unpause]
                    .into_iter()
                    .flatten()
                    .next();
                let sel = sel.and_then(|s| self.selector(&field, s, groups));
                if name == "restart" {
                    self.restartable(&field, sel.as_ref(), groups);
                }
                sel.map(|s| match name {
                    "kill" => Action::Kill(s),
                    "restart" => Action::Restart(s),
                    "pause" => Action::Pause(s),
                    _ => Action::Unpause(s),
                })
            }
        };
        let lasts = match (&raw.lasts, &raw.partition) {
            (Some(s), Some(_)) => self.lasts(&ep.key("for"), s, at, window),
            _ => None,
        };
        let (Some(at), Some(action)) = (at, action) else {
            return Vec::new();
        };
        let mut out = vec![Placed {
            fault: Fault { at, action },
            field,
            heals_itself: lasts.is_some(),
        }];
        if let Some(d) = lasts {
            out.push(Placed {
                fault: Fault {
                    at: at + d,
                    action: Action::Heal,
                },
                field: ep.key("for"),
                heals_itself: false,
            });
        }
        out
    }

    /// The `recovery` target at `field`: positive, at most an hour.
    pub(super) fn recovery_target(
        &mut self,
        field: &FieldPath,
        s: Option<&str>,
    ) -> Option<Duration> {
        let d = self.duration(field, s?)?;
        if d.is_zero() || d > Duration::from_secs(3600) {
            self.err(
                field,
                format!(
                    "must be positive and at most 1h, got {}",
                    units::format_duration(d)
                ),
            );
            return None;
        }
        Some(d)
    }

    /// `at`: a virtual time inside the window.
    fn fault_time(
        &mut self,
        field: &FieldPath,
        s: &str,
        window: Option<Duration>,
    ) -> Option<Duration> {
        let at = self.duration(field, s)?;
        match window {
            Some(w) if at >= w => {
                self.err(
                    field,
                    format!(
                        "must be before the window's end ({} after it starts: duration − warmup), got {}",
                        units::format_duration(w),
                        units::format_duration(at)
                    ),
                );
                None
            }
            _ => Some(at),
        }
    }

    /// `for`: positive, and the heal inside the window.
    fn lasts(
        &mut self,
        field: &FieldPath,
        s: &str,
        at: Option<Duration>,
        window: Option<Duration>,
    ) -> Option<Duration> {
        let d = self.duration(field, s)?;
        if d.is_zero() {
            self.err(field, "must be positive");
            return None;
        }
        if let (Some(at), Some(w)) = (at, window)
            && at + d >= w
        {
            self.err(
                field,
                format!(
                    "heals at {}, not before the window's end ({}); leave `for` out to keep the partition to the end",
                    units::format_duration(at + d),
                    units::format_duration(w)
                ),
            );
            return None;
        }
        Some(d)
    }

    /// `partition = [[…], […]]`: two non-empty sides of existing groups, none named twice.
    fn partition(
        &mut self,
        field: &FieldPath,
        sides: &[Vec<String>],
        groups: &[Group],
    ) -> Option<Action> {
        if sides.len() != 2 {
            self.err(
                field,
                format!(
                    "must be two sides, each a list of group ids (`[[\"a\"], [\"b\"]]`), got {} sides",
                    sides.len()
                ),
            );
            return None;
        }
        let mut ok = true;
        let mut seen = Vec::new();
        for (s, side) in sides.iter().enumerate() {
            if side.is_empty() {
                self.err(&field.index(s), "must name at least one group");
                ok = false;
            }
            for (g, id) in side.iter().enumerate() {
                let gf = field.index(s).index(g);
                if !groups.iter().any(|x| &x.id == id) {
                    self.err(&gf, format!("no group `{id}` ({})", ids(groups)));
                    ok = false;
                } else if seen.contains(&id) {
                    self.err(&gf, format!("group `{id}` is named twice"));
                    ok = false;
                }
                seen.push(id);
            }
        }
        ok.then(|| Action::Partition(sides[0].clone(), sides[1].clone()))
    }

    /// An error at `field`'s group when `sel` restarts nodes behind a NAT.
    fn restartable(&mut self, field: &FieldPath, sel: Option<&Selector>, groups: &[Group]) {
        let nated = |s: &Selector| groups.iter().any(|g| g.id == s.group && g.nat.is_nated());
        if sel.is_some_and(nated) {
            self.err(
                &field.key("group"),
                "cannot restart nodes behind a NAT yet (their default route is set as they first start)",
            );
        }
    }

    /// `churn = { group, fraction | count, for, down }` at `field`, starting at `at`: a
    /// positive span, a `down` in (0, [`MAX_DOWN`]], at most [`MAX_LEAVES`] leaves, and
    /// the last rejoin (by `at + for + down`) inside the window.
    fn churn(
        &mut self,
        field: &FieldPath,
        raw: &RawChurn,
        groups: &[Group],
        at: Option<Duration>,
        window: Option<Duration>,
    ) -> Option<Action> {
        let sel = RawSelector {
            group: raw.group.clone(),
            fraction: raw.fraction,
            count: raw.count,
        };
        let nodes = self.selector(field, &sel, groups);
        self.restartable(field, nodes.as_ref(), groups);
        let span = self.duration(&field.key("for"), &raw.lasts);
        if span.is_some_and(|d| d.is_zero()) {
            self.err(&field.key("for"), "must be positive");
        }
        let down = match &raw.down {
            None => Some(DEFAULT_DOWN),
            Some(s) => {
                let d = self.duration(&field.key("down"), s);
                if d.is_some_and(|d| d.is_zero() || d > MAX_DOWN) {
                    self.err(
                        &field.key("down"),
                        format!(
                            "must be positive and at most {}, got {s}",
                            units::format_duration(MAX_DOWN)
                        ),
                    );
                    return None;
                }
                d
            }
        };
        let churn = Churn {
            nodes: nodes?,
            span: span.filter(|d| !d.is_zero())?,
            down: down?,
        };
        let size = groups
            .iter()
            .find(|g| g.id == churn.nodes.group)
            .map_or(0, |g| g.count);
        let leaves = churn.leaves(size);
        if leaves > MAX_LEAVES {
            self.err(
                field,
                format!("schedules {leaves} leaves, at most {MAX_LEAVES}: lower the rate or `for`"),
            );
            return None;
        }
        if let (Some(at), Some(w)) = (at, window)
            && at + churn.span + churn.down > w
        {
            self.err(
                &field.key("for"),
                format!(
                    "the churn ends by {} (at + for + down), after the window's end ({})",
                    units::format_duration(at + churn.span + churn.down),
                    units::format_duration(w)
                ),
            );
            return None;
        }
        Some(Action::Churn(churn))
    }

    /// `link = { group, fraction | count, delay, jitter, loss, for }` at `field`, starting at
    /// `at`: a shaper that can change links (not `none`, not `kernel`), a shape within the
    /// link rules (fields left out keep the run's link; with a region matrix `delay` is
    /// required), no rate, and the restore (`at + for`) inside the window.
    fn link_change(
        &mut self,
        field: &FieldPath,
        raw: &RawLinkChange,
        groups: &[Group],
        network: &Network,
        at: Option<Duration>,
        window: Option<Duration>,
    ) -> Option<Action> {
        match network.shaper {
            ShaperChoice::None => self.err(
                field,
                "the scenario's shaper is `none`: no link can change (set `network.shaper` to `auto` or `userspace`)",
            ),
            ShaperChoice::Kernel => self.err(
                field,
                "only the user-space shaper changes links at run time: set `network.shaper` to `auto` or `userspace`",
            ),
            ShaperChoice::Auto | ShaperChoice::Userspace => {}
        }
        if network.matrix.is_some() && raw.delay.is_none() {
            self.err(
                &field.key("delay"),
                "is required with a region matrix (the run has no one delay to keep)",
            );
        }
        let sel = RawSelector {
            group: raw.group.clone(),
            fraction: raw.fraction,
            count: raw.count,
        };
        let nodes = self.selector(field, &sel, groups);
        let nated = |s: &Selector| groups.iter().any(|g| g.id == s.group && g.nat.is_nated());
        if nodes.as_ref().is_some_and(nated) {
            self.err(
                &field.key("group"),
                "cannot change the links of nodes behind a NAT (their packets reach the others from the router's address)",
            );
            return None;
        }
        let run = &network.link;
        if raw.jitter.is_none()
            && let Some(delay) = raw
                .delay
                .as_deref()
                .and_then(|d| units::parse_duration(d).ok())
            && delay < run.jitter
        {
            self.err(
                &field.key("delay"),
                format!(
                    "is below the run's jitter ({}), which a link change keeps unless it gives `jitter`",
                    units::format_duration(run.jitter)
                ),
            );
            return None;
        }
        let shown = |d: Duration| Some(units::format_duration(d));
        let given = RawLink::new(
            raw.delay.clone().or_else(|| shown(run.delay)),
            raw.jitter.clone().or_else(|| shown(run.jitter)),
            raw.loss.or(Some(run.loss)),
        );
        let before = self.diags.len();
        let shape = profile::validate_link(&given, self.doc, Some(field), &mut self.diags);
        let shape_ok = self.diags.len() == before;
        let span = self.duration(&field.key("for"), &raw.lasts);
        let span = match (span, at, window) {
            (Some(d), _, _) if d.is_zero() => {
                self.err(&field.key("for"), "must be positive");
                None
            }
            (Some(d), Some(at), Some(w)) if at + d >= w => {
                self.err(
                    &field.key("for"),
                    format!(
                        "the links are restored at {}, not before the window's end ({})",
                        units::format_duration(at + d),
                        units::format_duration(w)
                    ),
                );
                None
            }
            (d, _, _) => d,
        };
        let shape = shape_ok.then_some(shape)?;
        Some(Action::Link(LinkChange {
            nodes: nodes?,
            shape,
            span: span?,
        }))
    }

    /// `{ group, fraction | count }` at `field`.
    fn selector(
        &mut self,
        field: &FieldPath,
        raw: &RawSelector,
        groups: &[Group],
    ) -> Option<Selector> {
        let group = groups.iter().find(|g| g.id == raw.group);
        if group.is_none() {
            self.err(
                &field.key("group"),
                format!("no group `{}` ({})", raw.group, ids(groups)),
            );
        }
        let amount = match (raw.fraction, raw.count) {
            (Some(f), None) => {
                if f.is_finite() && f > 0.0 && f <= 1.0 {
                    Some(Amount::Fraction(f))
                } else {
                    self.err(
                        &field.key("fraction"),
                        format!("must be a share of the group in (0, 1], got {}", num(f)),
                    );
                    None
                }
            }
            (None, Some(n)) => {
                let size = group.map_or(MAX_NODES, |g| g.count);
                match usize::try_from(n) {
                    Ok(n) if n >= 1 && n <= size => Some(Amount::Count(n)),
                    _ => {
                        self.err(
                            &field.key("count"),
                            format!("must be 1 to {size} (the group's nodes), got {n}"),
                        );
                        None
                    }
                }
            }
            _ => {
                self.err(field, "must give exactly one of `fraction` and `count`");
                None
            }
        };
        Some(Selector {
            group: group?.id.clone(),
            amount: amount?,
        })
    }

    /// `{ group, start = true | stop = true }` at `field`: a group with a non-honest role.
    fn attack(&mut self, field: &FieldPath, raw: &RawAttack, groups: &[Group]) -> Option<Action> {
        let group = groups.iter().find(|g| g.id == raw.group);
        match group {
            None => self.err(
                &field.key("group"),
                format!("no group `{}` ({})", raw.group, ids(groups)),
            ),
            Some(g) if g.role.is_honest() => self.err(
                &field.key("group"),
                format!(
                    "group `{}` is honest: only a group with a non-honest role can attack",
                    g.id
                ),
            ),
            Some(_) => {}
        }
        let start = match (raw.start, raw.stop) {
            (Some(true), None) => Some(true),
            (None, Some(true)) => Some(false),
            _ => {
                self.err(
                    field,
                    "must give exactly one of `start = true` and `stop = true`",
                );
                None
            }
        };
        let group = group.filter(|g| !g.role.is_honest())?.id.clone();
        Some(if start? {
            Action::AttackStart(group)
        } else {
            Action::AttackStop(group)
        })
    }

    /// The accepted events played in time order ([`Timeline::steps`]): one partition open
    /// at a time, a heal only of an open partition it does not heal by itself, nodes
    /// killed or paused only while running, restarted only when killed, unpaused only
    /// when paused, a churn's every leave with a node of its group running; a group's
    /// attack started only when off and with no node paused (a frozen process takes no
    /// signal), stopped only when on, and none of its nodes restarted while it is on (they
    /// would boot dormant); one link change of a group in force at a time.
    fn play(&mut self, placed: &[Placed], timeline: &Timeline, groups: &[Group]) {
        let size = |id: &str| groups.iter().find(|g| g.id == id).map_or(0, |g| g.count);
        let mut open: Option<&Placed> = None;
        let mut states: BTreeMap<&str, States> = BTreeMap::new();
        let mut attacking: BTreeMap<&str, Duration> = BTreeMap::new();
        // Churns in force (from their start to their last rejoin), until when, by group.
        let mut churning: BTreeMap<&str, Duration> = BTreeMap::new();
        // Groups with a link change in force: since when, and which event.
        let mut linked: BTreeMap<&str, (Duration, usize)> = BTreeMap::new();
        // Churns already reported, and the leaves that took a node.
        let mut failed: BTreeSet<usize> = BTreeSet::new();
        let mut left: BTreeSet<(usize, usize)> = BTreeSet::new();
        for step in timeline.steps(size) {
            let p = &placed[step.event];
            let when = units::format_duration(step.at);
            match (&p.fault.action, step.kind) {
                (Action::Churn(c), StepKind::Leave(n)) => {
                    let st = states.entry(c.nodes.group.as_str()).or_default();
                    let running = size(&c.nodes.group) - st.killed - st.paused - st.churned;
                    if running > 0 {
                        st.churned += 1;
                        left.insert((step.event, n));
                    } else if failed.insert(step.event) {
                        self.err(
                            &p.field,
                            format!(
                                "churn leave {} of group `{}` at {when}, but none of its nodes is running then",
                                n + 1,
                                c.nodes.group
                            ),
                        );
                    }
                }
                (Action::Churn(c), StepKind::Join(n)) if left.remove(&(step.event, n)) => {
                    states.entry(c.nodes.group.as_str()).or_default().churned -= 1;
                }
                (Action::Churn(c), StepKind::End) => {
                    churning.remove(c.nodes.group.as_str());
                }
                (Action::AttackStart(g), StepKind::Act) if churning.contains_key(g.as_str()) => {
                    self.err(
                        &p.field,
                        format!(
                            "cannot start the attack of group `{g}` at {when} while a churn of it runs (it ends by {}): its nodes would rejoin dormant; start the attack before or after the churn",
                            units::format_duration(churning[g.as_str()])
                        ),
                    );
                }
                (Action::Link(l), StepKind::Act) => match linked.get(l.nodes.group.as_str()) {
                    Some((since, _)) => self.err(
                        &p.field,
                        format!(
                            "group `{}` has a link change in force at {when} (since {}); one at a time",
                            l.nodes.group,
                            units::format_duration(*since)
                        ),
                    ),
                    None => {
                        linked.insert(&l.nodes.group, (step.at, step.event));
                    }
                },
                // Only the change in force ends here, not one refused for overlapping it.
                (Action::Link(l), StepKind::End)
                    if linked
                        .get(l.nodes.group.as_str())
                        .is_some_and(|&(_, e)| e == step.event) =>
                {
                    linked.remove(l.nodes.group.as_str());
                }
                (_, StepKind::Act) => {
                    if let Action::Churn(c) = &p.fault.action {
                        let ends = step.at + c.span + c.down;
                        churning.insert(&c.nodes.group, ends);
                    }
                    self.act(p, &mut open, &mut states, &mut attacking, groups);
                }
                _ => {}
            }
        }
    }

    /// One event (not a churn's steps) played against the `open` partition, the groups'
    /// `states` and the groups `attacking` (since when).
    fn act<'p>(
        &mut self,
        p: &'p Placed,
        open: &mut Option<&'p Placed>,
        states: &mut BTreeMap<&'p str, States>,
        attacking: &mut BTreeMap<&'p str, Duration>,
        groups: &[Group],
    ) {
        let when = units::format_duration(p.fault.at);
        match &p.fault.action {
            Action::Partition(..) => {
                if let Some(o) = open {
                    self.err(
                        &p.field,
                        format!(
                            "a partition is already open (since {}); heal it first",
                            units::format_duration(o.fault.at)
                        ),
                    );
                } else {
                    *open = Some(p);
                }
            }
            Action::Heal => match open {
                None => self.err(&p.field, format!("no partition is open at {when} to heal")),
                Some(o) if o.heals_itself && !is_for(&p.field) => {
                    self.err(
                        &p.field,
                        format!(
                            "the partition of {} heals by itself (`for`); leave out this heal or its `for`",
                            units::format_duration(o.fault.at)
                        ),
                    );
                }
                Some(_) => *open = None,
            },
            Action::AttackStart(g) | Action::AttackStop(g) => {
                let start = matches!(p.fault.action, Action::AttackStart(_));
                let paused = states.get(g.as_str()).map_or(0, |s| s.paused);
                match attacking.get(g.as_str()) {
                    Some(since) if start => self.err(
                        &p.field,
                        format!(
                            "the attack of group `{g}` is already on at {when} (since {})",
                            units::format_duration(*since)
                        ),
                    ),
                    None if !start => {
                        self.err(&p.field, format!("no attack of group `{g}` is on at {when}"));
                    }
                    _ if paused > 0 => self.err(
                        &p.field,
                        format!(
                            "{paused} nodes of group `{g}` are paused at {when}, and a frozen process takes no signal; unpause them first"
                        ),
                    ),
                    _ if start => {
                        attacking.insert(g, p.fault.at);
                    }
                    _ => {
                        attacking.remove(g.as_str());
                    }
                }
            }
            Action::Restart(s) if attacking.contains_key(s.group.as_str()) => {
                self.err(
                    &p.field,
                    format!(
                        "cannot restart nodes of group `{}` at {when} while its attack is on (they would boot dormant); stop the attack first",
                        s.group
                    ),
                );
            }
            Action::Churn(c) if attacking.contains_key(c.nodes.group.as_str()) => {
                self.err(
                    &p.field,
                    format!(
                        "cannot churn group `{}` at {when} while its attack is on (its nodes would rejoin dormant); stop the attack first",
                        c.nodes.group
                    ),
                );
            }
            Action::Kill(s) | Action::Restart(s) | Action::Pause(s) | Action::Unpause(s) => {
                let size = groups
                    .iter()
                    .find(|g| g.id == s.group)
                    .map_or(0, |g| g.count);
                let st = states.entry(s.group.as_str()).or_default();
                let running = size - st.killed - st.paused - st.churned;
                let (have, what) = match &p.fault.action {
                    Action::Kill(_) | Action::Pause(_) => (running, "running"),
                    Action::Restart(_) => (st.killed, "killed"),
                    _ => (st.paused, "paused"),
                };
                let want = s.amount.of(size);
                if have == 0 || matches!(s.amount, Amount::Count(n) if n > have) {
                    self.err(
                        &p.field,
                        format!(
                            "{} {want} of group `{}` at {when}, but {have} of its nodes are {what} then",
                            p.fault.action.name(),
                            s.group
                        ),
                    );
                    return;
                }
                let n = want.min(have);
                match &p.fault.action {
                    Action::Kill(_) => st.killed += n,
                    Action::Restart(_) => st.killed -= n,
                    Action::Pause(_) => st.paused += n,
                    _ => st.paused -= n,
                }
            }
            Action::Churn(_) | Action::Link(_) => {}
        }
    }
}

/// Whether `field` is a partition's `for` (the heal it schedules itself).
fn is_for(field: &FieldPath) -> bool {
    field.to_string().ends_with(".for")
}

/// The group ids, for messages.
fn ids(groups: &[Group]) -> String {
    let ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    format!("groups: {}", ids.join(", "))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::scenario::fixture::{GOOD, diags, parse_str, pos};
    use crate::scenario::timeline::{Action, Amount, DEFAULT_DOWN, StepKind};

    fn with(timeline: &str) -> String {
        format!("{GOOD}\n{timeline}")
    }

    #[test]
    fn a_link_change_keeps_the_runs_link_where_it_says_nothing_and_ends_by_itself() {
        let lossy = GOOD.replace(
            "link = { delay = \"25ms\", jitter = \"2.5ms\" }",
            "link = { delay = \"25ms\", jitter = \"2.5ms\", loss = 0.01 }",
        );
        assert_ne!(lossy, GOOD);
        let with = |t: &str| format!("{lossy}\n{t}");
        let text = with(
            "[[timeline]]\nat = \"2s\"\nlink = { group = \"honest\", fraction = 0.2, loss = 0.2, for = \"5s\" }\n\
             [[timeline]]\nat = \"7s\"\nlink = { group = \"honest\", count = 1, delay = \"80ms\", jitter = \"0s\", for = \"1s\" }\n",
        );
        let s = parse_str(&text).expect("valid");
        let Action::Link(first) = &s.timeline.events[0].action else {
            panic!("{:?}", s.timeline.events[0]);
        };
        assert_eq!(first.shape.delay, s.network.link.delay);
        assert_eq!(first.shape.jitter, s.network.link.jitter);
        assert_eq!(first.shape.loss, 0.2);
        assert_eq!(first.nodes.amount, Amount::Fraction(0.2));
        assert_eq!(first.span, Duration::from_secs(5));
        let Action::Link(second) = &s.timeline.events[1].action else {
            panic!("{:?}", s.timeline.events[1]);
        };
        assert_eq!(
            (second.shape.delay, second.shape.jitter, second.shape.loss),
            (Duration::from_millis(80), Duration::ZERO, 0.01)
        );
        // Each change ends by itself; the next of the same group may start as one ends.
        let steps: Vec<(u64, usize, StepKind)> = s
            .timeline
            .steps(|_| 10)
            .iter()
            .map(|st| (st.at.as_secs(), st.event, st.kind))
            .collect();
        assert_eq!(
            steps,
            [
                (2, 0, StepKind::Act),
                (7, 0, StepKind::End),
                (7, 1, StepKind::Act),
                (8, 1, StepKind::End)
            ]
        );
        assert!(s.timeline.changes_links());
        assert!(!parse_str(GOOD).expect("valid").timeline.changes_links());
    }

    #[test]
    fn every_link_change_overlapping_the_one_in_force_is_refused() {
        // The second is refused; its end must not end the first, so the third is too.
        let entry = |at: u64, span: u64| {
            format!(
                "[[timeline]]\nat = \"{at}s\"\nlink = {{ group = \"honest\", count = 1, loss = 0.1, for = \"{span}s\" }}\n"
            )
        };
        let text = with(&[entry(1, 10), entry(2, 1), entry(5, 1)].concat());
        let fields: Vec<String> = diags(&text).into_iter().map(|d| d.field).collect();
        assert_eq!(fields, ["timeline[1].link", "timeline[2].link"]);
    }

    #[test]
    fn a_plan_is_parsed_in_time_order_with_its_own_heals() {
        let text = with(
            "[[timeline]]\nat = \"10s\"\nkill = { group = \"honest\", fraction = 0.2 }\n\
             [[timeline]]\nat = \"2s\"\npartition = [[\"honest\"], [\"evil\"]]\nfor = \"5s\"\n\
             [[timeline]]\nat = \"12s\"\nrestart = { group = \"honest\", count = 2 }\n\
             [[timeline]]\nat = \"13s\"\npause = { group = \"evil\", count = 1 }\n\
             [[timeline]]\nat = \"14s\"\nunpause = { group = \"evil\", fraction = 1.0 }\n",
        );
        let t = parse_str(&text).expect("valid").timeline;
        let got: Vec<(u64, &str)> = t
            .events
            .iter()
            .map(|e| (e.at.as_secs(), e.action.name()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "partition"),
                (7, "heal"),
                (10, "kill"),
                (12, "restart"),
                (13, "pause"),
                (14, "unpause")
            ]
        );
        assert_eq!(
            t.events[0].action,
            Action::Partition(vec!["honest".into()], vec!["evil".into()])
        );
        match &t.events[2].action {
            Action::Kill(s) => assert_eq!(s.amount, Amount::Fraction(0.2)),
            other => panic!("{other:?}"),
        }
        assert_eq!(t.events[1].at, Duration::from_secs(7));
        assert!(t.restarts());
        assert!(parse_str(GOOD).expect("valid").timeline.is_empty());
    }

    #[test]
    fn entry_mistakes_are_located() {
        let text = with(
            "[[timeline]]\nat = \"30s\"\nheal = true\n\
             [[timeline]]\nat = \"1s\"\npartition = [[\"honest\", \"honest\"], []]\n\
             [[timeline]]\nat = \"2s\"\nkill = { group = \"nobody\", fraction = 1.5 }\n\
             [[timeline]]\nat = \"3s\"\nkill = { group = \"honest\", count = 11 }\n\
             [[timeline]]\nat = \"4s\"\nkill = { group = \"honest\" }\n\
             [[timeline]]\nat = \"5s\"\n\
             [[timeline]]\nat = \"6s\"\nheal = true\nfor = \"2s\"\n",
        );
        let d = diags(&text);
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "timeline[0].at",
                "timeline[1].partition[0][1]",
                "timeline[1].partition[1]",
                "timeline[2].kill.group",
                "timeline[2].kill.fraction",
                "timeline[3].kill.count",
                "timeline[4].kill",
                "timeline[5]",
                "timeline[6].for",
                "timeline[6].heal",
            ],
            "{d:?}"
        );
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"30s\""));
        assert!(d[0].message.contains("window's end (28s"), "{}", d[0]);
        assert!(d[1].message.contains("named twice"), "{}", d[1]);
        assert!(d[3].message.contains("no group `nobody`"), "{}", d[3]);
        assert!(d[4].message.contains("(0, 1]"), "{}", d[4]);
        assert!(d[5].message.contains("1 to 10"), "{}", d[5]);
        assert!(d[7].message.contains("exactly one action"), "{}", d[7]);
        assert!(d[9].message.contains("no partition is open"), "{}", d[9]);
    }

    #[test]
    fn the_plan_is_played_in_time_order() {
        let text = with(
            "[[timeline]]\nat = \"1s\"\nrestart = { group = \"honest\", count = 1 }\n\
             [[timeline]]\nat = \"2s\"\npartition = [[\"honest\"], [\"evil\"]]\nfor = \"5s\"\n\
             [[timeline]]\nat = \"3s\"\nheal = true\n\
             [[timeline]]\nat = \"4s\"\npartition = [[\"honest\"], [\"evil\"]]\n\
             [[timeline]]\nat = \"5s\"\nkill = { group = \"evil\", count = 2 }\n\
             [[timeline]]\nat = \"6s\"\npause = { group = \"evil\", count = 1 }\n\
             [[timeline]]\nat = \"7s\"\nunpause = { group = \"honest\", count = 1 }\n\
             [[timeline]]\nat = \"8s\"\npartition = [[\"honest\"], [\"evil\"]]\nfor = \"30s\"\n",
        );
        let d = diags(&text);
        let got: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.field.as_str(), d.message.as_str()))
            .collect();
        let fields: Vec<&str> = got.iter().map(|g| g.0).collect();
        assert_eq!(
            fields,
            [
                "timeline[7].for",
                "timeline[0].restart",
                "timeline[2].heal",
                "timeline[3].partition",
                "timeline[5].pause",
                "timeline[6].unpause",
            ],
            "{d:?}"
        );
        assert!(got[0].1.contains("not before the window's end"), "{got:?}");
        assert!(got[1].1.contains("0 of its nodes are killed"), "{got:?}");
        assert!(got[2].1.contains("heals by itself"), "{got:?}");
        assert!(got[3].1.contains("already open"), "{got:?}");
        assert!(got[4].1.contains("0 of its nodes are running"), "{got:?}");
        let line = pos(&text, "restart = {").0;
        assert_eq!(d[1].line, line);
    }

    #[test]
    fn a_churn_is_parsed_with_its_span_and_downtime() {
        let text = with(
            "[[timeline]]\nat = \"2s\"\nchurn = { group = \"honest\", fraction = 0.2, for = \"20s\", down = \"4s\" }\n\
             [[timeline]]\nat = \"3s\"\nchurn = { group = \"evil\", count = 1, for = \"10s\" }\n",
        );
        let t = parse_str(&text).expect("valid").timeline;
        let Action::Churn(c) = &t.events[0].action else {
            panic!("{t:?}");
        };
        assert_eq!(c.nodes.group, "honest");
        assert_eq!(c.nodes.amount, Amount::Fraction(0.2));
        assert_eq!(
            (c.span, c.down),
            (Duration::from_secs(20), Duration::from_secs(4))
        );
        let Action::Churn(c) = &t.events[1].action else {
            panic!("{t:?}");
        };
        assert_eq!((c.nodes.amount, c.down), (Amount::Count(1), DEFAULT_DOWN));
        assert!(t.restarts());
    }

    #[test]
    fn churn_mistakes_are_located() {
        let text = with(
            "[[timeline]]\nat = \"1s\"\nchurn = { group = \"honest\", for = \"5s\" }\n\
             [[timeline]]\nat = \"10s\"\nchurn = { group = \"honest\", count = 1, for = \"15s\" }\n\
             [[timeline]]\nat = \"1s\"\nchurn = { group = \"honest\", count = 1, for = \"0s\" }\n\
             [[timeline]]\nat = \"1s\"\nchurn = { group = \"honest\", count = 1, for = \"5s\", down = \"700s\" }\n\
             [[timeline]]\nat = \"1s\"\nchurn = { group = \"nobody\", count = 1, for = \"5s\" }\n",
        );
        let d = diags(&text);
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "timeline[0].churn",
                "timeline[1].churn.for",
                "timeline[2].churn.for",
                "timeline[3].churn.down",
                "timeline[4].churn.group",
            ],
            "{d:?}"
        );
        assert!(d[0].message.contains("exactly one of"), "{}", d[0]);
        assert!(d[1].message.contains("ends by 35s"), "{}", d[1]);
        assert!(d[2].message.contains("positive"), "{}", d[2]);
        assert!(d[3].message.contains("at most 600s"), "{}", d[3]);
        assert_eq!(d[1].line, pos(&text, "at = \"10s\"").0 + 1);
    }

    #[test]
    fn churned_nodes_are_neither_running_nor_killed() {
        let text = with(
            "[[timeline]]\nat = \"1s\"\nkill = { group = \"evil\", count = 2 }\n\
             [[timeline]]\nat = \"2s\"\nchurn = { group = \"evil\", count = 1, for = \"10s\" }\n\
             [[timeline]]\nat = \"3s\"\nchurn = { group = \"honest\", fraction = 1.0, for = \"6s\", down = \"5s\" }\n\
             [[timeline]]\nat = \"4s\"\nrestart = { group = \"honest\", count = 1 }\n",
        );
        let d = diags(&text);
        let got: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.field.as_str(), d.message.as_str()))
            .collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "timeline[1].churn");
        assert!(got[0].1.contains("none of its nodes is running"), "{got:?}");
        assert_eq!(got[1].0, "timeline[3].restart");
        assert!(got[1].1.contains("0 of its nodes are killed"), "{got:?}");
    }

    #[test]
    fn an_attack_group_boots_dormant_and_switches_in_turn() {
        let text = with(
            "[[timeline]]\nat = \"5s\"\nattack = { group = \"evil\", start = true }\n\
             [[timeline]]\nat = \"9s\"\nattack = { group = \"evil\", stop = true }\n\
             [[timeline]]\nat = \"11s\"\nattack = { group = \"evil\", start = true }\n",
        );
        let s = parse_str(&text).expect("valid");
        let got: Vec<&str> = s.timeline.events.iter().map(|e| e.action.name()).collect();
        assert_eq!(got, ["attack-start", "attack-stop", "attack-start"]);
        assert_eq!(
            s.timeline.events[0].action,
            Action::AttackStart("evil".into())
        );
        assert!(s.timeline.dormant("evil"));
        assert!(!s.timeline.dormant("honest"));
        let plan = crate::plan::plan(&s, crate::plan::Subnet::DEFAULT);
        let evil = plan.nodes.iter().find(|n| n.group == "evil").expect("evil");
        assert!(evil.node_config(None).dormant);
        assert!(
            plan.nodes
                .iter()
                .filter(|n| n.group == "honest")
                .all(|n| !n.dormant)
        );
    }

    #[test]
    fn attack_mistakes_are_located() {
        let text = with(
            "[[timeline]]\nat = \"1s\"\nattack = { group = \"honest\", start = true }\n\
             [[timeline]]\nat = \"2s\"\nattack = { group = \"evil\" }\n\
             [[timeline]]\nat = \"3s\"\nattack = { group = \"evil\", stop = true }\n\
             [[timeline]]\nat = \"4s\"\nattack = { group = \"evil\", start = true }\n\
             [[timeline]]\nat = \"5s\"\nattack = { group = \"evil\", start = true }\n\
             [[timeline]]\nat = \"6s\"\nkill = { group = \"evil\", count = 1 }\n\
             [[timeline]]\nat = \"7s\"\nrestart = { group = \"evil\", count = 1 }\n\
             [[timeline]]\nat = \"8s\"\nattack = { group = \"evil\", stop = true }\n\
             [[timeline]]\nat = \"9s\"\npause = { group = \"evil\", count = 1 }\n\
             [[timeline]]\nat = \"10s\"\nattack = { group = \"evil\", start = true }\n",
        );
        let d = diags(&text);
        let got: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.field.as_str(), d.message.as_str()))
            .collect();
        let fields: Vec<&str> = got.iter().map(|g| g.0).collect();
        assert_eq!(
            fields,
            [
                "timeline[0].attack.group",
                "timeline[1].attack",
                "timeline[2].attack",
                "timeline[4].attack",
                "timeline[6].restart",
                "timeline[9].attack",
            ],
            "{d:?}"
        );
        assert!(got[0].1.contains("non-honest role"), "{got:?}");
        assert!(
            got[1].1.contains("exactly one of `start = true`"),
            "{got:?}"
        );
        assert!(
            got[2].1.contains("no attack of group `evil` is on at 3s"),
            "{got:?}"
        );
        assert!(got[3].1.contains("already on at 5s (since 4s)"), "{got:?}");
        assert!(got[4].1.contains("while its attack is on"), "{got:?}");
        assert!(
            got[5].1.contains("1 nodes of group `evil` are paused"),
            "{got:?}"
        );
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"honest\", start"));
    }
}
