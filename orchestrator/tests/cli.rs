//! The orchestrator binary as a user runs it: exit codes, validation messages, and a run
//! interrupted with SIGINT leaving nothing behind.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use orchestrator::docker::DockerRunner;

mod common;
use common::{binaries, orchestrator, repo};

#[test]
fn validate_names_file_line_column_and_field_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    let mut f = std::fs::File::create(&path).expect("create");
    writeln!(
        f,
        "[scenario]\nname = \"x\"\nseed = 1\nduration = \"10s\"\n\n[[groups]]\nid = \"a\"\ncount = 0\n\n[traffic]\npublishers = 1\nrate = \"1/s\"\nsize = \"1KiB\"\n\n[targets]\np95 = \"100ms\""
    )
    .expect("write");
    let out = orchestrator()
        .args(["validate"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:8:", path.display())),
        "names the file and line: {stderr}"
    );
    assert!(
        stderr.contains("groups[0].count"),
        "names the field: {stderr}"
    );
}

#[test]
fn every_shipped_scenario_validates_through_the_cli() {
    let mut cmd = orchestrator();
    cmd.arg("validate");
    let mut n = 0;
    for entry in std::fs::read_dir(repo().join("scenarios")).expect("scenarios dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            cmd.arg(path);
            n += 1;
        }
    }
    assert!(n >= 4, "the shipped scenarios are there");
    let out = cmd.output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn bad_flags_exit_2_without_a_panic() {
    let out = orchestrator()
        .args(["run", "--ready-timeout", "soon", "x.toml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");

    // --rerun-distorted is bounded and only means something with --trials.
    for (args, named) in [
        (&["--rerun-distorted", "1"][..], "--trials"),
        (&["--trials", "3", "--rerun-distorted", "11"][..], "0..=10"),
        (
            &["--trials", "3", "--rerun-distorted=-1"][..],
            "--rerun-distorted",
        ),
    ] {
        let out = orchestrator()
            .arg("run")
            .args(args)
            .arg("x.toml")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn export_k8s_checks_its_namespace_and_its_scenario_before_writing_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = dir.path().join("out.yaml");
    let out = orchestrator()
        .current_dir(repo())
        .args(["export", "k8s", "scenarios/byzantine.toml", "--namespace"])
        .arg("Mesh_Lab")
        .arg("-o")
        .arg(&written)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--namespace"), "{stderr}");
    assert!(
        stderr.contains("`Mesh_Lab` is not a DNS-1123 label"),
        "{stderr}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[scenario]\nname = \"x\"\nseed = 1\nduration = \"10s\"\n\n[[groups]]\nid = \"a\"\ncount = 0\n\n[traffic]\npublishers = 1\nrate = \"1/s\"\nsize = \"1KiB\"\n",
    )
    .expect("write");
    let out = orchestrator()
        .args(["export", "k8s"])
        .arg(&bad)
        .arg("-o")
        .arg(&written)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:8:", bad.display())) && stderr.contains("groups[0].count"),
        "located: {stderr}"
    );
    assert!(!written.exists());
}

/// Starts smoke.toml, interrupts it once its node containers run, and checks that the
/// orchestrator exits with the "interrupted" code and the engine holds nothing of the run.
#[test]
fn sigint_mid_run_leaves_no_container_or_network() {
    let (node, shaper) = binaries();
    let reports = tempfile::tempdir().expect("tempdir");
    let mut child = orchestrator()
        .current_dir(repo())
        .args(["run", "scenarios/smoke.toml", "--node-binary"])
        .arg(&node)
        .arg("--shaper-binary")
        .arg(&shaper)
        .arg("--reports")
        .arg(reports.path())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("orchestrator starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut run_id = None;
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(300))
            .expect("the run reports progress");
        if let Some(rest) = line.strip_prefix("==> run ") {
            run_id = rest.split(':').next().map(str::to_string);
        }
        if line.contains("node containers started") {
            break;
        }
    }
    let run_id = run_id.expect("the run announced its id");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    // Drain the rest of its output while it tears down.
    let drain = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
    let code = child.wait().expect("orchestrator exits").code();
    let rest = drain.join().expect("drained");
    assert_eq!(code, Some(4), "interrupted exit code; output: {rest:#?}");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let docker = DockerRunner::connect().await.expect("docker");
        let containers = docker
            .labelled_containers("meshlab.run", &run_id)
            .await
            .expect("list containers");
        let networks = docker
            .labelled_networks("meshlab.run", &run_id)
            .await
            .expect("list networks");
        assert!(containers.is_empty(), "left containers: {containers:?}");
        assert!(networks.is_empty(), "left networks: {networks:?}");
    });
}
