//! Connection handshakes (`handshake` events, one per established connection at each end,
//! times already virtual): per (transport, security protocol, key-exchange group), the
//! connections, the handshake time from dial to established (p50/p95/p99, max) and the
//! median bytes the security handshake exchanged. Only the dialler's records count: each
//! connection once, timed from its dial (the listener's record times accept to
//! established). The whole run counts, not just the window: most connections come up
//! before traffic starts. A dial that began before its listener had started (its `started`
//! record) is left out and counted apart (`early_dials`): its time is the wait for the
//! peer's container to boot (a testnet's nodes start one after another, and the first
//! ones dial planned peers that are not up yet), not a handshake. QUIC's group is `unknown` (libp2p-quic does not expose it; the
//! node's wire test shows it) and its bytes are not seen.

use std::collections::BTreeMap;

use lab_events::{Event, Record};
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::latency::{histogram, quantile};
use super::median::median_u64;

/// The run's handshakes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandshakeStats {
    /// One row per (transport, security, group), sorted by them.
    pub rows: Vec<HandshakeRow>,
    /// Every outbound handshake's time, all rows together: what `handshake_p95` and
    /// `handshake_p99` are checked against.
    pub all: HandshakeTimes,
    /// Outbound handshakes left out: dialled before the listener had started.
    pub early_dials: u64,
}

/// Handshake times, ms (virtual).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandshakeTimes {
    /// Connections timed.
    pub connections: u64,
    /// Median.
    pub p50_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// Largest.
    pub max_ms: Option<f64>,
}

/// One kind of handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandshakeRow {
    /// `tcp`, `quic` or `relay`.
    pub transport: String,
    /// `tls`, `noise`, `quic-tls` or `unknown`.
    pub security: String,
    /// The negotiated group (`X25519MLKEM768`, `X25519`, `unknown`).
    pub group: String,
    /// Its times.
    pub times: HandshakeTimes,
    /// Median bytes of one security handshake (both directions); `None` where not seen.
    pub median_bytes: Option<u64>,
}

/// The times of `us` (µs samples) in ms.
fn times(us: &[u64]) -> HandshakeTimes {
    let h = histogram(us);
    let max = us.iter().max().copied();
    // The histogram reports a bucket's highest value: never above the exact largest.
    let ms = |q: f64| {
        quantile(&h, q)
            .zip(max)
            .map(|(v, m)| v.min(m) as f64 / 1000.0)
    };
    HandshakeTimes {
        connections: us.len() as u64,
        p50_ms: ms(0.5),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: max.map(|v| v as f64 / 1000.0),
    }
}

