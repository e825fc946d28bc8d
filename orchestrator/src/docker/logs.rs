//! Container output as lines, stdout and stderr kept apart: the shaper's status lines on
//! stdout, human logs on stderr. (A run's nodes write their events to files, not to
//! stdout: see `run::events_dir`.) The engine hands output over in chunks
//! that need not end at line ends (long lines are split), so lines are reassembled here.

use std::collections::VecDeque;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures::{Stream, StreamExt};

use super::error::DockerError;
use super::runner::DockerRunner;

/// Which output of a container to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    /// Standard output (the shaper's status lines).
    Stdout,
    /// Standard error (human logs).
    Stderr,
}

/// Reassembles lines from chunks of bytes. Lines end at `\n` (a `\r` before it is
/// dropped); invalid UTF-8 is replaced, after reassembly, so split characters survive.
#[derive(Debug, Default)]
pub struct LineAssembler {
    partial: Vec<u8>,
}

impl LineAssembler {
    /// Feeds one chunk; returns the lines it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..end]);
            lines.push(take_line(&mut self.partial));
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        lines
    }

    /// The last line if the output did not end with a newline.
    pub fn finish(mut self) -> Option<String> {
        (!self.partial.is_empty()).then(|| take_line(&mut self.partial))
    }
}

/// Empties `buf` into a string, dropping a trailing `\r`.
fn take_line(buf: &mut Vec<u8>) -> String {
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    let line = String::from_utf8_lossy(buf).into_owned();
    buf.clear();
    line
}

/// The bytes of `chunk` if it belongs to `source`.
fn select(chunk: LogOutput, source: LogSource) -> Option<Vec<u8>> {
    match (chunk, source) {
        (LogOutput::StdOut { message }, LogSource::Stdout)
        | (LogOutput::StdErr { message }, LogSource::Stderr)
        // A container with a TTY has one merged stream; ours have none.
        | (LogOutput::Console { message }, _) => Some(message.to_vec()),
        _ => None,
    }
}

impl DockerRunner {
    /// The lines a container writes on `source`, from its start, following it until it
    /// stops (then the stream ends). Works on stopped containers too (the stream then
    /// holds what they wrote).
    pub fn follow_logs(
        &self,
        id: &str,
        source: LogSource,
    ) -> impl Stream<Item = Result<String, DockerError>> + Send + Unpin + 'static {
        self.log_lines(id, source, true)
    }

    /// Everything a container wrote on `source` so far, as lines. Works on running,
    /// stopped and dead containers (as long as they are not removed).
    pub async fn collect_logs(
        &self,
        id: &str,
        source: LogSource,
    ) -> Result<Vec<String>, DockerError> {
        let mut stream = self.log_lines(id, source, false);
        let mut lines = Vec::new();
        while let Some(line) = stream.next().await {
            lines.push(line?);
        }
        Ok(lines)
    }

    fn log_lines(
        &self,
        id: &str,
        source: LogSource,
        follow: bool,
    ) -> impl Stream<Item = Result<String, DockerError>> + Send + Unpin + 'static {
        let options = LogsOptionsBuilder::new()
            .follow(follow)
            .stdout(source == LogSource::Stdout)
            .stderr(source == LogSource::Stderr)
            .build();
        let chunks = self.client().logs(id, Some(options));
        let state = LinesState {
            chunks: Box::pin(chunks),
            assembler: Some(LineAssembler::default()),
            ready: VecDeque::new(),
            action: format!("read the {source:?} of container {id}").to_lowercase(),
        };
        Box::pin(futures::stream::unfold(
            state,
            move |mut state| async move {
                loop {
                    if let Some(line) = state.ready.pop_front() {
                        return Some((Ok(line), state));
                    }
                    let assembler = state.assembler.as_mut()?;
                    match state.chunks.next().await {
                        Some(Ok(chunk)) => {
                            if let Some(bytes) = select(chunk, source) {
                                state.ready.extend(assembler.push(&bytes));
                            }
                        }
                        Some(Err(e)) => {
                            state.assembler = None;
                            let error = DockerError::engine(state.action.clone(), e);
                            return Some((Err(error), state));
                        }
                        None => {
                            let last = state.assembler.take().and_then(LineAssembler::finish);
                            state.ready.extend(last);
                        }
                    }
                }
            },
        ))
    }
}

/// The state of a line stream: the engine's chunks, the partial line, the completed
/// lines not yet handed out. `assembler` is `None` once the chunks are exhausted.
struct LinesState {
    chunks: std::pin::Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>,
    assembler: Option<LineAssembler>,
    ready: VecDeque<String>,
    action: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks_are_reassembled() {
        let mut a = LineAssembler::default();
        assert_eq!(a.push(b"{\"a\":"), Vec::<String>::new());
        assert_eq!(a.push(b"1}\n{\"b\""), vec!["{\"a\":1}"]);
        assert_eq!(
            a.push(b":2}\n\n{\"c\":3}\r\nlast"),
            vec!["{\"b\":2}", "", "{\"c\":3}"]
        );
        assert_eq!(a.finish(), Some("last".to_owned()));
    }

    #[test]
    fn multibyte_characters_split_across_chunks_survive() {
        let text = "grüße\n".as_bytes();
        let split = 3; // inside the two-byte "ü"
        let mut a = LineAssembler::default();
        assert!(a.push(&text[..split]).is_empty());
        assert_eq!(a.push(&text[split..]), vec!["grüße"]);
        assert_eq!(a.finish(), None);
    }

    #[test]
    fn only_the_selected_stream_is_kept() {
        let out = || LogOutput::StdOut {
            message: "o".into(),
        };
        let err = || LogOutput::StdErr {
            message: "e".into(),
        };
        assert_eq!(select(out(), LogSource::Stdout), Some(b"o".to_vec()));
        assert_eq!(select(err(), LogSource::Stdout), None);
        assert_eq!(select(err(), LogSource::Stderr), Some(b"e".to_vec()));
        assert_eq!(select(out(), LogSource::Stderr), None);
    }
}
