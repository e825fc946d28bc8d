//! Whether a run measured the network or its own host: a run whose link fidelity or host
//! busy share is beyond the scenario's guard is *distorted*, and its targets are not
//! judged (exit code [`EXIT_DISTORTED`](crate::error::EXIT_DISTORTED)).

use super::RunResult;
use crate::fsio::Problems;
use crate::scenario::Guard;
use crate::scenario::dilation::{AUTO_BUSY, fitting};
use lab_config::time_scale::MAX_TIME_SCALE;

/// Fewest pings between two regions for their pair to be judged by the guard.
pub(super) const MIN_PAIR_PINGS: u64 = 10;

/// What a user can do about a distorted run.
pub const REMEDY: &str = "dilate time (scenario.time_scale, e.g. auto), or run fewer nodes or a lower traffic rate, or on a larger host";

impl RunResult {
    /// Checks the run against its guard and records every cause of distortion (none: the
    /// run is judged). Called once the resources are filled in.
    pub fn apply_guard(&mut self) {
        self.distorted = self.distortion();
        self.dilation.suggested_time_scale = self.suggested_time_scale();
    }

    /// For a distorted run, the time scale that would likely fit: the window's demand
    /// brought down to [`AUTO_BUSY`], and at least twice this run's scale (a run can be
    /// distorted by bursts at a modest average).
    fn suggested_time_scale(&self) -> Option<f64> {
        if self.distorted.is_empty() {
            return None;
        }
        let k = self.dilation.time_scale.max(1.0);
        let by_busy = self
            .resources
            .window_host_busy
            .map_or(0.0, |b| fitting(b * k, AUTO_BUSY).factor());
        Some(by_busy.max(2.0 * k).min(MAX_TIME_SCALE))
    }

    /// The causes of distortion the guard and the measurement give. In a run placed in
    /// regions the pings are judged by the region pair farthest from the matrix (among
    /// pairs with at least [`MIN_PAIR_PINGS`] pings), else by their median.
    fn distortion(&self) -> Vec<String> {
        let worst_pair = self.stats.regions.as_ref().and_then(|r| {
            r.links
                .iter()
                .filter(|l| l.samples >= MIN_PAIR_PINGS)
                .filter_map(|l| l.relative_error.map(|e| (e, l.measured_us, l.imposed_us)))
                .max_by(|a, b| a.0.total_cmp(&b.0))
        });
        distortion(
            &self.guard,
            Measured {
                link: worst_pair.or_else(|| {
                    self.stats
                        .fidelity
                        .as_ref()
                        .and_then(|f| f.relative_error.map(|e| (e, f.measured_us, f.imposed_us)))
                }),
                hop: self
                    .stats
                    .hops
                    .as_ref()
                    .and_then(|h| h.relative_error().map(|e| (e, h.p50_us, h.imposed_us))),
                busy: self.resources.window_host_busy,
            },
        )
    }

    /// The guard's bounds in range, and the distortion what they and the measurement give
    /// (a result edited to drop its distortion is refused, as one edited to say MET).
    pub(super) fn guard_problems(&self, p: &mut Problems) {
        for (field, message) in self.guard.problems() {
            p.push(format!("guard.{field}"), message);
        }
        let expected = self.distortion().len();
        if expected != self.distorted.len() {
            p.push(
                "distorted",
                format!(
                    "lists {} causes where the guard and the measurement give {expected}",
                    self.distorted.len()
                ),
            );
        }
        for (i, cause) in self.distorted.iter().enumerate() {
            check_cause(p, &format!("distorted[{i}]"), cause);
        }
    }
}

/// Pushes a problem unless `cause` (a reason for distortion) is one line of text of at
/// most 1024 bytes.
pub(crate) fn check_cause(p: &mut Problems, field: &str, cause: &str) {
    if cause.trim().is_empty() || cause.len() > 1024 || cause.chars().any(char::is_control) {
        p.push(field, "must be a line of text of at most 1024 bytes");
    }
}

/// What the guard judges: each fidelity figure as (relative error, measured µs, imposed µs),
/// and the host's busy share over the window; `None` where not measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measured {
    /// Pings: the one-way delay they measured.
    pub link: Option<(f64, u64, u64)>,
    /// Message hops: the median hop.
    pub hop: Option<(f64, u64, u64)>,
    /// The host's busy share, 0..=1.
    pub busy: Option<f64>,
}

