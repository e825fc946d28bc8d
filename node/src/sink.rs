//! Where event records go: a file or stdout (one JSON object a line) in a real node, a
//! channel in tests.
//!
//! The file is written in the node's event loop, one `write(2)` a record: a node emits a
//! few records a second (~6 a second each at 100 nodes), a write to the page cache costs
//! microseconds, and a regular file has no reader to wait for (unlike the stdout pipe to a
//! container engine). A writer thread behind a channel would add a wake-up per record and
//! lose the records still queued when the node is killed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use lab_events::{Event, Record, now_ns};

/// Receives the node's event records.
pub trait EventSink: Send + 'static {
    /// Takes one record.
    fn emit(&mut self, record: Record);
}

/// Writes each record as one line to stdout and flushes, so nothing is lost if the process
/// is killed.
#[derive(Debug, Default)]
pub struct StdoutSink;

impl EventSink for StdoutSink {
    fn emit(&mut self, record: Record) {
        let mut out = std::io::stdout().lock();
        let line = record.to_line();
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            tracing::warn!("failed to write event to stdout");
        }
    }
}

/// Appends each record as one line to a file opened with `O_APPEND`, with one `write(2)`
/// of the whole line and no user-space buffer: a record is in the page cache (and survives
/// SIGKILL) as soon as `emit` returns.
#[derive(Debug)]
pub struct FileSink {
    file: File,
    path: PathBuf,
}

/// Why the events file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("open the events file {}: {source}", .path.display())]
pub struct FileSinkError {
    /// The file.
    pub path: PathBuf,
    /// What the system said.
    pub source: std::io::Error,
}

impl FileSink {
    /// Opens `path` for appending, creating it (mode 0644 before the umask) if need be;
    /// what it holds already is kept.
    pub fn open(path: &Path) -> Result<Self, FileSinkError> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|source| FileSinkError {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }
}

impl EventSink for FileSink {
    fn emit(&mut self, record: Record) {
        let mut line = record.to_line();
        line.push('\n');
        // One write for the whole line (`write_all` only loops on a short write).
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            tracing::warn!(path = %self.path.display(), "failed to write an event: {e}");
        }
    }
}

/// Sends records to a bounded channel; a full channel drops the record with a warning.
#[derive(Debug)]
pub struct ChannelSink(pub tokio::sync::mpsc::Sender<Record>);

impl EventSink for ChannelSink {
    fn emit(&mut self, record: Record) {
        if self.0.try_send(record).is_err() {
            tracing::warn!("event channel full or closed: record dropped");
        }
    }
}

/// Stamps events with time and node name and hands them to a sink.
pub struct Emitter {
    node: String,
    sink: Box<dyn EventSink>,
}

impl Emitter {
    /// An emitter for the node called `node`.
    pub fn new(node: String, sink: Box<dyn EventSink>) -> Self {
        Self { node, sink }
    }

    /// Emits `event` now.
    pub fn emit(&mut self, event: Event) {
        self.sink.emit(Record {
            ts_ns: now_ns(),
            node: self.node.clone(),
            event,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_events::Event;

    fn record(seq: u64) -> Record {
        Record {
            ts_ns: seq,
            node: "n1".into(),
            event: Event::PublishFailed {
                seq,
                reason: "test".into(),
            },
        }
    }

    #[test]
    fn file_sink_appends_one_line_a_record_after_what_is_there() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("n1.jsonl");
        std::fs::write(&path, "kept\n").expect("write");
        let mut sink = FileSink::open(&path).expect("opens");
        sink.emit(record(1));
        sink.emit(record(2));
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], "kept");
        assert_eq!(Record::parse(lines[1]).expect("record"), record(1));
        assert_eq!(Record::parse(lines[2]).expect("record"), record(2));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn an_unusable_path_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("missing").join("n1.jsonl");
        let e = FileSink::open(&path).expect_err("no such directory");
        assert!(e.to_string().starts_with("open the events file "), "{e}");
        assert!(e.to_string().contains("missing/n1.jsonl"), "{e}");
    }
}
