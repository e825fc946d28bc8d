//! The scenario's semantic rules: a [`Validator`] walks the raw file section by section,
//! collects every problem located at its field, and builds the [`Scenario`] from what it
//! accepted (a rejected value is replaced by a placeholder, never used once a problem is
//! found). This file holds the `[scenario]` header and `[network]`; the other sections
//! have a file each.

mod discovery;
mod groups;
mod nat;
mod security;
mod targets;
mod timeline;
mod traffic;

use std::path::Path;
use std::time::Duration;

use lab_config::bounds::MAX_RUN_SECS;

use super::dilation::{MAX_CPU_PER_NODE, MIN_CPU_PER_NODE, TimeScaleChoice};
use super::doc::{Document, FieldPath};
use super::matrix::{self, Matrix};
use super::raw::{RawFile, RawHeader, RawNetwork};
use super::units;
use super::{LinkProfile, Network, Scenario, Security, ShaperChoice, Topology, profile};
use crate::error::{Diagnostic, Error};

/// Collects the problems of one scenario file, located in its document.
pub(super) struct Validator<'d, 'a> {
    doc: &'d Document<'a>,
    diags: Vec<Diagnostic>,
}

/// Whether `s` starts with an ASCII letter or digit and goes on with those or `extra`.
fn is_name(s: &str, extra: &[char]) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

impl<'d, 'a> Validator<'d, 'a> {
    /// A validator of `doc` that has found nothing yet.
    pub(super) fn new(doc: &'d Document<'a>) -> Self {
        Validator {
            doc,
            diags: Vec::new(),
        }
    }

    /// Records that `field` is wrong.
    pub(super) fn err(&mut self, field: &FieldPath, message: impl Into<String>) {
        self.diags.push(self.doc.diag(field, message));
    }

    /// Whether nothing was found so far.
    pub(super) fn is_clean(&self) -> bool {
        self.diags.is_empty()
    }

