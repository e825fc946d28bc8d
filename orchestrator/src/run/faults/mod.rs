//! The scenario's fault timeline, played during the measurement window: at each event's
//! real time (`at` × the time scale after the window starts) the action is carried out
//! and recorded as an [`Event::Fault`] of node [`RECORDER`], with the time it took effect
//! and the nodes it acted on, for the analysis to split the window at.
//!
//! - partition / heal: packet drops inside each affected node's namespace ([`partition`]);
//! - kill: SIGKILL through the engine, awaited; restart: the same container started
//!   again (same address, same identity: the plan derives every node's key from its name
//!   when the timeline restarts nodes; its events file is appended to), handed to the
//!   shaper again, and given the open partition's drops;
//! - pause / unpause: the engine's freezer;
//! - churn: recorded as it starts (its group's nodes), then each leave kills one running
//!   node of the group like `kill` ([`CHURN_LEAVE`]) and its rejoin restarts that node
//!   like `restart` ([`CHURN_JOIN`]), and [`CHURN_END`] follows its last rejoin (the nodes
//!   it churned). A churned node is neither running nor killed for the other actions.
//! - attack start / stop: [`ATTACK_ON_SIGNAL`] / [`ATTACK_OFF_SIGNAL`] through the engine
//!   to every running node of the group, which booted dormant (`NodeConfig::dormant`); each
//!   node records the switch itself (`role_switched`).
//! - link change: the selected nodes of the group (drawn among all of them, whatever their
//!   state) get the new link (in real time) through the shaper's stdin (`set`, both ways,
//!   [`lab_config::HostLine`]), a node restarted meanwhile again, and [`LINK_RESTORE`]
//!   records the `reset` at the end of its span. The record's time is when the lines were
//!   written; the shaper takes them in within a batch of packets.
//!
//! Which nodes a selector takes is drawn from the seed ([`crate::scenario::timeline::pick`])
//! among the group's nodes in the right state. A node an action fails on is warned about
//! and left out of the record; the run goes on. [`Faults::finish`] heals an open partition
//! and thaws paused nodes before the nodes stop; dropping [`Faults`] with a partition open
//! (an interrupted run) removes its drops too, and the namespaces go with the containers.

pub mod partition;

use std::net::Ipv4Addr;

use std::collections::HashMap;

use futures::StreamExt;
use lab_config::node::{ATTACK_OFF_SIGNAL, ATTACK_ON_SIGNAL};
use lab_config::{HostLine, LinkShape};
use lab_events::{Event, Record, now_ns};

use super::CONCURRENCY;
use super::shaper::HostShaper;
use crate::docker::DockerRunner;
use crate::plan::Plan;
use crate::scenario::timeline::{
    Action, Churn, LINK_RESTORE, LinkChange, Selector, StepKind, pick, pick_leave,
};

/// The `node` of the records the orchestrator writes for the timeline.
pub const RECORDER: &str = "orchestrator";

/// The action of a churn's leave record (one node killed).
pub const CHURN_LEAVE: &str = "churn-leave";

/// The action of a churn's rejoin record (one node restarted).
pub const CHURN_JOIN: &str = "churn-join";

/// The action of the record after a churn's last rejoin.
pub const CHURN_END: &str = "churn-end";

/// A node's state under the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Killed,
    Paused,
    /// Down between a churn's leave and its rejoin.
    Churned,
}

/// The timeline's player: the nodes' states, their processes, the open partition and the
/// records so far.
pub(super) struct Faults<'a> {
    runner: &'a DockerRunner,
    plan: &'a Plan,
    /// Each node's container id, in plan order.
    ids: &'a [String],
    shaper: Option<&'a HostShaper>,
    state: Vec<State>,
    /// Each node's main process, while it has one (looked up when first needed).
    pids: Vec<Option<u32>>,
    /// The open partition's sides, as node indices.
    partition: Option<(Vec<usize>, Vec<usize>)>,
    /// The node each churn leave (event index, leave number) took.
    churned: HashMap<(usize, usize), usize>,
    /// Each node's changed link (real time) while a link change holds it, with the pid the
    /// shaper was told.
    changed: Vec<Option<(LinkShape, Option<u32>)>>,
    /// The nodes each link change in force (event index) took.
    links: HashMap<usize, Vec<usize>>,
    records: Vec<Record>,
}

