//! `--junit FILE`: the run's targets as JUnit XML, one `<testcase>` per target, a
//! `<failure>` for each missed one, for CI systems that render test reports.
//!
//! A single run gives one `<testsuite>` named after the scenario; a trials run gives one
//! whose cases are the targets checked on the medians, with every trial's verdict in
//! `<system-out>`; a run that could not finish gives one `<testcase name="run">` with an
//! `<error>`.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::Error;
use crate::gate::TrialsResult;
use crate::result::{Comparison, RunResult, TargetCheck};

/// `s` with the five XML special characters escaped and characters XML 1.0 cannot hold
/// (control characters other than tab, newline and carriage return) dropped.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => o.push(c),
        }
    }
    o
}

fn value(t: &TargetCheck, v: f64) -> String {
    if t.unit == "ms" {
        format!("{v:.1} ms")
    } else {
        format!("{v:.4}")
    }
}

fn wanted(t: &TargetCheck) -> String {
    let symbol = match t.comparison {
        Comparison::Below => "<",
        Comparison::AtLeast => ">=",
        Comparison::AtMost => "<=",
    };
    format!("{symbol} {}", value(t, t.target))
}

/// One `<testcase>` for a target.
fn testcase(o: &mut String, classname: &str, t: &TargetCheck) {
    let measured = t
        .measured
        .map_or_else(|| "nothing measured".to_string(), |m| value(t, m));
    let _ = write!(
        o,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
        escape(classname),
        escape(&format!("{} {}", t.name, wanted(t)))
    );
    if t.met {
        let _ = writeln!(o, "/>");
    } else {
        let _ = writeln!(o, ">");
        let _ = writeln!(
            o,
            "      <failure type=\"target_missed\" message=\"{}\"/>",
            escape(&format!(
                "{}: measured {measured}, wanted {}",
                t.name,
                wanted(t)
            ))
        );
        let _ = writeln!(o, "    </testcase>");
    }
}

struct Suite<'a> {
    name: &'a str,
    time_s: f64,
    properties: Vec<(&'static str, String)>,
    targets: &'a [TargetCheck],
    system_out: Option<String>,
}

fn document(suite: &Suite<'_>) -> String {
    let tests = suite.targets.len();
    let failures = suite.targets.iter().filter(|t| !t.met).count();
    let mut o = String::new();
    let _ = writeln!(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        o,
        "<testsuites name=\"meshlab\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\">",
        suite.time_s
    );
    let _ = writeln!(
        o,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">",
        escape(suite.name),
        suite.time_s
    );
    let _ = writeln!(o, "    <properties>");
    for (k, v) in &suite.properties {
        let _ = writeln!(
            o,
            "      <property name=\"{}\" value=\"{}\"/>",
            escape(k),
            escape(v)
        );
    }
    let _ = writeln!(o, "    </properties>");
    let classname = format!("meshlab.{}", suite.name);
    for t in suite.targets {
        testcase(&mut o, &classname, t);
    }
    if let Some(out) = &suite.system_out {
        let _ = writeln!(o, "    <system-out>{}</system-out>", escape(out));
    }
    let _ = writeln!(o, "  </testsuite>");
    let _ = writeln!(o, "</testsuites>");
    o
}

/// The JUnit document of one run.
pub fn for_run(r: &RunResult) -> String {
    document(&Suite {
        name: &r.scenario,
        time_s: r.ended_at_ms.saturating_sub(r.started_at_ms) as f64 / 1000.0,
        properties: vec![
            ("run_id", r.run_id.clone()),
            ("seed", r.seed.to_string()),
            ("shaper", r.shaper.clone()),
            ("nodes", r.nodes.total.to_string()),
        ],
        targets: &r.targets,
        system_out: Some(super::summary::render(r)),
    })
}

