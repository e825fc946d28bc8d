//! Reconstructs the topic parts of each peer's gossipsub score (P1 time in mesh, P2 first
//! deliveries, P3 mesh delivery deficit, P3b the deficit a peer carried out of the mesh)
//! from what this node sees, because libp2p reports only the total. The counters follow libp2p-gossipsub 0.50's `peer_score` rules: a
//! delivery adds one to P2 and, while the peer is in the mesh, to P3 (each capped); every
//! decay interval multiplies them by their decay and zeroes what falls below
//! `decay_to_zero`; P3 applies after the activation time in the mesh, as the squared
//! deficit below the threshold; a peer leaving the mesh with an active deficit adds its
//! square to the P3b counter, which decays with its own decay. Only first copies are seen here (libp2p also counts a
//! duplicate arriving within the P3 window), so the P3 counter is a lower bound.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lab_events::ScoreParts;
use libp2p::PeerId;

use crate::config::GossipsubSettings;

/// Per-peer counters.
#[derive(Debug, Clone)]
struct Counters {
    /// When the peer joined the mesh, while it is in it.
    mesh_since: Option<Instant>,
    first: f64,
    mesh: f64,
    /// P3b: squared deficits carried out of the mesh.
    failure: f64,
    /// The last decay boundary applied.
    decayed_at: Instant,
}

/// The reconstructed score parts of every peer this node has seen deliver or mesh.
#[derive(Debug)]
pub struct ScoreLedger {
    s: GossipsubSettings,
    interval: Duration,
    peers: HashMap<PeerId, Counters>,
}

impl ScoreLedger {
    /// A ledger with the node's score parameters.
    pub fn new(s: &GossipsubSettings) -> Self {
        ScoreLedger {
            s: s.clone(),
            interval: Duration::from_millis(s.decay_interval_ms.max(1)),
            peers: HashMap::new(),
        }
    }

    fn counters(&mut self, peer: PeerId, now: Instant) -> &mut Counters {
        let c = self.peers.entry(peer).or_insert(Counters {
            mesh_since: None,
            first: 0.0,
            mesh: 0.0,
            failure: 0.0,
            decayed_at: now,
        });
        let steps =
            now.saturating_duration_since(c.decayed_at).as_nanos() / self.interval.as_nanos();
        if steps > 0 {
            let n = i32::try_from(steps).unwrap_or(i32::MAX);
            let zero = self.s.decay_to_zero;
            c.first = decayed(c.first, self.s.first_message_deliveries_decay, n, zero);
            c.mesh = decayed(c.mesh, self.s.mesh_message_deliveries_decay, n, zero);
            c.failure = decayed(c.failure, self.s.mesh_failure_penalty_decay, n, zero);
            c.decayed_at += self.interval * u32::try_from(steps).unwrap_or(u32::MAX);
        }
        c
    }

    /// The node's mesh is now `mesh`: peers joining start their time in mesh; peers leaving
    /// stop it, and carry an active deficit into P3b.
    pub fn on_mesh(&mut self, mesh: &[PeerId], now: Instant) {
        for peer in mesh {
            let c = self.counters(*peer, now);
            c.mesh_since.get_or_insert(now);
        }
        let leaving: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(p, c)| c.mesh_since.is_some() && !mesh.contains(p))
            .map(|(p, _)| *p)
            .collect();
        let activation = Duration::from_millis(self.s.mesh_message_deliveries_activation_ms);
        let threshold = self.s.mesh_message_deliveries_threshold;
        for peer in leaving {
            let c = self.counters(peer, now);
            let active = c
                .mesh_since
                .is_some_and(|t| now.saturating_duration_since(t) >= activation);
            if active && c.mesh < threshold {
                let deficit = threshold - c.mesh;
                c.failure += deficit * deficit;
            }
            c.mesh_since = None;
        }
    }

    /// `from` delivered a message first (validated and accepted).
    pub fn on_delivery(&mut self, from: PeerId, now: Instant) {
        let first_cap = self.s.first_message_deliveries_cap;
        let mesh_cap = self.s.mesh_message_deliveries_cap;
        let c = self.counters(from, now);
        c.first = (c.first + 1.0).min(first_cap);
        if c.mesh_since.is_some() {
            c.mesh = (c.mesh + 1.0).min(mesh_cap);
        }
    }

    /// A peer disconnected: its counters go (libp2p retains them for `retain_score`, but
    /// the snapshot names connected peers only).
    pub fn forget(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// The peer's reconstructed parts now, if it was ever seen.
    pub fn parts(&mut self, peer: PeerId, now: Instant) -> Option<ScoreParts> {
        if !self.peers.contains_key(&peer) {
            return None;
        }
        let s = self.s.clone();
        let c = self.counters(peer, now);
        let in_mesh_for = c.mesh_since.map(|t| now.saturating_duration_since(t));
        let quantum = Duration::from_millis(s.time_in_mesh_quantum_ms.max(1));
        let p1 = in_mesh_for.map_or(0.0, |d| {
            (d.as_secs_f64() / quantum.as_secs_f64()).min(s.time_in_mesh_cap)
        }) * s.time_in_mesh_weight;
        let p2 = c.first * s.first_message_deliveries_weight;
        let active = in_mesh_for
            .is_some_and(|d| d >= Duration::from_millis(s.mesh_message_deliveries_activation_ms));
        let deficit = (s.mesh_message_deliveries_threshold - c.mesh).max(0.0);
        let p3 = if active {
            deficit * deficit * s.mesh_message_deliveries_weight
        } else {
            0.0
        };
        let p3b = c.failure * s.mesh_failure_penalty_weight;
        let w = s.topic_weight;
        Some(ScoreParts {
            in_mesh: c.mesh_since.is_some(),
            p1: p1 * w,
            p2: p2 * w,
            p3: p3 * w,
            p3b: p3b * w,
            mesh_deliveries: c.mesh,
        })
    }
}