impl<'a> Faults<'a> {
    /// A player of `plan`'s timeline over the containers `ids` (plan order).
    pub(super) fn new(
        runner: &'a DockerRunner,
        plan: &'a Plan,
        ids: &'a [String],
        shaper: Option<&'a HostShaper>,
    ) -> Self {
        Faults {
            runner,
            plan,
            ids,
            shaper,
            state: vec![State::Running; ids.len()],
            pids: vec![None; ids.len()],
            partition: None,
            churned: HashMap::new(),
            changed: vec![None; ids.len()],
            links: HashMap::new(),
            records: Vec::new(),
        }
    }

    /// Plays every step of the timeline at its time after `window_start`.
    pub(super) async fn play(&mut self, window_start: tokio::time::Instant) {
        let k = self.plan.time_scale;
        let plan = self.plan;
        let size = |group: &str| plan.nodes.iter().filter(|n| n.group == group).count();
        for step in plan.timeline.steps(size) {
            tokio::time::sleep_until(window_start + k.real(step.at)).await;
            let action = &plan.timeline.events[step.event].action;
            match (step.kind, action) {
                (StepKind::Act, _) => {
                    eprintln!("==> timeline at {:?} virtual: {}", step.at, action.name());
                    self.act(step.event, action).await;
                }
                (StepKind::Leave(n), Action::Churn(c)) => self.leave(step.event, n, c).await,
                (StepKind::Join(n), _) => self.join(step.event, n).await,
                (StepKind::End, Action::Link(_)) => self.restore_links(step.event).await,
                (StepKind::End, _) => self.end_churn(step.event),
                _ => {}
            }
        }
    }

    /// Heals an open partition, restores changed links and thaws paused nodes, so that every
    /// node stops as usual.
    pub(super) async fn finish(&mut self) {
        let mut open: Vec<usize> = self.links.keys().copied().collect();
        open.sort_unstable();
        for event in open {
            self.restore_links(event).await;
        }
        if self.partition.is_some() {
            self.act(usize::MAX, &Action::Heal).await;
        }
        for (n, id) in self.ids.iter().enumerate() {
            if self.state[n] == State::Paused {
                match self.runner.unpause_container(id).await {
                    Ok(()) => self.state[n] = State::Running,
                    Err(e) => tracing::warn!("failed to {e}"),
                }
            }
        }
    }

    /// The records of every event played.
    pub(super) fn into_records(mut self) -> Vec<Record> {
        std::mem::take(&mut self.records)
    }

    async fn act(&mut self, index: usize, action: &Action) {
        let (nodes, across) = match action {
            Action::Partition(a, b) => {
                let (a, b) = (self.members(a), self.members(b));
                self.block(&a, &b).await;
                self.block(&b, &a).await;
                self.partition = Some((a.clone(), b.clone()));
                (a, b)
            }
            Action::Heal => {
                let Some((a, b)) = self.partition.take() else {
                    return;
                };
                let live: Vec<usize> = a
                    .iter()
                    .chain(&b)
                    .copied()
                    .filter(|&n| self.alive(n))
                    .collect();
                self.filter(&live, &partition::heal_script()).await;
                (a, b)
            }
            Action::Kill(s) => (self.kill(index, s).await, Vec::new()),
            Action::Restart(s) => (self.restart(index, s).await, Vec::new()),
            Action::Pause(s) | Action::Unpause(s) => {
                let pause = matches!(action, Action::Pause(_));
                (self.freeze(index, s, pause).await, Vec::new())
            }
            Action::Churn(c) => (self.group(&c.nodes.group), Vec::new()),
            Action::AttackStart(g) | Action::AttackStop(g) => {
                let on = matches!(action, Action::AttackStart(_));
                (self.switch(g, on).await, Vec::new())
            }
            Action::Link(l) => {
                // Recorded as it starts: the first node is changed right after.
                let (at, nodes) = self.change_links(index, l).await;
                self.record_at(at, action.name(), &nodes, &[]);
                return;
            }
        };
        self.record(action.name(), &nodes, &across);
    }

