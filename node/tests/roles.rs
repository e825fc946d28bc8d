//! The Byzantine roles on loopback swarms, one test each: the attacker does what its role
//! says, and the honest nodes reject it (with the role's reason) or penalise it as the
//! spec says, while their own messages still reach every honest node (an equivocator's
//! messages reach them too, one version each).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use lab_events::{Event, Record};
use meshnode::sink::ChannelSink;
use meshnode::{Command, NodeConfig, NodeHandle, Role};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

const DEADLINE: Duration = Duration::from_secs(60);
const HONEST: usize = 4;

/// `HONEST` honest nodes (each dials node 0 and its predecessor) and one attacker of a
/// role, which dials every honest node; the attacker is node `HONEST`.
struct Net {
    nodes: Vec<NodeHandle>,
    names: Vec<String>,
    events: mpsc::Receiver<Record>,
    /// Everything received so far.
    log: Vec<Record>,
}

fn config(name: &str, role: Role, bootstrap: Vec<String>) -> NodeConfig {
    NodeConfig {
        role,
        mldsa_level: 44,
        score_snapshot_ms: 200,
        ..NodeConfig::sharing_a_host(name, "/ip4/127.0.0.1/tcp/0", bootstrap)
    }
}

impl Net {
    async fn start(attacker: Role, tune: impl Fn(&mut NodeConfig)) -> Net {
        let (tx, events) = mpsc::channel(1_000_000);
        let mut nodes: Vec<NodeHandle> = Vec::new();
        let mut names = Vec::new();
        for i in 0..=HONEST {
            let (name, role, bootstrap) = if i < HONEST {
                let b = [0, i.saturating_sub(1)]
                    .iter()
                    .filter(|&&j| j < i)
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .map(|&j| nodes[j].listen_addrs[0].to_string())
                    .collect();
                (format!("honest-{i}"), Role::Honest, b)
            } else {
                let b = nodes
                    .iter()
                    .map(|n| n.listen_addrs[0].to_string())
                    .collect();
                (format!("attacker-{}", attacker.name()), attacker, b)
            };
            let mut c = config(&name, role, bootstrap);
            tune(&mut c);
            let node = meshnode::start(c, Box::new(ChannelSink(tx.clone())))
                .await
                .expect("node starts");
            nodes.push(node);
            names.push(name);
        }
        let mut net = Net {
            nodes,
            names,
            events,
            log: Vec::new(),
        };
        net.await_meshes(2).await;
        net
    }

    fn attacker(&self) -> String {
        self.nodes[HONEST].peer_id.to_string()
    }

    /// The peer id of the node named `name`.
    fn peer_id_of(&self, name: &str) -> String {
        let i = self
            .names
            .iter()
            .position(|n| n == name)
            .expect("a node of this net");
        self.nodes[i].peer_id.to_string()
    }

    fn honest(&self) -> &[String] {
        &self.names[..HONEST]
    }