/// `v` after `n` decays, zero below `zero`.
fn decayed(v: f64, decay: f64, n: i32, zero: f64) -> f64 {
    let d = v * decay.powi(n);
    if d < zero { 0.0 } else { d }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> PeerId {
        PeerId::random()
    }

    #[test]
    fn a_silent_mesh_peer_gets_the_squared_deficit_after_activation() {
        let s = GossipsubSettings::default();
        let mut l = ScoreLedger::new(&s);
        let p = peer();
        let t0 = Instant::now();
        l.on_mesh(&[p], t0);
        let before = l.parts(p, t0 + Duration::from_secs(9)).expect("seen");
        assert_eq!(before.p3, 0.0, "not active before 10 s");
        let after = l.parts(p, t0 + Duration::from_secs(11)).expect("seen");
        assert_eq!(after.p3, -100.0, "threshold 10, no deliveries: -(10²)");
        assert!((after.p1 - 0.11).abs() < 1e-9, "11 s × 0.01");
        assert!(after.in_mesh);
    }

    #[test]
    fn deliveries_decay_per_interval_and_fill_the_deficit() {
        let s = GossipsubSettings::default();
        let mut l = ScoreLedger::new(&s);
        let p = peer();
        let t0 = Instant::now();
        l.on_mesh(&[p], t0);
        for _ in 0..8 {
            l.on_delivery(p, t0);
        }
        // 11 decays of 0.97: 8 × 0.97^11 = 5.37; deficit 4.63, squared 21.4.
        let parts = l
            .parts(p, t0 + Duration::from_millis(11_500))
            .expect("seen");
        let counter = 8.0 * 0.97f64.powi(11);
        assert!((parts.mesh_deliveries - counter).abs() < 1e-9);
        assert!((parts.p3 + (10.0 - counter).powi(2)).abs() < 1e-9);
        assert!((parts.p2 - 0.5 * 8.0 * 0.99f64.powi(11)).abs() < 1e-9);
    }

    #[test]
    fn deliveries_outside_the_mesh_count_for_p2_only_and_leaving_stops_p1_and_p3() {
        let s = GossipsubSettings::default();
        let mut l = ScoreLedger::new(&s);
        let p = peer();
        let t0 = Instant::now();
        l.on_delivery(p, t0);
        let parts = l.parts(p, t0).expect("seen");
        assert_eq!(parts.mesh_deliveries, 0.0);
        assert_eq!(parts.p2, 0.5);
        l.on_mesh(&[p], t0);
        l.on_mesh(&[], t0 + Duration::from_secs(20));
        let parts = l.parts(p, t0 + Duration::from_secs(21)).expect("seen");
        assert!(!parts.in_mesh);
        assert_eq!((parts.p1, parts.p3), (0.0, 0.0));
        // It left with no mesh delivery after 20 s: P3b = -(10²), decayed once by 0.95.
        assert!((parts.p3b + 100.0 * 0.95).abs() < 1e-9, "{parts:?}");
        assert!(l.parts(peer(), t0).is_none());
    }

    #[test]
    fn a_peer_leaving_before_activation_or_without_deficit_carries_no_p3b() {
        let s = GossipsubSettings::default();
        let mut l = ScoreLedger::new(&s);
        let (early, full) = (peer(), peer());
        let t0 = Instant::now();
        l.on_mesh(&[early, full], t0);
        for _ in 0..20 {
            l.on_delivery(full, t0);
        }
        l.on_mesh(&[full], t0 + Duration::from_secs(5));
        l.on_mesh(&[], t0 + Duration::from_secs(12));
        let at = t0 + Duration::from_secs(12);
        assert_eq!(
            l.parts(early, at).expect("seen").p3b,
            0.0,
            "before activation"
        );
        // 20 × 0.97^12 = 13.8 ≥ 10 when it left.
        assert_eq!(l.parts(full, at).expect("seen").p3b, 0.0, "no deficit");
    }

    #[test]
    fn small_counters_decay_to_zero() {
        let s = GossipsubSettings::default();
        let mut l = ScoreLedger::new(&s);
        let p = peer();
        let t0 = Instant::now();
        l.on_mesh(&[p], t0);
        l.on_delivery(p, t0);
        // 0.97^76 = 0.099 < decay_to_zero 0.1.
        let parts = l.parts(p, t0 + Duration::from_secs(76)).expect("seen");
        assert_eq!(parts.mesh_deliveries, 0.0);
    }
}
