//! `orchestrator sweep --dry-run` as a user runs it: the grid printed in order and every
//! point validated, bad flags and values named with exit 2, and nothing run or written.

mod common;
use common::{orchestrator, repo};

fn sweep(args: &[&str]) -> (Option<i32>, String, String) {
    let out = orchestrator()
        .current_dir(repo())
        .arg("sweep")
        .arg("scenarios/smoke.toml")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_dry_run_prints_the_grid_in_order_and_runs_nothing() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("sweep");
    let (code, stdout, stderr) = sweep(&[
        "--set",
        "traffic.rate=2/s,6/s",
        "--set",
        "groups[0].count=8,10",
        "--dry-run",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let points: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(points.len(), 4, "{stdout}");
    assert!(
        points[1].starts_with("  2/4: traffic.rate=2/s, groups.0.count=10 (seed 1, 10 nodes"),
        "{stdout}"
    );
    assert!(!dir.exists(), "a dry run writes nothing");
}

#[test]
fn bad_flags_and_values_exit_2_naming_the_flag() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--set", "traffic.rate=2/s,x/s", "--dry-run"],
            "--set traffic.rate: value \"x/s\": field `traffic.rate`",
        ),
        (
            &["--set", "traffic.rat=2/s", "--dry-run"],
            "--set traffic.rat: value \"2/s\": field `traffic.rat`: unknown field",
        ),
        (
            &["--set", "groups.1.count=2", "--dry-run"],
            "--set groups.1.count: value \"2\": `groups` has 1 entry (from 0): no entry 1",
        ),
        (
            &[
                "--set",
                "gossipsub.mesh_n=1,2,3,4,5,6,7,8,9",
                "--set",
                "traffic.rate=1/s,2/s,3/s,4/s,5/s,6/s,7/s,8/s",
                "--dry-run",
            ],
            "9 × 8 = 72 points, more than 64",
        ),
    ];
    for (args, want) in cases {
        let (code, _, stderr) = sweep(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
