//! Reading the files the orchestrator is given: capped in size, UTF-8 checked, and every
//! problem located by file, line and column, and (for JSON) the field's path.
//!
//! - [`read_capped`]: a whole file as text, never more than a bound (an endless file such
//!   as `/dev/zero` is refused after `cap + 1` bytes);
//! - [`open_capped`]: a file as a bounded reader, for line-by-line formats;
//! - [`parse_json_value`] and [`parse_json`]: JSON with syntax and type errors located at
//!   line, column and JSON path (`figures.p99.low`, `trials[2].run_id`), and duplicate
//!   object keys refused;
//! - [`Problems`]: what a validation found, turned into one [`Error::Input`].
//!
//! Content problems (missing file, directory, too large, not UTF-8, not the expected JSON)
//! are [`Error::Input`] (exit 2, bad input); only a failure to read an existing file is
//! [`Error::Io`] (exit 3).

use lab_config::file::{ReadError, read_text};
pub use lab_config::file::{human_bytes, line_column};
pub use lab_config::num;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::Error;
pub use crate::error::{InputError, Problem};

/// One mebibyte.
pub const MIB: u64 = 1 << 20;
/// The most a `result.json` or a `trials.json` may be.
pub const RESULT_CAP: u64 = 16 * MIB;
/// The most an `events.jsonl` may be.
pub const EVENTS_CAP: u64 = 1024 * MIB;
/// The most one line of an `events.jsonl` may be.
pub const EVENT_LINE_CAP: u64 = MIB;

/// Characters of input text quoted in a message at most.
const QUOTED_CHARS: usize = 120;

/// An [`Error::Input`] with one problem.
pub fn bad_input(path: &Path, problem: Problem) -> Error {
    Error::Input(Box::new(InputError {
        path: path.to_path_buf(),
        problems: vec![problem],
    }))
}

/// The problems a validation found, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Records that `field` (a JSON path) is wrong.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(field, message));
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was found, else one [`Error::Input`] for `path` listing it all.
    pub fn into_result(self, path: &Path) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Input(Box::new(InputError {
                path: path.to_path_buf(),
                problems: self.0,
            })))
        }
    }
}

/// `s` as a double-quoted string safe for a terminal: control characters escaped, at most
/// a hundred-odd characters (the rest elided).
pub fn quoted(s: &str) -> String {
    let mut o = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        if i == QUOTED_CHARS {
            o.push('…');
            break;
        }
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => o.extend(c.escape_default()),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// `s` with control characters escaped and cut after a few hundred characters: input text
/// echoed in a message (a parser's message may quote a hostile key).
fn sanitised(s: &str) -> String {
    let mut o = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == 4 * QUOTED_CHARS {
            o.push('…');
            break;
        }
        if c.is_control() {
            o.extend(c.escape_default());
        } else {
            o.push(c);
        }
    }
    o
}

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
/// line by line (see [`read_line_capped`]); missing files and directories are
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

/// Byte offset of serde_json's (1-based line, column in bytes) position in `text`: the end
/// of what the parser had consumed.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    (start + column).min(text.len())
}

/// A container being walked through.
enum Frame {
    /// An object; `key` is the key whose value comes (or came) last.
    Object {
        key: Option<String>,
        awaiting_key: bool,
        keys: HashSet<String>,
    },
    /// An array at element `index`.
    Array { index: usize },
}

/// A JSON path element as written in messages: `.key`, `["odd key"]` or `[3]`.
fn path_of(frames: &[Frame], include_last_key: bool) -> String {
    let mut o = String::new();
    let last = frames.len().saturating_sub(1);
    for (i, frame) in frames.iter().enumerate() {
        match frame {
            Frame::Object { key: Some(k), .. } if include_last_key || i < last => {
                let plain = !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if plain {
                    if !o.is_empty() {
                        o.push('.');
                    }
                    o.push_str(k);
                } else {
                    o.push('[');
                    o.push_str(&quoted(k));
                    o.push(']');
                }
            }
            Frame::Object { .. } => {}
            Frame::Array { index } => {
                o.push_str(&format!("[{index}]"));
            }
        }
    }
    o
}

/// The end of the JSON string starting with the quote at byte `start`: the byte after its
/// closing quote (or the end of the text).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The text of the JSON string `raw` (quotes included), escapes decoded where they can be.
fn decoded(raw: &str) -> String {
    serde_json::from_str::<String>(raw).unwrap_or_else(|_| {
        raw.strip_prefix('"')
            .map(|r| r.strip_suffix('"').unwrap_or(r))
            .unwrap_or(raw)
            .to_string()
    })
}

