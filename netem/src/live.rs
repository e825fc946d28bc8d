//! Link changes at run time (`labshaper host --live`): a timeline's `link` action gives some
//! nodes another link for a while, both ways. [`LiveLinks`] is the one table of changed
//! nodes, written by the main thread as `set`/`reset` lines arrive
//! ([`lab_config::HostLine`]) and read by every delay line: a namespace whose own node is
//! changed delays (and drops) every packet it receives by the node's new link; any other
//! namespace does so for the packets that come from a changed node's address. A packet
//! between two changed nodes crosses the receiver's new link once.
//!
//! Each delay line keeps a [`Live`] view: it looks at the table's version once per batch
//! of packets (one atomic load) and rebuilds its samplers only when it changed. Packets
//! already held keep the delay they were given.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lab_config::LinkShape;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::scheduler::JitterSampler;

/// The changed nodes: by process (the namespace it shapes) and by address (its packets
/// wherever they arrive).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// A changed node's link, by its process id.
    pub by_pid: HashMap<u32, LinkShape>,
    /// A changed node's link, by its address.
    pub by_addr: HashMap<Ipv4Addr, LinkShape>,
}

/// The run's table of changed links, shared by the main thread and every delay line.
#[derive(Debug, Default)]
pub struct LiveLinks {
    version: AtomicU64,
    changes: Mutex<Arc<Changes>>,
}

impl LiveLinks {
    /// A table with no change.
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on the node of `pid` at `addr` has `shape` both ways.
    pub fn set(&self, pid: u32, addr: Ipv4Addr, shape: LinkShape) {
        self.update(|c| {
            c.by_pid.insert(pid, shape.clone());
            c.by_addr.insert(addr, shape);
        });
    }

    /// The node of `pid` at `addr` has the run's links again.
    pub fn reset(&self, pid: u32, addr: Ipv4Addr) {
        self.update(|c| {
            c.by_pid.remove(&pid);
            c.by_addr.remove(&addr);
        });
    }

    fn update(&self, change: impl FnOnce(&mut Changes)) {
        // A panic elsewhere while holding the lock leaves a whole table behind: use it.
        let mut guard = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = (**guard).clone();
        change(&mut next);
        *guard = Arc::new(next);
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Bumped on every change.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The table as it is now, with its version.
    pub fn snapshot(&self) -> (u64, Arc<Changes>) {
        let guard = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        (self.version(), guard.clone())
    }
}

/// A changed link's delay and loss, as one delay line draws them.
#[derive(Debug, Clone)]
struct Drawn {
    delays: JitterSampler,
    loss: f64,
}

impl Drawn {
    fn new(shape: &LinkShape, seed: u64) -> Self {
        Drawn {
            delays: JitterSampler::new(shape.delay, shape.jitter, seed),
            loss: shape.loss,
        }
    }

    fn draw(&mut self, rng: &mut SmallRng) -> Option<Duration> {
        if self.loss > 0.0 && rng.random_bool(self.loss.min(1.0)) {
            return None;
        }
        Some(self.delays.sample())
    }
}

/// One delay line's view of the [`LiveLinks`]: the new link of its own node, if changed,
/// and of each changed sender.
#[derive(Debug)]
pub struct Live {
    links: Arc<LiveLinks>,
    pid: u32,
    seed: u64,
    seen: Option<u64>,
    own: Option<Drawn>,
    from: HashMap<Ipv4Addr, Drawn>,
    rng: SmallRng,
}

impl Live {
    /// The view of the delay line of the namespace of `pid`, seeded with `seed`.
    pub fn new(links: Arc<LiveLinks>, pid: u32, seed: u64) -> Self {
        Live {
            links,
            pid,
            seed,
            seen: None,
            own: None,
            from: HashMap::new(),
            rng: SmallRng::seed_from_u64(seed.rotate_left(17)),
        }
    }

