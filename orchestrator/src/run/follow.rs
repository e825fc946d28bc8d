//! Following a file another process appends lines to: each call reads what is new (at
//! most a given number of bytes) and hands out the lines it completed; the partial last
//! line waits for the next call. A file not yet created reads as empty. A line longer
//! than [`LINE_CAP`] is skipped (counted), so memory stays bounded whatever the writer
//! does.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::fsio::EVENT_LINE_CAP;

/// The longest line kept, in bytes (an event line is a few hundred).
pub(super) const LINE_CAP: usize = EVENT_LINE_CAP as usize;

/// Bytes read from the file at once.
const CHUNK: usize = 64 * 1024;

/// What one [`Follower::read_new`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct NewLines {
    /// The lines completed, without their `\n` (nor a `\r` before it).
    pub lines: Vec<String>,
    /// Whether the byte bound stopped the read before the end of the file.
    pub more: bool,
}

/// A file followed from its start (see the module's documentation).
#[derive(Debug)]
pub(super) struct Follower {
    path: PathBuf,
    file: Option<File>,
    lines: Splitter,
    buf: Vec<u8>,
}

/// Splits bytes into lines across calls.
#[derive(Debug, Default)]
struct Splitter {
    partial: Vec<u8>,
    /// Inside a line over [`LINE_CAP`]: its bytes are dropped up to its `\n`.
    overlong: bool,
    skipped: usize,
}

impl Follower {
    /// Follows `path` (which need not exist yet).
    pub(super) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            file: None,
            lines: Splitter::default(),
            buf: Vec::new(),
        }
    }

    /// Reads at most `max_bytes` of what the file gained since the last call and returns
    /// the lines that completes. A missing file gives no lines.
    pub(super) fn read_new(&mut self, max_bytes: usize) -> Result<NewLines, Error> {
        let mut out = NewLines::default();
        self.open()?;
        let Some(file) = self.file.as_mut() else {
            return Ok(out);
        };
        let mut left = max_bytes;
        self.buf.resize(CHUNK, 0);
        loop {
            if left == 0 {
                out.more = true;
                return Ok(out);
            }
            let want = left.min(CHUNK);
            let n = match file.read(&mut self.buf[..want]) {
                Ok(0) => return Ok(out),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read", &self.path, e)),
            };
            left -= n;
            self.lines.split(&self.buf[..n], &mut out.lines);
        }
    }

    /// Lines skipped so far for being longer than [`LINE_CAP`].
    pub(super) fn skipped(&self) -> usize {
        self.lines.skipped
    }

    /// The bytes after the last `\n` (a line its writer did not finish), if any.
    pub(super) fn unterminated(&self) -> Option<String> {
        let partial = &self.lines.partial;
        (!partial.is_empty()).then(|| String::from_utf8_lossy(partial).into_owned())
    }

    /// Opens the file on first use; leaves it unopened while it does not exist.
    fn open(&mut self) -> Result<(), Error> {
        if self.file.is_none() {
            match File::open(&self.path) {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("read", &self.path, e)),
            }
        }
        Ok(())
    }
}

impl Splitter {
    /// Adds the lines `bytes` completes to `lines`, keeping the rest as the partial line.
    fn split(&mut self, bytes: &[u8], lines: &mut Vec<String>) {
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if self.overlong {
                self.overlong = false;
            } else if self.partial.len() + end > LINE_CAP {
                self.skipped += 1;
                self.partial.clear();
            } else {
                self.partial.extend_from_slice(&rest[..end]);
                if self.partial.last() == Some(&b'\r') {
                    self.partial.pop();
                }
                lines.push(String::from_utf8_lossy(&self.partial).into_owned());
                self.partial.clear();
            }
            rest = &rest[end + 1..];
        }
        if self.overlong {
            return;
        }
        if self.partial.len() + rest.len() > LINE_CAP {
            self.skipped += 1;
            self.overlong = true;
            self.partial.clear();
        } else {
            self.partial.extend_from_slice(rest);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use super::*;

    fn append(path: &Path, bytes: &[u8]) {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }

    #[test]
    fn a_file_not_yet_created_reads_as_empty_until_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.jsonl");
        let mut f = Follower::new(&path);
        assert_eq!(f.read_new(1024).unwrap(), NewLines::default());
        append(&path, b"{\"a\":1}\n");
        assert_eq!(f.read_new(1024).unwrap().lines, ["{\"a\":1}"]);
    }

    #[test]
    fn a_partial_last_line_waits_for_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.jsonl");
        append(&path, b"one\ntw");
        let mut f = Follower::new(&path);
        assert_eq!(f.read_new(1024).unwrap().lines, ["one"]);
        assert_eq!(f.unterminated().as_deref(), Some("tw"));
        assert!(f.read_new(1024).unwrap().lines.is_empty());
        append(&path, b"o\r\nthree\n");
        assert_eq!(f.read_new(1024).unwrap().lines, ["two", "three"]);
        assert_eq!(f.unterminated(), None);
    }

    #[test]
    fn reads_are_bounded_and_resume_where_they_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.jsonl");
        append(&path, b"aaaa\nbbbb\ncccc\n");
        let mut f = Follower::new(&path);
        let first = f.read_new(7).unwrap();
        assert_eq!((first.lines, first.more), (vec!["aaaa".to_owned()], true));
        let second = f.read_new(7).unwrap();
        assert_eq!((second.lines, second.more), (vec!["bbbb".to_owned()], true));
        let last = f.read_new(7).unwrap();
        assert_eq!((last.lines, last.more), (vec!["cccc".to_owned()], false));
        assert_eq!(f.read_new(7).unwrap(), NewLines::default());
    }

    #[test]
    fn a_line_over_the_cap_is_skipped_and_counted_whatever_the_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.jsonl");
        let long = vec![b'x'; LINE_CAP + CHUNK + 10];
        append(&path, b"before\n");
        append(&path, &long);
        append(&path, b"\nafter\n");
        let mut f = Follower::new(&path);
        let mut lines = Vec::new();
        loop {
            let got = f.read_new(CHUNK / 3).unwrap();
            lines.extend(got.lines);
            if !got.more {
                break;
            }
        }
        assert_eq!(lines, ["before", "after"]);
        assert_eq!(f.skipped(), 1);
        assert_eq!(f.unterminated(), None);
    }
}