    /// Receives events until `done` holds over everything received, or fails the test at
    /// the deadline.
    async fn until(&mut self, what: &str, mut done: impl FnMut(&[Record]) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !done(&self.log) {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(r)) => self.log.push(r),
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; rejections {:?}",
                    rejections(&self.log)
                ),
            }
        }
    }

    /// Waits until every node's mesh holds at least `min` peers.
    async fn await_meshes(&mut self, min: usize) {
        let names: HashSet<String> = self.names.iter().cloned().collect();
        self.until("meshes", |log| {
            let mut last: HashMap<&str, usize> = HashMap::new();
            for r in log {
                if let Event::Mesh { peers, .. } = &r.event {
                    last.insert(&r.node, peers.len());
                }
            }
            names
                .iter()
                .all(|n| last.get(n.as_str()).is_some_and(|&k| k >= min))
        })
        .await;
    }

    async fn publish(&self, node: usize, times: usize) {
        for _ in 0..times {
            self.nodes[node]
                .send(Command::Publish { size: 256 })
                .await
                .expect("publish");
        }
    }

    /// Every honest node publishes once; waits until all of them reached every other
    /// honest node.
    async fn honest_messages_arrive(&mut self) {
        let before = honest_deliveries(&self.log, self.honest());
        for i in 0..HONEST {
            self.publish(i, 1).await;
        }
        let honest = self.honest().to_vec();
        self.until("every honest message at every honest node", |log| {
            honest_deliveries(log, &honest) >= before + HONEST * (HONEST - 1)
        })
        .await;
    }

    /// Waits until some honest node rejected the attacker for `reason` and every honest
    /// node that did scores it below `threshold`.
    async fn attacker_rejected_and_scored_below(&mut self, reason: &str, threshold: f64) {
        let attacker = self.attacker();
        self.until("the attacker rejected and scored down", |log| {
            let rejecters: HashSet<&str> = log
                .iter()
                .filter(|r| {
                    matches!(&r.event, Event::Rejected { from, reason: why, .. }
                        if *from == attacker && why == reason)
                })
                .map(|r| r.node.as_str())
                .collect();
            let scores = last_scores(log, &attacker);
            !rejecters.is_empty()
                && rejecters
                    .iter()
                    .all(|n| scores.get(n).is_some_and(|s| *s < threshold))
        })
        .await;
    }

    /// Asserts that no honest node delivered a message whose origin is the attacker.
    fn nothing_from_the_attacker_delivered(&self) {
        let attacker = self.attacker();
        for r in &self.log {
            if let Event::Delivered { origin, .. } = &r.event {
                assert!(
                    origin != &attacker || !self.honest().contains(&r.node),
                    "{} delivered a message from the attacker",
                    r.node
                );
            }
        }
    }

    async fn shutdown(self) {
        for n in self.nodes {
            n.shutdown().await.expect("node stops");
        }
    }
}

fn honest_deliveries(log: &[Record], honest: &[String]) -> usize {
    log.iter()
        .filter(|r| matches!(r.event, Event::Delivered { .. }) && honest.contains(&r.node))
        .count()
}

/// Each node's latest score of `peer`.
fn last_scores<'a>(log: &'a [Record], peer: &str) -> HashMap<&'a str, f64> {
    let mut last = HashMap::new();
    for r in log {
        if let Event::Scores { scores } = &r.event {
            for s in scores.iter().filter(|s| s.peer == peer) {
                last.insert(r.node.as_str(), s.score);
            }
        }
    }
    last
}

/// What `node`'s latest score of `peer` holds beyond its reconstructed topic parts (P4,
/// P5, P6, P7; the reconstructed P3 is an upper bound of its penalty, so the rest is never
/// understated): `None` when `node` never scored `peer`.
fn last_penalties(log: &[Record], node: &str, peer: &str) -> Option<f64> {
    let mut last = None;
    for r in log.iter().filter(|r| r.node == node) {
        if let Event::Scores { scores } = &r.event {
            for s in scores.iter().filter(|s| s.peer == peer) {
                let parts = s.parts.as_ref().map_or(0.0, |p| p.p1 + p.p2 + p.p3 + p.p3b);
                last = Some(s.score - parts);
            }
        }
    }
    last
}

fn rejections(log: &[Record]) -> HashMap<String, usize> {
    let mut by_reason = HashMap::new();
    for r in log {
        if let Event::Rejected { reason, .. } = &r.event {
            *by_reason.entry(reason.clone()).or_default() += 1;
        }
    }
    by_reason
}

/// Rejections of the attacker's messages by honest nodes, by reason.
fn attacker_rejections(net: &Net) -> HashMap<String, usize> {
    let attacker = net.attacker();
    let mut by_reason = HashMap::new();
    for r in &net.log {
        if let Event::Rejected { reason, from, .. } = &r.event
            && *from == attacker
            && net.honest().contains(&r.node)
        {
            *by_reason.entry(reason.clone()).or_default() += 1;
        }
    }
    by_reason
}

