//! The lines `labshaper` prints about its work, one JSON object per line: the netem probe,
//! a shape in force (`shaper_ready`), a namespace that could not be shaped
//! (`shaper_failed`) and the counters at the end (`shaper_stopped`). `labshaper` writes
//! them, the orchestrator waits for the ready and failed ones.

use lab_config::BackendChoice;
use serde::{Deserialize, Serialize};

/// The back end that actually shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Kernel `tc netem`.
    Kernel,
    /// The user-space shaper.
    Userspace,
}

impl Backend {
    /// The name in report lines: `kernel` or `userspace`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Kernel => "kernel",
            Backend::Userspace => "userspace",
        }
    }
}

/// How jitter is drawn around the delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JitterDistribution {
    /// Uniform in `[-jitter, +jitter]`, as kernel netem without a distribution table.
    Uniform,
}

/// Counters of one delay-line run (or the sum over namespaces), printed when it stops.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelayStats {
    /// Packets taken from the queue.
    pub received: u64,
    /// Packets accepted after their delay.
    pub released: u64,
    /// Packets accepted early because the shaper was stopping.
    pub flushed: u64,
    /// Most packets held at once.
    pub max_held: usize,
    /// Packets dropped by the loss of their source region's link.
    #[serde(default)]
    pub dropped: u64,
}

impl DelayStats {
    /// Adds another delay line's counters (`max_held` takes the larger).
    pub fn add(&mut self, other: &Self) {
        self.received += other.received;
        self.released += other.released;
        self.flushed += other.flushed;
        self.dropped += other.dropped;
        self.max_held = self.max_held.max(other.max_held);
    }
}

/// One line of `labshaper`'s output. Serialised with an `"event"` tag, e.g.
/// `{"event":"shaper_ready",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ShaperReport {
    /// `labshaper probe`: whether kernel netem is available.
    NetemProbe {
        /// Whether a netem qdisc could be added (and was removed again).
        netem: bool,
        /// Why not, when it could not: `tc`'s message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The shape is in force (on stdout, once per namespace in `host` mode).
    ShaperReady {
        /// The back end that runs.
        backend: Backend,
        /// The back end asked for.
        requested: BackendChoice,
        /// The shaped egress device.
        dev: String,
        /// Added one-way delay in microseconds.
        delay_us: u64,
        /// Jitter half-width in microseconds.
        jitter_us: u64,
        /// How jitter is drawn.
        jitter_distribution: JitterDistribution,
        /// Drop probability.
        loss: f64,
        /// Rate limit in kbit/s; 0 means unlimited.
        rate_kbit: u64,
        /// The NFQUEUE number (user-space back end with a delay).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<u16>,
        /// Seed of the jitter generator.
        seed: u64,
        /// The shaped process's pid, as the host sees it (`host` mode).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    /// A namespace could not be shaped (`host` mode; the others go on).
    ShaperFailed {
        /// The process whose namespace it is.
        pid: u32,
        /// Why, reading `failed to …`.
        error: String,
    },
    /// The host's wall clock as the shaper read it, answering a `clock` line on stdin
    /// (`host` mode; the orchestrator's probe of the host's clock offset).
    Clock {
        /// Nanoseconds since the Unix epoch.
        realtime_ns: u64,
    },
    /// The shaper stopped and removed what it installed (on stderr).
    ShaperStopped {
        /// The back end that ran.
        backend: Backend,
        /// The delay line's counters (user-space back end with a delay), summed over
        /// namespaces in `host` mode.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delay_line: Option<DelayStats>,
        /// How many namespaces were shaped (`host` mode).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespaces: Option<usize>,
    },
}

impl ShaperReport {
    /// Parses one line; a line that is not one of these reports is an error.
    pub fn parse(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// Serialises the report as one line (no trailing newline).
    pub fn to_line(&self) -> String {
        // Strings, numbers and options of them: serialisation cannot fail (a non-finite
        // loss would be written as null).
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(queue: Option<u16>, pid: Option<u32>) -> ShaperReport {
        ShaperReport::ShaperReady {
            backend: Backend::Userspace,
            requested: BackendChoice::Auto,
            dev: "eth0".into(),
            delay_us: 25_000,
            jitter_us: 2_500,
            jitter_distribution: JitterDistribution::Uniform,
            loss: 0.01,
            rate_kbit: 0,
            queue,
            seed: 7,
            pid,
        }
    }

    #[test]
    fn ready_lines_keep_their_wire_form() {
        let line = ready(Some(0), None).to_line();
        assert_eq!(
            line,
            r#"{"event":"shaper_ready","backend":"userspace","requested":"auto","dev":"eth0","delay_us":25000,"jitter_us":2500,"jitter_distribution":"uniform","loss":0.01,"rate_kbit":0,"queue":0,"seed":7}"#
        );
        assert_eq!(ShaperReport::parse(&line).ok(), Some(ready(Some(0), None)));
        let host = ready(None, Some(42));
        let line = host.to_line();
        assert!(line.ends_with(r#""seed":7,"pid":42}"#), "{line}");
        assert!(!line.contains("queue"), "{line}");
        assert_eq!(ShaperReport::parse(&line).ok(), Some(host));
    }

    #[test]
    fn failed_stopped_and_probe_lines_keep_their_wire_form() {
        let failed = ShaperReport::ShaperFailed {
            pid: 9,
            error: "failed to x".into(),
        };
        assert_eq!(
            failed.to_line(),
            r#"{"event":"shaper_failed","pid":9,"error":"failed to x"}"#
        );
        let stopped = ShaperReport::ShaperStopped {
            backend: Backend::Kernel,
            delay_line: Some(DelayStats {
                received: 3,
                released: 2,
                flushed: 1,
                max_held: 2,
                dropped: 0,
            }),
            namespaces: Some(4),
        };
        assert_eq!(
            stopped.to_line(),
            r#"{"event":"shaper_stopped","backend":"kernel","delay_line":{"received":3,"released":2,"flushed":1,"max_held":2,"dropped":0},"namespaces":4}"#
        );
        let probe = ShaperReport::NetemProbe {
            netem: true,
            detail: None,
        };
        assert_eq!(probe.to_line(), r#"{"event":"netem_probe","netem":true}"#);
        for r in [failed, stopped, probe] {
            assert_eq!(ShaperReport::parse(&r.to_line()).ok(), Some(r));
        }
    }

    #[test]
    fn other_lines_are_not_reports() {
        assert!(ShaperReport::parse("labshaper: hello").is_err());
        assert!(ShaperReport::parse(r#"{"event":"delivered"}"#).is_err());
        assert!(ShaperReport::parse(r#"{"event":"shaper_ready","backend":"tc"}"#).is_err());
    }

    #[test]
    fn delay_stats_add_up() {
        let mut total = DelayStats::default();
        total.add(&DelayStats {
            received: 3,
            released: 3,
            flushed: 0,
            max_held: 5,
            dropped: 2,
        });
        total.add(&DelayStats {
            received: 1,
            released: 0,
            flushed: 1,
            max_held: 2,
            dropped: 1,
        });
        assert_eq!(
            total,
            DelayStats {
                received: 4,
                released: 3,
                flushed: 1,
                max_held: 5,
                dropped: 3,
            }
        );
    }
}