    /// Records that `action` took effect now on `nodes` (and `across`).
    fn record(&mut self, action: &str, nodes: &[usize], across: &[usize]) {
        self.record_at(now_ns(), action, nodes, across);
    }

    /// Records that `action` took effect at `ts_ns` on `nodes` (and `across`).
    fn record_at(&mut self, ts_ns: u64, action: &str, nodes: &[usize], across: &[usize]) {
        let name = |n: &usize| self.plan.nodes[*n].name.clone();
        self.records.push(Record {
            ts_ns,
            node: RECORDER.to_string(),
            event: Event::Fault {
                action: action.to_string(),
                nodes: nodes.iter().map(name).collect(),
                across: across.iter().map(name).collect(),
            },
        });
    }

    /// Leave number `leave` of the churn at `index`: one running node of its group,
    /// drawn from the seed, is killed.
    async fn leave(&mut self, index: usize, leave: usize, c: &Churn) {
        let candidates: Vec<String> = self
            .group(&c.nodes.group)
            .into_iter()
            .filter(|&n| self.state[n] == State::Running)
            .map(|n| self.plan.nodes[n].name.clone())
            .collect();
        let Some(name) = pick_leave(self.plan.seed, index, leave, &candidates) else {
            tracing::warn!("churn: no node of group {} running to leave", c.nodes.group);
            return;
        };
        let Some(n) = self.plan.nodes.iter().position(|p| p.name == name) else {
            return;
        };
        if self.kill_one(n).await {
            self.state[n] = State::Churned;
            self.churned.insert((index, leave), n);
            self.record(CHURN_LEAVE, &[n], &[]);
        }
    }

    /// The node of leave number `leave` of the churn at `index` starts again.
    async fn join(&mut self, index: usize, leave: usize) {
        let Some(&n) = self.churned.get(&(index, leave)) else {
            return;
        };
        if self.revive(n).await {
            self.record(CHURN_JOIN, &[n], &[]);
        }
    }

    /// Records the end of the churn at `index`, with every node it took.
    fn end_churn(&mut self, index: usize) {
        let mut nodes: Vec<usize> = self
            .churned
            .iter()
            .filter(|((i, _), _)| *i == index)
            .map(|(_, &n)| n)
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        self.record(CHURN_END, &nodes, &[]);
    }

    /// Whether node `n` has a process (running or paused).
    fn alive(&self, n: usize) -> bool {
        matches!(self.state[n], State::Running | State::Paused)
    }

