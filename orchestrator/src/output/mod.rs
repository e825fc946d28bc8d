//! What a run gives its user: the terminal summary, the self-contained HTML report, JUnit
//! XML for CI systems, and the scenario as a compose file or Kubernetes manifests.

pub(crate) mod bandwidth_text;
pub mod compose;
pub(crate) mod dilation_text;
pub(crate) mod discovery_text;
pub mod export;
pub(crate) mod handshake_text;
pub mod junit;
pub mod k8s;
pub(crate) mod mesh_text;
pub(crate) mod nat_text;
pub(crate) mod phases_text;
pub(crate) mod region_text;
pub mod report;
pub mod summary;
pub mod trials;

use std::path::{Path, PathBuf};

use std::fmt::Write as _;

use lab_events::Record;

use crate::error::Error;
use crate::scenario::profile::LinkProfile;
use crate::scenario::units::format_duration;

/// Node names shown in a warning or a note; the rest are counted.
const NAMES_SHOWN: usize = 12;

/// The first [`NAMES_SHOWN`] of `names`, joined, then how many more there are:
/// `a, b, c and 88 more`.
pub(crate) fn some_names(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(NAMES_SHOWN).map(String::as_str).collect();
    let mut t = shown.join(", ");
    if names.len() > NAMES_SHOWN {
        t.push_str(&format!(" and {} more", names.len() - NAMES_SHOWN));
    }
    t
}

/// Writes every record to `dir/events.jsonl`, one JSON object a line, for later analysis
/// (`orchestrator report` reads it back); returns the file's path.
pub fn write_events(dir: &Path, records: &[Record]) -> Result<PathBuf, Error> {
    let path = dir.join(report::EVENTS_FILE);
    let mut text = String::with_capacity(records.len() * 200);
    for r in records {
        text.push_str(&r.to_line());
        text.push('\n');
    }
    std::fs::write(&path, text).map_err(|e| Error::io("write events", &path, e))?;
    Ok(path)
}

/// The link in words: `DELAY ± JITTER{delay_words}`, then the loss and the rate
/// (`{rate_words}N kbit/s`) where set; `unshaped` when nothing is imposed.
pub(crate) fn link_text(l: &LinkProfile, delay_words: &str, rate_words: &str) -> String {
    if l.is_none() {
        return "unshaped".to_string();
    }
    let mut t = format!(
        "{} ± {}{delay_words}",
        format_duration(l.delay),
        format_duration(l.jitter)
    );
    if l.loss > 0.0 {
        let _ = write!(t, ", loss {:.2} %", l.loss * 100.0);
    }
    if let Some(k) = l.rate_kbit {
        let _ = write!(t, ", {rate_words}{k} kbit/s");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_of_names_is_cut_and_counted() {
        let names: Vec<String> = (0..100).map(|i| format!("n-{i}")).collect();
        let t = some_names(&names);
        assert!(t.starts_with("n-0, n-1, "), "{t}");
        assert!(t.ends_with("n-11 and 88 more"), "{t}");
        assert_eq!(some_names(&names[..2]), "n-0, n-1");
        assert_eq!(some_names(&[]), "");
    }
}
