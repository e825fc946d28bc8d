//! `--junit FILE`: the run's targets as JUnit XML, one `<testcase>` per target, a
//! `<failure>` for each missed one, for CI systems that render test reports.
//!
//! A single run gives one `<testsuite>` named after the scenario; a trials run gives one
//! whose cases are the targets checked on the medians, with every trial's verdict in
//! `<system-out>`; a run that could not finish gives one `<testcase name="run">` with an
//! `<error>`.
//!
//! The document is built and written by `quick-junit` (the nextest authors' JUnit model):
//! it counts tests, failures and errors, escapes markup and drops what XML cannot hold
//! (control characters but the newline, ANSI colour codes); this file only says what goes
//! in it. Chosen over our former string builder: less code of ours, and well-formed XML by
//! construction rather than by care.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::error::Error;
use crate::gate::TrialsResult;
use crate::result::{Comparison, RunResult, TargetCheck, Verdict};

/// The name of every document's `<testsuites>`.
const REPORT_NAME: &str = "meshlab";

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

/// One `<testcase>` for a target, with a `<failure>` when it was missed.
fn testcase(classname: &str, t: &TargetCheck) -> TestCase {
    let status = if t.met {
        TestCaseStatus::success()
    } else {
        let measured = t
            .measured
            .map_or_else(|| "nothing measured".to_string(), |m| value(t, m));
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_type("target_missed").set_message(format!(
            "{}: measured {measured}, wanted {}",
            t.name,
            wanted(t)
        ));
        status
    };
    let mut case = TestCase::new(format!("{} {}", t.name, wanted(t)), status);
    case.set_classname(classname).set_time(Duration::ZERO);
    case
}

struct Suite<'a> {
    name: &'a str,
    time_s: f64,
    properties: Vec<(&'static str, String)>,
    targets: &'a [TargetCheck],
    system_out: String,
    /// Why the measurement was distorted, when it was: an error case, and the targets
    /// skipped as not judged.
    distorted: Option<String>,
}

/// A document of one suite, taking `time` when known.
fn document(time: Option<Duration>, suite: TestSuite) -> Report {
    let mut report = Report::new(REPORT_NAME);
    if let Some(time) = time {
        report.set_time(time);
    }
    report.add_test_suite(suite);
    report
}

fn targets_document(s: Suite<'_>) -> Report {
    let time = Duration::try_from_secs_f64(s.time_s).unwrap_or_default();
    let mut suite = TestSuite::new(s.name);
    suite.set_time(time);
    suite.add_properties(s.properties.into_iter().map(|(k, v)| Property::new(k, v)));
    let classname = format!("{REPORT_NAME}.{}", s.name);
    match &s.distorted {
        None => suite.add_test_cases(s.targets.iter().map(|t| testcase(&classname, t))),
        Some(why) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_type("distorted").set_message(why.clone());
            let mut case = TestCase::new("distortion", status);
            case.set_classname(classname.clone());
            suite.add_test_case(case);
            suite.add_test_cases(s.targets.iter().map(|t| {
                let mut status = TestCaseStatus::skipped();
                status.set_message("not judged: the run was distorted");
                let mut case = TestCase::new(t.name.clone(), status);
                case.set_classname(classname.clone());
                case
            }))
        }
    };
    suite.set_system_out(s.system_out);
    document(Some(time), suite)
}

/// The JUnit document of one run.
pub fn for_run(r: &RunResult) -> Report {
    targets_document(Suite {
        name: &r.scenario,
        time_s: r.ended_at_ms.saturating_sub(r.started_at_ms) as f64 / 1000.0,
        properties: vec![
            ("run_id", r.run_id.clone()),
            ("seed", r.seed.to_string()),
            ("shaper", r.shaper.clone()),
            ("nodes", r.nodes.total.to_string()),
        ],
        targets: &r.targets,
        system_out: super::summary::render(r),
        distorted: r.distorted().then(|| r.distorted.join("; ")),
    })
}

