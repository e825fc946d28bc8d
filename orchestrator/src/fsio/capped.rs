//! Files read within a bound: [`read_capped`] (a whole file as text) and [`open_capped`]
//! (a [`CappedReader`], line by line, each line capped too). A missing file, a directory,
//! a file over its cap and a line over its cap are [`Error::Input`]; a failure to read an
//! existing file is [`Error::Io`].

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use lab_config::file::{ReadError, read_text};

use super::{Problem, bad_input, human_bytes, line_column};
use crate::error::Error;

/// Opens `path` for reading: a missing path or a directory is bad input, any other failure
/// an I/O error.
fn open(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), Error> {
    let not_usable = |message: String| bad_input(path, Problem::new("", message));
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_usable("no such file".to_string()));
        }
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io("read", path, e))?;
    if meta.is_dir() {
        return Err(not_usable("is a directory, not a file".to_string()));
    }
    Ok((file, meta))
}

fn too_large(path: &Path, cap: u64, what: &str) -> Error {
    bad_input(
        path,
        Problem::new(
            "",
            format!("is larger than the {} {what} may be", human_bytes(cap)),
        ),
    )
}

/// Reads `path` as UTF-8 text of at most `cap` bytes ([`lab_config::file::read_text`]):
/// a missing file, a directory, a file over the cap and one that is not UTF-8 are
/// [`Error::Input`]; a failure to read an existing file is [`Error::Io`].
pub fn read_capped(path: &Path, cap: u64, what: &str) -> Result<String, Error> {
    read_text(path, cap, what).map_err(|e| match e {
        ReadError::Io { path, source } => Error::io("read", path, source),
        ReadError::NotAFile(d) | ReadError::Content(d) => bad_input(
            path,
            Problem {
                at: d.message.contains("UTF-8").then_some((d.line, d.column)),
                field: String::new(),
                message: d.message,
            },
        ),
    })
}

/// Opens `path` as a buffered reader that yields at most `cap + 1` bytes, for formats read
/// line by line (see [`CappedReader::next_line`]); missing files and directories are
/// [`Error::Input`], as for [`read_capped`].
pub fn open_capped(path: &Path, cap: u64, what: &str) -> Result<CappedReader, Error> {
    let (file, meta) = open(path)?;
    if meta.is_file() && meta.len() > cap {
        return Err(too_large(path, cap, what));
    }
    Ok(CappedReader {
        inner: BufReader::new(file.take(cap.saturating_add(1))),
        path: path.to_path_buf(),
        cap,
        what: what.to_string(),
        read: 0,
        line: 0,
    })
}

/// A bounded line reader over a file (see [`open_capped`]).
#[derive(Debug)]
pub struct CappedReader {
    inner: BufReader<std::io::Take<std::fs::File>>,
    path: PathBuf,
    cap: u64,
    what: String,
    read: u64,
    line: usize,
}

/// One line of a [`CappedReader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// The line's text, without its line ending.
    Text(String),
    /// The line is not UTF-8 (its 1-based column of the first bad byte).
    NotUtf8 {
        /// Column of the first byte that is not UTF-8.
        column: usize,
    },
}

impl CappedReader {
    /// The 1-based number of the line last returned.
    pub fn line_number(&self) -> usize {
        self.line
    }

    /// The next line, `None` at the end. A line longer than `line_cap` bytes, or a file
    /// past its cap, is an [`Error::Input`]; a read failure an [`Error::Io`].
    pub fn next_line(&mut self, line_cap: u64) -> Result<Option<Line>, Error> {
        read_line_capped(
            &mut self.inner,
            line_cap,
            &mut self.read,
            &mut self.line,
            |kind| match kind {
                Overrun::Line(line) => bad_input(
                    &self.path,
                    Problem {
                        at: Some((line, 1)),
                        field: String::new(),
                        message: format!(
                            "line {line} is longer than the {} a line may be",
                            human_bytes(line_cap)
                        ),
                    },
                ),
                Overrun::File => too_large(&self.path, self.cap, &self.what),
                Overrun::Io(e) => Error::io("read", &self.path, e),
            },
            self.cap,
        )
    }
}

/// Why [`read_line_capped`] stopped.
#[derive(Debug)]
enum Overrun {
    /// This (1-based) line is over the line cap.
    Line(usize),
    /// The whole input is over its cap.
    File,
    /// Reading failed.
    Io(std::io::Error),
}

