//! The delay scheduler: a min-heap of held items keyed by release time, and the sampler
//! that draws each item's delay.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// Draws per-packet delays: `delay + U(-jitter, +jitter)`, truncated at zero.
///
/// Uniform (not normal) jitter, like kernel netem without a distribution table. Drawn in
/// whole nanoseconds (so a ±2.5 ms jitter takes every value in between, not ±2 or ±3 ms)
/// from a seeded generator, so a run can be repeated.
#[derive(Debug, Clone)]
pub struct JitterSampler {
    delay_ns: i64,
    jitter_ns: i64,
    rng: SmallRng,
}

impl JitterSampler {
    /// A sampler for `delay` ± `jitter`, seeded with `seed`.
    pub fn new(delay: Duration, jitter: Duration, seed: u64) -> Self {
        Self {
            delay_ns: duration_to_nanos(delay),
            jitter_ns: duration_to_nanos(jitter),
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// The shortest delay [`Self::sample`] can draw.
    pub fn min_delay(&self) -> Duration {
        let nanos = self.delay_ns.saturating_sub(self.jitter_ns).max(0);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
    }

    /// The next delay; never negative, always within `delay ± jitter`.
    pub fn sample(&mut self) -> Duration {
        let offset = if self.jitter_ns == 0 {
            0
        } else {
            self.rng.random_range(-self.jitter_ns..=self.jitter_ns)
        };
        let nanos = self.delay_ns.saturating_add(offset).max(0);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
    }
}

/// A duration in nanoseconds; `i64` holds 292 years, far beyond any shape's 10 s.
fn duration_to_nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// One held item. Ordered by release time, then by arrival (`seq`), never by the item.
#[derive(Debug)]
struct Held<T> {
    release: Instant,
    seq: u64,
    item: T,
}

impl<T> Held<T> {
    fn key(&self) -> (Instant, u64) {
        (self.release, self.seq)
    }
}

impl<T> PartialEq for Held<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl<T> Eq for Held<T> {}

impl<T> PartialOrd for Held<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Held<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// Items held until their release time, released earliest first. Items with equal release
/// times leave in the order they came in, so a constant delay preserves packet order.
///
/// Its size is bounded by the caller: the kernel stops queueing to user space once the
/// NFQUEUE holds `queue_max_len` packets without a verdict.
#[derive(Debug)]
pub struct DelayQueue<T> {
    heap: BinaryHeap<Reverse<Held<T>>>,
    next_seq: u64,
}

impl<T> Default for DelayQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> DelayQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    /// Holds `item` until `release`.
    pub fn push(&mut self, release: Instant, item: T) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.heap.push(Reverse(Held { release, seq, item }));
    }