/// The JUnit document of a trials run: the targets as checked on the medians.
pub fn for_trials(t: &TrialsResult, time_s: f64) -> String {
    let verdicts: Vec<String> = t
        .trials
        .iter()
        .map(|r| format!("{}: {}", r.run_id, if r.met { "met" } else { "missed" }))
        .collect();
    document(&Suite {
        name: &t.scenario,
        time_s,
        properties: vec![
            ("trials_id", t.id.clone()),
            ("trials", t.trials.len().to_string()),
            ("seed", t.seed.to_string()),
            ("shaper", t.shapers.join(",")),
        ],
        targets: &t.targets,
        system_out: Some(format!(
            "{}\n{}",
            super::trials::table(t),
            verdicts.join("\n")
        )),
    })
}

/// The JUnit document of a run that ended in `error` before it could be judged.
pub fn for_error(scenario: &str, error: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        o,
        "<testsuites name=\"meshlab\" tests=\"1\" failures=\"0\" errors=\"1\">"
    );
    let _ = writeln!(
        o,
        "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">",
        escape(scenario)
    );
    let _ = writeln!(
        o,
        "    <testcase classname=\"meshlab.{}\" name=\"run\">",
        escape(scenario)
    );
    let _ = writeln!(
        o,
        "      <error type=\"run_failed\" message=\"{}\"/>",
        escape(&format!("failed to {error}"))
    );
    let _ = writeln!(o, "    </testcase>");
    let _ = writeln!(o, "  </testsuite>");
    let _ = writeln!(o, "</testsuites>");
    o
}

/// Writes `xml` to `path`, creating its folder.
pub fn write(path: &Path, xml: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    std::fs::write(path, xml).map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::figures::tests::result_with;

    #[test]
    fn escapes_markup_and_drops_what_xml_cannot_hold() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}\te"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\te"
        );
    }

    #[test]
    fn one_case_per_target_and_a_failure_per_miss() {
        // p99 target 200 ms: 250 ms misses it; delivery 0.999 ≥ 0.99 meets it.
        let mut r = result_with(30.0, 60.0, 250.0, 300.0, 0.999, 1.8);
        r.scenario = "smoke <&> \"x\"".into();
        let xml = for_run(&r);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
        assert!(
            xml.contains("tests=\"2\" failures=\"1\" errors=\"0\""),
            "{xml}"
        );
        assert!(
            xml.contains("name=\"p99 &lt; 200.0 ms\""),
            "the case names target and bound: {xml}"
        );
        assert!(
            xml.contains("message=\"p99: measured 250.0 ms, wanted &lt; 200.0 ms\""),
            "{xml}"
        );
        assert!(xml.contains("name=\"delivery &gt;= 0.9900\""), "{xml}");
        assert!(xml.contains("smoke &lt;&amp;&gt; &quot;x&quot;"), "{xml}");
        assert!(!xml.contains("<&>"), "{xml}");
        // Every element opened is closed.
        for tag in ["testsuites", "testsuite", "properties", "system-out"] {
            assert_eq!(
                xml.matches(&format!("<{tag}>")).count() + xml.matches(&format!("<{tag} ")).count(),
                xml.matches(&format!("</{tag}>")).count(),
                "{tag} in {xml}"
            );
        }
    }

    #[test]
    fn trials_and_errors_have_their_own_documents() {
        let mut a = result_with(30.0, 60.0, 100.0, 120.0, 1.0, 1.8);
        a.run_id = "a".into();
        let mut b = result_with(30.0, 60.0, 250.0, 300.0, 1.0, 1.8);
        b.run_id = "b".into();
        let t = crate::gate::trials::summarise(&[a.clone(), b, a]).expect("summary");
        let xml = for_trials(&t, 240.0);
        assert!(xml.contains("failures=\"0\""), "median meets p99: {xml}");
        assert!(xml.contains("b: missed"), "{xml}");
        assert!(xml.contains("time=\"240.000\""), "{xml}");
        let err = for_error("smoke", "reach the docker engine: <refused>");
        assert!(err.contains("errors=\"1\""), "{err}");
        assert!(
            err.contains("message=\"failed to reach the docker engine: &lt;refused&gt;\""),
            "{err}"
        );
    }

    #[test]
    fn write_creates_the_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ci").join("junit.xml");
        write(&path, "<x/>").expect("written");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "<x/>");
    }
}