fn gossip_threshold() -> f64 {
    NodeConfig::default().gossipsub.gossip_threshold
}

fn graylist_threshold() -> f64 {
    NodeConfig::default().gossipsub.graylist_threshold
}

/// The role's attacker publishes `times` messages; the honest nodes reject each for
/// `reason` and score the attacker below the gossip threshold (P4), and honest messages
/// still arrive everywhere.
async fn rejected_for(role: Role, reason: &str, times: usize) {
    let mut net = Net::start(role, |_| {}).await;
    net.publish(HONEST, times).await;
    net.attacker_rejected_and_scored_below(reason, gossip_threshold())
        .await;
    net.honest_messages_arrive().await;
    net.nothing_from_the_attacker_delivered();
    let got = attacker_rejections(&net);
    assert_eq!(got.keys().collect::<Vec<_>>(), [reason], "{got:?}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_envelopes_are_rejected_and_penalised() {
    rejected_for(Role::Malformed, "malformed", 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_payloads_are_rejected_and_penalised() {
    rejected_for(Role::Oversize, "oversize", 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocation_is_caught_graylisted_and_each_node_keeps_one_version() {
    const TIMES: usize = 10;
    let mut net = Net::start(Role::Equivocation, |_| {}).await;
    net.publish(HONEST, TIMES).await;
    let attacker = net.attacker();
    let honest = net.honest().to_vec();
    // Both versions of every sequence number went out.
    net.until("both versions of every message published", |log| {
        log.iter()
            .filter(|r| matches!(r.event, Event::Published { .. }))
            .count()
            >= 2 * TIMES
    })
    .await;
    // One equivocation proves the origin Byzantine: it falls below the graylist threshold
    // at once (application-specific score), and its later messages are dropped unread.
    net.attacker_rejected_and_scored_below("equivocation", graylist_threshold())
        .await;
    net.honest_messages_arrive().await;
    let got = attacker_rejections(&net);
    assert_eq!(got.keys().collect::<Vec<_>>(), ["equivocation"], "{got:?}");
    // No honest node delivered two versions of one sequence number.
    let mut got: HashMap<(&str, u64), usize> = HashMap::new();
    for r in &net.log {
        if let Event::Delivered { origin, seq, .. } = &r.event
            && *origin == attacker
            && honest.contains(&r.node)
        {
            *got.entry((r.node.as_str(), *seq)).or_default() += 1;
        }
    }
    assert!(
        got.values().all(|&n| n == 1),
        "a node delivered two versions: {got:?}"
    );
    // Only the origin pays: no honest node holds a penalty (P4, P5, P7) against an honest
    // relay that forwarded a second version.
    for node in &honest {
        for peer in &honest {
            if let Some(p) = last_penalties(&net.log, node, &net.peer_id_of(peer)) {
                assert!(p > -1.0, "{node} penalises honest {peer}: {p}");
            }
        }
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spam_above_the_rate_limit_is_cut_off_and_penalised() {
    const SENT: u64 = 600;
    let mut net = Net::start(Role::Spam, |c| {
        if c.role == Role::Spam {
            // The role publishes at its own rate (300/s), whatever the schedule says.
            c.traffic = Some(meshnode::config::TrafficConfig {
                start_at_ms: None,
                delay_ms: 0,
                rate_per_sec: 1.0,
                size: 64,
                count: Some(SENT),
            });
        }
    })
    .await;
    net.nodes[HONEST]
        .send(Command::StartTraffic)
        .await
        .expect("start the spam");
    let attacker_name = net.names[HONEST].clone();
    net.until("the whole spam published", |log| {
        log.iter()
            .filter(|r| r.node == attacker_name && matches!(r.event, Event::Published { .. }))
            .count() as u64
            >= SENT
    })
    .await;
    let published: Vec<u64> = net
        .log
        .iter()
        .filter(|r| r.node == attacker_name && matches!(r.event, Event::Published { .. }))
        .map(|r| r.ts_ns)
        .collect();
    let span_s = (published[published.len() - 1] - published[0]) as f64 / 1e9;
    assert!(
        SENT as f64 / span_s > 2.0 * meshnode::rate::SPEC_MESSAGES_PER_SEC,
        "the spammer published {SENT} in {span_s:.2} s"
    );
    net.attacker_rejected_and_scored_below("rate limit", gossip_threshold())
        .await;
    net.honest_messages_arrive().await;
    // No honest node took more of the spam than the limit lets through: a second's worth
    // at once, then the rate.
    let attacker = net.attacker();
    for name in net.honest() {
        let times: Vec<u64> = net
            .log
            .iter()
            .filter(|r| {
                r.node == *name
                    && matches!(&r.event, Event::Delivered { origin, .. } if *origin == attacker)
            })
            .map(|r| r.ts_ns)
            .collect();
        let Some((first, last)) = times.first().zip(times.last()) else {
            continue;
        };
        let allowed = meshnode::rate::SPEC_MESSAGES_PER_SEC * (1.0 + (last - first) as f64 / 1e9);
        assert!(
            (times.len() as f64) <= allowed + 5.0,
            "{name} delivered {} spam messages in {:.2} s",
            times.len(),
            (last - first) as f64 / 1e9
        );
        assert!((times.len() as u64) < SENT, "{name} took the whole spam");
    }
    let got = attacker_rejections(&net);
    assert!(got.contains_key("rate limit"), "{got:?}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dormant_role_is_honest_until_switched_on_and_penalised_only_after() {
    const TIMES: usize = 5;
    let mut net = Net::start(Role::InvalidSignature, |c| {
        c.dormant = c.role != Role::Honest;
    })
    .await;
    let attacker = net.attacker();
    let honest = net.honest().to_vec();
    // Dormant: its messages are valid, every honest node delivers them.
    net.publish(HONEST, TIMES).await;
    net.until(
        "the dormant attacker's messages at every honest node",
        |log| {
            let got = log
                .iter()
                .filter(|r| {
                    matches!(&r.event, Event::Delivered { origin, .. } if *origin == attacker)
                        && honest.contains(&r.node)
                })
                .count();
            got >= HONEST * TIMES
        },
    )
    .await;
    // A score snapshot of the attacker at every honest node after its last delivery there:
    // none below zero, and no rejection of it.
    let delivered_at = net.log.len();
    net.until(
        "a later score of the attacker at every honest node",
        |log| {
            let scores = last_scores(&log[delivered_at..], &attacker);
            honest.iter().all(|n| scores.contains_key(n.as_str()))
        },
    )
    .await;
    let scores = last_scores(&net.log, &attacker);
    assert!(scores.values().all(|s| *s >= 0.0), "{scores:?}");
    assert!(
        attacker_rejections(&net).is_empty(),
        "rejected while dormant"
    );

    // Switched on: forged signatures, rejected and penalised.
    net.nodes[HONEST]
        .send(Command::Act(true))
        .await
        .expect("switch on");
    let attacker_name = net.names[HONEST].clone();
    net.until("the switch recorded", |log| {
        log.iter().any(|r| {
            r.node == attacker_name
                && r.event
                    == Event::RoleSwitched {
                        role: "invalid-signature".into(),
                        acting: true,
                    }
        })
    })
    .await;
    let switched = net.log.len();
    net.publish(HONEST, TIMES).await;
    net.attacker_rejected_and_scored_below("invalid signature", gossip_threshold())
        .await;
    let first_rejection = net
        .log
        .iter()
        .position(|r| matches!(&r.event, Event::Rejected { from, .. } if *from == attacker));
    assert!(
        first_rejection.is_some_and(|i| i >= switched),
        "a rejection before the switch"
    );
    net.honest_messages_arrive().await;
    net.shutdown().await;
}

/// A schedule that waits for [`Command::StartTraffic`].
fn traffic(rate_per_sec: f64) -> Option<meshnode::config::TrafficConfig> {
    Some(meshnode::config::TrafficConfig {
        start_at_ms: None,
        delay_ms: 0,
        rate_per_sec,
        size: 64,
        count: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withholder_forwards_nothing_and_falls_below_zero_by_its_mesh_delivery_deficit() {
    let mut net = Net::start(Role::Withholding, |c| {
        // P3 from 2 s in the mesh rather than 10, to keep the test short.
        c.gossipsub.mesh_message_deliveries_activation_ms = 2_000;
        if c.role == Role::Honest {
            c.traffic = traffic(5.0);
        }
    })
    .await;
    for node in &net.nodes[..HONEST] {
        node.send(Command::StartTraffic).await.expect("start");
    }
    let withholder = net.attacker();
    let withholder_name = net.names[HONEST].clone();
    let honest = net.honest().to_vec();
    let honest_ids: HashSet<String> = net.nodes[..HONEST]
        .iter()
        .map(|n| n.peer_id.to_string())
        .collect();
    net.until("an honest node scoring the withholder below zero", |log| {
        honest.iter().any(|name| {
            let mut latest: HashMap<&str, f64> = HashMap::new();
            for r in log.iter().filter(|r| r.node == *name) {
                if let Event::Scores { scores } = &r.event {
                    latest = scores.iter().map(|s| (s.peer.as_str(), s.score)).collect();
                }
            }
            latest.get(withholder.as_str()).is_some_and(|s| *s < 0.0)
                && latest
                    .iter()
                    .filter(|(p, _)| honest_ids.contains(**p))
                    .all(|(_, s)| *s >= 0.0)
        })
    })
    .await;
    let took = net
        .log
        .iter()
        .filter(|r| r.node == withholder_name && matches!(r.event, Event::Delivered { .. }))
        .count();
    assert!(took > 0, "the withholder receives the honest messages");
    for r in &net.log {
        if let Event::Delivered { from, .. } = &r.event {
            assert_ne!(
                from, &withholder,
                "{} got a message from the withholder",
                r.node
            );
        }
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_past_the_duplicate_cache_are_rejected_as_origin_mismatch() {
    let mut net = Net::start(Role::Replay, |c| {
        // A short duplicate cache, so that recorded envelopes expire within the test.
        c.gossipsub.duplicate_cache_ms = 2_000;
        // Honest traffic throughout: gossipsub expires its duplicate cache only when it
        // inserts into it.
        c.traffic = traffic(if c.role == Role::Replay { 5.0 } else { 2.0 });
    })
    .await;
    for node in &net.nodes {
        node.send(Command::StartTraffic).await.expect("start");
    }
    net.attacker_rejected_and_scored_below("origin mismatch", gossip_threshold())
        .await;
    let replayer = net.names[HONEST].clone();
    // Replays still in the duplicate cache never leave the replayer.
    net.until("a replay refused by the replayer's own gossipsub", |log| {
        log.iter().any(|r| {
            r.node == replayer
                && matches!(&r.event, Event::PublishFailed { reason, .. } if reason == "Duplicate")
        })
    })
    .await;
    net.honest_messages_arrive().await;
    // Every honest message was delivered once at each honest node: no replay got through.
    let mut copies: HashMap<(&str, &str, u64), usize> = HashMap::new();
    for r in &net.log {
        if let Event::Delivered { origin, seq, .. } = &r.event {
            *copies.entry((r.node.as_str(), origin, *seq)).or_default() += 1;
        }
    }
    assert!(copies.values().all(|&n| n == 1), "{copies:?}");
    // Besides its replays, the replayer relays honest messages as any node does: late
    // copies of them are duplicates.
    let got = attacker_rejections(&net);
    assert!(
        got.keys()
            .all(|r| r == "origin mismatch" || r == "duplicate"),
        "{got:?}"
    );
    net.shutdown().await;
}