    /// The nodes of `group`, as indices.
    fn group(&self, group: &str) -> Vec<usize> {
        self.plan
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.group == group)
            .map(|(i, _)| i)
            .collect()
    }

    /// The nodes of `groups`, as indices.
    fn members(&self, groups: &[String]) -> Vec<usize> {
        self.plan
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| groups.contains(&n.group))
            .map(|(i, _)| i)
            .collect()
    }

    /// The nodes of `s`'s group in `state`, `s`'s amount of them drawn for event `index`.
    fn select(&self, index: usize, s: &Selector, state: State) -> Vec<usize> {
        let group = self.group(&s.group);
        let candidates: Vec<String> = group
            .iter()
            .filter(|&&n| self.state[n] == state)
            .map(|&n| self.plan.nodes[n].name.clone())
            .collect();
        let names = pick(self.plan.seed, index, &candidates, s.amount.of(group.len()));
        group
            .into_iter()
            .filter(|&n| names.contains(&self.plan.nodes[n].name))
            .collect()
    }

    /// Makes the live nodes of `side` drop everything from `other`.
    async fn block(&mut self, side: &[usize], other: &[usize]) {
        let from: Vec<Ipv4Addr> = other.iter().map(|&n| self.plan.nodes[n].ip).collect();
        let live: Vec<usize> = side.iter().copied().filter(|&n| self.alive(n)).collect();
        self.filter(&live, &partition::block_script(&from)).await;
    }

    /// Feeds `script` to the namespace of each of `nodes`, side by side.
    async fn filter(&mut self, nodes: &[usize], script: &str) {
        for &n in nodes {
            self.pid(n).await;
        }
        let jobs: Vec<(String, Option<u32>)> = nodes
            .iter()
            .map(|&n| (self.plan.nodes[n].name.clone(), self.pids[n]))
            .collect();
        futures::stream::iter(jobs)
            .map(|(name, pid)| {
                let script = script.to_string();
                async move {
                    let Some(pid) = pid else { return };
                    let done =
                        tokio::task::spawn_blocking(move || partition::apply(pid, &script)).await;
                    match done {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!("node {name}: failed to {e}"),
                        Err(e) => tracing::warn!("node {name}: failed to change its filter: {e}"),
                    }
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<()>>()
            .await;
    }

    /// Node `n`'s process, looked up once.
    async fn pid(&mut self, n: usize) -> Option<u32> {
        if self.pids[n].is_none() {
            match self.runner.container_pid(&self.ids[n]).await {
                Ok(pid) => self.pids[n] = Some(pid),
                Err(e) => tracing::warn!("failed to {e}"),
            }
        }
        self.pids[n]
    }

    async fn kill(&mut self, index: usize, s: &Selector) -> Vec<usize> {
        let mut done = Vec::new();
        for n in self.select(index, s, State::Running) {
            if self.kill_one(n).await {
                self.state[n] = State::Killed;
                done.push(n);
            }
        }
        done
    }

    /// SIGKILLs node `n` and awaits its exit; whether it is down (the caller sets its state).
    async fn kill_one(&mut self, n: usize) -> bool {
        let id = &self.ids[n];
        let killed = match self.runner.kill_container(id, "SIGKILL").await {
            Ok(()) => self.runner.wait_exit(id).await.map(drop),
            Err(e) => Err(e),
        };
        match killed {
            Ok(()) => {
                self.pids[n] = None;
                self.forget_changed(n);
                true
            }
            Err(e) => {
                tracing::warn!("failed to {e}");
                false
            }
        }
    }

    async fn restart(&mut self, index: usize, s: &Selector) -> Vec<usize> {
        let mut done = Vec::new();
        for n in self.select(index, s, State::Killed) {
            if self.revive(n).await {
                done.push(n);
            }
        }
        done
    }

    /// Starts the stopped node `n` again, hands it to the shaper and gives it the open
    /// partition's drops; whether it started.
    async fn revive(&mut self, n: usize) -> bool {
        if let Err(e) = self.runner.start_container(&self.ids[n]).await {
            tracing::warn!("failed to {e}");
            return false;
        }
        self.state[n] = State::Running;
        let Some(pid) = self.pid(n).await else {
            return true;
        };
        if let Some(shaper) = self.shaper
            && let Err(e) = shaper.shape(n, pid)
        {
            tracing::warn!("node {}: failed to {e}", self.plan.nodes[n].name);
        }
        if self.changed[n].is_some() {
            self.tell_changed(n).await;
        }
        if let Some((a, b)) = self.partition.clone() {
            let other = if a.contains(&n) {
                Some(b)
            } else if b.contains(&n) {
                Some(a)
            } else {
                None
            };
            if let Some(other) = other {
                self.block(&[n], &other).await;
            }
        }
        true
    }

    /// The link change at `index`: its nodes (drawn among all of its group's) get its shape
    /// in real time (a node down now when it starts again); returns when it took effect
    /// (just before the shaper is told of the first node) and all of its nodes.
    async fn change_links(&mut self, index: usize, l: &LinkChange) -> (u64, Vec<usize>) {
        let group = self.group(&l.nodes.group);
        let names: Vec<String> = group
            .iter()
            .map(|&n| self.plan.nodes[n].name.clone())
            .collect();
        let picked = pick(
            self.plan.seed,
            index,
            &names,
            l.nodes.amount.of(group.len()),
        );
        let shape = l.shape.dilated(self.plan.time_scale);
        let nodes: Vec<usize> = group
            .into_iter()
            .filter(|&n| picked.contains(&self.plan.nodes[n].name))
            .collect();
        // Every pid first, so that the nodes change together.
        for &n in &nodes {
            if self.alive(n) {
                self.pid(n).await;
            }
        }
        let at = now_ns();
        for &n in &nodes {
            self.changed[n] = Some((shape.clone(), None));
            self.tell_changed(n).await;
        }
        self.links.insert(index, nodes.clone());
        (at, nodes)
    }

    /// Tells the shaper node `n`'s changed link under its current process (a killed node is
    /// told when it starts again).
    async fn tell_changed(&mut self, n: usize) {
        let (Some(shaper), Some((shape, told))) = (self.shaper, self.changed[n].clone()) else {
            return;
        };
        if !self.alive(n) {
            return;
        }
        let Some(pid) = self.pid(n).await else {
            return;
        };
        let addr = self.plan.nodes[n].ip;
        // A process that is gone keeps no entry of its own.
        let lines = told
            .filter(|&old| old != pid)
            .map(|old| HostLine::Reset { pid: old, addr })
            .into_iter()
            .chain([HostLine::Set {
                pid,
                addr,
                shape: shape.clone(),
            }]);
        for line in lines {
            if let Err(e) = shaper.send(line) {
                tracing::warn!("node {}: failed to {e}", self.plan.nodes[n].name);
                return;
            }
        }
        self.changed[n] = Some((shape, Some(pid)));
    }

    /// Node `n` is gone: the shaper forgets its changed link under the old process (whose
    /// pid the kernel may give to another), until it starts again.
    fn forget_changed(&mut self, n: usize) {
        let Some((shape, Some(pid))) = self.changed[n].take() else {
            return;
        };
        self.changed[n] = Some((shape, None));
        if let Some(shaper) = self.shaper {
            let addr = self.plan.nodes[n].ip;
            if let Err(e) = shaper.send(HostLine::Reset { pid, addr }) {
                tracing::warn!("node {}: failed to {e}", self.plan.nodes[n].name);
            }
        }
    }

    /// The end of the link change at `index`: its nodes have the run's links again.
    async fn restore_links(&mut self, index: usize) {
        let Some(nodes) = self.links.remove(&index) else {
            return;
        };
        for &n in &nodes {
            let Some((_, told)) = self.changed[n].take() else {
                continue;
            };
            let (Some(shaper), Some(pid)) = (self.shaper, told) else {
                continue;
            };
            let addr = self.plan.nodes[n].ip;
            if let Err(e) = shaper.send(HostLine::Reset { pid, addr }) {
                tracing::warn!("node {}: failed to {e}", self.plan.nodes[n].name);
            }
        }
        self.record(LINK_RESTORE, &nodes, &[]);
    }

    /// Signals every running node of `group` to act its role (`on`) or be honest again.
    async fn switch(&mut self, group: &str, on: bool) -> Vec<usize> {
        let signal = if on {
            ATTACK_ON_SIGNAL
        } else {
            ATTACK_OFF_SIGNAL
        }
        .to_string();
        let mut done = Vec::new();
        for n in self.members(&[group.to_string()]) {
            if self.state[n] != State::Running {
                continue;
            }
            match self.runner.kill_container(&self.ids[n], &signal).await {
                Ok(()) => done.push(n),
                Err(e) => tracing::warn!("failed to {e}"),
            }
        }
        done
    }

    async fn freeze(&mut self, index: usize, s: &Selector, pause: bool) -> Vec<usize> {
        let (from, to) = if pause {
            (State::Running, State::Paused)
        } else {
            (State::Paused, State::Running)
        };
        let mut done = Vec::new();
        for n in self.select(index, s, from) {
            let id = &self.ids[n];
            let r = if pause {
                self.runner.pause_container(id).await
            } else {
                self.runner.unpause_container(id).await
            };
            match r {
                Ok(()) => {
                    self.state[n] = to;
                    done.push(n);
                }
                Err(e) => tracing::warn!("failed to {e}"),
            }
        }
        done
    }
}

impl Drop for Faults<'_> {
    /// An interrupted run: the open partition's drops are removed (best effort, blocking)
    /// before the teardown removes the containers.
    fn drop(&mut self) {
        let Some((a, b)) = self.partition.take() else {
            return;
        };
        let script = partition::heal_script();
        for n in a.into_iter().chain(b) {
            if let Some(pid) = self.pids[n]
                && let Err(e) = partition::apply(pid, &script)
            {
                tracing::warn!("failed to {e}");
            }
        }
    }
}
