//! What a run gives its user: the terminal summary, the self-contained HTML report, JUnit
//! XML for CI systems, and the scenario as a compose file.

pub mod compose;
pub mod junit;
pub(crate) mod mesh_text;
pub mod report;
pub mod summary;
pub mod trials;

use std::path::{Path, PathBuf};

use std::fmt::Write as _;

use lab_events::Record;

use crate::error::Error;
use crate::scenario::profile::LinkProfile;
use crate::scenario::units::format_duration;

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
