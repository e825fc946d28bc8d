//! Scenario files: the typed schema, loading, and validation with located diagnostics.
//!
//! ```toml
//! [scenario]
//! name = "byzantine"       # letters, digits, `-`, `_`, `.`
//! seed = 42                # drives every random choice of the plan
//! duration = "60s"         # measured from the moment every node is meshed
//! warmup = "15s"           # traffic flows but is not measured (default 0s); < duration
//!
//! [network]                # optional: absent = no shaping
//! profile = "wan"          # netem/wan.toml, or instead an inline table:
//! # link = { delay = "25ms", jitter = "2.5ms", loss = 0.0, rate = "100mbit" }
//! shaper = "auto"          # auto | kernel | userspace | none (default auto)
//!
//! [[groups]]
//! id = "honest"            # node names are `<id>-<i>`; lowercase letters, digits, `-`
//! count = 100              # > 0
//! role = "honest"          # honest | invalid-signature (default honest)
//! transport = "tcp"        # tcp | quic (default tcp): how this group's nodes dial
//! mldsa_level = 87         # 44 | 65 | 87 (default 87)
//!
//! [traffic]
//! topic = "vigilia/consensus/v1"   # default
//! publishers = 10          # honest nodes that publish, 1..=honest nodes
//! rate = "5/s"             # total over all honest publishers (`/s`, `/m`, `/h`)
//! size = "1KiB"            # payload (B, KiB, MiB, kB, MB), at most 64 KiB
//! count = 225              # messages measured; default rate × (duration − warmup)
//!
//! [gossipsub]              # optional overrides, exactly the node's [gossipsub] fields
//! mesh_n = 8
//!
//! [targets]                # each optional; a run passes when every target given is met
//! p95 = "100ms"            # delivery latency p95 strictly below
//! p99 = "200ms"            # delivery latency p99 strictly below
//! delivery = 0.99          # delivery ratio at least
//! link_error = 0.1         # |measured − imposed| / imposed link delay at most
//! ```
//!
//! Parsing (serde, unknown fields rejected) stops at the first error; validation then
//! collects every semantic problem, each located by file, line, column and field path.

pub(crate) use lab_config::doc;
pub mod profile;
pub(crate) mod units;

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Diagnostic, Error};
pub use crate::scenario::profile::{LinkProfile, ShaperChoice};
use doc::{Document, FieldPath};
pub use lab_config::{GossipsubSettings, Role};
use profile::RawLink;
use units::{duration_str, opt_duration_str};

/// The topic nodes use when the scenario names none (the node's default).
pub use lab_config::node::DEFAULT_TOPIC;
/// The largest payload a scenario may ask for: the node's default `max_payload`.
pub const MAX_PAYLOAD: u64 = lab_config::node::DEFAULT_MAX_PAYLOAD as u64;
pub use lab_config::bounds::MAX_NODES;
use lab_config::bounds::{
    MAX_CONFIG_FILE_BYTES, MAX_NODE_RATE_PER_SEC, MAX_RUN_SECS, MIN_NODE_RATE_PER_SEC,
};

/// A validated scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// Its name.
    pub name: String,
    /// Seed of every random choice in the plan.
    pub seed: u64,
    /// Length of the measured run, from the moment every node is meshed.
    #[serde(with = "duration_str")]
    pub duration: Duration,
    /// Time after every node is meshed before measuring starts, counted in `duration`.
    #[serde(with = "duration_str")]
    pub warmup: Duration,
    /// Link shaping.
    pub network: Network,
    /// Node groups, in file order.
    pub groups: Vec<Group>,
    /// The publish schedule.
    pub traffic: Traffic,
    /// Every node's gossipsub settings: the scenario's `[gossipsub]` over the spec's
    /// defaults, checked with the node's own rules.
    pub gossipsub: GossipsubSettings,
    /// What the run must achieve.
    pub targets: Targets,
}

impl Scenario {
    /// All nodes in all groups.
    pub fn node_count(&self) -> usize {
        self.groups.iter().map(|g| g.count).sum()
    }

    /// Nodes in honest groups.
    pub fn honest_count(&self) -> usize {
        self.groups
            .iter()
            .filter(|g| g.role.is_honest())
            .map(|g| g.count)
            .sum()
    }
}