    /// Everything found, in the order found.
    pub(super) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diags
    }

    /// `s` as a duration, or a problem at `field`.
    fn duration(&mut self, field: &FieldPath, s: &str) -> Option<Duration> {
        match units::parse_duration(s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(field, e);
                None
            }
        }
    }

    /// The whole file: every section checked, the scenario built from what was accepted.
    pub(super) fn scenario(&mut self, path: &Path, raw: RawFile, netem_dir: &Path) -> Scenario {
        let (duration, warmup) = self.header(&raw.scenario);
        let (time_scale, cpu_per_node) = self.dilation(&raw.scenario);
        let network = self.network(raw.network.as_ref(), netem_dir);
        let mut groups = self.groups(&raw.groups, network.matrix.as_ref());
        self.security(&raw.groups, network.security, &mut groups);
        let honest: usize = groups
            .iter()
            .filter(|g| g.role.is_honest())
            .map(|g| g.count)
            .sum();
        let window = match (duration, warmup) {
            (Some(d), Some(w)) if w < d => Some(d - w),
            _ => None,
        };
        let traffic = self.traffic(&raw.traffic, honest, window);
        self.gossipsub(&raw.gossipsub);
        let targets = self.targets(&raw.targets);
        let guard = self.guard(&raw.guard);
        let discovery = self.discovery(&raw.discovery);
        let timeline = self.timeline(&raw.timeline, &groups, &network, window);
        Scenario {
            path: path.to_path_buf(),
            name: raw.scenario.name,
            seed: raw.scenario.seed,
            duration: duration.unwrap_or_default(),
            warmup: warmup.unwrap_or_default(),
            time_scale,
            cpu_per_node,
            network,
            groups,
            traffic,
            gossipsub: raw.gossipsub,
            targets,
            guard,
            discovery,
            timeline,
        }
    }

    /// `[scenario]`: the name, and the duration and warmup where they are valid.
    fn header(&mut self, raw: &RawHeader) -> (Option<Duration>, Option<Duration>) {
        let head = FieldPath::root("scenario");
        if raw.name.len() > 64 || !is_name(&raw.name, &['-', '_', '.']) {
            self.err(
                &head.key("name"),
                "must be 1-64 letters, digits, `-`, `_` or `.`, starting with a letter or digit",
            );
        }
        let duration = self.duration(&head.key("duration"), &raw.duration);
        if duration.is_some_and(|d| d.is_zero()) {
            self.err(&head.key("duration"), "must be positive");
        }
        if duration.is_some_and(|d| d > Duration::from_secs(MAX_RUN_SECS)) {
            self.err(
                &head.key("duration"),
                format!(
                    "must be at most {}h (a run of the lab lasts a day at most)",
                    MAX_RUN_SECS / 3600
                ),
            );
        }
        let warmup = match &raw.warmup {
            Some(w) => self.duration(&head.key("warmup"), w),
            None => Some(Duration::ZERO),
        };
        if matches!((duration, warmup), (Some(d), Some(w)) if w >= d && !d.is_zero()) {
            let (d, w) = (duration.unwrap_or_default(), warmup.unwrap_or_default());
            self.err(
                &head.key("warmup"),
                format!(
                    "must be shorter than duration ({} >= {})",
                    units::format_duration(w),
                    units::format_duration(d)
                ),
            );
        }
        (duration, warmup)
    }

    /// `[scenario]`'s `time_scale` and `cpu_per_node`.
    fn dilation(&mut self, raw: &RawHeader) -> (TimeScaleChoice, f64) {
        let head = FieldPath::root("scenario");
        let k = TimeScaleChoice::from_raw(raw.time_scale.as_ref()).unwrap_or_else(|e| {
            self.err(&head.key("time_scale"), e);
            TimeScaleChoice::Fixed(lab_config::TimeScale::REAL)
        });
        let cpu = raw.cpu_per_node.unwrap_or(1.0);
        if !(cpu.is_finite() && (MIN_CPU_PER_NODE..=MAX_CPU_PER_NODE).contains(&cpu)) {
            self.err(
                &head.key("cpu_per_node"),
                format!(
                    "must be {MIN_CPU_PER_NODE} to {MAX_CPU_PER_NODE} cores (what each node has per virtual second), got {cpu}"
                ),
            );
        }
        (k, cpu)
    }

    /// `[network]`: a named profile or an inline link (not both), and the shaper.
    fn network(&mut self, raw: Option<&RawNetwork>, netem_dir: &Path) -> Network {
        let at = FieldPath::root("network");
        let Some(raw) = raw else {
            return Network {
                profile: None,
                link: LinkProfile::none(),
                shaper: ShaperChoice::Auto,
                topology: Topology::default(),
                matrix: None,
                security: Security::default(),
            };
        };
        let matrix = match (&raw.matrix, raw.profile.is_some() || raw.link.is_some()) {
            (Some(_), true) => {
                self.err(
                    &at.key("matrix"),
                    "give either `matrix` (every link by region pair) or `profile`/`[network.link]`, not both",
                );
                None
            }
            (Some(name), false) => self.matrix(&at.key("matrix"), name, netem_dir),
            (None, _) => None,
        };
        if matrix.is_some() && raw.shaper == ShaperChoice::Kernel {
            self.err(
                &at.key("shaper"),
                "`kernel` cannot delay by region pair (kernel netem here has one class a device); use `userspace` or `auto` with a matrix",
            );
        }
        let link = match (&raw.profile, &raw.link) {
            (Some(_), Some(_)) => {
                self.err(
                    &at.key("link"),
                    "give either `profile` or `[network.link]`, not both",
                );
                LinkProfile::none()
            }
            (Some(name), None) => self.profile(&at.key("profile"), name, netem_dir),
            (None, Some(link)) => {
                profile::validate_link(link, self.doc, Some(&at.key("link")), &mut self.diags)
            }
            (None, None) => LinkProfile::none(),
        };
        Network {
            profile: raw.profile.clone(),
            link,
            shaper: raw.shaper,
            topology: raw.topology,
            matrix,
            security: raw.security,
        }
    }

    /// The region matrix `name` (at `field`) from `netem_dir/matrix`; its own problems are
    /// located in its own file.
    fn matrix(&mut self, field: &FieldPath, name: &str, netem_dir: &Path) -> Option<Matrix> {
        if !is_name(name, &['-', '_', '.']) || name.contains("..") {
            self.err(
                field,
                format!("`{name}` is not a matrix name (letters, digits, `-`, `_`, `.`)"),
            );
            return None;
        }
        let file = matrix::matrix_path(netem_dir, name);
        if !file.is_file() {
            self.err(
                field,
                format!("unknown region matrix `{name}`: no file {}", file.display()),
            );
            return None;
        }
        match matrix::load(&file) {
            Ok(m) => Some(m),
            Err(Error::ScenarioInvalid(d)) => {
                self.diags.extend(d);
                None
            }
            Err(other) => {
                self.err(field, other.to_string());
                None
            }
        }
    }

    /// The profile `name` (at `field`) from `netem_dir`; its own problems are located in
    /// its own file.
    fn profile(&mut self, field: &FieldPath, name: &str, netem_dir: &Path) -> LinkProfile {
        if !is_name(name, &['-', '_', '.']) || name.contains("..") {
            self.err(
                field,
                format!("`{name}` is not a profile name (letters, digits, `-`, `_`, `.`)"),
            );
            return LinkProfile::none();
        }
        let file = profile::profile_path(netem_dir, name);
        if !file.is_file() {
            self.err(
                field,
                format!("unknown link profile `{name}`: no file {}", file.display()),
            );
            return LinkProfile::none();
        }
        match profile::load(&file) {
            Ok(p) => p,
            Err(Error::ScenarioInvalid(d)) => {
                self.diags.extend(d);
                LinkProfile::none()
            }
            Err(other) => {
                self.err(field, other.to_string());
                LinkProfile::none()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::error::Error;
    use crate::scenario::fixture::{GOOD, diags, pos};
    use crate::scenario::{ShaperChoice, parse};

    #[test]
    fn bad_durations_are_located() {
        let text = GOOD
            .replace("duration = \"40s\"", "duration = \"30\"")
            .replace("p95 = \"100ms\"", "p95 = \"fast\"");
        let d = diags(&text);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].field, "scenario.duration");
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"30\""));
        assert!(d[0].message.contains("no unit"), "{}", d[0]);
        assert_eq!(d[1].field, "targets.p95");
        assert_eq!((d[1].line, d[1].column), pos(&text, "\"fast\""));
    }

    #[test]
    fn the_guard_defaults_and_its_bounds_are_located() {
        let s = crate::scenario::fixture::parse_str(GOOD).expect("valid");
        assert_eq!(s.guard, crate::scenario::Guard::DEFAULT);
        let text =
            format!("{GOOD}\n[guard]\nlink_error = 0.2\nhop_error = 0.3\nhost_busy = 0.95\n");
        let s = crate::scenario::fixture::parse_str(&text).expect("valid");
        let g = s.guard;
        assert_eq!((g.link_error, g.hop_error, g.host_busy), (0.2, 0.3, 0.95));
        let text = format!("{GOOD}\n[guard]\nlink_error = 0\nhop_error = -1.0\nhost_busy = 1.5\n");
        let d = diags(&text);
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            ["guard.link_error", "guard.hop_error", "guard.host_busy"],
            "{d:?}"
        );
        assert_eq!((d[2].line, d[2].column), pos(&text, "1.5"));
        assert!(d[1].message.contains("(0, 10]"), "{d:?}");
    }

    #[test]
    fn topology_defaults_to_random_and_names_its_shapes() {
        use crate::scenario::Topology;
        let s = crate::scenario::fixture::parse_str(GOOD).expect("valid");
        assert_eq!(s.network.topology, Topology::Random);
        for t in [
            Topology::Random,
            Topology::Ring,
            Topology::SmallWorld,
            Topology::Banded,
        ] {
            let text = GOOD.replace(
                "shaper = \"auto\"",
                &format!("shaper = \"auto\"\ntopology = \"{t}\""),
            );
            let s = crate::scenario::fixture::parse_str(&text).expect("valid");
            assert_eq!(s.network.topology, t);
        }
        let text = GOOD.replace(
            "shaper = \"auto\"",
            "shaper = \"auto\"\ntopology = \"small_world\"",
        );
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "network.topology");
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"small_world\""));
        assert!(d[0].message.contains("small-world"), "{}", d[0]);
    }

    #[test]
    fn warmup_must_be_shorter_than_duration() {
        let d = diags(&GOOD.replace("warmup = \"12s\"", "warmup = \"40s\""));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "scenario.warmup");
    }

    #[test]
    fn missing_profile_is_an_error_at_the_profile_field() {
        let text = GOOD.replace(
            "link = { delay = \"25ms\", jitter = \"2.5ms\" }",
            "profile = \"mars\"",
        );
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "network.profile");
        assert_eq!((d[0].line, d[0].column), pos(&text, "\"mars\""));
        assert!(d[0].message.contains("mars.toml"), "{}", d[0]);
    }

    /// A netem dir with matrix `two` (regions `eu` and `us`).
    fn matrix_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("matrix")).expect("mkdir");
        std::fs::write(
            dir.path().join("matrix/two.toml"),
            "source = \"t\"\nregions = [\"eu\", \"us\"]\n[[links]]\nbetween = [\"eu\"]\ndelay = \"5ms\"\n[[links]]\nbetween = [\"us\"]\ndelay = \"5ms\"\n[[links]]\nbetween = [\"eu\", \"us\"]\ndelay = \"40ms\"\n",
        )
        .expect("write");
        dir
    }

    #[test]
    fn groups_are_placed_in_the_matrixs_regions() {
        let dir = matrix_dir();
        let text = GOOD
            .replace(
                "link = { delay = \"25ms\", jitter = \"2.5ms\" }",
                "matrix = \"two\"",
            )
            .replace("count = 10\n", "count = 10\nregion = \"us\"\n")
            .replace("count = 2\n", "count = 2\nregion = \"eu\"\n");
        let s = parse(Path::new("s.toml"), &text, dir.path()).expect("valid");
        let m = s.network.matrix.as_ref().expect("matrix");
        assert_eq!(m.name, "two");
        assert!(s.network.link.is_none() && s.network.impairs());
        let regions: Vec<Option<&str>> = s.groups.iter().map(|g| g.region.as_deref()).collect();
        assert_eq!(regions, [Some("us"), Some("eu")]);
    }

    #[test]
    fn region_mistakes_are_located() {
        let dir = matrix_dir();
        let errors = |text: &str| -> Vec<String> {
            match parse(Path::new("s.toml"), text, dir.path()) {
                Err(Error::ScenarioInvalid(d)) => d.iter().map(ToString::to_string).collect(),
                other => panic!("expected diagnostics, got {other:?}"),
            }
        };
        // A region without a matrix.
        let d = errors(&GOOD.replace("count = 10\n", "count = 10\nregion = \"eu\"\n"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].contains("field `groups[0].region`: needs `[network] matrix`"),
            "{d:?}"
        );
        // A matrix and a link.
        let d = errors(&GOOD.replace("shaper = \"auto\"", "matrix = \"two\""));
        assert!(
            d[0].contains("field `network.matrix`: give either `matrix`"),
            "{d:?}"
        );
        // The kernel back end; an unknown region; a group without one.
        let text = GOOD
            .replace(
                "link = { delay = \"25ms\", jitter = \"2.5ms\" }",
                "matrix = \"two\"",
            )
            .replace("shaper = \"auto\"", "shaper = \"kernel\"")
            .replace("count = 10\n", "count = 10\nregion = \"asia\"\n");
        let d = errors(&text);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].contains("field `network.shaper`"), "{d:?}");
        assert!(
            d[1].contains("`asia` is not a region of matrix `two` (eu, us)"),
            "{d:?}"
        );
        assert!(
            d[2].contains("field `groups[1]`: must name its `region`"),
            "{d:?}"
        );
        // NATs with a matrix.
        let text = GOOD
            .replace(
                "link = { delay = \"25ms\", jitter = \"2.5ms\" }",
                "matrix = \"two\"",
            )
            .replace("count = 10\n", "count = 10\nregion = \"eu\"\n")
            .replace(
                "count = 2\n",
                "count = 2\nregion = \"us\"\nnat = \"symmetric\"\n",
            );
        let d = errors(&text);
        assert!(
            d.iter()
                .any(|d| d
                    .contains("field `groups[1].nat`: cannot be combined with `[network] matrix`")),
            "{d:?}"
        );
        // An unknown matrix.
        let d = errors(&GOOD.replace(
            "link = { delay = \"25ms\", jitter = \"2.5ms\" }",
            "matrix = \"mars\"",
        ));
        assert!(d[0].contains("unknown region matrix `mars`"), "{d:?}");
    }

    #[test]
    fn profile_is_found_in_the_given_netem_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("slow.toml"), "delay = \"80ms\"\n").expect("write");
        let text = GOOD
            .replace(
                "link = { delay = \"25ms\", jitter = \"2.5ms\" }",
                "profile = \"slow\"",
            )
            .replace("shaper = \"auto\"", "shaper = \"userspace\"");
        let s = parse(Path::new("s.toml"), &text, dir.path()).expect("valid");
        assert_eq!(s.network.profile.as_deref(), Some("slow"));
        assert_eq!(s.network.link.delay, Duration::from_millis(80));
        assert_eq!(s.network.shaper, ShaperChoice::Userspace);
    }

    #[test]
    fn semantic_errors_are_collected_together() {
        let text = GOOD
            .replace("publishers = 3", "publishers = 11")
            .replace("delivery = 0.99", "delivery = 1.5")
            .replace("mesh_n = 6", "mesh_n = 20")
            .replace("id = \"evil\"", "id = \"honest\"");
        let d = diags(&text);
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "groups[1].id",
                "traffic.publishers",
                "gossipsub.mesh_n",
                "targets.delivery"
            ],
            "{d:?}"
        );
        assert!(d[1].message.contains("only 10 honest"), "{}", d[1]);
    }
}
