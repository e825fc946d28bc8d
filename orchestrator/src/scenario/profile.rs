//! Link profiles (`netem/<name>.toml`): the delay, jitter, loss and rate imposed on every
//! node's links, and the choice of shaping back end.
//!
//! A profile file is flat:
//!
//! ```toml
//! description = "cross-region WAN"   # optional
//! delay = "50ms"                      # one-way delay added on each node's egress; ≤ 10s
//! jitter = "10ms"                     # ± around delay; at most delay
//! loss = 0.001                        # probability 0..=1
//! rate = "100mbit"                    # egress rate limit (bit, kbit, mbit, gbit); ≤ 100gbit
//! ```
//!
//! Every field is optional (absent = not shaped). The same fields form an inline
//! `[network.link]` table in a scenario. The profile is `lab_config`'s link shape, the
//! value the shaper is given: its bounds and its check are defined there once, and this
//! module words each broken rule for the profile's field.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lab_config::bounds::{MAX_LINK_DELAY, MAX_LINK_RATE_KBIT};
use lab_config::{BackendChoice, LinkProblem};
use serde::{Deserialize, Serialize};

use crate::error::{Diagnostic, Error};
use crate::scenario::doc::{Document, FieldPath};
use crate::scenario::units;

/// The impairment imposed on each node's egress: delay and jitter (serialised as e.g.
/// `"25ms"`), loss and rate limit (`None` = unlimited).
pub type LinkProfile = lab_config::LinkShape;

/// Which link-shaping back end a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShaperChoice {
    /// Kernel `tc netem` where the kernel has it, else the user-space shaper.
    #[default]
    Auto,
    /// Kernel `tc netem` (plus `tbf` for rate); fail if unavailable.
    Kernel,
    /// The user-space NFQUEUE shaper.
    Userspace,
    /// No shaping at all, whatever the profile says.
    None,
}

impl ShaperChoice {
    /// The back end `labshaper` is asked for; `None` for no shaping.
    pub fn backend(self) -> Option<BackendChoice> {
        match self {
            ShaperChoice::Auto => Some(BackendChoice::Auto),
            ShaperChoice::Kernel => Some(BackendChoice::Kernel),
            ShaperChoice::Userspace => Some(BackendChoice::Userspace),
            ShaperChoice::None => None,
        }
    }

    /// The name as written in scenarios: `auto`, `kernel`, `userspace` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            ShaperChoice::Auto => "auto",
            ShaperChoice::Kernel => "kernel",
            ShaperChoice::Userspace => "userspace",
            ShaperChoice::None => "none",
        }
    }
}

impl fmt::Display for ShaperChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `[network.link]` in a scenario, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLink {
    delay: Option<String>,
    jitter: Option<String>,
    loss: Option<f64>,
    rate: Option<String>,
}

impl RawLink {
    /// A link table without a rate (a region matrix's links have none).
    pub(crate) fn new(delay: Option<String>, jitter: Option<String>, loss: Option<f64>) -> Self {
        RawLink {
            delay,
            jitter,
            loss,
            rate: None,
        }
    }
}

/// A profile file, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfileFile {
    #[allow(dead_code)] // documentation for humans; parsed so that it is allowed
    description: Option<String>,
    delay: Option<String>,
    jitter: Option<String>,
    loss: Option<f64>,
    rate: Option<String>,
}

impl From<RawProfileFile> for RawLink {
    fn from(f: RawProfileFile) -> Self {
        RawLink {
            delay: f.delay,
            jitter: f.jitter,
            loss: f.loss,
            rate: f.rate,
        }
    }
}