/// `[network]`: the link profile (resolved) and the shaper choice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    /// Name of the profile file (`netem/<name>.toml`) when one was named.
    pub profile: Option<String>,
    /// The link impairment, from the profile file or the inline `[network.link]` table.
    pub link: LinkProfile,
    /// Which shaping back end to use.
    pub shaper: ShaperChoice,
}

/// The transport a node dials its bootstrap peers with (every node listens on both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// TCP with Noise and Yamux: `/ip4/IP/tcp/4001`.
    #[default]
    Tcp,
    /// QUIC v1: `/ip4/IP/udp/4001/quic-v1`.
    Quic,
}

impl Transport {
    /// The name as written in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Quic => "quic",
        }
    }

    /// The multiaddr of a node's listener at `ip` on this transport.
    pub fn multiaddr(self, ip: std::net::Ipv4Addr) -> String {
        match self {
            Transport::Tcp => format!("/ip4/{ip}/tcp/4001"),
            Transport::Quic => format!("/ip4/{ip}/udp/4001/quic-v1"),
        }
    }
}

/// One `[[groups]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Group id; node names are `<id>-<i>`.
    pub id: String,
    /// Number of nodes (> 0).
    pub count: usize,
    /// Their role.
    pub role: Role,
    /// The transport they dial with.
    pub transport: Transport,
    /// ML-DSA parameter set: 44, 65 or 87.
    pub mldsa_level: u16,
}

/// `[traffic]`: the whole run's publish schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Traffic {
    /// The gossipsub topic every node joins.
    pub topic: String,
    /// Number of honest publishers.
    pub publishers: usize,
    /// Messages per second over all honest publishers.
    pub rate_per_sec: f64,
    /// Payload bytes.
    pub size: u64,
    /// Messages in all, over all honest publishers.
    pub count: u64,
}

/// `[targets]`: each is optional; a run passes when every target given is met.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Delivery latency p95 must be strictly below this.
    #[serde(with = "opt_duration_str", default)]
    pub p95: Option<Duration>,
    /// Delivery latency p99 must be strictly below this.
    #[serde(with = "opt_duration_str", default)]
    pub p99: Option<Duration>,
    /// The delivery ratio must be at least this (0..=1).
    pub delivery: Option<f64>,
    /// Relative error of the measured one-way link delay must be at most this.
    pub link_error: Option<f64>,
}

// ---- the file as written --------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    scenario: RawHeader,
    network: Option<RawNetwork>,
    groups: Vec<RawGroup>,
    traffic: RawTraffic,
    #[serde(default)]
    gossipsub: GossipsubSettings,
    #[serde(default)]
    targets: RawTargets,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    seed: u64,
    duration: String,
    warmup: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    profile: Option<String>,
    link: Option<RawLink>,
    #[serde(default)]
    shaper: ShaperChoice,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    id: String,
    count: i64,
    #[serde(default)]
    role: Role,
    #[serde(default)]
    transport: Transport,
    mldsa_level: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTraffic {
    topic: Option<String>,
    publishers: i64,
    rate: String,
    size: String,
    count: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    p95: Option<String>,
    p99: Option<String>,
    delivery: Option<f64>,
    link_error: Option<f64>,
}

// ---- loading --------------------------------------------------------------------------

/// Where profiles are looked up by default: the `netem/` directory next to the scenario's
/// directory (`scenarios/x.toml` → `netem/`).
pub fn default_netem_dir(scenario_path: &Path) -> PathBuf {
    let dir = scenario_path.parent().unwrap_or(Path::new(""));
    match (dir.components().next_back(), dir.parent()) {
        (Some(Component::Normal(_)), Some(up)) => up.join("netem"),
        _ => dir.join("..").join("netem"),
    }
}

/// A check that needs more than the scenario's own rules (the plan's, in
/// `plan::load`): the first problem, at the scenario field it comes from.
pub type LaterCheck<'c> = &'c dyn Fn(&Scenario) -> Option<(FieldPath, String)>;

/// Loads and validates a scenario, resolving profiles in [`default_netem_dir`].
pub fn load(path: &Path, later: LaterCheck<'_>) -> Result<Scenario, Error> {
    load_with_netem_dir(path, &default_netem_dir(path), later)
}