/// What [`walk`] found.
struct Walk {
    /// The path of the value being read at the stop.
    path: String,
    /// The path without the innermost object's current key.
    object_path: String,
    /// The first key repeated within one object: its byte offset and path.
    duplicate: Option<(usize, String)>,
}

/// Walks the JSON `text` up to byte `stop`, tracking the path; with `find_duplicates`,
/// walks on to the end and stops at the first key an object repeats.
fn walk(text: &str, stop: usize, find_duplicates: bool) -> Walk {
    let bytes = text.as_bytes();
    let mut frames: Vec<Frame> = Vec::new();
    let mut i = 0;
    let mut duplicate = None;
    while i < stop.min(bytes.len()) {
        match bytes[i] {
            b'{' => frames.push(Frame::Object {
                key: None,
                awaiting_key: true,
                keys: HashSet::new(),
            }),
            b'[' => frames.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                frames.pop();
            }
            b',' => match frames.last_mut() {
                Some(Frame::Object {
                    key, awaiting_key, ..
                }) => {
                    *key = None;
                    *awaiting_key = true;
                }
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            b':' => {
                if let Some(Frame::Object { awaiting_key, .. }) = frames.last_mut() {
                    *awaiting_key = false;
                }
            }
            b'"' => {
                let end = string_end(bytes, i);
                if let Some(Frame::Object {
                    key,
                    awaiting_key: true,
                    keys,
                }) = frames.last_mut()
                {
                    let s = decoded(text.get(i..end).unwrap_or_default());
                    if find_duplicates && !keys.insert(s.clone()) {
                        *key = Some(s);
                        duplicate = Some((i, path_of(&frames, true)));
                        break;
                    }
                    *key = Some(s);
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Walk {
        path: path_of(&frames, true),
        object_path: path_of(&frames, false),
        duplicate,
    }
}

/// A serde_json error as a problem located at its line and column and, where the text
/// shows it, the JSON path of the field.
fn located(text: &str, e: &serde_json::Error) -> Problem {
    let whole = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = whole.strip_suffix(&suffix).unwrap_or(&whole);
    if e.line() == 0 {
        return Problem::new("", sanitised(message));
    }
    let offset = offset_of(text, e.line(), e.column());
    let walk = walk(text, offset, false);
    // A missing field is noticed at the object's end: name the object, not its last key
    // (once the closing brace is consumed, the walk has left the object already).
    let closed = offset > 0 && text.as_bytes().get(offset - 1) == Some(&b'}');
    let field = if e.is_data() && message.starts_with("missing field") && !closed {
        walk.object_path
    } else if e.is_data() {
        walk.path
    } else {
        String::new()
    };
    Problem {
        at: Some(line_column(text.as_bytes(), offset.saturating_sub(1))),
        field,
        message: sanitised(message),
    }
}

/// Parses `text` (read from `path`) as JSON: syntax errors are located at line and column;
/// an object that repeats a key is refused (serde would silently keep one of the values).
pub fn parse_json_value(path: &Path, text: &str) -> Result<serde_json::Value, Error> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad_input(path, located(text, &e)))?;
    if let Some((offset, field)) = walk(text, text.len(), true).duplicate {
        return Err(bad_input(
            path,
            Problem {
                at: Some(line_column(text.as_bytes(), offset)),
                field,
                message: "appears twice in the same object".to_string(),
            },
        ));
    }
    Ok(value)
}

/// Parses `text` (read from `path`) as a `T`; a type error, an unknown field (for types
/// that deny them) or a missing field is located at line, column and JSON path.
pub fn parse_json<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| bad_input(path, located(text, &e)))
}