/// Checks a raw link table whose fields live under `at` (empty for a profile file) and
/// returns the profile; each problem is pushed to `diags`.
pub(crate) fn validate_link(
    raw: &RawLink,
    doc: &Document<'_>,
    at: Option<&FieldPath>,
    diags: &mut Vec<Diagnostic>,
) -> LinkProfile {
    let field = |name: &str| match at {
        Some(p) => p.key(name),
        None => FieldPath::root(name),
    };
    let mut duration = |name: &str, value: &Option<String>| -> Duration {
        match value.as_deref().map(units::parse_duration) {
            None => Duration::ZERO,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                diags.push(doc.diag(&field(name), e));
                Duration::ZERO
            }
        }
    };
    let delay = duration("delay", &raw.delay);
    let jitter = duration("jitter", &raw.jitter);
    let (rate_kbit, rate_error) = match raw.rate.as_deref().map(units::parse_rate_kbit) {
        None => (None, None),
        Some(Ok(r)) => (Some(r), None),
        Some(Err(e)) => (None, Some(e)),
    };
    let mut link = LinkProfile {
        delay,
        jitter,
        loss: raw.loss.unwrap_or(0.0),
        rate_kbit,
    };
    for problem in link.check() {
        let (name, message) = describe(problem);
        diags.push(doc.diag(&field(name), message));
        // Keep the value usable: no impossible loss or rate goes further.
        match problem {
            LinkProblem::LossNotAProbability(_) => link.loss = 0.0,
            LinkProblem::RateTooHigh(_) => link.rate_kbit = None,
            _ => {}
        }
    }
    if let Some(e) = rate_error {
        diags.push(doc.diag(&field("rate"), e));
    }
    link
}

/// The profile field a broken rule is about, and what is wrong with it.
fn describe(problem: LinkProblem) -> (&'static str, String) {
    let fmt = units::format_duration;
    match problem {
        LinkProblem::DelayTooLong(delay) => (
            "delay",
            format!(
                "must be at most {}, got {}",
                fmt(MAX_LINK_DELAY),
                fmt(delay)
            ),
        ),
        LinkProblem::JitterWithoutDelay(jitter) => (
            "jitter",
            format!(
                "needs a non-zero delay to vary around, got jitter {} with delay 0s",
                fmt(jitter)
            ),
        ),
        LinkProblem::JitterAboveDelay { jitter, delay } => (
            "jitter",
            format!("must not exceed delay ({} > {})", fmt(jitter), fmt(delay)),
        ),
        LinkProblem::LossNotAProbability(loss) => (
            "loss",
            format!("must be a finite probability in 0..=1, got {loss}"),
        ),
        LinkProblem::RateTooHigh(rate) => (
            "rate",
            format!(
                "must be at most {}gbit, got {rate}kbit",
                MAX_LINK_RATE_KBIT / 1_000_000
            ),
        ),
    }
}

/// The file that holds profile `name` in `netem_dir`: `netem_dir/<name>.toml`.
pub fn profile_path(netem_dir: &Path, name: &str) -> PathBuf {
    netem_dir.join(format!("{name}.toml"))
}

/// Reads and checks a profile file; every problem is reported as a [`Diagnostic`] naming
/// the file (in [`Error::ScenarioInvalid`]).
pub fn load(path: &Path) -> Result<LinkProfile, Error> {
    let text = lab_config::file::read_text(
        path,
        lab_config::bounds::MAX_CONFIG_FILE_BYTES,
        "a link profile",
    )
    .map_err(|e| Error::ScenarioInvalid(vec![e.into_diagnostic()]))?;
    parse(path, &text)
}

