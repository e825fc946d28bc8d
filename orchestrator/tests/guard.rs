//! The distortion guard on real containers: smoke.toml alone is judged; the same run
//! beside a CPU hog measures the host, not the network, and says so (exit 5, the cause
//! named, no target judged); with `--trials 1 --rerun-distorted 1` the trial beside the hog
//! is set aside and the one run again alone is judged. Three runs, one after the other
//! (about three and a half minutes).
//! In a test binary of its own, so that no other test's containers share the host.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

mod common;
use common::{repo, run_command};

/// Busy loops on twice as many processes as the host has cores, killed when dropped.
struct Hog(Vec<Child>);

impl Hog {
    fn start() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hog((0..2 * cores)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("a busy loop")
            })
            .collect())
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn run_smoke(reports: &Path) -> Output {
    run_command(&repo().join("scenarios/smoke.toml"), reports)
        .output()
        .expect("runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_run_beside_a_cpu_hog_is_distorted_and_one_alone_is_judged() {
    let dir = tempfile::tempdir().expect("tempdir");

    // Trials with one rerun: the first trial beside the hog is set aside; the hog stops
    // when the orchestrator says so, and the trial run again in its place alone is judged.
    let hog = Hog::start();
    let mut child = run_command(&repo().join("scenarios/smoke.toml"), dir.path())
        .args(["--trials", "1", "--rerun-distorted", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut log = String::new();
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.expect("stderr line");
        log.push_str(&line);
        log.push('\n');
        if line.contains("set aside (distorted) and run again") {
            break;
        }
    }
    drop(hog);
    for line in lines {
        log.push_str(&line.expect("stderr line"));
        log.push('\n');
    }
    let trials = child.wait_with_output().expect("waits");
    let out = format!("{}\n{log}", String::from_utf8_lossy(&trials.stdout));
    assert_eq!(trials.status.code(), Some(0), "{out}");
    assert!(out.contains("trial 1/1 set aside (distorted)"), "{out}");
    assert!(
        out.contains("verdict: all targets met on the medians"),
        "{out}"
    );
    assert!(out.contains("set aside: 1 distorted trial(s)"), "{out}");
    let json = std::fs::read_dir(dir.path())
        .expect("reports")
        .filter_map(Result::ok)
        .map(|e| e.path().join("trials.json"))
        .find(|p| p.exists())
        .expect("a trials.json");
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("read")).expect("json");
    assert_eq!(t["trials"].as_array().map(Vec::len), Some(1), "{t}");
    assert_eq!(t["trials"][0]["distorted"], false, "{t}");
    let cause = t["set_aside"][0]["causes"][0].as_str().unwrap_or_default();
    assert!(cause.contains("busy over the measurement window"), "{t}");

    // A single run beside the hog: not judged, exit 5.
    let hog = Hog::start();
    let loaded = run_smoke(dir.path());
    drop(hog);
    let out = text(&loaded);
    assert_eq!(loaded.status.code(), Some(5), "{out}");
    assert!(
        out.contains("verdict: DISTORTED: the lab measured its own host"),
        "{out}"
    );
    assert!(out.contains("busy over the measurement window"), "{out}");
    assert!(out.contains("remedy:"), "{out}");
    assert!(!out.contains(" MET"), "no target is judged: {out}");
}