/// Loads and validates a scenario, resolving `network.profile` in `netem_dir`.
pub fn load_with_netem_dir(
    path: &Path,
    netem_dir: &Path,
    later: LaterCheck<'_>,
) -> Result<Scenario, Error> {
    let text = lab_config::file::read_text(path, MAX_CONFIG_FILE_BYTES, "a scenario")
        .map_err(|e| Error::ScenarioInvalid(vec![e.into_diagnostic()]))?;
    parse_with(path, &text, netem_dir, later)
}

/// Parses and validates scenario text with the scenario's own rules; `path` names it in
/// diagnostics.
pub fn parse(path: &Path, text: &str, netem_dir: &Path) -> Result<Scenario, Error> {
    parse_with(path, text, netem_dir, &|_| None)
}

/// [`parse`], then `later` on a scenario that passed its own rules.
pub fn parse_with(
    path: &Path,
    text: &str,
    netem_dir: &Path,
    later: LaterCheck<'_>,
) -> Result<Scenario, Error> {
    let doc = Document::new(path, text);
    let raw: RawFile = doc
        .deserialize()
        .map_err(|d| Error::ScenarioInvalid(vec![d]))?;
    let mut v = Validator {
        doc: &doc,
        diags: Vec::new(),
    };
    let scenario = v.scenario(path, raw, netem_dir);
    if v.diags.is_empty()
        && let Some((field, message)) = later(&scenario)
    {
        v.err(&field, message);
    }
    if v.diags.is_empty() {
        Ok(scenario)
    } else {
        Err(Error::ScenarioInvalid(v.diags))
    }
}

// ---- validation -----------------------------------------------------------------------

struct Validator<'d, 'a> {
    doc: &'d Document<'a>,
    diags: Vec<Diagnostic>,
}

fn is_name(s: &str, extra: &[char]) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

impl Validator<'_, '_> {
    fn err(&mut self, field: &FieldPath, message: impl Into<String>) {
        self.diags.push(self.doc.diag(field, message));
    }