/// Reads one line of at most `line_cap` bytes from `reader` (which yields at most
/// `cap + 1` bytes), counting bytes in `read` and lines in `line`.
fn read_line_capped(
    reader: &mut impl BufRead,
    line_cap: u64,
    read: &mut u64,
    line: &mut usize,
    error: impl Fn(Overrun) -> Error,
    cap: u64,
) -> Result<Option<Line>, Error> {
    let mut buf = Vec::new();
    let n = reader
        .by_ref()
        .take(line_cap.saturating_add(2))
        .read_until(b'\n', &mut buf)
        .map_err(|e| error(Overrun::Io(e)))?;
    *read += n as u64;
    if *read > cap {
        return Err(error(Overrun::File));
    }
    if n == 0 {
        return Ok(None);
    }
    *line += 1;
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    if buf.len() as u64 > line_cap {
        return Err(error(Overrun::Line(*line)));
    }
    Ok(Some(match String::from_utf8(buf) {
        Ok(text) => Line::Text(text),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            Line::NotUtf8 {
                column: line_column(e.as_bytes(), offset).1,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{EXIT_INFRA, EXIT_INVALID};
    use crate::fsio::tests::problem;
    use crate::fsio::{EVENTS_CAP, MIB, RESULT_CAP};

    #[test]
    fn an_endless_file_is_refused_at_the_cap_and_named() {
        let e = read_capped(Path::new("/dev/zero"), 4096, "a result").expect_err("too big");
        assert_eq!(e.exit_code(), EXIT_INVALID);
        assert_eq!(
            e.to_string(),
            "read /dev/zero: is larger than the 4 KiB a result may be"
        );
    }

    #[test]
    fn a_large_regular_file_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.json");
        let f = std::fs::File::create(&path).expect("create");
        f.set_len(17 * MIB).expect("sparse file");
        let e = read_capped(&path, RESULT_CAP, "a result").expect_err("too big");
        assert!(
            e.to_string()
                .ends_with("is larger than the 16 MiB a result may be"),
            "{e}"
        );
        assert_eq!(human_bytes(EVENTS_CAP), "1 GiB");
        assert_eq!(human_bytes(100), "100 B");
    }

    #[test]
    fn missing_files_and_directories_are_bad_input() {
        let e = read_capped(Path::new("/nonexistent/x.json"), 10, "x").expect_err("missing");
        assert_eq!(e.exit_code(), EXIT_INVALID);
        assert_eq!(e.to_string(), "read /nonexistent/x.json: no such file");
        let dir = tempfile::tempdir().expect("tempdir");
        let e = read_capped(dir.path(), 10, "x").expect_err("directory");
        assert_eq!(e.exit_code(), EXIT_INVALID);
        assert!(e.to_string().contains("is a directory"), "{e}");
    }

    #[test]
    fn an_unreadable_existing_file_is_an_io_error() {
        // /proc/self/mem exists but cannot be read from offset 0.
        let e = read_capped(Path::new("/proc/self/mem"), 10, "x").expect_err("unreadable");
        assert_eq!(e.exit_code(), EXIT_INFRA, "{e}");
    }

    #[test]
    fn a_non_utf8_byte_is_located_at_its_line_and_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.json");
        std::fs::write(&path, b"{\n  \"a\": \"\xc3\xa9\xff\"\n}").expect("write");
        let p = problem(read_capped(&path, 1024, "x").expect_err("not utf-8"));
        assert_eq!(p.at, Some((2, 10)), "{p}");
        assert!(p.message.contains("0xff at offset 12"), "{p}");
    }

    fn lines_of(bytes: &[u8], cap: u64, line_cap: u64) -> Result<Vec<Line>, Error> {
        let mut reader = std::io::Cursor::new(bytes.to_vec()).take(cap + 1);
        let mut reader = std::io::BufReader::new(&mut reader);
        let (mut read, mut line) = (0, 0);
        let mut out = Vec::new();
        let error = |o: Overrun| match o {
            Overrun::Line(l) => Error::Infra(format!("line {l}")),
            Overrun::File => Error::Infra("file".into()),
            Overrun::Io(e) => Error::Infra(e.to_string()),
        };
        while let Some(l) =
            read_line_capped(&mut reader, line_cap, &mut read, &mut line, error, cap)?
        {
            out.push(l);
        }
        Ok(out)
    }

    #[test]
    fn lines_are_capped_each_and_in_all() {
        let got = lines_of(b"ab\r\n\xffc\nlast", 100, 10).expect("lines");
        assert_eq!(
            got,
            vec![
                Line::Text("ab".into()),
                Line::NotUtf8 { column: 1 },
                Line::Text("last".into())
            ]
        );
        let e = lines_of(&[b'x'; 50], 100, 10).expect_err("long line");
        assert_eq!(e.to_string(), "line 1");
        let e = lines_of(b"0123456789\n0123456789\n0123456789\n", 25, 10).expect_err("big");
        assert_eq!(e.to_string(), "file");
        let got = lines_of(b"0123456789\n", 11, 10).expect("exactly at the caps");
        assert_eq!(got.len(), 1);
    }
}
