//! The scenario module's own test fixture: one valid scenario that exercises every section
//! (tests edit its text to break one field at a time), and helpers to parse it and locate
//! its diagnostics.

use std::path::Path;

use super::{Scenario, parse};
use crate::error::{Diagnostic, Error};

/// A valid scenario with a link, two groups (one QUIC, one invalid-signature), gossipsub
/// settings and targets: the one the hostile-input corpus mutates.
pub(super) const GOOD: &str = include_str!("../../../corpus/base.toml");

/// `text` parsed as `s.toml`, with profiles looked up nowhere.
pub(super) fn parse_str(text: &str) -> Result<Scenario, Error> {
    parse(Path::new("s.toml"), text, Path::new("/nonexistent-netem"))
}

/// The diagnostics of `text`, which must be invalid.
pub(super) fn diags(text: &str) -> Vec<Diagnostic> {
    match parse_str(text) {
        Err(Error::ScenarioInvalid(d)) => d,
        Err(other) => panic!("expected ScenarioInvalid, got {other}"),
        Ok(s) => panic!("expected diagnostics, got {s:?}"),
    }
}

/// 1-based (line, column) of the first occurrence of `needle` in `text`.
pub(super) fn pos(text: &str, needle: &str) -> (usize, usize) {
    let off = text.find(needle).expect("needle present");
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let col = off - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}
