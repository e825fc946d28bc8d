//! JSON read with located errors: [`parse_json_value`] and [`parse_json`] place a syntax
//! or type error at its line, column and JSON path (`figures.p99.low`, `trials[2].run_id`)
//! by walking the text up to where serde_json stopped, and refuse an object that repeats
//! a key; [`unknown_keys`] names the fields a program would ignore.

use std::collections::HashSet;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::{Problem, bad_input, line_column, quoted, sanitised};
use crate::error::Error;

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
    use crate::fsio::tests::problem;

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
}
