//! The regression gate as CI uses it: `compare` exit codes through the binary, one real
//! deliberately slower run failing the gate against the committed baseline while an
//! unmodified run passes it, and the committed compose and Kubernetes examples matching
//! their exports.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{binaries, orchestrator, repo, run_command};

/// The committed baseline of the CI scenario.
fn baseline() -> PathBuf {
    repo().join("scenarios/baselines/smoke.trials.json")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn compare(baseline: &Path, current: &Path, extra: &[&str]) -> Output {
    orchestrator()
        .arg("compare")
        .arg(baseline)
        .arg(current)
        .args(extra)
        .output()
        .expect("runs")
}

/// A result.json whose figures are the committed baseline's medians times `factor`.
fn scaled_result(dir: &Path, factor: f64) -> PathBuf {
    let trials: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(baseline()).expect("baseline"))
            .expect("json");
    let first = &trials["trials"][0]["run_id"];
    assert!(first.is_string(), "baseline lists its trials");
    let median = |k: &str| trials["figures"][k]["median"].as_f64().expect(k);
    let us = |k: &str| (median(k) * factor * 1000.0).round() as u64;
    // Counts that give the baseline's delivery ratio and duplicates (result.json is
    // validated on load: ratios must agree with their counts).
    let expected = 1_000_000u64;
    let delivered = (median("delivery") * expected as f64).round() as u64;
    let received = expected + (median("dups") * expected as f64).round() as u64;
    let started = 1_760_000_000_000u64;
    let result = serde_json::json!({
        "run_id": "synthetic-0", "scenario": "smoke", "seed": 1,
        "nodes": {"total": 10, "per_group": [], "per_role": {}},
        "shaper": "userspace",
        "link": {"delay": "25ms", "jitter": "2.5ms", "loss": 0.0, "rate_kbit": null},
        "started_at_ms": started, "ended_at_ms": started + 60_000, "phases": {},
        "resources": {"containers": []},
        "targets": [],
        "stats": {
            "events": 0, "foreign_events": 0, "honest_nodes": 10,
            "published": {"honest": 0, "attacker": 0},
            "latency": {"count": 1, "p50_us": us("p50"), "p95_us": us("p95"), "p99_us": us("p99")},
            "coverage": [{"percent": 100, "messages": 1, "reached": 1, "never": 0,
                          "p99_us": us("cov100_p99")}],
            "delivery": {"delivered": delivered, "expected": expected,
                         "ratio": delivered as f64 / expected as f64},
            "groups": [], "nodes": [], "rejections": {}, "defence": null, "fidelity": null,
            "duplicates": {"received": received, "unique": expected,
                           "per_delivery": (received - expected) as f64 / expected as f64}
        }
    });
    let path = dir.join(format!("x{factor}.json"));
    std::fs::write(&path, result.to_string()).expect("write");
    path
}