/// The JUnit document of a trials run: the targets as checked on the medians.
pub fn for_trials(t: &TrialsResult, time_s: f64) -> Report {
    let verdicts: Vec<String> = t
        .trials
        .iter()
        .map(|r| {
            let verdict = match (r.distorted, r.met) {
                (true, _) => "distorted",
                (false, true) => "met",
                (false, false) => "missed",
            };
            format!("{}: {verdict}", r.run_id)
        })
        .collect();
    targets_document(Suite {
        name: &t.scenario,
        time_s,
        properties: vec![
            ("trials_id", t.id.clone()),
            ("trials", t.trials.len().to_string()),
            ("seed", t.seed.to_string()),
            ("shaper", t.shapers.join(",")),
            ("runner", t.runner_names()),
            ("set_aside", t.set_aside.len().to_string()),
        ],
        targets: &t.targets,
        system_out: format!("{}\n{}", super::trials::table(t), verdicts.join("\n")),
        distorted: t
            .distorted()
            .then(|| "a trial measured its own host, not the network".to_string()),
    })
}

/// The JUnit document of a run that ended in `error` before it could be judged.
pub fn for_error(scenario: &str, error: &str) -> Report {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status
        .set_type("run_failed")
        .set_message(format!("failed to {error}"));
    let mut case = TestCase::new("run", status);
    case.set_classname(format!("{REPORT_NAME}.{scenario}"));
    let mut suite = TestSuite::new(scenario);
    suite.add_test_case(case);
    document(None, suite)
}