/// The causes of distortion: a ping error above `guard.link_error`, a message-hop error
/// above `guard.hop_error`, a host busy share above `guard.host_busy`.
pub fn distortion(guard: &Guard, m: Measured) -> Vec<String> {
    let ms = |us: u64| us as f64 / 1000.0;
    let mut causes = Vec::new();
    if let Some((error, measured_us, imposed_us)) = m.link
        && error > guard.link_error
    {
        causes.push(format!(
            "link fidelity error {:.1} % is above the guard's {:.1} % (pings measured {:.1} ms one way where {:.1} ms was imposed): the host delayed packets",
            error * 100.0,
            guard.link_error * 100.0,
            ms(measured_us),
            ms(imposed_us)
        ));
    }
    if let Some((error, p50_us, imposed_us)) = m.hop
        && error > guard.hop_error
    {
        causes.push(format!(
            "message hop error {:.1} % is above the guard's {:.1} % (the median hop took {:.1} ms where {:.1} ms was imposed): the host delayed messages",
            error * 100.0,
            guard.hop_error * 100.0,
            ms(p50_us),
            ms(imposed_us)
        ));
    }
    if let Some(busy) = m.busy.filter(|b| *b > guard.host_busy) {
        causes.push(format!(
            "the host was {:.0} % busy over the measurement window, above the guard's {:.0} %: the figures include waiting for a CPU",
            busy * 100.0,
            guard.host_busy * 100.0
        ));
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::fixtures::{coherent, has};

    fn problems(r: &RunResult) -> Vec<String> {
        crate::result::fixtures::lines(&r.problems())
    }

    #[test]
    fn a_run_within_its_guard_is_judged() {
        let g = Guard::DEFAULT;
        let quiet = Measured {
            link: Some((0.02, 25_500, 25_000)),
            hop: Some((0.12, 28_000, 25_000)),
            busy: Some(0.15),
        };
        assert!(distortion(&g, quiet).is_empty());
        assert!(distortion(&g, Measured::default()).is_empty());
    }

    #[test]
    fn each_bound_overstepped_is_a_cause() {
        let g = Guard::DEFAULT;
        let loaded = Measured {
            link: Some((1.512, 62_800, 25_000)),
            hop: Some((0.932, 48_300, 25_000)),
            busy: Some(0.99),
        };
        let causes = distortion(&g, loaded);
        assert_eq!(causes.len(), 3, "{causes:?}");
        assert!(causes[0].contains("151.2 %"), "{}", causes[0]);
        assert!(causes[0].contains("62.8 ms"), "{}", causes[0]);
        assert!(causes[1].contains("93.2 %"), "{}", causes[1]);
        assert!(causes[1].contains("48.3 ms"), "{}", causes[1]);
        assert!(causes[2].contains("99 % busy"), "{}", causes[2]);
        let strict = Guard {
            link_error: 0.01,
            hop_error: 0.05,
            host_busy: 0.10,
        };
        let quiet = Measured {
            link: Some((0.02, 25_500, 25_000)),
            hop: Some((0.12, 28_000, 25_000)),
            busy: Some(0.15),
        };
        assert_eq!(distortion(&strict, quiet).len(), 3);
    }

    #[test]
    fn a_distortion_must_follow_from_the_guard_and_the_measurement() {
        let mut r = coherent();
        r.resources.window_host_busy = Some(0.99);
        // Busy beyond the guard, and the distortion dropped by hand: refused.
        assert!(
            has(
                &problems(&r),
                "distorted",
                "lists 0 causes where the guard and the measurement give 1"
            ),
            "{:#?}",
            problems(&r)
        );
        r.apply_guard();
        assert_eq!(problems(&r), Vec::<String>::new());
        r.resources.window_host_busy = Some(1.5);
        assert!(has(&problems(&r), "resources.window_host_busy", "0..=1"));
        let mut r = coherent();
        r.guard.host_busy = 0.0;
        assert!(has(&problems(&r), "guard.host_busy", "(0, 1]"));
    }
}
