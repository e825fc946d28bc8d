//! Scheduled Kademlia queries (the configuration's `[dht]` table), so that a lab measures
//! DHT lookups (spec §7.4: < 500 ms, > 100 queries/s across the network).
//!
//! Once the node has joined its mesh (it has peers, and identify has filled its routing
//! table), it runs, each at its own rate:
//!
//! - **closest**: `get_closest_peers` of a random key; it succeeds when it finishes without
//!   a timeout having found at least one peer;
//! - **provide**: `start_providing` of a fresh key; it succeeds when the record was put
//!   without a timeout. Right after it, a
//! - **providers** lookup: `get_providers` of a key a peer provided two rounds earlier; it
//!   succeeds at the first provider a peer reports (the query is then stopped: that is the
//!   time a user waits). A node that stores the record itself (it is among the key's k
//!   closest: every node of a testnet of up to k = 20 nodes) has the answer at once;
//!   that answer is not counted, the walk goes on to the first peer's, so that the time is
//!   a lookup's and not a read of the node's own store. Should no peer report a provider,
//!   the node's own record makes the lookup succeed when the walk ends.
//!
//! Keys are derived, not drawn: round `r` of the node with peer id `p` provides
//! `blake3("meshlab dht provide" ‖ p ‖ r)`, so that any node can name the keys every other
//! node provides from its peer id alone. A providers lookup picks a peer of its routing
//! table (by a hash of its own id and round, so a run is reproducible) and asks for that
//! peer's round `r − 2`: nodes share one rate and join within seconds of each other, so the
//! peer has provided it unless it joined two provide periods late (then the lookup fails
//! with `no provider found`, and counts as such). Closest lookups use
//! `blake3("meshlab dht closest" ‖ p ‖ n)`, spread evenly over the id space.
//!
//! The event loop forwards every Kademlia event here; queries the node did not start here
//! (its own-id join lookups, `redial.rs`) are left alone.

use std::collections::HashMap;
use std::time::Duration;

use lab_config::DhtConfig;
use lab_events::Event;
use libp2p::PeerId;
use libp2p::kad::{self, QueryId, QueryResult, store::MemoryStore};
use tokio::time::Instant;

use crate::metrics::DhtMetrics;

type Kad = kad::Behaviour<MemoryStore>;

/// What a scheduled query does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `get_closest_peers` of a random key.
    Closest,
    /// `start_providing` of a fresh key.
    Provide,
    /// `get_providers` of a key a peer provided.
    Providers,
}

impl Kind {
    /// The name in events and metrics.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Closest => "closest",
            Kind::Provide => "provide",
            Kind::Providers => "providers",
        }
    }
}

/// One rate's schedule: its period (real time) and its next due instant once started.
struct Schedule {
    period: Duration,
    next: Option<Instant>,
}

impl Schedule {
    /// A schedule of `per_min` a minute (real time), `None` when 0.
    fn new(per_min: f64) -> Option<Self> {
        (per_min > 0.0 && per_min.is_finite()).then(|| Schedule {
            period: Duration::from_secs_f64(60.0 / per_min),
            next: None,
        })
    }

    /// Whether it is due at `now`; if so the next one is scheduled a period later (or a
    /// period from now, when the loop fell behind).
    fn take(&mut self, now: Instant) -> bool {
        match self.next {
            Some(at) if at <= now => {
                let next = at + self.period;
                self.next = Some(if next <= now { now + self.period } else { next });
                true
            }
            _ => false,
        }
    }
}

/// A query in flight.
struct Running {
    kind: Kind,
    since: Instant,
    /// Providers the node's own store gave (a `providers` lookup).
    local: u64,
}

impl Running {
    fn new(kind: Kind, since: Instant) -> Self {
        Running {
            kind,
            since,
            local: 0,
        }
    }
}

