//! Results as JSON files: writing a report folder's file (pretty, one trailing newline),
//! reading one back (capped, parsed, then validated), and `result.json` itself.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::RunResult;
use crate::error::Error;
use crate::fsio::{self, Problems};

/// Writes `value` as pretty JSON to `dir/file_name` (creating `dir`) and returns the
/// file's path.
pub fn write_pretty(dir: &Path, file_name: &str, value: &impl Serialize) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let path = dir.join(file_name);
    let json = serde_json::to_string_pretty(value).map_err(|e| Error::Encode {
        what: path.display().to_string(),
        message: e.to_string(),
    })?;
    std::fs::write(&path, json + "\n").map_err(|e| Error::io("write", &path, e))?;
    Ok(path)
}

/// Reads the JSON file `path` (at most [`fsio::RESULT_CAP`] bytes; `what` names what it
/// should be, e.g. `a result`, for the message when it is larger) and hands its text and
/// parsed value to `validate`, which makes it a `T` or says what is wrong with it.
pub fn read_validated<T>(
    path: &Path,
    what: &str,
    validate: impl FnOnce(&Path, &str, &serde_json::Value) -> Result<T, Error>,
) -> Result<T, Error> {
    let text = fsio::read_capped(path, fsio::RESULT_CAP, what)?;
    let value = fsio::parse_json_value(path, &text)?;
    validate(path, &text, &value)
}

impl RunResult {
    /// Writes `reports_dir/<run-id>/result.json` (creating the folder) and returns its path.
    pub fn write_json(&self, reports_dir: &Path) -> Result<PathBuf, Error> {
        write_pretty(&reports_dir.join(&self.run_id), "result.json", self)
    }

    /// Reads a `result.json` written by [`RunResult::write_json`] (at most
    /// [`fsio::RESULT_CAP`] bytes) and refuses one that is not a coherent measurement (see
    /// [`RunResult::problems`]): every problem is named by file and JSON path.
    pub fn read_json(path: &Path) -> Result<Self, Error> {
        read_validated(path, "a result", Self::from_json_value)
    }

    /// Parses the JSON `text` of `path` (already parsed as `value`) as a result and
    /// validates it: unknown fields anywhere, then [`RunResult::problems`].
    pub fn from_json_value(
        path: &Path,
        text: &str,
        value: &serde_json::Value,
    ) -> Result<Self, Error> {
        let r: RunResult = fsio::parse_json(path, text)?;
        let mut problems = Problems::default();
        // Nested types of other modules do not deny unknown fields: compare the input with
        // what was understood.
        if let Ok(understood) = serde_json::to_value(&r) {
            for field in fsio::unknown_keys(value, &understood) {
                problems.push(field, "is not a field of a result.json");
            }
        }
        problems.0.extend(r.problems().0);
        problems.into_result(path)?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::fixtures::{START_MS, coherent, stats_with, test_cost, test_plan};

    #[test]
    fn json_round_trips_through_the_report_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = RunResult::new(
            "run-5",
            &test_plan(),
            stats_with(Some(5), Some(6), Some(1.0)),
            "userspace",
            START_MS,
            START_MS + 20_000,
        );
        r.phases.ready_after_s = Some(3.5);
        r.resources.peak_host_mem_bytes = Some(1 << 30);
        r.resources.cost = Some(test_cost());
        let path = r.write_json(dir.path()).expect("written");
        assert_eq!(path, dir.path().join("run-5").join("result.json"));
        let back = RunResult::read_json(&path).expect("read back");
        assert_eq!(back, r);
        let text = std::fs::read_to_string(&path).expect("text");
        for field in [
            "\"run_id\"",
            "\"ready_after_s\"",
            "\"p95_us\"",
            "\"targets\"",
            "\"met\"",
            "\"softirq_cores\"",
        ] {
            assert!(text.contains(field), "{field} missing");
        }
    }

    #[test]
    fn a_result_without_a_cost_still_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = coherent().write_json(dir.path()).expect("written");
        let text = std::fs::read_to_string(&path).expect("text");
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v["resources"]
            .as_object_mut()
            .expect("object")
            .remove("cost");
        std::fs::write(&path, v.to_string()).expect("write");
        let back = RunResult::read_json(&path).expect("an old result reads");
        assert_eq!(back.resources.cost, None);
    }

    #[test]
    fn reading_refuses_unknown_fields_at_any_depth() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = coherent().write_json(dir.path()).expect("written");
        let text = std::fs::read_to_string(&path).expect("text");
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v["stats"]["latency"]["p42_us"] = 1.into();
        std::fs::write(&path, v.to_string()).expect("write");
        let e = RunResult::read_json(&path).expect_err("unknown field");
        assert_eq!(e.exit_code(), crate::error::EXIT_INVALID);
        assert!(
            e.to_string()
                .contains("field `stats.latency.p42_us`: is not a field"),
            "{e}"
        );
        v["stats"]["latency"]
            .as_object_mut()
            .expect("object")
            .remove("p42_us");
        v["surplus"] = true.into();
        std::fs::write(&path, v.to_string()).expect("write");
        let e = RunResult::read_json(&path).expect_err("unknown field");
        assert!(
            e.to_string().contains("field `surplus`: unknown field"),
            "{e}"
        );
    }
}
