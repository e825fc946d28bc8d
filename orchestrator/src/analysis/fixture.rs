//! Records of a synthetic run with hand-computed figures, shared by the analysis tests.

use lab_events::{Event, PeerScore, Record};

use super::{Stats, Window, compute};
use crate::plan::Plan;

/// Reference time: traffic start, and the start of the measurement window.
pub(super) const T0: u64 = 1_000_000_000_000;

/// Four honest nodes (group `h`, two publishers) and one attacker (`e`), 25 ms links.
pub(super) fn test_plan() -> Plan {
    crate::testkit::Small {
        name: "stats",
        duration: "30s",
        warmup: "10s",
        link: r#"{ delay = "25ms" }"#,
        honest_id: "h",
        evil_id: "e",
        evil: 1,
        publishers: 2,
        ..Default::default()
    }
    .plan()
}

/// A record of `event` at `node`.
pub(super) fn rec(ts_ns: u64, node: &str, event: Event) -> Record {
    Record {
        ts_ns,
        node: node.to_string(),
        event,
    }
}

/// `node` started as `peer`, 5 s before [`T0`].
pub(super) fn started(node: &str, peer: &str) -> Record {
    rec(
        T0 - 5_000_000_000,
        node,
        Event::Started {
            peer_id: peer.to_string(),
            role: "x".to_string(),
            listen: Vec::new(),
        },
    )
}

/// `node` published `msg` at `at`.
pub(super) fn published(node: &str, msg: &str, at: u64) -> Record {
    rec(
        at,
        node,
        Event::Published {
            msg_id: msg.to_string(),
            seq: 0,
            size: 1024,
            wire_size: 6000,
        },
    )
}

/// `node` received `msg`, published at `published_ns`, `after_us` later.
pub(super) fn delivered(node: &str, msg: &str, published_ns: u64, after_us: u64) -> Record {
    let received_ns = published_ns + after_us * 1000;
    rec(
        received_ns,
        node,
        Event::Delivered {
            msg_id: msg.to_string(),
            origin: "p".to_string(),
            seq: 0,
            published_ns,
            received_ns,
            from: "q".to_string(),
        },
    )
}

/// `node`'s scores at `at`: the attacker (`PE`) at `score`, an honest peer at 10.
fn scores(node: &str, at: u64, score: f64) -> Record {
    rec(
        at,
        node,
        Event::Scores {
            scores: vec![
                PeerScore {
                    peer: "PE".to_string(),
                    score,
                    protocol: None,
                    parts: None,
                },
                // Honest peers' scores do not count as attacker scores.
                PeerScore {
                    peer: "P3".to_string(),
                    score: 10.0,
                    protocol: None,
                    parts: None,
                },
            ],
        },
    )
}

/// A ping from `node` just after [`T0`].
fn ping(node: &str, rtt_us: u64) -> Record {
    rec(
        T0 + 1,
        node,
        Event::Ping {
            peer: "x".to_string(),
            rtt_us,
        },
    )
}

/// Two honest messages, three honest receivers each (4 honest nodes), one attacker.
pub(super) fn events() -> Vec<Record> {
    let m1 = T0;
    let m2 = T0 + 500_000_000;
    let mut v = vec![
        started("h-0", "P0"),
        started("h-1", "P1"),
        started("h-2", "P2"),
        started("h-3", "P3"),
        started("e-0", "PE"),
        published("h-0", "m1", m1),
        published("h-1", "m2", m2),
        published("e-0", "bad", T0),
        // m1 reaches every honest subscriber: 1, 1.4, 2 ms. (Values below 2048 µs
        // are exact in a 3-digit histogram; above, percentiles report the top of
        // their bucket.)
        delivered("h-1", "m1", m1, 1000),
        delivered("h-2", "m1", m1, 1400),
        delivered("h-3", "m1", m1, 2000),
        // A second delivery record of the same pair is not a new delivery.
        delivered("h-1", "m1", m1, 5000),
        // m2 misses h-3.
        delivered("h-0", "m2", m2, 1500),
        delivered("h-2", "m2", m2, 500),
        // The attacker receives m1; the origin never counts its own message.
        delivered("e-0", "m1", m1, 700),
        delivered("h-0", "m1", m1, 1),
        // The attacker's message is rejected twice.
        rec(
            T0 + 1,
            "h-0",
            Event::Rejected {
                msg_id: "bad".into(),
                from: "PE".into(),
                reason: "invalid signature".into(),
            },
        ),
        rec(
            T0 + 2,
            "h-2",
            Event::Rejected {
                msg_id: "bad".into(),
                from: "PE".into(),
                reason: "invalid signature".into(),
            },
        ),
        // Scores of the attacker: second 1: -50, -20 (median -35);
        // second 2: -300, -20, -150 (median -150).
        scores("h-0", T0 + 1_000_000_000, -50.0),
        scores("h-1", T0 + 1_200_000_000, -20.0),
        scores("h-0", T0 + 2_500_000_000, -300.0),
        scores("h-2", T0 + 2_600_000_000, -150.0),
        // The attacker's own view does not count.
        scores("e-0", T0 + 2_700_000_000, -9999.0),
        // One-way 25.2, 25.4, 25.5 ms against 25 ms imposed.
        ping("h-0", 50_400),
        ping("h-1", 50_800),
        ping("h-2", 51_000),
        // Before the reference time: ignored.
        rec(
            T0 - 1,
            "h-3",
            Event::Ping {
                peer: "x".into(),
                rtt_us: 2,
            },
        ),
        // A node the plan does not know.
        published("stranger", "m9", T0),
        // Published before and after the measurement window: not in the sample, even
        // though they were delivered (the late one only partly).
        published("h-0", "early", T0 - 2_000_000_000),
        delivered("h-1", "early", T0 - 2_000_000_000, 90_000),
        published("h-2", "late", T0 + 3_000_000_000),
        delivered("h-3", "late", T0 + 3_000_000_000, 90_000),
    ];
    v.reverse(); // order must not matter
    v
}

/// [`events`] analysed over a window from [`T0`] to 3 s later.
pub(super) fn synthetic_stats() -> Stats {
    let window = Window {
        traffic_ns: T0,
        start_ns: T0,
        end_ns: T0 + 3_000_000_000,
    };
    compute(&events(), &test_plan(), Some(window))
}