/// Writes `report` to `path`, creating its folder.
pub fn write(path: &Path, report: &Report) -> Result<(), Error> {
    let xml = report.to_string().map_err(|e| Error::Encode {
        what: "JUnit XML".into(),
        message: e.to_string(),
    })?;
    // The two non-characters XML 1.0 cannot hold either (quick-junit drops the rest).
    let xml = xml.replace(['\u{FFFE}', '\u{FFFF}'], "");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    std::fs::write(path, xml).map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use quick_junit::{NonSuccessKind, Report, TestCaseStatus};

    use super::*;
    use crate::gate::figures::tests::result_with;

    /// `report` as written to a file, and read back.
    fn written(report: &Report) -> (String, Report) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("junit.xml");
        write(&path, report).expect("written");
        let xml = std::fs::read_to_string(&path).expect("read");
        let parsed = Report::deserialize_from_str(&xml).expect("well-formed JUnit XML");
        (xml, parsed)
    }

    /// The failure or error of a case: (kind, type, message).
    fn outcome(status: &TestCaseStatus) -> Option<(NonSuccessKind, &str, &str)> {
        match status {
            TestCaseStatus::NonSuccess {
                kind, ty, message, ..
            } => Some((
                *kind,
                ty.as_deref().unwrap_or_default(),
                message.as_deref().unwrap_or_default(),
            )),
            _ => None,
        }
    }

    #[test]
    fn escapes_markup_and_drops_what_xml_cannot_hold() {
        let mut r = result_with(30.0, 60.0, 250.0, 300.0, 0.999, 1.8);
        r.scenario = "smoke <&> \"x\" 'y'\u{1}\t\u{FFFE}z".into();
        let (xml, parsed) = written(&for_run(&r));
        assert!(
            xml.contains("smoke &lt;&amp;&gt; &quot;x&quot; &apos;y&apos;"),
            "{xml}"
        );
        assert!(!xml.contains("<&>"), "{xml}");
        assert!(!xml.contains('\u{1}') && !xml.contains('\u{FFFE}'), "{xml}");
        // Control characters go, tab included (no text of ours holds one).
        assert_eq!(parsed.test_suites[0].name.as_str(), "smoke <&> \"x\" 'y'z");
    }

    #[test]
    fn one_case_per_target_and_a_failure_per_miss() {
        // p99 target 200 ms: 250 ms misses it; delivery 0.999 ≥ 0.99 meets it.
        let r = result_with(30.0, 60.0, 250.0, 300.0, 0.999, 1.8);
        let (xml, parsed) = written(&for_run(&r));
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{xml}"
        );
        assert_eq!(parsed.name.as_deref(), Some("meshlab"));
        assert_eq!((parsed.tests, parsed.failures, parsed.errors), (2, 1, 0));
        let [suite] = parsed.test_suites.as_slice() else {
            panic!("one suite: {xml}");
        };
        assert_eq!(suite.name.as_str(), r.scenario);
        assert_eq!((suite.tests, suite.failures, suite.errors), (2, 1, 0));
        let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["p99 < 200.0 ms", "delivery >= 0.9900"],
            "case names target and bound"
        );
        let classname = format!("meshlab.{}", r.scenario);
        assert!(
            suite
                .test_cases
                .iter()
                .all(|c| c.classname.as_deref() == Some(&*classname))
        );
        assert_eq!(
            outcome(&suite.test_cases[0].status),
            Some((
                NonSuccessKind::Failure,
                "target_missed",
                "p99: measured 250.0 ms, wanted < 200.0 ms"
            ))
        );
        assert_eq!(outcome(&suite.test_cases[1].status), None);
        let property = |k: &str| {
            suite
                .properties
                .iter()
                .find(|p| p.name.as_str() == k)
                .map(|p| p.value.as_str().to_string())
        };
        assert_eq!(property("run_id"), Some(r.run_id.clone()));
        assert_eq!(property("seed"), Some(r.seed.to_string()));
        let out = suite.system_out.as_deref().expect("system-out");
        assert!(out.contains(&r.scenario), "the run's summary: {out}");
    }

    #[test]
    fn a_distorted_run_is_an_error_and_its_targets_are_skipped() {
        let mut r = result_with(30.0, 60.0, 250.0, 300.0, 0.999, 1.8);
        r.distorted = vec!["the host was 97 % busy".into()];
        let (xml, parsed) = written(&for_run(&r));
        let [suite] = parsed.test_suites.as_slice() else {
            panic!("one suite: {xml}");
        };
        assert_eq!(
            (suite.tests, suite.failures, suite.errors),
            (3, 0, 1),
            "{xml}"
        );
        assert_eq!(
            outcome(&suite.test_cases[0].status),
            Some((NonSuccessKind::Error, "distorted", "the host was 97 % busy"))
        );
        assert!(
            suite.test_cases[1..]
                .iter()
                .all(|c| matches!(c.status, TestCaseStatus::Skipped { .. })),
            "{xml}"
        );
    }

    #[test]
    fn trials_and_errors_have_their_own_documents() {
        let mut a = result_with(30.0, 60.0, 100.0, 120.0, 1.0, 1.8);
        a.run_id = "a".into();
        let mut b = result_with(30.0, 60.0, 250.0, 300.0, 1.0, 1.8);
        b.run_id = "b".into();
        let t = crate::gate::trials::summarise(&[a.clone(), b, a]).expect("summary");
        let (xml, parsed) = written(&for_trials(&t, 240.0));
        assert_eq!(parsed.failures, 0, "median meets p99: {xml}");
        let suite = &parsed.test_suites[0];
        assert_eq!(suite.time, Some(Duration::from_secs(240)));
        assert!(xml.contains("time=\"240.000\""), "{xml}");
        let out = suite.system_out.as_deref().expect("system-out");
        assert!(out.contains("a: met") && out.contains("b: missed"), "{out}");
        let (xml, parsed) = written(&for_error("smoke", "reach the docker engine: <refused>"));
        assert_eq!(
            (parsed.tests, parsed.failures, parsed.errors),
            (1, 0, 1),
            "{xml}"
        );
        let case = &parsed.test_suites[0].test_cases[0];
        assert_eq!(case.name.as_str(), "run");
        assert_eq!(case.classname.as_deref(), Some("meshlab.smoke"));
        assert_eq!(
            outcome(&case.status),
            Some((
                NonSuccessKind::Error,
                "run_failed",
                "failed to reach the docker engine: <refused>"
            ))
        );
        assert!(xml.contains("&lt;refused&gt;"), "{xml}");
    }

    #[test]
    fn write_creates_the_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ci").join("junit.xml");
        write(&path, &for_error("smoke", "x")).expect("written");
        let xml = std::fs::read_to_string(&path).expect("read");
        assert!(xml.contains("<testcase name=\"run\""), "{xml}");
    }
}