#[test]
fn compare_exit_codes_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let same = scaled_result(dir.path(), 1.0);
    let slow = scaled_result(dir.path(), 3.0);
    let out = compare(&baseline(), &same, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("verdict: no regression"),
        "{}",
        text(&out)
    );
    let out = compare(&baseline(), &slow, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("REGRESSED"), "{}", text(&out));
    // Loosening every latency flag far enough lets the same run pass.
    let loose = ["--threshold", "1000%", "--p50", "1000%", "--p99", "10000ms"];
    let out = compare(&baseline(), &slow, &loose);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Bad usage is 2, and so is a missing or unusable side.
    let out = compare(&baseline(), &same, &["--p99", "soon"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = compare(&baseline(), &same, &["--threshold", "5ms"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = compare(&baseline(), &same, &["--delivery", "150%"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--delivery 150%"), "{}", text(&out));
    let missing = dir.path().join("missing.json");
    let out = compare(&baseline(), &missing, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "error: failed to read {}: no such file",
            missing.display()
        )),
        "{}",
        text(&out)
    );
    let out = compare(Path::new("/dev/zero"), &same, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("larger than the 16 MiB"),
        "{}",
        text(&out)
    );
}

/// The gate never passes without data: a baseline without trials, or one whose every
/// figure is unmeasured, is refused (exit 2) and names the file and the field.
#[test]
fn a_baseline_that_judges_nothing_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let same = scaled_result(dir.path(), 1.0);
    let mut trials: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(baseline()).expect("baseline"))
            .expect("json");
    trials["trials"] = serde_json::json!([]);
    let empty = dir.path().join("no-trials.json");
    std::fs::write(&empty, trials.to_string()).expect("write");
    let out = compare(&empty, &same, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no-trials.json"), "{}", text(&out));
    assert!(text(&out).contains("field `trials`"), "{}", text(&out));
    assert!(!text(&out).contains("no regression"), "{}", text(&out));
}

/// Runs `scenario` once with the prebuilt binaries into `reports` and returns the path of
/// its result.json.
fn run_once(scenario: &Path, reports: &Path) -> PathBuf {
    let out = run_command(scenario, reports).output().expect("runs");
    // 0 or 1: the run completed (the slow one may miss the scenario's latency targets).
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "run failed: {}",
        text(&out)
    );
    let written: Vec<PathBuf> = std::fs::read_dir(reports)
        .expect("reports")
        .map(|e| e.expect("entry").path().join("result.json"))
        .filter(|p| p.is_file())
        .collect();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let run_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the summary names the run");
    let path = reports.join(run_id).join("result.json");
    assert!(written.contains(&path), "{}", path.display());
    path
}

/// The demonstration on real containers: smoke.toml with 60 ms instead of 25 ms
/// links fails the gate against the committed baseline; smoke.toml as it is passes it.
/// Two real runs, one after the other (about three minutes).
#[test]
fn a_slower_link_fails_the_gate_and_an_unmodified_run_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let smoke = repo().join("scenarios/smoke.toml");
    let mut doc: toml::Table = std::fs::read_to_string(&smoke)
        .expect("smoke.toml")
        .parse()
        .expect("toml");
    let scenario = doc["scenario"].as_table_mut().expect("[scenario]");
    scenario.insert("name".into(), "smoke-slow".into());
    let network = doc["network"].as_table_mut().expect("[network]");
    network.remove("profile");
    let mut link = toml::Table::new();
    link.insert("delay".into(), "60ms".into());
    link.insert("jitter".into(), "2.5ms".into());
    network.insert("link".into(), link.into());
    let slow_scenario = dir.path().join("smoke-slow.toml");
    std::fs::write(&slow_scenario, doc.to_string()).expect("write");

    let slow = run_once(&slow_scenario, dir.path());
    let out = compare(&baseline(), &slow, &[]);
    eprintln!("{}", text(&out));
    assert_eq!(
        out.status.code(),
        Some(1),
        "slower must fail: {}",
        text(&out)
    );
    let table = text(&out);
    let p50 = table
        .lines()
        .find(|l| l.starts_with("latency p50"))
        .expect("p50 row");
    assert!(p50.ends_with("REGRESSED"), "{table}");

    let normal = run_once(&smoke, dir.path());
    let out = compare(&baseline(), &normal, &[]);
    eprintln!("{}", text(&out));
    assert_eq!(
        out.status.code(),
        Some(0),
        "unmodified must pass: {}",
        text(&out)
    );
}

/// `committed` is what `export FORMAT SCENARIO` writes, but for the image tags (which
/// follow the binaries).
fn assert_is_the_export(format: &str, scenario: &str, committed: &str) {
    let (node, shaper) = binaries();
    let out = orchestrator()
        .current_dir(repo())
        .args(["export", format, scenario, "--node-binary"])
        .arg(&node)
        .arg("--shaper-binary")
        .arg(&shaper)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let exported = String::from_utf8(out.stdout).expect("utf-8");
    let example = std::fs::read_to_string(repo().join(committed)).expect("committed example");
    let (exported, example) = (untagged(&exported), untagged(&example));
    let first_difference = example
        .lines()
        .zip(exported.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b);
    assert!(
        first_difference.is_none() && example.lines().count() == exported.lines().count(),
        "regenerate: ./lab export {format} {scenario} -o {committed} (line {:?} differs)",
        first_difference.map(|(i, lines)| (i + 1, lines))
    );
    assert!(exported.contains("meshlab-node:TAG"), "{exported}");
}

/// `text` with every image tag (`meshlab-node:` or `labtools:` and 16 hex digits) replaced
/// by `TAG`.
fn untagged(text: &str) -> String {
    let mut out = text.to_string();
    for repo in ["meshlab-node:", "labtools:"] {
        let mut from = 0;
        while let Some(at) = out[from..].find(repo) {
            let start = from + at + repo.len();
            if out
                .get(start..start + 16)
                .is_some_and(|t| t.chars().all(|c| c.is_ascii_hexdigit()))
            {
                out.replace_range(start..start + 16, "TAG");
            }
            from = start;
        }
    }
    out
}

/// `compose/compose.yaml` is what `export compose compose/four.toml` writes.
#[test]
fn the_committed_compose_example_is_the_export_of_its_scenario() {
    assert_is_the_export("compose", "compose/four.toml", "compose/compose.yaml");
}

/// `k8s/four.yaml` is what `export k8s compose/four.toml` writes.
#[test]
fn the_committed_k8s_example_is_the_export_of_its_scenario() {
    assert_is_the_export("k8s", "compose/four.toml", "k8s/four.yaml");
}
