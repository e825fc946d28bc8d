//! The distortion guard on real containers: smoke.toml alone is judged; the same run
//! beside a CPU hog measures the host, not the network, and says so (exit 5, the cause
//! named, no target judged). Two runs, one after the other (about two and a half minutes).
//! In a test binary of its own, so that no other test's containers share the host.

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

    let alone = run_smoke(dir.path());
    let out = text(&alone);
    assert_eq!(alone.status.code(), Some(0), "{out}");
    assert!(out.contains("verdict: all targets met"), "{out}");
    assert!(!out.contains("DISTORTED"), "{out}");

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
