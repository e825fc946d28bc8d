//! Reading a text file the lab was given: capped in size, UTF-8 checked, and every failure
//! located (a non-UTF-8 byte is reported at its line and column).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::Diagnostic;

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Reading an existing file failed (permissions, I/O).
    #[error("read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The path names no file, or a directory: the input given was wrong.
    #[error("read {0}")]
    NotAFile(Diagnostic),
    /// The file is larger than the cap, or not valid UTF-8.
    #[error("read {0}")]
    Content(Diagnostic),
}

impl ReadError {
    /// The problem as a located diagnostic (I/O failures at 1:1).
    pub fn into_diagnostic(self) -> Diagnostic {
        match self {
            ReadError::Content(d) | ReadError::NotAFile(d) => d,
            ReadError::Io { path, source } => Diagnostic {
                file: path,
                line: 1,
                column: 1,
                field: String::new(),
                message: format!("cannot read the file: {source}"),
            },
        }
    }
}

/// Reads at most `cap` bytes of `path` as UTF-8 text; a larger file (or an endless one such
/// as `/dev/zero`) is refused without reading more than `cap + 1` bytes. `what` names the
/// kind of file in the message ("a scenario": "is larger than the 1 MiB a scenario may
/// be"). A missing path or a directory is [`ReadError::NotAFile`]; a file over the cap or
/// not UTF-8 (located at the line and column of the first bad byte) is
/// [`ReadError::Content`]; a failure to read an existing file is [`ReadError::Io`].
pub fn read_text(path: &Path, cap: u64, what: &str) -> Result<String, ReadError> {
    let at = |(line, column): (usize, usize), message: String| Diagnostic {
        file: path.to_path_buf(),
        line,
        column,
        field: String::new(),
        message,
    };
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReadError::NotAFile(at((1, 1), "no such file".into())));
        }
        Err(e) => return Err(io(e)),
    };
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(ReadError::NotAFile(at(
            (1, 1),
            "is a directory, not a file".into(),
        )));
    }
    let too_large = || {
        ReadError::Content(at(
            (1, 1),
            format!("is larger than the {} {what} may be", human_bytes(cap)),
        ))
    };
    if meta.is_file() && meta.len() > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        ReadError::Content(at(
            line_column(bytes, offset),
            format!(
                "is not UTF-8 text: byte 0x{:02x} at offset {offset}",
                bytes.get(offset).copied().unwrap_or_default()
            ),
        ))
    })
}

/// 1-based line and column (in characters) of byte `offset` of `bytes`.
pub fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

/// `1 GiB`, `16 MiB`, `4 KiB`, `100 B`.
pub fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{} GiB", n >> 30)
    } else if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_utf8_byte_is_located_at_its_line_and_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.toml");
        std::fs::write(&path, b"a = 1\nbc = \"\xff\"\n").expect("write");
        let ReadError::Content(d) = read_text(&path, 1024, "test").expect_err("not utf-8") else {
            panic!("expected a content error");
        };
        assert_eq!((d.line, d.column), (2, 7), "{d}");
        assert!(d.message.contains("0xff"), "{d}");
        assert!(d.message.contains("not UTF-8"), "{d}");
    }

    #[test]
    fn an_endless_file_is_refused_at_the_cap() {
        let e = read_text(Path::new("/dev/zero"), 4096, "a scenario").expect_err("too big");
        assert!(
            e.to_string().contains("larger than the 4 KiB a scenario"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_file_or_a_directory_is_not_a_file() {
        let e = read_text(Path::new("/nonexistent/x"), 10, "x").expect_err("missing");
        assert!(matches!(e, ReadError::NotAFile(_)), "{e}");
        let e = read_text(Path::new("/tmp"), 10, "x").expect_err("directory");
        assert!(matches!(e, ReadError::NotAFile(_)), "{e}");
    }
}