/// Parses and checks profile text; `path` names it in diagnostics.
pub(crate) fn parse(path: &Path, text: &str) -> Result<LinkProfile, Error> {
    let doc = Document::new(path, text);
    let raw: RawProfileFile = doc
        .deserialize()
        .map_err(|d| Error::ScenarioInvalid(vec![d]))?;
    let mut diags = Vec::new();
    let profile = validate_link(&raw.into(), &doc, None, &mut diags);
    if diags.is_empty() {
        Ok(profile)
    } else {
        Err(Error::ScenarioInvalid(diags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diags(e: Error) -> Vec<Diagnostic> {
        match e {
            Error::ScenarioInvalid(d) => d,
            other => panic!("expected ScenarioInvalid, got {other}"),
        }
    }

    #[test]
    fn profile_fields_parse() {
        let p = parse(
            Path::new("netem/x.toml"),
            "description = \"x\"\ndelay = \"25ms\"\njitter = \"2.5ms\"\nloss = 0.01\nrate = \"10mbit\"\n",
        )
        .expect("valid");
        assert_eq!(p.delay, Duration::from_millis(25));
        assert_eq!(p.jitter, Duration::from_micros(2500));
        assert_eq!(p.loss, 0.01);
        assert_eq!(p.rate_kbit, Some(10_000));
        assert!(!p.is_none());
        assert!(
            parse(Path::new("n.toml"), "")
                .expect("empty is valid")
                .is_none()
        );
    }

    #[test]
    fn profile_errors_name_the_file_and_field() {
        let d = diags(
            parse(
                Path::new("netem/bad.toml"),
                "delay = \"25\"\njitter = \"30ms\"\nloss = 1.5\n",
            )
            .expect_err("invalid"),
        );
        let text: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(d.len(), 3, "{text:?}");
        assert!(
            text[0].starts_with("netem/bad.toml:1:9: field `delay`"),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("netem/bad.toml:2:10: field `jitter`"),
            "{text:?}"
        );
        assert!(
            text[2].starts_with("netem/bad.toml:3:8: field `loss`"),
            "{text:?}"
        );
    }

    #[test]
    fn out_of_range_values_are_located_at_their_field() {
        let d = diags(
            parse(
                Path::new("netem/big.toml"),
                "delay = \"11s\"\njitter = \"12s\"\nloss = nan\nrate = \"101gbit\"\n",
            )
            .expect_err("invalid"),
        );
        let text: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(d.len(), 4, "{text:?}");
        assert!(
            text[0].starts_with("netem/big.toml:1:9: field `delay`")
                && text[0].contains("must be at most 10s, got 11s"),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("netem/big.toml:2:10: field `jitter`")
                && text[1].contains("must not exceed delay (12s > 11s)"),
            "{text:?}"
        );
        assert!(
            text[2].starts_with("netem/big.toml:3:8: field `loss`")
                && text[2].contains("finite probability in 0..=1, got NaN"),
            "{text:?}"
        );
        assert!(
            text[3].starts_with("netem/big.toml:4:8: field `rate`")
                && text[3].contains("must be at most 100gbit, got 101000000kbit"),
            "{text:?}"
        );
        let d = diags(parse(Path::new("p.toml"), "loss = -inf\n").expect_err("invalid"));
        assert_eq!(
            (d[0].line, d[0].column, d[0].field.as_str()),
            (1, 8, "loss")
        );
    }

    #[test]
    fn jitter_without_delay_is_an_error() {
        for text in [
            "jitter = \"100us\"\n",
            "delay = \"0s\"\njitter = \"100us\"\n",
        ] {
            let d = diags(parse(Path::new("p.toml"), text).expect_err("invalid"));
            assert_eq!(d.len(), 1, "{text}");
            assert_eq!(d[0].field, "jitter");
            assert_eq!(d[0].line, text.lines().count());
            assert!(d[0].message.contains("needs a non-zero delay"), "{}", d[0]);
        }
    }

    #[test]
    fn the_bounds_themselves_are_allowed() {
        let p = parse(
            Path::new("p.toml"),
            "delay = \"10s\"\njitter = \"10s\"\nloss = 1.0\nrate = \"100gbit\"\n",
        )
        .expect("valid");
        assert_eq!((p.delay, p.jitter), (MAX_LINK_DELAY, MAX_LINK_DELAY));
        assert_eq!(p.rate_kbit, Some(MAX_LINK_RATE_KBIT));
    }

    #[test]
    fn shipped_profiles_keep_their_microseconds() {
        let netem = Path::new(env!("CARGO_MANIFEST_DIR")).join("../netem");
        let lan = load(&profile_path(&netem, "lan")).expect("lan.toml");
        assert_eq!(lan.delay, Duration::from_micros(500));
        assert_eq!(lan.jitter, Duration::from_micros(100));
        assert_eq!(lan.rate_kbit, Some(1_000_000));
        let fixed = load(&profile_path(&netem, "fixed-25ms")).expect("fixed-25ms.toml");
        assert_eq!(fixed.delay, Duration::from_micros(25_000));
        assert_eq!(fixed.jitter, Duration::from_micros(2_500));
        for name in ["fixed-50ms", "none", "wan"] {
            assert!(load(&profile_path(&netem, name)).is_ok(), "{name}");
        }
    }

    #[test]
    fn unknown_profile_field_is_rejected() {
        let d =
            diags(parse(Path::new("p.toml"), "delay = \"1ms\"\ndelya = \"2ms\"\n").expect_err("x"));
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].line, d[0].column), (2, 1));
        assert_eq!(d[0].field, "delya");
        assert!(d[0].message.contains("unknown field"), "{}", d[0]);
    }

    #[test]
    fn missing_profile_file_names_it() {
        let d = diags(load(Path::new("/nonexistent/netem/nope.toml")).expect_err("missing"));
        assert!(
            d[0].to_string().contains("/nonexistent/netem/nope.toml"),
            "{}",
            d[0]
        );
    }
}