    /// When the earliest held item is due, if any is held.
    pub fn next_release(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(held)| held.release)
    }

    /// How long from `now` until the earliest item is due (zero if overdue).
    pub fn time_to_next(&self, now: Instant) -> Option<Duration> {
        self.next_release()
            .map(|release| release.saturating_duration_since(now))
    }

    /// Takes the earliest item if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        match self.heap.peek() {
            Some(Reverse(held)) if held.release <= now => {
                self.heap.pop().map(|Reverse(held)| held.item)
            }
            _ => None,
        }
    }

    /// Takes the earliest item whether due or not (used when shutting down).
    pub fn pop_any(&mut self) -> Option<T> {
        self.heap.pop().map(|Reverse(held)| held.item)
    }

    /// How many items are held.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn releases_in_release_time_order() {
        let t0 = Instant::now();
        let mut q = DelayQueue::new();
        for (i, offset) in [30u64, 10, 50, 20, 40].into_iter().enumerate() {
            q.push(t0 + ms(offset), i);
        }
        assert_eq!(q.next_release(), Some(t0 + ms(10)));
        let mut out = Vec::new();
        while let Some(item) = q.pop_any() {
            out.push(item);
        }
        assert_eq!(out, [1, 3, 0, 4, 2]);
    }

    #[test]
    fn nothing_leaves_before_it_is_due() {
        let t0 = Instant::now();
        let mut q = DelayQueue::new();
        q.push(t0 + ms(25), "a");
        q.push(t0 + ms(5), "b");
        assert_eq!(q.pop_due(t0), None);
        assert_eq!(q.time_to_next(t0), Some(ms(5)));
        assert_eq!(q.pop_due(t0 + ms(5)), Some("b"));
        assert_eq!(q.pop_due(t0 + ms(24)), None);
        assert_eq!(q.time_to_next(t0 + ms(30)), Some(Duration::ZERO));
        assert_eq!(q.pop_due(t0 + ms(30)), Some("a"));
        assert!(q.is_empty());
        assert_eq!(q.time_to_next(t0), None);
    }

    #[test]
    fn constant_delay_preserves_arrival_order() {
        let t0 = Instant::now();
        let mut sampler = JitterSampler::new(ms(25), Duration::ZERO, 7);
        let mut q = DelayQueue::new();
        // Several packets per arrival instant, as when the kernel hands over a burst.
        for i in 0..1000u32 {
            let arrival = t0 + Duration::from_micros(u64::from(i / 4) * 100);
            q.push(arrival + sampler.sample(), i);
        }
        let mut out = Vec::with_capacity(1000);
        while let Some(item) = q.pop_due(t0 + ms(1000)) {
            out.push(item);
        }
        assert_eq!(out, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn zero_jitter_gives_exactly_the_delay() {
        let mut sampler = JitterSampler::new(ms(25), Duration::ZERO, 1);
        assert!((0..100).all(|_| sampler.sample() == ms(25)));
    }

    #[test]
    fn jitter_stays_within_bounds_and_covers_them() {
        let mut sampler = JitterSampler::new(ms(25), ms(5), 42);
        let samples: Vec<Duration> = (0..20_000).map(|_| sampler.sample()).collect();
        let min = samples.iter().min().copied().unwrap_or_default();
        let max = samples.iter().max().copied().unwrap_or_default();
        assert!(min >= ms(20), "min {min:?}");
        assert_eq!(sampler.min_delay(), ms(20));
        assert!(max <= ms(30), "max {max:?}");
        // Uniform: both ends are reached closely and the mean sits in the middle.
        assert!(min < ms(20) + Duration::from_micros(100), "min {min:?}");
        assert!(max > ms(30) - Duration::from_micros(100), "max {max:?}");
        let mean_us = samples.iter().map(|d| d.as_micros()).sum::<u128>() / samples.len() as u128;
        assert!((24_900..=25_100).contains(&mean_us), "mean {mean_us} us");
    }

    #[test]
    fn millisecond_and_a_half_jitter_covers_its_whole_range() {
        // netem/fixed-25ms.toml: 25 ms ± 2.5 ms, as labshaper gets it (`--delay-us 25000
        // --jitter-us 2500`).
        let shape = lab_config::LinkShape {
            delay: Duration::from_micros(25_000),
            jitter: Duration::from_micros(2_500),
            loss: 0.0,
            rate_kbit: None,
        };
        let mut sampler = JitterSampler::new(shape.delay, shape.jitter, 2);
        let samples: Vec<Duration> = (0..10_000).map(|_| sampler.sample()).collect();
        let min = samples.iter().min().copied().unwrap_or_default();
        let max = samples.iter().max().copied().unwrap_or_default();
        let us = Duration::from_micros;
        assert!(min >= us(22_500), "min {min:?}");
        assert!(max <= us(27_500), "max {max:?}");
        // Beyond ±2.4 ms on both sides: a whole-millisecond ±3 ms would fail the bounds
        // above, a truncated ±2 ms these.
        assert!(min < us(22_600), "min {min:?}");
        assert!(max > us(27_400), "max {max:?}");
        // Not whole milliseconds, nor even whole microseconds.
        let sub_ms = samples.iter().filter(|d| d.subsec_nanos() % 1_000_000 != 0);
        assert!(sub_ms.count() > 9_900);
        let sub_us = samples.iter().filter(|d| d.subsec_nanos() % 1_000 != 0);
        assert!(sub_us.count() > 9_900);
        // Uniform: each of ten 0.5 ms bins holds about a tenth (binomial sd 30).
        let mut bins = [0u32; 10];
        for d in &samples {
            let offset_ns = d.as_nanos().saturating_sub(us(22_500).as_nanos());
            let bin = usize::try_from(offset_ns / 500_000).unwrap_or(9).min(9);
            bins[bin] += 1;
        }
        assert!(bins.iter().all(|n| (850..=1150).contains(n)), "{bins:?}");
    }

    #[test]
    fn sub_millisecond_delay_and_jitter_are_kept() {
        // netem/lan.toml: 500 us ± 100 us.
        let mut sampler =
            JitterSampler::new(Duration::from_micros(500), Duration::from_micros(100), 5);
        let samples: Vec<Duration> = (0..10_000).map(|_| sampler.sample()).collect();
        let min = samples.iter().min().copied().unwrap_or_default();
        let max = samples.iter().max().copied().unwrap_or_default();
        assert!(min >= Duration::from_micros(400), "min {min:?}");
        assert!(max <= Duration::from_micros(600), "max {max:?}");
        assert!(min < Duration::from_micros(405), "min {min:?}");
        assert!(max > Duration::from_micros(595), "max {max:?}");
    }

    #[test]
    fn jitter_larger_than_delay_never_goes_negative() {
        let mut sampler = JitterSampler::new(ms(2), ms(10), 3);
        assert_eq!(sampler.min_delay(), Duration::ZERO);
        let samples: Vec<Duration> = (0..10_000).map(|_| sampler.sample()).collect();
        assert!(samples.iter().all(|d| *d <= ms(12)));
        assert!(samples.contains(&Duration::ZERO));
    }

    #[test]
    fn same_seed_same_delays() {
        let mut a = JitterSampler::new(ms(50), ms(10), 99);
        let mut b = JitterSampler::new(ms(50), ms(10), 99);
        assert!((0..100).all(|_| a.sample() == b.sample()));
    }
}