/// The handshakes of the plan's nodes; `None` without a `handshake` event.
pub(super) fn handshakes(records: &[Record], index: &Index) -> Option<HandshakeStats> {
    type Key<'a> = (&'a str, &'a str, &'a str);
    let mut by: BTreeMap<Key<'_>, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
    let mut all = Vec::new();
    let mut started: Vec<Option<u64>> = vec![None; index.nodes()];
    for r in records {
        if let (Event::Started { .. }, Some(i)) = (&r.event, index.of(r)) {
            started[i].get_or_insert(r.ts_ns);
        }
    }
    let mut early_dials = 0;
    for r in records.iter().filter(|r| index.of(r).is_some()) {
        if let Event::Handshake {
            outbound: true,
            peer,
            transport,
            security,
            group,
            established_us,
            handshake_bytes,
            ..
        } = &r.event
        {
            let dialled_ns = r.ts_ns.saturating_sub(established_us.saturating_mul(1000));
            let listener_started = index
                .peer_node
                .get(peer.as_str())
                .and_then(|&i| started.get(i).copied().flatten());
            if listener_started.is_some_and(|s| dialled_ns < s) {
                early_dials += 1;
                continue;
            }
            let (t, b) = by.entry((transport, security, group)).or_default();
            t.push(*established_us);
            b.extend(handshake_bytes);
            all.push(*established_us);
        }
    }
    if all.is_empty() && early_dials == 0 {
        return None;
    }
    let rows = by
        .into_iter()
        .map(|((transport, security, group), (t, mut b))| {
            b.sort_unstable();
            HandshakeRow {
                transport: transport.to_string(),
                security: security.to_string(),
                group: group.to_string(),
                times: times(&t),
                median_bytes: median_u64(&b),
            }
        })
        .collect();
    Some(HandshakeStats {
        rows,
        all: times(&all),
        early_dials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture::{T0, rec, started, test_plan};

    fn hs(node: &str, outbound: bool, transport: &str, group: &str, us: u64, bytes: u64) -> Record {
        hs_with("p", T0, node, outbound, transport, group, us, bytes)
    }

    #[allow(clippy::too_many_arguments)]
    fn hs_with(
        peer: &str,
        ts_ns: u64,
        node: &str,
        outbound: bool,
        transport: &str,
        group: &str,
        us: u64,
        bytes: u64,
    ) -> Record {
        rec(
            ts_ns,
            node,
            Event::Handshake {
                peer: peer.into(),
                outbound,
                transport: transport.into(),
                security: if transport == "quic" {
                    "quic-tls"
                } else {
                    "tls"
                }
                .into(),
                group: group.into(),
                established_us: us,
                handshake_bytes: (transport != "quic").then_some(bytes),
            },
        )
    }

    #[test]
    fn rows_count_the_diallers_by_kind() {
        let plan = test_plan();
        let records = vec![
            hs("h-0", true, "tcp", "X25519MLKEM768", 4_000, 3_800),
            hs("h-1", true, "tcp", "X25519MLKEM768", 6_000, 3_790),
            hs("h-2", true, "tcp", "X25519MLKEM768", 5_000, 3_810),
            // The listener's side of a connection: not counted again.
            hs("h-3", false, "tcp", "X25519MLKEM768", 1_000, 3_800),
            hs("h-1", true, "tcp", "X25519", 3_000, 1_500),
            hs("h-2", true, "quic", "unknown", 2_000, 0),
            // A node the plan does not know.
            hs("stranger", true, "tcp", "X25519", 9_000, 1),
        ];
        let index = Index::new(&records, &plan, None);
        let s = handshakes(&records, &index).expect("handshakes");
        assert_eq!(s.early_dials, 0);
        let keys: Vec<(&str, &str)> = s
            .rows
            .iter()
            .map(|r| (r.transport.as_str(), r.group.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("quic", "unknown"),
                ("tcp", "X25519"),
                ("tcp", "X25519MLKEM768")
            ]
        );
        let hybrid = &s.rows[2];
        assert_eq!(hybrid.times.connections, 3);
        // The histogram keeps 3 significant digits.
        assert!(
            hybrid
                .times
                .p50_ms
                .is_some_and(|ms| (ms - 5.0).abs() < 0.01)
        );
        assert_eq!(hybrid.times.max_ms, Some(6.0));
        assert_eq!(hybrid.median_bytes, Some(3_800));
        assert_eq!(s.rows[0].median_bytes, None);
        assert_eq!(s.all.connections, 5);
        assert_eq!(s.all.max_ms, Some(6.0));
        assert!(s.all.p99_ms <= s.all.max_ms);
        let none = Index::new(&[], &plan, None);
        assert_eq!(handshakes(&[], &none), None);
    }

    #[test]
    fn a_dial_before_the_listener_started_is_left_out() {
        let plan = test_plan();
        let ms = 1_000_000;
        let mut late = started("h-1", "P1");
        late.ts_ns = T0 + 500 * ms;
        let records = vec![
            late,
            // Dialled at T0 + 100 ms, before h-1 started: waited for it to boot.
            hs_with(
                "P1",
                T0 + 900 * ms,
                "h-0",
                true,
                "tcp",
                "X25519MLKEM768",
                800_000,
                1,
            ),
            // Dialled at T0 + 600 ms, after.
            hs_with(
                "P1",
                T0 + 800 * ms,
                "h-2",
                true,
                "tcp",
                "X25519MLKEM768",
                200_000,
                1,
            ),
        ];
        let index = Index::new(&records, &plan, None);
        let s = handshakes(&records, &index).expect("handshakes");
        assert_eq!(s.early_dials, 1);
        assert_eq!(s.all.connections, 1);
        assert_eq!(s.all.max_ms, Some(200.0));
    }
}
