//! Where event records go: stdout (one JSON object a line) in a real node, a channel in
//! tests.

use std::io::Write;

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