    /// Takes in the table if it changed since last looked at; whether it did.
    pub fn refresh(&mut self) -> bool {
        if !self.is_stale() {
            return false;
        }
        let (version, changes) = self.links.snapshot();
        self.seen = Some(version);
        let seed = self.seed.wrapping_add(version);
        self.own = changes.by_pid.get(&self.pid).map(|s| Drawn::new(s, seed));
        // Seeded by address, not by the map's order, so that a run can be repeated.
        self.from = changes
            .by_addr
            .iter()
            .map(|(&addr, s)| {
                let seed = seed.wrapping_add(u64::from(u32::from(addr)) << 8);
                (addr, Drawn::new(s, seed))
            })
            .collect();
        true
    }

    /// Whether the table changed since [`Self::refresh`] last looked (one atomic load).
    pub fn is_stale(&self) -> bool {
        self.seen != Some(self.links.version())
    }

    /// The fate of a packet from `source` when a changed link carries it: `Some(None)`
    /// dropped, `Some(Some(delay))` held; `None` when the run's own link carries it.
    pub fn sample(&mut self, source: Option<Ipv4Addr>) -> Option<Option<Duration>> {
        let Live { own, from, rng, .. } = self;
        if let Some(d) = own {
            return Some(d.draw(rng));
        }
        let d = from.get_mut(&source?)?;
        Some(d.draw(rng))
    }

    /// The shortest delay a changed link can draw now (`None`: no change in force).
    pub fn min_delay(&self) -> Option<Duration> {
        self.own
            .iter()
            .chain(self.from.values())
            .map(|d| d.delays.min_delay())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

    #[test]
    fn a_changed_node_gets_its_link_both_ways_until_reset() {
        let links = Arc::new(LiveLinks::new());
        // The namespace of pid 100 (node A) and of pid 200 (node B).
        let mut at_a = Live::new(links.clone(), 100, 1);
        let mut at_b = Live::new(links.clone(), 200, 2);
        assert!(at_a.refresh());
        assert_eq!(at_a.sample(Some(B)), None, "no change yet: the run's link");
        assert_eq!(at_a.min_delay(), None);
        assert!(!at_a.refresh(), "nothing changed since");

        links.set(100, A, LinkShape::from_micros(125_000, 0, 0.0));
        assert!(at_a.refresh() && at_b.refresh());
        // A receives everything over its new link, whoever sends.
        assert_eq!(at_a.sample(Some(B)), Some(Some(ms(125))));
        assert_eq!(at_a.sample(None), Some(Some(ms(125))));
        // B receives A's packets over A's new link, others' over its own.
        assert_eq!(at_b.sample(Some(A)), Some(Some(ms(125))));
        assert_eq!(at_b.sample(Some(Ipv4Addr::new(10, 0, 0, 9))), None);
        assert_eq!(at_b.sample(None), None);
        assert_eq!(at_b.min_delay(), Some(ms(125)));

        links.reset(100, A);
        assert!(at_a.refresh() && at_b.refresh());
        assert_eq!(at_a.sample(Some(B)), None);
        assert_eq!(at_b.sample(Some(A)), None);
    }

    #[test]
    fn between_two_changed_nodes_the_receivers_link_counts() {
        let links = Arc::new(LiveLinks::new());
        links.set(100, A, LinkShape::from_micros(50_000, 0, 0.0));
        links.set(200, B, LinkShape::from_micros(80_000, 0, 0.0));
        let mut at_b = Live::new(links, 200, 3);
        at_b.refresh();
        assert_eq!(at_b.sample(Some(A)), Some(Some(ms(80))));
        assert_eq!(at_b.min_delay(), Some(ms(50)));
    }

    #[test]
    fn a_lossy_change_drops_about_its_share() {
        let links = Arc::new(LiveLinks::new());
        links.set(100, A, LinkShape::from_micros(1_000, 0, 0.2));
        let mut at_a = Live::new(links, 100, 4);
        at_a.refresh();
        let dropped = (0..10_000)
            .filter(|_| at_a.sample(Some(B)) == Some(None))
            .count();
        // Binomial(10 000, 0.2): sd 40.
        assert!((1_850..=2_150).contains(&dropped), "{dropped}");
    }
}
