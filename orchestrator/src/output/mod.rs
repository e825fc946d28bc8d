//! What a run gives its user: the terminal summary, the self-contained HTML report, JUnit
//! XML for CI systems, and the scenario as a compose file.

pub mod compose;
pub mod junit;
pub mod report;
pub mod summary;
pub mod trials;

use std::path::{Path, PathBuf};

use lab_events::Record;

use crate::error::Error;

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
