//! The checks every node field shares: bounded numbers, texts and dial addresses, each
//! problem located at its field.

use crate::bounds::*;
use crate::doc::FieldPath;
use crate::{Problem, num};

/// Collects problems under one field path.
pub(super) struct Checker {
    pub(super) at: FieldPath,
    pub(super) problems: Vec<Problem>,
}

impl Checker {
    pub(super) fn new(at: FieldPath) -> Self {
        Checker {
            at,
            problems: Vec::new(),
        }
    }

    pub(super) fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.relation(field, &[], message);
    }

    /// A rule over several fields, reported at `field` (or at the first of `related` a
    /// file gives).
    pub(super) fn relation(&mut self, field: &str, related: &[&str], message: impl Into<String>) {
        self.problems.push(Problem {
            field: self.at.key(field),
            message: message.into(),
            related: related.iter().map(|r| self.at.key(r)).collect(),
        });
    }

    /// `lo <= v <= hi` for an integer field.
    pub(super) fn within<T: PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        field: &str,
        v: T,
        lo: T,
        hi: T,
    ) {
        if v < lo || v > hi {
            self.fail(field, format!("must be {lo}..={hi}, got {v}"));
        }
    }

    /// A finite float in `lo..=hi`.
    pub(super) fn within_f(&mut self, field: &str, v: f64, lo: f64, hi: f64) -> bool {
        let ok = v.is_finite() && v >= lo && v <= hi;
        if !ok {
            self.fail(
                field,
                format!(
                    "must be a number in {}..={}, got {}",
                    num(lo),
                    num(hi),
                    num(v)
                ),
            );
        }
        ok
    }

    /// A file the node writes: UTF-8, not empty, at most [`super::MAX_EVENTS_PATH_BYTES`],
    /// no control characters, and naming a file rather than a directory.
    pub(super) fn events_path(&mut self, field: &str, path: &std::path::Path) {
        let problem = match path.to_str() {
            None => Some("must be UTF-8".to_string()),
            Some(s) if s.trim().is_empty() => Some("must not be empty".to_string()),
            Some(s) if s.len() > super::MAX_EVENTS_PATH_BYTES => Some(format!(
                "must be at most {} bytes, got {}",
                super::MAX_EVENTS_PATH_BYTES,
                s.len()
            )),
            Some(s) if s.chars().any(char::is_control) => {
                Some("must not contain control characters".to_string())
            }
            Some(s) if s.ends_with('/') || path.file_name().is_none() => {
                Some(format!("must name a file, not a directory: `{s}`"))
            }
            Some(_) => None,
        };
        if let Some(p) = problem {
            self.fail(field, p);
        }
    }

    pub(super) fn text(&mut self, field: &str, s: &str) {
        if let Err(e) = check_text(s) {
            self.fail(field, e);
        }
    }
}

/// The rule for a name, a topic or an address: not blank, at most [`MAX_NAME_BYTES`], no
/// control characters.
pub fn check_text(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err("must not be empty".into())
    } else if s.len() > MAX_NAME_BYTES {
        Err(format!(
            "must be at most {MAX_NAME_BYTES} bytes, got {}",
            s.len()
        ))
    } else if s.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(())
    }
}

/// Whether a multiaddr names a transport the node speaks: `/ip4|ip6|dns*/HOST/tcp/PORT` or
/// `/…/udp/PORT/quic-v1`, optionally followed by `/p2p/<peer id>`. Returns the reason when
/// it does not.
pub fn check_dial_address(addr: &str) -> Result<(), String> {
    let parts: Vec<&str> = addr.split('/').collect();
    if parts.first() != Some(&"") || parts.len() < 3 {
        return Err(format!(
            "`{addr}` is not a multiaddr (it must start with `/`)"
        ));
    }
    if !matches!(parts[1], "ip4" | "ip6" | "dns" | "dns4" | "dns6") {
        return Err(format!(
            "`{addr}` must start with /ip4, /ip6 or /dns, not /{}",
            parts[1]
        ));
    }
    let port_ok = |p: Option<&&str>| p.is_some_and(|p| p.parse::<u16>().is_ok());
    match (parts.get(3), parts.get(5)) {
        (Some(&"tcp"), _) if port_ok(parts.get(4)) => Ok(()),
        (Some(&"udp"), Some(&"quic-v1")) if port_ok(parts.get(4)) => Ok(()),
        (None, _) => Err(format!(
            "`{addr}` names no transport: add /tcp/PORT or /udp/PORT/quic-v1"
        )),
        _ => Err(format!(
            "`{addr}` names no transport the node speaks (/tcp/PORT or /udp/PORT/quic-v1)"
        )),
    }
}
