//! The hostile-input corpus (`corpus/<kind>/cases.toml` at the repository root): every case
//! runs `orchestrator` (or `meshnode`) with its arguments and must exit with the expected
//! code, print every expected substring (file, line:column, field) on stderr, never panic,
//! and finish within [`TIMEOUT`].

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Longest a case may take: validation is instant, so anything near this is a hang.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// `orchestrator` (default) or `meshnode`.
    #[serde(default)]
    program: Option<String>,
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    exit: i32,
    stderr: Vec<String>,
}

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

fn program(name: Option<&str>) -> PathBuf {
    let orchestrator = PathBuf::from(env!("CARGO_BIN_EXE_orchestrator"));
    match name {
        None | Some("orchestrator") => orchestrator,
        // Built beside it by `cargo test --workspace` (and by `./lab test`).
        Some("meshnode") => orchestrator.with_file_name("meshnode"),
        Some(other) => panic!("unknown program `{other}` in the corpus"),
    }
}

/// Runs one case; returns what went wrong, if anything.
fn run(dir: &Path, case: &Case) -> Option<String> {
    let bin = program(case.program.as_deref());
    if !bin.exists() {
        return Some(format!(
            "{} is not built (cargo build --release --workspace --bins)",
            bin.display()
        ));
    }
    let dir_text = dir.display().to_string();
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| a.replace("{dir}", &dir_text))
        .collect();
    let mut child = Command::new(&bin)
        .args(&args)
        .env_remove("MESHNODE_CONFIG")
        .env_remove("MESHNODE_CONFIG_TOML")
        .envs(&case.env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().expect("stderr reader");
    let Some(status) = status else {
        return Some(format!(
            "did not finish within {TIMEOUT:?} (a hang); stderr:\n{text}"
        ));
    };
    let mut wrong = Vec::new();
    if status.code() != Some(case.exit) {
        wrong.push(format!("exit {:?}, expected {}", status.code(), case.exit));
    }
    if text.contains("panicked") {
        wrong.push("panicked".to_string());
    }
    for want in &case.stderr {
        let want = want.replace("{dir}", &dir_text);
        if !text.contains(&want) {
            wrong.push(format!("stderr lacks `{want}`"));
        }
    }
    (!wrong.is_empty()).then(|| format!("{}; stderr:\n{text}", wrong.join("; ")))
}

#[test]
fn every_hostile_input_gets_a_located_error_and_no_panic_or_hang() {
    let root = corpus_root();
    let mut kinds: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("corpus folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("cases.toml").is_file())
        .collect();
    kinds.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for dir in &kinds {
        let text = std::fs::read_to_string(dir.join("cases.toml")).expect("manifest");
        let manifest: Manifest =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}/cases.toml: {e}", dir.display()));
        let mut names = std::collections::BTreeSet::new();
        for case in &manifest.case {
            assert!(
                names.insert(case.name.as_str()),
                "{}: duplicate case name `{}`",
                dir.display(),
                case.name
            );
            total += 1;
            if let Some(why) = run(dir, case) {
                failures.push(format!(
                    "{}: {}: {why}",
                    dir.file_name().unwrap_or_default().to_string_lossy(),
                    case.name
                ));
            }
        }
    }
    assert!(
        total >= 150,
        "the corpus holds {total} cases, fewer than 150"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
