//! The per-run HTML report: one self-contained `report.html` (inline SVG charts, inline
//! CSS, no external files, no fonts needed) beside the run's `result.json`.
//!
//! - `series` derives plot data (latency samples, per-second percentiles,
//!   coverage curve) from the event records;
//! - `charts` draws them with plotters' SVG back end;
//! - `html` lays out the page (targets first, then metadata, charts and tables);
//! - `meta` reads the commit and host name at render time.
//!
//! A chart that cannot be drawn is replaced by a note; it never fails the report.

mod charts;
mod html;
mod meta;
mod series;
#[cfg(test)]
mod tests;

use std::io::BufRead;
use std::path::{Path, PathBuf};

use lab_events::Record;

use crate::error::Error;
use crate::result::RunResult;

/// The report's file name inside a run's folder.
pub const REPORT_FILE: &str = "report.html";

/// The event log's file name beside `result.json`.
pub const EVENTS_FILE: &str = "events.jsonl";

/// Renders `report.html` for `result` into `dir` (the run's folder) and returns its path.
pub fn write(result: &RunResult, events: &[Record], dir: &Path) -> Result<PathBuf, Error> {
    render_into(result, Some(events), Vec::new(), dir)
}

/// Re-renders the report of a finished run from its `result.json` and the
/// `events.jsonl` beside it. Without the events file, the report shows what
/// `result.json` alone allows and says so.
pub fn rerender(result_json: &Path) -> Result<PathBuf, Error> {
    let result = RunResult::read_json(result_json)?;
    let dir = result_json.parent().unwrap_or(Path::new("."));
    let events_path = dir.join(EVENTS_FILE);
    let mut notes = Vec::new();
    let events = match std::fs::File::open(&events_path) {
        Ok(f) => {
            let (events, bad) = read_events(std::io::BufReader::new(f))
                .map_err(|e| Error::io("read", &events_path, e))?;
            if bad > 0 {
                notes.push(format!(
                    "{bad} line{} of {EVENTS_FILE} could not be parsed and {} left out.",
                    if bad == 1 { "" } else { "s" },
                    if bad == 1 { "was" } else { "were" }
                ));
            }
            Some(events)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            notes.push(format!(
                "No {EVENTS_FILE} beside result.json: the charts that need individual \
                 deliveries (latency CDF and histogram, coverage curve, latency over the \
                 run) are replaced by the summary figures result.json holds."
            ));
            None
        }
        Err(e) => return Err(Error::io("open", &events_path, e)),
    };
    render_into(&result, events.as_deref(), notes, dir)
}

/// Parses an event log, one record a line; returns the records and the number of lines
/// that were not records (blank lines are skipped silently).
fn read_events(reader: impl BufRead) -> std::io::Result<(Vec<Record>, usize)> {
    let mut events = Vec::new();
    let mut bad = 0;
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match Record::parse(&line) {
            Ok(r) => events.push(r),
            Err(_) => bad += 1,
        }
    }
    Ok((events, bad))
}

fn render_into(
    result: &RunResult,
    events: Option<&[Record]>,
    notes: Vec<String>,
    dir: &Path,
) -> Result<PathBuf, Error> {
    let provenance = meta::Provenance::detect(dir);
    let html = render(result, events, notes, &provenance);
    let path = dir.join(REPORT_FILE);
    std::fs::write(&path, html).map_err(|e| Error::io("write", &path, e))?;
    Ok(path)
}

/// The page for `result`; `events` is `None` when the event log is unavailable.
fn render(
    result: &RunResult,
    events: Option<&[Record]>,
    notes: Vec<String>,
    provenance: &meta::Provenance,
) -> String {
    let series = events.map(|e| series::derive(result, e));
    html::page(&html::Input {
        result,
        series: series.as_ref(),
        notes,
        provenance,
    })
}
