//! Loading a scenario: read the file (capped), parse it into the raw types (stopping at
//! the first syntax or type error), then validate it (collecting every problem), and
//! finally run a caller's later check on a scenario that passed its own rules.

use std::path::{Component, Path, PathBuf};

use lab_config::bounds::MAX_CONFIG_FILE_BYTES;

use super::Scenario;
use super::doc::{Document, FieldPath};
use super::raw::RawFile;
use super::validate::Validator;
use crate::error::Error;

/// Where profiles are looked up by default: the `netem/` directory next to the scenario's
/// directory (`scenarios/x.toml` → `netem/`); for a scenario in a folder of `scenarios/`,
/// the one next to `scenarios/` (`scenarios/attacks/x.toml` → `netem/`).
pub fn default_netem_dir(scenario_path: &Path) -> PathBuf {
    let mut dir = scenario_path.parent().unwrap_or(Path::new(""));
    if let Some(up) = dir.parent()
        && up.file_name().is_some_and(|n| n == "scenarios")
    {
        dir = up;
    }
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
    let mut v = Validator::new(&doc);
    let scenario = v.scenario(path, raw, netem_dir);
    if v.is_clean()
        && let Some((field, message)) = later(&scenario)
    {
        v.err(&field, message);
    }
    let diags = v.into_diagnostics();
    if diags.is_empty() {
        Ok(scenario)
    } else {
        Err(Error::ScenarioInvalid(diags))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::default_netem_dir;
    use crate::scenario::fixture::{GOOD, diags, parse_str, pos};
    use crate::scenario::{DEFAULT_TOPIC, ShaperChoice, Transport};

    #[test]
    fn a_good_scenario_fills_defaults() {
        let s = parse_str(GOOD).expect("valid");
        assert_eq!(s.node_count(), 12);
        assert_eq!(s.honest_count(), 10);
        assert_eq!(s.warmup, Duration::from_secs(12));
        assert_eq!(s.network.link.delay, Duration::from_millis(25));
        assert_eq!(s.network.shaper, ShaperChoice::Auto);
        assert_eq!(s.groups[0].mldsa_level, 87);
        assert_eq!(s.groups[0].transport, Transport::Tcp);
        assert_eq!(s.groups[1].transport, Transport::Quic);
        assert_eq!(s.traffic.topic, DEFAULT_TOPIC);
        // 6/s over the 28 s between warmup and the end.
        assert_eq!(s.traffic.count, 168);
        assert_eq!(s.traffic.size, 1024);
        assert_eq!(s.targets.p99, Some(Duration::from_millis(200)));
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
            default_netem_dir(Path::new("scenarios/attacks/spam.toml")),
            Path::new("netem")
        );
        assert_eq!(
            default_netem_dir(Path::new("/x/scenarios/attacks/spam.toml")),
            Path::new("/x/netem")
        );
        assert_eq!(
            default_netem_dir(Path::new("smoke.toml")),
            Path::new("../netem")
        );
    }
}