/// The node's scheduled queries and those in flight.
pub(crate) struct Lookups {
    local: PeerId,
    closest: Option<Schedule>,
    provide: Option<Schedule>,
    running: HashMap<QueryId, Running>,
    /// Closest lookups started.
    closest_n: u64,
    /// Provide rounds started.
    rounds: u64,
    metrics: DhtMetrics,
}

impl Lookups {
    /// The schedule of `config` (real rates) for the node `local`; nothing runs before
    /// [`Lookups::start`].
    pub(crate) fn new(local: PeerId, config: &DhtConfig, metrics: DhtMetrics) -> Self {
        Lookups {
            local,
            closest: Schedule::new(config.lookups_per_min),
            provide: Schedule::new(config.provides_per_min),
            running: HashMap::new(),
            closest_n: 0,
            rounds: 0,
            metrics,
        }
    }

    /// Starts the schedules (once): the first query of each kind a period from now.
    pub(crate) fn start(&mut self) {
        let now = Instant::now();
        for s in [&mut self.closest, &mut self.provide].into_iter().flatten() {
            if s.next.is_none() {
                s.next = Some(now + s.period);
            }
        }
    }

    /// When a query is next due; `None` before the start or with every rate off.
    pub(crate) fn next_at(&self) -> Option<Instant> {
        [&self.closest, &self.provide]
            .into_iter()
            .flatten()
            .filter_map(|s| s.next)
            .min()
    }

    /// Starts the queries that are due; returns the events of those that failed at once.
    pub(crate) fn run_due(&mut self, kad: &mut Kad) -> Vec<Event> {
        let now = Instant::now();
        let mut failed = Vec::new();
        if self.closest.as_mut().is_some_and(|s| s.take(now)) {
            let random = key(b"meshlab dht closest", &self.local, self.closest_n);
            self.closest_n += 1;
            let id = kad.get_closest_peers(random.to_vec());
            self.running.insert(id, Running::new(Kind::Closest, now));
        }
        if self.provide.as_mut().is_some_and(|s| s.take(now)) {
            let round = self.rounds;
            self.rounds += 1;
            let own = key(b"meshlab dht provide", &self.local, round);
            match kad.start_providing(kad::RecordKey::new(&own)) {
                Ok(id) => {
                    self.running.insert(id, Running::new(Kind::Provide, now));
                }
                Err(e) => {
                    failed.push(self.ended(Kind::Provide, now, false, 0, Some(e.to_string())))
                }
            }
            if let Some(peer) = round
                .checked_sub(2)
                .and_then(|_| self.pick_peer(kad, round))
            {
                let wanted = key(b"meshlab dht provide", &peer, round - 2);
                let id = kad.get_providers(kad::RecordKey::new(&wanted));
                self.running.insert(id, Running::new(Kind::Providers, now));
            }
        }
        failed
    }

    /// A peer of the routing table, picked by a hash of our id and `round`.
    fn pick_peer(&self, kad: &mut Kad, round: u64) -> Option<PeerId> {
        let mut peers: Vec<PeerId> = kad
            .kbuckets()
            .flat_map(|b| b.iter().map(|e| *e.node.key.preimage()).collect::<Vec<_>>())
            .collect();
        if peers.is_empty() {
            return None;
        }
        peers.sort();
        let h = key(b"meshlab dht pick", &self.local, round);
        let n = u64::from_le_bytes(h[..8].try_into().unwrap_or_default());
        peers.get((n % peers.len() as u64) as usize).copied()
    }

