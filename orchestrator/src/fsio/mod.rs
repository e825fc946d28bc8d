//! Reading the files the orchestrator is given: capped in size, UTF-8 checked, and every
//! problem located by file, line and column, and (for JSON) the field's path.
//!
//! - `capped`: [`read_capped`], a whole file as text, never more than a bound (an endless
//!   file such as `/dev/zero` is refused after `cap + 1` bytes), and [`open_capped`], a
//!   file as a bounded reader, for line-by-line formats;
//! - `json`: [`parse_json_value`] and [`parse_json`], JSON with syntax and type errors
//!   located at line, column and JSON path (`figures.p99.low`, `trials[2].run_id`), and
//!   duplicate object keys refused; [`unknown_keys`], the fields a program would ignore;
//! - here: the caps, [`Problems`] (what a validation found, turned into one
//!   [`Error::Input`]) and [`quoted`] (input text made safe to show).
//!
//! Content problems (missing file, directory, too large, not UTF-8, not the expected JSON)
//! are [`Error::Input`] (exit 2, bad input); only a failure to read an existing file is
//! [`Error::Io`] (exit 3).

mod capped;
mod json;

pub use capped::{CappedReader, Line, open_capped, read_capped};
pub use json::{parse_json, parse_json_value, unknown_keys};
pub use lab_config::file::{human_bytes, line_column};
pub use lab_config::num;
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The first problem of an [`Error::Input`].
    pub(super) fn problem(e: Error) -> Problem {
        match e {
            Error::Input(i) => i.problems[0].clone(),
            other => panic!("not an input error: {other}"),
        }
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
}
