//! The built-in publish schedule: `rate_per_sec` messages of `size` bytes, from a wall-clock
//! start time or from a start signal, `count` in all or until the node stops.

use std::time::Duration;

use lab_events::now_ns;
use tokio::time::Instant;

use crate::config::TrafficConfig;

/// When the node publishes next, and how much.
pub(crate) struct Traffic {
    config: TrafficConfig,
    sent: u64,
    /// When the next message is due; `None` until the schedule is started.
    next: Option<Instant>,
    period: Duration,
}

impl Traffic {
    /// A schedule that starts at `config.start_at_ms`, or on [`Traffic::start_now`] if that
    /// is absent.
    pub(crate) fn new(config: TrafficConfig) -> Self {
        let delay = Duration::from_millis(config.delay_ms);
        let next = config.start_at_ms.map(|at| {
            let now_ms = now_ns() / 1_000_000;
            Instant::now() + Duration::from_millis(at.saturating_sub(now_ms)) + delay
        });
        Self {
            period: Duration::from_secs_f64(1.0 / config.rate_per_sec),
            next,
            sent: 0,
            config,
        }
    }

    /// Starts a schedule that waits for a signal; one already started is left alone.
    pub(crate) fn start_now(&mut self) {
        let delay = Duration::from_millis(self.config.delay_ms);
        self.next.get_or_insert_with(|| Instant::now() + delay);
    }

    /// Publishes at `rate_per_sec` (real time) from the next message on (a dormant `spam`
    /// role switched on or off).
    pub(crate) fn set_rate(&mut self, rate_per_sec: f64) {
        self.config.rate_per_sec = rate_per_sec;
        self.period = Duration::from_secs_f64(1.0 / rate_per_sec);
    }

    /// When the next message is due, if any.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.next
            .filter(|_| self.config.count.is_none_or(|c| self.sent < c))
    }

    /// Takes the due message: counts it and schedules the next one a period later; returns
    /// its payload size.
    pub(crate) fn take(&mut self) -> usize {
        self.sent += 1;
        self.next = self.next.map(|n| n + self.period);
        self.config.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(count: Option<u64>) -> TrafficConfig {
        TrafficConfig {
            start_at_ms: None,
            delay_ms: 0,
            rate_per_sec: 4.0,
            size: 100,
            count,
        }
    }

    #[test]
    fn a_schedule_without_a_start_time_waits_for_the_signal() {
        let mut t = Traffic::new(config(None));
        assert_eq!(t.due(), None);
        t.start_now();
        let first = t.due().expect("started");
        t.start_now();
        assert_eq!(t.due(), Some(first), "a second signal changes nothing");
    }

    #[test]
    fn messages_are_a_period_apart_and_stop_at_the_count() {
        let mut t = Traffic::new(config(Some(2)));
        t.start_now();
        let first = t.due().expect("started");
        assert_eq!(t.take(), 100);
        assert_eq!(t.due(), Some(first + Duration::from_millis(250)));
        t.take();
        assert_eq!(t.due(), None, "count reached");
    }

    #[test]
    fn a_new_rate_spaces_the_messages_after_the_next() {
        let mut t = Traffic::new(config(None));
        t.start_now();
        let first = t.due().expect("started");
        t.set_rate(10.0);
        assert_eq!(t.due(), Some(first), "the due message keeps its time");
        t.take();
        assert_eq!(t.due(), Some(first + Duration::from_millis(100)));
    }

    #[test]
    fn a_start_time_starts_the_schedule_by_itself() {
        let mut c = config(None);
        c.start_at_ms = Some(now_ns() / 1_000_000 + 60_000);
        c.delay_ms = 500;
        let before = Instant::now();
        let t = Traffic::new(c);
        let due = t.due().expect("scheduled");
        assert!(due >= before + Duration::from_millis(59_000 + 500));
        assert!(due <= Instant::now() + Duration::from_millis(60_000 + 500));
    }
}