    /// A Kademlia event: the `dht_query` event of one of our queries that ended.
    pub(crate) fn on_event(&mut self, kad: &mut Kad, event: &kad::Event) -> Option<Event> {
        let kad::Event::OutboundQueryProgressed {
            id,
            result,
            step,
            stats,
        } = event
        else {
            return None;
        };
        let running = self.running.get_mut(id)?;
        let (kind, since) = (running.kind, running.since);
        let ended = match result {
            QueryResult::GetClosestPeers(Ok(ok)) => {
                let found = ok.peers.len() as u64;
                Some((
                    found > 0,
                    found,
                    (found == 0).then(|| "no peer found".to_string()),
                ))
            }
            QueryResult::GetClosestPeers(Err(kad::GetClosestPeersError::Timeout {
                peers, ..
            })) => Some((false, peers.len() as u64, Some("timeout".to_string()))),
            QueryResult::StartProviding(Ok(_)) => Some((true, 0, None)),
            QueryResult::StartProviding(Err(e)) => Some((false, 0, Some(e.to_string()))),
            QueryResult::GetProviders(Ok(kad::GetProvidersOk::FoundProviders {
                providers,
                ..
            })) if stats.num_requests() == 0 => {
                // From the node's own store, before any peer was asked.
                running.local = providers.len() as u64;
                None
            }
            QueryResult::GetProviders(Ok(kad::GetProvidersOk::FoundProviders {
                providers,
                ..
            })) if !providers.is_empty() => {
                if let Some(mut q) = kad.query_mut(id) {
                    q.finish();
                }
                Some((true, providers.len() as u64, None))
            }
            QueryResult::GetProviders(Ok(_)) => step.last.then(|| match running.local {
                0 => (false, 0, Some("no provider found".to_string())),
                n => (true, n, None),
            }),
            QueryResult::GetProviders(Err(e)) => Some((false, 0, Some(e.to_string()))),
            _ => step
                .last
                .then(|| (false, 0, Some("unexpected result".to_string()))),
        };
        let (ok, found, reason) = ended?;
        self.running.remove(id);
        Some(self.ended(kind, since, ok, found, reason))
    }

    /// The event and metrics of a query of `kind` started at `since` that ended now.
    fn ended(
        &self,
        kind: Kind,
        since: Instant,
        ok: bool,
        found: u64,
        reason: Option<String>,
    ) -> Event {
        let took = since.elapsed();
        self.metrics.record(kind.name(), ok, took);
        Event::DhtQuery {
            kind: kind.name().to_string(),
            ok,
            duration_us: u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            found,
            reason,
        }
    }
}

/// The key `blake3(domain ‖ peer ‖ n)`.
fn key(domain: &[u8], peer: &PeerId, n: u64) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(domain);
    h.update(&peer.to_bytes());
    h.update(&n.to_le_bytes());
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_runs_once_a_period_and_catches_up_without_a_burst() {
        let mut s = Schedule::new(60.0).expect("on");
        let t0 = Instant::now();
        assert!(!s.take(t0), "not started");
        s.next = Some(t0);
        assert!(s.take(t0));
        assert!(!s.take(t0 + Duration::from_millis(500)));
        assert!(s.take(t0 + Duration::from_secs(1)));
        // Ten periods late: one query, the next a period later.
        assert!(s.take(t0 + Duration::from_secs(12)));
        assert!(!s.take(t0 + Duration::from_secs(12)));
        assert_eq!(s.next, Some(t0 + Duration::from_secs(13)));
        assert!(Schedule::new(0.0).is_none());
    }

    #[test]
    fn keys_are_derived_from_the_peer_and_round() {
        let p = PeerId::random();
        let q = PeerId::random();
        assert_eq!(key(b"a", &p, 1), key(b"a", &p, 1));
        assert_ne!(key(b"a", &p, 1), key(b"a", &p, 2));
        assert_ne!(key(b"a", &p, 1), key(b"a", &q, 1));
        assert_ne!(key(b"a", &p, 1), key(b"b", &p, 1));
    }

    #[test]
    fn nothing_is_due_before_the_start_or_when_off() {
        let m = DhtMetrics::default();
        let on = DhtConfig {
            lookups_per_min: 60.0,
            provides_per_min: 0.0,
        };
        let mut l = Lookups::new(PeerId::random(), &on, m.clone());
        assert_eq!(l.next_at(), None);
        l.start();
        assert!(l.next_at().is_some());
        let off = Lookups::new(PeerId::random(), &DhtConfig::default(), m);
        assert_eq!(off.next_at(), None);
    }
}
