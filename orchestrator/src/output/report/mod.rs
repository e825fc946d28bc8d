//! The per-run HTML report: one self-contained `report.html` (inline SVG charts, inline
//! CSS, no external files, no fonts needed) beside the run's `result.json`.
//!
//! - `series` derives plot data (latency samples, per-second percentiles,
//!   coverage curve) from the event records;
//! - `charts` draws them with plotters' SVG back end;
//! - `html` lays out the page (targets first, then metadata, charts and tables) with
//!   `maud` templates;
//! - `meta` reads the commit and host name at render time.
//!
//! A chart that cannot be drawn is replaced by a note; it never fails the report.

mod charts;
mod html;
mod meta;
mod series;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use lab_events::Record;

use crate::error::Error;
use crate::fsio;
use crate::result::RunResult;

/// What the sweep's page (`crate::sweep`) shares with this one: the chart frame, axes,
/// key and colours, and the page's style sheet and table sorting.
pub(crate) mod shared {
    pub(crate) use super::charts::{
        Area, C_BLUE, C_BROWN, C_GREEN, C_GREY, C_ORANGE, C_PURPLE, C_RED, DrawResult, HALF, Key,
        Svg, Swatch, axes, frame, nice, render,
    };
    pub(crate) use super::html::{SORT_SCRIPT, STYLE};
}

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
///
/// The result is validated on load ([`RunResult::read_json`]): a file that is not a
/// coherent measurement is refused, naming the file and the field, and no report (no
/// "MET") is written for it. Both files are read within a bound: [`fsio::RESULT_CAP`]
/// for `result.json`, [`fsio::EVENTS_CAP`] for `events.jsonl` and
/// [`fsio::EVENT_LINE_CAP`] for each of its lines.
pub fn rerender(result_json: &Path) -> Result<PathBuf, Error> {
    let result = RunResult::read_json(result_json)?;
    let dir = result_json.parent().unwrap_or(Path::new("."));
    let events_path = dir.join(EVENTS_FILE);
    let mut notes = Vec::new();
    let present = events_path
        .try_exists()
        .map_err(|e| Error::io("read", &events_path, e))?;
    let events = if present {
        let mut reader = fsio::open_capped(&events_path, fsio::EVENTS_CAP, "an event log")?;
        let (events, bad) = read_events(&mut reader)?;
        if bad > 0 {
            notes.push(format!(
                "{bad} line{} of {EVENTS_FILE} could not be parsed and {} left out.",
                if bad == 1 { "" } else { "s" },
                if bad == 1 { "was" } else { "were" }
            ));
        }
        Some(events)
    } else {
        notes.push(format!(
            "No {EVENTS_FILE} beside result.json: the charts that need individual \
             deliveries (latency CDF and histogram, coverage curve, latency over the \
             run) are replaced by the summary figures result.json holds."
        ));
        None
    };
    render_into(&result, events.as_deref(), notes, dir)
}

/// Parses an event log, one record a line; returns the records and the number of lines
/// that were not records (not UTF-8, not JSON, not an event; blank lines are skipped
/// silently). A line over [`fsio::EVENT_LINE_CAP`] or a log over its cap is an error.
fn read_events(reader: &mut fsio::CappedReader) -> Result<(Vec<Record>, usize), Error> {
    let mut events = Vec::new();
    let mut bad = 0;
    while let Some(line) = reader.next_line(fsio::EVENT_LINE_CAP)? {
        let fsio::Line::Text(line) = line else {
            bad += 1;
            continue;
        };
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