    fn duration(&mut self, field: &FieldPath, s: &str) -> Option<Duration> {
        match units::parse_duration(s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(field, e);
                None
            }
        }
    }

    fn scenario(&mut self, path: &Path, raw: RawFile, netem_dir: &Path) -> Scenario {
        let head = FieldPath::root("scenario");
        if raw.scenario.name.len() > 64 || !is_name(&raw.scenario.name, &['-', '_', '.']) {
            self.err(
                &head.key("name"),
                "must be 1-64 letters, digits, `-`, `_` or `.`, starting with a letter or digit",
            );
        }
        let duration = self.duration(&head.key("duration"), &raw.scenario.duration);
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
        let warmup = match &raw.scenario.warmup {
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
        let network = self.network(raw.network.as_ref(), netem_dir);
        let groups = self.groups(&raw.groups);
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
        Scenario {
            path: path.to_path_buf(),
            name: raw.scenario.name,
            seed: raw.scenario.seed,
            duration: duration.unwrap_or_default(),
            warmup: warmup.unwrap_or_default(),
            network,
            groups,
            traffic,
            gossipsub: raw.gossipsub,
            targets,
        }
    }

    fn network(&mut self, raw: Option<&RawNetwork>, netem_dir: &Path) -> Network {
        let at = FieldPath::root("network");
        let Some(raw) = raw else {
            return Network {
                profile: None,
                link: LinkProfile::none(),
                shaper: ShaperChoice::Auto,
            };
        };
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
        }
    }

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

    fn groups(&mut self, raw: &[RawGroup]) -> Vec<Group> {
        let at = FieldPath::root("groups");
        if raw.is_empty() {
            self.err(&at, "must list at least one group");
        }
        let mut seen = BTreeSet::new();
        let mut total: usize = 0;
        let mut groups = Vec::with_capacity(raw.len());
        for (i, g) in raw.iter().enumerate() {
            let gp = at.index(i);
            if g.id.len() > 32
                || !g.id.starts_with(|c: char| c.is_ascii_lowercase())
                || !g
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                self.err(
                    &gp.key("id"),
                    "must be 1-32 lowercase letters, digits or `-`, starting with a letter",
                );
            }
            if !seen.insert(g.id.as_str()) {
                self.err(&gp.key("id"), format!("duplicate group id `{}`", g.id));
            }
            let count = match usize::try_from(g.count) {
                Ok(c) if c > 0 => c,
                _ => {
                    self.err(
                        &gp.key("count"),
                        format!("must be positive, got {}", g.count),
                    );
                    0
                }
            };
            total = total.saturating_add(count);
            let level = g.mldsa_level.unwrap_or(87);
            let mldsa_level = match level {
                44 | 65 | 87 => level as u16,
                _ => {
                    self.err(
                        &gp.key("mldsa_level"),
                        format!("must be 44, 65 or 87, got {level}"),
                    );
                    87
                }
            };
            groups.push(Group {
                id: g.id.clone(),
                count,
                role: g.role,
                transport: g.transport,
                mldsa_level,
            });
        }
        if total > MAX_NODES {
            self.err(
                &at,
                format!(
                    "{total} nodes in all; at most {MAX_NODES} fit one run (one host's memory and neighbour table; `orchestrator doctor` tells what this host carries)"
                ),
            );
        }
        if !raw.is_empty() && !groups.iter().any(|g| g.role.is_honest()) {
            self.err(&at, "must include at least one honest group");
        }
        groups
    }

    fn traffic(&mut self, raw: &RawTraffic, honest: usize, window: Option<Duration>) -> Traffic {
        let at = FieldPath::root("traffic");
        let topic = raw
            .topic
            .clone()
            .unwrap_or_else(|| DEFAULT_TOPIC.to_string());
        if topic.trim().is_empty() {
            self.err(&at.key("topic"), "must not be empty");
        } else if topic.len() > lab_config::bounds::MAX_NAME_BYTES {
            self.err(
                &at.key("topic"),
                format!(
                    "must be at most {} bytes",
                    lab_config::bounds::MAX_NAME_BYTES
                ),
            );
        }
        let publishers = match usize::try_from(raw.publishers) {
            Ok(p) if p > 0 && p <= honest => p,
            Ok(p) if p > honest => {
                self.err(
                    &at.key("publishers"),
                    format!("{p} publishers but only {honest} honest nodes"),
                );
                0
            }
            _ => {
                self.err(
                    &at.key("publishers"),
                    format!("must be positive, got {}", raw.publishers),
                );
                0
            }
        };
        let rate_per_sec = match units::parse_msg_rate(&raw.rate) {
            Ok(r) => Some(r),
            Err(e) => {
                self.err(&at.key("rate"), e);
                None
            }
        };
        if let (Some(rate), true) = (rate_per_sec, publishers > 0) {
            let each = rate / publishers as f64;
            if !(MIN_NODE_RATE_PER_SEC..=MAX_NODE_RATE_PER_SEC).contains(&each) {
                self.err(
                    &at.key("rate"),
                    format!(
                        "gives each of the {publishers} publishers {} msg/s; a node publishes one message an hour to {MAX_NODE_RATE_PER_SEC} a second",
                        lab_config::num(each)
                    ),
                );
            }
        }
        let size = match units::parse_size(&raw.size) {
            Ok(s) if s > 0 && s <= MAX_PAYLOAD => s,
            Ok(s) => {
                self.err(
                    &at.key("size"),
                    format!("must be 1..={MAX_PAYLOAD} bytes, got {s}"),
                );
                0
            }
            Err(e) => {
                self.err(&at.key("size"), e);
                0
            }
        };
        let count = match (raw.count, rate_per_sec, window) {
            (Some(c), _, _) if c <= 0 => {
                self.err(&at.key("count"), format!("must be positive, got {c}"));
                0
            }
            (Some(c), Some(rate), Some(window)) => {
                let needs = c as f64 / rate;
                if needs > window.as_secs_f64() + 1e-9 {
                    self.err(
                        &at.key("count"),
                        format!(
                            "{c} messages at {rate}/s take {needs:.1}s, longer than \
                             duration − warmup ({:.1}s)",
                            window.as_secs_f64()
                        ),
                    );
                }
                c as u64
            }
            (Some(c), _, _) => c as u64,
            (None, Some(rate), Some(window)) => {
                let c = (rate * window.as_secs_f64() + 1e-9).floor() as u64;
                if c == 0 {
                    self.err(
                        &at.key("rate"),
                        "rate × (duration − warmup) gives no message at all",
                    );
                }
                c
            }
            (None, _, _) => 0,
        };
        if publishers > 0 && count > 0 && count < publishers as u64 {
            self.err(
                &at.key("count"),
                format!("{count} messages for {publishers} publishers leaves some idle"),
            );
        }
        Traffic {
            topic,
            publishers,
            rate_per_sec: rate_per_sec.unwrap_or(0.0),
            size,
            count,
        }
    }

    /// The node's own rules ([`GossipsubSettings::check`]), located in this file.
    fn gossipsub(&mut self, g: &GossipsubSettings) {
        let at = FieldPath::root("gossipsub");
        for p in g.check() {
            self.diags.push(self.doc.diag_problem(&p.under(&at)));
        }
    }

    fn targets(&mut self, raw: &RawTargets) -> Targets {
        let at = FieldPath::root("targets");
        let p95 = raw
            .p95
            .as_deref()
            .and_then(|s| self.duration(&at.key("p95"), s));
        let p99 = raw
            .p99
            .as_deref()
            .and_then(|s| self.duration(&at.key("p99"), s));
        for (name, value) in [("p95", p95), ("p99", p99)] {
            match value {
                Some(d) if d.is_zero() => {
                    self.err(&at.key(name), "must be positive: no latency is below 0s")
                }
                Some(d) if d > Duration::from_secs(3600) => self.err(
                    &at.key(name),
                    format!("must be at most 1h, got {}", units::format_duration(d)),
                ),
                _ => {}
            }
        }
        if matches!((p95, p99), (Some(a), Some(b)) if a > b) {
            let (a, b) = (p95.unwrap_or_default(), p99.unwrap_or_default());
            self.err(
                &at.key("p99"),
                format!(
                    "must not be below p95 ({} < {})",
                    units::format_duration(b),
                    units::format_duration(a)
                ),
            );
        }
        if let Some(d) = raw.delivery.filter(|d| !(0.0..=1.0).contains(d)) {
            self.err(
                &at.key("delivery"),
                format!("must be a ratio in 0..=1, got {}", lab_config::num(d)),
            );
        }
        if let Some(e) = raw
            .link_error
            .filter(|e| !(e.is_finite() && *e > 0.0 && *e <= 10.0))
        {
            self.err(
                &at.key("link_error"),
                format!(
                    "must be a ratio in (0, 10] (0.1 = within 10 % of the imposed delay), got {}",
                    lab_config::num(e)
                ),
            );
        }
        Targets {
            p95,
            p99,
            delivery: raw.delivery,
            link_error: raw.link_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[scenario]
name = "t"
seed = 1
duration = "30s"
warmup = "10s"

[network]
link = { delay = "25ms", jitter = "2.5ms" }

[[groups]]
id = "honest"
count = 10

[[groups]]
id = "evil"
count = 2
role = "invalid-signature"
transport = "quic"

[traffic]
publishers = 3
rate = "6/s"
size = "1KiB"

[targets]
p95 = "100ms"
delivery = 0.99
"#;

    fn parse_str(text: &str) -> Result<Scenario, Error> {
        parse(Path::new("s.toml"), text, Path::new("/nonexistent-netem"))
    }

    fn diags(text: &str) -> Vec<Diagnostic> {
        match parse_str(text) {
            Err(Error::ScenarioInvalid(d)) => d,
            Err(other) => panic!("expected ScenarioInvalid, got {other}"),
            Ok(s) => panic!("expected diagnostics, got {s:?}"),
        }
    }

    /// 1-based (line, column) of the first occurrence of `needle` in `text`.
    fn pos(text: &str, needle: &str) -> (usize, usize) {
        let off = text.find(needle).expect("needle present");
        let before = &text[..off];
        let line = before.matches('\n').count() + 1;
        let col = off - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, col)
    }

    #[test]
    fn a_good_scenario_fills_defaults() {
        let s = parse_str(GOOD).expect("valid");
        assert_eq!(s.node_count(), 12);
        assert_eq!(s.honest_count(), 10);
        assert_eq!(s.warmup, Duration::from_secs(10));
        assert_eq!(s.network.link.delay, Duration::from_millis(25));
        assert_eq!(s.network.shaper, ShaperChoice::Auto);
        assert_eq!(s.groups[0].mldsa_level, 87);
        assert_eq!(s.groups[0].transport, Transport::Tcp);
        assert_eq!(s.groups[1].transport, Transport::Quic);
        assert_eq!(s.traffic.topic, DEFAULT_TOPIC);
        // 6/s over the 20 s between warmup and the end.
        assert_eq!(s.traffic.count, 120);
        assert_eq!(s.traffic.size, 1024);
        assert_eq!(s.targets.p99, None);
    }

    #[test]
    fn unknown_field_names_file_line_column_and_field() {
        let text = GOOD.replace("count = 2\n", "count = 2\ncolour = \"red\"\n");
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].file, Path::new("s.toml"));
        assert_eq!((d[0].line, d[0].column), pos(&text, "colour"));
        assert_eq!(d[0].field, "groups[1].colour");
        assert!(d[0].message.contains("unknown field `colour`"), "{}", d[0]);
        let shown = d[0].to_string();
        assert!(
            shown.starts_with(&format!(
                "s.toml:{}:{}: field `groups[1].colour`: unknown field",
                d[0].line, d[0].column
            )),
            "{shown}"
        );
    }

    #[test]
    fn missing_field_is_named() {
        let text = GOOD.replace("size = \"1KiB\"\n", "");
        let d = diags(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "traffic.size", "{}", d[0]);
    }

    #[test]
    fn bad_durations_are_located() {
        let text = GOOD
            .replace("duration = \"30s\"", "duration = \"30\"")
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
    fn warmup_must_be_shorter_than_duration() {
        let d = diags(&GOOD.replace("warmup = \"10s\"", "warmup = \"30s\""));
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

    #[test]
    fn profile_is_found_in_the_given_netem_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("slow.toml"), "delay = \"80ms\"\n").expect("write");
        let text = GOOD.replace(
            "link = { delay = \"25ms\", jitter = \"2.5ms\" }",
            "profile = \"slow\"\nshaper = \"userspace\"",
        );
        let s = parse(Path::new("s.toml"), &text, dir.path()).expect("valid");
        assert_eq!(s.network.profile.as_deref(), Some("slow"));
        assert_eq!(s.network.link.delay, Duration::from_millis(80));
        assert_eq!(s.network.shaper, ShaperChoice::Userspace);
    }

    #[test]
    fn non_positive_counts_are_all_reported() {
        let text = GOOD
            .replace("count = 10", "count = 0")
            .replace("count = 2", "count = -3");
        let d = diags(&text);
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert!(fields.contains(&"groups[0].count"), "{d:?}");
        assert!(fields.contains(&"groups[1].count"), "{d:?}");
        let c0 = d.iter().find(|d| d.field == "groups[0].count").expect("c0");
        assert_eq!((c0.line, c0.column), pos(&text, "0\n"));
        assert!(c0.message.contains("must be positive"), "{c0}");
    }

    #[test]
    fn semantic_errors_are_collected_together() {
        let text = GOOD
            .replace("publishers = 3", "publishers = 11")
            .replace("delivery = 0.99", "delivery = 1.5")
            .replace("[targets]", "[gossipsub]\nmesh_n = 20\n\n[targets]")
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

    #[test]
    fn syntax_errors_have_a_location() {
        let d = diags("[scenario\nname = 1\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].line, 1, "{}", d[0]);
    }

    #[test]
    fn default_netem_dir_is_next_to_the_scenario_dir() {
        assert_eq!(
            default_netem_dir(Path::new("scenarios/smoke.toml")),
            Path::new("netem")
        );
        assert_eq!(
            default_netem_dir(Path::new("/x/scenarios/smoke.toml")),
            Path::new("/x/netem")
        );
        assert_eq!(
            default_netem_dir(Path::new("smoke.toml")),
            Path::new("../netem")
        );
    }

    #[test]
    fn every_shipped_profile_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../netem");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("netem dir") {
            let path = entry.expect("entry").path();
            // netem/ also holds the shaper crate's manifest.
            let is_manifest = path.file_name().is_some_and(|f| f == "Cargo.toml");
            if path.extension().is_some_and(|e| e == "toml") && !is_manifest {
                if let Err(e) = profile::load(&path) {
                    panic!("{} does not validate: {e}", path.display());
                }
                n += 1;
            }
        }
        assert!(n >= 5, "expected the shipped profiles, found {n}");
    }
}