/// The JSON paths of the object keys in `input` that `known` (the same document as the
/// program understood it, serialised back) lacks: fields the program would ignore.
pub fn unknown_keys(input: &serde_json::Value, known: &serde_json::Value) -> Vec<String> {
    fn visit(
        input: &serde_json::Value,
        known: &serde_json::Value,
        frames: &mut Vec<Frame>,
        out: &mut Vec<String>,
    ) {
        use serde_json::Value;
        match (input, known) {
            (Value::Object(i), Value::Object(k)) => {
                for (key, value) in i {
                    frames.push(Frame::Object {
                        key: Some(key.clone()),
                        awaiting_key: false,
                        keys: HashSet::new(),
                    });
                    match k.get(key) {
                        Some(kv) => visit(value, kv, frames, out),
                        None => out.push(path_of(frames, true)),
                    }
                    frames.pop();
                }
            }
            (Value::Array(i), Value::Array(k)) => {
                for (index, (iv, kv)) in i.iter().zip(k).enumerate() {
                    frames.push(Frame::Array { index });
                    visit(iv, kv, frames, out);
                    frames.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    visit(input, known, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{EXIT_INFRA, EXIT_INVALID};

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        low: f64,
        high: f64,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        figures: std::collections::BTreeMap<String, Inner>,
        list: Vec<Inner>,
    }

    fn problem(e: Error) -> Problem {
        match e {
            Error::Input(i) => i.problems[0].clone(),
            other => panic!("not an input error: {other}"),
        }
    }

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

    #[test]
    fn syntax_errors_have_line_and_column() {
        let text = "{\n  \"name\": \"x\",\n  \"figures\": {,}\n}";
        let e = parse_json_value(Path::new("f.json"), text).expect_err("syntax");
        let msg = e.to_string();
        assert!(msg.starts_with("read f.json:3:"), "{msg}");
        assert!(!msg.contains("at line"), "{msg}");
    }

    #[test]
    fn type_errors_and_unknown_fields_name_the_json_path() {
        let path = Path::new("f.json");
        let text = r#"{"name": "x", "figures": {"p99": {"low": 1, "lo": 2}}, "list": []}"#;
        let p = problem(parse_json::<Outer>(path, text).expect_err("unknown"));
        assert_eq!(p.field, "figures.p99.lo", "{p}");
        assert!(p.message.starts_with("unknown field `lo`"), "{p}");
        let text = r#"{"name": "x", "figures": {}, "list": [{"low": 1, "high": 2}, {"low": "a", "high": 1}]}"#;
        let p = problem(parse_json::<Outer>(path, text).expect_err("type"));
        assert_eq!(p.field, "list[1].low", "{p}");
        let text = r#"{"name": "x", "figures": {"p50": {"low": 1}}, "list": []}"#;
        let p = problem(parse_json::<Outer>(path, text).expect_err("missing"));
        assert_eq!(p.field, "figures.p50", "{p}");
        assert!(p.message.starts_with("missing field `high`"), "{p}");
        let text = r#"{"name": "x", "figures": {}, "list": [], "\u001b[31m odd": 1}"#;
        let e = parse_json::<Outer>(path, text).expect_err("odd key");
        let msg = e.to_string();
        assert!(!msg.contains('\u{1b}'), "{msg}");
        assert!(msg.contains(r#"field `["\u{1b}[31m odd"]`"#), "{msg}");
    }

    #[test]
    fn duplicate_keys_are_refused_where_they_repeat() {
        let text = "{\"figures\": {\"p99\": 1,\n \"p99\": 2}}";
        let p = problem(parse_json_value(Path::new("f.json"), text).expect_err("duplicate"));
        assert_eq!(p.field, "figures.p99");
        assert_eq!(p.at, Some((2, 2)));
        // Keys compare as decoded: an escape does not hide a repeat.
        let text = r#"{"x\"y": {"a": "}{,\"", "\u0061": 2}}"#;
        let p = problem(parse_json_value(Path::new("f.json"), text).expect_err("duplicate"));
        assert_eq!(p.field, r#"["x\"y"].a"#);
        // The same key in different objects is fine.
        parse_json_value(
            Path::new("f.json"),
            r#"[{"a": 1}, {"a": 2}, {"b": {"a": 3}}]"#,
        )
        .expect("no duplicate");
    }

    #[test]
    fn unknown_keys_are_found_against_the_serialised_form() {
        let input = serde_json::json!({"a": 1, "b": {"c": 2, "x": 3}, "l": [{"y": 1}]});
        let known = serde_json::json!({"a": 1, "b": {"c": 2}, "l": [{}]});
        assert_eq!(unknown_keys(&input, &known), vec!["b.x", "l[0].y"]);
    }

    #[test]
    fn several_problems_are_listed_one_a_line() {
        let mut p = Problems::default();
        assert!(p.clone().into_result(Path::new("f")).is_ok());
        p.push("a", "is bad");
        p.push("", "is empty");
        let e = p.into_result(Path::new("f.json")).expect_err("problems");
        assert_eq!(
            e.to_string(),
            "read f.json (2 problems):\n  f.json: field `a`: is bad\n  f.json: is empty"
        );
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
