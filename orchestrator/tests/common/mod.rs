//! What the integration tests share: the binary under test, the repository, and the
//! static node and shaper binaries beside it.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The orchestrator binary under test.
pub fn orchestrator() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orchestrator"))
}

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The static `meshnode` and `labshaper` next to the orchestrator under test.
pub fn binaries() -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_BIN_EXE_orchestrator"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let (node, shaper) = (dir.join("meshnode"), dir.join("labshaper"));
    assert!(
        node.is_file() && shaper.is_file(),
        "build the workspace binaries first (cargo build --release --workspace --bins)"
    );
    (node, shaper)
}

/// `orchestrator run SCENARIO --reports REPORTS` with the prebuilt static binaries.
pub fn run_command(scenario: &Path, reports: &Path) -> Command {
    let (node, shaper) = binaries();
    let mut cmd = orchestrator();
    cmd.arg("run")
        .arg(scenario)
        .arg("--reports")
        .arg(reports)
        .arg("--node-binary")
        .arg(&node)
        .arg("--shaper-binary")
        .arg(&shaper);
    cmd
}
