//! Locates the static `meshnode` and `labshaper` binaries, building them with cargo from
//! this workspace when they are not given.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::Error;

/// The two binaries the images are made of.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The node.
    pub meshnode: PathBuf,
    /// The link shaper.
    pub labshaper: PathBuf,
}

const TARGET: &str = "x86_64-unknown-linux-gnu";

/// The workspace root: the nearest ancestor of `start` whose Cargo.toml has `[workspace]`.
pub fn workspace_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).ok()?;
        text.contains("[workspace]").then(|| dir.to_path_buf())
    })
}

/// Builds (`cargo build --release`, incremental and quick when nothing changed) and
/// returns the binaries of the workspace that holds the current directory, or the
/// workspace this orchestrator was built from.
pub fn build(
    node_override: Option<&Path>,
    shaper_override: Option<&Path>,
) -> Result<Binaries, Error> {
    if let (Some(n), Some(s)) = (node_override, shaper_override) {
        return Ok(Binaries {
            meshnode: checked(n)?,
            labshaper: checked(s)?,
        });
    }
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("read the current directory", ".", e))?;
    let root = workspace_root(&cwd)
        .or_else(|| workspace_root(Path::new(env!("CARGO_MANIFEST_DIR"))))
        .ok_or_else(|| {
            Error::Infra(
                "find the workspace to build meshnode from: run inside the repository or pass --node-binary and --shaper-binary".into(),
            )
        })?;
    eprintln!("==> building meshnode and labshaper (cargo build --release --workspace --bins)");
    let status = Command::new("cargo")
        .current_dir(&root)
        // The same invocation as `./lab` uses, so that features unify the same way and
        // an up-to-date tree builds nothing.
        .args(["build", "--release", "--locked", "--workspace", "--bins"])
        .status()
        .map_err(|e| Error::Infra(format!("run cargo to build meshnode: {e}")))?;
    if !status.success() {
        return Err(Error::Infra(format!(
            "build meshnode and labshaper: cargo exited with {status}"
        )));
    }
    let dir = root.join("target").join(TARGET).join("release");
    Ok(Binaries {
        meshnode: checked(node_override.unwrap_or(&dir.join("meshnode")))?,
        labshaper: checked(shaper_override.unwrap_or(&dir.join("labshaper")))?,
    })
}

/// Largest binary an image takes: the lab's static binaries are ~10-30 MB, and images are
/// built from an in-memory context.
const MAX_BINARY_BYTES: u64 = 512 << 20;

/// A regular file of at most [`MAX_BINARY_BYTES`].
fn checked(path: &Path) -> Result<PathBuf, Error> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() <= MAX_BINARY_BYTES => Ok(path.to_path_buf()),
        Ok(m) if m.is_file() => Err(Error::Usage(format!(
            "use binary {}: it is larger than the {} a binary may be",
            path.display(),
            lab_config::file::human_bytes(MAX_BINARY_BYTES)
        ))),
        _ => Err(Error::Infra(format!(
            "find binary {}: no such file",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_root_is_found_from_a_member() {
        let member = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = workspace_root(member).expect("workspace");
        assert!(root.join("node").is_dir(), "{}", root.display());
    }

    #[test]
    fn a_missing_binary_is_an_error_naming_it() {
        let err = build(
            Some(Path::new("/nonexistent/meshnode")),
            Some(Path::new("/x")),
        )
        .expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/meshnode"), "{err}");
    }
}
